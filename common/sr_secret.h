/*
 * sr_secret: secrets read from files (invariant 10, docs/invariants.md), held in libsodium
 * guarded memory (locked, excluded from core dumps), wiped on free.
 */
#ifndef SR_SECRET_H
#define SR_SECRET_H
#include <stddef.h>

/**
 * Read a secret file into sodium_malloc'd memory, NUL-terminated, one
 * trailing newline stripped. The path is resolved with sr_secret_path
 * ($CREDENTIALS_DIRECTORY for relative paths when set). Refuses files readable by group or others
 * (PCI DSS 3.6.1 / 8.3.2: secrets protected at rest) and files > 4096 bytes.
 * @param len_out may be NULL.
 * @return the buffer (free with sr_secret_free), or NULL with err filled
 *         (the message names the path, never the content).
 */
char *sr_secret_read_file(const char *path, size_t *len_out, char *err, size_t errlen);

/**
 * Resolve a secret path (systemd credentials, systemd.exec(5) "Credentials"):
 * when $CREDENTIALS_DIRECTORY is set and path is relative, the result is
 * "$CREDENTIALS_DIRECTORY/path" (so a unit's LoadCredential=hsm-pin:... is
 * named "hsm-pin" in the configuration); otherwise path unchanged.
 * Relative paths without $CREDENTIALS_DIRECTORY stay relative to the working
 * directory. The variable holds a directory name, never a secret (invariant 10).
 * @return 0, or -1 when out is too small / path NULL.
 */
int sr_secret_path(const char *path, char *out, size_t outlen);

/**
 * Check a secret file without reading it, for files a library opens itself
 * (libcurl's client key): resolved with sr_secret_path into resolved
 * (may be NULL), regular file, not group/world-readable (PCI DSS 3.6.1 /
 * 8.3.2), readable by the calling process's user (opened, then closed).
 * @return 0, or -1 with err naming the path.
 */
int sr_secret_check_file(const char *path, char *resolved, size_t resolvedlen, char *err,
                         size_t errlen);

/** Wipe and free a buffer from sr_secret_read_file / sr_secret_alloc. NULL ok. */
void sr_secret_free(void *p);

/**
 * sodium_malloc wrapper for PAN/CVC buffers; zero-filled. NULL on failure.
 * Requests of at most 256 bytes are served from a cache of guarded 256-byte
 * blocks (each its own sodium_malloc allocation, wiped on sr_secret_free and
 * reused) to avoid an mmap/munmap per request; larger ones are allocated
 * and unmapped each time. Either way: locked, guard pages, no core dump.
 */
void *sr_secret_alloc(size_t len);

/**
 * Process hardening for the CDE, before any thread starts: no core dumps,
 * not ptrace-attachable by the same user, and freed heap memory overwritten
 * by glibc (mallopt M_PERTURB), so that card data a library frees without
 * wiping (the HTTP server's connection buffers, TLS records) does not stay
 * readable in the process (PCI DSS v4.0 3.3.1, 3.5.1; ADR 0110).
 * @return 0, or -1 when a step failed.
 */
int sr_secret_harden_process(void);

#endif
