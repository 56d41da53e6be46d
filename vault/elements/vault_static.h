/*
 * vault_static: the files of vault/elements/static/ (strongroom.js, the hosted card
 * fields' page, script and style sheet), embedded into vaultd at build time by
 * scripts/embed.sh (ADR 0030): served from memory, so the daemon reads no
 * asset directory and what it serves is exactly what was built and hashed.
 */
#ifndef VAULT_STATIC_H
#define VAULT_STATIC_H
#include <stddef.h>

struct vault_static_file {
	const char *name;               /* base name, e.g. "strongroom.js" */
	const unsigned char *data;      /* len bytes (plus a NUL not counted) */
	size_t len;
	const char *sri;                /* "sha384-<base64>" (W3C Subresource Integrity) */
};

extern const struct vault_static_file vault_static_files[];
extern const size_t vault_static_count;

/** The embedded file called name, or NULL. */
const struct vault_static_file *vault_static_find(const char *name);

#endif
