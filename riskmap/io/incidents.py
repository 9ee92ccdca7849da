"""Incidents from riskmap's own schema or from ACLED exports as delivered.

Own schema (CSV, XLSX or point vector file), column names in English or
Indonesian:

=============  ==============================  =================================
field          accepted column names           values
=============  ==============================  =================================
incident_id    incident_id, id, kode           any text, unique
date           date, tanggal, tgl              ISO or Indonesian (27/11/2024,
                                               27 November 2024)
type           type, jenis, kategori           taxonomy id or alias (config)
severity       severity, tingkat, keparahan    1-3 or ringan/sedang/berat
lat, lon       see :mod:`riskmap.io.points`    degrees, EPSG:4326
precision      precision, presisi              exact/near/region (or 1/2/3)
description    description, keterangan, ...    free text (untrusted)
source         source, sumber                  free text
=============  ==============================  =================================

ACLED exports are recognised by their columns (``event_id_cnty``,
``event_date``, ``event_type``...); event types map to the taxonomy through
``[acled.types]`` in the configuration.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap._errors import RiskmapInputError
from riskmap.config import Config, load_config
from riskmap.io._columns import ColumnMap, as_text, find_column, load_column_map, map_unique, norm, text_column
from riskmap.io._coords import INDONESIA, StudyArea
from riskmap.io._dates import config_window, read_dates
from riskmap.io._read import ROW_COLUMN, RawLayer, read_layer, start_report
from riskmap.io.points import locate, reject_duplicates, to_points
from riskmap.io.report import LayerReport

INCIDENT_COLUMNS = ["incident_id", "date", "type", "severity", "precision", "description", "source"]
"""Canonical incident columns (besides lon, lat, geometry)."""

PRECISIONS = ("exact", "near", "region")

_FIELDS: dict[str, list[str]] = {
    "incident_id": ["incident_id", "id_insiden", "id_kejadian", "id", "kode", "no"],
    "date": ["date", "tanggal", "tgl", "tanggal_kejadian", "waktu", "event_date"],
    "type": ["type", "jenis", "jenis_kejadian", "jenis_insiden", "kategori", "type_id", "tipe"],
    "severity": ["severity", "tingkat", "tingkat_keparahan", "keparahan", "bobot", "level"],
    "precision": ["precision", "presisi", "ketepatan_lokasi", "akurasi_lokasi", "geo_precision", "akurasi"],
    "description": ["description", "keterangan", "deskripsi", "uraian", "notes", "catatan", "kronologi"],
    "source": ["source", "sumber"],
}

_ACLED_REQUIRED = {"event_id_cnty", "event_date", "event_type", "latitude", "longitude"}


def _is_acled(columns: list[str]) -> bool:
    return {norm(c) for c in columns} >= _ACLED_REQUIRED


def _type_lookup(config: Config) -> dict[str, str]:
    lookup = {}
    for type_id, spec in config.taxonomy.items():
        for name in [type_id, spec.get("label_id", ""), spec.get("label_en", ""), *spec.get("aliases", [])]:
            if name:
                lookup.setdefault(norm(name), type_id)
    return lookup


def read_incidents(
    path: str | Path,
    *,
    area: StudyArea = INDONESIA,
    columns: ColumnMap | str | Path | None = None,
    config: Config | None = None,
    as_of: dt.date | None = None,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Read incidents (own schema or ACLED).

    Parameters
    ----------
    path
        CSV, XLSX or point vector file.
    area
        Study area box; points outside are rejected.
    columns
        Optional column mapping (``[incidents]`` part).
    config
        Taxonomy, severity and precision vocabularies (defaults when None).
    as_of
        Incidents dated after this day are reported (``after_as_of``) and not used.

    Returns
    -------
    incidents
        :data:`INCIDENT_COLUMNS` + lon, lat, geometry (EPSG:4326); ``date`` is
        datetime64, ``severity`` int 1-3, ``precision`` one of
        :data:`PRECISIONS`.
    report
        The layer's accounting.
    """
    config = config or load_config()
    mapping = load_column_map(columns).get("incidents", {})
    raw = read_layer(path, crs=mapping.pop("crs", None))
    report = start_report("incidents", raw)
    if not mapping and _is_acled(list(raw.frame.columns)):
        report.schema = "ACLED"
        fields = _acled_fields(raw, config, report)
        mapping = {"lat": "latitude", "lon": "longitude"}
    else:
        report.schema = "riskmap"
        fields = None
    frame, ok = locate(raw, mapping, area, report)
    if fields is None:
        fields = _own_fields(frame, raw, mapping, config, report)
    rows = frame[ROW_COLUMN]

    # type
    unknown = ok & (fields["type"] == "").to_numpy()
    reason = "unmapped_acled_type" if report.schema == "ACLED" else "unknown_type"
    report.reject_frame(
        rows[unknown], reason, value=list(fields["type_raw"][unknown]), known=", ".join(config.taxonomy)
    )
    ok &= ~unknown
    # date
    window = config_window(config.data)
    dates, outside = read_dates(fields["date_raw"], window)
    no_date = ok & (as_text(fields["date_raw"]) == "").to_numpy()
    report.reject_frame(rows[no_date], "missing_date")
    ok &= ~no_date
    far = ok & outside
    report.reject_frame(
        rows[far],
        "date_out_of_range",
        value=list(as_text(fields["date_raw"][far])),
        first=window[0].isoformat(),
        last=window[1].isoformat(),
    )
    ok &= ~far
    bad_date = ok & dates.isna().to_numpy()
    report.reject_frame(rows[bad_date], "unparseable_date", value=list(as_text(fields["date_raw"][bad_date])))
    ok &= ~bad_date
    if as_of is not None:
        late = ok & (dates > pd.Timestamp(as_of)).to_numpy()
        report.reject_frame(
            rows[late], "after_as_of", date=[d.date().isoformat() for d in dates[late]], as_of=as_of.isoformat()
        )
        ok &= ~late
    ok = reject_duplicates(fields["incident_id"], rows, ok, report)

    out = pd.DataFrame(
        {
            ROW_COLUMN: rows,
            "incident_id": fields["incident_id"],
            "date": dates,
            "type": fields["type"],
            "severity": fields["severity"].astype("int64"),
            "precision": fields["precision"],
            "description": fields["description"],
            "source": fields["source"],
            "lon": frame["lon"],
            "lat": frame["lat"],
        }
    )
    incidents = to_points(out.loc[ok].reset_index(drop=True))
    report.used = len(incidents)
    report.check()
    return incidents, report


def _own_fields(
    frame: pd.DataFrame, raw: RawLayer, mapping: dict[str, str], config: Config, report: LayerReport
) -> dict[str, pd.Series]:
    cols = [c for c in frame.columns if c not in (ROW_COLUMN, "lat", "lon", "geometry")]
    picked = {f: find_column(cols, a, mapped=mapping.get(f), file=raw.name) for f, a in _FIELDS.items()}
    for required in ("date", "type"):
        if picked[required] is None:
            raise RiskmapInputError(
                "incidents_missing_column", file=raw.name, field=required, columns=", ".join(map(str, cols[:30]))
            )
    type_raw = text_column(frame, picked["type"])
    lookup = _type_lookup(config)
    types = map_unique(type_raw, lambda v: lookup.get(norm(v), ""))

    sev_aliases = {norm(k): int(v) for k, v in config.data["incidents"]["severity_aliases"].items()}
    sev_raw = text_column(frame, picked["severity"])
    sev_num = pd.to_numeric(sev_raw.str.replace(",", ".", regex=False), errors="coerce")
    sev_word = map_unique(sev_raw, lambda v: sev_aliases.get(norm(v), np.nan)).astype(float)
    severity = sev_num.where(sev_num.notna(), sev_word)
    bad_sev = severity.isna() | ~severity.isin([1, 2, 3])
    if picked["severity"] is None:
        report.warn(None, "severity_assumed")
    else:
        warn = bad_sev & (sev_raw != "")
        report.warn_frame(frame.loc[warn.to_numpy(), ROW_COLUMN], "unparseable_severity", value=list(sev_raw[warn]))
    severity = severity.where(~bad_sev, 2).round().astype(int)

    prec_aliases = {norm(k): v for k, v in config.data["incidents"]["precision_aliases"].items()}
    prec_aliases.update({p: p for p in PRECISIONS})
    prec_raw = text_column(frame, picked["precision"])
    precision = map_unique(prec_raw, lambda v: prec_aliases.get(norm(v).replace("_0", ""), ""))
    if picked["precision"] is None:
        report.warn(None, "precision_assumed")
    else:
        warn = (precision == "") & (prec_raw != "")
        report.warn_frame(frame.loc[warn.to_numpy(), ROW_COLUMN], "unparseable_precision", value=list(prec_raw[warn]))
    precision = precision.where(precision != "", "exact")

    ids = text_column(frame, picked["incident_id"])
    no_id = (ids == "").to_numpy()
    if no_id.any():
        ids = ids.copy()
        ids[no_id] = "row-" + frame.loc[no_id, ROW_COLUMN].astype(str)
    return {
        "incident_id": ids,
        "date_raw": frame[picked["date"]] if picked["date"] else pd.Series("", index=frame.index),
        "type_raw": type_raw,
        "type": types,
        "severity": severity,
        "precision": precision,
        "description": text_column(frame, picked["description"]),
        "source": text_column(frame, picked["source"]),
    }


def _acled_fields(raw: RawLayer, config: Config, report: LayerReport) -> dict[str, pd.Series]:
    frame = raw.frame
    by_norm = {norm(c): c for c in frame.columns}

    def col(name: str) -> pd.Series:
        return text_column(frame, by_norm.get(name))

    event_type, sub_type = col("event_type"), col("sub_event_type")
    table = {norm(k): v for k, v in config.data["acled"]["types"].items()}
    full = (event_type + " / " + sub_type).map(norm)
    types = full.map(lambda k: table.get(k, "")).where(
        lambda s: s != "", event_type.map(lambda k: table.get(norm(k), ""))
    )
    unknown_taxonomy = ~types.isin(list(config.taxonomy)) & (types != "")
    types = types.where(~unknown_taxonomy, "")

    fatalities = pd.to_numeric(col("fatalities"), errors="coerce").fillna(0)
    severe = set(config.data["acled"]["severe_sub_events"])
    severity = pd.Series(np.where(fatalities > 0, 3, np.where(sub_type.isin(severe), 2, 1)), index=frame.index)
    geo = pd.to_numeric(col("geo_precision"), errors="coerce").fillna(1).clip(1, 3).astype(int)
    precision = geo.map({1: "exact", 2: "near", 3: "region"})
    source = col("source")
    return {
        "incident_id": col("event_id_cnty").where(lambda s: s != "", "row-" + frame[ROW_COLUMN].astype(str)),
        "date_raw": col("event_date"),
        "type_raw": event_type + " / " + sub_type,
        "type": types,
        "severity": severity,
        "precision": precision,
        "description": col("notes"),
        "source": "ACLED: " + source,
    }
