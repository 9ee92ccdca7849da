"""The planner's Leaflet map of one stage, built with folium, served offline.

:func:`build_map` draws villages coloured by category, TPS by category,
incidents as a heat layer and as points with popups, police posts, a legend
with counts, a layer control, fullscreen and a distance-measuring tool, and
fits the view to the data. Every piece of untrusted text (names from files,
incident descriptions) is HTML-escaped before it reaches the page.

:func:`use_local_assets` points folium at the Leaflet files vendored in
``static/vendor`` (served by Streamlit at ``/app/static/vendor``), so no
request leaves the machine. Without a tile URL the map has a plain background
and the village polygons carry it.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import replace
from pathlib import Path
from typing import Any

import folium
import folium.plugins as plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Figure, MacroElement, Template
from folium.elements import JSCSSMixin
from folium.template import Template as FoliumTemplate

from riskmap import i18n
from riskmap._errors import RiskmapInputError
from riskmap.config import CATEGORIES, Config
from riskmap.view import (
    HOTSPOT_CLASSES,
    TPS_FACTOR_ORDER,
    VILLAGE_FACTOR_ORDER,
    View,
    area_shares,
    esc,
    factor_parts,
    hotspot_column,
    hotspot_label,
    method_label,
    natural_key,
    share_breaks,
    share_class,
    share_class_labels,
)


class _Verbatim:
    """Stands in for a Jinja template: the text of an already rendered element, kept as it is."""

    def __init__(self, text: str) -> None:
        self.text = text

    def render(self, *args: Any, **kwargs: Any) -> str:
        return self.text


_DIV_CHILDREN = "{% for name, element in this._children.items() %}{{element.render(**kwargs)}}{% endfor %}"
"""branca's ``Div.html`` template, the one structural template branca passes to ``Element(text)``."""


def _install_verbatim_elements() -> None:
    """Never compile rendered text as a Jinja template again.

    folium and branca render each element's macros, then wrap the text in
    ``branca.element.Element(text)`` (``MacroElement.render``, ``Div.render``,
    ``folium.map.Class.render``, ``Popup.render``, ``folium.features``), whose
    constructor compiles it as a template a second time. That text holds
    names from the user's files, so ``{{ ... }}`` in a village name would run
    on the server, and ``{%raw%}`` would crash the map. Here ``Element(text)``
    always keeps the text verbatim (also faster: Jinja no longer lexes every
    byte of the embedded GeoJSON). Templates still come from an element's
    ``_template`` or ``template_name``; branca's ``Div``, the one class that
    passes a template as text, gets its template back. Idempotent.
    """
    from branca import element

    if getattr(element.Element.__init__, "_riskmap", False):
        return
    original = element.Element.__init__
    original_setstate = element.Element.__setstate__
    original_div = element.Div.__init__

    def init(self: element.Element, template: str | None = None, template_name: str | None = None) -> None:
        original(self, template=None, template_name=None if template is not None else template_name)
        if template is not None:
            # jinja drops one trailing newline; verbatim text matches what it rendered
            text = template.removesuffix("\n")
            self._riskmap_text = text  # type: ignore[attr-defined]  # kept for pickling (setstate below)
            self._template = _Verbatim(text)  # type: ignore[assignment]  # renders like a jinja Template

    def setstate(self: element.Element, state: dict[str, Any]) -> None:
        original_setstate(self, state)
        if "_riskmap_text" in state:
            self._template = _Verbatim(state["_riskmap_text"])  # type: ignore[assignment]  # as in init

    def div_init(self: element.Div, *args: Any, **kwargs: Any) -> None:
        original_div(self, *args, **kwargs)
        self.html._template = Template(_DIV_CHILDREN)

    init._riskmap = True  # type: ignore[attr-defined]
    init._original = original  # type: ignore[attr-defined]
    element.Element.__init__ = init  # type: ignore[method-assign]  # the patch this function exists for
    element.Element.__setstate__ = setstate  # type: ignore[method-assign]
    element.Div.__init__ = div_init  # type: ignore[method-assign]


def _brace_free(text: str) -> str:
    r"""JSON text with ``{`` and ``}`` inside its strings written as ``\u007b`` and ``\u007d``.

    The same JSON value, but no user string can form ``{{``, ``{%`` or
    ``{#`` in the page. Relies on what ``json.dumps`` guarantees: strings are
    double-quoted and never hold a raw control character. With ``\\`` and
    ``\"`` set aside, every ``"`` left opens or closes a string, so a brace
    lies inside one where an odd number of quotes precede it (counted over
    the text's bytes at once: 0.01 s for the 2 MB of a province map).
    """
    if "{" not in text and "}" not in text:
        return text
    marked = text.replace("\\\\", "\x00").replace('\\"', "\x01")
    if not marked.isascii():  # (json.dumps' default output is ASCII; a caller may have asked otherwise)
        return _brace_free_slow(marked)
    b = np.frombuffer(marked.encode("ascii"), dtype=np.uint8)
    inside = (np.cumsum(b == 34) % 2).astype(bool)  # 34 = '"': odd count so far = inside a string
    at = np.flatnonzero(inside & ((b == 123) | (b == 125)))  # '{', '}'
    if len(at):
        parts, last = [], 0
        for i in at.tolist():
            parts += [marked[last:i], "\\u007b" if marked[i] == "{" else "\\u007d"]
            last = i + 1
        marked = "".join([*parts, marked[last:]])
    return marked.replace("\x01", '\\"').replace("\x00", "\\\\")


def _brace_free_slow(marked: str) -> str:
    """:func:`_brace_free` of text whose escaped backslashes and quotes are set aside, string by string."""
    parts = marked.split('"')
    for i in range(1, len(parts), 2):  # odd parts are the insides of strings
        if "{" in parts[i] or "}" in parts[i]:
            parts[i] = parts[i].replace("{", "\\u007b").replace("}", "\\u007d")
    return '"'.join(parts).replace("\x01", '\\"').replace("\x00", "\\\\")


def _json_dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` whose strings carry no braces (Jinja's ``tojson`` policy in folium's templates)."""
    return _brace_free(json.dumps(obj, **kwargs))


class GeometryJSON:
    """GeoJSON geometry text written by GEOS (:func:`shapely.to_geojson`), put verbatim into a :func:`js_literal`.

    Only numbers, brackets and the geometry type's name: no user text, so it needs no escaping (and
    ``json.dumps`` of 3,400 village outlines through ``shapely.geometry.mapping`` took 0.2 s of the map's 0.3 s).
    """

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def js_literal(obj: Any) -> str:
    """A value as a JavaScript literal safe inside ``<script>`` and in any template.

    Compact JSON (no spaces after separators) with ``<``, ``>``, ``&``, ``'`` and, inside strings, ``{`` ``}``
    written as unicode escapes: user text can neither end the script nor
    form template syntax, and a backtick or ``${`` is only a character of a
    string. :class:`GeometryJSON` values are put in as they are, after the escaping (each stands in as a
    string holding a fresh random mark until then, so no user string can take its place).
    """
    kept: list[str] = []
    mark = "\x02" + secrets.token_hex(8) + ":"

    def keep(value: Any) -> str:
        if not isinstance(value, GeometryJSON):
            raise TypeError(f"{type(value).__name__} is not JSON serializable")
        kept.append(value.text)
        return f"{mark}{len(kept) - 1}"

    text = (
        _json_dumps(obj, separators=(",", ":"), default=keep)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027")
    )
    if not kept:
        return text
    escaped = re.escape(json.dumps(mark)[1:-1])
    return re.sub(f'"{escaped}(\\d+)"', lambda m: kept[int(m.group(1))], text)


def _install_safe_json() -> None:
    """Make folium's ``tojson`` and ``tojavascript`` write brace-free strings (idempotent)."""
    import folium.template as ft

    ft._to_escaped_json = js_literal
    FoliumTemplate("").environment.policies["json.dumps_function"] = _json_dumps
    env_init = ft.Environment.__init__
    if getattr(env_init, "_riskmap", False):
        return

    def init(self: ft.Environment, *args: Any, **kwargs: Any) -> None:
        env_init(self, *args, **kwargs)
        self.policies["json.dumps_function"] = _json_dumps

    init._riskmap = True  # type: ignore[attr-defined]
    ft.Environment.__init__ = init  # type: ignore[method-assign]  # the patch this function exists for


_install_verbatim_elements()
_install_safe_json()

ASSET_URL = "/app/static/vendor"
"""Where Streamlit serves the vendored Leaflet files (``static/vendor``)."""

CATEGORY_COLORS: dict[str, str] = dict(zip(CATEGORIES, ("#1a9641", "#fdae61", "#d7191c"), strict=True))
"""Fill colour per category, low to high (ColorBrewer RdYlGn, colour-blind friendly end points)."""

HOTSPOT_STYLE: dict[str, dict[str, Any]] = {
    "hot_99": {"color": "#b30000", "weight": 4, "dashArray": None},
    "hot_95": {"color": "#e34a33", "weight": 3, "dashArray": None},
    "hot_90": {"color": "#fc8d59", "weight": 2.5, "dashArray": "6 4"},
    "cold_90": {"color": "#6baed6", "weight": 2.5, "dashArray": "6 4"},
    "cold_95": {"color": "#3182bd", "weight": 3, "dashArray": None},
    "cold_99": {"color": "#08519c", "weight": 4, "dashArray": None},
}
"""Outline per hot-spot class (no fill): hot red, cold blue, thicker and solid with the confidence."""


BUNDLE_PARTS = (
    "leaflet.js",
    "markercluster/leaflet.markercluster.js",
    "heat/leaflet-heat.js",
    "fullscreen/Control.FullScreen.js",
    "measure/leaflet-measure.js",
)
"""The vendored scripts (``static/vendor/``) that ``riskmap-map.js`` joins, in load order."""


def script_bundle(vendor_dir: Path) -> str:
    """The text of ``riskmap-map.js``: the :data:`BUNDLE_PARTS` of ``vendor_dir`` joined, each under its name.

    ``scripts/vendor_assets.sh`` writes it; a test checks that the file on disk is this text.
    """
    return "".join(f"/* {p} */\n" + (vendor_dir / p).read_text() + "\n;\n" for p in BUNDLE_PARTS)


def use_local_assets(base: str = ASSET_URL) -> None:
    """Point folium and the plugins we use at the vendored assets (idempotent).

    Every script is the one bundle ``riskmap-map.js`` (Leaflet and the four plugins, :data:`BUNDLE_PARTS`):
    streamlit-folium loads a map's scripts one after the other, and five requests cost the first map
    about 0.2 s more than one.
    """
    bundle = [("riskmap_map_js", f"{base}/riskmap-map.js")]
    folium.Map.default_js = bundle
    folium.Map.default_css = [("leaflet_css", f"{base}/leaflet.css")]
    cluster_css = [
        ("markerclustercss", f"{base}/markercluster/MarkerCluster.css"),
        ("markerclusterdefaultcss", f"{base}/markercluster/MarkerCluster.Default.css"),
    ]
    for cls in (plugins.MarkerCluster, plugins.FastMarkerCluster):
        cls.default_js = bundle
        cls.default_css = cluster_css
    plugins.HeatMap.default_js = bundle
    _StageMap.default_js = bundle
    _StageMap.default_css = cluster_css
    plugins.Fullscreen.default_js = bundle
    plugins.Fullscreen.default_css = [("Control.FullScreen.css", f"{base}/fullscreen/Control.FullScreen.css")]
    plugins.MeasureControl.default_js = bundle
    plugins.MeasureControl.default_css = [("leaflet_measure_css", f"{base}/measure/leaflet-measure.css")]


def display_geometry(villages: gpd.GeoDataFrame, tolerance_m: float | None = None) -> np.ndarray:
    """Village polygons simplified for the screen, shared borders kept intact.

    ``shapely.coverage_simplify`` simplifies the coverage as a whole, so
    neighbours keep one common border (per-polygon simplification opens gaps).
    ``tolerance_m`` (default: 30 m for a city, growing with the number of
    villages up to 100 m for a province) is converted to degrees at the
    layer's latitude. Coordinates are rounded to 5 decimals (about 1 m).
    """
    geoms = villages.geometry.to_numpy()
    if len(geoms) == 0:
        return geoms
    if tolerance_m is None:
        tolerance_m = float(np.clip(30.0 * np.sqrt(len(geoms) / 1000), 30.0, 100.0))
    lat = float(np.mean(villages.total_bounds[[1, 3]]))
    tol = tolerance_m / (111_320 * max(np.cos(np.radians(lat)), 0.1))
    try:
        simple = shapely.coverage_simplify(geoms, tol)
    except Exception:  # not a clean coverage (overlaps): simplify each polygon
        simple = shapely.simplify(geoms, tol, preserve_topology=True)
    return shapely.transform(simple, lambda xy: np.round(xy, 5))


def _features(geoms: np.ndarray, props: pd.DataFrame, *, for_js: bool = False) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of ``geoms`` (EPSG:4326) with a row of ``props`` each; empty ones left out.

    ``for_js``: the geometries as :class:`GeometryJSON` (for :func:`js_literal` only; 10 times faster).
    """
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if for_js:
        shapes: list[Any] = [GeometryJSON(t) for t in shapely.to_geojson(geoms[keep]).tolist()]
    else:
        shapes = [shapely.geometry.mapping(g) for g in geoms[keep]]
    records = props[keep].to_dict("records")
    feats = [
        {"type": "Feature", "properties": rec, "geometry": shape} for rec, shape in zip(records, shapes, strict=True)
    ]
    return {"type": "FeatureCollection", "features": feats}


# -- the stage map: one map for every stage, recoloured in the browser (issue 12) ----------------------------------
def _display_settings(config: Config) -> dict[str, Any]:
    """The ``[display]`` table of the configuration."""
    return dict(config.data.get("display", {}))


def _level_codes(values: pd.Series) -> list[int]:
    """Category ids as indexes into :data:`CATEGORIES`; an unknown or missing category is ``len(CATEGORIES)``."""
    codes = pd.Categorical(values.astype(object), categories=list(CATEGORIES)).codes.astype(int)
    return np.where(codes < 0, len(CATEGORIES), codes).tolist()


def _scores(values: pd.Series) -> list[int | None]:
    """Scores rounded to whole points (None where missing)."""
    arr = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    return [None if not np.isfinite(x) else round(x) for x in arr]


def _per_stage(columns: list[list[Any]]) -> list[list[Any]]:
    """Per-stage lists (one per stage) turned into one list per row with a value per stage."""
    if not columns:
        return []
    if columns[0] and not isinstance(columns[0][0], list):  # numbers (or None): transposed by numpy at once
        return np.array(columns, dtype=object).T.tolist()
    return [list(row) for row in zip(*columns, strict=True)]


def _hotspot_codes(
    villages: pd.DataFrame, stages: list[str], lang: str
) -> tuple[list[list[int]], list[str], list[Any]]:
    """Hot-spot class per village and stage as indexes into labels (escaped) and outline styles; -1: no column."""
    values: list[str] = []
    per_stage = []
    for s in stages:
        col = hotspot_column(villages, s)
        if col is None:
            per_stage.append([-1] * len(villages))
            continue
        cls = villages[col].astype(object).where(villages[col].notna(), "ns").astype(str)
        for c in pd.unique(cls):
            if c not in values:
                values.append(c)
        index = {c: i for i, c in enumerate(values)}
        per_stage.append([index[c] for c in cls])
    labels = [esc(hotspot_label(c, lang)) for c in values]
    styles = [HOTSPOT_STYLE.get(c) for c in values]
    return _per_stage(per_stage), labels, styles


def _village_payload(view: View, geoms: np.ndarray, stages: list[str], lang: str) -> dict[str, Any]:
    """Villages as GeoJSON whose properties carry every stage: category, score, factors.

    Properties: ``t`` name and kecamatan (escaped), ``lv`` category index, ``sc`` score, ``fx`` factors
    (:func:`riskmap.view.factor_parts`), ``hs`` hot-spot class, one per stage.

    Every text is escaped here; the browser assembles the tooltip from these pieces.
    """
    v = view.villages
    # name and kecamatan, escaped; the browser sets them in "<b>name <small>(kecamatan)</small></b>" (markup
    # sent once, not 3,400 times as unicode escapes: 0.2 MB of a province's map)
    titles = [[esc(n), esc(d)] for n, d in zip(v["village_name"].tolist(), v["district"].tolist(), strict=True)]
    levels = _per_stage([_level_codes(v[f"level_{s}"]) for s in stages])
    scores = _per_stage([_scores(v[f"risk_{s}"]) for s in stages])
    factors = _per_stage([factor_parts(v, s) for s in stages])
    hot, hot_labels, hot_styles = _hotspot_codes(v, stages, lang)
    props = pd.DataFrame(
        {"kind": "village", "id": v["village_code"].astype(str).to_numpy(), "t": titles, "lv": levels, "sc": scores}
    )
    props["fx"] = factors
    if any(hotspot_column(v, s) for s in stages):
        props["hs"] = hot
    return {"features": _features(geoms, props, for_js=True), "hot_labels": hot_labels, "hot_styles": hot_styles}


def _tps_payload(view: View, stages: list[str], lang: str, as_shapes: bool) -> dict[str, Any] | None:
    """TPS of the view with every stage's category: GeoJSON points with tooltip pieces, or compact rows.

    Rows (for a cluster layer) are ``[lat, lon, category index per stage...]``, EPSG:4326 degrees to 5 decimals
    (about 1 m).
    """
    t = view.tps
    if t is None or not len(t):
        return None
    levels = _per_stage([_level_codes(t[f"level_{s}"]) for s in stages])
    if not as_shapes:
        ys, xs = t.geometry.y.round(5).tolist(), t.geometry.x.round(5).tolist()
        return {"rows": [[y, x, *lv] for y, x, lv in zip(ys, xs, levels, strict=True)]}
    titles = [
        f"<b>TPS {esc(num or tid)} {esc(vname)}</b>"
        for tid, num, vname in zip(t["tps_id"], t["tps_number"], t["village_name"], strict=True)
    ]
    props = pd.DataFrame(
        {
            "kind": "tps",
            "id": t["tps_id"].astype(str).to_numpy(),
            "t": titles,
            "ad": [esc(a) or "-" for a in t["address"]],
            "lv": levels,
            "sc": _per_stage([_scores(t[f"risk_{s}"]) for s in stages]),
        }
    )
    props["fx"] = _per_stage([factor_parts(t, s, unit="tps") for s in stages])
    geoms = shapely.transform(t.geometry.to_numpy(), lambda xy: np.round(xy, 5))
    return {"features": _features(geoms, props, for_js=True)}


def _heat_payload(view: View, stages: list[str], weights: Any) -> dict[str, Any] | None:
    """Incident positions (EPSG:4326) and, per stage, each incident's weight for the heat layer."""
    inc = view.incidents
    if inc is None or not len(inc):
        return None
    pts = inc[inc["precision"] != "region"]
    if not len(pts):
        return None
    per_stage = []
    for s in stages:
        w = weights[s] if weights is not None and s in weights else None
        w = w.reindex(pts.index).fillna(0.0) if w is not None else pd.Series(1.0, index=pts.index)
        per_stage.append(np.round(w.to_numpy(dtype=float), 4).tolist())
    return {
        "ll": [[y, x] for y, x in zip(pts.geometry.y.round(5), pts.geometry.x.round(5), strict=True)],
        "w": per_stage,
    }


CLUSTER_CSS = """<style>
.rm-cluster { background: rgba(96, 125, 139, 0.35); border-radius: 20px; }
.rm-cluster div { width: 30px; height: 30px; margin-left: 5px; margin-top: 5px; border-radius: 15px;
  background: rgba(38, 50, 56, 0.85); color: #ffffff; text-align: center; font: bold 12px sans-serif; }
.rm-cluster span { line-height: 30px; }
.rm-cluster-incident div { background: rgba(74, 20, 140, 0.85); }
</style>"""
"""Cluster bubbles in neutral grey (TPS) or purple (incidents) with the count: never the categories' colours."""

_CLUSTER_ICON = (
    "function (kind) { return function (cluster) { return L.divIcon({html: '<div><span>' + "
    "cluster.getChildCount() + '</span></div>', className: 'marker-cluster rm-cluster rm-cluster-' + kind, "
    "iconSize: new L.Point(40, 40)}); }; }"
)
"""JavaScript: the icon of a cluster bubble (the number of points inside, in a neutral colour)."""


class _PointCluster(plugins.FastMarkerCluster):
    """FastMarkerCluster that honours ``show=False`` (folium's always adds itself), with neutral bubbles.

    A hidden layer makes its markers only when it is first shown (5,000 incidents: 5,000 markers with a
    popup each that the first map would otherwise build).
    """

    _template = FoliumTemplate(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = (function(){
                {{ this.callback }}
                var data = {{ this.data|tojson }};
                var options = {{ this.options|tojavascript }};
                options.iconCreateFunction = ("""
        + _CLUSTER_ICON
        + """)('incident');
                var cluster = L.markerClusterGroup(options), filled = false;
                function fill() {  // the markers are made when the layer is first shown, not before
                    if (filled) return;
                    filled = true;
                    var markers = [];
                    for (var i = 0; i < data.length; i++) markers.push(callback(data[i]));
                    cluster.addLayers(markers);
                }
                {% if this.show %}fill(); cluster.addTo({{ this._parent.get_name() }});
                {% else %}cluster.on('add', fill);{% endif %}
                return cluster;
            })();
        {% endmacro %}"""
    )


_POST_ICON = (
    "<div style='background:#0d2a6b;color:#fff;font:bold 11px sans-serif;width:16px;height:16px;"
    "line-height:16px;text-align:center;border:1px solid #fff;box-shadow:0 0 2px #000'>P</div>"
)


_TIP_JS = """
    function row(label, value) { return '<br>' + label + ': <b>' + value + '</b>'; }
    function score(v) { return v === null || v === undefined ? '-' : v; }
    function factors(parts, names) {  // [factor, percent, ...] as "Label 62%; Label 20%" (riskmap.view.factor_text)
        var out = [];
        for (var i = 0; i + 1 < parts.length; i += 2) out.push(names[parts[i]] + ' ' + parts[i + 1] + '%');
        return out.length ? out.join('; ') : '-';
    }
    function villageTip(p, s, L_, hotLabels) {  // a village's tooltip at stage index s (_village_payload)
        var out = '<b>' + p.t[0] + ' <small>(' + p.t[1] + ')</small></b>' + row(L_.score, score(p.sc[s]))
            + row(L_.category, L_.levels[p.lv[s]]) + row(L_.factors, factors(p.fx[s], L_.village_factors));
        if (p.hs && p.hs[s] >= 0) out += row(L_.hotspot, hotLabels[p.hs[s]]);
        return out;
    }
"""
"""JavaScript: the tooltip pieces of the stage map and the deployment map (texts escaped in Python)."""


_STAGE_MAP_JS = (
    """
{% macro script(this, kwargs) %}
(function() {
    var map = {{ this._parent.get_name() }};
    var D = {{ this.payload }};
    var renderer = D.canvas ? L.canvas({padding: 0.5}) : L.svg({padding: 0.5});
    var state = {stage: 0, selected: null};
    var clusterIcon = ("""
    + _CLUSTER_ICON
    + """);
"""
    + _TIP_JS
    + """
    function areaStyle(f) {
        var p = f.properties, sel = p.id === state.selected;
        return {fillColor: D.colors[p.lv[state.stage]], color: sel ? '#0000ff' : '#333333', weight: sel ? 4 : 1,
                opacity: 1, fillOpacity: D.fill_opacity};
    }
    function areaTip(layer) {
        var p = layer.feature.properties, s = state.stage, L_ = D.labels;
        return p.kind === 'village' ? villageTip(p, s, L_, D.hot_labels) : p.t + p.rs[s];
    }
    var heat = null, heatOverlay = null;  // below the villages, as before
    function heatPoints() {
        var w = D.heat.w[state.stage], out = [];
        for (var i = 0; i < w.length; i++) if (w[i] > 0) out.push([D.heat.ll[i][0], D.heat.ll[i][1], w[i]]);
        return out;
    }
    if (D.heat && L.heatLayer) {
        heat = L.heatLayer([], {radius: 18, blur: 15, minOpacity: 0.3, maxZoom: 18}).addTo(map);
        heatOverlay = [D.names.heat, heat];
    }

    var areas = L.geoJSON(D.areas, {renderer: renderer, className: D.area_class, style: areaStyle});
    areas.bindTooltip(areaTip, {sticky: true});
    areas.on('mouseover', function (e) { e.layer.setStyle({weight: 3, color: '#000000'}); });
    areas.on('mouseout', function (e) { areas.resetStyle(e.layer); });
    areas.addTo(map);
    // the layers hold their own coordinates: drop the GeoJSON copy (heap kept small; toGeoJSON rebuilds it)
    areas.eachLayer(function (l) { l.feature.geometry = null; });
    D.areas = null;
    var overlays = [[D.names.areas, areas]];
    if (heatOverlay) overlays.push(heatOverlay);

    var hot = null;
    if (D.hot_styles && D.hot_styles.some(function (s) { return s; })) {
        hot = L.layerGroup().addTo(map);
        overlays.push([D.names.hotspot, hot]);
    }
    function drawHot() {
        if (!hot) return;
        hot.clearLayers();
        var s = state.stage;
        areas.eachLayer(function (l) {
            var p = l.feature.properties, st = p.hs && p.hs[s] >= 0 ? D.hot_styles[p.hs[s]] : null;
            if (!st) return;
            hot.addLayer(L.polygon(l.getLatLngs(), {renderer: renderer, className: 'rm-hotspot', interactive: false,
                fill: false, color: st.color, weight: st.weight, dashArray: st.dashArray, opacity: 0.95}));
        });
    }

    var tps = null, tpsMarkers = [];
    function tpsStyle(f) {
        var p = f.properties, sel = p.id === state.selected;
        return {fillColor: D.colors[p.lv[state.stage]], color: sel ? '#0000ff' : '#000000', weight: sel ? 3 : 1,
                radius: sel ? 9 : 5, fillOpacity: 0.95};
    }
    if (D.tps && D.tps.features) {
        tps = L.geoJSON(D.tps.features, {renderer: renderer, className: 'rm-tps', style: tpsStyle,
            pointToLayer: function (f, ll) { return L.circleMarker(ll, {renderer: renderer, className: 'rm-tps'}); }});
        tps.bindTooltip(function (layer) {
            var p = layer.feature.properties, s = state.stage, L_ = D.labels;
            return p.t + row(L_.address, p.ad) + row(L_.score, score(p.sc[s])) + row(L_.category, L_.levels[p.lv[s]])
                + row(L_.factors, factors(p.fx[s], L_.tps_factors));
        }, {sticky: true});
        tps.eachLayer(function (l) { l.feature.geometry = null; });
        D.tps.features = null;
    } else if (D.tps && D.tps.rows) {
        // clustered in slices of 40 ms with pauses between: the villages are drawn first, the bubbles follow
        // (data-rm-tps="ready" on the map once every TPS is in)
        tps = L.markerClusterGroup({maxClusterRadius: 80, iconCreateFunction: clusterIcon('tps'), chunkedLoading: true,
            chunkInterval: 40, chunkDelay: 10, chunkProgress: function (done, total) {
                if (done === total) map.getContainer().setAttribute('data-rm-tps', 'ready');
            }});
        var rows = D.tps.rows;
        for (var i = 0; i < rows.length; i++) {
            var m = L.circleMarker([rows[i][0], rows[i][1]], {renderer: renderer, radius: 5, color: '#000', weight: 1,
                fillOpacity: 0.95, interactive: false});
            m.rmLevels = rows[i].slice(2);
            tpsMarkers.push(m);
        }
        tps.addLayers(tpsMarkers);
        D.tps.rows = null;
    }
    if (tps) { tps.addTo(map); overlays.push([D.names.tps, tps]); }

    var legend = L.control({position: 'bottomright'}), legendDiv = null;
    legend.onAdd = function () {
        legendDiv = L.DomUtil.create('div', 'riskmap-legend');
        legendDiv.style.cssText = 'background:white;padding:6px 8px;border:1px solid #999;font:12px sans-serif;'
            + 'line-height:18px;max-width:220px';
        legendDiv.innerHTML = D.legends[state.stage];
        return legendDiv;
    };
    legend.addTo(map);

    // the stage buttons (build_map(stage_buttons=True)): recolour at once, then tell the page (issue 12)
    var S = {{ this.switcher }}, buttons = [];
    function markButtons() {
        for (var i = 0; i < buttons.length; i++) {
            var on = i === state.stage;
            buttons[i].setAttribute('aria-pressed', on ? 'true' : 'false');
            buttons[i].style.background = on ? '#263238' : '#ffffff';
            buttons[i].style.color = on ? '#ffffff' : '#263238';
        }
    }
    function pick(i) {
        var rm = map.riskmap;
        if (i === state.stage && rm.shown) return;
        rm.show(i, state.selected);
        // streamlit-folium's component value, with the stage picked (riskmap.app.main reads it)
        var G = window.__GLOBAL_DATA__, host = window.Streamlit;
        if (G && host && host.setComponentValue) {
            var value = Object.assign({}, G.previous_data || {});
            value.riskmap_stage = D.stages[i];
            value.riskmap_token = Date.now().toString(36) + '-' + Math.random().toString(36).slice(2);
            host.setComponentValue(value);
        }
    }
    if (S) {
        var bar = L.control({position: 'topright'});
        bar.onAdd = function () {
            var div = L.DomUtil.create('div', 'leaflet-bar rm-stage-buttons');
            div.setAttribute('role', 'group');
            div.setAttribute('aria-label', S.title);
            div.style.cssText = 'background:#fff;padding:2px;display:flex;flex-wrap:wrap;gap:2px;max-width:480px';
            S.labels.forEach(function (text, i) {
                var b = L.DomUtil.create('button', 'rm-stage-button', div);
                b.type = 'button';
                b.textContent = text;  // plain text: never parsed as markup
                b.setAttribute('data-rm-stage', D.stages[i]);
                b.style.cssText = 'border:1px solid #90a4ae;border-radius:3px;padding:3px 8px;cursor:pointer;'
                    + 'font:12px sans-serif';
                L.DomEvent.on(b, 'click', function (e) { L.DomEvent.stop(e); pick(i); });
                buttons.push(b);
            });
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            markButtons();
            return div;
        };
        bar.addTo(map);
    }

    map.riskmap = {
        overlays: overlays,
        areas: areas,
        pick: pick,
        show: function (stage, selected) {
            var changed = stage !== state.stage || selected !== state.selected;
            state.stage = stage;
            state.selected = selected;
            markButtons();
            if (!changed && map.riskmap.shown) return;
            map.riskmap.shown = true;
            areas.setStyle(areaStyle);
            if (tps && tps.setStyle && !tpsMarkers.length) tps.setStyle(tpsStyle);
            for (var i = 0; i < tpsMarkers.length; i++) {
                tpsMarkers[i].setStyle({fillColor: D.colors[tpsMarkers[i].rmLevels[stage]]});
            }
            drawHot();
            if (heat) heat.setLatLngs(heatPoints());
            if (legendDiv) legendDiv.innerHTML = D.legends[stage];
            map.getContainer().setAttribute('data-rm-stage', D.stages[stage]);
        }
    };
})();
{% endmacro %}
"""
)


class _StageMap(JSCSSMixin, MacroElement):
    """The stage-dependent layers of a map, for every stage at once, and their restyling in the browser.

    The map's script is the same for every stage (so streamlit-folium keeps the
    map when the stage changes); :class:`_StageSetter` picks the stage and the
    selected feature. ``payload`` is a :func:`js_literal`: every text in it was
    escaped in Python and no user string can form template syntax or end the script.
    ``switcher`` (see :func:`_stage_map`; ``null`` for none) adds the map's own stage buttons.
    """

    _template = FoliumTemplate(_STAGE_MAP_JS)

    def __init__(self, payload: str, switcher: str = "null") -> None:
        super().__init__()
        self._name = "RiskmapStages"
        self.payload = payload
        self.switcher = switcher


class _StageSetter(MacroElement):
    """Shows one stage (and outlines the selected feature) on the map's :class:`_StageMap` layers."""

    _template = FoliumTemplate(
        """
        {% macro script(this, kwargs) %}
            {{ this.map.get_name() }}.riskmap.show({{ this.stage }}, {{ this.selected }});
        {% endmacro %}"""
    )

    def __init__(self, m: folium.Map, stage: int, selected: str | None) -> None:
        super().__init__()
        self._name = "RiskmapStageSetter"
        self.map = m
        self.stage = int(stage)
        self.selected = js_literal(selected)


class _Overlays(MacroElement):
    """Adds the :class:`_StageMap` layers to the map's layer control (rendered after the control)."""

    _template = FoliumTemplate(
        """
        {% macro script(this, kwargs) %}
            {{ this._parent.get_name() }}.riskmap.overlays.forEach(function (o) {
                {{ this.control.get_name() }}.addOverlay(o[1], o[0]);
            });
        {% endmacro %}"""
    )

    def __init__(self, control: folium.LayerControl) -> None:
        super().__init__()
        self._name = "RiskmapOverlays"
        self.control = control


def _stage_map(payload: str, config: Config, lang: str, stage_buttons: bool) -> _StageMap:
    """The :class:`_StageMap` of ``payload``, with the map's own stage buttons when ``stage_buttons``.

    The buttons' texts go as a :func:`js_literal` (plain: the browser sets them as text).
    """
    if not stage_buttons:
        return _StageMap(payload)
    labels = [config.stage_label(s, lang) for s in config.stages]
    return _StageMap(payload, js_literal({"title": i18n.t("map_stage_buttons", lang), "labels": labels}))


def stage_setter(fmap: folium.Map, view: View, config: Config, selected: str | None = None) -> folium.FeatureGroup:
    """What a stage switch sends: a tiny script that recolours the map built by :func:`build_map` (``live_stage``).

    Give it to ``st_folium(..., feature_group_to_add=...)``: streamlit-folium then
    keeps the map (its script is the same for every stage) and runs only this.
    """
    group = folium.FeatureGroup(name="riskmap-stage", control=False)
    group.add_child(_StageSetter(fmap, list(config.stages).index(view.stage), selected))
    return group


class _Tooltip(MacroElement):
    r"""A tooltip on its parent layer; the HTML (escaped in Python) reaches Leaflet as a JSON string.

    ``folium.Tooltip`` pastes its text into a JavaScript template literal, where
    a backtick, ``${`` or ``\u`` in a name is code. Here the text is data.
    """

    _template = FoliumTemplate(
        """
        {% macro script(this, kwargs) %}
            {{ this._parent.get_name() }}.bindTooltip({{ this.html|tojson }}, {{ this.options|tojson }});
        {% endmacro %}"""
    )

    def __init__(self, html: str, *, sticky: bool = True) -> None:
        super().__init__()
        self._name = "RiskmapTooltip"
        self.html = html
        self.options = {"sticky": sticky}


def _swatch(color: str) -> str:
    return (
        f"<i style='display:inline-block;width:12px;height:12px;background:{color};"
        "border:1px solid #555;margin-right:4px'></i>"
    )


def legend_html(view: View, config: Config, *, lang: str = "id") -> str:
    """Legend: the stage, each category's colour with village and TPS counts, hot spots, the method.

    The hot-spot outlines (with village counts) appear when the result has
    the stage's ``hotspot_<stage>`` column; the last line names the scoring
    method (``scoring.method``).
    """
    s = view.stage
    vc = view.villages[f"level_{s}"].value_counts()
    tc = view.tps[f"level_{s}"].value_counts() if view.tps is not None else pd.Series(dtype=int)
    head = f"<b>{esc(config.stage_label(s, lang))}</b><br>"
    unit = esc(i18n.t("map_unit_villages_tps", lang))
    rows = "".join(
        f"{_swatch(CATEGORY_COLORS[c])}{esc(i18n.t(c, lang))}: {int(vc.get(c, 0))} / {int(tc.get(c, 0))}<br>"
        for c in reversed(CATEGORIES)
    )
    hot = hotspot_column(view.villages, s)
    spots = ""
    if hot is not None:
        hc = view.villages[hot].value_counts()
        spots = "".join(
            f"<i style='display:inline-block;width:12px;height:10px;border:{HOTSPOT_STYLE[c]['weight']}px "
            f"{'dashed' if HOTSPOT_STYLE[c]['dashArray'] else 'solid'} {HOTSPOT_STYLE[c]['color']};"
            f"margin-right:4px;box-sizing:border-box'></i>{esc(hotspot_label(c, lang))}: {int(hc.get(c, 0))}<br>"
            for c in HOTSPOT_CLASSES
            if hc.get(c, 0)
        )
        if spots:
            spots = f"<b>{esc(i18n.t('hotspot_legend', lang))}</b><br>" + spots
    method = f"<small>{esc(method_label(config, lang, view.method))}</small>"
    if view.simulated:  # issue 12: what-if scores are marked where they are read
        head += f"<b style='color:#b30000'>{esc(i18n.t('whatif_mark', lang))}</b><br>"
    return head + rows + f"<small>{unit}</small><br>" + spots + method


def _labels(lang: str) -> dict[str, Any]:
    """Tooltip words of the stage map, escaped."""
    return {
        "score": esc(i18n.t("map_score", lang)),
        "category": esc(i18n.t("map_category", lang)),
        "factors": esc(i18n.t("map_factors", lang)),
        "address": esc(i18n.t("map_address", lang)),
        "hotspot": esc(i18n.t("hotspot_tip", lang)),
        "levels": [esc(i18n.t(c, lang)) for c in CATEGORIES] + ["-"],
        "village_factors": [esc(i18n.t("factor_" + f, lang)) for f in VILLAGE_FACTOR_ORDER],
        "tps_factors": [esc(i18n.t("factor_" + f, lang)) for f in TPS_FACTOR_ORDER],
    }


def stage_payload(
    view: View,
    config: Config,
    *,
    geoms: np.ndarray | None = None,
    lang: str = "id",
    incident_weights: pd.DataFrame | dict[str, pd.Series] | None = None,
) -> str:
    """Everything the stage map draws, for every stage, as one JavaScript literal (the heavy part of the map).

    The same for every stage of a view (unless a category filter makes the
    view itself depend on the stage): the app computes it once per result,
    filter and language. Every text in it is escaped; see :func:`build_map`
    for the parameters.
    """
    stages = list(config.stages)
    display = _display_settings(config)
    if geoms is None:
        geoms = display_geometry(view.villages)
    villages = _village_payload(view, geoms, stages, lang)
    n_tps = 0 if view.tps is None else len(view.tps)
    data = {
        "stages": stages,
        "canvas": len(view.villages) > int(display["canvas_above_villages"]),
        "colors": [CATEGORY_COLORS[c] for c in CATEGORIES] + ["#cccccc"],
        "fill_opacity": 0.55,
        "area_class": "rm-village",
        "areas": villages["features"],
        "hot_labels": villages["hot_labels"],
        "hot_styles": villages["hot_styles"],
        "tps": _tps_payload(view, stages, lang, n_tps <= int(display["cluster_tps_above"])),
        "heat": _heat_payload(view, stages, incident_weights),
        "labels": _labels(lang),
        "names": {
            "areas": esc(i18n.t("map_villages", lang)),
            "hotspot": esc(i18n.t("hotspot_layer", lang)),
            "tps": "TPS",
            "heat": esc(i18n.t("map_heat", lang)),
        },
        "legends": [legend_html(replace(view, stage=s), config, lang=lang) for s in stages],
    }
    return js_literal(data)


def build_map(
    view: View,
    config: Config,
    *,
    lang: str = "id",
    geoms: np.ndarray | None = None,
    tiles_url: str | None = None,
    tiles_attribution: str = "",
    incident_weights: pd.DataFrame | dict[str, pd.Series] | None = None,
    selected: str | None = None,
    pin: tuple[float, float] | None = None,
    alerts: pd.DataFrame | None = None,
    live_stage: bool = False,
    payload: str | None = None,
    stage_buttons: bool = False,
) -> folium.Map:
    """Build the stage map: one map that holds every stage, showing ``view.stage``.

    Parameters
    ----------
    view
        Filtered layers of one stage (:func:`riskmap.view.make_view`); the
        villages and TPS carry every stage's scores, so the map does too.
    config
        For stage and type labels and the ``[display]`` settings (canvas
        renderer above ``canvas_above_villages``, TPS clustered above
        ``cluster_tps_above``).
    lang
        ``id`` or ``en``.
    geoms
        Display geometry of ``view.villages`` (see :func:`display_geometry`);
        computed when None.
    tiles_url
        XYZ tile URL template (online OSM or a local tile server); None for a
        plain background that needs no network.
    incident_weights
        Weight per incident for each stage (a column or ``{stage: Series}`` per
        stage, index aligned with ``view.incidents``; ``RiskModel.incident_weights_``)
        for the heat layer; plain counts when None or for a stage it lacks.
    selected
        Village code or TPS id to outline.
    pin
        (lat, lon), EPSG:4326 degrees: the point an officer clicked for a new incident, marked.
    alerts
        Early-warning markers, one row each: ``lat``, ``lon`` (EPSG:4326), ``level``
        (``district``/``regency``) and ``label`` (plain text); see :func:`alert_markers`.
    live_stage
        True: the map's script is the same for every stage and selection, and
        shows nothing until :func:`stage_setter` runs (what the app sends with
        ``st_folium(feature_group_to_add=...)``). False: the map shows
        ``view.stage`` by itself.
    payload
        :func:`stage_payload` of this view, config, geometry and language
        (the app caches it); computed when None.
    stage_buttons
        True: the map carries a button per stage that recolours it in the
        browser at once (no round trip to the server) and, inside the app,
        reports the stage as ``riskmap_stage`` (with a fresh ``riskmap_token``)
        in streamlit-folium's component value.
    """
    m = _new_map(view, check_tiles_url(tiles_url), tiles_attribution)
    if payload is None:
        payload = stage_payload(view, config, geoms=geoms, lang=lang, incident_weights=incident_weights)
    root = m.get_root()
    if isinstance(root, Figure):
        root.header.add_child(folium.Element(CLUSTER_CSS), name="riskmap_cluster_css")
    m.add_child(_stage_map(payload, config, lang, stage_buttons))

    inc = view.incidents
    if inc is not None and len(inc):
        pts = inc[inc["precision"] != "region"]
        # compact rows [lat, lon, date, type index, description]; the popup is assembled in the
        # browser from texts that were escaped here
        types = sorted(set(pts["type"]))
        labels = [esc(config.type_label(k, lang) if k in config.taxonomy else k) for k in types]
        type_idx = pd.Categorical(pts["type"], categories=types).codes
        rows = [
            [y, x, d.date().isoformat(), int(k), esc(desc)]
            for y, x, d, k, desc in zip(
                pts.geometry.y.round(5), pts.geometry.x.round(5), pts["date"], type_idx, pts["description"], strict=True
            )
        ]
        callback = (
            f"function (row) {{ var T = {js_literal(labels)}; "
            "var m = L.circleMarker(new L.LatLng(row[0], row[1]), "
            "{radius: 4, color: '#6a1b9a', weight: 1, fillColor: '#ba68c8', fillOpacity: 0.9}); "
            "m.bindPopup('<b>' + row[2] + '</b> ' + T[row[3]] + '<br>' + row[4]); return m; }"
        )
        _PointCluster(rows, callback=callback, name=i18n.t("map_incidents", lang), show=False).add_to(m)

    if view.posts is not None and len(view.posts):
        group = folium.FeatureGroup(name=i18n.t("map_posts", lang))
        for name, kind, geom in zip(view.posts["name"], view.posts["kind"], view.posts.geometry, strict=True):
            marker = folium.Marker(
                [geom.y, geom.x], icon=folium.DivIcon(html=_POST_ICON, icon_size=(16, 16), icon_anchor=(8, 8))
            )
            marker.add_child(_Tooltip(f"{esc(name)} ({esc(kind)})"))
            marker.add_to(group)
        group.add_to(m)

    _alert_layer(m, alerts, lang)
    if pin is not None:
        folium.CircleMarker(
            [float(pin[0]), float(pin[1])],
            radius=9,
            color="#0d47a1",
            weight=3,
            fill=True,
            fill_color="#2196f3",
            fill_opacity=0.9,
            interactive=False,
            class_name="rm-pin",
        ).add_to(m)

    control = _finish_map(m, view, lang)
    m.add_child(_Overlays(control))
    if not live_stage:
        m.add_child(stage_setter(m, view, config, selected))
    return m


# -- the province / national overview: kab/kota shares, drill-down by click (issue 12) -----------------------------
OVERVIEW_COLORS = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
"""Fill per share class of the overview (ColorBrewer YlOrRd, 5 classes), lowest share first."""


def regency_geometry(villages: gpd.GeoDataFrame, geoms: np.ndarray, tolerance_m: float) -> gpd.GeoSeries:
    """Kab/kota outlines from the villages' display geometry (EPSG:4326), simplified together, by kab/kota name.

    The villages of a kab/kota are merged (``coverage_union_all``, which keeps
    the outline exact for a clean coverage), then all outlines are simplified
    as one coverage (shared borders stay shared); ``tolerance_m`` is in metres.
    """
    regency = villages["regency"].astype(str).to_numpy()
    names = sorted(set(regency), key=natural_key)
    parts = []
    for name in names:
        members = np.asarray(geoms)[regency == name]
        try:
            parts.append(shapely.coverage_union_all(members))
        except Exception:  # not a clean coverage: a plain union
            parts.append(shapely.union_all(members))
    outlines = np.array(parts, dtype=object)
    if len(outlines):
        lat = float(np.mean(villages.total_bounds[[1, 3]]))
        tol = tolerance_m / (111_320 * max(np.cos(np.radians(lat)), 0.1))
        try:
            outlines = shapely.coverage_simplify(outlines, tol)
        except Exception:
            outlines = shapely.simplify(outlines, tol, preserve_topology=True)
        outlines = shapely.transform(outlines, lambda xy: np.round(xy, 5))
    return gpd.GeoSeries(outlines, index=pd.Index(names, name="regency"), crs=4326)


def _share_text(share: float) -> str:
    return "-" if not np.isfinite(share) else f"{share:.0%}"


def _overview_legend(config: Config, stage: str, breaks: list[float], lang: str) -> str:
    """Legend of the overview: the stage, the share classes, a hint that a click opens a kab/kota."""
    rows = "".join(f"{_swatch(OVERVIEW_COLORS[i])}{label}<br>" for i, label in enumerate(share_class_labels(breaks)))
    high = " + ".join(i18n.t(c, lang) for c in CATEGORIES[1:])
    return (
        f"<b>{esc(config.stage_label(stage, lang))}</b><br>"
        f"<small>{esc(i18n.t('map_overview_title', lang, high=high))}</small><br>"
        + rows
        + f"<small>{esc(i18n.t('map_overview_click', lang))}</small>"
    )


def overview_payload(view: View, config: Config, regions: gpd.GeoSeries, *, lang: str = "id") -> str:
    """The overview map's content for every stage (a :func:`js_literal`): kab/kota coloured by their share.

    Each kab/kota's class is the share of its villages that are rawan or
    sangat rawan (``[display] overview_breaks_pct``); its tooltip gives that
    share, the TPS share and the counts (:func:`riskmap.view.area_shares`).
    """
    stages = list(config.stages)
    breaks = share_breaks(config)
    shares = area_shares(view.villages, view.tps, stages).reindex(regions.index)
    high = " + ".join(i18n.t(c, lang) for c in CATEGORIES[1:])
    v_label = esc(i18n.t("map_overview_villages", lang, high=high))
    t_label = esc(i18n.t("map_overview_tps", lang, high=high))
    classes, rows = [], []
    for s in stages:
        sv = shares[f"share_villages_{s}"].to_numpy(dtype=float)
        st_ = shares[f"share_tps_{s}"].to_numpy(dtype=float)
        classes.append(share_class(sv, breaks).tolist())  # (no data: the grey after the classes' colours)
        rows.append(
            [
                f"<br>{v_label}: <b>{_share_text(a)}</b> ({int(nv)})<br>{t_label}: <b>{_share_text(b)}</b> ({int(nt)})"
                for a, b, nv, nt in zip(sv, st_, shares["n_villages"].fillna(0), shares["n_tps"].fillna(0), strict=True)
            ]
        )
    props = pd.DataFrame(
        {
            "kind": "regency",
            "id": regions.index.astype(str).to_numpy(),
            "t": [f"<b>{esc(name)}</b>" for name in regions.index],
        }
    )
    props["lv"] = _per_stage(classes)
    props["rs"] = _per_stage(rows)
    data = {
        "stages": stages,
        "canvas": False,
        "colors": [*OVERVIEW_COLORS, "#cccccc"],
        "fill_opacity": 0.75,
        "area_class": "rm-regency",
        "areas": _features(regions.to_numpy(), props, for_js=True),
        "hot_labels": [],
        "hot_styles": [],
        "tps": None,
        "heat": None,
        "labels": _labels(lang),
        "names": {"areas": esc(i18n.t("map_regencies", lang)), "hotspot": "", "tps": "", "heat": ""},
        "legends": [_overview_legend(config, s, breaks, lang) for s in stages],
    }
    return js_literal(data)


def overview_map(
    view: View,
    config: Config,
    regions: gpd.GeoSeries,
    *,
    lang: str = "id",
    tiles_url: str | None = None,
    tiles_attribution: str = "",
    live_stage: bool = False,
    payload: str | None = None,
    stage_buttons: bool = False,
) -> folium.Map:
    """The province or national overview: one polygon per kab/kota, coloured by its share of rawan villages.

    A click on a kab/kota reports its feature (``kind == "regency"``, ``id`` =
    its name) to the app, which then opens that kab/kota's villages. Stages
    switch in the browser as on :func:`build_map` (``live_stage``, :func:`stage_setter`).

    Parameters
    ----------
    view
        The view of all villages (and TPS) to aggregate.
    regions
        Kab/kota outlines by name (:func:`regency_geometry`), EPSG:4326.
    payload
        :func:`overview_payload` (the app caches it); computed when None.
    stage_buttons
        As on :func:`build_map`.
    """
    m = _new_map(view, check_tiles_url(tiles_url), tiles_attribution)
    if payload is None:
        payload = overview_payload(view, config, regions, lang=lang)
    m.add_child(_stage_map(payload, config, lang, stage_buttons))
    control = _finish_map(m, view, lang)
    m.add_child(_Overlays(control))
    if not live_stage:
        m.add_child(stage_setter(m, view, config, None))
    return m


_ALERT_ICON = (
    '<div class="rm-alert rm-alert-{level}" style="width:{size}px;height:{size}px;line-height:{size}px;'
    "border-radius:50%;background:#b71c1c;color:#fff;border:2px solid #fff;text-align:center;"
    'font-weight:bold;font-size:{font}px;box-shadow:0 0 4px #000">!</div>'
)


def alert_markers(alerts: pd.DataFrame, as_of: Any, *, lang: str = "id") -> pd.DataFrame:
    """Where and what to draw for each early-warning alert.

    Parameters
    ----------
    alerts
        :func:`riskmap.alerts.surges` output (``level``, ``lat``/``lon`` the centre of the unit's
        villages, EPSG:4326 degrees).
    as_of
        The alerts' date (:class:`datetime.date`), for the labels.

    Returns
    -------
    pandas.DataFrame
        ``lat``, ``lon`` (EPSG:4326 degrees), ``level``, ``label`` (plain text, from
        :func:`riskmap.alerts.describe`), one row per alert with a position.
    """
    from riskmap.alerts import describe

    columns = ["lat", "lon", "level", "label"]
    if alerts is None or not len(alerts):
        return pd.DataFrame(columns=columns)
    out = pd.DataFrame(
        {
            "lat": pd.to_numeric(alerts["lat"], errors="coerce").to_numpy(),
            "lon": pd.to_numeric(alerts["lon"], errors="coerce").to_numpy(),
            "level": alerts["level"].astype(str).to_numpy(),
            "label": [line.strip() for line in describe(alerts, as_of, lang)[1:]],
        }
    )
    return out[out["lat"].notna() & out["lon"].notna()].reset_index(drop=True)


def _alert_layer(m: folium.Map, alerts: pd.DataFrame | None, lang: str) -> None:
    """Red "!" markers for the surges, kab/kota larger than kecamatan, each with its label as tooltip."""
    if alerts is None or not len(alerts):
        return
    group = folium.FeatureGroup(name=i18n.t("app.alert_layer", lang))
    for lat, lon, level, label in zip(alerts["lat"], alerts["lon"], alerts["level"], alerts["label"], strict=True):
        size = 26 if level == "regency" else 20
        html = _ALERT_ICON.format(level=esc(level), size=size, font=size - 6)
        marker = folium.Marker(
            [float(lat), float(lon)],
            icon=folium.DivIcon(html=html, icon_size=(size, size), icon_anchor=(size // 2, size // 2)),
        )
        marker.add_child(_Tooltip(esc(label)))
        marker.add_to(group)
    group.add_to(m)


def _new_map(
    view: View, tiles_url: str | None = None, tiles_attribution: str = "", *, canvas: bool = False
) -> folium.Map:
    """An empty map served from local assets; tiles only when a URL is given; vector layers on a canvas if asked."""
    use_local_assets()
    # no tile layer means no maxZoom for markercluster to read: set it on the map
    m = folium.Map(
        tiles=None,
        control_scale=True,
        prefer_canvas=canvas,
        zoom_start=12,
        location=_center(view),
        maxZoom=19,
        minZoom=4,
    )
    if tiles_url:
        folium.TileLayer(
            tiles=tiles_url, attr=esc(tiles_attribution) or "tiles", name="Peta dasar", control=False
        ).add_to(m)
    return m


_TILE_URL = re.compile(r"(?:https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?)?/?[A-Za-z0-9._~/?&=+,;:@%!-]*")
"""A tile URL once its placeholders are removed: http(s) or a relative path, no quotes, spaces or backslashes."""

_TILE_PLACEHOLDERS = re.compile(r"\{[szxyr]\}")


def check_tiles_url(url: str | None) -> str | None:
    """A tile URL template as Leaflet takes it, checked; None stays None.

    Accepted: ``http://`` or ``https://`` URLs and relative paths on this
    server, with the placeholders ``{s}``, ``{z}``, ``{x}``, ``{y}``, ``{r}``
    only (``{z}``, ``{x}`` and ``{y}`` all present) and no quotes, spaces,
    backslashes or other braces.

    Raises
    ------
    RiskmapInputError
        ``tiles_url_invalid``: anything else (another scheme such as
        ``javascript:``, template syntax, a provider name).
    """
    if url is None or not url.strip():
        return None
    url = url.strip()
    rest = _TILE_PLACEHOLDERS.sub("", url)
    has_xyz = all(p in url for p in ("{z}", "{x}", "{y}"))
    if len(url) > 2000 or not has_xyz or not _TILE_URL.fullmatch(rest) or rest.startswith("//"):
        raise RiskmapInputError("tiles_url_invalid", url=url[:200])
    return url


def _finish_map(m: folium.Map, view: View, lang: str) -> folium.LayerControl:
    """Layer control, fullscreen, measuring tool, and a view fitted to the villages; returns the layer control."""
    control = folium.LayerControl(collapsed=True)
    control.add_to(m)
    plugins.Fullscreen(
        position="topleft",
        title=i18n.t("map_fullscreen", lang),
        title_cancel=i18n.t("map_fullscreen_exit", lang),
    ).add_to(m)
    plugins.MeasureControl(
        position="topleft",
        primary_length_unit="meters",
        secondary_length_unit="kilometers",
        primary_area_unit="hectares",
    ).add_to(m)
    bounds = view.villages.total_bounds if len(view.villages) else None
    if bounds is not None and np.isfinite(bounds).all():
        m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    return control


def _center(view: View) -> list[float]:
    if len(view.villages):
        b = view.villages.total_bounds
        return [float((b[1] + b[3]) / 2), float((b[0] + b[2]) / 2)]
    return [-2.5, 118.0]


_DEPLOYMENT_JS = (
    """
{% macro script(this, kwargs) %}
(function() {
    var map = {{ this._parent.get_name() }};
    var D = {{ this.payload }};
    var renderer = D.canvas ? L.canvas({padding: 0.5}) : L.svg({padding: 0.5}), L_ = D.labels;
"""
    + _TIP_JS
    + """
    var areas = L.geoJSON(D.areas, {renderer: renderer, className: 'rm-village',
        style: {fillColor: '#eeeeee', color: '#777777', weight: 1, fillOpacity: 0.4}});
    areas.bindTooltip(function (layer) {
        return villageTip(layer.feature.properties, 0, L_, D.hot_labels);  // the payload holds the view's stage
    }, {sticky: true});
    areas.addTo(map);
    areas.eachLayer(function (l) { l.feature.geometry = null; });
    var overlays = [[D.names.areas, areas]];
    if (D.lines) {
        overlays.push([D.names.lines, L.geoJSON(D.lines, {renderer: renderer, interactive: false,
            style: {color: '#555555', weight: 1, opacity: 0.7}}).addTo(map)]);
    }
    // one row per TPS: [lat, lon, category, police, police needed, linmas, linmas needed, id, village]
    var tps = L.featureGroup();
    D.tps.forEach(function (r) {
        var m = L.circleMarker([r[0], r[1]], {renderer: renderer, radius: 4, weight: 1, color: '#000000',
            fill: true, fillColor: D.colors[r[2]], fillOpacity: 0.95});
        m.rmRow = r;
        tps.addLayer(m);
    });
    tps.bindTooltip(function (layer) {
        var r = layer.rmRow;
        return '<b>TPS ' + r[7] + '</b> ' + r[8] + '<br>' + L_.levels[r[2]] + ' · ' + D.names.police + ' '
            + r[3] + ' / ' + r[4] + ' · Linmas ' + r[5] + ' / ' + r[6];
    }, {sticky: true});
    if (D.tps.length) { tps.addTo(map); overlays.push(['TPS', tps]); }
    D.areas = D.lines = D.tps = null;
    map.riskmap = {overlays: overlays};
})();
{% endmacro %}
"""
)


class _DeploymentLayers(MacroElement):
    """The villages, guard-group lines and TPS of a deployment map, drawn in the browser from one payload.

    ``payload`` (:func:`deployment_payload`) is a :func:`js_literal`: every text in it was escaped in Python.
    The tooltips are assembled in the browser from those pieces (at 10,000 TPS, one HTML tooltip each made
    the page 6.5 MB and 3 s to draw).
    """

    _template = FoliumTemplate(_DEPLOYMENT_JS)

    def __init__(self, payload: str) -> None:
        super().__init__()
        self._name = "RiskmapDeployment"
        self.payload = payload


def deployment_payload(
    view: View, plan: gpd.GeoDataFrame, config: Config, *, lang: str = "id", geoms: np.ndarray | None = None
) -> str:
    """What a deployment map draws, as one :func:`js_literal`: villages, guard-group lines, a row per TPS.

    The lines run from each guard group's centre to each of its TPS (EPSG:4326), as one MultiLineString.
    """
    if geoms is None:
        geoms = display_geometry(view.villages)
    s = view.stage
    villages = _village_payload(view, geoms, [s], lang)
    x, y = shapely.get_x(plan.geometry.to_numpy()), shapely.get_y(plan.geometry.to_numpy())
    lines = None
    if len(plan):
        member, size = np.unique(plan["group"].to_numpy(), return_inverse=True, return_counts=True)[1:]
        cx = (np.bincount(member, weights=x) / size)[member]  # the group's centre, at each of its TPS
        cy = (np.bincount(member, weights=y) / size)[member]
        many = size[member] >= 2  # a lone TPS has no line to its group's centre
        ends = np.round(np.stack([np.column_stack([cx, cy])[many], np.column_stack([x, y])[many]], axis=1), 6)
        if len(ends):
            lines = GeometryJSON(str(shapely.to_geojson(shapely.multilinestrings(shapely.linestrings(ends)))))
    rows = [
        [yy, xx, lv, int(p), int(pr), int(lm), int(lr), esc(t), esc(v)]
        for yy, xx, lv, p, pr, lm, lr, t, v in zip(
            np.round(y, 5).tolist(),
            np.round(x, 5).tolist(),
            _level_codes(plan[f"level_{s}"]),
            plan["police"],
            plan["police_required"],
            plan["linmas"],
            plan["linmas_required"],
            plan["tps_id"].astype(str).tolist(),
            plan["village_name"].astype(str).tolist(),
            strict=True,
        )
    ]
    data = {
        "canvas": len(view.villages) > int(_display_settings(config)["canvas_above_villages"]),
        "colors": [CATEGORY_COLORS[c] for c in CATEGORIES] + ["#cccccc"],
        "areas": villages["features"],
        "hot_labels": villages["hot_labels"],
        "lines": lines,
        "tps": rows,
        "labels": _labels(lang),
        "names": {
            "areas": esc(i18n.t("map_villages", lang)),
            "lines": esc(i18n.t("map_guard_groups", lang)),
            "police": esc(i18n.t("col.police", lang)),
        },
    }
    return js_literal(data)


def deployment_map(
    view: View,
    plan: gpd.GeoDataFrame,
    posts: gpd.GeoDataFrame | None,
    radius_m: float,
    config: Config,
    *,
    lang: str = "id",
    geoms: np.ndarray | None = None,
) -> folium.Map:
    """Map of a staffing plan: villages, TPS by category, guard groups as lines, posts with their radius.

    The villages, lines and TPS are one payload (:func:`deployment_payload`) drawn in the browser; the
    posts (a few dozen) are folium markers with their radius.
    """
    m = _new_map(view, canvas=len(view.villages) > int(_display_settings(config)["canvas_above_villages"]))
    m.add_child(_DeploymentLayers(deployment_payload(view, plan, config, lang=lang, geoms=geoms)))
    if posts is not None and len(posts):
        group = folium.FeatureGroup(name=i18n.t("map_chosen_posts", lang))
        for row in posts.itertuples():
            folium.Circle(
                [row.geometry.y, row.geometry.x],
                radius=radius_m,
                color="#0d2a6b",
                weight=1,
                fill=True,
                fill_opacity=0.06,
            ).add_to(group)
            folium.Marker(
                [row.geometry.y, row.geometry.x],
                icon=folium.DivIcon(html=_POST_ICON, icon_size=(16, 16), icon_anchor=(8, 8)),
            ).add_child(_Tooltip(f"{esc(row.name)} ({esc(row.tps_covered)} TPS)")).add_to(group)
        group.add_to(m)
    control = _finish_map(m, view, lang)
    m.add_child(_Overlays(control))
    return m
