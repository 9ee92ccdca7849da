"""Printed stage maps, TPS tables and atlases for commanders (PDF or PNG, offline).

Pages are drawn with matplotlib in a local metric CRS (the UTM zone of the
area), so the scale bar is true; the PDF is vector with embedded fonts
(DejaVu Sans, which has every Indonesian letter). Categories stay apart in
black-and-white print: villages by grey level *and* hatching, TPS by marker
shape. Nothing is fetched: there are no tiles.

Entry point: :func:`print_maps`.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import shapely
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.transforms import Bbox
from pyproj import CRS, Transformer

from riskmap import __version__, i18n
from riskmap._errors import RiskmapInputError
from riskmap.config import CATEGORIES
from riskmap.deploy import DeploymentPlan
from riskmap.view import (
    HOTSPOT_CLASSES,
    View,
    ViewFilter,
    accuracy_line,
    area_filter,
    factor_text,
    hotspot_column,
    hotspot_label,
    make_view,
    method_label,
)

# names from files are text, never mathtext (`$x^2$`) or TeX
matplotlib.rcParams.update(
    {
        "pdf.fonttype": 42,
        "font.family": "DejaVu Sans",
        "hatch.linewidth": 0.6,
        "text.parse_math": False,
        "text.usetex": False,
    }
)

PAPER_MM = {"A4": (297.0, 210.0), "A3": (420.0, 297.0)}
"""Paper sizes (long side, short side) in millimetres."""

VILLAGE_STYLE: dict[str, dict[str, Any]] = {
    "kurang_rawan": {"facecolor": "#d9f0d3", "hatch": None},
    "rawan": {"facecolor": "#fdb863", "hatch": "////"},
    "sangat_rawan": {"facecolor": "#c2191c", "hatch": "xxxx"},
}
"""Fill and hatch per category: grey levels light / middle / dark plus hatching."""

TPS_STYLE: dict[str, dict[str, Any]] = {
    "kurang_rawan": {"marker": "o", "color": "white", "size": 14},
    "rawan": {"marker": "^", "color": "#777777", "size": 26},
    "sangat_rawan": {"marker": "s", "color": "black", "size": 24},
}
"""Marker per TPS category: circle, triangle, square (shape, not colour alone)."""

HOTSPOT_STYLE: dict[str, dict[str, Any]] = {
    "hot_99": {"marker": "o", "color": "#b30000", "size": 70, "lw": 1.8},
    "hot_95": {"marker": "o", "color": "#b30000", "size": 50, "lw": 1.2},
    "hot_90": {"marker": "o", "color": "#b30000", "size": 34, "lw": 0.8},
    "cold_90": {"marker": "D", "color": "#08519c", "size": 26, "lw": 0.8},
    "cold_95": {"marker": "D", "color": "#08519c", "size": 38, "lw": 1.2},
    "cold_99": {"marker": "D", "color": "#08519c", "size": 54, "lw": 1.8},
}
"""Open symbol at a hot / cold spot village's interior point: ring (hot) or diamond (cold), bigger and
bolder with the confidence, so the classes stay apart in black-and-white print."""

ACCURACY_FONT = 6.5
"""Font size (pt) of the accuracy line on map pages."""


def _t(key: str, lang: str, **kw: object) -> str:
    return i18n.t("print." + key, lang, **kw)


@dataclass
class PrintOptions:
    """What and how to print.

    Attributes
    ----------
    stages
        Stage ids, one map page each.
    paper, orientation
        ``A4``/``A3``, ``landscape``/``portrait``.
    lang
        ``id`` or ``en``.
    classification
        Line printed at the top and bottom of every page (e.g. "TERBATAS").
    tables
        Add the rawan / sangat rawan TPS table after each map page (in an atlas: after each kecamatan's or
        kab/kota's page); None (default): only when one stage is printed and not as an atlas
        (:attr:`with_tables`).
    atlas
        Cover, overview, then one zoomed page per kecamatan (per kab/kota
        when the data spans several).
    area
        Kecamatan / kab/kota name or code to print, None for all.
    dpi
        Resolution of PNG output.
    election
        Election named on every page.
    """

    stages: Sequence[str]
    paper: str = "A4"
    orientation: str = "landscape"
    lang: str = "id"
    classification: str = "TERBATAS"
    tables: bool | None = None
    atlas: bool = False
    area: str | None = None
    dpi: int = 150
    election: str = "Pilkada Serentak 2024"
    made: dt.date = field(default_factory=dt.date.today)
    filters: ViewFilter | None = None
    """Display filters of the app's current view (kecamatan, category...); overrides ``area``."""
    deployment: DeploymentPlan | None = None
    """A :func:`riskmap.deploy.plan` to print (the deployment PDF): its placed posts are drawn with their
    response radius on every map page, and the pages of its stage take their police and Linmas per TPS from
    it; None: the pages of voting and counting make the stage's plan of the printed area."""
    accuracy: dict[str, dict] | None = None
    """Stage id -> :func:`riskmap.backtest.accuracy` of that stage, for the line on each map page (the printer
    formats it, never computes it); None: the line says accuracy was not measured."""

    @property
    def chosen_posts(self) -> gpd.GeoDataFrame | None:
        """Placed posts of :attr:`deployment`, None without one."""
        return None if self.deployment is None else self.deployment.placed_posts

    @property
    def post_radius_m(self) -> float:
        """Response radius (metres) of the placed posts of :attr:`deployment`, 0 without them."""
        return 0.0 if self.deployment is None or self.chosen_posts is None else self.deployment.radius_m

    @property
    def with_tables(self) -> bool:
        """Whether TPS tables are printed: ``tables``, or by default only for one stage outside an atlas."""
        return self.tables if self.tables is not None else len(self.stages) == 1 and not self.atlas

    @property
    def figsize(self) -> tuple[float, float]:
        """Figure size in inches."""
        long, short = PAPER_MM[self.paper]
        w, h = (long, short) if self.orientation == "landscape" else (short, long)
        return w / 25.4, h / 25.4


@dataclass
class _Projected:
    """The result's villages in the print CRS, and their outline, computed once per print job."""

    crs: CRS
    villages: gpd.GeoDataFrame
    outline: gpd.GeoSeries

    @classmethod
    def of(cls, result) -> _Projected:
        crs = _utm(result.villages)
        villages = result.villages[["geometry"]].to_crs(crs)
        outline = gpd.GeoSeries([villages.geometry.union_all().simplify(50)], crs=crs)
        return cls(crs=crs, villages=villages, outline=outline)

    def context(self, bbox: tuple[float, float, float, float], exclude: pd.Index) -> gpd.GeoDataFrame:
        """Villages (projected) that touch ``bbox`` and are not in ``exclude``."""
        idx = self.villages.sindex.query(shapely.box(*bbox))
        near = self.villages.iloc[np.sort(idx)]
        return near[~near.index.isin(exclude)]


def _utm(gdf: gpd.GeoDataFrame) -> CRS:
    lon, lat = gdf.geometry.union_all().centroid.coords[0]
    zone = int((lon + 180) // 6) + 1
    return CRS.from_epsg((32700 if lat < 0 else 32600) + zone)


def _area_filter(result, area: str | None) -> tuple[ViewFilter, str]:
    """Filter and display name for ``--area``: see :func:`riskmap.view.area_filter`."""
    return area_filter(result.villages, area, region=_region_name(result.villages))


def _region_name(villages: gpd.GeoDataFrame) -> str:
    regs = [r for r in villages["regency"].unique() if r]
    if len(regs) == 1:
        return regs[0]
    provs = [p for p in villages["province"].unique() if p]
    return provs[0] if len(provs) == 1 else "Indonesia"


# -- map elements -------------------------------------------------------------


def _nice(x: float) -> float:
    exp = 10 ** math.floor(math.log10(x))
    for m in (1, 2, 5, 10):
        if m * exp >= x:
            return m * exp
    return 10 * exp


def _scalebar(ax: plt.Axes, lang: str) -> None:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice((x1 - x0) / 5) / 2 if _nice((x1 - x0) / 5) > (x1 - x0) / 4 else _nice((x1 - x0) / 5)
    bx, by = x0 + (x1 - x0) * 0.03, y0 + (y1 - y0) * 0.04
    h = (y1 - y0) * 0.008
    for i in range(4):
        ax.add_patch(
            Rectangle(
                (bx + i * length / 4, by),
                length / 4,
                h,
                facecolor="black" if i % 2 == 0 else "white",
                edgecolor="black",
                lw=0.6,
                zorder=20,
            )
        )
    km = length / 1000
    label = f"{km:g} km"
    ax.text(bx, by + 2 * h, "0", fontsize=6, ha="center", va="bottom", zorder=20)
    ax.text(bx + length, by + 2 * h, label, fontsize=6, ha="center", va="bottom", zorder=20)


def _north(ax: plt.Axes, lang: str) -> None:
    ax.annotate(
        _t("north", lang),
        xy=(0.965, 0.95),
        xytext=(0.965, 0.86),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=10,
        fontweight="bold",
        zorder=20,
        arrowprops={"facecolor": "black", "width": 3, "headwidth": 9, "headlength": 9},
    )


def _graticule(ax: plt.Axes, to_lonlat: Transformer, to_xy: Transformer) -> None:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    lons, lats = to_lonlat.transform([x0, x1, x0, x1], [y0, y0, y1, y1])
    lo0, lo1, la0, la1 = min(lons), max(lons), min(lats), max(lats)
    step = _nice(max(lo1 - lo0, la1 - la0) / 5)
    xt, xl, yt, yl = [], [], [], []
    for lon in np.arange(math.ceil(lo0 / step) * step, lo1, step):
        xs, ys = to_xy.transform(np.full(50, lon), np.linspace(la0 - step, la1 + step, 50))
        ax.plot(xs, ys, color="#888888", lw=0.3, ls=":", zorder=1)
        bx, _ = to_xy.transform(lon, to_lonlat.transform(x0, y0)[1])
        xt.append(bx)
        xl.append(f"{abs(lon):.{_decimals(step)}f}°{'E' if lon >= 0 else 'W'}")
    for lat in np.arange(math.ceil(la0 / step) * step, la1, step):
        xs, ys = to_xy.transform(np.linspace(lo0 - step, lo1 + step, 50), np.full(50, lat))
        ax.plot(xs, ys, color="#888888", lw=0.3, ls=":", zorder=1)
        _, by = to_xy.transform(to_lonlat.transform(x0, y0)[0], lat)
        yt.append(by)
        yl.append(f"{abs(lat):.{_decimals(step)}f}°{'S' if lat < 0 else 'N'}")
    ax.set_xticks(xt, xl, fontsize=6)
    ax.set_yticks(yt, yl, fontsize=6, rotation=90, va="center")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)


def _decimals(step: float) -> int:
    return max(0, -math.floor(math.log10(step)))


def _labels(ax: plt.Axes, villages: gpd.GeoDataFrame, fontsize: float) -> None:
    """Village names at interior points, skipping those that would collide."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]  # the Agg canvas has it (matplotlib.use)
    placed: list[Bbox] = []
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    order = villages.assign(_a=villages.geometry.area).sort_values("_a", ascending=False)
    for name, pt in zip(order["village_name"], order.geometry.representative_point(), strict=True):
        if not (x0 < pt.x < x1 and y0 < pt.y < y1):
            continue
        txt = ax.text(
            pt.x,
            pt.y,
            name,
            fontsize=fontsize,
            ha="center",
            va="center",
            zorder=15,
            bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.6},
        )
        box = txt.get_window_extent(renderer).expanded(1.05, 1.1)
        if any(box.overlaps(b) for b in placed):
            txt.remove()
        else:
            placed.append(box)


def _draw_layers(ax: plt.Axes, view: View, proj: _Projected, context: bool) -> dict[str, int]:
    s = view.stage
    crs = proj.crs
    if context:
        x0, y0, x1, y1 = proj.villages.loc[view.villages.index].total_bounds
        pad = max(x1 - x0, y1 - y0) * 0.6
        ctx = proj.context((x0 - pad, y0 - pad, x1 + pad, y1 + pad), view.villages.index)
        if len(ctx):
            ctx.plot(ax=ax, facecolor="#f2f2f2", edgecolor="#bbbbbb", lw=0.3, zorder=2)
    v = view.villages.set_geometry(proj.villages.geometry.loc[view.villages.index].values, crs=crs)
    counts: dict[str, int] = {}
    for cat in CATEGORIES:
        part = v[v[f"level_{s}"] == cat]
        counts[f"v_{cat}"] = len(part)
        if len(part):
            st = VILLAGE_STYLE[cat]
            part.plot(ax=ax, facecolor=st["facecolor"], hatch=st["hatch"], edgecolor="#333333", lw=0.5, zorder=3)
    if view.tps is not None and len(view.tps):
        t = view.tps.to_crs(crs)
        for cat in CATEGORIES:
            part = t[t[f"level_{s}"] == cat]
            counts[f"t_{cat}"] = len(part)
            if len(part):
                st = TPS_STYLE[cat]
                ax.scatter(
                    part.geometry.x,
                    part.geometry.y,
                    marker=st["marker"],
                    s=st["size"] * 0.5,
                    c=st["color"],
                    edgecolors="black",
                    linewidths=0.4,
                    zorder=10 + CATEGORIES.index(cat),
                )
    col = hotspot_column(v, s)
    if col is not None:
        points = v.geometry.representative_point()
        for cls in HOTSPOT_CLASSES:
            hit = (v[col] == cls).to_numpy()
            counts[f"h_{cls}"] = int(hit.sum())
            if hit.any():
                st = HOTSPOT_STYLE[cls]
                ax.scatter(
                    points.x[hit],
                    points.y[hit],
                    marker=st["marker"],
                    s=st["size"],
                    facecolors="none",
                    edgecolors=st["color"],
                    linewidths=st["lw"],
                    zorder=9,
                )
    if view.posts is not None and len(view.posts):
        p = view.posts.to_crs(crs)
        ax.scatter(
            p.geometry.x, p.geometry.y, marker="P", s=30, c="black", edgecolors="white", linewidths=0.5, zorder=14
        )
    return counts


TPS_POLICE_FONT = 5.0
"""Font size (pt) of the police number beside each TPS on atlas pages."""


def _tps_police(ax: plt.Axes, tps: gpd.GeoDataFrame, staff: pd.DataFrame, crs: CRS) -> int:
    """Write each TPS's police (``police`` of ``staff``, a plan's staffing) beside its marker; returns how many.

    A TPS whose guard group's police stand at its other TPS (0 police of its own) gets no number.
    """
    police = staff["police"].reindex(tps.index).fillna(0).astype(int)
    shown = tps[(police > 0).to_numpy()].to_crs(crs)
    for x, y, n in zip(shown.geometry.x, shown.geometry.y, police[shown.index], strict=True):
        ax.annotate(
            str(int(n)),
            (x, y),
            xytext=(3, 2),
            textcoords="offset points",
            fontsize=TPS_POLICE_FONT,
            fontweight="bold",
            zorder=18,
            bbox={"boxstyle": "round,pad=0.05", "fc": "white", "ec": "none", "alpha": 0.7},
        )
    return len(shown)


def _draw_chosen_posts(ax: plt.Axes, posts: gpd.GeoDataFrame, radius_m: float, crs: CRS) -> None:
    """Chosen posts as stars with their response radius (dashed, true to scale)."""
    p = posts.to_crs(crs)
    if radius_m > 0:
        gpd.GeoSeries(p.geometry.buffer(radius_m), crs=crs).plot(
            ax=ax, facecolor="none", edgecolor="black", lw=0.8, linestyle="--", zorder=16
        )
    ax.scatter(p.geometry.x, p.geometry.y, marker="*", s=120, c="black", edgecolors="white", linewidths=0.6, zorder=17)


def _legend(
    ax: plt.Axes,
    counts: dict[str, int],
    view: View,
    lang: str,
    radius_m: float = 0.0,
    *,
    method: str = "",
    ncol: int = 1,
) -> None:
    handles: list[Patch | Line2D] = [Patch(facecolor="none", edgecolor="none", label=_t("villages", lang))]
    for cat in reversed(CATEGORIES):
        st = VILLAGE_STYLE[cat]
        handles.append(
            Patch(
                facecolor=st["facecolor"],
                hatch=st["hatch"],
                edgecolor="#333333",
                label=f"{i18n.t(cat, lang)} ({counts.get(f'v_{cat}', 0)})",
            )
        )
    if view.tps is not None:
        handles.append(Patch(facecolor="none", edgecolor="none", label=_t("tps", lang)))
        for cat in reversed(CATEGORIES):
            st = TPS_STYLE[cat]
            handles.append(
                Line2D(
                    [],
                    [],
                    marker=st["marker"],
                    ls="none",
                    markerfacecolor=st["color"],
                    markeredgecolor="black",
                    markersize=6,
                    label=f"{i18n.t(cat, lang)} ({counts.get(f't_{cat}', 0)})",
                )
            )
    if view.posts is not None and len(view.posts):
        handles.append(
            Line2D(
                [],
                [],
                marker="P",
                ls="none",
                markerfacecolor="black",
                markeredgecolor="white",
                markersize=7,
                label=_t("posts", lang),
            )
        )
    shown = [c for c in HOTSPOT_CLASSES if counts.get(f"h_{c}")]
    if shown:
        handles.append(Patch(facecolor="none", edgecolor="none", label=i18n.t("hotspot_legend", lang)))
        for cls in shown:
            st = HOTSPOT_STYLE[cls]
            handles.append(
                Line2D(
                    [],
                    [],
                    marker=st["marker"],
                    ls="none",
                    markerfacecolor="none",
                    markeredgecolor=st["color"],
                    markeredgewidth=st["lw"],
                    markersize=math.sqrt(st["size"]),
                    label=f"{hotspot_label(cls, lang)} ({counts[f'h_{cls}']})",
                )
            )
    if counts.get("chosen_posts"):
        handles.append(
            Line2D(
                [],
                [],
                marker="*",
                ls="--",
                color="black",
                markersize=9,
                label=_t("chosen_posts", lang, n=counts["chosen_posts"], km=f"{radius_m / 1000:g}"),
            )
        )
    if counts.get("tps_police"):
        handles.append(Patch(facecolor="none", edgecolor="none", label=_t("tps_police", lang)))
    if method:  # which scoring method produced the colours, wrapped to the legend's width
        method = textwrap.fill(method, 34)
        handles.insert(0, Patch(facecolor="none", edgecolor="none", label=method))
    leg = ax.legend(
        handles=handles,
        loc="upper left",
        fontsize=7,
        frameon=True,
        title=None,
        borderpad=0.6,
        handlelength=2.2,
        handleheight=1.4,
        ncol=ncol,
    )
    for text in leg.get_texts():
        if text.get_text() in (_t("villages", lang), _t("tps", lang), i18n.t("hotspot_legend", lang), method):
            text.set_fontweight("bold")


def _overview(ax: plt.Axes, whole: gpd.GeoSeries, extent: tuple[float, float, float, float]) -> None:
    whole.plot(ax=ax, facecolor="#dddddd", edgecolor="#777777", lw=0.4)
    x0, y0, x1, y1 = extent
    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="black", lw=1.2, zorder=5))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_aspect("equal")


def _heading(fig: plt.Figure, result, opts: PrintOptions, title: str, size: float) -> None:
    """Title (after a SIMULASI mark when the scores are a what-if), then the election, the date made, the as-of date."""
    if result.simulated:  # issue 12: what-if scores are marked on every page
        title = f"{_t('whatif', opts.lang)} · {title}"
    fig.text(0.05, 0.945, title, fontsize=size, fontweight="bold", va="center")
    as_of = result.as_of.isoformat() if result.as_of else "-"
    made = _t("made", opts.lang, made=opts.made.isoformat(), as_of=as_of)
    fig.text(0.05, 0.905, f"{opts.election} · {made}", fontsize=8.5, va="center")


def _frame(fig: plt.Figure, opts: PrintOptions, page: int, result) -> None:
    lang = opts.lang
    if opts.classification:
        fig.text(0.5, 0.985, opts.classification, ha="center", va="top", fontsize=9, fontweight="bold")
        fig.text(0.5, 0.008, opts.classification, ha="center", va="bottom", fontsize=9, fontweight="bold")
    sources = ", ".join(f"{i18n.t('layer_' + k, lang)}: {r.source}" for k, r in result.report.layers.items())
    method = _t("method", lang, version=result.config.data.get("method_version", ""), digest=result.config.digest())
    method += ", " + method_label(result.config, lang, result.method)
    footer = f"{_t('sources', lang)}: {sources}. {method}. riskmap {__version__}."
    if result.layers.demo:
        footer = _t("synthetic", lang) + ". " + footer
    if result.simulated:
        footer = _t("whatif_footer", lang) + ". " + footer
    fig.text(0.02, 0.03, textwrap.fill(footer, 190), fontsize=5.5, va="bottom", ha="left")
    fig.text(0.98, 0.03, _t("page", lang, n=page), fontsize=7, ha="right", va="bottom")


def _map_page(
    result,
    view: View,
    opts: PrintOptions,
    title: str,
    page: int,
    proj: _Projected,
    *,
    context: bool = False,
    staff: pd.DataFrame | None = None,
) -> plt.Figure:
    """One map page; with ``staff`` (a staffing plan, indexed like the TPS) each TPS carries its police number."""
    lang = opts.lang
    fig = plt.figure(figsize=opts.figsize)
    landscape = opts.orientation == "landscape"
    map_rect = (0.05, 0.105, 0.66, 0.775) if landscape else (0.08, 0.26, 0.86, 0.62)
    ax = fig.add_axes(map_rect)
    crs = proj.crs
    counts = _draw_layers(ax, view, proj, context)
    if staff is not None and view.tps is not None and len(view.tps):
        counts["tps_police"] = _tps_police(ax, view.tps, staff, crs)
    if opts.chosen_posts is not None and len(opts.chosen_posts):
        _draw_chosen_posts(ax, opts.chosen_posts, opts.post_radius_m, crs)
        counts["chosen_posts"] = len(opts.chosen_posts)
    projected = proj.villages.loc[view.villages.index]
    bounds = projected.total_bounds
    pad_x = (bounds[2] - bounds[0]) * 0.04 + 200
    pad_y = (bounds[3] - bounds[1]) * 0.04 + 200
    x0, x1, y0, y1 = bounds[0] - pad_x, bounds[2] + pad_x, bounds[1] - pad_y, bounds[3] + pad_y
    # keep the page's aspect ratio so the map fills its frame
    fw, fh = fig.get_size_inches()
    target = (map_rect[2] * fw) / (map_rect[3] * fh)
    w, h = x1 - x0, y1 - y0
    if w / h < target:
        cx = (x0 + x1) / 2
        x0, x1 = cx - h * target / 2, cx + h * target / 2
    else:
        cy = (y0 + y1) / 2
        y0, y1 = cy - w / target / 2, cy + w / target / 2
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")
    to_lonlat = Transformer.from_crs(crs, 4326, always_xy=True)
    to_xy = Transformer.from_crs(4326, crs, always_xy=True)
    _graticule(ax, to_lonlat, to_xy)
    _labels(
        ax,
        view.villages.set_geometry(projected.geometry.values, crs=crs),
        fontsize=6 if len(view.villages) < 80 else 4.5,
    )
    _scalebar(ax, lang)
    _north(ax, lang)
    for side in ax.spines.values():
        side.set_linewidth(0.8)
    ax.set_xlabel("")
    ax.set_ylabel("")

    _heading(fig, result, opts, title, 15 if landscape else 13)
    side_x = 0.74 if landscape else 0.08
    leg_ax = fig.add_axes((side_x, 0.45, 0.24, 0.43) if landscape else (0.08, 0.07, 0.45, 0.17))
    leg_ax.axis("off")
    n_entries = 3 + 2 * len(CATEGORIES) + sum(1 for k in counts if k.startswith("h_") and counts[k])
    _legend(
        leg_ax,
        counts,
        view,
        lang,
        radius_m=opts.post_radius_m,
        method=method_label(result.config, lang, result.method),
        ncol=2 if not landscape and n_entries > 11 else 1,
    )
    # portrait: the overview's title stays clear of the map's longitude labels above it
    ov_ax = fig.add_axes((side_x + 0.02, 0.10, 0.20, 0.30) if landscape else (0.60, 0.07, 0.32, 0.15))
    _overview(ov_ax, proj.outline, (x0, y0, x1, y1))
    ov_ax.set_title(_t("overview", lang), fontsize=7)
    acc = (opts.accuracy or {}).get(view.stage)
    _accuracy(fig, accuracy_line(acc, lang), y=0.056 if landscape else 0.049)
    _frame(fig, opts, page, result)
    return fig


def _accuracy(fig: plt.Figure, text: str, y: float, left: float = 0.05, right: float = 0.97) -> None:
    """The accuracy line at height ``y`` (figure fraction, text bottom).

    Wrapped to fit between ``left`` and ``right`` (figure fractions), at most three lines.
    """
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]  # the Agg canvas has it (matplotlib.use)
    room = (right - left) * fig.bbox.width
    width = len(text)
    while True:
        shown = textwrap.fill(text, width)
        art = fig.text(left, y, shown, fontsize=ACCURACY_FONT, va="bottom", ha="left", linespacing=1.15)
        if art.get_window_extent(renderer).width <= room or width < 40 or shown.count("\n") >= 2:
            return
        art.remove()
        width = int(width * 0.92)


def _table_rows(view: View) -> pd.DataFrame:
    """The rawan and sangat rawan TPS of a view, riskiest first (empty without a TPS layer)."""
    s, t = view.stage, view.tps
    if t is None:  # without a TPS layer the table says there is no rawan TPS
        return pd.DataFrame()
    rows = t[t[f"level_{s}"].isin(["rawan", "sangat_rawan"])]
    return rows.sort_values(f"risk_{s}", ascending=False, kind="stable")


def _rows_per_page(opts: PrintOptions) -> int:
    per_page = 28 if opts.orientation == "landscape" else 40
    return int(per_page * 1.45) if opts.paper == "A3" else per_page


def _table_page_count(view: View, opts: PrintOptions) -> int:
    """Pages :func:`_table_pages` prints for ``view`` (at least one: "no rawan TPS")."""
    return max(1, math.ceil(len(_table_rows(view)) / _rows_per_page(opts)))


def _staffing(result, view: View, opts: PrintOptions) -> pd.DataFrame | None:
    """Personnel per TPS of the view's plan for voting and counting (:func:`riskmap.deploy.plan`), else None.

    The plan of :attr:`PrintOptions.deployment` when it is of this stage (the deployment PDF prints the plan
    the user sees), else the stage's plan of the view's filters.
    """
    if view.stage not in ("voting", "counting") or view.tps is None or not len(view.tps):
        return None
    plan = opts.deployment
    if plan is None or plan.stage != view.stage or plan.staffing is None:
        from riskmap import deploy

        plan = deploy.plan(result, view.stage, filters=view.filters, config=result.config)
    return plan.staffing


def _table_pages(
    result, view: View, opts: PrintOptions, title: str, first_page: int, staff: pd.DataFrame | None = None
) -> Iterator[plt.Figure]:
    """The rawan / sangat rawan TPS table of ``view``, with police / Linmas per TPS for voting and counting.

    ``staff`` is the staffing plan to take them from (the whole printed area's, so an atlas page shows the
    same numbers as the plan); None: planned for the view's TPS.
    """
    lang = opts.lang
    s = view.stage
    rows = _table_rows(view)
    factors = factor_text(rows, s, unit="tps", lang=lang) if len(rows) else pd.Series(dtype=object)
    per_page = _rows_per_page(opts)
    cols = _t("cols", lang).split("|")
    widths = [0.04, 0.13, 0.13, 0.2, 0.06, 0.09, 0.05, 0.21]
    if s in ("voting", "counting") and len(rows):  # personnel per TPS from the staffing patterns
        staff = staff if staff is not None else _staffing(result, view, opts)
        cols = [*cols, _t("staff", lang)]
        widths = [*widths, 0.09]
    else:
        staff = None
    chunks = [rows.iloc[i : i + per_page] for i in range(0, len(rows), per_page)] or [rows]
    for k, chunk in enumerate(chunks):
        fig = plt.figure(figsize=opts.figsize)
        _heading(fig, result, opts, title + (f" ({k + 1}/{len(chunks)})" if len(chunks) > 1 else ""), 13)
        ax = fig.add_axes((0.05, 0.07, 0.9, 0.80))
        ax.axis("off")
        if not len(chunk):
            ax.text(0.0, 0.95, _t("none_rawan", lang), fontsize=10, va="top")
        else:
            cells = []
            for i, (_, r) in enumerate(chunk.iterrows(), start=k * per_page + 1):
                cells.append(
                    [
                        str(i),
                        str(r["tps_id"]),
                        _clip(r["village_name"], 24),
                        _clip(r["address"], 40),
                        f"{int(r['voters'])}" if pd.notna(r["voters"]) else "-",
                        i18n.t(str(r[f"level_{s}"]), lang),
                        f"{r[f'risk_{s}']:.0f}",
                        _clip(factors.loc[r.name], 34),
                    ]
                    + (
                        [f"{int(staff.loc[r.name, 'police'])} / {int(staff.loc[r.name, 'linmas'])}"]
                        if staff is not None
                        else []
                    )
                )
            table = ax.table(cellText=cells, colLabels=cols, colWidths=widths, loc="upper left", cellLoc="left")
            table.auto_set_font_size(False)
            table.set_fontsize(6.5)
            table.scale(1, 1.25)
            for (row, _col), cell in table.get_celld().items():
                cell.set_linewidth(0.3)
                if row == 0:
                    cell.set_text_props(fontweight="bold")
                    cell.set_facecolor("#e6e6e6")
                elif cells[row - 1][5] == i18n.t("sangat_rawan", lang):
                    cell.set_text_props(fontweight="bold")
        _frame(fig, opts, first_page + k, result)
        yield fig


def _clip(text: object, n: int) -> str:
    s = "" if text is None or (isinstance(text, float) and np.isnan(text)) else str(text)
    return s if len(s) <= n else s[: n - 1] + "…"


def _cover(result, opts: PrintOptions, area_name: str, contents: list[str], page: int) -> plt.Figure:
    lang = opts.lang
    fig = plt.figure(figsize=opts.figsize)
    fig.text(0.5, 0.70, _t("cover", lang), fontsize=26, fontweight="bold", ha="center")
    fig.text(0.5, 0.62, area_name, fontsize=18, ha="center")
    stages = ", ".join(result.config.stage_label(s, lang) for s in opts.stages)
    fig.text(0.5, 0.56, f"{opts.election} · {stages}", fontsize=11, ha="center")
    as_of = result.as_of.isoformat() if result.as_of else "-"
    fig.text(0.5, 0.52, _t("made", lang, made=opts.made.isoformat(), as_of=as_of), fontsize=10, ha="center")
    fig.text(0.2, 0.44, _t("contents", lang), fontsize=11, fontweight="bold")
    fig.text(0.2, 0.42, "\n".join(contents[:30]), fontsize=8, va="top", family="DejaVu Sans")
    _frame(fig, opts, page, result)
    return fig


def _pages(result, opts: PrintOptions) -> Iterator[plt.Figure]:
    lang = opts.lang
    flt, area_name = _area_filter(result, opts.area)
    if opts.filters is not None:
        flt = opts.filters
        picked = flt.districts or flt.regencies
        if picked:
            area_name = ", ".join(picked) if len(picked) <= 3 else f"{len(picked)} wilayah"
    proj = _Projected.of(result)
    page = 1
    if not opts.atlas:
        for stage in opts.stages:
            view = make_view(result, stage, flt)
            label = result.config.stage_label(stage, lang)
            yield _map_page(
                result,
                view,
                opts,
                _t("title", lang, stage=label, area=area_name),
                page,
                proj,
                context=bool(flt.districts or flt.regencies),
            )
            page += 1
            if opts.with_tables:
                for fig in _table_pages(result, view, opts, _t("table_title", lang, stage=label, area=area_name), page):
                    yield fig
                    page += 1
        return
    # atlas: cover, overview, then per kecamatan (or per kab/kota for larger data), each with its TPS table
    # when asked; for voting and counting the TPS carry their police from one plan of the whole printed area
    base = make_view(result, opts.stages[0], flt)
    unit = "regency" if base.villages["regency"].nunique() > 1 else "district"
    parts = sorted(set(base.villages[unit]))
    plan: list[tuple[View, str, pd.DataFrame | None, list[tuple[str, View]]]] = []
    for stage in opts.stages:
        view = make_view(result, stage, flt)
        pviews = []
        for part in parts:
            pf = ViewFilter(regencies=(part,)) if unit == "regency" else ViewFilter(districts=(part,))
            pviews.append((part if unit == "regency" else f"Kec. {part}", make_view(result, stage, pf)))
        plan.append((view, result.config.stage_label(stage, lang), _staffing(result, view, opts), pviews))
    contents: list[str] = []
    at = 2
    for _view, label, _staff, pviews in plan:
        contents.append(f"{at}. {_t('overview', lang)}" + (f" - {label}" if len(plan) > 1 else ""))
        at += 1
        for name, pview in pviews:
            contents.append(f"{at}. {name}")
            at += 1 + (_table_page_count(pview, opts) if opts.with_tables else 0)
    yield _cover(result, opts, area_name, contents, page)
    page += 1
    for view, label, staff, pviews in plan:
        yield _map_page(result, view, opts, _t("title", lang, stage=label, area=area_name), page, proj)
        page += 1
        for name, pview in pviews:
            title = _t("title", lang, stage=label, area=name)
            yield _map_page(result, pview, opts, title, page, proj, context=True, staff=staff)
            page += 1
            if opts.with_tables:
                title = _t("table_title", lang, stage=label, area=name)
                for fig in _table_pages(result, pview, opts, title, page, staff=staff):
                    yield fig
                    page += 1


def print_maps(result, out: str | Path, opts: PrintOptions) -> list[Path]:
    """Print stage maps (and tables / atlas) to a PDF, or PNG pages.

    Parameters
    ----------
    result
        A scored :class:`riskmap.pipeline.Result`.
    out
        ``*.pdf`` (one file, all pages) or ``*.png`` (one file per page:
        ``name.png``, or ``name-01.png``, ``name-02.png``... when there are
        several).
    opts
        What and how to print.

    Returns
    -------
    list of Path
        The files written.
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".pdf", ".png"):
        raise RiskmapInputError("print_format", path=str(out))
    for stage in opts.stages:
        if stage not in result.config.stages:
            raise RiskmapInputError("unknown_stage", stage=stage, stages=", ".join(result.config.stages))
    out.parent.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        if suffix == ".pdf":
            with PdfPages(
                out,
                metadata={
                    "Title": f"riskmap {', '.join(opts.stages)}",
                    "Creator": "riskmap",
                    "Producer": f"riskmap {__version__} / matplotlib",
                },
            ) as pdf:
                for fig in _pages(result, opts):
                    pdf.savefig(fig)
                    plt.close(fig)
            written.append(out)
        else:
            figs = list(_pages(result, opts))
            for i, fig in enumerate(figs, start=1):
                path = out if len(figs) == 1 else out.with_name(f"{out.stem}-{i:02d}.png")
                fig.savefig(path, dpi=opts.dpi)
                plt.close(fig)
                written.append(path)
    except OSError as exc:
        raise RiskmapInputError("output_not_writable", path=str(out), detail=exc.strerror or str(exc)) from None
    return written


def pdf_bytes(result, opts: PrintOptions) -> bytes:
    """The PDF of :func:`print_maps` as bytes (for a download button)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "riskmap.pdf"
        print_maps(result, path, opts)
        return path.read_bytes()
