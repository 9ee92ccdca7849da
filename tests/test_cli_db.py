"""The database commands (riskmap db|incidents|users|audit|alerts, score --db) on SQLite and PostgreSQL."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from riskmap.store import Store
from riskmap.testing import incident_rows, run_cli, village_center

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def fast_config(tmp_path) -> str:
    path = tmp_path / "fast.toml"
    path.write_text("[store]\nargon2_time_cost = 1\nargon2_memory_kib = 8192\nlogin_delay_s = 0.0\n")
    return str(path)


def _ok(*argv: str) -> str:
    run = run_cli(list(argv))
    assert run.status == 0, run.output
    return run.stdout


_CONCURRENT = """
import os, sys, time
from pathlib import Path
from riskmap.cli import main
import riskmap.store.store  # imported before the start: the race is between writers, not imports
url, me, n, folder = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
(folder / f"ready-{me}").touch()
while not (folder / "go").exists():
    time.sleep(0.005)
bad = 0
for k in range(n):
    argv = ["incidents", "add", "--db", url, "--lat", f"{-10.2 + me / 1000:.4f}", "--lon", f"{123.6 + k / 1000:.4f}",
            "--date", "2024-11-20", "--type", "protest", "--description", f"w{me}-{k}", "--author", f"w{me}"]
    bad += main(argv) != 0
sys.exit(min(bad, 100))
"""


def test_twenty_processes_log_fifty_each_at_the_same_moment(db_url, tmp_path):
    writers, each = 20, 50
    Store.open(db_url).close()  # created (and migrated) before the rush, as `riskmap db upgrade` does
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CONCURRENT, db_url, str(i), str(each), str(tmp_path)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for i in range(writers)
    ]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("ready-*"))) < writers and time.monotonic() < deadline:
        time.sleep(0.05)
    (tmp_path / "go").touch()
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * writers, errors
    with Store.open(db_url) as store:
        logged = store.incidents(status=None)
    seen = collections.Counter(logged["description"])
    expected = {f"w{i}-{k}" for i in range(writers) for k in range(each)}
    assert set(seen) == expected and set(seen.values()) == {1}
    assert logged["incident_id"].is_unique and len(logged) == writers * each
    assert set(logged["via"]) == {"cli"} and set(logged["status"]) == {"unverified"}


def test_incident_commands_round_trip(db_url, tmp_path, villages, incidents_path):
    out = _ok(
        "incidents",
        "add",
        "--db",
        db_url,
        "--lat",
        "-10.16",
        "--lon",
        "123.6",
        "--date",
        "27/11/2024",
        "--type",
        "Bentrok massa pendukung",
        "--severity",
        "3",
        "--time",
        "21:15",
        "--author",
        "ani",
    )
    first = out.strip().split()[-1]
    run = run_cli(
        [
            "incidents",
            "add",
            "--db",
            db_url,
            "--lat",
            "200",
            "--lon",
            "123.6",
            "--date",
            "2024-11-27",
            "--type",
            "protest",
            "--lang",
            "en",
        ]
    )
    assert run.status == 2 and "lat" in run.stderr and "-90..90" in run.stderr and "Traceback" not in run.output
    out = _ok("incidents", "import", "--db", db_url, incidents_path, "--lang", "en", "--author", "budi")
    assert "5 rows read, 5 used, 0 rejected" in out and "5 incidents logged" in out
    again = _ok("incidents", "import", "--db", db_url, incidents_path, "--lang", "en")
    assert "5 rows read, 0 used, 5 rejected" in again and "INC-000 is already in the database" in again
    with Store.open(db_url) as store:
        table = store.incidents(status=None)
    assert len(table) == 6 and collections.Counter(table["via"]) == {"import": 5, "cli": 1}
    assert set(table.loc[table.via == "import", "incident_id"]) == {f"INC-{n:03d}" for n in range(5)}
    _ok("incidents", "verify", "--db", db_url, first, "INC-000", "--why", "dicek", "--author", "citra")
    _ok("incidents", "reject", "--db", db_url, "INC-001", "--author", "citra")
    run = run_cli(["incidents", "verify", "--db", db_url, "no-such-id"])
    assert run.status == 2 and "no-such-id" in run.stderr
    for suffix in ("csv", "geojson", "xlsx"):
        _ok("incidents", "export", "--db", db_url, "--status", "verified", "--out", str(tmp_path / f"v.{suffix}"))
    csv = pd.read_csv(tmp_path / "v.csv", encoding="utf-8-sig")
    assert sorted(csv["incident_id"]) == sorted([first, "INC-000"]) and set(csv["status"]) == {"verified"}
    geo = gpd.read_file(tmp_path / "v.geojson")
    assert len(geo) == 2 and geo.crs.to_epsg() == 4326
    assert len(pd.read_excel(tmp_path / "v.xlsx", sheet_name="incidents", engine="openpyxl")) == 2
    from riskmap.io.incidents import read_incidents

    back, report = read_incidents(tmp_path / "v.csv")  # the export reads back through the incident reader
    assert report.used == 2 and set(back["type"]) == {"supporter_clash"}
    run = run_cli(["incidents", "export", "--db", db_url, "--out", str(tmp_path / "v.pdf")])
    assert run.status == 2
    audit = _ok("audit", "--db", db_url, "--since", "2000-01-01")
    assert "incident_verify" in audit and "incident_reject" in audit and "export" in audit and "upload" in audit
    assert _ok("audit", "--db", db_url, "--since", "2999-01-01", "--lang", "en").strip() == (
        "The audit log is empty for this period."
    )


def test_user_commands(db_url, tmp_path, fast_config):
    pw = tmp_path / "pw.txt"
    pw.write_text("Sandi-Kuat-2024\n")
    out = _ok(
        "users",
        "add",
        "ani",
        "--role",
        "admin",
        "--password-file",
        str(pw),
        "--db",
        db_url,
        "--config",
        fast_config,
        "--lang",
        "en",
    )
    assert "User ani (admin) created." in out
    _ok(
        "users", "add", "budi", "--role", "officer", "--password-file", str(pw), "--db", db_url, "--config", fast_config
    )
    run = run_cli(["users", "add", "ani", "--role", "viewer", "--password-file", str(pw), "--db", db_url])
    assert run.status == 2 and "ani" in run.stderr
    run = run_cli(["users", "add", "eko", "--role", "viewer", "--db", db_url, "--lang", "en"])  # no terminal here
    assert run.status == 2 and "--password-file" in run.stderr
    _ok("users", "disable", "budi", "--db", db_url)
    listed = _ok("users", "list", "--db", db_url, "--lang", "en").splitlines()
    assert listed == ["ani  admin", "budi  officer  disabled"]
    with Store.open(db_url) as store:
        assert store.authenticate("ani", "Sandi-Kuat-2024") is not None
        assert store.authenticate("budi", "Sandi-Kuat-2024") is None
        assert store.authenticate("ani", "Sandi-Kuat-2025") is None


def test_db_commands_backup_restore(db_url, tmp_path):
    out = _ok("db", "upgrade", "--db", db_url, "--lang", "en")
    assert "schema 0002" in out
    for k in range(3):
        _ok(
            "incidents",
            "add",
            "--db",
            db_url,
            "--lat",
            "-10.16",
            "--lon",
            "123.6",
            "--date",
            "2024-11-27",
            "--type",
            "hoax",
            "--description",
            f"n{k}",
        )
    _ok("db", "backup", str(tmp_path / "b.jsonl"), "--db", db_url)
    target = f"sqlite:///{tmp_path / 'copy.sqlite'}"
    _ok("db", "restore", str(tmp_path / "b.jsonl"), "--db", target)
    run = run_cli(["db", "restore", str(tmp_path / "b.jsonl"), "--db", db_url, "--lang", "en"])
    assert run.status == 2 and "--force" in run.stderr
    _ok("db", "restore", str(tmp_path / "b.jsonl"), "--db", db_url, "--force")
    with Store.open(db_url) as a, Store.open(target) as b:
        pd.testing.assert_frame_equal(a.incidents(status=None), b.incidents(status=None))
    run = run_cli(["db", "upgrade", "--db", "mysql://x@y/z", "--lang", "en"])
    assert run.status == 2 and "postgresql://" in run.stderr


def _grid(tmp_path, villages) -> tuple[str, str]:
    from riskmap.testing import tps_rows

    vpath, tpath = tmp_path / "desa.geojson", tmp_path / "tps.csv"
    villages.to_file(vpath)
    tps_rows(villages).to_csv(tpath, index=False)
    return str(vpath), str(tpath)


def test_score_db_includes_verified_logged_incidents(db_url, tmp_path, villages):
    vpath, tpath = _grid(tmp_path, villages)
    ipath = tmp_path / "insiden.csv"
    incident_rows(villages, [(0, "supporter_clash", "2024-11-20")]).to_csv(ipath, index=False)
    lat, lon = village_center(villages, 4)
    with Store.open(db_url) as store:
        verified = store.add_incident(date="2024-11-25", lat=lat, lon=lon, type="protest", author="ani")
        store.set_status([verified], "verified", author="citra")
        store.add_incident(date="2024-11-26", lat=lat, lon=lon, type="protest", author="ani")  # unverified
        la0, lo0 = village_center(villages, 0)  # the file's incident, logged too: counted once
        dup = store.add_incident(date="2024-11-21", lat=la0 + 0.0015, lon=lo0, type="supporter_clash", author="ani")
        store.set_status([dup], "verified", author="citra")

    def counts(*extra: str) -> dict[int, int]:
        out = tmp_path / ("out" + "".join(extra))
        _ok(
            "score",
            "--villages",
            vpath,
            "--tps",
            tpath,
            "--incidents",
            str(ipath),
            "--as-of",
            "2024-11-30",
            "--out",
            str(out),
            *extra,
        )
        scored = gpd.read_file(out / "villages.geojson")
        report = json.loads((out / "report.json").read_text())
        return dict(
            zip(scored["village_code"].map(list(villages["kode"]).index), scored["n_incidents"], strict=True)
        ), report

    base, _ = counts()
    assert base[4] == 0 and base[0] == 1
    with_db, report = counts("--db", db_url)
    assert with_db[4] == 1 and with_db[0] == 1  # the verified one in; the duplicate counted once
    logged = report["layers"]["logged_incidents"] if "layers" in report else report["logged_incidents"]
    assert logged["read"] == 2 and logged["used"] == 1
    assert logged["rejected_by_reason"] == {"logged_matches_file": 1}
    with_all, _ = counts("--db", db_url, "--include-unverified")
    assert with_all[4] == 2 and with_all[0] == 1


def test_alerts_command_exit_status(db_url, tmp_path, villages):
    vpath, _ = _grid(tmp_path, villages)
    lat, lon = village_center(villages, 4)
    with Store.open(db_url) as store:
        rows = [
            {"date": f"2024-10-{d:02d}", "lat": lat, "lon": lon, "type": "protest", "status": "verified"}
            for d in range(1, 29, 7)
        ]  # one a week
        store.add_incidents(rows, author="ani")
    run = run_cli(["alerts", "--db", db_url, "--villages", vpath, "--as-of", "2024-11-01", "--lang", "en"])
    assert run.status == 0 and "No incident surge" in run.stdout
    with Store.open(db_url) as store:
        rows = [{"date": "2024-10-30", "lat": lat, "lon": lon, "type": "protest", "status": "verified"}] * 3
        store.add_incidents(rows, author="ani")
    run = run_cli(["alerts", "--db", db_url, "--villages", vpath, "--as-of", "2024-11-01", "--lang", "en"])
    assert run.status == 1, run.output
    assert "EARLY WARNING as of 2024-11-01: 2 areas surging." in run.stdout
    assert "Kecamatan 2" in run.stdout and "Kota Uji" in run.stdout
    assert "3 incidents in the last 7 days, 3.0x the weekly mean 1.0" in run.stdout


@pytest.mark.parametrize("second", ["Sandi-Kuat-2024", "Sandi-Lain-2024"])
def test_users_add_asks_the_password_twice_on_the_terminal(db_url, tmp_path, fast_config, second):
    import pty

    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "riskmap", "users", "add", "eko", "--role", "officer", "--db", db_url,
         "--config", fast_config, "--lang", "en"],
        stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True,
    )  # fmt: skip
    os.close(slave)
    seen = b""
    for answer in ("Sandi-Kuat-2024", second):
        while b"assword" not in seen.split(b"\n")[-1]:
            chunk = os.read(master, 1024)
            assert chunk, seen
            seen += chunk
        os.write(master, answer.encode() + b"\n")
        seen += b"\n"
    proc.wait(60)
    try:
        while chunk := os.read(master, 4096):
            seen += chunk
    except OSError:  # the terminal closed with the process
        pass
    os.close(master)
    text = seen.decode(errors="replace")
    assert "Password for eko" in text and "Type the password again" in text
    assert "Sandi-Kuat-2024" not in text  # not echoed
    with Store.open(db_url) as store:
        if second == "Sandi-Kuat-2024":
            assert proc.returncode == 0 and "User eko (officer) created." in text
            assert store.user("eko").role.value == "officer"
        else:
            assert proc.returncode == 2 and "the two passwords typed differ" in text
            assert store.user("eko") is None
