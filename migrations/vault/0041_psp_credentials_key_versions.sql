-- PSP credentials follow key rotation (issue 7 with issue 5; ADR 0095
-- amended, ADR 0074). psp_credentials.key_version already names the pan-enc
-- key that sealed each row; account_hmac_key names the fp-hmac key that made
-- its account_hmac, so that vaultctl keys retire refuses while a credential
-- still needs a key, vaultctl keys reencrypt re-seals what is not on the
-- current keys, and a webhook's account is found under the current or the
-- previous fp-hmac key during a transition. PCI DSS v4.0 3.6.1, 3.7.4, 3.7.5.
ALTER TABLE psp_credentials ADD COLUMN account_hmac_key text
  CHECK (account_hmac_key ~ '^fp-hmac-v[1-9][0-9]*$');
-- Every account_hmac made before this migration was made with fp-hmac-v1.
UPDATE psp_credentials SET account_hmac_key = 'fp-hmac-v1' WHERE account_hmac IS NOT NULL;
ALTER TABLE psp_credentials ADD CONSTRAINT psp_credentials_hmac_key_chk
  CHECK ((account_hmac IS NULL) = (account_hmac_key IS NULL));
ALTER TABLE psp_credentials ADD CONSTRAINT psp_credentials_key_version_chk
  CHECK (key_version ~ '^pan-enc-v[1-9][0-9]*$');
