"""The customer's own words in an e-mail-like ticket: quoted history and signatures removed.

Tickets from e-mail carry the whole thread below the new message (``> quoted`` lines, "On Mon, Anna wrote:",
"-----Original Message-----", "在 2024年3月1日，张三 写道：") and a signature (``-- ``, "Best regards", "Sent from
my iPhone", "此致 敬礼", "发自我的iPhone"). Sentiment and anger must be scored on the new message alone: a calm
reply quoting an angry thread is calm, and an angry reply is not diluted by a polite signature.

Pure standard library; the same function cleans training and serving text.
"""

from __future__ import annotations

import re

#: A line that starts the quoted history: everything from it on is dropped.
_QUOTE_HEADER = re.compile(
    r"^\s*(?:"
    r"-{2,}\s*(?:original message|forwarded message|原始邮件|转发的邮件)\s*-{2,}"
    r"|on\b.{0,200}\bwrote:\s*$"
    r"|在.{0,200}写道[:：]\s*$"
    r"|from:\s.+$|发件人[:：].+$"
    r"|_{10,}\s*$"
    r")",
    re.IGNORECASE,
)
#: A line that starts a signature or sign-off: everything from it on is dropped.
_SIGNATURE = re.compile(
    r"^\s*(?:"
    r"--\s*$|—{2,}\s*$"
    r"|(?:best|kind|warm)?\s*regards,?\s*$|best,?\s*$|cheers,?\s*$|sincerely,?\s*$|yours(?: truly| sincerely)?,?\s*$"
    r"|thanks?(?: you)?(?: in advance)?,\s*$"
    r"|sent from my\b.*$|get outlook for\b.*$"
    r"|此致\s*$|敬礼\s*$|祝好[!！。]?\s*$|顺祝.*$|发自我的.*$"
    r")",
    re.IGNORECASE,
)
_QUOTED_LINE = re.compile(r"^\s*>")


def new_message(text: str) -> str:
    """The newest message of ``text``: cut at the first quoted-history header or signature, ``>`` lines dropped.

    Returns the text unchanged when nothing would be left (a ticket that is only a quote is scored as written).

    Example:
        >>> new_message("Still broken!!\\n\\nBest regards,\\nAnna\\n\\nOn Mon, Bob wrote:\\n> Is it fixed?")
        'Still broken!!'
    """
    kept: list[str] = []
    for line in text.splitlines():
        if _QUOTE_HEADER.match(line) or (kept and _SIGNATURE.match(line)):
            break
        if not _QUOTED_LINE.match(line):
            kept.append(line)
    cleaned = "\n".join(kept).strip()
    return cleaned or text.strip()
