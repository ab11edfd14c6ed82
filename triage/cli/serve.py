"""``triage serve``: the HTTP API and the background workers in one process.

Scale out by running more ``serve`` (or ``triage worker``) processes against one PostgreSQL: job claims, agent
slots and escalations are arbitrated by the database.
"""

from __future__ import annotations

import argparse
import json
import sys

import uvicorn

from triage.adapters.bootstrap import open_database
from triage.cli import tcp_port
from triage.config import export_settings, get_settings
from triage.kernel.errors import ConfigError

#: The application factory uvicorn imports (by name: the CLI never imports the API package).
APP = "api.main:create_app"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``serve`` options."""
    parser.description = (
        "Run the API (and the triage, escalation and knowledge-base workers) on TRIAGE_DATABASE_URL "
        "(SQLite under TRIAGE_HOME by default). The database must be migrated (`triage db upgrade`)."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="triage worker threads in this process (default: TRIAGE_WORKER_THREADS, 1; 0: API only)")  # fmt: skip
    parser.add_argument("--smtp-port", type=tcp_port, default=None, metavar="PORT",
                        help="take email in on this port (default: TRIAGE_SMTP_PORT; unset: no email intake)")  # fmt: skip
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.workers is not None:
        if args.workers < 0:
            raise ConfigError("--workers must be >= 0")
        export_settings(worker_threads=args.workers)
    if args.smtp_port is not None:
        export_settings(smtp_port=args.smtp_port)
    settings = get_settings()
    open_database(settings).dispose()  # refuse an unreachable or un-migrated database with a clear message
    url = f"http://{args.host}:{args.port}"
    print(f"serving on {url} (console: {url}/ ; API docs: {url}/docs); database "
          f"{settings.resolved_database_url.split('@')[-1]}", file=sys.stderr, flush=True)  # fmt: skip
    if settings.smtp_port is not None:
        print(f"taking email for @{settings.smtp_domain} on {settings.smtp_host}:{settings.smtp_port} (SMTP)",
              file=sys.stderr, flush=True)  # fmt: skip
    keys_file = settings.home / "demo-keys.json"
    if keys_file.is_file():
        print(f"demo keys ({keys_file}):", file=sys.stderr)
        for role, key in json.loads(keys_file.read_text()).items():
            print(f"  {role:<8} {key}", file=sys.stderr)
    users_file = settings.home / "demo-users.json"
    if users_file.is_file():
        print(f"demo console logins at {url}/login ({users_file}):", file=sys.stderr)
        for username, login in json.loads(users_file.read_text()).items():
            print(f"  {login['role']:<8} username {username:<12} password {login['password']}", file=sys.stderr)
    uvicorn.run(APP, factory=True, host=args.host, port=args.port, access_log=False, log_config=None,
                timeout_graceful_shutdown=15)  # fmt: skip
    return 0
