"""Writing results: RFC 7946 GeoJSON, GeoParquet, analysts' exports and the JSON load report.

GeoJSON (:func:`geojson_chunks`): longitude/latitude in EPSG:4326, no ``crs``
member, coordinates rounded to 7 decimals (about 1 cm), exterior rings
counter-clockwise; encoded column by column with Arrow (a national TPS layer,
1.3 GB, in seconds). GeoParquet (:func:`write_geoparquet`): GeoParquet 1.0,
WKB, snappy. GeoPackage and shapefile exports go through GDAL. Spreadsheets
(:func:`table_csv_bytes`, :func:`write_xlsx`): text from input files never
becomes a formula (docs/EXPORTS.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pyogrio
import shapely

from riskmap import __version__, i18n
from riskmap._errors import RiskmapInputError
from riskmap._threads import thread_map
from riskmap.io._read import ROW_COLUMN

_INTERNAL = {
    ROW_COLUMN,
    "village_idx",
    "named_village_code",
    "named_village",
    "named_district",
    "voters_known",
    "lon",
    "lat",
}


def public_columns(frame: gpd.GeoDataFrame) -> list[str]:
    """Columns worth exporting (internal bookkeeping dropped), geometry last."""
    geom = frame.geometry.name
    return [c for c in frame.columns if c not in _INTERNAL and c != geom] + [geom]


PROPERTY_DECIMALS = 4
"""Decimals kept in float properties of GeoJSON output."""
COORDINATE_DECIMALS = 7
"""Decimals of GeoJSON coordinates (about 1 cm)."""
_CHUNK_BYTES = 50_000_000  # about this much JSON text per chunk (memory stays flat)
_CONTROL = r"[\x00-\x1f]"
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")  # not allowed in XLSX text
_XLSX_ERRORS = frozenset(("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"))


def _json_values(values: pd.Series) -> pa.Array:
    """Each cell as JSON text (Arrow strings): numbers, true/false, escaped strings, null."""
    if isinstance(values.dtype, pd.CategoricalDtype):  # encode each category once
        texts = _json_values(pd.Series(values.cat.categories.astype(str)))
        codes = values.cat.codes.to_numpy()
        out = pc.take(texts, pa.array(np.maximum(codes, 0)))
        return pc.if_else(pa.array(codes < 0), pa.scalar("null"), out)
    if pd.api.types.is_bool_dtype(values):
        known = values.notna().to_numpy()
        truth = values.fillna(False).to_numpy(dtype=bool)
        return pa.array(np.where(known, np.where(truth, "true", "false"), "null"), pa.string())
    if pd.api.types.is_float_dtype(values):
        numbers = values.to_numpy(dtype="float64", na_value=np.nan).round(PROPERTY_DECIMALS)
        finite = np.isfinite(numbers)
        text = pa.array(np.where(finite, numbers, 0.0)).cast(pa.string())
        text = pc.if_else(pc.match_substring_regex(text, r"^-?\d+$"), pc.binary_join_element_wise(text, ".0", ""), text)
        return pc.if_else(pa.array(finite), text, pa.scalar("null"))
    if pd.api.types.is_integer_dtype(values):
        known = values.notna().to_numpy()
        return pc.if_else(
            pa.array(known), pa.array(values.fillna(0).to_numpy(dtype=np.int64)).cast(pa.string()), "null"
        )
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = pa.array(values.dt.tz_localize(None) if values.dt.tz is not None else values)
        stamps = stamps.cast(pa.timestamp("s"), safe=False)  # whole seconds: no ".000000"
        text = pc.binary_join_element_wise('"', pc.strftime(stamps, format="%Y-%m-%dT%H:%M:%S"), '"', "")
        return pc.fill_null(text, "null")
    known = values.notna().to_numpy()
    if not pd.api.types.is_string_dtype(values) or pd.api.types.infer_dtype(values, skipna=True) != "string":
        cells = values.to_numpy(dtype=object)  # mixed objects: one by one
        return pa.array([_json_cell(v) if k else "null" for v, k in zip(cells, known, strict=True)], pa.string())
    text = pc.fill_null(pa.array(values, pa.string(), from_pandas=True), "")
    text = pc.replace_substring(pc.replace_substring(text, "\\", "\\\\"), '"', '\\"')
    control = pc.match_substring_regex(text, _CONTROL).to_numpy(zero_copy_only=False)
    if control.any():  # newlines, tabs and the like: let json escape those cells
        fixed = text.to_numpy(zero_copy_only=False).astype(object)
        fixed[control] = [json.dumps(str(v), ensure_ascii=False)[1:-1] for v in values.to_numpy(dtype=object)[control]]
        text = pa.array(fixed, pa.string())
    text = pc.binary_join_element_wise('"', text, '"', "")
    return pc.if_else(pa.array(known), text, pa.scalar("null"))


def _json_cell(value: Any) -> str:
    """One cell of a mixed column as JSON (non-finite numbers as null, other objects as text)."""
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return "null"
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, default=_json_default)
    except ValueError:  # a NaN or infinity inside a list or dict
        return json.dumps(str(value), ensure_ascii=False)


_LONG_NUMBER_RE2 = r"\.\d{8}|\d[eE]"  # (Arrow regex) a number printed with 8+ decimals or an exponent
_LONG_DECIMALS = re.compile(r"\.(\d{8,})")
_LONG_NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d{8,}|(?:\.\d+)?[eE][-+]?\d+)")


def _round_decimals(match: re.Match[str]) -> str:
    """``.43681050000001`` -> ``.4368105``, ``.13275699999999999`` -> ``.132757`` (to 7 decimals).

    The number was rounded to 7 decimals before GEOS printed it, so rounding
    its text at the 8th decimal gives those 7 back; a carry past the decimal
    point cannot happen (that number would be a whole one, which GEOS prints
    short) and is left to :func:`_short_number`.
    """
    digits = match.group(1)
    k = int(digits[:COORDINATE_DECIMALS]) + (digits[COORDINATE_DECIMALS] >= "5")
    if k >= 10**COORDINATE_DECIMALS:
        return match.group(0)
    return "." + (f"{k:0{COORDINATE_DECIMALS}d}".rstrip("0") or "0")


def _short_number(match: re.Match[str]) -> str:
    """A coordinate GEOS printed with 17 digits or an exponent (``1e-07``), as at most 7 plain decimals."""
    text = f"{round(float(match.group()), COORDINATE_DECIMALS):.{COORDINATE_DECIMALS}f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _shorten(geometry: str) -> str:
    """Geometry JSON with every number written with at most 7 plain decimals."""
    fixed = _LONG_DECIMALS.sub(_round_decimals, geometry)
    if "e-" in fixed or "e+" in fixed or _LONG_DECIMALS.search(fixed):  # exponents (rare): number by number
        fixed = _LONG_NUMBER.sub(_short_number, fixed)
    return fixed


def _geometries(geoms: np.ndarray) -> pa.Array:
    """RFC 7946 geometry JSON: counter-clockwise exterior rings, coordinates of at most 7 decimals.

    Coordinates are rounded first; GEOS then still prints about 0.1-0.5 % of
    them with 17 significant digits (``118.43681050000001``) or an exponent
    (``1e-07``). Only the geometries holding such a number (found with one
    Arrow regex) are rewritten (:func:`_shorten`).
    """
    geoms = shapely.orient_polygons(geoms)
    geoms = shapely.transform(geoms, lambda xy: np.round(xy, COORDINATE_DECIMALS))
    text = pa.array(shapely.to_geojson(geoms), pa.string())
    long = pc.fill_null(pc.match_substring_regex(text, _LONG_NUMBER_RE2), False)
    if pc.any(long).as_py():
        fixed = pa.array([_shorten(g) for g in pc.filter(text, long).to_pylist()], pa.string())
        text = pc.replace_with_mask(text, long, fixed)
    return pc.fill_null(text, "null")


def geojson_chunks(frame: gpd.GeoDataFrame, meta: dict[str, Any] | None = None) -> Iterator[str]:
    """RFC 7946 GeoJSON text of ``frame`` in pieces (internal columns dropped).

    Longitude/latitude in EPSG:4326, no ``crs`` member, coordinates rounded to
    :data:`COORDINATE_DECIMALS`, exterior rings counter-clockwise, float
    properties rounded to :data:`PROPERTY_DECIMALS`. ``meta`` becomes a
    top-level ``riskmap`` member. Encoded column by column with Arrow, so a
    national layer takes seconds, not minutes.
    """
    frame = frame[public_columns(frame)]
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs(4326)
    head: dict[str, Any] = {"type": "FeatureCollection"}
    if meta:
        head["riskmap"] = meta
    yield json.dumps(head, ensure_ascii=False, default=_json_default)[:-1] + ', "features": [\n'
    columns = [c for c in frame.columns if c != frame.geometry.name]
    keys = [json.dumps(str(c), ensure_ascii=False) + ": " for c in columns]
    vertices = shapely.get_num_coordinates(np.asarray(frame.geometry.values)).mean() if len(frame) else 1.0
    rows = int(np.clip(_CHUNK_BYTES / (40 * max(vertices, 1.0) + 40 * len(columns)), 1_000, 50_000))
    for start in range(0, len(frame), rows):
        part = frame.iloc[start : start + rows]
        props: list[Any] = []
        for i, (key, col) in enumerate(zip(keys, columns, strict=True)):
            props += [(", " if i else "") + key, _json_values(part[col])]
        geom = _geometries(np.asarray(part.geometry.values))
        parts = ['{ "type": "Feature", "properties": { ', *props, ' }, "geometry": ', geom, " }"]
        features = pc.binary_join_element_wise(*parts, "")
        yield ("," if start else "") + ",\n".join(features.to_pylist()) + "\n"
    yield "]\n}\n"


def geojson_bytes(frame: gpd.GeoDataFrame, meta: dict[str, Any] | None = None) -> bytes:
    """:func:`geojson_chunks` as UTF-8 bytes (for downloads)."""
    return "".join(geojson_chunks(frame, meta)).encode("utf-8")


def write_geojson(frame: gpd.GeoDataFrame, path: str | Path, meta: dict[str, Any] | None = None) -> Path:
    """Write ``frame`` as RFC 7946 GeoJSON (see :func:`geojson_chunks`)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="\n") as fh:
            for chunk in geojson_chunks(frame, meta):
                fh.write(chunk)
    except OSError as exc:
        raise RiskmapInputError("output_not_writable", path=str(path), detail=exc.strerror or str(exc)) from None
    return path


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (dt.date, pd.Timestamp)):
        return value.isoformat()
    return str(value)


def write_bytes(data: bytes, path: str | Path) -> Path:
    """Write ``data`` to ``path`` (folders created); a clear error when it cannot be written."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as exc:
        raise RiskmapInputError("output_not_writable", path=str(path), detail=exc.strerror or str(exc)) from None
    return path


def write_json(data: dict[str, Any], path: str | Path) -> Path:
    """Write a dict as pretty UTF-8 JSON."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=_json_default) + "\n"
    return write_bytes(text.encode("utf-8"), path)


def run_metadata(
    config: Any,
    as_of: dt.date | None,
    stage: str | None = None,
    method: str | None = None,
    whatif: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Provenance block: tool and method version, configuration hash, as-of date, scoring method used.

    With what-if changes (``whatif``, :attr:`riskmap.pipeline.Result.whatif`), ``simulation`` is true and
    ``whatif`` lists them: the scores are not those of the configuration as given.
    """
    meta = {
        "generator": f"riskmap {__version__}",
        "method_version": config.data.get("method_version", ""),
        "config_sha256_12": config.digest(),
        "as_of": as_of.isoformat() if as_of else None,
    }
    if method:
        meta["scoring_method"] = method
    if stage:
        meta["stage"] = stage
    if whatif:
        meta["simulation"] = True
        meta["whatif"] = json.dumps(whatif, sort_keys=True, ensure_ascii=False)
    return meta


_GEOMETRY_TYPES = {
    0: "Point",
    1: "LineString",
    2: "LineString",  # a LinearRing is written as a LineString
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}
"""Shapely type ids to GeoParquet ``geometry_types`` names."""


def wkb_array(geoms: np.ndarray) -> pa.Array:
    """ISO WKB of shapely geometries as one Arrow binary array (None -> null).

    Equal to ``pa.array(shapely.to_wkb(geoms, flavor="iso"))``, built from one
    preallocated buffer: for national polygons this is about 0.1 s instead of
    about 1 s of buffer regrowth. 2D points are packed directly with numpy.
    """
    n = len(geoms)
    valid = ~shapely.is_missing(geoms)
    types = shapely.get_type_id(geoms)
    if n and valid.all() and (types == 0).all() and not shapely.has_z(geoms).any():
        x, y = shapely.get_x(geoms), shapely.get_y(geoms)
        rec = np.empty(n, dtype=[("order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])
        rec["order"], rec["type"], rec["x"], rec["y"] = 1, 1, x, y
        offsets = np.arange(n + 1, dtype=np.int64) * rec.itemsize
        data, mask = rec.tobytes(), None
    else:
        blobs = shapely.to_wkb(geoms, flavor="iso")
        blobs[~valid] = b""
        lengths = np.fromiter(map(len, blobs), dtype=np.int64, count=n)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        data = b"".join(blobs)
        mask = None if valid.all() else pa.array(valid).buffers()[1]  # validity bitmap: 1 = present
    big = offsets[-1] >= 2**31
    kind, packed = (pa.large_binary(), offsets) if big else (pa.binary(), offsets.astype(np.int32))
    null_count = int((~valid).sum())
    return pa.Array.from_buffers(kind, n, [mask, pa.py_buffer(packed), pa.py_buffer(data)], null_count=null_count)


def write_geoparquet(frame: gpd.GeoDataFrame, path: str | Path, meta: dict[str, Any] | None = None) -> Path:
    """Write ``frame`` as GeoParquet 1.0 (WKB, snappy), internal columns dropped.

    Written with pyarrow: geometry as one ISO WKB column (see
    :func:`wkb_array`) and the GeoParquet ``geo`` metadata (encoding,
    geometry types, PROJJSON CRS, bbox). Snappy is GDAL's and geopandas'
    default and writes national data about twice as fast as zstd, for files
    about 15 % larger. ``meta`` goes into the file's metadata under the key
    ``riskmap`` (JSON).
    """
    path = Path(path)
    geom_name = frame.geometry.name
    columns = [c for c in public_columns(frame) if c != geom_name]
    geoms = np.asarray(frame.geometry.values)
    # column by column from the frame: no copy of the whole frame
    table = pa.Table.from_pandas(frame, columns=columns, preserve_index=False)
    table = table.append_column(geom_name, wkb_array(geoms))
    present = shapely.get_type_id(geoms[~shapely.is_missing(geoms)])
    z = " Z" if len(geoms) and shapely.has_z(geoms).any() else ""
    column: dict[str, Any] = {
        "encoding": "WKB",
        "geometry_types": sorted({_GEOMETRY_TYPES[int(t)] + z for t in np.unique(present)}),
    }
    if frame.crs is not None:
        column["crs"] = frame.crs.to_json_dict()
    if len(present):
        column["bbox"] = [float(v) for v in frame.geometry.total_bounds]
    geo = {"version": "1.0.0", "primary_column": geom_name, "columns": {geom_name: column}}
    extra = {b"geo": json.dumps(geo).encode()}
    if meta:
        extra[b"riskmap"] = json.dumps(meta, ensure_ascii=False, default=_json_default).encode("utf-8")
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **extra})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path, compression="snappy")
    except OSError as exc:
        raise RiskmapInputError("output_not_writable", path=str(path), detail=exc.strerror or str(exc)) from None
    return path


_WRITERS = {"geojson": (write_geojson, ".geojson"), "parquet": (write_geoparquet, ".parquet")}


def write_score_outputs(result: Any, out_dir: str | Path, *, lang: str = "id", fmt: str = "geojson") -> dict[str, Path]:
    """Write ``villages.geojson``, ``tps.geojson`` and ``report.json`` into ``out_dir``.

    Parameters
    ----------
    result
        A :class:`riskmap.pipeline.Result`.
    out_dir
        Output folder (created if needed).
    lang
        Language of the report's messages.
    fmt
        ``geojson`` (RFC 7946, default) or ``parquet`` (GeoParquet: much
        faster for national data).
    """
    out_dir = Path(out_dir)
    writer, suffix = _WRITERS[fmt]
    layers = {"villages": result.villages, "tps": result.tps}
    names = [name for name, frame in layers.items() if frame is not None]
    # the encoders release the GIL: the two files are written side by side
    paths = thread_map(lambda name: writer(layers[name], out_dir / f"{name}{suffix}"), names)
    written = dict(zip(names, paths, strict=True))
    report = result.report.to_dict(lang)
    report["_meta"] = run_metadata(result.config, result.as_of, method=result.method, whatif=result.whatif)
    written["report"] = write_json(report, out_dir / "report.json")
    return written


# -- spreadsheets: CSV and XLSX -----------------------------------------------------

_FORMULA_START = r"^\s*[=+\-@\t\r\n\uff1d\uff0b\uff0d\uff20\ufe62\ufe63\ufe66\ufe6b\u2212]"
"""A text cell a spreadsheet may run as a formula (OWASP "CSV Injection"): ``= + - @``, tab, CR, LF,
their full-width and small forms and the minus sign U+2212, after any leading spaces."""
_PLAIN_NUMBER = r"^\s*[-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?\s*$"
"""Text that is only a number (``-10.17``, ``+62812``): a spreadsheet reads it as a number, never runs it."""
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_MAX_ROWS = 1_048_576
"""Rows per Excel worksheet, the header row included."""
XLSX_MAX_CHARS = 32_767
"""Characters per Excel cell; longer cells are left empty (and counted on the ``Keterangan`` sheet)."""
_XLSX_MAX_WIDTH = 50  # characters: the widest column on screen
_XLSX_WIDTH_SAMPLE = 2_000  # rows looked at to size the columns


def _risky(text: pd.Series) -> np.ndarray:
    """Which cells of a text Series (no missing values) could start a formula."""
    risky = text.str.contains(_FORMULA_START, regex=True).to_numpy(dtype=bool).copy()
    if risky.any():
        risky[risky] = ~text[risky].str.match(_PLAIN_NUMBER).to_numpy(dtype=bool)
    return risky


def _neutralise(values: pd.Series) -> pd.Series:
    """``values`` with every text cell that could start a formula prefixed with ``'`` (other cells untouched)."""
    if isinstance(values.dtype, pd.CategoricalDtype):  # each category once
        names = pd.Series(list(values.cat.categories), dtype=object)
        is_text = np.fromiter((isinstance(v, str) for v in names), dtype=bool, count=len(names))
        risky = np.zeros(len(names), dtype=bool)
        risky[is_text] = _risky(names[is_text].astype(str))
        if not risky.any():
            return values
        names[risky] = "'" + names[risky]
        if names.is_unique:
            return values.cat.rename_categories(list(names))
        values = values.astype(object)
    elif not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
        return values  # numbers, booleans, dates: never formulas
    if pd.api.types.is_string_dtype(values) and not pd.api.types.is_object_dtype(values):
        known = values.notna().to_numpy()
        risky = np.zeros(len(values), dtype=bool)
        risky[known] = _risky(values[known])
        if not risky.any():
            return values
        out = values.astype(object).to_numpy(na_value=None).copy()
    else:
        out = values.to_numpy(dtype=object, na_value=None).copy()
        is_text = np.fromiter((isinstance(v, str) for v in out), dtype=bool, count=len(out))
        risky = np.zeros(len(out), dtype=bool)
        risky[is_text] = _risky(pd.Series(out[is_text], dtype=object).astype(str))
        if not risky.any():
            return values
    out[risky] = ["'" + v for v in out[risky]]
    return pd.Series(out, index=values.index, name=values.name, dtype=object)


def safe_text_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` a spreadsheet cannot run as formulas.

    Text cells and column names that could start a formula get a leading
    ``'`` (OWASP "CSV Injection"); numbers, booleans and dates are unchanged.
    Text that is only a number (``"-10.17"``) is left as it is: a spreadsheet reads it as a number.
    """
    out = pd.DataFrame({k: _neutralise(frame.iloc[:, k]) for k in range(frame.shape[1])}, index=frame.index)
    names = _neutralise(pd.Series(list(frame.columns), dtype=object))
    out.columns = [str(c) for c in names]
    return out


def plain_table(frame: pd.DataFrame, *, polygons: str = "point") -> pd.DataFrame:
    """A layer as a plain table: internal columns dropped, geometry as ``lon``/``lat`` (EPSG:4326, degrees).

    Polygons get the ``lon``/``lat`` of a point inside them, or with ``polygons="wkt"`` their WKT
    (7 decimals) in a ``wkt`` column. A frame without geometry is returned as it is.
    """
    if not isinstance(frame, gpd.GeoDataFrame):
        return pd.DataFrame(frame)
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs(4326)
    geom = frame.geometry
    out = pd.DataFrame(frame[[c for c in public_columns(frame) if c != geom.name]])
    points = geom.geom_type.isin(["Point", None]) | geom.isna()
    if polygons == "wkt" and not points.all():
        out["wkt"] = shapely.to_wkt(geom.values, rounding_precision=COORDINATE_DECIMALS)
        return out
    pts = geom if points.all() else geom.representative_point()
    out["lon"] = pts.x.round(COORDINATE_DECIMALS)
    out["lat"] = pts.y.round(COORDINATE_DECIMALS)
    return out


def table_csv_bytes(frame: pd.DataFrame) -> bytes:
    """A table as CSV for Excel: UTF-8 with a byte-order mark, text cells quoted and never formulas.

    Every CSV riskmap writes goes through here (see :func:`safe_text_cells`).
    """
    text = safe_text_cells(frame).to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    return ("\ufeff" + text).encode("utf-8")


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as CSV for Excel (:func:`table_csv_bytes`); a clear error when it cannot be written."""
    return write_bytes(table_csv_bytes(frame), path)


def _xlsx_column(values: pd.Series) -> tuple[list[Any], int]:
    """Cells of one column for openpyxl (None for missing) and the count of text cells too long to write."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    if pd.api.types.is_bool_dtype(values):
        return [None if v is None else bool(v) for v in values.to_numpy(dtype=object, na_value=None)], 0
    if pd.api.types.is_float_dtype(values) or pd.api.types.is_integer_dtype(values):
        numbers = values.to_numpy(dtype="float64", na_value=np.nan)
        cells = values.to_numpy(dtype=object, na_value=None).copy()
        cells[~np.isfinite(numbers)] = None  # NaN and infinity: an empty cell (Excel cannot store them)
        return cells.tolist(), 0
    if pd.api.types.is_datetime64_any_dtype(values):
        if values.dt.tz is not None:
            values = values.dt.tz_localize(None)
        return [None if pd.isna(v) else v.to_pydatetime() for v in values], 0
    cells = values.to_numpy(dtype=object, na_value=None)
    out: list[Any] = []
    too_long = 0
    for v in cells:
        if v is None or isinstance(v, bool | int | float | np.bool_ | np.integer | np.floating):
            out.append(None if isinstance(v, float | np.floating) and not np.isfinite(v) else v)
            continue
        if isinstance(v, dt.datetime | dt.date):
            out.append(v.replace(tzinfo=None) if isinstance(v, dt.datetime) else v)  # Excel has no time zones
            continue
        text = _XLSX_ILLEGAL.sub("\ufffd", v if isinstance(v, str) else str(v))
        if len(text) > XLSX_MAX_CHARS:
            too_long += 1
            out.append(None)
            continue
        out.append(text)
    return out, too_long


def _xlsx_guesses(value: Any) -> bool:
    """True for text openpyxl would store as a formula (``=...``) or an error value (``#N/A``)."""
    return isinstance(value, str) and (value[:1] == "=" or value in _XLSX_ERRORS)


def check_xlsx_rows(sheets: dict[str, pd.DataFrame]) -> None:
    """Raise a clear error when a table has more rows than an Excel worksheet holds."""
    for name, frame in sheets.items():
        if len(frame) >= XLSX_MAX_ROWS:
            raise RiskmapInputError(
                "xlsx_too_many_rows", sheet=name, rows=f"{len(frame):,}", limit=f"{XLSX_MAX_ROWS - 1:,}"
            )


def _xlsx_width(name: str, cells: list[Any]) -> float:
    sample = [len(str(v)) for v in cells[:_XLSX_WIDTH_SAMPLE] if v is not None]
    return float(min(max([len(name), *sample]) + 2, _XLSX_MAX_WIDTH))


def write_xlsx(
    sheets: dict[str, pd.DataFrame],
    target: str | Path | io.BytesIO,
    *,
    meta: dict[str, Any] | None = None,
    lang: str = "id",
    legend: dict[str, str] | None = None,
) -> None:
    """Write tables as an Excel workbook: one worksheet per table, then a ``Keterangan`` sheet.

    Header row frozen, columns sized to their contents, numbers as numbers,
    text as text and never a formula (every text cell is typed as a string,
    characters XLSX cannot hold become U+FFFD, cells over
    :data:`XLSX_MAX_CHARS` are left empty and counted). The ``Keterangan``
    (README) sheet lists ``meta`` (the run's provenance, :func:`run_metadata`),
    the rows per sheet, those notes and ``legend`` (code -> meaning in ``lang``, e.g. the hot-spot classes).
    Written with openpyxl in write-only mode.

    Raises
    ------
    RiskmapInputError
        ``xlsx_too_many_rows`` when a table does not fit in a worksheet.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    check_xlsx_rows(sheets)
    book = Workbook(write_only=True)
    bold = Font(bold=True)
    notes: list[tuple[str, Any]] = []

    def text_cell(sheet: Any, value: str, font: Font | None = None) -> Any:
        cell = WriteOnlyCell(sheet, value=None)
        cell.value, cell.data_type = value, "s"  # a string, even when it starts with "="
        if font is not None:
            cell.font = font
        return cell

    for name, frame in sheets.items():
        sheet = book.create_sheet(_sheet_title(name))
        sheet.freeze_panes = "A2"
        names = [_XLSX_ILLEGAL.sub("\ufffd", str(c))[:XLSX_MAX_CHARS] for c in frame.columns]
        columns = []
        for k, col_name in enumerate(names):
            cells, too_long = _xlsx_column(frame.iloc[:, k])
            columns.append(cells)
            if too_long:
                notes.append((i18n.t("xlsx_note_too_long", lang, sheet=name, column=col_name), too_long))
        for k, (col_name, cells) in enumerate(zip(names, columns, strict=True), start=1):
            sheet.column_dimensions[get_column_letter(k)].width = _xlsx_width(col_name, cells)
        sheet.append([text_cell(sheet, n, bold) for n in names])
        typed = [k for k, cells in enumerate(columns) if any(map(_xlsx_guesses, cells))]
        for values in zip(*columns, strict=True) if columns else ():
            row = list(values)
            for k in typed:  # text openpyxl would write as a formula or an error value: typed as a string
                if _xlsx_guesses(row[k]):
                    row[k] = text_cell(sheet, row[k])
            sheet.append(row)
    readme = book.create_sheet(_sheet_title(i18n.t("xlsx_readme_sheet", lang)))
    readme.freeze_panes = "A2"
    readme.column_dimensions["A"].width = 30
    readme.column_dimensions["B"].width = 60
    readme.append(
        [
            text_cell(readme, i18n.t("xlsx_readme_key", lang), bold),
            text_cell(readme, i18n.t("xlsx_readme_value", lang), bold),
        ]
    )
    readme.append([text_cell(readme, i18n.t("xlsx_readme_text", lang)), None])
    for key, value in (meta or {}).items():
        plain = value is None or (isinstance(value, int | float) and not isinstance(value, bool))
        shown = value if plain else _json_default(value)
        readme.append([text_cell(readme, str(key)), text_cell(readme, shown) if isinstance(shown, str) else shown])
    for name, frame in sheets.items():
        readme.append([text_cell(readme, i18n.t("xlsx_readme_rows", lang, sheet=name)), len(frame)])
    for text, count in notes:
        readme.append([text_cell(readme, text), count])
    for code, meaning in (legend or {}).items():
        readme.append([text_cell(readme, code), text_cell(readme, meaning)])
    try:
        if isinstance(target, str | Path):
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        book.save(target)
    except OSError as exc:
        raise RiskmapInputError("output_not_writable", path=str(target), detail=exc.strerror or str(exc)) from None


def xlsx_bytes(sheets: dict[str, pd.DataFrame], *, meta: dict[str, Any] | None = None, lang: str = "id") -> bytes:
    """:func:`write_xlsx` into memory (for downloads)."""
    buf = io.BytesIO()
    write_xlsx(sheets, buf, meta=meta, lang=lang)
    return buf.getvalue()


def _sheet_title(name: str) -> str:
    """A valid worksheet title: at most 31 characters, none of the characters Excel forbids in titles."""
    return re.sub(r"[\[\]:*?/\\]", "_", name)[:31] or "sheet"


# -- analysts' exports ---------------------------------------------------------------

EXPORT_FORMATS = ("geojson", "gpkg", "csv", "xlsx", "shp", "parquet")
EXPORT_LAYERS = ("villages", "tps", "incidents")

_SHP_BASE = {
    "village_code": "kode",
    "village_name": "nama",
    "district": "kecamatan",
    "district_code": "kode_kec",
    "regency": "kab_kota",
    "province": "provinsi",
    "area_km2": "luas_km2",
    "voters": "dpt",
    "n_tps": "n_tps",
    "n_incidents": "n_insiden",
    "n_nearby": "n_dekat",
    "tps_id": "tps_id",
    "kpu_code": "kode_kpu",
    "tps_number": "no_tps",
    "address": "alamat",
    "village_name_tps": "kelurahan",
    "incident_id": "id",
    "date": "date",
    "type": "type",
    "severity": "severity",
    "precision": "precision",
    "description": "keterangan",
    "source": "source",
}
_SHP_FACTOR = {
    "incidents": "inc",
    "spillover": "spl",
    "indicators": "ind",
    "exposure": "exp",
    "nearby_incidents": "nby",
    "village": "vil",
    "near_repeat": "nr",
    "background": "bg",
}
_SHP_PREFIX = {
    "risk": "r",
    "level": "l",
    "top_factor": "t",
    "rate": "rt",
    "spillover": "sp",
    "incidents": "in",
    "indicators": "id",
    "nearby": "nb",
    "w": "w",
    "hotspot": "hs",
    "hotspot_z": "hz",
    "p_incident": "p",
    "expected": "ex",
}


def layer_frames(result: Any, stage: str | None = None) -> dict[str, gpd.GeoDataFrame]:
    """The exportable layers, internal columns dropped; only ``stage``'s columns when given.

    ``incidents`` carries each incident's weight per stage (``w_<stage>``).
    """
    stages = result.config.stages
    frames: dict[str, gpd.GeoDataFrame] = {"villages": result.villages}
    if result.tps is not None:
        frames["tps"] = result.tps
    inc = result.layers.incidents
    if inc is not None:
        weights = result.model.incident_weights_.add_prefix("w_")
        frames["incidents"] = inc.join(weights, how="left")
    out = {}
    for name, frame in frames.items():
        cols = public_columns(frame)
        if stage is not None:
            others = [s for s in stages if s != stage]
            cols = [c for c in cols if not any(c.endswith(f"_{s}") or f"_{s}_" in c for s in others)]
        if name == "incidents":
            cols = [c for c in cols if c not in ("village_code", "district_code")] + ["village_code", "district_code"]
            cols.remove(frame.geometry.name)
            cols.append(frame.geometry.name)
        out[name] = gpd.GeoDataFrame(frame[cols], geometry=frame.geometry.name, crs=frame.crs)
    return out


def _in_area(frames: dict[str, gpd.GeoDataFrame], result: Any, area: str) -> dict[str, gpd.GeoDataFrame]:
    """The rows of ``frames`` inside one kecamatan or kab/kota: villages, their TPS, their kecamatan's incidents."""
    from riskmap.view import area_filter, make_view

    flt, _ = area_filter(result.villages, area)
    villages = make_view(result, result.config.stages[0], flt).villages
    codes, districts = set(villages["village_code"]), set(villages["district_code"])
    out = dict(frames)
    out["villages"] = frames["villages"][frames["villages"]["village_code"].isin(codes)]
    if "tps" in frames:
        out["tps"] = frames["tps"][frames["tps"]["village_code"].isin(codes)]
    if "incidents" in frames:
        out["incidents"] = frames["incidents"][frames["incidents"]["district_code"].isin(districts)]
    return out


def hotspot_legend(frames: dict[str, pd.DataFrame], lang: str = "id") -> dict[str, str]:
    """Hot-spot class code -> its label in ``lang`` when a frame has ``hotspot_<stage>`` columns, else empty."""
    from riskmap.hotspots import CLASSES

    if not any(c.startswith("hotspot_") for f in frames.values() for c in f.columns):
        return {}
    return {code: i18n.t(f"hotspot_{code}", lang) for code in CLASSES[::-1]}


def shp_field_names(columns: list[str], stages: list[str]) -> dict[str, str]:
    """Column -> shapefile field name (at most 10 characters, unique)."""
    mapping: dict[str, str] = {}
    for col in columns:
        name = _SHP_BASE.get(col)
        if name is None and col.startswith("ind_"):
            name = col[4:]
        if name is None and col.startswith("contrib_"):
            stage, _, factor = col[len("contrib_") :].partition("_")
            name = f"c{stage[:2]}_{_SHP_FACTOR.get(factor, factor[:3])}"
        if name is None:
            for stage in stages:
                suffix = f"_{stage}"
                if col.endswith(suffix):
                    prefix = col[: -len(suffix)]
                    name = f"{_SHP_PREFIX.get(prefix, prefix[:2])}_{stage[:7]}"
                    break
        name = (name or col)[:10]
        base, k = name, 1
        while name in mapping.values():
            name = f"{base[:8]}{k:02d}"
            k += 1
        mapping[col] = name
    return mapping


def _short_indicator(ind: str, config: Any) -> str:
    """The shortest alias (<= 10 chars) of a Bawaslu indicator, so shapefiles read back."""
    names = [ind, *config.indicators.get(ind, {}).get("aliases", [])]
    short = [n for n in names if len(n) <= 10]
    return min(short, key=len) if short else ind[:10]


def export_layers(
    result: Any,
    out: str | Path,
    *,
    layer: str = "all",
    fmt: str = "geojson",
    stage: str | None = None,
    lang: str = "id",
    area: str | None = None,
) -> list[Path]:
    """Write layers for analysts.

    Parameters
    ----------
    result
        A scored :class:`riskmap.pipeline.Result`.
    out
        A file for one layer, or a folder (GeoJSON, CSV, shapefile) / a
        ``.gpkg`` file (GeoPackage, all layers in one file) for ``all``.
    layer
        ``villages``, ``tps``, ``incidents`` or ``all``.
    fmt
        ``geojson`` (RFC 7946 with a ``riskmap`` metadata member: generated at,
        stage, method version, configuration hash), ``gpkg`` (layers plus a
        ``riskmap_metadata`` table), ``csv`` (polygons as WKT in ``wkt``, points
        as ``lon``/``lat``; UTF-8 with BOM for Excel, text never a formula:
        :func:`table_csv_bytes`), ``xlsx`` (one Excel workbook, a sheet per
        layer with ``lon``/``lat`` and a ``Keterangan`` sheet: :func:`write_xlsx`), ``shp`` (a zipped
        shapefile per layer, field names of at most 10 characters, the mapping in
        ``FIELDS.csv`` inside the zip; docs/EXPORTS.md) or ``parquet``
        (GeoParquet 1.0 per layer, the metadata under the key ``riskmap``).
    stage
        Keep only this stage's score columns.
    lang
        Language of the XLSX ``Keterangan`` sheet.
    area
        Only this kecamatan or kab/kota (name or Kemendagri code, :func:`riskmap.view.area_filter`); None = all.
    """
    if fmt not in EXPORT_FORMATS:
        raise RiskmapInputError("export_format", fmt=fmt, formats=", ".join(EXPORT_FORMATS))
    frames = layer_frames(result, stage)
    if area:
        frames = _in_area(frames, result, area)
    names = list(frames) if layer == "all" else [layer]
    missing = [n for n in names if n not in frames]
    if missing:
        raise RiskmapInputError("export_no_layer", layer=missing[0])
    out = Path(out)
    meta = run_metadata(result.config, result.as_of, stage, method=result.method, whatif=result.whatif)
    meta["generated_at"] = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    ext = {
        "geojson": ".geojson",
        "csv": ".csv",
        "xlsx": ".xlsx",
        "shp": ".zip",
        "gpkg": ".gpkg",
        "parquet": ".parquet",
    }[fmt]

    def target(name: str) -> Path:
        if len(names) == 1 and out.suffix.lower() == ext:
            return out
        return out / f"{name}{ext}"

    written: list[Path] = []
    try:
        if fmt == "gpkg":
            path = out if out.suffix.lower() == ".gpkg" else out / "riskmap.gpkg"
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists():
                path.unlink()
            for name in names:
                frame = frames[name].copy()
                for col in frame.columns:
                    if isinstance(frame[col].dtype, pd.CategoricalDtype):
                        frame[col] = frame[col].astype(str)
                pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG")
            meta_frame = pd.DataFrame({"key": list(meta), "value": [str(v) for v in meta.values()]})
            pyogrio.write_dataframe(meta_frame, path, layer="riskmap_metadata", driver="GPKG")
            return [path]
        if fmt == "xlsx":
            path = out if out.suffix.lower() == ".xlsx" else out / "riskmap.xlsx"
            sheets = {name: plain_table(frames[name]) for name in names}
            write_xlsx(sheets, path, meta=meta, lang=lang, legend=hotspot_legend(sheets, lang))
            return [path]
        for name in names:
            frame = frames[name]
            path = target(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            if fmt == "geojson":
                write_geojson(frame, path, meta={**meta, "layer": name})
            elif fmt == "parquet":
                write_geoparquet(frame, path, meta={**meta, "layer": name})
            elif fmt == "csv":
                write_csv(plain_table(frame, polygons="wkt"), path)
            else:
                _write_shapefile_zip(frame, path, result.config, name)
            written.append(path)
    except OSError as exc:
        raise RiskmapInputError("output_not_writable", path=str(out), detail=exc.strerror or str(exc)) from None
    return written


def _write_shapefile_zip(frame: gpd.GeoDataFrame, path: Path, config: Any, name: str) -> None:
    cols = [c for c in frame.columns if c != frame.geometry.name]
    mapping = shp_field_names(cols, config.stages)
    for col in cols:
        if col.startswith("ind_"):
            mapping[col] = _short_indicator(col[4:], config)
    table = pd.DataFrame({mapping[c]: frame[c] for c in cols})
    for col in table.columns:
        if isinstance(table[col].dtype, pd.CategoricalDtype) or pd.api.types.is_datetime64_any_dtype(table[col]):
            table[col] = table[col].astype(str)
        elif pd.api.types.is_bool_dtype(table[col]):
            table[col] = table[col].map({True: "ya", False: "tidak"})
    shp = gpd.GeoDataFrame(table, geometry=frame.geometry.values, crs=frame.crs)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / name
        shp.to_file(base.with_suffix(".shp"), driver="ESRI Shapefile", engine="pyogrio", encoding="UTF-8")
        fields = pd.DataFrame({"field": [mapping[c] for c in cols], "column": cols})
        (Path(tmp) / "FIELDS.csv").write_bytes(table_csv_bytes(fields))
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for part in sorted(Path(tmp).iterdir()):
                zf.write(part, part.name)
