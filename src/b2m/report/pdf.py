"""PDF reports, and the report files of ``b2m report``.

The PDF is the HTML report (:mod:`b2m.report.html`) laid out by WeasyPrint (Pango). The page is
self-contained, so the renderer is given a URL fetcher that refuses every address: a report never
reaches out, whatever its content says. :func:`write_report` writes the report of one monitored
patient as ``.pdf`` or ``.html``, atomically.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from b2m.errors import B2MError, InputError
from b2m.monitor.monitor import MonitorResult
from b2m.monitor.series import PatientSeries
from b2m.report.html import AUDIENCES, Audience, render_html

REPORT_SUFFIXES: tuple[str, ...] = (".pdf", ".html", ".htm")


class ReportRenderingError(B2MError, RuntimeError):
    """The PDF could not be made (for instance, the system's Pango library is missing)."""


def _refuse_fetch(url: str, *args: object, **kwargs: object) -> NoReturn:
    raise ValueError(f"b2m reports are self-contained; refusing to fetch {url!r}")


def html_to_pdf(html: str) -> bytes:
    """Lay out one HTML report as PDF bytes (A4, page numbers from the page's CSS)."""
    try:
        import weasyprint
    except OSError as e:  # WeasyPrint loads Pango through cffi at import time
        raise ReportRenderingError(
            f"cannot load the PDF renderer's system libraries ({e}); on Debian install "
            "libpango-1.0-0 and libpangoft2-1.0-0 (scripts/setup.sh does this as root)"
        ) from None
    urls = weasyprint.urls
    # WeasyPrint >= 68 takes a URLFetcher object (no allowed protocol: every address refused); older
    # versions a function.
    fetcher: Any = urls.URLFetcher(allowed_protocols=()) if hasattr(urls, "URLFetcher") else _refuse_fetch
    pdf: Any = weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf()
    if not isinstance(pdf, bytes):
        raise ReportRenderingError("the PDF renderer returned no document")
    return pdf


def render_pdf(doc: Mapping[str, Any], patient: PatientSeries, audience: Audience) -> bytes:
    """The report of one patient for ``audience`` as PDF bytes."""
    return html_to_pdf(render_html(doc, patient, audience))


def check_report_target(out: Path, audience: str) -> str:
    """Refuse an unknown format, audience or a missing folder before any work; the format's suffix."""
    suffix = out.suffix.lower()
    if suffix not in REPORT_SUFFIXES:
        raise InputError("--output", f"unknown report format {out.suffix or '(no suffix)'!r}", "OUT.pdf or OUT.html")
    if audience not in AUDIENCES:
        raise InputError("--audience", f"unknown audience {audience!r}", " or ".join(AUDIENCES))
    if not out.parent.is_dir():
        raise InputError("--output", f"no such directory: {out.parent}", "an existing directory")
    return suffix


def write_report(result: MonitorResult, audience: Audience, out: Path) -> Path:
    """Write the report of one monitored patient (:func:`b2m.monitor.monitor.monitor_patient`) to ``out``.

    The format follows the suffix (``.pdf``, ``.html``). The file is written next to ``out`` under
    a temporary name and moved into place only when complete.
    """
    suffix = check_report_target(out, audience)
    html = render_html(result.to_dict(), result.series, audience)
    data = html_to_pdf(html) if suffix == ".pdf" else html.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private; a report is an ordinary file
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
