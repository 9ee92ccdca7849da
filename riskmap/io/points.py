"""Point layers: coordinates from columns or geometry, checked row by row.

Shared by TPS, incidents and the optional point layers (police posts,
candidate post sites, campaign posts). Every row either gets a valid point in
the study area or a rejection with its reason (see :mod:`riskmap.io._coords`).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from riskmap._errors import RiskmapInputError
from riskmap.config import Config, load_config
from riskmap.io._columns import ColumnMap, as_text, find_column, load_column_map, text_column
from riskmap.io._coords import INDONESIA, StudyArea, diagnose, from_projected, parse_numbers, split_pairs
from riskmap.io._read import ROW_COLUMN, RawLayer, read_layer, start_report
from riskmap.io.report import LayerReport

POINT_KINDS = {"posts", "candidate_sites", "campaign_posts"}


def _fmt(value: object) -> str:
    text = str(value).strip()
    return text if len(text) <= 40 else text[:37] + "..."


def locate(
    raw: RawLayer,
    column_map: dict[str, str],
    area: StudyArea,
    report: LayerReport,
    config: Config,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Find, parse and check the coordinates of every row.

    The coordinate columns are those of ``column_map`` (``lat``, ``lon`` or ``coordinates``), else
    the first found of ``[column_aliases.points.coordinates]`` in ``config`` (``column_aliases.toml``).

    Returns
    -------
    frame
        ``raw.frame`` with float columns ``lon`` and ``lat`` (EPSG:4326).
    ok
        True for rows whose point is usable; every other row has been
        rejected in ``report`` with its reason.
    """
    frame = raw.frame
    if (
        len(frame) == 0 and not raw.rejected
    ):  # a header and nothing under it: say so, "0 rows read" alone is easy to miss
        report.warn(None, "no_data_rows")
    columns = [c for c in frame.columns if c != ROW_COLUMN]
    aliases = config.column_aliases("points")["coordinates"]
    lat_col = find_column(columns, aliases["lat"], mapped=column_map.get("lat"), file=raw.name)
    lon_col = find_column(columns, aliases["lon"], mapped=column_map.get("lon"), file=raw.name)
    pair_col = None
    if lat_col is None or lon_col is None:
        pair_col = find_column(columns, aliases["pair"], mapped=column_map.get("coordinates"), file=raw.name)
    geometry = frame.geometry if raw.is_vector else None

    if lat_col and lon_col:
        lat_raw, lon_raw = frame[lat_col], frame[lon_col]
    elif pair_col:
        lat_raw, lon_raw = split_pairs(frame[pair_col])
    elif geometry is None:
        raise RiskmapInputError("no_coordinate_columns", file=raw.name, columns=", ".join(map(str, columns[:30])))
    else:
        lat_raw = lon_raw = None

    if geometry is not None:
        geoms = np.asarray(geometry.values)
        kinds = shapely.get_type_id(geoms)
        empty = (kinds >= 0) & shapely.is_empty(geoms)  # POINT EMPTY, a polygon with no rings: no x to take
        if empty.any():
            geoms = geoms.copy()
            geoms[empty] = None
            kinds = np.where(empty, -1, kinds)
        if not np.isin(kinds[kinds >= 0], [0]).all():  # not all points: use a point inside
            inside = np.asarray(shapely.point_on_surface(geoms), dtype=object)
            inside[kinds < 0] = None
            geoms = inside
        x = shapely.get_x(geoms)
        y = shapely.get_y(geoms)
        have_geom = ~np.isnan(x)
        if lat_raw is not None:  # a point file with lat/lon columns: columns fill the gaps
            lat_c, miss_lat = parse_numbers(lat_raw)
            lon_c, miss_lon = parse_numbers(lon_raw)
            lat = np.where(have_geom, y, lat_c)
            lon = np.where(have_geom, x, lon_c)
            missing = ~have_geom & (miss_lat | miss_lon)
        else:
            lat, lon, missing = y, x, ~have_geom
    else:
        lat, miss_lat = parse_numbers(lat_raw)
        lon, miss_lon = parse_numbers(lon_raw)
        missing = miss_lat | miss_lon
        have_geom = np.zeros(len(frame), dtype=bool)
        empty = have_geom
        lon, lat, converted, used = from_projected(lon, lat, area, raw.coordinate_crs)
        if used is not None:  # metres (UTM or the declared CRS) -> degrees, said once for the layer
            note = "coordinates_declared_crs" if raw.coordinate_crs else "coordinates_utm_guessed"
            report.warn(None, note, crs=used, n=int(converted.sum()))

    diag = diagnose(lat, lon, missing, area)
    diag.reason[empty & (diag.reason == "missing_coordinates")] = "empty_geometry"
    bad = np.flatnonzero(~diag.ok)
    if len(bad):  # the cells as the user typed them, for the rejected rows only
        lat_txt, lon_txt = _typed(bad, have_geom, lat, lon, lat_raw, lon_raw)
        rows = frame[ROW_COLUMN].to_numpy()[bad]
        for k, i in enumerate(bad):
            params: dict[str, object] = {"lat": _fmt(lat_txt[k]), "lon": _fmt(lon_txt[k]), "area": area.name or "-"}
            suggestion = diag.suggestion[i]
            if suggestion is not None:
                s_lat, s_lon = suggestion
                params["suggestion"] = f"{s_lat:.7g}, {s_lon:.7g}"
            report.reject(int(rows[k]), str(diag.reason[i]), **params)
    out = frame.copy(deep=False)  # copy-on-write: the new columns leave raw.frame alone
    out["lat"] = lat
    out["lon"] = lon
    return out, diag.ok


def _typed(
    rows: np.ndarray,
    have_geom: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    lat_raw: pd.Series | None,
    lon_raw: pd.Series | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude text of ``rows``: the geometry's numbers, else the cells as typed."""
    from_geom = have_geom[rows]
    lat_txt = np.where(from_geom, _rounded(lat[rows]), "").astype(object)
    lon_txt = np.where(from_geom, _rounded(lon[rows]), "").astype(object)
    if lat_raw is not None and lon_raw is not None:
        typed = ~from_geom
        lat_txt[typed] = as_text(lat_raw.iloc[rows[typed]]).to_numpy()
        lon_txt[typed] = as_text(lon_raw.iloc[rows[typed]]).to_numpy()
    return lat_txt, lon_txt


def _rounded(values: np.ndarray) -> np.ndarray:
    """Degrees as text to 7 decimals; values too large to round (1e308) as they are."""
    with np.errstate(over="ignore", invalid="ignore"):
        rounded = np.round(values, 7)
    return np.where(np.isfinite(rounded), rounded, values).astype(str)


def to_points(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    """GeoDataFrame of points from ``lon``/``lat`` columns (EPSG:4326)."""
    geom = gpd.points_from_xy(frame["lon"].to_numpy(), frame["lat"].to_numpy(), crs=4326)
    data = frame.drop(columns=[c for c in ("geometry",) if c in frame.columns])
    return gpd.GeoDataFrame(pd.DataFrame(data), geometry=geom, crs=4326)


def reject_duplicates(ids: pd.Series, rows: pd.Series, ok: np.ndarray, report: LayerReport) -> np.ndarray:
    """Reject later rows whose id repeats an earlier usable row; returns new ok."""
    usable = np.flatnonzero(ok)
    keys = pd.Series(ids.to_numpy(dtype=object)[usable])  # object keys hash faster than Arrow strings
    again = keys.duplicated(keep="first").to_numpy() & (keys != "").to_numpy()
    dup = np.zeros(len(ids), dtype=bool)
    dup[usable[again]] = True
    if dup.any():
        first = pd.Series(rows.to_numpy()[ok], index=ids.to_numpy()[ok])
        first = first[~first.index.duplicated(keep="first")]
        report.reject_frame(
            rows[dup],
            "duplicate_id",
            id=[str(v) for v in ids[dup]],
            first_row=[int(first[v]) for v in ids[dup]],
        )
    return ok & ~dup


def read_points(
    path: str | Path,
    kind: str,
    *,
    area: StudyArea = INDONESIA,
    columns: ColumnMap | str | Path | None = None,
    config: Config | None = None,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Read an optional point layer (``posts``, ``candidate_sites``, ``campaign_posts``, ``venues``).

    Columns are found through the column map ``columns`` (its ``[<kind>]`` part), else
    ``[column_aliases.points]`` of ``config`` (defaults when None).

    Returns points with columns ``point_id``, ``name``, ``kind``, ``district`` (EPSG:4326)
    and the layer's report.
    """
    config = config or load_config()
    column_map = load_column_map(columns).get(kind, {})
    raw = read_layer(path, crs=column_map.pop("crs", None))
    report = start_report(kind, raw, schema="points")
    frame, ok = locate(raw, column_map, area, report, config)
    cols = [c for c in frame.columns if c not in (ROW_COLUMN, "lat", "lon", "geometry")]
    fields: dict[str, list[str]] = config.column_aliases("points")["fields"]
    picked = {f: find_column(cols, a, mapped=column_map.get(f), file=raw.name) for f, a in fields.items()}
    ids = text_column(frame, picked["id"]) if picked["id"] else frame[ROW_COLUMN].map(lambda r: f"{kind}-{r}")
    ok = reject_duplicates(ids, frame[ROW_COLUMN], ok, report)
    out = pd.DataFrame(
        {
            ROW_COLUMN: frame[ROW_COLUMN],
            "point_id": ids,
            "name": text_column(frame, picked["name"]) if picked["name"] else ids,
            "kind": text_column(frame, picked["kind"]) if picked["kind"] else kind,
            "district": text_column(frame, picked["district"]),
            "lon": frame["lon"],
            "lat": frame["lat"],
        }
    )
    points = to_points(out.loc[ok].reset_index(drop=True))
    report.used = len(points)
    report.check()
    return points, report
