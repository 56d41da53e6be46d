-- Card brands as the networks publish them (issue 19): the vault's IIN
-- table (vault/tokens/vault_card.c) knows Maestro, Mir, Elo, Hipercard,
-- Troy, Verve and RuPay besides, and Maestro issues 12-digit numbers, whose
-- ciphertext with its 16-byte GCM tag is 28 bytes.
ALTER TABLE tokens DROP CONSTRAINT tokens_brand_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_brand_check CHECK (brand IN (
  'visa', 'mastercard', 'amex', 'discover', 'jcb', 'diners', 'unionpay',
  'maestro', 'mir', 'elo', 'hipercard', 'troy', 'verve', 'rupay', 'unknown'));
-- ciphertext || 16-byte GCM tag of a 12..19 digit PAN
ALTER TABLE tokens DROP CONSTRAINT tokens_pan_ct_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_pan_ct_check CHECK (octet_length(pan_ct) BETWEEN 28 AND 35);
