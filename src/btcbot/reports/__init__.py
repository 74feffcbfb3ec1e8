"""Operator reports over the state DB: ``stage7-report``, ``stage7-export`` and ``stage7-alerts``."""

from btcbot.reports.alerts import Alert, Severity, Thresholds, alerts_exit_code, derive_alerts
from btcbot.reports.export import EXPORT_COLUMNS, ExportFormat, export_records
from btcbot.reports.records import Window, load_window
from btcbot.reports.summary import Report, Summary, build_report, percentile

__all__ = [
    "EXPORT_COLUMNS",
    "Alert",
    "ExportFormat",
    "Report",
    "Severity",
    "Summary",
    "Thresholds",
    "Window",
    "alerts_exit_code",
    "build_report",
    "derive_alerts",
    "export_records",
    "load_window",
    "percentile",
]
