"""Bounces without a delivery status notification: the plain-text reports of qmail, Exim,
old Sendmail and other MTAs that do not write multipart/report (RFC 3464).

A message is taken for such a bounce only when both say so: it comes from the mail system
(MAILER-DAEMON, postmaster, "Mail Delivery Subsystem", or an empty Return-Path) and its
subject or text is one of the known report formats. The report on the mail it bounced is
read from the text: the failed recipient, the remote server's answer, permanent or
temporary, and the original Message-ID from the copy of the message (its headers quoted
below the report, or attached as message/rfc822 or text/rfc822-headers).
"""

from __future__ import annotations

import re
from email.parser import BytesHeaderParser

from sellerdesk.channels.email.charsets import parse_message_id
from sellerdesk.channels.email.mime import DeliveryReport, ParsedEmail

_DAEMON_USERS = frozenset({"mailer-daemon", "mailer_daemon", "mailerdaemon", "mail-daemon",
                           "postmaster", "mdaemon", "bounce", "bounces"})
_DAEMON_NAMES = re.compile(
    r"^(?:mail delivery (?:subsystem|system|service)|mailer[-_ ]?daemon|postmaster|"
    r"mail administrator)\b", re.IGNORECASE)
_SUBJECTS = re.compile(
    r"undeliver(?:ed|able)|returned mail|mail delivery failed|delivery (?:status )?"
    r"(?:notification|failure)|failure notice|delivery has failed|could not be delivered|"
    r"mail delivery (?:delayed|warning)|warning: could not send message|"
    r"message (?:not delivered|delayed)|nondeliverable|"
    r"niedostarczon|nie można dostarczyć|nie doręczono|"  # Polish servers
    r"배달 실패|전송 실패|반송", re.IGNORECASE)
# Lines that open the report in the formats recognised.
_REPORT_MARKERS = re.compile(
    r"i'm afraid i wasn't able to deliver your message|"  # qmail
    r"this is the qmail-send program|"
    r"could not be delivered to one or more of its\s+recipients|"  # Exim
    r"the following address\(es\) failed|"
    r"has not yet been delivered to one or more of its\s+recipients|"  # Exim delay warning
    r"the following addresses had permanent fatal errors|"  # Sendmail
    r"transcript of session follows|"
    r"your message (?:could not|cannot) be delivered|"
    r"delivery to the following recipients? failed|"
    r"this is the mail system at host|"  # Postfix without a report part
    r"i'm sorry to have to inform you that your message could not",
    re.IGNORECASE)
# Where the copy of the bounced message starts; its headers follow.
_COPY_MARKERS = re.compile(
    r"^.*(?:below this line is a copy of the message|"
    r"this is a copy of (?:the|your) message|"
    r"original message follows|"
    r"undelivered message follows|"
    r"message headers follow|"
    r"copy of the original message|"
    r"^-+\s*original message\s*-+).*$",
    re.IGNORECASE | re.MULTILINE)
_MESSAGE_ID = re.compile(r"^[ \t>]*message-id:[ \t]*(<[^>\r\n]+>|\S+)",
                         re.IGNORECASE | re.MULTILINE)
_ADDRESS = re.compile(r"<?([\w.+'=-]+@[\w-]+(?:\.[\w-]+)+)>?")
# An SMTP reply: at the start of a line (Exim, Sendmail's "<<< "), or after "said:" (qmail).
_REPLY_LINE = re.compile(r"(?:^(?:<<<\s*)?|(?:said|reason|code)\s*:\s*)([45]\d\d[ -].+)$",
                         re.IGNORECASE)
_SAID = re.compile(r"(?:remote host said|said|reason|diagnostic[- ]code)\s*:\s*(.*)",
                   re.IGNORECASE)
_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_TEMPORARY = re.compile(
    r"temporary (?:error|failure|problem)|has not yet been delivered|will (?:retry|keep trying|"
    r"try again)|still trying|this is a warning message only|delivery (?:has been|is) delayed|"
    r"delayed|not yet been delivered", re.IGNORECASE)
_PERMANENT = re.compile(r"permanent (?:fatal )?error|given up|i've given up|gave up|"
                        r"permanent failure|\b5\d\d\b", re.IGNORECASE)


def plain_bounce(mail: ParsedEmail) -> DeliveryReport | None:
    """The report in a non-DSN bounce, or None when the mail is not one."""
    if mail.is_dsn or not _from_mail_system(mail):
        return None
    text = mail.text.replace("\r\n", "\n")
    copy = _COPY_MARKERS.search(text)
    report_text = text[:copy.start()] if copy else text
    if not (_REPORT_MARKERS.search(report_text) or _SUBJECTS.search(mail.subject)):
        return None
    original = _original_id(mail, text[copy.end():] if copy else "")
    failure = _failure_section(report_text)
    recipients = tuple(dict.fromkeys(
        m.group(1).lower() for m in _ADDRESS.finditer(failure)
        if m.group(1).lower() != mail.from_address.lower()))[:1]
    diagnostic = _diagnostic(failure) or _diagnostic(report_text)
    status = _STATUS.search(diagnostic or "")
    temporary = bool(_TEMPORARY.search(report_text)) and not _PERMANENT.search(report_text)
    return DeliveryReport(
        original_message_id=original,
        status=status.group(1) if status else None,
        action="delayed" if temporary else "failed",
        diagnostic=diagnostic,
        failed_recipients=recipients,
    )


def _from_mail_system(mail: ParsedEmail) -> bool:
    user = mail.from_address.partition("@")[0].casefold()
    if user in _DAEMON_USERS:
        return True
    if mail.from_name and _DAEMON_NAMES.match(mail.from_name.strip()):
        return True
    return mail.headers.get("return-path", "").strip() == "<>"


def _original_id(mail: ParsedEmail, copy: str) -> str | None:
    """The Message-ID of the bounced mail: an attached copy's, else the quoted headers'."""
    for attachment in mail.attachments:
        if attachment.content_type in ("message/rfc822", "message/global",
                                       "text/rfc822-headers", "message/rfc822-headers"):
            headers = BytesHeaderParser().parsebytes(attachment.data)
            found = parse_message_id(str(headers.get("message-id", "") or ""))
            if found:
                return found
    # The quoted headers end at the first blank line after them.
    head = copy.lstrip("\n").split("\n\n", 1)[0] if copy else ""
    match = _MESSAGE_ID.search(head) or _MESSAGE_ID.search(copy)
    return parse_message_id(match.group(1)) if match else None


def _failure_section(text: str) -> str:
    """The part of the report that names the failed recipient and the server's answer."""
    lower = text.lower()
    for marker in ("the following address(es) failed", "permanent fatal errors",
                   "wasn't able to deliver your message", "could not be delivered to",
                   "has not yet been delivered", "delivery to the following recipient"):
        start = lower.find(marker)
        if start >= 0:
            return text[start + len(marker):]
    return text


def _diagnostic(section: str) -> str | None:
    """The remote server's answer ("550 5.1.1 <x@y>: User unknown"), one line."""
    lines = [line.strip() for line in section.split("\n")]
    for index, line in enumerate(lines):
        reply = _REPLY_LINE.search(line)
        if reply:
            return _one_line(reply.group(1), lines[index + 1:])
    for line in lines:
        said = _SAID.search(line)
        if said and said.group(1).strip():
            return said.group(1).strip()[:1000]
    return None


def _one_line(first: str, following: list[str]) -> str:
    """A reply's first line, with the continuation lines of a multi-line reply."""
    parts = [first.strip()]
    for line in following[:3]:
        if not line or not re.match(r"^[45]\d\d[ -]", line):
            break
        parts.append(line[4:].strip())
    return " ".join(parts)[:1000]
