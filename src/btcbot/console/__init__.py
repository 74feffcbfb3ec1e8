"""What the operator watches on a terminal while the runtime runs (the per-cycle live line)."""
