"""JSON responses as every route sends them: msgspec-encoded and never cached."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.responses import Response

NO_STORE = {"Cache-Control": "no-store"}

_encoder = msgspec.json.Encoder()


def encode(body: Any) -> bytes:
    return _encoder.encode(body)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        _encoder.encode(body),
        status_code=status,
        media_type="application/json",
        headers={**NO_STORE, **(headers or {})},
    )
