"""The simulator's pair catalogue: exchangeinfo values plus the synthetic market's parameters."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# BTCTurk 2026 level-1 fees: TRY pairs maker 0.12 % / taker 0.24 %, other quotes 0.10 % / 0.14 %.
TRY_FEES = (Decimal("0.0012"), Decimal("0.0024"))
OTHER_FEES = (Decimal("0.0010"), Decimal("0.0014"))


@dataclass(frozen=True, slots=True)
class AssetSpec:
    symbol: str
    name: str
    precision: int
    currency_id: int


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    name: str
    pair_id: int
    numerator: str
    denominator: str
    numerator_scale: int
    denominator_scale: int
    has_fraction: bool
    min_exchange_value: Decimal
    initial_mid: Decimal
    level_step: Decimal  # distance between synthetic levels; a multiple of the price quantum
    level_notional: Decimal  # typical synthetic level size, in the quote asset
    volatility: float  # standard deviation of the mid's log-return per market tick
    display_format: str
    order: int
    order_methods: tuple[str, ...] = ("MARKET", "LIMIT", "STOP_MARKET", "STOP_LIMIT")

    @property
    def normalized(self) -> str:
        return f"{self.numerator}_{self.denominator}"

    @property
    def price_scale(self) -> int:
        return self.denominator_scale if self.has_fraction else 0

    @property
    def price_quantum(self) -> Decimal:
        return Decimal(1).scaleb(-self.price_scale)

    @property
    def quantity_quantum(self) -> Decimal:
        return Decimal(1).scaleb(-self.numerator_scale)

    @property
    def fees(self) -> tuple[Decimal, Decimal]:
        """(maker, taker) fee rates."""
        return TRY_FEES if self.denominator == "TRY" else OTHER_FEES


ASSETS: dict[str, AssetSpec] = {
    a.symbol: a
    for a in (
        AssetSpec("TRY", "T\u00fcrk Liras\u0131", 2, 1),  # as the venue names it
        AssetSpec("BTC", "Bitcoin", 8, 2),
        AssetSpec("ETH", "Ethereum", 8, 3),
        AssetSpec("USDT", "Tether", 2, 4),
    )
}

CATALOG: dict[str, SymbolSpec] = {
    s.name: s
    for s in (
        SymbolSpec(
            "BTCTRY",
            1,
            "BTC",
            "TRY",
            8,
            0,
            False,
            Decimal("99.91"),
            Decimal("3800000"),
            Decimal("500"),
            Decimal("40000"),
            0.0002,
            "#,###",
            1000,
        ),
        SymbolSpec(
            "ETHTRY",
            2,
            "ETH",
            "TRY",
            8,
            2,
            True,
            Decimal("99.91"),
            Decimal("135000.00"),
            Decimal("20.00"),
            Decimal("30000"),
            0.0003,
            "#,###.##",
            999,
        ),
        SymbolSpec(
            "USDTTRY",
            3,
            "USDT",
            "TRY",
            2,
            2,
            True,
            Decimal("99.91"),
            Decimal("41.50"),
            Decimal("0.01"),
            Decimal("50000"),
            0.0001,
            "#,###.##",
            998,
        ),
        SymbolSpec(
            "ETHBTC",
            4,
            "ETH",
            "BTC",
            8,
            6,
            True,
            Decimal("0.0001"),
            Decimal("0.035000"),
            Decimal("0.000005"),
            Decimal("0.5"),
            0.0003,
            "#,###.######",
            997,
        ),
        SymbolSpec(
            "BTCUSDT",
            5,
            "BTC",
            "USDT",
            8,
            2,
            True,
            Decimal("9.91"),
            Decimal("91500.00"),
            Decimal("10.00"),
            Decimal("1000"),
            0.0002,
            "#,###.##",
            996,
        ),
        SymbolSpec(
            "ETHUSDT",
            6,
            "ETH",
            "USDT",
            8,
            2,
            True,
            Decimal("9.91"),
            Decimal("3250.00"),
            Decimal("0.50"),
            Decimal("1000"),
            0.0003,
            "#,###.##",
            995,
        ),
    )
}

DEFAULT_SYMBOLS = ("BTCTRY", "ETHTRY", "ETHBTC")


def normalize_pair(raw: str) -> str:
    """BTCTRY, BTC_TRY and btctry all name the same pair on REST."""
    return raw.strip().upper().replace("_", "")


def resolve_symbols(names: tuple[str, ...] | list[str]) -> tuple[SymbolSpec, ...]:
    """Catalogue entries for ``names``; ValueError naming the unknown ones and the accepted set."""
    wanted = [normalize_pair(n) for n in names if n.strip()]
    unknown = [n for n in wanted if n not in CATALOG]
    if unknown:
        raise ValueError(f"unknown symbol(s) {', '.join(unknown)}; the simulator knows {', '.join(CATALOG)}")
    if not wanted:
        raise ValueError(f"name at least one symbol; the simulator knows {', '.join(CATALOG)}")
    return tuple(CATALOG[n] for n in dict.fromkeys(wanted))
