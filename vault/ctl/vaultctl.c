/*
 * vaultctl: the CDE host's key-ceremony tool (not a daemon).
 *
 *   vaultctl [--module PATH] [--label L] [--pin-file F] [--so-pin-file F] COMMAND
 *     init-token   create the token (idempotent)
 *     keys create  create pan-enc-v1 (AES-256) and fp-hmac-v1 (HMAC-SHA256) when absent
 *     keys list    show the keys and their sensitive/extractable flags
 *     keys generate / backup / restore / rotate / reencrypt / retire, custodian add,
 *     ceremony init / verify: key ceremonies (issue 7, ADRs 0070-0074)
 *   vaultctl --config VAULTD.JSON audit verify
 *                  walk the PAN decryption audit chain (vault/audit/vault_audit.h);
 *                  exit 0 intact, 3 tampered (the first bad record is named)
 *
 * PINs come only from files (BRIEF invariant 10, PCI DSS v4.0 8.3.2), never
 * from the command line or the environment; SOFTHSM2_CONF selects the SoftHSM2
 * configuration as usual. Exit codes: 0 ok, 1 operational error, 2 usage.
 */
#include "hsm/hsm.h"
#include "hsm/hsm_p11.h"
#include "common/sr_db.h"
#include "common/sr_secret.h"
#include "hsm/ceremonies/hsm_backup.h"
#include "hsm/ceremonies/hsm_custodian.h"
#include "hsm/ceremonies/hsm_transcript.h"
#include "vault/audit/vault_audit.h"
#include "vault/crypto/vault_keys.h"
#include "vault/connectors/vault_psp_creds.h"
#include "vault/tokens/vault_token.h"

#include <jansson.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#define DEFAULT_MODULE      "/usr/lib/softhsm/libsofthsm2.so"
#define DEFAULT_LABEL       "strongroom"
#define DEFAULT_PIN_FILE    "var/secrets/hsm-user-pin"
#define DEFAULT_SO_PIN_FILE "var/secrets/hsm-so-pin"
#define DEFAULT_TRANSCRIPT  "var/ceremony/transcript.jsonl"
#define DEFAULT_CUSTODIANS  "var/ceremony/custodians.json"
#define DEFAULT_PUBKEY      "var/ceremony/ceremony-sign-v1.pem"

enum { EXIT_OK = 0, EXIT_OP = 1, EXIT_USAGE = 2, EXIT_TAMPERED = 3, EXIT_REFUSED = 4 };

struct opts {
	const char *module;
	const char *label;
	const char *pin_file;
	const char *so_pin_file;
	const char *config;     /* vaultd's configuration (audit verify) */
	const char *transcript; /* ceremony transcript (JSON lines) */
	const char *custodians; /* custodians file */
	const char *input;      /* custodian credentials file (non-interactive), or NULL */
	const char *pubkey;     /* transcript signer's public key, PEM */
	const char *master;     /* ceremony master's name */
	const char *out;        /* keys backup: the backup file */
	const char *in;         /* keys restore: the backup file */
	const char *comp_dir;   /* keys backup/restore: component files */
	size_t quorum;          /* keys backup: M */
	size_t holders;         /* keys backup: N */
	bool wrappable;         /* keys generate: backup-capable (ADR 0073) */
	int batch;              /* keys reencrypt: records per batch */
};

static void usage(FILE *f)
{
	fprintf(f,
	        "NAME\n"
	        "    vaultctl - Strongroom HSM key ceremony tool (CDE host, not a daemon)\n"
	        "\n"
	        "SYNOPSIS\n"
	        "    vaultctl [--module PATH] [--label LABEL] [--pin-file FILE]\n"
	        "             [--so-pin-file FILE] COMMAND\n"
	        "    vaultctl --help [COMMAND]      vaultctl help [COMMAND]\n"
	        "\n"
	        "COMMANDS\n"
	        "    init-token    create the token LABEL (SO PIN and user PIN from files);\n"
	        "                  does nothing when it exists already\n"
	        "    keys create   create %s (AES-256-GCM), %s and audit-hmac-v1\n"
	        "                  (HMAC-SHA256) when absent: sensitive, never extractable\n"
	        "    keys list     list the keys and their sensitive/extractable flags\n"
	        "    keys kcv LABEL                  print a key's check value (ADR 0070)\n"
	        "    keys generate --key-label LABEL generate a data key under dual control:\n"
	        "                  two different registered custodians must authenticate;\n"
	        "                  the key's KCV is printed and written to the transcript\n"
	        "    keys backup --quorum M --holders N --out FILE --component-dir DIR\n"
	        "                  export every data key only wrapped (RFC 5649) under M-of-N\n"
	        "                  split transport keys combined in the HSM; N custodians\n"
	        "                  authenticate, each gets a component file sealed with their\n"
	        "                  passphrase (ADR 0073)\n"
	        "    keys restore --in FILE --component-dir DIR\n"
	        "                  restore into a fresh token with M custodians; every KCV\n"
	        "                  is checked; fewer than M: refused (exit 4)\n"
	        "    keys rotate pan-enc|fp-hmac     (--config) a new version under dual\n"
	        "                  control, current for vaultd within 1 s (ADR 0074)\n"
	        "    keys reencrypt                  (--config) move every record (tokens,\n"
	        "                  merchants' PSP credentials) to the current versions,\n"
	        "                  audited, with progress, resumable\n"
	        "    keys retire LABEL               (--config) destroy a previous version\n"
	        "                  under dual control; refused while a record uses it\n"
	        "    custodian add NAME              register a key custodian (passphrase\n"
	        "                  prompted without echo, stored as an Argon2id hash)\n"
	        "    custodian remove NAME           remove a custodian: two other custodians\n"
	        "                  authenticate; at least two stay registered\n"
	        "    ceremony init                   create the transcript signing key\n"
	        "                  ceremony-sign-v1 (ECDSA P-256, in the HSM) and write its\n"
	        "                  public key (--pubkey, PEM)\n"
	        "    ceremony verify FILE --pubkey PEM\n"
	        "                  check a transcript's chain and signatures with the public\n"
	        "                  key only; exit 0 intact, 3 tampered (first bad line named)\n"
	        "    audit verify  (needs --config VAULTD.JSON: database and HSM settings)\n"
	        "                  walk the PAN decryption audit chain, recomputing every\n"
	        "                  HMAC in the HSM; exit 0 intact, 3 tampered (the first\n"
	        "                  altered, removed or reordered record is named)\n"
	        "\n"
	        "OPTIONS\n"
	        "    --config FILE       vaultd's configuration (audit verify)\n"
	        "    --module PATH       PKCS#11 module (default %s)\n"
	        "    --label LABEL       token label (default %s)\n"
	        "    --pin-file FILE     user PIN file, mode 0600 (default %s)\n"
	        "    --so-pin-file FILE  security officer PIN file, mode 0600\n"
	        "                        (default %s)\n"
	        "    --transcript FILE   ceremony transcript (default %s)\n"
	        "    --custodians FILE   custodians file, mode 0600 (default %s)\n"
	        "    --custodian-input FILE  non-interactive custodian credentials, mode\n"
	        "                        0600: lines NAME, PASSPHRASE, NAME, PASSPHRASE...\n"
	        "                        (default: prompt on the terminal, no echo)\n"
	        "    --pubkey FILE       transcript signer's public key, PEM (default %s)\n"
	        "    --master NAME       the ceremony master (default: the login name)\n"
	        "    --key-label LABEL   keys generate: pan-enc-vN, fp-hmac-vN, audit-hmac-vN\n"
	        "    --wrappable         keys generate/rotate: backup-capable key (sensitive,\n"
	        "                        extractable only wrapped; ADR 0073)\n"
	        "    --quorum M, --holders N   keys backup: M of N custodians (2..9)\n"
	        "    --out FILE, --in FILE     keys backup / restore: the backup file\n"
	        "    --component-dir DIR keys backup / restore: component-NAME.json files\n"
	        "    --batch N           keys reencrypt: records per batch (default 100)\n"
	        "    --help              this text, or one command's\n"
	        "\n"
	        "ENVIRONMENT\n"
	        "    SOFTHSM2_CONF          SoftHSM2's configuration file\n"
	        "    CREDENTIALS_DIRECTORY  relative PIN file paths resolve against it\n"
	        "    PINs are never read from the command line or the environment.\n"
	        "\n"
	        "EXIT STATUS\n"
	        "    0 ok, 1 operational error, 2 usage error, 3 tampered, 4 refused\n"
	        "    (dual control or quorum not satisfied, key still in use, KCV mismatch)\n",
	        HSM_KEY_PAN_ENC, HSM_KEY_FP_HMAC, DEFAULT_MODULE, DEFAULT_LABEL, DEFAULT_PIN_FILE,
	        DEFAULT_SO_PIN_FILE, DEFAULT_TRANSCRIPT, DEFAULT_CUSTODIANS, DEFAULT_PUBKEY);
}

/* Per-command manual pages ("vaultctl help keys create"). */
static int command_help(int n, char **args)
{
	if (n >= 1 && strcmp(args[0], "init-token") == 0) {
		printf("NAME\n    vaultctl init-token - create the HSM token\n\n"
		       "SYNOPSIS\n    vaultctl [--module PATH] [--label LABEL] [--pin-file FILE]\n"
		       "             [--so-pin-file FILE] init-token\n\n"
		       "DESCRIPTION\n    Initialises a free slot as the token LABEL with the SO PIN\n"
		       "    (C_InitToken) and sets the user PIN (C_InitPIN), both read from\n"
		       "    owner-only files. The token is found by label, never by slot\n"
		       "    number; when it exists already nothing changes (exit 0).\n");
		return EXIT_OK;
	}
	if (n >= 2 && strcmp(args[0], "keys") == 0 && strcmp(args[1], "create") == 0) {
		printf("NAME\n    vaultctl keys create - create the vault's keys\n\n"
		       "SYNOPSIS\n    vaultctl [options] keys create\n\n"
		       "DESCRIPTION\n    Logs in with the user PIN and creates, when absent, %s\n"
		       "    (AES-256, for PAN encryption) and %s (HMAC-SHA256, for card\n"
		       "    fingerprints, PCI DSS 3.5.1.1), both CKA_SENSITIVE, not\n"
		       "    CKA_EXTRACTABLE, CKA_TOKEN. Existing keys are kept.\n",
		       HSM_KEY_PAN_ENC, HSM_KEY_FP_HMAC);
		return EXIT_OK;
	}
	if (n >= 1 && strcmp(args[0], "keys") == 0) {
		printf("NAME\n    vaultctl keys list - show the vault's keys\n\n"
		       "SYNOPSIS\n    vaultctl [options] keys list\n    vaultctl [options] keys create\n\n"
		       "DESCRIPTION\n    keys list prints each key's label, type, size and its\n"
		       "    sensitive / extractable / never-extractable flags, as read from the\n"
		       "    token (what an audit relies on). See also: vaultctl help keys create.\n");
		return EXIT_OK;
	}
	usage(stdout);
	return n == 0 ? EXIT_OK : EXIT_USAGE;
}

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
	printf("%-12s type=%s bits=%lu sensitive=%d extractable=%d always_sensitive=%d "
	       "never_extractable=%d%s%s\n",
	       label, key_type_name(ki->key_type), ki->value_len * 8, ki->sensitive ? 1 : 0,
	       ki->extractable ? 1 : 0, ki->always_sensitive ? 1 : 0,
	       ki->never_extractable ? 1 : 0, note != NULL ? " " : "", note != NULL ? note : "");
}

static int cmd_init_token(const struct opts *o)
{
	char err[512] = "";
	int r;

	r = hsm_init_token(o->module, o->label, o->so_pin_file, o->pin_file, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "vaultctl: init-token: %s\n", err);
		return EXIT_OP;
	}
	if (r == 1)
		printf("token '%s' already initialised\n", o->label);
	else
		printf("token '%s' initialised\n", o->label);
	return EXIT_OK;
}

/* The key is flagged as the vault needs it (BRIEF invariant 2). */
static bool key_ok(const struct hsm_key_info *ki, unsigned long want_type)
{
	/* Never extractable; or backup-capable (ADR 0073): extractable only
	 * wrapped, still sensitive (SoftHSM2 sets no CKA_VALUE_LEN on unwrap). */
	return ki->found && ki->sensitive && ki->key_type == want_type &&
	       ((!ki->extractable && ki->never_extractable && ki->value_len == 32) ||
	        (ki->extractable && (ki->value_len == 32 || ki->value_len == 0)));
}

static int cmd_keys(const struct opts *o, bool create)
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
	char err[512] = "";
	int ret = EXIT_OP;
	size_t i;

	if (hsm_open(o->module, o->label, o->pin_file, 1, &h, err, sizeof(err)) != 0) {
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
			continue;
		}
		print_key(keys[i].label, &ki, note);
		if (!key_ok(&ki, keys[i].type)) {
			fprintf(stderr, "vaultctl: %s: unexpected type, length or flags "
			        "(must be sensitive, and never extractable unless backup-capable)\n",
			        keys[i].label);
			ret = EXIT_OP;
		}
	}
out:
	hsm_close(h);
	return ret;
}

/* PCI DSS v4.0 10.3.2 / 10.7: detect any change to the decryption audit. */
static int cmd_audit_verify(const struct opts *o)
{
	struct vault_audit_report rep;
	struct sr_db_pool *pool = NULL;
	struct hsm *h = NULL;
	json_t *cfg = NULL;
	json_error_t jerr;
	PGconn *db = NULL;
	char port[16];
	char err[512] = "";
	const json_t *jp = NULL;
	int ret = EXIT_OP;
	int rc;

	if (o->config == NULL) {
		fprintf(stderr, "vaultctl: audit verify needs --config (vaultd's configuration)\n");
		return EXIT_USAGE;
	}
	cfg = json_load_file(o->config, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(cfg)) {
		fprintf(stderr, "vaultctl: %s: line %d: %s\n", o->config, jerr.line, jerr.text);
		goto out;
	}
	jp = json_object_get(cfg, "db_port");
	if (json_is_integer(jp))
		snprintf(port, sizeof port, "%lld", (long long)json_integer_value(jp));
	else
		snprintf(port, sizeof port, "%s", json_is_string(jp) ? json_string_value(jp) : "5432");
#define CFG(k, d) (json_is_string(json_object_get(cfg, k)) ? \
	json_string_value(json_object_get(cfg, k)) : (d))
	pool = sr_db_pool_new(CFG("db_host", "127.0.0.1"), port, CFG("db_name", "vault"),
	                      CFG("db_user", "vault"), CFG("db_password_file", NULL), 1, err,
	                      sizeof err);
	if (pool == NULL) {
		fprintf(stderr, "vaultctl: database: %s\n", err);
		goto out;
	}
	if (hsm_open(CFG("pkcs11_module", o->module), CFG("hsm_token_label", o->label),
	             CFG("hsm_pin_file", o->pin_file), 1, &h, err, sizeof err) != 0) {
		fprintf(stderr, "vaultctl: hsm: %s\n", err);
		goto out;
	}
#undef CFG
	db = sr_db_acquire(pool);
	rc = vault_audit_verify(db, h, &rep, err, sizeof err);
	sr_db_release(pool, db);
	if (rc < 0) {
		fprintf(stderr, "vaultctl: audit verify: %s\n", err);
		goto out;
	}
	if (rc == 1) {
		printf("audit chain BROKEN at record %lld: %s (%lld records before it verified)\n",
		       rep.first_bad, rep.reason, rep.records);
		ret = EXIT_TAMPERED;
		goto out;
	}
	printf("audit chain intact: %lld records verified\n", rep.records);
	ret = EXIT_OK;
out:
	hsm_close(h);
	sr_db_pool_free(pool);
	json_decref(cfg);
	return ret;
}

/* ---- key ceremonies (issue 7) ------------------------------------------------ */

static void kcv_hex(const uint8_t kcv[HSM_KCV_LEN], char out[2 * HSM_KCV_LEN + 1])
{
	static const char digits[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < HSM_KCV_LEN; i++) {
		out[2 * i] = digits[kcv[i] >> 4];
		out[2 * i + 1] = digits[kcv[i] & 15];
	}
	out[2 * HSM_KCV_LEN] = '\0';
}

static int cmd_keys_kcv(const struct opts *o, const char *label)
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
	printf("%s kcv=%s\n", label, hx);
	ret = EXIT_OK;
out:
	hsm_close(h);
	return ret;
}

/* ceremony init: the transcript signer (ADR 0071). */
static int cmd_ceremony_init(const struct opts *o)
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

static int cmd_ceremony_verify(const struct opts *o, const char *file)
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
static int record(struct hsm *h, const struct opts *o, const char *who, const char *role,
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

static int cmd_custodian_add(const struct opts *o, const char *name)
{
	struct hsm_custodian_input *in = NULL;
	struct hsm *h = NULL;
	char err[512] = "", got[HSM_CUSTODIAN_NAME_MAX + 1];
	char *pass = NULL;
	size_t plen = 0;
	int ret = EXIT_OP;

	if (!hsm_custodian_name_ok(name)) {
		fprintf(stderr, "vaultctl: a custodian name is 1-%d characters of a-z 0-9 . _ -\n",
		        HSM_CUSTODIAN_NAME_MAX);
		return EXIT_USAGE;
	}
	/* The HSM first: the registration is recorded in the signed transcript. */
	if (hsm_open(o->module, o->label, o->pin_file, 1, &h, err, sizeof(err)) != 0)
		goto fail;
	in = hsm_custodian_input_open(o->input, err, sizeof(err));
	if (in == NULL || hsm_custodian_next(in, "new custodian", got, &pass, &plen, err,
	                                     sizeof(err)) != 0)
		goto fail;
	if (strcmp(got, name) != 0) {
		snprintf(err, sizeof(err), "the name entered is not the custodian being registered");
		goto fail;
	}
	if (hsm_custodian_add(o->custodians, name, pass, plen, err, sizeof(err)) != 0)
		goto fail;
	if (record(h, o, name, "custodian", "custodian-registered",
	           json_pack("{s:s, s:s, s:s}", "custodians_file", o->custodians, "credential",
	                     "passphrase, Argon2id (crypto_pwhash_str)", "registered_by",
	                     o->master)) != 0)
		goto out;
	printf("custodian '%s' registered\n", name);
	ret = EXIT_OK;
	goto out;
fail:
	fprintf(stderr, "vaultctl: custodian add: %s\n", err);
out:
	sr_secret_free(pass);
	hsm_custodian_input_close(in);
	hsm_close(h);
	return ret;
}

/*
 * PCI DSS v4.0 3.7.6: dual control. Two different registered custodians
 * authenticate, each with their own passphrase, before the key exists.
 * Every attempt is written to the transcript. 0 satisfied, 1 refused, -1 error.
 */
static int dual_control(struct hsm *h, const struct opts *o, char names[2][HSM_CUSTODIAN_NAME_MAX + 1])
{
	struct hsm_custodian_input *in = NULL;
	char err[512] = "", label[32];
	char *pass = NULL;
	size_t plen = 0;
	int i, r, ret = -1;

	in = hsm_custodian_input_open(o->input, err, sizeof(err));
	if (in == NULL) {
		fprintf(stderr, "vaultctl: custodians: %s\n", err);
		goto out;
	}
	for (i = 0; i < 2; i++) {
		snprintf(label, sizeof(label), "custodian %d", i + 1);
		if (hsm_custodian_next(in, label, names[i], &pass, &plen, err, sizeof(err)) != 0) {
			fprintf(stderr, "vaultctl: dual control refused: %s\n", err);
			ret = 1;
			goto out;
		}
		if (i == 1 && strcmp(names[0], names[1]) == 0) {
			fprintf(stderr, "vaultctl: dual control refused: custodian 2 is custodian 1 "
			        "again; two different custodians are needed\n");
			(void)record(h, o, names[1], "custodian", "dual-control-refused",
			             json_pack("{s:s}", "reason", "same custodian twice"));
			ret = 1;
			goto out;
		}
		r = hsm_custodian_check(o->custodians, names[i], pass, plen, err, sizeof(err));
		sr_secret_free(pass);
		pass = NULL;
		if (r < 0) {
			fprintf(stderr, "vaultctl: custodians: %s\n", err);
			goto out;
		}
		if (r == 0) {
			/* Never echo a rejected input: the name may be a mistyped passphrase. */
			fprintf(stderr, "vaultctl: dual control refused: %s did not authenticate\n",
			        label);
			(void)record(h, o, hsm_custodian_name_ok(names[i]) ? names[i] : "(unknown)",
			             "custodian", "custodian-refused",
			             json_pack("{s:s}", "reason", "unknown name or wrong passphrase"));
			ret = 1;
			goto out;
		}
		if (record(h, o, names[i], "custodian", "custodian-authenticated", NULL) != 0)
			goto out;
	}
	ret = 0;
out:
	sr_secret_free(pass);
	hsm_custodian_input_close(in);
	return ret;
}

/*
 * custodian remove NAME: two other custodians authenticate (dual control,
 * PCI DSS v4.0 3.6.1.3, 3.7.6); at least two stay registered.
 */
static int cmd_custodian_remove(const struct opts *o, const char *name)
{
	char names[2][HSM_CUSTODIAN_NAME_MAX + 1];
	struct hsm *h = NULL;
	char err[512] = "";
	int r, ret = EXIT_OP;

	if (!hsm_custodian_name_ok(name)) {
		fprintf(stderr, "vaultctl: a custodian name is 1-%d characters of a-z 0-9 . _ -\n",
		        HSM_CUSTODIAN_NAME_MAX);
		return EXIT_USAGE;
	}
	if (hsm_open(o->module, o->label, o->pin_file, 1, &h, err, sizeof(err)) != 0) {
		fprintf(stderr, "vaultctl: %s\n", err);
		goto out;
	}
	if (record(h, o, o->master, "ceremony-master", "custodian-removal-requested",
	           json_pack("{s:s}", "custodian", name)) != 0)
		goto out;
	r = dual_control(h, o, names);
	if (r != 0) {
		ret = r > 0 ? EXIT_REFUSED : EXIT_OP;
		goto out;
	}
	if (strcmp(names[0], name) == 0 || strcmp(names[1], name) == 0) {
		fprintf(stderr, "vaultctl: refused: the leaving custodian cannot authorise their own "
		        "removal\n");
		(void)record(h, o, name, "custodian", "custodian-removal-refused",
		             json_pack("{s:s}", "reason", "the leaving custodian authorised"));
		ret = EXIT_REFUSED;
		goto out;
	}
	r = hsm_custodian_remove(o->custodians, name, err, sizeof(err));
	if (r != 0) {
		fprintf(stderr, "vaultctl: custodian remove: %s\n", err);
		if (r > 0)
			(void)record(h, o, o->master, "ceremony-master", "custodian-removal-refused",
			             json_pack("{s:s, s:s}", "custodian", name, "reason", err));
		ret = r > 0 ? EXIT_REFUSED : EXIT_OP;
		goto out;
	}
	if (record(h, o, o->master, "ceremony-master", "custodian-removed",
	           json_pack("{s:s, s:s, s:[s,s]}", "custodian", name, "custodians_file",
	                     o->custodians, "authorised_by", names[0], names[1])) != 0)
		goto out;
	printf("custodian '%s' removed (authorised by %s and %s); components of existing "
	       "backups they hold stay valid: make a new backup and destroy the old one\n", name,
	       names[0], names[1]);
	ret = EXIT_OK;
out:
	hsm_close(h);
	return ret;
}

static int cmd_keys_generate(const struct opts *o, const char *key_label)
{
	char names[2][HSM_CUSTODIAN_NAME_MAX + 1];
	struct hsm_key_info ki;
	struct hsm *h = NULL;
	json_t *what = NULL;
	uint8_t kcv[HSM_KCV_LEN];
	char err[512] = "", hx[2 * HSM_KCV_LEN + 1], serial[17];
	regex_t re;
	bool aes;
	int r, ret = EXIT_OP;

	if (regcomp(&re, "^(pan-enc|fp-hmac|audit-hmac)-v[1-9][0-9]{0,5}$",
	            REG_EXTENDED | REG_NOSUB) != 0)
		return EXIT_OP;
	r = regexec(&re, key_label, 0, NULL, 0);
	regfree(&re);
	if (r != 0) {
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
	if (record(h, o, o->master, "ceremony-master", "key-generation-requested",
	           json_pack("{s:s}", "label", key_label)) != 0)
		goto out;
	r = dual_control(h, o, names);
	if (r != 0) {
		ret = r > 0 ? EXIT_REFUSED : EXIT_OP;
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
	what = json_pack("{s:s, s:s, s:s, s:i, s:{s:b, s:b, s:b, s:b, s:b}, s:s, s:s, s:[s,s]}",
	                 "label", key_label, "mechanism",
	                 aes ? "CKM_AES_KEY_GEN" : "CKM_GENERIC_SECRET_KEY_GEN", "key_type",
	                 aes ? "CKK_AES" : "CKK_GENERIC_SECRET", "bits", (int)(ki.value_len * 8),
	                 "attributes", "sensitive", ki.sensitive, "extractable", ki.extractable,
	                 "always_sensitive", ki.always_sensitive, "never_extractable",
	                 ki.never_extractable, "token", 1, "kcv", hx, "kcv_method",
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

/* ---- split-knowledge backup and restore (ADR 0073) ------------------------- */

/*
 * k custodians authenticate one after the other (PCI DSS v4.0 3.7.6), each
 * a different registered custodian; their passphrases stay in guarded memory
 * (hd[i].pass, freed by quorum_free) to seal or open their components.
 * 0 all authenticated, 1 refused (recorded), -1 error.
 */
static int quorum(struct hsm *h, const struct opts *o, size_t k, struct hsm_backup_holder *hd)
{
	struct hsm_custodian_input *in = NULL;
	char err[512] = "", label[32];
	char *pass = NULL;
	size_t plen = 0, i, j;
	int r, ret = -1;

	for (i = 0; i < k; i++) {
		hd[i].name[0] = '\0';
		hd[i].pass = NULL;
		hd[i].pass_len = 0;
	}
	in = hsm_custodian_input_open(o->input, err, sizeof(err));
	if (in == NULL) {
		fprintf(stderr, "vaultctl: custodians: %s\n", err);
		goto out;
	}
	for (i = 0; i < k; i++) {
		snprintf(label, sizeof(label), "custodian %zu", i + 1);
		if (hsm_custodian_next(in, label, hd[i].name, &pass, &plen, err, sizeof(err)) != 0) {
			fprintf(stderr, "vaultctl: refused: %zu custodians needed, %zu authenticated: "
			        "%s\n", k, i, err);
			(void)record(h, o, o->master, "ceremony-master", "quorum-refused",
			             json_pack("{s:I, s:I}", "needed", (json_int_t)k, "present",
			                       (json_int_t)i));
			ret = 1;
			goto out;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(hd[i].name, hd[j].name) == 0) {
				fprintf(stderr, "vaultctl: refused: %s is a custodian already counted; "
				        "%zu different custodians are needed\n", label, k);
				(void)record(h, o, hd[i].name, "custodian", "quorum-refused",
				             json_pack("{s:s}", "reason", "same custodian twice"));
				ret = 1;
				goto out;
			}
		}
		r = hsm_custodian_check(o->custodians, hd[i].name, pass, plen, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "vaultctl: custodians: %s\n", err);
			goto out;
		}
		if (r == 0) {
			fprintf(stderr, "vaultctl: refused: %s did not authenticate\n", label);
			(void)record(h, o, hsm_custodian_name_ok(hd[i].name) ? hd[i].name : "(unknown)",
			             "custodian", "custodian-refused",
			             json_pack("{s:s}", "reason", "unknown name or wrong passphrase"));
			ret = 1;
			goto out;
		}
		hd[i].pass = pass;
		hd[i].pass_len = plen;
		pass = NULL;
		if (record(h, o, hd[i].name, "custodian", "custodian-authenticated", NULL) != 0)
			goto out;
	}
	ret = 0;
out:
	sr_secret_free(pass);
	hsm_custodian_input_close(in);
	return ret;
}

static void quorum_free(struct hsm_backup_holder *hd, size_t k)
{
	size_t i;

	for (i = 0; i < k; i++) {
		sr_secret_free((char *)hd[i].pass);
		hd[i].pass = NULL;
	}
}

/* Write doc to path, mode 0600, refusing to overwrite. 0 or -1 (message printed). */
static int write_json_excl(const char *path, const json_t *doc)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int rc;

	if (fd < 0) {
		fprintf(stderr, "vaultctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	rc = json_dumpfd(doc, fd, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (rc == 0)
		rc = write(fd, "\n", 1) == 1 ? 0 : -1;
	if (rc == 0)
		rc = fsync(fd);
	close(fd);
	if (rc != 0)
		fprintf(stderr, "vaultctl: %s: write failed\n", path);
	return rc;
}

static int component_path(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/component-%s.json", dir, name);

	return n > 0 && (size_t)n < cap ? 0 : -1;
}

/*
 * keys backup: every data key exported only wrapped under C(N,M) transport
 * keys that exist only as components (PCI DSS v4.0 3.6.1.2, 3.7.2, 3.7.6).
 */
static int cmd_keys_backup(const struct opts *o)
{
	struct hsm_backup_holder hd[HSM_BACKUP_MAX_HOLDERS];
	json_t *comp[HSM_BACKUP_MAX_HOLDERS] = { NULL };
	json_t *backup = NULL, *k = NULL, *set = NULL;
	struct hsm *h = NULL;
	char err[512] = "", path[1024];
	size_t i, j;
	bool auth = false;
	int r, ret = EXIT_OP;

	if (o->out == NULL || o->comp_dir == NULL || o->quorum < 2 || o->holders < o->quorum ||
	    o->holders > HSM_BACKUP_MAX_HOLDERS) {
		fprintf(stderr, "vaultctl: keys backup needs --out FILE --component-dir DIR "
		        "--quorum M --holders N (2 <= M <= N <= %d)\n", HSM_BACKUP_MAX_HOLDERS);
		return EXIT_USAGE;
	}
	if (hsm_open(o->module, o->label, o->pin_file, 2, &h, err, sizeof(err)) != 0) {
		fprintf(stderr, "vaultctl: %s\n", err);
		goto out;
	}
	if (record(h, o, o->master, "ceremony-master", "backup-requested",
	           json_pack("{s:I, s:I, s:s}", "m", (json_int_t)o->quorum, "n",
	                     (json_int_t)o->holders, "out", o->out)) != 0)
		goto out;
	r = quorum(h, o, o->holders, hd);
	auth = true;
	if (r != 0) {
		ret = r > 0 ? EXIT_REFUSED : EXIT_OP;
		goto out;
	}
	if (hsm_backup_create(h, hd, o->holders, o->quorum, &backup, comp, err, sizeof(err)) != 0) {
		fprintf(stderr, "vaultctl: keys backup: %s\n", err);
		(void)record(h, o, o->master, "ceremony-master", "backup-failed",
		             json_pack("{s:s}", "reason", err));
		goto out;
	}
	for (i = 0; i < o->holders; i++) {
		if (component_path(path, sizeof path, o->comp_dir, hd[i].name) != 0 ||
		    write_json_excl(path, comp[i]) != 0)
			goto out;
		/* The component's KCVs go on the record; its value never does. */
		if (record(h, o, hd[i].name, "custodian", "components-issued",
		           json_pack("{s:s, s:O, s:s}", "backup_id",
		                     json_string_value(json_object_get(backup, "backup_id")),
		                     "components", json_object_get(comp[i], "components"), "sealed",
		                     "XChaCha20-Poly1305 under Argon2id(custodian passphrase)")) != 0)
			goto out;
		printf("components for %s written to %s:", hd[i].name, path);
		json_array_foreach(json_object_get(comp[i], "components"), j, set)
			printf(" set %lld #%lld kcv=%s",
			       (long long)json_integer_value(json_object_get(set, "set")),
			       (long long)json_integer_value(json_object_get(set, "index")),
			       json_string_value(json_object_get(set, "kcv")));
		printf("\n");
	}
	json_array_foreach(json_object_get(backup, "sets"), j, set) {
		if (record(h, o, o->master, "ceremony-master", "transport-key-combined",
		           json_pack("{s:O, s:O, s:O, s:s, s:s}", "set", json_object_get(set, "set"),
		                     "custodians", json_object_get(set, "custodians"),
		                     "component_kcvs", json_object_get(set, "component_kcvs"), "kcv",
		                     json_string_value(json_object_get(set, "transport_kcv")),
		                     "mechanism", "CKM_AES_ECB_ENCRYPT_DATA chain (ADR 0073)")) != 0)
			goto out;
	}
	json_array_foreach(json_object_get(backup, "keys"), j, k) {
		if (record(h, o, o->master, "ceremony-master", "key-exported-wrapped",
		           json_pack("{s:O, s:O, s:O, s:O, s:s, s:I}", "label",
		                     json_object_get(k, "label"), "key_type",
		                     json_object_get(k, "key_type"), "version",
		                     json_object_get(k, "version"), "kcv", json_object_get(k, "kcv"),
		                     "mechanism", "CKM_AES_KEY_WRAP_PAD (RFC 5649)", "sets",
		                     (json_int_t)json_array_size(json_object_get(backup, "sets")))) != 0)
			goto out;
		printf("%s kcv=%s wrapped\n", json_string_value(json_object_get(k, "label")),
		       json_string_value(json_object_get(k, "kcv")));
	}
	if (write_json_excl(o->out, backup) != 0)
		goto out;
	if (record(h, o, o->master, "ceremony-master", "backup-completed",
	           json_pack("{s:O, s:s, s:I, s:I}", "backup_id", json_object_get(backup, "backup_id"),
	                     "file", o->out, "m", (json_int_t)o->quorum, "n",
	                     (json_int_t)o->holders)) != 0)
		goto out;
	printf("backup %s written to %s (%zu of %zu custodians restore it)\n",
	       json_string_value(json_object_get(backup, "backup_id")), o->out, o->quorum,
	       o->holders);
	ret = EXIT_OK;
out:
	if (auth)
		quorum_free(hd, o->holders);
	for (i = 0; i < HSM_BACKUP_MAX_HOLDERS; i++)
		json_decref(comp[i]);
	json_decref(backup);
	hsm_close(h);
	return ret;
}

/* keys restore: into a fresh token, with M custodians and their components. */
static int cmd_keys_restore(const struct opts *o)
{
	struct hsm_backup_holder hd[HSM_BACKUP_MAX_HOLDERS];
	json_t *comp[HSM_BACKUP_MAX_HOLDERS] = { NULL };
	json_t *backup = NULL, *restored = NULL, *k = NULL;
	json_error_t jerr;
	struct hsm *h = NULL;
	char err[512] = "", path[1024], serial[17];
	json_int_t m = 0;
	size_t i, need = 0;
	bool auth = false;
	int r, ret = EXIT_OP;

	if (o->in == NULL || o->comp_dir == NULL) {
		fprintf(stderr, "vaultctl: keys restore needs --in FILE --component-dir DIR\n");
		return EXIT_USAGE;
	}
	backup = json_load_file(o->in, JSON_REJECT_DUPLICATES, &jerr);
	if (json_unpack(backup, "{s:I}", "m", &m) != 0 || m < 2 || m > HSM_BACKUP_MAX_HOLDERS) {
		fprintf(stderr, "vaultctl: %s: not a key backup file\n", o->in);
		goto out;
	}
	need = (size_t)m;
	if (hsm_open(o->module, o->label, o->pin_file, 2, &h, err, sizeof(err)) != 0 ||
	    hsm_token_serial(h, serial, err, sizeof(err)) != 0) {
		fprintf(stderr, "vaultctl: %s\n", err);
		goto out;
	}
	if (record(h, o, o->master, "ceremony-master", "restore-requested",
	           json_pack("{s:O, s:s, s:I}", "backup_id", json_object_get(backup, "backup_id"),
	                     "file", o->in, "m", m)) != 0)
		goto out;
	r = quorum(h, o, need, hd);
	auth = true;
	if (r != 0) {
		ret = r > 0 ? EXIT_REFUSED : EXIT_OP;
		goto out;
	}
	for (i = 0; i < need; i++) {
		if (component_path(path, sizeof path, o->comp_dir, hd[i].name) != 0 ||
		    (comp[i] = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
			fprintf(stderr, "vaultctl: %s's component file: %s\n", hd[i].name, jerr.text);
			goto out;
		}
	}
	r = hsm_backup_restore(h, backup, hd, (const json_t *const *)comp, need, &restored, err,
	                       sizeof(err));
	if (r != 0) {
		fprintf(stderr, "vaultctl: keys restore: %s\n", err);
		(void)record(h, o, o->master, "ceremony-master", "restore-refused",
		             json_pack("{s:s}", "reason", err));
		ret = r > 0 ? EXIT_REFUSED : EXIT_OP;
		goto out;
	}
	json_array_foreach(restored, i, k) {
		if (record(h, o, o->master, "ceremony-master", "key-restored",
		           json_pack("{s:O, s:O, s:O, s:s, s:{s:b, s:b, s:b}}", "label",
		                     json_object_get(k, "label"), "key_type",
		                     json_object_get(k, "key_type"), "kcv", json_object_get(k, "kcv"),
		                     "mechanism", "CKM_AES_KEY_WRAP_PAD (RFC 5649) unwrap",
		                     "attributes", "sensitive", 1, "extractable", 1, "token", 1)) != 0)
			goto out;
		printf("%s kcv=%s restored\n", json_string_value(json_object_get(k, "label")),
		       json_string_value(json_object_get(k, "kcv")));
	}
	if (record(h, o, o->master, "ceremony-master", "restore-completed",
	           json_pack("{s:O, s:I}", "backup_id", json_object_get(backup, "backup_id"),
	                     "keys", (json_int_t)json_array_size(restored))) != 0)
		goto out;
	printf("restored %zu keys into token '%s' (hsm_serial=%s)\n", json_array_size(restored),
	       o->label, serial);
	ret = EXIT_OK;
out:
	if (auth)
		quorum_free(hd, need);
	for (i = 0; i < HSM_BACKUP_MAX_HOLDERS; i++)
		json_decref(comp[i]);
	json_decref(restored);
	json_decref(backup);
	hsm_close(h);
	return ret;
}

/* ---- online rotation (ADR 0074) ------------------------------------------------ */

/* The database pool and HSM named in vaultd's configuration (--config). */
static int open_config(const struct opts *o, size_t sessions, json_t **cfg_out,
                       struct sr_db_pool **pool_out, struct hsm **h_out)
{
	json_error_t jerr;
	json_t *cfg = NULL;
	const json_t *jp = NULL;
	char port[16], err[512] = "";

	if (o->config == NULL) {
		fprintf(stderr, "vaultctl: this command needs --config (vaultd's configuration)\n");
		return EXIT_USAGE;
	}
	cfg = json_load_file(o->config, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(cfg)) {
		fprintf(stderr, "vaultctl: %s: line %d: %s\n", o->config, jerr.line, jerr.text);
		json_decref(cfg);
		return EXIT_OP;
	}
	*cfg_out = cfg;
	jp = json_object_get(cfg, "db_port");
	if (json_is_integer(jp))
		snprintf(port, sizeof port, "%lld", (long long)json_integer_value(jp));
	else
		snprintf(port, sizeof port, "%s", json_is_string(jp) ? json_string_value(jp) : "5432");
#define CFG(k, d) (json_is_string(json_object_get(cfg, k)) ? \
	json_string_value(json_object_get(cfg, k)) : (d))
	*pool_out = sr_db_pool_new(CFG("db_host", "127.0.0.1"), port, CFG("db_name", "vault"),
	                           CFG("db_user", "vault"), CFG("db_password_file", NULL), 1, err,
	                           sizeof err);
	if (*pool_out == NULL) {
		fprintf(stderr, "vaultctl: database: %s\n", err);
		return EXIT_OP;
	}
	if (hsm_open(CFG("pkcs11_module", o->module), CFG("hsm_token_label", o->label),
	             CFG("hsm_pin_file", o->pin_file), sessions, h_out, err, sizeof err) != 0) {
		fprintf(stderr, "vaultctl: hsm: %s\n", err);
		return EXIT_OP;
	}
#undef CFG
	return EXIT_OK;
}

/*
 * keys rotate PURPOSE: a new version made current under dual control
 * (PCI DSS v4.0 3.6.1, 3.7.4, 3.7.6). vaultd picks it up within a second.
 */
static int cmd_keys_rotate(const struct opts *o, const char *purpose)
{
	char names[2][HSM_CUSTODIAN_NAME_MAX + 1];
	char label[32], prev[32], err[512] = "", hx[2 * HSM_KCV_LEN + 1], serial[17];
	struct sr_db_pool *pool = NULL;
	struct hsm_key_info ki;
	struct hsm *h = NULL;
	json_t *cfg = NULL;
	PGconn *db = NULL;
	uint8_t kcv[HSM_KCV_LEN];
	bool aes;
	int cur = 0, next = 0, r, ret;

	if (strcmp(purpose, "pan-enc") != 0 && strcmp(purpose, "fp-hmac") != 0) {
		fprintf(stderr, "vaultctl: keys rotate pan-enc|fp-hmac\n");
		return EXIT_USAGE;
	}
	aes = strcmp(purpose, "pan-enc") == 0;
	ret = open_config(o, 1, &cfg, &pool, &h);
	if (ret != EXIT_OK)
		goto out;
	ret = EXIT_OP;
	db = sr_db_acquire(pool);
	if (vault_keys_versions(db, purpose, &cur, &next, err, sizeof err) != 0 ||
	    hsm_token_serial(h, serial, err, sizeof err) != 0) {
		fprintf(stderr, "vaultctl: keys rotate: %s\n", err);
		goto out;
	}
	snprintf(label, sizeof label, "%s-v%d", purpose, next);
	snprintf(prev, sizeof prev, "%s-v%d", purpose, cur);
	if (hsm_key_info(h, label, &ki, err, sizeof err) != 0 || ki.found) {
		fprintf(stderr, "vaultctl: keys rotate: %s\n",
		        ki.found ? "the next version's label exists on the token already" : err);
		goto out;
	}
	if (record(h, o, o->master, "ceremony-master", "rotation-requested",
	           json_pack("{s:s, s:s, s:s}", "purpose", purpose, "from", prev, "to", label)) != 0)
		goto out;
	r = dual_control(h, o, names);
	if (r != 0) {
		ret = r > 0 ? EXIT_REFUSED : EXIT_OP;
		goto out;
	}
	r = o->wrappable ? hsm_generate_wrappable_key(h, label, aes, err, sizeof err)
	    : aes        ? hsm_generate_aes_key(h, label, err, sizeof err)
	                 : hsm_generate_hmac_key(h, label, err, sizeof err);
	if (r != 0 || hsm_key_info(h, label, &ki, err, sizeof err) != 0 ||
	    hsm_kcv(h, label, kcv, err, sizeof err) != 0) {
		fprintf(stderr, "vaultctl: keys rotate: %s\n", err);
		goto out;
	}
	kcv_hex(kcv, hx);
	if (record(h, o, o->master, "ceremony-master", "key-generated",
	           json_pack("{s:s, s:s, s:s, s:{s:b, s:b, s:b, s:b}, s:s, s:[s,s]}", "label",
	                     label, "mechanism",
	                     aes ? "CKM_AES_KEY_GEN" : "CKM_GENERIC_SECRET_KEY_GEN", "key_type",
	                     aes ? "CKK_AES" : "CKK_GENERIC_SECRET", "attributes", "sensitive",
	                     ki.sensitive, "extractable", ki.extractable, "never_extractable",
	                     ki.never_extractable, "token", 1, "kcv", hx, "custodians", names[0],
	                     names[1])) != 0)
		goto out;
	/* The key exists before any vaultd can be told to use it. */
	if (vault_keys_make_current(db, purpose, next, hx, err, sizeof err) != 0) {
		fprintf(stderr, "vaultctl: keys rotate: %s (the key exists on the token but is not "
		        "current)\n", err);
		goto out;
	}
	if (record(h, o, o->master, "ceremony-master", "key-made-current",
	           json_pack("{s:s, s:s, s:s, s:s}", "label", label, "previous", prev, "kcv", hx,
	                     "effective", "vaultd re-reads key_versions within 1 s")) != 0)
		goto out;
	printf("%s is current (kcv=%s, hsm_serial=%s); %s is previous: it still decrypts "
	       "until vaultctl keys reencrypt has moved every record, then keys retire %s\n",
	       label, hx, serial, prev, prev);
	ret = EXIT_OK;
out:
	if (db != NULL)
		sr_db_release(pool, db);
	hsm_close(h);
	sr_db_pool_free(pool);
	json_decref(cfg);
	return ret;
}

/* keys reencrypt: move every record to the current versions, resumable. */
static int cmd_keys_reencrypt(const struct opts *o)
{
	struct vault_reencrypt_stats st = { 0, 0, 0 };
	struct vault_key_labels cur;
	struct sr_db_pool *pool = NULL;
	struct hsm *h = NULL;
	json_t *cfg = NULL;
	PGconn *db = NULL;
	char err[512] = "", cursor[128], cur_mer[VAULT_MERCHANT_ID_MAX + 1], cur_con[33];
	long long total, left = 0;
	int pass, n, ret;

	ret = open_config(o, 1, &cfg, &pool, &h);
	if (ret != EXIT_OK)
		goto out;
	ret = EXIT_OP;
	db = sr_db_acquire(pool);
	if (vault_keys_read(db, &cur, err, sizeof err) != 0 ||
	    (total = vault_keys_outdated(db, &cur, err, sizeof err)) < 0) {
		fprintf(stderr, "vaultctl: keys reencrypt: %s\n", err);
		goto out;
	}
	printf("%lld records to move to %s / %s\n", total, cur.pan, cur.fp);
	fflush(stdout);
	if (record(h, o, o->master, "ceremony-master", "reencrypt-started",
	           json_pack("{s:s, s:s, s:I}", "pan_key", cur.pan, "fp_key", cur.fp, "records",
	                     (json_int_t)total)) != 0)
		goto out;
	/* Each record commits on its own: after a crash, run it again. */
	for (pass = 1; pass <= 5; pass++) {
		long long before = st.moved;

		cursor[0] = '\0';
		while ((n = vault_keys_reencrypt_batch(db, h, &cur, o->batch, cursor, sizeof cursor,
		                                       &st, err, sizeof err)) > 0) {
			printf("progress: %lld of %lld moved, %lld skipped, %lld failed\n", st.moved,
			       total, st.skipped, st.failed);
			fflush(stdout);
		}
		if (n < 0) {
			fprintf(stderr, "vaultctl: keys reencrypt: %s (run it again to resume)\n", err);
			goto out;
		}
		/* Merchants' PSP credentials too (ADR 0095 amended): re-sealed under
		 * the current keys, one logged event per row, no value. */
		cur_mer[0] = cur_con[0] = '\0';
		while ((n = vault_psp_creds_reseal_batch(db, h, &cur, o->batch, cur_mer,
		                                         sizeof cur_mer, cur_con, sizeof cur_con, &st,
		                                         err, sizeof err)) > 0) {
			printf("progress: %lld of %lld moved, %lld skipped, %lld failed "
			       "(psp credentials)\n", st.moved, total, st.skipped, st.failed);
			fflush(stdout);
		}
		if (n < 0) {
			fprintf(stderr, "vaultctl: keys reencrypt: %s (run it again to resume)\n", err);
			goto out;
		}
		left = vault_keys_outdated(db, &cur, err, sizeof err);
		if (left <= 0 || st.moved == before)
			break;
	}
	(void)record(h, o, o->master, "ceremony-master", "reencrypt-finished",
	             json_pack("{s:s, s:s, s:I, s:I, s:I}", "pan_key", cur.pan, "fp_key", cur.fp,
	                       "moved", (json_int_t)st.moved, "failed", (json_int_t)st.failed,
	                       "left", (json_int_t)left));
	if (left != 0) {
		fprintf(stderr, "vaultctl: keys reencrypt: %lld records still on older versions "
		        "(%lld did not decrypt)\n", left, st.failed);
		goto out;
	}
	printf("done: %lld records moved; none left on older versions\n", st.moved);
	ret = EXIT_OK;
out:
	if (db != NULL)
		sr_db_release(pool, db);
	hsm_close(h);
	sr_db_pool_free(pool);
	json_decref(cfg);
	return ret;
}

/*
 * keys retire LABEL: destroy a previous version no record uses, under dual
 * control (PCI DSS v4.0 3.7.5, 3.7.6). A current key or one still in use is
 * refused (exit 4).
 */
static int cmd_keys_retire(const struct opts *o, const char *label)
{
	char names[2][HSM_CUSTODIAN_NAME_MAX + 1];
	char state[16] = "", err[512] = "", hx[2 * HSM_KCV_LEN + 1] = "", serial[17];
	struct sr_db_pool *pool = NULL;
	struct hsm *h = NULL;
	json_t *cfg = NULL;
	PGconn *db = NULL;
	uint8_t kcv[HSM_KCV_LEN];
	long long used;
	int r, ret;

	ret = open_config(o, 1, &cfg, &pool, &h);
	if (ret != EXIT_OK)
		goto out;
	ret = EXIT_OP;
	db = sr_db_acquire(pool);
	r = vault_keys_state(db, label, state, err, sizeof err);
	if (r < 0 || hsm_token_serial(h, serial, err, sizeof err) != 0) {
		fprintf(stderr, "vaultctl: keys retire: %s\n", err);
		goto out;
	}
	if (r == 0 || strcmp(state, "previous") != 0) {
		fprintf(stderr, "vaultctl: keys retire: %s is %s; only a previous version can be "
		        "retired\n", label, r == 0 ? "not a known key version" : state);
		ret = r == 0 ? EXIT_USAGE : EXIT_REFUSED;
		goto out;
	}
	used = vault_keys_in_use(db, label, err, sizeof err);
	if (used != 0) {
		if (used < 0)
			fprintf(stderr, "vaultctl: keys retire: %s\n", err);
		else
			fprintf(stderr, "vaultctl: keys retire refused: %lld records still use %s "
			        "(run vaultctl keys reencrypt)\n", used, label);
		if (used > 0)
			(void)record(h, o, o->master, "ceremony-master", "retire-refused",
			             json_pack("{s:s, s:I}", "label", label, "records",
			                       (json_int_t)used));
		ret = used < 0 ? EXIT_OP : EXIT_REFUSED;
		goto out;
	}
	if (record(h, o, o->master, "ceremony-master", "retire-requested",
	           json_pack("{s:s, s:I}", "label", label, "records", (json_int_t)0)) != 0)
		goto out;
	r = dual_control(h, o, names);
	if (r != 0) {
		ret = r > 0 ? EXIT_REFUSED : EXIT_OP;
		goto out;
	}
	if (hsm_kcv(h, label, kcv, err, sizeof err) == 0)
		kcv_hex(kcv, hx);
	r = hsm_key_destroy(h, label, err, sizeof err);
	if (r < 0 || vault_keys_mark_retired(db, label, err, sizeof err) != 0) {
		fprintf(stderr, "vaultctl: keys retire: %s\n", err);
		goto out;
	}
	if (record(h, o, o->master, "ceremony-master", "key-destroyed",
	           json_pack("{s:s, s:s, s:s, s:s, s:[s,s]}", "label", label, "kcv", hx,
	                     "mechanism", r == 1 ? "C_DestroyObject" : "absent already", "state",
	                     "retired", "custodians", names[0], names[1])) != 0)
		goto out;
	printf("%s destroyed (kcv was %s, hsm_serial=%s) and retired\n", label,
	       hx[0] != '\0' ? hx : "-", serial);
	ret = EXIT_OK;
out:
	if (db != NULL)
		sr_db_release(pool, db);
	hsm_close(h);
	sr_db_pool_free(pool);
	json_decref(cfg);
	return ret;
}

/* Whether the command words args[0..nargs) are "group sub" followed by
 * want - 2 operands. */
static bool is_cmd(int nargs, char **args, int want, const char *group, const char *sub)
{
	return nargs == want && strcmp(args[0], group) == 0 && strcmp(args[1], sub) == 0;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "module", required_argument, NULL, 'm' },
		{ "label", required_argument, NULL, 'l' },
		{ "pin-file", required_argument, NULL, 'p' },
		{ "so-pin-file", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "transcript", required_argument, NULL, 't' },
		{ "custodians", required_argument, NULL, 'C' },
		{ "custodian-input", required_argument, NULL, 'i' },
		{ "pubkey", required_argument, NULL, 'k' },
		{ "pubkey-out", required_argument, NULL, 'k' },
		{ "master", required_argument, NULL, 'M' },
		{ "key-label", required_argument, NULL, 'K' },
		{ "out", required_argument, NULL, 'O' },
		{ "in", required_argument, NULL, 'I' },
		{ "component-dir", required_argument, NULL, 'D' },
		{ "quorum", required_argument, NULL, 'Q' },
		{ "holders", required_argument, NULL, 'N' },
		{ "wrappable", no_argument, NULL, 'W' },
		{ "batch", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { DEFAULT_MODULE, DEFAULT_LABEL, DEFAULT_PIN_FILE, DEFAULT_SO_PIN_FILE, NULL,
		          DEFAULT_TRANSCRIPT, DEFAULT_CUSTODIANS, NULL, DEFAULT_PUBKEY, NULL,
		          NULL, NULL, NULL, 0, 0, false, 100 };
	const struct passwd *pw = getpwuid(getuid());
	const char *gen_label = NULL;
	int c;
	int nargs;
	int want_help = 0;

	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			o.module = optarg;
			break;
		case 'l':
			o.label = optarg;
			break;
		case 'p':
			o.pin_file = optarg;
			break;
		case 's':
			o.so_pin_file = optarg;
			break;
		case 'c':
			o.config = optarg;
			break;
		case 't':
			o.transcript = optarg;
			break;
		case 'C':
			o.custodians = optarg;
			break;
		case 'i':
			o.input = optarg;
			break;
		case 'k':
			o.pubkey = optarg;
			break;
		case 'M':
			o.master = optarg;
			break;
		case 'K':
			gen_label = optarg;
			break;
		case 'O':
			o.out = optarg;
			break;
		case 'I':
			o.in = optarg;
			break;
		case 'D':
			o.comp_dir = optarg;
			break;
		case 'Q':
		case 'N':
			if (optarg[0] < '1' || optarg[0] > '9' || optarg[1] != '\0') {
				fprintf(stderr, "vaultctl: --quorum and --holders take 2..%d\n",
				        HSM_BACKUP_MAX_HOLDERS);
				return EXIT_USAGE;
			}
			*(c == 'Q' ? &o.quorum : &o.holders) = (size_t)(optarg[0] - '0');
			break;
		case 'W':
			o.wrappable = true;
			break;
		case 'B':
			o.batch = atoi(optarg);
			if (o.batch < 1 || o.batch > 10000) {
				fprintf(stderr, "vaultctl: --batch takes 1..10000\n");
				return EXIT_USAGE;
			}
			break;
		case 'h':
			want_help = 1;
			break;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (want_help)
		return command_help(argc - optind, argv + optind);
	/* PCI DSS v4.0 3.6.1: PINs in this process never land in a core dump. */
	if (sr_secret_harden_process() != 0)
		fprintf(stderr, "vaultctl: warning: process hardening incomplete\n");
	nargs = argc - optind;
	if (o.master == NULL)
		o.master = pw != NULL ? pw->pw_name : "unknown";
	if (!hsm_custodian_name_ok(o.master)) {
		fprintf(stderr, "vaultctl: --master: 1-%d characters of a-z 0-9 . _ -\n",
		        HSM_CUSTODIAN_NAME_MAX);
		return EXIT_USAGE;
	}
	if (is_cmd(nargs, argv + optind, 3, "keys", "kcv"))
		return cmd_keys_kcv(&o, argv[optind + 2]);
	if ((nargs == 2 || nargs == 3) && strcmp(argv[optind], "keys") == 0 &&
	    strcmp(argv[optind + 1], "generate") == 0) {
		/* keys generate LABEL, or keys generate --key-label LABEL (not both). */
		if ((nargs == 3) == (gen_label != NULL)) {
			fprintf(stderr, "vaultctl: keys generate needs one key label "
			        "(--key-label LABEL or keys generate LABEL)\n");
			return EXIT_USAGE;
		}
		if (nargs == 3)
			gen_label = argv[optind + 2];
		return cmd_keys_generate(&o, gen_label);
	}
	if (is_cmd(nargs, argv + optind, 3, "custodian", "add"))
		return cmd_custodian_add(&o, argv[optind + 2]);
	if (is_cmd(nargs, argv + optind, 3, "custodian", "remove"))
		return cmd_custodian_remove(&o, argv[optind + 2]);
	if (is_cmd(nargs, argv + optind, 2, "ceremony", "init"))
		return cmd_ceremony_init(&o);
	if (is_cmd(nargs, argv + optind, 3, "ceremony", "verify"))
		return cmd_ceremony_verify(&o, argv[optind + 2]);
	if (is_cmd(nargs, argv + optind, 2, "keys", "backup"))
		return cmd_keys_backup(&o);
	if (is_cmd(nargs, argv + optind, 2, "keys", "restore"))
		return cmd_keys_restore(&o);
	if (is_cmd(nargs, argv + optind, 3, "keys", "rotate"))
		return cmd_keys_rotate(&o, argv[optind + 2]);
	if (is_cmd(nargs, argv + optind, 2, "keys", "reencrypt"))
		return cmd_keys_reencrypt(&o);
	if (is_cmd(nargs, argv + optind, 3, "keys", "retire"))
		return cmd_keys_retire(&o, argv[optind + 2]);
	if (nargs == 1 && strcmp(argv[optind], "init-token") == 0)
		return cmd_init_token(&o);
	if (nargs == 2 && strcmp(argv[optind], "keys") == 0) {
		if (strcmp(argv[optind + 1], "create") == 0)
			return cmd_keys(&o, true);
		if (strcmp(argv[optind + 1], "list") == 0)
			return cmd_keys(&o, false);
	}
	if (is_cmd(nargs, argv + optind, 2, "audit", "verify"))
		return cmd_audit_verify(&o);
	if (nargs >= 1 && strcmp(argv[optind], "help") == 0)
		return command_help(nargs - 1, argv + optind + 1);
	fprintf(stderr, "vaultctl: %s\n", nargs == 0 ? "no command given" : "unknown command");
	usage(stderr);
	return EXIT_USAGE;
}
