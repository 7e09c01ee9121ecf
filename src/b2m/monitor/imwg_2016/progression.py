"""IMWG 2016 progression: PD of one assessment, relapse from CR, light-chain escape, and a line's events.

Kumar S, et al. International Myeloma Working Group consensus criteria for response and minimal
residual disease assessment in multiple myeloma. Lancet Oncol. 2016;17(8):e328-e346.
DOI 10.1016/S1470-2045(16)30206-6.

**PD**: ≥ 25% above the nadir with an absolute rise of ≥ 0.5 g/dL (serum), ≥ 1 g/dL when the serum
nadir was ≥ 5 g/dL, ≥ 200 mg/24 h (urine), > 10 mg/dL (dFLC, only when serum and urine were not
measurable), ≥ 10 percentage points (marrow, only when nothing else was measurable); a new lesion or
≥ 50% growth of one. The nadir is the lowest value from the line's baseline up to, not including,
the assessment; without a baseline value it is an interval reaching down to 0 (see
:func:`nadir_interval`).

**Relapse from CR**: after a confirmed CR, reappearance of M-protein by immunofixation or
electrophoresis, marrow plasma cells ≥ 5%, or a new lesion.

**Light-chain escape** (b2m extension, not a Kumar 2016 criterion): in disease followed by serum or
urine M-protein, a rise of the dFLC meeting the FLC progression rule is counted as PD (see the
``imwg2016_light_chain_escape`` note).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from b2m.monitor.imwg_2016.assessment import AssessmentData, Classification, Collector, Nadirs
from b2m.monitor.imwg_2016.baseline import Line, MeasurableDisease
from b2m.monitor.imwg_2016.confirmation import Assessment
from b2m.monitor.imwg_2016.constants import (
    PD_FINDINGS,
    PD_FLC_DIFFERENCE_RISE_ABOVE_MG_L,
    PD_MARROW_RISE_MIN_PERCENT,
    PD_RISE_FROM_NADIR_MIN_PERCENT,
    PD_SERUM_HIGH_NADIR_MIN_G_DL,
    PD_SERUM_HIGH_NADIR_RISE_MIN_G_DL,
    PD_SERUM_RISE_MIN_G_DL,
    PD_URINE_RISE_MIN_MG_24H,
    RELAPSE_FROM_CR_MARROW_MIN_PERCENT,
    EventType,
)
from b2m.monitor.imwg_2016.values import (
    INF,
    UNKNOWN_NON_NEGATIVE,
    ZERO,
    Iv,
    at_least,
    detected_by_electrophoresis,
    flc_difference,
    iv_min,
    iv_text,
    marrow_iv,
    risen_by,
    value_iv,
)
from b2m.rules.base import Criterion, Note
from b2m.rules.kleene import Tri, and_, or_


@dataclass(frozen=True, slots=True)
class _PD:
    """PD of one assessment: met (three-valued), and the codes of the criteria that fired."""

    met: Tri
    fired: tuple[str, ...]


def progression_criteria(md: MeasurableDisease, at: AssessmentData, nadir: Nadirs, c: Collector) -> _PD:
    """Whether the assessment shows PD (serum, urine, FLC, marrow, lesions), and by which criteria."""
    rules: list[tuple[str, Tri]] = []

    def rule(code: str, text: str, met: Tri, inputs: tuple[str, ...], missing: str | None = None) -> None:
        rules.append((code, c.add(code, text, met, inputs, missing)))

    marker = md.marker
    serum_open = md.serum is not False  # followed, or its measurability unknown
    urine_open = md.urine is not False
    # Serum M-protein: for every patient with a serum result (a light-chain-only patient whose intact
    # M-protein appears progresses by this rule: pipetcpt/MM_response_module PR #4, switching of disease type;
    # b2m reference RESP-11).
    s = value_iv(at.serum)
    if s is not None or serum_open:
        n = nadir_interval(nadir.serum, md.baseline.serum is not None)
        met_low: Tri = None
        met_high: Tri = None
        if s is not None:
            met_low = risen_by(s, n, absolute=PD_SERUM_RISE_MIN_G_DL, strict=False)
            high_nadir = at_least(n, PD_SERUM_HIGH_NADIR_MIN_G_DL)
            met_high = and_(
                high_nadir, risen_by(s, n, absolute=PD_SERUM_HIGH_NADIR_RISE_MIN_G_DL, strict=False, percent=ZERO)
            )
        rule(
            "pd_serum_m_protein",
            f"serum M-protein ≥ {PD_RISE_FROM_NADIR_MIN_PERCENT}% above its nadir"
            f"{_nadir_text(nadir.serum, 'g/dL')} with an absolute rise ≥ {PD_SERUM_RISE_MIN_G_DL} g/dL",
            met_low,
            ("m_protein",),
            "m_protein",
        )
        rule(
            "pd_serum_m_protein_high_nadir",
            f"serum nadir ≥ {PD_SERUM_HIGH_NADIR_MIN_G_DL} g/dL and a rise ≥ {PD_SERUM_HIGH_NADIR_RISE_MIN_G_DL} g/dL",
            met_high,
            ("m_protein",),
            "m_protein",
        )
    u = value_iv(at.urine)
    if u is not None or urine_open:
        n = nadir_interval(nadir.urine, md.baseline.urine is not None)
        met = risen_by(u, n, absolute=PD_URINE_RISE_MIN_MG_24H, strict=False) if u is not None else None
        rule(
            "pd_urine_m_protein",
            f"urine M-protein ≥ {PD_RISE_FROM_NADIR_MIN_PERCENT}% above its nadir"
            f"{_nadir_text(nadir.urine, 'mg/24 h')} with an absolute rise ≥ {PD_URINE_RISE_MIN_MG_24H} mg/24 h",
            met,
            ("urine_m_protein",),
            "urine_m_protein",
        )
    d = flc_difference(at.kappa, at.lam, md.baseline.involved)
    flc_text = (
        f"involved-uninvolved FLC difference ≥ {PD_RISE_FROM_NADIR_MIN_PERCENT}% above its nadir"
        f"{_nadir_text(nadir.dflc, 'mg/L')} with an absolute rise > {PD_FLC_DIFFERENCE_RISE_ABOVE_MG_L / 10:g} mg/dL "
        f"({PD_FLC_DIFFERENCE_RISE_ABOVE_MG_L} mg/L)"
    )
    n_d = nadir_interval(nadir.dflc, md.baseline.dflc is not None, floor=-INF)
    if md.serum is False and md.urine is False:
        if d is not None or marker == "flc":
            met = risen_by(d, n_d, absolute=PD_FLC_DIFFERENCE_RISE_ABOVE_MG_L, strict=True) if d is not None else None
            rule("pd_flc_difference", flc_text, met, ("flc_kappa", "flc_lambda"), "flc")
    elif marker in ("serum_m_protein", "urine_m_protein") and d is not None:
        met = risen_by(d, n_d, absolute=PD_FLC_DIFFERENCE_RISE_ABOVE_MG_L, strict=True)
        rule(
            "pd_light_chain_escape",
            f"light-chain escape (b2m extension, see note): {flc_text}",
            met,
            ("flc_kappa", "flc_lambda"),
        )
    if marker in ("marrow", "none"):
        m = marrow_iv(at.marrow)
        if m is not None or marker == "marrow":
            n = nadir_interval(nadir.marrow, md.baseline.marrow is not None)
            met = risen_by(m, n, absolute=PD_MARROW_RISE_MIN_PERCENT, strict=False) if m is not None else None
            rule(
                "pd_marrow",
                f"marrow plasma cells ≥ {PD_RISE_FROM_NADIR_MIN_PERCENT}% above their nadir"
                f"{_nadir_text(nadir.marrow, '%')} with an absolute rise ≥ {PD_MARROW_RISE_MIN_PERCENT} "
                "percentage points (only when serum, urine and FLC were not measurable)",
                met,
                ("marrow_plasma_cells_percent",),
                "marrow_plasma_cells_percent",
            )
    lesions = [e for e in at.imaging if e.finding in PD_FINDINGS]
    if lesions:
        rule(
            "pd_new_lesion",
            "new lesion or ≥ 50% growth of an existing lesion: " + ", ".join(e.finding for e in lesions),
            True,
            ("imaging_events",),
        )
    met_all = or_(*(m for _, m in rules)) if rules else None
    if md.marker is None and met_all is False:
        met_all = None  # the followed marker is unknown: PD by it cannot be excluded
    return _PD(met_all, tuple(code for code, m in rules if m is True))


def nadir_interval(observed: Iv | None, baseline_known: bool, floor: Decimal = ZERO) -> Iv:
    """The nadir as an interval: without a baseline value the true nadir lies anywhere from ``floor`` (a
    value never seen) up to the lowest value observed."""
    if baseline_known and observed is not None:
        return observed
    return iv_min((floor, INF), observed) or (floor, INF)


def _nadir_text(n: Iv | None, unit: str) -> str:
    if n is None:
        return ""
    return f" ({iv_text(n)} {unit})"


def relapse_from_cr(at: AssessmentData, c: Collector) -> Tri:
    """After a confirmed CR: M-protein back on immunofixation or electrophoresis, marrow ≥ 5%, a new lesion."""
    parts: list[Tri] = []
    ife = at.ife
    parts.append(
        c.add(
            "relapse_from_cr_ife",
            "M-protein reappeared on serum or urine immunofixation",
            None
            if ife is None
            else or_(
                None if ife.serum is None else ife.serum == "positive",
                None if ife.urine is None else ife.urine == "positive",
            ),
            ("immunofixation",),
            "immunofixation",
        )
    )
    parts.append(
        c.add(
            "relapse_from_cr_electrophoresis",
            "M-protein reappeared on serum or urine electrophoresis",
            or_(detected_by_electrophoresis(at.serum), detected_by_electrophoresis(at.urine)),
            ("m_protein", "urine_m_protein"),
        )
    )
    if at.marrow is not None:
        parts.append(
            c.add(
                "relapse_from_cr_marrow",
                f"marrow plasma cells ≥ {RELAPSE_FROM_CR_MARROW_MIN_PERCENT}%",
                at_least(marrow_iv(at.marrow) or UNKNOWN_NON_NEGATIVE, RELAPSE_FROM_CR_MARROW_MIN_PERCENT),
                ("marrow_plasma_cells_percent",),
            )
        )
    if any(e.finding in PD_FINDINGS for e in at.imaging):
        parts.append(c.add("relapse_from_cr_lesion", "new lesion", True, ("imaging_events",)))
    return or_(*parts)


@dataclass(frozen=True, slots=True)
class ProgressionEvent:
    date: dt.date
    line: int | None
    type: EventType
    confirmed: bool
    confirmed_by: dt.date | None
    criteria: tuple[Criterion, ...]
    notes: tuple[Note, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "date": self.date.isoformat(),
            "line": self.line,
            "type": self.type,
            "confirmed": self.confirmed,
            "confirmed_by": self.confirmed_by.isoformat() if self.confirmed_by else None,
            "criteria": [c.to_dict() for c in self.criteria],
            "notes": [n.to_dict() for n in self.notes],
        }


def event_kind(r: Classification) -> EventType | None:
    """The event an assessment shows: PD (by the dFLC alone: light-chain escape), relapse from CR, or none."""
    if r.category == "PD":
        return "light_chain_escape" if set(r.pd_fired) == {"pd_light_chain_escape"} else "progression"
    if r.relapse is True:
        return "relapse_from_cr"
    return None


def progression_events(assessments: Sequence[Assessment], line: Line) -> tuple[ProgressionEvent, ...]:
    """The line's events: a run of consecutive event assessments is one event, confirmed by the second."""
    events: list[ProgressionEvent] = []
    i = 0
    while i < len(assessments):
        kind = event_kind(assessments[i].result)
        if kind is None:
            i += 1
            continue
        j = i
        while j + 1 < len(assessments) and event_kind(assessments[j + 1].result) is not None:
            if kind != "relapse_from_cr" and assessments[j + 1].result.category != "PD":
                break
            j += 1
        first = assessments[i]
        fired = tuple(
            c
            for c in first.result.criteria
            if c.met is True and (c.code.startswith("pd_") or c.code.startswith("relapse"))
        )
        notes: tuple[Note, ...] = ()
        if j == i:
            notes = (
                Note(
                    "event_unconfirmed",
                    "unconfirmed",
                    "Seen on one assessment only; IMWG asks for two consecutive assessments before progression or "
                    "relapse is declared.",
                ),
            )
        events.append(
            ProgressionEvent(
                date=first.date,
                line=line.number,
                type=kind,
                confirmed=j > i,
                confirmed_by=assessments[i + 1].date if j > i else None,
                criteria=fired,
                notes=notes,
            )
        )
        i = j + 1
    return tuple(events)
