/*
 * vaultctl: the CDE host's key-ceremony tool (not a daemon).
 *
 *   vaultctl [--module PATH] [--label L] [--pin-file F] [--so-pin-file F] COMMAND
 *     init-token   create the token (idempotent)
 *     keys create  create pan-enc-v1 (AES-256) and fp-hmac-v1 (HMAC-SHA256) when absent
 *     keys list    show the keys and their sensitive/extractable flags
 *     keys generate / backup / restore / rotate / reencrypt / retire, custodian add,
 *     ceremony init / verify: key ceremonies (issue 7, ADRs 0070-0074)
 *   vaultctl --config VAULTD.JSON psp load CONNECTOR NAME FILE | psp list
 *                  the platform's PSP secrets, sealed in the HSM (ADR 0120)
 *   vaultctl --config VAULTD.JSON audit verify
 *                  walk the PAN decryption audit chain (vault/audit/vault_audit.h);
 *                  exit 0 intact, 3 tampered (the first bad record is named)
 *
 * PINs come only from files (PCI DSS v4.0 8.3.2), never
 * from the command line or the environment; SOFTHSM2_CONF selects the SoftHSM2
 * configuration as usual. Exit codes: 0 ok, 1 operational error, 2 usage.
 */
#include "vault/ctl/vaultctl.h"
#include "common/sr_secret.h"
#include "common/sr_version.h"

#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_MODULE      "/usr/lib/softhsm/libsofthsm2.so"
#define DEFAULT_LABEL       "strongroom"
#define DEFAULT_PIN_FILE    "var/secrets/hsm-user-pin"
#define DEFAULT_SO_PIN_FILE "var/secrets/hsm-so-pin"
#define DEFAULT_TRANSCRIPT  "var/ceremony/transcript.jsonl"
#define DEFAULT_CUSTODIANS  "var/ceremony/custodians.json"
#define DEFAULT_PUBKEY      "var/ceremony/ceremony-sign-v1.pem"

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
	        "    init-token NAME NAME...         create the token LABEL (SO PIN and user\n"
	        "                  PIN from files) with its first custodians, who sign the\n"
	        "                  genesis anchored in the HSM (ADR 0105); does nothing when\n"
	        "                  it exists already. Without names: no ceremony can run\n"
	        "    keys create   create %s (AES-256-GCM), %s and audit-hmac-v1\n"
	        "                  (HMAC-SHA256) when absent: sensitive, never extractable\n"
	        "    keys list     list the keys and their sensitive/extractable flags\n"
	        "    keys kcv LABEL                  print a key's check value (ADR 0070)\n"
	        "    keys generate --key-label LABEL generate a data key under dual control:\n"
	        "                  two different current custodians prove their passphrases;\n"
	        "                  the key's KCV is printed and written to the transcript\n"
	        "    keys backup --quorum M --holders N --out FILE --component-dir DIR LABEL...\n"
	        "                  export the named data keys only wrapped (RFC 5649) under\n"
	        "                  M-of-N split transport keys combined in the HSM and marked\n"
	        "                  CKA_TRUSTED by the SO (--so-pin-file); N custodians\n"
	        "                  authenticate, each gets a component file sealed with their\n"
	        "                  passphrase (ADR 0073, 0104)\n"
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
	        "    custodian add NAME              enrol a key custodian: they and two\n"
	        "                  current custodians sign the change (public keys only);\n"
	        "                  refused for a witness\n"
	        "    custodian remove NAME           remove a custodian: two other custodians\n"
	        "                  sign the change; at least two stay registered\n"
	        "    ceremony init                   create the transcript signing key\n"
	        "                  ceremony-sign-v1 (ECDSA P-256, in the HSM) and write its\n"
	        "                  public key (--pubkey, PEM)\n"
	        "    ceremony verify FILE --pubkey PEM [--tsa-ca PEM] [--anchor HEX]\n"
	        "                    [--allow-untimed]\n"
	        "                  check a transcript's chain and signatures with the public\n"
	        "                  key only, its witnesses' signatures and time stamps, and\n"
	        "                  that an anchored head is in it; prints the head for the\n"
	        "                  paper record; exit 0 intact, 3 tampered (first bad line\n"
	        "                  named), 4 refused: its last lines have no trusted time\n"
	        "                  after them (each ceremony ends with one, ADR 0117), unless\n"
	        "                  --allow-untimed (then printed as a warning)\n"
	        "    witness add NAME                enrol a witness (--witness NAME=FILE)\n"
	        "                  under dual control; witnesses attest lines, never authorise\n"
	        "    witness remove NAME             end a witness's enrolment under dual\n"
	        "                  control; they attest nothing after it\n"
	        "    ceremony time-query --out FILE  an RFC 3161 query over the transcript head\n"
	        "    ceremony timestamp --tsa NAME --tsa-ca PEM --query FILE --reply FILE\n"
	        "                  check the TSA's reply and record the trusted time (ADR 0117)\n"
	        "    ceremony clock --reading YYYY-MM-DDTHH:MM:SSZ --clock NAME\n"
	        "                  offline: a witness reads a reference clock and signs\n"
	        "    psp load stripe|adyen api_key|webhook_secret FILE\n"
	        "                  (--config) seal the platform's PSP secret in FILE (one\n"
	        "                  line, mode 0600) in the HSM under dual control; vaultd\n"
	        "                  reads it at its next start (ADR 0120)\n"
	        "    psp list      (--config) the loaded platform PSP secrets: last 4\n"
	        "                  characters, sealing key, custodians, time\n"
	        "    tls csr ROLE --cn NAME [--org O] [--san LIST] --out FILE\n"
	        "                  ROLE public, internal or egress: a PKCS#10 request for the\n"
	        "                  role's key tls-ROLE-vN, generated in the HSM on first use\n"
	        "                  (private, sensitive, never extractable) and signed there\n"
	        "    tls rotate ROLE --cn NAME [--org O] [--san LIST] --out FILE\n"
	        "                  a new key tls-ROLE-v(N+1) beside the old one, and its request\n"
	        "    tls install ROLE CERT [--out FILE | --config VAULTD.JSON]\n"
	        "                  install a certificate only when an HSM key of the role\n"
	        "                  signs for it; then SIGHUP vaultd (ADR 0118)\n"
	        "    tls retire ROLE [--overlap-seconds N] [--out FILE | --config VAULTD.JSON]\n"
	        "                  after the overlap (default 86400 s since the certificate\n"
	        "                  was installed), destroy the role's older keys in the HSM\n"
	        "    tls list      the TLS keys in the HSM and their flags\n"
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
	        "    --secret NAME=FILE  custodian NAME's passphrase, one line in a file of\n"
	        "                        mode 0600; once per custodian, in the order they\n"
	        "                        come forward (default: prompt on the terminal, no\n"
	        "                        echo); one file never holds two custodians' secrets\n"
	        "    --pubkey FILE       transcript signer's public key, PEM (default %s)\n"
	        "    --master NAME       the ceremony master (default: the login name)\n"
	        "    --key-label LABEL   keys generate: pan-enc-vN, fp-hmac-vN, audit-hmac-vN\n"
	        "    --wrappable         keys generate/rotate: backup-capable key (sensitive,\n"
	        "                        extractable only wrapped under a key the SO marked\n"
	        "                        trusted; ADR 0073, 0104)\n"
	        "    --quorum M, --holders N   keys backup: M of N custodians (2..9)\n"
	        "    --out FILE, --in FILE     keys backup / restore: the backup file\n"
	        "    --component-dir DIR keys backup / restore: component-NAME.json files\n"
	        "    --batch N           keys reencrypt: records per batch (default 100)\n"
	        "    --witness NAME=FILE a witness attesting every line of the command (their\n"
	        "                        passphrase: one line, mode 0600; NAME alone: asked on\n"
	        "                        the terminal); up to %d\n"
	        "    --bag NUMBER        a tamper-evident bag number, recorded on every line\n"
	        "    --evidence video=REF | room-access=REF   an evidence reference, likewise\n"
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
	        DEFAULT_SO_PIN_FILE, DEFAULT_TRANSCRIPT, DEFAULT_CUSTODIANS, DEFAULT_PUBKEY,
	        HSM_WITNESS_MAX);
}

/* Printable ASCII of 1..max bytes. */
static bool printable(const char *s, size_t max)
{
	size_t i, n = strlen(s);

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return n > 0 && n <= max;
}

/*
 * --bag NUMBER (1-32 of A-Z a-z 0-9 -) and --evidence video=REF |
 * room-access=REF (1-200 printable) into o->evidence (ADR 0117): typed by
 * the ceremony master, signed on every line. 0, or -1 (message printed, the
 * value never echoed).
 */
static int add_evidence(struct opts *o, int kind, const char *v)
{
	const char *key = "bags";
	json_t *arr = NULL;
	size_t i;

	if (o->evidence == NULL && (o->evidence = json_object()) == NULL)
		return -1;
	if (kind == 'b') {
		for (i = 0; v[i] != '\0'; i++)
			if (!((v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= 'a' && v[i] <= 'z') ||
			      (v[i] >= '0' && v[i] <= '9') || v[i] == '-'))
				break;
		if (v[i] != '\0' || i == 0 || i > 32) {
			fprintf(stderr, "vaultctl: --bag: 1-32 characters of A-Z a-z 0-9 -\n");
			return -1;
		}
	} else if (strncmp(v, "video=", 6) == 0 || strncmp(v, "room-access=", 12) == 0) {
		key = v[0] == 'v' ? "video" : "room_access";
		v = strchr(v, '=') + 1;
		if (!printable(v, 200)) {
			fprintf(stderr, "vaultctl: --evidence: a reference is 1-200 printable "
			        "characters\n");
			return -1;
		}
	} else {
		fprintf(stderr, "vaultctl: --evidence takes video=REF or room-access=REF\n");
		return -1;
	}
	arr = json_object_get(o->evidence, key);
	if (arr == NULL && json_object_set_new(o->evidence, key, arr = json_array()) != 0)
		return -1;
	if (json_array_size(arr) >= 16) {
		fprintf(stderr, "vaultctl: at most 16 --bag or --evidence of a kind\n");
		return -1;
	}
	return json_array_append_new(arr, json_string(v));
}

/* Per-command manual pages ("vaultctl help keys create"). */
static int command_help(int n, char **args)
{
	if (n >= 1 && strcmp(args[0], "init-token") == 0) {
		printf("NAME\n    vaultctl init-token - create the HSM token\n\n"
		       "SYNOPSIS\n    vaultctl [--module PATH] [--label LABEL] [--pin-file FILE]\n"
		       "             [--so-pin-file FILE] [--secret NAME=FILE...] init-token NAME...\n\n"
		       "DESCRIPTION\n    Initialises a free slot as the token LABEL with the SO PIN\n"
		       "    (C_InitToken) and sets the user PIN (C_InitPIN), both read from\n"
		       "    owner-only files. The token is found by label, never by slot\n"
		       "    number; when it exists already nothing changes (exit 0).\n"
		       "    The custodians NAME... (two or more) each enter their passphrase\n"
		       "    and sign the genesis of the custodians registry, whose SHA-256 the\n"
		       "    SO's session stores in the token as an object nobody can modify\n"
		       "    or destroy: only they and those they enrol authorise ceremonies\n"
		       "    (ADR 0105). A token made without names runs no ceremony.\n");
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

/* Whether the command words args[0..nargs) are "group sub" followed by
 * want - 2 operands. */
static bool is_cmd(int nargs, char **args, int want, const char *group, const char *sub)
{
	return nargs == want && strcmp(args[0], group) == 0 && strcmp(args[1], sub) == 0;
}

static int dispatch(const struct opts *po, int nargs, char **args, const char *gen_label);

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
		{ "secret", required_argument, NULL, 'S' },
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
		{ "witness", required_argument, NULL, 'w' },
		{ "bag", required_argument, NULL, 'b' },
		{ "evidence", required_argument, NULL, 'e' },
		{ "tsa", required_argument, NULL, 'T' },
		{ "tsa-ca", required_argument, NULL, 'A' },
		{ "query", required_argument, NULL, 'q' },
		{ "reply", required_argument, NULL, 'r' },
		{ "reading", required_argument, NULL, 'R' },
		{ "clock", required_argument, NULL, 'L' },
		{ "anchor", required_argument, NULL, 'a' },
		{ "allow-untimed", no_argument, NULL, 'U' },
		{ "cn", required_argument, NULL, 'n' },
		{ "org", required_argument, NULL, 'o' },
		{ "san", required_argument, NULL, 'x' },
		{ "overlap-seconds", required_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, SR_OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { DEFAULT_MODULE, DEFAULT_LABEL, DEFAULT_PIN_FILE, DEFAULT_SO_PIN_FILE, NULL,
		          DEFAULT_TRANSCRIPT, DEFAULT_CUSTODIANS, DEFAULT_PUBKEY, NULL,
		          NULL, NULL, NULL, 0, 0, false, 100, { NULL }, 0, { NULL }, 0, NULL, NULL,
		          NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 86400, false };
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
			/* ADR 0105: no single input holds two custodians' secrets. */
			fprintf(stderr, "vaultctl: --custodian-input is gone: each custodian gives "
			        "their own --secret NAME=FILE, or is prompted on the terminal\n");
			return EXIT_USAGE;
		case 'S':
			if (o.nsecrets >= HSM_CUSTODIAN_MAX) {
				fprintf(stderr, "vaultctl: at most %d --secret\n", HSM_CUSTODIAN_MAX);
				return EXIT_USAGE;
			}
			o.secrets[o.nsecrets++] = optarg;
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
		case 'w':
			if (o.nwitnesses >= HSM_WITNESS_MAX) {
				fprintf(stderr, "vaultctl: at most %d --witness\n", HSM_WITNESS_MAX);
				return EXIT_USAGE;
			}
			o.witnesses[o.nwitnesses++] = optarg;
			break;
		case 'b':
		case 'e':
			if (add_evidence(&o, c, optarg) != 0) {
				json_decref(o.evidence);
				return EXIT_USAGE;
			}
			break;
		case 'T':
			o.tsa = optarg;
			break;
		case 'A':
			o.tsa_ca = optarg;
			break;
		case 'q':
			o.query = optarg;
			break;
		case 'r':
			o.reply = optarg;
			break;
		case 'R':
			o.reading = optarg;
			break;
		case 'L':
			o.clock = optarg;
			break;
		case 'a':
			o.anchor = optarg;
			break;
		case 'U':
			o.allow_untimed = true;
			break;
		case 'n':
			o.cn = optarg;
			break;
		case 'o':
			o.org = optarg;
			break;
		case 'x':
			o.san = optarg;
			break;
		case 'V': {
			char *end = NULL;

			o.overlap = strtoll(optarg, &end, 10);
			if (end == optarg || *end != '\0' || o.overlap < 0 || o.overlap > 31622400) {
				fprintf(stderr, "vaultctl: --overlap-seconds takes 0..31622400\n");
				return EXIT_USAGE;
			}
			break;
		}
		case 'h':
			want_help = 1;
			break;
		case SR_OPT_VERSION:
			json_decref(o.evidence);
			return sr_version_print("vaultctl");
		default:
			usage(stderr);
			json_decref(o.evidence);
			return EXIT_USAGE;
		}
	}
	if (want_help) {
		json_decref(o.evidence);
		return command_help(argc - optind, argv + optind);
	}
	/* PCI DSS v4.0 3.6.1: PINs in this process never land in a core dump. */
	if (sr_secret_harden_process() != 0)
		fprintf(stderr, "vaultctl: warning: process hardening incomplete\n");
	nargs = argc - optind;
	if (o.master == NULL)
		o.master = pw != NULL ? pw->pw_name : "unknown";
	if (!hsm_custodian_name_ok(o.master)) {
		fprintf(stderr, "vaultctl: --master: 1-%d characters of a-z 0-9 . _ -\n",
		        HSM_CUSTODIAN_NAME_MAX);
		json_decref(o.evidence);
		return EXIT_USAGE;
	}
	if (is_cmd(nargs, argv + optind, 3, "witness", "add"))
		o.enrolling = argv[optind + 2];
	/* ADR 0117: the witnesses prove their passphrases before anything
	 * happens; a wrong one is a refusal, as a custodian's is. */
	c = o.nwitnesses > 0 ? ceremony_witnesses_load(&o) : EXIT_OK;
	if (c == EXIT_OK)
		c = dispatch(&o, nargs, argv + optind, gen_label);
	ceremony_done(&o);
	return c;
}

/* Run the command args[0..nargs). */
static int dispatch(const struct opts *po, int nargs, char **args, const char *gen_label)
{
	if (is_cmd(nargs, args, 3, "witness", "add"))
		return cmd_witness_add(po, args[2]);
	if (is_cmd(nargs, args, 3, "witness", "remove"))
		return cmd_witness_remove(po, args[2]);
	if (is_cmd(nargs, args, 2, "ceremony", "time-query"))
		return cmd_ceremony_time_query(po);
	if (is_cmd(nargs, args, 2, "ceremony", "timestamp"))
		return cmd_ceremony_timestamp(po);
	if (is_cmd(nargs, args, 2, "ceremony", "clock"))
		return cmd_ceremony_clock(po);
	if (is_cmd(nargs, args, 3, "keys", "kcv"))
		return cmd_keys_kcv(po, args[2]);
	if ((nargs == 2 || nargs == 3) && strcmp(args[0], "keys") == 0 &&
	    strcmp(args[1], "generate") == 0) {
		/* keys generate LABEL, or keys generate --key-label LABEL (not both). */
		if ((nargs == 3) == (gen_label != NULL)) {
			fprintf(stderr, "vaultctl: keys generate needs one key label "
			        "(--key-label LABEL or keys generate LABEL)\n");
			return EXIT_USAGE;
		}
		if (nargs == 3)
			gen_label = args[2];
		return cmd_keys_generate(po, gen_label);
	}
	if (is_cmd(nargs, args, 3, "custodian", "add"))
		return cmd_custodian_add(po, args[2]);
	if (is_cmd(nargs, args, 3, "custodian", "remove"))
		return cmd_custodian_remove(po, args[2]);
	if (is_cmd(nargs, args, 2, "ceremony", "init"))
		return cmd_ceremony_init(po);
	if (is_cmd(nargs, args, 3, "ceremony", "verify"))
		return cmd_ceremony_verify(po, args[2]);
	/* keys backup LABEL...: the keys the ceremony names (ADR 0104). */
	if (nargs >= 2 && strcmp(args[0], "keys") == 0 &&
	    strcmp(args[1], "backup") == 0)
		return cmd_keys_backup(po, (const char *const *)(args + 2),
		                       (size_t)(nargs - 2));
	if (is_cmd(nargs, args, 2, "keys", "restore"))
		return cmd_keys_restore(po);
	if (is_cmd(nargs, args, 3, "keys", "rotate"))
		return cmd_keys_rotate(po, args[2]);
	if (is_cmd(nargs, args, 2, "keys", "reencrypt"))
		return cmd_keys_reencrypt(po);
	if (is_cmd(nargs, args, 3, "keys", "retire"))
		return cmd_keys_retire(po, args[2]);
	if (nargs == 1 && strcmp(args[0], "init-token") == 0 && po->nsecrets == 0)
		return cmd_init_token(po);
	if (nargs >= 2 && strcmp(args[0], "init-token") == 0)
		return cmd_init_token_custodians(po, args + 1, (size_t)(nargs - 1));
	if (nargs == 2 && strcmp(args[0], "keys") == 0) {
		if (strcmp(args[1], "create") == 0)
			return cmd_keys(po, true);
		if (strcmp(args[1], "list") == 0)
			return cmd_keys(po, false);
	}
	if (is_cmd(nargs, args, 3, "tls", "csr"))
		return cmd_tls_csr(po, args[2], false);
	if (is_cmd(nargs, args, 3, "tls", "rotate"))
		return cmd_tls_csr(po, args[2], true);
	if (is_cmd(nargs, args, 4, "tls", "install"))
		return cmd_tls_install(po, args[2], args[3]);
	if (is_cmd(nargs, args, 3, "tls", "retire"))
		return cmd_tls_retire(po, args[2]);
	if (is_cmd(nargs, args, 2, "tls", "list"))
		return cmd_tls_list(po);
	if (is_cmd(nargs, args, 5, "psp", "load"))
		return cmd_psp_load(po, args[2], args[3], args[4]);
	if (is_cmd(nargs, args, 2, "psp", "list"))
		return cmd_psp_list(po);
	if (is_cmd(nargs, args, 2, "audit", "verify"))
		return cmd_audit_verify(po);
	if (nargs >= 1 && strcmp(args[0], "help") == 0)
		return command_help(nargs - 1, args + 1);
	fprintf(stderr, "vaultctl: %s\n", nargs == 0 ? "no command given" : "unknown command");
	usage(stderr);
	return EXIT_USAGE;
}
