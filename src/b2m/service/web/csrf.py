"""The CSRF token of a form that works without JavaScript.

The access rules (:mod:`b2m.service.access`) check a cookie session's changes against the ``X-CSRF-Token``
header. A plain HTML form cannot set a header, so it carries the token in a hidden ``csrf_token`` field; this
middleware reads that field from the body of a web page's form post (URL-encoded or multipart) and hands it on
as the header, before the access rules run. The body is read once (the size limits of the outer middleware still
apply) and replayed to the route unchanged. API routes (``/api/``) are left alone: their contract is the header.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from b2m.service.access import CSRF_HEADER
from b2m.service.web.common import CSRF_FIELD

FORM_TYPES = (b"application/x-www-form-urlencoded", b"multipart/form-data")


class FormCSRF:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") in ("GET", "HEAD", "OPTIONS")
            or str(scope.get("path", "")).startswith("/api/")
        ):
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = list(scope.get("headers", []))
        names = {k.lower() for k, _ in headers}
        ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
        if CSRF_HEADER.lower().encode() in names or not ctype.lower().startswith(FORM_TYPES):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        token = await _token(scope, ctype, body)
        if token:
            scope = {**scope, "headers": [*headers, (CSRF_HEADER.lower().encode(), token.encode())]}
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _token(scope: Scope, ctype: bytes, body: bytes) -> str | None:
    if ctype.lower().startswith(b"application/x-www-form-urlencoded"):
        values = parse_qs(body.decode("latin-1"), max_num_fields=200).get(CSRF_FIELD)
        return values[0][:200] if values else None
    done = False

    async def once() -> Message:
        nonlocal done
        if done:
            return {"type": "http.disconnect"}
        done = True
        return {"type": "http.request", "body": body, "more_body": False}

    request = Request(scope, once)
    try:
        async with request.form(max_files=4, max_fields=200) as form:
            value: Any = form.get(CSRF_FIELD)
            return value[:200] if isinstance(value, str) else None
    except Exception:  # a malformed body: the route's own parser reports it; no token is taken
        return None
