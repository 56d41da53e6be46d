-- A PSP webhook is verified with the secret of the merchant account that
-- owns the payment it names (issue 15, ADR 0107): the vault finds that
-- payment's merchant by (connector, psp_reference) before anything in the
-- delivery is trusted. Only rows the PSP answered carry a reference.
-- IF NOT EXISTS: on a large table an operator may build it CONCURRENTLY
-- by hand first (this statement would lock writes while it builds).
CREATE INDEX IF NOT EXISTS authorizations_psp_reference_idx ON authorizations (connector, psp_reference)
  WHERE psp_reference IS NOT NULL;
