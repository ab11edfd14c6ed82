"""The SMTP listener of the email channel: aiosmtpd on its own thread and event loop, beside the API or a worker.

Every accepted email is on disk before the ``250`` reply: a ``250`` is sent only once the ticket (or message) is
committed, so a mail that the sending server counts as delivered is never lost. Everything else gets a clear reply:

=========  =============================================================================================
``250``    filed: a new ticket, a message on a ticket, a duplicate of an email filed before, or an automatic
           email that was recognised and dropped (counted and logged, never answered)
``550``    a recipient outside the help desk's domain (``RCPT``); a Message-ID reused for other content
``552``    the email, or one attachment, is over its size limit (the reply names the limit)
``554``    a malformed email: no valid ``From``, no text, a broken MIME structure
``451``    the help desk could not store it now (database down...): not accepted, the sender retries
=========  =============================================================================================

It speaks plain SMTP without TLS or authentication: run it on a private address behind the organisation's mail
server (which does spam filtering, TLS and SPF/DKIM checks, and relays the help desk's address to it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from triage.domain.mail import human_size
from triage.kernel.errors import Conflict, InvalidMail, InvalidTicket, MailTooLarge, NotReady
from triage.services.mail import MailAction, MailOutcome

logger = logging.getLogger("triage.mail")

#: Files one email: ``(raw message, SMTP MAIL FROM) -> outcome``; blocking (it runs on a thread).
Deliver = Callable[[bytes, str | None], MailOutcome]
#: Told each email's fate: a :class:`MailAction` value, ``rejected`` (5xx) or ``deferred`` (4xx).
OutcomeObserver = Callable[[str], None]

_LONGEST_REPLY = 400  # SMTP reply lines are at most 512 octets (RFC 5321 §4.5.3.1.5)


def _reply(code: str, text: str) -> str:
    """One SMTP reply line: ASCII (non-ASCII escaped), no line breaks, not too long."""
    flat = " ".join(text.split()).encode("ascii", "backslashreplace").decode("ascii")
    return f"{code} {flat[:_LONGEST_REPLY]}"


class _SizeNamingSMTP(SMTP):
    """aiosmtpd's SMTP session, with its two ``552`` size replies naming the limit (they say only "too much")."""

    def __init__(self, handler: Any, *, size_reply: str, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.size_reply = size_reply

    async def push(self, status: Any) -> None:
        if isinstance(status, str) and status.startswith("552 Error:"):
            status = self.size_reply
            if isinstance(self.event_handler, MailHandler):
                self.event_handler.refused(status)
        await super().push(status)


class _Controller(Controller):
    def __init__(self, handler: Any, *, size_reply: str, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.size_reply = size_reply

    def factory(self) -> SMTP:
        return _SizeNamingSMTP(self.handler, size_reply=self.size_reply, **self.SMTP_kwargs)


class MailHandler:
    """The aiosmtpd handler: recipients of our domain only; each message filed through ``deliver`` on a thread."""

    def __init__(self, deliver: Deliver, *, domain: str, on_outcome: OutcomeObserver | None = None) -> None:
        self.deliver = deliver
        self.domain = domain.lower()
        self.on_outcome = on_outcome

    async def handle_RCPT(  # noqa: N802 - the hook name aiosmtpd calls
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.rpartition("@")[2].lower() != self.domain:
            return _reply("550", f"5.1.1 <{address}>: not a mailbox of this help desk; write to an address @{self.domain}")
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or b""
        loop = asyncio.get_running_loop()
        try:
            outcome = await loop.run_in_executor(None, self.deliver, raw, envelope.mail_from)
        except MailTooLarge as exc:
            return self.refused(_reply("552", f"5.3.4 {exc}"))
        except (InvalidMail, InvalidTicket) as exc:
            return self.refused(_reply("554", f"5.6.0 {exc}"))
        except Conflict as exc:
            return self.refused(_reply("550", f"5.7.0 {exc}"))
        except Exception:  # noqa: BLE001 - whatever failed, the mail was not stored: say so, and the sender retries
            logger.exception("email not stored; answered 451 so the sending server retries")
            self._observe("deferred")
            return _reply("451", "4.3.0 the help desk cannot store the message right now; it was not accepted, "
                                 "please retry later")  # fmt: skip
        self._observe(outcome.action.value)
        logger.info("email %s", outcome.action.value, extra={"number": outcome.number, "reason": outcome.reason})
        return _reply("250", f"2.0.0 {_accepted_text(outcome)}")

    def refused(self, reply: str) -> str:
        """Log and count a refused email; returns the reply."""
        logger.warning("email refused: %s", reply)
        self._observe("rejected")
        return reply

    def _observe(self, outcome: str) -> None:
        if self.on_outcome is not None:
            try:
                self.on_outcome(outcome)
            except Exception:  # noqa: BLE001 - a metrics failure must not change the SMTP answer
                logger.exception("mail outcome observer failed")


def _accepted_text(outcome: MailOutcome) -> str:
    return {
        MailAction.CREATED: f"ticket {outcome.number} created",
        MailAction.REPLIED: f"added to ticket {outcome.number}",
        MailAction.FOLLOW_UP: f"ticket {outcome.number} created as a follow-up of a closed ticket",
        MailAction.DUPLICATE: f"already received (ticket {outcome.number})",
        MailAction.IGNORED: "automatic message recognised; not made a ticket",
    }[outcome.action]


class SmtpListener:
    """An SMTP server on ``host:port`` that files each email with ``deliver``.

    Args:
        deliver: Files one email (see :data:`Deliver`); its exceptions become 5xx or 451 replies.
        host: Address to listen on.
        port: TCP port.
        domain: Recipients must be at this domain (``support@<domain>``, ``billing@<domain>``...).
        max_message_bytes: Largest email (advertised with ``SIZE``; ``552`` above it, naming the limit).
        on_outcome: Told each email's fate (metrics).
    """

    def __init__(
        self,
        deliver: Deliver,
        *,
        host: str,
        port: int,
        domain: str,
        max_message_bytes: int,
        on_outcome: OutcomeObserver | None = None,
    ) -> None:
        self.host, self.port = host, port
        size_reply = _reply("552", f"5.3.4 message too big: the limit is {human_size(max_message_bytes)} "
                                   f"({max_message_bytes:,} bytes) per email; send large files as a link")  # fmt: skip
        self.controller = _Controller(
            MailHandler(deliver, domain=domain, on_outcome=on_outcome), hostname=host, port=port,
            server_hostname=domain, ident="triage mail intake", data_size_limit=max_message_bytes,
            size_reply=size_reply,
        )  # fmt: skip
        self.running = False

    def start(self) -> SmtpListener:
        """Listen (returns once connections are accepted).

        Raises:
            NotReady: the address cannot be bound (in use, not ours, no permission).
        """
        try:
            self.controller.start()
        except (OSError, RuntimeError, TimeoutError) as exc:
            try:
                self.controller.stop(no_assert=True)
            except Exception:  # noqa: BLE001 - best-effort cleanup of a listener that never started
                pass
            raise NotReady(f"cannot listen for email on {self.host}:{self.port}: {exc}; "
                           "set TRIAGE_SMTP_PORT (or TRIAGE_SMTP_HOST) to a free address") from exc  # fmt: skip
        self.running = True
        logger.info("listening for email on %s:%s", self.host, self.port)
        return self

    def stop(self) -> None:
        """Stop listening; a session in the middle of its DATA is cut (its sender retries: it got no ``250``)."""
        if self.running:
            self.controller.stop()
            self.running = False
