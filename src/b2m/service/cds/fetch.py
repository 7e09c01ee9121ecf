"""Outbound HTTP of the CDS services: a client's FHIR server and its JWK Set (httpx2, bounded in time and size).

Every request has a connect and a total timeout, follows no redirect (a 3xx is a failure: a token is never sent to
another address than the one configured or given), reads at most :data:`MAX_BYTES`, and takes JSON only. Outside
development only ``https`` addresses are fetched. Tests give ``app.state.cds_transport`` (an httpx2 transport, e.g.
an in-process fake EHR); production uses the network.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2 as httpx
from starlette.requests import Request

MAX_BYTES = 4 << 20
CONNECT_TIMEOUT_S = 2.0
TOTAL_TIMEOUT_S = 5.0
JSON_TYPES = ("application/fhir+json", "application/json", "application/jwk-set+json")


class FetchError(Exception):
    """An outbound request failed (refused, timed out, not 200, too large, not JSON); the message names no data."""


def https_required(request: Request) -> bool:
    return not request.app.state.settings.development


def check_url(request: Request, url: str, what: str) -> None:
    if https_required(request) and not url.startswith("https://"):
        raise FetchError(f"{what} must be an https URL")
    if not url.startswith(("https://", "http://")):
        raise FetchError(f"{what} must be an absolute http(s) URL")


async def get_json(request: Request, url: str, *, bearer: str | None = None, what: str = "the URL") -> Any:
    """GET ``url`` and parse its JSON body (see the module docstring for the limits)."""
    check_url(request, url, what)
    headers = {"Accept": "application/fhir+json, application/json"}
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    transport = getattr(request.app.state, "cds_transport", None)
    timeout = httpx.Timeout(TOTAL_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
    try:
        async with (
            httpx.AsyncClient(transport=transport, timeout=timeout, follow_redirects=False) as client,
            client.stream("GET", url, headers=headers) as response,
        ):
            if response.status_code != 200:
                raise FetchError(f"{what} answered HTTP {response.status_code}")
            kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if kind not in JSON_TYPES:
                raise FetchError(f"{what} answered {kind or 'no content type'}, not JSON")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    raise FetchError(f"{what} answered more than {MAX_BYTES >> 20} MiB")
    except httpx.TimeoutException:
        raise FetchError(f"{what} did not answer within {TOTAL_TIMEOUT_S:.0f} s") from None
    except httpx.HTTPError as e:
        raise FetchError(f"{what} could not be reached ({type(e).__name__})") from None
    try:
        return json.loads(body)
    except ValueError:
        raise FetchError(f"{what} answered invalid JSON") from None
