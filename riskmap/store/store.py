"""The incident store: one schema and one code path for SQLite and PostgreSQL (SQLAlchemy 2 Core).

Incidents are never overwritten: every add, edit, status change and deletion appends a version
(``incident_versions``, primary key ``(incident_id, version)``); what is read is the highest version
of each incident. The audit log is append-only too; both are enforced by triggers in the database
(migration 0001), not only by this code. Passwords are argon2 hashes (argon2-cffi).

SQLite: one file (WAL journal, ``busy_timeout``, foreign keys on); every write transaction starts
with ``BEGIN IMMEDIATE`` so concurrent writers queue instead of failing half-way. PostgreSQL:
selected by a ``postgresql://`` URL, PostGIS point column and GiST index (migration 0002).
See docs/DATABASE.md.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
import os
import random
import re
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from riskmap._errors import RiskmapInputError
from riskmap.config import Config, load_config
from riskmap.store import _schema as schema

if TYPE_CHECKING:
    import pandas as pd

STATUSES = ("unverified", "verified", "rejected")
"""Moderation states of an incident (as Ushahidi's)."""

VIA = ("app", "cli", "import", "api")
"""How an incident reached the store."""

PRECISIONS = ("exact", "near", "region")

INCIDENT_FRAME_COLUMNS = [
    "incident_id",
    "date",
    "time",
    "type",
    "severity",
    "lat",
    "lon",
    "precision",
    "description",
    "source",
    "status",
    "author",
    "via",
    "version",
    "logged_at",
    "deleted",
    "why",
]
"""Columns of :meth:`Store.incidents` and :meth:`Store.history`: the incident CSV reader's columns first."""

_MIGRATIONS = Path(__file__).with_name("migrations")
_LOCK_KEY = 0x7269736B  # "risk": PostgreSQL advisory lock held while migrating
_HEAD: str | None = None
_ENGINES: dict[tuple[str, float, int], Engine] = {}
_MIGRATED: set[tuple[str, float, int]] = set()


def dispose_all() -> None:
    """Close every pooled database connection of this process."""
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()
    _MIGRATED.clear()


class Role(enum.StrEnum):
    """Account roles, each allowed what the one before may do and more."""

    VIEWER = "viewer"
    OFFICER = "officer"
    PLANNER = "planner"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """0 (viewer) .. 3 (admin)."""
        return list(Role).index(self)

    def allows(self, needed: Role | str) -> bool:
        """True when this role may do what ``needed`` may."""
        return self.rank >= Role(needed).rank


@dataclass(frozen=True)
class User:
    """An account as read from the store (never with its password hash)."""

    name: str
    role: Role
    disabled: bool = False


class StoreError(RiskmapInputError):
    """A store problem the user can act on (an i18n ``code``, as :class:`RiskmapInputError`)."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(value: Any) -> pd.Timestamp:
    import pandas as pd

    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***``."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL: a path
        return url


def default_url(config: Config | None = None) -> str:
    """``RISKMAP_DB`` if set, else the SQLite file under ``[store] data_dir``."""
    env = os.environ.get("RISKMAP_DB", "").strip()
    if env:
        return env
    config = config or load_config()
    folder = Path(os.path.expanduser(str(config.data["store"]["data_dir"])))
    return str(folder / config.data["store"]["sqlite_file"])


def _engine_url(url: str) -> tuple[sa.engine.URL, str]:
    """SQLAlchemy URL (psycopg 3 for PostgreSQL) and dialect name; a bare path is a SQLite file."""
    text = url.strip()
    if "://" not in text:
        text = "sqlite:///" + str(Path(os.path.expanduser(text)).absolute())
    try:
        parsed = sa.engine.make_url(text)
    except Exception:
        raise StoreError("store_bad_url", url=mask_url(url)) from None
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
        return parsed, "postgresql"
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise StoreError("store_bad_url", url=mask_url(url))
        return parsed.set(drivername="sqlite+pysqlite"), "sqlite"
    raise StoreError("store_bad_url", url=mask_url(url))


class Store:
    """The incident log, accounts and audit log of one database.

    Use :meth:`open`; the database is migrated to the newest schema on opening.
    """

    def __init__(self, engine: Engine, url: str, config: Config) -> None:
        self._engine = engine
        self._url = url
        self.config = config
        self.dialect = engine.dialect.name
        opts = config.data["store"]
        self._max_failures = int(opts["login_max_failures"])
        self._failure_window = dt.timedelta(minutes=float(opts["login_window_min"]))
        self._failure_delay = float(opts["login_delay_s"])
        from argon2 import PasswordHasher

        self._hasher = PasswordHasher(
            time_cost=int(opts["argon2_time_cost"]), memory_cost=int(opts["argon2_memory_kib"]), parallelism=1
        )
        self._dummy: str | None = None

    @property
    def _dummy_hash(self) -> str:
        """A hash to check unknown names against, so that they take as long as known ones."""
        if self._dummy is None:
            self._dummy = self._hasher.hash("riskmap-no-such-user")
        return self._dummy

    # -- opening ----------------------------------------------------------------
    @classmethod
    def open(cls, url: str | None = None, *, config: Config | None = None, migrate: bool = True) -> Store:
        """Open (and create, and migrate) the database at ``url``.

        Parameters
        ----------
        url
            ``sqlite:///path``, a plain file path (SQLite), or ``postgresql://user:pw@host/db``.
            None: the ``RISKMAP_DB`` environment variable, else ``[store] data_dir``/``sqlite_file``.
        config
            Configuration (``[store]`` settings, taxonomy); defaults when None.
        migrate
            Run the Alembic migrations up to the newest (``riskmap db upgrade`` does the same).
        """
        config = config or load_config()
        raw = url if url is not None and str(url).strip() else default_url(config)
        engine_url, dialect = _engine_url(str(raw))
        opts = config.data["store"]
        key = (engine_url.render_as_string(hide_password=False), float(opts["busy_timeout_s"]), os.getpid())
        cached = _ENGINES.get(key)
        fresh = cached is None
        if cached is not None:
            engine = cached
        elif dialect == "sqlite":
            Path(engine_url.database or ".").parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(
                engine_url, connect_args={"timeout": float(opts["busy_timeout_s"])}, poolclass=sa.pool.NullPool
            )
            _sqlite_events(engine, int(float(opts["busy_timeout_s"]) * 1000), _synchronous(opts))
        else:
            engine = sa.create_engine(engine_url, pool_pre_ping=True, pool_size=2, max_overflow=4)
        shown = engine_url.set(drivername=dialect).render_as_string(hide_password=True)  # as the user writes it
        store = cls(engine, shown, config)
        if fresh:
            try:
                with engine.connect():
                    pass
            except sa.exc.OperationalError as exc:
                engine.dispose()
                raise StoreError("store_cannot_connect", url=store.url, detail=str(exc.orig).strip()[:300]) from None
        if migrate and (fresh or key not in _MIGRATED) and store.revision() != cls.head_revision():
            store.upgrade()
        if migrate:
            _MIGRATED.add(key)
        _ENGINES[key] = engine  # one engine (connection pool) per database and process: the app reopens often
        return store

    @property
    def url(self) -> str:
        """The database URL, password masked."""
        return self._url

    def close(self) -> None:
        """Return the connections to the process's pool (:func:`dispose_all` closes them)."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def upgrade(self) -> str | None:
        """Migrate to the newest schema (one migrator at a time); returns the revision now current."""
        from alembic import command
        from alembic.config import Config as AlembicConfig

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        with self._write() as conn:
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        return self.revision()

    def revision(self) -> str | None:
        """The schema revision of the database (None before any migration)."""
        with self._read() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()

    @staticmethod
    def head_revision() -> str:
        """The newest schema revision this riskmap ships (the one no other revision names as its parent).

        Read from the migration files without importing Alembic (a command that only logs an incident
        should not pay for it); tests/test_store.py checks it against Alembic's own answer.
        """
        global _HEAD
        if _HEAD is None:
            revisions, parents = set(), set()
            for path in (_MIGRATIONS / "versions").glob("*.py"):
                text = path.read_text(encoding="utf-8")
                rev = re.search(r'^revision = "([^"]+)"', text, re.M)
                down = re.search(r'^down_revision = "([^"]+)"', text, re.M)
                if rev:
                    revisions.add(rev.group(1))
                if down:
                    parents.add(down.group(1))
            heads = sorted(revisions - parents)
            if len(heads) != 1:
                raise RuntimeError(f"riskmap store migrations: expected one head, found {heads}")
            _HEAD = heads[0]
        return _HEAD

    # -- transactions -------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction (SQLite: ``BEGIN IMMEDIATE``, so it never fails half-way on a lock).

        A database still locked after ``[store] busy_timeout_s`` is a :class:`StoreError` (``store_busy``).
        """
        try:
            with self._engine.begin() as conn:
                yield conn
        except (sa.exc.OperationalError, sqlite3.OperationalError) as exc:
            text = str(getattr(exc, "orig", exc))
            if "locked" in text or "busy" in text:
                raise StoreError("store_busy") from None
            raise

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._engine.connect().execution_options(riskmap_read=True) as conn, conn.begin():
            yield conn

    # -- users ----------------------------------------------------------------------
    def add_user(self, name: str, password: str, role: Role | str) -> User:
        """Create an account; the password is stored as an argon2 hash only.

        Raises
        ------
        StoreError
            ``store_bad_role``, ``store_bad_user_name``, ``store_weak_password``, ``store_user_exists``.
        """
        name = _check_name(name)
        role = _role(role)
        self._check_password(password)
        row = {
            "name": name,
            "password_hash": self._hasher.hash(password),
            "role": role.value,
            "disabled": False,
            "created_at": _now(),
        }
        try:
            with self._write() as conn:
                conn.execute(schema.users.insert().values(**row))
        except sa.exc.IntegrityError:
            raise StoreError("store_user_exists", name=name) from None
        return User(name, role, False)

    def _check_password(self, password: str) -> None:
        least = int(self.config.data["store"]["password_min_length"])
        if not isinstance(password, str) or len(password) < least:
            raise StoreError("store_weak_password", n=least)

    def users(self) -> list[User]:
        """Every account, by name."""
        with self._read() as conn:
            rows = conn.execute(sa.select(schema.users).order_by(schema.users.c.name)).mappings().all()
        return [User(r["name"], Role(r["role"]), bool(r["disabled"])) for r in rows]

    def user(self, name: str) -> User | None:
        """One account, or None."""
        with self._read() as conn:
            r = conn.execute(sa.select(schema.users).where(schema.users.c.name == name)).mappings().first()
        return None if r is None else User(r["name"], Role(r["role"]), bool(r["disabled"]))

    def disable_user(self, name: str) -> None:
        """Refuse every later login of ``name`` (the account and its history stay)."""
        with self._write() as conn:
            done = conn.execute(schema.users.update().where(schema.users.c.name == name).values(disabled=True)).rowcount
        if not done:
            raise StoreError("store_no_such_user", name=name)

    def enable_user(self, name: str) -> None:
        """Allow ``name`` to log in again."""
        with self._write() as conn:
            done = conn.execute(
                schema.users.update().where(schema.users.c.name == name).values(disabled=False)
            ).rowcount
        if not done:
            raise StoreError("store_no_such_user", name=name)

    def set_role(self, name: str, role: Role | str) -> None:
        """Change the role of ``name``."""
        role = _role(role)
        with self._write() as conn:
            done = conn.execute(
                schema.users.update().where(schema.users.c.name == name).values(role=role.value)
            ).rowcount
        if not done:
            raise StoreError("store_no_such_user", name=name)

    def set_password(self, name: str, password: str) -> None:
        """Replace the password of ``name`` (argon2 hash)."""
        self._check_password(password)
        digest = self._hasher.hash(password)
        with self._write() as conn:
            done = conn.execute(
                schema.users.update().where(schema.users.c.name == name).values(password_hash=digest)
            ).rowcount
        if not done:
            raise StoreError("store_no_such_user", name=name)

    def locked_until(self, name: str) -> dt.datetime | None:
        """When ``name`` may try again after too many failed logins (UTC), or None when not locked.

        Locked while the last ``[store] login_window_min`` minutes hold ``login_max_failures`` failed attempts.
        """
        since = _now() - self._failure_window
        with self._read() as conn:
            rows = conn.execute(
                sa.select(schema.login_attempts.c.at, schema.login_attempts.c.ok)
                .where(schema.login_attempts.c.name == name, schema.login_attempts.c.at >= since)
                .order_by(schema.login_attempts.c.at.desc())
            ).all()
        failures = []
        for at, ok in rows:  # failures since the last success
            if ok:
                break
            failures.append(at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC))
        if len(failures) < self._max_failures:
            return None
        oldest = sorted(failures)[-self._max_failures]
        return oldest + self._failure_window

    def authenticate(self, name: str, password: str) -> User | None:
        """The account when ``password`` is right and the account enabled and not locked, else None.

        Takes the same time whether the name exists or not (an argon2 check either way); every
        attempt is recorded (``login_attempts``, and the audit log: ``login`` / ``login_failed``).
        After ``[store] login_max_failures`` failures in ``login_window_min`` minutes the name is
        refused, after a delay of ``login_delay_s`` seconds, until the window has passed.
        """
        from argon2.exceptions import InvalidHashError, VerificationError

        name = str(name or "").strip()
        with self._read() as conn:
            r = conn.execute(sa.select(schema.users).where(schema.users.c.name == name)).mappings().first()
        locked = self.locked_until(name) is not None
        ok: bool
        try:
            ok = self._hasher.verify(r["password_hash"] if r is not None else self._dummy_hash, password or "")
        except (VerificationError, InvalidHashError):
            ok = False
        ok = ok and r is not None and not r["disabled"] and not locked
        with self._write() as conn:
            conn.execute(schema.login_attempts.insert().values(name=name[:128], at=_now(), ok=ok))
            detail = "" if ok else ("locked" if locked else "disabled" if r is not None and r["disabled"] else "")
            conn.execute(
                schema.audit_log.insert().values(
                    at=_now(), user=name[:128], action="login" if ok else "login_failed", detail=detail
                )
            )
        if not ok or r is None:  # ok holds only for a user found
            if locked:
                time.sleep(self._failure_delay)
            return None
        return User(r["name"], Role(r["role"]), False)

    # -- incidents ------------------------------------------------------------------
    def add_incident(
        self,
        *,
        date: dt.date | str,
        lat: float,
        lon: float,
        type: str,
        severity: int = 1,
        description: str = "",
        source: str = "app",
        precision: str = "exact",
        author: str,
        time: str | dt.time | None = None,
        via: str = "app",
        status: str = "unverified",
        incident_id: str | None = None,
    ) -> str:
        """Log a new incident (version 1, ``unverified`` unless ``status`` says otherwise).

        ``lat``/``lon`` in degrees (EPSG:4326); ``type`` a taxonomy id or one of its names; returns the
        new incident id. Raises :class:`StoreError` naming the field that cannot be used.
        """
        fields = self._clean(
            {
                "date": date,
                "time": time,
                "lat": lat,
                "lon": lon,
                "type": type,
                "severity": severity,
                "description": description,
                "source": source,
                "precision": precision,
                "status": status,
            }
        )
        row = {
            **fields,
            "incident_id": str(incident_id).strip() if incident_id else str(uuid.uuid4()),
            "version": 1,
            "author": _check_name(author, "author"),
            "via": _check_choice(via, VIA, "via"),
            "why": "",
            "logged_at": _now(),
            "deleted": False,
        }
        try:
            with self._write() as conn:
                conn.execute(schema.incident_versions.insert().values(**row))
                conn.execute(
                    schema.audit_log.insert().values(
                        at=row["logged_at"],
                        user=row["author"],
                        action="incident_add",
                        detail=json.dumps({"incident_id": row["incident_id"], "via": row["via"]}),
                    )
                )
        except sa.exc.IntegrityError:
            raise StoreError("store_incident_exists", incident_id=row["incident_id"]) from None
        return row["incident_id"]

    def add_incidents(self, rows: Iterable[dict[str, Any]], *, author: str, via: str = "import") -> list[str]:
        """Log many incidents in one transaction (all or none); each dict as :meth:`add_incident`'s fields."""
        author = _check_name(author, "author")
        via = _check_choice(via, VIA, "via")
        now = _now()
        prepared = []
        for spec in rows:
            spec = dict(spec)
            given = str(spec.pop("incident_id", "") or "").strip()
            fields = self._clean({"status": "unverified", "severity": 1, "precision": "exact", **spec})
            prepared.append(
                {
                    **fields,
                    "incident_id": given or str(uuid.uuid4()),
                    "version": 1,
                    "author": author,
                    "via": via,
                    "why": "",
                    "logged_at": now,
                    "deleted": False,
                }
            )
        if not prepared:
            return []
        try:
            with self._write() as conn:
                conn.execute(schema.incident_versions.insert(), prepared)
                conn.execute(
                    schema.audit_log.insert().values(
                        at=now, user=author, action="incident_add", detail=json.dumps({"n": len(prepared), "via": via})
                    )
                )
        except sa.exc.IntegrityError:
            raise StoreError("store_incident_exists", incident_id="…") from None
        return [p["incident_id"] for p in prepared]

    def edit_incident(self, incident_id: str, *, author: str, why: str, **fields: Any) -> None:
        """Append a version of ``incident_id`` with ``fields`` changed (``why`` is required)."""
        self._new_version(incident_id, author=author, why=why, fields=fields, action="incident_edit")

    def delete_incident(self, incident_id: str, *, author: str, why: str) -> None:
        """Append a version flagged deleted (the earlier versions stay; :meth:`incidents` no longer shows it)."""
        self._new_version(incident_id, author=author, why=why, fields={"deleted": True}, action="incident_delete")

    def set_status(self, incident_ids: Sequence[str] | str, status: str, *, author: str, why: str = "") -> None:
        """Moderate: append a version with ``status`` (unverified, verified, rejected) to each incident, all or none."""
        status = _check_choice(status, STATUSES, "status")
        ids = [incident_ids] if isinstance(incident_ids, str) else list(incident_ids)
        action = {"verified": "incident_verify", "rejected": "incident_reject"}.get(status, "incident_edit")
        self._new_versions(ids, author=author, why=why, fields={"status": status}, action=action, need_why=False)

    def _new_version(self, incident_id: str, *, author: str, why: str, fields: dict[str, Any], action: str) -> None:
        self._new_versions([incident_id], author=author, why=why, fields=fields, action=action, need_why=True)

    def _new_versions(
        self, ids: list[str], *, author: str, why: str, fields: dict[str, Any], action: str, need_why: bool
    ) -> None:
        author = _check_name(author, "author")
        why = str(why or "").strip()
        if need_why and not why:
            raise StoreError("store_why_required")
        unknown = set(fields) - {*_EDITABLE, "deleted"}
        if unknown:
            raise StoreError("store_bad_field", field=", ".join(sorted(unknown)))
        for attempt in range(20):  # PostgreSQL: two editors of one incident at once -> retry on the key
            try:
                with self._write() as conn:
                    current = _current(conn, ids)
                    missing = [i for i in ids if i not in current]
                    if missing:
                        raise StoreError("store_no_such_incident", incident_id=", ".join(missing[:5]))
                    now = _now()
                    rows = []
                    for incident_id in ids:
                        base = current[incident_id]
                        merged = {k: base[k] for k in _EDITABLE}
                        merged.update({k: v for k, v in fields.items() if k != "deleted"})
                        clean = self._clean(merged)
                        rows.append(
                            {
                                **clean,
                                "incident_id": incident_id,
                                "version": base["version"] + 1,
                                "author": author,
                                "via": base["via"],
                                "why": why,
                                "logged_at": now,
                                "deleted": bool(fields.get("deleted", base["deleted"])),
                            }
                        )
                    conn.execute(schema.incident_versions.insert(), rows)
                    detail = {"incident_ids": ids[:50], "n": len(ids), **{k: str(v) for k, v in fields.items()}}
                    if why:
                        detail["why"] = why
                    conn.execute(
                        schema.audit_log.insert().values(at=now, user=author, action=action, detail=json.dumps(detail))
                    )
                return
            except sa.exc.IntegrityError:
                time.sleep(0.01 * (attempt + 1))
        raise StoreError("store_busy")

    def _clean(self, f: dict[str, Any]) -> dict[str, Any]:
        """Check and normalise incident fields (raises StoreError naming the field)."""
        out: dict[str, Any] = {}
        date = f.get("date")
        parsed = date if isinstance(date, dt.date) else _parse_date(str(date or "").strip())
        if isinstance(parsed, dt.datetime):
            parsed = parsed.date()
        inc = self.config.data["incidents"]
        first = dt.date(max(int(inc.get("earliest_year", 1900)), 1678), 1, 1)  # as riskmap.io._dates.config_window
        last = dt.date(min(int(inc.get("latest_year", 2100)), 2261), 12, 31)
        if parsed is None or not first <= parsed <= last:
            raise StoreError("store_bad_field_value", field="date", value=str(date))
        out["date"] = parsed
        t = f.get("time")
        if t is None or (isinstance(t, float) and math.isnan(t)) or str(t).strip() == "":
            out["time"] = None
        else:
            text = t.strftime("%H:%M") if isinstance(t, dt.time) else str(t).strip()
            try:
                out["time"] = dt.datetime.strptime(text[:5], "%H:%M").strftime("%H:%M")
            except ValueError:
                raise StoreError("store_bad_field_value", field="time", value=text) from None
        for key, low, high in (("lat", -90.0, 90.0), ("lon", -180.0, 180.0)):
            try:
                value = float(f.get(key, ""))  # missing: ValueError, None: TypeError
            except (TypeError, ValueError):
                raise StoreError("store_bad_field_value", field=key, value=str(f.get(key))) from None
            if not (math.isfinite(value) and low <= value <= high):
                raise StoreError("store_bad_field_value", field=key, value=str(f.get(key)))
            out[key] = value
        lookup: dict[str, str] = {}
        for type_id, spec in self.config.taxonomy.items():
            for name in (type_id, spec.get("label_id", ""), spec.get("label_en", ""), *spec.get("aliases", [])):
                if name:
                    lookup.setdefault(_norm(name), type_id)
        found = lookup.get(_norm(str(f.get("type") or "")))
        if found is None:
            raise StoreError("store_bad_type", value=str(f.get("type")), known=", ".join(self.config.taxonomy))
        out["type"] = found
        try:
            severity = int(f.get("severity", ""))  # missing: ValueError, None: TypeError
        except (TypeError, ValueError):
            severity = 0
        if severity not in (1, 2, 3) or str(f.get("severity")).strip() not in ("1", "2", "3", "1.0", "2.0", "3.0"):
            raise StoreError("store_bad_field_value", field="severity", value=str(f.get("severity")))
        out["severity"] = severity
        out["precision"] = _check_choice(f.get("precision", "exact"), PRECISIONS, "precision")
        out["status"] = _check_choice(f.get("status", "unverified"), STATUSES, "status")
        out["description"] = str(f.get("description") or "")[:5000]
        out["source"] = str(f.get("source") or "")[:500]
        return out

    def incidents(
        self,
        *,
        status: Sequence[str] | str | None = ("verified",),
        author: str | None = None,
        include_deleted: bool = False,
    ) -> pd.DataFrame:
        """The current version of each incident, as a table the incident reader reads.

        Parameters
        ----------
        status
            Keep these statuses (a name or several); None keeps all.
        author
            Keep the incidents first logged by this user (an officer's own entries).
        include_deleted
            Also the incidents whose current version is flagged deleted.

        Returns
        -------
        pandas.DataFrame
            :data:`INCIDENT_FRAME_COLUMNS`; ``date`` ISO text (YYYY-MM-DD), ``lat``/``lon`` degrees
            (EPSG:4326), ``logged_at`` UTC; ``author`` is who logged the incident (version 1),
            ``version`` the current version number; ordered by date then logged time.
        """
        iv = schema.incident_versions
        latest = sa.select(iv.c.incident_id, sa.func.max(iv.c.version).label("v")).group_by(iv.c.incident_id).subquery()
        first = iv.alias("first")
        query = (
            sa.select(*[c for c in iv.c if c.name != "author"], first.c.author.label("author"))
            .join(latest, sa.and_(iv.c.incident_id == latest.c.incident_id, iv.c.version == latest.c.v))
            .join(first, sa.and_(first.c.incident_id == iv.c.incident_id, first.c.version == 1))
        )
        if status is not None:
            statuses = [status] if isinstance(status, str) else list(status)
            query = query.where(iv.c.status.in_(statuses))
        if author is not None:
            query = query.where(first.c.author == author)
        if not include_deleted:
            query = query.where(iv.c.deleted == sa.false())
        query = query.order_by(iv.c.date, iv.c.logged_at, iv.c.incident_id)
        with self._read() as conn:
            rows = conn.execute(query).mappings().all()
        return _frame(rows)

    def history(self, incident_id: str) -> pd.DataFrame:
        """Every version of one incident, oldest first: what changed, who, when (``logged_at``, UTC) and why."""
        iv = schema.incident_versions
        with self._read() as conn:
            rows = (
                conn.execute(sa.select(iv).where(iv.c.incident_id == incident_id).order_by(iv.c.version))
                .mappings()
                .all()
            )
        return _frame(rows)

    def last_change(self) -> str:
        """A token that changes whenever an incident version is added (a cache key for scores and maps).

        Cheap: one indexed aggregate (count and latest ``logged_at`` of ``incident_versions``).
        """
        iv = schema.incident_versions
        with self._read() as conn:
            n, latest = conn.execute(sa.select(sa.func.count(), sa.func.max(iv.c.logged_at))).one()
        return f"{n}:{latest.isoformat() if latest is not None else ''}"

    def count_versions(self) -> int:
        """Number of incident versions stored (every add, edit and moderation)."""
        with self._read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(schema.incident_versions)).scalar_one())

    # -- audit ----------------------------------------------------------------------
    def audit(self, user: str, action: str, detail: dict[str, Any] | str = "") -> None:
        """Append an entry to the audit log (who did what; the time is the database's clock of now, UTC)."""
        text = detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False, default=str)
        with self._write() as conn:
            conn.execute(
                schema.audit_log.insert().values(at=_now(), user=str(user)[:128], action=str(action)[:64], detail=text)
            )

    def audit_log(self, since: dt.date | dt.datetime | str | None = None) -> pd.DataFrame:
        """The audit log from ``since`` (a date: from its start, UTC), oldest first: id, at, user, action, detail."""
        import pandas as pd

        query = sa.select(schema.audit_log).order_by(schema.audit_log.c.id)
        if since is not None:
            query = query.where(schema.audit_log.c.at >= _since(since))
        with self._read() as conn:
            rows = conn.execute(query).mappings().all()
        frame = pd.DataFrame([dict(r) for r in rows], columns=["id", "at", "user", "action", "detail"])
        if len(frame):
            frame["at"] = [_utc(v) for v in frame["at"]]
        return frame

    # -- backup and restore -----------------------------------------------------------
    def backup(self, path: str | Path) -> dict[str, int]:
        """Write every table to ``path`` as JSON lines (one object per row, a header line first).

        The file restores into either database (:meth:`restore`). Returns rows written per table.
        """
        from riskmap.store._backup import write_backup

        return write_backup(self, Path(path))

    def restore(self, path: str | Path, *, force: bool = False) -> dict[str, int]:
        """Load a :meth:`backup` file; refuses a database that holds data unless ``force`` (then replaces it)."""
        from riskmap.store._backup import read_backup

        return read_backup(self, Path(path), force=force)

    def table_counts(self) -> dict[str, int]:
        """Rows per table."""
        with self._read() as conn:
            return {
                t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()) for t in schema.TABLES
            }


_EDITABLE = ("date", "time", "lat", "lon", "type", "severity", "description", "source", "precision", "status")


def _current(conn: Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    iv = schema.incident_versions
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = conn.execute(sa.select(iv).where(iv.c.incident_id.in_(chunk))).mappings().all()
        for r in rows:
            if r["incident_id"] not in out or r["version"] > out[r["incident_id"]]["version"]:
                out[r["incident_id"]] = dict(r)
    return out


def _synchronous(opts: dict[str, Any]) -> str:
    value = str(opts.get("sqlite_synchronous", "FULL")).upper()
    if value not in ("FULL", "NORMAL"):
        raise StoreError("store_bad_choice", field="[store] sqlite_synchronous", value=value, known="FULL, NORMAL")
    return value


def _norm(name: object) -> str:
    """:func:`riskmap.io._columns.norm`, without importing riskmap.io (every reader: seconds per command)."""
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


def _parse_date(text: str) -> dt.date | None:
    """An ISO date at once; any other form (27/11/2024, 27 November 2024) through the readers' parser."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            return None
    from riskmap.io._dates import parse_date

    parsed = parse_date(text)
    return parsed.date() if isinstance(parsed, dt.datetime) else parsed


def _frame(rows: Sequence[Any]) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame([dict(r) for r in rows])
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in INCIDENT_FRAME_COLUMNS})
    frame["date"] = [d.isoformat() if isinstance(d, dt.date) else str(d)[:10] for d in frame["date"]]
    frame["logged_at"] = [_utc(v) for v in frame["logged_at"]]
    frame["deleted"] = frame["deleted"].astype(bool)
    frame["time"] = frame["time"].astype(object).where(frame["time"].notna(), "")
    for c in ("severity", "version"):
        frame[c] = frame[c].astype("int64")
    return frame[INCIDENT_FRAME_COLUMNS].reset_index(drop=True)


def _since(value: dt.date | dt.datetime | str) -> dt.datetime:
    if isinstance(value, str):
        import pandas as pd

        from riskmap.io._dates import parse_date

        try:
            ts = pd.Timestamp(value.strip())
        except ValueError:
            parsed = parse_date(value)
            if parsed is None:
                raise StoreError("store_bad_since", value=value) from None
            ts = pd.Timestamp(parsed)
        day: dt.date = ts.to_pydatetime()
    else:
        day = value
    moment = day if isinstance(day, dt.datetime) else dt.datetime.combine(day, dt.time())
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _role(role: Role | str) -> Role:
    try:
        return Role(str(getattr(role, "value", role)).strip().lower())
    except ValueError:
        raise StoreError("store_bad_role", value=str(role), known=", ".join(r.value for r in Role)) from None


def _check_name(name: str, field: str = "name") -> str:
    text = str(name or "").strip()
    if not text or len(text) > 128 or any(ord(ch) < 32 for ch in text):
        raise StoreError("store_bad_user_name", field=field, value=text[:40])
    return text


def _check_choice(value: Any, allowed: Sequence[str], field: str) -> str:
    text = str(value or "").strip().lower()
    if text not in allowed:
        raise StoreError("store_bad_choice", field=field, value=str(value), known=", ".join(allowed))
    return text


def _sqlite_events(engine: Engine, busy_ms: int, synchronous: str) -> None:
    """WAL, busy timeout, foreign keys on every connection; BEGIN IMMEDIATE for writes, BEGIN for reads."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # the driver's own BEGIN is replaced by ours below
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {busy_ms}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute(f"PRAGMA synchronous = {synchronous}")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        if conn.get_execution_options().get("riskmap_read", False):
            conn.exec_driver_sql("BEGIN")
            return
        # Take the write lock, polling every 0.5-3 ms: SQLite's own busy handler sleeps up to 100 ms at a time,
        # which with 20 writers leaves the database idle most of the time.
        raw = conn.connection.driver_connection
        assert raw is not None  # an open connection has its DBAPI connection
        raw.execute("PRAGMA busy_timeout = 0")
        deadline = time.monotonic() + busy_ms / 1000
        try:
            while True:
                try:
                    raw.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                        raise
                    time.sleep(random.uniform(0.0005, 0.003))
        finally:
            raw.execute(f"PRAGMA busy_timeout = {busy_ms}")
