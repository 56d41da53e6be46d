/*
 * hsm_p11: internal to hsm/. Includes p11-kit's PKCS#11 v2.40 header in its
 * compatibility mode (CRYPTOKI_GNU not defined: standard names such as
 * CK_GCM_PARAMS.ulIvBits, docs/development.md pitfalls), then removes the lowercase
 * compatibility macros (value_len, iv_len, aad_len, count, ...) that would
 * otherwise rename ordinary identifiers such as hsm_key_info.value_len.
 * The structures keep their standard member names (ulValueLen, pIv, ...).
 */
#ifndef HSM_P11_H
#define HSM_P11_H

#include <p11-kit/pkcs11.h>

#undef value
#undef value_len
#undef count
#undef parameter
#undef parameter_len
#undef params
#undef iv_ptr
#undef iv_len
#undef iv_bits
#undef aad_ptr
#undef aad_len
#undef tag_bits
#undef slot_id
#undef session_count
#undef reserved
#undef hash_alg
#undef s_len
#undef counter_bits
#undef shared_data
#undef shared_data_len
#undef public_data
#undef public_data_len
#undef string_data
#undef string_data_len
#undef data_params
#undef source_data
#undef source_data_len
#undef device_error
#undef utc_time
#undef max_key_size
#undef min_key_size
#undef create_mutex
#undef destroy_mutex
#undef lock_mutex
#undef unlock_mutex

#include <stdbool.h>

struct hsm;

/**
 * vaultctl's ceremony code only (hsm/ceremonies/, ADR 0073): borrow one of h's
 * logged-in sessions for raw PKCS#11 v2.40 calls (wrap, unwrap, derive,
 * object search) and give it back. hsm_p11_return forgets every cached key
 * handle (the caller may have created or destroyed keys); broken: an
 * operation may still be active, the session is replaced. vaultd never
 * calls these. hsm_p11_borrow: 0, or -1 on bad arguments.
 */
int hsm_p11_borrow(struct hsm *h, CK_FUNCTION_LIST_PTR *p11, CK_SESSION_HANDLE *s);
void hsm_p11_return(struct hsm *h, CK_SESSION_HANDLE s, bool broken);

/**
 * vaultctl's ceremony code only (ADR 0104): change who is logged in on h's
 * token, for every session of its pool (PKCS#11 v2.40 §5.6: C_Logout, then
 * C_Login as CKU_SO when so, else CKU_USER, with the PIN read from pin_file,
 * mode 0600, wiped right after; PCI DSS v4.0 8.3.2). The Security Officer
 * marks the backup's transport keys CKA_TRUSTED (only the SO may, §4.10);
 * the data keys are private objects that only the user sees. Handles of
 * private objects die with the logout (the key handle cache is forgotten);
 * public session objects live on. No session of h may be borrowed by
 * another thread meanwhile. On failure nobody is logged in.
 * @return 0, or -1 with err (never a PIN).
 */
int hsm_p11_login(struct hsm *h, bool so, const char *pin_file, char *err, size_t errlen);

#endif
