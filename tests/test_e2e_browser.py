"""The planner's journey in a real browser (Debian chromium driven by Playwright), offline.

Starts ``streamlit run app.py`` on a free local port, blocks every request to
a host that is not this machine, and walks the page the way a planner does:
the map loads with one polygon per village, the stage switch recolours it, a
tooltip appears on hover, a click explains a village, the GeoJSON download
parses. A screenshot is kept in ``test-artifacts/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
"""Flags of every browser test's chromium: no sandbox (root in CI), nothing that phones home."""
LOCAL = ("http://localhost", "http://127.0.0.1", "data:", "blob:", "about:")

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_app(env: dict[str, str] | None = None) -> Iterator[str]:
    """Start `streamlit run app.py` on a free local port, yield its URL, stop it (one per test module).

    ``env``: environment variables added for the server (e.g. ``RISKMAP_DB``).
    """
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is missing: run `bash scripts/setup.sh --test` (it installs Debian's chromium)")
    port = _free_port()
    env = {**os.environ, "RISKMAP_TILES": "", **(env or {})}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("streamlit did not start:\n" + proc.stdout.read().decode(errors="replace")[-3000:])
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def server():
    yield from serve_app()


@contextlib.contextmanager
def offline_page(url: str, before_goto: Any = None) -> Iterator[tuple[Any, list[str], list[str]]]:
    """Debian chromium on ``url`` with every request off this machine blocked.

    Yields the page, the blocked URLs and the messages of any dialog (alert, confirm) the page opened.
    ``before_goto(page)`` is called before the page loads (to listen to what it receives).
    """
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
        )
        context = browser.new_context(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
        blocked: list[str] = []
        dialogs: list[str] = []

        def route(r):
            if r.request.url.startswith(LOCAL):
                return r.continue_()
            blocked.append(r.request.url)
            return r.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        if before_goto is not None:
            before_goto(page)
        page.goto(url)
        yield page, blocked, dialogs
        context.close()
        browser.close()


@pytest.fixture(scope="module")
def browser_page(server):
    with offline_page(server) as opened:
        yield opened


def _map_frame(page, min_paths: int = 1, timeout: float = 60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for frame in page.frames:
            if "st_folium" not in frame.url:
                continue
            try:
                if frame.locator("path.rm-village").count() >= min_paths:
                    return frame
            except Exception:  # the frame is being replaced by a rerun
                pass
        page.wait_for_timeout(300)
    raise AssertionError("the map did not appear")


def _fills(frame) -> list[str]:
    return frame.eval_on_selector_all("path.rm-village", "els => els.map(e => e.getAttribute('fill'))")


def _choose(page, label: str, option: str) -> None:
    """Pick an option of a Streamlit selectbox by its visible label."""
    box = page.get_by_label(label, exact=False).first
    box.click()
    page.get_by_role("option", name=option, exact=True).click()


def test_planner_journey(browser_page):
    page, blocked, dialogs = browser_page
    ARTIFACTS.mkdir(exist_ok=True)

    # 1. the page loads offline and the map has one polygon per demo village
    frame = _map_frame(page, 51)
    assert frame.locator("path.rm-village").count() == 51
    assert frame.locator(".riskmap-legend").inner_text().startswith("Kampanye")
    page.wait_for_timeout(2000)  # let the control icons paint
    page.screenshot(path=str(ARTIFACTS / "planner_map_campaign.png"), full_page=True)
    campaign = _fills(frame)
    assert set(campaign) <= {"#1a9641", "#fdae61", "#d7191c"}

    # 2. switching the stage recolours the villages
    _choose(page, "Tahapan", "Rekapitulasi Suara")
    deadline = time.time() + 60
    while time.time() < deadline:
        frame = _map_frame(page, 51)
        try:
            if "Rekapitulasi" in frame.locator(".riskmap-legend").inner_text():
                break
        except Exception:
            pass
        page.wait_for_timeout(300)
    recap = _fills(frame)
    assert len(recap) == 51 and recap != campaign

    # 3. a tooltip on hover names the village, its score and category
    frame.locator("path.rm-village").nth(0).dispatch_event("mouseover")
    tip = frame.locator(".leaflet-tooltip").last
    tip.wait_for(timeout=10_000)
    text = tip.inner_text()
    assert "Skor" in text and "Kategori" in text

    # 4. clicking a village explains it beside the map
    target = frame.locator("path.rm-village").nth(10)
    target.dispatch_event("mouseover")
    village = frame.locator(".leaflet-tooltip").last.locator("b").first.inner_text().split(" (")[0]
    target.dispatch_event("click")
    headline = page.locator("[data-testid=stMarkdown]").filter(has_text="·").filter(has_text=village)
    headline.first.wait_for(timeout=30_000)
    assert any(c in headline.first.inner_text() for c in ("Kurang rawan", "Rawan", "Sangat rawan"))
    page.screenshot(path=str(ARTIFACTS / "planner_explanation.png"), full_page=True)

    # 5. the GeoJSON download of the current view parses and holds every village
    page.get_by_role("tab", name="Unduh").click()
    with page.expect_download(timeout=30_000) as info:
        page.get_by_role("button", name="Kelurahan (GeoJSON)").click()
    data = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection" and len(data["features"]) == 51
    props = data["features"][0]["properties"]
    assert {"village_code", "risk_recap", "level_recap"} <= set(props)

    # nothing tried to leave the machine, and the XSS probe in the demo ran nothing
    assert blocked == []
    assert dialogs == []
    assert _map_frame(page, 51).locator("img[src='x']").count() == 0


def _checked(page, label: str) -> list[str]:
    """The chosen option(s) of the Streamlit radio labelled ``label``."""
    radio = page.locator("[data-testid=stRadio]").filter(has_text=label).first
    return [
        o.inner_text().strip()
        for o in radio.locator("label").all()
        if o.locator("input[type=radio]").count() and o.locator("input[type=radio]").is_checked()
    ]


def _shown_choice(page, label: str) -> str:
    """The text a Streamlit selectbox labelled ``label`` shows (its chosen option)."""
    return page.get_by_role("combobox", name=label).first.input_value().strip()


def _wait_text(page, text: str, timeout: float = 60.0) -> None:
    page.get_by_text(text, exact=True).first.wait_for(timeout=timeout * 1000)


def _legend(page, starts: str, timeout: float = 60.0) -> str:
    """The map legend's text once it starts with ``starts`` (the map frame is replaced while a rerun draws)."""
    deadline = time.time() + timeout
    text = ""
    while time.time() < deadline:
        try:
            text = _map_frame(page, 51).locator(".riskmap-legend").inner_text(timeout=5_000)
            if text.startswith(starts):
                return text
        except Exception:  # the frame was replaced by a rerun
            pass
        page.wait_for_timeout(300)
    raise AssertionError(f"the legend never started with {starts!r}: {text!r}")


def test_planner_switches_language_and_back(server, browser_page):
    """Journey "planner switches language": every choice stays chosen, shown in the new language.

    A new tab of the module's browser (one Playwright per module): a new session, same offline routing.
    """
    first, blocked, _ = browser_page
    page = first.context.new_page()
    page.goto(server)
    try:
        _map_frame(page, 51)
        _choose(page, "Tahapan", "Pemungutan Suara")
        _legend(page, "Pemungutan Suara")
        page.get_by_text("English", exact=True).click()
        _wait_text(page, "Pilkada Security Risk Map")
        _legend(page, "Voting")
        page.wait_for_timeout(1500)
        page.screenshot(path=str(ARTIFACTS / "planner_english.png"), full_page=True)
        assert _checked(page, "Data") == ["Demo data (synthetic)"]
        assert _checked(page, "View") == ["Risk map"]
        assert _shown_choice(page, "Stage") == "Voting"
        assert _shown_choice(page, "Click a village") == "(none)"

        page.get_by_text("Indonesia", exact=True).click()
        _wait_text(page, "Peta Kerawanan Pilkada")
        _legend(page, "Pemungutan Suara")
        assert _checked(page, "Data") == ["Data demo (sintetis)"]
        assert _checked(page, "Tampilan") == ["Peta kerawanan"]
        assert _shown_choice(page, "Tahapan") == "Pemungutan Suara"
        assert _shown_choice(page, "Klik kelurahan") == "(belum dipilih)"
        assert blocked == []
    finally:
        page.close()
