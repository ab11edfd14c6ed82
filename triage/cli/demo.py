"""``triage demo``: the embedded default, end to end.

Registers the shipped default sentiment and urgency models (trained on real public text, ``models/pretrained``) as
champions where none exists, trains the category head on the bundled demo tickets (the demo organisation's own
labelled history), builds the demo knowledge base, migrates the database, creates demo API keys (kept in
``<home>/demo-keys.json``) and demo console users with generated passwords (``<home>/demo-users.json``), then
triages and routes a few demo tickets and prints what the service decided. ``make run`` runs it, then
``triage serve``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from pathlib import Path

import pandas as pd

from kb_index.documents import load_articles
from kb_index.knowledge_base import KnowledgeBase
from models.encoder import MemoizedEncoder
from models.loading import load_artifact
from training import tracking
from training.train import train_task
from triage.adapters.bootstrap import build_service, open_database
from triage.adapters.policy_file import load_routing_config
from triage.adapters.sql.migrate import upgrade
from triage.config import REGISTERED_MODEL_NAMES, Settings, get_settings
from triage.domain.ticket import Customer, Ticket
from triage.engine.factory import PRETRAINED_DIR, build_pipeline, load_configured_encoder
from triage.kernel.clock import utc_now
from triage.kernel.errors import ArtifactMismatch
from triage.kernel.vocabulary import Role
from triage.services.assign import triage_and_route
from triage.services.audit import SYSTEM
from triage.services.keys import authenticate, create_key
from triage.services.routing_board import RoutingBoard
from triage.services.users import create_user, set_password, sign_in

DEMO = Path(__file__).resolve().parents[2] / "demo"
#: Task -> label column of demo/tickets.csv, for the tasks trained on the demo tickets.
DEMO_LABELS = {"category": "category"}
#: Tasks served by the shipped defaults (python -m training.default_models rebuilds them).
SHIPPED = {"sentiment": PRETRAINED_DIR / "sentiment", "urgency": PRETRAINED_DIR / "urgency"}
#: The demo keys: role -> (teams, agent).
DEMO_KEYS = {"intake": ([], None), "agent": ([], "wang.lei"), "manager": (["tech"], None), "admin": ([], None)}
#: The demo console users: username -> (role, teams, agent). Passwords are generated and kept in demo-users.json.
DEMO_USERS = {
    "manager": (Role.MANAGER, ["tech", "billing", "care", "triage"], None),
    "wang.lei": (Role.AGENT, [], "wang.lei"),
    "anna.kurz": (Role.AGENT, [], "anna.kurz"),
    "sarah.jones": (Role.AGENT, ["triage"], "sarah.jones"),
    "admin": (Role.ADMIN, [], None),
}


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``demo`` options."""
    parser.description = (
        "Registers the shipped sentiment and urgency defaults and trains the category head on demo/tickets.csv in "
        "the local MLflow store (skipped when champions exist), builds the demo knowledge base, migrates the "
        "database, creates demo API keys, and triages and routes sample tickets."
    )
    parser.add_argument(
        "--retrain", action="store_true",
        help="retrain the category head, re-register the shipped defaults and rebuild the KB even if they exist",
    )  # fmt: skip
    parser.add_argument("--tickets", type=Path, default=DEMO / "tickets.csv")
    parser.add_argument("--articles", type=Path, default=DEMO / "kb")
    parser.add_argument("--sample", type=int, default=8, help="demo tickets to triage and print")
    parser.set_defaults(handler=run)


def _say(message: str) -> None:
    print(f"[demo] {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    encoder = MemoizedEncoder(load_configured_encoder(settings), max_size=20_000)
    client = tracking.mlflow_client(settings)
    for task, name in REGISTERED_MODEL_NAMES.items():
        champion = tracking.current_champion_version(client, name)
        replace_champion = args.retrain
        if champion and not args.retrain:
            try:
                load_artifact(settings.model_uri(task), tracking_uri=settings.resolved_mlflow_uri)
            except ArtifactMismatch as exc:  # built by an older release: this one cannot serve it
                _say(f"{name}@champion version {champion} cannot be served by this release ({exc}); retraining")
                replace_champion = True
            else:
                _say(f"{name}@champion is version {champion}; keeping it (use --retrain to train again)")
                continue
        if task in SHIPPED:
            version = tracking.register_folder(
                client, settings, name=name, folder=SHIPPED[task],
                tags={"source": "shipped default", "folder": str(SHIPPED[task])},
            )  # fmt: skip
            client.set_registered_model_alias(name, tracking.CHAMPION, version)
            _say(f"{name} v{version}: the shipped default (trained on real public text) is the champion")
            continue
        _say(f"training {name} on {args.tickets}")
        outcome = train_task(
            task=task, data_path=args.tickets, settings=settings, text_col="subject,body",
            label_col=DEMO_LABELS[task], encoder=encoder, force_promote=replace_champion,
        )  # fmt: skip
        metric = "accuracy" if task == "category" else "macro_f1"
        _say(f"{name} v{outcome.version}: holdout {metric} {outcome.metrics[metric]:.3f}; {outcome.promotion_reason}")

    kb_dir = settings.resolved_kb_dir
    rebuild = args.retrain or not kb_dir.exists()
    if not rebuild:
        try:
            KnowledgeBase.load(kb_dir, encoder)
        except ArtifactMismatch as exc:  # an older format or another encoder: this release cannot serve it
            _say(f"the knowledge base at {kb_dir} cannot be served by this release ({exc}); rebuilding")
            rebuild = True
    if rebuild:
        _say(f"building the knowledge base from {args.articles} into {kb_dir}")
        KnowledgeBase.build(load_articles(args.articles), encoder, show_progress=True).save(kb_dir)

    engine = open_database(settings, require_migrated=False)
    before, after = upgrade(engine)
    engine.dispose()
    if before != after:
        _say(f"database {settings.resolved_database_url} migrated to schema {after}")
    keys = _demo_keys(settings)
    _say(f"demo API keys are in {settings.home / 'demo-keys.json'} ({', '.join(keys)})")
    logins = _demo_users(settings)
    _say(f"demo console users are in {settings.home / 'demo-users.json'} ({', '.join(logins)})")

    routing = load_routing_config(settings.routing_config_dir, taxonomy_file=settings.taxonomy_file)
    pipeline = build_pipeline(settings, encoder=encoder, taxonomy=routing.taxonomy)
    for warning in routing.taxonomy.check_labels(pipeline.classify.labels):
        _say(warning)
    board = RoutingBoard(agents=routing.agents, policy=routing.policy)
    frame = pd.read_csv(args.tickets, dtype=str, keep_default_na=False)
    sample = frame.sample(n=min(args.sample, len(frame)), random_state=7)
    tickets = [
        Ticket(id=r.ticket_id, subject=r.subject, body=r.body, customer=Customer(r.customer_id, r.customer_tier),
               channel=r.channel, created_at=utc_now())
        for r in sample.itertuples()
    ]  # fmt: skip
    print(
        f"{'ticket':<10} {'lang':<4} {'category (conf)':<30} {'urg':<4} {'sentiment/anger':<18} {'assigned':<22} top suggestion"
    )
    for ticket, (result, assignment) in zip(
        tickets, triage_and_route(tickets, pipeline=pipeline, board=board, now=utc_now()), strict=True
    ):
        category = result.category
        shown = f"{category.label} ({category.confidence:.2f})" + (" ABSTAIN" if category.abstained else "")
        top = result.suggestions[0].title if result.suggestions else "-"
        mood = f"{result.sentiment.label}/{result.sentiment.anger:.2f}"
        where = assignment.agent_id or f"queue:{assignment.team}"
        print(
            f"{ticket.id:<10} {result.language.language:<4} {shown:<30} {result.urgency.level:<4} {mood:<18} {where:<22} {top[:40]}"
        )
    print(f"models: {pipeline.model_versions}")
    return 0


def _demo_keys(settings: Settings) -> dict[str, str]:
    """The demo keys, created once and kept (readable only by this user) so `make run` can print them again."""
    path = settings.home / "demo-keys.json"
    service = build_service(settings)
    try:
        if path.is_file():
            keys = json.loads(path.read_text())
            if all(authenticate(service.read, key) for key in keys.values()):
                return keys
        keys = {
            role: create_key(service.start, service.desk, role=Role(role), name=f"demo {role}", teams=teams,
                             agent_id=agent, now=utc_now(), actor=SYSTEM)[0]
            for role, (teams, agent) in DEMO_KEYS.items()
        }  # fmt: skip
    finally:
        service.stop()
    path.write_text(json.dumps(keys, indent=2))
    os.chmod(path, 0o600)
    return keys


def _demo_users(settings: Settings) -> dict[str, dict[str, str]]:
    """The demo console users with generated passwords, created once and kept (readable only by this user) so
    `make run` can print the logins."""
    path = settings.home / "demo-users.json"
    service = build_service(settings)
    try:
        logins = json.loads(path.read_text()) if path.is_file() else {}
        if set(logins) == set(DEMO_USERS) and all(
            sign_in(service.start, name, login["password"], now=utc_now()).principal for name, login in logins.items()
        ):
            return logins
        logins = {}
        with service.read() as uow:
            existing = {user.username for user in uow.users.all()}
        for name, (role, teams, agent) in DEMO_USERS.items():
            password = secrets.token_urlsafe(12)
            if name in existing:
                set_password(service.start, name, password, now=utc_now(), actor=SYSTEM)
            else:
                create_user(service.start, service.desk, username=name, password=password, role=role, teams=teams,
                            agent_id=agent, now=utc_now(), actor=SYSTEM)  # fmt: skip
            logins[name] = {"role": role.value, "password": password}
    finally:
        service.stop()
    path.write_text(json.dumps(logins, indent=2))
    os.chmod(path, 0o600)
    return logins
