"""A CDS Hooks request as an EHR would send it, made from a patient document of b2m's JSON contract: for trying the
service (``b2m cds request``, the README) and for measuring it (``benchmarks/cds.py``). Not used by the service.

The document's resources are written by :func:`b2m.io.fhir.contract_to_fhir` (the same codes b2m reads), given
ids, and sorted into the prefetch keys of :func:`b2m.service.cds.services.prefetch_templates` as the EHR's FHIR
server would answer each template: the Patient (with the document's ``id`` as its MRN, so a stored patient of that
site id gets a link to its page), a searchset Bundle per key, the latest result only where the template asks for
``_count=1``. Labs without a LOINC code (urine M-protein) and cytogenetic details other than the findings (clonal
fractions) are left out: b2m writes no FHIR for them.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from typing import Any

from b2m.io.fhir import codes as c
from b2m.io.fhir import contract_to_fhir
from b2m.service.cds.services import LAB_KEYS, PATIENT_VIEW, SERVICES
from b2m.units import ANALYTES

CONTRACT_KEYS = ("id", "age", "sex", "labs", "cytogenetics", "conditions", "medications")
MR = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}


def _key_of(resource: Mapping[str, Any]) -> str | None:
    kind = resource["resourceType"]
    if kind == "Condition":
        return "conditions"
    if kind == "MedicationStatement":
        return "medications"
    if kind != "Observation":
        return None
    for cd in resource.get("code", {}).get("coding", []):
        if cd.get("system") == c.LOINC:
            for key, lab in LAB_KEYS.items():
                if cd.get("code") in ANALYTES[lab].loinc:
                    return key
        if cd.get("system") == c.B2M_SYSTEM and str(cd.get("code", "")).startswith("cytogenetics-"):
            return "fish"
    return None


def hook_request(
    document: Mapping[str, Any], *, patient_id: str = "example-patient", service_id: str = PATIENT_VIEW
) -> dict[str, Any]:
    """The hook call of ``service_id`` for the patient of ``document``, with full prefetch (module docstring)."""
    doc = {k: v for k, v in document.items() if k in CONTRACT_KEYS}
    if isinstance(doc.get("labs"), Mapping):  # a lab without a LOINC code has no FHIR form in b2m: an EHR lacks it too
        doc["labs"] = {k: v for k, v in doc["labs"].items() if k in ANALYTES and ANALYTES[k].loinc}
    if isinstance(doc.get("cytogenetics"), Mapping):  # the findings only (present / absent), as b2m writes them
        doc["cytogenetics"] = {k: v for k, v in doc["cytogenetics"].items() if k in c.B2M_FISH_CODES}
    labs = doc.get("labs") if isinstance(doc.get("labs"), Mapping) else {}
    dated = any(isinstance(v, Mapping) and v.get("date") for v in labs.values())  # type: ignore[union-attr]
    as_of = None if dated else dt.date.today()  # undated labs: taken as today's (the age becomes a birth date)
    bundle = json.loads(contract_to_fhir(doc, as_of=as_of).model_dump_json())
    refs: dict[str, str] = {}
    resources: list[dict[str, Any]] = []
    for entry in bundle["entry"]:
        res = dict(entry["resource"])
        res["id"] = patient_id if res["resourceType"] == "Patient" else entry["fullUrl"].removeprefix("urn:uuid:")
        refs[entry["fullUrl"]] = f"{res['resourceType']}/{res['id']}"
        resources.append(res)
    text = json.dumps(resources)
    for old, new in refs.items():
        text = text.replace(f'"{old}"', f'"{new}"')
    resources = json.loads(text)
    prefetch: dict[str, Any] = {}
    keyed: dict[str, list[dict[str, Any]]] = {}
    for res in resources:
        if res["resourceType"] == "Patient":
            if "id" in document:
                res["identifier"] = [{"type": MR, "value": str(document["id"])}]
            prefetch["patient"] = res
        elif (key := _key_of(res)) is not None:
            keyed.setdefault(key, []).append(res)
    for key in ("fish", "conditions", "medications", *LAB_KEYS):
        found = sorted(keyed.get(key, []), key=lambda r: str(r.get("effectiveDateTime", "")), reverse=True)
        if key in LAB_KEYS:
            found = found[:1]
        prefetch[key] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(found),
            "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in found],
        }
    return {
        "hook": SERVICES[service_id].hook,
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/example", "patientId": patient_id},
        "prefetch": prefetch,
    }
