"""``triage db upgrade|status``: the database schema (Alembic migrations)."""

from __future__ import annotations

import argparse
import json

from triage.adapters.bootstrap import open_database
from triage.adapters.sql.migrate import current_revision, head_revision, upgrade
from triage.config import get_settings


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``db`` sub-commands."""
    commands = parser.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    commands.add_parser("upgrade", help="migrate the database (TRIAGE_DATABASE_URL) to this release's schema")
    commands.add_parser("status", help="print the database's schema revision and this release's")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    engine = open_database(get_settings(), require_migrated=False)
    try:
        if args.db_command == "upgrade":
            before, after = upgrade(engine)
            print(json.dumps({"database": engine.url.render_as_string(), "from": before, "to": after}))
        else:
            current, head = current_revision(engine), head_revision()
            print(json.dumps({"database": engine.url.render_as_string(), "revision": current, "head": head,
                              "up_to_date": current == head}))  # fmt: skip
    finally:
        engine.dispose()
    return 0
