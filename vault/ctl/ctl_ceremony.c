/*
 * vaultctl: the signed ceremony transcript (ADR 0071): ceremony init and
 * verify, and the transcript line every ceremony step writes.
 */
#include "vault/ctl/vaultctl.h"
#include "hsm/ceremonies/hsm_transcript.h"

#include <stdio.h>

#include <sodium.h>

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
	if (hsm_transcript_append(h, o->transcript, o->master, "ceremony-master",
	                          created ? "signer-created" : "signer-confirmed", what, err,
	                          sizeof(err)) != 0)
		goto fail;
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
	struct hsm_transcript_report rep;
	char err[512] = "";
	int r;

	r = hsm_transcript_verify(file, o->pubkey, &rep, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "vaultctl: ceremony verify: %s\n", err);
		return EXIT_OP;
	}
	if (r == 1) {
		printf("transcript BROKEN at line %ld: %s (%ld lines before it verified)\n",
		       rep.first_bad, rep.reason, rep.lines);
		return EXIT_TAMPERED;
	}
	printf("transcript intact: %ld lines verified; head %s\n", rep.lines, rep.head);
	return EXIT_OK;
}

/* One transcript line; takes what (a new reference, may be NULL). Failure
 * to record is fatal for the step. */
int record(struct hsm *h, const struct opts *o, const char *who, const char *role,
                  const char *action, json_t *what)
{
	char err[512] = "";
	int r;

	r = hsm_transcript_append(h, o->transcript, who, role, action, what, err, sizeof(err));
	json_decref(what);
	if (r != 0) {
		fprintf(stderr, "vaultctl: transcript: %s\n", err);
		return -1;
	}
	return 0;
}
