"""The HTML report in a real browser: it loads offline, logs no errors, shows every section."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

import umbra
from umbra.release import split_holdout

SECTIONS = ("verdict", "overview", "fidelity", "columns", "correlations", "utility", "privacy",
            "distances", "training")  # fmt: skip
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_report_renders_in_chromium(demo: pd.DataFrame, tmp_path: Path) -> None:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: `make test` installs it (apt-get install chromium)")
        pytest.skip("chromium is not installed; `make test` installs it with apt-get")
    from playwright.sync_api import sync_playwright

    train, holdout = split_holdout(demo, 0.2, random_state=0)
    fake = umbra.create("copula", random_state=0).fit(train).sample(len(train))
    page_path = tmp_path / "report.html"
    umbra.evaluate(train, fake, holdout=holdout, target="horTh").to_html(page_path)
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else
                problems.append(f"network request: {r.url}"))  # fmt: skip
        page.goto(page_path.as_uri())
        visible = {s: page.locator(f"#{s}").is_visible() for s in SECTIONS}
        charts = page.locator("#columns svg").count()
        verdict = page.locator("#verdict").inner_text()
        browser.close()
    assert problems == []
    assert all(visible.values()), visible
    assert charts == len(demo.columns)
    assert "Verdict: pass" in verdict
