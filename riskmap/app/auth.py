"""Who may see what: the login page, sessions, roles and the local-only mode.

The policy (pure functions, no Streamlit): the app binds to 127.0.0.1 by
default. It is *on the network* when the server listens on another address
(``--server.address 0.0.0.0``) or when ``RISKMAP_SERVE=network`` is set (also
behind a reverse proxy on the same machine). Login is required when the app is
on the network, when a visitor's connection does not come from this machine
(or came through a proxy), or once any account exists. Only on this machine
alone with no account yet does the app run as a *local planner* (the README's
demo command). Nothing of the data is computed before this gate lets the
session through: the login page sends no map, plan or upload widget.

Roles (issue 11): viewer (map, explanations, rankings) < officer (+ log
incidents, see their own) < planner (+ upload, verify, personnel plan,
export, print) < admin (+ manage users).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import streamlit as st

from riskmap.app import md_escape, tr
from riskmap.config import Config

ROLES: tuple[str, ...] = ("viewer", "officer", "planner", "admin")
"""Roles, least allowed first: each may everything the one before it may."""

PERMISSIONS: dict[str, str] = {
    "map": "viewer",
    "log": "officer",
    "upload": "planner",
    "verify": "planner",
    "unverified": "planner",
    "plan": "planner",
    "export": "planner",
    "print": "planner",
    "users": "admin",
}
"""What each permission needs (the least role that has it)."""

SERVE_ENV = "RISKMAP_SERVE"
"""Environment variable: ``network`` means the app is served on the network (login always required)."""

PROXY_HEADERS = ("x-forwarded-for", "x-real-ip", "forwarded", "x-forwarded-host")
"""Request headers that show a connection came through a proxy (so not from this machine's browser)."""

_SESSION_KEY = "_riskmap_auth"
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Access:
    """The session's user.

    Attributes
    ----------
    name
        Account name (``""`` for the local planner without an account).
    role
        One of :data:`ROLES`.
    local
        True for the local planner (this machine, no account yet).
    """

    name: str
    role: str
    local: bool = False

    def may(self, permission: str) -> bool:
        """Whether this role has ``permission`` (a key of :data:`PERMISSIONS`)."""
        return may(self.role, permission)

    @property
    def author(self) -> str:
        """Name written to the incident log and the audit log."""
        return self.name or "local"


def may(role: str, permission: str) -> bool:
    """Whether ``role`` has ``permission``; an unknown role or permission has nothing."""
    need = PERMISSIONS.get(permission)
    if need is None or role not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(need)


def is_loopback(address: str | None) -> bool:
    """Whether a bind or client address is this machine only (``127.0.0.0/8``, ``::1``, ``localhost``).

    An empty bind address means every interface (Streamlit's default): not loopback.
    """
    if address is None:
        return False
    value = str(address).strip().strip("[]")
    if value.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(value).is_loopback
    except ValueError:
        return False


def on_network(bind_address: str | None, env: Mapping[str, str] | None = None) -> bool:
    """Whether the app is served beyond this machine: bound to a non-loopback address or ``RISKMAP_SERVE=network``."""
    env = os.environ if env is None else env
    if str(env.get(SERVE_ENV, "")).strip().lower() == "network":
        return True
    return not is_loopback(bind_address)


def client_is_local(ip_address: str | None, headers: Mapping[str, str] | None) -> bool:
    """Whether the visitor's browser runs on this machine.

    ``ip_address`` is Streamlit's ``st.context.ip_address`` (the TCP peer of
    the page's websocket, None for a loopback peer); a proxy header makes any
    connection remote (a proxy on this machine forwards other machines).
    """
    if ip_address is not None and not is_loopback(ip_address):
        return False
    lowered = {str(k).lower() for k in (headers or {})}
    return not any(h in lowered for h in PROXY_HEADERS)


def login_required(network: bool, local_client: bool, has_users: bool) -> bool:
    """The policy: no login only on this machine alone, with no account yet."""
    return network or not local_client or has_users


def expired(last_seen: float, now: float, idle_hours: float) -> bool:
    """Whether a session idle since ``last_seen`` (seconds since the epoch) has ended at ``now``."""
    return now - last_seen > idle_hours * 3600.0


def role_label(role: str, lang: str) -> str:
    """The role's name for the reader."""
    return tr("role_" + role, lang) if role in ROLES else role


# -- Streamlit ---------------------------------------------------------------------------------------------------
def _bind_address() -> str | None:
    value = st.get_option("server.address")
    return None if value in (None, "") else str(value)


def _client() -> tuple[str | None, dict[str, str]]:
    try:
        headers = dict(st.context.headers)
    except Exception:  # no request (a script run)
        headers = {}
    ip = st.context.ip_address
    # a real connection's peer is a string (or None for loopback); Streamlit's AppTest has no connection
    return (ip if isinstance(ip, str) else None), headers


def _sso_configured() -> bool:
    """Whether ``.streamlit/secrets.toml`` has an ``[auth]`` section (OIDC for ``st.login``)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def _idle_hours(config: Config) -> float:
    return float(config.data.get("app", {}).get("session_idle_hours", 8.0))


def _has_users(store: Any) -> bool:
    return store is not None and len(store.users()) > 0


def gate(store: Any, store_error: str | None, config: Config, lang: str) -> Access | None:
    """Let the session through, or draw the login page and return None (the caller draws nothing else).

    ``store`` is the opened :class:`riskmap.store.Store` (None when it could
    not be opened, ``store_error`` saying why).
    """
    network = on_network(_bind_address())
    ip, headers = _client()
    local = client_is_local(ip, headers)
    if store is None:
        if not login_required(network, local, False):
            return Access("", "planner", local=True)
        st.title(tr("login_title", lang))
        st.error(tr("login_no_store", lang).format(detail=md_escape(store_error or "")))
        return None
    if not login_required(network, local, _has_users(store)):
        st.session_state.pop(_SESSION_KEY, None)
        return Access("", "planner", local=True)
    return _session(store, config, lang)


def _session(store: Any, config: Config, lang: str) -> Access | None:
    now = time.time()
    held = st.session_state.get(_SESSION_KEY)
    if isinstance(held, dict):
        if expired(float(held.get("last", 0.0)), now, _idle_hours(config)):
            _end_session()
            st.session_state["_riskmap_expired"] = True
        else:
            user = _current_user(store, str(held.get("name", "")))
            if user is not None:
                held["last"] = now
                return Access(user.name, str(getattr(user.role, "value", user.role)))
            _end_session()
    if _sso_configured() and _sso_logged_in():
        access = _sso_access(store, lang)
        if access is not None:
            return access
    _login_page(store, lang)
    return None


def _current_user(store: Any, name: str) -> Any:
    """The account ``name`` as the database has it now (role changes and disabling apply at once)."""
    for user in store.users():
        if user.name == name and not user.disabled:
            return user
    return None


def _start_session(store: Any, user: Any, how: str) -> None:
    st.session_state[_SESSION_KEY] = {"name": user.name, "last": time.time(), "how": how}
    st.session_state.pop("_riskmap_expired", None)
    if how == "password":  # store.authenticate recorded it
        return
    try:
        store.audit(user.name, "login", {"via": how})
    except Exception:  # the login itself stands; the failure goes to the server log
        _log.exception("audit of a login failed")


def _end_session() -> None:
    """Forget the session's user and every piece of data the session held."""
    for key in list(st.session_state.keys()):
        if key != "lang":
            del st.session_state[key]


def _sso_logged_in() -> bool:
    try:
        return bool(st.user.is_logged_in)
    except Exception:
        return False


def _sso_access(store: Any, lang: str) -> Access | None:
    """The riskmap account of the identity provider's user (by e-mail, then preferred user name)."""
    names = [str(st.user.get(k)) for k in ("email", "preferred_username") if st.user.get(k)]
    for name in names:
        user = _current_user(store, name)
        if user is not None:
            _start_session(store, user, "sso")
            return Access(user.name, str(getattr(user.role, "value", user.role)))
    st.warning(tr("login_sso_unknown", lang).format(name=md_escape(names[0] if names else "?")))
    return None


def _login_page(store: Any, lang: str) -> None:
    """The login form (name and password against ``store.authenticate``) and the SSO button when configured."""
    st.title(tr("login_title", lang))
    if st.session_state.get("_riskmap_expired"):
        st.info(tr("session_expired", lang))
    st.write(tr("login_intro", lang))
    if not _has_users(store):
        st.info(tr("login_first_admin", lang))
    with st.form("login", clear_on_submit=False):
        name = st.text_input(tr("login_name", lang), key="login_name", autocomplete="username")
        password = st.text_input(tr("login_password", lang), type="password", key="login_password")
        submitted = st.form_submit_button(tr("login_submit", lang), type="primary")
    if _sso_configured() and st.button(tr("login_sso", lang), key="login_sso"):
        st.login()
    if not submitted:
        return
    if not name.strip() or not password:
        st.warning(tr("login_empty", lang))
        return
    from riskmap.store import StoreError

    try:
        user = store.authenticate(name.strip(), password)
    except StoreError as exc:  # refused (too many failures) or the database is down: a plain message
        st.error(md_escape(_store_message(exc, lang)))
        return
    if user is None or getattr(user, "disabled", False):
        until = store.locked_until(name.strip())
        if until is not None:
            st.error(tr("login_locked", lang).format(until=until.strftime("%H:%M UTC")))
        else:
            st.error(tr("login_failed", lang))
        return
    _start_session(store, user, "password")
    st.session_state.pop("login_password", None)
    st.rerun()


def _store_message(exc: Exception, lang: str) -> str:
    message = getattr(exc, "message", None)
    return message(lang) if callable(message) else tr("store_error", lang).format(detail=str(exc))


def sidebar(access: Access, lang: str) -> None:
    """Who is logged in, and the logout button."""
    if access.local:
        st.sidebar.caption(tr("local_planner", lang))
        return
    st.sidebar.markdown(
        tr("logged_in_as", lang).format(name=md_escape(access.name), role=role_label(access.role, lang))
    )
    if st.sidebar.button(tr("logout", lang), key="logout"):
        how = (st.session_state.get(_SESSION_KEY) or {}).get("how")
        _end_session()
        if how == "sso":
            st.logout()
        st.rerun()
