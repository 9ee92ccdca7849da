"""Printed stage maps, TPS tables and atlases for commanders (PDF or PNG, offline).

Pages are drawn with matplotlib in a local metric CRS (the UTM zone of the
area), so the scale bar (matplotlib-scalebar) is true; the PDF is vector with
embedded fonts (DejaVu Sans, which has every Indonesian letter). Outlines are
projected once per print job and simplified for each page's scale; a layer too
dense for vector print is drawn as an image (``[print]`` in default.toml).
Place names are written only where they fit (:func:`_place_labels`). Categories stay apart in
black-and-white print: villages by grey level *and* hatching, TPS by marker
shape. Nothing is fetched: there are no tiles.

Entry point: :func:`print_maps`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
import tempfile
import textwrap
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch, Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.text import Text
from matplotlib.transforms import Affine2D, blended_transform_factory
from matplotlib_scalebar.scalebar import ScaleBar
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
    natural_key,
    share_breaks,
    share_class,
    share_class_labels,
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

VILLAGE_STYLE: dict[str, dict[str, Any]] = dict(
    zip(
        CATEGORIES,
        (
            {"facecolor": "#d9f0d3", "hatch": None},
            {"facecolor": "#fdb863", "hatch": "////"},
            {"facecolor": "#c2191c", "hatch": "xxxx"},
        ),
        strict=True,
    )
)
"""Fill and hatch per category (low, mid, high): grey levels light / middle / dark plus hatching."""

TPS_STYLE: dict[str, dict[str, Any]] = dict(
    zip(
        CATEGORIES,
        (
            {"marker": "o", "color": "white", "size": 14},
            {"marker": "^", "color": "#777777", "size": 26},
            {"marker": "s", "color": "black", "size": 24},
        ),
        strict=True,
    )
)
"""Marker per TPS category (low, mid, high): circle, triangle, square (shape, not colour alone)."""

HIGH = CATEGORIES[1:]
"""The categories counted as "rawan and sangat rawan" (all but the lowest)."""

LABEL_GID = "riskmap-label"
"""``gid`` of the place names written on a map page (the placed labels, one Text each)."""

CONTENTS_FONT = 8.0
"""Font size (pt) of the atlas's table of contents."""

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


def _figure(opts: PrintOptions) -> Figure:
    """A page, outside pyplot (nothing to register or close), with an Agg canvas to measure text on."""
    fig = Figure(figsize=opts.figsize)
    FigureCanvasAgg(fig)
    return fig


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
        Add the rawan / sangat rawan TPS table after each map page (in an atlas: after each kecamatan's
        page); None (default): only when one stage is printed and not as an atlas
        (:attr:`with_tables`).
    atlas
        Cover and contents (continued on further pages as needed), the area's map, then per kab/kota
        (by name) an overview page of its kecamatan and one zoomed page per kecamatan (by name).
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


UNIT_KEYS = {"district": ("regency", "district"), "regency": ("regency",)}
"""Columns naming a kecamatan (within its kab/kota) and a kab/kota."""


@dataclass
class _Projected:
    """The result's villages and TPS in the print CRS (metres), projected once per print job.

    Outlines simplified for a page's scale and the dissolved kecamatan and kab/kota outlines are computed
    on first use and kept for the other pages.
    """

    crs: CRS
    villages: gpd.GeoDataFrame
    """Geometry, ``village_code``, ``regency``, ``district`` of every village in :attr:`crs`, indexed as the result."""
    points: np.ndarray
    """(n, 2) a point inside each village (the name's anchor), metres."""
    bounds: np.ndarray
    """(n, 4) each village's bounding box, metres."""
    unit_id: dict[str, np.ndarray]
    """Per village, the row of its kecamatan (``"district"``) and kab/kota (``"regency"``) in :meth:`units`."""
    tps_xy: pd.DataFrame | None
    """``x``, ``y`` of every TPS in :attr:`crs`, and ``village`` (the row of its village; -1: none)."""
    _simple: dict[tuple[str, float], np.ndarray] = field(default_factory=dict)
    _units: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    _outline: gpd.GeoSeries | None = None
    _outline_path: tuple[MplPath | None, int] | None = None

    @classmethod
    def of(cls, result) -> _Projected:
        crs = _utm(result.villages)
        villages = result.villages[["geometry", "village_code", "regency", "district"]].to_crs(crs)
        geoms = villages.geometry.to_numpy()
        inside = shapely.point_on_surface(geoms)
        points = np.column_stack([shapely.get_x(inside), shapely.get_y(inside)])
        unit_id = {
            level: villages.groupby(list(keys), sort=True, dropna=False).ngroup().to_numpy()
            for level, keys in UNIT_KEYS.items()
        }
        tps_xy = None
        if result.tps is not None:
            t = result.tps.geometry.to_crs(crs).to_numpy()
            row = pd.Series(np.arange(len(villages)), index=villages["village_code"].to_numpy())
            row = row[~row.index.duplicated()]
            owner = row.reindex(result.tps["village_code"].to_numpy()).fillna(-1).astype(int).to_numpy()
            tps_xy = pd.DataFrame(
                {"x": shapely.get_x(t), "y": shapely.get_y(t), "village": owner}, index=result.tps.index
            )
        return cls(
            crs=crs, villages=villages, points=points, bounds=shapely.bounds(geoms), unit_id=unit_id, tps_xy=tps_xy
        )

    def pos(self, index: pd.Index) -> np.ndarray:
        """Row positions of the villages ``index`` (labels of the result's village index)."""
        return self.villages.index.get_indexer(index)

    def simplified(self, level: str, tol_m: float) -> np.ndarray:
        """Outlines of every village (``level="village"``) or unit simplified for a tolerance of ``tol_m`` metres.

        Tolerances are rounded down to a power of two metres, so pages of about the same scale share one copy.
        """
        key = (level, 2.0 ** math.floor(math.log2(max(tol_m, 1.0))))
        if key not in self._simple:
            geoms = self.villages.geometry.to_numpy() if level == "village" else self.units(level).geometry.to_numpy()
            self._simple[key] = shapely.simplify(geoms, key[1], preserve_topology=True)
        return self._simple[key]

    def units(self, level: str) -> gpd.GeoDataFrame:
        """Dissolved outlines of the kecamatan (``"district"``) or kab/kota (``"regency"``), sorted by name.

        Row ``k`` is the unit of the villages with ``unit_id[level] == k``. Columns: the unit's key columns
        (:data:`UNIT_KEYS`), ``geometry`` (metres), ``x``/``y`` (a point inside).
        """
        if level not in self._units:
            keys = list(UNIT_KEYS[level])
            ids = self.unit_id[level]
            if level == "regency":  # from the kecamatan: fewer, larger pieces to dissolve
                src = self.units("district")
                ids = src.groupby(keys, sort=True, dropna=False).ngroup().to_numpy()
            else:
                src = self.villages
            geoms = src.geometry.to_numpy()
            order = np.argsort(ids, kind="stable")
            starts = np.searchsorted(ids[order], np.arange(ids.max() + 1))
            parts = np.split(order, starts[1:])
            out = gpd.GeoDataFrame(
                src[keys].iloc[[p[0] for p in parts]].reset_index(drop=True),
                geometry=[shapely.union_all(geoms[p]) for p in parts],
                crs=self.crs,
            )
            inside = shapely.point_on_surface(out.geometry.to_numpy())
            out["x"], out["y"] = shapely.get_x(inside), shapely.get_y(inside)
            self._units[level] = out
        return self._units[level]

    @property
    def outline(self) -> gpd.GeoSeries:
        """The land of the whole result (every village), simplified to 50 m, for the locator map."""
        if self._outline is None:
            land = shapely.union_all(self.units("regency").geometry.to_numpy()).simplify(50)
            self._outline = gpd.GeoSeries([land], crs=self.crs)
        return self._outline

    @property
    def outline_path(self) -> tuple[MplPath | None, int]:
        """:attr:`outline` as a path (:func:`_compound_path`), made once: it is drawn on every page."""
        if self._outline_path is None:
            self._outline_path = _compound_path(self.outline.to_numpy())
        return self._outline_path

    def context(self, bbox: tuple[float, float, float, float], exclude: pd.Index) -> np.ndarray:
        """Row positions of the villages that touch ``bbox`` (metres) and are not in ``exclude``."""
        idx = np.sort(self.villages.sindex.query(shapely.box(*bbox)))
        return idx[~self.villages.index[idx].isin(exclude)]


def _utm(gdf: gpd.GeoDataFrame) -> CRS:
    """The UTM zone (WGS 84) at the centre of the layer's bounding box."""
    x0, y0, x1, y1 = gdf.total_bounds
    lon, lat = (x0 + x1) / 2, (y0 + y1) / 2
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


def _scalebar(ax: plt.Axes) -> ScaleBar:
    """A matplotlib-scalebar scale bar at the lower left; the map's axes are in metres (UTM), one unit = 1 m."""
    bar = ScaleBar(
        1.0,
        "m",
        location="lower left",
        length_fraction=0.22,
        width_fraction=0.008,
        font_properties={"size": 6},
        box_alpha=0.75,
        border_pad=0.6,
        scale_loc="top",
    )
    bar.set_zorder(20)
    ax.add_artist(bar)
    return bar


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


GRID_GID = "riskmap-grid-label"
"""``gid`` of the degree labels along the map frame."""


def _graticule(ax: plt.Axes, to_lonlat: Transformer, to_xy: Transformer) -> None:
    """Dotted meridians and parallels at a round step in degrees, labelled below and left of the frame.

    The labels are plain texts (not axis ticks: a tick costs more to make and draw than the whole grid).
    """
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    lons, lats = to_lonlat.transform([x0, x1, x0, x1], [y0, y0, y1, y1])
    lo0, lo1, la0, la1 = min(lons), max(lons), min(lats), max(lats)
    step = _nice(max(lo1 - lo0, la1 - la0) / 5)
    lines = []
    below = blended_transform_factory(ax.transData, ax.transAxes)
    left = blended_transform_factory(ax.transAxes, ax.transData)
    label: dict[str, Any] = {"fontsize": 6, "gid": GRID_GID, "clip_on": False}
    for lon in np.arange(math.ceil(lo0 / step) * step, lo1, step):
        xs, ys = to_xy.transform(np.full(50, lon), np.linspace(la0 - step, la1 + step, 50))
        lines.append(np.column_stack([xs, ys]))
        bx, _ = to_xy.transform(lon, to_lonlat.transform(x0, y0)[1])
        text = f"{abs(lon):.{_decimals(step)}f}°{'E' if lon >= 0 else 'W'}"
        if x0 < bx < x1:
            ax.text(bx, -0.012, text, transform=below, ha="center", va="top", **label)
    for lat in np.arange(math.ceil(la0 / step) * step, la1, step):
        xs, ys = to_xy.transform(np.linspace(lo0 - step, lo1 + step, 50), np.full(50, lat))
        lines.append(np.column_stack([xs, ys]))
        _, by = to_xy.transform(to_lonlat.transform(x0, y0)[0], lat)
        text = f"{abs(lat):.{_decimals(step)}f}°{'S' if lat < 0 else 'N'}"
        if y0 < by < y1:
            ax.text(-0.012, by, text, transform=left, ha="right", va="center", rotation=90, **label)
    ax.add_collection(LineCollection(lines, colors="#888888", linewidths=0.3, linestyles=":", zorder=1))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)


def _decimals(step: float) -> int:
    return max(0, -math.floor(math.log10(step)))


def _compound_path(geoms: np.ndarray) -> tuple[MplPath | None, int]:
    """Every ring of ``geoms`` (polygons, multipolygons; metres) as one path, and its number of vertices.

    Exteriors run counter-clockwise and holes clockwise, so holes stay empty under either fill rule.
    """
    geoms = geoms[~(shapely.is_empty(geoms) | shapely.is_missing(geoms))]
    polys = shapely.get_parts(geoms)
    polys = polys[shapely.get_type_id(polys) == shapely.GeometryType.POLYGON]
    if not len(polys):
        return None, 0
    rings = shapely.get_rings(shapely.orient_polygons(polys))
    n = shapely.get_num_coordinates(rings)
    xy = shapely.get_coordinates(rings)
    codes = np.full(len(xy), MplPath.LINETO, dtype=MplPath.code_type)
    starts = np.concatenate([[0], np.cumsum(n)[:-1]])
    codes[starts] = MplPath.MOVETO
    codes[starts + n - 1] = MplPath.CLOSEPOLY
    return MplPath(xy, codes), len(xy)


def _draw_polygons(
    ax: plt.Axes, geoms: np.ndarray | tuple[MplPath | None, int], raster_above: int, **style: object
) -> int:
    """Draw ``geoms`` (or their :func:`_compound_path`) as one patch (one fill, hatch, outline); returns its vertices.

    With more than ``raster_above`` vertices the patch is drawn as an image in the PDF (``rasterized``).
    """
    path, n = geoms if isinstance(geoms, tuple) else _compound_path(geoms)
    if path is None:
        return 0
    patch = PathPatch(path, **style)
    patch.set_rasterized(n > raster_above)
    ax.add_artist(patch)  # not add_patch: that walks every vertex in Python to update the data limits
    return n


def _page_scale(ax: plt.Axes) -> float:
    """Metres per point on paper of the map axes (their limits are set)."""
    x0, x1 = ax.get_xlim()
    return (x1 - x0) / (ax.get_position().width * cast(Figure, ax.figure).get_figwidth() * 72.0)


def _place_labels(
    ax: plt.Axes,
    names: Sequence[str],
    polygons: np.ndarray,
    anchors: np.ndarray,
    rank: np.ndarray,
    fontsize: float,
    area_factor: float,
) -> list[Text]:
    """Write the names that fit at this scale; returns the texts placed.

    Candidates are taken by ``rank`` (highest first, e.g. risk). A name is written at its anchor (metres)
    when its text box fits inside its polygon, or the polygon's area is at least ``area_factor`` times the
    box's, when the box lies inside the map, and when it does not overlap a name already written.
    """
    if not len(names):
        return []
    ax.apply_aspect()
    renderer = ax.figure.canvas.get_renderer()  # type: ignore[attr-defined]  # an Agg canvas (_figure)
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    m_per_px = (x1 - x0) / ax.get_window_extent(renderer).width
    prop = FontProperties(family="DejaVu Sans", size=fontsize)
    pad_px = 2 * 0.1 * fontsize * renderer.points_to_pixels(1.0)  # the label's bbox pad, both sides
    areas = shapely.area(polygons)
    min_area = (fontsize * renderer.points_to_pixels(1.0) * m_per_px) ** 2  # one character's box
    ax_, ay = anchors[:, 0], anchors[:, 1]
    candidate = np.flatnonzero((areas >= min_area) & (ax_ > x0) & (ax_ < x1) & (ay > y0) & (ay < y1))
    w = np.zeros(len(names))
    h = np.zeros(len(names))
    for i in candidate:
        wi, hi, _ = renderer.get_text_width_height_descent(str(names[int(i)]), prop, ismath=False)
        w[i], h[i] = (wi + pad_px) * m_per_px, (hi + pad_px) * m_per_px
    boxes = np.column_stack([ax_ - w / 2, ay - h / 2, ax_ + w / 2, ay + h / 2])
    fits = np.zeros(len(names), dtype=bool)
    if len(candidate):
        c = candidate
        inside_map = (boxes[c, 0] > x0) & (boxes[c, 2] < x1) & (boxes[c, 1] > y0) & (boxes[c, 3] < y1)
        contained = shapely.contains(polygons[c], shapely.box(*boxes[c].T))
        fits[c] = inside_map & (contained | (areas[c] >= area_factor * w[c] * h[c]))
    order = np.argsort(-np.asarray(rank, dtype=float), kind="stable")
    placed = np.empty((len(names), 4))
    k = 0
    texts = []
    for i in order[fits[order]]:
        b = boxes[i]
        p = placed[:k]
        if k and np.any((p[:, 0] < b[2]) & (p[:, 2] > b[0]) & (p[:, 1] < b[3]) & (p[:, 3] > b[1])):
            continue
        placed[k] = b
        k += 1
        texts.append(
            ax.text(
                ax_[i],
                ay[i],
                str(names[int(i)]),
                fontsize=fontsize,
                ha="center",
                va="center",
                zorder=15,
                gid=LABEL_GID,
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.6},
            )
        )
    return texts


def _label_level(view: View, proj: _Projected, m_per_pt: float, min_area_pt2: float) -> str:
    """``village``, ``district`` or ``regency``: the finest unit whose median outline covers ``min_area_pt2``."""
    pt2 = m_per_pt**2
    pos = proj.pos(view.villages.index)
    if len(pos) and np.median(shapely.area(proj.villages.geometry.to_numpy()[pos])) / pt2 >= min_area_pt2:
        return "village"
    for level in ("district", "regency"):
        units = _view_units(view, proj, level)
        if len(units) and np.median(shapely.area(units.geometry.to_numpy())) / pt2 >= min_area_pt2:
            return level
    return "regency"


def _view_units(view: View, proj: _Projected, level: str) -> gpd.GeoDataFrame:
    """The dissolved kecamatan or kab/kota outlines of the units the view's villages belong to."""
    units = proj.units(level)
    return units.iloc[np.unique(proj.unit_id[level][proj.pos(view.villages.index)])]


def _unit_name(row: pd.Series, level: str, lang: str) -> str:
    """A kecamatan's or a kab/kota's printed name ("Kec. Alak", "Kota Kupang")."""
    if level == "district":
        return _t("kecamatan", lang, name=row["district"])
    return str(row["regency"]) or _t("regency_unknown", lang)


def _labels(
    ax: plt.Axes, view: View, proj: _Projected, settings: dict, lang: str, level: str | None = None
) -> list[Text]:
    """Names that fit at the page's scale: of villages, kecamatan or kab/kota (:func:`_label_level`)."""
    m_per_pt = _page_scale(ax)
    level = level or _label_level(view, proj, m_per_pt, settings["label_unit_min_area_pt2"])
    tol = m_per_pt * settings["simplify_pt"]
    s = view.stage
    if level == "village":
        pos = proj.pos(view.villages.index)
        polygons = proj.simplified("village", tol)[pos]
        names = view.villages["village_name"].astype(str).to_numpy()
        anchors, rank = proj.points[pos], view.villages[f"risk_{s}"].to_numpy()
    else:
        units = _view_units(view, proj, level)
        polygons = proj.simplified(level, tol)[units.index.to_numpy()]
        names = [_unit_name(r, level, lang) for _, r in units.iterrows()]
        anchors = units[["x", "y"]].to_numpy()
        shares = _shares(view, proj, level)
        rank = shares["share_villages"].reindex(units.index).to_numpy()
    return _place_labels(ax, names, polygons, anchors, rank, settings["label_font_pt"], settings["label_area_factor"])


def _settings(result) -> dict:
    """The ``[print]`` settings, with ``aggregate_above`` and ``share_breaks_pct`` from ``[display]``."""
    data = result.config.data
    return {
        **data["print"],
        "aggregate_above": int(data["display"]["aggregate_above_villages"]),
        "share_breaks_pct": share_breaks(result.config),
    }


def _shares(view: View, proj: _Projected, level: str) -> pd.DataFrame:
    """Villages and TPS per kecamatan or kab/kota of the view, and the share of them rawan or sangat rawan.

    Indexed by the unit's row in ``proj.units(level)``; columns ``villages``, ``villages_high``,
    ``share_villages``, ``tps``, ``tps_high``, ``share_tps`` (NaN for a unit without TPS).
    """
    s = view.stage
    ids = proj.unit_id[level][proj.pos(view.villages.index)]
    units, inv = np.unique(ids, return_inverse=True)
    high = view.villages[f"level_{s}"].isin(HIGH).to_numpy()
    out = pd.DataFrame(
        {
            "villages": np.bincount(inv, minlength=len(units)),
            "villages_high": np.bincount(inv, weights=high, minlength=len(units)).astype(int),
        },
        index=units,
    )
    out["tps"] = 0
    out["tps_high"] = 0
    if view.tps is not None and len(view.tps) and proj.tps_xy is not None:
        owner = proj.tps_xy["village"].reindex(view.tps.index).to_numpy()
        tid = np.where(owner >= 0, proj.unit_id[level][owner], -1)
        k = np.searchsorted(units, tid)
        ok = (tid >= 0) & (k < len(units)) & (units[np.minimum(k, len(units) - 1)] == tid)
        thigh = view.tps[f"level_{s}"].isin(HIGH).to_numpy()[ok]
        out["tps"] = np.bincount(k[ok], minlength=len(units))
        out["tps_high"] = np.bincount(k[ok], weights=thigh, minlength=len(units)).astype(int)
    out["share_villages"] = out["villages_high"] / out["villages"]
    out["share_tps"] = (out["tps_high"] / out["tps"].where(out["tps"] > 0)).astype(float)
    return out


def _share_classes(breaks_pct: Sequence[float]) -> list[tuple[str, str]]:
    """(fill colour, label) per class of the share of rawan + sangat rawan: light grey (few) to dark (many).

    The classes are the screen's (:func:`riskmap.view.share_class`, ``[display] overview_breaks_pct``), in
    greys for a black-and-white printer.
    """
    greys = np.linspace(0.96, 0.32, len(breaks_pct) + 1)
    labels = share_class_labels(list(breaks_pct))
    return [(matplotlib.colors.to_hex((g, g, g)), label) for g, label in zip(greys, labels, strict=True)]


def _draw_shares(ax: plt.Axes, view: View, proj: _Projected, level: str, settings: dict, tol: float) -> dict[str, int]:
    """Kecamatan or kab/kota of the view shaded by their share of rawan + sangat rawan villages (metres).

    Returns the number of units per class (``u_<k>``) for the legend, and ``u_level``.
    """
    units = _view_units(view, proj, level)
    shares = _shares(view, proj, level).reindex(units.index)
    bins = list(settings["share_breaks_pct"])
    cls = share_class(shares["share_villages"].to_numpy(dtype=float), bins)
    geoms = proj.simplified(level, tol)[units.index.to_numpy()]
    counts: dict[str, int] = {}
    for k, (colour, _label) in enumerate(_share_classes(bins)):
        hit = cls == k
        counts[f"u_{k}"] = int(hit.sum())
        _draw_polygons(
            ax,
            geoms[hit],
            settings["rasterize_above_vertices"],
            facecolor=colour,
            edgecolor="#333333",
            lw=0.6,
            zorder=3,
        )
    return counts


def _draw_context(ax: plt.Axes, view: View, proj: _Projected, settings: dict, tol: float) -> None:
    """The land around the view in grey: the neighbouring villages, or (too many outlines) the land alone."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    geoms = proj.simplified("village", tol)[proj.context((x0, y0, x1, y1), view.villages.index)]
    if shapely.get_num_coordinates(geoms).sum() > settings["context_max_vertices"]:
        geoms = proj.outline_path
    _draw_polygons(
        ax, geoms, settings["rasterize_above_vertices"], facecolor="#f2f2f2", edgecolor="#bbbbbb", lw=0.3, zorder=2
    )


def _draw_layers(ax: plt.Axes, view: View, proj: _Projected, context: bool, settings: dict) -> dict[str, int]:
    """Villages (above ``aggregate_above`` villages: kab/kota or kecamatan shares), TPS, hot spots, posts.

    The axes' limits must be set: outlines are simplified for the page's scale. Returns counts for the legend
    (``v_<category>``, ``t_<category>``, ``h_<class>``; aggregated: ``u_<class>`` and ``aggregated``).
    """
    s = view.stage
    tol = _page_scale(ax) * settings["simplify_pt"]
    if context:
        _draw_context(ax, view, proj, settings, tol)
    v = view.villages
    pos = proj.pos(v.index)
    levels = v[f"level_{s}"].to_numpy()
    counts: dict[str, int] = {f"v_{cat}": int((levels == cat).sum()) for cat in CATEGORIES}
    if len(v) > settings["aggregate_above"]:
        level = "regency" if v["regency"].nunique() > 1 else "district"
        counts.update(_draw_shares(ax, view, proj, level, settings, tol))
        counts["aggregated"] = 1
    else:
        geoms = proj.simplified("village", tol)[pos]
        for cat in CATEGORIES:
            st = VILLAGE_STYLE[cat]
            _draw_polygons(
                ax,
                geoms[levels == cat],
                settings["rasterize_above_vertices"],
                facecolor=st["facecolor"],
                hatch=st["hatch"],
                edgecolor="#333333",
                lw=0.5,
                zorder=3,
            )
    if view.tps is not None and len(view.tps) and proj.tps_xy is not None:
        xy = proj.tps_xy.loc[view.tps.index]
        tl = view.tps[f"level_{s}"].to_numpy()
        for cat in CATEGORIES:
            hit = tl == cat
            counts[f"t_{cat}"] = int(hit.sum())
            if hit.any():
                st = TPS_STYLE[cat]
                ax.scatter(
                    xy["x"].to_numpy()[hit],
                    xy["y"].to_numpy()[hit],
                    marker=st["marker"],
                    s=st["size"] * 0.5,
                    c=st["color"],
                    edgecolors="black",
                    linewidths=0.4,
                    zorder=10 + CATEGORIES.index(cat),
                    rasterized=bool(hit.sum() > settings["rasterize_above_points"]),
                )
    col = hotspot_column(v, s)
    if col is not None:
        points = proj.points[pos]
        for cls in HOTSPOT_CLASSES:
            hit = (v[col] == cls).to_numpy()
            counts[f"h_{cls}"] = int(hit.sum())
            if hit.any():
                st = HOTSPOT_STYLE[cls]
                ax.scatter(
                    points[hit, 0],
                    points[hit, 1],
                    marker=st["marker"],
                    s=st["size"],
                    facecolors="none",
                    edgecolors=st["color"],
                    linewidths=st["lw"],
                    zorder=9,
                )
    if view.posts is not None and len(view.posts):
        p = view.posts.to_crs(proj.crs)
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
    fig: Figure,
    at: tuple[float, float],
    counts: dict[str, int],
    view: View,
    lang: str,
    radius_m: float = 0.0,
    *,
    method: str = "",
    ncol: int = 1,
    share_breaks_pct: Sequence[float] | None = None,
) -> None:
    """The legend: categories with their counts (or, with ``share_breaks_pct``, the share classes), TPS, hot spots."""
    handles: list[Patch | Line2D] = [Patch(facecolor="none", edgecolor="none", label=_t("villages", lang))]
    if share_breaks_pct is not None:  # aggregated: units shaded by their share of rawan + sangat rawan villages
        handles.append(Patch(facecolor="none", edgecolor="none", label=_t("share_legend", lang)))
        classes = _share_classes(share_breaks_pct)
        for k in reversed(range(len(classes))):
            colour, label = classes[k]
            handles.append(Patch(facecolor=colour, edgecolor="#333333", label=f"{label} ({counts.get(f'u_{k}', 0)})"))
    else:
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
    leg = fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=at,
        fontsize=7,
        frameon=True,
        title=None,
        borderpad=0.6,
        handlelength=2.2,
        handleheight=1.4,
        ncol=ncol,
    )
    for text in leg.get_texts():
        headers = (_t("villages", lang), _t("tps", lang), _t("share_legend", lang), i18n.t("hotspot_legend", lang))
        if text.get_text() in (*headers, method):
            text.set_fontweight("bold")


def _overview(
    fig: Figure, rect: Sequence[float], proj: _Projected, extent: tuple[float, float, float, float], title: str
) -> Text:
    """The locator map in ``rect`` (figure fractions): the whole area's land and the page's extent (metres) as a box.

    Drawn straight on the figure, true to shape, without an axes of its own (an axes costs more than the map).
    Returns its title.
    """
    bx0, by0, bx1, by1 = proj.outline.total_bounds
    x0, y0, x1, y1 = min(bx0, extent[0]), min(by0, extent[1]), max(bx1, extent[2]), max(by1, extent[3])
    fw, fh = fig.get_size_inches()
    pad = 0.04
    inch_per_m = min(rect[2] * fw / (x1 - x0), rect[3] * fh / (y1 - y0)) * (1 - 2 * pad)
    to_fig = (
        Affine2D()
        .translate(-(x0 + x1) / 2, -(y0 + y1) / 2)
        .scale(inch_per_m / fw, inch_per_m / fh)
        .translate(rect[0] + rect[2] / 2, rect[1] + rect[3] / 2)
    )
    path, _ = proj.outline_path
    if path is not None:
        fig.add_artist(
            PathPatch(path, facecolor="#dddddd", edgecolor="#777777", lw=0.4, transform=to_fig + fig.transFigure)
        )
    ex0, ey0, ex1, ey1 = extent
    box = Rectangle((ex0, ey0), ex1 - ex0, ey1 - ey0, fill=False, edgecolor="black", lw=1.2, zorder=5)
    box.set_transform(to_fig + fig.transFigure)
    fig.add_artist(box)
    frame = Rectangle((rect[0], rect[1]), rect[2], rect[3], fill=False, edgecolor="black", lw=0.8)
    frame.set_transform(fig.transFigure)
    fig.add_artist(frame)
    return fig.text(rect[0] + rect[2] / 2, rect[1] + rect[3] + 0.008, title, fontsize=7, ha="center", va="bottom")


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


def _map_axes(fig: plt.Figure, rect: Sequence[float], bounds: np.ndarray) -> plt.Axes:
    """The map's axes at ``rect`` (figure fractions), framing ``bounds`` (metres) at the page's aspect ratio."""
    ax = fig.add_axes((rect[0], rect[1], rect[2], rect[3]))
    ax.set_autoscale_on(False)
    pad_x = (bounds[2] - bounds[0]) * 0.04 + 200
    pad_y = (bounds[3] - bounds[1]) * 0.04 + 200
    x0, x1, y0, y1 = bounds[0] - pad_x, bounds[2] + pad_x, bounds[1] - pad_y, bounds[3] + pad_y
    # keep the page's aspect ratio so the map fills its frame
    fw, fh = fig.get_size_inches()
    target = (rect[2] * fw) / (rect[3] * fh)
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
    return ax


def _map_furniture(ax: plt.Axes, proj: _Projected, lang: str) -> None:
    """Grid with degree labels, scale bar and north arrow on a map axes whose limits are set."""
    to_lonlat = Transformer.from_crs(proj.crs, 4326, always_xy=True)
    to_xy = Transformer.from_crs(4326, proj.crs, always_xy=True)
    _graticule(ax, to_lonlat, to_xy)
    _scalebar(ax)
    _north(ax, lang)
    for side in ax.spines.values():
        side.set_linewidth(0.8)


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
    settings = _settings(result)
    fig = _figure(opts)
    landscape = opts.orientation == "landscape"
    map_rect = (0.05, 0.105, 0.66, 0.775) if landscape else (0.08, 0.26, 0.86, 0.62)
    pos = proj.pos(view.villages.index)
    ax = _map_axes(fig, map_rect, _total_bounds(proj.bounds[pos]))
    crs = proj.crs
    counts = _draw_layers(ax, view, proj, context, settings)
    if staff is not None and view.tps is not None and len(view.tps):
        counts["tps_police"] = _tps_police(ax, view.tps, staff, crs)
    if opts.chosen_posts is not None and len(opts.chosen_posts):
        _draw_chosen_posts(ax, opts.chosen_posts, opts.post_radius_m, crs)
        counts["chosen_posts"] = len(opts.chosen_posts)
    _map_furniture(ax, proj, lang)
    level = ("regency" if view.villages["regency"].nunique() > 1 else "district") if counts.get("aggregated") else None
    _labels(ax, view, proj, settings, lang, level)

    _heading(fig, result, opts, title, 15 if landscape else 13)
    side_x = 0.74 if landscape else 0.08
    leg_at = (side_x, 0.88) if landscape else (0.08, 0.24)
    n_entries = 3 + 2 * len(CATEGORIES) + sum(1 for k in counts if k.startswith("h_") and counts[k])
    _legend(
        fig,
        leg_at,
        counts,
        view,
        lang,
        radius_m=opts.post_radius_m,
        method=method_label(result.config, lang, result.method),
        ncol=2 if not landscape and n_entries > 11 else 1,
        share_breaks_pct=settings["share_breaks_pct"] if counts.get("aggregated") else None,
    )
    # portrait: the overview's title stays clear of the map's longitude labels above it
    ov_rect = (side_x + 0.02, 0.10, 0.20, 0.30) if landscape else (0.60, 0.07, 0.32, 0.15)
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    _overview(fig, ov_rect, proj, (x0, y0, x1, y1), _t("overview", lang))
    acc = (opts.accuracy or {}).get(view.stage)
    _accuracy(fig, accuracy_line(acc, lang), y=0.056 if landscape else 0.049)
    _frame(fig, opts, page, result)
    return fig


def _total_bounds(bounds: np.ndarray) -> np.ndarray:
    """The box around boxes ``(n, 4)`` (minx, miny, maxx, maxy)."""
    return np.array([bounds[:, 0].min(), bounds[:, 1].min(), bounds[:, 2].max(), bounds[:, 3].max()])


def _units_page(
    result,
    view: View,
    opts: PrintOptions,
    title: str,
    page: int,
    proj: _Projected,
    pages_of: dict[str, int],
) -> plt.Figure:
    """A kab/kota's overview: its kecamatan shaded by their share of rawan + sangat rawan villages, and a table.

    The table gives per kecamatan its villages and TPS, the share of them rawan or sangat rawan, and the page of
    its map (``pages_of``: kecamatan name -> page).
    """
    lang = opts.lang
    settings = _settings(result)
    fig = _figure(opts)
    landscape = opts.orientation == "landscape"
    map_rect = (0.05, 0.105, 0.56, 0.775) if landscape else (0.08, 0.40, 0.86, 0.48)
    ax = _map_axes(fig, map_rect, _total_bounds(proj.bounds[proj.pos(view.villages.index)]))
    tol = _page_scale(ax) * settings["simplify_pt"]
    _draw_context(ax, view, proj, settings, tol)
    counts = _draw_shares(ax, view, proj, "district", settings, tol)
    _map_furniture(ax, proj, lang)
    _labels(ax, view, proj, settings, lang, "district")
    _heading(fig, result, opts, title, 15 if landscape else 13)

    handles: list[Patch | Line2D] = [Patch(facecolor="none", edgecolor="none", label=_t("share_legend", lang))]
    classes = _share_classes(settings["share_breaks_pct"])
    for k in reversed(range(len(classes))):
        colour, label = classes[k]
        handles.append(Patch(facecolor=colour, edgecolor="#333333", label=f"{label} ({counts.get(f'u_{k}', 0)})"))
    at = (0.64, 0.88) if landscape else (0.08, 0.38)
    leg = fig.legend(
        handles=handles, loc="upper left", bbox_to_anchor=at, fontsize=7, frameon=True, ncol=1 if landscape else 3
    )
    leg.get_texts()[0].set_fontweight("bold")

    shares = _shares(view, proj, "district")
    units = proj.units("district").loc[shares.index]
    cells = [
        [
            _clip(_unit_name(unit, "district", lang), 30),
            f"{int(row.villages)}",
            f"{row.share_villages * 100:.0f} %",
            f"{int(row.tps)}",
            "-" if pd.isna(row.share_tps) else f"{row.share_tps * 100:.0f} %",
            str(pages_of.get(unit["district"], "")),
        ]
        for (_, unit), (_, row) in zip(units.iterrows(), shares.iterrows(), strict=True)
    ]
    tab_ax = fig.add_axes((0.64, 0.08, 0.34, 0.56) if landscape else (0.08, 0.07, 0.86, 0.21))
    tab_ax.axis("off")
    table = tab_ax.table(
        cellText=cells,
        colLabels=_t("unit_cols", lang).split("|"),
        colWidths=[0.4, 0.12, 0.14, 0.12, 0.12, 0.1],
        loc="upper left",
        cellLoc="left",
    )
    table.auto_set_font_size(False)
    rows_room = 0.56 if landscape else 0.21
    line_pt = rows_room * fig.get_figheight() * 72 / (len(cells) + 1)  # points per row in the room given
    table.set_fontsize(float(np.clip(line_pt / 1.9, 3.5, 6.5)))
    table.scale(1, float(np.clip(line_pt / 1.9, 3.5, 6.5)) / 6.5 * 1.2)
    for (row, _col), cell in table.get_celld().items():
        cell.set_linewidth(0.3)
        if row == 0:
            cell.set_text_props(fontweight="bold")
            cell.set_facecolor("#e6e6e6")
    _frame(fig, opts, page, result)
    return fig


def _accuracy(fig: plt.Figure, text: str, y: float, left: float = 0.05, right: float = 0.97) -> None:
    """The accuracy line at height ``y`` (figure fraction, text bottom).

    Wrapped to fit between ``left`` and ``right`` (figure fractions), at most three lines.
    """
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]  # an Agg canvas (_figure)
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
    rows = t[t[f"level_{s}"].isin(HIGH)]
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
        fig = _figure(opts)
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
                elif cells[row - 1][5] == i18n.t(CATEGORIES[-1], lang):
                    cell.set_text_props(fontweight="bold")
        _frame(fig, opts, first_page + k, result)
        yield fig


def _clip(text: object, n: int) -> str:
    s = "" if text is None or (isinstance(text, float) and np.isnan(text)) else str(text)
    return s if len(s) <= n else s[: n - 1] + "…"


@dataclass
class _Entry:
    """One line of the atlas's table of contents: indent level (0, 1, 2), text, first page."""

    level: int
    text: str
    page: int = 0


_CONTENTS_LINESPACING = 1.35


def _contents_rows(opts: PrintOptions, top: float, bottom: float) -> int:
    """Lines of contents that fit per column between ``top`` and ``bottom`` (figure fractions)."""
    line_pt = CONTENTS_FONT * _CONTENTS_LINESPACING
    return max(1, int((top - bottom) * opts.figsize[1] * 72 / line_pt))


def _contents_columns(opts: PrintOptions) -> int:
    return 2 if opts.orientation == "landscape" else 1


_COVER_TOP, _NEXT_TOP, _CONTENTS_BOTTOM = 0.42, 0.86, 0.07


def _contents_capacity(opts: PrintOptions, first: bool) -> int:
    """Entries of the contents on the cover (``first``) or on one of the pages after it."""
    return _contents_columns(opts) * _contents_rows(opts, _COVER_TOP if first else _NEXT_TOP, _CONTENTS_BOTTOM)


def _contents_pages(opts: PrintOptions, n: int) -> int:
    """Pages the contents of ``n`` entries take: the cover, then as many pages as needed."""
    rest = max(0, n - _contents_capacity(opts, True))
    return 1 + math.ceil(rest / _contents_capacity(opts, False))


def _draw_contents(fig: plt.Figure, opts: PrintOptions, entries: Sequence[_Entry], top: float) -> None:
    """Entries in columns from ``top`` (figure fraction): text left, indented by level, page number right."""
    rows = _contents_rows(opts, top, _CONTENTS_BOTTOM)
    ncol = _contents_columns(opts)
    left, right = 0.08, 0.92
    width = (right - left) / ncol
    chars = int(width * opts.figsize[0] * 72 / (CONTENTS_FONT * 0.6)) - 8  # DejaVu Sans: ~0.6 em per character
    for c in range(ncol):
        part = entries[c * rows : (c + 1) * rows]
        if not part:
            break
        x = left + c * width
        names = "\n".join("    " * e.level + _clip(e.text, chars - 4 * e.level) for e in part)
        pages = "\n".join(str(e.page) for e in part)
        style: dict[str, Any] = {"fontsize": CONTENTS_FONT, "va": "top", "linespacing": _CONTENTS_LINESPACING}
        fig.text(x, top, names, ha="left", **style)
        fig.text(x + width - 0.02, top, pages, ha="right", **style)


def _cover(result, opts: PrintOptions, area_name: str, entries: Sequence[_Entry], page: int) -> plt.Figure:
    """The atlas's cover with the start of its table of contents (the entries that fit)."""
    lang = opts.lang
    fig = _figure(opts)
    fig.text(0.5, 0.70, _t("cover", lang), fontsize=26, fontweight="bold", ha="center")
    fig.text(0.5, 0.62, area_name, fontsize=18, ha="center")
    stages = ", ".join(result.config.stage_label(s, lang) for s in opts.stages)
    fig.text(0.5, 0.56, f"{opts.election} · {stages}", fontsize=11, ha="center")
    as_of = result.as_of.isoformat() if result.as_of else "-"
    fig.text(0.5, 0.52, _t("made", lang, made=opts.made.isoformat(), as_of=as_of), fontsize=10, ha="center")
    fig.text(0.08, _COVER_TOP + 0.025, _t("contents", lang), fontsize=11, fontweight="bold")
    _draw_contents(fig, opts, entries[: _contents_capacity(opts, True)], _COVER_TOP)
    _frame(fig, opts, page, result)
    return fig


def _contents_page(result, opts: PrintOptions, entries: Sequence[_Entry], page: int) -> plt.Figure:
    """A page continuing the table of contents."""
    fig = _figure(opts)
    fig.text(0.08, _NEXT_TOP + 0.035, _t("contents_more", opts.lang), fontsize=13, fontweight="bold")
    _draw_contents(fig, opts, entries, _NEXT_TOP)
    _frame(fig, opts, page, result)
    return fig


@dataclass
class _Section:
    """Pages of the atlas under one contents entry: how many, and how to draw them from their first page."""

    entry: _Entry
    pages: int
    draw: Callable[[int], Iterator[plt.Figure]]


def _kecamatan_pages(
    result, view: View, opts: PrintOptions, proj: _Projected, stage: str, name: str, staff, page: int
) -> Iterator[plt.Figure]:
    """A kecamatan's map page (its TPS with their police from ``staff``), then its TPS table when asked."""
    label = result.config.stage_label(stage, opts.lang)
    title = _t("title", opts.lang, stage=label, area=name)
    yield _map_page(result, view, opts, title, page, proj, context=True, staff=staff)
    if opts.with_tables:
        title = _t("table_title", opts.lang, stage=label, area=name)
        yield from _table_pages(result, view, opts, title, page + 1, staff=staff)


def _regency_pages(
    result, view: View, opts: PrintOptions, proj: _Projected, stage: str, name: str, kecamatan: dict, page: int
) -> Iterator[plt.Figure]:
    """A kab/kota's overview page; ``kecamatan``: kecamatan name -> its :class:`_Entry` (for the page column)."""
    title = _t("units_title", opts.lang, stage=result.config.stage_label(stage, opts.lang), area=name)
    yield _units_page(result, view, opts, title, page, proj, {k: e.page for k, e in kecamatan.items()})


def _atlas(result, opts: PrintOptions, flt: ViewFilter, area_name: str, proj: _Projected) -> Iterator[plt.Figure]:
    """The atlas's pages, grouped by kab/kota.

    Cover and contents (continued on further pages as needed), then per stage: the area's map, and per
    kab/kota (by name) its overview page followed by the maps of its kecamatan (by name), each with its TPS
    table when asked. For voting and counting the TPS carry their police from one plan of the whole area.
    """
    lang = opts.lang
    base = make_view(result, opts.stages[0], flt)
    pairs = (
        base.villages[["regency", "district"]]
        .drop_duplicates()
        .sort_values(["regency", "district"], key=lambda names: names.map(natural_key))  # "Kab 2" before "Kab 10"
    )
    sections: list[_Section] = []
    for stage in opts.stages:
        view = make_view(result, stage, flt)
        staff = _staffing(result, view, opts)
        head = _t("overview", lang) + (f" - {result.config.stage_label(stage, lang)}" if len(opts.stages) > 1 else "")
        title = _t("title", lang, stage=result.config.stage_label(stage, lang), area=area_name)
        sections.append(_Section(_Entry(0, head), 1, functools.partial(_one_map, result, view, opts, title, proj)))
        for kab, kecs in pairs.groupby("regency", sort=False, dropna=False)["district"]:
            kname = kab or _t("regency_unknown", lang)
            kview = make_view(result, stage, dataclasses.replace(flt, regencies=(kab,), districts=tuple(kecs)))
            kecamatan: dict[str, _Entry] = {}
            draw = functools.partial(_regency_pages, result, kview, opts, proj, stage, kname, kecamatan)
            sections.append(_Section(_Entry(1, kname), 1, draw))
            for kec in kecs:
                pview = make_view(result, stage, dataclasses.replace(flt, regencies=(kab,), districts=(kec,)))
                name = _t("kecamatan", lang, name=kec)
                n = 1 + (_table_page_count(pview, opts) if opts.with_tables else 0)
                draw = functools.partial(_kecamatan_pages, result, pview, opts, proj, stage, name, staff)
                kecamatan[kec] = _Entry(2, name)
                sections.append(_Section(kecamatan[kec], n, draw))
    entries = [sec.entry for sec in sections]
    n_contents = _contents_pages(opts, len(entries))
    page = 1 + n_contents
    for sec in sections:
        sec.entry.page = page
        page += sec.pages
    yield _cover(result, opts, area_name, entries, 1)
    first = _contents_capacity(opts, True)
    per_page = _contents_capacity(opts, False)
    for k in range(n_contents - 1):
        yield _contents_page(result, opts, entries[first + k * per_page : first + (k + 1) * per_page], 2 + k)
    for sec in sections:
        yield from sec.draw(sec.entry.page)


def _one_map(result, view: View, opts: PrintOptions, title: str, proj: _Projected, page: int) -> Iterator[plt.Figure]:
    """The map page of ``view`` alone (the area's overview in an atlas)."""
    yield _map_page(result, view, opts, title, page, proj)


def _pages(result, opts: PrintOptions) -> Iterator[plt.Figure]:
    lang = opts.lang
    flt, area_name = _area_filter(result, opts.area)
    if opts.filters is not None:
        flt = opts.filters
        picked = flt.districts or flt.regencies
        if picked:
            area_name = ", ".join(picked) if len(picked) <= 3 else _t("areas_n", lang, n=len(picked))
    proj = _Projected.of(result)
    if opts.atlas:
        yield from _atlas(result, opts, flt, area_name, proj)
        return
    page = 1
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
