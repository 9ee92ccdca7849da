"""Staffing arithmetic against Polri's worked example, and guard groups on the demo."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from riskmap import pipeline
from riskmap._errors import RiskmapInputError
from riskmap.config import load_config
from riskmap.deploy import Pattern, guard_groups, pattern_totals
from riskmap.joins import haversine_m


def test_polres_kupang_pemilu_2024():
    """927 / 107 / 42 TPS with 2 police per 11 TPS, 2-2-4 and 2-1-2: 360 police, 2,152 Linmas (DOMAIN.md 4)."""
    cfg = load_config(overrides={"staffing": {"patterns": {"kurang_rawan": "2-11"}}})
    table = pattern_totals({"kurang_rawan": 927, "rawan": 107, "sangat_rawan": 42}, cfg).set_index("category")
    assert table.loc["kurang_rawan", ["police", "linmas"]].tolist() == [169, 1854]
    assert table.loc["rawan", ["police", "linmas"]].tolist() == [107, 214]
    assert table.loc["sangat_rawan", ["police", "linmas"]].tolist() == [84, 84]
    assert table.loc["total", ["tps", "police", "linmas"]].tolist() == [1076, 360, 2152]


def test_older_patterns_are_configuration():
    # Pemilu 2019: 2-4-6 / 4-2-8 / 6-2-8
    cfg = load_config(
        overrides={"staffing": {"patterns": {"kurang_rawan": "2-4-6", "rawan": "4-2-8", "sangat_rawan": "6-2-8"}}}
    )
    table = pattern_totals({"kurang_rawan": 10, "rawan": 10, "sangat_rawan": 3}, cfg).set_index("category")
    assert table.loc["kurang_rawan", ["police", "linmas"]].tolist() == [5, 15]
    assert table.loc["rawan", ["police", "linmas"]].tolist() == [20, 40]
    assert table.loc["sangat_rawan", ["police", "linmas"]].tolist() == [9, 12]


def test_user_file_with_the_old_category_keys_still_works(tmp_path):
    """riskmap 0.1 files wrote the categories with a space ("sangat rawan"); they mean today's ids."""
    path = tmp_path / "old.toml"
    path.write_text('[staffing.patterns]\n"sangat rawan" = "6-2-8"\n[staffing.venues]\n"kurang rawan" = 7\n')
    cfg = load_config(path)
    assert cfg.data["staffing"]["patterns"]["sangat_rawan"] == "6-2-8"
    assert cfg.data["staffing"]["venues"]["kurang_rawan"] == 7
    assert set(cfg.data["staffing"]["patterns"]) == {"kurang_rawan", "rawan", "sangat_rawan", "khusus"}


@pytest.mark.parametrize("text", ["2", "2-0", "a-b", "2--4", "-1-2"])
def test_bad_pattern_is_a_clear_error(text):
    with pytest.raises(RiskmapInputError) as err:
        Pattern.parse(text)
    assert text in err.value.message("en") and "A-B-C" in err.value.message("en")


def test_guard_groups_on_the_demo():
    result = pipeline.run()
    cfg = result.config
    tps = result.tps
    groups = guard_groups(tps, "voting", cfg)
    assert len(groups) == len(tps) and groups["group"].notna().all()  # every TPS in exactly one group
    walk = cfg.data["staffing"]["walking_distance_m"]
    limits = {"kurang_rawan": 8, "rawan": 2, "sangat_rawan": 1, "khusus": 1}
    for label, members in groups.groupby("group"):
        cat = members["category"].iloc[0]
        assert (members["category"] == cat).all()
        assert len(members) <= limits[cat]
        pts = tps.loc[members.index].geometry
        for a, b in itertools.combinations(range(len(pts)), 2):
            d = haversine_m(
                np.array([pts.iloc[a].x]),
                np.array([pts.iloc[a].y]),
                np.array([pts.iloc[b].x]),
                np.array([pts.iloc[b].y]),
            )[0]
            assert d <= walk + 1.0, label
        assert members["police"].sum() == pytest.approx(2.0)  # each pattern here has A = 2
    assert set(groups.loc[tps["ind_lokasi_khusus"], "category"]) == {"khusus"}  # the two prison TPS
    # grouping never needs fewer police than the planning arithmetic
    counts = groups["category"].value_counts().to_dict()
    planned = pattern_totals(counts, cfg).set_index("category").loc["total", "police"]
    assert groups["police"].sum() >= planned - 1e-9
    assert groups["linmas"].sum() == pytest.approx(2 * len(tps))


@pytest.fixture(scope="module")
def demo():
    return pipeline.run()


def test_full_plan_meets_every_pattern(demo):
    from riskmap.deploy import staffing_plan

    plan, summary = staffing_plan(demo.tps, "voting", demo.config)
    assert summary["tps_below_pattern"] == 0
    assert plan["police"].sum() == pytest.approx(plan["police_required"].sum())
    assert summary["linmas"]["required"] == 2 * len(demo.tps)


@pytest.mark.parametrize(("police", "linmas"), [(187, 1024), (60, 300), (0, 0)])
def test_shortage_serves_the_riskiest_first_and_never_exceeds(demo, police, linmas):
    from riskmap.deploy import staffing_plan

    plan, summary = staffing_plan(demo.tps, "voting", demo.config, police=police, linmas=linmas)
    assert plan["police"].sum() <= police + 1e-6
    assert plan["linmas"].sum() <= linmas + 1e-6
    # guard groups are served riskiest first: every group kept at full pattern has a riskiest TPS
    # at least as risky as the riskiest TPS of every group left without police
    groups = plan.groupby("group").agg(
        risk=("risk_voting", "max"), got=("police", "sum"), need=("police_required", "sum")
    )
    full = groups[groups["got"] >= groups["need"] - 1e-9]
    zero = groups[groups["got"] <= 1e-9]
    if len(full) and len(zero):
        assert full["risk"].min() >= zero["risk"].max() - 1e-9
    assert summary["tps_below_pattern"] == int(((plan["police_short"] > 0) | (plan["linmas_short"] > 0)).sum())
    if police:
        top = plan["risk_voting"].idxmax()
        assert plan.loc[top, "police"] == pytest.approx(plan.loc[top, "police_required"])


def test_cli_deploy_writes_plan(tmp_path):
    import json

    import geopandas as gpd

    from riskmap.cli import main

    assert main(["deploy", "--stage", "voting", "--police", "187", "--out", str(tmp_path)]) == 0
    plan = gpd.read_file(tmp_path / "deployment.geojson")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert len(plan) == 552 and plan["group"].notna().all()
    assert summary["police"]["assigned"] <= 187 + 1e-6
    assert (tmp_path / "per_kecamatan.csv").read_text().count("\n") == 7  # header + 6 kecamatan


def test_cli_deploy_with_posts(tmp_path):
    import json

    import geopandas as gpd

    from riskmap.cli import main

    assert main(["deploy", "--stage", "voting", "--posts", "8", "--radius-km", "1.5", "--out", str(tmp_path)]) == 0
    posts = gpd.read_file(tmp_path / "posts.geojson")
    summary = json.loads((tmp_path / "summary.json").read_text())["posts"]
    assert len(posts) == 8 == summary["posts_chosen"] and summary["mode"] == "maximal covering"
    assert summary["solves"][0]["solution"] in ("Optimal Solution Found", "Solution Found")
    plan = gpd.read_file(tmp_path / "deployment.geojson")
    assert int(plan["covered"].sum()) == summary["tps_covered"]
    assert main(["deploy", "--stage", "counting", "--set-cover", "--out", str(tmp_path / "sc")]) == 0
    sc = json.loads((tmp_path / "sc" / "summary.json").read_text())["posts"]
    assert sc["mode"] == "set covering" and sc["high_risk_uncovered"] == []


def test_campaign_patrol_priorities_and_hot_spots(demo):
    from riskmap.deploy import patrol_priorities

    pri, hot = patrol_priorities(demo)
    assert len(pri) == 51 and list(pri["rank"]) == list(range(1, 52))
    assert pri["risk_campaign"].is_monotonic_decreasing
    weights = demo.model.incident_weights_["campaign"]
    inc = demo.layers.incidents
    pinned = (inc["village_code"] != "") & (weights.reindex(inc.index) > 0)
    assert hot["incidents"].sum() == int(pinned.sum())  # every campaign incident in exactly one hot spot
    assert hot["weight"].sum() == pytest.approx(weights.reindex(inc.index)[pinned].sum(), rel=1e-3)
    assert pri.set_index("village_code")["hotspots"].sum() == len(hot)


def test_recap_venues_from_file_and_placed(demo):
    from riskmap import demo as files
    from riskmap.deploy import PLACED_INTERIOR, recap_venues
    from riskmap.io.points import read_points

    venues, _ = read_points(files.ELECTION_OFFICES, "venues")
    table = recap_venues(demo, venues[["name", "kind", "district", "geometry"]], demo.config)
    assert len(table) == 7 and set(table["kind"]) == {"kpu", "ppk"}
    kpu = table[table["kind"] == "kpu"].iloc[0]
    # the KPU office counts every TPS: its TPS term is the voter-weighted mean of all recap scores
    tps = demo.tps
    expected = np.average(tps["risk_recap"], weights=tps["voters"])
    assert kpu["tps_risk"] == pytest.approx(expected, abs=0.01)
    vcfg = demo.config.data["staffing"]["venues"]
    assert kpu["police_suggested"] == vcfg[kpu["level_recap"]] * vcfg["kpu_multiplier"]
    placed = recap_venues(demo, None, demo.config)
    assert PLACED_INTERIOR == "kecamatan_interior_point"  # a snake_case id in the data; i18n gives its label
    assert len(placed) == 6 and (placed["placed"] == PLACED_INTERIOR).all()
    assert set(placed["district"]) == set(demo.villages["district"])


def test_surplus_police_become_reserves_where_risk_is(demo):
    from riskmap.deploy import propose_reserves
    from riskmap.joins import haversine_m
    from riskmap.posts import candidate_sites

    sites = candidate_sites(demo.villages, demo.layers.posts)
    reserves = propose_reserves(demo.tps, sites, "voting", 11.0, demo.config)
    assert len(reserves) == 5 and (reserves["police"] == 2).all()  # floor(11 / 2) teams of 2
    t = demo.tps
    d = haversine_m(
        t.geometry.x.to_numpy()[:, None],
        t.geometry.y.to_numpy()[:, None],
        sites.geometry.x.to_numpy()[None, :],
        sites.geometry.y.to_numpy()[None, :],
    )
    best = (t["risk_voting"].to_numpy()[:, None] * (d <= 2000.0)).sum(axis=0).max()
    assert reserves["risk_reached"].iloc[0] == pytest.approx(best, abs=0.01)
    assert propose_reserves(demo.tps, sites, "voting", 1.0, demo.config).empty


def _whole(value) -> bool:
    return float(value) == int(value)


@pytest.mark.parametrize(("police", "linmas"), [(None, None), (187, 1024), (61.7, 300.5)])
def test_every_personnel_number_is_a_whole_person_and_totals_add_up(demo, police, linmas):
    """Issue 12, defect 7: police per TPS and per kecamatan came out as 0.4 and 7.27."""
    from riskmap.deploy import area_totals, staffing_plan

    plan, summary = staffing_plan(demo.tps, "voting", demo.config, police=police, linmas=linmas)
    people = ["police_required", "linmas_required", "police", "linmas", "police_short", "linmas_short"]
    for col in people:
        assert plan[col].dtype.kind == "i", col
        assert (plan[col] >= 0).all(), col
    for by in ("village_code", "district"):
        table = area_totals(plan, by)
        for col in ("police", "linmas", "police_required", "linmas_required"):
            assert table[col].dtype.kind == "i", (by, col)
            assert table[col].sum() == plan[col].sum()
    # a group's persons are its pattern's A police, spread over its TPS as whole persons
    groups = plan.groupby("group")["police_required"].sum()
    assert (groups == 2).all()
    cats = summary["categories"]
    for key in ("required", "assigned"):
        assert isinstance(summary["police"][key], int) and isinstance(summary["linmas"][key], int)
    assert sum(c["police_required_by_groups"] for c in cats.values()) == summary["police"]["required"]
    assert sum(c["police_assigned"] for c in cats.values()) == summary["police"]["assigned"]
    assert sum(c["linmas_assigned"] for c in cats.values()) == summary["linmas"]["assigned"]
    assert all(_whole(v) for c in cats.values() for k, v in c.items() if k != "pattern")
    if police is not None:
        assert summary["police"]["available"] == int(police) and summary["linmas"]["available"] == int(linmas)
        assert summary["police"]["assigned"] <= int(police)
        assert summary["linmas"]["assigned"] <= int(linmas)
    assert all(_whole(r["police_short"]) and _whole(r["linmas_short"]) for r in summary["below_pattern"])


def test_rounding_rule_is_configuration(demo):
    from riskmap.deploy import staffing_plan, whole_people

    assert whole_people(2, 5).tolist() == [1, 1, 0, 0, 0]
    assert whole_people(2, 5, "tps").tolist() == [1, 1, 1, 1, 1]
    assert whole_people(4, 2).tolist() == [2, 2]
    cfg = load_config(overrides={"deploy": {"rounding": "tps"}})
    plan, _ = staffing_plan(demo.tps, "voting", cfg)
    assert (plan["police_required"] >= 1).all()  # someone at every TPS
    assert plan["police_required"].dtype.kind == "i"
    with pytest.raises(RiskmapInputError) as err:
        staffing_plan(demo.tps, "voting", load_config(overrides={"deploy": {"rounding": "half"}}))
    assert "half" in err.value.message("id") and "group, tps" in err.value.message("id")


def test_cli_deploy_prints_and_writes_whole_people(tmp_path, capsys):
    import json

    import pandas as pd

    from riskmap.cli import main

    assert main(["deploy", "--stage", "voting", "--police", "150.5", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    numbers = [float(x) for x in re.findall(r"(?<![\w.])\d+\.\d+(?![\w.])", out.split("->")[0])]
    assert not [x for x in numbers if not x.is_integer()], out  # no fractional person on the screen
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["police"]["assigned"] <= 150 and isinstance(summary["police"]["required"], int)
    for name in ("per_kecamatan.csv", "per_village.csv"):
        table = pd.read_csv(tmp_path / name, encoding="utf-8-sig")
        for col in ("police", "linmas", "police_required", "linmas_required"):
            assert table[col].dtype.kind == "i", (name, col)
    kec = pd.read_csv(tmp_path / "per_kecamatan.csv", encoding="utf-8-sig")
    assert kec["police"].sum() == summary["police"]["assigned"]
    assert kec["police_required"].sum() == summary["police"]["required"]


def test_tables_to_show_are_in_the_chosen_language(demo):
    """Issue 12, defect 5: the summary rows (police_required_by_groups) and the recap venue table (name, kind,
    "kecamatan interior point") reached the Indonesian page as they are in the data."""
    from riskmap import demo as files
    from riskmap.deploy import (
        patrol_priorities,
        priority_table,
        recap_venues,
        staffing_plan,
        summary_table,
        venue_table,
    )
    from riskmap.io.points import read_points

    _, summary = staffing_plan(demo.tps, "voting", demo.config)
    ids = summary_table(summary, "id")
    assert "Polisi dibutuhkan kelompok jaga" in ids.index and "police_required_by_groups" not in ids.index
    assert list(ids.columns)[:3] == ["Kurang rawan", "Rawan", "Sangat rawan"] and "Lokasi khusus" in ids.columns
    assert ids.loc["Polisi dibutuhkan kelompok jaga"].sum() == summary["police"]["required"]
    assert "Police required by the guard groups" in summary_table(summary, "en").index
    placed = venue_table(recap_venues(demo, None, demo.config), "id")
    assert list(placed.columns)[:4] == ["tempat rekapitulasi", "jenis", "kecamatan", "letak"]
    assert set(placed["letak"]) == {"titik tengah kecamatan (tanpa file tempat)"}
    assert set(placed["jenis"]) == {"PPK (kecamatan)"}
    assert placed["skor"].is_monotonic_decreasing
    venues, _ = read_points(files.ELECTION_OFFICES, "venues")
    table = venue_table(recap_venues(demo, venues[["name", "kind", "district", "geometry"]], demo.config), "en")
    assert {"KPU (kab/kota office)", "PPK (kecamatan office)"} == set(table["kind"])
    assert set(table["location"]) == {"from the venue file"}
    assert set(table["category"]) <= {"Low risk", "Vulnerable", "Highly vulnerable"}
    priorities = priority_table(patrol_priorities(demo)[0], "id", cell_m=500.0)
    assert list(priorities.columns)[:2] == ["peringkat", "kode"] and "sel padat insiden (500 m)" in priorities


_ENGLISH = re.compile(
    r"\b(required|assigned|reserves?|teams?|posts?|chosen|covered|uncovered|proven|below|pattern|hot "
    r"spots?|as-of|score|police)\b",
    re.I,
)


@pytest.mark.parametrize("stage", ["voting", "campaign", "recap"])
def test_cli_deploy_speaks_indonesian(tmp_path, capsys, stage):
    """Issue 12, defect 5: the lines ``riskmap deploy`` prints were English only."""
    from riskmap.cli import main
    from riskmap.testing import grid_villages, incident_rows, tps_rows

    villages = grid_villages()
    villages.to_file(tmp_path / "desa.geojson")
    tps_rows(villages).to_csv(tmp_path / "tps.csv", index=False)
    incident_rows(villages, [(0, "supporter_clash", "2024-11-20"), (4, "money_politics", "2024-10-01")]).to_csv(
        tmp_path / "insiden.csv", index=False
    )
    inputs = ["--villages", str(tmp_path / "desa.geojson"), "--tps", str(tmp_path / "tps.csv")]
    inputs += ["--incidents", str(tmp_path / "insiden.csv")]
    extra = ["--police", "60", "--posts", "2", "--time-limit", "5"] if stage == "voting" else []
    for lang in ("id", "en"):
        out = tmp_path / lang
        assert main(["deploy", *inputs, "--stage", stage, *extra, "--lang", lang, "--out", str(out)]) == 0
        printed = capsys.readouterr().out
        said = "\n".join(line for line in printed.splitlines() if not line.startswith("->"))
        if lang == "id":
            assert not _ENGLISH.search(said), said
            assert {"voting": "ditugaskan", "campaign": "skor", "recap": "polisi"}[stage] in said
        else:
            assert _ENGLISH.search(said), said


# -- issue 12, build 4: one deployment plan for every face ------------------------------------------------------


def _moved_tps_result(tmp_path, demo_result):
    """The demo with as many TPS, every one moved to the place of another TPS (other positions, same count)."""
    import pandas as pd

    from riskmap import demo as files

    frame = pd.read_csv(files.TPS, dtype=str)
    lat, lon = (
        [c for c in frame.columns if c.lower() in ("lat", "latitude")],
        [c for c in frame.columns if c.lower() in ("lon", "lng", "longitude")],
    )
    order = np.argsort(frame[lat[0]].astype(float).to_numpy())  # the southernmost 100 TPS' places, in turn
    src = order[np.arange(len(frame)) % 100]
    frame[lat[0]] = frame[lat[0]].to_numpy()[src]
    frame[lon[0]] = frame[lon[0]].to_numpy()[src]
    path = tmp_path / "tps_moved.csv"
    frame.to_csv(path, index=False)
    moved = pipeline.run(files.VILLAGES, path, files.INCIDENTS, posts=files.POSTS)
    assert len(moved.tps) == len(demo_result.tps)
    return moved


def test_plan_key_follows_the_data_not_the_tps_count(demo, tmp_path):
    """Issue 12, defect 11: the cache key was the configuration digest plus the TPS count."""
    from riskmap.deploy import PlacementRequest, plan, plan_key

    moved = _moved_tps_result(tmp_path, demo)
    ask = {"placement": PlacementRequest(8, 1500.0)}
    assert plan_key(demo, "voting", **ask) != plan_key(moved, "voting", **ask)
    assert plan_key(demo, "voting", **ask) == plan_key(pipeline.run(), "voting", **ask)  # same data, same key
    assert plan_key(demo, "voting", **ask) != plan_key(demo, "counting", **ask)
    a, b = plan(demo, "voting", **ask), plan(moved, "voting", **ask)
    assert a.key == plan_key(demo, "voting", **ask)
    assert set(a.placed_posts["site_id"]) != set(b.placed_posts["site_id"])


def test_filters_apply_to_staffing_and_posts_alike(demo):
    """The app staffed the filtered TPS but placed posts over all TPS."""
    from riskmap.config import CATEGORIES
    from riskmap.deploy import PlacementRequest, plan
    from riskmap.view import ViewFilter

    district = sorted(set(demo.villages["district"]))[0]
    for flt in (ViewFilter(districts=(district,)), ViewFilter(levels=CATEGORIES[1:])):
        p = plan(demo, "voting", filters=flt, available_police=400, placement=PlacementRequest(3, 1500.0))
        staffed = set(p.staffing["tps_id"])
        assert staffed == set(p.placement.tps["tps_id"]) and len(staffed) < len(demo.tps)
        assert p.placement.summary["tps_total"] == len(staffed)
        if flt.districts:
            assert set(p.staffing["district"]) == {district}
        else:
            assert set(p.staffing["level_voting"]) <= set(CATEGORIES[1:])
        assert len(p.reserves) and p.per_district["tps"].sum() == len(staffed)  # reserves of the same TPS


def test_plan_uses_candidate_sites_and_reserves(demo, tmp_path):
    """The app ignored the candidate-site file and never proposed reserves."""
    import pandas as pd

    from riskmap import demo as files
    from riskmap.deploy import PlacementRequest, plan

    tps = demo.tps.sort_values("risk_voting", ascending=False).head(5)
    pd.DataFrame(
        {
            "id": [f"C{i}" for i in range(5)],
            "nama": [f"Calon {i}" for i in range(5)],
            "lat": tps.geometry.y,
            "lon": tps.geometry.x,
        }
    ).to_csv(tmp_path / "calon.csv", index=False)
    result = pipeline.run(
        files.VILLAGES, files.TPS, files.INCIDENTS, posts=files.POSTS, candidate_sites=tmp_path / "calon.csv"
    )
    p = plan(result, "voting", available_police=500, placement=PlacementRequest(2, 1500.0))
    assert set(p.candidate_sites["site_id"]) == {f"C{i}" for i in range(5)}
    assert set(p.placed_posts["site_id"]) <= {f"C{i}" for i in range(5)} and len(p.placed_posts) == 2
    surplus = 500 - p.summary["police"]["required"]
    assert len(p.reserves) == surplus // result.config.data["staffing"]["reserve_team"]
    assert set(p.reserves["site_id"]) <= {f"C{i}" for i in range(5)}


def test_people_are_whole_in_every_plan_table(demo):
    from riskmap.deploy import PlacementRequest, plan

    p = plan(demo, "counting", available_police=200, placement=PlacementRequest(4, 2000.0))
    for table in (p.per_village, p.per_district, p.per_regency):
        assert all(table[c].dtype.kind == "i" for c in ("police", "linmas", "police_required", "linmas_required"))
    assert p.per_regency["police"].sum() == p.summary["police"]["assigned"] <= 200


def test_plan_is_the_same_for_cli_and_printer(demo, tmp_path):
    """CLI output numbers == printed numbers for the demo voting stage (the app's: tests/test_app.py)."""
    import json

    import pandas as pd

    from riskmap import printing
    from riskmap.cli import main
    from riskmap.deploy import PlacementRequest, plan

    expected = plan(demo, "voting", available_police=187, placement=PlacementRequest(8, 1500.0))
    assert main(["deploy", "--stage", "voting", "--police", "187", "--posts", "8", "--radius-km", "1.5",
                 "--out", str(tmp_path)]) == 0  # fmt: skip
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["police"] == expected.summary["police"] and summary["linmas"] == expected.summary["linmas"]
    assert summary["categories"] == expected.summary["categories"]
    assert (
        summary["posts"]["posts_chosen"] == 8
        and summary["posts"]["tps_covered"] == (expected.placement.summary["tps_covered"])
    )
    kec = pd.read_csv(tmp_path / "per_kecamatan.csv", encoding="utf-8-sig")
    assert kec["police"].tolist() == expected.per_district["police"].tolist()
    assert (tmp_path / "per_kabkota.csv").exists()
    # the printer, given the plan, writes its numbers per TPS
    opts = printing.PrintOptions(stages=["voting"], tables=True, deployment=expected)
    staff = printing._staffing(demo, printing.make_view(demo, "voting"), opts)
    assert staff is expected.staffing
    assert opts.chosen_posts is not None and len(opts.chosen_posts) == 8 and opts.post_radius_m == 1500.0


def test_time_limit_is_reported_with_the_gap():
    """A placement stopped at its time limit says so, with the gap to the LP bound, in both languages."""
    import geopandas as gpd

    from riskmap.deploy import solver_status
    from riskmap.posts import place_posts

    rng = np.random.default_rng(3)
    n, m = 2500, 400
    tps = gpd.GeoDataFrame(
        {
            "tps_id": [f"T{i}" for i in range(n)],
            "village_name": "X",
            "district": "D",
            "risk_voting": rng.uniform(1, 100, n),
            "level_voting": "rawan",
        },
        geometry=gpd.points_from_xy(123.5 + rng.uniform(0, 0.5, n), -10.3 + rng.uniform(0, 0.5, n)),
        crs=4326,
    )
    sites = gpd.GeoDataFrame(
        {"site_id": [f"S{j}" for j in range(m)], "name": "s", "kind": "village"},
        geometry=gpd.points_from_xy(123.5 + rng.uniform(0, 0.5, m), -10.3 + rng.uniform(0, 0.5, m)),
        crs=4326,
    )
    placed = place_posts(tps, sites, "voting", radius_m=4000, p=60, time_limit_s=0.01, max_pairs=10**9)
    s = placed.summary
    assert s["time_limit_reached"] and not s["all_proven_optimal"] and 0 < s["gap"] < 1
    assert s["solves"][0]["outcome"] == "time_limit" and s["solves"][0]["solution"] in ("Solution Found", "greedy")
    assert s["solves"][0]["seconds"] < 5  # the solver stops near its limit (plus start-up and the LP bound)
    assert "batas waktu 0.01 detik" in solver_status(s, "id") and "time limit of 0.01 s" in solver_status(s, "en")
    assert f"{s['gap']:.1%}" in solver_status(s, "id")
    assert placed.placed_posts.shape[0] == 60
