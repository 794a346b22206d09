"""Alembic migrations (script_location ``store:migrations``)."""
