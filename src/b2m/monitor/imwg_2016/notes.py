"""The notes of IMWG 2016 response: every disputed or unconfirmed reading and the choice b2m made.

Kumar S, et al. International Myeloma Working Group consensus criteria for response and minimal
residual disease assessment in multiple myeloma. Lancet Oncol. 2016;17(8):e328-e346.
DOI 10.1016/S1470-2045(16)30206-6.

:data:`NOTES` are attached to every assessment and to the rule in the output; :data:`SETTING_NOTES`
(b2m's windows, and what is not evaluated) to every response history. Their numbers are rendered
from :mod:`.constants`, the values the computation uses.
"""

from __future__ import annotations

from b2m.monitor.imwg_2016.constants import (
    ASSESSMENT_WINDOW_DAYS,
    BASELINE_WINDOW_DAYS,
    MR_SERUM_REDUCTION_MIN_PERCENT,
    PD_FLC_DIFFERENCE_RISE_ABOVE_MG_L,
    PD_SERUM_HIGH_NADIR_MIN_G_DL,
    PD_SERUM_HIGH_NADIR_RISE_MIN_G_DL,
    PD_SERUM_RISE_MIN_G_DL,
    PR_SERUM_REDUCTION_MIN_PERCENT,
)
from b2m.rules.base import Note

NOTES: tuple[Note, ...] = (
    Note(
        "imwg2016_pd_serum_absolute_rise",
        "discrepancy",
        f"Serum PD needs an absolute rise ≥ {PD_SERUM_RISE_MIN_G_DL} g/dL from the nadir, as in Kumar 2016 and the "
        f"IMWG 2006/2011 tables (b2m reference E37); a 2023 review writes '> {PD_SERUM_RISE_MIN_G_DL} "
        f"g/dL', under which a rise of exactly {PD_SERUM_RISE_MIN_G_DL} g/dL would not be PD.",
    ),
    Note(
        "imwg2016_pd_flc_unit",
        "discrepancy",
        f"FLC PD needs the involved-uninvolved difference to rise by more than 10 mg/dL "
        f"({PD_FLC_DIFFERENCE_RISE_ABOVE_MG_L} mg/L; exactly 10 mg/dL does not qualify, b2m reference E38). Kyle & "
        "Rajkumar 2008 print '> 10 mg/L', most likely a unit typo; b2m uses mg/dL.",
    ),
    Note(
        "imwg2016_mr_upper_bound",
        "discrepancy",
        f"MR is a serum reduction of ≥ {MR_SERUM_REDUCTION_MIN_PERCENT}% and < {PR_SERUM_REDUCTION_MIN_PERCENT}% "
        "(PR starts at 50%); the upper bound is printed '≤ 49%' (Kumar 2016) or '< 49%' (older tables), which "
        "leave 49-50% unassigned (b2m reference E39).",
    ),
    Note(
        "imwg2016_confirmation",
        "unconfirmed",
        "Every category needs two consecutive assessments before new therapy (b2m reference RESP-8 [S], "
        "b2m reference E41). b2m confirms a response when an adjacent assessment of the same line is at least as good, "
        "and PD when an adjacent assessment is also PD; a not-evaluable assessment in between breaks the pair.",
    ),
    Note(
        "imwg2016_lesion_wording",
        "unconfirmed",
        "The exact Kumar 2016 wording for new lesions, lesion growth and circulating plasma cells is unconfirmed "
        "(b2m reference RESP-5 [U]). b2m counts imaging events 'new_bone_lesion', 'new_soft_tissue_plasmacytoma' and "
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
        "Light-chain escape is not in the IMWG 2016 criteria (b2m reference RESP-7), whose FLC rule applies only when "
        "serum and urine M-protein were not measurable. b2m counts a dFLC rise meeting that rule in "
        "serum/urine-followed disease as PD (type 'light_chain_escape'); the alternative is to report it "
        "as a flag only.",
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
        "b2m choices (no published window; b2m reference RESP-2, RESP-3): the baseline of a line is the "
        f"latest result in the {BASELINE_WINDOW_DAYS} days up to and including its start; results within "
        f"{ASSESSMENT_WINDOW_DAYS} days of each other form one assessment.",
    ),
    Note(
        "imwg2016_not_evaluated",
        "caveat",
        "Not evaluated: MRD categories, circulating plasma cells, soft-tissue plasmacytoma size, and hypercalcaemia "
        "(a PD criterion of the 2006 version only).",
    ),
)
