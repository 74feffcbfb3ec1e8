"""``btcbot backtest`` end to end: the JSON figures, the HTML report, and the DB the live-run reports read."""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from btcbot.cli import main

SUMMARY_FIELDS = {
    "run_id": str,
    "events": int,
    "cycles": int,
    "latency_ms": int,
    "orders": int,
    "orders_filled": int,
    "orders_partially_filled": int,
    "orders_cancelled": int,
    "orders_rejected": int,
    "cancels": int,
    "fills": int,
    "maker_fills": int,
    "taker_fills": int,
    "fill_ratio": float,
    "pnl": str,
    "realized_pnl": str,
    "unrealized_pnl": str,
    "fees": str,
    "fee": str,
    "tax": str,
    "filled_notional": str,
    "max_drawdown": str,
    "max_drawdown_ratio": float,
    "symbols": dict,
    "balance_changes": dict,
    "rate_limits": list,
    "reason_codes": dict,
    "reject_rate": float,
    "fill_rate": float,
    "stale_blocks": int,
}
SYMBOL_FIELDS = (
    "position", "average_cost", "mark", "realized_pnl", "unrealized_pnl", "fees", "fee", "tax", "maker_fees",
    "taker_fees", "net_pnl", "turnover", "bought", "sold", "fills", "maker_fills", "taker_fills", "quote",
)  # fmt: skip


def _run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    return code, out.getvalue()


@pytest.fixture(scope="module")
def backtest(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path, Path]:
    base = tmp_path_factory.mktemp("backtest")
    db, report = base / "bt.db", base / "out" / "report.html"
    code, out = _run(["backtest", "--json", "--db", str(db), "--report", str(report)])
    assert code in (0, 1)
    return json.loads(out), db, report


def test_json_summary_has_every_figure_with_its_type(backtest: tuple[dict[str, Any], Path, Path]) -> None:
    summary = backtest[0]
    for key, kind in SUMMARY_FIELDS.items():
        assert isinstance(summary[key], kind), key
    btctry = summary["symbols"]["BTCTRY"]
    assert set(SYMBOL_FIELDS) <= set(btctry)
    assert summary["fills"] >= 1 and btctry["fills"] == summary["fills"]
    assert summary["maker_fills"] + summary["taker_fills"] == summary["fills"]
    routes = {(u["method"], u["route"], u["period_s"]) for u in summary["rate_limits"]}
    assert ("POST", "/api/v1/order", 1) in routes and ("DELETE", "/api/v1/order", 60) in routes
    assert all(u["headroom"] == u["limit"] - u["peak"] for u in summary["rate_limits"])


def test_net_pnl_agrees_with_the_account_balances(backtest: tuple[dict[str, Any], Path, Path]) -> None:
    """Two independent views of one run: average-cost accounting from fills, and the venue account's deltas."""
    summary = backtest[0]
    btctry = summary["symbols"]["BTCTRY"]
    changes = {a: Decimal(v) for a, v in summary["balance_changes"].items()}
    by_balances = changes.get("TRY", Decimal(0)) + changes.get("BTC", Decimal(0)) * Decimal(btctry["mark"])
    assert Decimal(summary["pnl"]) == by_balances.quantize(Decimal("0.01"))
    assert Decimal(btctry["position"]) == changes.get("BTC", Decimal(0))
    net = Decimal(summary["realized_pnl"]) + Decimal(summary["unrealized_pnl"]) - Decimal(summary["fees"])
    assert Decimal(summary["pnl"]) == net.quantize(Decimal("0.01"))
    assert Decimal(summary["fee"]) + Decimal(summary["tax"]) == Decimal(summary["fees"])


def test_html_report_is_one_self_contained_file_with_the_four_plots(
    backtest: tuple[dict[str, Any], Path, Path],
) -> None:
    summary, _, report = backtest
    text = report.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and summary["run_id"] in text
    # Nothing is fetched: no remote (or protocol-relative) src/href, no script, stylesheet link or CSS url()
    # other than the SVG's references to its own clip paths (url(#id)).
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", text, re.IGNORECASE)
    assert not re.search(r"<script|<link|<img|<iframe|@import|url\((?!#)", text, re.IGNORECASE)
    for plot in ("equity", "position", "fills", "decisions"):
        figure = re.search(rf'<figure id="plot-{plot}">(.*?)</figure>', text, re.DOTALL)
        assert figure is not None, plot
        assert "<svg" in figure.group(1) and "<path" in figure.group(1)
    decisions = re.search(r'<figure id="plot-decisions">(.*?)</figure>', text, re.DOTALL)
    assert decisions is not None
    for code in summary["reason_codes"]:
        assert code in decisions.group(1)  # each reason code labels a bar


def test_live_run_reports_read_the_backtest_db(backtest: tuple[dict[str, Any], Path, Path]) -> None:
    """The same decision records as a live run: stage7-report counts what the backtest counted."""
    summary, db, _ = backtest
    code, out = _run(["stage7-report", "--db", str(db), "--last", "100000", "--json"])
    assert code in (0, 1)
    report = json.loads(out)["summary"]
    assert report["by_reason_code"] == summary["reason_codes"]
    assert report["cycles"] == summary["cycles"] and report["orders_sent"] == summary["orders"]
    code, out = _run(["stage7-report", "--db", str(db), "--last", "5"])
    assert code in (0, 1) and "by reason_code" in out


def test_latency_reaches_the_runtime_through_the_flag(tmp_path: Path) -> None:
    code, out = _run(["backtest", "--json", "--latency-ms", "250", "--db", str(tmp_path / "lat.db")])
    summary = json.loads(out)
    assert code in (0, 1)
    assert summary["latency_ms"] == 250
    # The runtime times its submits on the (virtual) clock: the trip is what it measures.
    assert summary["submit_latency_p50_ms"] == 250.0 and summary["submit_latency_p95_ms"] == 250.0


def test_latency_and_report_flags_are_validated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", "--latency-ms", "-5"]) == 2
    assert "--latency-ms" in capsys.readouterr().err
    assert main(["backtest", "--report", str(tmp_path), "--db", str(tmp_path / "x.db")]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert not (tmp_path / "x.db").exists()  # refused before anything ran


def test_text_summary_shows_the_accounting_and_the_report_path(tmp_path: Path) -> None:
    code, out = _run(["backtest", "--db", str(tmp_path / "t.db"), "--report", str(tmp_path / "r.html")])
    assert code in (0, 1)
    for part in ("realized", "unrealized", "fee", "tax", "turnover", "fill ratio", "rate limits", "BTCTRY: position"):
        assert part in out, part
    assert f"report: {tmp_path / 'r.html'}" in out and (tmp_path / "r.html").is_file()


def test_a_backtest_without_report_never_imports_matplotlib(tmp_path: Path) -> None:
    """The CLI's cold start: the plotting library loads only for --report."""
    code = (
        "import sys; from btcbot.cli import main; "
        f"rc = main(['backtest', '--json', '--db', {str(tmp_path / 'm.db')!r}]); "
        "print('MATPLOTLIB' if 'matplotlib' in sys.modules else 'CLEAN', rc)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.stdout.strip().splitlines()[-1] in ("CLEAN 0", "CLEAN 1"), done.stderr[-2000:]


QUOTER_ENV = {
    "STRATEGY": "quoter",
    "STRATEGY_PARAMS": '{"spread_bps": 10, "replace_threshold_bps": 5, "order_notional": 120, "skew_bps": 0}',
    "MAX_ORDERS_PER_CYCLE": "2",
    "MAX_OPEN_ORDERS_PER_SYMBOL": "2",
    "NOTIONAL_CAP_TRY_PER_CYCLE": "480",
    "MAX_NOTIONAL_PER_ORDER_TRY": "240",
    "TTL_SECONDS": "86400",
}


def test_the_two_sided_quoter_on_a_moving_market_realizes_pnl_that_the_balances_confirm(tmp_path: Path) -> None:
    from btcbot.replay.synthetic import write_synthetic

    dataset = write_synthetic(tmp_path / "walk.jsonl.gz", events=30_000, drift=0.5) and tmp_path / "walk.jsonl.gz"
    env = tmp_path / "quoter.env"
    env.write_text("".join(f"{k}='{v}'\n" for k, v in QUOTER_ENV.items()), encoding="utf-8")
    report = tmp_path / "quoter.html"
    argv = ["backtest", "--json", "--dataset", str(dataset), "--env-file", str(env), "--db", str(tmp_path / "q.db")]
    code, out = _run([*argv, "--report", str(report)])
    summary = json.loads(out)
    assert code == 0, summary
    btctry = summary["symbols"]["BTCTRY"]
    assert Decimal(btctry["bought"]) > 0 and Decimal(btctry["sold"]) > 0  # both quotes were hit
    assert summary["maker_fills"] == summary["fills"] > 4  # post-only quotes only ever rest
    assert Decimal(summary["realized_pnl"]) != 0 and summary["cancels"] > 0
    changes = {a: Decimal(v) for a, v in summary["balance_changes"].items()}
    by_balances = changes.get("TRY", Decimal(0)) + changes.get("BTC", Decimal(0)) * Decimal(btctry["mark"])
    assert Decimal(summary["pnl"]) == by_balances.quantize(Decimal("0.01"))
    fees = Decimal(summary["fees"])
    assert fees == (Decimal(summary["filled_notional"]) * Decimal("0.0012")).quantize(Decimal("1e-8"))  # maker rate
    assert abs(Decimal(summary["tax"]) - fees * 20 / 120) <= Decimal("1e-8")  # the VAT share (rounded per fill)
    submits = {u["period_s"]: u for u in summary["rate_limits"] if u["method"] == "POST"}
    assert submits[1]["requests"] == summary["orders"] and 0 < submits[1]["peak"] <= 2
    fills_plot = re.search(r'<figure id="plot-fills">(.*?)</figure>', report.read_text(encoding="utf-8"), re.DOTALL)
    assert fills_plot is not None and "buy (maker)" in fills_plot.group(1) and "sell (maker)" in fills_plot.group(1)
