"""What an inbound email means to the help desk: who sent it, its subject and readable text, its attachments (as
metadata), whether a machine sent it, and which ticket it answers.

Pure and standard library only (:mod:`email` with ``policy.default``), so the SMTP listener, a future IMAP poller
and the tests share one reading of a message:

* **text**: ``text/plain`` is preferred; an HTML-only message becomes plain text (:func:`html_to_text`: no markup,
  no script, entities unescaped, line breaks kept). Quoted history and signatures stay (the models read the start).
* **charsets**: the declared one first, read as its modern superset (``gb2312``/``gbk`` as GB 18030, ``big5`` as
  Big5-HKSCS, ``ks_c_5601-1987`` as CP949...), then UTF-8, then GB 18030 when nothing is declared; never an error.
  Raw 8-bit headers (UTF-8 or GBK) and RFC 2047 encoded words split in the middle of a character are read too.
* **automatic mail** (:func:`automatic_reason`): out-of-office replies, bounces, lists, bulk mail and our own
  address are recognised from their headers (RFC 3834 ``Auto-Submitted``, ``Precedence``, ``X-Autoreply``,
  ``List-Id``...), so the help desk never answers a machine and never talks to itself.
* **limits**: an attachment over the per-attachment limit, or too many attachments, is a :class:`MailTooLarge`;
  a message without a usable ``From`` or without any text is an :class:`InvalidMail`. Anything the parser cannot
  read is an :class:`InvalidMail` too, never another exception.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import json
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from email import errors, policy
from email.message import EmailMessage, Message
from email.parser import BytesParser

from triage.domain.html_text import html_to_text
from triage.domain.ticket import BODY_MAX, SUBJECT_MAX
from triage.kernel.errors import InvalidMail, MailTooLarge
from triage.kernel.ids import find_ticket_number

#: Most attachments one email may carry (each becomes a metadata row).
MAX_ATTACHMENTS = 50
#: Longest Message-ID used as is for deduplication; a longer one is hashed (the key column holds 200 characters).
_MAX_KEY = 200

#: Declared charsets read as their supersets, as mail clients do: Chinese mail labelled ``gb2312`` routinely carries
#: GBK characters (e.g. 镕), and ``iso-8859-1`` mail carries Windows-1252 quotes.
_CHARSET_SUPERSETS = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030", "euc-cn": "gb18030",
    "csgb2312": "gb18030", "gb_2312-80": "gb18030", "chinese": "gb18030", "big5": "big5hkscs", "x-big5": "big5hkscs",
    "ks_c_5601-1987": "cp949", "euc-kr": "cp949", "shift_jis": "cp932", "x-sjis": "cp932",
    "iso-8859-1": "cp1252", "latin1": "cp1252", "us-ascii": "utf-8", "ascii": "utf-8",
}  # fmt: skip
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_SPACES = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"\n{3,}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_AUTO_SUBJECTS = re.compile(
    r"^\s*(automatic reply|auto[- ]?reply|out of (the )?office|自动回复|自動回覆|自动答复)\s*[:：]", re.IGNORECASE
)
_BROKEN_STRUCTURE = (errors.NoBoundaryInMultipartDefect, errors.StartBoundaryNotFoundDefect,
                     errors.MultipartInvariantViolationDefect)  # fmt: skip
_DAEMONS = frozenset({"mailer-daemon", "postmaster"})
_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})


@dataclass(frozen=True)
class Attachment:
    """What is kept of an attachment: its name, type and decoded size, never its content."""

    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class InboundMail:
    """An email as the help desk reads it.

    Attributes:
        sender: The ``From`` address, lower-case (empty only for automatic mail without a usable one).
        subject: The decoded subject, on one line, at most :data:`SUBJECT_MAX` characters.
        body: Readable text (plain, or converted from HTML), at most :data:`BODY_MAX` characters.
        message_id: The ``Message-ID`` without its angle brackets, or ``None``.
        attachments: Metadata of every attachment (and inline image), in order.
        automatic: Why a machine sent it (then it is dropped), or ``None`` for a person's mail.
        ticket_reference: The ticket number its subject carries (``Re: [TKT-2026-000042] ...``), or ``None``.
        html_only: The text was converted from HTML.
        truncated: The text was longer than a ticket takes; the end was cut and the body says so.
        digest: SHA-256 of the raw message (the deduplication key when there is no Message-ID).
    """

    sender: str
    subject: str
    body: str
    message_id: str | None = None
    attachments: tuple[Attachment, ...] = ()
    automatic: str | None = None
    ticket_reference: str | None = None
    html_only: bool = False
    truncated: bool = False
    digest: str = ""

    @property
    def dedup_key(self) -> str:
        """The idempotency key: the Message-ID (hashed when long), else the digest of the raw message."""
        if self.message_id is None:
            return f"sha256:{self.digest}"
        if len(self.message_id) > _MAX_KEY:
            return f"message-id-sha256:{hashlib.sha256(self.message_id.encode('utf-8', 'replace')).hexdigest()}"
        return self.message_id

    def fingerprint(self) -> str:
        """SHA-256 of what the help desk takes from the message: a redelivery has the same one, a different
        message reusing a Message-ID does not."""
        payload = [self.sender, self.subject, self.body, [(a.filename, a.content_type, a.size) for a in self.attachments]]
        return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()


def parse_mail(
    raw: bytes,
    *,
    max_attachment_bytes: int,
    own_addresses: Collection[str] = (),
    envelope_sender: str | None = None,
) -> InboundMail:
    """Read one RFC 5322 message.

    Args:
        raw: The message as received (headers and body).
        max_attachment_bytes: Largest decoded attachment accepted.
        own_addresses: The help desk's own addresses, lower-case: mail from them is a loop.
        envelope_sender: The SMTP ``MAIL FROM`` address (``""`` for the null sender of bounces), or ``None`` when
            unknown.

    Returns:
        The mail; check :attr:`InboundMail.automatic` before making a ticket of it.

    Raises:
        InvalidMail: no usable ``From`` address, no subject, text or attachment, or a message that cannot be read.
        MailTooLarge: an attachment over ``max_attachment_bytes``, or more than :data:`MAX_ATTACHMENTS`.
    """
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as exc:  # noqa: BLE001 - untrusted input: any parser failure is the sender's problem, said clearly
        raise InvalidMail(f"the message cannot be parsed ({type(exc).__name__}); send it as an RFC 5322 email") from exc
    if not list(message.keys()):
        raise InvalidMail("the message has no header fields; send an RFC 5322 email with From and Subject headers")
    try:
        return _read(message, raw, max_attachment_bytes, own_addresses, envelope_sender)
    except InvalidMail:
        raise
    except Exception as exc:  # noqa: BLE001 - malformed structure deep inside the message; never a crash
        raise InvalidMail(f"the message cannot be read ({type(exc).__name__}: {exc}); check its MIME structure") from exc


def _read(
    message: EmailMessage, raw: bytes, max_attachment_bytes: int, own: Collection[str], envelope_sender: str | None
) -> InboundMail:
    subject = _SPACES.sub(" ", header_text(message, "Subject")).strip()
    sender = _sender(message)
    digest = hashlib.sha256(raw).hexdigest()
    message_id = header_text(message, "Message-ID").strip().strip("<>").strip() or None
    automatic = automatic_reason(message, sender=sender, subject=subject, own_addresses=own,
                                 envelope_sender=envelope_sender)  # fmt: skip
    if automatic is not None:
        return InboundMail(sender=sender or "", subject=subject[:SUBJECT_MAX], body="", message_id=message_id,
                           automatic=automatic, digest=digest)  # fmt: skip
    if sender is None:
        found = header_text(message, "From").strip()
        shown = f" ({found[:100]!r})" if found else ""
        raise InvalidMail(f"the message has no valid From address{shown}; RFC 5322 requires one, e.g. From: name@example.com")
    for part in message.walk():
        if any(isinstance(defect, _BROKEN_STRUCTURE) for defect in part.defects):
            raise InvalidMail("the message says it is multipart but its parts cannot be found (no boundary, or not the "
                              "declared one); send it again from a standard mail client")  # fmt: skip
    body_part, html_only = _body_part(message)
    text = _part_text(body_part, html=html_only) if body_part is not None else ""
    attachments = tuple(_attachments(message, body_part, max_attachment_bytes))
    if not (subject or text.strip() or attachments):
        raise InvalidMail("the message has no subject, no text and no attachment; there is nothing to make a ticket of")
    body, truncated = _fit(text, BODY_MAX)
    return InboundMail(
        sender=sender, subject=_shorten(subject, SUBJECT_MAX), body=body, message_id=message_id,
        attachments=attachments, ticket_reference=find_ticket_number(subject), html_only=html_only,
        truncated=truncated, digest=digest,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------- automatic mail
def automatic_reason(
    message: Message,
    *,
    sender: str | None,
    subject: str,
    own_addresses: Collection[str] = (),
    envelope_sender: str | None = None,
) -> str | None:
    """Why ``message`` was sent by a machine (an auto-reply, a bounce, a list, our own mail), or ``None``."""
    if envelope_sender is not None and envelope_sender.strip("<> ") == "":
        return "null envelope sender (a bounce or delivery notification)"
    for address in (sender, (envelope_sender or "").strip("<> ").lower() or None):
        if address and address.partition("@")[0] in _DAEMONS:
            return f"sent by {address.partition('@')[0]} (a bounce)"
        if address and address in own_addresses:
            return "sent from the help desk's own address (a mail loop)"
    auto_submitted = header_text(message, "Auto-Submitted").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if message.get(name) is not None:
            return f"{name} header"
    precedence = header_text(message, "Precedence").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in ("List-Id", "List-Unsubscribe"):
        if message.get(name) is not None:
            return f"{name} header (a mailing list)"
    loop = header_text(message, "X-Loop").lower()
    if loop and any(address in loop for address in own_addresses):
        return "X-Loop names the help desk (a mail loop)"
    if message.get_content_type() == "multipart/report":
        return "multipart/report (a delivery or read report)"
    if _AUTO_SUBJECTS.match(subject):
        return "an out-of-office subject"
    return None


# --------------------------------------------------------------------------------------------- headers
def header_text(message: Message, name: str) -> str:
    """The decoded value of the first ``name`` header ('' when absent), whatever its encoding.

    Reads the raw value (not the policy's parse), so raw 8-bit UTF-8 or GBK headers and RFC 2047 words in
    mislabelled or split charsets come out as the sender wrote them.
    """
    wanted = name.lower()
    for key, value in message.raw_items():
        if key.lower() == wanted:
            return _decode_words(_repair_8bit(re.sub(r"\r?\n(?=[ \t])", "", str(value))))
    return ""


def _repair_8bit(value: str) -> str:
    """A header the parser read as ASCII with undecodable bytes escaped: decode those bytes as text."""
    try:
        raw = value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return value
    return decode_bytes(raw, None) if any(byte > 0x7F for byte in raw) else value


def _decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words, joining adjacent ones of one charset before decoding (Chinese mailers split a
    character's bytes across words)."""
    pieces: list[tuple[bytes, str] | str] = []  # byte runs with their charset (decoded at the end), or literal text
    position = 0
    for word in _ENCODED_WORD.finditer(value):
        between = value[position : word.start()]
        adjacent = bool(pieces) and isinstance(pieces[-1], tuple) and not between.strip()
        if between and not adjacent:  # white space between two encoded words is not part of the text (RFC 2047 §6.2)
            pieces.append(between)
        charset, encoding, data = word.group(1).split("*")[0], word.group(2).upper(), word.group(3)
        try:
            chunk = (base64.b64decode(data + "=" * (-len(data) % 4)) if encoding == "B"
                     else binascii.a2b_qp(data.encode("ascii", "replace"), header=True))  # fmt: skip
        except (binascii.Error, ValueError):
            pieces.append(word.group(0))
        else:
            last = pieces[-1] if adjacent else None
            if isinstance(last, tuple) and last[1].lower() == charset.lower():
                pieces[-1] = (last[0] + chunk, last[1])
            else:
                pieces.append((chunk, charset))
        position = word.end()
    pieces.append(value[position:])
    return "".join(p if isinstance(p, str) else decode_bytes(p[0], p[1]) for p in pieces)


def _sender(message: Message) -> str | None:
    """The first valid ``From`` address, lower-case, or ``None``."""
    try:
        header = message["From"]
        addresses = getattr(header, "addresses", ()) if header is not None else ()
    except Exception:  # noqa: BLE001 - the policy's address parser can fail on hostile input; treat as no sender
        addresses = ()
    for address in addresses:
        username, domain = (address.username or "").strip(), (address.domain or "").strip()
        if username and domain and "." in domain.strip(".") and not _SPACES.search(username + domain):
            return f"{username}@{domain}".lower()
    return None


# --------------------------------------------------------------------------------------------- text
def decode_bytes(raw: bytes, charset: str | None) -> str:
    """Text from bytes in a declared (possibly wrong or unknown) charset; never raises.

    Tries the declared charset (as its superset), then UTF-8, then GB 18030, then the first candidate with
    replacement characters.
    """
    candidates = [name for name in (_codec(charset), "utf-8", "gb18030") if name]
    for name in dict.fromkeys(candidates):
        try:
            return raw.decode(name)
        except UnicodeDecodeError:
            continue
    return raw.decode(candidates[0], errors="replace")


def _codec(charset: str | None) -> str | None:
    if not charset:
        return None
    name = charset.strip().strip("\"'").lower()
    name = _CHARSET_SUPERSETS.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _body_part(message: EmailMessage) -> tuple[EmailMessage | None, bool]:
    """The part holding the text, and whether it is HTML. A blank ``text/plain`` alternative loses to the HTML."""
    plain = message.get_body(preferencelist=("plain",))
    if plain is not None and _part_text(plain, html=False).strip():
        return plain, False
    html = message.get_body(preferencelist=("html",))
    if html is not None:
        return html, True
    return plain, False


def _payload(part: Message, what: str) -> bytes:
    """The decoded content of a leaf part.

    Raises:
        InvalidMail: its base64 cannot be decoded (the parser would hand back the encoded text instead).
    """
    payload = part.get_payload(decode=True)
    if any(isinstance(defect, errors.InvalidBase64LengthDefect) for defect in part.defects):
        raise InvalidMail(f"the {what} is declared base64 but is not valid base64; its content cannot be read")
    return payload if isinstance(payload, bytes) else b""


def _part_text(part: Message, *, html: bool) -> str:
    payload = _payload(part, "text")
    text = decode_bytes(payload, part.get_content_charset())
    if html:
        text = html_to_text(text)
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def _fit(text: str, limit: int) -> tuple[str, bool]:
    if len(text) <= limit:
        return text, False
    note = f"\n\n[the email continues for {len(text) - limit:,} more characters, not kept: a ticket holds {limit:,}]"
    return text[: limit - len(note)].rstrip() + note, True


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --------------------------------------------------------------------------------------------- attachments
def _leaves(part: Message) -> Iterator[Message]:
    """Every leaf part, with an attached email (``message/rfc822``) counted as one leaf."""
    if part.get_content_maintype() == "multipart" and part.is_multipart():
        for sub in part.get_payload():  # type: ignore[union-attr]
            yield from _leaves(sub)
    else:
        yield part


def _attachments(message: EmailMessage, body: Message | None, max_bytes: int) -> Iterator[Attachment]:
    count = 0
    for part in _leaves(message):
        if part is body or _is_alternative_text(part):
            continue
        count += 1
        if count > MAX_ATTACHMENTS:
            raise MailTooLarge(f"the message has more than {MAX_ATTACHMENTS} attachments; the limit is "
                               f"{MAX_ATTACHMENTS} per email: send fewer, or a link to them", limit=MAX_ATTACHMENTS)  # fmt: skip
        filename = _safe_filename(part.get_filename(), count)
        size = len(part.as_bytes()) if part.is_multipart() else len(_payload(part, f"attachment {filename!r}"))
        if size > max_bytes:
            raise MailTooLarge(f"attachment {filename!r} is {human_size(size)} ({size:,} bytes); the limit is "
                               f"{human_size(max_bytes)} ({max_bytes:,} bytes) per attachment: send a link to it instead",
                               limit=max_bytes)  # fmt: skip
        yield Attachment(filename=filename, content_type=part.get_content_type()[:255], size=size)


def _is_alternative_text(part: Message) -> bool:
    """A text version of the body (the HTML beside the plain text), not something the sender attached."""
    return (part.get_content_type() in ("text/plain", "text/html") and part.get_filename() is None
            and part.get_content_disposition() != "attachment")  # fmt: skip


def _safe_filename(name: str | None, index: int) -> str:
    if not name:
        return f"attachment-{index}"
    name = _CONTROL.sub("", _repair_8bit(name)).replace("\\", "/").rsplit("/", 1)[-1].strip()
    return _shorten(_SPACES.sub(" ", name), 255) or f"attachment-{index}"


def human_size(size: int) -> str:
    """``10485760 -> "10.0 MiB"``, for messages that name a limit."""
    if size < 1024:
        return f"{size:,} bytes"
    value = size / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
