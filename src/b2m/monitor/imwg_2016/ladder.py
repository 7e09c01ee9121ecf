"""The IMWG 2016 response ladder of one assessment, and its classification (the categories still possible).

Kumar S, et al. International Myeloma Working Group consensus criteria for response and minimal
residual disease assessment in multiple myeloma. Lancet Oncol. 2016;17(8):e328-e346.
DOI 10.1016/S1470-2045(16)30206-6.

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
PD         see :mod:`.progression`
=========  ====================================================================================

A criterion whose input is missing is ``None`` (unknown is never normal): :func:`classify` lists
every category that the results leave ``possible``, best first, with PD when it cannot be excluded.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from b2m.monitor.imwg_2016.assessment import AssessmentData, Classification, Collector, Nadirs, measurements
from b2m.monitor.imwg_2016.baseline import Baseline, MeasurableDisease
from b2m.monitor.imwg_2016.constants import (
    CATEGORIES,
    CR_MARROW_PLASMA_CELLS_BELOW_PERCENT,
    FLC_RATIO_NORMAL_MAX,
    FLC_RATIO_NORMAL_MIN,
    MR_SERUM_REDUCTION_MIN_PERCENT,
    MR_URINE_REDUCTION_MIN_PERCENT,
    PD_SERUM_RISE_MIN_G_DL,
    PR_FLC_DIFFERENCE_REDUCTION_MIN_PERCENT,
    PR_MARROW_BASELINE_MIN_PERCENT,
    PR_MARROW_REDUCTION_MIN_PERCENT,
    PR_SERUM_REDUCTION_MIN_PERCENT,
    PR_URINE_BELOW_MG_24H,
    PR_URINE_REDUCTION_MIN_PERCENT,
    RESPONSES,
    VGPR_SERUM_REDUCTION_MIN_PERCENT,
    VGPR_URINE_BELOW_MG_24H,
)
from b2m.monitor.imwg_2016.progression import progression_criteria, relapse_from_cr
from b2m.monitor.imwg_2016.values import (
    UNKNOWN_NON_NEGATIVE,
    Iv,
    at_least,
    below,
    detected_by_electrophoresis,
    flc_difference,
    flc_ratio,
    marrow_iv,
    ratio_normal,
    reduced_by,
    value_iv,
)
from b2m.rules.base import Note
from b2m.rules.kleene import Tri, and_, not_, or_


def classify(
    *,
    md: MeasurableDisease,
    at: AssessmentData,
    nadir: Nadirs,
    in_cr: bool,
) -> Classification:
    """The IMWG 2016 category of one assessment (pure: no dates beyond those given)."""
    c = Collector()
    pd = progression_criteria(md, at, nadir, c)
    ladder = response_ladder(md, at, c)
    relapse = relapse_from_cr(at, c) if in_cr else None
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
        and at_least(value_iv(at.serum) or UNKNOWN_NON_NEGATIVE, PD_SERUM_RISE_MIN_G_DL) is True
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
    return Classification(
        possible=tuple(possible),
        criteria=tuple(c.criteria),
        measurements=measurements(at, nadir, md.baseline),
        missing=(*md.missing, *c.missing) if md.marker is None else tuple(c.missing) if len(possible) > 1 else (),
        notes=tuple(notes),
        pd_fired=pd.fired,
        relapse=relapse,
    )


def response_ladder(md: MeasurableDisease, at: AssessmentData, c: Collector) -> dict[str, Tri]:
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
    marrow_cr = marrow_iv(at.marrow_for_cr)
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
        ladder["VGPR"] = False  # not defined for FLC-only disease (b2m reference RESP-4)
        ladder["MR"] = False
    elif marker == "marrow":
        m_now = marrow_iv(at.marrow)
        m_base = marrow_iv(b.marrow)
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


def _m_protein_ladder(md: MeasurableDisease, at: AssessmentData, b: Baseline, c: Collector) -> dict[str, Tri]:
    """VGPR, PR and MR of disease followed by serum or urine M-protein (or whose marker is undetermined)."""
    s_now, u_now = value_iv(at.serum), value_iv(at.urine)
    s_base, u_base = value_iv(b.serum), value_iv(b.urine)

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

    def serum_reduced(code: str, pct: Decimal) -> Tri:
        return record(
            code,
            f"serum M-protein reduced by ≥ {pct}% from baseline",
            part(s_role, s_now, reduction(s_now, s_base, pct), reduction=True),
            ("m_protein",),
            "m_protein",
        )

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
        serum_reduced("vgpr_serum_reduction", VGPR_SERUM_REDUCTION_MIN_PERCENT),
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
        serum_reduced("pr_serum_reduction", PR_SERUM_REDUCTION_MIN_PERCENT),
        record(
            "pr_urine",
            f"urine M-protein reduced by ≥ {PR_URINE_REDUCTION_MIN_PERCENT}% or to < {PR_URINE_BELOW_MG_24H} mg/24 h",
            part(u_role, u_now, urine_pr, reduction=False),
            ("urine_m_protein",),
            "urine_m_protein",
        ),
    )
    mr = and_(
        serum_reduced("mr_serum_reduction", MR_SERUM_REDUCTION_MIN_PERCENT),
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
