"""Stable reason codes (``category:condition``) for decision records and doctor output.

Operators grep for these, dashboards key on them and alerts are derived from them: never rename one.
"""

from __future__ import annotations

from typing import Final

# Arming (issue 2): every reason that keeps the process from being live.
ARM_LIVE_TRADING_FALSE: Final = "arm:live_trading_false"
ARM_ACK_MISSING: Final = "arm:ack_missing"
ARM_DRY_RUN: Final = "arm:dry_run"
ARM_KILL_SWITCH: Final = "arm:kill_switch"
ARM_SAFE_MODE: Final = "arm:safe_mode"
ARM_CLI_DRY_RUN: Final = "arm:cli_dry_run"
ARM_CREDENTIALS_MISSING: Final = "arm:credentials_missing"
ARM_SAFE_MODE_LATCHED: Final = "arm:safe_mode_latched"  # latched by the supervisor at run time

# Market data (freshness guard).
MARKET_DATA_STALE: Final = "market_data:stale"
MARKET_DATA_INVALID_BOOK: Final = "market_data:invalid_book"
MARKET_DATA_UNAVAILABLE: Final = "market_data:unavailable"

# Strategy.
STRATEGY_NO_INTENT: Final = "strategy:no_intent"
STRATEGY_ORDER_ACTIVE: Final = "strategy:order_active"

# Risk gate refusals, in the order the gate checks them.
RISK_NOT_ARMED: Final = "risk:not_armed"
RISK_SAFE_MODE: Final = "risk:safe_mode"
RISK_KILL_SWITCH: Final = "risk:kill_switch"
RISK_UNKNOWN_ORDER: Final = "risk:unknown_order_pending"
RISK_MAX_ORDERS_PER_CYCLE: Final = "risk:max_orders_per_cycle"
RISK_MAX_OPEN_ORDERS_PER_SYMBOL: Final = "risk:max_open_orders_per_symbol"
RISK_NOTIONAL_CAP_PER_CYCLE: Final = "risk:notional_cap_per_cycle"
RISK_MAX_NOTIONAL_PER_ORDER: Final = "risk:max_notional_per_order"
RISK_MIN_NOTIONAL: Final = "risk:min_notional"
RISK_EXCHANGE_MIN_NOTIONAL: Final = "risk:exchange_min_notional"
RISK_PRICE_COLLAR: Final = "risk:price_collar"
RISK_INSUFFICIENT_BALANCE: Final = "risk:insufficient_balance"
RISK_SYMBOL_NOT_TRADABLE: Final = "risk:symbol_not_tradable"

# Observe-only: what would have been sent.
DRY_RUN_WOULD_SUBMIT: Final = "dry_run:would_submit"

# Order lifecycle.
ORDER_SUBMITTED: Final = "order:submitted"
ORDER_REJECTED: Final = "order:rejected"
ORDER_UNKNOWN: Final = "order:unknown"
ORDER_TTL_CANCEL: Final = "order:ttl_cancel"
ORDER_FILLED: Final = "order:filled"
ORDER_CANCELLED: Final = "order:cancelled"

# Kill switch: protective cancel of this bot's own orders.
KILL_SWITCH_CANCEL: Final = "kill_switch:cancel"
KILL_SWITCH_IDLE: Final = "kill_switch:no_open_orders"

# Reconciler.
RECONCILE_UNKNOWN_RESOLVED: Final = "reconcile:unknown_resolved"
# No longer emitted: absence from the venue's views is not proof an order was never sent (issue 11).
RECONCILE_UNKNOWN_NOT_FOUND: Final = "reconcile:unknown_not_found"
RECONCILE_ORPHAN_FOUND: Final = "reconcile:orphan_found"
RECONCILE_STATE_ADJUSTED: Final = "reconcile:state_adjusted"

# Supervisor.
SUPERVISOR_SAFE_MODE: Final = "supervisor:safe_mode"
SUPERVISOR_ACTOR_RESTARTED: Final = "supervisor:actor_restarted"
SUPERVISOR_RESTART_BUDGET_SPENT: Final = "supervisor:restart_budget_spent"

# A successful cycle that had nothing to refuse.
CYCLE_OK: Final = "cycle:ok"

# Runtime (issue 5): appended.
SUPERVISOR_CYCLE_ABORTED: Final = "supervisor:cycle_aborted"  # an actor failed mid-cycle; no decision was made
SUPERVISOR_LIVENESS_TIMEOUT: Final = "supervisor:liveness_timeout"
ORDER_NOT_SENT: Final = "order:not_sent"  # refused at the arming chokepoint after the risk gate approved it
STOP_CANCEL: Final = "stop:cancel_open_orders"  # graceful stop cancelled this bot's open orders
RECONCILE_FAILED: Final = "reconcile:failed"  # the venue could not be queried this cycle
KILL_SWITCH_CANCEL_FAILED: Final = "kill_switch:cancel_failed"  # an owned order could not be cancelled

# UNKNOWN orders (issue 11).
ORDER_SEND_FAILED: Final = "order:send_failed"  # provably never left the process (connection refused): NOT_SENT

# Instance lock: a second instance for the same account scope was refused.
LOCK_INSTANCE_HELD: Final = "lock:instance_held"

# Operator clean-up (`btcbot orders cancel-all`): cancels this scope's own open orders, never submits.
OPERATOR_CANCEL_ALL: Final = "operator:cancel_all"  # the venue confirmed the cancel (or nothing was open)
OPERATOR_CANCEL_FAILED: Final = "operator:cancel_failed"  # refused, unconfirmed, or still open at the end
OPERATOR_NOT_CONFIRMED: Final = "operator:not_confirmed"  # cancel-all without --confirm: nothing was sent

# SLO breaches that stage7-alerts reports with the doctor's thresholds.
SLO_MAX_DRAWDOWN: Final = "slo:max_drawdown_ratio"

# Open orders with this scope's prefix that this state DB never placed: another instance trades the account.
LOCK_FOREIGN_ORDERS: Final = "lock:foreign_orders"

# Strategy API (issue 13): appended.
RISK_MAX_POSITION: Final = "risk:max_position"  # the order could take the bot's net position past MAX_POSITION_BASE
RISK_POST_ONLY_WOULD_TAKE: Final = "risk:post_only_would_take"  # a post-only order at or through the fresh book
RISK_MAX_ORDERS_PER_RUN: Final = "risk:max_orders_per_run"  # `canary once` with a strategy: its one order is spent
ORDER_REPLACE_CANCEL: Final = "order:replace_cancel"  # the strategy no longer wants this live order: cancelled
DRY_RUN_WOULD_CANCEL: Final = "dry_run:would_cancel"  # observe-only: that cancel was recorded, not sent
# decide took so long that the book it was given aged past MAX_MARKET_DATA_AGE_MS: nothing it wanted is acted on
STRATEGY_TOO_SLOW: Final = "strategy:too_slow"
# the pair is not quoted in TRY, so its notional cannot be held to the TRY caps (0.5 BTC would pass a 150 TRY cap)
RISK_QUOTE_NOT_TRY: Final = "risk:quote_not_try"
