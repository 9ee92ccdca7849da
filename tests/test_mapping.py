"""The stage map: offline assets, one feature per village, escaped untrusted text."""

from __future__ import annotations

import re

import pytest

from riskmap import pipeline
from riskmap.mapping import CATEGORY_COLORS, build_map, display_geometry, village_features
from riskmap.view import ViewFilter, make_view


@pytest.fixture(scope="module")
def demo():
    return pipeline.run()


def _html(result, stage="voting", **kw):
    view = make_view(result, stage, kw.pop("filters", None))
    return build_map(view, result.config, **kw).get_root().render()


def test_assets_are_local(demo):
    html = _html(demo)
    links = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert links and all(link.startswith("/app/static/vendor/") for link in links)


def test_untrusted_text_is_escaped(demo):
    html = _html(demo)
    # the demo carries an XSS probe in one incident description
    assert "<script>alert(1)</script>" not in html
    assert "onerror=alert(2)>" not in html
    decoded = html.replace("\\u0026", "&").replace("\\u003c", "<").replace("\\u003e", ">")
    assert "Uji keamanan: &lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(2)&gt;" in decoded


def test_hostile_village_name_is_escaped(demo):
    villages = demo.villages.copy()
    villages.loc[0, "village_name"] = "<img src=x onerror=alert(3)>"
    view = make_view(demo, "voting")
    view.villages = villages
    feats = village_features(view, display_geometry(villages))
    tip = feats["features"][0]["properties"]["tip"]
    assert "<img" not in tip and "&lt;img src=x onerror=alert(3)&gt;" in tip


def test_one_feature_per_village_coloured_by_category(demo):
    view = make_view(demo, "recap")
    feats = village_features(view, display_geometry(view.villages))
    assert len(feats["features"]) == 51
    assert {f["properties"]["level"] for f in feats["features"]} <= set(CATEGORY_COLORS)


def test_filters_restrict_the_map(demo):
    html_all = _html(demo)
    flt = ViewFilter(districts=("Alak",))
    view = make_view(demo, "voting", flt)
    assert set(view.villages["district"]) == {"Alak"}
    assert set(view.tps["village_code"]) <= set(view.villages["village_code"])
    assert len(_html(demo, filters=flt)) < len(html_all)


def test_tiles_only_when_configured(demo):
    assert "tileLayer" not in _html(demo)
    assert "tile.example.org" in _html(demo, tiles_url="https://tile.example.org/{z}/{x}/{y}.png")


def test_display_geometry_keeps_shared_borders(demo):
    geoms = display_geometry(demo.villages, tolerance_m=50)
    import shapely

    assert all(shapely.is_valid(geoms))
    overlap = sum(shapely.area(shapely.intersection(geoms[i], geoms[j])) for i in range(10) for j in range(10) if i < j)
    assert overlap < 1e-10


def test_verbatim_elements_render_exactly_as_branca_would(demo):
    """The render shortcut (no Jinja re-lexing of rendered scripts) changes no byte of the page."""
    from branca import element

    def normalised(html: str) -> str:
        return re.sub(r"[0-9a-f]{32}", "ID", html)

    fast = normalised(_html(demo, "recap"))
    patched = element.Element.__init__
    element.Element.__init__ = patched._original
    try:
        slow = normalised(_html(demo, "recap"))
    finally:
        element.Element.__init__ = patched
    assert fast == slow
