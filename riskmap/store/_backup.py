"""Backup and restore: every table as JSON lines, portable between SQLite and PostgreSQL.

Line 1 is a header ``{"riskmap_backup": 1, "revision": ..., "counts": {...}}``; then one line per row,
``{"t": table, "r": {column: value}}`` with dates and times as ISO text (UTC). A restore checks the
counts, so a truncated file is refused instead of half-restored.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from riskmap.store import _schema as schema

if TYPE_CHECKING:
    from riskmap.store.store import Store

FORMAT = 1


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _decode(table: sa.Table, row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for column in table.c:
        value = row.get(column.name)
        if value is not None and isinstance(column.type, sa.DateTime):
            value = dt.datetime.fromisoformat(value)
        elif value is not None and isinstance(column.type, sa.Date):
            value = dt.date.fromisoformat(value)
        out[column.name] = value
    return out


def write_backup(store: Store, path: Path) -> dict[str, int]:
    """Write the backup file (atomically: a temporary file renamed into place); rows per table."""
    from riskmap.store.store import StoreError

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    counts: dict[str, int] = {}
    try:
        with store._read() as conn, open(tmp, "w", encoding="utf-8") as fh:
            # one transaction: a consistent snapshot of every table
            tables = {
                t.name: conn.execute(sa.select(t).order_by(*t.primary_key.columns)).mappings().all()
                for t in schema.TABLES
            }
            counts = {name: len(rows) for name, rows in tables.items()}
            revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            header = {
                "riskmap_backup": FORMAT,
                "revision": revision,
                "counts": counts,
                "at": _encode(dt.datetime.now(dt.UTC)),
            }
            fh.write(json.dumps(header) + "\n")
            for name, rows in tables.items():
                for r in rows:
                    fh.write(json.dumps({"t": name, "r": {k: _encode(v) for k, v in r.items()}}, ensure_ascii=False))
                    fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError("store_backup_write", file=path, detail=exc.strerror or str(exc)) from None
    return counts


def read_backup(store: Store, path: Path, *, force: bool) -> dict[str, int]:
    """Restore a backup file into ``store``; refuses a non-empty database unless ``force``."""
    from riskmap.store.store import StoreError

    by_name = {t.name: t for t in schema.TABLES}
    rows: dict[str, list[dict[str, Any]]] = {t.name: [] for t in schema.TABLES}
    try:
        with open(path, encoding="utf-8") as fh:
            header = json.loads(fh.readline() or "{}")
            if not isinstance(header, dict) or header.get("riskmap_backup") != FORMAT:
                raise StoreError("store_backup_bad", file=path)
            for line in fh:
                if line.strip():
                    item = json.loads(line)
                    rows[item["t"]].append(_decode(by_name[item["t"]], item["r"]))
    except FileNotFoundError:
        raise StoreError("file_not_found", file=path) from None
    except (ValueError, KeyError, TypeError):
        raise StoreError("store_backup_bad", file=path) from None
    counts = {name: len(r) for name, r in rows.items()}
    if counts != header.get("counts"):
        raise StoreError("store_backup_bad", file=path)
    existing = store.table_counts()
    if any(existing.values()) and not force:
        raise StoreError("store_restore_not_empty", url=store.url, n=sum(existing.values()))
    with store._write() as conn:
        _clear(conn, store.dialect)
        for table in schema.TABLES:
            if rows[table.name]:
                conn.execute(table.insert(), rows[table.name])
        if store.dialect == "postgresql":
            for table in (schema.login_attempts, schema.audit_log):
                conn.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
                    )
                )
    return counts


def _clear(conn: sa.Connection, dialect: str) -> None:
    """Empty every table, lifting the append-only triggers for this transaction only."""
    if dialect == "postgresql":
        for name in schema.APPEND_ONLY:
            conn.execute(sa.text(f"ALTER TABLE {name} DISABLE TRIGGER USER"))
        for table in reversed(schema.TABLES):
            conn.execute(table.delete())
        for name in schema.APPEND_ONLY:
            conn.execute(sa.text(f"ALTER TABLE {name} ENABLE TRIGGER USER"))
        return
    triggers = conn.execute(
        sa.text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
            "AND tbl_name IN ('incident_versions', 'audit_log')"
        )
    ).all()
    for name, _sql in triggers:
        conn.execute(sa.text(f'DROP TRIGGER "{name}"'))
    for table in reversed(schema.TABLES):
        conn.execute(table.delete())
    for _name, sql in triggers:
        conn.execute(sa.text(sql))
