"""Polling stations (TPS) from CSV, XLSX or any point vector file.

Coordinates come from any common column names (see :mod:`riskmap.io.points`),
as numbers or text, with decimal points or commas. Recognised when present:
a KPU 13-digit TPS code (10-digit village code + 3-digit TPS number), the TPS
number, the kelurahan/desa and kecamatan the record names, an address, the
voter count (DPT), and Bawaslu TPS-rawan indicator columns (yes/no flags; the
list and their aliases are in the configuration).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap.config import Config, load_config
from riskmap.io._columns import (
    ColumnMap,
    as_text,
    find_column,
    load_column_map,
    map_unique,
    norm,
    text_column,
    to_numbers,
)
from riskmap.io._coords import INDONESIA, StudyArea
from riskmap.io._read import ROW_COLUMN, read_layer, start_report
from riskmap.io.points import locate, reject_duplicates, to_points
from riskmap.io.report import LayerReport
from riskmap.io.villages import normalise_code

TPS_COLUMNS = [
    "tps_id",
    "kpu_code",
    "tps_number",
    "named_village_code",
    "named_village",
    "named_district",
    "address",
    "voters",
    "voters_known",
]
"""Canonical TPS columns (besides indicator flags ``ind_<id>``, lon, lat, geometry)."""

_KPU = re.compile(r"^\d{13}$")
_SCIENTIFIC = r"[-+]?\d+(?:[.,]\d+)?[eE][+-]?\d+"  # how Excel shows a long number it has rounded


def _kpu_column(frame: pd.DataFrame, columns: list[str]) -> str | None:
    """The column holding KPU 13-digit TPS codes, judged on its first 2,000 cells."""
    for col in columns:
        text = as_text(frame[col].head(2000))
        text = text[text != ""]
        if len(text) and text.str.match(_KPU.pattern).mean() >= 0.8:
            return col
    return None


def _counts(
    frame: pd.DataFrame, col: str, text: Callable[[str], pd.Series], ok: np.ndarray, report: LayerReport
) -> pd.Series:
    """A column of counts as float64 (NaN where unreadable or not finite, with a warning for usable rows)."""
    column = frame[col]
    if pd.api.types.is_numeric_dtype(column):  # a numeric column: nothing to read as text, but inf is no count
        counts = to_numbers(column)
        bad = ok & counts.isna().to_numpy() & column.notna().to_numpy()
        report.warn_frame(frame.loc[bad, ROW_COLUMN], "unparseable_voters", value=list(as_text(column[bad])))
        return counts
    raw = text(col)
    counts = to_numbers(raw.str.replace(r"[.,]0+$", "", regex=True))
    bad = ok & counts.isna().to_numpy() & (raw != "").to_numpy()
    report.warn_frame(frame.loc[bad, ROW_COLUMN], "unparseable_voters", value=[_fmt_cell(v) for v in raw[bad]])
    return counts


def _fmt_cell(text: str) -> str:
    """A cell quoted in a message: at most 40 characters."""
    return text if len(text) <= 40 else text[:37] + "..."


def _shortened(column: pd.Series, text: pd.Series) -> np.ndarray:
    """Codes Excel rounded to 6 significant digits: ``5.37101E+12`` as text, or a float read from it."""
    if pd.api.types.is_integer_dtype(column) or pd.api.types.is_bool_dtype(column):  # whole digits: intact
        return np.zeros(len(column), dtype=bool)
    if pd.api.types.is_float_dtype(column):
        v = column.to_numpy(dtype="float64", na_value=np.nan)
        big = (np.abs(v) >= 1e9) & np.isfinite(v)  # inf is no code Excel rounded, just an unreadable one
        scale = 10.0 ** (np.floor(np.log10(np.where(big, np.abs(v), 1.0))) - 5)
        with np.errstate(over="ignore", invalid="ignore"):
            return big & (np.round(v / scale) * scale == v)
    return text.str.fullmatch(_SCIENTIFIC).fillna(False).to_numpy(dtype=bool)


def _dotted_village_code(digits: str) -> str:
    """``5371011001`` -> ``53.71.01.1001``."""
    return f"{digits[:2]}.{digits[2:4]}.{digits[4:6]}.{digits[6:10]}"


def parse_flags(values: pd.Series, config: Config) -> tuple[np.ndarray, np.ndarray]:
    """Yes/no column to booleans, by ``[column_aliases.tps.flag_words]`` of ``config``. Returns (flags, unreadable)."""
    words = config.column_aliases("tps")["flag_words"]
    text = as_text(values).str.lower()
    flags = text.isin(words["yes"]).to_numpy()
    unreadable = ~flags & ~text.isin(words["no"]).to_numpy()
    return flags, unreadable


def indicator_columns(columns: list[str], config: Config) -> dict[str, str]:
    """Indicator id -> the file's column, for the Bawaslu indicators present."""
    by_norm = {norm(c): c for c in columns}
    # riskmap's own exports carry flags as ind_<id>
    by_norm.update({n[4:]: c for n, c in list(by_norm.items()) if n.startswith("ind_")})
    found = {}
    for ind, spec in config.indicators.items():
        for alias in [ind, *spec.get("aliases", [])]:
            if norm(alias) in by_norm:
                found[ind] = by_norm[norm(alias)]
                break
    return found


def read_tps(
    path: str | Path,
    *,
    area: StudyArea = INDONESIA,
    columns: ColumnMap | str | Path | None = None,
    config: Config | None = None,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Read polling stations.

    Parameters
    ----------
    path
        CSV, XLSX or point vector file.
    area
        Study area box; points outside are rejected with a reason.
    columns
        Optional column map (``[tps]`` part).
    config
        For the indicator list, the column aliases and the voter limits (defaults when None).

    Returns
    -------
    tps
        Usable TPS: :data:`TPS_COLUMNS`, ``ind_<id>`` booleans, ``lon``,
        ``lat``, geometry (EPSG:4326). Not yet joined to villages.
    report
        The layer's accounting.
    """
    config = config or load_config()
    column_map = load_column_map(columns).get("tps", {})
    raw = read_layer(path, crs=column_map.pop("crs", None))
    report = start_report("tps", raw, schema="TPS")
    frame, ok = locate(raw, column_map, area, report, config)
    cols = [c for c in frame.columns if c not in (ROW_COLUMN, "lat", "lon", "geometry")]
    fields: dict[str, list[str]] = config.column_aliases("tps")["fields"]
    picked = {f: find_column(cols, a, mapped=column_map.get(f), file=raw.name) for f, a in fields.items()}
    kpu_col = column_map.get("kpu_code") or _kpu_column(frame, cols)

    texts: dict[str | None, pd.Series] = {}

    def text(col: str | None) -> pd.Series:
        if col not in texts:
            texts[col] = text_column(frame, col)
        return texts[col]

    code_texts: dict[str | None, pd.Series] = {}

    def codes(col: str | None) -> pd.Series:
        """A code column as text, cells Excel shortened to ``5.37101E+12`` blanked (one note per column)."""
        if col in code_texts:
            return code_texts[col]
        values = text(col)
        short = _shortened(frame[col], values) if col is not None else np.zeros(len(values), dtype=bool)
        if short.any():  # the digits are gone: the ids are built from village and TPS number below
            first = frame[col][short].iloc[0]
            example = f"{first:.5E}" if isinstance(first, float) else str(first)
            report.warn(None, "ids_shortened", column=str(col), example=example, n=int(short.sum()))
            values = values.where(~short, "")
        code_texts[col] = values
        return values

    kpu = codes(kpu_col)
    kpu = kpu.where((kpu.str.len() == 13) & kpu.str.isdigit(), "")  # 13 digits, as _KPU
    number = text(picked["tps_number"])
    named_code = map_unique(text(picked["named_village_code"]), normalise_code)
    need = ((named_code == "") & (kpu != "")).to_numpy()
    if need.any():  # the KPU code's first 10 digits are the village's Kemendagri code
        from_kpu = map_unique(kpu[need].str.slice(0, 10), _dotted_village_code).to_numpy()
        if need.all():
            named_code = pd.Series(from_kpu, index=named_code.index, dtype=object)
        else:
            named_code = named_code.copy()
            named_code[need] = from_kpu
    named_village = text(picked["named_village"])
    named_district = text(picked["named_district"])

    ids = codes(picked["tps_id"]) if picked["tps_id"] else kpu
    use_fallback = ((ids == "") & (number != "")).to_numpy()
    if use_fallback.any():
        code, dist, vill = named_code[use_fallback], named_district[use_fallback], named_village[use_fallback]
        ids = ids.copy()
        ids[use_fallback] = code.where(code != "", dist + "/" + vill) + "-TPS" + number[use_fallback].str.zfill(3)
    no_id = (ids == "").to_numpy()
    if no_id.any():
        ids = ids.copy()
        ids[no_id] = "row-" + frame.loc[no_id, ROW_COLUMN].astype(str)
    ok = reject_duplicates(ids, frame[ROW_COLUMN], ok, report)

    voters = pd.Series(np.nan, index=frame.index)
    named = [picked["voters"]] if picked["voters"] else [picked["voters_male"], picked["voters_female"]]
    voter_cols = [c for c in named if c is not None]
    if len(voter_cols) == len(named):
        if len(voter_cols) == 2:  # KPU lists DPT by sex: the TPS total is their sum
            report.warn(None, "voters_from_parts", columns=" + ".join(str(c) for c in voter_cols))
        voters = _counts(frame, voter_cols[0], text, ok, report)
        for col in voter_cols[1:]:
            voters = voters + _counts(frame, col, text, ok, report)
        neg = ok & (voters < 0).to_numpy()
        report.warn_frame(frame.loc[neg, ROW_COLUMN], "unparseable_voters", value=[f"{v:g}" for v in voters[neg]])
        voters = voters.where(voters >= 0)
        most = float(config.data["scoring"]["max_plausible_voters_per_tps"])
        absurd = (voters > most).to_numpy()  # 1e20 voters would swamp every rate of the study area
        report.warn_frame(
            frame.loc[ok & absurd, ROW_COLUMN],
            "implausible_voters",
            value=[f"{v:g}" for v in voters[ok & absurd]],
            most=f"{most:g}",
        )
        voters = voters.where(~absurd)
        limit = int(config.data["scoring"]["max_voters_per_tps"])
        over = ok & (voters > limit).to_numpy()
        report.warn_frame(
            frame.loc[over, ROW_COLUMN],
            "voters_over_limit",
            value=[f"{v:g}" for v in voters[over]],  # as counted: 600.5 is over 600, "600" would contradict it
            limit=limit,
        )
    else:
        report.warn(None, "no_voter_column")

    out = pd.DataFrame(
        {
            ROW_COLUMN: frame[ROW_COLUMN],
            "tps_id": ids,
            "kpu_code": kpu,
            "tps_number": number,
            "named_village_code": named_code,
            "named_village": named_village,
            "named_district": named_district,
            "address": text(picked["address"]),
            "voters": voters.astype("float64"),
            "voters_known": voters.notna().to_numpy(),
        }
    )
    present = indicator_columns(cols, config)
    for ind, col in present.items():
        flags, unreadable = parse_flags(frame[col], config)
        out[f"ind_{ind}"] = flags
        bad = ok & unreadable
        report.warn_frame(
            frame.loc[bad, ROW_COLUMN], "unparseable_flag", column=col, value=list(as_text(frame.loc[bad, col]))
        )
    report.schema = "TPS" + (f" + {len(present)} indikator Bawaslu" if present else "")
    out["lon"] = frame["lon"]
    out["lat"] = frame["lat"]
    tps = to_points(out.loc[ok].reset_index(drop=True))
    report.used = len(tps)
    report.check()
    return tps, report
