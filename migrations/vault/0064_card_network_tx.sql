-- Stored credentials (issue 19 item 7, ADR 0133): the network transaction
-- id a saved card's first customer-initiated payment returned (Adyen's
-- additionalData.networkTxReference), sent back on the card's
-- merchant-initiated payments. Not cardholder data, but kept here in the
-- CDE, next to the card the connector needs it for, and never sent to the
-- gateway. Deleted with the card (ON DELETE CASCADE: deleting the card or
-- its customer leaves nothing).
CREATE TABLE card_network_tx (
    card_id        text PRIMARY KEY REFERENCES tokens(id) ON DELETE CASCADE
                   CHECK (card_id LIKE 'card\_%'),
    network_tx_id  text NOT NULL CHECK (network_tx_id ~ '^[A-Za-z0-9_-]{1,63}$'),
    connector      text NOT NULL CHECK (connector ~ '^[a-z0-9_]{1,32}$'),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT, UPDATE ON card_network_tx TO vault;
