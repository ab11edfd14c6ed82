"""Email intake end to end: ``smtplib`` talks to the real SMTP listener on loopback, started by the API's lifespan,
with a real database (SQLite, and PostgreSQL when configured) and a pipeline of fakes."""

from __future__ import annotations

import smtplib
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from bench.harness import ServerProcess, free_port, triage_env
from tests.integration.conftest import BACKENDS, Api, fake_pipeline_factory, make_keys, new_database, service_settings
from triage.adapters.bootstrap import build_service
from triage.adapters.smtp import SmtpListener
from triage.domain.access import Principal
from triage.kernel.clock import utc_now
from triage.kernel.errors import NotReady
from triage.kernel.vocabulary import Role
from triage.services.lifecycle import merge
from triage.services.mail import MailAction, MailOutcome

pytestmark = pytest.mark.integration

DESK = "support@help.test"
CUSTOMER = "Wang.Fang@Example.CN"
MAX_MESSAGE = 64 * 1024
MAX_ATTACHMENT = 16 * 1024


def wire(message: EmailMessage) -> bytes:
    """The message with CRLF line ends, as SMTP carries it (``smtplib.SMTP.data`` sends bytes as they are)."""
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


class Desk(Api):
    """The API client plus the SMTP port of the running service."""

    port: int

    def send(self, message: EmailMessage | bytes, *, sender: str = CUSTOMER, to: str = DESK) -> tuple[int, str]:
        """Deliver over SMTP step by step; the reply to DATA (or to the first refused step)."""
        raw = wire(message) if isinstance(message, EmailMessage) else message
        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as smtp:
            smtp.ehlo("client.test")
            code, reply = smtp.mail(sender)
            if code == 250:
                code, reply = smtp.rcpt(to)
            if code == 250:
                code, reply = smtp.data(raw)
            return code, reply.decode()

    def ticket(self, number: str) -> dict:
        response = self.get(f"/api/v1/tickets/{number}")
        assert response.status_code == 200, response.text
        return response.json()

    def triaged(self, number: str) -> dict:
        deadline = time.monotonic() + 30
        while (ticket := self.ticket(number))["triage_state"] == "pending" and time.monotonic() < deadline:
            time.sleep(0.05)
        return ticket

    def numbers(self) -> list[str]:
        return [t["number"] for t in self.get("/api/v1/tickets", params={"limit": 200}).json()["tickets"]]

    def emails_counted(self, outcome: str) -> float:
        for line in self.get("/metrics").text.splitlines():
            if line.startswith(f'triage_emails_received_total{{outcome="{outcome}"}}'):
                return float(line.split()[-1])
        return 0.0


@pytest.fixture
def desk(database_url: str, tmp_path: Path, always_on_config: Path) -> Iterator[Desk]:
    settings = service_settings(tmp_path / "home", database_url, always_on_config, smtp_port=free_port(),
                                smtp_address=DESK, smtp_max_message_bytes=MAX_MESSAGE,
                                smtp_max_attachment_bytes=MAX_ATTACHMENT)  # fmt: skip
    keys = make_keys(settings)
    app = create_app(settings, pipeline_factory=fake_pipeline_factory, load_in_background=False, configure_logs=False)
    with TestClient(app) as client:
        api = Desk(client, keys, settings)
        api.port = settings.smtp_port  # type: ignore[assignment]
        yield api


def email(subject: str, body: str, *, sender: str = f"Wang Fang <{CUSTOMER}>", message_id: str | None = None,
          **headers: str) -> EmailMessage:  # fmt: skip
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, DESK, subject
    message["Message-ID"] = message_id or f"<{uuid.uuid4().hex}@example.cn>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def created_number(reply: str) -> str:
    assert "ticket TKT-" in reply, reply
    return reply.split("ticket ", 1)[1].split()[0]


def test_an_email_sent_with_smtplib_becomes_a_ticket_and_a_reply_lands_on_the_same_ticket(desk: Desk) -> None:
    first = email("VPN drops every hour", "My vpn network connection drops every hour since Monday.")
    first.add_attachment(b"\x89PNG" + b"0" * 2044, maintype="image", subtype="png", filename="vpn-error.png")
    with smtplib.SMTP("127.0.0.1", desk.port, timeout=10) as smtp:
        assert smtp.send_message(first) == {}  # no recipient refused
    [number] = desk.numbers()
    ticket = desk.triaged(number)
    assert ticket["channel"] == "email" and ticket["subject"] == "VPN drops every hour"
    assert ticket["body"] == "My vpn network connection drops every hour since Monday."
    assert ticket["customer"] == {"id": CUSTOMER.lower(), "tier": "standard", "email": CUSTOMER.lower()}
    assert ticket["triage_state"] == "done" and ticket["assignment"]["team"] == "tech"
    assert ticket["attachments"][0] | {"received_at": None} == {"filename": "vpn-error.png", "content_type": "image/png",
                                                               "size": 2048, "received_at": None}  # fmt: skip
    assert desk.get(f"/api/v1/tickets/{number}", "intake").status_code == 404  # API intake keys see only their own

    code, reply = desk.send(email(f"Re: [{number}] VPN drops every hour", "Still dropping, now every 10 minutes.\n\n> old"))
    assert (code, reply) == (250, f"2.0.0 added to ticket {number}")
    assert desk.numbers() == [number]
    thread = desk.ticket(number)["thread"]
    assert [(m["kind"], m["author"], m["body"]) for m in thread] == [
        ("customer", CUSTOMER.lower(), "Still dropping, now every 10 minutes.\n\n> old")
    ]
    assert [e["action"] for e in desk.get(f"/api/v1/tickets/{number}/audit").json()][:3] == [
        "created", "email:new", "triaged",
    ]  # fmt: skip


def test_a_reply_resumes_a_waiting_ticket_reopens_a_resolved_one_and_follows_up_a_closed_one(desk: Desk) -> None:
    _, reply = desk.send(email("Invoice wrong", "The invoice amount on my bill is wrong"))
    number = created_number(reply)
    desk.triaged(number)
    path = f"/api/v1/tickets/{number}"
    assert desk.post(f"{path}/status", "admin", json={"status": "pending_customer"}).status_code == 200
    assert desk.send(email(f"RE: {number}", "Here is the invoice number: 4711"))[0] == 250
    assert desk.ticket(number)["status"] == "in_progress" and not desk.ticket(number)["sla"]["paused"]

    assert desk.post(f"{path}/resolve", "admin", json={"solution": "Credit note issued"}).status_code == 200
    assert desk.send(email(f"Re: [{number}] Invoice wrong", "The credit note is missing"))[0] == 250
    reopened = desk.ticket(number)
    assert reopened["status"] == "in_progress" and reopened["sla"]["cycle"] == 2

    assert desk.post(f"{path}/resolve", "admin", json={}).status_code == 200
    assert desk.post(f"{path}/status", "admin", json={"status": "closed"}).status_code == 200
    code, reply = desk.send(email(f"Re: [{number}] Invoice wrong", "Wrong again this month"))
    assert code == 250 and "as a follow-up of a closed ticket" in reply
    follow_up = desk.triaged(created_number(reply))
    assert follow_up["parent"] == number and follow_up["customer"]["id"] == CUSTOMER.lower()
    assert follow_up["thread"][0]["body"] == f"follow-up of {number}, which was closed: the customer replied to it by email"
    closed = desk.ticket(number)
    assert closed["status"] == "closed" and closed["thread"][-1]["kind"] == "system"
    assert follow_up["number"] in closed["thread"][-1]["body"]


def test_a_stranger_or_an_unknown_number_never_writes_into_a_ticket(desk: Desk) -> None:
    number = created_number(desk.send(email("Printer jam", "printer paper jam in room 4"))[1])
    code, reply = desk.send(email(f"Re: [{number}] Printer jam", "I am someone else", sender="mallory@evil.test"),
                            sender="mallory@evil.test")  # fmt: skip
    stranger_ticket = created_number(reply)
    assert code == 250 and stranger_ticket != number
    assert desk.ticket(number)["thread"] == []
    assert desk.ticket(stranger_ticket)["customer"]["id"] == "mallory@evil.test"
    unknown = created_number(desk.send(email("Re: [TKT-2026-999999] old thing", "about an old ticket"))[1])
    assert unknown not in (number, stranger_ticket)
    audit = desk.get(f"/api/v1/tickets/{stranger_ticket}/audit").json()
    assert next(e for e in audit if e["action"] == "email:new")["after"]["reference_not_used"] == (
        f"{number}: the sender is not its customer"
    )


def test_auto_replies_and_loops_are_accepted_but_dropped_and_counted(desk: Desk) -> None:
    before = desk.numbers()
    for message in (
        email("Automatic reply: VPN", "I am out of office", Auto_Submitted="auto-replied"),
        email("Newsletter", "our news", Precedence="bulk", List_Id="<news.example.cn>"),
        email("Re: something", "loop", sender=DESK),
        email("Delivery failure", "undeliverable", sender="MAILER-DAEMON@mx.example.cn"),
    ):
        code, reply = desk.send(message)
        assert (code, reply) == (250, "2.0.0 automatic message recognised; not made a ticket")
    code, reply = desk.send(email("bounce", "no return path"), sender="<>")
    assert code == 250 and "automatic" in reply
    assert desk.numbers() == before
    assert desk.emails_counted("ignored") == 5


def test_an_oversized_email_or_attachment_is_refused_with_the_limit_named(desk: Desk) -> None:
    big = email("Logs", "see the attached logs")
    big.add_attachment(b"0" * (MAX_MESSAGE + 1), maintype="application", subtype="octet-stream", filename="big.log")
    with smtplib.SMTP("127.0.0.1", desk.port, timeout=10) as smtp, pytest.raises(smtplib.SMTPSenderRefused) as caught:
        smtp.send_message(big)  # smtplib announces SIZE=..., so MAIL FROM is refused
    assert caught.value.smtp_code == 552
    assert b"the limit is 64.0 KiB (65,536 bytes) per email" in caught.value.smtp_error
    code, reply = desk.send(big)  # no SIZE announced: the data itself is refused once it passes the limit
    assert code == 552 and "the limit is 64.0 KiB (65,536 bytes) per email" in reply

    attachment = email("Logs", "see the attached logs")
    attachment.add_attachment(b"0" * (MAX_ATTACHMENT + 1), maintype="application", subtype="zip", filename="日志.zip")
    code, reply = desk.send(attachment)
    assert code == 552 and "is 16.0 KiB (16,385 bytes); the limit is 16.0 KiB (16,384 bytes) per attachment" in reply
    assert reply.isascii() and "\\u65e5\\u5fd7.zip" in reply  # the Chinese file name, escaped for SMTP
    assert desk.numbers() == [] and desk.emails_counted("rejected") == 3


def test_malformed_mail_gets_a_clear_smtp_error_and_the_listener_keeps_working(desk: Desk) -> None:
    for raw, reason in (
        (b"Subject: anonymous\r\n\r\nwho sent me?", "no valid From address"),
        (b"\x00\xff\xfe not an email", "no header fields"),
        (b"From: a@example.cn\r\nSubject: x\r\nContent-Type: multipart/mixed\r\n\r\nno boundary", "parts cannot be found"),
        (b"From: a@example.cn\r\nSubject: \r\n\r\n  ", "nothing to make a ticket of"),
    ):
        code, reply = desk.send(raw)
        assert code == 554 and reply.startswith("5.6.0") and reason in reply, reply
    code, reply = desk.send(email("still here", "a normal email after the bad ones"))
    assert code == 250 and "created" in reply
    code, reply = desk.send(email("hi", "x"), to="someone@elsewhere.test")
    assert code == 550 and "not a mailbox of this help desk" in reply and "@help.test" in reply


def test_the_same_message_id_delivered_twice_or_concurrently_makes_one_ticket(desk: Desk) -> None:
    message = email("Password reset", "cannot reset my password", message_id="<once@example.cn>")
    first = desk.send(message)
    number = created_number(first[1])
    assert desk.send(message) == (250, f"2.0.0 already received (ticket {number})")
    changed = email("Password reset", "different words", message_id="<once@example.cn>")
    code, reply = desk.send(changed)
    assert code == 550 and "received before with different content" in reply

    racing = email("Disk full", "the shared drive is full", message_id="<race@example.cn>")
    replies: list[tuple[int, str]] = []
    threads = [threading.Thread(target=lambda: replies.append(desk.send(racing))) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {code for code, _ in replies} == {250}
    assert len(desk.numbers()) == 2  # the password ticket and one disk ticket
    assert sum("created" in reply for _, reply in replies) == 1


def test_chinese_mail_in_gb2312_becomes_a_readable_ticket(desk: Desk) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Message-ID"] = "李雷 <li.lei@example.cn>", DESK, "<gb@example.cn>"
    message["Subject"] = "发票金额错误 镕"
    message.set_content("您好，我的发票金额不对，请帮忙核对。朱镕基", charset="gb18030")
    raw = wire(message).replace(b'charset="gb18030"', b'charset="gb2312"')  # mislabelled, as mailers do
    number = created_number(desk.send(raw)[1])
    ticket = desk.triaged(number)
    assert ticket["subject"] == "发票金额错误 镕" and ticket["body"] == "您好，我的发票金额不对，请帮忙核对。朱镕基"
    assert ticket["language"] == "zh"


def test_a_listener_that_cannot_store_answers_451_so_the_sender_retries() -> None:
    seen: list[str] = []

    def broken(raw: bytes, sender: str | None) -> MailOutcome:
        raise RuntimeError("database is down")

    listener = SmtpListener(broken, host="127.0.0.1", port=free_port(), domain="help.test", max_message_bytes=MAX_MESSAGE,
                            on_outcome=seen.append).start()  # fmt: skip
    try:
        with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as smtp:
            smtp.ehlo("client.test")
            smtp.mail(CUSTOMER)
            smtp.rcpt(DESK)
            code, reply = smtp.data(wire(email("x", "y")))
        assert code == 451 and b"not accepted, please retry later" in reply and seen == ["deferred"]
    finally:
        listener.stop()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = SmtpListener(broken, host="127.0.0.1", port=holder.getsockname()[1], domain="help.test",
                             max_message_bytes=MAX_MESSAGE)  # fmt: skip
        with pytest.raises(NotReady, match="cannot listen for email on 127.0.0.1"):
            taken.start()


def test_a_merged_tickets_reply_goes_to_the_ticket_it_was_merged_into(database_url: str, tmp_path: Path,
                                                                       always_on_config: Path) -> None:  # fmt: skip
    service = build_service(service_settings(tmp_path / "home", database_url, always_on_config, smtp_address=DESK))
    try:
        keep = service.receive_mail(email("VPN", "vpn drops").as_bytes())
        duplicate = service.receive_mail(email("VPN again", "vpn drops again").as_bytes())
        assert keep.action is duplicate.action is MailAction.CREATED
        admin = Principal(id="admin-key", role=Role.ADMIN)
        merge(service.start, service.desk, admin, str(duplicate.number), into=str(keep.number), now=utc_now())
        outcome = service.receive_mail(email(f"Re: [{duplicate.number}] VPN again", "any news?").as_bytes())
        assert (outcome.action, outcome.number) == (MailAction.REPLIED, keep.number)
    finally:
        service.stop()


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_triage_serve_takes_email_in_and_no_accepted_email_is_lost_when_killed(
    backend: str, tmp_path: Path, served_models: dict[str, str], always_on_config: Path
) -> None:
    """The real ``triage serve`` with real models: emails become triaged tickets and replies land on them; then,
    killed with SIGKILL while mail streams in, every email it answered 250 is in the database after the restart."""
    url, cleanup = new_database(backend, tmp_path)
    home, smtp_port = tmp_path / "home", free_port()
    settings = service_settings(home, url, always_on_config, **served_models)
    keys = make_keys(settings)
    env = triage_env(home=home, database_url=url, routing_config_dir=always_on_config, reload_seconds=0,
                     smtp_port=smtp_port, smtp_address=DESK, **served_models)  # fmt: skip

    def client(server: ServerProcess) -> Desk:
        desk = Desk(httpx.Client(base_url=server.url, timeout=30), keys, settings)  # type: ignore[arg-type]
        desk.port = smtp_port
        return desk

    try:
        with ServerProcess(env, log=tmp_path / "serve.log") as server:
            desk = client(server)
            english = created_number(desk.send(email("VPN keeps dropping", "My VPN connection drops every hour"))[1])
            chinese = created_number(desk.send(email("发票开错了", "上个月的发票金额开错了，请重新开具"))[1])
            tickets = {n: desk.triaged(n) for n in (english, chinese)}
            assert {n: t["triage_state"] for n, t in tickets.items()} == {english: "done", chinese: "done"}
            assert tickets[english]["language"] == "en" and tickets[chinese]["language"] == "zh"
            assert all(t["channel"] == "email" and t["assignment"]["team"] for t in tickets.values())
            reply = desk.send(email(f"Re: [{english}] VPN keeps dropping", "Any update?"))
            assert reply == (250, f"2.0.0 added to ticket {english}")
            assert desk.ticket(english)["thread"][0]["body"] == "Any update?"

        accepted: list[str] = []
        stop = threading.Event()
        server = ServerProcess(env, log=tmp_path / "serve-killed.log").start()
        desk = client(server)

        def stream(offset: int) -> None:
            i = offset
            while not stop.is_set():
                try:
                    code, reply = desk.send(email(f"printer {i}", f"printer number {i} is jammed"))
                except (OSError, smtplib.SMTPException):
                    continue  # the server is gone: no 250, no promise
                if code == 250:
                    accepted.append(created_number(reply))
                i += 4

        threads = [threading.Thread(target=stream, args=(k,)) for k in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(3)
        server.kill()
        stop.set()
        for thread in threads:
            thread.join()
        assert len(accepted) > 10
        with ServerProcess(env, port=server.port, log=tmp_path / "serve-restarted.log") as restarted:
            desk = client(restarted)
            assert [n for n in accepted if desk.get(f"/api/v1/tickets/{n}").status_code != 200] == []
    finally:
        cleanup()  # type: ignore[operator]
