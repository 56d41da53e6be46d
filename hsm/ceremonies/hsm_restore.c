/*
 * vaultctl's restore of a split-knowledge key backup (ADR 0073, 0104; see
 * hsm_backup.h): M custodians' components combined in the HSM, every
 * wrapped key unwrapped and checked against its KCV, all or nothing.
 */
#include "hsm/ceremonies/hsm_backup.h"
#include "hsm/ceremonies/hsm_backup_internal.h"

#include "hsm/hsm.h"
#include "common/sr_secret.h"

#include <stdbool.h>
#include <string.h>

#include <sodium.h>

/* ---- restore ---------------------------------------------------------------- */

/* Holder index of name among the k holders, or -1. */
static int holder_of(const struct hsm_backup_holder *holders, size_t k, const char *name)
{
	size_t i;

	for (i = 0; i < k; i++)
		if (strcmp(holders[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Destroy the keys restored so far (all or nothing). */
static void undo(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE *objs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p11->C_DestroyObject(s, objs[i]);
}

int hsm_backup_restore(struct hsm *h, const json_t *backup, const struct hsm_backup_holder *holders,
                       const json_t *const comps[], size_t k, json_t **restored_out, char *err,
                       size_t errlen)
{
	CK_FUNCTION_LIST_PTR p11 = NULL;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE tk = CK_INVALID_HANDLE, made[MAX_KEYS];
	CK_MECHANISM wrap = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
	const char *fmt = NULL, *id = NULL;
	json_int_t m = 0, n = 0;
	json_t *jkeys = NULL, *jsets = NULL, *jset = NULL, *chosen = NULL, *out = NULL;
	uint8_t *vals[HSM_BACKUP_MAX_HOLDERS] = { NULL };
	size_t nvals[HSM_BACKUP_MAX_HOLDERS] = { 0 };
	uint8_t *tcomps = NULL;
	uint8_t kcv[HSM_KCV_LEN];
	char hx[2 * HSM_KCV_LEN + 1], tlabel[64];
	size_t i, j, si, nmade = 0;
	bool have = false;
	int ret = -1, r;
	CK_RV rv;

	*restored_out = NULL;
	if (h == NULL || backup == NULL || holders == NULL || comps == NULL ||
	    k > HSM_BACKUP_MAX_HOLDERS) {
		bk_seterr(err, errlen, "restore: bad arguments");
		return -1;
	}
	if (json_unpack((json_t *)backup, "{s:s, s:s, s:I, s:I, s:o, s:o}", "format", &fmt,
	                "backup_id", &id, "m", &m, "n", &n, "keys", &jkeys, "sets", &jsets) != 0 ||
	    strcmp(fmt, BACKUP_FORMAT) != 0 || m < 2 || n < m || n > HSM_BACKUP_MAX_HOLDERS ||
	    !json_is_array(jkeys) || json_array_size(jkeys) == 0 ||
	    json_array_size(jkeys) > MAX_KEYS || !json_is_array(jsets) ||
	    json_array_size(jsets) == 0) {
		bk_seterr(err, errlen, "not a key backup file (%s)", BACKUP_FORMAT);
		return -1;
	}
	/* Split knowledge (PCI DSS 3.7.6): M custodians or nothing. */
	if ((json_int_t)k < m) {
		bk_seterr(err, errlen, "restore refused: %zu custodian(s) present, the backup needs %lld "
		          "(M of N = %lld of %lld)", k, (long long)m, (long long)m, (long long)n);
		return 1;
	}
	for (i = 0; i < k; i++) {
		const char *cid = NULL;

		if (json_unpack((json_t *)comps[i], "{s:s}", "backup_id", &cid) != 0 ||
		    strcmp(cid, id) != 0) {
			bk_seterr(err, errlen, "restore refused: the component file of custodian %zu "
			          "belongs to another backup", i + 1);
			ret = 1;
			goto out;
		}
		r = hsm_backup_unseal(comps[i], &holders[i], &vals[i], &nvals[i], err, errlen);
		if (r != 0) {
			ret = r;
			goto out;
		}
	}
	json_array_foreach(jsets, si, jset) {
		json_t *cn = json_object_get(jset, "custodians");
		json_t *c = NULL;
		size_t ci;
		bool all = json_is_array(cn) && (json_int_t)json_array_size(cn) == m;

		json_array_foreach(cn, ci, c) {
			if (!json_is_string(c) || holder_of(holders, k, json_string_value(c)) < 0)
				all = false;
		}
		if (all) {
			chosen = jset;
			break;
		}
	}
	if (chosen == NULL) {
		bk_seterr(err, errlen, "restore refused: these custodians hold no complete set of "
		          "components (M of N = %lld of %lld)", (long long)m, (long long)n);
		ret = 1;
		goto out;
	}
	tcomps = sr_secret_alloc((size_t)m * HSM_BACKUP_COMP_LEN);
	if (tcomps == NULL) {
		bk_seterr(err, errlen, "out of guarded memory");
		goto out;
	}
	hsm_p11_borrow(h, &p11, &s);
	have = true;
	/* Each custodian's component of this set, checked against its KCV. */
	for (j = 0; j < (size_t)m; j++) {
		const char *name = json_string_value(json_array_get(json_object_get(chosen,
		                                                                     "custodians"), j));
		const char *want = json_string_value(json_array_get(json_object_get(chosen,
		                                                                     "component_kcvs"),
		                                                     j));
		json_int_t setno = json_integer_value(json_object_get(chosen, "set"));
		json_t *meta = NULL, *c = NULL;
		int hi = holder_of(holders, k, name);
		bool found = false;

		meta = json_object_get(comps[hi], "components");
		for (i = 0; i < json_array_size(meta) && i < nvals[hi]; i++) {
			c = json_array_get(meta, i);
			if (json_integer_value(json_object_get(c, "set")) == setno &&
			    json_integer_value(json_object_get(c, "index")) == (json_int_t)(j + 1)) {
				memcpy(tcomps + j * HSM_BACKUP_COMP_LEN,
				       vals[hi] + i * HSM_BACKUP_COMP_LEN, HSM_BACKUP_COMP_LEN);
				found = true;
				break;
			}
		}
		if (!found) {
			bk_seterr(err, errlen, "restore refused: custodian '%s' has no component %zu of "
			          "set %lld", name, j + 1, (long long)setno);
			ret = 1;
			goto out;
		}
		if (bk_component_kcv(h, p11, s, tcomps + j * HSM_BACKUP_COMP_LEN, kcv, err,
		                     errlen) != 0)
			goto out;
		bk_kcv_hex(kcv, hx);
		if (want == NULL || sodium_memcmp(hx, want, sizeof hx - 1) != 0 ||
		    strlen(want) != sizeof hx - 1) {
			bk_seterr(err, errlen, "restore refused: custodian '%s''s component KCV %s does "
			          "not match the backup's", name, hx);
			ret = 1;
			goto out;
		}
	}
	/* A fresh token: none of the labels may exist. */
	json_array_foreach(jkeys, i, jset) {
		struct hsm_key_info ki;
		const char *label = json_string_value(json_object_get(jset, "label"));

		if (label == NULL || hsm_key_info(h, label, &ki, err, errlen) != 0) {
			if (label == NULL)
				bk_seterr(err, errlen, "not a key backup file (a key without label)");
			goto out;
		}
		if (ki.found) {
			bk_seterr(err, errlen, "restore refused: '%s' exists on the token already "
			          "(restore into a fresh token)", label);
			ret = 1;
			goto out;
		}
	}
	bk_tmp_label(tlabel, sizeof tlabel, "transport");
	if (bk_combine(p11, s, tcomps, (size_t)m, tlabel, false, &tk, err, errlen) != 0)
		goto out;
	if (hsm_kcv(h, tlabel, kcv, err, errlen) != 0)
		goto out;
	bk_kcv_hex(kcv, hx);
	{
		const char *want = json_string_value(json_object_get(chosen, "transport_kcv"));

		if (want == NULL || strlen(want) != sizeof hx - 1 ||
		    sodium_memcmp(hx, want, sizeof hx - 1) != 0) {
			bk_seterr(err, errlen, "restore refused: the transport key's KCV %s does not "
			          "match the backup's", hx);
			ret = 1;
			goto out;
		}
	}
	out = json_array();
	json_array_foreach(jkeys, i, jset) {
		const char *label = json_string_value(json_object_get(jset, "label"));
		const char *kts = json_string_value(json_object_get(jset, "key_type"));
		const char *want = json_string_value(json_object_get(jset, "kcv"));
		const char *bhex = NULL;
		json_t *w = NULL;
		size_t wi;
		CK_BYTE blob[WRAP_MAX];
		size_t blen = 0;
		CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
		CK_KEY_TYPE kt;
		CK_BBOOL yes = CK_TRUE, no = CK_FALSE, enc, sign;
		json_int_t bits = json_integer_value(json_object_get(jset, "bits"));
		struct hsm_key_info ki;

		if (kts == NULL || want == NULL) {
			bk_seterr(err, errlen, "not a key backup file (key type or KCV missing)");
			goto undo;
		}
		kt = strcmp(kts, "CKK_AES") == 0 ? CKK_AES : CKK_GENERIC_SECRET;
		if (kt == CKK_GENERIC_SECRET && strcmp(kts, "CKK_GENERIC_SECRET") != 0) {
			bk_seterr(err, errlen, "not a key backup file (key type %s)", kts);
			goto undo;
		}
		enc = kt == CKK_AES ? CK_TRUE : CK_FALSE;
		sign = kt == CKK_AES ? CK_FALSE : CK_TRUE;
		json_array_foreach(json_object_get(chosen, "wrapped"), wi, w) {
			const char *wl = json_string_value(json_object_get(w, "label"));
			if (wl != NULL && strcmp(wl, label) == 0)
				bhex = json_string_value(json_object_get(w, "blob"));
		}
		if (bhex == NULL || strlen(bhex) % 2 != 0 || strlen(bhex) / 2 > WRAP_MAX ||
		    bk_hexval(bhex, blob, strlen(bhex) / 2) != 0) {
			bk_seterr(err, errlen, "restore refused: no wrapped copy of '%s' in this set",
			          label);
			ret = 1;
			goto undo;
		}
		blen = strlen(bhex) / 2;
		/* The length the backup records must be the blob's (RFC 5649 §4.1:
		 * the key padded to whole 8-byte blocks, plus 8); a backup that
		 * records none (a key restored before ADR 0104) gets the blob's. */
		if (bits == 0)
			bits = (json_int_t)(blen - 8) * 8;
		if (blen < 16 || bits <= 0 || bits % 8 != 0 ||
		    (size_t)((bits / 8 + 7) / 8 * 8 + 8) != blen ||
		    (kt == CKK_AES && bits != 128 && bits != 192 && bits != 256)) {
			bk_seterr(err, errlen, "restore refused: '%s': the backup's length (%lld "
			          "bits) does not fit its wrapped copy (%zu bytes)", label,
			          (long long)bits, blen);
			ret = 1;
			goto undo;
		}
		{
			CK_ATTRIBUTE t[] = {
				{ CKA_CLASS, &cls, sizeof(cls) },
				{ CKA_KEY_TYPE, &kt, sizeof(kt) },
				{ CKA_TOKEN, &yes, sizeof(yes) },
				{ CKA_PRIVATE, &yes, sizeof(yes) },
				{ CKA_SENSITIVE, &yes, sizeof(yes) },
				/* As backed up (ADR 0104): wrappable again, but only
				 * under a transport key the SO marked trusted. */
				{ CKA_EXTRACTABLE, &yes, sizeof(yes) },
				{ CKA_WRAP_WITH_TRUSTED, &yes, sizeof(yes) },
				{ CKA_ENCRYPT, &enc, sizeof(enc) },
				{ CKA_DECRYPT, &enc, sizeof(enc) },
				{ CKA_SIGN, &sign, sizeof(sign) },
				{ CKA_VERIFY, &sign, sizeof(sign) },
				{ CKA_WRAP, &no, sizeof(no) },
				{ CKA_UNWRAP, &no, sizeof(no) },
				{ CKA_DERIVE, &no, sizeof(no) },
				{ CKA_LABEL, (void *)label, strlen(label) },
				/* Last: SoftHSM2 2.6 applies the template in order
				 * and refuses any attribute after it on unwrap. */
				{ CKA_MODIFIABLE, &no, sizeof(no) },
			};

			/* PKCS#11 v2.40 §5.18 C_UnwrapKey: RFC 5649's integrity check
			 * fails for a wrong transport key or an altered blob. */
			rv = p11->C_UnwrapKey(s, &wrap, tk, blob, (CK_ULONG)blen, t,
			                      sizeof(t) / sizeof(t[0]), &made[nmade]);
		}
		if (rv != CKR_OK) {
			bk_p11err(err, errlen, "restore refused: C_UnwrapKey", rv);
			ret = 1;
			goto undo;
		}
		nmade++;
		if (hsm_kcv(h, label, kcv, err, errlen) != 0)
			goto undo;
		bk_kcv_hex(kcv, hx);
		if (strlen(want) != sizeof hx - 1 || sodium_memcmp(hx, want, sizeof hx - 1) != 0) {
			bk_seterr(err, errlen, "restore refused: '%s' KCV %s does not match the "
			          "backup's %s", label, hx, want);
			ret = 1;
			goto undo;
		}
		/* What the token says now, not what was asked for. */
		if (hsm_key_info(h, label, &ki, err, errlen) != 0)
			goto undo;
		if (!ki.found || !ki.sensitive || !ki.extractable || !ki.wrap_with_trusted) {
			bk_seterr(err, errlen, "restore refused: '%s' came out without CKA_SENSITIVE, "
			          "CKA_EXTRACTABLE or CKA_WRAP_WITH_TRUSTED", label);
			ret = 1;
			goto undo;
		}
		json_array_append_new(out, json_pack("{s:s, s:s, s:I, s:s, s:{s:b, s:b, s:b}}",
		                                     "label", label, "key_type", kts, "bits", bits,
		                                     "kcv", hx, "attributes", "sensitive",
		                                     ki.sensitive, "extractable", ki.extractable,
		                                     "wrap_with_trusted", ki.wrap_with_trusted));
	}
	*restored_out = out;
	out = NULL;
	ret = 0;
	goto out;
undo:
	undo(p11, s, made, nmade);
out:
	if (tk != CK_INVALID_HANDLE)
		p11->C_DestroyObject(s, tk);
	if (have)
		hsm_p11_return(h, s, false);
	for (i = 0; i < HSM_BACKUP_MAX_HOLDERS; i++)
		sr_secret_free(vals[i]);
	sr_secret_free(tcomps);
	json_decref(out);
	return ret;
}
