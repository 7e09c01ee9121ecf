"""A patient document of the JSON contract as FHIR R4 input resources (Patient, Observations, ...).

This is how b2m writes a patient it was given as JSON, so that its stages can point at their inputs
(``derivedFrom``) and so that JSON -> FHIR -> JSON can be checked to give the same assessment. What
FHIR cannot carry from the contract (no standard element, and b2m does not invent one) is listed in
:data:`NOT_WRITTEN` and refused when present, never dropped: imaging, isotype, marrow percentages,
the CLL and lymphoma features, ``disease`` other than myeloma, ``setting`` (a parameter of the reader),
the del(17p) clonal fraction, and urine M-protein (it has no LOINC code, b2m reference LAB-5).

Mapping: ``age`` -> ``Patient.birthDate`` (the assessment date minus the age in whole years, so the age
read back is the same; a fractional age is refused), ``sex`` -> ``gender``, each lab -> an Observation
with the analyte's first LOINC code, ``valueQuantity`` (``comparator`` for a censored value; the unit as
received, with its UCUM code when the text is one), ``referenceRange``, ``effectiveDateTime``,
``method``; each cytogenetic finding -> an Observation with b2m's code and ``valueBoolean``; a myeloma
Condition (SNOMED CT 109989006) as the focus of the stages; conditions and medications as a Condition
(``code.text``) and a MedicationStatement (``medicationCodeableConcept.text``), both current.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.medicationstatement import MedicationStatement
from fhir.resources.R4B.observation import Observation, ObservationReferenceRange
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.reference import Reference

from b2m.errors import InputError
from b2m.io.fhir import codes as c
from b2m.units import ANALYTES, Censored, parse_number

# Unit texts that are UCUM codes as written (b2m's unit layer reads each; tests/test_fhir.py checks).
UCUM_CODES: frozenset[str] = frozenset(
    {
        "mg/L", "ug/mL", "ug/L", "ng/mL", "nmol/L", "g/dL", "g/L", "U/L", "[IU]/L", "ukat/L", "mg/dL",
        "umol/L", "mmol/L", "10*9/L", "10*3/uL", "/uL", "mg/(24.h)", "g/(24.h)",
    }
)  # fmt: skip
NOT_WRITTEN: tuple[str, ...] = (
    "weight_kg",
    "marrow_plasma_cells_percent",
    "imaging",
    "isotype",
    "involved_light_chain",
    "amyloidosis",
    "crab_attributable",
    "igm_related_features",
    "marrow_lymphoplasmacytic_percent",
    "cll",
    "lymphoma",
)
_WRITTEN = ("id", "age", "sex", "setting", "disease", "labs", "cytogenetics", "conditions", "medications")
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_CATEGORY = [CodeableConcept(coding=[Coding(system=c.OBSERVATION_CATEGORY, code="laboratory")])]


def _quantity(value: float, unit: object) -> Quantity:
    text = str(unit) if unit is not None else None
    coded = text in UCUM_CODES
    return Quantity(
        value=Decimal(repr(float(value))), unit=text, system=c.UCUM if coded else None, code=text if coded else None
    )


def _fhir_date(d: dt.date | None) -> Any:
    """A date for a dateTime element (the models type it as datetime; a date is written as YYYY-MM-DD)."""
    return d


def _birth_date(age: object, on: dt.date) -> dt.date:
    if isinstance(age, bool) or not isinstance(age, int | float) or float(age) != int(age):
        raise InputError("age", "a fractional age cannot be written as a birth date", "whole years")
    years = int(age)
    try:
        return on.replace(year=on.year - years)
    except ValueError:  # 29 February in a year without one: the day before keeps the age
        return on.replace(year=on.year - years, day=28)


def contract_to_fhir(document: Mapping[str, object], *, as_of: dt.date | None = None) -> Bundle:
    """The input resources of one patient document (b2m's codes where no standard one exists).

    ``as_of`` is the assessment date the age refers to (default: the latest lab date); an age with
    neither is refused, as a birth date cannot be made from it.
    """
    extra = [k for k in document if k not in _WRITTEN]
    if extra:
        raise InputError(
            extra[0],
            "has no FHIR representation in b2m",
            "id, age, sex, labs, cytogenetics, conditions, medications (docs/fhir-conformance.md)",
        )
    if document.get("disease") not in (None, "multiple_myeloma"):
        raise InputError("disease", "only multiple myeloma is written as FHIR", "multiple_myeloma")
    labs = document.get("labs") or {}
    assert isinstance(labs, Mapping)
    if labs.get("urine_m_protein") is not None:
        raise InputError("labs.urine_m_protein", "has no LOINC code (b2m reference LAB-5)", "the other labs")
    cyto = document.get("cytogenetics") or {}
    assert isinstance(cyto, Mapping)
    if cyto.get("del17p_clonal_fraction_percent") is not None:
        raise InputError(
            "cytogenetics.del17p_clonal_fraction_percent",
            "has no FHIR representation in b2m",
            "the cytogenetic findings (present / absent)",
        )
    pid = str(document.get("id") or "1")
    ns = uuid.uuid5(uuid.UUID(c.B2M_SYSTEM.removeprefix("urn:uuid:")), f"input|{pid}")

    def url(*parts: object) -> str:
        return f"urn:uuid:{uuid.uuid5(ns, '|'.join(map(str, parts)))}"

    entries: list[BundleEntry] = []
    patient_url = url("Patient")
    subject = Reference(reference=patient_url)
    dates = [dt.date.fromisoformat(str(v["date"])) for v in labs.values() if isinstance(v, Mapping) and v.get("date")]
    on = as_of or max(dates, default=None)
    patient: dict[str, Any] = {"id": pid} if _FHIR_ID.match(pid) else {}
    if document.get("sex") is not None:
        patient["gender"] = document["sex"]
    if document.get("age") is not None:
        if on is None:
            raise InputError(
                "age",
                "an age needs an assessment date (as_of) or a dated lab to become a birth date",
                "as_of, or lab dates",
            )
        patient["birthDate"] = _birth_date(document["age"], on)
    entries.append(BundleEntry(fullUrl=patient_url, resource=Patient(**patient)))
    entries.append(
        BundleEntry(
            fullUrl=url("Condition", "myeloma"),
            resource=Condition(
                subject=subject,
                code=CodeableConcept(
                    coding=[Coding(system=c.SNOMED, code="109989006", display="Multiple myeloma (disorder)")]
                ),
            ),
        )
    )
    for key in ANALYTES:
        lab = labs.get(key)
        if not isinstance(lab, Mapping) or lab.get("value") is None:
            continue
        loinc = str(lab.get("loinc") or ANALYTES[key].loinc[0])
        if loinc not in ANALYTES[key].loinc:
            raise InputError(
                f"labs.{key}.loinc",
                f"LOINC {loinc} is not a code b2m reads for {ANALYTES[key].label}",
                ", ".join(ANALYTES[key].loinc),
            )
        received = parse_number(lab["value"], f"labs.{key}.value", allow_censored=True)
        if isinstance(received, Censored):
            q = _quantity(received.bound, lab.get("unit"))
            q.comparator = received.direction
        else:
            q = _quantity(received, lab.get("unit"))
        ranges = None
        if lab.get("lower_limit") is not None or lab.get("upper_limit") is not None:
            ranges = [
                ObservationReferenceRange(
                    low=_limit(lab.get("lower_limit"), lab.get("unit"), f"labs.{key}.lower_limit"),
                    high=_limit(lab.get("upper_limit"), lab.get("unit"), f"labs.{key}.upper_limit"),
                )
            ]
        obs = Observation(
            status="final",
            category=_CATEGORY,
            code=CodeableConcept(coding=[Coding(system=c.LOINC, code=loinc, display=ANALYTES[key].label)]),
            subject=subject,
            effectiveDateTime=_fhir_date(dt.date.fromisoformat(str(lab["date"])) if lab.get("date") else None),
            valueQuantity=q,
            referenceRange=ranges,
            method=CodeableConcept(text=str(lab["method"])) if lab.get("method") else None,
        )
        entries.append(BundleEntry(fullUrl=url("Observation", key), resource=obs))
    for key, value in cyto.items():
        if value is None:
            continue
        if key not in c.B2M_FISH_CODES:
            raise InputError(f"cytogenetics.{key}", "has no FHIR representation in b2m", ", ".join(c.FISH_KEYS))
        code = c.b2m_code(c.B2M_FISH_CODES[key])
        obs = Observation(
            status="final",
            category=_CATEGORY,
            code=CodeableConcept(coding=[Coding(system=code.system, code=code.code, display=code.display)]),
            subject=subject,
            effectiveDateTime=_fhir_date(on),
            valueBoolean=bool(value),
        )
        entries.append(BundleEntry(fullUrl=url("Observation", key), resource=obs))
    for i, item in enumerate(_texts(document.get("conditions"))):
        entries.append(
            BundleEntry(
                fullUrl=url("Condition", i), resource=Condition(subject=subject, code=CodeableConcept(text=item))
            )
        )
    for i, item in enumerate(_texts(document.get("medications"))):
        entries.append(
            BundleEntry(
                fullUrl=url("MedicationStatement", i),
                resource=MedicationStatement(
                    status="active", subject=subject, medicationCodeableConcept=CodeableConcept(text=item)
                ),
            )
        )
    return Bundle(type="collection", entry=entries)


def _limit(raw: object, unit: object, field: str) -> Quantity | None:
    if raw is None:
        return None
    x = parse_number(raw, field, allow_censored=False)
    assert isinstance(x, float)
    return _quantity(x, unit)


def _texts(raw: object) -> list[str]:
    return [str(x) for x in raw] if isinstance(raw, list) else []


__all__ = ["NOT_WRITTEN", "UCUM_CODES", "contract_to_fhir"]
