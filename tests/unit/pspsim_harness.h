/*
 * pspsim_harness: a throwaway PKI (openssl, in a mkdtemp directory) and a
 * running pspsim for the vault egress/connector tests. Header-only (static
 * functions): included by test_vault_egress.c and test_vault_stripe.c.
 *
 * pspsim is found through the environment variable PSPSIM_BIN (set by
 * tests/unit/run.sh); when it is unset the tests that need it are skipped.
 *
 * PKI made in h->dir:
 *   ca.crt/key, ca2.crt/key               two unrelated CAs
 *   server.crt/key                        ca, serverAuth, DNS:psp.test
 *   client.crt/key                        ca, clientAuth, DNS:vault-egress.strongroom.internal
 *   client2.crt/key                       ca2, same name (wrong CA)
 *   client-wrongname.crt/key              ca, DNS:someone-else.strongroom.internal
 *   apikey, apikey-wrong                  Bearer keys (mode 0600)
 */
#ifndef PSPSIM_HARNESS_H
#define PSPSIM_HARNESS_H
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define PSP_TEST_KEY "sk_test_pspsim_dev_key"

struct psp_harness {
	char dir[64];
	pid_t pid;
	unsigned port;
};

static const char k_pki_script[] =
	"set -e\n"
	"cd \"$1\"\n"
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
	"}\n"
	"ca ca; ca ca2\n"
	"leaf server ca serverAuth psp.test\n"
	"leaf client ca clientAuth vault-egress.strongroom.internal\n"
	"leaf client2 ca2 clientAuth vault-egress.strongroom.internal\n"
	"leaf client-wrongname ca clientAuth someone-else.strongroom.internal\n"
	"printf '" PSP_TEST_KEY "\\n' > apikey\n"
	"printf 'sk_test_wrong\\n' > apikey-wrong\n";

static void psp_path(const struct psp_harness *h, const char *name, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s", h->dir, name);
}

/** Make the PKI. @return 0 or -1. */
static int psp_harness_pki(struct psp_harness *h)
{
	char script[128];
	char cmd[256];
	FILE *f = NULL;

	memset(h, 0, sizeof *h);
	h->pid = -1;
	snprintf(h->dir, sizeof h->dir, "/tmp/sr-psp-test.XXXXXX");
	if (mkdtemp(h->dir) == NULL)
		return -1;
	psp_path(h, "gen.sh", script, sizeof script);
	f = fopen(script, "w");
	if (f == NULL)
		return -1;
	fputs(k_pki_script, f);
	fclose(f);
	snprintf(cmd, sizeof cmd, "sh %s %s", script, h->dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Port from pspsim's "pspsim.listening" log line, or 0. */
static unsigned psp_listening_port(const char *log)
{
	char line[4096];
	FILE *f = fopen(log, "r");
	json_t *j = NULL;
	unsigned port = 0;

	if (f == NULL)
		return 0;
	while (port == 0 && fgets(line, sizeof line, f) != NULL) {
		j = json_loads(line, 0, NULL);
		if (json_is_object(j)
		    && strcmp(json_string_value(json_object_get(j, "event")) != NULL
		              ? json_string_value(json_object_get(j, "event")) : "", "pspsim.listening") == 0)
			port = (unsigned)json_integer_value(json_object_get(j, "port"));
		json_decref(j);
	}
	fclose(f);
	return port;
}

/**
 * Start pspsim on a kernel-chosen port. @return 0 when running (h->port set),
 * 1 when PSPSIM_BIN is unset (skip), -1 on failure.
 */
static int psp_harness_start(struct psp_harness *h)
{
	const char *bin = getenv("PSPSIM_BIN");
	char cfg[128];
	char log[128];
	char p[4][128];
	FILE *f = NULL;
	int fd = -1;
	int i = 0;
	int st = 0;

	if (bin == NULL || bin[0] == '\0')
		return 1;
	psp_path(h, "pspsim.json", cfg, sizeof cfg);
	psp_path(h, "pspsim.log", log, sizeof log);
	psp_path(h, "server.crt", p[0], sizeof p[0]);
	psp_path(h, "server.key", p[1], sizeof p[1]);
	psp_path(h, "ca.crt", p[2], sizeof p[2]);
	psp_path(h, "apikey", p[3], sizeof p[3]);
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

/**
 * Stop pspsim (if started) and remove the directory. @return 0, or -1 when
 * pspsim did not exit cleanly (e.g. a sanitizer report): its non-JSON log
 * lines are then copied to stderr.
 */
static int psp_harness_stop(struct psp_harness *h)
{
	char cmd[256];
	int st = 0;
	int ret = 0;

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
	if (h->dir[0] != '\0' && strncmp(h->dir, "/tmp/sr-psp-test.", 17) == 0) {
		snprintf(cmd, sizeof cmd, "rm -rf %s", h->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", h->dir);
	}
	return ret;
}

#endif
