"""Early warning: ACLED-style surges of incidents per kecamatan and per kab/kota.

A unit (kecamatan: villages' ``district_code``; kab/kota: ``regency``) fires when

* **surge**: the last ``[alerts] window_days`` (7) days up to ``as_of`` hold at least ``ratio`` (2.0)
  times the mean count per window of the ``baseline_windows`` (4) windows before, and that mean is at
  least ``floor`` (1 event per window): a quiet place going from 0 to 1 incident is not a surge;
* **cycle**: the same test against the same week of the previous election cycle: the window that lies
  as far from the election day ``cycle_years`` (5) years earlier (``[alerts] election_days``) as the
  last 7 days lie from the nearest election day; with no election day near, the window
  ``cycle_years`` calendar years earlier. Election violence follows the calendar, so this week is
  compared with the same point of the last campaign.

A pure function of GeoDataFrames (EPSG:4326); no Streamlit, no database.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap import i18n
from riskmap.config import Config, load_config

ALERT_COLUMNS = [
    "level",
    "code",
    "name",
    "count",
    "baseline_mean",
    "ratio",
    "surge",
    "cycle_count",
    "cycle_ratio",
    "cycle_surge",
    "window_start",
    "window_end",
    "cycle_start",
    "cycle_end",
    "lat",
    "lon",
]
"""Columns of :func:`surges`: ``ratio``/``cycle_ratio`` are inf when the comparison count is 0."""


def _regency_code(district_code: str, regency: str) -> str:
    parts = str(district_code).split(".")
    return ".".join(parts[:2]) if len(parts) >= 3 and all(p.isdigit() for p in parts[:2]) else str(regency)


def cycle_window(as_of: dt.date, config: Config) -> tuple[dt.date, dt.date]:
    """First and last day of the same ``window_days`` of the previous election cycle (see the module)."""
    opts = config.data["alerts"]
    days = int(opts["window_days"])
    years = int(opts["cycle_years"])
    elections = sorted(dt.date.fromisoformat(str(d)) for d in opts["election_days"])
    end = None
    if elections:
        nearest = min(elections, key=lambda e: abs((as_of - e).days))
        if abs((as_of - nearest).days) <= 183:
            target = _years_back(nearest, years)
            previous = min(elections, key=lambda e: abs((e - target).days))
            if previous < nearest and abs((previous - target).days) <= 366:
                end = previous + (as_of - nearest)
    if end is None:
        end = _years_back(as_of, years)
    return end - dt.timedelta(days=days - 1), end


def _years_back(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _units(incidents: gpd.GeoDataFrame, villages: gpd.GeoDataFrame) -> pd.DataFrame:
    """District code, district name, regency code and name per incident (a spatial join when not joined)."""
    v = villages[["district_code", "district", "regency"]].astype(str).reset_index(drop=True)
    if "district_code" in incidents and (incidents["district_code"].astype(str) != "").any():
        codes = incidents["district_code"].astype(str).to_numpy()
    else:
        pts = incidents[["geometry"]].to_crs(villages.crs)
        joined = gpd.sjoin(pts, villages[["geometry"]].reset_index(drop=True), how="left", predicate="within")
        joined = joined[~joined.index.duplicated(keep="first")]
        idx = joined["index_right"].to_numpy()
        codes = np.array(
            [v["district_code"].iat[int(i)] if pd.notna(i) else "" for i in idx],
            dtype=object,
        )
    lookup = v.drop_duplicates("district_code").set_index("district_code")
    district = pd.Series(codes).map(lookup["district"]).fillna("")
    regency = pd.Series(codes).map(lookup["regency"]).fillna("")
    return pd.DataFrame(
        {
            "district_code": codes,
            "district": district.to_numpy(),
            "regency": regency.to_numpy(),
            "regency_code": [_regency_code(c, r) for c, r in zip(codes, regency, strict=True)],
        }
    )


def surges(
    incidents: gpd.GeoDataFrame | None,
    villages: gpd.GeoDataFrame,
    *,
    as_of: dt.date | str | None = None,
    config: Config | None = None,
) -> pd.DataFrame:
    """Units whose incidents surge: one row per (level, unit code, unit name) that fires.

    Parameters
    ----------
    incidents
        Incidents with ``date`` and points (EPSG:4326); ``district_code`` is used when present (as
        :func:`riskmap.pipeline.load` sets it), else each point is placed in its village.
    villages
        Villages with ``district_code``, ``district``, ``regency`` (as read by riskmap).
    as_of
        Last day of the window (default: the latest incident's date).
    config
        ``[alerts]`` thresholds and election calendar.

    Returns
    -------
    pandas.DataFrame
        :data:`ALERT_COLUMNS`; ``level`` "district" or "regency"; ``count`` incidents in the window,
        ``baseline_mean`` mean per window of the windows before, ``cycle_count`` in the same window of
        the previous cycle; ``surge`` / ``cycle_surge`` say which test fired; ``lat``/``lon`` the centre
        of the unit's villages (for a marker). Sorted by level, then ratio, highest first.
    """
    config = config or load_config()
    opts = config.data["alerts"]
    days, windows = int(opts["window_days"]), int(opts["baseline_windows"])
    ratio, floor = float(opts["ratio"]), float(opts["floor"])
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in ALERT_COLUMNS})
    if incidents is None or not len(incidents):
        return empty
    dates = pd.to_datetime(incidents["date"]).dt.normalize().to_numpy("datetime64[D]")
    day: dt.date
    if as_of is None:
        day = pd.Timestamp(dates.max()).date()
    elif isinstance(as_of, str):
        from riskmap.pipeline import parse_as_of

        parsed = parse_as_of(as_of, config)
        assert parsed is not None  # a text is read as a date or refused with RiskmapInputError
        day = parsed
    elif isinstance(as_of, dt.datetime):
        day = as_of.date()
    else:
        day = as_of
    end = np.datetime64(day, "D")
    recent = (dates > end - days) & (dates <= end)
    base = (dates > end - days * (windows + 1)) & (dates <= end - days)
    c_start, c_end = cycle_window(day, config)
    cycle = (dates >= np.datetime64(c_start, "D")) & (dates <= np.datetime64(c_end, "D"))
    units = _units(incidents, villages)
    centres = _centres(villages)
    rows: list[pd.DataFrame] = []
    levels = (("district", "district_code", "district"), ("regency", "regency_code", "regency"))
    for level, code_col, name_col in levels:
        frame = pd.DataFrame(
            {"code": units[code_col], "name": units[name_col], "recent": recent, "base": base, "cycle": cycle}
        )
        frame = frame[frame["code"] != ""]
        per = frame.groupby(["code", "name"], sort=True)[["recent", "base", "cycle"]].sum().reset_index()
        count, prev = per["recent"].to_numpy(int), per["cycle"].to_numpy(int)
        mean = per["base"].to_numpy(float) / windows
        surge = (mean >= floor) & (count >= ratio * mean)
        cycle_surge = (prev >= floor) & (count >= ratio * prev)
        fire = surge | cycle_surge
        if not fire.any():
            continue
        codes = per["code"].to_numpy()[fire]
        at = [centres[level].get(code, (np.nan, np.nan)) for code in codes]
        count, prev, mean = count[fire], prev[fire], mean[fire]
        with np.errstate(divide="ignore", invalid="ignore"):
            rows.append(
                pd.DataFrame(
                    {
                        "level": level,
                        "code": codes,
                        "name": per["name"].to_numpy()[fire],
                        "count": count,
                        "baseline_mean": mean,
                        "ratio": np.where(mean > 0, count / mean, np.inf),  # (0 / 0 silenced, then replaced)
                        "surge": surge[fire],
                        "cycle_count": prev,
                        "cycle_ratio": np.where(prev > 0, count / prev, np.inf),
                        "cycle_surge": cycle_surge[fire],
                        "window_start": day - dt.timedelta(days=days - 1),
                        "window_end": day,
                        "cycle_start": c_start,
                        "cycle_end": c_end,
                        "lat": [float(a[0]) for a in at],
                        "lon": [float(a[1]) for a in at],
                    }
                )
            )
    if not rows:
        return empty
    out = pd.concat(rows, ignore_index=True)[list(ALERT_COLUMNS)]
    out["_level"] = out["level"].map({"district": 0, "regency": 1})
    return out.sort_values(["_level", "ratio"], ascending=[True, False]).drop(columns="_level").reset_index(drop=True)


def _centres(villages: gpd.GeoDataFrame) -> dict[str, dict[str, tuple[float, float]]]:
    pts = villages.to_crs(4326).geometry.representative_point()
    frame = pd.DataFrame(
        {
            "district": villages["district_code"].astype(str).to_numpy(),
            "regency": [
                _regency_code(c, r)
                for c, r in zip(villages["district_code"].astype(str), villages["regency"].astype(str), strict=True)
            ],
            "lat": pts.y.to_numpy(),
            "lon": pts.x.to_numpy(),
        }
    )
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for level in ("district", "regency"):
        mean = frame.groupby(level)[["lat", "lon"]].mean()
        pairs = zip(mean["lat"].astype(float), mean["lon"].astype(float), strict=True)
        out[level] = dict(zip(mean.index, pairs, strict=True))
    return out


def describe(alerts: pd.DataFrame, as_of: dt.date, lang: str = "id") -> list[str]:
    """Plain-words lines for the alerts (a header, then one line per alert), in ``lang``."""
    if not len(alerts):
        return [i18n.t("alerts_none", lang, as_of=as_of.isoformat())]
    lines = [i18n.t("alerts_header", lang, as_of=as_of.isoformat(), n=len(alerts))]
    for a in alerts.itertuples():
        parts = []
        if a.surge:
            parts.append(i18n.t("alerts_recent", lang, count=a.count, ratio=a.ratio, baseline=a.baseline_mean))
        if a.cycle_surge:
            parts.append(
                i18n.t(
                    "alerts_cycle",
                    lang,
                    ratio=a.cycle_ratio,
                    prev=a.cycle_count,
                    start=a.cycle_start.isoformat(),
                    end=a.cycle_end.isoformat(),
                )
            )
        level = i18n.t(f"alerts_level_{a.level}", lang)
        lines.append(f"  {level} {a.name} ({a.code}): " + "; ".join(parts))
    return lines
