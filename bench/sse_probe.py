"""Cross-node delivery-to-SSE latency: mail through node A, its event on node B's stream.

Run by `cluster.py` as a process of its own while the nodes ingest, so that the load
generator's busy event loop does not delay the probe's own reading:

    python bench/sse_probe.py SMTP_PORT EVENTS_URL TOKEN ADDRESS COUNT INTERVAL [DATABASE_URL]

One thread holds `GET EVENTS_URL` open on node B and notes when each `message` event arrives;
the main thread sends COUNT messages (one every INTERVAL seconds, each with its own subject) to
ADDRESS over SMTP on node A and notes when DATA was sent and when its `250` came back. Prints
one JSON object: for each message, the delay from its `250` and from sending its DATA to the
event on B (ms), and how many never arrived within 10 s of the last send.

With DATABASE_URL, a further thread LISTENs on the nodes' notice channel on a connection of its
own (a listener with nothing else to do), and the JSON also holds `timeline`: for each message
its id and the `time.monotonic()` of DATA sent, its `250`, its notice on that listener and its
event on B, to be lined up with the nodes' own timestamps (`traced_node.py`, `sse_stages.py`).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import smtplib
import sys
import threading
import time
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from urllib.parse import urlsplit

ARRIVAL_GRACE_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 30.0


def _follow(
    url: str,
    token: str,
    arrived: dict[str, float],
    ids: dict[str, str],
    ready: threading.Event,
) -> None:
    """Read the event stream until the process ends, noting each message's arrival time."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(
        parts.hostname or "127.0.0.1", parts.port, timeout=CONNECT_TIMEOUT_SECONDS
    )
    connection.request("GET", parts.path, headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    if response.status != 200:
        raise SystemExit(f"events stream answered {response.status}")
    kind = ""
    while True:
        line = response.fp.readline()
        if not line:
            return
        text = line.decode().rstrip("\r\n")
        if text == ": connected":
            ready.set()
        elif text.startswith("event: "):
            kind = text.removeprefix("event: ")
        elif text.startswith("data: ") and kind == "message":
            now = time.monotonic()
            data = json.loads(text.removeprefix("data: "))
            subject = str(data.get("subject", ""))
            arrived[subject] = now
            ids[subject] = str(data.get("id", ""))


def _listen(url: str, heard: dict[str, float], ready: threading.Event) -> None:
    """LISTEN on the notice channel until the process ends, noting when each message's notice
    comes (its id is the third word of a line)."""
    import asyncpg  # the project's venv; only needed with DATABASE_URL

    def received(connection: object, pid: int, channel: str, payload: object) -> None:
        now = time.monotonic()
        for line in str(payload).split("\n"):
            words = line.split(" ")
            if len(words) >= 4 and words[0] == "message":
                heard[words[2]] = now

    async def follow() -> None:
        connection = await asyncpg.connect(url, timeout=CONNECT_TIMEOUT_SECONDS)
        await connection.add_listener("tempmail", received)
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(follow())


def _message(address: str, subject: str) -> bytes:
    message = EmailMessage()
    message["From"] = "probe@example.com"
    message["To"] = address
    message["Subject"] = subject
    message.set_content("latency probe\n")
    return message.as_bytes(policy=SMTP_POLICY)


def main(argv: list[str]) -> int:
    smtp_port, events_url, token, address = int(argv[0]), argv[1], argv[2], argv[3]
    count, interval = int(argv[4]), float(argv[5])
    database_url = argv[6] if len(argv) > 6 else None
    arrived: dict[str, float] = {}
    ids: dict[str, str] = {}
    heard: dict[str, float] = {}
    ready = threading.Event()
    threading.Thread(
        target=_follow, args=(events_url, token, arrived, ids, ready), daemon=True
    ).start()
    if not ready.wait(CONNECT_TIMEOUT_SECONDS):
        raise SystemExit("events stream did not connect")
    if database_url:
        listening = threading.Event()
        threading.Thread(target=_listen, args=(database_url, heard, listening), daemon=True).start()
        if not listening.wait(CONNECT_TIMEOUT_SECONDS):
            raise SystemExit("the listener did not connect")
    sent: dict[str, tuple[float, float]] = {}
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=CONNECT_TIMEOUT_SECONDS) as smtp:
        smtp.ehlo("probe.example")
        for number in range(count):
            subject = f"sse probe {number:05d}"
            smtp.mail("probe@example.com")
            smtp.rcpt(address)
            data_sent = time.monotonic()
            code, _ = smtp.data(_message(address, subject))
            if code == 250:
                sent[subject] = (data_sent, time.monotonic())
            time.sleep(interval)
    deadline = time.monotonic() + ARRIVAL_GRACE_SECONDS
    while time.monotonic() < deadline and not set(sent) <= set(arrived):
        time.sleep(0.05)
    after_250 = []
    after_data = []
    timeline = []
    for subject, (data_sent, acknowledged) in sent.items():
        if subject in arrived:
            after_250.append((arrived[subject] - acknowledged) * 1000)
            after_data.append((arrived[subject] - data_sent) * 1000)
            message_id = ids[subject]
            timeline.append(
                {
                    "id": message_id,
                    "data_sent": data_sent,
                    "acked": acknowledged,
                    "listener": heard.get(message_id),
                    "event": arrived[subject],
                }
            )
    result: dict[str, object] = {
        "sent": len(sent),
        "missing": len(sent) - len(after_250),
        "after_250_ms": after_250,
        "after_data_ms": after_data,
    }
    if database_url:
        result["timeline"] = timeline
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
