"""Village (desa/kelurahan) boundaries in any of the schemas users bring.

Recognised without configuration (column names in any case):

============  =====================================================
schema        columns used
============  =====================================================
BIG           KDEPUM (code), WADMKD, WADMKC, WADMKK, WADMPR
GADM          GID_4 (or CC_4 when it holds an official code), NAME_4..NAME_1
BPS           iddesa, nmdesa, nmkec, nmkab, nmprov
COD-AB        ADM4_PCODE, ADM4_EN, ADM3_EN, ADM2_EN, ADM1_EN (OCHA/HDX)
Kemendagri    a column of ``53.71.01.1001``-style codes plus a name column
============  =====================================================

The column names of each schema are in ``riskmap/config/column_aliases.toml``. Anything else loads with a
column map (``--columns``, see :mod:`riskmap.io._columns`).
The result has one row per village in the canonical schema
:data:`VILLAGE_COLUMNS`, geometry in EPSG:4326.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from riskmap._errors import RiskmapInputError
from riskmap.config import Config, load_config
from riskmap.io._columns import ColumnMap, as_text, find_column, load_column_map, map_unique, text_column
from riskmap.io._read import INDONESIA_BOUNDS, ROW_COLUMN, RawLayer, read_layer, start_report
from riskmap.io._safety import Limits, active_limits
from riskmap.io.report import LayerReport

VILLAGE_COLUMNS = [
    "village_code",
    "village_name",
    "district",
    "district_code",
    "regency",
    "province",
    "area_km2",
]
"""Canonical village columns (besides ``geometry``). ``district`` = kecamatan,
``regency`` = kabupaten/kota; ``area_km2`` is geodesic (EPSG:6933)."""

_KEMENDAGRI = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_KEMENDAGRI_PLAIN = re.compile(r"^\d{10}$")


def normalise_code(value: object) -> str:
    """Return a Kemendagri code as ``PP.KK.CC.DDDD``; other codes stripped as given.

    ``5371011001``, ``53.71.01.1001`` and ``53.71.1.1001`` all give
    ``53.71.01.1001``.
    """
    text = str(value).strip()
    if text.endswith(".0") and text[:-2].isdigit():  # a code read as a float
        text = text[:-2]
    if m := _KEMENDAGRI.match(text):
        return f"{int(m[1]):02d}.{int(m[2]):02d}.{int(m[3]):02d}.{m[4]}"
    if _KEMENDAGRI_PLAIN.match(text):
        return f"{text[:2]}.{text[2:4]}.{text[4:6]}.{text[6:]}"
    return text


_CANONICAL = r"\d{2}\.\d{2}\.\d{2}\.\d{4}"


def normalise_codes(values: pd.Series) -> pd.Series:
    """:func:`normalise_code` for a column; codes already canonical are kept as they are."""
    canonical = values.str.fullmatch(_CANONICAL).fillna(False).to_numpy(dtype=bool)
    if canonical.all():
        return values
    out = values.copy()
    out[~canonical] = map_unique(values[~canonical], normalise_code).to_numpy()
    return out


def _looks_like_codes(values: pd.Series) -> bool:
    text = as_text(values)
    text = text[text != ""]
    if text.empty:
        return False
    hits = text.str.match(_KEMENDAGRI.pattern) | text.str.match(_KEMENDAGRI_PLAIN.pattern)
    return bool(hits.mean() >= 0.8)


def _detect(
    frame: pd.DataFrame, column_map: dict[str, str], file: str, config: Config
) -> tuple[str, dict[str, str | None]]:
    """Pick the schema and return (schema name, canonical field -> column).

    The schemas and aliases are ``[column_aliases.villages]`` of the configuration (``column_aliases.toml``).
    """
    columns = [c for c in frame.columns if c not in (ROW_COLUMN, frame.geometry.name)]
    known = config.column_aliases("villages")
    aliases: dict[str, list[str]] = known["fields"]
    if column_map:
        fields = {f: find_column(columns, aliases.get(f, []), mapped=column_map.get(f), file=file) for f in aliases}
        if fields["village_code"] is None and fields["village_name"] is None:
            raise RiskmapInputError("villages_unrecognised", file=file, columns=", ".join(columns[:30]))
        return "column map", fields
    schemas: dict[str, dict[str, list[str]]] = known["schemas"]
    for schema, spec in schemas.items():
        found = {f: find_column(columns, names) for f, names in spec.items()}
        if found["village_code"] and found["village_name"]:
            if schema == "GADM":  # CC_4 sometimes carries the official code
                cc = find_column(columns, ["CC_4"])
                if cc and _looks_like_codes(frame[cc]):
                    found["village_code"] = cc
            return schema, found
    fields = {f: find_column(columns, names) for f, names in aliases.items()}
    if fields["village_code"] is None or not _looks_like_codes(frame[fields["village_code"]]):
        coded = [c for c in columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])]
        coded = [c for c in coded if _looks_like_codes(frame[c])]
        fields["village_code"] = coded[0] if coded else None
    if fields["village_code"] and fields["village_name"]:
        return "Kemendagri", fields
    raise RiskmapInputError("villages_unrecognised", file=file, columns=", ".join(columns[:30]))


def read_villages(
    path: str | Path,
    *,
    columns: ColumnMap | str | Path | None = None,
    layer: str | None = None,
    config: Config | None = None,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Read village polygons into the canonical schema.

    Parameters
    ----------
    path
        Shapefile (or zipped, also several levels in one zip: the village
        level is picked), GeoJSON, GeoPackage, File Geodatabase (``.gdb``
        folder or zipped), FlatGeobuf or GeoParquet.
    columns
        Optional column map (its ``[villages]`` part is used, including an
        optional ``crs`` for files that declare none).
    layer
        Layer inside a multi-layer GeoPackage or zip.
    config
        For ``villages.max_area_km2`` and the column aliases (defaults when None).

    Returns
    -------
    villages
        One row per village, columns :data:`VILLAGE_COLUMNS` + geometry,
        EPSG:4326, indexed 0..n-1, sorted by ``village_code``.
    report
        Rows read, used and rejected, and warnings (repaired polygons, merged
        parts).
    """
    column_map = load_column_map(columns).get("villages", {})
    crs = column_map.pop("crs", None) if column_map else None
    raw = read_layer(path, layer=layer or column_map.pop("layer", None), crs=crs)
    return villages_from_raw(raw, column_map, config=config)


def villages_from_raw(
    raw: RawLayer, column_map: dict[str, str] | None = None, *, config: Config | None = None
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Apply the village schema to an already-read layer (see :func:`read_villages`).

    Features with coordinates off the Earth, reaching outside Indonesia's box
    or larger than ``villages.max_area_km2`` are rejected row by row.
    """
    if not raw.is_vector:
        raise RiskmapInputError("villages_need_polygons", file=raw.name)
    # counted before any repair: make_valid on a 300,000-vertex zigzag takes minutes
    max_vertices = (Limits.from_config(config) if config is not None else active_limits()).max_vertices
    config = config or load_config()
    report = start_report("villages", raw)
    frame = raw.frame
    schema, fields = _detect(frame, dict(column_map or {}), raw.name, config)
    report.schema = schema

    def text(field: str) -> pd.Series:
        return text_column(frame, fields.get(field))

    out = gpd.GeoDataFrame(
        {
            ROW_COLUMN: frame[ROW_COLUMN],
            "village_code": normalise_codes(text("village_code")),
            "village_name": text("village_name"),
            "district": text("district"),
            "regency": text("regency"),
            "province": text("province"),
        },
        geometry=frame.geometry.values,
        crs=4326,
    )
    if fields.get("village_code") is None:  # name-only column map: names must be unique keys
        out["village_code"] = out["village_name"]
    keep = np.ones(len(out), dtype=bool)

    geom = out.geometry.values
    missing = np.asarray(geom.isna() | geom.is_empty)
    report.reject_frame(out.loc[missing, ROW_COLUMN], "missing_geometry")
    keep &= ~missing

    vertices = shapely.get_num_coordinates(np.asarray(geom))
    too_many = keep & (vertices > max_vertices)
    report.reject_frame(
        out.loc[too_many, ROW_COLUMN],
        "village_too_many_vertices",
        n=[int(v) for v in vertices[too_many]],
        most=str(max_vertices),
    )
    keep &= ~too_many

    kinds = shapely.get_type_id(np.asarray(geom))
    not_polygon = keep & ~np.isin(kinds, [3, 6, 7])  # Polygon, MultiPolygon, GeometryCollection
    report.reject_frame(out.loc[not_polygon, ROW_COLUMN], "not_polygon")
    keep &= ~not_polygon
    keep = _reject_out_of_bounds(out, keep, report)

    no_code = keep & (out["village_code"] == "").to_numpy()
    report.reject_frame(out.loc[no_code, ROW_COLUMN], "missing_id", column=fields.get("village_code") or "")
    keep &= ~no_code

    out = out.loc[keep].copy()
    out = _repair(out, report)
    out = _reject_too_large(out, report, float(config.data["villages"]["max_area_km2"]))
    out = _merge_duplicates(out, report)

    unnamed = out["village_name"] == ""
    if unnamed.any():
        report.warn_frame(out.loc[unnamed, ROW_COLUMN], "missing_name")
        out.loc[unnamed, "village_name"] = out.loc[unnamed, "village_code"]

    codes = out["village_code"]
    kem = codes.str.fullmatch(_CANONICAL).fillna(False).astype(bool)
    out["district_code"] = np.where(kem, codes.str[:8], "")
    no_district_code = ~kem
    if no_district_code.any() and fields.get("district") is None:
        report.warn(None, "no_district_column")
    if no_district_code.any():  # key districts by names when there is no official code
        out.loc[no_district_code, "district_code"] = (
            out.loc[no_district_code, "province"]
            + "|"
            + out.loc[no_district_code, "regency"]
            + "|"
            + out.loc[no_district_code, "district"]
        )
    out["area_km2"] = _area_km2(out.geometry.to_numpy())
    out = out.sort_values("village_code", kind="stable").reset_index(drop=True)
    report.used = int(out["_rows_used"].sum()) if "_rows_used" in out else len(out)
    out = out[[ROW_COLUMN, *VILLAGE_COLUMNS, "geometry"]]
    report.check()
    return out, report


_MAX_PROJECTED_M = 2.1e7
"""Largest coordinate (metres) of a projected CRS: UTM northings reach 1e7, Web Mercator about 2.0e7.
From 1,000 up to this a coordinate cannot be degrees and is taken for metres; latitude 91 stays off the Earth."""


def _reject_out_of_bounds(out: gpd.GeoDataFrame, keep: np.ndarray, report: LayerReport) -> np.ndarray:
    """Reject polygons with coordinates off the Earth, or reaching outside Indonesia's box; returns new keep.

    Bounds in EPSG:4326 degrees; :data:`riskmap.io._read.INDONESIA_BOUNDS` is the box.
    """
    todo = np.flatnonzero(keep)
    if not len(todo):
        return keep
    with np.errstate(invalid="ignore"):
        bounds = shapely.bounds(np.asarray(out.geometry.values)[todo])
        minx, miny, maxx, maxy = bounds.T
        off_earth = ~np.isfinite(bounds).all(axis=1) | (minx < -180) | (maxx > 180) | (miny < -90) | (maxy > 90)
        lo_x, lo_y, hi_x, hi_y = INDONESIA_BOUNDS
        off_box = ~off_earth & ((minx < lo_x) | (maxx > hi_x) | (miny < lo_y) | (maxy > hi_y))
    rows = out[ROW_COLUMN].to_numpy()[todo]

    def extent(i: np.ndarray) -> dict[str, list[str]]:
        names = ("lon_min", "lat_min", "lon_max", "lat_max")
        return {name: [f"{v:.6g}" for v in bounds[i, k]] for k, name in enumerate(names)}

    with np.errstate(invalid="ignore"):  # metres (UTM, Web Mercator) read as degrees: name the CRS, not "off the Earth"
        largest = np.abs(bounds).max(axis=1)
        metres = off_earth & np.isfinite(bounds).all(axis=1) & (largest >= 1000) & (largest < _MAX_PROJECTED_M)
    off_earth = off_earth & ~metres
    report.reject_frame(list(rows[metres]), "village_looks_projected", **extent(metres))
    report.reject_frame(list(rows[off_earth]), "village_off_earth", **extent(off_earth))
    report.reject_frame(
        list(rows[off_box]),
        "village_outside_indonesia",
        **extent(off_box),
        box_lon=f"{lo_x:g} .. {hi_x:g}",
        box_lat=f"{lo_y:g} .. {hi_y:g}",
    )
    keep = keep.copy()
    keep[todo[off_earth | off_box | metres]] = False
    return keep


def _reject_too_large(out: gpd.GeoDataFrame, report: LayerReport, max_km2: float) -> gpd.GeoDataFrame:
    """Reject polygons larger than any real village (``max_km2``, km², see :func:`_area_km2`)."""
    if out.empty:
        return out
    area = _area_km2(out.geometry.to_numpy())
    big = ~(area <= max_km2)  # NaN area too
    report.reject_frame(
        list(out.loc[big, ROW_COLUMN]),
        "village_too_large",
        area=[f"{a:,.0f}" for a in area[big]],
        most=f"{max_km2:,.0f}",
    )
    return out.loc[~big]


def _area_km2(geoms: np.ndarray) -> np.ndarray:
    """Area in km² of EPSG:4326 polygons from the WGS84 scale at each polygon's centre.

    Square degrees times the length of a degree of latitude (meridian radius
    of curvature M) and of longitude (N cos(lat)) at the middle latitude: within
    0.1 % of the geodesic area for village-sized polygons, with no
    reprojection of every vertex (83,000 villages in about 0.1 s).
    """
    a, e2 = 6378.137, 0.00669437999014  # WGS84 semi-major axis (km), eccentricity squared
    bounds = shapely.bounds(geoms)
    lat = np.radians((bounds[:, 1] + bounds[:, 3]) / 2)
    w = 1.0 - e2 * np.sin(lat) ** 2
    m = a * (1 - e2) / w**1.5
    n = a / np.sqrt(w)
    return shapely.area(geoms) * np.radians(1.0) ** 2 * m * n * np.cos(lat)


def _repair(out: gpd.GeoDataFrame, report: LayerReport) -> gpd.GeoDataFrame:
    """Make invalid polygons valid (counted as warnings); reject the unrepairable.

    Each part is repaired on its own (GEOS ``make_valid`` with the
    "structure" method, collapsed parts dropped) and the polygonal results
    are merged: a part collapsed to a point or a line, or a point or line in
    a GeometryCollection, is dropped and counted (``collapsed_parts_dropped``)
    instead of reaching a GEOS overlay, where it stopped national files with
    "Overlay input is mixed-dimension". Nothing here raises: a feature GEOS
    cannot repair is rejected (``invalid_geometry``).
    """
    geoms = out.geometry.to_numpy()
    invalid = ~shapely.is_valid(geoms)
    kinds = shapely.get_type_id(geoms)
    needs = invalid | (kinds == 7)
    if not needs.any():
        return out
    todo = np.flatnonzero(needs)
    polys = np.empty(len(todo), dtype=object)
    dropped = np.zeros(len(todo), dtype=int)
    for k, geom in enumerate(geoms[todo]):
        polys[k], dropped[k] = _polygonal(geom)
    ok = ~shapely.is_empty(polys) & np.isin(shapely.get_type_id(polys), [3, 6])
    rows = out[ROW_COLUMN].to_numpy()[todo]
    report.reject_frame(list(rows[~ok]), "invalid_geometry")
    report.warn_frame(list(rows[ok & invalid[todo]]), "repaired_geometry")
    some = ok & (dropped > 0)
    report.warn_frame(list(rows[some]), "collapsed_parts_dropped", n=[int(d) for d in dropped[some]])
    if some.any():
        report.warn(None, "collapsed_parts_summary", parts=int(dropped[some].sum()), polygons=int(some.sum()))
    geoms = geoms.copy()
    geoms[todo] = polys
    out = out.set_geometry(gpd.array.from_shapely(geoms, crs=4326))
    drop = np.zeros(len(out), dtype=bool)
    drop[todo[~ok]] = True
    return out.loc[~drop]


def _polygonal(geom: shapely.Geometry) -> tuple[shapely.Geometry | None, int]:
    """The valid polygonal part of ``geom`` and how many of its parts were dropped (points, lines, collapsed).

    Returns (None, parts) when GEOS cannot repair it.
    """
    parts = shapely.get_parts(geom)
    polygonal = np.isin(shapely.get_type_id(parts), [3, 6])
    dropped = int((~polygonal).sum())
    try:
        fixed = shapely.make_valid(parts[polygonal], method="structure", keep_collapsed=False)
        empty = shapely.is_empty(fixed) | ~np.isin(shapely.get_type_id(fixed), [3, 6])
        dropped += int(empty.sum())
        keep = fixed[~empty]
        if len(keep) == 0:
            return None, dropped
        merged = keep[0] if len(keep) == 1 else shapely.union_all(keep)
        if not shapely.is_valid(merged) or shapely.get_type_id(merged) not in (3, 6):
            merged = shapely.make_valid(merged, method="structure", keep_collapsed=False)
    except shapely.errors.GEOSException:
        return None, dropped
    return merged, dropped


def _merge_duplicates(out: gpd.GeoDataFrame, report: LayerReport) -> gpd.GeoDataFrame:
    """Same code twice: identical polygons are rejected, distinct parts merged."""
    dup = out["village_code"].duplicated(keep=False)
    out["_rows_used"] = 1
    if not dup.any():
        return out
    keep_rows = []
    merged_geoms = {}
    for code, group in out.loc[dup].groupby("village_code", sort=False):
        first = group.index[0]
        seen = [group.geometry.iloc[0].normalize().wkb]
        parts = [group.geometry.iloc[0]]
        used = 1
        for _, row in group.iloc[1:].iterrows():
            wkb = row.geometry.normalize().wkb
            if wkb in seen:
                report.reject(
                    int(row[ROW_COLUMN]), "duplicate_id", id=code, first_row=int(group.loc[first, ROW_COLUMN])
                )
            else:
                seen.append(wkb)
                parts.append(row.geometry)
                used += 1
                report.warn(int(row[ROW_COLUMN]), "merged_parts", id=code, first_row=int(group.loc[first, ROW_COLUMN]))
        merged_geoms[first] = (shapely.union_all(parts) if len(parts) > 1 else parts[0], used)
        keep_rows.append(first)
    drop = out.index[dup & ~out.index.isin(keep_rows)]
    out = out.drop(index=drop)
    for idx, (geom, used) in merged_geoms.items():
        out.loc[idx, "geometry"] = geom
        out.loc[idx, "_rows_used"] = used
    return out
