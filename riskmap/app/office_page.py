"""The office's pages: log an incident (journey 4), verify logged incidents, early-warning alerts, manage users.

Each page is drawn only for a session whose role has the permission (see
:mod:`riskmap.app.auth`); the data of the other pages is never read for it.
The computing is the core's: :mod:`riskmap.store` (the log), the TPS
coordinate parser (:mod:`riskmap.io._coords`), :func:`riskmap.alerts.surges`,
:func:`riskmap.mapping.build_map`.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from riskmap import i18n
from riskmap._errors import RiskmapInputError
from riskmap.app import md_escape, tr
from riskmap.app.auth import ROLES, Access, role_label
from riskmap.config import Config
from riskmap.io._coords import StudyArea, diagnose, parse_numbers, split_pairs
from riskmap.mapping import build_map
from riskmap.pipeline import Result
from riskmap.view import View

MAP_HEIGHT = 520
MIN_PASSWORD = 8
"""Fewest characters of a password set on the users page."""

_log = logging.getLogger(__name__)


# -- pure helpers ------------------------------------------------------------------------------------------------
def parse_point(text: str, area: StudyArea) -> tuple[float, float]:
    """A typed point (as the TPS files are read: decimals, DMS, map links) as (lat, lon), EPSG:4326 degrees.

    Raises
    ------
    RiskmapInputError
        With the TPS reader's reason code (``unparseable_coordinates``,
        ``swapped_coordinates``, ``lost_decimal_point``,
        ``outside_study_area``, ...) when it cannot be read or lies outside ``area``.
    """
    lat_text, lon_text = split_pairs(pd.Series([text]))
    lat, lat_missing = parse_numbers(lat_text)
    lon, lon_missing = parse_numbers(lon_text)
    verdict = diagnose(lat, lon, lat_missing | lon_missing, area)
    if not verdict.ok[0]:
        hint = verdict.suggestion[0]
        reason = str(verdict.reason[0])
        if reason == "missing_coordinates" and text.strip():  # one value typed, or words: not readable as a point
            reason = "unparseable_coordinates"
        raise RiskmapInputError(
            reason,
            lat=lat_text.iloc[0],
            lon=lon_text.iloc[0],
            suggestion=f"{hint[0]:.6f}, {hint[1]:.6f}" if hint else "",
            area=area.name,
        )
    return float(lat[0]), float(lon[0])


def check_point(lat: float, lon: float, area: StudyArea) -> None:
    """Raise the reader's reason (``outside_study_area``, ...) when (lat, lon) is not in ``area``."""
    verdict = diagnose(np.array([lat]), np.array([lon]), np.array([False]), area)
    if not verdict.ok[0]:
        raise RiskmapInputError(
            str(verdict.reason[0]), lat=f"{lat:.6f}", lon=f"{lon:.6f}", suggestion="", area=area.name
        )


def village_point(villages: Any, code: str) -> tuple[float, float]:
    """The interior point of the village ``code`` (always inside it), as (lat, lon) EPSG:4326 degrees."""
    row = villages[villages["village_code"] == code]
    point = row.to_crs(4326).geometry.iloc[0].representative_point()
    return float(point.y), float(point.x)


def _status_label(status: str, lang: str) -> str:
    return tr("status_" + status, lang) if "app.status_" + status in i18n.MESSAGES else status


def incident_table(frame: pd.DataFrame, config: Config, lang: str) -> pd.DataFrame:
    """Logged incidents as the reader sees them (types and statuses named, columns in ``lang``)."""
    cols = ["date", "time", "type", "severity", "description", "source", "lat", "lon", "status", "author", "logged_at"]
    out = frame[[c for c in cols if c in frame.columns]].copy()
    if "type" in out:
        out["type"] = out["type"].map(lambda k: config.type_label(k, lang) if k in config.taxonomy else k)
    if "status" in out:
        out["status"] = out["status"].map(lambda s: _status_label(str(s), lang))
    if "date" in out:
        out["date"] = pd.to_datetime(out["date"], errors="coerce").dt.date
    return out.rename(columns={c: tr("col_" + c, lang) for c in out.columns if "app.col_" + c in i18n.MESSAGES})


def _labels(frame: pd.DataFrame, config: Config, lang: str) -> list[str]:
    """One line per incident for a picker: date, type, author, start of the description."""
    out = []
    for row in frame.to_dict("records"):
        kind = config.type_label(row["type"], lang) if row.get("type") in config.taxonomy else str(row.get("type"))
        text = str(row.get("description") or "")[:60]
        out.append(f"{row.get('date', '')} · {kind} · {row.get('author', '')} · {text}")
    return out


def _newest(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    if "logged_at" in frame.columns:
        frame = frame.sort_values("logged_at", ascending=False)
    return frame.head(n)


def _max_listed(config: Config) -> int:
    return int(config.data.get("app", {}).get("max_listed_incidents", 500))


def _store_failed(exc: Exception, lang: str) -> None:
    _log.exception("the incident database refused")
    message = getattr(exc, "message", None)
    detail = message(lang) if callable(message) else type(exc).__name__
    st.error(md_escape(tr("log_failed", lang).format(detail=detail)))


# -- log an incident (officer) -----------------------------------------------------------------------------------
def log_page(lang: str, result: Result, view: View, geoms: Any, store: Any, access: Access) -> None:
    """The incident form: when, what, where (map click, typed coordinates or a village); saved at once."""
    config = result.config
    st.title(tr("log_title", lang))
    area = result.layers.area
    done = st.session_state.pop("log_saved_id", None)
    if done:
        st.success(tr("log_saved", lang).format(id=md_escape(done)))
    where = st.radio(
        tr("log_where", lang),
        ["map", "coords", "village"],
        format_func=lambda k: tr("where_" + k, lang),
        horizontal=True,
        key="log_where",
    )
    point: tuple[float, float] | None = None
    if where == "map":
        point = _map_point(lang, view, geoms, config)
    with st.form("log_form", clear_on_submit=True):
        c1, c2 = st.columns(2)
        date = c1.date_input(tr("log_date", lang), dt.date.today(), max_value=dt.date.today(), key="log_date")
        time = c2.time_input(tr("log_time", lang), value=None, key="log_time", step=300)
        types = list(config.taxonomy)
        kind = st.selectbox(
            tr("log_type", lang),
            types,
            format_func=lambda k: (
                config.type_label(k, "id") + ("" if lang == "id" else f" ({config.type_label(k, lang)})")
            ),
            key="log_type",
        )
        severity = st.radio(
            tr("log_severity", lang),
            [1, 2, 3],
            format_func=lambda s: tr(f"sev_{s}", lang),
            horizontal=True,
            key="log_sev",
        )
        description = st.text_area(tr("log_description", lang), max_chars=2000, key="log_desc")
        source = st.text_input(tr("log_source", lang), tr("log_source_default", lang), max_chars=200, key="log_src")
        typed = village = None
        if where == "coords":
            typed = st.text_input(tr("log_coords", lang), help=tr("log_coords_help", lang), key="log_coords")
        elif where == "village":
            villages = result.villages.sort_values("village_name")
            names = dict(
                zip(villages["village_code"], villages["village_name"] + " — " + villages["district"], strict=True)
            )
            village = st.selectbox(
                tr("log_village", lang), list(names), format_func=lambda c: str(names.get(c, c)), key="log_village"
            )
        saved = st.form_submit_button(tr("log_save", lang), type="primary")
    if saved:
        _save(
            lang,
            store,
            access,
            result,
            area,
            where,
            point,
            typed,
            village,
            date,
            time,
            kind,
            severity,
            description,
            source,
        )
    _own_entries(lang, store, access, config)


def _map_point(lang: str, view: View, geoms: Any, config: Config) -> tuple[float, float] | None:
    """The map to click; the clicked point is kept for the session and shown as a pin."""
    st.caption(tr("log_map_help", lang))
    point = st.session_state.get("log_point")
    fmap = build_map(view, config, lang=lang, geoms=geoms, pin=point)
    out = st_folium(fmap, key="log_map", height=MAP_HEIGHT, use_container_width=True, returned_objects=["last_clicked"])
    clicked = (out or {}).get("last_clicked")
    if isinstance(clicked, dict) and clicked.get("lat") is not None:
        new = (round(float(clicked["lat"]), 6), round(float(clicked["lng"]), 6))
        if new != point:
            st.session_state["log_point"] = new
            st.rerun()
    if point is None:
        st.info(tr("log_no_point", lang))
    else:
        st.markdown(tr("log_point", lang).format(lat=f"{point[0]:.6f}", lon=f"{point[1]:.6f}"))
    return point


def _save(
    lang: str,
    store: Any,
    access: Access,
    result: Result,
    area: StudyArea,
    where: str,
    point: tuple[float, float] | None,
    typed: str | None,
    village: str | None,
    date: Any,
    time: Any,
    kind: str,
    severity: int,
    description: str,
    source: str,
) -> None:
    precision = "exact"
    try:
        if where == "coords" and typed and typed.strip():
            point = parse_point(typed, area)
        elif where == "village" and village:
            point, precision = village_point(result.villages, village), "near"
        elif where != "map":
            point = None
        if point is None:
            st.warning(tr("log_need_point", lang))
            return
        check_point(point[0], point[1], area)
        if not isinstance(date, dt.date) or date > dt.date.today():
            st.warning(tr("log_future", lang).format(date=md_escape(date)))
            return
    except RiskmapInputError as exc:
        st.error(md_escape(exc.message(lang)))
        return
    try:
        incident_id = store.add_incident(
            date=date,
            time=time,
            lat=point[0],
            lon=point[1],
            type=kind,
            severity=int(severity),
            description=description.strip(),
            source=source.strip() or "app",
            precision=precision,
            author=access.author,
            via="app",
        )
    except Exception as exc:  # a StoreError (plain message) or the database is down
        _store_failed(exc, lang)
        return
    st.session_state.pop("log_point", None)
    st.session_state["log_saved_id"] = str(incident_id)
    st.rerun()


def _own_entries(lang: str, store: Any, access: Access, config: Config) -> None:
    st.subheader(tr("mine_title", lang))
    mine = store.incidents(status=("unverified", "verified", "rejected"), author=access.author)
    if not len(mine):
        st.caption(tr("mine_none", lang))
        return
    st.dataframe(incident_table(_newest(mine, _max_listed(config)), config, lang), hide_index=True, width="stretch")


# -- verify (planner) --------------------------------------------------------------------------------------------
def verify_page(lang: str, config: Config, store: Any, access: Access) -> None:
    """Unverified logged incidents, newest first: tick, then verify or reject (``store.set_status``)."""
    st.title(tr("verify_title", lang))
    done = st.session_state.pop("verify_done", None)
    if done:
        st.success(done)
    waiting = _newest(store.incidents(status=("unverified",)), _max_listed(config)).reset_index(drop=True)
    if not len(waiting):
        st.info(tr("verify_none", lang))
        return
    st.caption(tr("verify_help", lang))
    st.dataframe(incident_table(waiting, config, lang), hide_index=True, width="stretch")
    labels = dict(zip(waiting["incident_id"].astype(str), _labels(waiting, config, lang), strict=True))
    every = st.checkbox(tr("verify_all", lang).format(n=len(waiting)), key="verify_all")
    ids = (
        list(labels)
        if every
        else st.multiselect(
            tr("col_pick", lang), list(labels), format_func=lambda i: str(labels.get(i, i)), key="verify_pick"
        )
    )
    why = st.text_input(tr("verify_why", lang), max_chars=500, key="verify_why")
    c1, c2 = st.columns(2)
    status = None
    if c1.button(tr("verify_ok", lang), type="primary", key="verify_ok"):
        status = "verified"
    if c2.button(tr("verify_reject", lang), key="verify_reject"):
        status = "rejected"
    if status is None:
        return
    if not ids:
        st.warning(tr("verify_pick_first", lang))
        return
    if status == "rejected" and not why.strip():
        st.warning(tr("verify_need_why", lang))
        return
    try:
        store.set_status(ids, status, author=access.author, why=why.strip())  # audited by the store
    except Exception as exc:
        _store_failed(exc, lang)
        return
    st.session_state["verify_done"] = tr("verify_done", lang).format(n=len(ids), status=_status_label(status, lang))
    st.rerun()


# -- alerts (every role) -----------------------------------------------------------------------------------------
def alerts_panel(lang: str, result: Result, alerts: pd.DataFrame | None, error: str | None) -> None:
    """The alert list (:func:`riskmap.alerts.surges` on the incidents the map uses)."""
    st.subheader(tr("alerts_title", lang))
    as_of = result.as_of.isoformat() if isinstance(result.as_of, dt.date) else "-"
    if error:
        st.warning(md_escape(tr("alerts_failed", lang).format(detail=error)))
        return
    rules = result.config.data.get("alerts", {})
    if rules:
        st.caption(
            tr("alerts_rule", lang).format(
                ratio=rules.get("ratio", "?"), floor=rules.get("floor_per_week", rules.get("floor", "?")), as_of=as_of
            )
        )
    if alerts is None or not len(alerts):
        st.success(tr("alerts_none", lang).format(as_of=as_of))
        return
    st.error(tr("alerts_count", lang).format(n=len(alerts)))
    st.dataframe(alert_table(alerts, lang), hide_index=True, width="stretch")
    if isinstance(result.as_of, dt.date):  # which test fired, in words
        from riskmap.alerts import describe

        st.markdown("\n".join("- " + md_escape(line.strip()) for line in describe(alerts, result.as_of, lang)[1:]))


ALERT_TABLE = {
    "level": "col_level",
    "name": "col_unit",
    "code": "col_code",
    "count": "col_last7",
    "baseline_mean": "col_mean4",
    "ratio": "col_ratio",
    "cycle_count": "col_previous",
    "cycle_ratio": "col_cycle_ratio",
    "window_start": "col_from",
    "window_end": "col_to",
}
"""Columns of the alert list (:func:`riskmap.alerts.surges`) and their i18n keys (``app.<key>``)."""


def alert_table(alerts: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The alerts as the reader sees them: level named, ratios rounded, columns in ``lang``."""
    out = alerts[[c for c in ALERT_TABLE if c in alerts.columns]].copy()
    out["level"] = out["level"].map(lambda v: tr("level_" + str(v), lang) if v in ("district", "regency") else v)
    for col in ("baseline_mean", "ratio", "cycle_ratio"):
        if col in out:
            out[col] = pd.to_numeric(out[col], errors="coerce").round(2)
    return out.rename(columns={c: tr(k, lang) for c, k in ALERT_TABLE.items()})


# -- users (admin) -----------------------------------------------------------------------------------------------
def users_page(lang: str, store: Any, access: Access) -> None:
    """List, add and disable accounts, set a password (every change audited)."""
    st.title(tr("users_title", lang))
    done = st.session_state.pop("users_done", None)
    if done:
        st.success(done)
    users = store.users()
    table = pd.DataFrame(
        {
            tr("login_name", lang): [u.name for u in users],
            tr("users_role", lang): [role_label(str(getattr(u.role, "value", u.role)), lang) for u in users],
            tr("users_disabled", lang): [bool(u.disabled) for u in users],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")
    with st.form("user_add", clear_on_submit=True):
        st.subheader(tr("users_add", lang))
        name = st.text_input(tr("login_name", lang), max_chars=100, key="ua_name")
        role = st.selectbox(
            tr("users_role", lang), list(ROLES), format_func=lambda r: role_label(r, lang), key="ua_role"
        )
        pw1 = st.text_input(tr("login_password", lang), type="password", key="ua_pw1")
        pw2 = st.text_input(tr("users_password2", lang), type="password", key="ua_pw2")
        if st.form_submit_button(tr("users_add", lang)) and _password_ok(lang, name, pw1, pw2):
            _user_change(
                lang, store, access, "user_add", name.strip(), tr("users_added", lang), role=role, password=pw1
            )
    active = [u.name for u in users if not u.disabled and u.name != access.name]
    if active:
        with st.form("user_disable"):
            st.subheader(tr("users_disable", lang))
            who = st.selectbox(tr("login_name", lang), active, key="ud_name")
            if st.form_submit_button(tr("users_disable", lang)):
                _user_change(lang, store, access, "user_disable", who, tr("users_disabled_done", lang))
    with st.form("user_password", clear_on_submit=True):
        st.subheader(tr("users_set_password", lang))
        who = st.selectbox(tr("login_name", lang), [u.name for u in users], key="up_name")
        pw1 = st.text_input(tr("login_password", lang), type="password", key="up_pw1")
        pw2 = st.text_input(tr("users_password2", lang), type="password", key="up_pw2")
        if st.form_submit_button(tr("users_set_password", lang)) and _password_ok(lang, who, pw1, pw2):
            _user_change(lang, store, access, "user_password", who, tr("users_password_set", lang), password=pw1)


def _password_ok(lang: str, name: str | None, pw1: str, pw2: str) -> bool:
    if not (name or "").strip() or not pw1:
        st.warning(tr("login_empty", lang))
        return False
    if len(pw1) < MIN_PASSWORD:
        st.warning(tr("users_short", lang).format(n=MIN_PASSWORD))
        return False
    if pw1 != pw2:
        st.warning(tr("users_mismatch", lang))
        return False
    return True


def _user_change(
    lang: str, store: Any, access: Access, action: str, name: str, done: str, role: str = "", password: str = ""
) -> None:
    from riskmap.store import Role

    try:
        if action == "user_add":
            store.add_user(name, password, Role(role))
        elif action == "user_disable":
            store.disable_user(name)
        else:
            store.set_password(name, password)
        store.audit(access.author, action, {"name": name, **({"role": role} if role else {})})
    except Exception as exc:
        _store_failed(exc, lang)
        return
    st.session_state["users_done"] = done.format(name=md_escape(name), role=role_label(role, lang))
    st.rerun()
