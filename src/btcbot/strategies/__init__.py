"""The strategies that ship with btcbot, each registered under the ``btcbot.strategies`` entry-point group:
``canary`` (the runbook's one passive buy), ``quoter`` (two-sided passive quoting with inventory skew) and
``mean_reversion`` (in and out of a position on the mid's distance from its moving average)."""
