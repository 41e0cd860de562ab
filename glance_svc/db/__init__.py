"""The database layer: SQLAlchemy models, alembic migrations and the SQL repository."""
