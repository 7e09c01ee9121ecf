"""IMWG 2016 response and progression criteria for multiple myeloma, over a dated series.

Kumar S, et al. International Myeloma Working Group consensus criteria for response and minimal
residual disease assessment in multiple myeloma. Lancet Oncol. 2016;17(8):e328-e346.
DOI 10.1016/S1470-2045(16)30206-6. Criteria as in b2m reference RESP (table [S], confirmation [S],
measurable disease [S], relapse from CR [S]) and the edge-case rows (b2m reference E37-E41).

:func:`evaluate` computes, for each line of therapy (re-baselined at its start), the followed marker,
the category of every assessment (with every category still ``possible`` where results are missing:
unknown is never normal), confirmation, the best response and the progression events. The package,
in the order the computation runs:

- :mod:`.constants` - the source, the categories, every threshold (inclusive or exclusive) and window
- :mod:`.notes` - each disputed or unconfirmed reading and the choice made, rendered from the constants
- :mod:`.values` - exact interval arithmetic on canonical values (censored results are intervals)
- :mod:`.baseline` - therapy lines, the baseline of each, measurable disease (the followed marker)
- :mod:`.assessment` - one assessment's results, nadirs, classification and shown measurements
- :mod:`.ladder` - sCR ... SD of one assessment, and the categories still possible with PD
- :mod:`.progression` - PD, relapse from CR, light-chain escape (b2m extension), a line's events
- :mod:`.confirmation` - two consecutive assessments, and the best response of a line
- :mod:`.history` - assessments grouped in time, nadirs, every line: :func:`evaluate`
"""

from __future__ import annotations

from b2m.monitor.imwg_2016.assessment import AssessmentData, Classification, Nadirs
from b2m.monitor.imwg_2016.baseline import Baseline, MeasurableDisease, measurable_disease
from b2m.monitor.imwg_2016.confirmation import Assessment, BestResponse
from b2m.monitor.imwg_2016.constants import (
    ASSESSMENT_WINDOW_DAYS,
    BASELINE_WINDOW_DAYS,
    CATEGORIES,
    KUMAR_2016,
    NOT_EVALUABLE,
    RULE,
)
from b2m.monitor.imwg_2016.history import LineResult, ResponseHistory, evaluate
from b2m.monitor.imwg_2016.ladder import classify
from b2m.monitor.imwg_2016.notes import NOTES
from b2m.monitor.imwg_2016.progression import ProgressionEvent

__all__ = [
    "ASSESSMENT_WINDOW_DAYS",
    "BASELINE_WINDOW_DAYS",
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
