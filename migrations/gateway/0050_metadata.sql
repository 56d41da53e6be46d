-- Metadata on payments and refunds (issue 19): the merchant's key-value
-- strings, Stripe's limits checked by the gateway (gw_metadata_parse: 50
-- keys of at most 40 characters, values of at most 500) and screened for
-- card numbers like every field. An object of strings, at most 32 KiB as
-- JSON text (ADR 0124).
ALTER TABLE payments ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}'::jsonb
  CONSTRAINT payments_metadata_chk CHECK (jsonb_typeof(metadata) = 'object'
                                          AND octet_length(metadata::text) <= 40000);
ALTER TABLE refunds ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}'::jsonb
  CONSTRAINT refunds_metadata_chk CHECK (jsonb_typeof(metadata) = 'object'
                                         AND octet_length(metadata::text) <= 40000);
