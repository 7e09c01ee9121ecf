"""Storage: SQLAlchemy 2 models, the engine (SQLite embedded default, PostgreSQL in production) and the Alembic
migrations shipped in the package."""
