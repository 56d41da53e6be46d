/*
 * vaultctl: the signed ceremony transcript (ADRs 0071, 0117): ceremony init
 * and verify, and the transcript line every ceremony step writes, with the
 * command's witnesses and evidence references.
 */
#include "vault/ctl/vaultctl.h"
#include "common/sr_secret.h"
#include "hsm/ceremonies/hsm_transcript.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

/* The command's witnesses, loaded (keys derived) on its first line. */
static struct {
	struct hsm_witness w[HSM_WITNESS_MAX];
	size_t n;
	bool loaded;
} wit;

/* ceremony init: the transcript signer (ADR 0071). */
int cmd_ceremony_init(const struct opts *o)
{
	struct hsm *h = NULL;
	json_t *what = NULL;
	uint8_t point[65], fp[32];
	char err[512] = "", fphex[65];
	bool created = false;
	int ret = EXIT_OP;

	if (hsm_open(o->module, o->label, o->pin_file, 1, &h, err, sizeof(err)) != 0)
		goto fail;
	if (hsm_ec_public_point(h, HSM_KEY_CEREMONY_SIGN, point, err, sizeof(err)) != 0) {
		if (hsm_generate_ec_signing_key(h, HSM_KEY_CEREMONY_SIGN, err, sizeof(err)) != 0 ||
		    hsm_ec_public_point(h, HSM_KEY_CEREMONY_SIGN, point, err, sizeof(err)) != 0)
			goto fail;
		created = true;
	}
	if (hsm_transcript_write_pubkey(point, o->pubkey, err, sizeof(err)) != 0)
		goto fail;
	crypto_hash_sha256(fp, point, sizeof(point));
	sodium_bin2hex(fphex, sizeof(fphex), fp, sizeof(fp));
	what = json_pack("{s:s, s:s, s:s, s:s, s:{s:b, s:b, s:b, s:b}, s:s}", "label",
	                 HSM_KEY_CEREMONY_SIGN, "mechanism", "CKM_EC_KEY_PAIR_GEN", "curve", "P-256",
	                 "signature", "CKM_ECDSA over SHA-256", "attributes", "sign", 1,
	                 "sensitive", 1, "extractable", 0, "token", 1, "public_point_sha256", fphex);
	if (record(h, o, o->master, "ceremony-master",
	           created ? "signer-created" : "signer-confirmed", json_incref(what)) != 0)
		goto out;
	printf("%s %s; public key written to %s\npublic point SHA-256 %s\n", HSM_KEY_CEREMONY_SIGN,
	       created ? "created" : "exists", o->pubkey, fphex);
	ret = EXIT_OK;
	goto out;
fail:
	fprintf(stderr, "vaultctl: ceremony init: %s\n", err);
out:
	json_decref(what);
	hsm_close(h);
	return ret;
}

int cmd_ceremony_verify(const struct opts *o, const char *file)
{
	struct hsm_transcript_verify_opts vo = { o->tsa_ca, o->anchor, o->allow_untimed };
	struct hsm_transcript_report rep;
	char err[512] = "";
	int r;

	if (o->anchor != NULL && strlen(o->anchor) != 64) {
		fprintf(stderr, "vaultctl: --anchor takes the 64 hex digits of a transcript head\n");
		return EXIT_USAGE;
	}
	r = hsm_transcript_verify_opts(file, o->pubkey, &vo, &rep, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "vaultctl: ceremony verify: %s\n", err);
		return EXIT_OP;
	}
	if (r == 1 && rep.first_bad == 0) {
		printf("transcript BROKEN: %s (%ld lines verified)\n", rep.reason, rep.lines);
		return EXIT_TAMPERED;
	}
	if (r == 1) {
		printf("transcript BROKEN at line %ld: %s (%ld lines before it verified)\n",
		       rep.first_bad, rep.reason, rep.lines);
		return EXIT_TAMPERED;
	}
	if (r == 2) {
		printf("transcript REFUSED: no trusted time after line %ld: lines %ld-%ld have "
		       "none after them (ADR 0117: each ceremony ends with vaultctl ceremony "
		       "timestamp or ceremony clock); --allow-untimed verifies them anyway\n",
		       rep.lines, rep.untimed_from, rep.lines);
		return EXIT_REFUSED;
	}
	printf("transcript intact: %ld lines verified; head %s\n", rep.lines, rep.head);
	if (rep.untimed_from != 0)
		printf("WARNING: lines %ld-%ld have no trusted time after them (--allow-untimed): "
		       "when they were written is not attested\n", rep.untimed_from, rep.lines);
	printf("%ld lines attested by witnesses; %ld RFC 3161 time stamps (%s); %ld witness "
	       "clock readings\n", rep.attested, rep.tsa_times,
	       rep.tsa_checked ? "TSA signatures checked" : "imprints only: give --tsa-ca",
	       rep.clock_readings);
	if (o->anchor != NULL)
		printf("anchored head found at line %ld\n", rep.anchor_line);
	/* ADR 0117: the head goes on the paper record and, from the application
	 * host, into the gateway's audit chain, out of the vault host's reach. */
	printf("paper record: transcript head %s after %ld lines\n"
	       "anchor it: gatewayctl --config GATEWAYD.JSON audit anchor --transcript-head %s "
	       "--lines %ld\n", rep.head, rep.lines, rep.head, rep.lines);
	return EXIT_OK;
}

int ceremony_witnesses_load(const struct opts *o)
{
	char err[512] = "";
	size_t i;

	for (i = 0; i < o->nwitnesses && !wit.loaded; i++) {
		const char *spec = o->witnesses[i], *eq = strchr(spec, '=');
		char name[HSM_CUSTODIAN_NAME_MAX + 1] = "", *pass = NULL;
		size_t nlen = eq != NULL ? (size_t)(eq - spec) : strlen(spec), plen = 0;
		struct hsm_custodian_input *in = NULL;
		int r = -1;

		if (nlen == 0 || nlen > HSM_CUSTODIAN_NAME_MAX) {
			fprintf(stderr, "vaultctl: --witness takes NAME=FILE or NAME\n");
			return EXIT_USAGE;
		}
		memcpy(name, spec, nlen);
		if (o->enrolling != NULL && strcmp(name, o->enrolling) == 0)
			continue;
		/* A file of mode 0600 holding one line, or the terminal without echo. */
		in = hsm_custodian_input_open(eq != NULL ? &spec : NULL, eq != NULL ? 1 : 0, err,
		                              sizeof(err));
		if (in != NULL && hsm_custodian_secret_of(in, name, false, &pass, &plen, err,
		                                          sizeof(err)) == 0)
			r = hsm_witness_load(o->transcript, name, pass, plen, &wit.w[wit.n], err,
			                     sizeof(err));
		sr_secret_free(pass);
		hsm_custodian_input_close(in);
		if (r != 0) {
			fprintf(stderr, "vaultctl: %s\n", err);
			/* Like a custodian's wrong secret: a refusal. */
			return r > 0 ? EXIT_REFUSED : EXIT_OP;
		}
		wit.n++;
	}
	wit.loaded = true;
	return EXIT_OK;
}

/* One transcript line; takes what (a new reference, may be NULL). Failure
 * to record is fatal for the step. */
int record(struct hsm *h, const struct opts *o, const char *who, const char *role,
           const char *action, json_t *what)
{
	return record_attested(h, o, NULL, who, role, action, what);
}

int record_attested(struct hsm *h, const struct opts *o, const struct hsm_witness *extra,
                    const char *who, const char *role, const char *action, json_t *what)
{
	struct hsm_witness all[HSM_WITNESS_MAX + 1];
	struct hsm_transcript_ctx ctx;
	char err[512] = "";
	int r;

	if (!wit.loaded && ceremony_witnesses_load(o) != EXIT_OK) {
		json_decref(what);
		return -1;
	}
	memcpy(all, wit.w, wit.n * sizeof(wit.w[0]));
	if (extra != NULL)
		all[wit.n] = *extra;   /* borrowed: the caller clears it */
	ctx.witnesses = all;
	ctx.nwitnesses = wit.n + (extra != NULL ? 1 : 0);
	ctx.evidence = o->evidence;
	r = hsm_transcript_append_ctx(h, o->transcript, &ctx, who, role, action, what, err,
	                              sizeof(err));
	json_decref(what);
	if (r != 0) {
		fprintf(stderr, "vaultctl: transcript: %s\n", err);
		return -1;
	}
	return 0;
}

int ceremony_record(const struct opts *o, const char *action, json_t *what)
{
	struct hsm *h = NULL;
	char err[512] = "";
	int r;

	if (hsm_open(o->module, o->label, o->pin_file, 1, &h, err, sizeof(err)) != 0) {
		fprintf(stderr, "vaultctl: transcript: %s\n", err);
		json_decref(what);
		return -1;
	}
	r = record(h, o, o->master, "ceremony-master", action, what);
	hsm_close(h);
	return r;
}

int record_if_signer(struct hsm *h, const struct opts *o, const char *action, json_t *what)
{
	uint8_t point[65];
	char err[256] = "";

	if (hsm_ec_public_point(h, HSM_KEY_CEREMONY_SIGN, point, err, sizeof(err)) != 0) {
		fprintf(stderr, "vaultctl: not on the transcript: the token has no transcript "
		        "signer yet (vaultctl ceremony init)\n");
		json_decref(what);
		return 0;
	}
	return record(h, o, o->master, "ceremony-master", action, what);
}

int file_sha256(const char *path, char hex[65])
{
	crypto_hash_sha256_state st;
	uint8_t buf[8192], md[32];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "vaultctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	crypto_hash_sha256_init(&st);
	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			crypto_hash_sha256_update(&st, buf, (size_t)n);
	close(fd);
	if (n < 0) {
		fprintf(stderr, "vaultctl: %s: read failed\n", path);
		return -1;
	}
	crypto_hash_sha256_final(&st, md);
	sodium_bin2hex(hex, 65, md, sizeof(md));
	return 0;
}

void ceremony_done(struct opts *o)
{
	size_t i;

	for (i = 0; i < wit.n; i++)
		hsm_witness_clear(&wit.w[i]);
	wit.n = 0;
	json_decref(o->evidence);
	o->evidence = NULL;
}
