"""Realistic synthetic trading data, generated inside the server (fast, deterministic by seed)."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import psycopg

TABLES = ("users", "trading_sessions", "trades", "smc_signals", "user_sessions", "audit_logs",
          "market_data_cache")


def create_schema(conn: psycopg.Connection[Any]) -> None:
    conn.execute(files("smc_maint.embedded").joinpath("trading_schema.sql").read_text(encoding="utf-8"))


def populate(conn: psycopg.Connection[Any], *, days: int = 120, trades_per_day: int = 400,
             users: int = 60, seed: float = 0.42) -> dict[str, int]:
    """Fill the trading tables: ``days`` of history up to now, winning and losing days.

    Trade P&L has a per-day drift (some days net positive, some negative) plus per-trade noise,
    the shape of a real strategy's returns. Returns the row count per table.
    """
    conn.execute("SELECT setseed(%s)", (seed,))
    conn.execute(
        """
        INSERT INTO users (email, full_name, subscription_tier, created_at, updated_at)
        SELECT 'trader' || g || '@example.com', 'Trader ' || g,
               (ARRAY['free','pro','enterprise'])[1 + mod(g, 3)],
               now() - make_interval(days => %(days)s + 30 - mod(g, 30)), now() - make_interval(days => mod(g, 10))
        FROM generate_series(1, %(users)s) g
        """,
        {"days": days, "users": users},
    )
    conn.execute(
        """
        INSERT INTO trading_sessions (user_id, session_name, status, exchange, start_time, end_time)
        SELECT u.id, 'session-' || s, CASE WHEN s = 4 THEN 'active' ELSE 'closed' END,
               (ARRAY['binance','bybit','okx','kraken'])[1 + mod(s, 4)],
               now() - make_interval(days => %(days)s - (s - 1) * (%(days)s / 4)),
               CASE WHEN s = 4 THEN NULL ELSE now() - make_interval(days => %(days)s - s * (%(days)s / 4)) END
        FROM users u CROSS JOIN generate_series(1, 4) s
        """,
        {"days": days},
    )
    conn.execute(
        """
        WITH day AS (
            SELECT d, (random() - 0.45) * 40 AS drift FROM generate_series(0, %(days)s - 1) d
        ), sess AS (
            SELECT array_agg(id ORDER BY id) AS ids, array_agg(user_id ORDER BY id) AS uids, count(*) AS n
            FROM trading_sessions
        ), t AS (
            SELECT day.d, day.drift, g,
                   (ARRAY['BTCUSDT','ETHUSDT','SOLUSDT','BNBUSDT','XRPUSDT'])[1 + floor(random() * 5)::int] AS symbol,
                   random() AS r1, random() AS r2, random() AS r3
            FROM day CROSS JOIN generate_series(1, %(per_day)s) g
        )
        INSERT INTO trades (session_id, user_id, symbol, side, order_type, quantity, price, executed_price,
                            executed_quantity, status, commission, pnl, "timestamp", execution_time, metadata)
        SELECT sess.ids[1 + mod(t.g * 7 + t.d, sess.n::int)], sess.uids[1 + mod(t.g * 7 + t.d, sess.n::int)],
               t.symbol,
               CASE WHEN t.r1 < 0.5 THEN 'buy' ELSE 'sell' END,
               (ARRAY['market','limit','stop','stop_limit'])[1 + floor(t.r2 * 4)::int],
               round((0.01 + t.r3 * 2)::numeric, 6),
               round((CASE t.symbol WHEN 'BTCUSDT' THEN 60000 WHEN 'ETHUSDT' THEN 3000 WHEN 'SOLUSDT' THEN 150
                      WHEN 'BNBUSDT' THEN 550 ELSE 0.6 END * (0.9 + t.r2 * 0.2))::numeric, 4),
               round((CASE t.symbol WHEN 'BTCUSDT' THEN 60000 WHEN 'ETHUSDT' THEN 3000 WHEN 'SOLUSDT' THEN 150
                      WHEN 'BNBUSDT' THEN 550 ELSE 0.6 END * (0.9 + t.r2 * 0.2) * (1 + (t.r1 - 0.5) / 1000))::numeric, 4),
               round((0.01 + t.r3 * 2)::numeric, 6),
               CASE WHEN t.r1 < 0.03 THEN 'cancelled' ELSE 'filled' END,
               round((t.r3 * 2)::numeric, 6),
               CASE WHEN t.r1 < 0.03 THEN NULL ELSE round((t.drift / 10 + (random() - 0.5) * 200)::numeric, 4) END,
               now() - make_interval(days => t.d) - make_interval(secs => (t.g * 86399.0 / %(per_day)s)),
               make_interval(secs => 0.005 + t.r2 / 5),
               jsonb_build_object('strategy', 'smc', 'signal', (ARRAY['bos','choch','fvg','order_block'])[1 + mod(t.g, 4)])
        FROM t CROSS JOIN sess
        """,
        {"days": days, "per_day": trades_per_day},
    )
    conn.execute(
        """
        UPDATE trading_sessions s SET total_trades = x.n, total_pnl = x.p
        FROM (SELECT session_id, count(*) n, coalesce(sum(pnl), 0) p FROM trades GROUP BY session_id) x
        WHERE x.session_id = s.id
        """
    )
    conn.execute(
        """
        INSERT INTO smc_signals (user_id, symbol, timeframe, signal_type, direction, confidence, price_level,
                                 stop_loss, take_profit, risk_reward_ratio, is_processed, processed_at,
                                 expires_at, metadata, created_at)
        SELECT (SELECT id FROM users ORDER BY id OFFSET mod(g, %(users)s) LIMIT 1),
               (ARRAY['BTCUSDT','ETHUSDT','SOLUSDT','BNBUSDT','XRPUSDT'])[1 + mod(g, 5)],
               (ARRAY['5m','15m','1h','4h','1d'])[1 + mod(g, 5)],
               (ARRAY['bos','choch','fvg','order_block','liquidity_sweep'])[1 + (g / 7) %% 5],
               CASE WHEN random() < 0.5 THEN 'bullish' ELSE 'bearish' END,
               round(random()::numeric, 3), 100 + g, 95 + g, 110 + g, round((1 + random() * 3)::numeric, 3),
               mod(g, 10) <> 0, CASE WHEN mod(g, 10) <> 0 THEN now() - make_interval(mins => g) END,
               now() - make_interval(mins => g) + interval '4 hours', '{}'::jsonb,
               now() - make_interval(mins => g * %(days)s * 1440 / %(n)s)
        FROM generate_series(1, %(n)s) g
        """,
        {"users": users, "days": days, "n": days * 60},
    )
    conn.execute(
        """
        INSERT INTO user_sessions (user_id, started_at, last_seen_at, ip, user_agent, revoked)
        SELECT u.id, now() - make_interval(hours => s * 7), now() - make_interval(hours => s * 7 - 2),
               ('10.' || mod(s, 250) || '.0.' || (1 + mod(s, 200)))::inet, 'Mozilla/5.0 (SMC web app)', mod(s, 17) = 0
        FROM users u CROSS JOIN generate_series(1, 25) s
        """
    )
    conn.execute(
        """
        INSERT INTO audit_logs (at, actor, action, target, details)
        SELECT now() - make_interval(mins => g * 13), 'trader' || (1 + g %% %(users)s) || '@example.com',
               (ARRAY['login','order.create','order.cancel','settings.update','api_key.rotate'])[1 + mod(g, 5)],
               'order/' || g, jsonb_build_object('ip', '10.0.0.' || mod(g, 250))
        FROM generate_series(1, %(n)s) g
        """,
        {"users": users, "n": days * 80},
    )
    conn.execute(
        """
        INSERT INTO market_data_cache (symbol, timeframe, data_type, data, expires_at)
        SELECT s, tf, dt, jsonb_build_object('close', 100, 'volume', 1000), now() + interval '5 minutes'
        FROM unnest(ARRAY['BTCUSDT','ETHUSDT','SOLUSDT','BNBUSDT','XRPUSDT']) s,
             unnest(ARRAY['5m','15m','1h','4h','1d']) tf, unnest(ARRAY['ohlcv','orderbook']) dt
        """
    )
    conn.execute("ANALYZE")
    return row_counts(conn)


def row_counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in TABLES:
        row = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts
