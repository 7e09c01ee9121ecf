"""Survival analytics by staging system: Kaplan–Meier, log-rank, Cox, Harrell's and Uno's C.

Kaplan–Meier curves, log-rank tests and Cox models are fitted by **lifelines** (Davidson-Pilon C.
lifelines: survival analysis in Python. JOSS 2019;4(40):1317, DOI 10.21105/joss.01317); the
concordance of a stage is counted here in O(n log n) and checked against lifelines and
scikit-survival. The package:

- :mod:`.common` - the systems, stages and endpoints analysed; the rows each analysis uses
- :mod:`.accounting` - how many patients each system staged, and the possible stages of the others
- :mod:`.lifelines_fits` - Kaplan–Meier, log-rank and Cox, fitted by lifelines
- :mod:`.concordance` - Harrell's and Uno's C of a stage, and the paired bootstrap comparison
- :mod:`.analysis` - :func:`analyse`, every number of the cohort report
- :mod:`.serialise` - :func:`analysis_to_dict`, the numbers as published, with small-count suppression
"""

from __future__ import annotations

from b2m.cohort.survival.accounting import StageAccounting, staging_accounting
from b2m.cohort.survival.analysis import CohortAnalysis, analyse
from b2m.cohort.survival.common import (
    CONFIDENCE,
    DEFAULT_BOOTSTRAP,
    DEFAULT_SEED,
    ENDPOINTS,
    MAX_CURVE_POINTS,
    STAGES,
    SYSTEM_LABELS,
    BoolArray,
    FloatArray,
    IntArray,
    Interval,
    NotEstimable,
    ProgressHook,
    endpoint_columns,
    has_endpoint,
    outcome_rows,
    stage_codes,
    staged_rows,
)
from b2m.cohort.survival.concordance import (
    ConcordanceComparison,
    ConcordanceCounts,
    ConcordanceRow,
    SortedOutcomes,
    censoring_survival,
    compare_concordance,
    stage_concordance,
)
from b2m.cohort.survival.lifelines_fits import (
    AGE_PER_YEARS,
    EGFR_PER,
    CoxModel,
    CoxResults,
    CoxTerm,
    KMGroup,
    KMResult,
    LogRank,
    at_risk_grid,
    cox_models,
    kaplan_meier,
    logrank,
)
from b2m.cohort.survival.serialise import analysis_to_dict

__all__ = [
    "AGE_PER_YEARS",
    "CONFIDENCE",
    "DEFAULT_BOOTSTRAP",
    "DEFAULT_SEED",
    "EGFR_PER",
    "ENDPOINTS",
    "MAX_CURVE_POINTS",
    "STAGES",
    "SYSTEM_LABELS",
    "BoolArray",
    "CohortAnalysis",
    "ConcordanceComparison",
    "ConcordanceCounts",
    "ConcordanceRow",
    "CoxModel",
    "CoxResults",
    "CoxTerm",
    "FloatArray",
    "IntArray",
    "Interval",
    "KMGroup",
    "KMResult",
    "LogRank",
    "NotEstimable",
    "ProgressHook",
    "SortedOutcomes",
    "StageAccounting",
    "analyse",
    "analysis_to_dict",
    "at_risk_grid",
    "censoring_survival",
    "compare_concordance",
    "cox_models",
    "endpoint_columns",
    "has_endpoint",
    "kaplan_meier",
    "logrank",
    "outcome_rows",
    "stage_codes",
    "stage_concordance",
    "staged_rows",
    "staging_accounting",
]
