/*
 * hsm: the vault's only PKCS#11 code (PKCS#11 v2.40). Loads the module named
 * in the configuration with dlopen, finds the token by label, logs in with a
 * PIN read from a file and wiped after C_Login, and keeps a pool of sessions
 * for the daemon's threads. Keys are found by CKA_LABEL and never leave the
 * token in the clear: they are CKA_SENSITIVE and either not CKA_EXTRACTABLE
 * or, when backup-capable, CKA_WRAP_WITH_TRUSTED (only a transport key the
 * Security Officer marked CKA_TRUSTED may wrap them; ADR 0104).
 */
#ifndef HSM_H
#define HSM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HSM_GCM_IV_LEN  12     /* 96-bit IV (NIST SP 800-38D) */
#define HSM_GCM_TAG_LEN 16

struct hsm;

/**
 * Open the module, find the token labelled token_label, log in as CKU_USER
 * with the PIN in pin_file (mode 0600; wiped after login), open pool_size
 * sessions. Call after fork(), never before (docs/development.md, pitfalls).
 * @return 0, or -1 with err filled (CKR_* mapped to a message, never the PIN).
 */
int hsm_open(const char *module_path, const char *token_label, const char *pin_file,
             size_t pool_size, struct hsm **out, char *err, size_t errlen);
void hsm_close(struct hsm *h);

/**
 * Start over after the token went away and came back (a token directory
 * restored, an HSM rebooted): wait until every session of the pool is given
 * back (no session is handed out meanwhile), close them, re-initialise the
 * module when this handle is its only user in the process (PKCS#11 v2.40
 * §5.4), find the token by its label again, open the pool, log in with the
 * PIN file given to hsm_open (wiped after use), forget every cached key
 * handle. Never call it while holding a session of h.
 * @return 0, or -1 with err (the token is still absent: call again later).
 */
int hsm_recover(struct hsm *h, char *err, size_t errlen);

/**
 * Create the token labelled token_label if it does not exist yet (PKCS#11
 * v2.40 §5.6 C_InitToken with the SO PIN, then C_Login CKU_SO + C_InitPIN with
 * the user PIN). Takes the first slot whose token lacks CKF_TOKEN_INITIALIZED.
 * Both PINs come from mode-0600 files and are wiped after use.
 * (Addition to the contract: used by vaultctl init-token and the tests.)
 * @return 1 when a token with that label already exists (nothing done),
 *         0 when it was created, -1 with err filled (never a PIN).
 */
int hsm_init_token(const char *module_path, const char *token_label, const char *so_pin_file,
                   const char *user_pin_file, char *err, size_t errlen);

/**
 * hsm_init_token, and when anchor is not NULL: in the SO's session, right
 * after C_InitToken and before C_InitPIN, a public token data object
 * (CKO_DATA; CKA_APPLICATION anchor_app, CKA_LABEL anchor_label, CKA_VALUE
 * anchor[0..anchor_len)) with CKA_MODIFIABLE, CKA_COPYABLE and
 * CKA_DESTROYABLE false (PKCS#11 v2.40 §4.4, §4.5): what the user PIN can
 * never change or remove afterwards (vaultctl's custodian genesis, ADR 0105).
 * Returns as hsm_init_token (1: the token existed, nothing created).
 */
int hsm_init_token_anchored(const char *module_path, const char *token_label,
                            const char *so_pin_file, const char *user_pin_file,
                            const char *anchor_app, const char *anchor_label,
                            const uint8_t *anchor, size_t anchor_len, char *err, size_t errlen);

/**
 * AES-256-GCM encrypt inside the token with the key labelled key_label
 * (CKM_AES_GCM, 96-bit IV made fresh from C_GenerateRandom, 128-bit tag).
 * @param iv_out receives the IV.
 * @param ct_out receives ciphertext||tag; its capacity *ct_len must be >= pt_len + 16.
 * @return 0, or -1 with err.
 */
int hsm_aes_gcm_encrypt(struct hsm *h, const char *key_label, const uint8_t *aad, size_t aad_len,
                        const uint8_t *pt, size_t pt_len, uint8_t iv_out[HSM_GCM_IV_LEN],
                        uint8_t *ct_out, size_t *ct_len, char *err, size_t errlen);

/**
 * AES-256-GCM decrypt (ciphertext||tag). Any change to ciphertext, tag, IV or
 * AAD fails (-1). pt_out capacity *pt_len >= ct_len - 16; caller puts pt_out
 * in guarded memory and wipes it.
 */
int hsm_aes_gcm_decrypt(struct hsm *h, const char *key_label, const uint8_t *aad, size_t aad_len,
                        const uint8_t iv[HSM_GCM_IV_LEN], const uint8_t *ct, size_t ct_len,
                        uint8_t *pt_out, size_t *pt_len, char *err, size_t errlen);

/** HMAC-SHA256 (CKM_SHA256_HMAC) of msg with the key labelled key_label. 0 or -1. */
int hsm_hmac_sha256(struct hsm *h, const char *key_label, const uint8_t *msg, size_t msg_len,
                    uint8_t mac[32], char *err, size_t errlen);

struct hsm_key_info {
	bool found, sensitive, extractable, always_sensitive, never_extractable;
	bool wrap_with_trusted;   /* CKA_WRAP_WITH_TRUSTED: only a CKA_TRUSTED key wraps it */
	bool local;               /* CKA_LOCAL: generated in this token (false: unwrapped) */
	unsigned long key_type;   /* CKK_* */
	unsigned long value_len;  /* bytes; SoftHSM2 2.6 records 0 for an unwrapped key */
};
/** Read a key's attributes. 0 (info->found tells), or -1 on a PKCS#11 error. */
int hsm_key_info(struct hsm *h, const char *key_label, struct hsm_key_info *info,
                 char *err, size_t errlen);

/** Generate a token AES-256 key: sensitive, not extractable, CKA_ENCRYPT/DECRYPT only
 *  (and CKA_WRAP_WITH_TRUSTED, like every data key). */
int hsm_generate_aes_key(struct hsm *h, const char *key_label, char *err, size_t errlen);
/** Generate a token HMAC-SHA256 key (CKK_GENERIC_SECRET, 32 bytes, CKA_SIGN/VERIFY only). */
int hsm_generate_hmac_key(struct hsm *h, const char *key_label, char *err, size_t errlen);

/**
 * Generate a backup-capable data key (issue 7, ADR 0073, 0104): as
 * hsm_generate_aes_key (aes) or hsm_generate_hmac_key, but CKA_EXTRACTABLE
 * so that vaultctl keys backup can export it wrapped (C_WrapKey under a
 * split transport key). CKA_WRAP_WITH_TRUSTED: the token wraps it only under
 * a key the Security Officer marked CKA_TRUSTED (PKCS#11 v2.40 §4.10;
 * PCI DSS v4.0 3.6.1, 3.7.6), never under a key a user-PIN holder made;
 * still CKA_SENSITIVE (its value is never readable) and never
 * CKA_WRAP/UNWRAP/DERIVE itself. 0, or -1 with err.
 */
int hsm_generate_wrappable_key(struct hsm *h, const char *key_label, bool aes, char *err,
                               size_t errlen);

/** Random bytes from the token's RNG (C_GenerateRandom). */
int hsm_random(struct hsm *h, uint8_t *out, size_t len, char *err, size_t errlen);

/** The message for a CKR_* value ("CKR_PIN_INCORRECT: the PIN is incorrect"). */
const char *hsm_rv_str(unsigned long rv);

#define HSM_KEY_PAN_ENC "pan-enc-v1"
#define HSM_KEY_FP_HMAC "fp-hmac-v1"
/* HMAC-SHA256 key of the PAN decryption audit chain (vault/audit/vault_audit.h, PCI DSS 10.3.2). */
#define HSM_KEY_AUDIT_HMAC "audit-hmac-v1"


/* ---- key ceremonies (issue 7, ADR 0070) ---------------------------------- */

#define HSM_KCV_LEN   3   /* key check value: 3 bytes, printed as 6 hex digits */
#define HSM_KCV_BLOCK 16  /* the all-zero block the check value is computed over */

/**
 * Key check value of the secret key labelled key_label (ADR 0070):
 * AES keys (CKK_AES): the first 3 bytes of AES-ECB(key, 16 zero bytes), via
 * C_Encrypt with CKM_AES_ECB (PKCS#11 v2.40 curr. mech. §2.8.6), so it works on
 * keys that carry CKA_ENCRYPT only; HMAC keys (CKK_GENERIC_SECRET): the first
 * 3 bytes of HMAC-SHA256(key, 16 zero bytes) via C_Sign (CKA_SIGN).
 * PCI DSS v4.0 3.7.1 / 3.7.7: lets custodians record and compare a key
 * without seeing it. Always looks the key up in the token (not the cache).
 * @return 0, or -1 with err (absent key, other key type, PKCS#11 error).
 */
int hsm_kcv(struct hsm *h, const char *key_label, uint8_t kcv[HSM_KCV_LEN], char *err,
            size_t errlen);

/** The token's serial number (CK_TOKEN_INFO.serialNumber, blanks trimmed), NUL-terminated. */
int hsm_token_serial(struct hsm *h, char serial[17], char *err, size_t errlen);

/* What the token and its slot say they are (hsm_token_identity). Strings are
 * the PKCS#11 blank-padded fields with the blanks trimmed, NUL-terminated;
 * versions are "major.minor". */
struct hsm_identity {
	char manufacturer[33];      /* CK_TOKEN_INFO.manufacturerID */
	char model[17];             /* CK_TOKEN_INFO.model */
	char serial[17];            /* CK_TOKEN_INFO.serialNumber */
	char firmware[8];           /* CK_TOKEN_INFO.firmwareVersion */
	char hardware[8];           /* CK_TOKEN_INFO.hardwareVersion */
	char slot_description[65];  /* CK_SLOT_INFO.slotDescription */
	char slot_manufacturer[33]; /* CK_SLOT_INFO.manufacturerID */
	char slot_firmware[8];      /* CK_SLOT_INFO.firmwareVersion */
	char slot_hardware[8];      /* CK_SLOT_INFO.hardwareVersion */
};

/**
 * The HSM's identity as the token reports it: C_GetTokenInfo and
 * C_GetSlotInfo (PKCS#11 v2.40 sections 5.4), read, never typed, so the
 * ceremony transcript names the device that signed it (PCI DSS v4.0 3.6.1,
 * 3.7.1). Non-printable bytes become '?'.
 * @return 0, or -1 with err.
 */
int hsm_token_identity(struct hsm *h, struct hsm_identity *id, char *err, size_t errlen);

/**
 * Generate an ECDSA P-256 token key pair labelled label (CKM_EC_KEY_PAIR_GEN):
 * private key CKA_SIGN only, sensitive, never extractable, private; public
 * key CKA_VERIFY only. Refuses when a private key with that label exists.
 * Used for the ceremony transcript signer (HSM_KEY_CEREMONY_SIGN).
 */
int hsm_generate_ec_signing_key(struct hsm *h, const char *label, char *err, size_t errlen);

/** ECDSA (CKM_ECDSA) signature r||s (32+32 bytes, big endian) of a SHA-256 digest. */
int hsm_ec_sign(struct hsm *h, const char *label, const uint8_t digest[32], uint8_t sig[64],
                char *err, size_t errlen);

/** The public key's uncompressed point 04||X||Y (65 bytes) from CKA_EC_POINT. */
int hsm_ec_public_point(struct hsm *h, const char *label, uint8_t point[65], char *err,
                        size_t errlen);

/* ECDSA P-256 key that signs ceremony transcripts (hsm/ceremonies/hsm_transcript.h). */
#define HSM_KEY_CEREMONY_SIGN "ceremony-sign-v1"

/* ---- TLS identities (hsm_tls.c, ADR 0118) ---------------------------------- */

/* The vault's TLS private keys are ECDSA P-256 pairs labelled tls-ROLE-vN
 * (ROLE: public, internal, egress), generated in the token by
 * hsm_generate_ec_signing_key and used through hsm_ec_sign only. */
#define HSM_TLS_LABEL_MAX 64   /* bytes of a label, with its NUL */

/**
 * The labels (each NUL-terminated) of the EC public key objects whose label
 * starts with prefix (e.g. "tls-internal-"), in the token's order, into
 * labels[0..*n) (capacity max). Reads the token, never a cache.
 * @return 0, or -1 with err (PKCS#11 error, more than max keys).
 */
int hsm_tls_labels(struct hsm *h, const char *prefix, char labels[][HSM_TLS_LABEL_MAX],
                   size_t max, size_t *n, char *err, size_t errlen);

/**
 * The label of the key pair whose label starts with prefix and whose public
 * key (CKA_EC_POINT) is point (04||X||Y, 65 bytes): the key a certificate
 * names (PKCS#11 v2.40 §5.7.7 C_FindObjects, §5.7.5 C_GetAttributeValue).
 * The private key must be present under the same label.
 * @return 0 with label_out set, or -1 with err ("no key ... matches").
 */
int hsm_tls_key_for_point(struct hsm *h, const char *prefix, const uint8_t point[65],
                          char label_out[HSM_TLS_LABEL_MAX], char *err, size_t errlen);

/**
 * The attributes of the private key labelled label (as hsm_key_info for a
 * secret key; wrap_with_trusted and value_len stay 0). Always asks the
 * token. 0 (info->found tells), or -1 on a PKCS#11 error.
 */
int hsm_private_key_info(struct hsm *h, const char *label, struct hsm_key_info *info,
                         char *err, size_t errlen);

/**
 * Destroy the key pair labelled label: the private key, then its public
 * key when present (PKCS#11 v2.40 §5.7.3 C_DestroyObject); its cached handle
 * is forgotten. PCI DSS v4.0 3.7.5: a retired key is destroyed.
 * @return 0, or -1 with err (no private key with that label, PKCS#11 error).
 */
int hsm_destroy_key_pair(struct hsm *h, const char *label, char *err, size_t errlen);

#endif
