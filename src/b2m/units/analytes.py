"""Analytes as data: canonical unit, accepted units, plausibility bounds (with reasons), LOINC.

Bounds are deliberately wide: they exist to catch a wrong unit or a typing slip, not to judge
disease. A value outside them is refused, and the error names the accepted unit in which the same
number *would* be plausible (B2M 4200 "mg/L" looks like µg/L).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Analyte:
    key: str  # the JSON contract's lab name
    label: str
    canonical: str  # pint-readable canonical unit
    display: str  # how the canonical unit is printed
    accepted: tuple[str, ...]  # spellings shown in errors; every equivalent spelling is accepted too
    plausible: tuple[float, float]  # closed bounds in the canonical unit
    bounds_reason: str
    context: str | None = None  # pint context for molar <-> mass conversion
    refused: tuple[tuple[str, str], ...] = ()  # units refused on purpose, with the reason
    loinc: tuple[str, ...] = ()


ANALYTES: dict[str, Analyte] = {
    a.key: a
    for a in (
        Analyte(
            "b2m",
            "serum beta-2 microglobulin",
            "mg/L",
            "mg/L",
            ("mg/L", "µg/mL", "µg/L", "ng/mL", "nmol/L"),
            (0.05, 250.0),
            "assays quantify from ~0.2 mg/L (lower results come censored, '<0.2'); long-term dialysis "
            "reaches >60x the upper reference limit (~160 mg/L, b2m reference LAB-1)",
            context="b2m_molar",
            refused=(
                (
                    "mg/dL",
                    "B2M is reported in mg/L; 'mg/dL' is a known mislabelling of mg/L "
                    "(b2m reference E46) and is not multiplied by 10",
                ),
            ),
            loinc=("1952-1",),
        ),
        Analyte(
            "albumin",
            "serum albumin",
            "g/dL",
            "g/dL",
            ("g/dL", "g/L"),
            (1.0, 7.0),
            "below 1 g/dL is not compatible with a usable sample; above 7 g/dL exceeds even haemoconcentration",
            loinc=("1751-7",),
        ),
        Analyte(
            "ldh",
            "serum lactate dehydrogenase",
            "U/L",
            "U/L",
            ("U/L", "IU/L", "µkat/L"),
            (10.0, 50000.0),
            "massive haemolysis or tumour lysis can exceed 10,000 U/L; 50,000 U/L covers them",
            loinc=("2532-0", "14804-9"),
        ),
        Analyte(
            "creatinine",
            "serum creatinine",
            "mg/dL",
            "mg/dL",
            ("mg/dL", "µmol/L", "mg/L"),
            (0.1, 30.0),
            "30 mg/dL (2,652 µmol/L) is beyond untreated end-stage kidney failure",
            context="creatinine_molar",
            loinc=("2160-0", "14682-9", "38483-4"),
        ),
        Analyte(
            "cystatin_c",
            "serum cystatin C",
            "mg/L",
            "mg/L",
            ("mg/L",),
            (0.2, 15.0),
            "standardised assays report about 0.5-1.0 mg/L in health and below 15 mg/L in dialysis",
            loinc=("33863-2",),
        ),
        Analyte(
            "crp",
            "C-reactive protein",
            "mg/L",
            "mg/L",
            ("mg/L", "mg/dL"),
            (0.0, 1000.0),
            "severe sepsis rarely exceeds 500 mg/L",
            loinc=("1988-5",),
        ),
        Analyte(
            "calcium",
            "serum calcium",
            "mg/dL",
            "mg/dL",
            ("mg/dL", "mmol/L"),
            (3.0, 25.0),
            "3-25 mg/dL (0.75-6.2 mmol/L) spans every survivable total calcium",
            context="calcium_molar",
            loinc=("17861-6", "2000-8"),
        ),
        Analyte(
            "hemoglobin",
            "haemoglobin",
            "g/dL",
            "g/dL",
            ("g/dL", "g/L"),
            (2.0, 25.0),
            "2-25 g/dL spans every survivable haemoglobin",
            loinc=("718-7",),
        ),
        Analyte(
            "platelets",
            "platelet count",
            "1e9/L",
            "10^9/L",
            ("10^9/L", "10*9/L", "10^3/µL", "K/µL", "/µL"),
            (0.0, 5000.0),
            "counts above 5,000 x10^9/L have not been reported",
            loinc=("777-3",),
        ),
        Analyte(
            "m_protein",
            "serum M-protein",
            "g/dL",
            "g/dL",
            ("g/dL", "g/L"),
            (0.0, 15.0),
            "the largest reported serum M-spikes are about 12 g/dL",
            loinc=("33358-3", "51435-6"),
        ),
        Analyte(
            "urine_m_protein",
            "urine M-protein",
            "mg/(24*h)",
            "mg/24 h",
            ("mg/24 h", "g/24 h"),
            (0.0, 100000.0),
            "cast nephropathy can excrete tens of grams a day; 100 g/24 h is beyond reported values",
        ),
        Analyte(
            "flc_kappa",
            "serum free kappa light chain",
            "mg/L",
            "mg/L",
            ("mg/L", "mg/dL"),
            (0.0, 200000.0),
            "light-chain myeloma can exceed 10,000 mg/L; 200,000 mg/L is beyond reported values",
            loinc=("36916-5",),
        ),
        Analyte(
            "flc_lambda",
            "serum free lambda light chain",
            "mg/L",
            "mg/L",
            ("mg/L", "mg/dL"),
            (0.0, 200000.0),
            "light-chain myeloma can exceed 10,000 mg/L; 200,000 mg/L is beyond reported values",
            loinc=("33944-0",),
        ),
    )
}

LAB_NAMES: tuple[str, ...] = tuple(ANALYTES)
