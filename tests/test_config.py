"""Configuration: every tunable moved out of code (issue 12, build 5) changes what riskmap does when a user's
configuration file changes it; the column aliases are configuration too."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from riskmap import pipeline
from riskmap._errors import RiskmapInputError
from riskmap.config import Config, load_config
from riskmap.io import read_incidents, read_points, read_tps, read_villages
from riskmap.testing import incident_rows, village_center

AS_OF = dt.date(2024, 12, 1)


def _user_config(tmp_path, text: str) -> Config:
    """A user's configuration file as riskmap reads it (``--config``): merged over default.toml."""
    path = tmp_path / "my.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def _warnings(report, reason: str) -> list[dict]:
    return [n.params for n in report.warnings if n.reason == reason]


def test_default_severity_is_configured(tmp_path, villages):
    frame = incident_rows(villages, [(0, "protest", "2024-11-20"), (1, "protest", "2024-11-21")])
    frame["severity"] = ["", "parah sekali"]  # empty: assumed silently per row; unknown word: a warning
    with_column = tmp_path / "i.csv"
    frame.to_csv(with_column, index=False)
    without = tmp_path / "i_nosev.csv"
    frame.drop(columns="severity").to_csv(without, index=False)
    for path in (with_column, without):
        default, _ = read_incidents(path)
        assert list(default["severity"]) == [2, 2]
        cfg = _user_config(tmp_path, "[incidents]\ndefault_severity = 3\n")
        chosen, report = read_incidents(path, config=cfg)
        assert list(chosen["severity"]) == [3, 3]
        notes = _warnings(report, "severity_assumed") + _warnings(report, "unparseable_severity")
        assert notes and all(n["severity"] == 3 for n in notes)


def test_max_voters_per_tps_is_configured(tmp_path, villages, tps_frame):
    tps_frame.loc[0, "dpt"] = "550"
    path = tmp_path / "tps.csv"
    tps_frame.to_csv(path, index=False)
    _, report = read_tps(path)
    assert _warnings(report, "voters_over_limit") == []
    _, report = read_tps(path, config=_user_config(tmp_path, "[scoring]\nmax_voters_per_tps = 500\n"))
    assert [n["limit"] for n in _warnings(report, "voters_over_limit")] == [500]


def test_neighbours_min_km_is_configured(tmp_path, villages_path, tps_path, villages):
    frame = incident_rows(villages, [(0, "supporter_clash", "2024-11-20")] * 3)
    incidents = tmp_path / "i.csv"
    frame.to_csv(incidents, index=False)
    index = '[scoring]\nmethod = "index"\n'
    default = pipeline.run(villages_path, tps_path, incidents, config=_user_config(tmp_path, index), as_of=AS_OF)
    # the grid's neighbours are 1.1 and 1.6 km apart: a 5 km floor weighs them all alike
    floored = _user_config(tmp_path, index + "[joins]\nneighbours_min_km = 5.0\n")
    changed = pipeline.run(villages_path, tps_path, incidents, config=floored, as_of=AS_OF)
    before, after = default.villages["spillover_campaign"], changed.villages["spillover_campaign"]
    assert not before.round(9).equals(after.round(9))


def test_study_area_margin_km_is_configured(tmp_path, villages_path, villages, tps_frame):
    # a TPS 2 km east of the grid: inside the default 5 km margin (in no village), outside a 1 km one
    lat, _ = village_center(villages, 2)
    tps_frame.loc[0, ["lat", "lon"]] = [f"{lat:.6f}", f"{villages.total_bounds[2] + 0.018:.6f}"]
    path = tmp_path / "tps.csv"
    tps_frame.to_csv(path, index=False)
    reasons = {n.reason for n in pipeline.load(villages_path, path).report["tps"].rejected}
    assert "outside_study_area" not in reasons
    cfg = _user_config(tmp_path, "[joins]\nstudy_area_margin_km = 1.0\n")
    reasons = {n.reason for n in pipeline.load(villages_path, path, config=cfg).report["tps"].rejected}
    assert "outside_study_area" in reasons


def test_patrol_cell_m_is_configured(tmp_path):
    from riskmap.deploy import patrol_priorities

    result = pipeline.run(as_of=dt.date(2024, 11, 27))
    _, default = patrol_priorities(result)
    result.config = _user_config(tmp_path, "[deploy]\npatrol_cell_m = 5000.0\n")
    _, coarse = patrol_priorities(result)
    assert 0 < len(coarse) < len(default)
    assert coarse["incidents"].sum() == default["incidents"].sum()  # the same incidents, in fewer cells


def test_lazy_table_above_rows_is_configured(tmp_path):
    from riskmap.app.main import sent_in_pages

    assert not sent_in_pages(load_config(), 1000) and sent_in_pages(load_config(), 1001)  # the default: 1,000
    mine = _user_config(tmp_path, "[display]\nlazy_table_above_rows = 50\n")
    assert sent_in_pages(mine, 51) and not sent_in_pages(mine, 50)


# -- column aliases ---------------------------------------------------------------------------------------------
def test_column_aliases_come_from_the_configuration():
    cfg = load_config()
    assert cfg.column_aliases("tps")["fields"]["voters"][0] == "dpt"
    assert set(cfg.column_aliases("villages")["schemas"]) == {"BIG", "GADM", "BPS", "COD-AB"}
    assert "lintang" in cfg.column_aliases("points")["coordinates"]["lat"]
    assert cfg.column_aliases("incidents")["fields"]["date"][:2] == ["date", "tanggal"]


def test_a_user_alias_for_tps_columns_and_flag_words(tmp_path, tps_frame):
    frame = tps_frame.rename(columns={"dpt": "pemilih_akhir", "lat": "garis_lintang", "lon": "garis_bujur"})
    frame["riwayat_kekerasan"] = ["pernah"] + ["tidak"] * (len(frame) - 1)
    path = tmp_path / "tps.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(RiskmapInputError) as err:
        read_tps(path)
    assert err.value.code == "no_coordinate_columns"
    cfg = _user_config(
        tmp_path,
        '[column_aliases.points.coordinates]\nlat = ["garis_lintang"]\nlon = ["garis_bujur"]\n'
        '[column_aliases.tps.fields]\nvoters = ["pemilih_akhir"]\n'
        '[column_aliases.tps.flag_words]\nyes = ["pernah"]\n',
    )
    tps, report = read_tps(path, config=cfg)
    assert len(tps) == len(frame) and (tps["voters"] == 400).all()
    assert tps["ind_riwayat_kekerasan"].tolist() == [True] + [False] * (len(frame) - 1)
    assert _warnings(report, "unparseable_flag") == []


def test_a_user_alias_for_village_and_incident_columns(tmp_path, villages):
    path = tmp_path / "desa.geojson"
    villages.rename(columns={"kab_kota": "wilayah_kab"}).to_file(path)
    v, _ = read_villages(path)
    assert (v["regency"] == "").all()
    cfg = _user_config(tmp_path, '[column_aliases.villages.fields]\nregency = ["wilayah_kab"]\n')
    v, _ = read_villages(path, config=cfg)
    assert (v["regency"] == "Kota Uji").all()

    frame = incident_rows(villages, [(0, "protest", "2024-11-20")]).rename(columns={"date": "hari_kejadian"})
    inc = tmp_path / "i.csv"
    frame.to_csv(inc, index=False)
    with pytest.raises(RiskmapInputError) as err:
        read_incidents(inc)
    assert err.value.code == "incidents_missing_column" and err.value.params["field"] == "date"
    cfg = _user_config(tmp_path, '[column_aliases.incidents.fields]\ndate = ["hari_kejadian"]\n')
    incidents, _ = read_incidents(inc, config=cfg)
    assert incidents["date"].tolist() == [pd.Timestamp("2024-11-20")]


def test_a_user_alias_for_point_layer_columns(tmp_path, villages):
    lat, lon = village_center(villages, 4)
    path = tmp_path / "pos.csv"
    pd.DataFrame({"judul": ["Pos Uji"], "lat": [lat], "lon": [lon]}).to_csv(path, index=False)
    posts, _ = read_points(path, "posts")
    assert posts["name"].tolist() != ["Pos Uji"]  # no alias fits: the name is the generated id
    cfg = _user_config(tmp_path, '[column_aliases.points.fields]\nname = ["judul"]\n')
    posts, _ = read_points(path, "posts", config=cfg)
    assert posts["name"].tolist() == ["Pos Uji"]


@pytest.mark.parametrize("value", ['"dpt"', "[1, 2]", "3"])
def test_a_column_alias_that_is_not_a_list_of_names_is_refused(tmp_path, value):
    with pytest.raises(RiskmapInputError) as err:
        _user_config(tmp_path, f"[column_aliases.tps.fields]\nvoters = {value}\n")
    assert err.value.code == "config_aliases" and err.value.params["key"] == "column_aliases.tps.fields.voters"
    assert "column_aliases.tps.fields.voters" in err.value.message("id")
