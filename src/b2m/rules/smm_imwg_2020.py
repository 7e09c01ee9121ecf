r"""IMWG 2020 risk-scoring tool for smouldering multiple myeloma (Mateos 2020).

Mateos MV, Kumar S, Dimopoulos MA, et al. International Myeloma Working Group risk stratification
model for smoldering multiple myeloma (SMM). Blood Cancer J. 2020;10(10):102.
DOI 10.1038/s41408-020-00366-3 (b2m reference SMM-3).

.. math::

    \text{score} = P_{\mathrm{FLCr}} + P_{\text{M-protein}} + P_{\mathrm{BMPC}} + 2\,[\text{FISH abnormality}]

with the points of each variable read from lower-exclusive bins (``(lower, upper]``; the first bin
starts at 0 inclusive), :data:`FLC_RATIO_BINS`, :data:`M_PROTEIN_BINS_G_DL`, :data:`BMPC_BINS_PERCENT`.
The total (0–17) falls in one of four groups, :data:`BANDS`. The point table comes from a 2022 review
and the group risks from the QxMD summary of the paper [S]; the exact bin edges are unconfirmed [U]
(b2m reference E21) and the FISH list and low-group bounds disputed [D] — each choice is a note on every
result.

The tool was fitted on the 689 patients with all four variables known (complete cases) [C]. With
unknown variables b2m reports the range of totals and every group some completion reaches.
"""

from __future__ import annotations

from collections.abc import Sequence

from b2m.provenance import RuleRef, Source
from b2m.rules._points import Band, Options, determined, possible_bands, score_range, yes_no
from b2m.rules.base import Criterion, Note, Outcome, RuleResult
from b2m.rules.checks import check_bool, check_number, flc_ratio_orientation_note
from b2m.rules.imwg_2014 import smouldering_risk_applies
from b2m.rules.kleene import Num, Tri, gt, le, or_
from b2m.rules.spec import ScoreRule

SOURCE = Source(
    "Mateos MV, Kumar S, Dimopoulos MA, et al. International Myeloma Working Group risk stratification "
    "model for smoldering multiple myeloma (SMM). Blood Cancer J. 2020;10(10):102.",
    "10.1038/s41408-020-00366-3",
)
REF = RuleRef("smm_imwg_2020", "2020", "IMWG 2020 smouldering myeloma risk-scoring tool", SOURCE)
INPUTS: tuple[str, ...] = (
    "flc_ratio_involved_uninvolved",
    "m_protein_g_dl",
    "bmpc_percent",
    "t4_14",
    "t14_16",
    "gain1q",
    "del13q",
)

Bins = tuple[tuple[float | None, int], ...]
# (upper bound inclusive, points); each bin runs from the previous upper bound (exclusive) — the
# ">lower–upper" reading (b2m reference SMM-3, E21) [U]. None = no upper bound.
FLC_RATIO_BINS: Bins = ((10.0, 0), (25.0, 2), (40.0, 3), (None, 5))  # involved/uninvolved FLC ratio
M_PROTEIN_BINS_G_DL: Bins = ((1.5, 0), (3.0, 3), (None, 4))  # serum M-protein, g/dL
BMPC_BINS_PERCENT: Bins = ((15.0, 0), (20.0, 2), (30.0, 3), (40.0, 5), (None, 6))  # clonal BMPC, %
FISH_POINTS = 2  # any of the FISH abnormalities of FISH_ABNORMALITIES present
FISH_ABNORMALITIES: tuple[str, ...] = ("t(4;14)", "t(14;16)", "+1q", "del(13q)")  # Mateos abstract [D]

LOW, LOW_INTERMEDIATE, INTERMEDIATE_HIGH, HIGH = "low", "low_intermediate", "intermediate_high", "high"
_MAX_TOTAL = FLC_RATIO_BINS[-1][1] + M_PROTEIN_BINS_G_DL[-1][1] + BMPC_BINS_PERCENT[-1][1] + FISH_POINTS
BANDS: tuple[Band, ...] = (
    Band(LOW, 0, 4),  # QxMD: 0–4 [D: the 2022 review prints 1–4]
    Band(LOW_INTERMEDIATE, 5, 8),
    Band(INTERMEDIATE_HIGH, 9, 12),
    Band(HIGH, 13, _MAX_TOTAL),  # "> 12"
)
#: Ordering of ``possible``.
STAGES: tuple[str, ...] = tuple(b.group for b in BANDS)

_COHORT = "IMWG 2020 scoring-tool cohort, 689 patients with all four variables (as summarised by QxMD)"
OUTCOMES: tuple[Outcome, ...] = (
    *(
        Outcome(g, "2-year progression to multiple myeloma", v, "%", _COHORT, SOURCE, "S")
        for g, v in zip(STAGES, (3.8, 26, 51, 73), strict=True)
    ),
    *(
        Outcome(g, "hazard ratio for progression vs the low group", v, "ratio", _COHORT, SOURCE, "S")
        for g, v in zip(STAGES[1:], (7.56, 17.3, 31.9), strict=True)
    ),
)


def _bins_text(bins: Bins, unit: str) -> str:
    parts: list[str] = []
    lower: float | None = None
    for upper, points in bins:
        if lower is None:
            parts.append(f"≤ {upper:g}{unit}: {points}")
        elif upper is None:
            parts.append(f"> {lower:g}{unit}: {points}")
        else:
            parts.append(f"> {lower:g}–{upper:g}{unit}: {points}")
        lower = upper
    return "; ".join(parts)


NOTES: tuple[Note, ...] = (
    Note(
        "smm_imwg_2020_bin_edges",
        "unconfirmed",
        "Bin edges are unconfirmed [U]: the review prints integer bins (e.g. '11–25', '1.6–2.9', "
        "'16–20') that leave gaps. b2m closes them lower-exclusive: FLC ratio "
        f"{_bins_text(FLC_RATIO_BINS, '')}; M-protein {_bins_text(M_PROTEIN_BINS_G_DL, ' g/dL')}; BMPC "
        f"{_bins_text(BMPC_BINS_PERCENT, '%')} (b2m reference E21).",
    ),
    Note(
        "smm_imwg_2020_fish_list",
        "discrepancy",
        f"FISH abnormality ({FISH_POINTS} points): b2m uses {', '.join(FISH_ABNORMALITIES)} as listed in "
        "the Mateos 2020 abstract; a 2022 review table lists del(17p), t(4;14), gain 1q and del13 "
        "instead (del(17p) in place of t(14;16)).",
    ),
    Note(
        "smm_imwg_2020_low_group",
        "discrepancy",
        f"Low group: totals {BANDS[0].describe()} as summarised by QxMD; a 2022 review prints 1–4.",
    ),
    Note(
        "smm_imwg_2020_risk_figures",
        "discrepancy",
        "2-year progression 3.8 / 26 / 51 / 73% (QxMD summary of the paper); the 2022 review "
        "rounds them to 5 / 25 / 50 / 75%. Figures are secondary-source [S], so the settled group's "
        "figure is given in a note, not as an outcome.",
    ),
    Note(
        "smm_imwg_2020_setting",
        "setting",
        "For smouldering myeloma as defined by IMWG 2014 (no myeloma-defining event).",
    ),
)


def bin_options(x: Num, bins: Bins) -> Options:
    """Points of every bin the (possibly censored or unknown) value can lie in."""
    out: list[int] = []
    lower: float | None = None
    for upper, points in bins:
        above_lower: Tri = True if lower is None else gt(x, lower)
        below_upper: Tri = True if upper is None else le(x, upper)
        if above_lower is not False and below_upper is not False:
            out.append(points)
        lower = upper
    return tuple(out)


def _criterion(code: str, label: str, options: Options, inputs: Sequence[str], text: str) -> Criterion:
    """A variable scores > 0 points: met True/False, or None while its bin is undecided."""
    met: Tri = True if min(options) > 0 else (False if max(options) == 0 else None)
    return Criterion(code, f"{label} ({text})", met, tuple(inputs))


def smm_imwg_2020(
    *,
    flc_ratio_involved_uninvolved: Num,
    m_protein_g_dl: Num,
    bmpc_percent: Num,
    t4_14: bool | None,
    t14_16: bool | None,
    gain1q: bool | None,
    del13q: bool | None,
) -> RuleResult:
    """IMWG 2020 SMM score and group. ``gain1q`` is 1q gain or amplification (+1q)."""
    check_number("flc_ratio_involved_uninvolved", flc_ratio_involved_uninvolved)
    check_number("m_protein_g_dl", m_protein_g_dl)
    check_number("bmpc_percent", bmpc_percent, 100.0)
    for name, flag in (("t4_14", t4_14), ("t14_16", t14_16), ("gain1q", gain1q), ("del13q", del13q)):
        check_bool(name, flag)

    fish = or_(t4_14, t14_16, gain1q, del13q)
    options = [
        bin_options(flc_ratio_involved_uninvolved, FLC_RATIO_BINS),
        bin_options(m_protein_g_dl, M_PROTEIN_BINS_G_DL),
        bin_options(bmpc_percent, BMPC_BINS_PERCENT),
        yes_no(fish, FISH_POINTS),
    ]
    criteria = (
        _criterion(
            "flc_ratio",
            "involved/uninvolved FLC ratio scores points",
            options[0],
            ("flc_ratio_involved_uninvolved",),
            _bins_text(FLC_RATIO_BINS, ""),
        ),
        _criterion(
            "m_protein",
            "serum M-protein scores points",
            options[1],
            ("m_protein_g_dl",),
            _bins_text(M_PROTEIN_BINS_G_DL, " g/dL"),
        ),
        _criterion(
            "bmpc",
            "clonal BMPC scores points",
            options[2],
            ("bmpc_percent",),
            _bins_text(BMPC_BINS_PERCENT, "%"),
        ),
        Criterion(
            "fish",
            f"FISH abnormality: any of {', '.join(FISH_ABNORMALITIES)} ({FISH_POINTS} points)",
            fish,
            ("t4_14", "t14_16", "gain1q", "del13q"),
        ),
    )
    possible = possible_bands(options, BANDS)
    inputs: dict[str, object] = {
        "flc_ratio_involved_uninvolved": flc_ratio_involved_uninvolved,
        "m_protein_g_dl": m_protein_g_dl,
        "bmpc_percent": bmpc_percent,
        "t4_14": t4_14,
        "t14_16": t14_16,
        "gain1q": gain1q,
        "del13q": del13q,
    }
    fish_names = ("t4_14", "t14_16", "gain1q", "del13q")
    missing = tuple(k for k, v in inputs.items() if v is None and (k not in fish_names or fish is None))
    notes = list(NOTES)
    if orientation := flc_ratio_orientation_note(flc_ratio_involved_uninvolved, "smm_imwg_2020"):
        notes.append(orientation)
    if missing:
        notes.append(
            Note(
                "smm_imwg_2020_complete_case",
                "missing",
                f"Unknown: {', '.join(missing)}. The tool was fitted on the 689 patients with all four "
                "variables known (complete cases); the total is given as a range and every group it can "
                "reach is listed.",
            )
        )
    return RuleResult(
        rule=REF,
        possible=possible,
        criteria=criteria,
        inputs=inputs,
        missing=missing,
        notes=tuple(notes),
        outcomes=OUTCOMES,  # RuleResult keeps only the settled stage's confirmed figures
        score=determined(options),
        score_range=score_range(options),
    )


SPEC = ScoreRule(
    name="smm_imwg_2020",
    ref=REF,
    stages=STAGES,
    inputs=INPUTS,
    notes=NOTES,
    evaluate=smm_imwg_2020,
    arguments={
        "flc_ratio_involved_uninvolved": "flc_ratio_involved_uninvolved",
        "m_protein_g_dl": "m_protein_g_dl",
        "bmpc_percent": "bmpc_percent",
        "t4_14": "t4_14",
        "t14_16": "t14_16",
        "gain1q": "gain1q",
        "del13q": "del13q",
    },
    diseases=("multiple_myeloma",),
    outcomes=OUTCOMES,
    applies=smouldering_risk_applies,
    settings=("smm",),  # risk of progression of smouldering myeloma
)
