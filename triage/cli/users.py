"""``triage users create|list|set-password|disable``: people who sign in to the web console.

The password is read from standard input (one line; ``getpass`` when it is a terminal), never from an argument,
so it stays out of the shell history and the process list.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from triage.adapters.bootstrap import build_service
from triage.config import get_settings
from triage.kernel.clock import utc_now
from triage.kernel.errors import InvalidRequest
from triage.kernel.vocabulary import Role
from triage.services.audit import SYSTEM
from triage.services.users import CONSOLE_ROLES, create_user, disable_user, set_password


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``users`` sub-commands."""
    commands = parser.add_subparsers(dest="users_command", required=True, metavar="USERS_COMMAND")
    create = commands.add_parser("create", help="create a console user; the password is read from stdin")
    create.add_argument("--username", required=True)
    create.add_argument("--role", required=True, choices=[r.value for r in CONSOLE_ROLES])
    create.add_argument("--team", action="append", default=[], help="team (agent: added to the agent's own; "
                        "manager: required, repeatable or comma-separated)")  # fmt: skip
    create.add_argument("--agent", help="agents: the roster id (config/agents.toml)")
    commands.add_parser("list", help="list users (one JSON object per line; never passwords)")
    password = commands.add_parser("set-password", help="set a new password (from stdin); ends the user's sessions")
    password.add_argument("username")
    disable = commands.add_parser("disable", help="disable a user; ends their sessions")
    disable.add_argument("username")
    parser.set_defaults(handler=run)


def read_password() -> str:
    """One line from stdin (without its line break), or a hidden prompt on a terminal."""
    if sys.stdin.isatty():
        return getpass.getpass("password: ")
    line = sys.stdin.readline()
    if not line:
        raise InvalidRequest("no password on stdin; e.g. `printf '%s\\n' \"$PASSWORD\" | triage users create ...`")
    return line.rstrip("\r\n")


def run(args: argparse.Namespace) -> int:
    command = args.users_command
    secret = read_password() if command in ("create", "set-password") else ""
    service = build_service(get_settings())
    try:
        if command == "create":
            teams = [t.strip() for value in args.team for t in value.split(",") if t.strip()]
            user = create_user(service.start, service.desk, username=args.username, password=secret,
                               role=Role(args.role), teams=teams, agent_id=args.agent, now=utc_now(), actor=SYSTEM)  # fmt: skip
            print(f"created {user.role.value} {user.username} (id {user.id}; teams: {', '.join(sorted(user.teams)) or '-'}"
                  f"; agent: {user.agent_id or '-'})")  # fmt: skip
        elif command == "list":
            with service.read() as uow:
                for user in uow.users.all():
                    print(json.dumps({"id": user.id, "username": user.username, "role": user.role.value,
                                      "teams": sorted(user.teams), "agent_id": user.agent_id,
                                      "created_at": user.created_at.isoformat(),
                                      "disabled_at": user.disabled_at.isoformat() if user.disabled_at else None}))  # fmt: skip
        elif command == "set-password":
            ended = set_password(service.start, args.username, secret, now=utc_now(), actor=SYSTEM)
            print(f"password of {args.username} changed; {ended} session(s) ended")
        else:
            disable_user(service.start, args.username, now=utc_now(), actor=SYSTEM)
            print(f"disabled {args.username}; their sessions ended")
    finally:
        service.stop()
    return 0
