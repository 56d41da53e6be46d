-- A merchant's webhook secret is used to verify deliveries only once the PSP
-- showed it signs that account's notifications with it (issue 15, ADR 0107):
-- until then it is "pending" (sealed with the other credentials, never used).
-- Secrets registered before this change stay in use ("active"); ADR 0107
-- asks deployments to have them re-submitted.
ALTER TABLE psp_credentials ADD COLUMN webhook_secret_status text
  CONSTRAINT psp_credentials_webhook_status_chk CHECK (webhook_secret_status IN ('pending', 'active'));
UPDATE psp_credentials SET webhook_secret_status = 'active' WHERE webhook_secret_last4 IS NOT NULL;
