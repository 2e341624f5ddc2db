"""The PostgreSQL backend of the store (psycopg 3): schema, the store itself, and its change feed."""

from tui.services.store.postgres.backend import PostgresStore
from tui.services.store.postgres.schema import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "PostgresStore"]
