"""The office's pages (riskmap/app/office_page.py): incident form, verification, alerts, users.

AppTest runs app.py on a real SQLite store.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import shapely
from streamlit.testing.v1 import AppTest

from riskmap import pipeline
from riskmap._errors import RiskmapInputError
from riskmap.alerts import surges
from riskmap.app.office_page import alert_table, check_point, parse_point, village_point
from riskmap.mapping import alert_markers, build_map
from riskmap.store import Store
from riskmap.view import ViewFilter, make_view

APP = str(Path(__file__).parents[1] / "app.py")
PASSWORD = "kata-sandi-uji-123"


@pytest.fixture(scope="module")
def demo_result() -> pipeline.Result:
    return pipeline.score(pipeline.load(demo_data=True))


# -- pure helpers ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "-10.1725, 123.6070",
        "-10,1725; 123,6070",
        "10°10'21\" LS 123°36'25\" BT",
        "https://www.google.com/maps/@-10.1725,123.6070,17z",
        "geo:-10.1725,123.6070",
    ],
)
def test_typed_point_reads_as_the_tps_files(text, demo_result):
    lat, lon = parse_point(text, demo_result.layers.area)
    assert lat == pytest.approx(-10.1725, abs=2e-3) and lon == pytest.approx(123.607, abs=2e-3)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("123.6070, -10.1725", "swapped_coordinates"),
        ("-101725, 1236070", "lost_decimal_point"),
        ("-6.2, 106.8", "outside_study_area"),  # Jakarta: not in Kota Kupang
        ("di dekat pasar", "unparseable_coordinates"),
        ("-10.1725", "unparseable_coordinates"),  # one value
        ("https://maps.app.goo.gl/abc", "unparseable_coordinates"),
    ],
)
def test_bad_typed_point_says_why(text, code, demo_result):
    with pytest.raises(RiskmapInputError) as info:
        parse_point(text, demo_result.layers.area)
    assert info.value.code == code
    assert "{" not in info.value.message("id")


def test_clicked_point_outside_the_area_is_refused(demo_result):
    check_point(-10.17, 123.6, demo_result.layers.area)
    with pytest.raises(RiskmapInputError) as info:
        check_point(-8.6, 116.1, demo_result.layers.area)  # Lombok
    assert info.value.code == "outside_study_area"


def test_village_point_lies_in_its_village(demo_result):
    v = demo_result.villages
    for code in v["village_code"].iloc[::10]:
        lat, lon = village_point(v, code)
        assert v[v["village_code"] == code].geometry.iloc[0].contains(shapely.Point(lon, lat))


def test_map_shows_the_pin_and_the_alerts(demo_result):
    r = demo_result
    alerts = surges(r.layers.incidents, r.villages, as_of=r.as_of, config=r.config)
    assert len(alerts), "the demo has surges as of its last day"
    marks = alert_markers(alerts, r.as_of, lang="id")
    assert len(marks) == len(alerts) and set(marks["level"]) == {"district", "regency"}
    assert marks["label"].str.contains("Kecamatan|Kab/Kota").all()
    view = make_view(r, "campaign", ViewFilter())
    html = build_map(view, r.config, pin=(-10.17, 123.6), alerts=marks).get_root().render()
    assert html.count("rm-alert-district") == (marks["level"] == "district").sum()
    assert html.count("rm-alert-regency") == (marks["level"] == "regency").sum()
    assert "rm-pin" in html and "[-10.17, 123.6]" in html
    plain = build_map(view, r.config).get_root().render()
    assert "rm-pin" not in plain and "rm-alert" not in plain


def test_alert_table_names_its_columns(demo_result):
    r = demo_result
    table = alert_table(surges(r.layers.incidents, r.villages, as_of=r.as_of, config=r.config), "id")
    assert "insiden 7 hari terakhir" in table.columns and "wilayah" in table.columns
    assert set(table["tingkat wilayah"]) <= {"kecamatan", "kab/kota"}


# -- pages (AppTest, real SQLite) --------------------------------------------------------------------------------
@pytest.fixture
def office_db(db_url, monkeypatch) -> str:
    """A store on SQLite and on PostgreSQL (conftest's ``db_url``) with one account per role, used by the app."""
    url = db_url
    store = Store.open(url)
    for name, role in {"oscar": "officer", "paula": "planner", "adi": "admin"}.items():
        store.add_user(name, PASSWORD, role)
    store.close()
    monkeypatch.setenv("RISKMAP_DB", url)
    return url


def _as(name: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.text_input(key="login_name").input(name)
    at.text_input(key="login_password").input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    return at


def _map_script(at: AppTest) -> str:
    nodes = []

    def walk(node):
        for child in getattr(node, "children", {}).values():
            walk(child)
        if type(node).__name__ == "UnknownElement" and node.type == "component_instance":
            nodes.append(json.loads(node.proto.json_args)["script"])

    walk(at._tree)
    return "".join(nodes)


def test_officer_logs_by_typed_coordinates_and_sees_the_entry(office_db):
    at = _as("oscar")
    at.sidebar.radio(key="page").set_value("log").run()
    at.radio(key="log_where").set_value("coords").run()
    at.text_input(key="log_coords").input("-10.1725, 123.6070")
    at.date_input(key="log_date").set_value(dt.date(2024, 12, 1))
    at.time_input(key="log_time").set_value(dt.time(14, 30))
    at.selectbox(key="log_type").set_value("protest")
    at.radio(key="log_sev").set_value(3)
    at.text_area(key="log_desc").input("Unjuk rasa di kantor PPK")
    at.button(key="FormSubmitter:log_form-Simpan insiden").click().run()
    assert not at.exception
    assert any("Tersimpan" in s.value for s in at.success)
    logged = Store.open(office_db).incidents(status=None)
    assert len(logged) == 1
    row = logged.iloc[0]
    assert (row["type"], int(row["severity"]), row["author"], row["status"]) == ("protest", 3, "oscar", "unverified")
    assert str(row["date"])[:10] == "2024-12-01" and row["time"] == "14:30" and row["precision"] == "exact"
    assert row["lat"] == pytest.approx(-10.1725) and row["lon"] == pytest.approx(123.607)
    mine = at.dataframe[-1].value
    assert list(mine["keterangan"]) == ["Unjuk rasa di kantor PPK"] and list(mine["status"]) == ["belum diverifikasi"]


def test_bad_coordinates_are_explained_and_nothing_is_saved(office_db):
    at = _as("oscar")
    at.sidebar.radio(key="page").set_value("log").run()
    at.radio(key="log_where").set_value("coords").run()
    at.text_input(key="log_coords").input("123.6070, -10.1725")
    at.button(key="FormSubmitter:log_form-Simpan insiden").click().run()
    assert any("tertukar" in e.value for e in at.error)
    at.radio(key="log_where").set_value("map").run()
    at.button(key="FormSubmitter:log_form-Simpan insiden").click().run()
    assert any("Lokasi belum ada" in w.value for w in at.warning)
    assert len(Store.open(office_db).incidents(status=None)) == 0


def test_village_picked_by_name_is_saved_at_its_interior_point(office_db):
    at = _as("oscar")
    at.sidebar.radio(key="page").set_value("log").run()
    at.radio(key="log_where").set_value("village").run()
    at.selectbox(key="log_village").set_value("53.71.01.1001")
    at.button(key="FormSubmitter:log_form-Simpan insiden").click().run()
    assert not at.exception
    row = Store.open(office_db).incidents(status=None).iloc[0]
    villages = pipeline.load(demo_data=True).villages
    assert (
        villages[villages["village_code"] == "53.71.01.1001"]
        .geometry.iloc[0]
        .contains(shapely.Point(row["lon"], row["lat"]))
    )
    assert row["precision"] == "near"


def test_planner_verifies_and_the_next_load_scores_it(office_db):
    store = Store.open(office_db)
    villages = pipeline.load(demo_data=True).villages
    code = "53.71.01.1001"
    pt = villages[villages["village_code"] == code].geometry.iloc[0].representative_point()
    ids = [
        store.add_incident(
            date="2024-12-02", lat=pt.y, lon=pt.x, type="protest", severity=2, author="oscar", description=f"uji {k}"
        )
        for k in range(3)
    ]
    at = _as("paula")
    before = _map_script(at)
    at.sidebar.radio(key="page").set_value("verify").run()
    assert len(at.multiselect(key="verify_pick").options) == 3
    at.multiselect(key="verify_pick").set_value(ids[:2])
    at.button(key="verify_reject").click().run()
    assert any("alasan" in w.value.lower() for w in at.warning)  # a rejection needs a reason
    at.button(key="verify_ok").click().run()
    assert any("2 insiden: terverifikasi" in s.value for s in at.success)
    assert set(store.incidents(status=("verified",))["incident_id"]) == set(ids[:2])
    at.sidebar.radio(key="page").set_value("risk").run()
    after = _map_script(at)
    assert after != before  # the map was scored again, without a restart
    assert any("2 insiden dari log basis data" in c.value for c in at.caption)
    assert "uji 0" in after and "uji 2" not in after  # verified in, unverified out
    at.sidebar.toggle(key="unverified").set_value(True).run()
    assert "uji 2" in _map_script(at)
    log = store.audit_log()
    assert {"incident_add", "incident_verify"} <= set(log["action"])


def test_admin_adds_and_disables_a_user(office_db):
    at = _as("adi")
    at.sidebar.radio(key="page").set_value("users").run()
    at.text_input(key="ua_name").input("bawaslu1")
    at.selectbox(key="ua_role").set_value("viewer")
    at.text_input(key="ua_pw1").input("rahasia-panjang-1")
    at.text_input(key="ua_pw2").input("rahasia-panjang-1")
    at.button(key="FormSubmitter:user_add-Tambah pengguna").click().run()
    assert not at.exception
    assert any("bawaslu1" in s.value for s in at.success)
    store = Store.open(office_db)
    user = store.authenticate("bawaslu1", "rahasia-panjang-1")
    assert user is not None and user.role.value == "viewer"
    at.selectbox(key="ud_name").set_value("bawaslu1")
    at.button(key="FormSubmitter:user_disable-Nonaktifkan pengguna").click().run()
    assert store.authenticate("bawaslu1", "rahasia-panjang-1") is None
    assert {"user_add", "user_disable"} <= set(store.audit_log()["action"])


def test_every_text_of_the_app_is_in_both_languages():
    import re

    from riskmap import i18n
    from riskmap.app.auth import ROLES

    source = "".join(p.read_text() for p in (Path(APP).parent / "riskmap" / "app").glob("*.py"))
    keys = set(re.findall(r"\btr\(\s*\"([a-z0-9_]+)\"\s*[,)]", source))
    keys |= {f"where_{k}" for k in ("map", "coords", "village")} | {f"sev_{s}" for s in (1, 2, 3)}
    keys |= {f"role_{r}" for r in ROLES} | {f"status_{s}" for s in ("unverified", "verified", "rejected")}
    keys |= {f"page_{p}" for p in ("risk", "alerts", "log", "verify", "deploy", "users")}
    keys |= {f"level_{v}" for v in ("district", "regency")}
    assert len(keys) > 80
    missing = sorted(k for k in keys if "app." + k not in i18n.MESSAGES)
    assert missing == []
    for k in keys:
        entry = i18n.MESSAGES["app." + k]
        assert entry["id"].strip() and entry["en"].strip(), k
