/*
 * sr_secret: secrets read from files (BRIEF invariant 10), held in libsodium
 * guarded memory (locked, excluded from core dumps), wiped on free.
 */
#ifndef SR_SECRET_H
#define SR_SECRET_H
#include <stddef.h>

/**
 * Read a secret file into sodium_malloc'd memory, NUL-terminated, one
 * trailing newline stripped. Refuses files readable by group or others
 * (PCI DSS 3.6.1 / 8.3.2: secrets protected at rest) and files > 4096 bytes.
 * @param len_out may be NULL.
 * @return the buffer (free with sr_secret_free), or NULL with err filled
 *         (the message names the path, never the content).
 */
char *sr_secret_read_file(const char *path, size_t *len_out, char *err, size_t errlen);

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

/** Process hardening for the CDE: no core dumps, not ptrace-attachable. 0 or -1. */
int sr_secret_harden_process(void);

#endif
