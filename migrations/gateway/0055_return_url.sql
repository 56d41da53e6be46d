-- The merchant's return_url of a payment (issue 19 item 3, ADR 0131): where
-- the PSP sends the cardholder's browser back after 3-D Secure, checked by
-- gw_return_url_check (an absolute https URL, or http to the loopback host
-- on a test-mode gateway; no card number in any shape). The URL sent to the
-- PSP (with payment=<id> appended) is derived from it, never stored.
ALTER TABLE payments ADD COLUMN return_url text NULL
  CONSTRAINT payments_return_url_chk CHECK (length(return_url) <= 1024 AND return_url ~ '^https?://[!-~]+$');
