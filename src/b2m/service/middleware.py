"""Request ids, access logs without patient data, body size limits and security headers (pure ASGI)."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("b2m.service.access")

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
# API responses are data, never pages: nothing may load from them, nothing may frame them.
API_CSP = b"default-src 'none'; frame-ancestors 'none'"


class TooLargeBody(Exception):
    pass


class RequestContext:
    """Gives each request an id (``X-Request-ID`` on the response), refuses bodies over ``max_body`` bytes with
    413, adds security headers and ``Cache-Control: no-store``, and logs one line per request: method, route
    template, status, duration, request id (never the path's values, the query or the body)."""

    def __init__(self, app: ASGIApp, max_body: int, max_upload: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = str(uuid.uuid4())
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = rid
        started = time.perf_counter()
        status = 0
        limit = self._limit_for(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(send, rid, limit)
            self._log(scope, 413, started, rid)
            return
        received = 0
        sent_start = False

        async def guarded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise TooLargeBody
            return message

        async def send_wrapper(message: Message) -> None:
            nonlocal status, sent_start
            if message["type"] == "http.response.start":
                sent_start = True
                status = int(message["status"])
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers.append((b"x-request-id", rid.encode()))
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in names)
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", API_CSP))
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, guarded_receive, send_wrapper)
        except TooLargeBody:
            if not sent_start:
                await _too_large(send, rid, limit)
            status = 413
        finally:
            self._log(scope, status or 500, started, rid)

    def _limit_for(self, scope: Scope) -> int:
        # File routes (stage, results files) take larger bodies; the multipart parser spools them to disk.
        path = str(scope.get("path", ""))
        return self.max_upload if path.endswith(("/upload", "/stage")) else self.max_body

    @staticmethod
    def _log(scope: Scope, status: int, started: float, rid: str) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "(unmatched)"
        log.info(
            "%s %s %s %.1fms request_id=%s",
            scope.get("method"),
            template,
            status,
            (time.perf_counter() - started) * 1000,
            rid,
        )


def _content_length(scope: Scope) -> int | None:
    for k, v in scope.get("headers", []):
        if k == b"content-length":
            try:
                return int(v)
            except ValueError:
                return None
    return None


async def _too_large(send: Send, rid: str, limit: int) -> None:
    body = (
        '{"type":"urn:b2m:problem:too-large","title":"Content Too Large","status":413,'
        f'"detail":"the request body is larger than {limit} bytes","request_id":"{rid}"}}'
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", rid.encode()),
                (b"connection", b"close"),
                *SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
