/*
 * hsm_keys: key lookup by CKA_LABEL (and the per-label handle cache), key
 * attributes, key generation (secret keys and the ECDSA P-256 ceremony
 * signing key), key check values (PKCS#11 v2.40; see hsm.h).
 */
#include "hsm/hsm.h"
#include "hsm/hsm_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define HSM_KEY_LEN   32   /* AES-256, HMAC-SHA256 key length in bytes */

/* ---- key lookup ------------------------------------------------------------ */

/*
 * See hsm_internal.h. C_FindObjects asks for two objects: a second one with
 * the label makes the lookup ambiguous. C_FindObjectsFinal is called on every
 * path after a successful C_FindObjectsInit.
 */
int hsm_find_obj(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const char *label,
                 unsigned flags, CK_OBJECT_HANDLE *obj_out, CK_ATTRIBUTE *attrs,
                 CK_ULONG nattrs, char *err, size_t errlen)
{
	const char *what = cls == CKO_SECRET_KEY    ? "secret key"
	                   : cls == CKO_PRIVATE_KEY ? "private key"
	                                            : "public key";
	bool vault = (flags & HSM_FIND_VAULT) != 0;
	CK_ATTRIBUTE tmpl[2];
	CK_OBJECT_HANDLE found[2] = { CK_INVALID_HANDLE, CK_INVALID_HANDLE };
	CK_ULONG nfound = 0;
	CK_RV rv, final_rv;

	if (label == NULL || label[0] == '\0') {
		hsm_seterr(err, errlen, "hsm: empty %s label", vault ? "key" : "object");
		return -1;
	}
	tmpl[0] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	tmpl[1] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)label, strlen(label) };
	rv = h->p11->C_FindObjectsInit(s, tmpl, 2);
	if (rv != CKR_OK) {
		hsm_p11err(err, errlen, "C_FindObjectsInit", rv);
		return -1;
	}
	rv = h->p11->C_FindObjects(s, found, 2, &nfound);
	final_rv = h->p11->C_FindObjectsFinal(s);
	if (rv != CKR_OK) {
		hsm_p11err(err, errlen, "C_FindObjects", rv);
		return -1;
	}
	if (nfound > 1) {
		hsm_seterr(err, errlen, "hsm: more than one %s labelled '%s'",
		           vault ? what : "object", label);
		return -1;
	}
	if (vault && final_rv != CKR_OK) {
		hsm_p11err(err, errlen, "C_FindObjectsFinal", final_rv);
		return -1;
	}
	if (nfound == 0 && (flags & HSM_FIND_PRESENT)) {
		hsm_seterr(err, errlen, "hsm: no %s labelled '%s' on the token", what, label);
		return -1;
	}
	if (nfound == 1 && (flags & HSM_FIND_ABSENT)) {
		hsm_seterr(err, errlen, "hsm: a %s labelled '%s' already exists", what, label);
		return -1;
	}
	if (nfound == 0)
		return 0;
	*obj_out = found[0];
	if (nattrs > 0) {
		rv = h->p11->C_GetAttributeValue(s, found[0], attrs, nattrs);
		if (rv != CKR_OK) {
			hsm_p11err(err, errlen, "C_GetAttributeValue", rv);
			return -1;
		}
	}
	return 1;
}

/* The cached handle for label, or a lookup (then cached). 0, or -1 with err
 * ("no key labelled ..." when absent). */
int hsm_key_handle(struct hsm *h, CK_SESSION_HANDLE s, const char *label,
                   CK_OBJECT_HANDLE *obj_out, char *err, size_t errlen)
{
	return hsm_key_handle_cls(h, s, CKO_SECRET_KEY, label, obj_out, err, errlen);
}

int hsm_key_handle_cls(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
                       const char *label, CK_OBJECT_HANDLE *obj_out, char *err, size_t errlen)
{
	struct hsm_keyent *e = NULL;
	CK_OBJECT_HANDLE obj = CK_INVALID_HANDLE;

	pthread_mutex_lock(&h->lock);
	for (e = h->keys; e != NULL; e = e->next) {
		if (e->cls == cls && strcmp(e->label, label) == 0) {
			*obj_out = e->obj;
			pthread_mutex_unlock(&h->lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&h->lock);

	if (hsm_find_obj(h, s, cls, label, HSM_FIND_VAULT | HSM_FIND_PRESENT, &obj, NULL, 0, err,
	                 errlen) < 0)
		return -1;
	e = calloc(1, sizeof(*e));
	if (e != NULL)
		e->label = strdup(label);
	if (e == NULL || e->label == NULL) {
		free(e);
		*obj_out = obj;   /* works uncached */
		return 0;
	}
	e->obj = obj;
	e->cls = cls;
	pthread_mutex_lock(&h->lock);
	e->next = h->keys;
	h->keys = e;
	pthread_mutex_unlock(&h->lock);
	*obj_out = obj;
	return 0;
}

/* Forget a cached handle (the key was deleted or its handle went stale). */
void hsm_key_forget(struct hsm *h, const char *label)
{
	struct hsm_keyent **pp = NULL;
	struct hsm_keyent *e = NULL;

	pthread_mutex_lock(&h->lock);
	for (pp = &h->keys; *pp != NULL;) {
		if (strcmp((*pp)->label, label) == 0) {
			e = *pp;
			*pp = e->next;
			free(e->label);
			free(e);
		} else {
			pp = &(*pp)->next;
		}
	}
	pthread_mutex_unlock(&h->lock);
}

int hsm_key_info(struct hsm *h, const char *key_label, struct hsm_key_info *info,
                 char *err, size_t errlen)
{
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
	CK_BBOOL sens = CK_FALSE, extr = CK_TRUE, asens = CK_FALSE, nextr = CK_FALSE;
	CK_BBOOL wwt = CK_FALSE, local = CK_FALSE;
	CK_KEY_TYPE kt = 0;
	CK_ULONG vlen = 0;
	CK_ATTRIBUTE a[] = {
		{ CKA_SENSITIVE, &sens, sizeof(sens) },
		{ CKA_EXTRACTABLE, &extr, sizeof(extr) },
		{ CKA_ALWAYS_SENSITIVE, &asens, sizeof(asens) },
		{ CKA_NEVER_EXTRACTABLE, &nextr, sizeof(nextr) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_VALUE_LEN, &vlen, sizeof(vlen) },
		{ CKA_WRAP_WITH_TRUSTED, &wwt, sizeof(wwt) },
		{ CKA_LOCAL, &local, sizeof(local) },
	};
	bool have = false;
	int ret = -1;
	int r;

	hsm_clrerr(err, errlen);
	if (h == NULL || key_label == NULL || info == NULL) {
		hsm_seterr(err, errlen, "hsm_key_info: bad arguments");
		goto out;
	}
	memset(info, 0, sizeof(*info));
	s = hsm_sess_get(h);
	have = true;
	/* Always asks the token (not the cache): this is what audits rely on. */
	r = hsm_find_obj(h, s, CKO_SECRET_KEY, key_label, HSM_FIND_VAULT, &key, a,
	                 sizeof(a) / sizeof(a[0]), err, errlen);
	if (r <= 0) {
		ret = r;   /* 0: absent, info->found = false */
		goto out;
	}
	info->found = true;
	info->sensitive = sens == CK_TRUE;
	info->extractable = extr == CK_TRUE;
	info->always_sensitive = asens == CK_TRUE;
	info->never_extractable = nextr == CK_TRUE;
	info->wrap_with_trusted = wwt == CK_TRUE;
	info->local = local == CK_TRUE;
	info->key_type = (unsigned long)kt;
	info->value_len = (unsigned long)vlen;
	ret = 0;
out:
	if (have)
		hsm_sess_put(h, s, false);
	return ret;
}

/*
 * In a session of the pool, refuse a label that an object of class cls
 * already has (hsm_find_obj with flags | HSM_FIND_ABSENT), then generate:
 * C_GenerateKey (PKCS#11 v2.40 §5.14) with the template t when tpriv is NULL,
 * else C_GenerateKeyPair with the public template t and the private template
 * tpriv. 0, or -1 with err.
 */
static int generate(struct hsm *h, CK_OBJECT_CLASS cls, const char *label, unsigned flags,
                    CK_MECHANISM *mech, CK_ATTRIBUTE *t, CK_ULONG nt, CK_ATTRIBUTE *tpriv,
                    CK_ULONG npriv, char *err, size_t errlen)
{
	CK_SESSION_HANDLE s = hsm_sess_get(h);
	CK_OBJECT_HANDLE obj = CK_INVALID_HANDLE, priv = CK_INVALID_HANDLE;
	int ret = -1;
	CK_RV rv;

	if (hsm_find_obj(h, s, cls, label, flags | HSM_FIND_ABSENT, &obj, NULL, 0, err, errlen) < 0)
		goto out;
	if (tpriv == NULL)
		rv = h->p11->C_GenerateKey(s, mech, t, nt, &obj);
	else
		rv = h->p11->C_GenerateKeyPair(s, mech, t, nt, tpriv, npriv, &obj, &priv);
	if (rv != CKR_OK) {
		hsm_p11err(err, errlen, tpriv == NULL ? "C_GenerateKey" : "C_GenerateKeyPair", rv);
		goto out;
	}
	ret = 0;
out:
	hsm_sess_put(h, s, false);
	return ret;
}

/*
 * C_GenerateKey (PKCS#11 v2.40 §5.14) of a 256-bit token secret key:
 * CKA_PRIVATE, CKA_SENSITIVE, CKA_WRAP_WITH_TRUSTED, not CKA_MODIFIABLE,
 * with only the usages given; not CKA_EXTRACTABLE unless wrappable (PCI DSS
 * v4.0 3.5.1.2, 3.6.1: the key never exists outside the HSM in the clear).
 * Refuses a label that already exists.
 */
static int generate_key(struct hsm *h, const char *label, CK_MECHANISM_TYPE mech_type,
                        CK_KEY_TYPE kt, bool enc, bool sign, bool wrappable, char *err,
                        size_t errlen)
{
	CK_MECHANISM mech = { mech_type, NULL, 0 };
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_ULONG vlen = HSM_KEY_LEN;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_BBOOL b_enc = enc ? CK_TRUE : CK_FALSE;
	CK_BBOOL b_sign = sign ? CK_TRUE : CK_FALSE;
	/* ADR 0073, 0104: a backup-capable key may leave the token only wrapped
	 * (C_WrapKey), and CKA_WRAP_WITH_TRUSTED (PKCS#11 v2.40 §4.10) lets
	 * only a key the Security Officer marked CKA_TRUSTED wrap it: the token
	 * refuses a wrapping key made by a user-PIN holder (CKR_KEY_NOT_WRAPPABLE).
	 * CKA_SENSITIVE forbids reading its value; the attribute can never be
	 * turned off again (§4.10; not CKA_MODIFIABLE either). */
	CK_BBOOL b_extr = wrappable ? CK_TRUE : CK_FALSE;

	hsm_clrerr(err, errlen);
	if (h == NULL || label == NULL || label[0] == '\0') {
		hsm_seterr(err, errlen, "hsm: bad arguments to key generation");
		return -1;
	}
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_VALUE_LEN, &vlen, sizeof(vlen) },
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_EXTRACTABLE, &b_extr, sizeof(b_extr) },
		{ CKA_WRAP_WITH_TRUSTED, &yes, sizeof(yes) },
		{ CKA_MODIFIABLE, &no, sizeof(no) },
		{ CKA_ENCRYPT, &b_enc, sizeof(b_enc) },
		{ CKA_DECRYPT, &b_enc, sizeof(b_enc) },
		{ CKA_SIGN, &b_sign, sizeof(b_sign) },
		{ CKA_VERIFY, &b_sign, sizeof(b_sign) },
		{ CKA_WRAP, &no, sizeof(no) },
		{ CKA_UNWRAP, &no, sizeof(no) },
		{ CKA_DERIVE, &no, sizeof(no) },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	return generate(h, cls, label, HSM_FIND_VAULT, &mech, t, sizeof(t) / sizeof(t[0]), NULL, 0,
	                err, errlen);
}

int hsm_generate_aes_key(struct hsm *h, const char *key_label, char *err, size_t errlen)
{
	/* PKCS#11 v2.40 curr. mech. §2.8.3 CKM_AES_KEY_GEN, 32-byte CKA_VALUE_LEN. */
	return generate_key(h, key_label, CKM_AES_KEY_GEN, CKK_AES, true, false, false, err,
	                    errlen);
}

int hsm_generate_hmac_key(struct hsm *h, const char *key_label, char *err, size_t errlen)
{
	/* PKCS#11 v2.40 curr. mech. §2.42.1 CKM_GENERIC_SECRET_KEY_GEN. */
	return generate_key(h, key_label, CKM_GENERIC_SECRET_KEY_GEN, CKK_GENERIC_SECRET, false,
	                    true, false, err, errlen);
}

int hsm_generate_wrappable_key(struct hsm *h, const char *key_label, bool aes, char *err,
                               size_t errlen)
{
	return aes ? generate_key(h, key_label, CKM_AES_KEY_GEN, CKK_AES, true, false, true, err,
	                          errlen)
	           : generate_key(h, key_label, CKM_GENERIC_SECRET_KEY_GEN, CKK_GENERIC_SECRET,
	                          false, true, true, err, errlen);
}

/* ---- key ceremonies (issue 7): KCV, the transcript signing key ---------------- */

int hsm_kcv(struct hsm *h, const char *key_label, uint8_t kcv[HSM_KCV_LEN], char *err,
            size_t errlen)
{
	static const CK_BYTE zero[HSM_KCV_BLOCK] = { 0 };
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
	CK_KEY_TYPE kt = 0;
	CK_ATTRIBUTE a = { CKA_KEY_TYPE, &kt, sizeof(kt) };
	CK_MECHANISM mech = { CKM_AES_ECB, NULL, 0 };
	CK_BYTE out[HSM_MAC_LEN];
	CK_ULONG outlen = sizeof(out);
	enum hsm_op op;
	bool have = false, broken = false;
	int ret = -1;

	hsm_clrerr(err, errlen);
	if (h == NULL || key_label == NULL || kcv == NULL) {
		hsm_seterr(err, errlen, "hsm_kcv: bad arguments");
		goto out;
	}
	s = hsm_sess_get(h);
	have = true;
	if (hsm_find_obj(h, s, CKO_SECRET_KEY, key_label, HSM_FIND_PRESENT, &key, &a, 1, err,
	                 errlen) < 0)
		goto out;
	if (kt == CKK_AES) {
		/* KCV of an AES key: the first 3 bytes of AES-ECB(key, 0^128)
		 * (PKCS#11 v2.40 curr. mech. §2.8.6 CKM_AES_ECB; ANSI X9.24-1 style
		 * check value). Uses C_Encrypt because the data keys carry CKA_ENCRYPT
		 * only; SoftHSM2 2.6 performs CKM_AES_CMAC through C_Sign, which needs
		 * CKA_SIGN (ADR 0070). */
		op = HSM_OP_ENCRYPT;
	} else if (kt == CKK_GENERIC_SECRET) {
		/* KCV of an HMAC key: the first 3 bytes of HMAC-SHA256(key, 0^128),
		 * the same 16 zero bytes as for AES (ADR 0070). */
		mech.mechanism = CKM_SHA256_HMAC;
		op = HSM_OP_SIGN;
	} else {
		hsm_seterr(err, errlen, "hsm_kcv: '%s' is neither an AES nor an HMAC key",
		           key_label);
		goto out;
	}
	if (hsm_op_once(h, s, op, &mech, key, zero, sizeof(zero), out, &outlen, err, errlen) != 0) {
		broken = true;
		goto out;
	}
	if (outlen < HSM_KCV_LEN) {
		hsm_seterr(err, errlen, "hsm_kcv: short output");
		goto out;
	}
	memcpy(kcv, out, HSM_KCV_LEN);
	ret = 0;
out:
	sodium_memzero(out, sizeof(out));
	if (have)
		hsm_sess_put(h, s, broken);
	return ret;
}

/* DER of the P-256 OID 1.2.840.10045.3.1.7 (RFC 5480 §2.1.1.1), CKA_EC_PARAMS. */
static const CK_BYTE P256_PARAMS[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };

int hsm_generate_ec_signing_key(struct hsm *h, const char *label, char *err, size_t errlen)
{
	/* PKCS#11 v2.40 curr. mech. §2.3.6 CKM_EC_KEY_PAIR_GEN. */
	CK_MECHANISM mech = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

	hsm_clrerr(err, errlen);
	if (h == NULL || label == NULL || label[0] == '\0') {
		hsm_seterr(err, errlen, "hsm: bad arguments to key pair generation");
		return -1;
	}
	CK_ATTRIBUTE tpub[] = {
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &no, sizeof(no) },
		{ CKA_VERIFY, &yes, sizeof(yes) },
		{ CKA_ENCRYPT, &no, sizeof(no) },
		{ CKA_WRAP, &no, sizeof(no) },
		{ CKA_MODIFIABLE, &no, sizeof(no) },
		{ CKA_EC_PARAMS, (void *)P256_PARAMS, sizeof(P256_PARAMS) },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	/* PCI DSS v4.0 3.6.1: the signing key is generated in the HSM and can only sign. */
	CK_ATTRIBUTE tpriv[] = {
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_EXTRACTABLE, &no, sizeof(no) },
		{ CKA_MODIFIABLE, &no, sizeof(no) },
		{ CKA_SIGN, &yes, sizeof(yes) },
		{ CKA_DECRYPT, &no, sizeof(no) },
		{ CKA_UNWRAP, &no, sizeof(no) },
		{ CKA_DERIVE, &no, sizeof(no) },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	return generate(h, CKO_PRIVATE_KEY, label, 0, &mech, tpub, sizeof(tpub) / sizeof(tpub[0]),
	                tpriv, sizeof(tpriv) / sizeof(tpriv[0]), err, errlen);
}

int hsm_ec_public_point(struct hsm *h, const char *label, uint8_t point[65], char *err,
                        size_t errlen)
{
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
	CK_BYTE buf[80];
	CK_ATTRIBUTE a = { CKA_EC_POINT, buf, sizeof(buf) };
	bool have = false;
	int ret = -1;

	hsm_clrerr(err, errlen);
	if (h == NULL || label == NULL || point == NULL) {
		hsm_seterr(err, errlen, "hsm_ec_public_point: bad arguments");
		goto out;
	}
	s = hsm_sess_get(h);
	have = true;
	if (hsm_find_obj(h, s, CKO_PUBLIC_KEY, label, HSM_FIND_PRESENT, &key, &a, 1, err,
	                 errlen) < 0)
		goto out;
	/* CKA_EC_POINT is the DER OCTET STRING of the uncompressed point
	 * (04 41 04 X Y, PKCS#11 v2.40 curr. mech. §2.3.3); accept the bare point too. */
	if (a.ulValueLen == 67 && buf[0] == 0x04 && buf[1] == 0x41 && buf[2] == 0x04) {
		memcpy(point, buf + 2, 65);
	} else if (a.ulValueLen == 65 && buf[0] == 0x04) {
		memcpy(point, buf, 65);
	} else {
		hsm_seterr(err, errlen, "hsm: '%s' is not an uncompressed P-256 point", label);
		goto out;
	}
	ret = 0;
out:
	if (have)
		hsm_sess_put(h, s, false);
	return ret;
}
