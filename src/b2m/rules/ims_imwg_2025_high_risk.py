"""IMS/IMWG 2025 consensus definition of high-risk multiple myeloma (Consensus Genomic Staging).

Avet-Loiseau H, Davies FE, Samur MK, et al. International Myeloma Society/International Myeloma
Working Group Consensus Recommendations on the Definition of High-Risk Multiple Myeloma.
J Clin Oncol. 2025;43(24):2739-2751. DOI 10.1200/JCO-24-01893 (b2m reference HR25-2).

High-risk multiple myeloma is **≥ 1** of (criteria as in concordant secondary summaries [S]):

1. del(17p) with a cancer clonal fraction above 20% [D], and/or a TP53 mutation;
2. an IgH translocation t(4;14), t(14;16) or t(14;20) together with 1q+ (gain ≥ 3 copies or
   amplification ≥ 4 copies) and/or del(1p32);
3. monoallelic del(1p32) together with 1q+, or biallelic del(1p32);
4. serum B2M ≥ 5.5 mg/L with normal creatinine (< 1.2 mg/dL) — the only B2M-based criterion; the
   creatinine condition excludes a renal cause of the raised B2M (b2m reference E42, E48).

``possible`` is ``("not_high_risk",)``, ``("high_risk",)`` or both when unknown inputs leave it
open; the six independent parts (del(17p) arm, TP53, IgH translocation, 1q+, del(1p32), B2M arm)
are enumerated, so ``possible`` is exact.
"""

from __future__ import annotations

import itertools
from typing import Literal

from b2m.provenance import RuleRef, Source
from b2m.rules.base import Criterion, Note, RuleResult
from b2m.rules.checks import check_bool, check_choice, check_number
from b2m.rules.kleene import Num, Tri, and_, ge, gt, lt, or_
from b2m.rules.spec import ScoreRule

SOURCE = Source(
    "Avet-Loiseau H, Davies FE, Samur MK, et al. International Myeloma Society/International Myeloma "
    "Working Group Consensus Recommendations on the Definition of High-Risk Multiple Myeloma. "
    "J Clin Oncol. 2025;43(24):2739-2751.",
    "10.1200/JCO-24-01893",
)
ERRATUM = Source(
    "Erratum: International Myeloma Society/International Myeloma Working Group Consensus "
    "Recommendations on the Definition of High-Risk Multiple Myeloma. J Clin Oncol. 2025;43(22):2553.",
    "10.1200/JCO-25-01367",
)
REF = RuleRef("ims_imwg_2025_high_risk", "2025", "IMS/IMWG 2025 definition of high-risk multiple myeloma", SOURCE)
INPUTS: tuple[str, ...] = (
    "del17p",
    "del17p_clonal_fraction_percent",
    "tp53_mutation",
    "t4_14",
    "t14_16",
    "t14_20",
    "gain1q",
    "del1p32",
    "b2m_mg_l",
    "creatinine_mg_dl",
)

Del1p32 = Literal["absent", "monoallelic", "biallelic", "present"]
#: ``"present"``: del(1p32) detected with its allelic status not determined (e.g. FISH without NGS).
DEL1P32_VALUES: tuple[Del1p32, ...] = ("absent", "monoallelic", "biallelic", "present")

NOT_HIGH_RISK, HIGH_RISK = "not_high_risk", "high_risk"
#: Ordering of ``possible``.
STAGES: tuple[str, ...] = (NOT_HIGH_RISK, HIGH_RISK)

DEL17P_CCF_PERCENT = 20.0  # Avet-Loiseau 2025: del(17p) counts with CCF > 20% (exclusive) [D: "≥ 20%"]
B2M_MG_L = 5.5  # Avet-Loiseau 2025: B2M ≥ 5.5 mg/L (inclusive), b2m reference E42
CREATININE_NORMAL_BELOW_MG_DL = 1.2  # Avet-Loiseau 2025: creatinine < 1.2 mg/dL (exclusive), b2m reference E42

NOTES: tuple[Note, ...] = (
    Note(
        "ims_imwg_2025_del17p_ccf",
        "discrepancy",
        f"del(17p) counts when its cancer clonal fraction is > {DEL17P_CCF_PERCENT:g}% (Australian "
        f"validation summary: 'cut-off of > {DEL17P_CCF_PERCENT:g}%'); HealthTree and public code write "
        f"'≥ {DEL17P_CCF_PERCENT:g}%' / '{DEL17P_CCF_PERCENT:g}% or more', under which a CCF of exactly "
        f"{DEL17P_CCF_PERCENT:g}% would count (b2m reference D19).",
    ),
    Note(
        "ims_imwg_2025_erratum",
        "unconfirmed",
        f"An erratum was published (J Clin Oncol 2025;43(22):2553, DOI {ERRATUM.doi}); its content was "
        "not reviewed when these criteria were compiled [U].",
    ),
    Note(
        "ims_imwg_2025_secondary_source",
        "caveat",
        "The four criteria were taken from concordant secondary summaries of the paper [S], not its full text.",
    ),
    Note(
        "ims_imwg_2025_setting",
        "setting",
        "Defined for newly diagnosed multiple myeloma. Cytogenetics on CD138-selected plasma cells; a "
        "TP53 mutation and biallelic del(1p32) need sequencing (NGS) — without it those items stay "
        "unknown rather than absent.",
    ),
)


def _values(t: Tri) -> tuple[bool, ...]:
    return (False, True) if t is None else (t,)


def _fold(values: set[bool]) -> Tri:
    return values.pop() if len(values) == 1 else None


def _del1p32_states(x: Del1p32 | None) -> tuple[str, ...]:
    if x is None:
        return ("absent", "monoallelic", "biallelic")
    if x == "present":
        return ("monoallelic", "biallelic")
    return (x,)


def _igh_with_chr1(trans: bool, gain: bool, del1p: str) -> bool:
    return trans and (gain or del1p != "absent")


def _chr1_double_hit(gain: bool, del1p: str) -> bool:
    return (del1p == "monoallelic" and gain) or del1p == "biallelic"


def ims_imwg_2025_high_risk(
    *,
    del17p: bool | None,
    tp53_mutation: bool | None,
    t4_14: bool | None,
    t14_16: bool | None,
    t14_20: bool | None,
    gain1q: bool | None,
    del1p32: Del1p32 | None,
    b2m_mg_l: Num,
    creatinine_mg_dl: Num,
    del17p_clonal_fraction_percent: Num = None,
) -> RuleResult:
    """IMS/IMWG 2025 high-risk status; ``None`` means unknown.

    ``del17p_clonal_fraction_percent`` is the cancer clonal fraction of a del(17p) (read only when ``del17p`` is
    not ``False``). ``gain1q`` is 1q+ (gain or amplification). ``del1p32``: ``"absent"``,
    ``"monoallelic"``, ``"biallelic"`` or ``"present"`` (allelic status not determined).
    """
    for name, flag in (
        ("del17p", del17p),
        ("tp53_mutation", tp53_mutation),
        ("t4_14", t4_14),
        ("t14_16", t14_16),
        ("t14_20", t14_20),
        ("gain1q", gain1q),
    ):
        check_bool(name, flag)
    check_number("del17p_clonal_fraction_percent", del17p_clonal_fraction_percent, 100.0)
    check_number("b2m_mg_l", b2m_mg_l)
    check_number("creatinine_mg_dl", creatinine_mg_dl)
    check_choice("del1p32", del1p32, DEL1P32_VALUES)

    ccf = gt(del17p_clonal_fraction_percent, DEL17P_CCF_PERCENT)
    del17p_arm = and_(del17p, ccf)
    crit1 = or_(del17p_arm, tp53_mutation)
    trans = or_(t4_14, t14_16, t14_20)
    b2m_high = ge(b2m_mg_l, B2M_MG_L)
    creat_normal = lt(creatinine_mg_dl, CREATININE_NORMAL_BELOW_MG_DL)
    crit4 = and_(b2m_high, creat_normal)

    chr1 = list(itertools.product(_values(trans), _values(gain1q), _del1p32_states(del1p32)))
    crit2 = _fold({_igh_with_chr1(t, g, d) for t, g, d in chr1})
    crit3 = _fold({_chr1_double_hit(g, d) for _, g, d in chr1})
    outcomes = {
        c1 or _igh_with_chr1(t, g, d) or _chr1_double_hit(g, d) or c4
        for c1 in _values(crit1)
        for t, g, d in chr1
        for c4 in _values(crit4)
    }
    possible = tuple(s for s, v in ((NOT_HIGH_RISK, False), (HIGH_RISK, True)) if v in outcomes)

    criteria = (
        Criterion(
            "del17p_tp53",
            f"del(17p) with cancer clonal fraction > {DEL17P_CCF_PERCENT:g}%, and/or TP53 mutation",
            crit1,
            ("del17p", "del17p_clonal_fraction_percent", "tp53_mutation"),
        ),
        Criterion(
            "igh_translocation_with_1q_or_1p",
            "t(4;14), t(14;16) or t(14;20) with 1q+ (gain or amplification) and/or del(1p32)",
            crit2,
            ("t4_14", "t14_16", "t14_20", "gain1q", "del1p32"),
        ),
        Criterion(
            "del1p32_double_hit",
            "monoallelic del(1p32) with 1q+, or biallelic del(1p32)",
            crit3,
            ("gain1q", "del1p32"),
        ),
        Criterion(
            "b2m_normal_creatinine",
            f"serum B2M ≥ {B2M_MG_L:g} mg/L with normal creatinine (< {CREATININE_NORMAL_BELOW_MG_DL:g} mg/dL)",
            crit4,
            ("b2m_mg_l", "creatinine_mg_dl"),
        ),
        Criterion("b2m_ge_5_5", f"serum B2M ≥ {B2M_MG_L:g} mg/L", b2m_high, ("b2m_mg_l",)),
        Criterion(
            "creatinine_lt_1_2",
            f"serum creatinine < {CREATININE_NORMAL_BELOW_MG_DL:g} mg/dL",
            creat_normal,
            ("creatinine_mg_dl",),
        ),
    )

    inputs: dict[str, object] = {
        "del17p": del17p,
        "del17p_clonal_fraction_percent": del17p_clonal_fraction_percent,
        "tp53_mutation": tp53_mutation,
        "t4_14": t4_14,
        "t14_16": t14_16,
        "t14_20": t14_20,
        "gain1q": gain1q,
        "del1p32": del1p32,
        "b2m_mg_l": b2m_mg_l,
        "creatinine_mg_dl": creatinine_mg_dl,
    }
    undecided: list[str] = []
    if crit1 is None:
        undecided += ["del17p", "tp53_mutation"] + (["del17p_clonal_fraction_percent"] if del17p is not False else [])
    if crit2 is None:
        undecided += ["t4_14", "t14_16", "t14_20", "gain1q", "del1p32"]
    if crit3 is None:
        undecided += ["gain1q", "del1p32"]
    if crit4 is None:
        undecided += ["b2m_mg_l", "creatinine_mg_dl"]
    missing = tuple(k for k in inputs if inputs[k] is None and k in undecided)

    notes = list(NOTES)
    if missing:
        notes.append(
            Note(
                "ims_imwg_2025_missing",
                "missing",
                f"Unknown: {', '.join(missing)}. High risk is asserted from any one criterion met; "
                "'not high risk' needs all four known not met.",
            )
        )
    return RuleResult(
        rule=REF,
        possible=possible,
        criteria=criteria,
        inputs=inputs,
        missing=missing,
        notes=tuple(notes),
    )


SPEC = ScoreRule(
    name="ims_imwg_2025_high_risk",
    ref=REF,
    stages=STAGES,
    inputs=INPUTS,
    notes=NOTES,
    evaluate=ims_imwg_2025_high_risk,
    arguments={
        "del17p": "del17p",
        "tp53_mutation": "tp53_mutation",
        "t4_14": "t4_14",
        "t14_16": "t14_16",
        "t14_20": "t14_20",
        "gain1q": "gain1q",
        "del1p32": "del1p32",
        "b2m_mg_l": "b2m_mg_l",
        "creatinine_mg_dl": "creatinine_mg_dl",
        "del17p_clonal_fraction_percent": "del17p_clonal_fraction_percent",
    },
    diseases=("multiple_myeloma",),
    settings=("new_diagnosis",),  # "defined for newly diagnosed multiple myeloma" (the setting note above)
)
