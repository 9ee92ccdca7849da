"""Logged incidents into scoring: read through the incident reader, joined, merged with the file's.

A logged incident goes through the same path as a row of an incident file
(:func:`riskmap.io.incidents.read_incidents`: every row used or reported, in its own
:class:`~riskmap.io.report.LayerReport` "logged_incidents"). An incident logged in the database that is
also in the incident file (same type, within ``[store] match_m`` metres and ``match_days`` days) is
counted once: the file's record is the one scored, its column ``matched_id`` names the logged record(s)
it matched, and the logged record is reported as ``logged_matches_file`` (both records stay).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from riskmap.config import Config, load_config
from riskmap.io._coords import INDONESIA, StudyArea
from riskmap.io._read import ROW_COLUMN
from riskmap.io.incidents import read_incidents
from riskmap.io.report import LayerReport

if TYPE_CHECKING:
    from riskmap.pipeline import Layers
    from riskmap.store.store import Store

LAYER = "logged_incidents"
_EARTH_M = 6_371_008.8
_READER_COLUMNS = ["incident_id", "date", "time", "type", "severity", "lat", "lon", "precision", "description"]
_READER_COLUMNS.append("source")
_EXTRA = ["status", "author", "via", "version", "logged_at"]


def statuses(include_unverified: bool) -> tuple[str, ...]:
    """Statuses scored: verified, and unverified too when asked."""
    return ("verified", "unverified") if include_unverified else ("verified",)


def read_logged(
    store: Store,
    *,
    include_unverified: bool = False,
    config: Config | None = None,
    area: StudyArea = INDONESIA,
    as_of: dt.date | None = None,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """The store's current incidents (verified, or also unverified) as the incident reader returns them.

    Returns the reader's columns plus ``status``, ``author``, ``via``, ``version``, ``logged_at`` and
    ``origin`` = "logged"; the report's rows are the lines of ``riskmap incidents export`` of the same statuses.
    """
    config = config or load_config()
    table = store.incidents(status=statuses(include_unverified))
    with tempfile.TemporaryDirectory(prefix="riskmap-logged-") as tmp:
        path = Path(tmp) / "logged_incidents.csv"
        table[_READER_COLUMNS].to_csv(path, index=False)
        incidents, report = read_incidents(path, area=area, config=config, as_of=as_of)
    report.layer = LAYER
    report.source = store.url
    report.schema = "riskmap"
    extra = table.set_index("incident_id")[_EXTRA]
    for column in _EXTRA:
        incidents[column] = incidents["incident_id"].map(extra[column]).to_numpy()
    incidents["origin"] = "logged"
    return incidents, report


def _xyz(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lo, la = np.radians(lon), np.radians(lat)
    return _EARTH_M * np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def find_matches(
    file_incidents: pd.DataFrame, logged: pd.DataFrame, *, metres: float, days: int
) -> dict[int, list[int]]:
    """Positions of logged rows -> positions of file rows of the same event (same type, ``metres``, ``days``).

    Distances are great-circle (chord on a sphere of 6,371 km: equal to it within 1 mm at 200 m).
    """
    out: dict[int, list[int]] = {}
    if file_incidents is None or not len(file_incidents) or not len(logged):
        return out
    f_xyz = _xyz(file_incidents["lon"].to_numpy(float), file_incidents["lat"].to_numpy(float))
    l_xyz = _xyz(logged["lon"].to_numpy(float), logged["lat"].to_numpy(float))
    f_day = pd.to_datetime(file_incidents["date"]).to_numpy("datetime64[D]")
    l_day = pd.to_datetime(logged["date"]).to_numpy("datetime64[D]")
    f_type, l_type = file_incidents["type"].to_numpy(object), logged["type"].to_numpy(object)
    chord = 2 * _EARTH_M * np.sin(metres / (2 * _EARTH_M))
    for kind in np.intersect1d(pd.unique(f_type), pd.unique(l_type)):
        fi, li = np.flatnonzero(f_type == kind), np.flatnonzero(l_type == kind)
        tree = cKDTree(f_xyz[fi])
        for pos, near in zip(li, tree.query_ball_point(l_xyz[li], chord), strict=True):
            hits = [int(fi[k]) for k in near if abs(int((f_day[fi[k]] - l_day[pos]).astype(int))) <= days]
            if hits:
                out[int(pos)] = sorted(hits)
    return out


def merge_incidents(
    file_incidents: gpd.GeoDataFrame | None,
    store: Store,
    include_unverified: bool = False,
    config: Config | None = None,
    *,
    area: StudyArea = INDONESIA,
    villages: gpd.GeoDataFrame | None = None,
    as_of: dt.date | None = None,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """File incidents plus the store's logged ones, each event counted once.

    Parameters
    ----------
    file_incidents
        Incidents as read from a file (:func:`~riskmap.io.incidents.read_incidents`), or None.
    store
        The database.
    include_unverified
        Also score incidents not yet verified (rejected ones never).
    config
        ``[store] match_m`` / ``match_days``, taxonomy (defaults when None).
    area, villages, as_of
        As for the file: logged incidents outside ``area`` or after ``as_of`` are reported; with
        ``villages`` they get their village and kecamatan as in :func:`riskmap.pipeline.load`.

    Returns
    -------
    merged
        The rows to score (EPSG:4326): the file's (``origin`` "file", ``matched_id`` = the logged
        incident ids of the same event, ";"-separated, else "") and the logged ones that match no file
        incident (``origin`` "logged").
    report
        The logged incidents' report: every logged incident used, matched (``logged_matches_file``,
        not used: counted once through the file's record) or rejected with the reader's reason.
    """
    from riskmap.pipeline import join_incidents

    config = config or load_config()
    logged, report = read_logged(store, include_unverified=include_unverified, config=config, area=area, as_of=as_of)
    if villages is not None and len(logged):
        logged = join_incidents(logged, villages, report)
    opts = config.data["store"]
    metres, days = float(opts["match_m"]), int(opts["match_days"])
    matches = find_matches(file_incidents, logged, metres=metres, days=days)
    if file_incidents is None:
        base = logged.iloc[:0].drop(columns=[c for c in (*_EXTRA, "origin") if c in logged]).copy()
        base = gpd.GeoDataFrame(base, geometry="geometry", crs=4326)
    else:
        base = file_incidents.copy()
    base["origin"] = "file"
    matched_id: list[list[str]] = [[] for _ in range(len(base))]
    ids = logged["incident_id"].to_numpy(object)
    for pos, hits in matches.items():
        for h in hits:
            matched_id[h].append(str(ids[pos]))
    base["matched_id"] = [";".join(m) for m in matched_id]
    drop = np.zeros(len(logged), dtype=bool)
    file_ids = base["incident_id"].to_numpy(object)
    for pos, hits in matches.items():
        drop[pos] = True
        report.reject(
            int(logged[ROW_COLUMN].iloc[pos]),
            "logged_matches_file",
            incident_id=str(ids[pos]),
            matched_id=", ".join(str(file_ids[h]) for h in hits),
            m=f"{metres:g}",
            days=days,
        )
    kept = logged.loc[~drop].copy()
    kept["matched_id"] = ""
    report.used = len(kept)
    report.check()
    frames = [f for f in (base, kept) if len(f)]
    merged = base if not frames else pd.concat(frames, ignore_index=True)
    merged = gpd.GeoDataFrame(merged, geometry="geometry", crs=4326)
    return merged, report


def merge_into_layers(
    layers: Layers, store: Store, *, include_unverified: bool = False, config: Config | None = None
) -> Layers:
    """``layers`` with the store's logged incidents merged into its incidents and the report (for scoring).

    The logged incidents are read within the layers' study area and joined to its villages; the load
    report gains the layer "logged_incidents".
    """
    merged, report = merge_incidents(
        layers.incidents,
        store,
        include_unverified=include_unverified,
        config=config,
        area=layers.area,
        villages=layers.villages,
    )
    layers.incidents = merged
    layers.report.add(report)
    return layers
