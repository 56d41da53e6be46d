/*
 * connector: helpers shared by every PSP connector.
 */
#include "vault/connector.h"

const char *vault_auth_status_str(enum vault_auth_status st)
{
	switch (st) {
	case VAULT_AUTH_CAPTURED:
		return "captured";
	case VAULT_AUTH_AUTHORIZED:
		return "authorized";
	case VAULT_AUTH_REQUIRES_ACTION:
		return "requires_action";
	case VAULT_AUTH_FAILED:
		return "failed";
	case VAULT_AUTH_UNKNOWN:
		return "unknown";
	}
	return "unknown";
}
