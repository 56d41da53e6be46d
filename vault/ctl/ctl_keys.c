/*
 * vaultctl: the token and its keys: init-token, keys create / list, keys kcv
 * and keys generate under dual control (issue 7, ADR 0070).
 */
#include "vault/ctl/vaultctl.h"
#include "hsm/hsm_p11.h"

#include <regex.h>
#include <stdio.h>
#include <string.h>

static const char *key_type_name(unsigned long kt)
{
	switch (kt) {
	case CKK_AES:
		return "AES";
	case CKK_GENERIC_SECRET:
		return "GENERIC_SECRET";
	default:
		return "other";
	}
}

static void print_key(const char *label, const struct hsm_key_info *ki, const char *note)
{
	char bits[32];

	/* SoftHSM2 2.6 keeps no CKA_VALUE_LEN for an unwrapped (restored) key:
	 * its length is in the restore's transcript line (ADR 0104). */
	if (ki->value_len == 0 && !ki->local)
		snprintf(bits, sizeof bits, "unrecorded(restored)");
	else
		snprintf(bits, sizeof bits, "%lu", ki->value_len * 8);
	printf("%-12s type=%s bits=%s sensitive=%d extractable=%d always_sensitive=%d "
	       "never_extractable=%d wrap_with_trusted=%d%s%s\n",
	       label, key_type_name(ki->key_type), bits, ki->sensitive ? 1 : 0,
	       ki->extractable ? 1 : 0, ki->always_sensitive ? 1 : 0,
	       ki->never_extractable ? 1 : 0, ki->wrap_with_trusted ? 1 : 0,
	       note != NULL ? " " : "", note != NULL ? note : "");
}

int cmd_init_token(const struct opts *o)
{
	char err[512] = "";
	int r;

	struct hsm *h = NULL;

	r = hsm_init_token(o->module, o->label, o->so_pin_file, o->pin_file, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "vaultctl: init-token: %s\n", err);
		return EXIT_OP;
	}
	if (r == 1)
		printf("token '%s' already initialised\n", o->label);
	else
		printf("token '%s' initialised without custodians: no dual-control ceremony can "
		       "run on it (init-token NAME NAME..., ADR 0105)\n", o->label);
	/* ADR 0117: every ceremony command is on the record (a new token has no
	 * signer yet: record_if_signer says so). */
	if (hsm_open(o->module, o->label, o->pin_file, 1, &h, err, sizeof(err)) != 0) {
		fprintf(stderr, "vaultctl: init-token: %s\n", err);
		return EXIT_OP;
	}
	r = record_if_signer(h, o, r == 1 ? "init-token-exists" : "token-initialised",
	                     json_pack("{s:s, s:b}", "label", o->label, "custodians", 0));
	hsm_close(h);
	return r == 0 ? EXIT_OK : EXIT_OP;
}

/* The key is flagged as the vault needs it (sensitive, never extractable in clear). */
static bool key_ok(const struct hsm_key_info *ki, unsigned long want_type)
{
	/* Never extractable; or backup-capable (ADR 0073, 0104): extractable
	 * only wrapped under a key the SO marked trusted (CKA_WRAP_WITH_TRUSTED),
	 * still sensitive; generated here with 256 bits, or restored (unwrapped:
	 * SoftHSM2 2.6 records no CKA_VALUE_LEN, the restore checked it). */
	return ki->found && ki->sensitive && ki->key_type == want_type &&
	       ((!ki->extractable && ki->never_extractable && ki->value_len == 32) ||
	        (ki->extractable && ki->wrap_with_trusted &&
	         (ki->value_len == 32 || (ki->value_len == 0 && !ki->local))));
}

int cmd_keys(const struct opts *o, bool create)
{
	static const struct {
		const char *label;
		unsigned long type;
	} keys[] = {
		{ HSM_KEY_PAN_ENC, CKK_AES },
		{ HSM_KEY_FP_HMAC, CKK_GENERIC_SECRET },
		{ HSM_KEY_AUDIT_HMAC, CKK_GENERIC_SECRET },
	};
	struct hsm *h = NULL;
	json_t *seen = json_array();
	char err[512] = "";
	int ret = EXIT_OP;
	size_t i;

	if (seen == NULL ||
	    hsm_open(o->module, o->label, o->pin_file, 1, &h, err, sizeof(err)) != 0) {
		fprintf(stderr, "vaultctl: %s\n", err);
		goto out;
	}
	ret = EXIT_OK;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct hsm_key_info ki;
		const char *note = NULL;

		if (hsm_key_info(h, keys[i].label, &ki, err, sizeof(err)) != 0) {
			fprintf(stderr, "vaultctl: %s: %s\n", keys[i].label, err);
			ret = EXIT_OP;
			continue;
		}
		if (!ki.found && create) {
			int r = keys[i].type == CKK_AES
			        ? hsm_generate_aes_key(h, keys[i].label, err, sizeof(err))
			        : hsm_generate_hmac_key(h, keys[i].label, err, sizeof(err));
			if (r != 0 || hsm_key_info(h, keys[i].label, &ki, err, sizeof(err)) != 0) {
				fprintf(stderr, "vaultctl: %s: %s\n", keys[i].label, err);
				ret = EXIT_OP;
				continue;
			}
			note = "(created)";
		} else if (ki.found && create) {
			note = "(exists)";
		}
		if (!ki.found) {
			printf("%-12s absent\n", keys[i].label);
			json_array_append_new(seen, json_pack("{s:s, s:b}", "label", keys[i].label,
			                                      "found", 0));
			continue;
		}
		print_key(keys[i].label, &ki, note);
		json_array_append_new(seen, json_pack("{s:s, s:b, s:s?, s:i, s:{s:b, s:b, s:b, s:b, "
		                                      "s:b}}", "label", keys[i].label, "found", 1,
		                                      "note", note, "bits", (int)(ki.value_len * 8),
		                                      "attributes", "sensitive", ki.sensitive,
		                                      "extractable", ki.extractable,
		                                      "always_sensitive", ki.always_sensitive,
		                                      "never_extractable", ki.never_extractable,
		                                      "wrap_with_trusted", ki.wrap_with_trusted));
		if (!key_ok(&ki, keys[i].type)) {
			fprintf(stderr, "vaultctl: %s: unexpected type, length or flags "
			        "(must be sensitive, and never extractable unless backup-capable "
			        "with CKA_WRAP_WITH_TRUSTED)\n", keys[i].label);
			ret = EXIT_OP;
		}
	}
	/* ADR 0117: what the token showed goes on the record. */
	if (record_if_signer(h, o, create ? "keys-created" : "keys-listed",
	                     json_pack("{s:O, s:b}", "keys", seen, "as_required", ret == EXIT_OK)) != 0)
		ret = EXIT_OP;
out:
	json_decref(seen);
	hsm_close(h);
	return ret;
}

void kcv_hex(const uint8_t kcv[HSM_KCV_LEN], char out[2 * HSM_KCV_LEN + 1])
{
	static const char digits[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < HSM_KCV_LEN; i++) {
		out[2 * i] = digits[kcv[i] >> 4];
		out[2 * i + 1] = digits[kcv[i] & 15];
	}
	out[2 * HSM_KCV_LEN] = '\0';
}

int cmd_keys_kcv(const struct opts *o, const char *label)
{
	struct hsm *h = NULL;
	uint8_t kcv[HSM_KCV_LEN];
	char err[512] = "", hx[2 * HSM_KCV_LEN + 1];
	int ret = EXIT_OP;

	if (hsm_open(o->module, o->label, o->pin_file, 1, &h, err, sizeof(err)) != 0 ||
	    hsm_kcv(h, label, kcv, err, sizeof(err)) != 0) {
		fprintf(stderr, "vaultctl: %s\n", err);
		goto out;
	}
	kcv_hex(kcv, hx);
	if (record_if_signer(h, o, "kcv-read", json_pack("{s:s, s:s}", "label", label, "kcv",
	                                                 hx)) != 0)
		goto out;
	printf("%s kcv=%s\n", label, hx);
	ret = EXIT_OK;
out:
	hsm_close(h);
	return ret;
}

bool data_key_label_ok(const char *label)
{
	regex_t re;
	int r;

	if (label == NULL ||
	    regcomp(&re, "^(pan-enc|fp-hmac|audit-hmac)-v[1-9][0-9]{0,5}$",
	            REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	r = regexec(&re, label, 0, NULL, 0);
	regfree(&re);
	return r == 0;
}

int cmd_keys_generate(const struct opts *o, const char *key_label)
{
	char names[2][HSM_CUSTODIAN_NAME_MAX + 1];
	struct hsm_key_info ki;
	struct hsm *h = NULL;
	json_t *what = NULL;
	uint8_t kcv[HSM_KCV_LEN];
	char err[512] = "", hx[2 * HSM_KCV_LEN + 1], serial[17];
	bool aes;
	int r, ret = EXIT_OP;

	if (!data_key_label_ok(key_label)) {
		fprintf(stderr, "vaultctl: keys generate: the label must be pan-enc-vN, fp-hmac-vN "
		        "or audit-hmac-vN\n");
		return EXIT_USAGE;
	}
	aes = strncmp(key_label, "pan-enc-", 8) == 0;
	if (hsm_open(o->module, o->label, o->pin_file, 1, &h, err, sizeof(err)) != 0 ||
	    hsm_key_info(h, key_label, &ki, err, sizeof(err)) != 0) {
		fprintf(stderr, "vaultctl: %s\n", err);
		goto out;
	}
	if (ki.found) {
		fprintf(stderr, "vaultctl: keys generate: '%s' exists already\n", key_label);
		goto out;
	}
	/* PCI DSS v4.0 3.6.1: every key event is recorded in the signed transcript. */
	r = dual_control(h, o, "key-generation-requested",
	                 json_pack("{s:s}", "label", key_label), names);
	if (r != EXIT_OK) {
		ret = r;
		goto out;
	}
	/* PCI DSS v4.0 3.7.1: the key is generated inside the HSM, sensitive and
	 * never extractable. */
	r = o->wrappable ? hsm_generate_wrappable_key(h, key_label, aes, err, sizeof(err))
	    : aes        ? hsm_generate_aes_key(h, key_label, err, sizeof(err))
	                 : hsm_generate_hmac_key(h, key_label, err, sizeof(err));
	if (r != 0 || hsm_key_info(h, key_label, &ki, err, sizeof(err)) != 0 ||
	    hsm_kcv(h, key_label, kcv, err, sizeof(err)) != 0 ||
	    hsm_token_serial(h, serial, err, sizeof(err)) != 0) {
		fprintf(stderr, "vaultctl: keys generate: %s\n", err);
		goto out;
	}
	kcv_hex(kcv, hx);
	what = json_pack("{s:s, s:s, s:s, s:i, s:{s:b, s:b, s:b, s:b, s:b, s:b}, s:s, s:s, "
	                 "s:[s,s]}",
	                 "label", key_label, "mechanism",
	                 aes ? "CKM_AES_KEY_GEN" : "CKM_GENERIC_SECRET_KEY_GEN", "key_type",
	                 aes ? "CKK_AES" : "CKK_GENERIC_SECRET", "bits", (int)(ki.value_len * 8),
	                 "attributes", "sensitive", ki.sensitive, "extractable", ki.extractable,
	                 "always_sensitive", ki.always_sensitive, "never_extractable",
	                 ki.never_extractable, "wrap_with_trusted", ki.wrap_with_trusted,
	                 "token", 1, "kcv", hx, "kcv_method",
	                 aes ? "first 3 bytes of AES-ECB(key, 16 zero bytes)"
	                     : "first 3 bytes of HMAC-SHA256(key, 16 zero bytes)",
	                 "custodians", names[0], names[1]);
	if (record(h, o, o->master, "ceremony-master", "key-generated", what) != 0) {
		what = NULL;
		goto out;
	}
	what = NULL;   /* record() took it */
	printf("%s generated under dual control (%s, %s): kcv=%s hsm_serial=%s\n", key_label,
	       names[0], names[1], hx, serial);
	ret = EXIT_OK;
out:
	json_decref(what);
	hsm_close(h);
	return ret;
}
