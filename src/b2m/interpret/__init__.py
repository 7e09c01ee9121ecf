"""What one serum B2M result can and cannot mean: reference intervals and confounder flags.

Entry point: :func:`interpret_b2m`. Imports point one way: ``units`` and ``rules`` <- ``interpret``.
"""

from b2m.interpret.b2m import (
    ISS_BANDS,
    B2MInterpretation,
    interpret_b2m,
    iss_bands,
)
from b2m.interpret.context import ContextMatches, Match, Skipped, match_conditions, match_medications
from b2m.interpret.flags import Flag
from b2m.interpret.reference_intervals import MAYO_B2M_SERUM, ReferenceInterval

__all__ = [
    "ISS_BANDS",
    "MAYO_B2M_SERUM",
    "B2MInterpretation",
    "ContextMatches",
    "Flag",
    "Match",
    "ReferenceInterval",
    "Skipped",
    "interpret_b2m",
    "iss_bands",
    "match_conditions",
    "match_medications",
]
