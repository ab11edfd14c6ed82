"""The Alembic migrations build exactly the schema the code declares, and go down and up again, on SQLite and
PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from tests.integration.conftest import BACKENDS, new_database
from triage.adapters.sql.engine import make_engine
from triage.adapters.sql.migrate import alembic_config, current_revision, head_revision, upgrade
from triage.adapters.sql.tables import metadata

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_migrations_build_the_declared_schema_and_go_down_and_up_again(backend: str, tmp_path: Path) -> None:
    url, cleanup = new_database(backend, tmp_path)  # migrated to head
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), metadata) == []
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        assert current_revision(engine) is None
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        assert upgrade(engine) == (None, head_revision())
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
        cleanup()  # type: ignore[operator]
