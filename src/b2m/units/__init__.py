"""Units: the one registry and the parsing of lab values at the edge."""

from b2m.units.analytes import ANALYTES, LAB_NAMES, Analyte
from b2m.units.censored import Censored
from b2m.units.labvalue import CENSORED_PATTERN, LabValue, parse_lab, parse_number, unit_factor

__all__ = [
    "ANALYTES",
    "CENSORED_PATTERN",
    "LAB_NAMES",
    "Analyte",
    "Censored",
    "LabValue",
    "parse_lab",
    "parse_number",
    "unit_factor",
]
