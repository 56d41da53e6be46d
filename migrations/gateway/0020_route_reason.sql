-- Issue 5: why a payment went to its connector (payments.connector): the
-- card's issuing country, the merchant's region, the merchant's override,
-- the default, or failover to the merchant's secondary connector after the
-- primary provably did not accept the authorization. Shown in
-- GET /v1/payments/{id} as route_reason.
ALTER TABLE payments ADD COLUMN route_reason text NULL
  CHECK (route_reason IN ('country', 'region', 'override', 'default', 'failover'));
