-- Browser origins a merchant registered for its payment pages (issue 6).
-- They decide which pages may embed the vault's hosted card fields
-- (Content-Security-Policy frame-ancestors) and which may call
-- POST /v1/tokens from a browser (CORS). PCI DSS v4.0 6.4.3 / SAQ A: the card
-- fields are served by the vault and only the merchant's own pages frame them.
-- An origin is a serialized origin (RFC 6454 section 6.2): scheme, host and
-- a non-default port, lowercase, no path; vault/elements/vault_origin.c checks the
-- exact rules, the CHECK below is the database's last line.

CREATE TABLE merchant_origins (
  merchant_id text NOT NULL REFERENCES merchants (id) ON DELETE CASCADE,
  origin      text NOT NULL CHECK (length(origin) <= 270 AND
                                   origin ~ '^https?://[a-z0-9.-]+(:[1-9][0-9]{0,4})?$'),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (merchant_id, origin)
);

-- The CORS preflight asks "is this origin anyone's?" before it knows the merchant.
CREATE INDEX merchant_origins_origin_idx ON merchant_origins (origin);

GRANT SELECT, INSERT, DELETE ON merchant_origins TO vault;
