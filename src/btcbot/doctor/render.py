"""Text and JSON renderings of a doctor report (the JSON schema is documented in docs/doctor.md)."""

from __future__ import annotations

import json

from btcbot.doctor.model import DoctorReport, Status


def render_text(report: DoctorReport) -> str:
    width = max((len(c.name) for c in report.checks), default=10)
    lines = [f"btcbot doctor  window={report.window}{'  (offline)' if report.offline else ''}"]
    for c in report.checks:
        line = f"{c.status.value:<4}  {c.name:<{width}}  {c.reason}"
        if c.status is not Status.PASS and c.action and c.action != "none":
            line += f"  -> {c.action}"
        lines.append(line)
    counts = report.to_json()["counts"]
    lines.append("summary: " + " ".join(f"{k}={v}" for k, v in counts.items()))
    lines.append(f"doctor_status={report.status.value}")
    return "\n".join(lines)


def render_json(report: DoctorReport) -> str:
    return json.dumps(report.to_json(), indent=2, sort_keys=False, default=str)
