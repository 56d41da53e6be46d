-- Lists (issue 19): GET /v1/refunds reads a merchant's refunds newest first,
-- GET /v1/events the events of the last 30 days newest first; both page by
-- keyset on (created_at, id) (gateway/store/gw_store_lists.c).
CREATE INDEX refunds_merchant_created_id_idx ON refunds (merchant_id, created_at DESC, id DESC);
CREATE INDEX payment_events_created_id_idx ON payment_events (created_at DESC, id DESC);
