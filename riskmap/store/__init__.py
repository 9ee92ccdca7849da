"""The database: incident log with versions and moderation, accounts, audit log (docs/DATABASE.md).

>>> from riskmap.store import Store, Role
>>> store = Store.open("sqlite:////tmp/riskmap.sqlite")  # doctest: +SKIP
"""

from __future__ import annotations

from riskmap.store.merge import merge_incidents, merge_into_layers
from riskmap.store.store import STATUSES, Role, Store, StoreError, User, default_url, mask_url

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
