"""Who may see what (riskmap/app/auth.py): the policy, and the login page run by AppTest on a real SQLite store."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from riskmap.app import auth
from riskmap.store import Role, Store

ROOT = Path(__file__).parents[1]
APP = str(ROOT / "app.py")
PASSWORD = "kata-sandi-uji-123"


# -- the policy ----------------------------------------------------------------------------------------------------
def test_the_app_binds_to_this_machine_by_default():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    assert auth.is_loopback(config["server"]["address"])
    assert config["client"]["toolbarMode"] == "minimal"


@pytest.mark.parametrize(
    ("address", "env", "network"),
    [
        ("127.0.0.1", {}, False),
        ("localhost", {}, False),
        ("::1", {}, False),
        ("0.0.0.0", {}, True),
        ("10.1.2.3", {}, True),
        (None, {}, True),  # Streamlit's default: every interface
        ("", {}, True),
        ("127.0.0.1", {"RISKMAP_SERVE": "network"}, True),
        ("127.0.0.1", {"RISKMAP_SERVE": " Network "}, True),
        ("127.0.0.1", {"RISKMAP_SERVE": "local"}, False),
    ],
)
def test_on_network(address, env, network):
    assert auth.on_network(address, env) is network


@pytest.mark.parametrize(
    ("ip", "headers", "local"),
    [
        (None, {}, True),  # Streamlit gives None for a loopback peer
        ("127.0.0.1", {}, True),
        ("192.168.1.20", {}, False),
        ("2001:db8::1", {}, False),
        (None, {"X-Forwarded-For": "192.168.1.20"}, False),  # a proxy on this machine forwards others
        (None, {"Forwarded": "for=10.0.0.5"}, False),
        (None, {"x-real-ip": "10.0.0.5"}, False),
        (None, {"Host": "localhost:8501", "User-Agent": "x"}, True),
    ],
)
def test_client_is_local(ip, headers, local):
    assert auth.client_is_local(ip, headers) is local


def test_login_is_required_unless_local_alone_without_accounts():
    assert auth.login_required(network=False, local_client=True, has_users=False) is False
    for network, local, users in [(True, True, False), (False, False, False), (False, True, True), (True, False, True)]:
        assert auth.login_required(network, local, users) is True


def test_roles_each_may_what_the_one_before_may():
    assert [r.value for r in Role] == list(auth.ROLES)
    table = {
        "viewer": {"map"},
        "officer": {"map", "log"},
        "planner": {"map", "log", "upload", "verify", "unverified", "plan", "export", "print"},
        "admin": set(auth.PERMISSIONS),
    }
    for role, allowed in table.items():
        assert {p for p in auth.PERMISSIONS if auth.may(role, p)} == allowed
    assert not auth.may("root", "map") and not auth.may("admin", "anything")


def test_session_expiry():
    assert not auth.expired(1000.0, 1000.0 + 8 * 3600, 8.0)
    assert auth.expired(1000.0, 1000.0 + 8 * 3600 + 1, 8.0)


# -- the page (AppTest runs app.py; the store is a real SQLite file) -----------------------------------------------
@pytest.fixture
def office_db(db_url, monkeypatch) -> str:
    """A store on SQLite and on PostgreSQL (conftest's ``db_url``) with one account per role, used by the app."""
    url = db_url
    store = Store.open(url)
    for name, role in {"vera": "viewer", "oscar": "officer", "paula": "planner", "adi": "admin"}.items():
        store.add_user(name, PASSWORD, role)
    store.close()
    monkeypatch.setenv("RISKMAP_DB", url)
    return url


def _components(at: AppTest) -> list[dict]:
    found = []

    def walk(node):
        for child in getattr(node, "children", {}).values():
            walk(child)
        if type(node).__name__ == "UnknownElement" and node.type == "component_instance":
            found.append(json.loads(node.proto.json_args))

    walk(at._tree)
    return found


def _login(at: AppTest, name: str, password: str = PASSWORD) -> AppTest:
    at.text_input(key="login_name").input(name)
    at.text_input(key="login_password").input(password)
    return at.button[0].click().run()


def test_with_accounts_the_login_page_comes_first_and_holds_no_data(office_db):
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert at.title[0].value == "Masuk ke riskmap"
    assert _components(at) == [] and not at.dataframe and not at.tabs
    assert [r.label for r in at.sidebar.radio] == ["Bahasa / Language"]  # no data, stage or upload choice
    _login(at, "paula", "salah-sekali")
    assert any("kata sandi salah" in e.value for e in at.error)
    assert _components(at) == []
    _login(at, "paula")
    assert not at.exception
    assert at.title[0].value == "Peta Kerawanan Pilkada"
    assert len(_components(at)) == 1
    assert any("paula" in m.value for m in at.sidebar.markdown)


def test_a_viewer_gets_no_upload_no_plan_no_exports(office_db):
    at = _login(AppTest.from_file(APP, default_timeout=120).run(), "vera")
    assert not at.exception
    pages = at.sidebar.radio(key="page").options
    assert pages == ["Peta kerawanan", "Peringatan dini"]
    assert "source" not in [r.key for r in at.sidebar.radio]
    assert [t.label for t in at.tabs] == ["Peringkat kelurahan", "Peringkat TPS", "Perubahan antar tahapan"]
    assert "unverified" not in [t.key for t in at.sidebar.toggle]


def test_each_role_gets_its_pages(office_db):
    expected = {
        "oscar": ["Peta kerawanan", "Peringatan dini", "Catat insiden"],
        "paula": ["Peta kerawanan", "Peringatan dini", "Catat insiden", "Verifikasi insiden", "Penempatan Personel"],
        "adi": [
            "Peta kerawanan",
            "Peringatan dini",
            "Catat insiden",
            "Verifikasi insiden",
            "Penempatan Personel",
            "Kelola pengguna",
        ],
    }
    for name, pages in expected.items():
        at = _login(AppTest.from_file(APP, default_timeout=120).run(), name)
        assert not at.exception
        assert at.sidebar.radio(key="page").options == pages, name


def test_an_idle_session_expires(office_db):
    at = _login(AppTest.from_file(APP, default_timeout=120).run(), "paula")
    assert at.title[0].value == "Peta Kerawanan Pilkada"
    held = at.session_state["_riskmap_auth"]
    held["last"] -= 8 * 3600 + 5  # 8 hours and 5 seconds without activity
    at.session_state["_riskmap_auth"] = held
    at.run()
    assert at.title[0].value == "Masuk ke riskmap"
    assert any("berakhir" in i.value for i in at.info)
    assert _components(at) == []


def test_logout_and_a_disabled_account(office_db):
    at = _login(AppTest.from_file(APP, default_timeout=120).run(), "vera")
    at.sidebar.button(key="logout").click().run()
    assert at.title[0].value == "Masuk ke riskmap" and _components(at) == []
    _login(at, "oscar")
    assert at.title[0].value == "Peta Kerawanan Pilkada"
    Store.open(office_db).disable_user("oscar")  # takes effect at the next action
    at.run()
    assert at.title[0].value == "Masuk ke riskmap"


def test_repeated_failures_lock_the_name_with_a_plain_message(office_db):
    at = AppTest.from_file(APP, default_timeout=120).run()
    for _ in range(4):
        _login(at, "paula", "salah-sekali")
        assert any("kata sandi salah" in e.value for e in at.error)
    _login(at, "paula", "salah-sekali")  # the fifth failure in 15 minutes ([store] login_max_failures)
    assert any("Terlalu banyak percobaan gagal" in e.value for e in at.error)
    _login(at, "paula")  # the right password, but the name is locked for now
    assert at.title[0].value == "Masuk ke riskmap" and _components(at) == []
    assert any("Terlalu banyak percobaan gagal" in e.value for e in at.error)


def test_login_is_audited(office_db):
    _login(AppTest.from_file(APP, default_timeout=120).run(), "paula")
    log = Store.open(office_db).audit_log()
    assert ("paula", "login") in set(zip(log["user"], log["action"], strict=True))


def test_sso_button_only_when_configured(office_db):
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert "login_sso" not in [b.key for b in at.button]
    at = AppTest.from_file(APP, default_timeout=120)
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "x" * 32,
        "client_id": "riskmap",
        "client_secret": "s",
        "server_metadata_url": "http://localhost:9/.well-known/openid-configuration",
    }
    at.run()
    assert not at.exception
    assert "login_sso" in [b.key for b in at.button]
    assert any(b.label == "Masuk dengan akun kantor (SSO)" for b in at.button)


def test_local_mode_without_accounts_runs_as_planner(tmp_path, monkeypatch):
    monkeypatch.setenv("RISKMAP_DB", f"sqlite:///{tmp_path / 'empty.sqlite'}")
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert at.title[0].value == "Peta Kerawanan Pilkada"
    assert "Penempatan Personel" in at.sidebar.radio(key="page").options
    assert any("Mode lokal" in c.value for c in at.sidebar.caption)


def test_served_on_the_network_login_is_required_even_without_accounts(tmp_path, monkeypatch):
    monkeypatch.setenv("RISKMAP_DB", f"sqlite:///{tmp_path / 'empty.sqlite'}")
    monkeypatch.setenv("RISKMAP_SERVE", "network")
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert at.title[0].value == "Masuk ke riskmap" and _components(at) == []
    assert any("riskmap users add" in i.value for i in at.info)  # how to create the first admin
