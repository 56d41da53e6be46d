/*
 * DELETE /v1/cards/{id} (internal listener, mTLS peer = the gateway).
 * Header Strongroom-Merchant. Deletes a customer's saved card and with it
 * the PAN's ciphertext (PCI DSS v4.0 3.2.1).
 */
#include "vault/vault_app.h"

void vault_handle_card_delete(struct sr_http_request *req)
{
	vault_reply_delete(req, true);
}
