"""The database: incident log with versions and moderation, accounts, audit log (docs/DATABASE.md).

>>> from riskmap.store import Store, Role
>>> store = Store.open("sqlite:////tmp/riskmap.sqlite")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from riskmap.store.store import STATUSES, Role, Store, StoreError, User, default_url, mask_url


def __getattr__(name: str) -> Any:
    """``merge_incidents`` and ``merge_into_layers`` load the readers (geopandas) only when used."""
    if name in ("merge_incidents", "merge_into_layers"):
        from riskmap.store import merge

        return getattr(merge, name)
    raise AttributeError(name)


__all__ = [
    "STATUSES",
    "Role",
    "Store",
    "StoreError",
    "User",
    "default_url",
    "mask_url",
    "merge_incidents",
    "merge_into_layers",
]
