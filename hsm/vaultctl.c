/*
 * vaultctl: the CDE host's key-ceremony tool (not a daemon).
 *
 *   vaultctl [--module PATH] [--label L] [--pin-file F] [--so-pin-file F] COMMAND
 *     init-token   create the token (idempotent)
 *     keys create  create pan-enc-v1 (AES-256) and fp-hmac-v1 (HMAC-SHA256) when absent
 *     keys list    show the keys and their sensitive/extractable flags
 *   vaultctl --config VAULTD.JSON audit verify
 *                  walk the PAN decryption audit chain (vault/vault_audit.h);
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
#include "vault/vault_audit.h"

#include <jansson.h>

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_MODULE      "/usr/lib/softhsm/libsofthsm2.so"
#define DEFAULT_LABEL       "strongroom"
#define DEFAULT_PIN_FILE    "var/secrets/hsm-user-pin"
#define DEFAULT_SO_PIN_FILE "var/secrets/hsm-so-pin"

enum { EXIT_OK = 0, EXIT_OP = 1, EXIT_USAGE = 2, EXIT_TAMPERED = 3 };

struct opts {
	const char *module;
	const char *label;
	const char *pin_file;
	const char *so_pin_file;
	const char *config;     /* vaultd's configuration (audit verify) */
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
	        "    --help              this text, or one command's\n"
	        "\n"
	        "ENVIRONMENT\n"
	        "    SOFTHSM2_CONF          SoftHSM2's configuration file\n"
	        "    CREDENTIALS_DIRECTORY  relative PIN file paths resolve against it\n"
	        "    PINs are never read from the command line or the environment.\n"
	        "\n"
	        "EXIT STATUS\n"
	        "    0 ok, 1 operational error, 2 usage error\n",
	        HSM_KEY_PAN_ENC, HSM_KEY_FP_HMAC, DEFAULT_MODULE, DEFAULT_LABEL, DEFAULT_PIN_FILE,
	        DEFAULT_SO_PIN_FILE);
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
	return ki->found && ki->sensitive && !ki->extractable && ki->never_extractable &&
	       ki->key_type == want_type && ki->value_len == 32;
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
			        "(must be sensitive and never extractable)\n", keys[i].label);
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

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "module", required_argument, NULL, 'm' },
		{ "label", required_argument, NULL, 'l' },
		{ "pin-file", required_argument, NULL, 'p' },
		{ "so-pin-file", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { DEFAULT_MODULE, DEFAULT_LABEL, DEFAULT_PIN_FILE, DEFAULT_SO_PIN_FILE, NULL };
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
	if (nargs == 1 && strcmp(argv[optind], "init-token") == 0)
		return cmd_init_token(&o);
	if (nargs == 2 && strcmp(argv[optind], "keys") == 0) {
		if (strcmp(argv[optind + 1], "create") == 0)
			return cmd_keys(&o, true);
		if (strcmp(argv[optind + 1], "list") == 0)
			return cmd_keys(&o, false);
	}
	if (nargs == 2 && strcmp(argv[optind], "audit") == 0 &&
	    strcmp(argv[optind + 1], "verify") == 0)
		return cmd_audit_verify(&o);
	if (nargs >= 1 && strcmp(argv[optind], "help") == 0)
		return command_help(nargs - 1, argv + optind + 1);
	fprintf(stderr, "vaultctl: %s\n", nargs == 0 ? "no command given" : "unknown command");
	usage(stderr);
	return EXIT_USAGE;
}
