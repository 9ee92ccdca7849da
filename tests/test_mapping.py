"""The stage map: offline assets, one feature per village, escaped untrusted text."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import shapely

from riskmap import pipeline
from riskmap.mapping import CATEGORY_COLORS, build_map, display_geometry, stage_payload
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
    payload = json.loads(stage_payload(view, demo.config, geoms=display_geometry(villages)))
    name, _district = payload["areas"]["features"][0]["properties"]["t"]
    assert name == "&lt;img src=x onerror=alert(3)&gt;"


def test_one_feature_per_village_with_its_category_at_every_stage(demo):
    from riskmap.config import CATEGORIES

    view = make_view(demo, "recap")
    payload = json.loads(stage_payload(view, demo.config, geoms=display_geometry(view.villages)))
    feats = payload["areas"]["features"]
    assert len(feats) == 51 == len(view.villages)
    for f, (_, v) in zip(feats, view.villages.iterrows(), strict=True):
        assert f["properties"]["id"] == v["village_code"]
        assert [CATEGORIES[i] for i in f["properties"]["lv"]] == [v[f"level_{s}"] for s in demo.config.stages]


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
    assert js_literal([esc(text), esc(text)])[1:-1] in html  # village tooltip: name and kecamatan, set in markup
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
    assert js_literal([esc(text) + "0", esc(text)])[1:-1] + "]" in html  # a TPS row ends with its id and village
    assert f"bindTooltip({js_literal(f'{esc(text)} (3 TPS)')}" in html
    assert js_literal(["420", "42"])[1:-1] not in html and 'bindTooltip("42 (3 TPS)' not in html
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


def test_the_script_bundle_is_the_vendored_scripts_joined():
    """One script request per map instead of five (issue 12); the bundle must not drift from the vendored files."""
    from pathlib import Path

    from riskmap.mapping import BUNDLE_PARTS, script_bundle

    vendor = Path(__file__).parents[1] / "static" / "vendor"
    bundle = (vendor / "riskmap-map.js").read_text()
    assert bundle == script_bundle(vendor)
    for part in BUNDLE_PARTS:  # each vendored script whole, in load order
        assert f"/* {part} */\n" + (vendor / part).read_text() in bundle
    starts = [bundle.index(f"/* {part} */") for part in BUNDLE_PARTS]
    assert starts == sorted(starts)


def test_the_fast_brace_escape_agrees_with_the_string_by_string_one():
    import json
    import random

    from riskmap.mapping import _brace_free, _brace_free_slow

    rng = random.Random(7)
    alphabet = ['"', "\\", "{", "}", "%", "#", "a", " ", ":", ",", "[", "]", "é", "\n"]
    for _ in range(300):
        value = {
            "".join(rng.choices(alphabet, k=rng.randint(0, 6))): [
                "".join(rng.choices(alphabet, k=rng.randint(0, 12))) for _ in range(rng.randint(0, 4))
            ]
            for _ in range(rng.randint(1, 4))
        }
        for ascii_only in (True, False):
            text = json.dumps(value, ensure_ascii=ascii_only)
            fast = _brace_free(text)
            marked = text.replace("\\\\", "\x00").replace('\\"', "\x01")
            assert fast == _brace_free_slow(marked) and json.loads(fast) == value
            _no_template_syntax(fast)


def test_geometry_json_is_put_in_verbatim_and_no_user_string_can_take_its_place():
    import json

    from riskmap.mapping import GeometryJSON, _features, js_literal

    polygons = np.array(
        [shapely.box(123.5, -10.2, 123.6, -10.1), None, shapely.Polygon(), shapely.Point(123.55, -10.15)],
        dtype=object,
    )
    # user strings shaped like the stand-in (a control character, hex and a number) stay strings
    props = pd.DataFrame({"id": ["a", "b", "c", "d"], "t": ["\x02" + "0" * 16 + ":0", "\x02x:1", "<b>", "{{ 7*7 }}"]})
    fast = json.loads(js_literal(_features(polygons, props, for_js=True)))
    slow = json.loads(js_literal(_features(polygons, props)))
    assert fast == slow  # the same GeoJSON as shapely's mapping() through json.dumps
    assert [f["properties"]["id"] for f in fast["features"]] == ["a", "d"]  # missing and empty shapes left out
    assert fast["features"][0]["properties"]["t"] == "\x02" + "0" * 16 + ":0"
    assert fast["features"][0]["geometry"]["type"] == "Polygon"
    assert "{{" not in js_literal(_features(polygons, props, for_js=True))
    with pytest.raises(TypeError):
        js_literal({"x": object()})
    assert (
        js_literal([GeometryJSON('{"type":"Point","coordinates":[1,2]}')]) == '[{"type":"Point","coordinates":[1,2]}]'
    )


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


def _payload(html: str) -> dict:
    """The stage map's data (``var D = ...``) as the page holds it (a JSON literal)."""
    import json

    start = html.index("var D = ") + len("var D = ")
    return json.loads(html[start : html.index(";\n", start)])


def test_hotspot_layer_only_when_the_column_is_there(demo):
    assert "hotspot_voting" in demo.villages  # the pipeline adds the column (riskmap.hotspots)
    plain = _payload(_html(_without_hotspots(demo)))
    assert not any(plain["hot_styles"]) and "hs" not in plain["areas"]["features"][0]["properties"]
    hot = _with_hotspots(demo)
    data = _payload(_html(hot))
    stages = data["stages"]
    assert data["names"]["hotspot"] == "Titik panas/dingin"  # the layer's name in the layer control
    voting = stages.index("voting")
    shown = [data["hot_styles"][f["properties"]["hs"][voting]] for f in data["areas"]["features"]]
    assert sum(1 for style in shown if style) == 7  # every class but "ns" is outlined
    labels = [data["hot_labels"][f["properties"]["hs"][voting]] for f in data["areas"]["features"]]
    assert labels[0] == "Titik panas (99 %)" and labels[10] == "Tidak signifikan"
    assert shown[0]["color"] != shown[5]["color"] and shown[0]["weight"] > shown[2]["weight"]  # hot_99, cold_99, hot_90
    # another stage with no significant village: nothing to outline, no legend entry
    recap = stages.index("recap")
    assert not any(data["hot_styles"][f["properties"]["hs"][recap]] for f in data["areas"]["features"])
    assert "Titik panas" not in data["legends"][recap] and "Titik panas (99 %): 2" in data["legends"][voting]


def test_hotspot_legend_counts(demo):
    hot = _with_hotspots(demo)
    legend = _legend_of(hot)
    assert "Titik panas (99 %): 2" in legend and "Titik dingin (90 %): 1" in legend
    assert "Tidak signifikan" not in legend  # not drawn, so not in the legend
    assert "Hot spot (95 %): 1" in _legend_of(hot, lang="en")


def test_hostile_hotspot_value_stays_text(demo):
    hot = _with_hotspots(demo)
    hot.model.villages_.loc[hot.villages.index[12], "hotspot_voting"] = "<img src=x onerror=alert(9)>{{7*7}}"
    html = _html(hot)
    assert "<img src=x onerror=alert(9)>" not in html and "{{7*7}}" not in html


# -- issue 12: one map for every stage, canvas, neutral clusters, the kab/kota overview --------------------------
def _config(**display):
    from riskmap.config import load_config

    return load_config(overrides={"display": display})


def _main_script(result, stage: str, config=None) -> str:
    """The map's script as streamlit-folium sends it (variable ids normalised as its hash does)."""
    from streamlit_folium import _get_map_string

    view = make_view(result, stage)
    fmap = build_map(view, config or result.config, live_stage=True, incident_weights=result.model.incident_weights_)
    fmap.get_root().render()
    return re.sub(r"_[a-z0-9]+", "", _get_map_string(fmap))


def test_the_map_is_the_same_for_every_stage_and_holds_every_stage(demo):
    """A stage switch must not send a new map: the script is equal, only the stage setter differs."""
    from streamlit_folium import generate_js_hash

    from riskmap.mapping import stage_setter

    scripts = {s: _main_script(demo, s) for s in demo.config.stages}
    assert len({generate_js_hash(js, "map") for js in scripts.values()}) == 1
    data = _payload(_html(demo, "counting"))
    stages = data["stages"]
    assert stages == list(demo.config.stages)
    from riskmap.config import CATEGORIES

    by_code = {f["properties"]["id"]: f["properties"] for f in data["areas"]["features"]}
    for s in stages:  # every village carries every stage's category and score
        for code, level, score in zip(
            demo.villages["village_code"], demo.villages[f"level_{s}"], demo.villages[f"risk_{s}"], strict=True
        ):
            props = by_code[code]
            assert CATEGORIES[props["lv"][stages.index(s)]] == level
            assert props["sc"][stages.index(s)] == round(score)
    assert len(data["legends"]) == 4 and "Rekapitulasi" in data["legends"][stages.index("recap")]
    view = make_view(demo, "recap")
    fmap = build_map(view, demo.config, live_stage=True)
    html = fmap.get_root().render()
    assert "riskmap.show(" not in html  # live: the map waits for the setter
    assert "riskmap.show(3, " in _html(demo, "recap")  # standalone: it shows its stage by itself
    from riskmap.mapping import _StageSetter

    group = stage_setter(fmap, view, demo.config, "x")
    setter = next(c for c in group._children.values() if isinstance(c, _StageSetter))
    assert setter.stage == 3 and setter.selected == '"x"'  # recap, the 4th stage; the selection as a JSON string


def test_the_stage_setter_is_what_a_switch_sends(demo):
    from streamlit_folium import _get_feature_group_string

    from riskmap.mapping import stage_setter

    view = make_view(demo, "voting")
    fmap = build_map(view, demo.config, live_stage=True)
    fmap.get_root().render()
    sent = _get_feature_group_string(stage_setter(fmap, view, demo.config, "<b>{{7*7}}"), fmap)
    assert "map_div.riskmap.show(1, " in sent and len(sent) < 1000
    assert "<b>" not in sent and "{{" not in sent  # the selection is a JSON string, escaped


def test_stage_buttons_only_when_asked_with_their_labels_as_text(demo):
    """Issue 12: the app's map carries a button per stage; its labels are set as text, in the page's language."""
    view = make_view(demo, "voting")
    plain = build_map(view, demo.config, live_stage=True).get_root().render()
    assert "var S = null" in plain  # (the script is there; no buttons are made)
    html = build_map(view, demo.config, live_stage=True, stage_buttons=True, lang="en").get_root().render()
    switcher = json.loads(re.search(r"var S = (\{.*?\}), buttons", html).group(1))
    assert switcher == {"title": "Stage", "labels": ["Campaign", "Voting", "Counting", "Recapitulation"]}
    assert "b.textContent = text" in html and "innerHTML = text" not in html
    # the buttons do not make the script depend on the stage: streamlit-folium keeps the map across a switch
    other = build_map(make_view(demo, "recap"), demo.config, live_stage=True, stage_buttons=True, lang="en")
    assert re.sub(r"_[0-9a-f]{32}", "", other.get_root().render()) == re.sub(r"_[0-9a-f]{32}", "", html)


def test_canvas_renderer_above_the_configured_number_of_villages(demo):
    assert _payload(_html(demo))["canvas"] is False  # 51 villages: SVG paths (one element each)
    view = make_view(demo, "voting")
    html = build_map(view, _config(canvas_above_villages=50)).get_root().render()
    assert _payload(html)["canvas"] is True and "L.canvas(" in html


def test_cluster_bubbles_do_not_look_like_categories(demo):
    """Defect 10: the TPS and incident cluster bubbles were green/yellow/orange by count (MarkerCluster's default)."""
    from riskmap.mapping import CLUSTER_CSS

    view = make_view(demo, "voting")
    html = build_map(view, _config(cluster_tps_above=100)).get_root().render()
    data = _payload(html)
    assert "rows" in data["tps"] and len(data["tps"]["rows"]) == len(view.tps)  # clustered
    assert html.count("iconCreateFunction") >= 2  # TPS and incidents: our icon, not the default
    assert "clusterIcon('tps')" in html and "('incident')" in html
    assert "marker-cluster rm-cluster rm-cluster-" in html and "marker-cluster-small" not in html
    assert CLUSTER_CSS in html
    css_colours = {c.lower() for c in re.findall(r"#[0-9a-fA-F]{6}", CLUSTER_CSS)}
    rgba = re.findall(r"rgba\((\d+), (\d+), (\d+)", CLUSTER_CSS)
    assert not css_colours & {c.lower() for c in CATEGORY_COLORS.values()}
    for r, g, b in rgba:  # grey-blue or purple: never the green, yellow, orange of the categories
        assert int(g) <= max(int(r), int(b)) + 40


def _two_regencies(result):
    """The demo with its kecamatan split over three kab/kota (the demo is one city)."""
    import copy

    out = copy.copy(result)
    out.model = copy.copy(result.model)
    v = result.villages.copy()
    v["regency"] = ["Kab A" if d < "K" else "Kab B" if d < "M" else "Kota C" for d in v["district"]]
    out.model.villages_ = v
    return out


def test_overview_above_the_threshold_shows_kab_kota_shares(demo):
    from riskmap.config import CATEGORIES
    from riskmap.mapping import overview_map, regency_geometry
    from riskmap.view import area_shares, shows_overview

    result = _two_regencies(demo)
    config = _config(aggregate_above_villages=20)
    view = make_view(result, "voting")
    assert shows_overview(view.villages, config) and not shows_overview(view.villages, demo.config)
    regions = regency_geometry(view.villages, display_geometry(view.villages), 300.0)
    assert list(regions.index) == ["Kab A", "Kab B", "Kota C"]
    import shapely

    area = shapely.area(view.villages.geometry.to_numpy()).sum()
    assert abs(shapely.area(regions.to_numpy()).sum() - area) / area < 0.02  # the same land, merged
    html = overview_map(view, config, regions).get_root().render()
    data = _payload(html)
    feats = data["areas"]["features"]
    assert [f["properties"]["kind"] for f in feats] == ["regency"] * 3
    assert [f["properties"]["id"] for f in feats] == ["Kab A", "Kab B", "Kota C"]  # what a click reports
    shares = area_shares(view.villages, view.tps, list(config.stages))
    high = view.villages["level_voting"].isin(CATEGORIES[1:])
    assert shares.loc["Kab A", "share_villages_voting"] == high[view.villages["regency"] == "Kab A"].mean()
    assert shares["n_villages"].sum() == len(view.villages) and shares["n_tps"].sum() == len(view.tps)
    voting = data["stages"].index("voting")
    breaks = config.data["display"]["overview_breaks_pct"]
    for f in feats:
        share = shares.loc[f["properties"]["id"], "share_villages_voting"] * 100
        assert f["properties"]["lv"][voting] == sum(share >= b for b in breaks)
        assert f"{shares.loc[f['properties']['id'], 'share_villages_voting']:.0%}" in f["properties"]["rs"][voting]
    assert "Klik kab/kota" in data["legends"][voting]
    # drill-down: one kab/kota's view is small enough for its villages
    one = make_view(result, "voting", ViewFilter(regencies=("Kab B",)))
    assert not shows_overview(one.villages, _config(aggregate_above_villages=30))


def test_a_click_on_a_kab_kota_opens_it():
    import streamlit as st

    from riskmap.app.main import _back_to_overview, _select_from_click

    _select_from_click({"properties": {"kind": "regency", "id": "Kab B"}})
    assert st.session_state["_drill_regency"] == "Kab B"
    _back_to_overview()
    assert st.session_state["f_regency"] == ""


def test_no_inline_language_choice_and_no_dead_helper_in_the_map():
    from pathlib import Path

    import riskmap.mapping as mapping

    text = Path(mapping.__file__).read_text(encoding="utf-8")
    assert not re.search(r"""lang\s*[!=]=\s*["'](id|en)["']""", text)
    assert not hasattr(mapping, "_round_coords")


def test_opening_a_kab_kota_with_an_empty_incident_layer(demo):
    """The drill-down's kab/kota filter crashed (KeyError 'district_code') on an empty incident layer without
    columns, as the app has with no incident file and an empty incident log."""
    import copy
    import dataclasses

    import geopandas as gpd

    result = copy.copy(demo)
    import pandas as pd

    empty = gpd.GeoDataFrame(
        {"date": pd.Series([], dtype="datetime64[ns]"), "type": pd.Series([], dtype=object)}, geometry=[], crs=4326
    )
    result.layers = dataclasses.replace(demo.layers, incidents=empty)
    regency = str(result.villages["regency"].iloc[0])
    view = make_view(result, "voting", ViewFilter(regencies=(regency,)))
    assert len(view.villages) == len(result.villages) and len(view.incidents) == 0


def test_deployment_map_is_one_layer_of_tps_and_one_of_guard_lines(demo):
    """One Leaflet object per TPS made the province's deployment map 11 MB and 3.8 s, one HTML tooltip per TPS
    6.5 MB and 3 s to draw: now one payload, a row per TPS and one MultiLineString of guard-group lines."""
    import folium

    from riskmap.config import CATEGORIES
    from riskmap.deploy import plan
    from riskmap.mapping import _DeploymentLayers, deployment_map

    view = make_view(demo, "voting")
    staff = plan(demo, "voting").staffing
    fmap = deployment_map(view, staff, None, 0.0, demo.config, geoms=display_geometry(view.villages))
    children = list(fmap._children.values())
    assert not [c for c in children if isinstance(c, folium.CircleMarker | folium.PolyLine | folium.GeoJson)]
    (layers,) = [c for c in children if isinstance(c, _DeploymentLayers)]
    data = json.loads(layers.payload)
    rows = data["tps"]
    assert len(rows) == len(staff) and len(data["areas"]["features"]) == len(view.villages)
    for r, (_, t) in zip(rows, staff.iterrows(), strict=True):  # lat, lon, category, police, linmas, id, village
        assert r[:2] == pytest.approx([t.geometry.y, t.geometry.x], abs=1e-5)  # EPSG:4326 to 5 decimals
        assert CATEGORIES[r[2]] == t["level_voting"]
        assert r[3:7] == [t["police"], t["police_required"], t["linmas"], t["linmas_required"]]
        assert r[7:] == [t["tps_id"], t["village_name"]]
    lines = data["lines"]
    in_groups = staff.groupby("group")["tps_id"].transform("size")
    assert lines["type"] == "MultiLineString" and len(lines["coordinates"]) == int((in_groups >= 2).sum())
    # each line runs from its group's centre to one of its TPS
    starts = {tuple(c[0]) for c in lines["coordinates"]}
    assert len(starts) == staff.loc[in_groups >= 2, "group"].nunique()
    html = fmap.get_root().render()
    assert len(html) < 400_000, len(html)
