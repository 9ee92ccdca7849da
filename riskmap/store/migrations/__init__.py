"""Alembic migrations of the store, run by :meth:`riskmap.store.Store.open` and ``riskmap db upgrade``."""
