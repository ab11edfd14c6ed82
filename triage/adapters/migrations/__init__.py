"""Alembic migrations of the service's database (``triage db upgrade``)."""
