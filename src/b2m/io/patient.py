"""The patient JSON contract of ``b2m assess`` (README) -> :class:`b2m.patient.Patient`.

:class:`b2m.io.models.PatientDocument` checks the shape (unknown keys, JSON's types, ranges, choices);
:func:`to_patient` turns a checked document into the domain object, reading every lab value and unit
through the unit layer (:func:`b2m.units.parse_lab`), the one place units are read. Every refusal is
one :class:`b2m.errors.InputError` naming the field, the problem and the accepted forms.
"""

from __future__ import annotations

from b2m.errors import InputError
from b2m.io.models import PatientDocument, validate
from b2m.io.models.patient import MAX_PATIENTS_PER_DOCUMENT, LabResult, Labs
from b2m.patient import CLLFeatures, Cytogenetics, Imaging, LymphomaFeatures, Patient
from b2m.units import LAB_NAMES, LabValue, parse_lab


def lab_entry(entry: LabResult) -> dict[str, object]:
    """A checked lab result as the unit layer reads it (the value as received, the unit as text)."""
    return {
        "value": entry.value,
        "unit": entry.unit,
        "lower_limit": entry.lower_limit,
        "upper_limit": entry.upper_limit,
        "date": entry.date,
        "method": entry.method,
        "loinc": entry.loinc,
    }


def _labs(labs: Labs | None) -> dict[str, LabValue]:
    out: dict[str, LabValue] = {}
    if labs is None:
        return out
    for key in LAB_NAMES:
        entry = getattr(labs, key)
        if entry is not None and (lab := parse_lab(key, lab_entry(entry), field=f"labs.{key}")) is not None:
            out[key] = lab
    return out


def _codes(items: list[str | None] | None) -> tuple[str, ...]:
    return tuple(t for t in items or () if t)


def to_patient(doc: PatientDocument, default_id: str = "1") -> Patient:
    """The domain patient of a checked document; ``default_id`` when the document gives none."""
    cyto, img, cll, lym = doc.cytogenetics, doc.imaging, doc.cll, doc.lymphoma
    return Patient(
        id=doc.id if doc.id is not None else default_id,
        age=doc.age,
        sex=doc.sex,
        weight_kg=doc.weight_kg,
        setting=doc.setting,
        disease=doc.disease or "multiple_myeloma",
        labs=_labs(doc.labs),
        cytogenetics=Cytogenetics(**cyto.model_dump()) if cyto is not None else Cytogenetics(),
        marrow_plasma_cells_percent=doc.marrow_plasma_cells_percent,
        imaging=Imaging(**img.model_dump()) if img is not None else Imaging(),
        conditions=_codes(doc.conditions),
        medications=_codes(doc.medications),
        isotype=doc.isotype,
        involved_light_chain=doc.involved_light_chain,
        amyloidosis=doc.amyloidosis,
        crab_attributable=doc.crab_attributable,
        igm_related_features=doc.igm_related_features,
        marrow_lymphoplasmacytic_percent=doc.marrow_lymphoplasmacytic_percent,
        cll=CLLFeatures(**cll.model_dump()) if cll is not None else CLLFeatures(),
        lymphoma=LymphomaFeatures(**lym.model_dump()) if lym is not None else LymphomaFeatures(),
    )


def parse_patient(raw: object, default_id: str = "1", *, prefix: str = "") -> Patient:
    """One patient object of the contract (parsed JSON) -> :class:`Patient`."""
    doc = validate(PatientDocument, raw, prefix=prefix)
    try:
        return to_patient(doc, default_id)
    except InputError as e:
        if not prefix:
            raise
        raise type(e)(f"{prefix}.{e.field}", e.problem, e.accepted, e.hint) from None


def parse_patients(raw: object) -> list[Patient]:
    """One patient object or an array of them; errors are prefixed with the array index."""
    if not isinstance(raw, list):
        return [parse_patient(raw)]
    if len(raw) > MAX_PATIENTS_PER_DOCUMENT:
        raise InputError(
            "patients",
            f"{len(raw)} patients in one document",
            f"at most {MAX_PATIENTS_PER_DOCUMENT:,}; use `b2m stage` for cohorts",
        )
    return [parse_patient(item, default_id=str(i + 1), prefix=f"[{i}]") for i, item in enumerate(raw)]


__all__ = ["MAX_PATIENTS_PER_DOCUMENT", "parse_patient", "parse_patients", "to_patient"]
