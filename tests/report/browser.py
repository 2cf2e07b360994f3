"""Open an HTML report in headless Chromium (playwright) and run checks in the page."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("ASYNCFLOW_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason=f"no Chromium at {CHROMIUM} (.ci/run installs it; in CI its absence fails)",
)


@contextmanager
def opened(path: Path, profile: Path, errors: list[str]) -> Iterator[Any]:
    """A Chromium tab showing ``path`` once every chart is drawn; errors collected."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (dev extra)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=ARGS,
            headless=True,
            viewport={"width": 1300, "height": 900},
        )
        try:
            tab = browser.new_page()
            tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            tab.on("pageerror", lambda e: errors.append(str(e)))
            tab.on("dialog", lambda d: errors.append(f"dialog: {d.message}"))
            tab.goto(path.as_uri(), wait_until="load")
            tab.wait_for_selector("body[data-charts-drawn]", timeout=30_000)
            yield tab
        finally:
            browser.close()


def x_ranges(tab: Any, ids: list[str]) -> dict[str, list[float]]:
    """The current x-axis range of each chart."""
    script: Callable[..., Any] = tab.evaluate
    ranges: dict[str, list[float]] = script(
        "ids => Object.fromEntries(ids.map(id => "
        "[id, document.getElementById(id)._fullLayout.xaxis.range.map(Number)]))",
        ids,
    )
    return ranges
