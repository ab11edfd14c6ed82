"""``triage keys create|list|revoke``: API keys. ``create`` prints the new key alone on the last line."""

from __future__ import annotations

import argparse
import json

from triage.adapters.bootstrap import build_service
from triage.config import get_settings
from triage.kernel.clock import utc_now
from triage.kernel.vocabulary import Role
from triage.services.audit import SYSTEM
from triage.services.keys import create_key, revoke_key


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``keys`` sub-commands."""
    commands = parser.add_subparsers(dest="keys_command", required=True, metavar="KEYS_COMMAND")
    create = commands.add_parser("create", help="create a key; the key is printed once, on the last line")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--team", action="append", default=[], help="team (agent: defaults to the agent's; "
                        "manager: required, repeatable)")  # fmt: skip
    create.add_argument("--agent", help="agent keys: the roster id of the agent")
    create.add_argument("--name", default="", help="a label for the key (shown in lists and the audit trail)")
    commands.add_parser("list", help="list keys (never the secrets)")
    revoke = commands.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    service = build_service(get_settings())
    try:
        if args.keys_command == "create":
            teams = [t.strip() for value in args.team for t in value.split(",") if t.strip()]
            key, record = create_key(service.start, service.desk, role=Role(args.role), name=args.name, teams=teams,
                                     agent_id=args.agent, now=utc_now(), actor=SYSTEM)  # fmt: skip
            print(f"created {record.role.value} key {record.id} ({record.name}; teams: {', '.join(sorted(record.teams)) or '-'}"
                  f"; agent: {record.agent_id or '-'}). Store it now: it is not shown again.")  # fmt: skip
            print(key)
        elif args.keys_command == "list":
            with service.read() as uow:
                for record in uow.keys.all():
                    print(json.dumps({"id": record.id, "name": record.name, "role": record.role.value,
                                      "teams": sorted(record.teams), "agent_id": record.agent_id,
                                      "created_at": record.created_at.isoformat(),
                                      "revoked_at": record.revoked_at.isoformat() if record.revoked_at else None}))  # fmt: skip
        else:
            revoke_key(service.start, args.key_id, now=utc_now(), actor=SYSTEM)
            print(f"revoked key {args.key_id}")
    finally:
        service.stop()
    return 0
