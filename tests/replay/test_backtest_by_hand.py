"""``btcbot backtest`` on hand-made datasets whose every figure is worked out by hand, to the last digit.

A scripted strategy sends each order of a plan once and keeps it while it is live, so the fills are known in
advance. The JSON summary, the text, the HTML report and ``stage7-report`` on the backtest DB must all agree.
"""

from __future__ import annotations

import contextlib
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from btcbot.cli import main
from btcbot.replay.dataset import DatasetWriter

from .conftest import T0, header

D = Decimal
SCRIPTED = """
from decimal import Decimal
from btcbot.strategy import MarketView, OrderSide, Strategy, StrategyConfig, Wanted, WantedOrder


class ScriptedConfig(StrategyConfig):
    t0: int
    plan: tuple[tuple[int, str, Decimal, Decimal], ...] = ()  # (from ms after t0, side, price, quantity)


class Scripted(Strategy[ScriptedConfig]):
    name = "scripted"

    def __init__(self, config: ScriptedConfig) -> None:
        super().__init__(config)
        self.sent: set[int] = set()

    def decide(self, view: MarketView) -> Wanted:
        wanted = []
        for i, (at, side, price, qty) in enumerate(self.config.plan):
            if view.now_ms - self.config.t0 < at:
                continue
            if i not in self.sent:
                self.sent.add(i)
                wanted.append(WantedOrder(OrderSide(side), price, qty))
            wanted += [o.keep() for o in view.orders if o.side is OrderSide(side) and o.price == price]
        return Wanted(tuple(wanted))
"""
BIDS = [["3000000", "0.5"], ["2999000", "1"]]
ASKS = [["3001000", "0.5"], ["3002000", "1"]]


def _events(changes: dict[int, tuple[list[Any], list[Any]]], end_ms: int) -> list[list[Any]]:
    """A full book at 0, the given diffs, and a diff re-stating a far level every second (the book stays fresh)."""
    out: list[list[Any]] = [[431, T0, None, "BTCTRY", 1, BIDS, ASKS]]
    times = sorted({*changes, *range(900, end_ms, 900)})
    for cs, t in enumerate(times, start=2):
        bids, asks = changes.get(t, ([["2999000", "1", 0]], []))
        out.append([432, T0 + t, None, "BTCTRY", cs, bids, asks])
    return out


def _run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    return code, out.getvalue()


def _backtest(tmp_path: Path, events: list[list[Any]], plan: list[list[Any]]) -> dict[str, Any]:
    dataset = tmp_path / "ds.jsonl"
    writer = DatasetWriter(dataset, header())
    for ev in events:
        writer.write(ev)
    writer.close()
    (tmp_path / "scripted.py").write_text(SCRIPTED, encoding="utf-8")
    env = {
        "CYCLE_SECONDS": "1",
        "MAX_NOTIONAL_PER_ORDER_TRY": "10000",
        "NOTIONAL_CAP_TRY_PER_CYCLE": "20000",
        "MAX_ORDERS_PER_CYCLE": "3",
        "MAX_OPEN_ORDERS_PER_SYMBOL": "3",
        "TTL_SECONDS": "86400",
        "STRATEGY": f"{tmp_path / 'scripted.py'}:Scripted",
        "STRATEGY_PARAMS": json.dumps({"t0": T0, "plan": plan}),
    }
    (tmp_path / "env").write_text("".join(f"{k}='{v}'\n" for k, v in env.items()), encoding="utf-8")
    db, report = tmp_path / "bt.db", tmp_path / "r.html"
    argv = ["backtest", "--dataset", str(dataset), "--env-file", str(tmp_path / "env"), "--db", str(db)]
    code, as_json = _run([*argv, "--json"])
    assert code == 0
    code, text = _run([*argv, "--report", str(report)])
    assert code == 0
    code, stage7 = _run(["stage7-report", "--db", str(db), "--last", "100000", "--json"])
    assert code == 0
    summary: dict[str, Any] = json.loads(as_json)
    s7 = json.loads(stage7)["summary"]
    assert s7["by_reason_code"] == summary["reason_codes"] and s7["decisions"] == summary["decisions"]
    assert (s7["cycles"], s7["orders_sent"], s7["orders_filled"], s7["orders_rejected"]) == (
        summary["cycles"], summary["orders"], summary["orders_filled"], summary["orders_rejected"],
    )  # fmt: skip
    assert (s7["fill_rate"], s7["reject_rate"]) == (summary["fill_rate"], summary["reject_rate"])
    summary["_text"], summary["_html"] = text, report.read_text(encoding="utf-8")
    return summary


def test_maker_fills_across_books_a_taker_sell_and_a_long_carried_to_the_end(tmp_path: Path) -> None:
    """Buy 0.001 at 3000500 resting; recorded asks reach it three times; sell 0.0004 into the bid; hold 0.0006.

    Maker fills (0.12 %, tax 20/120 of it): 0.0003 when an ask appears exactly at our price, 0.0002 when that
    level grows by 0.0002 (what we took stays taken), 0.0005 when an ask appears under our price (we fill at
    ours): 3000.5 TRY, charge 3.6006 = fee 3.0005 + tax 0.6001. The taker sell (0.24 %) takes the 3000000 bid:
    1200 TRY, 2.88 = 2.4 + 0.48. Realized (3000000 - 3000500) x 0.0004 = -0.2; the 0.0006 left is valued at the
    bid 3000000 (what selling it would fetch, not the mid 3000100): -0.3. Net -0.2 - 0.3 - 6.4806 = -6.9806.
    """
    changes = {
        1500: ([], [["3000500", "0.0003", 1]]),
        2500: ([], [["3000500", "0.0005", 0]]),
        3500: ([], [["3000500", "0", 3]]),
        4500: ([], [["3000200", "0.01", 1]]),
    }
    s = _backtest(
        tmp_path, _events(changes, 6500), [[0, "buy", "3000500", "0.001"], [5000, "sell", "2999500", "0.0004"]]
    )
    b = s["symbols"]["BTCTRY"]
    assert (b["position"], b["average_cost"], b["mark"]) == ("0.0006", "3000500", "3000000")
    assert (b["bought"], b["sold"], b["turnover"]) == ("0.001", "0.0004", "4200.5")
    assert (b["realized_pnl"], b["unrealized_pnl"], b["net_pnl"]) == ("-0.2", "-0.3", "-6.9806")
    assert (b["fee"], b["tax"], b["fees"]) == ("5.4005", "1.0801", "6.4806")
    assert (b["maker_fees"], b["taker_fees"], b["maker_fills"], b["taker_fills"]) == ("3.6006", "2.88", 3, 1)
    assert (s["pnl"], s["realized_pnl"], s["unrealized_pnl"], s["fees"]) == ("-6.98", "-0.2", "-0.3", "6.4806")
    assert (s["fee"], s["tax"], s["filled_notional"]) == ("5.4005", "1.0801", "4200.5")
    assert s["balance_changes"] == {"BTC": "0.0006", "TRY": "-1806.9806"}
    # Equity: 0, -1.23018 (0.0003 held), -2.0503, -2.0503, then -6.9806 after the last buy and the sell.
    assert s["max_drawdown"] == "6.98" and s["max_drawdown_ratio"] == float(D("6.9806") / D(4000500))
    assert (s["orders"], s["orders_filled"], s["orders_partially_filled"], s["orders_cancelled"]) == (2, 2, 0, 0)
    assert (s["fills"], s["cancels"], s["fill_ratio"], s["fill_rate"], s["reject_rate"]) == (4, 0, 1.0, 1.0, 0.0)
    text, page = s["_text"], s["_html"]
    assert "PnL -6.98 TRY = realized -0.2 + unrealized -0.3" in text and "fees 6.4806 (fee 5.4005 + tax 1.0801)" in text
    assert "BTCTRY: position 0.0006 at average cost 3000500, mark 3000000;" in text
    assert "max drawdown 6.98 TRY (0.000174%)" in text and "fill ratio 100.00%" in text
    for cell in ("-6.98 TRY", "-0.2 / -0.3 TRY", "6.4806 (5.4005 + 1.0801) TRY", "4200.5 TRY", "6.98 TRY (0.000174%)"):
        assert f"<td>{cell}</td>" in page, cell
    assert "<td>0.0006</td><td>3000500</td><td>3000000</td><td>-0.2</td><td>-0.3</td><td>6.4806</td>" in page


def test_a_first_sell_without_inventory_is_a_short_at_the_ask_and_its_loss_a_drawdown(tmp_path: Path) -> None:
    """Sell 0.0001 into the 3000000 bid at once: fee 0.72 (tax 0.12); the short is valued at the ask 3001000."""
    s = _backtest(tmp_path, _events({}, 3000), [[0, "sell", "3000000", "0.0001"]])
    b = s["symbols"]["BTCTRY"]
    assert (b["position"], b["average_cost"], b["mark"], b["unrealized_pnl"]) == (
        "-0.0001",
        "3000000",
        "3001000",
        "-0.1",
    )
    assert (s["pnl"], s["fees"], s["tax"], s["taker_fills"]) == ("-0.82", "0.72", "0.12", 1)
    assert s["max_drawdown"] == "0.82"  # the fill is in the first sample, yet the run started flat at 0


def test_a_strategy_that_never_trades_reports_zeros_and_no_rates(tmp_path: Path) -> None:
    s = _backtest(tmp_path, _events({}, 3000), [])
    for key in ("pnl", "realized_pnl", "unrealized_pnl", "fees", "fee", "tax", "filled_notional", "max_drawdown"):
        assert s[key] == "0", key
    for key in ("orders", "fills", "cancels", "maker_fills", "taker_fills", "orders_rejected"):
        assert s[key] == 0, key
    assert s["balance_changes"] == {} and s["max_drawdown_ratio"] == 0.0
    # No order: the rates have no denominator (null, as stage7-report says), shown as "-", never "None".
    assert (s["fill_ratio"], s["fill_rate"], s["reject_rate"], s["submit_latency_p50_ms"]) == (None,) * 4
    assert "None" not in s["_text"] and "fill ratio -" in s["_text"] and "reject rate -  fill rate -" in s["_text"]
    assert "<td>fill ratio (filled / accepted quantity)</td><td>-</td>" in s["_html"]
