/*
 * fixture: what the unit tests set up again and again, written once.
 *  - Scratch files: a mkdtemp directory under /tmp, files of a given mode,
 *    removal of the whole tree.
 *  - A throwaway SoftHSM2 token directory (softhsm2.conf, SOFTHSM2_CONF, PIN
 *    files); the test then creates and opens its token with hsm_init_token and
 *    hsm_open (hsm/ is not linked into every test binary, fixture.o is).
 *  - The dev PostgreSQL cluster (127.0.0.1, role postgres without password,
 *    port SR_TEST_PG_PORT or 55432): pools, a scratch database per run
 *    with a zone's migrations applied (migrations/migrate.sh), one-value
 *    queries.
 *  - A throwaway PKI (openssl: P-256 CAs and leaf certificates) and the
 *    pspsim it serves (PSPSIM_BIN, set by tests/unit/run.sh).
 * Linked into every unit test binary (Makefile); it uses common/ only.
 * Tests run from the repository root (migrations/ is found from there).
 */
#ifndef TESTS_UNIT_FIXTURE_H
#define TESTS_UNIT_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/sr_db.h"

/* ---- scratch files ------------------------------------------------------- */

/**
 * Make a fresh directory /tmp/<prefix>XXXXXX (mkdtemp, mode 0700) into dir.
 * @return 0, or -1 (dir is then "" so fx_rmtree(dir) does nothing).
 */
int fx_tmpdir(char *dir, size_t dirlen, const char *prefix);

/** Remove dir and everything below it (no-op for ""). @return 0, or -1 when something stayed. */
int fx_rmtree(const char *dir);

/**
 * Write text to path (created or truncated) with exactly the given mode
 * (fchmod: an existing file's mode is reset too). @return 0, or -1.
 */
int fx_write_file(const char *path, const char *text, mode_t mode);

/* ---- SoftHSM2 ------------------------------------------------------------ */

#define FX_SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"

/**
 * Whether the SoftHSM2 module is installed. When not, says so on stderr as
 * "<test>: <module> not installed, skipping"; the test's main then returns 77
 * (skipped) before running anything.
 */
bool fx_softhsm_present(const char *test);

/* A throwaway token directory: paths, all inside dir. */
struct fx_softhsm {
	char dir[256];        /* /tmp/<prefix>XXXXXX */
	char user_pin[300];   /* dir/user-pin: the user PIN, mode 0600 */
	char so_pin[300];     /* dir/so-pin: the SO PIN, mode 0600 */
};

/**
 * Make a token directory: dir/tokens, dir/softhsm2.conf (file object store,
 * log level ERROR) with SOFTHSM2_CONF pointing at it for this process, and
 * the two PIN files (each PIN followed by a newline). No token exists yet:
 * hsm_init_token(FX_SOFTHSM_MODULE, label, t->so_pin, t->user_pin, ...)
 * creates one (as many labels as the test wants, one slot each).
 * @return 0, or -1 (what was made is removed by fx_softhsm_free).
 */
int fx_softhsm_new(struct fx_softhsm *t, const char *prefix, const char *user_pin,
                   const char *so_pin);

/** Remove the token directory (close every hsm handle on it first). */
void fx_softhsm_free(struct fx_softhsm *t);

/* ---- PostgreSQL ---------------------------------------------------------- */

/** The test cluster's TCP port: $SR_TEST_PG_PORT, else "55432". Static storage. */
const char *fx_pg_port(void);

/**
 * A pool of size connections as postgres (no password) to database db on the
 * test cluster. @return the pool (sr_db_pool_free), or NULL with err filled
 * when no server answers or the database does not exist.
 */
struct sr_db_pool *fx_pg_pool(const char *db, size_t size, char *err, size_t errlen);

/**
 * A scratch database "<prefix>_<pid>" into db (dropped first if a previous
 * run of the same pid left it), with migrations/migrate.sh <zone> applied
 * when zone is not NULL (through a psql wrapper whose trailing -d points it
 * at the scratch database).
 * @return 0 when made; 1 when no PostgreSQL answers (said on stderr: the
 *         test skips its database cases; db is then ""); -1 on a failed
 *         CREATE DATABASE or migration (said on stderr).
 */
int fx_pg_create(char *db, size_t dblen, const char *prefix, const char *zone);

/** Drop the scratch database db (no-op for ""). */
void fx_pg_drop(const char *db);

/**
 * The value of a one-row, one-column query (with $1 = arg unless arg is
 * NULL; PQexecParams, text), as an integer. @return it, or -1 on an error
 * or another number of rows.
 */
long long fx_pg_scalar(PGconn *c, const char *sql, const char *arg);

/* ---- PKI and pspsim ------------------------------------------------------ */

/**
 * Make certificates in dir with openssl (P-256 keys, SHA-256, valid 2 days,
 * keys mode 0600). certs is shell text over two functions:
 *   ca NAME                        a self-signed CA: NAME.crt, NAME.key
 *   leaf NAME CA EKU DNSNAME       NAME.crt/.key issued by CA (CA:FALSE,
 *                                  digitalSignature, extendedKeyUsage EKU,
 *                                  CN and subjectAltName DNS:DNSNAME)
 * e.g. "ca ca\nleaf server ca serverAuth psp.test\n". The script is left in
 * dir/pki.sh. @return 0, or -1 when any step failed.
 */
int fx_pki(const char *dir, const char *certs);

#define FX_PSP_KEY "sk_test_pspsim_dev_key"

/* A throwaway PKI and a running pspsim. */
struct fx_psp {
	char dir[64];     /* /tmp/sr-psp-test.XXXXXX */
	pid_t pid;        /* pspsim, or -1 */
	unsigned port;    /* where it listens on 127.0.0.1, 0 before fx_psp_start */
};

/**
 * Make the PKI for pspsim and its clients in h->dir:
 *   ca.crt/key, ca2.crt/key               two unrelated CAs
 *   server.crt/key                        ca, serverAuth, DNS:psp.test
 *   client.crt/key                        ca, clientAuth, DNS:vault-egress.strongroom.internal
 *   client2.crt/key                       ca2, same name (wrong CA)
 *   client-wrongname.crt/key              ca, DNS:someone-else.strongroom.internal
 *   apikey, apikey-wrong                  Bearer keys (FX_PSP_KEY and another; mode 0600)
 * @return 0, or -1.
 */
int fx_psp_pki(struct fx_psp *h);

/** out = h->dir + "/" + name (truncated to outlen). */
void fx_psp_path(const struct fx_psp *h, const char *name, char *out, size_t outlen);

/**
 * Start pspsim ($PSPSIM_BIN) on a kernel-chosen port with h's PKI (mTLS,
 * peer name vault-egress.strongroom.internal, public host psp.test, log in
 * h->dir/pspsim.log); it gets SIGTERM if the test dies.
 * @return 0 when running (h->port set), 1 when PSPSIM_BIN is unset (the
 *         test skips those cases), -1 on failure (within 10 s).
 */
int fx_psp_start(struct fx_psp *h);

/**
 * Stop pspsim (if started) and remove h->dir.
 * @return 0, or -1 when pspsim did not exit cleanly (e.g. a sanitizer
 *         report: its non-JSON log lines are then copied to stderr).
 */
int fx_psp_stop(struct fx_psp *h);

#endif
