/*
 * vaultctl: key custodians (ADRs 0072, 0105; PCI DSS v4.0 3.6.1.2, 3.6.1.3,
 * 3.7.6): custodian add / remove under the quorum of the current
 * custodians, and their authentication for dual control and for M-of-N
 * quorums. Authority comes from the custodians' passphrases checked against
 * the registry verified with the HSM's anchors (hsm_custodian.h), never from
 * the user PIN alone.
 */
#include "vault/ctl/vaultctl.h"
#include "common/sr_secret.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

/* The verified registry of h's token; a refusal is recorded. EXIT_*. */
static int open_registry(struct hsm *h, const struct opts *o, struct hsm_custodian_registry **r)
{
	char err[512] = "";
	int rc = hsm_custodian_open(h, o->custodians, r, err, sizeof(err));

	if (rc == 0)
		return EXIT_OK;
	fprintf(stderr, "vaultctl: %s\n", err);
	if (rc > 0)
		(void)record(h, o, o->master, "ceremony-master", "custodian-registry-refused",
		             json_pack("{s:s}", "reason", err));
	return rc > 0 ? EXIT_REFUSED : EXIT_OP;
}

/*
 * k different current custodians (none named except) come forward one after
 * the other and sign domain || text with the key their passphrase derives.
 * hd[0..k) gets their names; their passphrases stay there (guarded memory)
 * when keep, else are wiped at once; sigs[i] their signatures. Every attempt
 * is recorded. EXIT_OK, EXIT_REFUSED (fewer than k), EXIT_USAGE (more than k
 * secret files), EXIT_OP.
 */
static int authorise(struct hsm *h, const struct opts *o, const struct hsm_custodian_registry *r,
                     struct hsm_custodian_input *in, size_t k, const char *except,
                     const char *domain, const char *text, bool keep,
                     struct hsm_backup_holder *hd, uint8_t (*sigs)[HSM_CUSTODIAN_SIG_LEN])
{
	char err[512] = "", label[32], sh[2 * HSM_CUSTODIAN_SIG_LEN + 1];
	char *pass = NULL;
	size_t plen = 0, i, j;
	int rc;

	for (i = 0; i < k; i++) {
		hd[i].name[0] = '\0';
		hd[i].pass = NULL;
		hd[i].pass_len = 0;
	}
	if (o->nsecrets > 0 && hsm_custodian_input_left(in) > k) {
		fprintf(stderr, "vaultctl: %zu custodians come forward here, %zu --secret given\n", k,
		        hsm_custodian_input_left(in));
		return EXIT_USAGE;
	}
	for (i = 0; i < k; i++) {
		snprintf(label, sizeof(label), "custodian %zu", i + 1);
		if (hsm_custodian_next(in, label, hd[i].name, &pass, &plen, err, sizeof(err)) != 0) {
			fprintf(stderr, "vaultctl: refused: %zu custodians needed, %zu authenticated: "
			        "%s\n", k, i, err);
			(void)record(h, o, o->master, "ceremony-master", "quorum-refused",
			             json_pack("{s:I, s:I}", "needed", (json_int_t)k, "present",
			                       (json_int_t)i));
			return EXIT_REFUSED;
		}
		for (j = 0; j < i && strcmp(hd[i].name, hd[j].name) != 0; j++)
			;
		if (j < i || (except != NULL && strcmp(hd[i].name, except) == 0)) {
			fprintf(stderr, "vaultctl: refused: %s %s; %zu different custodians are "
			        "needed\n", label, j < i ? "is a custodian already counted"
			                                 : "is the custodian this change is about", k);
			(void)record(h, o, hd[i].name, "custodian", "quorum-refused",
			             json_pack("{s:s}", "reason", j < i ? "same custodian twice"
			                                                : "custodian of the change"));
			sr_secret_free(pass);
			return EXIT_REFUSED;
		}
		rc = hsm_custodian_sign(r, hd[i].name, pass, plen, domain, text, sigs[i], err,
		                        sizeof(err));
		if (rc == 1 && keep) {
			hd[i].pass = pass;
			hd[i].pass_len = plen;
		} else {
			sr_secret_free(pass);
		}
		pass = NULL;
		if (rc < 0) {
			fprintf(stderr, "vaultctl: %s\n", err);
			return EXIT_OP;
		}
		if (rc == 0) {
			/* Never echo a rejected input: the name may be a mistyped passphrase. */
			fprintf(stderr, "vaultctl: refused: %s did not authenticate\n", label);
			(void)record(h, o, hsm_custodian_name_ok(hd[i].name) ? hd[i].name : "(unknown)",
			             "custodian", "custodian-refused",
			             json_pack("{s:s}", "reason", "unknown name or wrong passphrase"));
			return EXIT_REFUSED;
		}
		sodium_bin2hex(sh, sizeof(sh), sigs[i], HSM_CUSTODIAN_SIG_LEN);
		if (record(h, o, hd[i].name, "custodian", "custodian-authenticated",
		           json_pack("{s:s, s:s}", "proof", "Ed25519 key derived from the passphrase",
		                     "signature", sh)) != 0)
			return EXIT_OP;
	}
	return EXIT_OK;
}

/* The request the custodians sign for an operation: what it is, on which
 * token, asked by whom. Caller frees. */
static char *request_text(struct hsm *h, const struct opts *o, const char *action,
                          const json_t *what)
{
	char serial[17] = "", err[128], when[32];
	json_t *req;
	char *text;
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	(void)hsm_token_serial(h, serial, err, sizeof(err));
	req = json_pack("{s:s, s:O?, s:s, s:s, s:s}", "action", action, "what", what, "token",
	                serial, "master", o->master, "at", when);
	text = req != NULL ? json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(req);
	return text;
}

int quorum(struct hsm *h, const struct opts *o, const char *action, json_t *what, size_t k,
           struct hsm_backup_holder *hd)
{
	uint8_t sigs[HSM_CUSTODIAN_MAX][HSM_CUSTODIAN_SIG_LEN];
	struct hsm_custodian_registry *r = NULL;
	struct hsm_custodian_input *in = NULL;
	char err[512] = "";
	char *text = NULL;
	size_t i;
	int ret;

	for (i = 0; i < k; i++) {
		hd[i].name[0] = '\0';
		hd[i].pass = NULL;
		hd[i].pass_len = 0;
	}
	text = request_text(h, o, action, what);
	if (record(h, o, o->master, "ceremony-master", action, what) != 0 || text == NULL) {
		free(text);
		return EXIT_OP;
	}
	if (k < HSM_CUSTODIAN_QUORUM || k > HSM_CUSTODIAN_MAX) {
		free(text);
		return EXIT_USAGE;
	}
	ret = open_registry(h, o, &r);
	if (ret != EXIT_OK)
		goto out;
	in = hsm_custodian_input_open(o->secrets, o->nsecrets, err, sizeof(err));
	if (in == NULL) {
		fprintf(stderr, "vaultctl: refused: %s\n", err);
		(void)record(h, o, o->master, "ceremony-master", "quorum-refused",
		             json_pack("{s:s}", "reason", "custodians' secrets refused"));
		ret = EXIT_REFUSED;
		goto out;
	}
	ret = authorise(h, o, r, in, k, NULL, HSM_CUSTODIAN_DOMAIN_OPERATION, text, true, hd, sigs);
out:
	sodium_memzero(sigs, sizeof(sigs));
	free(text);
	hsm_custodian_input_close(in);
	hsm_custodian_close(r);
	return ret;
}

void quorum_free(struct hsm_backup_holder *hd, size_t k)
{
	size_t i;

	for (i = 0; i < k; i++) {
		sr_secret_free((char *)hd[i].pass);
		hd[i].pass = NULL;
	}
}

int dual_control(struct hsm *h, const struct opts *o, const char *action, json_t *what,
                 char names[2][HSM_CUSTODIAN_NAME_MAX + 1])
{
	struct hsm_backup_holder hd[HSM_CUSTODIAN_QUORUM];
	int ret = quorum(h, o, action, what, HSM_CUSTODIAN_QUORUM, hd);

	memcpy(names[0], hd[0].name, sizeof(hd[0].name));
	memcpy(names[1], hd[1].name, sizeof(hd[1].name));
	quorum_free(hd, HSM_CUSTODIAN_QUORUM);
	return ret;
}

/*
 * A change of the registry (ceremony 5): the ceremony master's request is
 * recorded; for an enrolment the new custodian enters their passphrase
 * (twice on a terminal) and signs the record; then HSM_CUSTODIAN_QUORUM
 * other current custodians sign it; the registry verifies it all before the
 * change is anchored in the HSM and written.
 */
static int change(const struct opts *o, const char *name, bool add)
{
	uint8_t sigs[HSM_CUSTODIAN_QUORUM + 1][HSM_CUSTODIAN_SIG_LEN];
	struct hsm_backup_holder hd[HSM_CUSTODIAN_QUORUM];
	const char *signers[HSM_CUSTODIAN_QUORUM + 1];
	struct hsm_custodian_registry *r = NULL;
	struct hsm_custodian_input *in = NULL;
	struct hsm *h = NULL;
	char err[512] = "";
	char *pass = NULL, *rec = NULL;
	size_t plen = 0, n = 0, i;
	json_t *parsed = NULL;
	int rc, ret = EXIT_OP;

	if (!hsm_custodian_name_ok(name)) {
		fprintf(stderr, "vaultctl: a custodian name is 1-%d characters of a-z 0-9 . _ -\n",
		        HSM_CUSTODIAN_NAME_MAX);
		return EXIT_USAGE;
	}
	/* ADR 0117: a witness attests, a custodian authorises: never one person. */
	rc = add ? hsm_witness_enrolled(o->transcript, name) : 0;
	if (rc != 0) {
		fprintf(stderr, "vaultctl: custodian add: %s\n", rc > 0 ?
		        "an enrolled witness cannot be a custodian (witness remove first)" :
		        "the transcript cannot be read");
		return rc > 0 ? EXIT_REFUSED : EXIT_OP;
	}
	if (hsm_open(o->module, o->label, o->pin_file, 1, &h, err, sizeof(err)) != 0) {
		fprintf(stderr, "vaultctl: %s\n", err);
		goto out;
	}
	if (record(h, o, o->master, "ceremony-master",
	           add ? "custodian-enrolment-requested" : "custodian-removal-requested",
	           json_pack("{s:s}", "custodian", name)) != 0)
		goto out;
	ret = open_registry(h, o, &r);
	if (ret != EXIT_OK)
		goto out;
	ret = EXIT_REFUSED;
	in = hsm_custodian_input_open(o->secrets, o->nsecrets, err, sizeof(err));
	if (in == NULL || (add && hsm_custodian_secret_of(in, name, true, &pass, &plen, err,
	                                                  sizeof(err)) != 0))
		goto refused;
	rc = hsm_custodian_change_record(r, add, name, pass, plen, o->master, &rec,
	                                 add ? sigs[0] : NULL, err, sizeof(err));
	sr_secret_free(pass);
	pass = NULL;
	if (rc != 0) {
		ret = rc > 0 ? EXIT_REFUSED : EXIT_OP;
		goto refused;
	}
	if (add)
		signers[n++] = name;
	rc = authorise(h, o, r, in, HSM_CUSTODIAN_QUORUM, name, HSM_CUSTODIAN_DOMAIN_RECORD, rec,
	               false, hd, sigs + n);
	if (rc != EXIT_OK) {
		ret = rc;
		goto out;
	}
	for (i = 0; i < HSM_CUSTODIAN_QUORUM; i++)
		signers[n++] = hd[i].name;
	rc = hsm_custodian_change_commit(h, r, o->custodians, rec, signers,
	                                 (const uint8_t (*)[HSM_CUSTODIAN_SIG_LEN])sigs, n, err,
	                                 sizeof(err));
	if (rc != 0) {
		ret = rc > 0 ? EXIT_REFUSED : EXIT_OP;
		goto refused;
	}
	parsed = json_loads(rec, 0, NULL);
	if (record(h, o, o->master, "ceremony-master", add ? "custodian-enrolled" : "custodian-removed",
	           json_pack("{s:s, s:O?, s:O, s:O?, s:s, s:[s,s]}", "custodian", name, "public_key",
	                     json_object_get(parsed, "pk"), "seq", json_object_get(parsed, "seq"),
	                     "prev", json_object_get(parsed, "prev"), "custodians_file",
	                     o->custodians, "authorised_by", hd[0].name, hd[1].name)) != 0) {
		ret = EXIT_OP;
		goto out;
	}
	if (add)
		printf("custodian '%s' enrolled (authorised by %s and %s)\n", name, hd[0].name,
		       hd[1].name);
	else
		printf("custodian '%s' removed (authorised by %s and %s); components of existing "
		       "backups they hold stay valid: make a new backup and destroy the old one\n",
		       name, hd[0].name, hd[1].name);
	ret = EXIT_OK;
	goto out;
refused:
	fprintf(stderr, "vaultctl: custodian %s: %s\n", add ? "add" : "remove", err);
	if (ret == EXIT_REFUSED && h != NULL)
		(void)record(h, o, o->master, "ceremony-master",
		             add ? "custodian-enrolment-refused" : "custodian-removal-refused",
		             json_pack("{s:s, s:s}", "custodian", name, "reason", err));
out:
	sodium_memzero(sigs, sizeof(sigs));
	json_decref(parsed);
	free(rec);
	sr_secret_free(pass);
	hsm_custodian_input_close(in);
	hsm_custodian_close(r);
	hsm_close(h);
	return ret;
}

int cmd_custodian_add(const struct opts *o, const char *name)
{
	return change(o, name, true);
}

int cmd_custodian_remove(const struct opts *o, const char *name)
{
	return change(o, name, false);
}

/*
 * init-token NAME...: the SO initialises the token with its first
 * custodians. Each enters their passphrase; the genesis record they sign is
 * anchored in the SO's session (hsm_init_token_anchored); the registry is
 * written and the initialisation recorded in the transcript.
 */
int cmd_init_token_custodians(const struct opts *o, char *const names[], size_t n)
{
	const char *pass[HSM_CUSTODIAN_MAX] = { NULL };
	size_t plen[HSM_CUSTODIAN_MAX] = { 0 };
	struct hsm_custodian_input *in = NULL;
	struct hsm *h = NULL;
	json_t *doc = NULL, *list = NULL;
	uint8_t anchor[32];
	char err[512] = "", hx[65], serial[17] = "";
	size_t i;
	int r, ret = EXIT_OP;

	if (n < HSM_CUSTODIAN_QUORUM || n > HSM_CUSTODIAN_MAX) {
		fprintf(stderr, "vaultctl: init-token names %d to %d custodians\n",
		        HSM_CUSTODIAN_QUORUM, HSM_CUSTODIAN_MAX);
		return EXIT_USAGE;
	}
	in = hsm_custodian_input_open(o->secrets, o->nsecrets, err, sizeof(err));
	if (in == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		char *p = NULL;
		if (!hsm_custodian_name_ok(names[i])) {
			snprintf(err, sizeof(err), "a custodian name is 1-%d characters of a-z 0-9 . _ -",
			         HSM_CUSTODIAN_NAME_MAX);
			goto fail;
		}
		if (hsm_custodian_secret_of(in, names[i], true, &p, &plen[i], err, sizeof(err)) != 0)
			goto fail;
		pass[i] = p;
	}
	if (hsm_custodian_input_left(in) != 0) {
		snprintf(err, sizeof(err), "a --secret names no custodian of the token");
		goto fail;
	}
	if (hsm_custodian_genesis((const char *const *)names, pass, plen, n, o->master, &doc, anchor,
	                          err, sizeof(err)) != 0)
		goto fail;
	r = hsm_init_token_anchored(o->module, o->label, o->so_pin_file, o->pin_file,
	                            HSM_CUSTODIAN_APP, HSM_CUSTODIAN_GENESIS, anchor, sizeof(anchor),
	                            err, sizeof(err));
	if (r < 0)
		goto fail;
	if (r == 1) {
		printf("token '%s' already initialised: its custodians were named then\n", o->label);
		ret = EXIT_OK;
		goto out;
	}
	if (hsm_custodian_save(o->custodians, doc, err, sizeof(err)) != 0)
		goto fail;
	/* The transcript signer, then the initialisation on the record. */
	if (cmd_ceremony_init(o) != EXIT_OK)
		goto out;
	if (hsm_open(o->module, o->label, o->pin_file, 1, &h, err, sizeof(err)) != 0 ||
	    hsm_token_serial(h, serial, err, sizeof(err)) != 0)
		goto fail;
	sodium_bin2hex(hx, sizeof(hx), anchor, sizeof(anchor));
	list = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(list, json_string(names[i]));
	if (record(h, o, o->master, "ceremony-master", "token-initialised",
	           json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:s}", "label", o->label, "hsm_serial",
	                     serial, "by", "security officer (C_InitToken, C_InitPIN)",
	                     "custodians", list, "genesis_sha256", hx, "anchor",
	                     "CKO_DATA " HSM_CUSTODIAN_GENESIS ", not modifiable, copyable or "
	                     "destroyable, created in the SO's session", "custodians_file",
	                     o->custodians)) != 0)
		goto out;
	printf("token '%s' initialised with %zu custodians; genesis %s\n", o->label, n, hx);
	ret = EXIT_OK;
	goto out;
fail:
	fprintf(stderr, "vaultctl: init-token: %s\n", err);
out:
	for (i = 0; i < n && i < HSM_CUSTODIAN_MAX; i++)
		sr_secret_free((char *)pass[i]);
	json_decref(doc);
	hsm_custodian_input_close(in);
	hsm_close(h);
	return ret;
}
