"""btcbot subpackage."""
