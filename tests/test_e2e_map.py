"""The stage switch in a real browser: the same map, recoloured, not a new map (issue 12).

Debian chromium via Playwright, offline (see ``tests/test_e2e_browser.py``):
the demo's map gets a mark in its frame and on its Leaflet map object; after
the switch to another stage the mark is still there (streamlit-folium kept
the map) and every village polygon has the new stage's colour.
"""

from __future__ import annotations

import re
import time

import pytest
from test_e2e_browser import ARTIFACTS, _choose, offline_page, serve_app

from riskmap import pipeline
from riskmap.mapping import CATEGORY_COLORS

pytestmark = pytest.mark.e2e

_FILLS = """
() => {
    const out = {};
    window.map.eachLayer(l => {
        const p = l.feature && l.feature.properties;
        if (p && p.kind === 'village') out[p.id] = [l.options.fillColor, l._path ? l._path.getAttribute('fill') : null];
    });
    return {fills: out, mark: window.__rm_mark || null, mapMark: window.map.__rm_mark || null,
            legend: document.querySelector('.riskmap-legend').innerText};
}
"""


@pytest.fixture(scope="module")
def server():
    yield from serve_app()


def _frame(page, timeout: float = 60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for frame in page.frames:
            if "st_folium" in frame.url:
                try:
                    if frame.evaluate(
                        "() => !!(window.map && window.map.eachLayer && document.querySelector('.riskmap-legend'))"
                    ):
                        return frame
                except Exception:  # the frame is being replaced
                    pass
        page.wait_for_timeout(200)
    raise AssertionError("the map did not appear")


def _expected(result, stage: str) -> dict[str, str]:
    colours = result.villages[f"level_{stage}"].astype(str).map(CATEGORY_COLORS)
    return dict(zip(result.villages["village_code"], colours, strict=True))


def test_a_stage_switch_recolours_the_same_map(server):
    demo = pipeline.run()
    with offline_page(server) as (page, blocked, dialogs):
        frame = _frame(page)
        page.wait_for_timeout(1000)
        before = frame.evaluate(_FILLS)
        assert before["legend"].startswith("Kampanye")
        assert {k: v[0] for k, v in before["fills"].items()} == _expected(demo, "campaign")
        frame.evaluate("() => { window.__rm_mark = 'kept'; window.map.__rm_mark = 'kept'; }")

        _choose(page, "Tahapan", "Rekapitulasi Suara")
        deadline = time.time() + 60
        after = before
        while time.time() < deadline:
            after = _frame(page).evaluate(_FILLS)
            if after["legend"].startswith("Rekapitulasi"):
                break
            page.wait_for_timeout(200)
        page.screenshot(path=str(ARTIFACTS / "stage_switch_recap.png"), full_page=True)
        assert after["legend"].startswith("Rekapitulasi")
        assert after["mark"] == "kept" and after["mapMark"] == "kept", "a new map was created"
        expected = _expected(demo, "recap")
        assert expected != _expected(demo, "campaign")
        assert {k: v[0] for k, v in after["fills"].items()} == expected
        assert {k: v[1] for k, v in after["fills"].items()} == expected  # the SVG paths were repainted
        assert sum(1 for f in page.frames if "st_folium" in f.url) == 1
        assert blocked == [] and dialogs == []


def test_the_maps_stage_buttons_recolour_at_once_and_the_page_follows(server):
    """Issue 12: a stage button on the map recolours it in the browser, and the page (stage box) follows."""
    demo = pipeline.run()
    with offline_page(server) as (page, blocked, dialogs):
        frame = _frame(page)
        page.wait_for_timeout(1000)
        buttons = frame.locator("button.rm-stage-button")
        assert buttons.all_inner_texts() == ["Kampanye", "Pemungutan Suara", "Penghitungan Suara", "Rekapitulasi Suara"]
        assert buttons.nth(0).get_attribute("aria-pressed") == "true"
        frame.evaluate("() => { window.__rm_mark = 'kept'; }")
        # recoloured in the click's own task: before the server could have answered
        now = frame.evaluate(
            """() => {
                document.querySelector('button.rm-stage-button[data-rm-stage=counting]').click();
                const out = {};
                window.map.eachLayer(l => {
                    const p = l.feature && l.feature.properties;
                    if (p && p.kind === 'village') out[p.id] = l.options.fillColor;
                });
                return {fills: out, legend: document.querySelector('.riskmap-legend').innerText};
            }"""
        )
        assert now["fills"] == _expected(demo, "counting") != _expected(demo, "campaign")
        assert now["legend"].startswith("Penghitungan")
        # the page follows: the sidebar's stage box and the caption name the stage; the map is the same one
        page.wait_for_function(
            "() => { const b = document.querySelector('[data-testid=stSidebar] input[aria-label=Tahapan]');"
            " return b && b.value === 'Penghitungan Suara'; }",
            timeout=60_000,
        )
        page.get_by_text(re.compile(r"^Data per: .* · Penghitungan Suara$")).wait_for(timeout=30_000)
        frame = _frame(page)
        assert frame.evaluate("() => window.__rm_mark") == "kept", "a new map was created"
        assert buttons.nth(2).get_attribute("aria-pressed") == "true"
        assert {k: v[0] for k, v in frame.evaluate(_FILLS)["fills"].items()} == _expected(demo, "counting")
        page.screenshot(path=str(ARTIFACTS / "stage_buttons_counting.png"), full_page=True)
        assert blocked == [] and dialogs == []


def test_the_hidden_incident_layer_is_made_when_first_shown(server):
    """Issue 12: the incident markers (with their popups) are made only when the layer is turned on."""
    demo = pipeline.run()
    inc = demo.layers.incidents
    n = int((inc["precision"] != "region").sum())
    with offline_page(server) as (page, blocked, dialogs):
        frame = _frame(page)
        page.wait_for_timeout(1000)
        count = (
            "() => Object.keys(window).filter(k => k.startsWith('fast_marker_cluster_'))"
            ".map(k => window[k].getLayers().length)"
        )
        assert frame.evaluate(count) == [0]  # nothing made while hidden
        assert frame.locator(".rm-cluster-incident").count() == 0
        frame.evaluate(
            """() => [...document.querySelectorAll('.leaflet-control-layers-overlays label')]
                .find(l => l.textContent.trim() === 'Insiden').querySelector('input').click()"""
        )
        frame.wait_for_function("() => document.querySelectorAll('.rm-cluster-incident').length > 0", timeout=30_000)
        assert frame.evaluate(count) == [n] and n > 0  # every located incident, once
        page.screenshot(path=str(ARTIFACTS / "incident_layer_on.png"), full_page=True)
        assert blocked == [] and dialogs == []
