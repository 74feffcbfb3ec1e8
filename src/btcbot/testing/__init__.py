"""Shipped test doubles (fakes behind the same Protocols as the real adapters)."""
