/*
 * hsm_rv: every CKR_* return value of PKCS#11 v2.40 (section 3.6, "Return
 * values"; p11-kit's pkcs11.h) mapped to "CKR_NAME: plain message", as
 * OpenSSH's ssh-pkcs11 does. Messages describe the condition only; they never
 * carry a PIN, key byte or caller data.
 */
#include "hsm/hsm.h"
#include "hsm/hsm_p11.h"

#include <stddef.h>

struct rv_msg {
	CK_RV rv;
	const char *msg;
};

#define RV(name, text) { name, #name ": " text }

static const struct rv_msg rv_table[] = {
	RV(CKR_OK, "success"),
	RV(CKR_CANCEL, "the operation was cancelled by a callback"),
	RV(CKR_HOST_MEMORY, "the host ran out of memory"),
	RV(CKR_SLOT_ID_INVALID, "the slot ID is invalid"),
	RV(CKR_GENERAL_ERROR, "unrecoverable error in the token or library"),
	RV(CKR_FUNCTION_FAILED, "the function failed"),
	RV(CKR_ARGUMENTS_BAD, "bad arguments to the function"),
	RV(CKR_NO_EVENT, "no new slot event"),
	RV(CKR_NEED_TO_CREATE_THREADS, "the library needs to create threads and may not"),
	RV(CKR_CANT_LOCK, "the requested locking mode is not available"),
	RV(CKR_ATTRIBUTE_READ_ONLY, "an attribute is read-only"),
	RV(CKR_ATTRIBUTE_SENSITIVE, "an attribute is sensitive and cannot be revealed"),
	RV(CKR_ATTRIBUTE_TYPE_INVALID, "an attribute type is invalid"),
	RV(CKR_ATTRIBUTE_VALUE_INVALID, "an attribute value is invalid"),
	RV(CKR_ACTION_PROHIBITED, "the action is prohibited by the token's policy"),
	RV(CKR_DATA_INVALID, "the input data is invalid"),
	RV(CKR_DATA_LEN_RANGE, "the input data length is out of range"),
	RV(CKR_DEVICE_ERROR, "the token reported a device error"),
	RV(CKR_DEVICE_MEMORY, "the token ran out of memory"),
	RV(CKR_DEVICE_REMOVED, "the token was removed"),
	RV(CKR_ENCRYPTED_DATA_INVALID, "the ciphertext is invalid (authentication failed)"),
	RV(CKR_ENCRYPTED_DATA_LEN_RANGE, "the ciphertext length is out of range"),
	RV(CKR_FUNCTION_CANCELED, "the function was cancelled"),
	RV(CKR_FUNCTION_NOT_PARALLEL, "no function is executing in parallel"),
	RV(CKR_FUNCTION_NOT_SUPPORTED, "the function is not supported by the library"),
	RV(CKR_KEY_HANDLE_INVALID, "the key handle is invalid"),
	RV(CKR_KEY_SIZE_RANGE, "the key size is out of range"),
	RV(CKR_KEY_TYPE_INCONSISTENT, "the key type does not fit the mechanism"),
	RV(CKR_KEY_NOT_NEEDED, "a key was supplied but is not needed"),
	RV(CKR_KEY_CHANGED, "the key has changed"),
	RV(CKR_KEY_NEEDED, "a key is needed"),
	RV(CKR_KEY_INDIGESTIBLE, "the key cannot be digested"),
	RV(CKR_KEY_FUNCTION_NOT_PERMITTED, "the key's attributes do not permit this operation"),
	RV(CKR_KEY_NOT_WRAPPABLE, "the key cannot be wrapped"),
	RV(CKR_KEY_UNEXTRACTABLE, "the key is not extractable"),
	RV(CKR_MECHANISM_INVALID, "the mechanism is invalid or not supported"),
	RV(CKR_MECHANISM_PARAM_INVALID, "the mechanism parameters are invalid"),
	RV(CKR_OBJECT_HANDLE_INVALID, "the object handle is invalid"),
	RV(CKR_OPERATION_ACTIVE, "another operation is already active in the session"),
	RV(CKR_OPERATION_NOT_INITIALIZED, "no operation of that type is active"),
	RV(CKR_PIN_INCORRECT, "the PIN is incorrect"),
	RV(CKR_PIN_INVALID, "the PIN contains invalid characters"),
	RV(CKR_PIN_LEN_RANGE, "the PIN length is out of range"),
	RV(CKR_PIN_EXPIRED, "the PIN has expired"),
	RV(CKR_PIN_LOCKED, "the PIN is locked"),
	RV(CKR_SESSION_CLOSED, "the session was closed during the function"),
	RV(CKR_SESSION_COUNT, "too many sessions are open"),
	RV(CKR_SESSION_HANDLE_INVALID, "the session handle is invalid"),
	RV(CKR_SESSION_PARALLEL_NOT_SUPPORTED, "parallel sessions are not supported"),
	RV(CKR_SESSION_READ_ONLY, "the session is read-only"),
	RV(CKR_SESSION_EXISTS, "a session with the token is already open"),
	RV(CKR_SESSION_READ_ONLY_EXISTS, "a read-only session exists, so the SO cannot log in"),
	RV(CKR_SESSION_READ_WRITE_SO_EXISTS, "a read/write SO session exists"),
	RV(CKR_SIGNATURE_INVALID, "the signature is invalid"),
	RV(CKR_SIGNATURE_LEN_RANGE, "the signature length is out of range"),
	RV(CKR_TEMPLATE_INCOMPLETE, "the template lacks required attributes"),
	RV(CKR_TEMPLATE_INCONSISTENT, "the template has conflicting attributes"),
	RV(CKR_TOKEN_NOT_PRESENT, "no token is present in the slot"),
	RV(CKR_TOKEN_NOT_RECOGNIZED, "the token is not recognised"),
	RV(CKR_TOKEN_WRITE_PROTECTED, "the token is write-protected"),
	RV(CKR_UNWRAPPING_KEY_HANDLE_INVALID, "the unwrapping key handle is invalid"),
	RV(CKR_UNWRAPPING_KEY_SIZE_RANGE, "the unwrapping key size is out of range"),
	RV(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT, "the unwrapping key type does not fit the mechanism"),
	RV(CKR_USER_ALREADY_LOGGED_IN, "the user is already logged in"),
	RV(CKR_USER_NOT_LOGGED_IN, "the user is not logged in"),
	RV(CKR_USER_PIN_NOT_INITIALIZED, "the user PIN is not initialised"),
	RV(CKR_USER_TYPE_INVALID, "the user type is invalid"),
	RV(CKR_USER_ANOTHER_ALREADY_LOGGED_IN, "another user is already logged in"),
	RV(CKR_USER_TOO_MANY_TYPES, "too many user types are logged in"),
	RV(CKR_WRAPPED_KEY_INVALID, "the wrapped key is invalid"),
	RV(CKR_WRAPPED_KEY_LEN_RANGE, "the wrapped key length is out of range"),
	RV(CKR_WRAPPING_KEY_HANDLE_INVALID, "the wrapping key handle is invalid"),
	RV(CKR_WRAPPING_KEY_SIZE_RANGE, "the wrapping key size is out of range"),
	RV(CKR_WRAPPING_KEY_TYPE_INCONSISTENT, "the wrapping key type does not fit the mechanism"),
	RV(CKR_RANDOM_SEED_NOT_SUPPORTED, "the token's RNG does not accept seeding"),
	RV(CKR_RANDOM_NO_RNG, "the token has no random number generator"),
	RV(CKR_DOMAIN_PARAMS_INVALID, "the domain parameters are invalid"),
	RV(CKR_CURVE_NOT_SUPPORTED, "the elliptic curve is not supported"),
	RV(CKR_BUFFER_TOO_SMALL, "the output buffer is too small"),
	RV(CKR_SAVED_STATE_INVALID, "the saved state is invalid"),
	RV(CKR_INFORMATION_SENSITIVE, "the information is sensitive"),
	RV(CKR_STATE_UNSAVEABLE, "the state cannot be saved"),
	RV(CKR_CRYPTOKI_NOT_INITIALIZED, "the library is not initialised"),
	RV(CKR_CRYPTOKI_ALREADY_INITIALIZED, "the library is already initialised"),
	RV(CKR_MUTEX_BAD, "a bad mutex object was supplied"),
	RV(CKR_MUTEX_NOT_LOCKED, "the mutex is not locked"),
	RV(CKR_NEW_PIN_MODE, "the token is in new-PIN mode"),
	RV(CKR_NEXT_OTP, "the next one-time password is required"),
	RV(CKR_EXCEEDED_MAX_ITERATIONS, "the maximum number of iterations was exceeded"),
	RV(CKR_FIPS_SELF_TEST_FAILED, "the FIPS self-test failed"),
	RV(CKR_LIBRARY_LOAD_FAILED, "a library the module needs could not be loaded"),
	RV(CKR_PIN_TOO_WEAK, "the PIN is too weak"),
	RV(CKR_PUBLIC_KEY_INVALID, "the public key is invalid"),
	RV(CKR_FUNCTION_REJECTED, "the function was rejected (e.g. by the user on a PIN pad)"),
};

const char *hsm_rv_str(unsigned long rv)
{
	size_t i;

	for (i = 0; i < sizeof(rv_table) / sizeof(rv_table[0]); i++) {
		if (rv_table[i].rv == rv)
			return rv_table[i].msg;
	}
	if (rv >= CKR_VENDOR_DEFINED)
		return "CKR_VENDOR_DEFINED: vendor-specific error";
	return "CKR_UNKNOWN: unrecognised PKCS#11 return value";
}
