"""The web console: server-rendered pages for managers (dashboard), agents (queues, tickets) and the triage desk.

Every page and action calls the same services as the JSON API with the signed-in user's principal, so the same
role checks and scopes apply (another team's ticket is a 404 here too). Actions are plain HTML forms that
redirect back (POST, redirect, GET); a little JavaScript adds live alerts, countdowns, keyboard navigation and
in-place ratings.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from functools import partial
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from api.console import i18n
from api.console.auth import (
    LANG_COOKIE,
    ConsoleService,
    CsrfRejected,
    CsrfViewerDep,
    FormDep,
    OptionalViewerDep,
    Viewer,
    ViewerDep,
    check_csrf,
    cookie_names,
    language_of,
    login_csrf,
    optional_viewer,
    safe_next,
    set_cookie,
)
from api.deps import RowId
from api.routes.alerts import alert_stream
from api.schemas import details_public
from triage.adapters.bootstrap import Service
from triage.domain.access import Principal
from triage.domain.alerts import Alert, AlertType, Severity
from triage.kernel.clock import utc_now
from triage.kernel.errors import Conflict, IllegalTransition, InvalidRequest, InvalidTicket, PermissionDenied
from triage.kernel.vocabulary import MessageKind, Priority, Role, TicketStatus
from triage.ports import AlertFilter, AnalyticsFilter
from triage.services import alerts, analytics, feedback, lifecycle, queries, users, workspace

HERE = Path(__file__).resolve().parent
TEMPLATES = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),  # every template, whatever its name
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
#: Confirmation messages a redirect may ask for (``?done=...``); anything else is ignored, so links cannot inject text.
DONE = {"reply", "note", "classified", "status", "assigned", "resolved", "rated", "acknowledged"}
RANGES = (7, 14, 30)
#: The order a ticket's next statuses are offered in.
STATUS_CHOICES = (TicketStatus.IN_PROGRESS, TicketStatus.PENDING_CUSTOMER, TicketStatus.ASSIGNED, TicketStatus.NEW,
                  TicketStatus.CLOSED, TicketStatus.RESOLVED)  # fmt: skip
MANAGERS = (Role.MANAGER, Role.ADMIN)

router = APIRouter(include_in_schema=False)


# ----------------------------------------------------------------------------------------------------------- render
def _highlight_mentions(text: str) -> Markup:
    """Escape ``text``, then mark its @mentions (the mention pattern has no character that escaping changes)."""
    return Markup(lifecycle.MENTION.sub(lambda m: f'<mark class="mention">@{m.group(1)}</mark>', str(escape(text))))


def render(
    request: Request,
    service: Service | None,
    viewer: Viewer | None,
    template: str,
    *,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a page in the viewer's language and time zone (``Cache-Control: no-store``: pages hold ticket data)."""
    language = viewer.language if viewer else language_of(request)
    zone = viewer.zone if viewer else ZoneInfo("UTC")
    taxonomy = service.desk.taxonomy if service else None

    def category_name(path: str | None) -> str:
        if not path:
            return "—"
        entry = taxonomy.entry_for(path) if taxonomy else None
        return entry.name(language) if entry else path

    csrf, fresh = (viewer.csrf_token, False) if viewer else login_csrf(request, service)
    done = request.query_params.get("done")
    page = TEMPLATES.get_template(template).render(
        t=partial(i18n.translate, language),
        lang=language,
        viewer=viewer,
        csrf=csrf,
        zone_name=zone.key,
        request_path=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        when=partial(i18n.local_time, zone=zone),
        duration=partial(i18n.duration, language=language),
        category_name=category_name,
        mentions=_highlight_mentions,
        now=utc_now(),
        flash=i18n.translate(language, f"done.{done}") if done in DONE else None,
        **context,
    )
    response = HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store"})
    if fresh and service is not None:
        set_cookie(response, service, cookie_names(service)[1], csrf, max_age=3600, samesite="strict")
    return response


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def landing(principal: Principal) -> str:
    """Where a user starts: managers and admins on the dashboard, agents on their queue."""
    return "/dashboard" if principal.role in MANAGERS else "/queue"


# ----------------------------------------------------------------------------------------------------------- sign-in
@router.get("/")
def home(viewer: OptionalViewerDep) -> RedirectResponse:
    return redirect(landing(viewer.principal) if viewer else "/login")


@router.get("/login")
def login_form(request: Request, service: ConsoleService, viewer: OptionalViewerDep,
               next: Annotated[str | None, Query(max_length=2000)] = None) -> Response:  # noqa: A002  # fmt: skip
    if viewer is not None:
        return redirect(safe_next(next, landing(viewer.principal)))
    return render(request, service, None, "login.html", next_path=safe_next(next, ""), error=None, username="")


@router.post("/login")
async def login(request: Request, service: ConsoleService, form: FormDep) -> Response:
    _, csrf_cookie = cookie_names(service)
    username, next_path = form.get("username", "")[:200], safe_next(form.get("next"), "")
    try:
        check_csrf(request, form, request.cookies.get(csrf_cookie, ""))
    except CsrfRejected:
        return render(request, service, None, "login.html", status=403, next_path=next_path, username=username,
                      error=i18n.translate(language_of(request), "login.bad_form"))  # fmt: skip
    outcome = await run_in_threadpool(users.sign_in, service.start, username, form.get("password", ""), now=utc_now())
    if outcome.principal is None:
        language = language_of(request)
        zone = ZoneInfo(users.valid_time_zone(form.get("time_zone")))
        message = (i18n.translate(language, "login.locked", until=i18n.local_time(outcome.locked_until, zone))
                   if outcome.problem == "locked" else i18n.translate(language, "login.wrong"))  # fmt: skip
        return render(request, service, None, "login.html", status=401, next_path=next_path, username=username,
                      error=message)  # fmt: skip
    settings = service.settings
    token, _ = await run_in_threadpool(
        users.open_session, service.start, outcome.principal, time_zone=form.get("time_zone"), now=utc_now(),
        lifetime=timedelta(hours=settings.console_session_hours), idle=timedelta(minutes=settings.console_idle_minutes),
    )  # fmt: skip
    response = redirect(safe_next(next_path, landing(outcome.principal)))
    session_cookie, _ = cookie_names(service)
    set_cookie(response, service, session_cookie, token, max_age=int(settings.console_session_hours * 3600))
    return response


@router.post("/logout")
async def logout(service: ConsoleService, viewer: CsrfViewerDep, request: Request) -> Response:
    session_cookie, _ = cookie_names(service)
    await run_in_threadpool(users.end_session, service.start, request.cookies.get(session_cookie, ""))
    response = redirect("/login")
    response.delete_cookie(session_cookie, path="/", secure=service.settings.console_secure_cookies, httponly=True,
                           samesite="lax")  # fmt: skip
    return response


@router.post("/console/lang")
async def switch_language(request: Request, service: ConsoleService, viewer: OptionalViewerDep, form: FormDep) -> Response:
    """Switch the interface language (remembered for a year in a cookie)."""
    _, csrf_cookie = cookie_names(service)
    check_csrf(request, form, viewer.csrf_token if viewer else request.cookies.get(csrf_cookie, ""))
    language = form.get("lang") if form.get("lang") in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
    response = redirect(safe_next(form.get("next"), "/"))
    set_cookie(response, service, LANG_COOKIE, language, max_age=365 * 86_400)
    return response


# ----------------------------------------------------------------------------------------------------------- manager
def _dashboard_data(service: Service, viewer: Viewer, days: int) -> dict[str, Any]:
    principal, language, now = viewer.principal, viewer.language, utc_now()
    tr = partial(i18n.translate, language)
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    window = AnalyticsFilter(start=today - timedelta(days=days - 1), end=today + timedelta(days=1))
    report = analytics.report(service.read, principal, window, now=now)
    taxonomy = service.desk.taxonomy

    def name(path: str) -> str:
        entry = taxonomy.entry_for(path)
        return entry.name(language) if entry else path

    hot = report["hot_topics"]
    offset = round((now.astimezone(viewer.zone).utcoffset() or timedelta()).total_seconds() / 3600)
    by_hour_local = [[row[(hour - offset) % 24] for hour in range(24)] for row in hot["by_hour"]]
    latest_alert_id = alerts.latest_alert_id(service.read, principal)  # first: the stream resumes after it, no gap
    open_alerts = alerts.most_severe_first(
        alerts.list_alerts(service.read, principal, AlertFilter(acknowledged=False), limit=500)
    )[:50]
    with_quality = feedback.quality(service.read, principal, since=window.start)
    serving = service.holder.current.model_versions if service.holder is not None else {}
    charts = {
        "labels": {
            "open": tr("dash.backlog.open"), "created": tr("dash.backlog.created"),
            "resolved": tr("dash.backlog.resolved"), "attainment": tr("dash.sla.attainment"),
            "tickets": tr("dash.heatmap.tickets"), "load": tr("dash.agents.load"),
            "capacity": tr("dash.agents.capacity"),
        },
        "backlog": report["backlog"],
        "sla_priority": report["sla_attainment"]["by_priority"],
        "sla_team": [{**row, "team": service.desk.teams[row["team"]].name if row["team"] in service.desk.teams
                      else row["team"]} for row in report["sla_attainment"]["by_team"]],
        "heat": {"categories": [name(c) for c in hot["categories"]], "days": hot["days"], "by_day": hot["by_day"],
                 "by_hour": by_hour_local},
    }  # fmt: skip
    loads = workspace.agent_loads(service.read, service.desk, principal, now=now)
    charts["agents"] = [{"agent": a.name, "load": a.load, "capacity": a.capacity} for a in loads]
    return {
        "days": days,
        "ranges": RANGES,
        "report": report,
        "charts": charts,
        "alerts": open_alerts,
        "latest_alert_id": latest_alert_id,
        "alert_labels": {
            "types": {kind.value: tr(f"alert.{kind.value}") for kind in AlertType},
            "severities": {level.value: tr(f"severity.{level.value}") for level in Severity},
            "ack": tr("dash.ack"), "acked": tr("dash.acked"), "open": tr("dash.open_ticket"),
        },  # fmt: skip
        "at_risk": workspace.at_risk(service.read, service.desk, principal, now=now, limit=15),
        "loads": loads,
        "ranking": report["agents"][:10],
        "quality": with_quality["models"],
        "serving": serving,
        "drift": workspace.drift_alerts(service.read, principal),
        "heat_by_hour_title": tr("dash.heatmap.by_hour", tz=viewer.zone.key),
    }


@router.get("/dashboard")
def dashboard(request: Request, service: ConsoleService, viewer: ViewerDep,
              days: Annotated[int, Query()] = 14) -> Response:  # fmt: skip
    if viewer.principal.role not in MANAGERS:
        raise PermissionDenied("the dashboard is for managers and admins")
    data = _dashboard_data(service, viewer, days if days in RANGES else 14)
    return render(request, service, viewer, "dashboard.html", section="dashboard", **data)


@router.post("/console/alerts/{alert_id}/ack")
def acknowledge(
    alert_id: RowId, service: ConsoleService, viewer: CsrfViewerDep, accept: Annotated[str, Header()] = ""
) -> Response:
    alert = alerts.acknowledge(service.start, viewer.principal, alert_id, now=utc_now())
    if "application/json" in accept:
        return JSONResponse({"id": alert.id, "acknowledged_by": alert.acknowledged_by})
    return redirect("/dashboard?done=acknowledged")


@router.get("/console/events")
async def events(
    request: Request, service: ConsoleService, viewer: ViewerDep,
    after: Annotated[int | None, Query(ge=0)] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20, pattern=r"^\d*$")] = None,
) -> Response:  # fmt: skip
    """The live alerts of the signed-in user (the same stream as ``/api/v1/alerts/stream``, with the session)."""
    start_after = int(last_event_id) if last_event_id else after

    async def session_alive() -> bool:  # sign-out, expiry or a disabled user ends the stream within seconds
        return await optional_viewer(request, service) is not None

    return await alert_stream(request, service, viewer.principal, start_after, still_allowed=session_alive)


# ----------------------------------------------------------------------------------------------------------- agents
@router.get("/queue")
def queue(
    request: Request, service: ConsoleService, viewer: ViewerDep,
    view: Annotated[str | None, Query(pattern="^(mine|team)$")] = None,
) -> Response:  # fmt: skip
    principal = viewer.principal
    chosen = view or ("mine" if principal.agent_id else "team")
    items = workspace.work_queue(service.read, service.desk, principal, mine=chosen == "mine", now=utc_now())
    return render(request, service, viewer, "queue.html", section="queue", view=chosen, items=items,
                  can_mine=principal.agent_id is not None)  # fmt: skip


@router.get("/triage")
def triage_desk(request: Request, service: ConsoleService, viewer: ViewerDep) -> Response:
    items = workspace.triage_queue(service.read, service.desk, viewer.principal, now=utc_now())
    return render(request, service, viewer, "triage.html", section="triage", items=items,
                  categories=_categories(service), priorities=list(Priority))  # fmt: skip


def _categories(service: Service) -> list[str]:
    return sorted(c.path for c in service.desk.taxonomy.leaves())


def _ticket_page(request: Request, service: Service, viewer: Viewer, number: str, *, status: int = 200,
                 error: str | None = None, draft: str = "") -> Response:  # fmt: skip
    principal = viewer.principal
    details = queries.ticket_details(service.read, service.desk, principal, number, now=utc_now())
    ticket = details_public(details)
    visible_teams = set(service.desk.teams) if principal.role is Role.ADMIN else set(principal.teams)
    return render(
        request, service, viewer, "ticket.html", status=status, section="queue", ticket=ticket,
        standing=details.sla.standing if details.sla else None, error=error, draft=draft,
        categories=_categories(service), priorities=list(Priority),
        statuses=sorted((s for s in details.ticket.allowed_statuses() if s is not TicketStatus.RESOLVED),
                        key=STATUS_CHOICES.index),  # the usual next step first; resolving has its own form
        agents=[a for a in service.desk.agents if a.team in visible_teams and a.id != ticket.assignment.agent_id],
        teams=service.desk.teams, audit=queries.audit_trail(service.read, principal, number)[-30:],
        votes=queries.my_votes(service.read, principal, number),
        can_work=principal.role in (Role.AGENT, Role.MANAGER, Role.ADMIN),
    )  # fmt: skip


@router.get("/tickets/{number}")
def ticket_page(number: str, request: Request, service: ConsoleService, viewer: ViewerDep) -> Response:
    return _ticket_page(request, service, viewer, number)


def _act(request: Request, service: Service, viewer: Viewer, number: str, done: str, action: Any,
         form: dict[str, str]) -> Response:  # fmt: skip
    """Run an action on a ticket; on a refusal the page comes back with the reason (and the draft kept)."""
    try:
        action()
    except (InvalidTicket, InvalidRequest) as exc:
        return _ticket_page(request, service, viewer, number, status=422, error=str(exc), draft=form.get("body", ""))
    except (IllegalTransition, Conflict) as exc:
        return _ticket_page(request, service, viewer, number, status=409, error=str(exc), draft=form.get("body", ""))
    if service.worker is not None:
        service.worker.wake()  # knowledge-base filing and suggestion votes are worker jobs
    target = safe_next(form.get("next"), f"/tickets/{number}")
    return redirect(f"{target}{'&' if '?' in target else '?'}done={done}")


@router.post("/tickets/{number}/messages")
def post_message(number: str, request: Request, service: ConsoleService, viewer: CsrfViewerDep, form: FormDep) -> Response:
    kind = MessageKind.NOTE if form.get("kind") == "note" else MessageKind.REPLY
    body = form.get("body", "")
    return _act(request, service, viewer, number, kind.value,
                lambda: lifecycle.add_message(service.start, service.desk, viewer.principal, number, kind=kind, body=body,
                                              now=utc_now()), form)  # fmt: skip


@router.post("/tickets/{number}/classify")
def classify(number: str, request: Request, service: ConsoleService, viewer: CsrfViewerDep, form: FormDep) -> Response:
    ticket = queries.ticket_details(service.read, service.desk, viewer.principal, number, now=utc_now()).ticket
    category = form.get("category") or None
    priority = Priority(form["priority"]) if form.get("priority") in set(Priority) else None
    # Only what the person changed counts as a correction; an unchanged field is not re-sent.
    category = category if category != ticket.category else None
    priority = priority if priority != ticket.priority else None
    if category is None and priority is None and ticket.triage_state.value == "done" and ticket.category:
        return redirect(f"/tickets/{number}")
    return _act(request, service, viewer, number, "classified",
                lambda: lifecycle.classify(service.start, service.desk, viewer.principal, number, category=category,
                                           priority=priority, now=utc_now()), form)  # fmt: skip


@router.post("/tickets/{number}/status")
def change_status(number: str, request: Request, service: ConsoleService, viewer: CsrfViewerDep, form: FormDep) -> Response:
    wanted = form.get("status", "")
    if wanted not in set(TicketStatus):
        return _ticket_page(request, service, viewer, number, status=422, error=f"unknown status {wanted!r}")
    return _act(request, service, viewer, number, "status",
                lambda: lifecycle.change_status(service.start, service.desk, viewer.principal, number,
                                                TicketStatus(wanted), now=utc_now()), form)  # fmt: skip


@router.post("/tickets/{number}/assign")
def reassign(number: str, request: Request, service: ConsoleService, viewer: CsrfViewerDep, form: FormDep) -> Response:
    agent_id, team = form.get("agent_id") or None, form.get("team") or None
    return _act(request, service, viewer, number, "assigned",
                lambda: lifecycle.reassign(service.start, service.desk, viewer.principal, number, agent_id=agent_id,
                                           team=None if agent_id else team, now=utc_now()), form)  # fmt: skip


@router.post("/tickets/{number}/resolve")
def resolve(number: str, request: Request, service: ConsoleService, viewer: CsrfViewerDep, form: FormDep) -> Response:
    solution = form.get("solution", "")[: 20_000] or None
    return _act(request, service, viewer, number, "resolved",
                lambda: lifecycle.resolve(service.start, service.desk, viewer.principal, number, solution=solution,
                                          now=utc_now()), form)  # fmt: skip


@router.post("/tickets/{number}/suggestions/{article_id}/rate")
def rate(
    number: str, article_id: str, request: Request, service: ConsoleService, viewer: CsrfViewerDep, form: FormDep,
    accept: Annotated[str, Header()] = "",
) -> Response:  # fmt: skip
    helpful = form.get("helpful") == "1"
    if "application/json" not in accept:
        return _act(request, service, viewer, number, "rated",
                    lambda: lifecycle.rate_suggestion(service.start, viewer.principal, number, article_id=article_id,
                                                      helpful=helpful, now=utc_now()), form)  # fmt: skip
    try:
        counted = lifecycle.rate_suggestion(service.start, viewer.principal, number, article_id=article_id,
                                            helpful=helpful, now=utc_now())  # fmt: skip
    except InvalidTicket as exc:
        return JSONResponse({"detail": str(exc)}, status_code=422)
    if counted and service.worker is not None:
        service.worker.wake()
    return JSONResponse({"article_id": article_id, "helpful": helpful, "counted": counted})


def alert_view(alert: Alert) -> dict[str, Any]:
    """What an alert's list item shows (the same fields the live stream sends)."""
    return {"id": alert.id, "type": alert.type.value, "severity": alert.severity.value, "reason": alert.reason,
            "number": alert.number, "created_at": alert.created_at}  # fmt: skip


TEMPLATES.globals["alert_view"] = alert_view
