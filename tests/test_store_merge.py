"""Logged incidents into scoring: the reader path, the dedupe against the file (type, 200 m, 1 day), both DBs."""

from __future__ import annotations

import pytest

from riskmap import pipeline
from riskmap.store import Store, merge_incidents, merge_into_layers
from riskmap.testing import village_center

M_PER_DEG_LAT = 110_574.0  # at 10 deg S


@pytest.fixture
def layers(villages_path, tps_path, incidents_path):
    return pipeline.load(villages_path, tps_path, incidents_path)


def _log(store: Store, lat: float, lon: float, date: str, kind: str, status: str = "verified") -> str:
    return store.add_incident(date=date, lat=lat, lon=lon, type=kind, author="ani", status=status)


def test_same_event_in_file_and_log_is_counted_once_both_kept(db_url, layers, villages):
    file_inc = layers.incidents
    first = file_inc.iloc[0]  # INC-000: supporter_clash, 2024-11-20, village 0
    with Store.open(db_url) as store:
        same = _log(store, first.lat + 150 / M_PER_DEG_LAT, first.lon, "2024-11-21", "supporter_clash")
        far = _log(store, first.lat + 260 / M_PER_DEG_LAT, first.lon, "2024-11-20", "supporter_clash")
        later = _log(store, first.lat, first.lon, "2024-11-22", "supporter_clash")  # 2 days after
        other_type = _log(store, first.lat, first.lon, "2024-11-20", "protest")
        pending = _log(store, first.lat, first.lon, "2024-11-25", "hoax", status="unverified")
        rejected = _log(store, first.lat, first.lon, "2024-11-25", "hoax", status="rejected")
        outside = _log(store, -6.2, 106.8, "2024-11-25", "hoax")  # Jakarta: outside the study area
        merged, report = merge_incidents(file_inc, store, area=layers.area, villages=layers.villages)
    ids = list(merged["incident_id"])
    assert same not in ids and {far, later, other_type} <= set(ids)
    assert pending not in ids and rejected not in ids and outside not in ids
    assert len(merged) == len(file_inc) + 3
    kept = merged.set_index("incident_id")
    assert kept.loc["INC-000", "matched_id"] == same and kept.loc["INC-000", "origin"] == "file"
    assert kept.loc[far, "origin"] == "logged" and kept.loc[far, "matched_id"] == ""
    assert kept.loc[far, "village_code"] == villages["kode"].iloc[0]  # joined to its village like file rows
    assert kept.loc[far, "district_code"] != ""
    assert (report.read, report.used, len(report.rejected)) == (5, 3, 2)  # every logged row used or reported
    assert report.reason_counts() == {"logged_matches_file": 1, "outside_study_area": 1}
    note = next(n for n in report.rejected if n.reason == "logged_matches_file")
    assert note.params["matched_id"] == "INC-000" and "INC-000" in note.message("id")
    with Store.open(db_url) as store:  # both records kept: the logged one is still in the log
        assert same in set(store.incidents()["incident_id"])
        merged_all, rep_all = merge_incidents(file_inc, store, include_unverified=True, area=layers.area)
    assert pending in set(merged_all["incident_id"]) and rejected not in set(merged_all["incident_id"])
    assert rep_all.read == 6


def test_merge_into_layers_scores_the_logged_incident(db_url, layers, villages):
    lat, lon = village_center(villages, 4)
    before = pipeline.score(layers).villages.set_index("village_code")["n_incidents"]
    with Store.open(db_url) as store:
        _log(store, lat, lon, "2024-11-27", "riot")
        merged = merge_into_layers(layers, store)
    after = pipeline.score(merged).villages.set_index("village_code")["n_incidents"]
    code = villages["kode"].iloc[4]
    assert after[code] == before[code] + 1 and after.drop(code).equals(before.drop(code))
    assert "logged_incidents" in merged.report.layers
    assert "Insiden tercatat" in merged.report.summary("id")


def test_no_file_incidents(db_url, layers):
    with Store.open(db_url) as store:
        merged, report = merge_incidents(None, store)
        assert len(merged) == 0 and report.read == 0
        _log(store, -10.16, 123.6, "2024-11-27", "riot")
        merged, report = merge_incidents(None, store)
    assert list(merged["origin"]) == ["logged"] and merged.crs.to_epsg() == 4326 and report.used == 1
