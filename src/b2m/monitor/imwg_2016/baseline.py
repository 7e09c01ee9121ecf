"""Therapy lines, the baseline of each line, and measurable disease (which marker is followed).

Kumar S, et al. International Myeloma Working Group consensus criteria for response and minimal
residual disease assessment in multiple myeloma. Lancet Oncol. 2016;17(8):e328-e346.
DOI 10.1016/S1470-2045(16)30206-6.

Each line of therapy owns the period from its start to the next line's start and is re-baselined at
its start: the baseline is, for each analyte, its latest result in the :data:`BASELINE_WINDOW_DAYS`
before the start (the start date included). Measurable disease: serum M-protein ≥ 1 g/dL, or urine
M-protein ≥ 200 mg/24 h; if neither, the involved free light chain ≥ 10 mg/dL with an abnormal κ/λ
ratio; if none of these, marrow plasma cells. When a baseline value needed for that choice is missing
the marker is undetermined (``None``) and every assessment of the line is not evaluable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from b2m.monitor.imwg_2016.constants import (
    BASELINE_WINDOW_DAYS,
    DISEASE_LABS,
    FLC_RATIO_NORMAL_MAX,
    FLC_RATIO_NORMAL_MIN,
    MEASURABLE_INVOLVED_FLC_MIN_MG_L,
    MEASURABLE_SERUM_M_PROTEIN_MIN_G_DL,
    MEASURABLE_URINE_M_PROTEIN_MIN_MG_24H,
    Chain,
    Marker,
)
from b2m.monitor.imwg_2016.values import (
    Iv,
    at_least,
    flc_difference,
    flc_ratio,
    iv_json,
    lab_point,
    marrow_point,
    ratio_normal,
    value_iv,
)
from b2m.monitor.series import Marrow, PatientSeries, TherapyLine
from b2m.rules.base import Criterion, Note
from b2m.rules.kleene import Tri, and_, not_
from b2m.units import LabValue


@dataclass(frozen=True, slots=True)
class Line:
    """The period a line of therapy owns: from its start to the next line's start (exclusive)."""

    number: int | None  # None: no therapy lines given (the series is one period)
    start: dt.date
    until: dt.date | None
    therapy: TherapyLine | None = None

    def owns(self, d: dt.date) -> bool:
        return d > self.start and (self.until is None or d < self.until)


def _disease_dates(ps: PatientSeries) -> list[dt.date]:
    dates = [x.date for k in DISEASE_LABS for x in ps.lab(k) if x.date]
    dates += [m.date for m in ps.marrow] + [i.date for i in ps.immunofixation]
    return sorted(set(dates))


def lines_of(ps: PatientSeries) -> tuple[tuple[Line, ...], tuple[Note, ...]]:
    """Therapy lines as periods; with none given, one period whose baseline is the first results."""
    if ps.therapy_lines:
        tl = ps.therapy_lines
        return (
            tuple(Line(t.line, t.start, tl[i + 1].start if i + 1 < len(tl) else None, t) for i, t in enumerate(tl)),
            (),
        )
    dates = _disease_dates(ps)
    if not dates:
        return (), ()
    first = dates[0]
    window_end = first + dt.timedelta(days=BASELINE_WINDOW_DAYS)
    # The pseudo-start is the last date of the first results of each analyte within the window.
    firsts = []
    for k in DISEASE_LABS:
        xs = [x.date for x in ps.lab(k) if x.date and x.date <= window_end]
        if xs:
            firsts.append(xs[0])
    ms = [m.date for m in ps.marrow if m.date <= window_end]
    if ms:
        firsts.append(ms[0])
    start = max(firsts) if firsts else first
    note = Note(
        "no_therapy_lines",
        "setting",
        f"No therapy lines were given: the first results (up to {start}) are taken as the baseline and the whole "
        "series as one line. IMWG response is defined from the start of a therapy; give therapy_lines for "
        "re-baselining at each new line.",
    )
    return (Line(None, start, None, None),), (note,)


@dataclass(frozen=True, slots=True)
class Baseline:
    window: tuple[dt.date, dt.date]
    serum: LabValue | None = None
    urine: LabValue | None = None
    kappa: LabValue | None = None
    lam: LabValue | None = None
    marrow: Marrow | None = None
    involved: Chain | None = None
    involved_source: Literal["input", "baseline_ratio"] | None = None

    @property
    def dflc(self) -> Iv | None:
        return flc_difference(self.kappa, self.lam, self.involved)


def _latest_in(labs: Iterable[LabValue], lo: dt.date, hi: dt.date) -> LabValue | None:
    found = [x for x in labs if x.date is not None and lo <= x.date <= hi]
    return found[-1] if found else None


def baseline_for(ps: PatientSeries, start: dt.date) -> Baseline:
    lo = start - dt.timedelta(days=BASELINE_WINDOW_DAYS)
    kappa = _latest_in(ps.lab("flc_kappa"), lo, start)
    lam = _latest_in(ps.lab("flc_lambda"), lo, start)
    marrow = [m for m in ps.marrow if lo <= m.date <= start]
    involved: Chain | None = ps.patient.involved_light_chain
    source: Literal["input", "baseline_ratio"] | None = "input" if involved else None
    if involved is None:
        r = flc_ratio(kappa, lam)
        if r is not None and r[0] > FLC_RATIO_NORMAL_MAX:
            involved, source = "kappa", "baseline_ratio"
        elif r is not None and r[1] < FLC_RATIO_NORMAL_MIN:
            involved, source = "lambda", "baseline_ratio"
    return Baseline(
        window=(lo, start),
        serum=_latest_in(ps.lab("m_protein"), lo, start),
        urine=_latest_in(ps.lab("urine_m_protein"), lo, start),
        kappa=kappa,
        lam=lam,
        marrow=marrow[-1] if marrow else None,
        involved=involved,
        involved_source=source,
    )


@dataclass(frozen=True, slots=True)
class MeasurableDisease:
    marker: Marker | None  # None: undetermined (a needed baseline value is missing)
    followed: tuple[str, ...]
    serum: Tri
    urine: Tri
    flc: Tri
    baseline: Baseline
    criteria: tuple[Criterion, ...]
    missing: tuple[str, ...]
    notes: tuple[Note, ...]

    def to_dict(self) -> dict[str, object]:
        b = self.baseline
        marker_value: dict[str, object] | None = None
        if self.marker == "serum_m_protein" and b.serum:
            marker_value = lab_point(b.serum)
        elif self.marker == "urine_m_protein" and b.urine:
            marker_value = lab_point(b.urine)
        elif self.marker == "flc" and b.dflc is not None:
            date = max(x.date for x in (b.kappa, b.lam) if x and x.date)
            marker_value = {"date": date.isoformat(), "value": iv_json(b.dflc), "unit": "mg/L", "measure": "dFLC"}
        elif self.marker == "marrow" and b.marrow:
            marker_value = marrow_point(b.marrow)
        values = {
            "serum_m_protein": lab_point(b.serum) if b.serum else None,
            "urine_m_protein": lab_point(b.urine) if b.urine else None,
            "flc_kappa": lab_point(b.kappa) if b.kappa else None,
            "flc_lambda": lab_point(b.lam) if b.lam else None,
            "marrow_plasma_cells_percent": marrow_point(b.marrow) if b.marrow else None,
        }
        return {
            "marker": self.marker,
            "followed": list(self.followed),
            "baseline": marker_value,
            "baseline_window": {"from": b.window[0].isoformat(), "to": b.window[1].isoformat()},
            "baseline_values": values,
            "involved_light_chain": b.involved,
            "involved_light_chain_source": b.involved_source,
            "criteria": [c.to_dict() for c in self.criteria],
            "missing": list(self.missing),
            "notes": [n.to_dict() for n in self.notes],
        }


def measurable_disease(b: Baseline) -> MeasurableDisease:
    """Which marker is followed (b2m reference RESP-2 'Measurable disease' [S])."""
    missing: list[str] = []
    notes: list[Note] = []
    s_iv, u_iv = value_iv(b.serum), value_iv(b.urine)
    serum = at_least(s_iv, MEASURABLE_SERUM_M_PROTEIN_MIN_G_DL) if s_iv else None
    urine = at_least(u_iv, MEASURABLE_URINE_M_PROTEIN_MIN_MG_24H) if u_iv else None
    ratio = flc_ratio(b.kappa, b.lam)
    normal = ratio_normal(ratio)
    involved_iv: Iv | None = None
    if b.involved is not None:
        inv = b.kappa if b.involved == "kappa" else b.lam
        involved_iv = value_iv(inv)
    flc: Tri
    if normal is True:
        flc = False
    elif involved_iv is None:
        flc = None
    else:
        flc = and_(not_(normal), at_least(involved_iv, MEASURABLE_INVOLVED_FLC_MIN_MG_L))
    criteria = (
        Criterion(
            "measurable_serum_m_protein",
            f"serum M-protein ≥ {MEASURABLE_SERUM_M_PROTEIN_MIN_G_DL} g/dL at baseline",
            serum,
            ("m_protein",),
        ),
        Criterion(
            "measurable_urine_m_protein",
            f"urine M-protein ≥ {MEASURABLE_URINE_M_PROTEIN_MIN_MG_24H} mg/24 h at baseline",
            urine,
            ("urine_m_protein",),
        ),
        Criterion(
            "measurable_flc",
            f"involved FLC ≥ {MEASURABLE_INVOLVED_FLC_MIN_MG_L / 10:g} mg/dL ({MEASURABLE_INVOLVED_FLC_MIN_MG_L} mg/L) "
            f"with an abnormal κ/λ ratio (< {FLC_RATIO_NORMAL_MIN} or > {FLC_RATIO_NORMAL_MAX}); used only when "
            "neither serum nor urine M-protein is measurable",
            flc,
            ("flc_kappa", "flc_lambda"),
        ),
    )
    if b.serum is None:
        missing.append("m_protein (baseline)")
    if b.urine is None:
        missing.append("urine_m_protein (baseline)")
    marker: Marker | None
    if serum is True:
        marker = "serum_m_protein"
        followed: tuple[str, ...] = ("serum_m_protein", "urine_m_protein") if urine is True else ("serum_m_protein",)
    elif urine is True:
        marker, followed = "urine_m_protein", ("urine_m_protein",)
    elif serum is None or urine is None:
        marker, followed = None, ()
    elif flc is True:
        marker, followed = "flc", ("flc",)
    elif flc is None:
        marker, followed = None, ()
        missing.append("flc_kappa and flc_lambda (baseline)")
    elif b.marrow is not None:
        marker, followed = "marrow", ("marrow",)
    else:
        marker, followed = "none", ()
    if marker is None:
        notes.append(
            Note(
                "measurable_disease_undetermined",
                "missing",
                "The followed marker cannot be chosen: a baseline result it depends on is missing "
                f"({', '.join(missing)}); every assessment of this line is not evaluable.",
            )
        )
    elif marker == "none":
        notes.append(
            Note(
                "no_measurable_disease",
                "missing",
                "No measurable disease at baseline (serum, urine, FLC) and no baseline marrow result: IMWG response "
                "cannot be assessed from these results; only new lesions can show progression.",
            )
        )
    if marker in ("serum_m_protein", "urine_m_protein") and (serum is None or urine is None):
        which = "serum" if serum is None else "urine"
        notes.append(
            Note(
                f"baseline_{which}_missing",
                "missing",
                f"No baseline {which} M-protein: whether it was measurable is unknown, so the {which} parts of "
                f"VGPR/PR/MR cannot be checked and, at assessments without a {which} result, PD by {which} cannot "
                "be excluded; those assessments stay open (not evaluable).",
            )
        )
    if b.involved_source == "baseline_ratio":
        notes.append(
            Note(
                "involved_chain_from_ratio",
                "caveat",
                f"The involved light chain ({b.involved}) was taken from the baseline κ/λ ratio; the input did not "
                "name it.",
            )
        )
    return MeasurableDisease(marker, followed, serum, urine, flc, b, criteria, tuple(missing), tuple(notes))
