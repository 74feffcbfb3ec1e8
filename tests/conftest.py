"""Shared fixtures: every test starts from a clean, baseline-safe environment."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from btcbot.settings import Settings

# Variables btcbot reads; a developer's shell must never leak into a test.
_OWN_VARS = {name.upper() for name in Settings.model_fields}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    for key in list(os.environ):
        if key.upper() in _OWN_VARS or key.upper().startswith("OTEL_"):
            monkeypatch.delenv(key, raising=False)
    # The instance lock lives in a per-user directory, not beside the DB: each test gets its own (subprocesses
    # inherit it), so parallel tests never contend and none writes to the developer's home.
    monkeypatch.setenv("LOCK_DIR", str(tmp_path_factory.mktemp("locks")))
    yield
