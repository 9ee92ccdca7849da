"""The office's journeys in a real browser (Debian chromium + Playwright), offline, on a real SQLite store.

The app is served with ``RISKMAP_DB`` pointing at a fresh SQLite file and
``RISKMAP_SERVE=network`` (login always required). What the browser
*receives* is checked, not only what it shows: every websocket frame the page
gets (Streamlit's protobuf messages, where text travels as UTF-8) and every
HTTP response are recorded from before the first load.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import geopandas as gpd
import pytest
import shapely
from conftest import _pg_database
from playwright.sync_api import sync_playwright
from test_e2e_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, LOCAL, _map_frame, serve_app

from riskmap import pipeline
from riskmap.store import Role, Store

pytestmark = pytest.mark.e2e

PASSWORD = "kata-sandi-uji-123"
USERS = {"vera": Role.VIEWER, "oscar": Role.OFFICER, "olga": Role.OFFICER, "paula": Role.PLANNER, "adi": Role.ADMIN}
PLAN_MARKERS = ("Penempatan Personel", "Personnel deployment", "Polisi tersedia", "rencana_", "personel_kecamatan")
"""Text that only the personnel-plan page sends (its page name, its inputs, its download file names)."""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def office(request, tmp_path_factory) -> Iterator[tuple[str, str]]:
    """A served app on a fresh store (SQLite, then PostgreSQL) with one account per role: (app URL, database URL)."""
    drop = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('office') / 'riskmap.sqlite'}"
    else:
        base = os.environ.get("RISKMAP_TEST_PG", "").strip()
        if not base:
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail("CI=true but RISKMAP_TEST_PG is not set: the PostgreSQL tests must run in CI")
            pytest.skip('RISKMAP_TEST_PG not set (start a server: eval "$(bash scripts/test_postgres.sh start)")')
        url, drop = _pg_database(base)
    store = Store.open(url)
    for name, role in USERS.items():
        store.add_user(name, PASSWORD, role)
    store.close()
    try:
        for app_url in serve_app({"RISKMAP_DB": url, "RISKMAP_SERVE": "network"}):
            yield app_url, url
    finally:
        if drop is not None:
            drop()


class Received:
    """Everything a page received: websocket frames and HTTP responses (URL, body)."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.responses: list[tuple[str, bytes]] = []

    def attach(self, page: Any) -> None:
        def on_ws(ws: Any) -> None:
            ws.on("framereceived", lambda p: self.frames.append(p if isinstance(p, bytes) else str(p).encode()))

        def on_response(r: Any) -> None:
            try:
                body = r.body()
            except Exception:  # redirects and aborted requests have none
                body = b""
            self.responses.append((r.url, body))

        page.on("websocket", on_ws)
        page.on("response", on_response)

    def holds(self, text: str) -> bool:
        needle = text.encode("utf-8")
        return any(needle in f for f in self.frames) or any(needle in b for _, b in self.responses)

    def urls(self) -> list[str]:
        """Paths of the HTTP responses (Streamlit serves downloads and media under ``/media/``)."""
        return [urlparse(u).path for u, _ in self.responses]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One Debian chromium for the module; each session gets its own context (cookies, storage)."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextlib.contextmanager
def watched_page(browser: Any, url: str) -> Iterator[tuple[Any, Received]]:
    """A new browser session on ``url``, offline (as :func:`test_e2e_browser.offline_page`), recording what it gets."""
    context = browser.new_context(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
    blocked: list[str] = []
    dialogs: list[str] = []

    def route(r: Any) -> Any:
        if r.request.url.startswith(LOCAL):
            return r.continue_()
        blocked.append(r.request.url)
        return r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.set_default_timeout(120_000)  # the machine may be shared: a script run can take a while
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    got = Received()
    got.attach(page)
    page.goto(url)
    try:
        yield page, got
    finally:
        context.close()
    assert blocked == [] and dialogs == []


def _sidebar(page: Any) -> Any:
    return page.locator("[data-testid=stSidebar]")


def _login(page: Any, name: str) -> None:
    page.get_by_label("Nama pengguna").fill(name)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk", exact=True).click()
    _sidebar(page).get_by_text(name, exact=True).wait_for(timeout=60_000)


def _go(page: Any, label: str) -> None:
    _sidebar(page).get_by_text(label, exact=True).click()
    _settle(page)


def _settle(page: Any, timeout: float = 60.0) -> None:
    """Wait until the script run is over (no running indicator and no stale element for 0.6 s)."""
    deadline, quiet = time.time() + timeout, 0
    while time.time() < deadline and quiet < 3:
        busy = page.locator("[data-testid=stStatusWidget]").count() + page.locator("[data-stale=true]").count()
        quiet = 0 if busy else quiet + 1
        page.wait_for_timeout(200)


def _wait_text(page: Any, text: str, timeout: float = 60_000) -> Any:
    loc = page.get_by_text(text).first
    loc.wait_for(timeout=timeout)
    return loc


def _demo_villages() -> gpd.GeoDataFrame:
    return pipeline.load(demo_data=True).villages


def _names() -> list[str]:
    return sorted(set(_demo_villages()["village_name"]))


def _downloaded_villages(page: Any) -> dict[str, dict[str, Any]]:
    """The planner's villages GeoJSON of the current view, by village code."""
    page.get_by_role("tab", name="Unduh").click()
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="Kelurahan (GeoJSON)").click()
    data = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    return {f["properties"]["village_code"]: f["properties"] for f in data["features"]}


def _incident_totals(props: dict[str, Any]) -> float:
    return sum(float(v) for k, v in props.items() if k.startswith("incidents_") and v is not None)


def test_without_login_no_data_reaches_the_page(office, chromium):
    url, _ = office
    ARTIFACTS.mkdir(exist_ok=True)
    with watched_page(chromium, url) as (page, got):
        _wait_text(page, "Masuk ke riskmap")
        page.get_by_label("Kata sandi").wait_for(timeout=30_000)
        page.wait_for_timeout(3000)  # everything the server would send has arrived
        page.screenshot(path=str(ARTIFACTS / "office_login.png"), full_page=True)
        assert got.frames, "the page's websocket messages were recorded"
        names = _names()
        assert len(names) == 51
        leaked = [n for n in names if got.holds(n)]
        assert leaked == [], f"village names sent before login: {leaked}"
        for marker in (*PLAN_MARKERS, "rm-village", "st_folium", "risk_campaign", "Unggah file", "sintetis"):
            assert not got.holds(marker), f"{marker!r} sent before login"
        assert not [u for u in got.urls() if u.startswith("/media/") or "streamlit_folium" in u]
        # a wrong password is refused with a plain message, and still nothing is sent
        page.get_by_label("Nama pengguna").fill("paula")
        page.get_by_label("Kata sandi").fill("salah-sekali")
        page.get_by_role("button", name="Masuk", exact=True).click()
        _wait_text(page, "kata sandi salah")
        page.wait_for_timeout(1000)
        assert not any(got.holds(n) for n in names[:10])
        assert not got.holds("rm-village")


def test_viewer_never_receives_the_personnel_plan(office, chromium):
    url, _ = office
    with watched_page(chromium, url) as (page, got):
        _login(page, "vera")
        frame = _map_frame(page, 51)
        _wait_text(page, "Peta Kerawanan Pilkada")
        # the demo's surges (riskmap.alerts.surges) are marked on the map: kecamatan and kab/kota
        frame.locator(".rm-alert").first.wait_for(timeout=30_000)
        assert frame.locator(".rm-alert-district").count() >= 1 and frame.locator(".rm-alert-regency").count() >= 1
        page.wait_for_timeout(1500)
        page.screenshot(path=str(ARTIFACTS / "office_viewer_alerts.png"))
        _go(page, "Peringatan dini")
        _wait_text(page, "Peringatan dini: lonjakan insiden")
        _settle(page)
        page.screenshot(path=str(ARTIFACTS / "office_alert_list.png"))
        _go(page, "Peta kerawanan")
        sidebar = _sidebar(page).inner_text()
        assert "Peringatan dini" in sidebar
        for hidden in ("Penempatan Personel", "Catat insiden", "Verifikasi insiden", "Kelola pengguna", "Unggah"):
            assert hidden not in sidebar
        page.get_by_role("tab", name="Peringkat kelurahan").wait_for(timeout=60_000)  # rankings
        assert page.get_by_role("tab", name="Unduh").count() == 0  # no exports
        page.wait_for_timeout(2000)
        for marker in PLAN_MARKERS:
            assert not got.holds(marker), f"{marker!r} sent to a viewer"
        assert not [u for u in got.urls() if u.startswith("/media/") and ("geojson" in u or "pdf" in u)]
    # the same probe finds the plan when a planner opens it: the check above can fail
    with watched_page(chromium, url) as (page, got):
        _login(page, "paula")
        _map_frame(page, 51)
        _go(page, "Penempatan Personel")
        _wait_text(page, "Penempatan Personel")
        page.wait_for_timeout(2000)
        assert got.holds("Penempatan Personel")


def _click_village(page: Any, k: int) -> tuple[float, float]:
    frame = _map_frame(page, 51)
    frame.locator("path.rm-village").nth(k).click(force=True)
    loc = _wait_text(page, "Titik:")
    deadline = time.time() + 30
    while time.time() < deadline:
        text = loc.inner_text()
        if "," in text:
            lat, lon = text.split(":", 1)[1].split(",")
            return float(lat), float(lon)
        page.wait_for_timeout(200)
    raise AssertionError("the clicked point is not shown")


def test_officer_logs_by_click_planner_verifies_it_is_scored(office, chromium):
    url, db = office
    store = Store.open(db)
    before_ids = set(store.incidents(status=None)["incident_id"])
    with watched_page(chromium, url) as (planner, _):
        _login(planner, "paula")
        _map_frame(planner, 51)
        before = _downloaded_villages(planner)

        with watched_page(chromium, url) as (page, _):
            _login(page, "oscar")
            _go(page, "Catat insiden")
            lat, lon = _click_village(page, 20)
            _settle(page)
            deadline = time.time() + 30
            while _map_frame(page, 51).locator("path.rm-pin").count() == 0:  # the pin is drawn
                assert time.time() < deadline, "no pin at the clicked point"
                page.wait_for_timeout(300)
            page.wait_for_timeout(1000)
            page.screenshot(path=str(ARTIFACTS / "office_incident_pin.png"))
            for part, value in (("year", "2024"), ("month", "12"), ("day", "01")):
                page.get_by_role("spinbutton", name=f"{part}, Tanggal", exact=True).click()
                page.keyboard.type(value)
            page.get_by_label("Uraian kejadian").fill("Uji e2e: baliho dibakar di persimpangan")
            page.wait_for_timeout(500)
            page.screenshot(path=str(ARTIFACTS / "office_incident_form.png"), full_page=True)
            page.get_by_role("button", name="Simpan insiden").click()
            _wait_text(page, "Tersimpan (nomor")
            # the officer sees their own entry
            _wait_text(page, "Insiden yang saya catat")
            page.screenshot(path=str(ARTIFACTS / "office_incident_saved.png"), full_page=True)

        logged = store.incidents(status=None)
        new = logged[~logged["incident_id"].isin(before_ids)]
        assert len(new) == 1
        row = new.iloc[0]
        assert row["author"] == "oscar" and row["status"] == "unverified" and row["via"] == "app"
        assert str(row["date"])[:10] == "2024-12-01"
        assert abs(row["lat"] - lat) < 1e-5 and abs(row["lon"] - lon) < 1e-5
        vs = _demo_villages()
        inside = vs[vs.contains(shapely.Point(row["lon"], row["lat"]))]
        assert len(inside) == 1, "the clicked point lies in one village"
        code = inside["village_code"].iloc[0]

        # unverified: not in the planner's scores yet
        planner.reload()
        _login(planner, "paula")
        _go(planner, "Verifikasi insiden")
        _wait_text(planner, "Verifikasi insiden yang dicatat")
        planner.get_by_text("Pilih semua (1)").click()
        _settle(planner)
        planner.screenshot(path=str(ARTIFACTS / "office_verify.png"))
        planner.get_by_role("button", name="Verifikasi", exact=True).click()
        _wait_text(planner, "1 insiden: terverifikasi")
        assert store.incidents(status=("verified",))["incident_id"].isin(new["incident_id"]).sum() == 1
        _go(planner, "Peta kerawanan")
        _map_frame(planner, 51)
        after = _downloaded_villages(planner)
    assert _incident_totals(after[code]) > _incident_totals(before[code]) + 0.5
    others = [c for c in before if c != code and _incident_totals(after[c]) != _incident_totals(before[c])]
    assert others == []
    audit = store.audit_log()
    assert {"login", "incident_add", "incident_verify", "export"} <= set(audit["action"])
    store.close()


def test_two_sessions_log_at_the_same_time(office, chromium):
    url, db = office
    store = Store.open(db)
    before_ids = set(store.incidents(status=None)["incident_id"])
    texts = {"oscar": "Uji serentak A: unjuk rasa di kantor PPK", "olga": "Uji serentak B: intimidasi pemilih"}
    points = {"oscar": "-10.1725, 123.6070", "olga": "10°09'50\" LS 123°35'40\" BT"}
    with watched_page(chromium, url) as (a, _), watched_page(chromium, url) as (b, _):
        pages = {"oscar": a, "olga": b}
        for name, page in pages.items():
            _login(page, name)
            _go(page, "Catat insiden")
            page.get_by_text("Ketik koordinat", exact=True).click()
            _settle(page)
            page.get_by_role("textbox", name="Koordinat (lintang, bujur)").fill(points[name])
            page.get_by_label("Uraian kejadian").fill(texts[name])
        for page in pages.values():  # both saves go out before either answer comes back
            page.get_by_role("button", name="Simpan insiden").click(no_wait_after=True)
        for page in pages.values():
            _wait_text(page, "Tersimpan (nomor")
    logged = store.incidents(status=None)
    new = logged[~logged["incident_id"].isin(before_ids)]
    assert sorted(new["description"]) == sorted(texts.values())
    assert new["incident_id"].is_unique
    assert dict(zip(new["description"], new["author"], strict=True)) == {v: k for k, v in texts.items()}
    store.close()
