-- The SMC Trading Agent tables the runbook touches (DESIGN.md), as a realistic platform has them.
CREATE EXTENSION IF NOT EXISTS pgcrypto;

CREATE TABLE IF NOT EXISTS users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email text NOT NULL UNIQUE,
    full_name text NOT NULL,
    subscription_tier text NOT NULL DEFAULT 'free' CHECK (subscription_tier IN ('free', 'pro', 'enterprise')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS trading_sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id),
    session_name text NOT NULL,
    status text NOT NULL CHECK (status IN ('active', 'paused', 'closed')),
    exchange text NOT NULL,
    start_time timestamptz NOT NULL,
    end_time timestamptz,
    total_trades integer NOT NULL DEFAULT 0,
    total_pnl numeric(18, 8) NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS trading_sessions_user_idx ON trading_sessions (user_id);

CREATE TABLE IF NOT EXISTS trades (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    session_id uuid REFERENCES trading_sessions (id),
    user_id uuid NOT NULL REFERENCES users (id),
    symbol text NOT NULL,
    side text NOT NULL CHECK (side IN ('buy', 'sell')),
    order_type text NOT NULL CHECK (order_type IN ('market', 'limit', 'stop', 'stop_limit')),
    quantity numeric(28, 10) NOT NULL CHECK (quantity > 0),
    price numeric(28, 10) NOT NULL,
    executed_price numeric(28, 10),
    executed_quantity numeric(28, 10),
    status text NOT NULL CHECK (status IN ('pending', 'filled', 'partially_filled', 'cancelled', 'rejected')),
    commission numeric(18, 8) NOT NULL DEFAULT 0,
    pnl numeric(18, 8),
    "timestamp" timestamptz NOT NULL DEFAULT now(),
    execution_time interval,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS trades_timestamp_idx ON trades ("timestamp");
CREATE INDEX IF NOT EXISTS trades_user_timestamp_idx ON trades (user_id, "timestamp");
CREATE INDEX IF NOT EXISTS trades_symbol_idx ON trades (symbol);

CREATE TABLE IF NOT EXISTS smc_signals (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid REFERENCES users (id),
    symbol text NOT NULL,
    timeframe text NOT NULL,
    signal_type text NOT NULL CHECK (signal_type IN ('bos', 'choch', 'fvg', 'order_block', 'liquidity_sweep')),
    direction text NOT NULL CHECK (direction IN ('bullish', 'bearish')),
    confidence numeric(4, 3) NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    price_level numeric(28, 10) NOT NULL,
    stop_loss numeric(28, 10),
    take_profit numeric(28, 10),
    risk_reward_ratio numeric(8, 3),
    is_processed boolean NOT NULL DEFAULT false,
    processed_at timestamptz,
    expires_at timestamptz,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS smc_signals_symbol_created_idx ON smc_signals (symbol, created_at);

CREATE TABLE IF NOT EXISTS user_sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id),
    started_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    ip inet,
    user_agent text,
    revoked boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS user_sessions_user_idx ON user_sessions (user_id);

CREATE TABLE IF NOT EXISTS audit_logs (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    action text NOT NULL,
    target text,
    details jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS audit_logs_at_idx ON audit_logs (at);

CREATE TABLE IF NOT EXISTS market_data_cache (
    symbol text NOT NULL,
    timeframe text NOT NULL,
    data_type text NOT NULL,
    data jsonb NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (symbol, timeframe, data_type)
);
