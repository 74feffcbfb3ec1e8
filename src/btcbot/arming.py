"""Arming: the one pure decision of observe versus live, and the single chokepoint for exchange writes.

``decide_arming`` is pure: settings and CLI flags in, a decision with *every* blocking reason out.

``ArmingGate`` is the chokepoint. The exchange layer accepts a write (submit, cancel) only together with
a ``WriteToken``, and only this module can mint one: the token's constructor demands a module-private key.
The HTTP client calls ``token.check_at_send(kind)`` immediately before the bytes leave the process, which
re-reads the gate, so a safe-mode latch set after the token was minted still stops the write.

The one exception to "fully armed" is the *protective cancel*: cancelling this bot's own open orders
when the kill switch is on or safe mode has latched. It still requires the operator's standing write
authority (``LIVE_TRADING=true``, the ACK, ``DRY_RUN=false``, no ``--dry-run``, credentials); observe-only
runs never write anything, not even a cancel.

The other exception is the *operator clean-up* (``btcbot orders cancel-all --confirm``): a person cancels
this scope's own open orders with every gate closed. Its token needs credentials and that explicit
confirmation, and it can only cancel: the HTTP client refuses a submit with it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from btcbot import reason_codes as rc
from btcbot.errors import NotArmedError

if TYPE_CHECKING:
    from btcbot.settings import Settings

REQUIRED_ACK = "I_UNDERSTAND"


class Mode(StrEnum):
    OBSERVE = "observe"
    LIVE = "live"


@dataclass(frozen=True, slots=True)
class ArmingInputs:
    """Everything the arming decision depends on, and nothing else."""

    live_trading: bool
    live_trading_ack: str
    dry_run: bool
    kill_switch: bool
    safe_mode: bool
    cli_dry_run: bool
    credentials_present: bool

    @classmethod
    def from_settings(cls, settings: Settings, *, cli_dry_run: bool = False) -> ArmingInputs:
        return cls(
            live_trading=settings.live_trading,
            live_trading_ack=settings.live_trading_ack,
            dry_run=settings.dry_run,
            kill_switch=settings.kill_switch,
            safe_mode=settings.safe_mode,
            cli_dry_run=cli_dry_run,
            credentials_present=settings.credentials_present,
        )


@dataclass(frozen=True, slots=True)
class ArmingDecision:
    mode: Mode
    reasons: tuple[str, ...]  # every reason that blocks live; empty iff live
    # Standing write authority for protective cancels (kill switch / safe mode clean-up).
    protective_cancel_allowed: bool

    @property
    def live(self) -> bool:
        return self.mode is Mode.LIVE


def decide_arming(inputs: ArmingInputs) -> ArmingDecision:
    """Live iff every gate is in its armed position; otherwise observe, with every blocking reason."""
    reasons: list[str] = []
    if not inputs.live_trading:
        reasons.append(rc.ARM_LIVE_TRADING_FALSE)
    if inputs.live_trading_ack != REQUIRED_ACK:
        reasons.append(rc.ARM_ACK_MISSING)
    if inputs.dry_run:
        reasons.append(rc.ARM_DRY_RUN)
    if inputs.kill_switch:
        reasons.append(rc.ARM_KILL_SWITCH)
    if inputs.safe_mode:
        reasons.append(rc.ARM_SAFE_MODE)
    if inputs.cli_dry_run:
        reasons.append(rc.ARM_CLI_DRY_RUN)
    if not inputs.credentials_present:
        reasons.append(rc.ARM_CREDENTIALS_MISSING)
    authority = (
        inputs.live_trading
        and inputs.live_trading_ack == REQUIRED_ACK
        and not inputs.dry_run
        and not inputs.cli_dry_run
        and inputs.credentials_present
    )
    return ArmingDecision(
        mode=Mode.LIVE if not reasons else Mode.OBSERVE,
        reasons=tuple(reasons),
        protective_cancel_allowed=authority,
    )


WriteKind = Literal["submit", "cancel", "protective_cancel", "operator_cleanup"]

_MINT_KEY = object()


class WriteToken:
    """Proof, re-checked at send time, that an exchange write is allowed. Only ``ArmingGate`` mints these."""

    __slots__ = ("_gate", "kind")

    def __init__(self, gate: ArmingGate, kind: WriteKind, *, _key: object = None) -> None:
        if _key is not _MINT_KEY:
            raise NotArmedError(("write tokens are minted only by btcbot.arming.ArmingGate",))
        self._gate = gate
        self.kind: WriteKind = kind

    def check_at_send(self, kind: Literal["submit", "cancel"]) -> None:
        """Called by the HTTP client right before a write leaves the process; raises NotArmedError."""
        if kind == "submit" and self.kind != "submit":
            raise NotArmedError((f"a {self.kind} token cannot submit an order",))
        self._gate.recheck(self.kind)

    def __repr__(self) -> str:
        return f"WriteToken(kind={self.kind!r})"


class ArmingGate:
    """Holds the start-up arming decision plus the in-process safe-mode latch (which nothing can clear)."""

    def __init__(self, decision: ArmingDecision) -> None:
        self._decision = decision
        self._latched_cause: str | None = None
        # Re-entrant: a second stop signal latches from its handler on the main thread, which may be inside
        # latch_safe_mode (the supervisor's escalation) at that very moment; a plain lock would deadlock there.
        self._lock = threading.RLock()

    @classmethod
    def from_settings(cls, settings: Settings, *, cli_dry_run: bool = False) -> ArmingGate:
        return cls(decide_arming(ArmingInputs.from_settings(settings, cli_dry_run=cli_dry_run)))

    @property
    def decision(self) -> ArmingDecision:
        return self._decision

    def latch_safe_mode(self, cause: str) -> bool:
        """Latch safe mode for the rest of the process. Returns True if this call set the latch."""
        with self._lock:
            if self._latched_cause is not None:
                return False
            self._latched_cause = cause
            return True

    @property
    def safe_mode_cause(self) -> str | None:
        return self._latched_cause

    @property
    def live(self) -> bool:
        """True iff new orders may be submitted right now."""
        return self._decision.live and self._latched_cause is None

    def blocking_reasons(self) -> tuple[str, ...]:
        reasons = self._decision.reasons
        if self._latched_cause is not None:
            reasons = (*reasons, rc.ARM_SAFE_MODE_LATCHED)
        return reasons

    def recheck(self, kind: WriteKind) -> None:
        if kind == "submit":
            if not self.live:
                raise NotArmedError(self.blocking_reasons())
        elif kind == "operator_cleanup":
            if rc.ARM_CREDENTIALS_MISSING in self._decision.reasons:
                raise NotArmedError((rc.ARM_CREDENTIALS_MISSING,))
        elif kind == "cancel":
            # An ordinary cancel (TTL, graceful stop) needs live, or standing authority once safe mode latched.
            if not (self.live or self._decision.protective_cancel_allowed):
                raise NotArmedError(self.blocking_reasons())
        elif not self._decision.protective_cancel_allowed:
            raise NotArmedError(self.blocking_reasons())

    def submit_token(self) -> WriteToken:
        self.recheck("submit")
        return WriteToken(self, "submit", _key=_MINT_KEY)

    def cancel_token(self) -> WriteToken:
        self.recheck("cancel")
        return WriteToken(self, "cancel", _key=_MINT_KEY)

    def protective_cancel_token(self) -> WriteToken:
        """The kill switch's (and safe mode's) cancel of this bot's own orders; nothing else."""
        self.recheck("protective_cancel")
        return WriteToken(self, "protective_cancel", _key=_MINT_KEY)

    def operator_cleanup_token(self, *, confirmed: bool) -> WriteToken:
        """``btcbot orders cancel-all --confirm``: cancel this scope's own orders, gates closed; never submit."""
        if not confirmed:
            raise NotArmedError((rc.OPERATOR_NOT_CONFIRMED,))
        self.recheck("operator_cleanup")
        return WriteToken(self, "operator_cleanup", _key=_MINT_KEY)
