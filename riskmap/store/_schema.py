"""Tables of the store (SQLAlchemy Core), as the migrations in ``migrations/versions`` create them.

One schema for SQLite and PostgreSQL. Positions are ``lat``/``lon`` in degrees (EPSG:4326) on every
incident version; on PostgreSQL migration 0002 adds a PostGIS ``geom`` column computed from them
(not declared here: the code never writes it, and SQLite has no such type).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

incident_versions = sa.Table(
    "incident_versions",
    metadata,
    sa.Column("incident_id", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("date", sa.Date, nullable=False),
    sa.Column("time", sa.String(5)),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("severity", sa.Integer, nullable=False),
    sa.Column("lat", sa.Float, nullable=False),
    sa.Column("lon", sa.Float, nullable=False),
    sa.Column("precision", sa.String(16), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("author", sa.String(128), nullable=False),
    sa.Column("via", sa.String(16), nullable=False),
    sa.Column("why", sa.Text, nullable=False),
    sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

login_attempts = sa.Table(
    "login_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("user", sa.String(128), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
)

TABLES: tuple[sa.Table, ...] = (users, incident_versions, login_attempts, audit_log)
"""Every table, in the order a restore fills them."""

APPEND_ONLY: tuple[str, ...] = ("incident_versions", "audit_log")
"""Tables where an UPDATE or DELETE raises (triggers of migration 0001)."""
