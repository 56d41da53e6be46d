/*
 * hsm_tls: the vault's TLS identities in the token (ADR 0118): ECDSA P-256
 * key pairs labelled tls-ROLE-vN (hsm_generate_ec_signing_key makes them:
 * private, sensitive, never extractable, sign only), found by the public
 * point of the certificate a listener serves, listed per role, destroyed
 * after a rotation's overlap (PKCS#11 v2.40; see hsm.h).
 */
#include "hsm/hsm.h"
#include "hsm/hsm_internal.h"

#include <stdio.h>
#include <string.h>

#define HSM_TLS_FIND_MAX 64   /* EC public keys examined per lookup */

/*
 * The handles of every EC public key object of the token (at most
 * HSM_TLS_FIND_MAX) in session s (PKCS#11 v2.40 §5.7.7-5.7.9).
 * @return the number found, or -1 with err.
 */
static long ec_public_keys(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE *objs,
                           char *err, size_t errlen)
{
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
	CK_KEY_TYPE kt = CKK_EC;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
	};
	CK_ULONG n = 0;
	CK_RV rv;

	rv = h->p11->C_FindObjectsInit(s, tmpl, 2);
	if (rv != CKR_OK) {
		hsm_p11err(err, errlen, "C_FindObjectsInit", rv);
		return -1;
	}
	rv = h->p11->C_FindObjects(s, objs, HSM_TLS_FIND_MAX, &n);
	(void)h->p11->C_FindObjectsFinal(s);
	if (rv != CKR_OK) {
		hsm_p11err(err, errlen, "C_FindObjects", rv);
		return -1;
	}
	return (long)n;
}

/* The label (NUL-terminated, at most HSM_TLS_LABEL_MAX - 1 bytes) and the
 * uncompressed point of public key obj. 0, or -1 (unreadable, too long, not
 * an uncompressed P-256 point: skipped by the callers). */
static int read_pub(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj,
                    char label[HSM_TLS_LABEL_MAX], uint8_t point[65])
{
	CK_BYTE buf[80];
	CK_ATTRIBUTE a[] = {
		{ CKA_LABEL, label, HSM_TLS_LABEL_MAX - 1 },
		{ CKA_EC_POINT, buf, sizeof(buf) },
	};

	if (h->p11->C_GetAttributeValue(s, obj, a, 2) != CKR_OK)
		return -1;
	label[a[0].ulValueLen] = '\0';
	/* CKA_EC_POINT: DER OCTET STRING 04 41 04 X Y (PKCS#11 v2.40 curr. mech.
	 * §2.3.3), or the bare point from some modules. */
	if (a[1].ulValueLen == 67 && buf[0] == 0x04 && buf[1] == 0x41 && buf[2] == 0x04)
		memcpy(point, buf + 2, 65);
	else if (a[1].ulValueLen == 65 && buf[0] == 0x04)
		memcpy(point, buf, 65);
	else
		return -1;
	return 0;
}

int hsm_tls_labels(struct hsm *h, const char *prefix, char labels[][HSM_TLS_LABEL_MAX],
                   size_t max, size_t *n, char *err, size_t errlen)
{
	CK_OBJECT_HANDLE objs[HSM_TLS_FIND_MAX];
	CK_SESSION_HANDLE s;
	uint8_t point[65];
	char label[HSM_TLS_LABEL_MAX];
	long nobj, i;

	hsm_clrerr(err, errlen);
	if (h == NULL || prefix == NULL || prefix[0] == '\0' || n == NULL ||
	    (labels == NULL && max > 0)) {
		hsm_seterr(err, errlen, "hsm_tls_labels: bad arguments");
		return -1;
	}
	*n = 0;
	s = hsm_sess_get(h);
	nobj = ec_public_keys(h, s, objs, err, errlen);
	for (i = 0; i < nobj; i++) {
		if (read_pub(h, s, objs[i], label, point) != 0 ||
		    strncmp(label, prefix, strlen(prefix)) != 0)
			continue;
		if (*n >= max) {
			hsm_seterr(err, errlen, "hsm: more than %zu keys labelled %s*", max, prefix);
			nobj = -1;
			break;
		}
		snprintf(labels[(*n)++], HSM_TLS_LABEL_MAX, "%s", label);
	}
	hsm_sess_put(h, s, false);
	return nobj < 0 ? -1 : 0;
}

int hsm_tls_key_for_point(struct hsm *h, const char *prefix, const uint8_t point[65],
                          char label_out[HSM_TLS_LABEL_MAX], char *err, size_t errlen)
{
	CK_OBJECT_HANDLE objs[HSM_TLS_FIND_MAX];
	CK_OBJECT_HANDLE priv = CK_INVALID_HANDLE;
	CK_SESSION_HANDLE s;
	uint8_t p[65];
	char label[HSM_TLS_LABEL_MAX];
	long nobj, i;
	int ret = -1;

	hsm_clrerr(err, errlen);
	if (h == NULL || prefix == NULL || prefix[0] == '\0' || point == NULL ||
	    label_out == NULL) {
		hsm_seterr(err, errlen, "hsm_tls_key_for_point: bad arguments");
		return -1;
	}
	s = hsm_sess_get(h);
	nobj = ec_public_keys(h, s, objs, err, errlen);
	for (i = 0; i < nobj; i++) {
		if (read_pub(h, s, objs[i], label, p) != 0 ||
		    strncmp(label, prefix, strlen(prefix)) != 0 || memcmp(p, point, 65) != 0)
			continue;
		/* The private half must be there too, under the same label. */
		if (hsm_find_obj(h, s, CKO_PRIVATE_KEY, label, HSM_FIND_VAULT | HSM_FIND_PRESENT,
		                 &priv, NULL, 0, err, errlen) < 0)
			goto out;
		snprintf(label_out, HSM_TLS_LABEL_MAX, "%s", label);
		ret = 0;
		goto out;
	}
	if (nobj >= 0)
		hsm_seterr(err, errlen,
		           "hsm: no key labelled %s* on the token matches the certificate", prefix);
out:
	hsm_sess_put(h, s, false);
	return ret;
}

int hsm_private_key_info(struct hsm *h, const char *label, struct hsm_key_info *info,
                         char *err, size_t errlen)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
	CK_BBOOL sens = CK_FALSE, extr = CK_TRUE, asens = CK_FALSE, nextr = CK_FALSE;
	CK_BBOOL local = CK_FALSE;
	CK_KEY_TYPE kt = 0;
	CK_ATTRIBUTE a[] = {
		{ CKA_SENSITIVE, &sens, sizeof(sens) },
		{ CKA_EXTRACTABLE, &extr, sizeof(extr) },
		{ CKA_ALWAYS_SENSITIVE, &asens, sizeof(asens) },
		{ CKA_NEVER_EXTRACTABLE, &nextr, sizeof(nextr) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_LOCAL, &local, sizeof(local) },
	};
	int r;

	hsm_clrerr(err, errlen);
	if (h == NULL || label == NULL || info == NULL) {
		hsm_seterr(err, errlen, "hsm_private_key_info: bad arguments");
		return -1;
	}
	memset(info, 0, sizeof(*info));
	s = hsm_sess_get(h);
	r = hsm_find_obj(h, s, CKO_PRIVATE_KEY, label, HSM_FIND_VAULT, &key, a,
	                 sizeof(a) / sizeof(a[0]), err, errlen);
	hsm_sess_put(h, s, false);
	if (r <= 0)
		return r;
	info->found = true;
	info->sensitive = sens == CK_TRUE;
	info->extractable = extr == CK_TRUE;
	info->always_sensitive = asens == CK_TRUE;
	info->never_extractable = nextr == CK_TRUE;
	info->local = local == CK_TRUE;
	info->key_type = (unsigned long)kt;
	return 0;
}

int hsm_destroy_key_pair(struct hsm *h, const char *label, char *err, size_t errlen)
{
	static const CK_OBJECT_CLASS classes[] = { CKO_PRIVATE_KEY, CKO_PUBLIC_KEY };
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE obj = CK_INVALID_HANDLE;
	size_t i;
	int ret = 0, r;
	CK_RV rv;

	hsm_clrerr(err, errlen);
	if (h == NULL || label == NULL || label[0] == '\0') {
		hsm_seterr(err, errlen, "hsm_destroy_key_pair: bad arguments");
		return -1;
	}
	s = hsm_sess_get(h);
	for (i = 0; i < sizeof(classes) / sizeof(classes[0]) && ret == 0; i++) {
		r = hsm_find_obj(h, s, classes[i], label, HSM_FIND_VAULT, &obj, NULL, 0, err,
		                 errlen);
		if (r < 0) {
			ret = -1;
		} else if (r == 1) {
			/* PKCS#11 v2.40 §5.7.3 C_DestroyObject. */
			rv = h->p11->C_DestroyObject(s, obj);
			if (rv != CKR_OK) {
				hsm_p11err(err, errlen, "C_DestroyObject", rv);
				ret = -1;
			}
		} else if (i == 0) {
			hsm_seterr(err, errlen, "hsm: no private key labelled '%s' on the token",
			           label);
			ret = -1;
		}
	}
	hsm_sess_put(h, s, false);
	hsm_key_forget(h, label);
	return ret;
}
