"""IMWG 2016 response criteria: the source, the categories, and every threshold and window.

Kumar S, et al. International Myeloma Working Group consensus criteria for response and minimal
residual disease assessment in multiple myeloma. Lancet Oncol. 2016;17(8):e328-e346.
DOI 10.1016/S1470-2045(16)30206-6.

Each threshold is named after what it bounds, carries its unit in its name and says in a comment
whether its boundary is inclusive or exclusive; the notes (:mod:`.notes`), the criterion texts and
the tests are written from these values.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Literal

from b2m.provenance import RuleRef, Source

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
# Thresholds: Kumar 2016 (b2m reference RESP, EDGE-2); each boundary's side is written out.
# Canonical units: serum M-protein g/dL, urine M-protein mg/24 h, FLC mg/L, marrow %.
# ---------------------------------------------------------------------------------------------

# Measurable disease (b2m reference RESP-2, [S] CIBMTR manual).
MEASURABLE_SERUM_M_PROTEIN_MIN_G_DL = Decimal("1")  # ≥ 1 g/dL (inclusive)
MEASURABLE_URINE_M_PROTEIN_MIN_MG_24H = Decimal("200")  # ≥ 200 mg/24 h (inclusive)
MEASURABLE_INVOLVED_FLC_MIN_MG_L = Decimal("100")  # ≥ 10 mg/dL = 100 mg/L (inclusive), with abnormal ratio
# Normal serum κ/λ ratio 0.26-1.65, both ends normal (b2m reference IMWG14-4, E29: abnormal is < 0.26 or > 1.65).
FLC_RATIO_NORMAL_MIN = Decimal("0.26")
FLC_RATIO_NORMAL_MAX = Decimal("1.65")

# CR / sCR (b2m reference RESP-4).
CR_MARROW_PLASMA_CELLS_BELOW_PERCENT = Decimal("5")  # < 5% (exclusive: 5% is not CR)
# VGPR.
VGPR_SERUM_REDUCTION_MIN_PERCENT = Decimal("90")  # ≥ 90% (inclusive, b2m reference E40)
VGPR_URINE_BELOW_MG_24H = Decimal("100")  # < 100 mg/24 h (exclusive)
# PR.
PR_SERUM_REDUCTION_MIN_PERCENT = Decimal("50")  # ≥ 50% (inclusive, b2m reference E40)
PR_URINE_REDUCTION_MIN_PERCENT = Decimal("90")  # ≥ 90% (inclusive) ...
PR_URINE_BELOW_MG_24H = Decimal("200")  # ... or < 200 mg/24 h (exclusive)
PR_FLC_DIFFERENCE_REDUCTION_MIN_PERCENT = Decimal("50")  # ≥ 50% (inclusive), FLC-only disease
PR_MARROW_REDUCTION_MIN_PERCENT = Decimal("50")  # ≥ 50% (inclusive), marrow-only disease ...
PR_MARROW_BASELINE_MIN_PERCENT = Decimal("30")  # ... provided the baseline was ≥ 30% (inclusive)
# MR: 25% ≤ serum reduction < 50% (the upper bound is PR's lower bound; printed "≤ 49%" or "< 49%"
# [D], b2m reference E39) and 50% ≤ urine reduction < 90%.
MR_SERUM_REDUCTION_MIN_PERCENT = Decimal("25")  # ≥ 25% (inclusive)
MR_URINE_REDUCTION_MIN_PERCENT = Decimal("50")  # ≥ 50% (inclusive)
# PD: ≥ 25% above the nadir (inclusive) plus an absolute rise.
PD_RISE_FROM_NADIR_MIN_PERCENT = Decimal("25")
PD_SERUM_RISE_MIN_G_DL = Decimal("0.5")  # ≥ 0.5 g/dL (inclusive; "> 0.5" in a 2023 review [D], b2m reference E37)
PD_SERUM_HIGH_NADIR_MIN_G_DL = Decimal("5")  # nadir ≥ 5 g/dL (inclusive) ...
PD_SERUM_HIGH_NADIR_RISE_MIN_G_DL = Decimal("1")  # ... then a rise ≥ 1 g/dL (inclusive)
PD_URINE_RISE_MIN_MG_24H = Decimal("200")  # ≥ 200 mg/24 h (inclusive)
# > 10 mg/dL = 100 mg/L (exclusive; "> 10 mg/L" [D], b2m reference E38)
PD_FLC_DIFFERENCE_RISE_ABOVE_MG_L = Decimal("100")
PD_MARROW_RISE_MIN_PERCENT = Decimal("10")  # ≥ 10 percentage points (inclusive)
# Relapse from CR: marrow plasma cells ≥ 5% (inclusive), instead of PD's 10-point rise (b2m reference RESP-6 [S]).
RELAPSE_FROM_CR_MARROW_MIN_PERCENT = Decimal("5")

# b2m choices (no published windows; b2m reference RESP-2, RESP-3); stated in notes on every line.
BASELINE_WINDOW_DAYS = 30  # baseline = latest result in the 30 days up to and including the line start
# results within 3 days form one assessment (MM_response_module PR #11; b2m reference RESP-11)
ASSESSMENT_WINDOW_DAYS = 3

PD_FINDINGS = ("new_bone_lesion", "new_soft_tissue_plasmacytoma", "lesion_growth_50_percent")

# Serum, urine and FLC results that follow the disease (marrow and immunofixation are kept apart).
DISEASE_LABS = ("m_protein", "urine_m_protein", "flc_kappa", "flc_lambda")
