"""Every test and doctest books its privacy spends in a throw-away ledger, never ~/.umbra."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UMBRA_LEDGER", str(tmp_path / "umbra-ledger.jsonl"))
