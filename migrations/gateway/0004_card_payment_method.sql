-- Payments may use a merchant's saved, reusable card token (card_..., issue 3)
-- as well as a single-use tok_. Either is a vault token id: never a PAN.
ALTER TABLE payments DROP CONSTRAINT payments_payment_method_check;
ALTER TABLE payments ADD CONSTRAINT payments_payment_method_check
  CHECK (payment_method ~ '^(tok|card)_[A-Za-z0-9]{8,64}$');
