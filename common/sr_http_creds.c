/*
 * sr_http_creds: the HTTPS server's TLS credentials (sr_http_internal.h):
 * PEM files read with a size bound, one generation of certificate chain
 * and key (from its file, or the signer's key for the certificate, ADR
 * 0118) proved to match, served to each handshake by GnuTLS's certificate
 * callback, and swapped for a new generation by sr_http_reload on SIGHUP
 * (ADR 0052). PCI DSS v4.0 3.6.1: the key file is read into guarded memory.
 */
#include "common/sr_http_internal.h"
#include "common/sr_log.h"
#include "common/sr_secret.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define SR_HTTP_PEM_MAX (1024 * 1024)

/* One generation of server credentials (ADR 0052). Never freed while the
 * server runs: a handshake may still use an older generation after a
 * reload, so old generations stay on the list until sr_http_stop. */
struct tls_creds {
	gnutls_pcert_st pcerts[8];
	unsigned npcerts;
	gnutls_privkey_t key;
	struct tls_creds *older;
};

/* ------------------------------------------------------------------ */
/* PEM files                                                           */

char *sr_http_read_pem(const char *path, char *err, size_t errlen)
{
	FILE *f = NULL;
	char *buf = NULL;
	char *ret = NULL;
	size_t n = 0;
	struct stat st;

	f = fopen(path, "rbe");
	if (f == NULL) {
		sr_http_seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > SR_HTTP_PEM_MAX) {
		sr_http_seterr(err, errlen, "%s: not a regular file of at most %d bytes", path, SR_HTTP_PEM_MAX);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		sr_http_seterr(err, errlen, "%s: out of memory", path);
		goto out;
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		sr_http_seterr(err, errlen, "%s: read error", path);
		goto out;
	}
	buf[n] = '\0';
	ret = buf;
	buf = NULL;
out:
	free(buf);
	if (f != NULL)
		fclose(f);
	return ret;
}

/* ------------------------------------------------------------------ */
/* server credentials, reloadable (ADR 0052)                           */

void sr_http_creds_free(struct tls_creds *c)
{
	unsigned i;

	while (c != NULL) {
		struct tls_creds *older = c->older;

		for (i = 0; i < c->npcerts; i++)
			gnutls_pcert_deinit(&c->pcerts[i]);
		/* GnuTLS wipes the key material on deinit. */
		if (c->key != NULL)
			gnutls_privkey_deinit(c->key);
		free(c);
		c = older;
	}
}

/* Load the certificate chain and key from their files (or the signer's key
 * for the certificate, ADR 0118), and prove the key signs for the
 * certificate. NULL with err on failure. */
struct tls_creds *sr_http_creds_load(const char *cert_file, const char *key_file,
                                     const struct sr_http_signer *signer, char *err,
                                     size_t errlen)
{
	static const unsigned char probe[] = "strongroom sr_http key/certificate pair check";
	struct tls_creds *c = NULL;
	struct tls_creds *ret = NULL;
	char *cert_pem = NULL;
	char *key_pem = NULL;
	size_t key_len = 0;
	gnutls_datum_t d, sig = { NULL, 0 };
	gnutls_datum_t pd = { (unsigned char *)(uintptr_t)probe, sizeof probe - 1 };
	int rc;
	int algo;

	c = calloc(1, sizeof *c);
	if (c == NULL) {
		sr_http_seterr(err, errlen, "http: out of memory");
		goto out;
	}
	cert_pem = sr_http_read_pem(cert_file, err, errlen);
	if (cert_pem == NULL)
		goto out;
	/* PCI DSS 3.6.1: the TLS key is a secret: 0600 file, guarded memory. */
	if (signer == NULL) {
		key_pem = sr_secret_read_file(key_file, &key_len, err, errlen);
		if (key_pem == NULL)
			goto out;
	}
	d.data = (unsigned char *)cert_pem;
	d.size = (unsigned)strlen(cert_pem);
	c->npcerts = sizeof c->pcerts / sizeof c->pcerts[0];
	rc = gnutls_pcert_list_import_x509_raw(c->pcerts, &c->npcerts, &d, GNUTLS_X509_FMT_PEM, 0);
	if (rc < 0 || c->npcerts == 0) {
		c->npcerts = 0;
		sr_http_seterr(err, errlen, "%s: not a PEM certificate chain (%s)", cert_file,
		       gnutls_strerror(rc));
		goto out;
	}
	d.data = (unsigned char *)key_pem;
	d.size = (unsigned)key_len;
	if (signer != NULL) {
		if (sr_http_signer_key(signer, c->pcerts[0].pubkey, &c->key, err, errlen) != 0)
			goto out;
		key_file = "the signer's key";
	} else if (gnutls_privkey_init(&c->key) < 0 ||
	    gnutls_privkey_import_x509_raw(c->key, &d, GNUTLS_X509_FMT_PEM, NULL, 0) < 0) {
		sr_http_seterr(err, errlen, "%s: not a PEM private key", key_file);
		goto out;
	}
	/* The pair must match, or every handshake would fail after a reload. */
	algo = gnutls_pubkey_get_pk_algorithm(c->pcerts[0].pubkey, NULL);
	if (gnutls_privkey_sign_data(c->key, GNUTLS_DIG_SHA256, 0, &pd, &sig) < 0 ||
	    gnutls_pubkey_verify_data2(c->pcerts[0].pubkey,
	                               gnutls_pk_to_sign(algo, GNUTLS_DIG_SHA256), 0, &pd,
	                               &sig) < 0) {
		sr_http_seterr(err, errlen, "%s does not match the certificate in %s", key_file, cert_file);
		goto out;
	}
	ret = c;
	c = NULL;
out:
	gnutls_free(sig.data);
	free(cert_pem);
	sr_secret_free(key_pem);
	sr_http_creds_free(c);
	return ret;
}

/* gnutls_certificate_retrieve_function2: serve the current generation.
 * GnuTLS does not take ownership (the generation outlives the handshake). */
int sr_http_cert_callback(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                          const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                          gnutls_pcert_st **pcert, unsigned int *pcert_length,
                          gnutls_privkey_t *pkey)
{
	struct sr_http_server *srv = gnutls_session_get_ptr(session);
	struct tls_creds *c = NULL;

	(void)req_ca_dn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_length;
	if (srv == NULL)
		return -1;
	pthread_mutex_lock(&srv->mu);
	c = srv->creds;
	pthread_mutex_unlock(&srv->mu);
	if (c == NULL)
		return -1;
	*pcert = c->pcerts;
	*pcert_length = c->npcerts;
	*pkey = c->key;
	return 0;
}

/* Serial number of a generation's leaf certificate, hex, for logs. */
static void creds_serial(const struct tls_creds *c, char *out, size_t outlen)
{
	gnutls_x509_crt_t crt = NULL;
	unsigned char serial[40];
	size_t n = sizeof serial, i;

	out[0] = '\0';
	if (gnutls_x509_crt_init(&crt) < 0)
		return;
	if (gnutls_x509_crt_import(crt, &c->pcerts[0].cert, GNUTLS_X509_FMT_DER) >= 0 &&
	    gnutls_x509_crt_get_serial(crt, serial, &n) >= 0) {
		for (i = 0; i < n && 2 * i + 2 < outlen; i++)
			snprintf(out + 2 * i, outlen - 2 * i, "%02x", serial[i]);
	}
	gnutls_x509_crt_deinit(crt);
}

int sr_http_reload(struct sr_http_server *srv, char *err, size_t errlen)
{
	struct tls_creds *c = NULL;
	char serial[81];

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (srv == NULL)
		return -1;
	c = sr_http_creds_load(srv->cert_file, srv->key_file, srv->signer, err, errlen);
	if (c == NULL) {
		/* Keep serving the current credentials. */
		sr_log(SR_LOG_ERROR, NULL, "http.tls_reload_failed", "{s:s, s:s}", "listener",
		       srv->name, "error", err != NULL ? err : "");
		return -1;
	}
	creds_serial(c, serial, sizeof serial);
	pthread_mutex_lock(&srv->mu);
	c->older = srv->creds;
	srv->creds = c;
	pthread_mutex_unlock(&srv->mu);
	(void)sr_http_tickets_rotate(srv->tickets); /* and no older ticket resumes */
	sr_log(SR_LOG_INFO, NULL, "http.tls_reloaded", "{s:s, s:s}", "listener", srv->name,
	       "serial", serial);
	return 0;
}
