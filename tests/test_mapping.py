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


# --- hostile text (issue 9): no template, script or markup from user text ---------------------------------------


def _command(marker) -> str:
    """A shell command spelled with chr() joined by ``~`` (no quotes needed in Jinja)."""
    return "~".join(f"chr({ord(c)})" for c in f"touch {marker}")


def hostile_payloads(marker) -> list[str]:
    """What a hostile file puts in every text field that reaches the map."""
    return [
        "{{ 6*7 }}",
        "{{ cycler.__init__.__globals__.os.popen(" + _command(marker) + ").read() }}",
        "{%raw%}",
        "{# x",
        "`",
        "${alert(1)}",
        "</script><script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "\\u0041",
        "\\",
        "\"'",
        "[l](javascript:alert(1))",
        "![i](http://127.0.0.2/x.png)",
        ":red[x]",
        "$x$",
    ]


def _hostile_view(result, text: str, stage: str = "voting"):
    """The demo's view of ``stage`` with ``text`` in every field that reaches the map (codes kept unique)."""
    view = make_view(result, stage)
    v = view.villages.copy()
    v["village_name"] = text
    v["district"] = text
    v["village_code"] = [f"{text}{i}" for i in range(len(v))]
    t = view.tps.copy()
    t["tps_id"] = [f"{text}{i}" for i in range(len(t))]
    t["tps_number"] = text
    t["address"] = text
    t["village_name"] = text
    inc = view.incidents.copy()
    inc["description"] = text
    posts = view.posts.copy()
    posts["name"] = text
    posts["kind"] = text
    view.villages, view.tps, view.incidents, view.posts = v, t, inc, posts
    return view


def _no_template_syntax(html: str) -> None:
    for tag in ("{{", "{%", "{#"):
        assert tag not in html, tag


@pytest.fixture(scope="module")
def payload_marker(tmp_path_factory):
    return tmp_path_factory.mktemp("hostile") / "command_ran"


@pytest.mark.parametrize("index", range(15))
def test_hostile_text_in_every_map_field_stays_text(demo, payload_marker, index):
    from riskmap.mapping import js_literal
    from riskmap.view import esc

    text = hostile_payloads(payload_marker)[index]
    view = _hostile_view(demo, text)
    html = build_map(view, demo.config, geoms=display_geometry(view.villages)).get_root().render()
    assert not payload_marker.exists(), "a command ran on the server"
    shown = js_literal(esc(text))[1:-1]  # the escaped text as it sits in a JSON string of the page
    assert js_literal(f"<b>{esc(text)} <small>({esc(text)})</small></b>")[1:-1] in html  # village tooltip
    assert js_literal(f"<b>TPS {esc(text)} {esc(text)}</b>")[1:-1] in html  # TPS tooltip
    assert f"bindTooltip({js_literal(f'{esc(text)} ({esc(text)})')}" in html  # post tooltip: a JSON string
    assert shown in html
    for evaluated in ("<b>42 <small>(42)", "<b>TPS 42", "42 (42)"):  # where {{ 6*7 }} was, the text stays
        assert js_literal(evaluated)[1:-1] not in html and evaluated not in html
    _no_template_syntax(html)
    assert "bindTooltip(`" not in re.sub(r"\s", "", html)  # no tooltip in a JavaScript template literal
    for bad in ("${alert", "</script><script>alert", "<img src=x"):  # a backtick may sit inside a JSON string
        if bad in text:
            assert bad not in html


@pytest.mark.parametrize("index", range(15))
def test_hostile_text_in_the_deployment_map_stays_text(demo, payload_marker, index):
    import geopandas as gpd

    from riskmap.deploy import staffing_plan
    from riskmap.mapping import deployment_map, js_literal
    from riskmap.view import esc

    text = hostile_payloads(payload_marker)[index]
    view = _hostile_view(demo, text)
    plan, _ = staffing_plan(view.tps, "voting", demo.config)
    posts = gpd.GeoDataFrame({"name": [text], "tps_covered": [3]}, geometry=[view.tps.geometry.iloc[0]], crs=4326)
    fmap = deployment_map(view, plan, posts, 2000.0, demo.config, geoms=display_geometry(view.villages))
    html = fmap.get_root().render()
    assert not payload_marker.exists(), "a command ran on the server"
    assert js_literal(f"<b>TPS {esc(text)}0</b> {esc(text)}<br>")[1:-1] in html
    assert f"bindTooltip({js_literal(f'{esc(text)} (3 TPS)')}" in html
    assert js_literal("<b>TPS 420</b> 42")[1:-1] not in html and 'bindTooltip("42 (3 TPS)' not in html
    _no_template_syntax(html)
    assert "bindTooltip(`" not in re.sub(r"\s", "", html)


def test_streamlit_folium_renders_hostile_text_once(demo, payload_marker):
    """st_folium renders the map again and builds its own script string: still no template evaluation."""
    from streamlit_folium import _get_header, _get_html, _get_map_string

    view = _hostile_view(demo, "{{ 6*7 }}" + hostile_payloads(payload_marker)[1])
    fmap = build_map(view, demo.config, geoms=display_geometry(view.villages))
    fmap.get_root().render()
    fmap.render()
    text = _get_html(fmap) + _get_header(fmap) + _get_map_string(fmap)
    assert not payload_marker.exists()
    assert "&#123;&#123; 6*7 &#125;&#125;" in text.replace("\\u0026", "&")
    _no_template_syntax(text)


def test_rendered_text_is_never_compiled_again():
    """Element(text) is verbatim whatever the text; branca's Div still renders its children."""
    import pickle

    from branca.element import Div, Element, Figure

    assert Element("{{ 6*7 }} {%raw%} {# x").render() == "{{ 6*7 }} {%raw%} {# x"
    assert pickle.loads(pickle.dumps(Element("{{ 6*7 }}"))).render() == "{{ 6*7 }}"
    fig = Figure()
    div = Div()
    fig.add_child(div)
    div.html.add_child(Element("<p>inside</p>"))
    assert "<p>inside</p>" in fig.render()


def test_json_in_scripts_has_no_braces_in_strings():
    import json

    from riskmap.mapping import _brace_free, js_literal

    values = [{"a": "{{ 6*7 }}", "b": ['\\"{', "\\", '"}', "\\u007b"], "{k}": {"x": "}}{%"}}, "{%raw%}", [1, {}]]
    for value in values:
        text = _brace_free(json.dumps(value))
        assert json.loads(text) == value
        _no_template_syntax(text)
    assert js_literal("</script>`${x}`") == '"\\u003c/script\\u003e`$\\u007bx\\u007d`"'


def test_esc_leaves_no_template_or_script_syntax():
    from riskmap.view import esc

    out = esc("{{ 6*7 }} {%raw%} {# `${a}` \\u0041 <b>\"'")
    for bad in ("{", "}", "`", "\\", "<", ">", '"', "'"):
        assert bad not in out
    assert html_unescape(out) == "{{ 6*7 }} {%raw%} {# `${a}` \\u0041 <b>\"'"


def html_unescape(text: str) -> str:
    import html

    return html.unescape(text)


@pytest.mark.parametrize(
    "url",
    [
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "https://{s}.tile.example.org/{z}/{x}/{y}{r}.png?key=a-b_c",
        "http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png",
        "/app/static/tiles/{z}/{x}/{y}.png",
    ],
)
def test_tile_urls_that_are_accepted(demo, url):
    from riskmap.mapping import check_tiles_url, js_literal

    assert check_tiles_url(url) == url
    assert f"L.tileLayer(\n                {js_literal(url)}" in _html(demo, tiles_url=url)


@pytest.mark.parametrize(
    "url",
    [
        "{{ 6*7 }}/{z}/{x}/{y}",
        "https://t.example.org/{{z}}/{x}/{y}.png",
        "javascript:alert(1)//{z}/{x}/{y}",
        'https://t.example.org/{z}/{x}/{y}.png"onload=alert(1)',
        "https://t.example.org/{z}/{x}/{y}.png'",
        "https://t.example.org/{z}/{x}/{y}.png\\",
        "https://t.example.org/{z}/{x} /{y}.png",
        "https://t.example.org/{z}/{x}/{y}/{%raw%}",
        "//evil.example.org/{z}/{x}/{y}.png",
        "OpenStreetMap",
        "https://t.example.org/{z}/{x}/{y}`${alert(1)}`",
    ],
)
def test_tile_urls_that_are_refused(demo, url):
    from riskmap._errors import RiskmapInputError

    with pytest.raises(RiskmapInputError) as err:
        _html(demo, tiles_url=url)
    assert err.value.code == "tiles_url_invalid"
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in err.value.message("id")


def test_level_filter_with_tps_on_pandas_3(demo):
    """The Kategori filter combined masks in place on a read-only array (pandas 3: ValueError)."""
    flt = ViewFilter(levels=("rawan", "sangat_rawan"))
    view = make_view(demo, "voting", flt)
    assert set(view.villages["level_voting"]) <= {"rawan", "sangat_rawan"}
    assert len(view.tps) and set(view.tps["level_voting"]) <= {"rawan", "sangat_rawan"}
    assert set(view.tps["village_code"]) <= set(demo.villages["village_code"])


def test_a_filter_that_leaves_no_village_still_draws_a_map(demo):
    """folium's GeoJsonTooltip refuses an empty layer ("The field tip is not available"): no tooltip then."""
    view = make_view(demo, "voting")
    view.villages = view.villages.iloc[:0]
    view.tps = view.tps.iloc[:0]
    html = build_map(view, demo.config, geoms=display_geometry(view.villages)).get_root().render()
    assert "riskmap-legend" in html


# -- faces of issue 10: the method in the legend, hot spots as a layer ------------------------------
def _legend_of(result, stage="voting", config=None, lang="id"):
    from riskmap.mapping import legend_html

    return legend_html(make_view(result, stage), config or result.config, lang=lang)


def test_legend_names_the_scoring_method(demo):
    from riskmap.config import load_config

    assert demo.model.method_ == "index"  # "auto": 51 kelurahan are too few to fit the weights
    assert "Metode: indeks berbobot (dipilih otomatis" in _legend_of(demo)
    assert "Method: weighted index (chosen automatically" in _legend_of(demo, lang="en")
    index = load_config(overrides={"scoring": {"method": "index"}})
    assert "Metode: indeks berbobot<" in _legend_of(demo, config=index).replace("</small>", "<")
    assert "Metode: indeks berbobot" in _html(demo)  # and it reaches the page


def _with_hotspots(result, stage="voting"):
    """The demo result with the hot-spot engineer's column set by hand (the contract of riskmap.hotspots)."""
    import copy

    hot = copy.copy(result)
    hot.model = copy.copy(result.model)
    v = result.villages.copy()
    classes = ["hot_99", "hot_95", "hot_90", "cold_90", "cold_95", "cold_99"]
    v[f"hotspot_{stage}"] = "ns"
    for i, cls in enumerate(classes):
        v.loc[v.index[i], f"hotspot_{stage}"] = cls
    v.loc[v.index[6], f"hotspot_{stage}"] = "hot_99"
    v[f"hotspot_z_{stage}"] = 0.0
    hot.model.villages_ = v
    return hot


def _without_hotspots(result):
    import copy

    plain = copy.copy(result)
    plain.model = copy.copy(result.model)
    v = result.villages
    plain.model.villages_ = v.drop(columns=[c for c in v.columns if c.startswith("hotspot_")])
    return plain


def test_hotspot_layer_only_when_the_column_is_there(demo):
    assert "hotspot_voting" in demo.villages  # the pipeline adds the column (riskmap.hotspots)
    plain = _html(_without_hotspots(demo))
    assert "rm-hotspot" not in plain and "Titik panas" not in plain
    hot = _with_hotspots(demo)
    html = _html(hot)
    assert html.count('"className": "rm-hotspot"') == 1  # one layer, in the layer control by its name
    assert '"Titik panas/dingin"' in html or "Titik panas/dingin" in html
    view = make_view(hot, "voting")
    m = build_map(view, hot.config)
    layer = next(c for c in m._children.values() if getattr(c, "options", {}).get("className") == "rm-hotspot")
    assert len(layer.data["features"]) == 7  # every class but "ns"
    assert {f["properties"]["hotspot"] for f in layer.data["features"]} == {
        "hot_99",
        "hot_95",
        "hot_90",
        "cold_90",
        "cold_95",
        "cold_99",
    }
    styles = {f["properties"]["hotspot"]: layer.style_function(f) for f in layer.data["features"]}
    assert styles["hot_99"]["color"] != styles["cold_99"]["color"]
    assert styles["hot_99"]["weight"] > styles["hot_90"]["weight"] and styles["hot_99"]["fill"] is False
    # another stage has no column: no layer, no legend entry, no crash
    assert "rm-hotspot" not in _html(hot, stage="recap")
    assert "Titik panas" not in _legend_of(hot, stage="recap")


def test_hotspot_legend_counts_and_tooltip_class(demo):
    hot = _with_hotspots(demo)
    legend = _legend_of(hot)
    assert "Titik panas (99 %): 2" in legend and "Titik dingin (90 %): 1" in legend
    assert "Tidak signifikan" not in legend  # not drawn, so not in the legend
    assert "Hot spot (95 %): 1" in _legend_of(hot, lang="en")
    feats = village_features(make_view(hot, "voting"), display_geometry(hot.villages))
    tips = [f["properties"]["tip"] for f in feats["features"]]
    assert "Titik panas/dingin: <b>Titik panas (99 %)</b>" in tips[0]
    assert "Titik panas/dingin: <b>Tidak signifikan</b>" in tips[10]
    bare = _without_hotspots(demo)
    plain = village_features(make_view(bare, "voting"), display_geometry(bare.villages))
    assert "Titik panas" not in plain["features"][0]["properties"]["tip"]


def test_hostile_hotspot_value_stays_text(demo):
    hot = _with_hotspots(demo)
    hot.model.villages_.loc[hot.villages.index[12], "hotspot_voting"] = "<img src=x onerror=alert(9)>{{7*7}}"
    html = _html(hot)
    assert "<img src=x onerror=alert(9)>" not in html and "{{7*7}}" not in html
