"""`tempmail send-test`: a realistic message sent over SMTP, to check a server end to end."""

from __future__ import annotations

import base64
import smtplib
import socket
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

# A 1x1 PNG, so the attachment is a real image that viewers can open.
_PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def sample_message(to: str, sender: str) -> EmailMessage:
    """Text and HTML alternatives, an inline image and a small attachment."""
    message = EmailMessage()
    message["From"] = f"tempmail send-test <{sender}>"
    message["To"] = to
    message["Subject"] = "tempmail test message ✓"
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    message.set_content(
        "This is a test message from `tempmail send-test`.\n\n"
        "If you can read it in your inbox, delivery works end to end.\n"
        "Your verification code is 424242.\n"
    )
    logo_id = make_msgid(domain="tempmail.invalid")
    message.add_alternative(
        "<html><body><h1>It works</h1>"
        "<p>This is a test message from <code>tempmail send-test</code>.</p>"
        f'<p><img src="cid:{logo_id[1:-1]}" alt="pixel" width="16" height="16"></p>'
        "<p>Your verification code is <b>424242</b>.</p></body></html>",
        subtype="html",
    )
    alternatives = message.get_payload()
    assert isinstance(alternatives, list)
    html_part = alternatives[1]
    assert isinstance(html_part, EmailMessage)
    html_part.add_related(_PIXEL, "image", "png", cid=logo_id)
    message.add_attachment(
        b"tempmail send-test attachment\n",
        maintype="text",
        subtype="plain",
        filename="send-test.txt",
    )
    return message


def send(to: str, host: str, port: int, sender: str, timeout: float = 30) -> tuple[int, str]:
    """Send the sample message; returns the server's final reply (code, text).

    Refusals at MAIL or RCPT are returned as replies too, not raised.
    """
    data = sample_message(to, sender).as_bytes(policy=policy.default.clone(linesep="\r\n"))
    with smtplib.SMTP(host, port, timeout=timeout, local_hostname=socket.gethostname()) as client:
        client.ehlo()
        code, text = client.mail(sender)
        if code != 250:
            return code, text.decode(errors="replace")
        code, text = client.rcpt(to)
        if code not in (250, 251):
            return code, text.decode(errors="replace")
        code, text = client.data(data)
        return code, text.decode(errors="replace")
