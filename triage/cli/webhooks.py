"""``triage webhooks add|list|deliveries|redeliver|remove``: receivers of signed alert events."""

from __future__ import annotations

import argparse
import json

from triage.adapters.bootstrap import build_service
from triage.config import get_settings
from triage.domain.alerts import AlertType
from triage.kernel.clock import utc_now
from triage.kernel.errors import NotFound
from triage.services.audit import SYSTEM
from triage.services.webhooks import add_webhook, redeliver


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``webhooks`` sub-commands."""
    commands = parser.add_subparsers(dest="webhooks_command", required=True, metavar="WEBHOOKS_COMMAND")
    add = commands.add_parser("add", help="register a receiver (deliveries are signed with --secret)")
    add.add_argument("--url", required=True, help="http(s) URL that receives POSTs")
    add.add_argument("--secret", required=True, help="shared secret (16+ characters) for X-Triage-Signature")
    add.add_argument("--events", required=True, help=f"comma-separated, among: {', '.join(t.value for t in AlertType)}")
    commands.add_parser("list", help="list webhooks (without secrets)")
    deliveries = commands.add_parser("deliveries", help="list recent deliveries (the outbox)")
    deliveries.add_argument("--state", choices=("pending", "delivered", "dead"))
    deliveries.add_argument("--limit", type=int, default=50)
    again = commands.add_parser("redeliver", help="send a delivered or dead-lettered delivery again")
    again.add_argument("delivery_id", type=int)
    remove = commands.add_parser("remove", help="deactivate a webhook (its pending deliveries are dropped)")
    remove.add_argument("webhook_id")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    service = build_service(get_settings())
    try:
        if args.webhooks_command == "add":
            webhook = add_webhook(service.start, url=args.url, secret=args.secret, events=args.events.split(","),
                                  now=utc_now(), actor=SYSTEM)  # fmt: skip
            print(json.dumps({"id": webhook.id, "url": webhook.url, "events": sorted(webhook.events)}))
        elif args.webhooks_command == "list":
            with service.read() as uow:
                for w in uow.webhooks.all():
                    print(json.dumps({"id": w.id, "url": w.url, "events": sorted(w.events), "active": w.active}))
        elif args.webhooks_command == "deliveries":
            with service.read() as uow:
                for d in uow.webhooks.deliveries(webhook_id=None, state=args.state, limit=args.limit):
                    print(json.dumps({"id": d.id, "webhook": d.webhook_id, "event": d.event, "state": d.state,
                                      "attempts": d.attempts, "last_status": d.last_status, "last_error": d.last_error}))  # fmt: skip
        elif args.webhooks_command == "redeliver":
            redeliver(service.start, args.delivery_id, now=utc_now(), actor=SYSTEM)
            print(f"delivery {args.delivery_id} queued again")
        else:
            with service.start() as uow:
                if not uow.webhooks.deactivate(args.webhook_id):
                    raise NotFound(f"no active webhook {args.webhook_id!r}")
                uow.commit()
            print(f"webhook {args.webhook_id} deactivated")
    finally:
        service.stop()
    return 0
