"""Mayo 2018 "20/2/20" risk stratification of smouldering multiple myeloma.

Lakshman A, Rajkumar SV, Buadi FK, et al. Risk stratification of smoldering multiple myeloma
incorporating revised IMWG diagnostic criteria. Blood Cancer J. 2018;8:59.
DOI 10.1038/s41408-018-0077-4 (b2m reference SMM-1).

Risk factors, each strictly above its cut-off (b2m reference E20): clonal BMPC > 20%; serum M-protein
> 2 g/dL; involved/uninvolved serum FLC ratio > 20. Groups: low = 0 factors, intermediate = 1,
high = 2–3.

Outcome figures are those of the IMWG 2020 validation of 2/20/20 (Mateos 2020, 1,996 patients,
b2m reference SMM-2 [C]); the derivation paper's own cohort size and times to progression are
unconfirmed [U] and are not shown.

With unknown factors the count is a range (``score_range``) and ``possible`` lists every group the
range reaches (the three factors are independent, so every count in the range is reachable).
"""

from __future__ import annotations

from b2m.provenance import RuleRef, Source
from b2m.rules._points import Band, determined, possible_bands, score_range, yes_no
from b2m.rules.base import Criterion, Note, Outcome, RuleResult
from b2m.rules.checks import check_number, flc_ratio_orientation_note
from b2m.rules.imwg_2014 import smouldering_risk_applies
from b2m.rules.kleene import Num, gt
from b2m.rules.spec import ScoreRule

SOURCE = Source(
    "Lakshman A, Rajkumar SV, Buadi FK, et al. Risk stratification of smoldering multiple myeloma "
    "incorporating revised IMWG diagnostic criteria. Blood Cancer J. 2018;8:59.",
    "10.1038/s41408-018-0077-4",
)
REF = RuleRef("smm_mayo_2018", "2018", 'Mayo 2018 "20/2/20" smouldering myeloma risk', SOURCE)
VALIDATION_SOURCE = Source(
    "Mateos MV, Kumar S, Dimopoulos MA, et al. International Myeloma Working Group risk stratification "
    "model for smoldering multiple myeloma (SMM). Blood Cancer J. 2020;10(10):102.",
    "10.1038/s41408-020-00366-3",
)
INPUTS: tuple[str, ...] = ("bmpc_percent", "m_protein_g_dl", "flc_ratio_involved_uninvolved")

BMPC_PERCENT = 20.0  # Lakshman 2018: clonal BMPC > 20% (exclusive; 20% is not a factor, b2m reference E20)
M_PROTEIN_G_DL = 2.0  # Lakshman 2018: serum M-protein > 2 g/dL (exclusive; 2.0 is not a factor)
FLC_RATIO = 20.0  # Lakshman 2018: involved/uninvolved FLC ratio > 20 (exclusive; 20 is not a factor)

LOW, INTERMEDIATE, HIGH = "low", "intermediate", "high"
BANDS: tuple[Band, ...] = (Band(LOW, 0, 0), Band(INTERMEDIATE, 1, 1), Band(HIGH, 2, 3))
#: Ordering of ``possible``.
STAGES: tuple[str, ...] = tuple(b.group for b in BANDS)

_COHORT = "IMWG 2020 validation of 2/20/20, n = 1,996 (Mateos 2020)"
OUTCOMES: tuple[Outcome, ...] = (
    *(
        Outcome(g, "2-year progression to multiple myeloma", v, "%", _COHORT, VALIDATION_SOURCE, "C")
        for g, v in zip(STAGES, (6, 18, 44), strict=True)
    ),
    *(
        Outcome(g, "share of patients", v, "%", _COHORT, VALIDATION_SOURCE, "C")
        for g, v in zip(STAGES, (38, 33, 29), strict=True)
    ),
)

NOTES: tuple[Note, ...] = (
    Note(
        "smm_mayo_2018_setting",
        "setting",
        "For smouldering myeloma as defined by IMWG 2014 (no myeloma-defining event); not for MGUS or active myeloma.",
    ),
    Note(
        "smm_mayo_2018_derivation_figures",
        "unconfirmed",
        "Lakshman 2018's own cohort size and median times to progression by group are unconfirmed [U] "
        "and not shown; the outcome figures are from the IMWG 2020 validation cohort (Mateos 2020) [C].",
    ),
)


def smm_mayo_2018(*, bmpc_percent: Num, m_protein_g_dl: Num, flc_ratio_involved_uninvolved: Num) -> RuleResult:
    """Mayo 2018 20/2/20 group. ``flc_ratio_involved_uninvolved`` is involved/uninvolved (λ/κ for λ)."""
    check_number("bmpc_percent", bmpc_percent, 100.0)
    check_number("m_protein_g_dl", m_protein_g_dl)
    check_number("flc_ratio_involved_uninvolved", flc_ratio_involved_uninvolved)
    bmpc = gt(bmpc_percent, BMPC_PERCENT)
    mprot = gt(m_protein_g_dl, M_PROTEIN_G_DL)
    flc = gt(flc_ratio_involved_uninvolved, FLC_RATIO)
    criteria = (
        Criterion("bmpc", f"clonal BMPC > {BMPC_PERCENT:g}%", bmpc, ("bmpc_percent",)),
        Criterion("m_protein", f"serum M-protein > {M_PROTEIN_G_DL:g} g/dL", mprot, ("m_protein_g_dl",)),
        Criterion(
            "flc_ratio",
            f"involved/uninvolved serum FLC ratio > {FLC_RATIO:g}",
            flc,
            ("flc_ratio_involved_uninvolved",),
        ),
    )
    options = [yes_no(bmpc, 1), yes_no(mprot, 1), yes_no(flc, 1)]
    possible = possible_bands(options, BANDS)
    inputs: dict[str, object] = {
        "bmpc_percent": bmpc_percent,
        "m_protein_g_dl": m_protein_g_dl,
        "flc_ratio_involved_uninvolved": flc_ratio_involved_uninvolved,
    }
    missing = tuple(k for k, v in inputs.items() if v is None)
    notes = list(NOTES)
    if orientation := flc_ratio_orientation_note(flc_ratio_involved_uninvolved, "smm_mayo_2018"):
        notes.append(orientation)
    if missing:
        notes.append(
            Note(
                "smm_mayo_2018_missing",
                "missing",
                f"Unknown: {', '.join(missing)}; the factor count is given as a range and every group it "
                "reaches is listed.",
            )
        )
    lo, hi = score_range(options)
    return RuleResult(
        rule=REF,
        possible=possible,
        criteria=criteria,
        inputs=inputs,
        missing=missing,
        notes=tuple(notes),
        outcomes=OUTCOMES,  # RuleResult keeps only the settled stage's confirmed figures
        score=determined(options),
        score_range=(lo, hi),
    )


SPEC = ScoreRule(
    name="smm_mayo_2018",
    ref=REF,
    stages=STAGES,
    inputs=INPUTS,
    notes=NOTES,
    evaluate=smm_mayo_2018,
    arguments={
        "bmpc_percent": "bmpc_percent",
        "m_protein_g_dl": "m_protein_g_dl",
        "flc_ratio_involved_uninvolved": "flc_ratio_involved_uninvolved",
    },
    diseases=("multiple_myeloma",),
    outcomes=OUTCOMES,
    applies=smouldering_risk_applies,
    settings=("smm",),  # risk of progression of smouldering myeloma
)
