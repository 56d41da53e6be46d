/*
 * vaultctl tls: the vault's TLS identities with their private keys in the
 * HSM only (ADR 0118). A key pair is generated in the token (ECDSA P-256,
 * private, sensitive, never extractable, sign only); its PKCS#10 request
 * (RFC 2986) is built and checked with OpenSSL, and signed by the token
 * (C_Sign, CKM_ECDSA); a certificate is installed only when it names a key
 * of the role in the token and that key signs for it. Every step is written
 * to the signed ceremony transcript (ADR 0071).
 */
#include "vault/ctl/vaultctl.h"
#include "vault/crypto/vault_tls_key.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#define TLS_MAX_KEYS 8   /* key pairs of one role at once (a rotation's overlap: 2) */

/* An EVP_PKEY of the P-256 public point 04||X||Y. NULL on failure. */
static EVP_PKEY *pkey_of_point(const uint8_t point[65])
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *pkey = NULL;
	char group[] = "prime256v1";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
		OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)point, 65),
		OSSL_PARAM_construct_end(),
	};

	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

/* The P-256 point of pkey; -1 for another key type or curve. */
static int point_of_pkey(const EVP_PKEY *pkey, uint8_t point[65])
{
	char group[32] = "";
	size_t len = 0;

	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC ||
	    EVP_PKEY_get_group_name(pkey, group, sizeof group, NULL) != 1 ||
	    strcmp(group, "prime256v1") != 0 ||
	    EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, point, 65, &len) != 1 ||
	    len != 65 || point[0] != 0x04)
		return -1;
	return 0;
}

/* SHA-256 of msg signed in the HSM by label, as a DER Ecdsa-Sig-Value
 * (RFC 3279 §2.2.3; *der from OPENSSL_malloc). Returns its length, or -1. */
static int hsm_sign_der(struct hsm *h, const char *label, const uint8_t *msg, size_t len,
                        unsigned char **der, char *err, size_t errlen)
{
	uint8_t digest[32], rs[64];
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = NULL, *s = NULL;
	int n = -1;

	*der = NULL;
	crypto_hash_sha256(digest, msg, len);
	if (sig == NULL || hsm_ec_sign(h, label, digest, rs, err, errlen) != 0)
		goto out;
	r = BN_bin2bn(rs, 32, NULL);
	s = BN_bin2bn(rs + 32, 32, NULL);
	if (r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1)
		goto out;
	r = s = NULL;
	n = i2d_ECDSA_SIG(sig, der);
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	return n;
}

/* The newest key of role (highest tls-ROLE-vN), "" when none; its version in *v. */
static int newest_key(struct hsm *h, const char *role, char label[HSM_TLS_LABEL_MAX],
                      unsigned *v, char *err, size_t errlen)
{
	char labels[TLS_MAX_KEYS][HSM_TLS_LABEL_MAX], prefix[32];
	size_t n = 0, i;

	label[0] = '\0';
	*v = 0;
	vault_tls_prefix(role, prefix, sizeof prefix);
	if (hsm_tls_labels(h, prefix, labels, TLS_MAX_KEYS, &n, err, errlen) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned lv = vault_tls_label_version(role, labels[i]);

		if (lv > *v) {
			*v = lv;
			snprintf(label, HSM_TLS_LABEL_MAX, "%s", labels[i]);
		}
	}
	return 0;
}

/* Generate tls-ROLE-v<v> in the token and record it. 0, or -1 (printed). */
static int generate(struct hsm *h, const struct opts *o, const char *role, unsigned v,
                    char label[HSM_TLS_LABEL_MAX], const char *why)
{
	char err[512] = "";

	snprintf(label, HSM_TLS_LABEL_MAX, "tls-%s-v%u", role, v);
	if (hsm_generate_ec_signing_key(h, label, err, sizeof err) != 0) {
		fprintf(stderr, "vaultctl: tls: %s\n", err);
		return -1;
	}
	return record(h, o, o->master, "ceremony-master", "tls-key-generated",
	              json_pack("{s:s, s:s, s:s, s:s, s:{s:b, s:b, s:b, s:b}}", "label", label,
	                        "role", role, "reason", why, "mechanism",
	                        "CKM_EC_KEY_PAIR_GEN P-256", "attributes", "sign", 1, "sensitive",
	                        1, "extractable", 0, "private", 1));
}

/* Write label's PKCS#10 request for o->cn (and o->org, o->san) to o->out. */
static int write_csr(struct hsm *h, const struct opts *o, const char *role, const char *label)
{
	uint8_t point[65];
	EVP_PKEY *pkey = NULL;
	X509_REQ *req = X509_REQ_new();
	X509_ALGOR *alg = X509_ALGOR_new();
	ASN1_BIT_STRING *bits = ASN1_BIT_STRING_new();
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_NAME *name = NULL;
	unsigned char *tbs = NULL, *der = NULL;
	char err[512] = "";
	FILE *f = NULL;
	int tbslen, derlen, ret = -1;

	if (req == NULL || alg == NULL || bits == NULL) {
		snprintf(err, sizeof err, "out of memory");
		goto out;
	}
	if (hsm_ec_public_point(h, label, point, err, sizeof err) != 0)
		goto out;
	pkey = pkey_of_point(point);
	name = X509_REQ_get_subject_name(req);
	if (pkey == NULL || X509_REQ_set_version(req, 0) != 1 ||
	    (o->org != NULL && X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	                                                  (const unsigned char *)o->org, -1, -1,
	                                                  0) != 1) ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)o->cn, -1,
	                               -1, 0) != 1 ||
	    X509_REQ_set_pubkey(req, pkey) != 1) {
		snprintf(err, sizeof err, "cannot build the request (subject or key)");
		goto out;
	}
	if (o->san != NULL) {
		/* OpenSSL parses the list ("DNS:a,IP:127.0.0.1", RFC 5280 §4.2.1.6). */
		X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, o->san);

		exts = sk_X509_EXTENSION_new_null();
		if (ext == NULL || exts == NULL || sk_X509_EXTENSION_push(exts, ext) == 0 ||
		    X509_REQ_add_extensions(req, exts) != 1) {
			X509_EXTENSION_free(ext);
			snprintf(err, sizeof err, "--san: not a subjectAltName list");
			goto out;
		}
	}
	/* RFC 2986 §4.2: the signature over the DER CertificationRequestInfo,
	 * ecdsa-with-SHA256 (RFC 5758 §3.2), made in the HSM. */
	X509_ALGOR_set0(alg, OBJ_nid2obj(NID_ecdsa_with_SHA256), V_ASN1_UNDEF, NULL);
	if (X509_REQ_set1_signature_algo(req, alg) != 1 ||
	    (tbslen = i2d_re_X509_REQ_tbs(req, &tbs)) <= 0) {
		snprintf(err, sizeof err, "cannot encode the request");
		goto out;
	}
	derlen = hsm_sign_der(h, label, tbs, (size_t)tbslen, &der, err, sizeof err);
	if (derlen <= 0 || ASN1_BIT_STRING_set(bits, der, derlen) != 1)
		goto out;
	bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
	bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	X509_REQ_set0_signature(req, bits);
	bits = NULL;
	if (X509_REQ_verify(req, pkey) != 1) {
		snprintf(err, sizeof err, "the HSM's signature does not verify");
		goto out;
	}
	f = fopen(o->out, "w");
	if (f == NULL || PEM_write_X509_REQ(f, req) != 1 || fclose(f) != 0) {
		f = NULL;
		snprintf(err, sizeof err, "cannot write %s", o->out);
		goto out;
	}
	f = NULL;
	printf("%s: certificate request for %s written to %s\n", role, label, o->out);
	ret = 0;
out:
	if (ret != 0)
		fprintf(stderr, "vaultctl: tls csr: %s\n", err);
	if (f != NULL)
		fclose(f);
	OPENSSL_free(tbs);
	OPENSSL_free(der);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	ASN1_BIT_STRING_free(bits);
	X509_ALGOR_free(alg);
	X509_REQ_free(req);
	EVP_PKEY_free(pkey);
	return ret;
}

/* Options every tls command shares. EXIT_OK, or EXIT_USAGE (printed). */
static int check_role(const char *role)
{
	if (!vault_tls_role_ok(role)) {
		fprintf(stderr, "vaultctl: tls: ROLE is public, internal or egress\n");
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

int cmd_tls_csr(const struct opts *o, const char *role, bool rotate)
{
	struct hsm *h = NULL;
	char label[HSM_TLS_LABEL_MAX], err[512] = "";
	unsigned v = 0;
	int ret = EXIT_OP;

	if (check_role(role) != EXIT_OK)
		return EXIT_USAGE;
	if (o->cn == NULL || o->cn[0] == '\0' || o->out == NULL) {
		fprintf(stderr, "vaultctl: tls %s: --cn NAME and --out FILE are required\n",
		        rotate ? "rotate" : "csr");
		return EXIT_USAGE;
	}
	if (hsm_open(o->module, o->label, o->pin_file, 1, &h, err, sizeof err) != 0 ||
	    newest_key(h, role, label, &v, err, sizeof err) != 0) {
		fprintf(stderr, "vaultctl: tls: %s\n", err);
		goto out;
	}
	/* csr: the role's newest key, made on first use; rotate: a new one beside it. */
	if ((v == 0 || rotate) &&
	    generate(h, o, role, v + 1, label, rotate ? "rotation" : "first key") != 0)
		goto out;
	if (write_csr(h, o, role, label) != 0 ||
	    record(h, o, o->master, "ceremony-master", "tls-csr-made",
	           json_pack("{s:s, s:s, s:s}", "label", label, "role", role, "cn", o->cn)) != 0)
		goto out;
	ret = EXIT_OK;
out:
	hsm_close(h);
	return ret;
}

/* A copy of src at dst through a temporary file beside dst and rename (mode 0644). */
static int install_file(const char *src, const char *dst, char *err, size_t errlen)
{
	char tmp[4096];
	char buf[8192];
	FILE *in = fopen(src, "r"), *out = NULL;
	size_t n;
	int fd = -1, ok = 0;

	snprintf(tmp, sizeof tmp, "%s.XXXXXX", dst);
	if (in == NULL || (fd = mkstemp(tmp)) < 0)
		goto out;
	out = fdopen(fd, "w");
	if (out == NULL) {
		close(fd);
		unlink(tmp);
		goto out;
	}
	ok = 1;
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		ok = ok && fwrite(buf, 1, n, out) == n;
	ok = ok && !ferror(in) && fchmod(fileno(out), 0644) == 0;
	ok = fclose(out) == 0 && ok;
	ok = ok && rename(tmp, dst) == 0;
	if (!ok)
		unlink(tmp);
out:
	if (in != NULL)
		fclose(in);
	if (!ok)
		snprintf(err, errlen, "cannot install the certificate at %s", dst);
	return ok ? 0 : -1;
}

/* The destination of role's certificate: --out, else the setting in --config. */
static const char *cert_dest(const struct opts *o, const char *role, json_t **cfg)
{
	const char *key = strcmp(role, "public") == 0     ? "tls_cert_public"
	                  : strcmp(role, "internal") == 0 ? "tls_cert_internal"
	                                                  : "psp_client_cert";

	if (o->out != NULL)
		return o->out;
	if (o->config == NULL)
		return NULL;
	*cfg = json_load_file(o->config, 0, NULL);
	return json_string_value(json_object_get(*cfg, key));
}

int cmd_tls_install(const struct opts *o, const char *role, const char *cert_file)
{
	static const uint8_t probe[] = "strongroom vaultctl tls install: key/certificate check";
	struct hsm *h = NULL;
	json_t *cfg = NULL;
	X509 *crt = NULL;
	EVP_PKEY_CTX *vctx = NULL;
	FILE *f = NULL;
	uint8_t point[65], digest[32], fp[32];
	unsigned char *der = NULL, *crtder = NULL;
	char label[HSM_TLS_LABEL_MAX], prefix[32], err[512] = "", fphex[65];
	const char *dest = NULL;
	int derlen, crtlen, ret = EXIT_OP;

	if (check_role(role) != EXIT_OK)
		return EXIT_USAGE;
	dest = cert_dest(o, role, &cfg);
	if (dest == NULL) {
		fprintf(stderr, "vaultctl: tls install: --out FILE or --config VAULTD.JSON\n");
		json_decref(cfg);
		return EXIT_USAGE;
	}
	f = fopen(cert_file, "r");
	crt = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (crt == NULL || point_of_pkey(X509_get0_pubkey(crt), point) != 0) {
		snprintf(err, sizeof err, "%s: not a PEM certificate with an ECDSA P-256 key",
		         cert_file);
		goto out;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(crt)) <= 0 ||
	    X509_cmp_current_time(X509_get0_notBefore(crt)) >= 0) {
		snprintf(err, sizeof err, "%s: the certificate is not valid now", cert_file);
		goto out;
	}
	vault_tls_prefix(role, prefix, sizeof prefix);
	if (hsm_open(o->module, o->label, o->pin_file, 1, &h, err, sizeof err) != 0 ||
	    hsm_tls_key_for_point(h, prefix, point, label, err, sizeof err) != 0)
		goto out;
	/* The key that carries the label must sign for the certificate. */
	derlen = hsm_sign_der(h, label, probe, sizeof probe - 1, &der, err, sizeof err);
	crypto_hash_sha256(digest, probe, sizeof probe - 1);
	vctx = EVP_PKEY_CTX_new(X509_get0_pubkey(crt), NULL);
	if (derlen <= 0 || vctx == NULL || EVP_PKEY_verify_init(vctx) != 1 ||
	    EVP_PKEY_verify(vctx, der, (size_t)derlen, digest, sizeof digest) != 1) {
		snprintf(err, sizeof err, "the HSM key %s does not sign for %s", label, cert_file);
		goto out;
	}
	if (install_file(cert_file, dest, err, sizeof err) != 0)
		goto out;
	crtlen = i2d_X509(crt, &crtder);
	crypto_hash_sha256(fp, crtder, crtlen > 0 ? (size_t)crtlen : 0);
	sodium_bin2hex(fphex, sizeof fphex, fp, sizeof fp);
	if (record(h, o, o->master, "ceremony-master", "tls-certificate-installed",
	           json_pack("{s:s, s:s, s:s, s:s}", "label", label, "role", role, "path", dest,
	                     "certificate_sha256", fphex)) != 0)
		goto out;
	printf("%s: certificate for %s installed at %s (SHA-256 %s); reload vaultd (SIGHUP)\n",
	       role, label, dest, fphex);
	ret = EXIT_OK;
out:
	if (ret != EXIT_OK && err[0] != '\0')
		fprintf(stderr, "vaultctl: tls install: %s\n", err);
	if (f != NULL)
		fclose(f);
	OPENSSL_free(der);
	OPENSSL_free(crtder);
	EVP_PKEY_CTX_free(vctx);
	X509_free(crt);
	json_decref(cfg);
	hsm_close(h);
	return ret;
}

/* The P-256 point of the leaf certificate in the PEM file path. 0, or -1 with err. */
static int cert_file_point(const char *path, uint8_t point[65], char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	X509 *crt = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	int ret = crt != NULL ? point_of_pkey(X509_get0_pubkey(crt), point) : -1;

	if (ret != 0)
		snprintf(err, errlen, "%s: not a PEM certificate with an ECDSA P-256 key", path);
	if (f != NULL)
		fclose(f);
	X509_free(crt);
	return ret;
}

int cmd_tls_retire(const struct opts *o, const char *role)
{
	char labels[TLS_MAX_KEYS][HSM_TLS_LABEL_MAX], prefix[32], current[HSM_TLS_LABEL_MAX];
	char err[512] = "";
	struct hsm *h = NULL;
	json_t *cfg = NULL;
	const char *dest;
	struct stat st;
	uint8_t point[65];
	size_t n = 0, i, destroyed = 0;
	long long age;
	int ret = EXIT_OP;

	if (check_role(role) != EXIT_OK)
		return EXIT_USAGE;
	dest = cert_dest(o, role, &cfg);
	if (dest == NULL) {
		fprintf(stderr, "vaultctl: tls retire: --out FILE or --config VAULTD.JSON\n");
		json_decref(cfg);
		return EXIT_USAGE;
	}
	if (stat(dest, &st) != 0 || cert_file_point(dest, point, err, sizeof err) != 0) {
		if (err[0] == '\0')
			snprintf(err, sizeof err, "cannot read the installed certificate %s", dest);
		goto out;
	}
	vault_tls_prefix(role, prefix, sizeof prefix);
	if (hsm_open(o->module, o->label, o->pin_file, 1, &h, err, sizeof err) != 0 ||
	    hsm_tls_key_for_point(h, prefix, point, current, err, sizeof err) != 0 ||
	    hsm_tls_labels(h, prefix, labels, TLS_MAX_KEYS, &n, err, sizeof err) != 0)
		goto out;
	/* The overlap: the older keys stay until the installed certificate has
	 * served for o->overlap seconds (vaultd reloaded it, clients and
	 * resumed sessions moved on). */
	age = (long long)(time(NULL) - st.st_mtime);
	if (n > 1 && age < o->overlap) {
		fprintf(stderr, "vaultctl: tls retire: the certificate of %s was installed %llds "
		        "ago; the overlap is %llds: the older keys stay\n", current, age, o->overlap);
		ret = EXIT_REFUSED;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(labels[i], current) == 0)
			continue;
		/* PCI DSS v4.0 3.7.5: the retired key is destroyed, and it is recorded. */
		if (hsm_destroy_key_pair(h, labels[i], err, sizeof err) != 0 ||
		    record(h, o, o->master, "ceremony-master", "tls-key-destroyed",
		           json_pack("{s:s, s:s, s:s, s:s, s:I}", "label", labels[i], "role", role,
		                     "current", current, "call", "C_DestroyObject",
		                     "overlap_seconds", (json_int_t)o->overlap)) != 0)
			goto out;
		printf("%s: %s destroyed (current: %s)\n", role, labels[i], current);
		destroyed++;
	}
	if (destroyed == 0)
		printf("%s: only %s, nothing to retire\n", role, current);
	ret = EXIT_OK;
out:
	if (ret == EXIT_OP && err[0] != '\0')
		fprintf(stderr, "vaultctl: tls retire: %s\n", err);
	json_decref(cfg);
	hsm_close(h);
	return ret;
}

int cmd_tls_list(const struct opts *o)
{
	static const char *const roles[] = { "public", "internal", "egress" };
	char labels[TLS_MAX_KEYS][HSM_TLS_LABEL_MAX], prefix[32], err[512] = "";
	struct hsm_key_info info;
	struct hsm *h = NULL;
	size_t r, i, n;
	int ret = EXIT_OP;

	if (hsm_open(o->module, o->label, o->pin_file, 1, &h, err, sizeof err) != 0)
		goto out;
	for (r = 0; r < sizeof roles / sizeof roles[0]; r++) {
		vault_tls_prefix(roles[r], prefix, sizeof prefix);
		if (hsm_tls_labels(h, prefix, labels, TLS_MAX_KEYS, &n, err, sizeof err) != 0)
			goto out;
		for (i = 0; i < n; i++) {
			if (hsm_private_key_info(h, labels[i], &info, err, sizeof err) != 0)
				goto out;
			printf("%-20s %-8s private=%s sensitive=%d extractable=%d "
			       "always_sensitive=%d never_extractable=%d local=%d\n",
			       labels[i], roles[r], info.found ? "yes" : "MISSING", info.sensitive,
			       info.extractable, info.always_sensitive, info.never_extractable,
			       info.local);
			if (!info.found || !info.sensitive || info.extractable ||
			    !info.never_extractable)
				goto out;
		}
	}
	ret = EXIT_OK;
out:
	if (err[0] != '\0')
		fprintf(stderr, "vaultctl: tls list: %s\n", err);
	hsm_close(h);
	return ret;
}
