/*
 * vaultctl: ceremony witnesses and the ceremony's trusted time (issue 17,
 * ADR 0117; PCI DSS v4.0 3.6.1, 3.7.6, 10.6.1): witness add / remove, ceremony
 * time-query / timestamp (RFC 3161) and ceremony clock (a witness-signed
 * clock reading, offline).
 */
#include "vault/ctl/vaultctl.h"
#include "common/sr_secret.h"
#include "hsm/ceremonies/hsm_timestamp.h"
#include "hsm/ceremonies/hsm_transcript.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* The --witness spec of name, or NULL. */
static const char *witness_spec(const struct opts *o, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < o->nwitnesses; i++)
		if (strncmp(o->witnesses[i], name, n) == 0 &&
		    (o->witnesses[i][n] == '=' || o->witnesses[i][n] == '\0'))
			return o->witnesses[i];
	return NULL;
}

int cmd_witness_add(const struct opts *o, const char *name)
{
	char names[2][HSM_CUSTODIAN_NAME_MAX + 1];
	struct hsm_custodian_registry *reg = NULL;
	struct hsm_custodian_input *in = NULL;
	struct hsm_witness w = { "", { 0 }, NULL };
	const char *spec = NULL;
	struct hsm *h = NULL;
	json_t *what = NULL;
	char err[512] = "", *pass = NULL;
	size_t plen = 0;
	int r, ret = EXIT_OP;

	if (!hsm_custodian_name_ok(name) || (spec = witness_spec(o, name)) == NULL) {
		fprintf(stderr, "vaultctl: witness add NAME needs the witness's own --witness "
		        "NAME=FILE (or --witness NAME to be asked on the terminal)\n");
		return EXIT_USAGE;
	}
	if (strcmp(name, o->master) == 0) {
		fprintf(stderr, "vaultctl: witness add: the ceremony master cannot witness\n");
		return EXIT_REFUSED;
	}
	/* ADR 0117: a name is enrolled once, ever (removed or not). */
	r = hsm_witness_ever_enrolled(o->transcript, name);
	if (r != 0) {
		fprintf(stderr, "vaultctl: witness add: %s\n", r > 0 ?
		        "this name was enrolled before; a witness name is enrolled once (use a new name)" :
		        "the transcript cannot be read");
		return r > 0 ? EXIT_REFUSED : EXIT_OP;
	}
	if (hsm_open(o->module, o->label, o->pin_file, 1, &h, err, sizeof(err)) != 0)
		goto fail;
	/* A witness attests; they never authorise: no custodian is a witness. */
	r = hsm_custodian_open(h, o->custodians, &reg, err, sizeof(err));
	if (r != 0)
		goto fail;
	if (hsm_custodian_registered(reg, name)) {
		fprintf(stderr, "vaultctl: witness add: %s is a custodian: a witness is neither "
		        "custodian nor ceremony master\n", name);
		ret = EXIT_REFUSED;
		goto out;
	}
	in = hsm_custodian_input_open(strchr(spec, '=') != NULL ? &spec : NULL,
	                              strchr(spec, '=') != NULL ? 1 : 0, err, sizeof(err));
	if (in == NULL ||
	    hsm_custodian_secret_of(in, name, true, &pass, &plen, err, sizeof(err)) != 0)
		goto fail;
	/* PCI DSS v4.0 3.7.6: two custodians authorise the enrolment. */
	r = dual_control(h, o, "witness-enrolment-requested", json_pack("{s:s}", "name", name),
	                 names);
	if (r != EXIT_OK) {
		ret = r;
		goto out;
	}
	if (hsm_witness_enrol(name, pass, plen, &w, &what, err, sizeof(err)) != 0)
		goto fail;
	json_object_set_new(what, "custodians", json_pack("[s,s]", names[0], names[1]));
	/* The new witness attests their own enrolment: proof they hold the key. */
	if (record_attested(h, o, &w, o->master, "ceremony-master", "witness-enrolled",
	                    what) != 0)
		goto out;
	printf("witness %s enrolled (authorised by %s and %s)\n", name, names[0], names[1]);
	ret = EXIT_OK;
	goto out;
fail:
	fprintf(stderr, "vaultctl: witness add: %s\n", err);
out:
	hsm_witness_clear(&w);
	sr_secret_free(pass);
	hsm_custodian_input_close(in);
	hsm_custodian_close(reg);
	hsm_close(h);
	return ret;
}

int cmd_witness_remove(const struct opts *o, const char *name)
{
	char names[2][HSM_CUSTODIAN_NAME_MAX + 1];
	struct hsm *h = NULL;
	char err[512] = "";
	int r;

	if (!hsm_custodian_name_ok(name)) {
		fprintf(stderr, "vaultctl: witness remove NAME: 1-%d characters of a-z 0-9 . _ -\n",
		        HSM_CUSTODIAN_NAME_MAX);
		return EXIT_USAGE;
	}
	if (witness_spec(o, name) != NULL) {
		fprintf(stderr, "vaultctl: witness remove: %s cannot attest their own removal; "
		        "give the other witnesses only\n", name);
		return EXIT_USAGE;
	}
	r = hsm_witness_enrolled(o->transcript, name);
	if (r <= 0) {
		fprintf(stderr, "vaultctl: witness remove: %s\n",
		        r == 0 ? "not an enrolled witness" : "the transcript cannot be read");
		return r == 0 ? EXIT_REFUSED : EXIT_OP;
	}
	if (hsm_open(o->module, o->label, o->pin_file, 1, &h, err, sizeof(err)) != 0) {
		fprintf(stderr, "vaultctl: witness remove: %s\n", err);
		return EXIT_OP;
	}
	/* PCI DSS v4.0 3.7.6: two custodians authorise the removal, as the enrolment. */
	r = dual_control(h, o, "witness-removal-requested", json_pack("{s:s}", "name", name),
	                 names);
	if (r == EXIT_OK &&
	    record(h, o, o->master, "ceremony-master", "witness-removed",
	           json_pack("{s:s, s:[s,s]}", "name", name, "custodians", names[0],
	                     names[1])) != 0)
		r = EXIT_OP;
	hsm_close(h);
	if (r == EXIT_OK)
		printf("witness %s removed (authorised by %s and %s): they attest nothing from "
		       "now on; their earlier signatures stay valid\n", name, names[0], names[1]);
	return r;
}

int cmd_ceremony_time_query(const struct opts *o)
{
	char err[512] = "", head[65];

	if (o->out == NULL) {
		fprintf(stderr, "vaultctl: ceremony time-query needs --out FILE\n");
		return EXIT_USAGE;
	}
	if (hsm_ts_query(o->transcript, o->out, head, err, sizeof(err)) != 0) {
		fprintf(stderr, "vaultctl: ceremony time-query: %s\n", err);
		return EXIT_OP;
	}
	printf("RFC 3161 query for head %s written to %s\n"
	       "send it to the ceremony's TSA (Content-Type: application/timestamp-query) and "
	       "give the reply to: vaultctl ceremony timestamp --tsa NAME --tsa-ca PEM --query %s "
	       "--reply FILE\n", head, o->out, o->out);
	return EXIT_OK;
}

int cmd_ceremony_timestamp(const struct opts *o)
{
	struct hsm *h = NULL;
	json_t *what = NULL;
	char err[512] = "";
	int r, ret = EXIT_OP;

	if (o->tsa == NULL || o->tsa_ca == NULL || o->query == NULL || o->reply == NULL ||
	    strlen(o->tsa) == 0 || strlen(o->tsa) > 128) {
		fprintf(stderr, "vaultctl: ceremony timestamp needs --tsa NAME (1-128 characters) "
		        "--tsa-ca PEM --query FILE --reply FILE\n");
		return EXIT_USAGE;
	}
	r = hsm_ts_accept(o->transcript, o->query, o->reply, o->tsa_ca, o->tsa, &what, err,
	                  sizeof(err));
	if (r != 0) {
		fprintf(stderr, "vaultctl: ceremony timestamp: %s\n", err);
		return r > 0 ? EXIT_REFUSED : EXIT_OP;
	}
	printf("TSA %s: %s stamped at %s\n", o->tsa,
	       json_string_value(json_object_get(what, "stamped_head")),
	       json_string_value(json_object_get(what, "gen_time")));
	if (hsm_open(o->module, o->label, o->pin_file, 1, &h, err, sizeof(err)) != 0) {
		fprintf(stderr, "vaultctl: %s\n", err);
		goto out;
	}
	if (record(h, o, o->master, "ceremony-master", "trusted-time", what) == 0)
		ret = EXIT_OK;
	what = NULL;
out:
	json_decref(what);
	hsm_close(h);
	return ret;
}

int cmd_ceremony_clock(const struct opts *o)
{
	struct tm tm;
	struct hsm *h = NULL;
	const char *end = NULL, *wname = NULL;
	char err[512] = "", host[32];
	time_t now = time(NULL), read_at;
	size_t i;
	int ret = EXIT_OP;

	memset(&tm, 0, sizeof(tm));
	if (o->reading != NULL)
		end = strptime(o->reading, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0' || o->clock == NULL || strlen(o->clock) == 0 ||
	    strlen(o->clock) > 128) {
		fprintf(stderr, "vaultctl: ceremony clock needs --reading YYYY-MM-DDTHH:MM:SSZ (UTC) "
		        "and --clock NAME (1-128 characters: which reference clock)\n");
		return EXIT_USAGE;
	}
	for (i = 0; i < strlen(o->clock); i++)
		if ((unsigned char)o->clock[i] < 0x20 || (unsigned char)o->clock[i] > 0x7e) {
			fprintf(stderr, "vaultctl: --clock: printable ASCII only\n");
			return EXIT_USAGE;
		}
	if (o->nwitnesses == 0) {
		fprintf(stderr, "vaultctl: ceremony clock: a witness reads the clock and signs "
		        "(--witness NAME=FILE)\n");
		return EXIT_USAGE;
	}
	wname = o->witnesses[0];
	read_at = timegm(&tm);
	gmtime_r(&now, &tm);
	strftime(host, sizeof(host), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (hsm_open(o->module, o->label, o->pin_file, 1, &h, err, sizeof(err)) != 0) {
		fprintf(stderr, "vaultctl: %s\n", err);
		goto out;
	}
	{
		char who[HSM_CUSTODIAN_NAME_MAX + 1] = "";
		size_t n = strcspn(wname, "=");

		memcpy(who, wname, n < sizeof(who) ? n : sizeof(who) - 1);
		if (record(h, o, who, "witness", "trusted-time",
		           json_pack("{s:s, s:s, s:s, s:s, s:I}", "source", "witness-clock-reading",
		                     "reading", o->reading, "clock", o->clock, "host_clock", host,
		                     "host_minus_reading_s", (json_int_t)(now - read_at))) != 0)
			goto out;
	}
	printf("clock reading %s (%s) recorded; the host clock differs by %lld s\n", o->reading,
	       o->clock, (long long)(now - read_at));
	ret = EXIT_OK;
out:
	hsm_close(h);
	return ret;
}
