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

Conflict-event exports are read as delivered, recognised by their columns:

* ACLED (``event_id_cnty``, ``event_date``, ``event_type``...): event and
  sub-event types map to the taxonomy through ``[acled.types]``,
  ``geo_precision`` 1/2/3 to exact/near/region (``[acled] precision``);
* UCDP GED (``id``, ``date_start``, ``where_prec``, ``type_of_violence``,
  ``best``...): ``type_of_violence`` through ``[ucdp.types]``, ``where_prec``
  1-2 precise, 3-7 region (``[ucdp] precision``).

Their death counts (ACLED ``fatalities``, UCDP ``best``) grade severity
through ``[incidents] fatalities_severity``. An event type that maps to no
taxonomy type is kept as the export's ``default_type`` with a warning that
names the configuration key to add: a new type must not make most of an
export disappear.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap._errors import RiskmapInputError
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
from riskmap.io._dates import config_window, read_dates
from riskmap.io._read import ROW_COLUMN, RawLayer, read_layer, start_report
from riskmap.io.points import locate, reject_duplicates, to_points
from riskmap.io.report import LayerReport

INCIDENT_COLUMNS = ["incident_id", "date", "type", "severity", "precision", "description", "source"]
"""Canonical incident columns (besides lon, lat, geometry)."""

PRECISIONS = ("exact", "near", "region")

_ACLED_REQUIRED = {"event_id_cnty", "event_date", "event_type", "latitude", "longitude"}
_UCDP_REQUIRED = {"id", "date_start", "latitude", "longitude", "where_prec", "type_of_violence", "best"}


def _export_schema(columns: list[str]) -> str | None:
    """``"ACLED"`` or ``"UCDP"`` when the columns are those of such an export, else None."""
    names = {norm(c) for c in columns}
    if names >= _ACLED_REQUIRED:
        return "ACLED"
    if names >= _UCDP_REQUIRED:
        return "UCDP"
    return None


def _type_lookup(config: Config) -> dict[str, str]:
    """Normalised type id, label or alias -> taxonomy type id."""
    lookup: dict[str, str] = {}
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
        Optional column map (``[incidents]`` part).
    config
        Taxonomy, severity and precision vocabularies, the default severity and the column aliases
        (defaults when None).
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
    column_map = load_column_map(columns).get("incidents", {})
    raw = read_layer(path, crs=column_map.pop("crs", None))
    report = start_report("incidents", raw)
    export = None if column_map else _export_schema(list(raw.frame.columns))
    if export is not None:
        report.schema = export
        fields = (_acled_fields if export == "ACLED" else _ucdp_fields)(raw, config, report)
        column_map = {"lat": "latitude", "lon": "longitude"}
    else:
        report.schema = "riskmap"
        fields = None
    frame, ok = locate(raw, column_map, area, report, config)
    if fields is None:
        fields = _own_fields(frame, raw, column_map, config, report)
    rows = frame[ROW_COLUMN]

    # type
    unknown = ok & (fields["type"] == "").to_numpy()
    report.reject_frame(
        rows[unknown], "unknown_type", value=list(fields["type_raw"][unknown]), known=", ".join(config.taxonomy)
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
    frame: pd.DataFrame, raw: RawLayer, column_map: dict[str, str], config: Config, report: LayerReport
) -> dict[str, pd.Series]:
    """Fields of riskmap's own incident schema, columns by ``column_map`` or ``[column_aliases.incidents]``."""
    cols = [c for c in frame.columns if c not in (ROW_COLUMN, "lat", "lon", "geometry")]
    aliases: dict[str, list[str]] = config.column_aliases("incidents")["fields"]
    picked = {f: find_column(cols, a, mapped=column_map.get(f), file=raw.name) for f, a in aliases.items()}
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
    default = int(config.data["incidents"]["default_severity"])
    if picked["severity"] is None:
        report.warn(None, "severity_assumed", severity=default)
    else:
        warn = bad_sev & (sev_raw != "")
        report.warn_frame(
            frame.loc[warn.to_numpy(), ROW_COLUMN], "unparseable_severity", value=list(sev_raw[warn]), severity=default
        )
    severity = severity.where(~bad_sev, default).round().astype(int)

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

    spec = config.data["acled"]
    event_type, sub_type = col("event_type"), col("sub_event_type")
    table = {norm(k): v for k, v in config.data["acled"]["types"].items()}
    full = event_type.where(sub_type == "", event_type + " / " + sub_type)
    types = map_unique(full, lambda k: table.get(norm(k), "")).where(
        lambda s: s != "", map_unique(event_type, lambda k: table.get(norm(k), ""))
    )
    types = _default_unmapped(types, full, "acled", frame[ROW_COLUMN], config, report)

    severe = {norm(s) for s in spec["severe_sub_events"]}
    base = pd.Series(np.where(sub_type.map(norm).isin(severe), 2, 1), index=frame.index)
    severity = _graded_severity(base, col("fatalities"), config)
    precision = _export_precision(col("geo_precision"), "acled", "geo_precision", frame[ROW_COLUMN], config, report)
    return {
        "incident_id": col("event_id_cnty").where(lambda s: s != "", "row-" + frame[ROW_COLUMN].astype(str)),
        "date_raw": col("event_date"),
        "type_raw": full,
        "type": types,
        "severity": severity,
        "precision": precision,
        "description": col("notes"),
        "source": "ACLED: " + col("source"),
    }


def _ucdp_fields(raw: RawLayer, config: Config, report: LayerReport) -> dict[str, pd.Series]:
    """Fields of a UCDP GED CSV export (one row per event, codebook column names)."""
    frame = raw.frame
    by_norm = {norm(c): c for c in frame.columns}

    def col(name: str) -> pd.Series:
        return text_column(frame, by_norm.get(name))

    spec = config.data["ucdp"]
    violence = col("type_of_violence")
    table = {norm(k): v for k, v in spec["types"].items()}
    types = map_unique(violence, lambda k: table.get(norm(k), ""))
    types = _default_unmapped(types, violence, "ucdp", frame[ROW_COLUMN], config, report)
    base = pd.Series(int(spec["base_severity"]), index=frame.index)
    severity = _graded_severity(base, col("best"), config)
    precision = _export_precision(col("where_prec"), "ucdp", "where_prec", frame[ROW_COLUMN], config, report)
    description = col("source_headline")
    description = description.where(description != "", col("where_description"))
    conflict = col("conflict_name")
    source = "UCDP GED" + conflict.where(conflict == "", ": " + conflict)
    return {
        "incident_id": col("id").where(lambda s: s != "", "row-" + frame[ROW_COLUMN].astype(str)),
        "date_raw": col("date_start"),
        "type_raw": violence,
        "type": types,
        "severity": severity,
        "precision": precision,
        "description": description,
        "source": source,
    }


def _default_unmapped(
    types: pd.Series, raw_types: pd.Series, export: str, rows: pd.Series, config: Config, report: LayerReport
) -> pd.Series:
    """Replace types that map to no taxonomy type by ``[export] default_type``, warning row by row.

    The warning names the type as the file has it and the key to add to ``[<export>.types]``.
    """
    default = str(config.data[export]["default_type"])
    if default not in config.taxonomy:
        raise RiskmapInputError(
            "config_unknown_type",
            file=config.source[-1],
            key=f"{export}.default_type",
            value=default,
            known=", ".join(config.taxonomy),
        )
    unmapped = ~types.isin(list(config.taxonomy))
    if unmapped.any():
        report.warn_frame(
            rows[unmapped],
            "unmapped_event_type",
            value=list(raw_types[unmapped]),
            export=export.upper(),
            line=[f'[{export}.types] "{v}" = "..."' for v in raw_types[unmapped]],
            default=default,
        )
    return types.where(~unmapped, default)


def _graded_severity(base: pd.Series, deaths: pd.Series, config: Config) -> pd.Series:
    """Severity 1-3: the type's ``base``, raised by the death count through ``[incidents] fatalities_severity``.

    ``deaths`` that are empty or not a number count as 0.
    """
    grading = sorted((float(k), int(v)) for k, v in config.data["incidents"]["fatalities_severity"].items())
    count = to_numbers(deaths.str.replace(",", "", regex=False)).fillna(0).to_numpy()
    graded = np.zeros(len(base), dtype=int)
    for least, severity in grading:
        graded = np.where(count >= least, severity, graded)
    return pd.Series(np.clip(np.maximum(base.to_numpy(dtype=int), graded), 1, 3), index=base.index)


def _export_precision(
    codes: pd.Series, export: str, column: str, rows: pd.Series, config: Config, report: LayerReport
) -> pd.Series:
    """Location precision from an export's precision code through ``[export] precision``; unknown codes are region."""
    table = {norm(k): str(v) for k, v in config.data[export]["precision"].items()}
    precision = map_unique(codes, lambda v: table.get(norm(v).removesuffix("_0"), ""))
    unknown = ~precision.isin(PRECISIONS)
    if unknown.any():
        report.warn_frame(
            rows[unknown],
            "export_precision_unknown",
            value=list(codes[unknown]),
            column=column,
            known=", ".join(table),
            export=export.upper(),
        )
    return precision.where(~unknown, "region")
