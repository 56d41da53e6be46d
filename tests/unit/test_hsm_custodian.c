/*
 * test_hsm_custodian: the custodians registry (ADR 0105) against a real
 * SoftHSM2 token made for the run in a temporary directory.
 *  - What SoftHSM2 2.6 enforces on the genesis anchor created in the SO's
 *    session: the user can neither destroy, modify nor copy it.
 *  - Custodians prove their passphrases by signing; others are refused alike.
 *  - Enrolment and removal need the quorum of current custodians (and the new
 *    custodian's own signature; never the leaving one's).
 *  - A registry edited by hand, rolled back to an old copy, with a forged
 *    signature, or a token with a second "genesis" made with the user PIN, or
 *    with none: refused.
 *  - Secret input: one file per custodian, one line each.
 * Exits 77 (skipped) only when the SoftHSM2 module is absent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hsm/hsm.h"
#include "hsm/hsm_p11.h"
#include "common/sr_secret.h"
#include "hsm/ceremonies/hsm_custodian.h"
#include "tests/unit/fixture.h"

#define TOKEN    "strongroom-cust"
#define USER_PIN "user-pin-6613"
#define SO_PIN   "so-pin-2290"

static const char *const NAMES[] = { "alice", "bob", "carol" };
static const char *const PASS[] = { "alice passphrase 1", "bob's passphrase 22",
	                            "carol's passphrase 333" };
static const char DAVE[] = "dave passphrase 4444";

static struct fx_softhsm g_t;
static struct hsm *g_h = NULL;
static char g_path[340];

static int group_setup(void **state)
{
	size_t len[3] = { strlen(PASS[0]), strlen(PASS[1]), strlen(PASS[2]) };
	char err[256] = "";
	json_t *doc = NULL;
	uint8_t anchor[32];

	(void)state;
	if (fx_softhsm_new(&g_t, "test_hsm_cust_", USER_PIN, SO_PIN) != 0)
		return -1;
	snprintf(g_path, sizeof(g_path), "%s/custodians.json", g_t.dir);
	if (hsm_custodian_genesis(NAMES, PASS, len, 3, "master-one", &doc, anchor, err,
	                          sizeof(err)) != 0 ||
	    hsm_init_token_anchored(FX_SOFTHSM_MODULE, TOKEN, g_t.so_pin, g_t.user_pin,
	                            HSM_CUSTODIAN_APP, HSM_CUSTODIAN_GENESIS, anchor, sizeof(anchor),
	                            err, sizeof(err)) != 0 ||
	    hsm_custodian_save(g_path, doc, err, sizeof(err)) != 0 ||
	    hsm_open(FX_SOFTHSM_MODULE, TOKEN, g_t.user_pin, 2, &g_h, err, sizeof(err)) != 0) {
		fprintf(stderr, "setup: %s\n", err);
		json_decref(doc);
		return -1;
	}
	json_decref(doc);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	hsm_close(g_h);
	g_h = NULL;
	fx_softhsm_free(&g_t);
	return 0;
}

/* hsm_custodian_open's answer for the file at path (registry closed again). */
static int open_rc(const char *path)
{
	struct hsm_custodian_registry *r = NULL;
	char err[512] = "";
	int rc = hsm_custodian_open(g_h, path, &r, err, sizeof(err));

	hsm_custodian_close(r);
	return rc;
}

/* The genesis anchor as the holder of the user PIN sees it, through PKCS#11. */
static void test_anchor_is_immutable(void **state)
{
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_ATTRIBUTE q[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, (void *)HSM_CUSTODIAN_GENESIS, strlen(HSM_CUSTODIAN_GENESIS) },
	};
	CK_ATTRIBUTE v = { CKA_VALUE, (void *)"forged", 6 };
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE d = { CKA_DESTROYABLE, &yes, sizeof(yes) };
	CK_FUNCTION_LIST_PTR p11 = NULL;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE o = CK_INVALID_HANDLE, copy = CK_INVALID_HANDLE;
	CK_ULONG n = 0;

	(void)state;
	assert_int_equal(hsm_p11_borrow(g_h, &p11, &s), 0);
	assert_int_equal(p11->C_FindObjectsInit(s, q, 2), CKR_OK);
	assert_int_equal(p11->C_FindObjects(s, &o, 1, &n), CKR_OK);
	p11->C_FindObjectsFinal(s);
	assert_int_equal(n, 1);
	/* PKCS#11 v2.40 §4.4: CKA_DESTROYABLE, CKA_MODIFIABLE, CKA_COPYABLE false. */
	assert_int_equal(p11->C_DestroyObject(s, o), CKR_ACTION_PROHIBITED);
	assert_int_equal(p11->C_SetAttributeValue(s, o, &v, 1), CKR_ACTION_PROHIBITED);
	assert_int_equal(p11->C_SetAttributeValue(s, o, &d, 1), CKR_ACTION_PROHIBITED);
	assert_int_not_equal(p11->C_CopyObject(s, o, NULL, 0, &copy), CKR_OK);
	hsm_p11_return(g_h, s, false);
	assert_int_equal(open_rc(g_path), 0);
}

static void test_sign(void **state)
{
	struct hsm_custodian_registry *r = NULL;
	uint8_t sig[HSM_CUSTODIAN_SIG_LEN];
	char err[512] = "";

	(void)state;
	assert_int_equal(hsm_custodian_open(g_h, g_path, &r, err, sizeof(err)), 0);
	assert_int_equal(hsm_custodian_count(r), 3);
	assert_true(hsm_custodian_registered(r, "bob"));
	assert_int_equal(hsm_custodian_sign(r, "alice", PASS[0], strlen(PASS[0]),
	                                    HSM_CUSTODIAN_DOMAIN_OPERATION, "op", sig, err,
	                                    sizeof(err)), 1);
	assert_true(hsm_custodian_verify(r, "alice", HSM_CUSTODIAN_DOMAIN_OPERATION, "op", sig));
	assert_false(hsm_custodian_verify(r, "bob", HSM_CUSTODIAN_DOMAIN_OPERATION, "op", sig));
	assert_false(hsm_custodian_verify(r, "alice", HSM_CUSTODIAN_DOMAIN_RECORD, "op", sig));
	/* Another's passphrase, a prefix, unknown names: refused alike. */
	assert_int_equal(hsm_custodian_sign(r, "alice", PASS[1], strlen(PASS[1]),
	                                    HSM_CUSTODIAN_DOMAIN_OPERATION, "op", sig, err,
	                                    sizeof(err)), 0);
	assert_int_equal(hsm_custodian_sign(r, "alice", PASS[0], strlen(PASS[0]) - 1,
	                                    HSM_CUSTODIAN_DOMAIN_OPERATION, "op", sig, err,
	                                    sizeof(err)), 0);
	assert_int_equal(hsm_custodian_sign(r, "mallory", PASS[0], strlen(PASS[0]),
	                                    HSM_CUSTODIAN_DOMAIN_OPERATION, "op", sig, err,
	                                    sizeof(err)), 0);
	assert_int_equal(hsm_custodian_sign(r, "Alice", PASS[0], strlen(PASS[0]),
	                                    HSM_CUSTODIAN_DOMAIN_OPERATION, "op", sig, err,
	                                    sizeof(err)), 0);
	hsm_custodian_close(r);
	/* The file holds public keys, no passphrase, and is owner-only. */
	{
		FILE *f = fopen(g_path, "r");
		char buf[8192] = "";
		struct stat st;
		assert_non_null(f);
		assert_true(fread(buf, 1, sizeof(buf) - 1, f) > 0);
		fclose(f);
		assert_null(strstr(buf, "passphrase"));
		assert_int_equal(stat(g_path, &st), 0);
		assert_int_equal(st.st_mode & 077, 0);
		assert_int_equal(chmod(g_path, 0640), 0);
		assert_int_equal(open_rc(g_path), -1);
		assert_int_equal(chmod(g_path, 0600), 0);
	}
}

/* One change of the registry, signed by signers[0..n) with their passphrases
 * (the new custodian's signature first when adding). commit's answer. */
static int change(bool add, const char *name, const char *const *signers,
                  const char *const *pass, size_t n)
{
	uint8_t sigs[4][HSM_CUSTODIAN_SIG_LEN];
	const char *who[4];
	struct hsm_custodian_registry *r = NULL;
	char err[512] = "";
	char *rec = NULL;
	size_t i, k = 0;
	int rc;

	assert_int_equal(hsm_custodian_open(g_h, g_path, &r, err, sizeof(err)), 0);
	rc = hsm_custodian_change_record(r, add, name, add ? DAVE : NULL, add ? strlen(DAVE) : 0,
	                                 "master-one", &rec, add ? sigs[0] : NULL, err,
	                                 sizeof(err));
	if (rc != 0) {
		hsm_custodian_close(r);
		return 10 + rc;
	}
	if (add)
		who[k++] = name;
	for (i = 0; i < n; i++) {
		assert_int_equal(hsm_custodian_sign(r, signers[i], pass[i], strlen(pass[i]),
		                                    HSM_CUSTODIAN_DOMAIN_RECORD, rec, sigs[k], err,
		                                    sizeof(err)), 1);
		who[k++] = signers[i];
	}
	rc = hsm_custodian_change_commit(g_h, r, g_path, rec, who,
	                                 (const uint8_t (*)[HSM_CUSTODIAN_SIG_LEN])sigs, k, err,
	                                 sizeof(err));
	free(rec);
	hsm_custodian_close(r);
	return rc;
}

static void copy_file(const char *from, const char *to)
{
	char cmd[1400];

	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 600 '%s'", from, to, to);
	assert_int_equal(system(cmd), 0);
}

/* Run sed -e expr on a copy of the registry; open's answer for the copy. */
static int edited(const char *expr)
{
	char cmd[2000], path[400];

	snprintf(path, sizeof(path), "%s/edited.json", g_t.dir);
	copy_file(g_path, path);
	snprintf(cmd, sizeof(cmd), "sed -i -e '%s' '%s'", expr, path);
	assert_int_equal(system(cmd), 0);
	return open_rc(path);
}

static void test_changes_need_the_quorum(void **state)
{
	static const char *const AB[] = { "alice", "bob" }, *const PAB[] = { "alice passphrase 1",
		                                                               "bob's passphrase 22" };
	static const char *const CA[] = { "carol", "alice" }, *const PCA[] = {
		"carol's passphrase 333", "alice passphrase 1" };
	char old[400];

	(void)state;
	snprintf(old, sizeof(old), "%s/before-dave.json", g_t.dir);
	copy_file(g_path, old);
	/* One custodian and the newcomer: refused; two: enrolled. */
	assert_int_equal(change(true, "dave", AB, PAB, 1), 1);
	assert_int_equal(change(true, "dave", AB, PAB, 2), 0);
	assert_int_equal(change(true, "dave", AB, PAB, 2), 11);   /* registered already */
	/* The leaving custodian's signature does not count. */
	assert_int_equal(change(false, "carol", CA, PCA, 2), 1);
	assert_int_equal(change(false, "carol", AB, PAB, 2), 0);
	assert_int_equal(open_rc(g_path), 0);
	/* The copy from before: the token holds anchors it lacks. */
	assert_int_equal(open_rc(old), 1);
	/* Hand edits: the list, a record, a signature. */
	assert_int_equal(edited("0,/\"name\": \"alice\"/s//\"name\": \"mallory\"/"), 1);
	assert_int_equal(edited("s/\\\\\"type\\\\\":\\\\\"remove\\\\\"/\\\\\"type\\\\\":\\\\\"add\\\\\"/"),
	                 1);
	assert_int_equal(edited("0,/\"sig\": \"[0-9a-f]/s//\"sig\": \"x/"), 1);
	/* Dual control stays possible: two left, no removal below. */
	assert_int_equal(change(false, "dave", AB, PAB, 2), 0);
	assert_int_equal(change(false, "bob", AB, PAB, 2), 11);
}

/* A second "genesis" made with the user PIN (a public object anyone logged in
 * can create), on another token: the registry is refused from then on. */
static void test_forged_genesis_refused(void **state)
{
	static const char *const N2[] = { "erin", "frank" };
	static const char *const P2[] = { "erin passphrase 55", "frank passphrase 66" };
	size_t len[2] = { strlen(P2[0]), strlen(P2[1]) };
	struct hsm *h2 = NULL, *keep = g_h;
	struct hsm_custodian_registry *r = NULL;
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	uint8_t anchor[32], forged[32] = { 0 };
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &no, sizeof(no) },
		{ CKA_APPLICATION, (void *)HSM_CUSTODIAN_APP, strlen(HSM_CUSTODIAN_APP) },
		{ CKA_LABEL, (void *)HSM_CUSTODIAN_GENESIS, strlen(HSM_CUSTODIAN_GENESIS) },
		{ CKA_VALUE, forged, sizeof(forged) },
	};
	CK_FUNCTION_LIST_PTR p11 = NULL;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE o = CK_INVALID_HANDLE;
	char err[512] = "", path[400];
	json_t *doc = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s/custodians-2.json", g_t.dir);
	assert_int_equal(hsm_custodian_genesis(N2, P2, len, 2, "master-one", &doc, anchor, err,
	                                       sizeof(err)), 0);
	assert_int_equal(hsm_init_token_anchored(FX_SOFTHSM_MODULE, TOKEN "-2", g_t.so_pin,
	                                         g_t.user_pin, HSM_CUSTODIAN_APP,
	                                         HSM_CUSTODIAN_GENESIS, anchor, sizeof(anchor), err,
	                                         sizeof(err)), 0);
	assert_int_equal(hsm_custodian_save(path, doc, err, sizeof(err)), 0);
	json_decref(doc);
	assert_int_equal(hsm_open(FX_SOFTHSM_MODULE, TOKEN "-2", g_t.user_pin, 1, &h2, err,
	                          sizeof(err)), 0);
	g_h = h2;
	assert_int_equal(open_rc(path), 0);
	assert_int_equal(open_rc(g_path), 1);   /* the first token's registry */
	assert_int_equal(hsm_p11_borrow(h2, &p11, &s), 0);
	assert_int_equal(p11->C_CreateObject(s, t, sizeof(t) / sizeof(t[0]), &o), CKR_OK);
	hsm_p11_return(h2, s, false);
	assert_int_equal(hsm_custodian_open(h2, path, &r, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "two anchors"));
	g_h = keep;
	hsm_close(h2);
}

/* A token made without custodians runs no ceremony. */
static void test_no_genesis(void **state)
{
	struct hsm_custodian_registry *r = NULL;
	struct hsm *h3 = NULL;
	char err[512] = "";

	(void)state;
	assert_int_equal(hsm_init_token(FX_SOFTHSM_MODULE, TOKEN "-3", g_t.so_pin, g_t.user_pin,
	                                err, sizeof(err)), 0);
	assert_int_equal(hsm_open(FX_SOFTHSM_MODULE, TOKEN "-3", g_t.user_pin, 1, &h3, err,
	                          sizeof(err)), 0);
	assert_int_equal(hsm_custodian_open(h3, g_path, &r, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "no custodian genesis"));
	hsm_close(h3);
}

static void test_secret_input(void **state)
{
	char a[320], b[320], two[320], spec[3][400], err[256] = "",
	     name[HSM_CUSTODIAN_NAME_MAX + 1];
	const char *specs[3] = { spec[0], spec[1], spec[2] };
	struct hsm_custodian_input *in = NULL;
	char *pass = NULL;
	size_t plen = 0;

	(void)state;
	snprintf(a, sizeof(a), "%s/sec-a", g_t.dir);
	snprintf(b, sizeof(b), "%s/sec-b", g_t.dir);
	snprintf(two, sizeof(two), "%s/sec-two", g_t.dir);
	assert_int_equal(fx_write_file(a, "alice passphrase 1\r\n", 0600), 0);
	assert_int_equal(fx_write_file(b, "bob's passphrase 22\n", 0600), 0);
	assert_int_equal(fx_write_file(two, "alice passphrase 1\nbob's passphrase 22\n", 0600), 0);
	snprintf(spec[0], sizeof(spec[0]), "alice=%s", a);
	snprintf(spec[1], sizeof(spec[1]), "bob=%s", b);
	in = hsm_custodian_input_open(specs, 2, err, sizeof(err));
	assert_non_null(in);
	assert_int_equal(hsm_custodian_input_left(in), 2);
	/* The named one first, then the others in order. */
	assert_int_equal(hsm_custodian_secret_of(in, "bob", false, &pass, &plen, err, sizeof(err)),
	                 0);
	assert_int_equal(plen, strlen("bob's passphrase 22"));
	sr_secret_free(pass);
	assert_int_equal(hsm_custodian_next(in, "c1", name, &pass, &plen, err, sizeof(err)), 0);
	assert_string_equal(name, "alice");
	assert_int_equal(plen, strlen("alice passphrase 1"));
	assert_memory_equal(pass, "alice passphrase 1", plen);
	sr_secret_free(pass);
	assert_int_equal(hsm_custodian_next(in, "c2", name, &pass, &plen, err, sizeof(err)), -1);
	assert_null(pass);
	hsm_custodian_input_close(in);
	/* Refused: two lines in one file; one file for two names; a name twice;
	 * a group-readable file; no '='. */
	snprintf(spec[0], sizeof(spec[0]), "alice=%s", two);
	assert_null(hsm_custodian_input_open(specs, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "more than one line"));
	assert_null(strstr(err, "passphrase 1"));
	snprintf(spec[0], sizeof(spec[0]), "alice=%s", a);
	snprintf(spec[1], sizeof(spec[1]), "bob=%s", a);
	assert_null(hsm_custodian_input_open(specs, 2, err, sizeof(err)));
	assert_non_null(strstr(err, "same secret file"));
	snprintf(spec[1], sizeof(spec[1]), "alice=%s", b);
	assert_null(hsm_custodian_input_open(specs, 2, err, sizeof(err)));
	assert_int_equal(chmod(a, 0640), 0);
	assert_null(hsm_custodian_input_open(specs, 1, err, sizeof(err)));
	snprintf(spec[2], sizeof(spec[2]), "%s", a);
	assert_null(hsm_custodian_input_open(specs + 2, 1, err, sizeof(err)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anchor_is_immutable),
		cmocka_unit_test(test_sign),
		cmocka_unit_test(test_changes_need_the_quorum),
		cmocka_unit_test(test_forged_genesis_refused),
		cmocka_unit_test(test_no_genesis),
		cmocka_unit_test(test_secret_input),
	};

	if (!fx_softhsm_present("test_hsm_custodian"))
		return 77;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
