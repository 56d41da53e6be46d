/*
 * vault_egress_key: an mbedTLS ECDSA key whose signatures a signer makes
 * (ADR 0118). See vault_egress_key.h.
 */
#include "vault/connectors/vault_egress_key.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/pk_internal.h>

/* What the key's context holds: the signer and the key it bound. */
struct egress_key {
	const struct sr_http_signer *signer;
	void *key;
};

static size_t get_bitlen(const void *ctx)
{
	(void)ctx;
	return 256;
}

static int can_do(mbedtls_pk_type_t type)
{
	return type == MBEDTLS_PK_ECDSA || type == MBEDTLS_PK_ECKEY;
}

/* r||s as the DER Ecdsa-Sig-Value (RFC 5480 §2.2, SEC 1 §C.5) into sig
 * (capacity MBEDTLS_ECDSA_MAX_LEN). 0, or an mbedTLS error. */
static int rs_to_der(const uint8_t rs[64], unsigned char *sig, size_t *sig_len)
{
	unsigned char buf[MBEDTLS_ECDSA_MAX_LEN];
	unsigned char *p = buf + sizeof buf;
	mbedtls_mpi r, s;
	int n[4] = { -1, -1, -1, -1 };
	size_t len = 0;
	int ret;

	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	ret = mbedtls_mpi_read_binary(&r, rs, 32);
	if (ret == 0)
		ret = mbedtls_mpi_read_binary(&s, rs + 32, 32);
	if (ret == 0) {
		/* Written backwards: s, r, then the SEQUENCE's length and tag. */
		n[0] = mbedtls_asn1_write_mpi(&p, buf, &s);
		n[1] = n[0] < 0 ? -1 : mbedtls_asn1_write_mpi(&p, buf, &r);
		len = n[1] < 0 ? 0 : (size_t)n[0] + (size_t)n[1];
		n[2] = n[1] < 0 ? -1 : mbedtls_asn1_write_len(&p, buf, len);
		n[3] = n[2] < 0 ? -1
		                : mbedtls_asn1_write_tag(&p, buf,
		                                         MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE);
		ret = n[3] < 0 ? MBEDTLS_ERR_PK_BAD_INPUT_DATA : 0;
	}
	if (ret == 0) {
		len += (size_t)n[2] + (size_t)n[3];
		memcpy(sig, p, len);
		*sig_len = len;
	}
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	return ret;
}

static int sign(void *ctx, mbedtls_md_type_t md_alg, const unsigned char *hash, size_t hash_len,
                unsigned char *sig, size_t *sig_len,
                int (*f_rng)(void *, unsigned char *, size_t), void *p_rng)
{
	struct egress_key *k = ctx;
	uint8_t digest[32], rs[64];

	(void)md_alg;
	(void)f_rng;
	(void)p_rng;
	/* ECDSA on P-256 uses the leftmost 256 bits of a longer hash (ANSI X9.62
	 * §7.3, SEC 1 §4.1.3): what CKM_ECDSA would do with all of it. */
	if (hash_len < 32)
		return MBEDTLS_ERR_PK_BAD_INPUT_DATA;
	memcpy(digest, hash, 32);
	if (k->signer->sign(k->key, digest, rs) != 0)
		return MBEDTLS_ERR_PK_FEATURE_UNAVAILABLE;
	return rs_to_der(rs, sig, sig_len) == 0 ? 0 : MBEDTLS_ERR_PK_BAD_INPUT_DATA;
}

static void *ctx_alloc(void)
{
	return calloc(1, sizeof(struct egress_key));
}

static void ctx_free(void *ctx)
{
	struct egress_key *k = ctx;

	if (k != NULL && k->key != NULL && k->signer->release != NULL)
		k->signer->release(k->key);
	free(k);
}

static const mbedtls_pk_info_t SIGNER_INFO = {
	.type = MBEDTLS_PK_ECDSA,
	.name = "strongroom-signer",
	.get_bitlen = get_bitlen,
	.can_do = can_do,
	.sign_func = sign,
	.ctx_alloc_func = ctx_alloc,
	.ctx_free_func = ctx_free,
};

int vault_egress_key_setup(mbedtls_pk_context *pk, mbedtls_pk_context *cert_pk,
                           const struct sr_http_signer *signer, char *err, size_t errlen)
{
	static const unsigned char probe[32] = "strongroom egress key check";
	unsigned char sig[MBEDTLS_ECDSA_MAX_LEN];
	uint8_t point[65];
	struct egress_key *k;
	size_t olen = 0, siglen = 0;

	if (signer == NULL || signer->bind == NULL || signer->sign == NULL) {
		snprintf(err, errlen, "egress: incomplete key signer");
		return -1;
	}
	if (!mbedtls_pk_can_do(cert_pk, MBEDTLS_PK_ECKEY) ||
	    mbedtls_pk_ec(*cert_pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1 ||
	    mbedtls_ecp_point_write_binary(&mbedtls_pk_ec(*cert_pk)->grp, &mbedtls_pk_ec(*cert_pk)->Q,
	                                   MBEDTLS_ECP_PF_UNCOMPRESSED, &olen, point,
	                                   sizeof point) != 0 ||
	    olen != sizeof point) {
		snprintf(err, errlen, "egress: the client certificate's key is not ECDSA P-256");
		return -1;
	}
	if (mbedtls_pk_setup(pk, &SIGNER_INFO) != 0) {
		snprintf(err, errlen, "egress: out of memory");
		return -1;
	}
	k = pk->pk_ctx;
	k->signer = signer;
	k->key = signer->bind(signer->ctx, point, err, errlen);
	if (k->key == NULL)
		return -1;   /* mbedtls_pk_free(pk) frees the context */
	/* The pair must match, or every handshake with a PSP would fail. */
	if (mbedtls_pk_sign(pk, MBEDTLS_MD_SHA256, probe, sizeof probe, sig, &siglen, NULL, NULL) !=
	            0 ||
	    mbedtls_pk_verify(cert_pk, MBEDTLS_MD_SHA256, probe, sizeof probe, sig, siglen) != 0) {
		snprintf(err, errlen, "egress: the signer's key does not match the client certificate");
		return -1;
	}
	return 0;
}
