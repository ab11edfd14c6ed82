"""The background work: triage queued tickets in micro-batches, and file resolved tickets' solutions in the KB.

Triage is durable. Intake commits the ticket and a ``triage`` job before any model runs. A worker claims up to
``max_batch`` jobs at once (with a lease), triages them in one pipeline call outside any transaction, then stores
every result, its routing and its SLA clock in one transaction that also marks the jobs done, but only if it
still holds the claims. A worker killed at any point leaves each ticket either done or still queued; its leases
run out and another worker takes the jobs again. A job that keeps failing is retried with backoff and finally
sent, untriaged, to the human triage queue, so nothing is lost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from kb_index.knowledge_base import KnowledgeBase
from kb_index.snapshots import current_snapshot
from triage.domain.alerts import Alert, AlertType, Severity, anger_alert
from triage.domain.desk import RoutingConfig
from triage.domain.routing import Assignment
from triage.domain.ticket import Customer, Ticket
from triage.engine.pipeline import TriagePipeline
from triage.engine.results import TriageResult
from triage.engine.similar import SimilarityReport, SimilarTicketFinder, embed_tickets
from triage.engine.stages.suggest import AnswerSuggester
from triage.kernel.errors import ModelNotReady, TriageError
from triage.kernel.vocabulary import MessageKind, TicketStatus, Tier, TriageState
from triage.ports import Job, UnitOfWork
from triage.services import dispatch
from triage.services.alerts import is_quiet, raise_alert
from triage.services.assign import route_triaged
from triage.services.audit import SYSTEM, record
from triage.services.intake import TRIAGE_JOB
from triage.services.lifecycle import KB_FEEDBACK_JOB, KB_INGEST_JOB, MESSAGE_SENTIMENT_JOB
from triage.services.sla import start_clock

logger = logging.getLogger(__name__)

Start = Callable[[], UnitOfWork]


class PipelineHolder:
    """The pipeline serving now; :meth:`swap` replaces it between batches (hot reload, no downtime)."""

    def __init__(self, pipeline: TriagePipeline) -> None:
        self._pipeline = pipeline
        self._lock = threading.Lock()

    @property
    def current(self) -> TriagePipeline:
        return self._pipeline

    def swap(self, pipeline: TriagePipeline) -> None:
        with self._lock:
            self._pipeline = pipeline


@dataclass(frozen=True)
class WorkerSettings:
    """How a worker claims and retries."""

    max_batch: int = 32
    lease: timedelta = timedelta(minutes=2)
    max_attempts: int = 3
    backoff: timedelta = timedelta(seconds=5)
    similar_window: timedelta = timedelta(days=14)
    incident_window: timedelta = timedelta(minutes=30)
    incident_customers: int = 3


#: How often the similarity memory drops tickets that left its window.
PRUNE_EVERY = timedelta(minutes=1)


class SimilarityMemory:
    """Recent tickets' embeddings, shared through the database so every process sees every ticket.

    Before each batch the memory loads what other processes stored since it last looked and forgets tickets older
    than ``window``; after a batch commits, its own tickets are added locally.
    """

    def __init__(self, finder: SimilarTicketFinder, *, encoder_id: str, window: timedelta) -> None:
        self.finder = finder
        self.encoder_id = encoder_id
        self.window = window
        self._last_row = 0
        self._pruned_at: datetime | None = None
        self._lock = threading.Lock()

    def refresh(self, uow: UnitOfWork, *, now: datetime) -> None:
        with self._lock:
            for stored in uow.vectors.since(self._last_row, not_before=now - self.window, encoder_id=self.encoder_id):
                self.remember(stored.number, stored.customer_id, stored.created_at, stored.vector)
                self._last_row = max(self._last_row, stored.row_id)
            # A long-running worker holds the window's tickets, not every ticket it saw. Pruning scans them all, so it
            # runs once per PRUNE_EVERY rather than on every batch (the finder ignores stale tickets meanwhile).
            if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
                self.finder.prune(now)
                self._pruned_at = now

    def remember(self, number: str, customer_id: str, created_at: datetime, vector: bytes | np.ndarray) -> None:
        array = np.frombuffer(vector, dtype=np.float32) if isinstance(vector, bytes) else vector
        # Stored as resolved, so the time window (not the status) decides what counts as recent.
        entry = Ticket(number, customer=Customer(customer_id), created_at=created_at, status=TicketStatus.RESOLVED)
        self.finder.add(entry, "", vector=array)

    def find(self, ticket: Ticket, vector: np.ndarray, *, now: datetime) -> SimilarityReport:
        return self.finder.find("", customer_id=ticket.customer.id, at=ticket.created_at or now, exclude=ticket.id,
                                vector=vector)  # fmt: skip


class TriageProcessor:
    """Claims triage jobs and runs them in batches.

    Args:
        start: Opens a unit of work.
        holder: The serving pipeline.
        desk: Roster, policy, taxonomy, SLA.
        worker_id: Unique name of this worker (claims and leases carry it).
        settings: Batch size, lease, retries.
        clock: The current instant (tests pass a fixed one).
        on_done: Told the numbers of tickets whose triage finished (waiting HTTP requests wake up).
        on_triaged: Told each stored result (metrics).
    """

    def __init__(
        self,
        start: Start,
        holder: PipelineHolder,
        desk: RoutingConfig,
        *,
        worker_id: str,
        settings: WorkerSettings,
        clock: Callable[[], datetime],
        on_done: Callable[[list[str]], None] = lambda numbers: None,
        on_triaged: Callable[[TriageResult], None] = lambda result: None,
        on_alerts: Callable[[list[Alert]], None] = lambda alerts: None,
    ) -> None:
        self.start = start
        self.holder = holder
        self.desk = desk
        self.worker_id = worker_id
        self.settings = settings
        self.clock = clock
        self.on_done = on_done
        self.on_triaged = on_triaged
        self.on_alerts = on_alerts
        encoder = holder.current.encoder
        if encoder is None:
            raise ModelNotReady("the serving pipeline has no shared encoder; build it with build_pipeline")
        self.memory = SimilarityMemory(SimilarTicketFinder(encoder, recent=settings.similar_window),
                                       encoder_id=encoder.id, window=settings.similar_window)  # fmt: skip

    def run_once(self, *, limit: int | None = None) -> int:
        """Claim and triage one batch; returns how many jobs it took (0 when the queue is empty)."""
        now = self.clock()
        with self.start() as uow:
            jobs = uow.jobs.claim(TRIAGE_JOB, self.worker_id, limit=limit or self.settings.max_batch,
                                  lease=self.settings.lease, now=now)  # fmt: skip
            uow.commit()
        if jobs:
            self._process(jobs)
        return len(jobs)

    def release(self) -> int:
        """Give back every job this worker holds (graceful shutdown)."""
        with self.start() as uow:
            released = uow.jobs.release_claims(self.worker_id)
            uow.commit()
        return released

    def _process(self, jobs: list[Job]) -> None:
        now = self.clock()
        with self.start() as uow:
            tickets = [uow.tickets.get(job.number) for job in jobs]
            self.memory.refresh(uow, now=now)
        pipeline = self.holder.current
        pairs = [(job, t) for job, t in zip(jobs, tickets, strict=True) if t is not None]
        texts = [t.text[: pipeline.max_chars] for _, t in pairs]  # the models read the first part of a long email
        try:
            vectors = embed_tickets(pipeline.encoder, texts)  # type: ignore[arg-type]
            reports = [self.memory.find(t, v, now=now) for (_, t), v in zip(pairs, vectors, strict=True)]
            for (_, ticket), report in zip(pairs, reports, strict=True):
                ticket.repeat_of = report.repeat_of
                ticket.repeat_contacts = sum(
                    1 for hit in report.similar if hit.duplicate and hit.customer_id == ticket.customer.id
                )
            results = pipeline.batch(texts, [t for _, t in pairs])
        except Exception as exc:  # noqa: BLE001 - any model failure: retry, alone if the batch had several
            if len(pairs) > 1:
                for job, _ in pairs:
                    self._process([job])
            elif pairs:
                self._failed(pairs[0][0], exc)
            return
        self._store(pairs, results, reports, vectors, pipeline)

    def _store(
        self,
        pairs: Sequence[tuple[Job, Ticket]],
        results: Sequence[TriageResult],
        reports: Sequence[SimilarityReport],
        vectors: np.ndarray,
        pipeline: TriagePipeline,
    ) -> None:
        now = self.clock()
        done: list[str] = []
        raised: list[Alert] = []
        encoder_id = pipeline.encoder.id  # type: ignore[union-attr]
        with self.start() as uow:
            for (job, triaged), result, report, vector in zip(pairs, results, reports, vectors, strict=True):
                ticket = uow.tickets.get(job.number, for_update=True)
                if ticket is None or not uow.jobs.complete(job, self.worker_id, now=now):
                    continue  # our lease ran out and another worker has the job: its result counts
                if ticket.triage_state is not TriageState.PENDING:
                    continue  # a person classified it meanwhile
                ticket.repeat_of, ticket.repeat_contacts = triaged.repeat_of, triaged.repeat_contacts
                ticket.triage = _triage_record(result, report)
                ticket.triage_state = TriageState.DONE
                _remember_prediction(ticket, result)
                assignment = self._route(uow, ticket, result, now)
                dispatch.apply_assignment(ticket, assignment, now=now)
                start_clock(uow, self.desk, ticket, now=now)
                raised.extend(raise_alert(uow, alert) for alert in self._alerts(uow, ticket, result, report, now))
                uow.vectors.add(ticket.id, customer_id=ticket.customer.id, encoder_id=encoder_id,
                                vector=np.asarray(vector, dtype=np.float32).tobytes(), at=ticket.created_at or now)  # fmt: skip
                uow.tickets.save(ticket)
                record(uow, actor=SYSTEM, action="triaged", at=now, ticket=ticket,
                       after={"category": ticket.category, "priority": ticket.priority.value if ticket.priority else None,
                              "abstained": result.category.abstained, "team": ticket.team, "assignee": ticket.assignee,
                              "model_versions": result.model_versions})  # fmt: skip
                done.append(ticket.id)
            uow.commit()
        for (_job, ticket), result, vector in zip(pairs, results, vectors, strict=True):
            if ticket.id in done:
                self.memory.remember(ticket.id, ticket.customer.id, ticket.created_at or now, np.asarray(vector))
                self.on_triaged(result)
        self.on_done(done)
        if raised:
            self.on_alerts(raised)

    def _alerts(
        self, uow: UnitOfWork, ticket: Ticket, result: TriageResult, report: SimilarityReport, now: datetime
    ) -> list[Alert]:
        """Angry customer, repeat contact and possible incident alerts for a freshly triaged ticket."""
        out: list[Alert] = []
        angry = anger_alert(number=ticket.id, team=ticket.team, tier=ticket.tier, angers=[result.sentiment.anger],
                            threshold=self.desk.policy.angry_threshold, at=now)  # fmt: skip
        if angry is not None:
            out.append(angry)
        if ticket.repeat_of is not None:
            vip = ticket.tier is Tier.VIP
            out.append(Alert(type=AlertType.REPEAT_CONTACT, severity=Severity.HIGH if vip else Severity.MEDIUM,
                             reason=f"customer {ticket.customer.id} contacted again about {ticket.repeat_of} "
                                    f"({ticket.repeat_contacts} earlier contact(s))",
                             created_at=now, number=ticket.id, team=ticket.team, tier=ticket.tier,
                             related=(ticket.repeat_of,)))  # fmt: skip
        incident = self._incident(uow, ticket, report, now)
        if incident is not None:
            out.append(incident)
        return out

    def _incident(self, uow: UnitOfWork, ticket: Ticket, report: SimilarityReport, now: datetime) -> Alert | None:
        """A burst of near-duplicate tickets from at least ``incident_customers`` customers within the window."""
        created = ticket.created_at or now
        window = self.settings.incident_window
        burst = [hit for hit in report.similar if hit.duplicate and created - hit.created_at <= window]
        customers = {hit.customer_id for hit in burst} | {ticket.customer.id}
        if len(customers) < self.settings.incident_customers:
            return None
        members = [hit.ticket_id for hit in burst]
        if any(uow.alerts.exists(AlertType.POSSIBLE_INCIDENT, number=n, since=now - window) for n in [ticket.id, *members]):
            return None  # this burst already raised its alert; the ticket joins it silently
        return Alert(type=AlertType.POSSIBLE_INCIDENT, severity=Severity.CRITICAL,
                     reason=f"possible incident: {len(members) + 1} similar tickets from {len(customers)} customers "
                            f"within {int(window.total_seconds() // 60)} minutes",
                     created_at=now, number=ticket.id, team=ticket.team, tier=ticket.tier, related=tuple(members),
                     details={"customers": len(customers)})  # fmt: skip

    def run_messages_once(self, *, limit: int = 32) -> int:
        """Read the anger of new customer messages; raise an alert when a customer is (increasingly) angry."""
        now = self.clock()
        with self.start() as uow:
            jobs = uow.jobs.claim(MESSAGE_SENTIMENT_JOB, self.worker_id, limit=limit, lease=self.settings.lease, now=now)
            uow.commit()
        if not jobs:
            return 0
        with self.start() as uow:
            threads = {job.number: (uow.tickets.get(job.number), uow.messages.thread(job.number)) for job in jobs}
        unread = [(n, m) for n, (_, thread) in threads.items() for m in thread
                  if m.kind is MessageKind.CUSTOMER and m.anger is None]  # fmt: skip
        scores = self.holder.current.sentiment.batch([m.body[: self.holder.current.max_chars] for _, m in unread]) if unread else []
        angers = {(n, m.created_at): s.anger for (n, m), s in zip(unread, scores, strict=True)}
        raised: list[Alert] = []
        with self.start() as uow:
            for job in jobs:
                if not uow.jobs.complete(job, self.worker_id, now=now):
                    continue
                ticket, thread = threads[job.number]
                if ticket is None:
                    continue
                for (number, created_at), anger in angers.items():
                    if number == job.number:
                        uow.messages.set_anger(number, created_at, anger)
                history = [ticket.anger] + [angers.get((m.number, m.created_at), m.anger) or 0.0
                                            for m in thread if m.kind is MessageKind.CUSTOMER]  # fmt: skip
                alert = anger_alert(number=ticket.id, team=ticket.team, tier=ticket.tier, angers=history,
                                    threshold=self.desk.policy.angry_threshold, at=now)  # fmt: skip
                rising = alert is not None and bool(alert.details.get("rising"))
                if alert is not None and (rising or not is_quiet(uow, AlertType.ANGRY_CUSTOMER, ticket.id, now=now)):
                    raised.append(raise_alert(uow, alert))
            uow.commit()
        if raised:
            self.on_alerts(raised)
        return len(jobs)

    def _route(self, uow: UnitOfWork, ticket: Ticket, result: TriageResult, now: datetime) -> Assignment:
        team = ticket.team if ticket.parent else None  # a sub-task stays in the team a person created it for

        def route(t: Ticket) -> Assignment:
            return dispatch.route(uow, self.desk, t, now=now, team=team)

        assignment = route_triaged(ticket, result, triage_queue=self.desk.taxonomy.triage_queue, route=route)
        if team is not None and assignment.team != team:
            assignment = Assignment(ticket.id, team, None, (*assignment.reasons[:1], f"sub-task: queued for team {team}"))
        return assignment

    def _failed(self, job: Job, error: Exception) -> None:
        now = self.clock()
        message = f"{type(error).__name__}: {error}"
        logger.warning("triage failed", extra={"ticket": job.number, "attempt": job.attempts, "error": type(error).__name__})
        with self.start() as uow:
            if job.attempts < self.settings.max_attempts:
                retry_at = now + self.settings.backoff * (2 ** (job.attempts - 1))
                uow.jobs.retry(job, self.worker_id, error=message, run_after=retry_at, now=now)
            else:
                uow.jobs.retry(job, self.worker_id, error=message, run_after=None, now=now)
                ticket = uow.tickets.get(job.number, for_update=True)
                if ticket is not None and ticket.triage_state is TriageState.PENDING:
                    ticket.triage_state = TriageState.FAILED
                    queue = self.desk.taxonomy.triage_queue
                    reason = f"triage failed after {job.attempts} attempts ({type(error).__name__}); a person must classify it"
                    dispatch.apply_assignment(ticket, Assignment(ticket.id, queue, None, (reason, f"queued for team {queue}")),
                                              now=now)  # fmt: skip
                    start_clock(uow, self.desk, ticket, now=now)
                    uow.tickets.save(ticket)
                    record(uow, actor=SYSTEM, action="triage-failed", at=now, ticket=ticket, after={"error": message[:500]})
            uow.commit()
        if job.attempts >= self.settings.max_attempts:
            self.on_done([job.number])


def _remember_prediction(ticket: Ticket, result: TriageResult) -> None:
    """Keep what the models said beside what the ticket will become (corrections and live accuracy need it)."""
    ticket.predicted_category = result.category.label
    ticket.predicted_priority = result.urgency.level
    ticket.category_model_version = result.category.model_version
    ticket.urgency_model_version = result.urgency.model_version
    ticket.abstained = result.category.abstained


def _triage_record(result: TriageResult, report: SimilarityReport) -> dict[str, object]:
    """The triage result as stored on the ticket (plain JSON data), with the similar tickets found."""
    data = result.to_dict()
    data["similar"] = [
        {"number": hit.ticket_id, "similarity": hit.similarity, "duplicate": hit.duplicate} for hit in report.similar
    ]
    data["repeat_of"] = report.repeat_of
    return data


class KnowledgeIngest:
    """Files resolved tickets' solutions in the knowledge base, a batch at a time, one writer at a time.

    The KB lives in a snapshot folder shared by every process; the writer takes the ``kb-writer`` lease, reloads
    the newest snapshot, adds the batch and saves a new snapshot, so no process overwrites another's additions.
    Readers reload when the snapshot changes (:meth:`refresh`).
    """

    LEASE = "kb-writer"

    def __init__(self, start: Start, holder: PipelineHolder, kb_dir: Path, *, worker_id: str,
                 clock: Callable[[], datetime], max_batch: int = 64) -> None:  # fmt: skip
        self.start = start
        self.holder = holder
        self.kb_dir = kb_dir
        self.worker_id = worker_id
        self.clock = clock
        self.max_batch = max_batch
        self._loaded: str | None = None

    def _knowledge_base(self) -> KnowledgeBase | None:
        suggest = self.holder.current.suggest
        return suggest.knowledge_base if isinstance(suggest, AnswerSuggester) else None

    def refresh(self) -> bool:
        """Reload the KB when another process published a newer snapshot; returns whether it did."""
        kb = self._knowledge_base()
        if kb is None:
            return False
        try:
            name = current_snapshot(self.kb_dir).name
        except TriageError:
            return False
        if name == self._loaded:
            return False
        if self._loaded is not None:
            kb.reload(self.kb_dir)
        self._loaded = name
        return True

    def run_once(self) -> int:
        """File one batch of solutions and suggestion votes; returns how many jobs it took."""
        now = self.clock()
        with self.start() as uow:
            if not uow.leases.acquire(self.LEASE, self.worker_id, ttl=timedelta(minutes=5), now=now):
                return 0
            jobs = [
                job
                for kind in (KB_INGEST_JOB, KB_FEEDBACK_JOB)
                for job in uow.jobs.claim(kind, self.worker_id, limit=self.max_batch, lease=timedelta(minutes=5), now=now)
            ]
            uow.commit()
        try:
            if jobs:
                self._ingest(jobs)
        finally:
            with self.start() as uow:
                uow.leases.release(self.LEASE, self.worker_id)
                uow.commit()
        return len(jobs)

    def _ingest(self, jobs: list[Job]) -> None:
        kb = self._knowledge_base()
        now = self.clock()
        with self.start() as uow:
            tickets = {job.number: uow.tickets.get(job.number) for job in jobs}
            votes = {job.number: uow.feedback.unapplied_votes(job.number) for job in jobs if job.kind == KB_FEEDBACK_JOB}
        if kb is not None:
            self.refresh()
            for job in jobs:
                ticket = tickets[job.number]
                if job.kind == KB_INGEST_JOB and ticket is not None and ticket.solution:
                    kb.add_solution(ticket_id=ticket.id, solution=ticket.solution, title=ticket.subject)
                for article_id, helpful in votes.get(job.number, []):
                    try:
                        kb.record_feedback(article_id, helpful=helpful)
                    except KeyError:
                        logger.info("vote on an article no longer in the knowledge base", extra={"article": article_id})
            self._loaded = kb.save(self.kb_dir).name
        with self.start() as uow:
            for job in jobs:
                uow.jobs.complete(job, self.worker_id, now=now)
                if job.kind == KB_FEEDBACK_JOB:
                    uow.feedback.mark_votes_applied(job.number)
                else:
                    record(uow, actor=SYSTEM, action="kb-ingested" if kb is not None else "kb-skipped", at=now,
                           ticket=tickets[job.number], after={"knowledge_base": str(self.kb_dir) if kb else None})  # fmt: skip
            uow.commit()
