/*
 * fixture: scratch files, a SoftHSM2 token directory, scratch PostgreSQL
 * databases, a throwaway PKI and pspsim for the unit tests (fixture.h).
 */
#include "tests/unit/fixture.h"

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

/* ---- scratch files ------------------------------------------------------- */

int fx_tmpdir(char *dir, size_t dirlen, const char *prefix)
{
	snprintf(dir, dirlen, "/tmp/%sXXXXXX", prefix);
	if (mkdtemp(dir) == NULL) {
		dir[0] = '\0';
		return -1;
	}
	return 0;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int fx_rmtree(const char *dir)
{
	if (dir[0] == '\0')
		return 0;
	return nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

int fx_write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	ssize_t n;

	if (fd < 0)
		return -1;
	if (fchmod(fd, mode) != 0) {
		close(fd);
		return -1;
	}
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* ---- SoftHSM2 ------------------------------------------------------------ */

bool fx_softhsm_present(const char *test)
{
	if (access(FX_SOFTHSM_MODULE, R_OK) == 0)
		return true;
	fprintf(stderr, "%s: %s not installed, skipping\n", test, FX_SOFTHSM_MODULE);
	return false;
}

int fx_softhsm_new(struct fx_softhsm *t, const char *prefix, const char *user_pin,
                   const char *so_pin)
{
	char path[300], conf[600], pin[128];

	memset(t, 0, sizeof *t);
	if (fx_tmpdir(t->dir, sizeof t->dir, prefix) != 0)
		return -1;
	snprintf(path, sizeof path, "%s/tokens", t->dir);
	if (mkdir(path, 0700) != 0)
		return -1;
	snprintf(conf, sizeof conf,
	         "directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n",
	         t->dir);
	snprintf(path, sizeof path, "%s/softhsm2.conf", t->dir);
	if (fx_write_file(path, conf, 0600) != 0)
		return -1;
	setenv("SOFTHSM2_CONF", path, 1);
	snprintf(t->user_pin, sizeof t->user_pin, "%s/user-pin", t->dir);
	snprintf(t->so_pin, sizeof t->so_pin, "%s/so-pin", t->dir);
	snprintf(pin, sizeof pin, "%s\n", user_pin);
	if (fx_write_file(t->user_pin, pin, 0600) != 0)
		return -1;
	snprintf(pin, sizeof pin, "%s\n", so_pin);
	return fx_write_file(t->so_pin, pin, 0600);
}

void fx_softhsm_free(struct fx_softhsm *t)
{
	(void)fx_rmtree(t->dir);
}

/* ---- PostgreSQL ---------------------------------------------------------- */

const char *fx_pg_port(void)
{
	const char *p = getenv("SR_TEST_PG_PORT");

	return p != NULL ? p : "55432";
}

struct sr_db_pool *fx_pg_pool(const char *db, size_t size, char *err, size_t errlen)
{
	return sr_db_pool_new("127.0.0.1", fx_pg_port(), db, "postgres", NULL, size, err, errlen);
}

/* sql as postgres in database postgres, without NOTICEs on stderr.
 * @return 0, -1 when it failed, -2 when no server answers. */
static int admin_sql(const char *sql)
{
	char err[256] = "";
	struct sr_db_pool *p = fx_pg_pool("postgres", 1, err, sizeof err);
	PGconn *c = NULL;
	int rc;

	if (p == NULL)
		return -2;
	c = sr_db_acquire(p);
	rc = sr_db_exec(c, "SET client_min_messages = warning") == 0 && sr_db_exec(c, sql) == 0
	     ? 0 : -1;
	sr_db_release(p, c);
	sr_db_pool_free(p);
	return rc;
}

/* migrations/migrate.sh zone against db: migrate.sh names the database after
 * the zone, so a psql wrapper whose trailing -d (psql takes the last) points
 * it at db. */
static int migrate(const char *db, const char *zone)
{
	char dir[64], wrapper[128], script[128], cmd[512];
	int rc;

	/* In a private scratch directory: never a predictable /tmp name that
	 * another local user could plant a link or a script at. */
	if (fx_tmpdir(dir, sizeof dir, "sr-migrate.") != 0)
		return -1;
	snprintf(wrapper, sizeof wrapper, "%s/psql", dir);
	snprintf(script, sizeof script, "#!/bin/sh\nexec psql \"$@\" -d %s\n", db);
	if (fx_write_file(wrapper, script, 0700) != 0) {
		fx_rmtree(dir);
		return -1;
	}
	snprintf(cmd, sizeof cmd, "PSQL=%s migrations/migrate.sh %s -h 127.0.0.1 -p %s "
	         "-U postgres >/dev/null 2>&1", wrapper, zone, fx_pg_port());
	rc = system(cmd);
	fx_rmtree(dir);
	if (rc != 0) {
		fprintf(stderr, "migrations failed: %s\n", cmd);
		return -1;
	}
	return 0;
}

int fx_pg_create(char *db, size_t dblen, const char *prefix, const char *zone)
{
	char sql[128];

	/* A leftover of an earlier run with the same pid goes first. */
	snprintf(db, dblen, "%s_%ld", prefix, (long)getpid());
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", db);
	if (admin_sql(sql) == -2) {
		fprintf(stderr, "no PostgreSQL on port %s: database tests skipped\n", fx_pg_port());
		db[0] = '\0';
		return 1;
	}
	snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
	if (admin_sql(sql) != 0) {
		fprintf(stderr, "%s failed\n", sql);
		db[0] = '\0';
		return -1;
	}
	return zone != NULL ? migrate(db, zone) : 0;
}

void fx_pg_drop(const char *db)
{
	char sql[128];

	if (db[0] == '\0')
		return;
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", db);
	(void)admin_sql(sql);
}

long long fx_pg_scalar(PGconn *c, const char *sql, const char *arg)
{
	const char *params[1] = { arg };
	PGresult *r = PQexecParams(c, sql, arg != NULL ? 1 : 0, NULL, params, NULL, NULL, 0);
	long long v = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

/* ---- PKI and pspsim ------------------------------------------------------ */

static const char k_pki_functions[] =
	"set -e\n"
	"umask 077\n"
	"key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out \"$1\" 2>/dev/null; }\n"
	"ca() { key $1.key; openssl req -x509 -new -key $1.key -sha256 -days 2 -subj \"/CN=$1 test CA\" "
	"-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign "
	"-out $1.crt 2>/dev/null; }\n"
	"leaf() {\n"
	"  key $1.key\n"
	"  printf 'basicConstraints=critical,CA:FALSE\\nkeyUsage=critical,digitalSignature\\n"
	"extendedKeyUsage=%s\\nsubjectAltName=DNS:%s\\n' \"$3\" \"$4\" > $1.ext\n"
	"  openssl req -new -key $1.key -subj \"/CN=$4\" -out $1.csr 2>/dev/null\n"
	"  openssl x509 -req -in $1.csr -CA $2.crt -CAkey $2.key -CAcreateserial -days 2 -sha256 "
	"-extfile $1.ext -out $1.crt 2>/dev/null\n"
	"}\n";

int fx_pki(const char *dir, const char *certs)
{
	char script[128], cmd[320];
	FILE *f = NULL;
	int ok;

	snprintf(script, sizeof script, "%s/pki.sh", dir);
	f = fopen(script, "w");
	if (f == NULL)
		return -1;
	ok = fputs(k_pki_functions, f) >= 0 && fputs(certs, f) >= 0;
	if (fclose(f) != 0 || !ok)
		return -1;
	snprintf(cmd, sizeof cmd, "cd %s && sh %s", dir, script);
	return system(cmd) == 0 ? 0 : -1;
}

void fx_psp_path(const struct fx_psp *h, const char *name, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s", h->dir, name);
}

int fx_psp_pki(struct fx_psp *h)
{
	char path[128];

	memset(h, 0, sizeof *h);
	h->pid = -1;
	if (fx_tmpdir(h->dir, sizeof h->dir, "sr-psp-test.") != 0 ||
	    fx_pki(h->dir, "ca ca; ca ca2\n"
	                   "leaf server ca serverAuth psp.test\n"
	                   "leaf client ca clientAuth vault-egress.strongroom.internal\n"
	                   "leaf client2 ca2 clientAuth vault-egress.strongroom.internal\n"
	                   "leaf client-wrongname ca clientAuth someone-else.strongroom.internal\n") != 0)
		return -1;
	fx_psp_path(h, "apikey", path, sizeof path);
	if (fx_write_file(path, FX_PSP_KEY "\n", 0600) != 0)
		return -1;
	fx_psp_path(h, "apikey-wrong", path, sizeof path);
	return fx_write_file(path, "sk_test_wrong\n", 0600);
}

/* Port from pspsim's "pspsim.listening" log line, or 0. */
static unsigned psp_listening_port(const char *log)
{
	char line[4096];
	FILE *f = fopen(log, "r");
	json_t *j = NULL;
	const char *ev = NULL;
	unsigned port = 0;

	if (f == NULL)
		return 0;
	while (port == 0 && fgets(line, sizeof line, f) != NULL) {
		j = json_loads(line, 0, NULL);
		ev = json_string_value(json_object_get(j, "event"));
		if (ev != NULL && strcmp(ev, "pspsim.listening") == 0)
			port = (unsigned)json_integer_value(json_object_get(j, "port"));
		json_decref(j);
	}
	fclose(f);
	return port;
}

int fx_psp_start(struct fx_psp *h)
{
	const char *bin = getenv("PSPSIM_BIN");
	char cfg[128], log[128], p[4][128];
	FILE *f = NULL;
	int fd = -1, i, st = 0;

	if (bin == NULL || bin[0] == '\0')
		return 1;
	fx_psp_path(h, "pspsim.json", cfg, sizeof cfg);
	fx_psp_path(h, "pspsim.log", log, sizeof log);
	fx_psp_path(h, "server.crt", p[0], sizeof p[0]);
	fx_psp_path(h, "server.key", p[1], sizeof p[1]);
	fx_psp_path(h, "ca.crt", p[2], sizeof p[2]);
	fx_psp_path(h, "apikey", p[3], sizeof p[3]);
	f = fopen(cfg, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "{\"listen\":\"127.0.0.1\",\"port\":0,\"tls_cert\":\"%s\",\"tls_key\":\"%s\","
	        "\"client_ca\":\"%s\",\"peer_name\":\"vault-egress.strongroom.internal\","
	        "\"api_key_file\":\"%s\",\"threads\":2,\"public_host\":\"psp.test\","
	        "\"adyen_api_key_file\":\"%s\",\"adyen_merchant_account\":\"TestMerchant\"}\n",
	        p[0], p[1], p[2], p[3], p[3]);
	fclose(f);
	h->pid = fork();
	if (h->pid < 0)
		return -1;
	if (h->pid == 0) {
		/* Never outlive the test, even if it crashes. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
		}
		execl(bin, bin, "--config", cfg, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 200; i++) {       /* up to 10 s */
		h->port = psp_listening_port(log);
		if (h->port != 0)
			return 0;
		if (waitpid(h->pid, &st, WNOHANG) == h->pid) {
			h->pid = -1;
			fprintf(stderr, "pspsim exited early; log %s\n", log);
			return -1;
		}
		usleep(50000);
	}
	return -1;
}

int fx_psp_stop(struct fx_psp *h)
{
	char cmd[256];
	int st = 0, ret = 0;

	if (h->pid > 0) {
		kill(h->pid, SIGTERM);
		if (waitpid(h->pid, &st, 0) != h->pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "pspsim did not exit cleanly (status 0x%x)\n", (unsigned)st);
			snprintf(cmd, sizeof cmd, "grep -v '^{' %s/pspsim.log | head -n 60 >&2", h->dir);
			if (system(cmd) != 0)
				fprintf(stderr, "(no non-JSON log lines)\n");
			ret = -1;
		}
		h->pid = -1;
	}
	if (fx_rmtree(h->dir) != 0)
		fprintf(stderr, "could not remove %s\n", h->dir);
	return ret;
}
