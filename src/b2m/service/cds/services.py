"""The CDS services b2m offers, each with its hook and prefetch templates (what discovery publishes).

Prefetch asks for the Patient and the latest B2M, albumin, LDH, creatinine, cystatin C and CRP (LOINC codes of
:mod:`b2m.units.analytes`), the FISH findings (b2m's codes and the codes the site configured,
docs/fhir-conformance.md), and the current conditions and medications the B2M interpretation reads. The keys in
:data:`REQUIRED` are needed for an answer: when one is neither prefetched nor fetchable from the client's FHIR
server the call gets 412. The others (cystatin C, CRP, FISH, conditions, medications) only add to the answer:
without them it says what was not sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from b2m.io.fhir import codes as c
from b2m.units import ANALYTES

PATIENT_VIEW = "b2m-patient-view"
ORDER_SELECT = "b2m-order-select"
PATIENT_TOKEN = "{{context.patientId}}"
# Prefetch key -> the contract's lab (latest result: _sort=-date&_count=1).
LAB_KEYS: Mapping[str, str] = {
    "b2m": "b2m",
    "albumin": "albumin",
    "ldh": "ldh",
    "creatinine": "creatinine",
    "cystatin-c": "cystatin_c",
    "crp": "crp",
}
REQUIRED: tuple[str, ...] = ("patient", "b2m", "albumin", "ldh", "creatinine")
OPTIONAL_LABELS: Mapping[str, str] = {
    "cystatin-c": "cystatin C",
    "crp": "CRP",
    "fish": "FISH results",
    "conditions": "conditions",
    "medications": "medications",
}


def _observations(codes: Iterable[tuple[str, str]], *, latest: bool) -> str:
    tokens = ",".join(f"{system}|{code}" for system, code in codes)
    return f"Observation?patient={PATIENT_TOKEN}&code={tokens}&_sort=-date" + ("&_count=1" if latest else "")


def prefetch_templates(fish_codes: Mapping[str, Iterable[tuple[str, str]]] | None = None) -> dict[str, str]:
    """The prefetch templates, FISH with b2m's codes and the site's (``fish_codes``: finding -> (system, code))."""
    out = {"patient": f"Patient/{PATIENT_TOKEN}"}
    for key, lab in LAB_KEYS.items():
        out[key] = _observations(((c.LOINC, code) for code in ANALYTES[lab].loinc), latest=True)
    fish = [(c.B2M_SYSTEM, code) for code in c.B2M_FISH_CODES.values()]
    for pairs in (fish_codes or {}).values():
        fish += [p for p in pairs if p not in fish]
    out["fish"] = _observations(fish, latest=False)  # every finding's latest: all of them, newest first
    out["conditions"] = f"Condition?patient={PATIENT_TOKEN}"
    out["medications"] = f"MedicationStatement?patient={PATIENT_TOKEN}&status=active"
    return out


@dataclass(frozen=True, slots=True)
class Service:
    id: str
    hook: str
    title: str
    description: str


SERVICES: Mapping[str, Service] = {
    s.id: s
    for s in (
        Service(
            PATIENT_VIEW,
            "patient-view",
            "b2m: myeloma staging from the chart's labs",
            "When a chart opens: ISS, R-ISS and R2-ISS from the latest B2M, albumin, LDH and FISH results, with the "
            "inputs still missing and the stages they leave open, and a warning when kidney function or "
            "inflammation makes the B2M hard to read. Decision support, not diagnosis.",
        ),
        Service(
            ORDER_SELECT,
            "order-select",
            "b2m: what a B2M order needs for staging",
            "When a serum B2M (LOINC 1952-1) is selected for ordering: which other results staging still lacks, and "
            "a warning when the current kidney function or inflammation will make the B2M hard to read.",
        ),
    )
}
