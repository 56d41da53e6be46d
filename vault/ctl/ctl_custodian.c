/*
 * vaultctl: key custodians: custodian add / remove, and their
 * authentication for dual control and for M-of-N quorums (PCI DSS v4.0
 * 3.6.1.3, 3.7.6).
 */
#include "vault/ctl/vaultctl.h"
#include "common/sr_secret.h"

#include <stdio.h>
#include <string.h>

int cmd_custodian_add(const struct opts *o, const char *name)
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
 * PCI DSS v4.0 3.7.6: dual control. The ceremony master's request (action,
 * what) is recorded, then two different registered custodians authenticate,
 * each with their own passphrase, before the key exists. Every attempt is
 * written to the transcript.
 */
int dual_control(struct hsm *h, const struct opts *o, const char *action, json_t *what,
                 char names[2][HSM_CUSTODIAN_NAME_MAX + 1])
{
	struct hsm_custodian_input *in = NULL;
	char err[512] = "", label[32];
	char *pass = NULL;
	size_t plen = 0;
	int i, r, ret = EXIT_OP;

	if (record(h, o, o->master, "ceremony-master", action, what) != 0)
		return EXIT_OP;
	in = hsm_custodian_input_open(o->input, err, sizeof(err));
	if (in == NULL) {
		fprintf(stderr, "vaultctl: custodians: %s\n", err);
		goto out;
	}
	for (i = 0; i < 2; i++) {
		snprintf(label, sizeof(label), "custodian %d", i + 1);
		if (hsm_custodian_next(in, label, names[i], &pass, &plen, err, sizeof(err)) != 0) {
			fprintf(stderr, "vaultctl: dual control refused: %s\n", err);
			ret = EXIT_REFUSED;
			goto out;
		}
		if (i == 1 && strcmp(names[0], names[1]) == 0) {
			fprintf(stderr, "vaultctl: dual control refused: custodian 2 is custodian 1 "
			        "again; two different custodians are needed\n");
			(void)record(h, o, names[1], "custodian", "dual-control-refused",
			             json_pack("{s:s}", "reason", "same custodian twice"));
			ret = EXIT_REFUSED;
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
			ret = EXIT_REFUSED;
			goto out;
		}
		if (record(h, o, names[i], "custodian", "custodian-authenticated", NULL) != 0)
			goto out;
	}
	ret = EXIT_OK;
out:
	sr_secret_free(pass);
	hsm_custodian_input_close(in);
	return ret;
}

/*
 * custodian remove NAME: two other custodians authenticate (dual control,
 * PCI DSS v4.0 3.6.1.3, 3.7.6); at least two stay registered.
 */
int cmd_custodian_remove(const struct opts *o, const char *name)
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
	r = dual_control(h, o, "custodian-removal-requested",
	                 json_pack("{s:s}", "custodian", name), names);
	if (r != EXIT_OK) {
		ret = r;
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

/*
 * The ceremony master's request (action, what) is recorded, then k
 * custodians authenticate one after the other (PCI DSS v4.0 3.7.6), each
 * a different registered custodian; their passphrases stay in guarded memory
 * (hd[i].pass, freed by quorum_free) to seal or open their components.
 */
int quorum(struct hsm *h, const struct opts *o, const char *action, json_t *what, size_t k,
           struct hsm_backup_holder *hd)
{
	struct hsm_custodian_input *in = NULL;
	char err[512] = "", label[32];
	char *pass = NULL;
	size_t plen = 0, i, j;
	int r, ret = EXIT_OP;

	for (i = 0; i < k; i++) {
		hd[i].name[0] = '\0';
		hd[i].pass = NULL;
		hd[i].pass_len = 0;
	}
	if (record(h, o, o->master, "ceremony-master", action, what) != 0)
		return EXIT_OP;
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
			ret = EXIT_REFUSED;
			goto out;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(hd[i].name, hd[j].name) == 0) {
				fprintf(stderr, "vaultctl: refused: %s is a custodian already counted; "
				        "%zu different custodians are needed\n", label, k);
				(void)record(h, o, hd[i].name, "custodian", "quorum-refused",
				             json_pack("{s:s}", "reason", "same custodian twice"));
				ret = EXIT_REFUSED;
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
			ret = EXIT_REFUSED;
			goto out;
		}
		hd[i].pass = pass;
		hd[i].pass_len = plen;
		pass = NULL;
		if (record(h, o, hd[i].name, "custodian", "custodian-authenticated", NULL) != 0)
			goto out;
	}
	ret = EXIT_OK;
out:
	sr_secret_free(pass);
	hsm_custodian_input_close(in);
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
