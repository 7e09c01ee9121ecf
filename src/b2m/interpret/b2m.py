"""What one serum B2M result can and cannot mean.

:func:`interpret_b2m` places one result against a reference interval (the reporting lab's, else a
cited default), names its ISS B2M band (Greipp 2005 cut-offs), and flags every confounder the
other inputs give evidence of: reduced kidney function, inflammation, infection, autoimmune,
liver or other lymphoproliferative disease, solid tumour, kidney transplant, dialysis, drugs, and
technical issues of the result itself (unit, method, biotin, censoring, very high values).

Sources: ISS (Greipp PR et al. J Clin Oncol. 2005;23(15):3412-3420, DOI 10.1200/JCO.2005.04.242;
b2m reference ISS-2), B2M biology, reference intervals, methods and confounders (b2m reference LAB),
and the IMS/IMWG 2025 B2M criterion and kidney function (b2m reference HR25-3, E48).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from b2m.errors import InputError
from b2m.interpret import reference_intervals as ri
from b2m.interpret.context import ContextMatches, match_conditions, match_medications
from b2m.interpret.flags import (
    SEVERITY_RANK,
    Findings,
    Flag,
    censor_words,
    check_context,
    check_inflammation,
    check_kidney,
    check_technical,
    lab_text,
)
from b2m.interpret.reference_intervals import Position, ReferenceInterval
from b2m.rules.base import Note, input_repr
from b2m.rules.checks import check_lab, check_number
from b2m.rules.iss import B2M_STAGE_I_BELOW_MG_L, B2M_STAGE_III_MIN_MG_L
from b2m.rules.iss import SOURCE as ISS_SOURCE
from b2m.units.censored import Censored
from b2m.units.labvalue import LabValue
from b2m.units.registry import round_sig

# The ISS cut-offs and source are the rule's own (b2m.rules.iss: Greipp 2005; < 3.5 exclusive, >= 5.5
# inclusive), imported rather than restated; GREIPP_2005 is that same Source object, kept by name.
GREIPP_2005 = ISS_SOURCE

# The band labels are rendered from the cut-offs: "< 3.5 mg/L", "3.5 to < 5.5 mg/L", "≥ 5.5 mg/L".
IssBand: TypeAlias = str
ISS_BAND_LOW: IssBand = f"< {B2M_STAGE_I_BELOW_MG_L:g} mg/L"
ISS_BAND_MIDDLE: IssBand = f"{B2M_STAGE_I_BELOW_MG_L:g} to < {B2M_STAGE_III_MIN_MG_L:g} mg/L"
ISS_BAND_HIGH: IssBand = f"≥ {B2M_STAGE_III_MIN_MG_L:g} mg/L"
ISS_BANDS: tuple[IssBand, ...] = (ISS_BAND_LOW, ISS_BAND_MIDDLE, ISS_BAND_HIGH)

AGE_ADULT_MIN_YEARS = 18.0  # the cited default interval is an adult interval (b2m reference LAB-2)


@dataclass(frozen=True, slots=True)
class B2MInterpretation:
    """The reading of one serum B2M result, with every flag, note and the inputs it came from."""

    value_received: object  # as received: 300, "<0.5"
    unit_received: str | None
    value_mg_l: float | Censored | None  # canonical
    unit: str
    reference_interval: ReferenceInterval | None
    position: Position
    possible_positions: tuple[Position, ...]
    times_upper_limit: float | None
    iss_band: IssBand | None
    possible_iss_bands: tuple[IssBand, ...]
    flags: tuple[Flag, ...]
    notes: tuple[Note, ...]
    summary_clinician: str
    summary_patient: str
    conditions: ContextMatches = field(default_factory=ContextMatches)
    medications: ContextMatches = field(default_factory=ContextMatches)
    inputs: Mapping[str, object] = field(default_factory=dict)
    b2m: LabValue | None = None  # the parsed result, kept for re-rendering in the reported unit

    @property
    def reference_interval_as_reported(self) -> dict[str, object] | None:
        """The interval in the unit the result was reported in (what a lab report would print)."""
        if self.reference_interval is None or self.b2m is None:
            return None
        lower, upper, unit = self.reference_interval.as_reported(self.b2m)
        return {"lower": lower, "upper": upper, "unit": unit}

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.flags)

    def flag(self, code: str) -> Flag | None:
        return next((f for f in self.flags if f.code == code), None)

    def to_dict(self) -> dict[str, object]:
        return {
            "value_received": self.value_received,
            "unit_received": self.unit_received,
            "value_mg_l": input_repr(self.value_mg_l),
            "unit": self.unit,
            "reference_interval": self.reference_interval.to_dict() if self.reference_interval else None,
            "reference_interval_as_reported": self.reference_interval_as_reported,
            "position": self.position,
            "possible_positions": list(self.possible_positions),
            "times_upper_limit": self.times_upper_limit,
            "iss_band": self.iss_band,
            "iss_band_source": GREIPP_2005.to_dict(),
            "possible_iss_bands": list(self.possible_iss_bands),
            "flags": [f.to_dict() for f in self.flags],
            "notes": [n.to_dict() for n in self.notes],
            "summary_clinician": self.summary_clinician,
            "summary_patient": self.summary_patient,
            "conditions": self.conditions.to_dict(),
            "medications": self.medications.to_dict(),
            "inputs": dict(self.inputs),
        }


# ---------------------------------------------------------------------------------------------
# ISS band
# ---------------------------------------------------------------------------------------------


def iss_bands(b2m: LabValue | None) -> tuple[IssBand, ...]:
    """The ISS B2M bands consistent with the result (Greipp 2005; compared in the reported unit)."""
    if b2m is None:
        return ISS_BANDS
    low = ri.lt(b2m, B2M_STAGE_I_BELOW_MG_L)
    high = ri.ge(b2m, B2M_STAGE_III_MIN_MG_L)
    middle = None if low is None or high is None else not (low or high)
    return tuple(b for b, t in zip(ISS_BANDS, (low, middle, high), strict=True) if t is not False)


# ---------------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------------


def _check_items(name: str, items: Sequence[str]) -> tuple[str, ...]:
    if isinstance(items, str) or not all(isinstance(i, str) for i in items):
        raise InputError(name, "expected a list of strings", '["HIV", "ICD10:M05.9"]')
    return tuple(items)


# ---------------------------------------------------------------------------------------------
# Notes and sentences
# ---------------------------------------------------------------------------------------------


def _interval_notes(b2m: LabValue, interval: ReferenceInterval, age_years: float | None) -> list[Note]:
    notes = [
        Note(
            "methods_not_interchangeable",
            "caveat",
            "B2M results of different manufacturers or methods (nephelometry, turbidimetry, immunometric "
            "assays) are not interchangeable; read a result against its own lab's interval and compare "
            "results over time only within one method (b2m reference LAB-2).",
        )
    ]
    if interval.origin == "default":
        notes.append(
            Note(
                "default_reference_interval",
                "setting",
                f"The result came without a reference interval; the cited default {interval.text()} "
                f"({interval.method}, Mayo Clinic Laboratories, LOINC {interval.loinc}) was used, which "
                "is not necessarily the reporting lab's.",
            )
        )
        if b2m.method is not None and "nephelom" not in b2m.method.casefold():
            notes.append(
                Note(
                    "method_differs_from_default",
                    "caveat",
                    f"The result's method ({b2m.method}) differs from the default interval's "
                    f"({interval.method}); the position is approximate.",
                )
            )
        if age_years is None:
            notes.append(Note("age_not_given", "missing", "Age was not given; the default interval applies to adults."))
        elif age_years < AGE_ADULT_MIN_YEARS:
            notes.append(
                Note(
                    "default_interval_is_adult",
                    "setting",
                    f"The patient is {age_years:g} years old; the default interval is an adult interval and "
                    "no paediatric interval is cited (b2m reference LAB-2).",
                )
            )
    elif interval.lower is None or interval.upper is None:
        side = "lower" if interval.lower is None else "upper"
        notes.append(
            Note(
                "one_sided_interval",
                "setting",
                f"The reporting lab gave no {side} limit; the interval was read as {interval.text()}.",
            )
        )
    if b2m.loinc is not None and b2m.loinc != ri.B2M_SERUM_LOINC:
        what = "urine B2M" if b2m.loinc == ri.B2M_URINE_LOINC else "not the serum B2M code"
        notes.append(
            Note(
                "loinc_not_serum_b2m",
                "caveat",
                f"LOINC {b2m.loinc} is {what} ({ri.B2M_SERUM_LOINC} is serum B2M, b2m reference LAB-5); "
                "this interpretation is for serum.",
            )
        )
    return notes


def _iss_notes() -> list[Note]:
    return [
        Note(
            "iss_b2m_operator",
            "discrepancy",
            f"The top ISS band is B2M ≥ {B2M_STAGE_III_MIN_MG_L:g} mg/L as in Greipp 2005; the IMWG web copy "
            "of the abstract, the R-ISS abstract and a 2022 review print '> 5.5' (b2m reference D1). "
            f"Exactly {B2M_STAGE_III_MIN_MG_L:g} mg/L would fall in the middle band under '>'.",
        ),
        Note(
            "iss_band_is_not_a_stage",
            "setting",
            "The ISS B2M band is not an ISS stage: stage I also needs albumin ≥ 3.5 g/dL; ISS was built at "
            "diagnosis of symptomatic myeloma (b2m reference E47); it uses B2M as measured even "
            "when GFR is reduced (b2m reference E48).",
        ),
    ]


_POSITION_WORDS_PATIENT = {"below": "lower than", "within": "inside", "above": "higher than"}


def _value_text(b2m: LabValue) -> str:
    return f"{b2m.value} mg/L" if isinstance(b2m.value, Censored) else f"{b2m.value:g} mg/L"


def _clinician_summary(
    b2m: LabValue | None,
    interval: ReferenceInterval | None,
    pos: Position,
    possible: tuple[Position, ...],
    ratio: float | None,
    bands: tuple[IssBand, ...],
    flags: Sequence[Flag],
) -> str:
    # Read by people (reports, CDS cards, FHIR notes): the flag's code in words; the code itself is in `flags`.
    flag_txt = (
        "flags: " + ", ".join(f"{f.code.replace('_', ' ')} ({f.severity})" for f in flags)
        if flags
        else "no flags from the inputs given"
    )
    if b2m is None or interval is None:
        return f"No serum B2M result was given, so it has no position or ISS band; {flag_txt}."
    reported = "" if b2m.factor == 1.0 else f" (reported {lab_text(b2m)})"
    where = pos if pos != "unknown" else f"undetermined ({' or '.join(possible)}) against"
    origin = "the reporting lab's" if interval.origin == "reporting_lab" else "the default (Mayo Clinic Laboratories)"
    method = f", {interval.method}" if interval.method else ", method not stated"
    times = f", {ratio:.2f}× the upper limit" if ratio is not None else ""
    band = bands[0] if len(bands) == 1 else f"undetermined ({' or '.join(bands)})"
    interval_txt = interval.text()
    if b2m.factor != 1.0:  # show the interval first in the unit it was defined in
        lower, upper = (None if x is None else round_sig(x, 4) for x in (interval.lower, interval.upper))
        canonical = ri.limits_text(lower, upper, interval.unit)
        in_unit = interval.text_as_reported(b2m)
        own = interval.origin == "reporting_lab"
        interval_txt = f"{in_unit} (= {canonical})" if own else f"{canonical} ({in_unit})"
    return (
        f"Serum B2M {_value_text(b2m)}{reported} is {where} {origin} reference interval "
        f"{interval_txt}{method}{times}; ISS B2M band {band}; {flag_txt}."
    )


def _patient_range(interval: ReferenceInterval, b2m: LabValue) -> str:
    """The range in the unit on the patient's own lab report."""
    lower, upper, unit = interval.as_reported(b2m)
    if lower is not None and upper is not None:
        return f"{lower:g} to {upper:g} {unit}"
    if upper is not None:
        return f"up to {upper:g} {unit}"
    return f"at least {lower:g} {unit}"


def _patient_summary(
    b2m: LabValue | None, interval: ReferenceInterval | None, pos: Position, flags: Sequence[Flag]
) -> str:
    intro = "B2M (beta-2 microglobulin) is a protein in the blood."
    if b2m is None or interval is None:
        return f"{intro} There is no B2M result to explain yet."
    x = ri.as_reported(b2m)  # the number and unit on the patient's own lab report
    if isinstance(x, Censored):
        value = f"Your result was given as {censor_words(x)} {b2m.received_unit}."
    else:
        value = f"Your result is {x:g} {b2m.received_unit}."
    whose = "the usual range for this lab" if interval.origin == "reporting_lab" else "a common usual range"
    rng = _patient_range(interval, b2m)
    where = (
        f"This is {_POSITION_WORDS_PATIENT[pos]} {whose}, which is {rng}."
        if pos != "unknown"
        else f"We cannot tell if it is inside {whose}, which is {rng}."
    )
    more = (
        " Other things can also change B2M, so your care team will look at it with your other health details."
        if any(SEVERITY_RANK[f.severity] >= SEVERITY_RANK["caution"] for f in flags)
        else ""
    )
    return f"{intro} {value} {where}{more}"


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def interpret_b2m(
    *,
    b2m: LabValue | None,
    age_years: float | None,
    egfr_ml_min_1_73m2: float | None,
    egfr_equation: str | None,
    creatinine: LabValue | None,
    crp: LabValue | None,
    conditions: Sequence[str],
    medications: Sequence[str],
) -> B2MInterpretation:
    """Read one serum B2M result against its reference interval, the ISS bands and its confounders.

    All inputs may be unknown (``None`` / empty); a missing input never silences a flag that other
    evidence raises, and never raises one by itself (``kidney_function_unknown`` says only that
    kidney function was not given; with listed chronic kidney disease a note says it instead). Lab
    values come parsed by :func:`b2m.units.parse_lab`; eGFR is computed by the caller and passed with
    the name of its equation.
    """
    check_lab("b2m", b2m, "b2m")
    check_lab("creatinine", creatinine, "creatinine")
    check_lab("crp", crp, "crp")
    check_number("age_years", age_years, 130.0, censored=False)
    check_number("egfr_ml_min_1_73m2", egfr_ml_min_1_73m2, 300.0, censored=False)
    if egfr_equation is not None and not isinstance(egfr_equation, str):
        raise InputError("egfr_equation", f"expected the equation's name, got {egfr_equation!r}", "a string")
    equation = egfr_equation.strip() or None if egfr_equation is not None else None
    cond = match_conditions(_check_items("conditions", conditions))
    meds = match_medications(_check_items("medications", medications))

    out = Findings()
    interval: ReferenceInterval | None = None
    if b2m is None:
        out.notes.append(Note("b2m_missing", "missing", "No serum B2M result was given."))
    else:
        interval = ri.interval_for(b2m)
        out.notes.extend(_interval_notes(b2m, interval, age_years))
        out.notes.extend(_iss_notes())

    check_kidney(
        out,
        b2m=b2m,
        egfr=float(egfr_ml_min_1_73m2) if egfr_ml_min_1_73m2 is not None else None,
        equation=equation,
        creatinine=creatinine,
        on_dialysis=bool(cond.of("dialysis")),
        known_kidney_disease=bool(cond.of("known_kidney_disease")),
    )
    check_inflammation(out, crp=crp)
    check_context(out, cond)
    check_context(out, meds)
    check_technical(out, b2m=b2m, medications=meds)

    pos, possible = ri.position(b2m, interval if interval is not None else ri.MAYO_B2M_SERUM)
    ratio = ri.times_upper_limit(b2m, interval) if interval is not None else None
    bands = iss_bands(b2m)
    flags = tuple(out.flags)
    return B2MInterpretation(
        value_received=b2m.received_value if b2m else None,
        unit_received=b2m.received_unit if b2m else None,
        value_mg_l=b2m.value if b2m else None,
        unit="mg/L",
        reference_interval=interval,
        position=pos,
        possible_positions=possible,
        times_upper_limit=ratio,
        iss_band=bands[0] if len(bands) == 1 else None,
        possible_iss_bands=bands,
        flags=flags,
        notes=tuple(out.notes),
        summary_clinician=_clinician_summary(b2m, interval, pos, possible, ratio, bands, flags),
        summary_patient=_patient_summary(b2m, interval, pos, flags),
        conditions=cond,
        medications=meds,
        b2m=b2m,
        inputs={
            "b2m": b2m.to_dict() if b2m else None,
            "age_years": age_years,
            "egfr_ml_min_1_73m2": egfr_ml_min_1_73m2,
            "egfr_equation": egfr_equation,
            "creatinine": creatinine.to_dict() if creatinine else None,
            "crp": crp.to_dict() if crp else None,
            "conditions": list(conditions),
            "medications": list(medications),
        },
    )
