"""Alembic migrations of the node's store, applied by `Store.open` (see `_engine.migrate`)."""
