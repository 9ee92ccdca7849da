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


# --------------------------------------------------------------------------
# Databases (riskmap/store): every database test runs on SQLite and on PostgreSQL + PostGIS.
# The PostgreSQL server comes from scripts/test_postgres.sh (started by .ci/run), named by RISKMAP_TEST_PG;
# each test gets its own database copied from it. Without RISKMAP_TEST_PG the PostgreSQL half is skipped,
# except in CI (CI=true), where it fails.
# --------------------------------------------------------------------------
import os  # noqa: E402
import uuid  # noqa: E402


def _pg_database(base: str) -> tuple[str, object]:
    """A fresh database (a copy of the test server's, PostGIS installed) and a function that drops it."""
    import psycopg
    import sqlalchemy as sa

    url = sa.engine.make_url(base)
    name = "t_" + uuid.uuid4().hex[:12]
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """URL of an empty database: a SQLite file in tmp_path, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'riskmap.sqlite'}"
        return
    base = os.environ.get("RISKMAP_TEST_PG", "").strip()
    if not base:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but RISKMAP_TEST_PG is not set: the PostgreSQL tests must run in CI")
        pytest.skip('RISKMAP_TEST_PG not set (start a server: eval "$(bash scripts/test_postgres.sh start)")')
    url, drop = _pg_database(base)
    yield url
    drop()
