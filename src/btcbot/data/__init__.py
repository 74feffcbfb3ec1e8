"""Datasets shipped with btcbot (package data): see docs/replay.md."""
