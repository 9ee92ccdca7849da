"""Staffing arithmetic against Polri's worked example, and guard groups on the demo."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from riskmap import pipeline
from riskmap._errors import RiskmapInputError
from riskmap.config import load_config
from riskmap.deploy import Pattern, guard_groups, pattern_totals
from riskmap.joins import haversine_m


def test_polres_kupang_pemilu_2024():
    """927 / 107 / 42 TPS with 2 police per 11 TPS, 2-2-4 and 2-1-2: 360 police, 2,152 Linmas (DOMAIN.md 4)."""
    cfg = load_config(overrides={"staffing": {"patterns": {"kurang rawan": "2-11"}}})
    table = pattern_totals({"kurang rawan": 927, "rawan": 107, "sangat rawan": 42}, cfg).set_index("category")
    assert table.loc["kurang rawan", ["police", "linmas"]].tolist() == [169, 1854]
    assert table.loc["rawan", ["police", "linmas"]].tolist() == [107, 214]
    assert table.loc["sangat rawan", ["police", "linmas"]].tolist() == [84, 84]
    assert table.loc["total", ["tps", "police", "linmas"]].tolist() == [1076, 360, 2152]


def test_older_patterns_are_configuration():
    # Pemilu 2019: 2-4-6 / 4-2-8 / 6-2-8
    cfg = load_config(
        overrides={"staffing": {"patterns": {"kurang rawan": "2-4-6", "rawan": "4-2-8", "sangat rawan": "6-2-8"}}}
    )
    table = pattern_totals({"kurang rawan": 10, "rawan": 10, "sangat rawan": 3}, cfg).set_index("category")
    assert table.loc["kurang rawan", ["police", "linmas"]].tolist() == [5, 15]
    assert table.loc["rawan", ["police", "linmas"]].tolist() == [20, 40]
    assert table.loc["sangat rawan", ["police", "linmas"]].tolist() == [9, 12]


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
    limits = {"kurang rawan": 8, "rawan": 2, "sangat rawan": 1, "khusus": 1}
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
