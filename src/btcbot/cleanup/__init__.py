"""Operator clean-up: this scope's orders as the venue sees them beside the DB, and cancelling them by hand.

``btcbot orders list`` and ``btcbot orders cancel-all --confirm`` are built from here. Neither ever submits.
"""
