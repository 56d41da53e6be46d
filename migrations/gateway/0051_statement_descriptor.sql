-- What the cardholder's statement shows (issue 19): sent to the PSP with
-- the authorization (Stripe's statement_descriptor(_suffix), Adyen's
-- shopperStatement) and again, unchanged, when a payment is reconciled.
ALTER TABLE payments ADD COLUMN statement_descriptor text NULL
  CONSTRAINT payments_statement_descriptor_chk CHECK (statement_descriptor ~ '^[A-Za-z0-9 .,_?+/-]{5,22}$');
ALTER TABLE payments ADD COLUMN statement_descriptor_suffix text NULL
  CONSTRAINT payments_statement_descriptor_suffix_chk CHECK (statement_descriptor_suffix ~ '^[A-Za-z0-9 .,_?+/-]{1,22}$');
