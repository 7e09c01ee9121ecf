"""The service's configuration, read once from the environment.

``B2M_ENV`` is ``production`` unless set to ``development``: outside development the service refuses to start
without a configured secret (``B2M_SECRET_KEY``, at least 32 characters) and sets its cookies ``Secure``.
``B2M_DATABASE_URL`` chooses the database (PostgreSQL for production, e.g.
``postgresql+psycopg://b2m@db/b2m``); without it the embedded default is an SQLite file under the user's data
directory.

FHIR and CDS Hooks (docs/fhir-conformance.md): ``B2M_PUBLIC_URL`` is the service's address as
its clients reach it (the ``aud`` a CDS client signs, the base of FHIR ``fullUrl`` values; https outside
development); ``B2M_WEB_URL`` the base of the web app's pages that cards link to (default: the public URL);
``B2M_CDS_CLIENTS`` a JSON file of the CDS clients (EHRs) the service trusts (:mod:`b2m.service.cds.config`);
``B2M_SITE_ID_SYSTEM`` the identifier system under which the EHR carries the site ids of stored patients;
``B2M_FHIR_FISH_CODES`` a JSON file of the site's own FISH result codes (FISH has no confirmed LOINC code), read by
``/fhir/$assess`` and the CDS services and added to their prefetch: ``{"del17p": [["http://lab.example/codes",
"DEL17P"]], "t4_14": [...]}`` (the findings of the patient contract; each code a [system, code] pair).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from b2m.errors import B2MError
from b2m.service.cds.config import CdsClient, demo_client, load_clients

Environment = Literal["development", "production"]
MIN_SECRET_CHARS = 32
# Values that must never be accepted as a secret (template placeholders, the obvious choices).
KNOWN_DEFAULT_SECRETS = frozenset({"changeme", "change-me", "secret", "development", "dev", "b2m", "default"})


class ConfigurationError(B2MError, RuntimeError):
    """The service is not configured well enough to start."""


def default_database_url() -> str:
    """The embedded default: an SQLite file in the user's data directory (created when missing)."""
    from platformdirs import user_data_dir

    folder = Path(user_data_dir("b2m", appauthor=False))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'b2m.sqlite3'}"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    secret_key: str
    environment: Environment = "production"
    token_minutes: int = 30  # bearer tokens are short-lived
    session_hours: int = 8  # the web app's cookie session
    login_window_minutes: int = 15
    login_max_failures_per_user: int = 5  # within the window
    login_max_failures_per_address: int = 30
    max_body_bytes: int = 16 << 20  # JSON and uploads; a larger file is a cohort (b2m stage on the command line)
    max_upload_bytes: int = 64 << 20  # stage uploads: streamed to disk, bounded memory
    demo: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)
    public_url: str | None = None
    web_url: str | None = None
    cds_clients: tuple[CdsClient, ...] = ()
    site_id_system: str | None = None
    fhir_fish_codes: Mapping[str, tuple[tuple[str, str], ...]] | None = None  # finding -> the site's (system, code)

    @property
    def development(self) -> bool:
        return self.environment == "development"

    @property
    def secure_cookies(self) -> bool:
        return not self.development

    def check(self) -> None:
        """Refuse to run outside development with a missing, short or well-known secret (or CDS clients without an
        https public URL to be the audience of their tokens)."""
        if self.development:
            return
        if self.cds_clients and not (self.public_url or "").startswith("https://"):
            raise ConfigurationError(
                "B2M_CDS_CLIENTS needs B2M_PUBLIC_URL, the https address CDS clients call (the audience of their JWTs)"
            )
        key = self.secret_key
        if not key or key.strip().lower() in KNOWN_DEFAULT_SECRETS or len(key) < MIN_SECRET_CHARS:
            raise ConfigurationError(
                "B2M_SECRET_KEY is missing or too weak: outside development (B2M_ENV=development) the service needs "
                f"a secret of at least {MIN_SECRET_CHARS} random characters, e.g. "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )


def from_environment(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``B2M_*`` variables; in development a missing secret becomes a random one per start."""
    e = os.environ if env is None else env
    raw_env = e.get("B2M_ENV", "production").strip().lower()
    if raw_env not in ("development", "production"):
        raise ConfigurationError(f"B2M_ENV must be development or production, not {raw_env!r}")
    environment: Environment = "development" if raw_env == "development" else "production"
    secret = e.get("B2M_SECRET_KEY", "")
    if not secret and environment == "development":
        # Never a fixed default: a random secret, so tokens simply end with the process. `b2m serve` passes one
        # secret to all its workers through the environment.
        secret = secrets.token_urlsafe(48)
    settings = Settings(
        database_url=e.get("B2M_DATABASE_URL") or default_database_url(),
        secret_key=secret,
        environment=environment,
        token_minutes=_int(e, "B2M_TOKEN_MINUTES", 30, 1, 24 * 60),
        session_hours=_int(e, "B2M_SESSION_HOURS", 8, 1, 24 * 7),
        demo=e.get("B2M_DEMO", "") == "1",
        public_url=_url(e, "B2M_PUBLIC_URL"),
        web_url=_url(e, "B2M_WEB_URL"),
        cds_clients=_cds_clients(e, environment),
        site_id_system=e.get("B2M_SITE_ID_SYSTEM") or None,
        fhir_fish_codes=_fish_codes(e),
    )
    settings.check()
    return settings


def _int(e: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = e.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number from {lo} to {hi}") from None
    if not lo <= value <= hi:
        raise ConfigurationError(f"{name} must be a whole number from {lo} to {hi}")
    return value


def _url(e: Mapping[str, str], name: str) -> str | None:
    raw = (e.get(name) or "").strip().rstrip("/")
    if not raw:
        return None
    if not raw.startswith(("https://", "http://")):
        raise ConfigurationError(f"{name} must be an absolute http(s) URL, e.g. https://b2m.example.org")
    return raw


def _cds_clients(e: Mapping[str, str], environment: Environment) -> tuple[CdsClient, ...]:
    """The trusted CDS clients of ``B2M_CDS_CLIENTS``; in development with ``B2M_CDS_DEMO=1`` (``b2m serve --demo``)
    also the demo EHR whose key ``b2m cds token`` signs with."""
    clients: list[CdsClient] = []
    path = e.get("B2M_CDS_CLIENTS")
    if path:
        try:
            clients.extend(load_clients(Path(path), development=environment == "development"))
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"B2M_CDS_CLIENTS: {exc}") from None
    if e.get("B2M_CDS_DEMO") == "1":
        if environment != "development":
            raise ConfigurationError("B2M_CDS_DEMO (the demo EHR's key) is for development only (B2M_ENV=development)")
        clients.append(demo_client(e.get("B2M_CDS_DEMO_KEY")))
    return tuple(clients)


SEARCH_SPECIAL = ",|$&#?\\"
FISH_CODES_FORM = 'a JSON object {"del17p": [["system", "code"], ...], ...} of the findings of the patient contract'


def _fish_codes(e: Mapping[str, str]) -> Mapping[str, tuple[tuple[str, str], ...]] | None:
    """The site's FISH codes of ``B2M_FHIR_FISH_CODES``, checked as :func:`b2m.io.fhir.read_fhir` checks them."""
    path = e.get("B2M_FHIR_FISH_CODES")
    if not path:
        return None
    from b2m.errors import InputError
    from b2m.io.fhir import check_fish_codes

    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"B2M_FHIR_FISH_CODES: cannot read the file ({exc.strerror})") from None
    except ValueError:
        raise ConfigurationError(f"B2M_FHIR_FISH_CODES: not JSON; expected {FISH_CODES_FORM}") from None
    if not isinstance(raw, dict) or not all(
        isinstance(pairs, list)
        and all(isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in pairs)
        for pairs in raw.values()
    ):
        raise ConfigurationError(f"B2M_FHIR_FISH_CODES: expected {FISH_CODES_FORM}")
    codes = {str(key): tuple((system, code) for system, code in pairs) for key, pairs in raw.items()}
    # The codes go into the FHIR search of the CDS prefetch (system|code, comma-separated): a character with a
    # meaning there, or in a URL, would change the query the EHR runs.
    for key, pairs in codes.items():
        for system, code in pairs:
            if any(ch in SEARCH_SPECIAL or ch.isspace() or not ch.isprintable() for ch in system + code):
                raise ConfigurationError(
                    f"B2M_FHIR_FISH_CODES: {key}: a system or code with a space or one of {SEARCH_SPECIAL} "
                    "(they would change the FHIR search the EHR runs)"
                )
    try:
        check_fish_codes(codes)
    except InputError as exc:
        raise ConfigurationError(f"B2M_FHIR_FISH_CODES: {exc}") from None
    return codes
