/*
 * DELETE /v1/tokens/{id} (internal listener, mTLS peer = the gateway).
 * Header Strongroom-Merchant. Deletes the token's row, destroying the PAN's
 * (and any CVC's) ciphertext: PCI DSS v4.0 3.2.1 (data retention limited
 * to what is needed; secure deletion when no longer needed).
 */
#include "vault/vault_app.h"

void vault_handle_token_delete(struct sr_http_request *req)
{
	vault_reply_delete(req, false);
}
