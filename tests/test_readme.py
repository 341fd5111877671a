"""The README's Python quickstart runs as written (on the demo table saved as patients.csv)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_python_quickstart_runs(demo: pd.DataFrame, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert code is not None
    monkeypatch.chdir(tmp_path)
    demo.rename(columns={"cens": "outcome"}).to_csv("patients.csv", index=False)
    exec(compile(code.group(1), "README.md", "exec"), {})
    for name in ("report.html", "patients.umbra", "synthetic.parquet"):
        assert (tmp_path / name).is_file(), name
