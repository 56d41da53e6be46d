/*
 * hsm_identity: the HSM's model, serial number and firmware as the token and
 * its slot report them (C_GetTokenInfo, C_GetSlotInfo; PKCS#11 v2.40 section
 * 5.4), for the ceremony transcript (ADR 0117).
 */
#include "hsm/hsm.h"
#include "hsm/hsm_internal.h"

#include <stdio.h>
#include <string.h>

/* A blank-padded PKCS#11 field of n bytes into out (cap > n), blanks trimmed,
 * anything but printable ASCII as '?'. */
static void field(const CK_UTF8CHAR *in, size_t n, char *out, size_t cap)
{
	size_t i;

	while (n > 0 && (in[n - 1] == ' ' || in[n - 1] == '\0'))
		n--;
	if (n >= cap)
		n = cap - 1;
	for (i = 0; i < n; i++)
		out[i] = in[i] >= 0x20 && in[i] < 0x7f ? (char)in[i] : '?';
	out[n] = '\0';
}

static void version(CK_VERSION v, char out[8])
{
	snprintf(out, 8, "%u.%u", (unsigned)v.major, (unsigned)v.minor);
}

int hsm_token_identity(struct hsm *h, struct hsm_identity *id, char *err, size_t errlen)
{
	CK_TOKEN_INFO ti;
	CK_SLOT_INFO si;
	CK_RV rv;

	hsm_clrerr(err, errlen);
	if (h == NULL || id == NULL) {
		hsm_seterr(err, errlen, "hsm_token_identity: bad arguments");
		return -1;
	}
	memset(&ti, 0, sizeof(ti));
	memset(&si, 0, sizeof(si));
	rv = h->p11->C_GetTokenInfo(h->slot, &ti);
	if (rv != CKR_OK) {
		hsm_p11err(err, errlen, "C_GetTokenInfo", rv);
		return -1;
	}
	rv = h->p11->C_GetSlotInfo(h->slot, &si);
	if (rv != CKR_OK) {
		hsm_p11err(err, errlen, "C_GetSlotInfo", rv);
		return -1;
	}
	field(ti.manufacturerID, sizeof(ti.manufacturerID), id->manufacturer,
	      sizeof(id->manufacturer));
	field(ti.model, sizeof(ti.model), id->model, sizeof(id->model));
	field(ti.serialNumber, sizeof(ti.serialNumber), id->serial, sizeof(id->serial));
	version(ti.firmwareVersion, id->firmware);
	version(ti.hardwareVersion, id->hardware);
	field(si.slotDescription, sizeof(si.slotDescription), id->slot_description,
	      sizeof(id->slot_description));
	field(si.manufacturerID, sizeof(si.manufacturerID), id->slot_manufacturer,
	      sizeof(id->slot_manufacturer));
	version(si.firmwareVersion, id->slot_firmware);
	version(si.hardwareVersion, id->slot_hardware);
	return 0;
}
