"""A small client of the JSON API for scripts: `tempmail inbox new` and `tempmail inbox wait`.

Uses only the standard library, so the commands work wherever tempmail is installed.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Literal

Want = Literal["message", "code", "link"]
MAX_POLL_SECONDS = 60


class ClientError(Exception):
    """The server refused a request or could not be reached; the text says which."""


class Client:
    def __init__(self, url: str, token: str | None = None, timeout: float = 90) -> None:
        self._url = url.rstrip("/")
        self._token = token
        self._timeout = timeout

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        url = self._url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            try:
                message = json.loads(error.read()).get("message", error.reason)
            except (ValueError, AttributeError):
                message = error.reason
            raise ClientError(f"{error.code}: {message}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ClientError(f"cannot reach {self._url}: {reason}") from None


def new_inbox(
    client: Client,
    ttl_hours: float | None = None,
    local_part: str | None = None,
    domain: str | None = None,
) -> dict[str, Any]:
    body = {
        key: value
        for key, value in {
            "ttl_hours": ttl_hours,
            "local_part": local_part,
            "domain": domain,
        }.items()
        if value is not None
    }
    result: dict[str, Any] = client.call("POST", "/api/v1/inboxes", body)
    return result


def _verification_link(detail: dict[str, Any]) -> str | None:
    for link in detail.get("links", []):
        if link.get("verification"):
            return str(link["url"])
    return None


def wait(
    client: Client,
    timeout: float,
    want: Want = "message",
    sender: str | None = None,
    subject: str | None = None,
    since: str | None = None,
    has_code: bool = False,
) -> Any:
    """The first unread message (or its code / verification link) to arrive; None on timeout.

    Reading a message marks it read, so successive calls return successive messages. Only
    messages whose sender and subject contain `sender` and `subject` (case-insensitive) and
    that are newer than `since` (a message id or a time) count; with `has_code` or `code` only
    those in which the server found a code, and those without a verification link for `link`.
    """
    inbox = client.call("GET", "/api/v1/inbox")
    criteria = {"from": sender, "subject": subject, "since": since}
    params = {"unseen": "true", **{key: value for key, value in criteria.items() if value}}
    if has_code or want == "code":
        params["has_code"] = "true"
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        poll = max(0.0, min(remaining, MAX_POLL_SECONDS))
        listing = client.call(
            "GET",
            f"/api/v1/inboxes/{inbox['inbox_id']}/messages",
            params={**params, "wait": f"{poll:.3f}"},
        )
        for summary in reversed(listing["messages"]):
            detail = client.call("GET", f"/api/v1/messages/{summary['id']}")
            if want == "message":
                return detail
            if want == "code" and detail.get("codes"):
                return detail["codes"][0]
            if want == "link" and (link := _verification_link(detail)):
                return link
        if time.monotonic() >= deadline:
            return None
