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
from typing import Any

import folium
import folium.plugins as plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement, Template
from folium.template import Template as FoliumTemplate

from riskmap import i18n
from riskmap._errors import RiskmapInputError
from riskmap.config import CATEGORIES, Config
from riskmap.view import HOTSPOT_CLASSES, View, esc, factor_text, hotspot_column, hotspot_label, method_label


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
    double-quoted and never hold a raw control character.
    """
    if "{" not in text and "}" not in text:
        return text
    parts = text.replace("\\\\", "\x00").replace('\\"', "\x01").split('"')
    for i in range(1, len(parts), 2):  # odd parts are the insides of strings
        if "{" in parts[i] or "}" in parts[i]:
            parts[i] = parts[i].replace("{", "\\u007b").replace("}", "\\u007d")
    return '"'.join(parts).replace("\x01", '\\"').replace("\x00", "\\\\")


def _json_dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` whose strings carry no braces (Jinja's ``tojson`` policy in folium's templates)."""
    return _brace_free(json.dumps(obj, **kwargs))


def js_literal(obj: Any) -> str:
    """A value as a JavaScript literal safe inside ``<script>`` and in any template.

    JSON with ``<``, ``>``, ``&``, ``'`` and, inside strings, ``{`` ``}``
    written as unicode escapes: user text can neither end the script nor
    form template syntax, and a backtick or ``${`` is only a character of a
    string.
    """
    return (
        _json_dumps(obj).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("'", "\\u0027")
    )


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

CATEGORY_COLORS: dict[str, str] = {
    "kurang_rawan": "#1a9641",
    "rawan": "#fdae61",
    "sangat_rawan": "#d7191c",
}
"""Fill colour per category (ColorBrewer RdYlGn, colour-blind friendly end points)."""

HOTSPOT_STYLE: dict[str, dict[str, Any]] = {
    "hot_99": {"color": "#b30000", "weight": 4, "dashArray": None},
    "hot_95": {"color": "#e34a33", "weight": 3, "dashArray": None},
    "hot_90": {"color": "#fc8d59", "weight": 2.5, "dashArray": "6 4"},
    "cold_90": {"color": "#6baed6", "weight": 2.5, "dashArray": "6 4"},
    "cold_95": {"color": "#3182bd", "weight": 3, "dashArray": None},
    "cold_99": {"color": "#08519c", "weight": 4, "dashArray": None},
}
"""Outline per hot-spot class (no fill): hot red, cold blue, thicker and solid with the confidence."""

MAX_TPS_AS_SHAPES = 3000
"""Above this many TPS, they are drawn as a fast cluster layer (not clickable)."""


def use_local_assets(base: str = ASSET_URL) -> None:
    """Point folium and the plugins we use at the vendored assets (idempotent)."""
    folium.Map.default_js = [("leaflet", f"{base}/leaflet.js")]
    folium.Map.default_css = [("leaflet_css", f"{base}/leaflet.css")]
    cluster_js = [("markerclusterjs", f"{base}/markercluster/leaflet.markercluster.js")]
    cluster_css = [
        ("markerclustercss", f"{base}/markercluster/MarkerCluster.css"),
        ("markerclusterdefaultcss", f"{base}/markercluster/MarkerCluster.Default.css"),
    ]
    for cls in (plugins.MarkerCluster, plugins.FastMarkerCluster):
        cls.default_js = cluster_js
        cls.default_css = cluster_css
    plugins.HeatMap.default_js = [("leaflet-heat.js", f"{base}/heat/leaflet-heat.js")]
    plugins.Fullscreen.default_js = [("Control.Fullscreen.js", f"{base}/fullscreen/Control.FullScreen.js")]
    plugins.Fullscreen.default_css = [("Control.FullScreen.css", f"{base}/fullscreen/Control.FullScreen.css")]
    plugins.MeasureControl.default_js = [("leaflet_measure_js", f"{base}/measure/leaflet-measure.js")]
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


def _features(geoms: np.ndarray, props: pd.DataFrame) -> dict[str, Any]:
    mapping = shapely.geometry.mapping
    records = props.to_dict("records")
    feats = [
        {"type": "Feature", "properties": rec, "geometry": mapping(g)}
        for g, rec in zip(geoms, records, strict=True)
        if g is not None and not g.is_empty
    ]
    return {"type": "FeatureCollection", "features": feats}


def _tip(title: str, rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<br>{k}: <b>{v}</b>" for k, v in rows)
    return f"<b>{title}</b>{body}"


def village_features(view: View, geoms: np.ndarray, *, lang: str = "id") -> dict[str, Any]:
    """GeoJSON of the view's villages with escaped tooltip HTML per feature."""
    v = view.villages
    s = view.stage
    factors = factor_text(v, s, lang=lang)
    level_label = {c: i18n.t(c, lang) for c in CATEGORIES}
    score_w = "Skor" if lang == "id" else "Score"
    cat_w = "Kategori" if lang == "id" else "Category"
    fac_w = "Faktor utama" if lang == "id" else "Top factors"
    hot = hotspot_column(v, s)
    hot_w = i18n.t("hotspot_tip", lang)
    classes = v[hot] if hot is not None else pd.Series(None, index=v.index, dtype=object)
    tips = [
        _tip(
            f"{esc(name)} <small>({esc(dist)})</small>",
            [(score_w, f"{score:.0f}"), (cat_w, esc(level_label.get(level, level))), (fac_w, esc(fac) or "-")]
            + ([(hot_w, esc(hotspot_label(cls, lang)))] if hot is not None else []),
        )
        for name, dist, score, level, fac, cls in zip(
            v["village_name"], v["district"], v[f"risk_{s}"], v[f"level_{s}"], factors, classes, strict=True
        )
    ]
    props = pd.DataFrame(
        {
            "kind": "village",
            "id": v["village_code"].to_numpy(),
            "level": v[f"level_{s}"].to_numpy(),
            "tip": tips,
        }
    )
    return _features(geoms, props)


def tps_features(view: View, *, lang: str = "id") -> dict[str, Any]:
    """GeoJSON points of the view's TPS with escaped tooltip HTML."""
    t = view.tps
    if t is None:
        raise ValueError("the view has no TPS")
    s = view.stage
    factors = factor_text(t, s, unit="tps", lang=lang)
    level_label = {c: i18n.t(c, lang) for c in CATEGORIES}
    tips = [
        _tip(
            f"TPS {esc(num or tid)} {esc(vname)}",
            [
                ("Alamat" if lang == "id" else "Address", esc(addr) or "-"),
                ("Skor" if lang == "id" else "Score", f"{score:.0f}"),
                ("Kategori" if lang == "id" else "Category", esc(level_label.get(level, level))),
                ("Faktor utama" if lang == "id" else "Top factors", esc(fac) or "-"),
            ],
        )
        for tid, num, vname, addr, score, level, fac in zip(
            t["tps_id"],
            t["tps_number"],
            t["village_name"],
            t["address"],
            t[f"risk_{s}"],
            t[f"level_{s}"],
            factors,
            strict=True,
        )
    ]
    props = pd.DataFrame(
        {"kind": "tps", "id": t["tps_id"].to_numpy(), "level": t[f"level_{s}"].to_numpy(), "tip": tips}
    )
    return _features(shapely.transform(t.geometry.to_numpy(), lambda xy: np.round(xy, 6)), props)


_LEGEND = """
{% macro html(this, kwargs) %}{% endmacro %}
{% macro script(this, kwargs) %}
    (function() {
        var legend = L.control({position: 'bottomright'});
        legend.onAdd = function () {
            var div = L.DomUtil.create('div', 'riskmap-legend');
            div.style.cssText = 'background:white;padding:6px 8px;border:1px solid #999;font:12px sans-serif;'
                + 'line-height:18px;max-width:220px';
            div.innerHTML = {{ this.html|tojson }};
            return div;
        };
        legend.addTo({{ this._parent.get_name() }});
    })();
{% endmacro %}
"""


class _PointCluster(plugins.FastMarkerCluster):
    """FastMarkerCluster that honours ``show=False`` (folium's always adds itself)."""

    _template = FoliumTemplate(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = (function(){
                {{ this.callback }}
                var data = {{ this.data|tojson }};
                var cluster = L.markerClusterGroup({{ this.options|tojavascript }});
                for (var i = 0; i < data.length; i++) {
                    callback(data[i]).addTo(cluster);
                }
                {% if this.show %}cluster.addTo({{ this._parent.get_name() }});{% endif %}
                return cluster;
            })();
        {% endmacro %}"""
    )


_POST_ICON = (
    "<div style='background:#0d2a6b;color:#fff;font:bold 11px sans-serif;width:16px;height:16px;"
    "line-height:16px;text-align:center;border:1px solid #fff;box-shadow:0 0 2px #000'>P</div>"
)


class _Legend(MacroElement):
    """A legend control; its HTML is built (and escaped) in Python."""

    _template = FoliumTemplate(_LEGEND)

    def __init__(self, html: str) -> None:
        super().__init__()
        self._name = "RiskmapLegend"
        self.html = html


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


def _feature_tooltip(feats: dict[str, Any] | None) -> folium.GeoJsonTooltip | None:
    """The features' escaped ``tip`` HTML as their tooltip; none for no features (folium would refuse)."""
    if feats is not None and not feats["features"]:
        return None
    return folium.GeoJsonTooltip(fields=["tip"], labels=False, sticky=True)


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
    unit = "kel./TPS" if lang == "id" else "villages/TPS"
    rows = "".join(
        f"<i style='display:inline-block;width:12px;height:12px;background:{CATEGORY_COLORS[c]};"
        f"border:1px solid #555;margin-right:4px'></i>{esc(i18n.t(c, lang))}: "
        f"{int(vc.get(c, 0))} / {int(tc.get(c, 0))}<br>"
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


def build_map(
    view: View,
    config: Config,
    *,
    lang: str = "id",
    geoms: np.ndarray | None = None,
    tiles_url: str | None = None,
    tiles_attribution: str = "",
    incident_weights: pd.Series | None = None,
    selected: str | None = None,
    pin: tuple[float, float] | None = None,
    alerts: pd.DataFrame | None = None,
) -> folium.Map:
    """Build the stage map.

    Parameters
    ----------
    view
        Filtered layers of one stage (:func:`riskmap.view.make_view`).
    config
        For stage and type labels.
    lang
        ``id`` or ``en``.
    geoms
        Display geometry of ``view.villages`` (see :func:`display_geometry`);
        computed when None.
    tiles_url
        XYZ tile URL template (online OSM or a local tile server); None for a
        plain background that needs no network.
    incident_weights
        Stage weight per incident (index aligned with ``view.incidents``) for
        the heat layer; plain counts when None.
    selected
        Village code or TPS id to outline.
    pin
        (lat, lon), EPSG:4326 degrees: the point an officer clicked for a new incident, marked.
    alerts
        Early-warning markers, one row each: ``lat``, ``lon`` (EPSG:4326), ``level``
        (``district``/``regency``) and ``label`` (plain text); see :func:`alert_markers`.
    """
    m = _new_map(view, check_tiles_url(tiles_url), tiles_attribution)
    s = view.stage
    if geoms is None:
        geoms = display_geometry(view.villages)

    v_name = "Kelurahan/desa" if lang == "id" else "Villages"
    feats = village_features(view, geoms, lang=lang)
    folium.GeoJson(
        feats,
        name=v_name,
        style_function=lambda f: {
            "fillColor": CATEGORY_COLORS.get(f["properties"]["level"], "#cccccc"),
            "color": "#333333" if f["properties"]["id"] != selected else "#0000ff",
            "weight": 1 if f["properties"]["id"] != selected else 4,
            "fillOpacity": 0.55,
        },
        highlight_function=lambda f: {"weight": 3, "color": "#000000"},
        tooltip=_feature_tooltip(feats),
        zoom_on_click=False,
        className="rm-village",
    ).add_to(m)

    _hotspot_layer(m, view, geoms, lang)

    if view.tps is not None and len(view.tps):
        tps_name = "TPS"
        if len(view.tps) <= MAX_TPS_AS_SHAPES:
            folium.GeoJson(
                tps_features(view, lang=lang),
                name=tps_name,
                marker=folium.CircleMarker(radius=5, fill=True, fill_opacity=0.95, weight=1),
                style_function=lambda f: {
                    "fillColor": CATEGORY_COLORS.get(f["properties"]["level"], "#cccccc"),
                    "color": "#000000" if f["properties"]["id"] != selected else "#0000ff",
                    "weight": 1 if f["properties"]["id"] != selected else 3,
                    "radius": 5 if f["properties"]["id"] != selected else 9,
                },
                tooltip=_feature_tooltip(None),
                className="rm-tps",
            ).add_to(m)
        else:
            t = view.tps
            data = list(
                zip(
                    t.geometry.y.round(6).tolist(),
                    t.geometry.x.round(6).tolist(),
                    pd.Categorical(t[f"level_{s}"], categories=list(CATEGORIES)).codes.tolist(),
                    strict=True,
                )
            )
            colors = js_literal([CATEGORY_COLORS[c] for c in CATEGORIES])
            callback = (
                f"function (row) {{ var C = {colors}; return L.circleMarker(new L.LatLng(row[0], row[1]), "
                "{radius: 5, color: '#000', weight: 1, fillColor: C[row[2]] || '#cccccc', fillOpacity: 0.95}); }"
            )
            _PointCluster(data, callback=callback, name=tps_name).add_to(m)

    inc = view.incidents
    if inc is not None and len(inc):
        pts = inc[inc["precision"] != "region"]
        weights = (
            incident_weights.reindex(pts.index).fillna(0.0)
            if incident_weights is not None
            else pd.Series(1.0, index=pts.index)
        )
        heat = [
            [y, x, w]
            for y, x, w in zip(pts.geometry.y.round(6), pts.geometry.x.round(6), weights, strict=True)
            if w > 0
        ]
        if heat:
            plugins.HeatMap(
                heat,
                name="Sebaran insiden (heat)" if lang == "id" else "Incident heat",
                radius=18,
                blur=15,
                min_opacity=0.3,
                show=True,
            ).add_to(m)
        # compact rows [lat, lon, date, type index, description]; the popup is assembled in the
        # browser from texts that were escaped here
        types = sorted(set(pts["type"]))
        labels = [esc(config.type_label(k, lang) if k in config.taxonomy else k) for k in types]
        type_idx = pd.Categorical(pts["type"], categories=types).codes
        rows = [
            [y, x, d.date().isoformat(), int(k), esc(desc)]
            for y, x, d, k, desc in zip(
                pts.geometry.y.round(6), pts.geometry.x.round(6), pts["date"], type_idx, pts["description"], strict=True
            )
        ]
        callback = (
            f"function (row) {{ var T = {js_literal(labels)}; "
            "var m = L.circleMarker(new L.LatLng(row[0], row[1]), "
            "{radius: 4, color: '#6a1b9a', weight: 1, fillColor: '#ba68c8', fillOpacity: 0.9}); "
            "m.bindPopup('<b>' + row[2] + '</b> ' + T[row[3]] + '<br>' + row[4]); return m; }"
        )
        _PointCluster(rows, callback=callback, name="Insiden" if lang == "id" else "Incidents", show=False).add_to(m)

    if view.posts is not None and len(view.posts):
        group = folium.FeatureGroup(name="Pos polisi" if lang == "id" else "Police posts")
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

    _Legend(legend_html(view, config, lang=lang)).add_to(m)
    _finish_map(m, view, lang)
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


def _hotspot_layer(m: folium.Map, view: View, geoms: np.ndarray, lang: str) -> None:
    """Outlines of the stage's hot and cold spot villages, a layer of its own (toggled in the layer control).

    Nothing is drawn when the result has no ``hotspot_<stage>`` column or no
    village is significant. The outlines do not catch the mouse: the village
    below keeps its tooltip (which names the class) and its click.
    """
    col = hotspot_column(view.villages, view.stage)
    if col is None:
        return
    cls = view.villages[col].to_numpy()
    keep = np.isin(cls, HOTSPOT_CLASSES)
    if not keep.any():
        return
    props = pd.DataFrame({"hotspot": cls[keep]})
    folium.GeoJson(
        _features(np.asarray(geoms)[keep], props),
        name=i18n.t("hotspot_layer", lang),
        style_function=lambda f: {
            "fill": False,
            "color": HOTSPOT_STYLE[f["properties"]["hotspot"]]["color"],
            "weight": HOTSPOT_STYLE[f["properties"]["hotspot"]]["weight"],
            "dashArray": HOTSPOT_STYLE[f["properties"]["hotspot"]]["dashArray"],
            "opacity": 0.95,
        },
        interactive=False,
        className="rm-hotspot",
    ).add_to(m)


def _new_map(view: View, tiles_url: str | None = None, tiles_attribution: str = "") -> folium.Map:
    """An empty map served from local assets; tiles only when a URL is given."""
    use_local_assets()
    # no tile layer means no maxZoom for markercluster to read: set it on the map
    m = folium.Map(
        tiles=None,
        control_scale=True,
        prefer_canvas=False,
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


def _finish_map(m: folium.Map, view: View, lang: str) -> None:
    """Layer control, fullscreen, measuring tool, and a view fitted to the villages."""
    folium.LayerControl(collapsed=True).add_to(m)
    plugins.Fullscreen(
        position="topleft",
        title="Layar penuh" if lang == "id" else "Full screen",
        title_cancel="Keluar" if lang == "id" else "Exit",
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


def _center(view: View) -> list[float]:
    if len(view.villages):
        b = view.villages.total_bounds
        return [float((b[1] + b[3]) / 2), float((b[0] + b[2]) / 2)]
    return [-2.5, 118.0]


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
    """Map of a staffing plan: villages, TPS by category, guard groups as lines, posts with their radius."""
    m = _new_map(view)
    if geoms is None:
        geoms = display_geometry(view.villages)
    feats = village_features(view, geoms, lang=lang)
    folium.GeoJson(
        feats,
        name="Kelurahan/desa" if lang == "id" else "Villages",
        style_function=lambda f: {"fillColor": "#eeeeee", "color": "#777777", "weight": 1, "fillOpacity": 0.4},
        tooltip=_feature_tooltip(feats),
        className="rm-village",
    ).add_to(m)
    lines = folium.FeatureGroup(name="Kelompok jaga" if lang == "id" else "Guard groups")
    for _, members in plan.groupby("group"):
        if len(members) < 2:
            continue
        c = members.geometry.union_all().centroid
        for g in members.geometry:
            folium.PolyLine([[c.y, c.x], [g.y, g.x]], color="#555555", weight=1, opacity=0.7).add_to(lines)
    lines.add_to(m)
    s = view.stage
    tps_group = folium.FeatureGroup(name="TPS")
    for row in plan.itertuples():
        cat = str(getattr(row, f"level_{s}"))
        tip = (
            f"<b>TPS {esc(row.tps_id)}</b> {esc(row.village_name)}<br>{esc(i18n.t(cat, lang))} · "
            f"{esc(i18n.t('col.police', lang))} {int(row.police)} / {int(row.police_required)} · "
            f"Linmas {int(row.linmas)} / {int(row.linmas_required)}"
        )
        folium.CircleMarker(
            [row.geometry.y, row.geometry.x],
            radius=4,
            weight=1,
            color="#000000",
            fill_color=CATEGORY_COLORS.get(cat, "#cccccc"),
            fill_opacity=0.95,
        ).add_child(_Tooltip(tip)).add_to(tps_group)
    tps_group.add_to(m)
    if posts is not None and len(posts):
        group = folium.FeatureGroup(name="Pos terpilih" if lang == "id" else "Chosen posts")
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
    _finish_map(m, view, lang)
    return m
