"""The store on SQLite and PostgreSQL: versions, moderation, append-only log, accounts, backup, migrations."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from riskmap.config import load_config
from riskmap.store import Role, Store, StoreError
from riskmap.store import _schema as schema

ROOT = Path(__file__).resolve().parents[1]
FAST = load_config(overrides={"store": {"argon2_time_cost": 1, "argon2_memory_kib": 8192, "login_delay_s": 0.0}})


def _store(url: str) -> Store:
    return Store.open(url, config=FAST)


def _add(store: Store, **over: object) -> str:
    spec = {"date": "2024-11-20", "lat": -10.17, "lon": 123.60, "type": "protest", "author": "ani", **over}
    return store.add_incident(**spec)


def test_versions_moderation_history(db_url):
    with _store(db_url) as store:
        assert store.revision() == Store.head_revision() == "0002"
        from alembic.config import Config as AlembicConfig
        from alembic.script import ScriptDirectory

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(ROOT / "riskmap" / "store" / "migrations"))
        assert ScriptDirectory.from_config(cfg).get_current_head() == Store.head_revision()
        token = store.last_change()
        first = _add(store, severity=2, description="demo di kantor KPU", time="14:30")
        assert store.last_change() != token
        other = _add(store, type="politik uang", author="budi")  # an Indonesian name of the type
        assert store.incidents().empty  # nothing verified yet
        store.edit_incident(first, author="ani", why="lokasi diperbaiki", lat=-10.18)
        store.set_status([first, other], "verified", author="citra", why="dicek di lapangan")
        token = store.last_change()
        store.set_status(other, "rejected", author="citra")
        assert store.last_change() != token
        now = store.incidents()
        assert list(now["incident_id"]) == [first]
        row = now.iloc[0]
        assert (row.lat, row.severity, row.status, row.author, row.version, row.time) == (
            -10.18,
            2,
            "verified",
            "ani",
            3,
            "14:30",
        )
        assert list(store.incidents(status="rejected")["type"]) == ["money_politics"]
        assert list(store.incidents(status=None, author="budi")["incident_id"]) == [other]
        hist = store.history(first)
        assert list(hist["version"]) == [1, 2, 3]
        assert list(hist["author"]) == ["ani", "ani", "citra"]
        assert list(hist["why"]) == ["", "lokasi diperbaiki", "dicek di lapangan"]
        assert list(hist["lat"]) == [-10.17, -10.18, -10.18]
        store.delete_incident(first, author="citra", why="ganda")
        assert store.incidents().empty
        gone = store.incidents(include_deleted=True)
        assert list(gone["deleted"]) == [True] and gone.iloc[0].version == 4
        assert store.count_versions() == 4 + 3  # nothing overwritten: every change a version
        actions = list(store.audit_log()["action"])
        assert actions.count("incident_add") == 2 and "incident_verify" in actions and "incident_delete" in actions


def test_bad_fields_are_refused_with_a_message(db_url):
    with _store(db_url) as store:
        for over, field in (
            ({"lat": 95}, "lat"),
            ({"lon": float("nan")}, "lon"),
            ({"date": "kemarin"}, "date"),
            ({"date": "1850-01-01"}, "date"),
            ({"severity": 4}, "severity"),
            ({"time": "25:99"}, "time"),
        ):
            with pytest.raises(StoreError) as err:
                _add(store, **over)
            assert err.value.code == "store_bad_field_value" and err.value.params["field"] == field
            assert field in err.value.message("id")
        with pytest.raises(StoreError, match="taxonomy"):
            _add(store, type="alien landing")
        first = _add(store)
        with pytest.raises(StoreError) as err:
            store.edit_incident(first, author="ani", why="", severity=2)
        assert err.value.code == "store_why_required"
        with pytest.raises(StoreError) as err:
            store.set_status(["no-such-id"], "verified", author="ani")
        assert err.value.code == "store_no_such_incident"
        assert store.count_versions() == 1  # the failed calls wrote nothing


@pytest.mark.parametrize("table", ["incident_versions", "audit_log"])
def test_append_only_enforced_by_the_database(db_url, table):
    with _store(db_url) as store:
        _add(store)
        for sql in (
            f"UPDATE {table} SET author = 'x'" if table != "audit_log" else f"UPDATE {table} SET action='x'",
            f"DELETE FROM {table}",
        ):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), store._write() as conn:
                conn.execute(sa.text(sql))
        if store.dialect == "postgresql":
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), store._write() as conn:
                conn.execute(sa.text(f"TRUNCATE {table}"))
        assert store.count_versions() == 1 and len(store.audit_log()) == 1


def test_passwords_hashed_wrong_refused_disabled_refused(db_url, tmp_path):
    secret = "Kupang-Rahasia-2024"
    with _store(db_url) as store:
        store.add_user("ani", secret, Role.PLANNER)
        store.add_user("dodi", "another-pass-1", "viewer")
        assert store.authenticate("ani", secret) == store.users()[0]
        assert store.authenticate("ani", secret).role is Role.PLANNER
        assert store.authenticate("ani", secret + "x") is None
        assert store.authenticate("nobody", secret) is None
        assert store.authenticate("ani", "") is None
        store.disable_user("dodi")
        assert store.authenticate("dodi", "another-pass-1") is None
        with pytest.raises(StoreError) as err:
            store.add_user("ani", "whatever-123", "admin")
        assert err.value.code == "store_user_exists"
        with pytest.raises(StoreError):
            store.add_user("eko", "short", "viewer")
        with pytest.raises(StoreError):
            store.add_user("eko", "long-enough-1", "superuser")
        log = store.audit_log()
        assert list(log["action"]).count("login") == 2 and list(log["action"]).count("login_failed") == 4
        with store._read() as conn:  # the clear password is nowhere in the database
            dump = json.dumps([[list(r) for r in conn.execute(sa.select(t)).all()] for t in schema.TABLES], default=str)
            hashes = [h for (h,) in conn.execute(sa.text("SELECT password_hash FROM users")).all()]
        assert secret not in dump and all(h.startswith("$argon2id$") for h in hashes)
        if store.dialect == "sqlite":
            path = Path(sa.engine.make_url(db_url).database)
            raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))  # with the -wal file
            assert secret.encode() not in raw and b"$argon2id$" in raw


def test_repeated_failures_lock_the_name(db_url):
    with _store(db_url) as store:
        store.add_user("ani", "right-password", "officer")
        for _ in range(5):
            assert store.authenticate("ani", "wrong") is None
        assert store.locked_until("ani") is not None
        assert store.authenticate("ani", "right-password") is None  # refused while locked
        assert store.locked_until("budi") is None
        assert store.audit_log()["detail"].iloc[-1] == "locked"


def test_backup_restore_round_trip_across_databases(db_url, tmp_path):
    src_url = f"sqlite:///{tmp_path / 'source.sqlite'}"
    with _store(src_url) as src:
        src.add_user("ani", "right-password", "admin")
        ids = [_add(src, description=f"kejadian {k} «ü»", time="08:05" if k else None) for k in range(5)]
        src.set_status(ids[:3], "verified", author="ani")
        src.edit_incident(ids[0], author="ani", why="typo", severity=3)
        src.authenticate("ani", "wrong")
        src.audit("ani", "print", {"pages": 4})
        before = {t.name: _rows(src, t) for t in schema.TABLES}
        counts = src.backup(tmp_path / "b.jsonl")
    assert counts == {k: len(v) for k, v in before.items()}
    with _store(db_url) as dst:
        assert dst.restore(tmp_path / "b.jsonl") == counts
        after = {t.name: _rows(dst, t) for t in schema.TABLES}
        assert after == before
        pd.testing.assert_frame_equal(
            dst.incidents(status=None), Store.open(src_url, config=FAST).incidents(status=None)
        )
        assert dst.authenticate("ani", "right-password") is not None
        dst.audit("ani", "export")  # ids continue after the restored ones
        with pytest.raises(StoreError) as err:
            dst.restore(tmp_path / "b.jsonl")
        assert err.value.code == "store_restore_not_empty"
        dst.restore(tmp_path / "b.jsonl", force=True)
        assert {t.name: _rows(dst, t) for t in schema.TABLES} == before
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), dst._write() as conn:
            conn.execute(sa.text("DELETE FROM audit_log"))  # the triggers are back after a forced restore
        (tmp_path / "cut.jsonl").write_text("".join((tmp_path / "b.jsonl").read_text().splitlines(True)[:-2]))
        with pytest.raises(StoreError) as err:
            dst.restore(tmp_path / "cut.jsonl", force=True)
        assert err.value.code == "store_backup_bad"
        assert {t.name: _rows(dst, t) for t in schema.TABLES} == before


def _rows(store: Store, table: sa.Table) -> list[tuple]:
    with store._read() as conn:
        rows = conn.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
    out = []
    for r in rows:
        out.append(tuple(v.replace(tzinfo=None) if isinstance(v, dt.datetime) else v for v in r))
    return out


def test_upgrade_from_the_first_migration_keeps_the_log(db_url):
    from alembic import command
    from alembic.config import Config as AlembicConfig

    store = Store.open(db_url, config=FAST, migrate=False)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(ROOT / "riskmap" / "store" / "migrations"))
    with store._write() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    assert store.revision() == "0001"
    with store._write() as conn:
        for k in range(3):
            conn.execute(
                schema.incident_versions.insert().values(
                    incident_id=f"old-{k}",
                    version=1,
                    date=dt.date(2024, 2, 10),
                    time=None,
                    type="hoax",
                    severity=1,
                    lat=-10.15 - k / 100,
                    lon=123.6,
                    precision="exact",
                    description="lama",
                    source="app",
                    status="verified",
                    author="ani",
                    via="app",
                    why="",
                    logged_at=dt.datetime(2024, 2, 10, 3),
                    deleted=False,
                )
            )
        conn.execute(
            schema.audit_log.insert().values(at=dt.datetime(2024, 2, 10, 3), user="ani", action="login", detail="")
        )
    store.close()
    with _store(db_url) as store:  # opening migrates
        assert store.revision() == "0002"
        assert list(store.incidents()["incident_id"]) == ["old-0", "old-1", "old-2"]
        assert len(store.audit_log()) == 1
        if store.dialect == "postgresql":  # the PostGIS point was computed for the rows already there
            with store._read() as conn:
                got = conn.execute(sa.text("SELECT ST_Y(geom), ST_SRID(geom) FROM incident_versions ORDER BY 1")).all()
            assert [(round(y, 4), srid) for y, srid in got] == [(-10.17, 4326), (-10.16, 4326), (-10.15, 4326)]


_WRITER = """
import sys, time
from riskmap.config import load_config
from riskmap.store import Store
store = Store.open(sys.argv[1])
with store._write() as conn:
    from riskmap.store import _schema as s
    import datetime as dt
    conn.execute(s.incident_versions.insert().values(
        incident_id="half", version=1, date=dt.date(2024, 2, 10), time=None, type="hoax", severity=1, lat=-10.1,
        lon=123.6, precision="exact", description="", source="", status="verified", author="x", via="cli", why="",
        logged_at=dt.datetime.now(dt.UTC), deleted=False))
    conn.execute(s.audit_log.insert().values(at=dt.datetime.now(dt.UTC), user="x", action="incident_add", detail=""))
    print("inside", flush=True)
    time.sleep(120)
"""


def test_writer_killed_mid_transaction_leaves_no_partial_row(db_url):
    with _store(db_url) as store:
        _add(store)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, db_url], stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert proc.stdout.readline().strip() == "inside"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        proc.kill()
    t0 = time.monotonic()
    with _store(db_url) as store:
        assert list(store.incidents(status=None)["author"]) == ["ani"]
        assert store.history("half").empty and len(store.audit_log()) == 1
        _add(store, author="after")  # and the database takes writes again at once
        assert store.count_versions() == 2
    assert time.monotonic() - t0 < 20


def test_default_database_is_riskmap_db_then_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("RISKMAP_DB", raising=False)
    config = load_config(overrides={"store": {"data_dir": str(tmp_path / "data"), "sqlite_file": "log.sqlite"}})
    with Store.open(None, config=config) as store:
        assert store.dialect == "sqlite" and store.url == f"sqlite:///{tmp_path / 'data' / 'log.sqlite'}"
    assert (tmp_path / "data" / "log.sqlite").exists()
    monkeypatch.setenv("RISKMAP_DB", str(tmp_path / "env.sqlite"))  # a plain path is a SQLite file
    with Store.open(config=config) as store:
        assert store.url.endswith("env.sqlite")
    assert (tmp_path / "env.sqlite").exists()
    masked = Store.open  # a password in a URL is never shown
    with pytest.raises(StoreError) as err:
        masked("postgresql://ani:s3cret@127.0.0.1:1/none", config=config)
    assert err.value.code == "store_cannot_connect" and "s3cret" not in err.value.message("en")
    assert "***" in err.value.message("en")


def test_concurrent_edits_of_one_incident_each_get_a_version(db_url):
    from concurrent.futures import ThreadPoolExecutor

    with _store(db_url) as store:
        first = _add(store)

        def edit(k: int) -> None:
            store.edit_incident(first, author=f"editor{k}", why=f"edit {k}", description=f"versi {k}")

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(edit, range(16)))
        hist = store.history(first)
    assert list(hist["version"]) == list(range(1, 18))  # no edit lost, none overwritten
    assert sorted(hist["why"][1:]) == sorted(f"edit {k}" for k in range(16))


def test_a_database_locked_too_long_is_a_plain_busy_error(tmp_path):
    import sqlite3

    url = f"sqlite:///{tmp_path / 'busy.sqlite'}"
    quick = load_config(overrides={"store": {"busy_timeout_s": 0.3}})
    Store.open(url, config=quick).close()
    other = sqlite3.connect(tmp_path / "busy.sqlite", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    try:
        with Store.open(url, config=quick) as store, pytest.raises(StoreError) as err:
            _add(store)
        assert err.value.code == "store_busy" and "Coba lagi" in err.value.message("id")
    finally:
        other.execute("ROLLBACK")
        other.close()
    with Store.open(url, config=quick) as store:
        _add(store)
        assert store.count_versions() == 1
