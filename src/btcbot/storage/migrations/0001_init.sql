-- btcbot state store, schema version 1.
-- Money and quantities are DECIMAL(38,18): exact, and wide enough for TRY prices and 8-decimal sizes.
-- Times are TIMESTAMPTZ (UTC) plus, where latency matters, integer milliseconds.

CREATE TABLE IF NOT EXISTS runs (
    run_id          VARCHAR PRIMARY KEY,
    started_at      TIMESTAMPTZ NOT NULL,
    ended_at        TIMESTAMPTZ,
    command         VARCHAR NOT NULL,      -- run | canary_once | canary_loop | replay | backtest
    mode            VARCHAR NOT NULL,      -- observe | live (at start)
    arm_reasons     VARCHAR NOT NULL,      -- comma-separated reason codes blocking live ('' when live)
    pid             INTEGER NOT NULL,
    account_scope   VARCHAR NOT NULL,
    symbols         VARCHAR NOT NULL,
    exit_code       INTEGER,
    settings_json   VARCHAR NOT NULL       -- redacted effective settings (secrets as set/unset)
);

CREATE TABLE IF NOT EXISTS cycles (
    run_id              VARCHAR NOT NULL,
    cycle_id            INTEGER NOT NULL,
    started_at          TIMESTAMPTZ NOT NULL,
    ended_at            TIMESTAMPTZ,
    mode                VARCHAR NOT NULL,
    duration_ms         DOUBLE,
    outcome_reason_code VARCHAR NOT NULL,
    trace_id            VARCHAR,
    PRIMARY KEY (run_id, cycle_id)
);

-- The decision envelope: one per symbol per cycle (plus supervisor/kill-switch/reconcile records).
CREATE TABLE IF NOT EXISTS decisions (
    decision_id     VARCHAR PRIMARY KEY,
    run_id          VARCHAR NOT NULL,
    cycle_id        INTEGER NOT NULL,
    ts              TIMESTAMPTZ NOT NULL,
    symbol          VARCHAR NOT NULL,      -- '*' for process-wide records (supervisor)
    mode            VARCHAR NOT NULL,      -- observe | live
    action          VARCHAR NOT NULL,      -- block | refuse | skip | submit | would_submit | cancel | none | escalate | reconcile
    reason_code     VARCHAR NOT NULL,      -- stable category:condition
    details         VARCHAR NOT NULL,      -- JSON object
    trace_id        VARCHAR,
    market_data_age_ms DOUBLE,
    client_order_id VARCHAR
);

CREATE TABLE IF NOT EXISTS orders (
    client_order_id    VARCHAR PRIMARY KEY,
    exchange_order_id  BIGINT,
    run_id             VARCHAR NOT NULL,
    cycle_id           INTEGER NOT NULL,
    decision_id        VARCHAR,
    symbol             VARCHAR NOT NULL,
    side               VARCHAR NOT NULL,
    method             VARCHAR NOT NULL,
    price              DECIMAL(38,18) NOT NULL,
    quantity           DECIMAL(38,18) NOT NULL,
    filled_quantity    DECIMAL(38,18) NOT NULL DEFAULT 0,
    status             VARCHAR NOT NULL,   -- btcbot.domain.orders.OrderStatus
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    submitted_at       TIMESTAMPTZ,
    acked_at           TIMESTAMPTZ,
    submit_latency_ms  DOUBLE,
    ttl_seconds        INTEGER NOT NULL,
    last_error         VARCHAR
);

CREATE TABLE IF NOT EXISTS order_events (
    event_id           VARCHAR PRIMARY KEY,
    client_order_id    VARCHAR NOT NULL,
    exchange_order_id  BIGINT,
    run_id             VARCHAR NOT NULL,
    ts                 TIMESTAMPTZ NOT NULL,
    event              VARCHAR NOT NULL,   -- intent | submitted | acked | rejected | unknown | partial | filled | cancel_requested | cancelled | resolved | orphan
    status             VARCHAR NOT NULL,
    details            VARCHAR NOT NULL    -- JSON object
);

CREATE TABLE IF NOT EXISTS fills (
    trade_id           BIGINT PRIMARY KEY,
    exchange_order_id  BIGINT NOT NULL,
    client_order_id    VARCHAR,
    run_id             VARCHAR,
    symbol             VARCHAR NOT NULL,
    side               VARCHAR NOT NULL,
    price              DECIMAL(38,18) NOT NULL,
    quantity           DECIMAL(38,18) NOT NULL,
    fee                DECIMAL(38,18) NOT NULL,
    tax                DECIMAL(38,18) NOT NULL,
    ts                 TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS balance_snapshots (
    run_id      VARCHAR NOT NULL,
    cycle_id    INTEGER NOT NULL,
    ts          TIMESTAMPTZ NOT NULL,
    asset       VARCHAR NOT NULL,
    total       DECIMAL(38,18) NOT NULL,
    free        DECIMAL(38,18) NOT NULL,
    locked      DECIMAL(38,18) NOT NULL
);

CREATE TABLE IF NOT EXISTS alerts (
    alert_id    VARCHAR PRIMARY KEY,
    run_id      VARCHAR,
    ts          TIMESTAMPTZ NOT NULL,
    severity    VARCHAR NOT NULL,          -- info | warning | critical
    kind        VARCHAR NOT NULL,          -- e.g. safe_mode, unknown_order, orphan_order, lock_contention
    reason_code VARCHAR NOT NULL,
    message     VARCHAR NOT NULL,
    details     VARCHAR NOT NULL           -- JSON object
);

CREATE INDEX IF NOT EXISTS decisions_ts ON decisions (ts);
CREATE INDEX IF NOT EXISTS decisions_run_cycle ON decisions (run_id, cycle_id);
CREATE INDEX IF NOT EXISTS orders_status ON orders (status);
