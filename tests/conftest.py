"""Shared fixtures: small real-shaped layers written to real files."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from riskmap.testing import grid_villages, incident_rows, tps_rows


@pytest.fixture
def villages() -> gpd.GeoDataFrame:
    """3 x 3 grid of ~1.1 km square villages near Kupang, Kemendagri schema."""
    return grid_villages()


@pytest.fixture
def villages_path(tmp_path, villages) -> str:
    path = tmp_path / "desa.geojson"
    villages.to_file(path)
    return str(path)


@pytest.fixture
def tps_frame(villages) -> pd.DataFrame:
    """One clean TPS at the centre of each village, KPU codes, text coordinates."""
    return tps_rows(villages)


@pytest.fixture
def tps_path(tmp_path, tps_frame) -> str:
    path = tmp_path / "tps.csv"
    tps_frame.to_csv(path, index=False)
    return str(path)


@pytest.fixture
def incidents_path(tmp_path, villages) -> str:
    frame = incident_rows(
        villages,
        [
            (0, "supporter_clash", "2024-11-20"),
            (0, "supporter_clash", "2024-10-01"),
            (4, "protest", "2024-11-28"),
            (8, "money_politics", "2024-11-26"),
            (8, "apk_vandalism", "2024-10-15"),
        ],
    )
    path = tmp_path / "insiden.csv"
    frame.to_csv(path, index=False)
    return str(path)


# --------------------------------------------------------------------------
# Hypothesis profiles for the fuzz suite (tests/test_fuzz_*.py, marker "fuzz").
# "ci" (default): 60 examples per test (about 650 generated examples and 85
# fixed cases across the suite, 2-3 minutes on 2 cores), derandomized so that a
# CI run is reproducible. "long": 2000 random examples per test, shrinking
# failures: pytest -m fuzz --hypothesis-profile long (by hand).
# Slow tests take a fraction of max_examples (hostile.scaled).
# --------------------------------------------------------------------------
from hypothesis import HealthCheck, Phase, settings  # noqa: E402

_FUZZ_HEALTH = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large]
_FUZZ = {"deadline": None, "suppress_health_check": _FUZZ_HEALTH, "print_blob": True}
# ci does not shrink: a failing test would spend minutes shrinking; the falsifying example is printed as found
# (rerun with --hypothesis-profile long, or with the printed @reproduce_failure blob, for a minimal one).
_NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target)
settings.register_profile(
    "ci", max_examples=60, report_multiple_bugs=False, phases=_NO_SHRINK, derandomize=True, **_FUZZ
)
settings.register_profile("long", max_examples=2000, **_FUZZ)
settings.load_profile("ci")
