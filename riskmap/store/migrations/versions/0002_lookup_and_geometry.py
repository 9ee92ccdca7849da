"""Lookup indexes; on PostgreSQL a PostGIS point computed from lat/lon with a GiST index.

Revision ID: 0002
Revises: 0001

The point is a generated column (``GENERATED ALWAYS AS ... STORED``): it is filled for the rows
already logged and for every new version, and nothing can write a point that disagrees with
lat/lon. SQLite keeps lat/lon only (docs/DATABASE.md).
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index("ix_incident_versions_logged_at", "incident_versions", ["logged_at"])
    op.create_index("ix_incident_versions_author", "incident_versions", ["author"])
    op.create_index("ix_login_attempts_name_at", "login_attempts", ["name", "at"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        op.execute(
            "ALTER TABLE incident_versions ADD COLUMN geom geometry(Point, 4326) "
            "GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED"
        )
        op.execute("CREATE INDEX ix_incident_versions_geom ON incident_versions USING gist (geom)")
