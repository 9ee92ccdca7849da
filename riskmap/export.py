"""Writing results: RFC 7946 GeoJSON layers and the JSON load report.

GeoJSON is written by GDAL with ``RFC7946=YES``: longitude/latitude in
EPSG:4326, no ``crs`` member, coordinates rounded to 7 decimals (about 1 cm).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from riskmap import __version__
from riskmap._errors import RiskmapInputError
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


def _round(frame: gpd.GeoDataFrame, decimals: int = 4) -> gpd.GeoDataFrame:
    out = frame.copy()
    for col in out.columns:
        if col != out.geometry.name and pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].round(decimals)
    return out


def write_geojson(frame: gpd.GeoDataFrame, path: str | Path) -> Path:
    """Write ``frame`` as RFC 7946 GeoJSON (internal columns dropped)."""
    path = Path(path)
    out = _round(frame[public_columns(frame)])
    if out.crs is not None and not out.crs.equals("EPSG:4326"):
        out = out.to_crs(4326)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.unlink()
        pyogrio.write_dataframe(
            out,
            path,
            driver="GeoJSON",
            layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": "7", "WRITE_NAME": "NO"},
        )
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


def write_json(data: dict[str, Any], path: str | Path) -> Path:
    """Write a dict as pretty UTF-8 JSON."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=_json_default) + "\n", encoding="utf-8")
    except OSError as exc:
        raise RiskmapInputError("output_not_writable", path=str(path), detail=exc.strerror or str(exc)) from None
    return path


def run_metadata(config: Any, as_of: dt.date | None, stage: str | None = None) -> dict[str, Any]:
    """Provenance block: tool and method version, configuration hash, as-of date."""
    meta = {
        "generator": f"riskmap {__version__}",
        "method_version": config.data.get("method_version", ""),
        "config_sha256_12": config.digest(),
        "as_of": as_of.isoformat() if as_of else None,
    }
    if stage:
        meta["stage"] = stage
    return meta


def write_geoparquet(frame: gpd.GeoDataFrame, path: str | Path) -> Path:
    """Write ``frame`` as GeoParquet (zstd), internal columns dropped."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _round(frame[public_columns(frame)]).to_parquet(path, compression="zstd")
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
    written = {"villages": writer(result.villages, out_dir / f"villages{suffix}")}
    if result.tps is not None:
        written["tps"] = writer(result.tps, out_dir / f"tps{suffix}")
    report = result.report.to_dict(lang)
    report["_meta"] = run_metadata(result.config, result.as_of)
    written["report"] = write_json(report, out_dir / "report.json")
    return written
