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

const char *vault_psp_event_kind_str(enum vault_psp_event_kind k)
{
	switch (k) {
	case VAULT_EV_AUTHORIZATION_SUCCEEDED:
		return "authorization.succeeded";
	case VAULT_EV_AUTHORIZATION_FAILED:
		return "authorization.failed";
	case VAULT_EV_CAPTURE_SUCCEEDED:
		return "capture.succeeded";
	case VAULT_EV_CAPTURE_FAILED:
		return "capture.failed";
	case VAULT_EV_CANCEL_SUCCEEDED:
		return "cancel.succeeded";
	case VAULT_EV_REFUND_SUCCEEDED:
		return "refund.succeeded";
	case VAULT_EV_REFUND_FAILED:
		return "refund.failed";
	case VAULT_EV_DISPUTE_CREATED:
		return "dispute.created";
	case VAULT_EV_OTHER:
		break;
	}
	return "other";
}
