"""Scoring properties: monotone in incidents, stage relevance, decay, determinism, explanations."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from riskmap import pipeline
from riskmap.config import load_config
from riskmap.scoring import RiskModel, _smoothed_rate, categorise
from riskmap.testing import incident_rows

STAGES = ["campaign", "voting", "counting", "recap"]
AS_OF = dt.date(2024, 12, 10)


def _score(tmp_path, villages_path, tps_path, specs, villages, name="i.csv", config=None, as_of=AS_OF):
    path = tmp_path / name
    incident_rows(villages, specs).to_csv(path, index=False)
    return pipeline.run(villages_path, tps_path, path, config=config, as_of=as_of)


BASE = [(0, "supporter_clash", "2024-11-20"), (4, "protest", "2024-11-28"), (8, "money_politics", "2024-11-26")]


def test_scores_in_range_with_categories(tmp_path, villages, villages_path, tps_path):
    res = _score(tmp_path, villages_path, tps_path, BASE, villages)
    for stage in STAGES:
        for frame in (res.villages, res.tps):
            risk = frame[f"risk_{stage}"]
            assert ((risk >= 0) & (risk <= 100)).all()
            assert set(frame[f"level_{stage}"]) <= {"kurang_rawan", "rawan", "sangat_rawan"}
            contrib = frame[[c for c in frame.columns if c.startswith(f"contrib_{stage}_")]].sum(axis=1)
            np.testing.assert_allclose(contrib, risk, atol=0.05)  # contributions add up to the score


@pytest.mark.parametrize("where", [0, 4, 7])
def test_added_relevant_incident_never_lowers_a_score(tmp_path, villages, villages_path, tps_path, where):
    before = _score(tmp_path, villages_path, tps_path, BASE, villages, "a.csv")
    after = _score(
        tmp_path, villages_path, tps_path, [*BASE, (where, "supporter_clash", "2024-11-27")], villages, "b.csv"
    )
    for stage in STAGES:  # supporter_clash matters to every stage
        assert (after.villages[f"risk_{stage}"] >= before.villages[f"risk_{stage}"]).all()
        assert (after.tps[f"risk_{stage}"] >= before.tps[f"risk_{stage}"]).all()
        assert after.villages[f"risk_{stage}"].iloc[where] > before.villages[f"risk_{stage}"].iloc[where]
        assert after.tps[f"risk_{stage}"].iloc[where] > before.tps[f"risk_{stage}"].iloc[where]


def test_irrelevant_type_does_not_move_a_stage(tmp_path, villages, villages_path, tps_path):
    before = _score(tmp_path, villages_path, tps_path, BASE, villages, "a.csv")
    # APK vandalism threatens the campaign only (default taxonomy)
    after = _score(
        tmp_path, villages_path, tps_path, [*BASE, (4, "apk_vandalism", "2024-11-27")] * 1, villages, "b.csv"
    )
    for stage in ("voting", "counting", "recap"):
        pd.testing.assert_series_equal(after.villages[f"risk_{stage}"], before.villages[f"risk_{stage}"])
        pd.testing.assert_series_equal(after.tps[f"risk_{stage}"], before.tps[f"risk_{stage}"])
    assert after.villages["risk_campaign"].iloc[4] > before.villages["risk_campaign"].iloc[4]


def test_older_incidents_weigh_less(tmp_path, villages, villages_path, tps_path):
    recent = _score(tmp_path, villages_path, tps_path, [*BASE, (2, "protest", "2024-11-28")], villages, "a.csv")
    old = _score(tmp_path, villages_path, tps_path, [*BASE, (2, "protest", "2019-04-20")], villages, "b.csv")
    none = _score(tmp_path, villages_path, tps_path, BASE, villages, "c.csv")
    w_recent = recent.model.incident_weights_["recap"].iloc[-1]
    w_old = old.model.incident_weights_["recap"].iloc[-1]
    assert w_old < w_recent
    age_days = (AS_OF - dt.date(2019, 4, 20)).days - (AS_OF - dt.date(2024, 11, 28)).days
    assert w_old / w_recent == pytest.approx(0.5 ** (age_days / 730))
    r = lambda res: res.villages["risk_recap"].iloc[2]  # noqa: E731
    assert r(recent) > r(old) > r(none)


def test_as_of_excludes_later_incidents(tmp_path, villages, villages_path, tps_path):
    early = _score(tmp_path, villages_path, tps_path, BASE, villages, as_of=dt.date(2024, 11, 21))
    assert early.report["incidents"].reason_counts() == {"after_as_of": 2}
    assert early.report["incidents"].used == 1
    assert early.as_of == dt.date(2024, 11, 21)


def test_deterministic(tmp_path, villages, villages_path, tps_path):
    a = _score(tmp_path, villages_path, tps_path, BASE, villages, "a.csv")
    b = _score(tmp_path, villages_path, tps_path, BASE, villages, "b.csv")
    pd.testing.assert_frame_equal(pd.DataFrame(a.villages), pd.DataFrame(b.villages))
    pd.testing.assert_frame_equal(pd.DataFrame(a.tps), pd.DataFrame(b.tps))


def test_default_as_of_is_latest_incident(tmp_path, villages, villages_path, tps_path):
    res = _score(tmp_path, villages_path, tps_path, BASE, villages, as_of=None)
    assert res.as_of == dt.date(2024, 11, 28)


def test_weights_and_thresholds_from_config(tmp_path, villages, villages_path, tps_path):
    only_incidents = {s: {"incidents": 1.0, "spillover": 0.0, "indicators": 0.0, "exposure": 0.0} for s in STAGES}
    cfg = load_config(
        overrides={"scoring": {"village_weights": only_incidents, "thresholds": {"rawan": 1.0, "sangat_rawan": 99.0}}}
    )
    res = _score(tmp_path, villages_path, tps_path, BASE, villages, config=cfg)
    v = res.villages
    assert (v["contrib_voting_spillover"] == 0).all()
    # rate factor only: the village with the money-politics incident is the top one for voting
    assert v["risk_voting"].idxmax() == 8
    assert set(v["level_voting"]) == {"rawan"}


def test_spillover_reaches_neighbours_only(tmp_path, villages, villages_path, tps_path):
    res = _score(tmp_path, villages_path, tps_path, [(0, "supporter_clash", "2024-11-20")] * 3, villages)
    spill = res.villages["spillover_campaign"]
    # village 1 (next to 0) borrows more than village 8 (far corner)
    assert spill.iloc[1] > spill.iloc[8]


def test_region_incident_spread_over_its_kecamatan(tmp_path, villages, villages_path, tps_path):
    frame = incident_rows(villages, [(4, "protest", "2024-11-28")])
    frame.loc[0, "precision"] = "region"
    path = tmp_path / "i.csv"
    frame.to_csv(path, index=False)
    res = pipeline.run(villages_path, tps_path, path, as_of=AS_OF)
    mass = res.villages["incidents_recap"]
    district = res.villages["district_code"]
    inside = district == "53.71.02"
    assert np.allclose(mass[inside], mass[inside].iloc[0]) and (mass[inside] > 0).all()
    assert (mass[~inside] == 0).all()
    assert (res.tps["nearby_recap"] == 0).all()  # never counted as if it were at a TPS


def test_tps_nearby_incidents_within_radius(tmp_path, villages, villages_path, tps_path):
    res = _score(tmp_path, villages_path, tps_path, [(4, "protest", "2024-11-28")], villages)
    n = res.tps["n_nearby"]
    # incidents sit ~111 m north of the centre TPS; neighbours' TPS are ~1.1 km away
    assert n.iloc[4] == 1 and n.drop(index=4).sum() == 0


def test_explanation_lists_factors_and_incidents(tmp_path, villages, villages_path, tps_path):
    res = _score(tmp_path, villages_path, tps_path, [*BASE, (0, "supporter_clash", "2024-11-27")], villages)
    code = res.villages["village_code"].iloc[0]
    ex = res.model.explain(code, "campaign")
    assert ex.score == pytest.approx(res.villages["risk_campaign"].iloc[0])
    assert ex.factors["points"].sum() == pytest.approx(ex.score, abs=0.05)
    assert ex.factors["share"].sum() == pytest.approx(1.0, abs=0.01)
    assert list(ex.incidents["type"]) == ["supporter_clash", "supporter_clash"]
    assert ex.by_type.index[0] == "supporter_clash"
    assert "Desa 0" in ex.text("id")
    tps_ex = res.model.explain(res.tps["tps_id"].iloc[0], "campaign", unit="tps")
    assert (tps_ex.incidents["distance_m"] <= 1000).all() and len(tps_ex.incidents) == 2


def test_no_tps_and_no_incidents_still_scores(villages_path):
    res = pipeline.run(villages_path, None, None, demo_data=False)
    assert res.tps is None
    assert (res.villages["risk_voting"] == 0).all()


def test_smoothing_shrinks_small_villages():
    mass = np.array([1.0, 10.0, 0.0])
    voters = np.array([100.0, 1000.0, 1000.0])
    rate = _smoothed_rate(mass, voters, 2000)
    raw = 1000 * mass / voters
    assert rate[0] < raw[0]  # one incident among 100 voters is not 10 per 1,000
    assert rate[1] > rate[0]  # many incidents in a large village rank higher
    assert rate[2] > 0  # zero is pulled up toward the mean
    auto = _smoothed_rate(mass, voters, "auto")
    assert np.all(np.isfinite(auto))


def test_categorise_thresholds():
    out = categorise(np.array([0, 34.99, 35, 59.99, 60, 100]), {"rawan": 35, "sangat_rawan": 60})
    assert list(out) == ["kurang_rawan", "kurang_rawan", "rawan", "rawan", "sangat_rawan", "sangat_rawan"]


def test_model_constructor_and_fit_returns_self(tmp_path, villages, villages_path, tps_path):
    layers = pipeline.load(villages_path, tps_path, None)
    model = RiskModel.from_geodataframes(layers.villages, layers.tps)
    assert model.fit() is model
    assert model.villages_ is not None and model.tps_ is not None


@pytest.mark.parametrize("far", [False, True])
def test_village_with_no_neighbour_scores_normally(tmp_path, villages, far):
    # issue 9: a one-village boundary file, or an island beyond neighbours_max_km, crashed with IndexError
    from shapely.geometry import box

    v = villages.iloc[:1].copy() if not far else villages.iloc[:2].copy()
    if far:  # the second village 300 km away: no pair within neighbours_max_km
        v.loc[v.index[1], "geometry"] = box(126.3, -10.2, 126.31, -10.19)
    path = tmp_path / "desa.geojson"
    v.to_file(path)
    inc = tmp_path / "i.csv"
    incident_rows(v, [(0, "supporter_clash", "2024-11-20")]).to_csv(inc, index=False)
    res = pipeline.run(path, None, inc, as_of=AS_OF)
    assert len(res.villages) == len(v)
    for stage in STAGES:
        assert (res.villages[f"spillover_{stage}"] == 0).all()
        assert res.villages[f"risk_{stage}"].between(0, 100).all()
    assert res.villages["risk_voting"].iloc[0] > 0
