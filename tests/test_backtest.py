"""riskmap.backtest: metrics against brute force, ties, leakage, planted hot spots, the CLI end to end."""

from __future__ import annotations

import itertools
import json
import re
import subprocess

import numpy as np
import pandas as pd
import pytest
import shapely

from riskmap import backtest as bt
from riskmap import kernel, pipeline
from riskmap.cli import main
from riskmap.testing import grid_villages, incident_history

LEVELS = (1.0, 5.0, 10.0, 20.0)


# ------------------------------------------------------------------------------------ brute force
def _tie_orders(score: np.ndarray) -> list[np.ndarray]:
    """Every descending order of ``score`` that breaks its ties differently (all equally likely)."""
    groups = [np.flatnonzero(score == v) for v in sorted(set(score.tolist()), reverse=True)]
    return [np.concatenate(p) for p in itertools.product(*(itertools.permutations(g) for g in groups))]


def _take(order: np.ndarray, size: np.ndarray, value: np.ndarray, budget: float) -> float:
    """Value collected taking whole units in ``order`` until ``size`` reaches ``budget`` (the last one in part)."""
    got, used = 0.0, 0.0
    for i in order:
        if used >= budget:
            break
        part = min(1.0, (budget - used) / size[i])
        got += part * value[i]
        used += part * size[i]
    return got


def _brute_hit_villages(score: np.ndarray, counts: np.ndarray, k: float) -> float:
    n = len(score)
    ones = np.ones(n)
    return float(np.mean([_take(o, ones, counts, k / 100 * n) for o in _tie_orders(score)]) / counts.sum())


def _brute_hit_area(score: np.ndarray, counts: np.ndarray, area: np.ndarray, k: float) -> float:
    """Area axis by subdivision: each village is ``area`` unit cells sharing its incidents evenly."""
    cell_village = np.repeat(np.arange(len(score)), area.astype(int))
    cell_score = score[cell_village]
    cell_value = (counts / area)[cell_village]
    budget = k / 100 * area.sum()
    orders = _tie_orders(cell_score)
    ones = np.ones(len(cell_village))
    return float(np.mean([_take(o, ones, cell_value, budget) for o in orders]) / counts.sum())


def _brute_auc(score: np.ndarray, positive: np.ndarray) -> float:
    pos, neg = score[positive], score[~positive]
    wins = [(1.0 if a > b else 0.5 if a == b else 0.0) for a in pos for b in neg]
    return float(np.mean(wins))


# ---------------------------------------------------------------------------------------- metrics
def test_hit_rates_and_auc_match_brute_force_over_every_tie_break() -> None:
    rng = np.random.default_rng(3)
    for _ in range(12):
        n = 7
        score = rng.integers(0, 3, n).astype(float)  # many ties
        counts = rng.integers(0, 3, n).astype(float)
        if counts.sum() == 0:
            counts[0] = 1
        area = np.ones(n)
        got = bt.ranking_metrics(score, counts, area, (10.0, 20.0, 50.0))
        for k in (10.0, 20.0, 50.0):
            assert got[("hit_rate_villages", k)] == pytest.approx(_brute_hit_villages(score, counts, k), abs=1e-12)
        positive = counts > 0
        if 0 < positive.sum() < n:
            assert got[("auc", None)] == pytest.approx(_brute_auc(score, positive), abs=1e-12)


def test_area_hit_rate_matches_brute_force_with_unequal_areas() -> None:
    score = np.array([2.0, 1.0, 1.0, 0.0, 0.0])
    counts = np.array([1.0, 3.0, 0.0, 2.0, 1.0])
    area = np.array([1.0, 2.0, 1.0, 1.0, 2.0])
    got = bt.ranking_metrics(score, counts, area, (10.0, 30.0, 50.0, 80.0))
    for k in (10.0, 30.0, 50.0, 80.0):
        want = _brute_hit_area(score, counts, area, k)
        assert got[("hit_rate_area", k)] == pytest.approx(want, abs=1e-12)
        assert got[("pai_area", k)] == pytest.approx(want / (k / 100), abs=1e-12)


def test_ties_at_the_cut_count_in_proportion() -> None:
    # the top 25 % of four villages is half of the tie group {0, 1}: half of its two incidents
    got = bt.ranking_metrics(np.array([1.0, 1.0, 0.0, 0.0]), np.array([2.0, 0.0, 1.0, 1.0]), np.ones(4), (25.0,))
    assert got[("hit_rate_villages", 25.0)] == pytest.approx(0.25)
    # without the tie the first village takes both
    got = bt.ranking_metrics(np.array([2.0, 1.0, 0.0, 0.0]), np.array([2.0, 0.0, 1.0, 1.0]), np.ones(4), (25.0,))
    assert got[("hit_rate_villages", 25.0)] == pytest.approx(0.5)


def test_all_zero_score_gives_exactly_the_random_values() -> None:
    rng = np.random.default_rng(0)
    n = 997
    counts = rng.poisson(0.3, n).astype(float)
    area = rng.uniform(0.5, 40, n)
    got = bt.ranking_metrics(np.zeros(n), counts, area, LEVELS)
    for k in LEVELS:
        assert got[("hit_rate_villages", k)] == pytest.approx(k / 100, abs=1e-12)
        assert got[("hit_rate_area", k)] == pytest.approx(k / 100, abs=1e-12)
        assert got[("pai_area", k)] == pytest.approx(1.0, abs=1e-12)
        assert got[("pai_villages", k)] == pytest.approx(1.0, abs=1e-12)
    assert got[("auc", None)] == 0.5
    curves = bt.capture_curves(np.zeros(n), counts, area)
    np.testing.assert_allclose(curves["villages"], np.linspace(0, 1, bt.CURVE_POINTS), atol=1e-12)
    np.testing.assert_allclose(curves["area"], np.linspace(0, 1, bt.CURVE_POINTS), atol=1e-12)


def test_perfect_score_takes_the_incidents_first() -> None:
    counts = np.array([5.0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    got = bt.ranking_metrics(counts, counts, np.ones(10), (10.0,))
    assert got[("hit_rate_villages", 10.0)] == 1.0
    assert got[("auc", None)] == 1.0


def test_isotonic_pools_adjacent_violators() -> None:
    np.testing.assert_allclose(bt.isotonic(np.arange(4), np.array([1.0, 3.0, 2.0, 4.0])), [1, 2.5, 2.5, 4])
    fit = bt.isotonic(np.arange(6), np.array([0.0, 1, 0, 0, 1, 1]), np.array([1.0, 1, 1, 1, 1, 3]))
    assert np.all(np.diff(fit) >= 0)
    np.testing.assert_allclose(fit, [0, 1 / 3, 1 / 3, 1 / 3, 1, 1])


def test_calibrator_is_monotone_and_recovers_the_rate() -> None:
    rng = np.random.default_rng(1)
    score = rng.uniform(0, 1, 20_000)
    hit = rng.random(20_000) < score * 0.5  # P(hit) = score / 2
    cal = bt.Calibrator.fit(score, hit, bins=20)
    assert np.all(np.diff(cal.probabilities) >= 0)
    later = rng.uniform(0, 1, 20_000)  # applied by percentile rank to a later score
    assert np.abs(cal.predict(later) - later / 2).mean() < 0.03
    table = bt.calibration_table(cal.predict(score), hit, 10)
    assert len(table) == 10 and table["villages"].sum() == 20_000
    np.testing.assert_allclose(table["predicted"], table["observed"], atol=0.03)
    assert bt.brier(np.array([0.0, 1.0]), np.array([0, 1])) == 0.0


def test_binned_kernel_density_matches_the_exact_sum() -> None:
    rng = np.random.default_rng(0)
    slon, slat = 123.6 + rng.normal(0, 0.05, 40), -10.2 + rng.normal(0, 0.05, 40)
    tlon, tlat = 123.6 + rng.normal(0, 0.1, 300), -10.2 + rng.normal(0, 0.1, 300)
    w = rng.integers(0, 3, 40).astype(float)
    for sigma in (2.0, 10.0, 50.0):
        approx = kernel.KernelField(tlon, tlat, sigma)(slon, slat, w)
        exact = kernel.exact_sum(slon, slat, w, tlon, tlat, sigma)
        assert np.abs(approx - exact).max() <= 0.04 * exact.max()
        fine = kernel.KernelField(tlon, tlat, sigma, grid_fraction=0.125)(slon, slat, w)
        assert np.abs(fine - exact).max() <= 0.01 * exact.max()


def test_windows_and_cutoffs_parse() -> None:
    assert bt.window_text(bt.parse_window("12m")) == "12M"
    assert bt.window_text(bt.parse_window("90D")) == "90D"
    days = bt.cutoff_range("2020-01-31", "2020-06-30", "1M")
    assert [d.isoformat() for d in days] == [
        "2020-01-31",
        "2020-02-29",
        "2020-03-31",
        "2020-04-30",
        "2020-05-31",
        "2020-06-30",
    ]
    assert [d.isoformat() for d in bt.parse_cutoffs("01/02/2021, 2020-01-01")] == ["2020-01-01", "2021-02-01"]
    for bad in ("12X", "0M", "M", ""):
        with pytest.raises(bt.RiskmapInputError):
            bt.parse_window(bad)


# ------------------------------------------------------------------------------------- synthetic data
@pytest.fixture(scope="module")
def grid():
    return grid_villages(20, 20, size_deg=0.02, district_every=10)


@pytest.fixture(scope="module")
def history(grid):
    return incident_history(grid, start="2016-01-01", end="2020-12-31", seed=7)


@pytest.fixture(scope="module")
def files(tmp_path_factory, grid, history):
    root = tmp_path_factory.mktemp("bt")
    grid.to_file(root / "desa.geojson")
    history.to_csv(root / "insiden.csv")
    return root


def test_history_is_deterministic_clustered_and_in_the_incident_format(grid, history) -> None:
    again = incident_history(grid, start="2016-01-01", end="2020-12-31", seed=7)
    pd.testing.assert_frame_equal(history.incidents, again.incidents)
    other = incident_history(grid, start="2016-01-01", end="2020-12-31", seed=8)
    assert not history.incidents.equals(other.incidents)
    inc = history.incidents
    assert list(inc.columns) == [
        "incident_id",
        "date",
        "type",
        "severity",
        "lat",
        "lon",
        "precision",
        "description",
        "source",
    ]
    assert set(inc["precision"]) == {"exact", "near", "region"}
    assert (inc["precision"] == "exact").mean() > 0.6
    assert (history.generation > 0).mean() > 0.15  # self-exciting: triggered events
    months = pd.to_datetime(inc["date"]).dt.to_period("M").value_counts()
    assert months.get(pd.Period("2019-03", "M"), 0) > 2 * months.median()  # campaign before 17 April 2019


def test_kernel_density_recovers_the_planted_hot_spots(grid, history) -> None:
    inc = history.incidents[history.incidents["precision"] == "exact"]
    centre = shapely.centroid(grid.geometry.to_numpy())
    lon, lat = shapely.get_x(centre), shapely.get_y(centre)
    dens = kernel.field(lon, lat, 2.0)(
        inc["lon"].astype(float).to_numpy(), inc["lat"].astype(float).to_numpy(), np.ones(len(inc))
    )
    top_decile = np.argsort(-dens)[: len(grid) // 10]
    assert set(history.hot_spots) <= set(top_decile)


@pytest.fixture(scope="module")
def layers(files):
    return pipeline.load(files / "desa.geojson", None, files / "insiden.csv")


def test_kernel_baseline_beats_random_on_the_synthetic_history(layers, history) -> None:
    cutoffs = ["2018-01-01", "2019-01-01", "2020-01-01"]
    model = bt.Backtest.from_layers(layers, cutoffs=cutoffs, stages=["all"], keep_scores=True).fit()
    for c in cutoffs:  # the backtest's own kernel baseline (its chosen bandwidth) ranks the hot spots first
        score = model.scores_[(c, "all", "kde")]
        assert set(history.hot_spots) <= set(np.argsort(-score)[: len(score) // 10])
    hits = model.table("hit_rate_villages", 20.0)
    assert (hits["kde"] > hits["random"] + 0.15).all()
    np.testing.assert_allclose(hits["random"], 0.2, atol=1e-12)
    aucs = model.table("auc")
    assert (aucs["kde"] > 0.6).all()
    np.testing.assert_allclose(aucs["random"], 0.5)
    pai = model.table("pai_area", 5.0)
    np.testing.assert_allclose(pai["random"], 1.0, atol=1e-12)
    wins = model.wins()
    assert set(wins["baseline"]) == set(bt.BASELINES)
    assert "riskmap" in model.verdict("en") and "mengalahkan" in model.verdict("id")
    assert set(model.windows_["kde_bandwidth_km"]) <= {2.0, 5.0, 10.0, 20.0, 50.0}
    # brier and the calibration table exist for every method and stay within [0, 1]
    brier = model.table("brier")
    assert brier.notna().all().all() and ((brier >= 0) & (brier <= 1)).all().all()
    assert set(model.calibration_["method"]) == set(bt.METHODS)


def test_default_cutoffs_leave_a_window_before_and_after(layers) -> None:
    model = bt.Backtest.from_layers(layers, stages=["all"]).fit()
    days = layers.incidents["date"]
    first, last = days.min().date(), days.max().date()
    windows = model.windows_
    assert len(windows) >= 3
    assert (windows["start_past"] >= first).all()
    assert (windows["end"] <= last + pd.Timedelta(days=1)).all()
    assert (windows["test_incidents"] > 0).all()
    assert windows["cutoff"].diff().dropna().map(lambda d: 365 <= d.days <= 366).all()


def test_no_leakage_incidents_after_a_cutoff_change_nothing_of_it(files, grid, history, tmp_path) -> None:
    cutoffs = ["2019-01-01", "2020-01-01"]
    base = pipeline.load(files / "desa.geojson", None, files / "insiden.csv")
    extra = history.incidents.copy()
    late = extra.sample(150, random_state=1).copy()
    late["incident_id"] = "LATE-" + late["incident_id"]
    days = np.random.default_rng(2).integers(0, 365, len(late))
    late["date"] = (pd.Timestamp("2019-01-01") + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d")
    late["lat"] = (late["lat"].astype(float) + 0.003).map(lambda v: f"{v:.6f}")  # new places too
    path = tmp_path / "more.csv"
    pd.concat([extra, late]).to_csv(path, index=False)
    more = pipeline.load(files / "desa.geojson", None, path)
    assert len(more.incidents) > len(base.incidents)
    a = bt.Backtest.from_layers(base, cutoffs=cutoffs, keep_scores=True).fit()
    b = bt.Backtest.from_layers(more, cutoffs=cutoffs, keep_scores=True).fit()
    first = "2019-01-01"
    keys = [k for k in a.scores_ if k[0] == first]
    assert len(keys) == len(bt.METHODS) * 5
    for key in keys:
        np.testing.assert_array_equal(a.scores_[key], b.scores_[key])
        np.testing.assert_array_equal(a.probabilities_[key], b.probabilities_[key])
    assert a.windows_.loc[0, "kde_bandwidth_km"] == b.windows_.loc[0, "kde_bandwidth_km"]
    # ... while the test window of that cutoff did see them, and the next cutoff's scores did change
    m_a = a.metrics_.query("cutoff == @first and metric == 'test_incidents' and stage == 'all'")["value"].item()
    m_b = b.metrics_.query("cutoff == @first and metric == 'test_incidents' and stage == 'all'")["value"].item()
    assert m_b > m_a
    assert not np.array_equal(a.scores_[("2020-01-01", "all", "count")], b.scores_[("2020-01-01", "all", "count")])


# ------------------------------------------------------------------------------------------- CLI
def test_cli_end_to_end_writes_every_file(files, tmp_path) -> None:
    out = tmp_path / "out"
    argv = [
        "backtest",
        "--villages",
        str(files / "desa.geojson"),
        "--incidents",
        str(files / "insiden.csv"),
        "--from",
        "2018-01-01",
        "--to",
        "2020-01-01",
        "--every",
        "12M",
        "--window",
        "12M",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    text = (out / "backtest.json").read_text(encoding="utf-8")
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in backtest.json: not JSON"))
    assert [w["cutoff"] for w in data["windows"]] == ["2018-01-01", "2019-01-01", "2020-01-01"]
    assert data["_meta"]["config_sha256_12"] and data["_meta"]["generator"].startswith("riskmap")
    assert {r["method"] for r in data["metrics"]} >= set(bt.METHODS)
    assert "mengalahkan" in data["verdict"]["id"] and "beats" in data["verdict"]["en"]
    csv = pd.read_csv(out / "backtest.csv", encoding="utf-8-sig")
    assert {"cutoff", "stage", "method", "metric", "k", "value"} <= set(csv.columns)
    assert len(csv) == len(data["metrics"])
    png = (out / "backtest.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    info = subprocess.run(["pdfinfo", str(out / "backtest.pdf")], capture_output=True, text=True, check=True)
    assert re.search(r"^Pages:\s+5$", info.stdout, re.M)  # all + four stages
    assert (out / "verdict_id.txt").read_text(encoding="utf-8").startswith("Uji mundur")


def test_cli_one_stage_in_english(files, tmp_path, capsys) -> None:
    out = tmp_path / "o"
    argv = [
        "backtest",
        "--villages",
        str(files / "desa.geojson"),
        "--incidents",
        str(files / "insiden.csv"),
        "--cutoffs",
        "2019-01-01,2020-01-01",
        "--stage",
        "campaign",
        "--lang",
        "en",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    assert "Campaign:" in capsys.readouterr().out
    data = json.loads((out / "backtest.json").read_text(encoding="utf-8"))
    assert {r["stage"] for r in data["metrics"]} == {"campaign"}


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--cutoffs", "2030-01-01"], "2016-"),  # no test incidents: say which dates have data
        (["--window", "12X"], "12X"),
        (["--from", "2019-01-01"], "--to"),
        (["--every", "3M"], "--from"),
        (["--window", "9999M"], "9999M"),  # 833 years: refused (at most 50)
        (["--from", "1900-01-01", "--to", "2100-01-01", "--every", "1D"], "max_cutoffs"),
        (["--cutoffs", "kemarin"], "kemarin"),
        (["--stage", "pilkada"], "pilkada"),
        (["--from", "2020-01-01", "--to", "2019-01-01"], "2019-01-01"),
    ],
)
def test_cli_bad_input_exits_2_with_a_message(files, tmp_path, capsys, extra, needle) -> None:
    argv = [
        "backtest",
        "--villages",
        str(files / "desa.geojson"),
        "--incidents",
        str(files / "insiden.csv"),
        "--out",
        str(tmp_path / "x"),
        *extra,
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("Kesalahan: ") and needle in err and "Traceback" not in err


def test_cli_without_incidents_exits_2(files, tmp_path, capsys) -> None:
    argv = ["backtest", "--villages", str(files / "desa.geojson"), "--out", str(tmp_path / "x"), "--lang", "en"]
    assert main(argv) == 2
    assert "incident" in capsys.readouterr().err


def test_episode_histories_move_their_hot_spots_over_time() -> None:
    grid = grid_villages(30, 30, size_deg=0.02, district_every=10)

    def busiest(history, year: int) -> set[str]:
        inc = history.incidents
        in_year = pd.to_datetime(inc["date"]).dt.year == year
        return set(inc.loc[in_year, "description"].str.split(" di ").str[-1].value_counts().index[:5])  # village

    kw = {"start": "2010-01-01", "end": "2020-12-31", "hot_spots": 6, "seed": 4}
    persistent = incident_history(grid, hot_spot_km=1.0, **kw)
    episodes = incident_history(grid, hot_spot_km=(1.0, 5.0), episode_years=2.0, **kw)
    assert len(busiest(persistent, 2011) & busiest(persistent, 2019)) >= 3
    assert len(busiest(episodes, 2011) & busiest(episodes, 2019)) <= 1


# ---------------------------------------------------------------------- accuracy (faces, issue 10)
@pytest.fixture(scope="module")
def demo_bt():
    layers = pipeline.load()
    return bt.Backtest.from_layers(layers, stages=["all", "voting"]).fit()


@pytest.mark.parametrize("stage", ["all", "voting"])
def test_accuracy_figures_are_those_of_the_metrics(demo_bt, stage):
    acc = bt.accuracy(demo_bt, stage)
    m = demo_bt.metrics_
    m = m[m["stage"] == stage]
    hits = m[(m["metric"] == "hit_rate_villages") & (m["k"] == 20.0)]
    per = hits.pivot(index="cutoff", columns="method", values="value").dropna(subset=["riskmap"])
    assert acc["measured"] and acc["stage"] == stage and acc["k"] == 20.0
    for method in bt.METHODS:
        assert acc["hit_rate"][method] == pytest.approx(per[method].median())
    assert acc["hit_rate"]["random"] == pytest.approx(0.2)
    assert acc["windows"] == len(per) == 3  # the demo's windows 2019-2022 hold no incident
    assert (acc["first_cutoff"], acc["last_cutoff"], acc["last_end"]) == ("2017-12-01", "2023-12-01", "2024-12-01")
    assert acc["window"] == "12M"
    tests = m[m["metric"] == "test_incidents"].set_index("cutoff")["value"]
    assert acc["test_incidents"] == int(tests.loc[per.index].sum()) > 0
    wins = demo_bt.wins()
    wins = wins[(wins["stage"] == stage) & (wins["metric"] == "hit_rate_villages")].set_index("baseline")["wins"]
    assert acc["wins"] == {b: int(wins[b]) for b in bt.BASELINES}
    best = max(("count", "decay", "kde"), key=lambda b: acc["hit_rate"][b])
    assert acc["best_baseline"] == best


def test_accuracy_of_a_saved_run_is_the_same(demo_bt):
    saved = json.loads(json.dumps(demo_bt.to_dict(), default=str))
    for stage in ("all", "voting"):
        assert bt.accuracy(saved, stage) == bt.accuracy(demo_bt, stage)
    with pytest.raises(bt.RiskmapInputError) as err:  # a stage the run did not measure
        bt.accuracy(saved, "recap")
    assert err.value.code == "bt_stage_not_run"


def test_accuracy_says_why_it_could_not_be_measured():
    layers = pipeline.load()
    with pytest.raises(bt.RiskmapInputError) as err:
        bt.Backtest.from_layers(layers, cutoffs=["2030-01-01"]).fit()
    acc = bt.accuracy(err.value, "voting")
    assert acc == {
        "measured": False,
        "stage": "voting",
        "reason": "bt_no_test_incidents",
        "params": err.value.params,
        "message": {"id": err.value.message("id"), "en": err.value.message("en")},
    }
    assert bt.accuracy(None)["reason"] == "not_run"
    other = bt.accuracy(bt.RiskmapInputError("bt_bad_window", value="x"))  # any other error keeps its message
    assert other["reason"] == "bt_bad_window" and "x" in other["message"]["en"]


def test_region_incidents_sit_at_their_own_kecamatan_even_when_names_repeat() -> None:
    grid = grid_villages(20, 10, size_deg=0.02, district_every=10)
    # two kab/kota, each with kecamatan named like the other's (names repeat across Indonesia)
    grid["WADMKC"] = np.where(np.arange(len(grid)) % 100 < 50, "Kota Lama", "Oebobo")
    grid["WADMKK"] = np.where(np.arange(len(grid)) < 100, "Kota Kupang", "Kabupaten Kupang")
    grid = grid.drop(columns=["kecamatan", "kab_kota"])
    inc = incident_history(grid, precision_mix=(0.0, 0.0, 1.0), background_per_year=200, seed=2).incidents
    points = set(zip(inc["lon"], inc["lat"], strict=True))
    assert len(points) == 4  # one centre per (kab/kota, kecamatan), not one per name
