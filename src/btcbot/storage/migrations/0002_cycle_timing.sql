-- btcbot state store, schema version 2: the cycle's timing figures, for `btcbot status` while a run goes on.
-- reconcile_lag_ms: age of the exchange view the reconciler acted on (NULL when the cycle did not reconcile).
-- update_to_order_ms: book update -> the cycle's first order request leaving, or its would-submit decision in
-- observe mode (NULL when the cycle placed nothing).

ALTER TABLE cycles ADD COLUMN IF NOT EXISTS reconcile_lag_ms DOUBLE;
ALTER TABLE cycles ADD COLUMN IF NOT EXISTS update_to_order_ms DOUBLE;
