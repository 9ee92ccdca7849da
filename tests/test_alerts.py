"""Early warning (riskmap/alerts.py): surges per kecamatan and kab/kota, and against the previous election cycle."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from riskmap.alerts import ALERT_COLUMNS, cycle_window, describe, surges
from riskmap.config import load_config
from riskmap.io.villages import read_villages
from riskmap.testing import village_center


@pytest.fixture
def read(villages_path):
    v, _ = read_villages(villages_path)
    return v


def _incidents(villages: gpd.GeoDataFrame, rows: list[tuple[int, str]]) -> gpd.GeoDataFrame:
    """Incidents at village centres: (village index, ISO date); no district_code (the spatial join is used)."""
    pts = [village_center(villages, k) for k, _ in rows]
    frame = pd.DataFrame({"date": pd.to_datetime([d for _, d in rows]), "type": "protest"})
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy([p[1] for p in pts], [p[0] for p in pts]), crs=4326)


def _steady(k: int, start: str, weeks: int, per_week: int = 1) -> list[tuple[int, str]]:
    first = dt.date.fromisoformat(start)
    return [(k, (first + dt.timedelta(days=7 * w + j)).isoformat()) for w in range(weeks) for j in range(per_week)]


def test_planted_surge_fires_in_its_kecamatan_and_regency(read):
    rows = _steady(4, "2024-09-02", 8) + _steady(0, "2024-09-02", 8)  # one a week in two kecamatan
    rows += [(4, "2024-10-25")] * 3  # the week to 27 Oct: 4 in kecamatan 2 (village 4), baseline 1/week
    found = surges(_incidents(read, rows), read, as_of="2024-10-27")
    assert list(found.columns) == ALERT_COLUMNS
    district = found[found.level == "district"]
    assert list(district["name"]) == ["Kecamatan 2"]
    d = district.iloc[0]
    assert (d["count"], d["baseline_mean"], d["ratio"], bool(d["surge"])) == (4, 1.0, 4.0, True)
    assert (d.window_start, d.window_end) == (dt.date(2024, 10, 21), dt.date(2024, 10, 27))
    regency = found[found.level == "regency"].iloc[0]
    assert (regency["name"], regency["count"], regency["baseline_mean"]) == ("Kota Uji", 5, 2.0)
    assert np.isfinite(d["lat"]) and -10.3 < d["lat"] < -10.0
    lines = describe(found, dt.date(2024, 10, 27), "id")
    assert lines[0].startswith("PERINGATAN DINI per 2024-10-27: 2 wilayah")
    assert "Kecamatan 2" in lines[1] and "4 insiden 7 hari terakhir" in lines[1]


def test_steady_data_and_quiet_places_do_not_fire(read):
    steady = _steady(4, "2024-06-03", 30, per_week=2) + _steady(8, "2024-06-03", 30)
    assert surges(_incidents(read, steady), read, as_of="2024-11-10").empty
    # from nothing to 1 (a mean below the floor of 1 a week) is not a surge
    quiet = [(4, "2024-08-01"), (4, "2024-11-08")]
    assert surges(_incidents(read, quiet), read, as_of="2024-11-10").empty
    assert surges(None, read, as_of="2024-11-10").empty
    assert describe(surges(None, read), dt.date(2024, 11, 10), "en") == ["No incident surge as of 2024-11-10."]


def test_thresholds_come_from_the_configuration(read):
    rows = _steady(4, "2024-09-02", 8) + [(4, "2024-10-25")] * 1  # 2 in the last week: ratio 2
    assert not surges(_incidents(read, rows), read, as_of="2024-10-27").empty
    strict = load_config(overrides={"alerts": {"ratio": 2.5}})
    assert surges(_incidents(read, rows), read, as_of="2024-10-27", config=strict).empty
    high_floor = load_config(overrides={"alerts": {"floor": 1.5}})
    assert surges(_incidents(read, rows), read, as_of="2024-10-27", config=high_floor).empty


def test_same_week_of_the_previous_election_cycle(read):
    config = load_config()
    # 3 days before the 14 Feb 2024 election: the same 7 days before 17 April 2019 (5 years earlier)
    start, end = cycle_window(dt.date(2024, 2, 11), config)
    assert (start, end) == (dt.date(2019, 4, 8), dt.date(2019, 4, 14))
    far = cycle_window(dt.date(2022, 8, 10), config)  # no election near: the same days 5 years earlier
    assert far == (dt.date(2017, 8, 4), dt.date(2017, 8, 10))
    # the last 4 weeks were as busy (no recent surge), but the week is 3x the same week of 2019
    rows = [*_steady(4, "2024-01-08", 5, per_week=3), (4, "2019-04-10")]
    found = surges(_incidents(read, rows), read, as_of="2024-02-11")
    d = found[found.level == "district"].iloc[0]
    assert (bool(d["surge"]), bool(d["cycle_surge"]), d["cycle_count"], d["count"]) == (False, True, 1, 3)
    assert (d.cycle_start, d.cycle_end) == (dt.date(2019, 4, 8), dt.date(2019, 4, 14))
    assert "siklus pemilu sebelumnya" in describe(found, dt.date(2024, 2, 11))[1]


def test_joined_incidents_use_their_district_code(read):
    inc = _incidents(read, _steady(0, "2024-09-02", 8) + [(0, "2024-10-25")] * 3)
    inc["district_code"] = read["district_code"].iloc[8]  # as pipeline.load sets it: trusted over the point
    found = surges(inc, read, as_of="2024-10-27")
    assert list(found.loc[found.level == "district", "code"]) == [read["district_code"].iloc[8]]
