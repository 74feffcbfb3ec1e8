"""``btcbot doctor``: every pre-flight check as PASS / WARN / FAIL / SKIP with a reason and a next action.

Modules: ``model`` (results, verdict, exit code), ``local`` (config, arming, credentials, DB, lock),
``network`` (exchange checks over an injectable probe), ``slo`` (DB evidence), ``runner``, ``render``.
"""
