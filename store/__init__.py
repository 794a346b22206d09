"""SQLAlchemy 2 models, sessions, small repository functions and Alembic migrations."""
