"""btcbot: a guarded-live trading runtime for BTCTurk."""

__version__ = "0.1.0"
__all__ = ["__version__"]
