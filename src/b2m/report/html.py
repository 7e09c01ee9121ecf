"""The HTML reports of ``b2m report``: one self-contained page per patient and audience.

Input is the monitor's output for one patient (``b2m monitor --format json``, docs/monitor-contract.md)
and the patient's series as read at the edge (for the dated series the charts draw). Nothing is recomputed here:
stages, response categories, kinetics and alerts are shown as the monitor gave them.

The page works offline: styles are inline, charts are inline SVG (:mod:`b2m.report.charts`), no
script, no web font, no external address. The PDF is made from the same page (:mod:`b2m.report.pdf`).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from jinja2 import ChainableUndefined, Environment, PackageLoader, select_autoescape
from markupsafe import Markup

import b2m
from b2m.interpret import interpret_b2m
from b2m.interpret.b2m import GREIPP_2005
from b2m.interpret.flags import (
    EGFR_REDUCED_BELOW_ML_MIN_1_73M2,
    EGFR_SEVERELY_REDUCED_BELOW_ML_MIN_1_73M2,
    KDIGO_2012,
)
from b2m.monitor.kinetics import KIDNEY_MATCH_WINDOW_DAYS
from b2m.monitor.series import PatientSeries
from b2m.report import content_patient as cp
from b2m.report.charts import (
    BLUE,
    GREY,
    ORANGE,
    PURPLE,
    VERMILLION,
    Chart,
    Line,
    Point,
    SeriesSet,
    points_from_monitor,
    render_svg,
    series_from_patient,
)
from b2m.rules.iss import B2M_STAGE_I_BELOW_MG_L, B2M_STAGE_III_MIN_MG_L
from b2m.rules.registry import SystemView
from b2m.units import LabValue

Audience = Literal["patient", "clinician"]
AUDIENCES: tuple[Audience, ...] = ("patient", "clinician")

NOTE_KIND_LABEL: Mapping[str, str] = {
    "discrepancy": "D",
    "unconfirmed": "U",
    "setting": "setting",
    "missing": "missing",
    "caveat": "caveat",
}
NOTE_KIND_ORDER: tuple[str, ...] = ("discrepancy", "unconfirmed", "setting", "missing", "caveat")

CATEGORY_NAMES: Mapping[str, str] = {
    "sCR": "stringent complete response",
    "CR": "complete response",
    "VGPR": "very good partial response",
    "PR": "partial response",
    "MR": "minimal response",
    "SD": "stable disease",
    "PD": "progressive disease",
    "not_evaluable": "not evaluable",
}
STAGING_TITLES: Mapping[str, str] = SystemView(lambda s: s.label)  # the registry's systems, read at each use
MARKER_NAMES: Mapping[str, str] = {
    "serum_m_protein": "serum M-protein",
    "urine_m_protein": "urine M-protein",
    "flc": "FLC (involved - uninvolved difference)",
    "flc_kappa": "FLC κ",
    "flc_lambda": "FLC λ",
    "flc_difference": "dFLC",
    "flc_ratio_kappa_lambda": "κ/λ ratio",
    "marrow": "marrow plasma cells",
    "marrow_plasma_cells_percent": "marrow plasma cells",
    "immunofixation": "IFE",
    "none": "none (no measurable disease)",
}


@dataclass(frozen=True, slots=True)
class SourceRef:
    citation: str
    doi: str


@dataclass(frozen=True, slots=True)
class NoteRef:
    kind: str
    label: str
    code: str
    text: str


# ---------------------------------------------------------------------------------------------
# Reading the monitor document
# ---------------------------------------------------------------------------------------------


def _walk(x: object) -> Iterator[Mapping[str, Any]]:
    if isinstance(x, Mapping):
        yield x
        for v in x.values():
            yield from _walk(v)
    elif isinstance(x, list | tuple):
        for v in x:
            yield from _walk(v)


def collect_notes(doc: Mapping[str, Any]) -> list[NoteRef]:
    """Every note in the document (``{"code", "kind", "text"}``), once each, [D] and [U] first."""
    seen: dict[tuple[str, str], NoteRef] = {}
    for d in _walk(doc):
        kind, text = d.get("kind"), d.get("text")
        if isinstance(kind, str) and kind in NOTE_KIND_LABEL and isinstance(text, str):
            code = str(d.get("code") or "")
            seen.setdefault((code, text), NoteRef(kind, NOTE_KIND_LABEL[kind], code, text))
    return sorted(seen.values(), key=lambda n: NOTE_KIND_ORDER.index(n.kind))


def collect_sources(doc: Mapping[str, Any], extra: Sequence[SourceRef] = ()) -> list[SourceRef]:
    """Every cited source in the document (any object with a ``citation``), once per DOI or citation."""
    seen: dict[str, SourceRef] = {}
    for d in _walk(doc):
        citation = d.get("citation")
        if isinstance(citation, str) and citation:
            doi = d.get("doi") if isinstance(d.get("doi"), str) else ""
            seen.setdefault(doi or citation, SourceRef(citation, doi or ""))
    for s in extra:
        seen.setdefault(s.doi or s.citation, s)
    return list(seen.values())


def _date(x: object) -> dt.date | None:
    if isinstance(x, str):
        try:
            return dt.date.fromisoformat(x)
        except ValueError:
            return None
    return None


def _therapy_events(series: PatientSeries) -> tuple[tuple[dt.date, str], ...]:
    return tuple((t.start, f"L{t.line}" + (f" {t.regimen}" if t.regimen else "")) for t in series.therapy_lines)


def _progression_events(doc: Mapping[str, Any]) -> tuple[tuple[dt.date, str], ...]:
    out = []
    for p in doc.get("progression") or []:
        d = _date(p.get("date"))
        if d is not None:
            out.append((d, "PD" if p.get("confirmed") else "PD?"))
    return tuple(out)


def _egfr_equation(doc: Mapping[str, Any]) -> str | None:
    kinetics = (doc.get("kinetics") or {}).get("b2m") or {}
    for p in kinetics.get("points") or []:
        if p.get("egfr_equation"):
            return str(p["egfr_equation"])
    return None


def _involved_chain(series: PatientSeries) -> str | None:
    return series.patient.involved_light_chain


# ---------------------------------------------------------------------------------------------
# Charts
# ---------------------------------------------------------------------------------------------


def build_charts(
    doc: Mapping[str, Any],
    patient: PatientSeries,
    series: SeriesSet,
    audience: Audience,
    *,
    b2m_points: Sequence[Point],
    egfr_points: Sequence[Point],
) -> dict[str, str]:
    """Inline SVG per chart key (``b2m``, ``m_protein``, ``urine_m_protein``, ``flc``, ``egfr``)."""
    patient_view = audience == "patient"
    events = () if patient_view else _therapy_events(patient) + _progression_events(doc)
    charts: list[Chart] = []
    lo, hi, band_date = series.band("b2m") or (None, None, None)
    band = (lo or 0.0, hi) if hi is not None else None
    band_label = (
        "usual range at your lab"
        if patient_view
        else f"reference interval ({band_date.isoformat() if band_date else 'latest'})"
    )
    charts.append(
        Chart(
            "b2m",
            "B2M" if patient_view else "Serum B2M (mg/L)",
            "mg/L",
            (Line("B2M", tuple(b2m_points), BLUE),),
            "Chart of your B2M results over time." if patient_view else "Serum B2M over time, mg/L.",
            band=band,
            band_label=band_label if band else None,
            hlines=()
            if patient_view
            else (
                (B2M_STAGE_I_BELOW_MG_L, f"ISS {B2M_STAGE_I_BELOW_MG_L:g}"),
                (B2M_STAGE_III_MIN_MG_L, f"ISS {B2M_STAGE_III_MIN_MG_L:g}"),
            ),
            events=events,
        )
    )
    if series.get("m_protein"):
        charts.append(
            Chart(
                "m_protein",
                "M-protein in the blood" if patient_view else "Serum M-protein (g/dL)",
                "g/dL",
                (Line("serum M-protein", series.get("m_protein"), VERMILLION, "s"),),
                "Chart of your M-protein results over time." if patient_view else "Serum M-protein over time, g/dL.",
                events=events,
            )
        )
    if series.get("urine_m_protein") and not patient_view:
        charts.append(
            Chart(
                "urine_m_protein",
                "Urine M-protein (mg/24 h)",
                "mg/24 h",
                (Line("urine M-protein", series.get("urine_m_protein"), PURPLE, "D"),),
                "Urine M-protein over time, mg/24 h.",
                events=events,
            )
        )
    kappa, lam = series.get("flc_kappa"), series.get("flc_lambda")
    if kappa or lam:
        involved = _involved_chain(patient)

        def _label(chain: str) -> str:
            return f"{chain} (involved)" if chain == involved else chain

        charts.append(
            Chart(
                "flc",
                "Free light chains" if patient_view else "Serum free light chains (mg/L, log scale)",
                "mg/L",
                (Line(_label("kappa"), kappa, ORANGE, "o"), Line(_label("lambda"), lam, PURPLE, "^")),
                "Chart of your free light chain results over time."
                if patient_view
                else "Serum free light chains kappa and lambda over time, mg/L, log scale.",
                log_y=True,
                events=events,
            )
        )
    equation = _egfr_equation(doc)
    charts.append(
        Chart(
            "egfr",
            "Kidney test (eGFR)" if patient_view else f"eGFR (mL/min/1.73 m²){f', {equation}' if equation else ''}",
            "mL/min/1.73 m²",
            (Line("eGFR", tuple(egfr_points), GREY if not egfr_points else "#3a7d44", "o"),),
            "Chart of your eGFR kidney test over time." if patient_view else "eGFR at each B2M date.",
            hlines=(
                (EGFR_REDUCED_BELOW_ML_MIN_1_73M2, f"{EGFR_REDUCED_BELOW_ML_MIN_1_73M2:g}"),
                (EGFR_SEVERELY_REDUCED_BELOW_ML_MIN_1_73M2, f"{EGFR_SEVERELY_REDUCED_BELOW_ML_MIN_1_73M2:g}"),
            ),
            events=events,
        )
    )
    if patient_view:
        charts = [replace(c, large_text=True) for c in charts]
    return {c.key: render_svg(c) for c in charts if c.has_data}


# ---------------------------------------------------------------------------------------------
# Template helpers
# ---------------------------------------------------------------------------------------------


def fmt_num(x: object, digits: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return f"{x:.{digits}g}" if abs(x) < 10**digits else f"{x:.0f}"
    return str(x)


def tri(x: object) -> str:
    if x is None:
        return "unknown"
    if isinstance(x, bool):
        return "yes" if x else "no"
    return str(x)


FOOTER_ID_MAX_CHARS = 40
"""The longest id the page footer shows in full (the header shows it whole; the footer shares its line
with "decision support, not diagnosis" and the page numbers)."""


def footer_id(x: object) -> str:
    """The patient id as the page footer shows it: one line, at most :data:`FOOTER_ID_MAX_CHARS`.

    Line breaks, other control characters and bidirectional controls are shown as spaces, so that an id
    can neither wrap the footer onto several lines nor reorder the text around it; a longer id is cut
    and ends in "…". The result is text (HTML-escaped by the template like any other).
    """
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in str(x))
    text = " ".join(text.split())
    return text if len(text) <= FOOTER_ID_MAX_CHARS else text[: FOOTER_ID_MAX_CHARS - 1] + "…"


def kv(d: object) -> str:
    """A flat ``key: value; ...`` rendering of a small evidence or measurement object."""
    if not isinstance(d, Mapping):
        return fmt_num(d)
    parts = []
    for k, v in d.items():
        if isinstance(v, Mapping):
            v = "{" + kv(v) + "}"
        elif isinstance(v, list):
            v = ", ".join(fmt_num(i) if not isinstance(i, Mapping) else kv(i) for i in v)
        else:
            v = fmt_num(v)
        parts.append(f"{k}: {v}")
    return "; ".join(parts)


def measurement(m: object) -> str:
    """``serum M-protein 1.4 g/dL (-56.3% vs baseline)``, ``IFE serum negative, urine negative``;
    other shapes fall back to ``kv``."""
    if not isinstance(m, Mapping):
        return kv(m)
    name = marker_name(m.get("marker") or m.get("analyte") or "")
    if "value" not in m:
        if "serum" in m or "urine" in m:  # immunofixation
            return f"{name} serum {m.get('serum') or 'not done'}, urine {m.get('urine') or 'not done'}"
        return kv(m)
    unit = m.get("unit") or ""
    text = f"{name} {fmt_num(m.get('value'))}{unit if unit == '%' else ' ' + unit}".strip()
    extra = []
    for key, since in (("change_from_baseline_percent", "baseline"), ("change_from_nadir_percent", "nadir")):
        v = m.get(key)
        if isinstance(v, int | float) and not isinstance(v, bool):
            extra.append(f"{v:+.1f}% vs {since}")
    if isinstance(m.get("clonal"), bool):
        extra.append("clonal" if m["clonal"] else "not clonal")
    if m.get("carried_forward"):
        extra.append(f"carried forward from {m.get('date')}")
    return f"{text} ({', '.join(extra)})" if extra else text


def marker_name(m: object) -> str:
    return MARKER_NAMES.get(str(m), str(m).replace("_", " "))


def category_name(c: object) -> str:
    return f"{c} ({CATEGORY_NAMES[str(c)]})" if str(c) in CATEGORY_NAMES and c != "not_evaluable" else tri(c)


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("b2m.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True),
        # The monitor contract is a working draft: a key it leaves out renders as empty, not a crash.
        undefined=ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        num=fmt_num,
        tri=tri,
        kv=kv,
        measurement=measurement,
        category=category_name,
        marker=marker_name,
        footer_id=footer_id,
    )
    env.filters["long_date"] = lambda d: cp.long_date(d) if d else "–"
    return env


_ENV: Environment | None = None


def environment() -> Environment:
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    return _ENV


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def _values_table(series: SeriesSet, b2m_points: Sequence[Point], egfr_points: Sequence[Point]) -> list[dict[str, str]]:
    """One row per date: B2M, M-protein, involved/uninvolved FLC and eGFR as charted."""
    cols: dict[str, Sequence[Point]] = {
        "b2m": b2m_points,
        "m_protein": series.get("m_protein"),
        "flc_kappa": series.get("flc_kappa"),
        "flc_lambda": series.get("flc_lambda"),
        "egfr": egfr_points,
    }
    rows: dict[dt.date, dict[str, str]] = {}
    for key, points in cols.items():
        for p in points:
            row = rows.setdefault(p.date, {})
            row[key] = p.censored or fmt_num(p.value)
    return [
        {"date": d.isoformat(), "long_date": cp.long_date(d), **{k: r.get(k, "") for k in cols}}
        for d, r in sorted(rows.items())
    ]


def render_html(
    doc: Mapping[str, Any],
    patient: PatientSeries,
    audience: Audience,
    *,
    generated: dt.date | None = None,
) -> str:
    """The report as one self-contained HTML page.

    ``doc`` is the monitor output for one patient (:meth:`b2m.monitor.monitor.MonitorResult.to_dict`),
    ``patient`` that patient's series as read at the edge.
    """
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {', '.join(AUDIENCES)}, got {audience!r}")
    series = series_from_patient(patient)
    latest = latest_b2m_reading(doc, patient)
    if latest is not None:  # shown as flags (clinician) and as points to talk about (patient)
        doc = {
            **doc,
            "flags": [*(doc.get("flags") or []), *latest.flags],
            "latest_b2m_notes": list(latest.notes),
        }
    b2m_points = points_from_monitor(doc, "value_mg_l") or series.get("b2m")
    egfr_points = points_from_monitor(doc, "egfr")
    charts = {
        k: Markup(v)
        for k, v in build_charts(doc, patient, series, audience, b2m_points=b2m_points, egfr_points=egfr_points).items()
    }
    context: dict[str, Any] = {
        "doc": doc,
        "patient": patient.patient,
        "charts": charts,
        "values": _values_table(series, b2m_points, egfr_points),
        "generated": (generated or dt.date.today()).isoformat(),
        "version": b2m.__version__,
        "involved_chain": _involved_chain(patient),
        "latest_b2m": latest,
    }
    if audience == "patient":
        context["content"] = cp.patient_content(doc, series, b2m=b2m_points, egfr=egfr_points)
        template = "patient.html.j2"
    else:
        extra = [SourceRef(GREIPP_2005.citation, GREIPP_2005.doi)]
        if egfr_points:
            extra.append(SourceRef(KDIGO_2012.citation, KDIGO_2012.doi))
        context |= {
            "notes": collect_notes(doc),
            "sources": collect_sources(doc, extra),
            "staging": [
                (STAGING_TITLES.get(k, k), v)
                for k, v in (doc.get("staging_at_diagnosis") or {}).items()
                if isinstance(v, Mapping)
            ],
            "therapy_lines": patient.therapy_lines,
            "kinetics": (doc.get("kinetics") or {}).get("b2m") or {},
            "flags": _clinician_flags(doc),
            "egfr_cutoffs": (EGFR_REDUCED_BELOW_ML_MIN_1_73M2, EGFR_SEVERELY_REDUCED_BELOW_ML_MIN_1_73M2),
            "iss_cutoffs": (B2M_STAGE_I_BELOW_MG_L, B2M_STAGE_III_MIN_MG_L),
        }
        template = "clinician.html.j2"
    return environment().get_template(template).render(**context)


@dataclass(frozen=True, slots=True)
class LatestB2M:
    """The engine's reading of the latest B2M result (what ``b2m assess`` says about one result)."""

    date: dt.date
    summary_clinician: str
    flags: tuple[Mapping[str, Any], ...]
    notes: tuple[Mapping[str, Any], ...]


def _nearest(labs: Sequence[LabValue], d: dt.date) -> LabValue | None:
    """The result closest to ``d`` within the monitor's kidney-matching window (ties: the earlier)."""
    near = [(abs((x.date - d).days), x.date, x) for x in labs if x.date is not None]
    near = [t for t in near if t[0] <= KIDNEY_MATCH_WINDOW_DAYS]
    return min(near, key=lambda t: (t[0], t[1]))[2] if near else None


def latest_b2m_reading(doc: Mapping[str, Any], ps: PatientSeries) -> LatestB2M | None:
    """Flags of the latest B2M result from the engine's interpretation (:func:`interpret_b2m`).

    The monitor reports kinetics and alerts over time; what may be moving the latest single result
    (kidney function, inflammation, infection, drugs, method, censoring) is the engine's reading,
    with the eGFR the monitor computed for that date and the creatinine and CRP of the same window.
    """
    results = ps.lab("b2m")
    latest = results[-1] if results else None
    if latest is None or latest.date is None:
        return None
    when = latest.date
    points: list[Mapping[str, Any]] = ((doc.get("kinetics") or {}).get("b2m") or {}).get("points") or []
    point: Mapping[str, Any] = next((p for p in reversed(points) if p.get("date") == when.isoformat()), {})
    egfr = point.get("egfr")
    reading = interpret_b2m(
        b2m=latest,
        age_years=ps.patient.age,
        egfr_ml_min_1_73m2=float(egfr) if isinstance(egfr, int | float) and not isinstance(egfr, bool) else None,
        egfr_equation=point.get("egfr_equation"),
        creatinine=_nearest(ps.lab("creatinine"), when),
        crp=_nearest(ps.lab("crp"), when),
        conditions=ps.patient.conditions,
        medications=ps.patient.medications,
    )
    return LatestB2M(
        when,
        reading.summary_clinician,
        tuple(f.to_dict() for f in reading.flags),
        tuple(n.to_dict() for n in reading.notes),
    )


def _clinician_flags(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The engine's confounder flags, wherever the monitor passes them on (top level or per date).

    The kinetics' renal flag is shown with the kinetics, not repeated here.
    """
    seen: dict[tuple[str, str], Mapping[str, Any]] = {}
    for f in doc.get("flags") or []:
        if isinstance(f, Mapping):
            seen.setdefault((str(f.get("code")), str(f.get("clinician"))), f)
    return list(seen.values())
