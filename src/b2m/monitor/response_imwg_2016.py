r"""IMWG 2016 response and progression criteria for multiple myeloma, over a dated series.

Kumar S, et al. International Myeloma Working Group consensus criteria for response and minimal
residual disease assessment in multiple myeloma. Lancet Oncol. 2016;17(8):e328-e346.
DOI 10.1016/S1470-2045(16)30206-6. Criteria as on the reference sheet §6 (table [S], confirmation
[S], measurable disease [S], relapse from CR [S]) and the edge-case rows §12 #37-#41.

What is computed, per line of therapy (each line is re-baselined at its start):

**Baseline and measurable disease.** The baseline of a line is, for each analyte, its latest result
in the :data:`BASELINE_WINDOW_DAYS` before the line starts (the start date included). Measurable
disease (sheet §6): serum M-protein ≥ 1 g/dL, or urine M-protein ≥ 200 mg/24 h; if neither, the
involved free light chain (FLC) ≥ 10 mg/dL with an abnormal κ/λ ratio; if none of these, marrow
plasma cells. The marker that is followed decides which response rules apply. When a baseline value
needed for that decision is missing the marker is undetermined and every assessment of the line is
``not_evaluable`` (unknown is never normal).

**Assessments.** Results of the followed marker(s) within :data:`ASSESSMENT_WINDOW_DAYS` of each other
form one assessment; every other result (immunofixation, FLC, urine, marrow, imaging) is attached to
the nearest assessment within that window. Each assessment gets a category from its own results, its
line's baseline and the nadir of each marker (the lowest value from the baseline up to, not
including, the assessment):

=========  ====================================================================================
sCR        CR + normal FLC ratio + no clonal plasma cells in the marrow (IHC/IF)
CR         negative serum and urine immunofixation, marrow plasma cells < 5%
           (+ normal FLC ratio when only FLC was measurable)
VGPR       serum and urine M-protein not detectable by electrophoresis, or serum reduced by
           ≥ 90% and urine < 100 mg/24 h
PR         serum reduced by ≥ 50% and urine reduced by ≥ 90% or to < 200 mg/24 h; FLC-only:
           involved-uninvolved difference (dFLC) reduced by ≥ 50%; marrow-only: plasma cells
           reduced by ≥ 50% from a baseline ≥ 30%
MR         serum reduced by ≥ 25% (and < 50%) and urine reduced by ≥ 50% (and < 90%)
SD         none of the above and not PD
PD         ≥ 25% above the nadir with an absolute rise of ≥ 0.5 g/dL (serum), ≥ 1 g/dL when the
           serum nadir was ≥ 5 g/dL, ≥ 200 mg/24 h (urine), > 10 mg/dL (dFLC, only when serum and
           urine were not measurable), ≥ 10 percentage points (marrow, only when nothing else was
           measurable); a new lesion or ≥ 50% growth of one
=========  ====================================================================================

With :math:`v` the value now, :math:`b` the baseline and :math:`n` the nadir, a reduction of
:math:`p\%` means :math:`b - v \ge (p/100)\,b` and a PD rise means
:math:`v - n \ge 0.25\,n \wedge v - n \ge a` (``>`` for dFLC), evaluated in exact decimal arithmetic
on the canonical values (sheet §12: no rounding before comparison). Censored results (``"<0.1"``)
enter as intervals: a criterion is ``True``/``False`` only when every value in the interval agrees.

**Unknown is never normal.** A criterion whose input is missing is ``None``; the assessment then lists
every category still ``possible``. ``category`` is set only when one remains, otherwise it is
``not_evaluable``; ``at_least`` gives the least favourable category certainly reached when PD is
excluded.

**Confirmation.** Two consecutive assessments of the same line (before the next line starts): a
response is confirmed when an adjacent assessment is at least as good, PD when an adjacent assessment
is also PD (sheet §6 [S], §12 #41). Best response is the best level reached by two consecutive
assessments; a line whose categories were never confirmed has best response ``not_evaluable`` (peer
survey §4: PD on a first, lab-only record with no later assessment is not evaluable).

**Relapse from CR** (sheet §6 [S]): after a confirmed CR, reappearance of M-protein by immunofixation
or electrophoresis, marrow plasma cells ≥ 5%, or a new lesion.

**Light-chain escape** (b2m extension; not in §6): in disease followed by serum or urine M-protein, a
rise of the dFLC meeting the FLC progression rule is counted as PD (see :data:`NOTES`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from b2m.monitor.series import ImagingEvent, Immunofixation, Marrow, PatientSeries, TherapyLine
from b2m.provenance import RuleRef, Source
from b2m.rules.base import Criterion, Note
from b2m.rules.kleene import Tri, and_, not_, or_
from b2m.units import Censored, LabValue

KUMAR_2016 = Source(
    "Kumar S, et al. International Myeloma Working Group consensus criteria for response and minimal "
    "residual disease assessment in multiple myeloma. Lancet Oncol. 2016;17(8):e328-e346.",
    "10.1016/S1470-2045(16)30206-6",
)
RULE = RuleRef(
    id="imwg_response",
    version="2016",
    title="IMWG 2016 response and progression criteria",
    source=KUMAR_2016,
)

Category = Literal["sCR", "CR", "VGPR", "PR", "MR", "SD", "PD"]
CATEGORIES: tuple[Category, ...] = ("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD")  # best first
RESPONSES: tuple[Category, ...] = ("sCR", "CR", "VGPR", "PR", "MR", "SD")
RANK: Mapping[str, int] = {c: len(CATEGORIES) - 1 - i for i, c in enumerate(CATEGORIES)}  # PD 0 ... sCR 6
NOT_EVALUABLE = "not_evaluable"
Marker = Literal["serum_m_protein", "urine_m_protein", "flc", "marrow", "none"]
Chain = Literal["kappa", "lambda"]
EventType = Literal["progression", "light_chain_escape", "relapse_from_cr"]

# ---------------------------------------------------------------------------------------------
# Thresholds: Kumar 2016 as on the reference sheet §6 / §12; each boundary's side is written out.
# Canonical units: serum M-protein g/dL, urine M-protein mg/24 h, FLC mg/L, marrow %.
# ---------------------------------------------------------------------------------------------

# Measurable disease (sheet §6, [S] CIBMTR manual).
MEASURABLE_SERUM_M_PROTEIN_MIN_G_DL = Decimal("1")  # ≥ 1 g/dL (inclusive)
MEASURABLE_URINE_M_PROTEIN_MIN_MG_24H = Decimal("200")  # ≥ 200 mg/24 h (inclusive)
MEASURABLE_INVOLVED_FLC_MIN_MG_L = Decimal("100")  # ≥ 10 mg/dL = 100 mg/L (inclusive), with abnormal ratio
# Normal serum κ/λ ratio 0.26-1.65, both ends normal (sheet §5.3 / §12 #29: abnormal is < 0.26 or > 1.65).
FLC_RATIO_NORMAL_MIN = Decimal("0.26")
FLC_RATIO_NORMAL_MAX = Decimal("1.65")

# CR / sCR (sheet §6).
CR_MARROW_PLASMA_CELLS_BELOW_PERCENT = Decimal("5")  # < 5% (exclusive: 5% is not CR)
# VGPR.
VGPR_SERUM_REDUCTION_MIN_PERCENT = Decimal("90")  # ≥ 90% (inclusive, sheet §12 #40)
VGPR_URINE_BELOW_MG_24H = Decimal("100")  # < 100 mg/24 h (exclusive)
# PR.
PR_SERUM_REDUCTION_MIN_PERCENT = Decimal("50")  # ≥ 50% (inclusive, sheet §12 #40)
PR_URINE_REDUCTION_MIN_PERCENT = Decimal("90")  # ≥ 90% (inclusive) ...
PR_URINE_BELOW_MG_24H = Decimal("200")  # ... or < 200 mg/24 h (exclusive)
PR_FLC_DIFFERENCE_REDUCTION_MIN_PERCENT = Decimal("50")  # ≥ 50% (inclusive), FLC-only disease
PR_MARROW_REDUCTION_MIN_PERCENT = Decimal("50")  # ≥ 50% (inclusive), marrow-only disease ...
PR_MARROW_BASELINE_MIN_PERCENT = Decimal("30")  # ... provided the baseline was ≥ 30% (inclusive)
# MR: 25% ≤ serum reduction < 50% (the upper bound is PR's lower bound; printed "≤ 49%" or "< 49%"
# [D], sheet §12 #39) and 50% ≤ urine reduction < 90%.
MR_SERUM_REDUCTION_MIN_PERCENT = Decimal("25")  # ≥ 25% (inclusive)
MR_URINE_REDUCTION_MIN_PERCENT = Decimal("50")  # ≥ 50% (inclusive)
# PD: ≥ 25% above the nadir (inclusive) plus an absolute rise.
PD_RISE_FROM_NADIR_MIN_PERCENT = Decimal("25")
PD_SERUM_RISE_MIN_G_DL = Decimal("0.5")  # ≥ 0.5 g/dL (inclusive; "> 0.5" in a 2023 review [D], §12 #37)
PD_SERUM_HIGH_NADIR_MIN_G_DL = Decimal("5")  # nadir ≥ 5 g/dL (inclusive) ...
PD_SERUM_HIGH_NADIR_RISE_MIN_G_DL = Decimal("1")  # ... then a rise ≥ 1 g/dL (inclusive)
PD_URINE_RISE_MIN_MG_24H = Decimal("200")  # ≥ 200 mg/24 h (inclusive)
PD_FLC_DIFFERENCE_RISE_ABOVE_MG_L = Decimal("100")  # > 10 mg/dL = 100 mg/L (exclusive; "> 10 mg/L" [D], §12 #38)
PD_MARROW_RISE_MIN_PERCENT = Decimal("10")  # ≥ 10 percentage points (inclusive)
# Relapse from CR: marrow plasma cells ≥ 5% (inclusive), instead of PD's 10-point rise (sheet §6 [S]).
RELAPSE_FROM_CR_MARROW_MIN_PERCENT = Decimal("5")

# b2m choices (the sheet gives no windows); stated in notes on every line.
BASELINE_WINDOW_DAYS = 30  # baseline = latest result in the 30 days up to and including the line start
ASSESSMENT_WINDOW_DAYS = 3  # results within 3 days form one assessment (MM_response_module, peer survey §4)

PD_FINDINGS = ("new_bone_lesion", "new_soft_tissue_plasmacytoma", "lesion_growth_50_percent")

# ---------------------------------------------------------------------------------------------
# Notes: every [D]/[U] choice, attached to every assessment
# ---------------------------------------------------------------------------------------------

NOTES: tuple[Note, ...] = (
    Note(
        "imwg2016_pd_serum_absolute_rise",
        "discrepancy",
        f"Serum PD needs an absolute rise ≥ {PD_SERUM_RISE_MIN_G_DL} g/dL from the nadir, as in Kumar 2016 and the "
        f"IMWG 2006/2011 tables (sheet §12 #37); a 2023 review writes '> {PD_SERUM_RISE_MIN_G_DL} g/dL', under which "
        f"a rise of exactly {PD_SERUM_RISE_MIN_G_DL} g/dL would not be PD.",
    ),
    Note(
        "imwg2016_pd_flc_unit",
        "discrepancy",
        f"FLC PD needs the involved-uninvolved difference to rise by more than 10 mg/dL "
        f"({PD_FLC_DIFFERENCE_RISE_ABOVE_MG_L} mg/L; exactly 10 mg/dL does not qualify, sheet §12 #38). Kyle & "
        "Rajkumar 2008 print '> 10 mg/L', most likely a unit typo; b2m uses mg/dL.",
    ),
    Note(
        "imwg2016_mr_upper_bound",
        "discrepancy",
        f"MR is a serum reduction of ≥ {MR_SERUM_REDUCTION_MIN_PERCENT}% and < {PR_SERUM_REDUCTION_MIN_PERCENT}% "
        "(PR starts at 50%); the upper bound is printed '≤ 49%' (Kumar 2016) or '< 49%' (older tables), which "
        "leave 49-50% unassigned (sheet §12 #39).",
    ),
    Note(
        "imwg2016_confirmation",
        "unconfirmed",
        "Every category needs two consecutive assessments before new therapy (sheet §6 [S], §12 #41). b2m "
        "confirms a response when an adjacent assessment of the same line is at least as good, and PD when an "
        "adjacent assessment is also PD; a not-evaluable assessment in between breaks the pair.",
    ),
    Note(
        "imwg2016_lesion_wording",
        "unconfirmed",
        "The exact Kumar 2016 wording for new lesions, lesion growth and circulating plasma cells is unconfirmed "
        "(sheet §6 [U]). b2m counts imaging events 'new_bone_lesion', 'new_soft_tissue_plasmacytoma' and "
        "'lesion_growth_50_percent' as PD; circulating plasma cells and soft-tissue plasmacytoma size are not "
        "evaluated (no input for them), so CR/PR do not check plasmacytoma regression.",
    ),
    Note(
        "imwg2016_cr_flc_only",
        "unconfirmed",
        "CR in disease measurable only by FLC also needs a normal FLC ratio (CIBMTR manual [S]; the exact Kumar "
        "2016 footnote is unconfirmed). b2m requires it.",
    ),
    Note(
        "imwg2016_nadir",
        "unconfirmed",
        "PD is measured from the 'lowest confirmed response value'. b2m uses the lowest value observed from the "
        "line's baseline on (baseline included), which detects PD no later than the alternative reading (lowest "
        "value of a confirmed response).",
    ),
    Note(
        "imwg2016_high_nadir",
        "unconfirmed",
        f"When the serum nadir was ≥ {PD_SERUM_HIGH_NADIR_MIN_G_DL} g/dL, b2m reads a rise of "
        f"≥ {PD_SERUM_HIGH_NADIR_RISE_MIN_G_DL} g/dL as PD on its own (without the 25%), the usual reading of the "
        "nested Kumar 2016 wording; read literally, the 25% would still apply and this rule would add nothing.",
    ),
    Note(
        "imwg2016_light_chain_escape",
        "unconfirmed",
        "Light-chain escape is not in sheet §6, whose FLC rule applies only when serum and urine M-protein were "
        "not measurable. b2m counts a dFLC rise meeting that rule in serum/urine-followed disease as PD "
        "(type 'light_chain_escape'); the alternative is to report it as a flag only.",
    ),
    Note(
        "imwg2016_urine_parts",
        "unconfirmed",
        "The urine parts of VGPR/PR/MR (and the serum parts, for urine-only disease) are applied in full when "
        "that marker was measurable at baseline or its baseline is unknown. When it was measured and not "
        "measurable, VGPR's '< 100 mg/24 h' and PR's '< 200 mg/24 h' are applied when a result exists, and the "
        "percentage reductions are not applied (no measurable baseline to reduce from).",
    ),
)

SETTING_NOTES: tuple[Note, ...] = (
    Note(
        "imwg2016_windows",
        "setting",
        f"b2m choices (no window on the reference sheet): the baseline of a line is the latest result in the "
        f"{BASELINE_WINDOW_DAYS} days up to and including its start; results within {ASSESSMENT_WINDOW_DAYS} days "
        "of each other form one assessment.",
    ),
    Note(
        "imwg2016_not_evaluated",
        "caveat",
        "Not evaluated: MRD categories, circulating plasma cells, soft-tissue plasmacytoma size, and hypercalcaemia "
        "(a PD criterion of the 2006 version only).",
    ),
)

# ---------------------------------------------------------------------------------------------
# Exact interval arithmetic on canonical values
# ---------------------------------------------------------------------------------------------

INF = Decimal("Infinity")
ZERO = Decimal(0)
Iv = tuple[Decimal, Decimal]  # closed [lo, hi]; hi may be +Infinity
UNKNOWN_NON_NEGATIVE: Iv = (ZERO, INF)


def dec(x: float) -> Decimal:
    """The decimal a float prints as (canonical values are already free of binary noise)."""
    return Decimal(repr(float(x)))


def iv_of(x: float | Censored | None) -> Iv | None:
    if x is None:
        return None
    if isinstance(x, Censored):
        lo, hi = x.bounds()
        return (dec(lo), INF if math.isinf(hi) else dec(hi))
    d = dec(x)
    return (d, d)


def iv_min(a: Iv | None, b: Iv | None) -> Iv | None:
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), min(a[1], b[1]))


def iv_sub(a: Iv, b: Iv) -> Iv:
    return (a[0] - b[1], a[1] - b[0])


def reduced_by(v: Iv, b: Iv, percent: Decimal) -> Tri:
    """``b - v >= percent/100 * b`` (falls with ``v``, grows with ``b``)."""
    k = 1 - percent / 100
    if v[1] <= k * b[0]:
        return True
    if v[0] > k * b[1]:
        return False
    return None


def risen_by(
    v: Iv, n: Iv, *, absolute: Decimal, strict: bool, percent: Decimal = PD_RISE_FROM_NADIR_MIN_PERCENT
) -> Tri:
    """``v - n >= percent/100 * max(n, 0)`` and ``v - n >= absolute`` (``>`` when ``strict``)."""

    def holds(vv: Decimal, nn: Decimal) -> bool:
        rise = vv - nn
        relative = percent == 0 or rise >= percent / 100 * max(nn, ZERO)  # (0 x Infinity is undefined)
        return relative and (rise > absolute if strict else rise >= absolute)

    if holds(v[0], n[1]):  # the least favourable corner for the rise
        return True
    if not holds(v[1], n[0]):
        return False
    return None


def below(v: Iv, t: Decimal) -> Tri:
    if v[1] < t:
        return True
    if v[0] >= t:
        return False
    return None


def at_least(v: Iv, t: Decimal) -> Tri:
    return not_(below(v, t))


def detected_by_electrophoresis(lab: LabValue | None) -> Tri:
    """A quantified M-spike > 0 is detected; 0 or a result reported below a limit (``"<0.1"``) is not."""
    if lab is None:
        return None
    if isinstance(lab.value, Censored):
        return lab.value.direction in (">", ">=")
    return lab.value > 0


def flc_ratio(kappa: LabValue | None, lam: LabValue | None) -> Iv | None:
    """Serum κ/λ ratio as an interval (``None`` when either chain is missing)."""
    k, lm = iv_of(kappa.value if kappa else None), iv_of(lam.value if lam else None)
    if k is None or lm is None:
        return None
    hi = INF if lm[0] == 0 or k[1] == INF else k[1] / lm[0]
    lo = ZERO if lm[1] == INF else k[0] / lm[1]
    return (lo, hi)


def ratio_normal(ratio: Iv | None) -> Tri:
    if ratio is None:
        return None
    if ratio[0] >= FLC_RATIO_NORMAL_MIN and ratio[1] <= FLC_RATIO_NORMAL_MAX:
        return True
    if ratio[1] < FLC_RATIO_NORMAL_MIN or ratio[0] > FLC_RATIO_NORMAL_MAX:
        return False
    return None


def flc_difference(kappa: LabValue | None, lam: LabValue | None, involved: Chain | None) -> Iv | None:
    """Involved minus uninvolved FLC (mg/L)."""
    k, lm = iv_of(kappa.value if kappa else None), iv_of(lam.value if lam else None)
    if k is None or lm is None or involved is None:
        return None
    return iv_sub(k, lm) if involved == "kappa" else iv_sub(lm, k)


# ---------------------------------------------------------------------------------------------
# Lines, baselines and measurable disease
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Line:
    """The period a line of therapy owns: from its start to the next line's start (exclusive)."""

    number: int | None  # None: no therapy lines given (the series is one period)
    start: dt.date
    until: dt.date | None
    therapy: TherapyLine | None = None

    def owns(self, d: dt.date) -> bool:
        return d > self.start and (self.until is None or d < self.until)


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
            marker_value = _lab_point(b.serum)
        elif self.marker == "urine_m_protein" and b.urine:
            marker_value = _lab_point(b.urine)
        elif self.marker == "flc" and b.dflc is not None:
            date = max(x.date for x in (b.kappa, b.lam) if x and x.date)
            marker_value = {"date": date.isoformat(), "value": _iv_json(b.dflc), "unit": "mg/L", "measure": "dFLC"}
        elif self.marker == "marrow" and b.marrow:
            marker_value = {"date": b.marrow.date.isoformat(), "value": _num_json(b.marrow.percent), "unit": "%"}
        values = {
            "serum_m_protein": _lab_point(b.serum) if b.serum else None,
            "urine_m_protein": _lab_point(b.urine) if b.urine else None,
            "flc_kappa": _lab_point(b.kappa) if b.kappa else None,
            "flc_lambda": _lab_point(b.lam) if b.lam else None,
            "marrow_plasma_cells_percent": (
                {"date": b.marrow.date.isoformat(), "value": _num_json(b.marrow.percent), "unit": "%"}
                if b.marrow
                else None
            ),
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


def measurable_disease(b: Baseline) -> MeasurableDisease:
    """Which marker is followed (sheet §6 'Measurable disease' [S])."""
    missing: list[str] = []
    notes: list[Note] = []
    s_iv, u_iv = iv_of(b.serum.value if b.serum else None), iv_of(b.urine.value if b.urine else None)
    serum = at_least(s_iv, MEASURABLE_SERUM_M_PROTEIN_MIN_G_DL) if s_iv else None
    urine = at_least(u_iv, MEASURABLE_URINE_M_PROTEIN_MIN_MG_24H) if u_iv else None
    ratio = flc_ratio(b.kappa, b.lam)
    normal = ratio_normal(ratio)
    involved_iv: Iv | None = None
    if b.involved is not None:
        inv = b.kappa if b.involved == "kappa" else b.lam
        involved_iv = iv_of(inv.value if inv else None)
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


# ---------------------------------------------------------------------------------------------
# One assessment
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AssessmentData:
    """The results of one assessment (followed markers and everything attached to it)."""

    date: dt.date
    first_date: dt.date
    serum: LabValue | None = None
    urine: LabValue | None = None
    kappa: LabValue | None = None
    lam: LabValue | None = None
    ife: Immunofixation | None = None
    marrow: Marrow | None = None  # a marrow result attached to this assessment
    marrow_for_cr: Marrow | None = None  # latest marrow since the line start (a repeat is not needed for CR)
    imaging: tuple[ImagingEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class Nadirs:
    """Lowest values from the baseline up to (not including) the assessment; ``None`` = no value yet."""

    serum: Iv | None = None
    urine: Iv | None = None
    dflc: Iv | None = None
    marrow: Iv | None = None


@dataclass(frozen=True, slots=True)
class Classification:
    possible: tuple[str, ...]  # categories still consistent with the results
    criteria: tuple[Criterion, ...]
    measurements: tuple[Mapping[str, object], ...]
    missing: tuple[str, ...]
    notes: tuple[Note, ...]
    pd_fired: tuple[str, ...]
    relapse: Tri  # relapse-from-CR criteria (None when not in CR or undecided)

    @property
    def category(self) -> str:
        return self.possible[0] if len(self.possible) == 1 else NOT_EVALUABLE

    @property
    def at_least(self) -> str | None:
        """The least favourable category certainly reached, when PD is excluded."""
        if "PD" in self.possible:
            return None
        return min(self.possible, key=lambda c: RANK[c])

    @property
    def level(self) -> str | None:
        """What confirmation compares: the category, or the certain floor when not evaluable."""
        return self.category if self.category != NOT_EVALUABLE else self.at_least


class _Collector:
    def __init__(self) -> None:
        self.criteria: list[Criterion] = []
        self.missing: list[str] = []

    def add(self, code: str, description: str, met: Tri, inputs: tuple[str, ...], missing: str | None = None) -> Tri:
        self.criteria.append(Criterion(code, description, met, inputs))
        if met is None and missing and missing not in self.missing:
            self.missing.append(missing)
        return met


def _value_iv(lab: LabValue | None) -> Iv | None:
    return iv_of(lab.value if lab else None)


def classify(
    *,
    md: MeasurableDisease,
    at: AssessmentData,
    nadir: Nadirs,
    in_cr: bool,
) -> Classification:
    """The IMWG 2016 category of one assessment (pure: no dates beyond those given)."""
    c = _Collector()
    b = md.baseline
    pd = _progression(md, at, nadir, c)
    ladder = _response_ladder(md, at, c)
    relapse = _relapse_from_cr(at, c) if in_cr else None
    possible: list[str]
    if pd.met is True:
        possible = ["PD"]
    else:
        possible = []
        for i, cat in enumerate(RESPONSES):
            better_certain = any(ladder[x] is True for x in RESPONSES[:i])
            if ladder[cat] is not False and not better_certain:
                possible.append(cat)
        if pd.met is None:
            possible.append("PD")
    notes: list[Note] = []
    if md.marker is None:
        possible = list(CATEGORIES) if pd.met is not True else ["PD"]
    if relapse is None and in_cr:
        notes.append(
            Note(
                "relapse_from_cr_undecided",
                "missing",
                "Relapse from CR can be neither shown nor excluded: results missing.",
            )
        )
    if (
        md.marker == "flc"
        and at.serum is not None
        and at_least(_value_iv(at.serum) or UNKNOWN_NON_NEGATIVE, PD_SERUM_RISE_MIN_G_DL) is True
    ):
        notes.append(
            Note(
                "heavy_chain_m_protein_in_flc_disease",
                "caveat",
                f"A serum M-protein of ≥ {PD_SERUM_RISE_MIN_G_DL} g/dL is present in disease followed by FLC "
                "(light-chain only at baseline): a switch to intact-immunoglobulin disease; the serum PD rule "
                "applies to it.",
            )
        )
    measurements = _measurements(md, at, nadir, b)
    return Classification(
        possible=tuple(possible),
        criteria=tuple(c.criteria),
        measurements=measurements,
        missing=(*md.missing, *c.missing) if md.marker is None else tuple(c.missing) if len(possible) > 1 else (),
        notes=tuple(notes),
        pd_fired=pd.fired,
        relapse=relapse,
    )


@dataclass(frozen=True, slots=True)
class _PD:
    met: Tri
    fired: tuple[str, ...]


def _progression(md: MeasurableDisease, at: AssessmentData, nadir: Nadirs, c: _Collector) -> _PD:
    rules: list[tuple[str, Tri]] = []
    marker = md.marker
    serum_open = md.serum is not False  # followed, or its measurability unknown
    urine_open = md.urine is not False
    # Serum M-protein: for every patient with a serum result (a light-chain-only patient whose intact
    # M-protein appears progresses by this rule: peer survey §4, switching of disease type).
    s = _value_iv(at.serum)
    if s is not None or serum_open:
        n = _nadir(nadir.serum, md.baseline.serum is not None)
        met_low: Tri = None
        met_high: Tri = None
        if s is not None:
            met_low = risen_by(s, n, absolute=PD_SERUM_RISE_MIN_G_DL, strict=False)
            high_nadir = at_least(n, PD_SERUM_HIGH_NADIR_MIN_G_DL)
            met_high = and_(
                high_nadir, risen_by(s, n, absolute=PD_SERUM_HIGH_NADIR_RISE_MIN_G_DL, strict=False, percent=ZERO)
            )
        rules.append(
            (
                "pd_serum_m_protein",
                c.add(
                    "pd_serum_m_protein",
                    f"serum M-protein ≥ {PD_RISE_FROM_NADIR_MIN_PERCENT}% above its nadir"
                    f"{_nadir_text(nadir.serum, 'g/dL')} with an absolute rise ≥ {PD_SERUM_RISE_MIN_G_DL} g/dL",
                    met_low,
                    ("m_protein",),
                    "m_protein",
                ),
            )
        )
        rules.append(
            (
                "pd_serum_m_protein_high_nadir",
                c.add(
                    "pd_serum_m_protein_high_nadir",
                    f"serum nadir ≥ {PD_SERUM_HIGH_NADIR_MIN_G_DL} g/dL and a rise "
                    f"≥ {PD_SERUM_HIGH_NADIR_RISE_MIN_G_DL} g/dL",
                    met_high,
                    ("m_protein",),
                    "m_protein",
                ),
            )
        )
    u = _value_iv(at.urine)
    if u is not None or urine_open:
        n = _nadir(nadir.urine, md.baseline.urine is not None)
        met = risen_by(u, n, absolute=PD_URINE_RISE_MIN_MG_24H, strict=False) if u is not None else None
        rules.append(
            (
                "pd_urine_m_protein",
                c.add(
                    "pd_urine_m_protein",
                    f"urine M-protein ≥ {PD_RISE_FROM_NADIR_MIN_PERCENT}% above its nadir"
                    f"{_nadir_text(nadir.urine, 'mg/24 h')} with an absolute rise ≥ {PD_URINE_RISE_MIN_MG_24H} mg/24 h",
                    met,
                    ("urine_m_protein",),
                    "urine_m_protein",
                ),
            )
        )
    d = flc_difference(at.kappa, at.lam, md.baseline.involved)
    flc_text = (
        f"involved-uninvolved FLC difference ≥ {PD_RISE_FROM_NADIR_MIN_PERCENT}% above its nadir"
        f"{_nadir_text(nadir.dflc, 'mg/L')} with an absolute rise > {PD_FLC_DIFFERENCE_RISE_ABOVE_MG_L / 10:g} mg/dL "
        f"({PD_FLC_DIFFERENCE_RISE_ABOVE_MG_L} mg/L)"
    )
    n_d = _nadir(nadir.dflc, md.baseline.dflc is not None, floor=-INF)
    if md.serum is False and md.urine is False:
        if d is not None or marker == "flc":
            met = risen_by(d, n_d, absolute=PD_FLC_DIFFERENCE_RISE_ABOVE_MG_L, strict=True) if d is not None else None
            rules.append(
                ("pd_flc_difference", c.add("pd_flc_difference", flc_text, met, ("flc_kappa", "flc_lambda"), "flc"))
            )
    elif marker in ("serum_m_protein", "urine_m_protein") and d is not None:
        met = risen_by(d, n_d, absolute=PD_FLC_DIFFERENCE_RISE_ABOVE_MG_L, strict=True)
        rules.append(
            (
                "pd_light_chain_escape",
                c.add(
                    "pd_light_chain_escape",
                    f"light-chain escape (b2m extension, see note): {flc_text}",
                    met,
                    ("flc_kappa", "flc_lambda"),
                ),
            )
        )
    if marker in ("marrow", "none"):
        m = iv_of(at.marrow.percent) if at.marrow else None
        if m is not None or marker == "marrow":
            n = _nadir(nadir.marrow, md.baseline.marrow is not None)
            met = risen_by(m, n, absolute=PD_MARROW_RISE_MIN_PERCENT, strict=False) if m is not None else None
            rules.append(
                (
                    "pd_marrow",
                    c.add(
                        "pd_marrow",
                        f"marrow plasma cells ≥ {PD_RISE_FROM_NADIR_MIN_PERCENT}% above their nadir"
                        f"{_nadir_text(nadir.marrow, '%')} with an absolute rise ≥ {PD_MARROW_RISE_MIN_PERCENT} "
                        "percentage points (only when serum, urine and FLC were not measurable)",
                        met,
                        ("marrow_plasma_cells_percent",),
                        "marrow_plasma_cells_percent",
                    ),
                )
            )
    lesions = [e for e in at.imaging if e.finding in PD_FINDINGS]
    if lesions:
        rules.append(
            (
                "pd_new_lesion",
                c.add(
                    "pd_new_lesion",
                    "new lesion or ≥ 50% growth of an existing lesion: " + ", ".join(e.finding for e in lesions),
                    True,
                    ("imaging_events",),
                ),
            )
        )
    met_all = or_(*(m for _, m in rules)) if rules else None
    if md.marker is None and met_all is False:
        met_all = None  # the followed marker is unknown: PD by it cannot be excluded
    return _PD(met_all, tuple(code for code, m in rules if m is True))


def _nadir(observed: Iv | None, baseline_known: bool, floor: Decimal = ZERO) -> Iv:
    """The nadir as an interval: without a baseline value the true nadir lies anywhere from ``floor`` (a
    value never seen) up to the lowest value observed."""
    if baseline_known and observed is not None:
        return observed
    return iv_min((floor, INF), observed) or (floor, INF)


def _nadir_text(n: Iv | None, unit: str) -> str:
    if n is None:
        return ""
    return f" ({_iv_text(n)} {unit})"


def _response_ladder(md: MeasurableDisease, at: AssessmentData, c: _Collector) -> dict[str, Tri]:
    """Whether each response category's own criteria hold (``ladder[x]``; lower ones are implied)."""
    marker = md.marker
    b = md.baseline
    ife = at.ife
    # Immunofixation is more sensitive than electrophoresis: an M-spike detected by electrophoresis means
    # immunofixation cannot be negative, whether or not an immunofixation result was given.
    ife_serum_neg: Tri = None if ife is None or ife.serum is None else ife.serum == "negative"
    ife_urine_neg: Tri = None if ife is None or ife.urine is None else ife.urine == "negative"
    if detected_by_electrophoresis(at.serum) is True:
        ife_serum_neg = False
    if detected_by_electrophoresis(at.urine) is True:
        ife_urine_neg = False
    marrow_cr = iv_of(at.marrow_for_cr.percent) if at.marrow_for_cr else None
    ratio_ok = ratio_normal(flc_ratio(at.kappa, at.lam))
    # CR and sCR
    cr_parts = [
        c.add(
            "cr_serum_ife_negative",
            "serum immunofixation negative (not possible while electrophoresis detects an M-spike)",
            ife_serum_neg,
            ("immunofixation",),
            "immunofixation.serum",
        ),
        c.add(
            "cr_urine_ife_negative",
            "urine immunofixation negative (not possible while electrophoresis detects an M-spike)",
            ife_urine_neg,
            ("immunofixation",),
            "immunofixation.urine",
        ),
        c.add(
            "cr_marrow_below_5",
            f"marrow plasma cells < {CR_MARROW_PLASMA_CELLS_BELOW_PERCENT}% (latest marrow since the line started)",
            below(marrow_cr, CR_MARROW_PLASMA_CELLS_BELOW_PERCENT) if marrow_cr else None,
            ("marrow_plasma_cells_percent",),
            "marrow_plasma_cells_percent (since line start)",
        ),
    ]
    if marker == "flc":
        cr_parts.append(
            c.add(
                "cr_flc_ratio_normal",
                f"normal κ/λ ratio ({FLC_RATIO_NORMAL_MIN}-{FLC_RATIO_NORMAL_MAX}), disease measurable only by FLC",
                ratio_ok,
                ("flc_kappa", "flc_lambda"),
                "flc",
            )
        )
    cr = and_(*cr_parts)
    clonal = at.marrow_for_cr.clonal if at.marrow_for_cr else None
    scr = and_(
        cr,
        c.add(
            "scr_flc_ratio_normal",
            f"normal κ/λ ratio ({FLC_RATIO_NORMAL_MIN}-{FLC_RATIO_NORMAL_MAX})",
            ratio_ok,
            ("flc_kappa", "flc_lambda"),
            "flc",
        ),
        c.add(
            "scr_no_clonal_marrow_cells",
            "no clonal plasma cells in the marrow by immunohistochemistry/immunofluorescence",
            None if clonal is None else not clonal,
            ("marrow_plasma_cells_percent",),
            "marrow clonality",
        ),
    )
    ladder: dict[str, Tri] = {"sCR": scr, "CR": cr, "SD": True}
    if marker in ("serum_m_protein", "urine_m_protein") or marker is None:
        ladder.update(_m_protein_ladder(md, at, b, c))
    elif marker == "flc":
        d_now = flc_difference(at.kappa, at.lam, b.involved)
        d_base = b.dflc
        pr = (
            reduced_by(d_now, d_base, PR_FLC_DIFFERENCE_REDUCTION_MIN_PERCENT)
            if d_now is not None and d_base is not None and d_base[0] > 0
            else None
        )
        ladder["PR"] = c.add(
            "pr_flc_difference",
            f"involved-uninvolved FLC difference reduced by ≥ {PR_FLC_DIFFERENCE_REDUCTION_MIN_PERCENT}% from baseline",
            pr,
            ("flc_kappa", "flc_lambda"),
            "flc",
        )
        ladder["VGPR"] = False  # not defined for FLC-only disease on the sheet
        ladder["MR"] = False
    elif marker == "marrow":
        m_now = iv_of(at.marrow.percent) if at.marrow else None
        m_base = iv_of(b.marrow.percent) if b.marrow else None
        baseline_ok = at_least(m_base, PR_MARROW_BASELINE_MIN_PERCENT) if m_base else None
        pr = and_(baseline_ok, reduced_by(m_now, m_base, PR_MARROW_REDUCTION_MIN_PERCENT) if m_now and m_base else None)
        ladder["PR"] = c.add(
            "pr_marrow",
            f"marrow plasma cells reduced by ≥ {PR_MARROW_REDUCTION_MIN_PERCENT}% from a baseline "
            f"≥ {PR_MARROW_BASELINE_MIN_PERCENT}%",
            pr,
            ("marrow_plasma_cells_percent",),
            "marrow_plasma_cells_percent",
        )
        ladder["VGPR"] = False
        ladder["MR"] = False
    else:  # no measurable disease: only CR can be shown (immunofixation and marrow)
        ladder.update({"VGPR": None, "PR": None, "MR": None})
    # Each category includes the better ones (a CR is at least a VGPR ...).
    out: dict[str, Tri] = {}
    acc: Tri = False
    for cat in RESPONSES:
        acc = or_(acc, ladder[cat])
        out[cat] = acc
    return out


def _m_protein_ladder(md: MeasurableDisease, at: AssessmentData, b: Baseline, c: _Collector) -> dict[str, Tri]:
    s_now, u_now = _value_iv(at.serum), _value_iv(at.urine)
    s_base, u_base = _value_iv(b.serum), _value_iv(b.urine)

    def part(role: Tri, value: Iv | None, compute: Tri, *, reduction: bool) -> Tri | Literal["n/a"]:
        """A serum or urine part: full when the marker is followed or unknown; absolute parts only, and
        only when a result exists, when it was measured and not measurable (see the urine-parts note)."""
        if role is False and (reduction or value is None):
            return "n/a"
        return compute

    def reduction(now: Iv | None, base: Iv | None, pct: Decimal) -> Tri:
        if now is None or base is None or base[0] <= 0:
            return None
        return reduced_by(now, base, pct)

    def record(code: str, text: str, p: Tri | Literal["n/a"], inputs: tuple[str, ...], miss: str) -> Tri:
        if p == "n/a":
            return True  # not applied: the part does not restrict the category
        return c.add(code, text, p, inputs, miss)

    s_role, u_role = md.serum, md.urine
    # VGPR
    arm1 = and_(
        record(
            "vgpr_serum_not_detected",
            "serum M-protein not detectable by electrophoresis",
            part(s_role, s_now, not_(detected_by_electrophoresis(at.serum)), reduction=False),
            ("m_protein",),
            "m_protein",
        ),
        record(
            "vgpr_urine_not_detected",
            "urine M-protein not detectable by electrophoresis",
            part(u_role, u_now, not_(detected_by_electrophoresis(at.urine)), reduction=False),
            ("urine_m_protein",),
            "urine_m_protein",
        ),
    )
    arm2 = and_(
        record(
            "vgpr_serum_reduction",
            f"serum M-protein reduced by ≥ {VGPR_SERUM_REDUCTION_MIN_PERCENT}% from baseline",
            part(s_role, s_now, reduction(s_now, s_base, VGPR_SERUM_REDUCTION_MIN_PERCENT), reduction=True),
            ("m_protein",),
            "m_protein",
        ),
        record(
            "vgpr_urine_below_100",
            f"urine M-protein < {VGPR_URINE_BELOW_MG_24H} mg/24 h",
            part(u_role, u_now, below(u_now, VGPR_URINE_BELOW_MG_24H) if u_now else None, reduction=False),
            ("urine_m_protein",),
            "urine_m_protein",
        ),
    )
    vgpr = or_(arm1, arm2)
    # PR
    urine_pr: Tri = (
        or_(reduction(u_now, u_base, PR_URINE_REDUCTION_MIN_PERCENT), below(u_now, PR_URINE_BELOW_MG_24H))
        if u_now
        else None
    )
    pr = and_(
        record(
            "pr_serum_reduction",
            f"serum M-protein reduced by ≥ {PR_SERUM_REDUCTION_MIN_PERCENT}% from baseline",
            part(s_role, s_now, reduction(s_now, s_base, PR_SERUM_REDUCTION_MIN_PERCENT), reduction=True),
            ("m_protein",),
            "m_protein",
        ),
        record(
            "pr_urine",
            f"urine M-protein reduced by ≥ {PR_URINE_REDUCTION_MIN_PERCENT}% or to < {PR_URINE_BELOW_MG_24H} mg/24 h",
            part(u_role, u_now, urine_pr, reduction=False),
            ("urine_m_protein",),
            "urine_m_protein",
        ),
    )
    mr = and_(
        record(
            "mr_serum_reduction",
            f"serum M-protein reduced by ≥ {MR_SERUM_REDUCTION_MIN_PERCENT}% from baseline",
            part(s_role, s_now, reduction(s_now, s_base, MR_SERUM_REDUCTION_MIN_PERCENT), reduction=True),
            ("m_protein",),
            "m_protein",
        ),
        record(
            "mr_urine_reduction",
            f"urine M-protein reduced by ≥ {MR_URINE_REDUCTION_MIN_PERCENT}% from baseline",
            part(u_role, u_now, reduction(u_now, u_base, MR_URINE_REDUCTION_MIN_PERCENT), reduction=True),
            ("urine_m_protein",),
            "urine_m_protein",
        ),
    )
    if md.marker is None:
        return {"VGPR": None if vgpr is not False else False, "PR": None, "MR": None}
    return {"VGPR": vgpr, "PR": pr, "MR": mr}


def _relapse_from_cr(at: AssessmentData, c: _Collector) -> Tri:
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
                at_least(iv_of(at.marrow.percent) or UNKNOWN_NON_NEGATIVE, RELAPSE_FROM_CR_MARROW_MIN_PERCENT),
                ("marrow_plasma_cells_percent",),
            )
        )
    if any(e.finding in PD_FINDINGS for e in at.imaging):
        parts.append(c.add("relapse_from_cr_lesion", "new lesion", True, ("imaging_events",)))
    return or_(*parts)


# ---------------------------------------------------------------------------------------------
# Measurements shown with each assessment
# ---------------------------------------------------------------------------------------------


def _num_json(x: float | Censored) -> object:
    return str(x) if isinstance(x, Censored) else x


def _iv_json(v: Iv) -> object:
    if v[0] == v[1]:
        return float(v[0])
    return _iv_text(v)


def _iv_text(v: Iv) -> str:
    if v[0] == v[1]:
        return f"{float(v[0]):g}"
    if v[1] == INF:
        return f"≥{float(v[0]):g}"
    return f"{float(v[0]):g}-{float(v[1]):g}"


def _lab_point(lab: LabValue) -> dict[str, object]:
    return {
        "date": lab.date.isoformat() if lab.date else None,
        "value": _num_json(lab.value),
        "unit": lab.unit,
        "received": f"{lab.received_value} {lab.received_unit}",
        "method": lab.method,
    }


def percent_change(now: Iv | None, ref: Iv | None) -> float | None:
    """(now - ref) / ref x 100 for exact values, rounded to 0.1 for display; ``None`` otherwise."""
    if now is None or ref is None or now[0] != now[1] or ref[0] != ref[1] or ref[0] == 0:
        return None
    return float(round((now[0] - ref[0]) / ref[0] * 100, 1))


def _measurements(
    md: MeasurableDisease, at: AssessmentData, nadir: Nadirs, b: Baseline
) -> tuple[Mapping[str, object], ...]:
    out: list[Mapping[str, object]] = []

    def add(marker: str, lab: LabValue | None, base: Iv | None, low: Iv | None) -> None:
        if lab is None:
            return
        now = _value_iv(lab)
        out.append(
            {
                "marker": marker,
                **_lab_point(lab),
                "baseline": _iv_json(base) if base else None,
                "nadir": _iv_json(low) if low else None,
                "change_from_baseline_percent": percent_change(now, base),
                "change_from_nadir_percent": percent_change(now, low),
            }
        )

    add("serum_m_protein", at.serum, _value_iv(b.serum), nadir.serum)
    add("urine_m_protein", at.urine, _value_iv(b.urine), nadir.urine)
    add("flc_kappa", at.kappa, _value_iv(b.kappa), None)
    add("flc_lambda", at.lam, _value_iv(b.lam), None)
    d = flc_difference(at.kappa, at.lam, b.involved)
    if d is not None:
        dates = [x.date for x in (at.kappa, at.lam) if x and x.date]
        out.append(
            {
                "marker": "flc_difference",
                "date": max(dates).isoformat() if dates else None,
                "value": _iv_json(d),
                "unit": "mg/L",
                "baseline": _iv_json(b.dflc) if b.dflc else None,
                "nadir": _iv_json(nadir.dflc) if nadir.dflc else None,
                "change_from_baseline_percent": percent_change(d, b.dflc),
                "change_from_nadir_percent": percent_change(d, nadir.dflc),
            }
        )
    ratio = flc_ratio(at.kappa, at.lam)
    if ratio is not None:
        out.append({"marker": "flc_ratio_kappa_lambda", "value": _iv_json(_round_iv(ratio)), "unit": ""})
    if at.ife is not None:
        out.append(
            {"marker": "immunofixation", "date": at.ife.date.isoformat(), "serum": at.ife.serum, "urine": at.ife.urine}
        )
    marrow = at.marrow or at.marrow_for_cr
    if marrow is not None:
        base_m = iv_of(b.marrow.percent) if b.marrow else None
        now_m = iv_of(marrow.percent)
        out.append(
            {
                "marker": "marrow_plasma_cells_percent",
                "date": marrow.date.isoformat(),
                "value": _num_json(marrow.percent),
                "unit": "%",
                "clonal": marrow.clonal,
                "carried_forward": at.marrow is None,
                "baseline": _iv_json(base_m) if base_m else None,
                "change_from_baseline_percent": percent_change(now_m, base_m),
            }
        )
    for e in at.imaging:
        out.append({"marker": "imaging", "date": e.date.isoformat(), "finding": e.finding, "modality": e.modality})
    return tuple(out)


def _round_iv(v: Iv) -> Iv:
    q = Decimal("0.001")
    return (v[0].quantize(q) if v[0].is_finite() else v[0], v[1].quantize(q) if v[1].is_finite() else v[1])


# ---------------------------------------------------------------------------------------------
# The series: lines, assessments, confirmation, best response, progression events
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Assessment:
    date: dt.date
    line: int | None
    result: Classification
    confirmed: bool = False
    confirmed_by: dt.date | None = None
    notes: tuple[Note, ...] = ()

    @property
    def category(self) -> str:
        return self.result.category

    def to_dict(self) -> dict[str, object]:
        r = self.result
        return {
            "date": self.date.isoformat(),
            "line": self.line,
            "category": r.category,
            "possible": list(r.possible),
            "at_least": r.at_least if r.category == NOT_EVALUABLE else None,
            "confirmed": self.confirmed,
            "confirmed_by": self.confirmed_by.isoformat() if self.confirmed_by else None,
            "measurements": [dict(m) for m in r.measurements],
            "criteria": [c.to_dict() for c in r.criteria],
            "criteria_met": [c.code for c in r.criteria if c.met is True],
            "missing": list(r.missing),
            "notes": [n.to_dict() for n in (*r.notes, *self.notes, *NOTES)],
        }


@dataclass(frozen=True, slots=True)
class BestResponse:
    line: int | None
    category: str
    confirmed: bool
    date: dt.date | None
    confirmed_by: dt.date | None
    best_unconfirmed: str | None
    notes: tuple[Note, ...] = ()
    possibly_better: tuple[str, ...] = ()  # categories left open on both confirming assessments

    def to_dict(self) -> dict[str, object]:
        return {
            "line": self.line,
            "category": self.category,
            "confirmed": self.confirmed,
            "date": self.date.isoformat() if self.date else None,
            "confirmed_by": self.confirmed_by.isoformat() if self.confirmed_by else None,
            "best_unconfirmed": self.best_unconfirmed,
            "possibly_better": list(self.possibly_better),
            "notes": [n.to_dict() for n in self.notes],
        }


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


@dataclass(frozen=True, slots=True)
class LineResult:
    line: Line
    measurable: MeasurableDisease
    assessments: tuple[Assessment, ...]
    best: BestResponse
    events: tuple[ProgressionEvent, ...]

    def to_dict(self) -> dict[str, object]:
        t = self.line.therapy
        return {
            "line": self.line.number,
            "regimen": t.regimen if t else None,
            "start": self.line.start.isoformat(),
            "end": t.end.isoformat() if t and t.end else None,
            "next_line_start": self.line.until.isoformat() if self.line.until else None,
            "from_therapy_lines": t is not None,
            "measurable_disease": self.measurable.to_dict(),
            "best_response": self.best.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class ResponseHistory:
    lines: tuple[LineResult, ...]
    notes: tuple[Note, ...] = ()

    @property
    def assessments(self) -> tuple[Assessment, ...]:
        return tuple(a for ln in self.lines for a in ln.assessments)

    @property
    def events(self) -> tuple[ProgressionEvent, ...]:
        return tuple(e for ln in self.lines for e in ln.events)

    @property
    def current(self) -> LineResult | None:
        """The latest line that has a baseline or an assessment (the one a reader is following now)."""
        return self.lines[-1] if self.lines else None


_DISEASE_LABS = ("m_protein", "urine_m_protein", "flc_kappa", "flc_lambda")


def _disease_dates(ps: PatientSeries) -> list[dt.date]:
    dates = [x.date for k in _DISEASE_LABS for x in ps.lab(k) if x.date]
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
    for k in _DISEASE_LABS:
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


def _assessment_dates(ps: PatientSeries, line: Line, md: MeasurableDisease) -> list[tuple[dt.date, dt.date]]:
    """Clusters (first, last date) of the followed markers' results within the line."""
    keys: list[str]
    if md.marker == "serum_m_protein":
        keys = ["m_protein"] + (["urine_m_protein"] if "urine_m_protein" in md.followed else [])
    elif md.marker == "urine_m_protein":
        keys = ["urine_m_protein"]
    elif md.marker == "flc":
        keys = ["flc_kappa", "flc_lambda"]
    else:
        keys = list(_DISEASE_LABS)
    dates = {x.date for k in keys for x in ps.lab(k) if x.date and line.owns(x.date)}
    if md.marker in ("marrow", "none", None):
        dates |= {m.date for m in ps.marrow if line.owns(m.date)}
    if md.marker in ("none", None):
        dates |= {i.date for i in ps.immunofixation if line.owns(i.date)}
    dates |= {e.date for e in ps.imaging_events if e.finding in PD_FINDINGS and line.owns(e.date)}
    clusters: list[tuple[dt.date, dt.date]] = []
    for d in sorted(dates):
        if clusters and (d - clusters[-1][0]).days <= ASSESSMENT_WINDOW_DAYS:
            clusters[-1] = (clusters[-1][0], d)
        else:
            clusters.append((d, d))
    return clusters


def _attach(
    items: Sequence[tuple[dt.date, object]], clusters: Sequence[tuple[dt.date, dt.date]], line: Line
) -> dict[int, list[object]]:
    """Each dated item goes to the nearest assessment within the window (ties: the earlier one)."""
    out: dict[int, list[object]] = {}
    for d, item in items:
        if not line.owns(d):
            continue
        best: tuple[int, int] | None = None
        for i, (lo, hi) in enumerate(clusters):
            dist = 0 if lo <= d <= hi else min(abs((d - lo).days), abs((d - hi).days))
            if dist <= ASSESSMENT_WINDOW_DAYS and (best is None or dist < best[0]):
                best = (dist, i)
        if best is not None:
            out.setdefault(best[1], []).append(item)
    return out


def _last_lab(items: list[object] | None) -> LabValue | None:
    labs = [x for x in items or [] if isinstance(x, LabValue)]
    return labs[-1] if labs else None


def evaluate_line(ps: PatientSeries, line: Line) -> LineResult:
    md = measurable_disease(baseline_for(ps, line.start))
    b = md.baseline
    clusters = _assessment_dates(ps, line, md)
    attached = {
        key: _attach([(x.date, x) for x in ps.lab(key) if x.date], clusters, line)
        for key in ("m_protein", "urine_m_protein", "flc_kappa", "flc_lambda")
    }
    ife_at = _attach([(i.date, i) for i in ps.immunofixation], clusters, line)
    marrow_at = _attach([(m.date, m) for m in ps.marrow], clusters, line)
    imaging_at = _attach([(e.date, e) for e in ps.imaging_events], clusters, line)
    results: list[Classification] = []
    dates: list[dt.date] = []
    in_cr = False
    for i, (first, last) in enumerate(clusters):
        marrow_since = [
            m for m in ps.marrow if line.owns(m.date) and m.date <= last + dt.timedelta(days=ASSESSMENT_WINDOW_DAYS)
        ]
        ifes = [x for x in ife_at.get(i, []) if isinstance(x, Immunofixation)]
        marrows = [x for x in marrow_at.get(i, []) if isinstance(x, Marrow)]
        at = AssessmentData(
            date=last,
            first_date=first,
            serum=_last_lab(attached["m_protein"].get(i)),
            urine=_last_lab(attached["urine_m_protein"].get(i)),
            kappa=_last_lab(attached["flc_kappa"].get(i)),
            lam=_last_lab(attached["flc_lambda"].get(i)),
            ife=ifes[-1] if ifes else None,
            marrow=marrows[-1] if marrows else None,
            marrow_for_cr=marrow_since[-1] if marrow_since else None,
            imaging=tuple(x for x in imaging_at.get(i, []) if isinstance(x, ImagingEvent)),
        )
        r = classify(md=md, at=at, nadir=_nadirs(ps, line, b, first), in_cr=in_cr)
        results.append(r)
        dates.append(last)
        # CR status for the next assessment: confirmed CR (two consecutive ≥ CR); left after a confirmed event.
        if len(results) >= 2:
            a, z = results[-2], results[-1]
            if _ge_level(a.level, "CR") and _ge_level(z.level, "CR"):
                in_cr = True
            if in_cr and _event_kind(a) is not None and _event_kind(z) is not None:
                in_cr = False
    assessments = _confirm(results, dates, line)
    return LineResult(line, md, assessments, _best(assessments, line), _events(assessments, line))


def _nadirs(ps: PatientSeries, line: Line, b: Baseline, before: dt.date) -> Nadirs:
    def low(key: str, base: LabValue | None) -> Iv | None:
        vals = [_value_iv(base)] if base else []
        vals += [_value_iv(x) for x in ps.lab(key) if x.date and line.owns(x.date) and x.date < before]
        out: Iv | None = None
        for v in vals:
            out = iv_min(out, v)
        return out

    dflc: Iv | None = b.dflc
    kappas = {x.date: x for x in ps.lab("flc_kappa") if x.date and line.owns(x.date) and x.date < before}
    for x in ps.lab("flc_lambda"):
        if x.date in kappas:
            dflc = iv_min(dflc, flc_difference(kappas[x.date], x, b.involved))
    marrow: Iv | None = iv_of(b.marrow.percent) if b.marrow else None
    for m in ps.marrow:
        if line.owns(m.date) and m.date < before:
            marrow = iv_min(marrow, iv_of(m.percent))
    return Nadirs(
        serum=low("m_protein", b.serum),
        urine=low("urine_m_protein", b.urine),
        dflc=dflc,
        marrow=marrow,
    )


def _ge_level(level: str | None, target: str) -> bool:
    return level is not None and level != "PD" and RANK[level] >= RANK[target]


def _event_kind(r: Classification) -> EventType | None:
    if r.category == "PD":
        return "light_chain_escape" if set(r.pd_fired) == {"pd_light_chain_escape"} else "progression"
    if r.relapse is True:
        return "relapse_from_cr"
    return None


def _confirms(a: Classification, b: Classification) -> bool:
    """Whether ``b`` (adjacent) confirms ``a``'s level."""
    if a.level is None or b.level is None:
        return False
    if a.level == "PD":
        return b.level == "PD"
    return _ge_level(b.level, a.level)


def _confirm(results: list[Classification], dates: list[dt.date], line: Line) -> tuple[Assessment, ...]:
    out = []
    for i, r in enumerate(results):
        by: dt.date | None = None
        if i > 0 and _confirms(r, results[i - 1]):
            by = dates[i - 1]
        elif i + 1 < len(results) and _confirms(r, results[i + 1]):
            by = dates[i + 1]
        notes: list[Note] = []
        if by is None and r.level is not None and i + 1 == len(results):
            if line.until is not None:
                notes.append(
                    Note(
                        "not_confirmed_before_new_line",
                        "caveat",
                        f"No second assessment before line {line.number} ended (next line from {line.until}): "
                        "this category cannot be confirmed.",
                    )
                )
            else:
                notes.append(
                    Note(
                        "awaiting_confirmation",
                        "unconfirmed",
                        "A single assessment with no later one: IMWG asks for two consecutive assessments before a "
                        "category is confirmed.",
                    )
                )
        if r.category == "PD" and i == 0 and len(results) == 1:
            notes.append(
                Note(
                    "pd_first_record_unconfirmed",
                    "unconfirmed",
                    "PD on the first assessment with no later assessment: unconfirmed, and the line's best response "
                    "is not evaluable (peer survey §4, admiralonco PR #280).",
                )
            )
        out.append(Assessment(dates[i], line.number, r, by is not None, by, tuple(notes)))
    return tuple(out)


def _best(assessments: Sequence[Assessment], line: Line) -> BestResponse:
    pairs: list[tuple[str, int]] = []  # (level, index of the first assessment of the pair)
    for i in range(len(assessments) - 1):
        a, z = assessments[i].result.level, assessments[i + 1].result.level
        if a is None or z is None:
            continue
        if a == "PD" and z == "PD":
            pairs.append(("PD", i))
        elif a != "PD" and z != "PD":
            pairs.append((min(a, z, key=lambda c: RANK[c]), i))
    singles = [a.result.level for a in assessments if a.result.level is not None]
    best_single = max(singles, key=lambda c: RANK[c]) if singles else None
    if not pairs:
        note = Note(
            "best_response_not_evaluable",
            "unconfirmed",
            "No category was reached on two consecutive assessments of this line, so the best response is not "
            "evaluable" + (f" (best single assessment: {best_single}, unconfirmed)." if best_single else "."),
        )
        return BestResponse(line.number, NOT_EVALUABLE, False, None, None, best_single, (note,))
    level = max((p[0] for p in pairs), key=lambda c: RANK[c])
    i = next(i for lv, i in pairs if lv == level)
    # The best level is first reached at the earliest assessment of a confirming pair. Where that level is
    # only a floor (missing results leave better categories open on both assessments), say which.
    open_on_both = set(assessments[i].result.possible) & set(assessments[i + 1].result.possible)
    better = tuple(c for c in RESPONSES if c in open_on_both and RANK[c] > RANK[level])
    notes: tuple[Note, ...] = ()
    if better:
        notes = (
            Note(
                "best_response_floor",
                "missing",
                f"{level} is the level certainly reached; {' or '.join(better)} cannot be excluded because results "
                "are missing on both assessments (see their 'missing').",
            ),
        )
    return BestResponse(
        line.number,
        level,
        True,
        assessments[i].date,
        assessments[i + 1].date,
        best_single if best_single and RANK[best_single] > RANK[level] else None,
        notes,
        better,
    )


def _events(assessments: Sequence[Assessment], line: Line) -> tuple[ProgressionEvent, ...]:
    events: list[ProgressionEvent] = []
    i = 0
    while i < len(assessments):
        kind = _event_kind(assessments[i].result)
        if kind is None:
            i += 1
            continue
        j = i
        while j + 1 < len(assessments) and _event_kind(assessments[j + 1].result) is not None:
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


def evaluate(ps: PatientSeries) -> ResponseHistory:
    """IMWG 2016 response and progression for every line of one patient's series."""
    lines, notes = lines_of(ps)
    extra: list[Note] = list(notes)
    if not lines:
        extra.append(
            Note(
                "no_response_data",
                "missing",
                "No serum/urine M-protein, FLC, marrow or immunofixation results and no therapy lines: IMWG response "
                "cannot be assessed.",
            )
        )
    setting = ps.patient.setting
    if setting in ("smm", "mgus"):
        extra.append(
            Note(
                "setting_not_myeloma",
                "setting",
                f"Setting is {setting}: IMWG 2016 response criteria are defined for treated multiple myeloma.",
            )
        )
    return ResponseHistory(tuple(evaluate_line(ps, ln) for ln in lines), (*extra, *SETTING_NOTES))


__all__ = [
    "CATEGORIES",
    "KUMAR_2016",
    "NOTES",
    "NOT_EVALUABLE",
    "RULE",
    "Assessment",
    "AssessmentData",
    "Baseline",
    "BestResponse",
    "Classification",
    "LineResult",
    "MeasurableDisease",
    "Nadirs",
    "ProgressionEvent",
    "ResponseHistory",
    "classify",
    "evaluate",
    "measurable_disease",
]
