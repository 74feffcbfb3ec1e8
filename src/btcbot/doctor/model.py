"""The doctor's vocabulary: a check result, the overall status and the exit code it maps to."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# Bump only when a field is removed or changes meaning; adding fields keeps the version.
JSON_SCHEMA_VERSION = 1


class Status(StrEnum):
    PASS = "PASS"  # noqa: S105 - a status word, not a password
    WARN = "WARN"
    FAIL = "FAIL"
    SKIP = "SKIP"


_EXIT = {Status.PASS: 0, Status.WARN: 1, Status.FAIL: 2}


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str  # stable identifier, e.g. "clock_offset"
    status: Status
    reason: str  # one line: what was found
    action: str  # one line: what the operator does next
    details: dict[str, Any] = field(default_factory=dict)  # JSON-safe values only

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "reason": self.reason,
            "action": self.action,
            "details": self.details,
        }


def overall_status(checks: list[CheckResult]) -> Status:
    """FAIL if any check fails, else WARN if any warns, else PASS. SKIP never raises nor lowers the verdict."""
    statuses = {c.status for c in checks}
    if Status.FAIL in statuses:
        return Status.FAIL
    if Status.WARN in statuses:
        return Status.WARN
    return Status.PASS


def exit_code_for(status: Status) -> int:
    return _EXIT.get(status, 2)


@dataclass(frozen=True, slots=True)
class DoctorReport:
    checks: list[CheckResult]
    generated_at: str  # ISO-8601 UTC
    window: str
    window_seconds: int
    offline: bool

    @property
    def status(self) -> Status:
        return overall_status(self.checks)

    @property
    def exit_code(self) -> int:
        return exit_code_for(self.status)

    def to_json(self) -> dict[str, Any]:
        counts = {s.value: sum(1 for c in self.checks if c.status is s) for s in Status}
        return {
            "schema_version": JSON_SCHEMA_VERSION,
            "doctor_status": self.status.value,
            "exit_code": self.exit_code,
            "generated_at": self.generated_at,
            "window": self.window,
            "window_seconds": self.window_seconds,
            "offline": self.offline,
            "counts": counts,
            "checks": [c.to_json() for c in self.checks],
        }
