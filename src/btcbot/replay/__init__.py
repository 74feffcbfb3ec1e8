"""Record market data and replay it through the real runtime in virtual time (see docs/replay.md)."""
