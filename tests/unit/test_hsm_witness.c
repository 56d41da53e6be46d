/*
 * test_hsm_witness: ceremony witnesses (issue 17, ADR 0117) without an HSM:
 * enrolment and loading from the transcript's witness-enrolled line, the
 * wrong passphrase and an unknown witness refused alike, signatures bound to
 * the domain and the text; a removed witness refused (hsm_witness_enrolled,
 * hsm_witness_load); hsm_transcript_head of an empty and a two-line file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "hsm/ceremonies/hsm_transcript.h"
#include "hsm/ceremonies/hsm_witness.h"

#define PASS "wendy watches closely 3"

static char dir[] = "/tmp/test_hsm_witness.XXXXXX";
static char path[256];

/* A transcript holding only w's enrolment line (its other members do not matter here). */
static void write_enrolment(const json_t *what)
{
	json_t *o = json_pack("{s:i, s:s, s:O}", "seq", 1, "action", "witness-enrolled", "what", what);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(json_dumpf(o, f, JSON_COMPACT | JSON_SORT_KEYS), 0);
	fputc('\n', f);
	fclose(f);
	json_decref(o);
}

static void test_enrol_load_sign(void **state)
{
	struct hsm_witness w, again;
	json_t *what = NULL;
	uint8_t sig[HSM_WITNESS_SIG_LEN];
	char err[256];

	(void)state;
	assert_int_equal(hsm_witness_enrol("wendy", PASS, strlen(PASS), &w, &what, err, sizeof err), 0);
	assert_string_equal(json_string_value(json_object_get(what, "name")), "wendy");
	assert_int_equal(strlen(json_string_value(json_object_get(what, "pk"))), 64);
	assert_int_equal(strlen(json_string_value(json_object_get(what, "salt"))), 32);
	write_enrolment(what);
	/* The same passphrase derives the same key from the recorded salt. */
	assert_int_equal(hsm_witness_load(path, "wendy", PASS, strlen(PASS), &again, err, sizeof err), 0);
	assert_memory_equal(w.pk, again.pk, sizeof(w.pk));
	hsm_witness_sign(&again, "{\"seq\":2}", sig);
	assert_true(hsm_witness_sig_ok(w.pk, "{\"seq\":2}", sig));
	assert_false(hsm_witness_sig_ok(w.pk, "{\"seq\":3}", sig));
	sig[0] ^= 1;
	assert_false(hsm_witness_sig_ok(w.pk, "{\"seq\":2}", sig));
	/* Not a bare Ed25519 signature of the text: the domain is part of it. */
	crypto_sign_detached(sig, NULL, (const uint8_t *)"{\"seq\":2}", 9, again.sk);
	assert_false(hsm_witness_sig_ok(w.pk, "{\"seq\":2}", sig));
	hsm_witness_clear(&w);
	hsm_witness_clear(&again);
	assert_null(w.sk);
	json_decref(what);
}

static void test_refusals_alike(void **state)
{
	struct hsm_witness w;
	json_t *what = NULL;
	char err[256], err2[256];

	(void)state;
	assert_int_equal(hsm_witness_enrol("wendy", PASS, strlen(PASS), &w, &what, err, sizeof err), 0);
	hsm_witness_clear(&w);
	write_enrolment(what);
	json_decref(what);
	assert_int_equal(hsm_witness_load(path, "wendy", "not her passphrase", 18, &w, err,
	                                  sizeof err), 1);
	assert_null(strstr(err, "not her passphrase"));
	assert_int_equal(hsm_witness_load(path, "walter", PASS, strlen(PASS), &w, err2,
	                                  sizeof err2), 1);
	assert_non_null(strstr(err2, "not enrolled, or the wrong passphrase"));
	/* Too short a passphrase, a bad name: refused before any derivation. */
	assert_int_equal(hsm_witness_load(path, "wendy", "short", 5, &w, err, sizeof err), 1);
	assert_int_equal(hsm_witness_enrol("Wendy!", PASS, strlen(PASS), &w, &what, err,
	                                   sizeof err), -1);
}

/* hsm_witness_enrolled follows the newest enrolment and removal lines; a
 * removed witness is refused as an unknown one, re-enrolment counts again. */
static void test_removed(void **state)
{
	struct hsm_witness w;
	json_t *what = NULL, *o = NULL;
	char err[256];
	FILE *f;

	(void)state;
	unlink(path);
	assert_int_equal(hsm_witness_enrolled(path, "wendy"), 0);   /* no transcript yet */
	assert_int_equal(hsm_witness_enrol("wendy", PASS, strlen(PASS), &w, &what, err, sizeof err), 0);
	hsm_witness_clear(&w);
	write_enrolment(what);
	assert_int_equal(hsm_witness_enrolled(path, "wendy"), 1);
	assert_int_equal(hsm_witness_enrolled(path, "walter"), 0);
	f = fopen(path, "a");
	assert_non_null(f);
	fprintf(f, "{\"action\":\"witness-removed\",\"seq\":2,\"what\":{\"name\":\"wendy\"}}\n");
	fclose(f);
	assert_int_equal(hsm_witness_enrolled(path, "wendy"), 0);
	assert_int_equal(hsm_witness_load(path, "wendy", PASS, strlen(PASS), &w, err, sizeof err), 1);
	assert_non_null(strstr(err, "not enrolled, or the wrong passphrase"));
	/* Enrolled again after the removal: a witness again. */
	f = fopen(path, "a");
	assert_non_null(f);
	o = json_pack("{s:i, s:s, s:O}", "seq", 3, "action", "witness-enrolled", "what", what);
	assert_int_equal(json_dumpf(o, f, JSON_COMPACT | JSON_SORT_KEYS), 0);
	fputc('\n', f);
	fclose(f);
	json_decref(o);
	assert_int_equal(hsm_witness_enrolled(path, "wendy"), 1);
	assert_int_equal(hsm_witness_load(path, "wendy", PASS, strlen(PASS), &w, err, sizeof err), 0);
	hsm_witness_clear(&w);
	json_decref(what);
}

static void test_head(void **state)
{
	char head[65], err[256];
	long lines = -1;
	FILE *f;

	(void)state;
	f = fopen(path, "w");
	fclose(f);
	assert_int_equal(hsm_transcript_head(path, head, &lines, err, sizeof err), 0);
	assert_int_equal(lines, 0);
	assert_string_equal(head, "0000000000000000000000000000000000000000000000000000000000000000");
	f = fopen(path, "w");
	fputs("{\"seq\":1}\nabc\n", f);
	fclose(f);
	assert_int_equal(hsm_transcript_head(path, head, &lines, err, sizeof err), 0);
	assert_int_equal(lines, 2);
	/* SHA-256("abc") */
	assert_string_equal(head, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	f = fopen(path, "w");
	fputs("{\"seq\":1}\nab", f);
	fclose(f);
	assert_int_equal(hsm_transcript_head(path, head, &lines, err, sizeof err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enrol_load_sign),
		cmocka_unit_test(test_refusals_alike),
		cmocka_unit_test(test_removed),
		cmocka_unit_test(test_head),
	};
	int rc;

	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof path, "%s/transcript.jsonl", dir);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(path);
	rmdir(dir);
	return rc;
}
