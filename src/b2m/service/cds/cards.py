"""Cards from one assessment (CDS Hooks 2.0 card rules: summary under 140 characters, ``indicator`` info / warning
/ critical, ``source`` with the rule's publication, a uuid per card, absolute links only).

- One card per staging system (ISS, R-ISS, R2-ISS), ``info``: the stage, or the stages still possible and the
  inputs whose absence leaves them open; the detail lists the criteria, the inputs as used and the rule's caveats.
- A ``warning`` card when kidney function or inflammation makes the B2M hard to read (the B2M interpretation's
  flags, with their evidence and source), and an ``info`` card when the B2M was read without kidney function.
- For a B2M order (``order-select``): which other results staging still lacks, and the same warning ahead of the
  result, from the current eGFR and CRP.
- A ``warning`` card when the chart's results could not be read (the edge's refusal, naming the FHIR element).

Every card links to the patient's page in the web app when the chart's patient is stored in b2m.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence

from b2m.assessment import Assessment
from b2m.errors import InputError
from b2m.interpret import flags as fl
from b2m.provenance import Source as Citation
from b2m.rules.base import RuleResult
from b2m.service.cds.models import SUMMARY_MAX_CHARS, Card, Link, Source
from b2m.service.cds.services import OPTIONAL_LABELS

SYSTEM_NAMES = {"iss": "ISS", "r_iss": "R-ISS", "r2_iss": "R2-ISS"}
INPUT_NAMES = {
    "b2m_mg_l": "B2M",
    "albumin_g_dl": "albumin",
    "ldh_u_l": "LDH",
    "ldh_uln_u_l": "the lab's LDH upper limit",
    "del17p": "del(17p)",
    "t4_14": "t(4;14)",
    "t14_16": "t(14;16)",
    "gain1q": "1q gain",
}
INPUT_UNITS = {"b2m_mg_l": "mg/L", "albumin_g_dl": "g/dL", "ldh_u_l": "U/L", "ldh_uln_u_l": "U/L"}
KIDNEY_FLAGS = ("reduced_kidney_function", "known_kidney_disease", "dialysis", "transplant")
INFLAMMATION_FLAGS = ("inflammation", "infection", "autoimmune_disease")
B2M_SOURCE = Source(label="b2m: decision support, not diagnosis")
DISCLAIMER = "_Decision support, not diagnosis: read with the whole clinical picture; no treatment advice._"


def _card(summary: str, indicator: str, source: Source, detail: str, links: Sequence[Link]) -> Card:
    if len(summary) > SUMMARY_MAX_CHARS:  # a programming error: every summary below is built to fit
        raise AssertionError(f"card summary of {len(summary)} characters")
    return Card(
        uuid=str(uuid.uuid4()),
        summary=summary,
        indicator=indicator,  # type: ignore[arg-type]
        source=source,
        detail=detail,
        links=list(links) or None,
    )


def _fit(*candidates: str) -> str:
    """The first candidate short enough for a summary."""
    for text in candidates:
        if len(text) <= SUMMARY_MAX_CHARS:
            return text
    raise AssertionError("no summary candidate fits")


def _short_citation(c: Citation) -> str:
    """``Greipp 2005``; a group author by its acronym (``KDIGO 2012``, not ``Kidney 2012``)."""
    author = c.citation.split(" ", 1)[0].rstrip(",")
    group = re.match(r"[^(]{0,80}\(([A-Z][A-Za-z-]{1,15})\)", c.citation)
    if group and not re.match(r"\S+ [A-Z]{1,3}\b", c.citation):  # not "Greipp PR, ...": a group's name
        author = group.group(1)
    year = re.search(r"\b(19|20)\d\d\b", c.citation)
    return f"{author} {year.group(0)}" if year else author


def source_of(c: Citation, title: str | None = None) -> Source:
    label = f"{title}; {_short_citation(c)}" if title else _short_citation(c)
    return Source(label=label[:200], url=f"https://doi.org/{c.doi}" if c.doi else None)


def _alternatives(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def _together(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _missing_names(result: RuleResult) -> list[str]:
    missing = list(result.missing)
    if "ldh_u_l" in missing and "ldh_uln_u_l" in missing:
        missing.remove("ldh_uln_u_l")  # no LDH at all: its limit is not a separate gap
    return [INPUT_NAMES.get(m, m) for m in missing]


def _value(name: str, value: object) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "present" if value else "absent"
    unit = INPUT_UNITS.get(name)
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{text} {unit}" if unit else text


def staging_card(name: str, result: RuleResult, links: Sequence[Link], not_sent: Iterable[str]) -> Card:
    system = SYSTEM_NAMES[name]
    missing = _missing_names(result)
    if result.stage is not None:
        summary = _fit(f"{system} stage {result.stage}")
    else:
        stages = _alternatives(list(result.possible))
        summary = _fit(
            f"{system}: stage {stages}; unknown: {', '.join(missing)}",
            f"{system}: stage {stages}; {len(missing)} inputs unknown",
        )
    lines = [f"**{result.rule.title}** ({_short_citation(result.rule.source)})."]
    if result.stage is not None:
        lines.append(f"Stage **{result.stage}** from the chart's latest results.")
    else:
        lines.append(
            f"Not settled: stage {_alternatives(list(result.possible))} remain possible. Unknown: "
            f"{_together(missing)}; each of these could change the stage within that range."
        )
    if result.score is not None:
        lines.append(f"Score: {result.score:g} point{'' if result.score == 1 else 's'}.")
    elif result.score_range is not None:
        lines.append(f"Score: {result.score_range[0]:g} to {result.score_range[1]:g} points.")
    lines.append("")
    lines.append("| criterion | met |")
    lines.append("|---|---|")
    for cr in result.criteria:
        lines.append(f"| {cr.description} | {'unknown' if cr.met is None else 'yes' if cr.met else 'no'} |")
    lines.append("")
    used = ", ".join(f"{INPUT_NAMES.get(k, k)} {_value(k, v)}" for k, v in result.inputs.items())
    lines.append(f"Inputs as used: {used}.")
    gaps = [OPTIONAL_LABELS[k] for k in not_sent if k in OPTIONAL_LABELS]
    if gaps:
        lines.append(f"Not sent by the EHR: {_together(gaps)}.")
    caveats = [n.text for n in result.notes if n.kind == "caveat"]
    if caveats:
        lines.append("")
        lines.extend(f"- {t}" for t in caveats)
    lines.append("")
    lines.append(DISCLAIMER)
    return _card(summary, "info", source_of(result.rule.source, result.rule.title), "\n".join(lines), links)


def _hard_flags(a: Assessment) -> list[fl.Flag]:
    return [f for f in a.b2m.flags if f.code in (*KIDNEY_FLAGS, *INFLAMMATION_FLAGS) and f.severity != "info"]


def _reasons(flags: Sequence[fl.Flag]) -> list[str]:
    out: list[str] = []
    for f in flags:
        egfr, crp = f.evidence.get("egfr"), f.evidence.get("crp")
        if f.code == "reduced_kidney_function" and isinstance(egfr, int | float):
            out.append(f"eGFR {float(egfr):.0f} mL/min/1.73 m²")
        elif f.code == "inflammation" and isinstance(crp, dict):
            out.append(f"CRP {crp.get('value')} {crp.get('unit')}")
        else:
            out.append(f.code.replace("_", " "))
    return list(dict.fromkeys(out))


def b2m_cards(a: Assessment, links: Sequence[Link]) -> list[Card]:
    """The warning card when kidney function or inflammation makes the B2M hard to read; an info card when the
    B2M was read without any kidney function."""
    b = a.b2m
    if b.value_mg_l is None:
        return []
    value = f"B2M {b.value_mg_l:g} mg/L"
    flags = _hard_flags(a)
    if flags:
        reasons = _reasons(flags)
        summary = _fit(
            f"{value} is hard to read: {_together(reasons)} can raise B2M",
            f"{value} is hard to read: kidney function or inflammation can raise B2M",
        )
        lines = [f"- {f.clinician}" for f in flags]
        lines += ["", b.summary_clinician, "", DISCLAIMER]
        worst = max(flags, key=lambda f: (fl.SEVERITY_RANK[f.severity], bool(f.source and f.source.doi)))
        source = source_of(worst.source) if worst.source is not None else B2M_SOURCE
        return [_card(summary, "warning", source, "\n".join(lines), links)]
    unknown = [f for f in b.flags if f.code == "kidney_function_unknown"]
    if unknown:
        summary = _fit(f"{value} read without kidney function: no creatinine or cystatin C result")
        detail = "\n".join([unknown[0].clinician, "", b.summary_clinician, "", DISCLAIMER])
        source = source_of(unknown[0].source) if unknown[0].source is not None else B2M_SOURCE
        return [_card(summary, "info", source, detail, links)]
    return []


def patient_view_cards(a: Assessment, links: Sequence[Link], not_sent: Iterable[str]) -> list[Card]:
    not_sent = tuple(not_sent)
    cards = [staging_card(name, a.staging[name], links, not_sent) for name in SYSTEM_NAMES if name in a.staging]
    return cards + b2m_cards(a, links)


def order_cards(a: Assessment, ordered: Iterable[str], links: Sequence[Link]) -> list[Card]:
    """For a B2M order: the other staging inputs still unknown (minus those ordered with it), and a warning when the
    current kidney function or CRP will make the result hard to read."""
    ordered = set(ordered)
    lacking: list[str] = []
    for name in SYSTEM_NAMES:
        if name in a.staging:
            for m in a.staging[name].missing:
                label = INPUT_NAMES.get(m, m)
                if m != "b2m_mg_l" and m not in ordered and label not in lacking:
                    lacking.append(label)
    if "ldh_u_l" in ordered and INPUT_NAMES["ldh_uln_u_l"] in lacking:
        lacking.remove(INPUT_NAMES["ldh_uln_u_l"])
    cards: list[Card] = []
    if lacking:
        summary = _fit(
            f"B2M ordered: staging also needs {_together(lacking)}",
            f"B2M ordered: staging also needs {len(lacking)} more results",
        )
        detail = (
            "ISS needs B2M and albumin; R-ISS adds LDH (with the lab's upper limit) and FISH for del(17p), t(4;14) "
            "and t(14;16); R2-ISS adds 1q gain. Unknown in the chart now: "
            f"{_together(lacking)}.\n\n{DISCLAIMER}"
        )
        iss = a.staging.get("iss")
        source = source_of(iss.rule.source, iss.rule.title) if iss is not None else B2M_SOURCE
        cards.append(_card(summary, "info", source, detail, links))
    reasons: list[str] = []
    sources: list[Citation] = []
    pref = a.kidney.preferred
    if pref is not None and pref[1].value is not None and pref[1].value < fl.EGFR_REDUCED_BELOW_ML_MIN_1_73M2:
        reasons.append(f"eGFR {pref[1].value:.0f} mL/min/1.73 m²")
        sources.append(fl.KDIGO_2012)
    crp = a.patient.labs.get("crp")
    if crp is not None and isinstance(crp.value, float):
        limit = crp.upper_limit if crp.upper_limit is not None else fl.CRP_DEFAULT_UPPER_LIMIT_MG_L
        if crp.value > limit:
            reasons.append(f"CRP {crp.value:g} mg/L")
    if reasons:
        summary = _fit(
            f"The B2M will be hard to read: {_together(reasons)} can raise B2M",
            "The B2M will be hard to read: kidney function or inflammation can raise B2M",
        )
        detail = (
            f"Current {_together(reasons)}. Serum B2M rises as GFR falls (about 95% of free B2M is cleared by "
            "glomerular filtration) and with inflammation, so a raised result may not reflect myeloma alone.\n\n"
            f"{DISCLAIMER}"
        )
        source = source_of(sources[0]) if sources else B2M_SOURCE
        cards.append(_card(summary, "warning", source, detail, links))
    return cards


def unreadable_card(e: InputError, links: Sequence[Link]) -> Card:
    detail = (
        f"{e.one_line()}\n\nb2m reads these results exactly as it reads its JSON input (docs/fhir-conformance.md); "
        f"no stage is given until the result is corrected or removed.\n\n{DISCLAIMER}"
    )
    return _card("b2m could not read this chart's results for myeloma staging", "warning", B2M_SOURCE, detail, links)
