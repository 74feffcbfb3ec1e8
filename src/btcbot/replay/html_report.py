"""``btcbot backtest --report PATH.html``: one self-contained HTML file with the summary and four plots.

The plots (equity curve, position, fills on the price line, decisions by reason code) are drawn with
matplotlib's object API (``Figure``, never ``pyplot``: no global state, no interactive backend, no display)
and inlined as SVG, so the file needs nothing but a browser: no script, no stylesheet, no image or font is
fetched from anywhere. This module is imported only when a report is asked for (matplotlib costs a CLI's
cold start about half a second).
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.figure import Figure

from btcbot.domain.orders import OrderSide
from btcbot.replay.accounting import Accounting
from btcbot.replay.summary import DRAWDOWN_PLACES, percent

PLOTS = ("equity", "position", "fills", "decisions")
_SVG_PREAMBLE = re.compile(r"\A.*?(?=<svg)", re.DOTALL)
_SVG_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)
_RC: dict[Any, Any] = {
    "svg.hashsalt": "btcbot-backtest",
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.size": 9,
}
_BUY, _SELL = "#1a7f37", "#cf222e"


def _t(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _xy(points: Sequence[tuple[int, Decimal]]) -> tuple[list[datetime], list[float]]:
    return [_t(ts) for ts, _ in points], [float(v) for _, v in points]


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return _SVG_METADATA.sub("", _SVG_PREAMBLE.sub("", buf.getvalue(), count=1), count=1)


def _figure(rows: int = 1, height: float = 3.0) -> tuple[Figure, Any]:
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(10, height * rows), layout="constrained")
        axes = fig.subplots(rows, 1, squeeze=False, sharex=True)[:, 0]
    for ax in axes:
        ax.grid(True, alpha=0.3)
    return fig, axes


def _no_data(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#666")


def equity_plot(acc: Accounting, quote: str) -> str:
    fig, (ax,) = _figure()
    ax.set_title(f"Equity: net PnL ({quote}, after fees, open position at the recorded bid if long, ask if short)")
    if acc.curve:
        x, y = _xy(acc.curve)
        ax.step(x, y, where="post", color="#0969da", linewidth=1.2, label="net PnL")
        ax.axhline(0, color="#888", linewidth=0.8)
        dd = acc.drawdown
        if dd.amount > 0 and dd.peak_ms is not None and dd.trough_ms is not None:
            ax.axvspan(_t(dd.peak_ms), _t(dd.trough_ms), color=_SELL, alpha=0.12, label=f"max drawdown {dd.amount:.2f}")
        ax.legend(loc="upper left")
    else:
        _no_data(ax, "no equity sample (no recorded mid)")
    ax.set_ylabel(quote)
    return _svg(fig)


def position_plot(acc: Accounting) -> str:
    fig, (ax,) = _figure()
    ax.set_title("Position per symbol (base asset, bought minus sold in this run)")
    drawn = False
    for symbol, series in acc.positions.items():
        if not series:
            continue
        marks = acc.prices[symbol]
        start = min(marks[0][0], series[0][0]) if marks else series[0][0]
        end = max(marks[-1][0], series[-1][0]) if marks else series[-1][0]
        x, y = _xy([(start, Decimal(0)), *series, (end, series[-1][1])])  # flat from the start, held to the end
        ax.step(x, y, where="post", linewidth=1.2, label=f"{symbol} ({acc.ledger.accounts[symbol].base})")
        drawn = True
    if drawn:
        ax.axhline(0, color="#888", linewidth=0.8)
        ax.legend(loc="upper left")
    else:
        _no_data(ax, "no fill: the position stayed flat")
    return _svg(fig)


def fills_plot(acc: Accounting) -> str:
    symbols = [s for s, series in acc.prices.items() if series] or list(acc.prices)[:1]
    fig, axes = _figure(max(1, len(symbols)))
    if not symbols:
        _no_data(axes[0], "no recorded mid")
        return _svg(fig)
    for ax, symbol in zip(axes, symbols, strict=False):
        ax.set_title(f"{symbol}: recorded mid and this run's fills (filled marker: maker, hollow: taker)")
        if acc.prices[symbol]:
            x, y = _xy(acc.prices[symbol])
            ax.step(x, y, where="post", color="#57606a", linewidth=1.0, label="mid")
        for side, colour, marker in ((OrderSide.BUY, _BUY, "^"), (OrderSide.SELL, _SELL, "v")):
            for maker in (True, False):
                pts = [
                    (bf.fill.ts_ms, bf.fill.price)
                    for bf in acc.fills
                    if bf.fill.symbol == symbol and bf.fill.side is side and bf.maker is maker
                ]
                if not pts:
                    continue
                fx, fy = _xy(pts)
                ax.scatter(
                    fx,
                    fy,
                    marker=marker,
                    s=36,
                    color=colour if maker else "none",
                    edgecolors=colour,
                    label=f"{side.value} ({'maker' if maker else 'taker'})",
                    zorder=3,
                )
        ax.set_ylabel(acc.ledger.accounts[symbol].quote)
        ax.ticklabel_format(axis="y", style="plain", useOffset=False)
        ax.legend(loc="upper left")
    return _svg(fig)


def decisions_plot(reason_codes: dict[str, int]) -> str:
    rows = sorted(reason_codes.items(), key=lambda kv: (kv[1], kv[0]))
    fig, (ax,) = _figure(height=max(2.0, 0.3 * len(rows) + 1))
    ax.set_title("Decision records by reason code")
    if rows:
        bars = ax.barh([k for k, _ in rows], [v for _, v in rows], color="#8250df")
        ax.bar_label(bars, padding=3)
        ax.set_xlabel("records")
    else:
        _no_data(ax, "no decision record")
    return _svg(fig)


def _table(rows: Sequence[Sequence[object]], head: Sequence[str]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape('-' if c is None else str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#1f2328}
h1{font-size:1.4em} h2{font-size:1.1em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0} td,th{border:1px solid #d0d7de;padding:.2em .6em;text-align:right}
th{background:#f6f8fa} td:first-child,th:first-child{text-align:left}
figure{margin:1em 0} figcaption{color:#57606a;font-size:.9em} svg{max-width:100%;height:auto}
"""


def render(summary: dict[str, Any], acc: Accounting) -> str:
    q = summary["pnl_quote"]
    key_figures = [
        ("net PnL", f"{summary['pnl']} {q}"),
        ("realized / unrealized", f"{summary['realized_pnl']} / {summary['unrealized_pnl']} {q}"),
        ("fees (fee + tax)", f"{summary['fees']} ({summary['fee']} + {summary['tax']}) {q}"),
        ("turnover", f"{summary['filled_notional']} {q}"),
        ("max drawdown", f"{summary['max_drawdown']} {q} ({percent(summary['max_drawdown_ratio'], DRAWDOWN_PLACES)})"),
        (
            "orders / filled / partially / cancelled / rejected",
            " / ".join(
                str(summary[k])
                for k in ("orders", "orders_filled", "orders_partially_filled", "orders_cancelled", "orders_rejected")
            ),
        ),
        ("cancel requests", summary["cancels"]),
        ("fills (maker / taker)", f"{summary['fills']} ({summary['maker_fills']} / {summary['taker_fills']})"),
        ("fill ratio (filled / accepted quantity)", percent(summary["fill_ratio"])),
        ("events / cycles", f"{summary['events']} / {summary['cycles']}"),
        ("virtual span", f"{summary['virtual_seconds']} s"),
        ("order entry latency", f"{summary['latency_ms']} ms"),
    ]
    symbols = [
        (s, v["position"], v["average_cost"], v["mark"], v["realized_pnl"], v["unrealized_pnl"], v["fees"],
         v["turnover"], f"{v['fills']} ({v['maker_fills']}/{v['taker_fills']})")
        for s, v in summary["symbols"].items()
    ]  # fmt: skip
    limits = [
        (f"{u['method']} {u['route']}", f"{u['limit']} / {u['period_s']:g} s", u["requests"], u["peak"], u["headroom"])
        for u in summary["rate_limits"]
    ]
    figures = {
        "equity": (equity_plot(acc, q), "Net PnL at each mark sample; the shaded span is the largest drawdown."),
        "position": (position_plot(acc), "The run's position after each fill."),
        "fills": (fills_plot(acc), "Buys up, sells down; filled markers rested (maker fee), hollow ones took."),
        "decisions": (decisions_plot(summary["reason_codes"]), "Every decision record the runtime wrote."),
    }
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>btcbot backtest {html.escape(summary['run_id'])}</title><style>{_CSS}</style></head><body>",
        f"<h1>btcbot backtest {html.escape(summary['run_id'])}</h1>",
        f"<p>dataset {html.escape(summary['dataset'])}</p>",
        _table(key_figures, ("figure", "value")),
        "<h2>Per symbol</h2>",
        _table(
            symbols,
            ("symbol", "position", "avg cost", "mark", "realized", "unrealized", "fees", "turnover", "fills (m/t)"),
        ),
        "<h2>Rate-limit headroom (peak requests in any window, against the venue's limit)</h2>",
        _table(limits, ("request", "limit", "requests", "peak", "headroom")),
    ]
    for name in PLOTS:
        svg, caption = figures[name]
        parts.append(f'<h2>{name.capitalize()}</h2><figure id="plot-{name}">{svg}')
        parts.append(f"<figcaption>{caption}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(path: Path, summary: dict[str, Any], acc: Accounting) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(summary, acc), encoding="utf-8")
