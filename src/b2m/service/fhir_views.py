"""A stored patient as FHIR R4: its record (Patient), its stored results as Observations with server-assigned ids,
and what b2m derives from them (the stages as mCODE CancerStage, the B2M interpretation, eGFR, IMWG responses,
their Provenance), written by :func:`b2m.io.fhir.assessment_bundle` with every ``urn:uuid`` replaced by the
resource's id on this server (``Observation/<id>``).

Ids: a stored result is ``result-<id>`` (a correction is a new result, so a new id); a lab at diagnosis or a
cytogenetic finding of the registered record is ``patient-<id>-diagnosis-<lab>`` / ``...-cytogenetics-<finding>``;
a derived resource keeps the deterministic uuid of the writer (the same for the same patient; ``meta.versionId``
is the patient's version). The assessment reads the labs at diagnosis of the record, else each lab's earliest
stored result: the same rule as ``GET /api/v1/patients/{id}/assessment``.

Not written as Observations (listed in the search's OperationOutcome): results without a LOINC code in b2m (urine
M-protein), marrow plasma cells, immunofixation, therapy lines and imaging events.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.meta import Meta
from fhir.resources.R4B.observation import Observation, ObservationReferenceRange
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.reference import Reference
from sqlalchemy.orm import Session

from b2m.io.fhir import codes as c
from b2m.io.fhir.contract import UCUM_CODES
from b2m.io.fhir.reader import FhirInput, Origin
from b2m.service import store
from b2m.service.db.models import Patient, Result
from b2m.units import ANALYTES, LAB_NAMES, Censored, parse_number

MR = Coding(system="http://terminology.hl7.org/CodeSystem/v2-0203", code="MR", display="Medical record number")
_LAB = [CodeableConcept(coding=[Coding(system=c.OBSERVATION_CATEGORY, code="laboratory", display="Laboratory")])]


def _fhir_date(d: dt.date | None) -> Any:
    """A date for a dateTime element (the models type it as datetime; a date is written as YYYY-MM-DD)."""
    return d


def _utc(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t


def fhir_patient(p: Patient, site_id_system: str | None) -> FhirPatient:
    details = json.loads(p.details)
    sex = details.get("sex")
    return FhirPatient(
        id=str(p.id),
        meta=Meta(versionId=str(p.version), lastUpdated=_utc(p.created_at)),
        identifier=[Identifier(system=site_id_system, type=CodeableConcept(coding=[MR]), value=p.site_id)],
        gender=sex if sex in ("female", "male") else None,
    )


def _quantity(raw: object, unit: str | None, field: str) -> Quantity:
    x = parse_number(raw, field, allow_censored=True)
    coded = unit in UCUM_CODES
    q = Quantity(
        value=Decimal(repr(float(x.bound if isinstance(x, Censored) else x))),
        unit=unit,
        system=c.UCUM if coded else None,
        code=unit if coded else None,
    )
    if isinstance(x, Censored):
        q.comparator = x.direction
    return q


def _lab_observation(
    oid: str,
    pid: int,
    analyte: str,
    *,
    value: object,
    unit: str | None,
    lower: object,
    upper: object,
    date: dt.date | None,
    method: str | None,
    loinc: str | None,
    updated: dt.datetime | None,
) -> Observation:
    code = loinc if loinc in ANALYTES[analyte].loinc else ANALYTES[analyte].loinc[0]
    ranges = None
    if lower is not None or upper is not None:
        ranges = [
            ObservationReferenceRange(
                low=_quantity(lower, unit, "lower_limit") if lower is not None else None,
                high=_quantity(upper, unit, "upper_limit") if upper is not None else None,
            )
        ]
    return Observation(
        id=oid,
        meta=Meta(versionId="1", lastUpdated=_utc(updated)) if updated is not None else None,
        status="final",
        category=_LAB,
        code=CodeableConcept(coding=[Coding(system=c.LOINC, code=code, display=ANALYTES[analyte].label)]),
        subject=Reference(reference=f"Patient/{pid}", type="Patient"),
        effectiveDateTime=_fhir_date(date),
        valueQuantity=_quantity(value, unit, "value"),
        referenceRange=ranges,
        method=CodeableConcept(text=method) if method else None,
    )


@dataclass(frozen=True, slots=True)
class StoredFhir:
    inputs: list[Observation]
    origins: dict[str, Origin]
    labs_used: dict[str, Any]  # the labs of the assessment document
    not_written: list[str]  # why some stored results are not Observations


def stored_inputs(p: Patient, rows: Sequence[Result]) -> StoredFhir:
    details = json.loads(p.details)
    pid = p.id
    out: list[Observation] = []
    origins: dict[str, Origin] = {}
    skipped: dict[str, int] = {}
    first_row: dict[str, str] = {}
    counts: dict[str, int] = {}
    for r in rows:
        if r.analyte not in LAB_NAMES or not ANALYTES[r.analyte].loinc:
            skipped[r.analyte] = skipped.get(r.analyte, 0) + 1
            continue
        oid = f"result-{r.id}"
        lower = json.loads(r.lower_limit_json) if r.lower_limit_json else None
        upper = json.loads(r.upper_limit_json) if r.upper_limit_json else None
        out.append(
            _lab_observation(
                oid, pid, r.analyte, value=json.loads(r.value_json), unit=r.unit_text, lower=lower, upper=upper,
                date=r.date, method=r.method, loinc=r.loinc, updated=r.created_at,
            )
        )  # fmt: skip
        ref = f"Observation/{oid}"
        i = counts.get(r.analyte, 0)
        counts[r.analyte] = i + 1
        origins[f"series.{r.analyte}[{i}]"] = Origin(path=ref, reference=ref, date=r.date, resource_type="Observation")
        first_row.setdefault(r.analyte, ref)
    labs: dict[str, Any] = dict(details.get("labs") or {})
    if labs:
        for key, lab in labs.items():
            if (
                not isinstance(lab, Mapping)
                or key not in ANALYTES
                or not ANALYTES[key].loinc
                or lab.get("value") is None
            ):
                continue
            oid = f"patient-{pid}-diagnosis-{key.replace('_', '-')}"
            day = dt.date.fromisoformat(str(lab["date"])) if lab.get("date") else None
            out.append(
                _lab_observation(
                    oid, pid, key, value=lab["value"], unit=lab.get("unit"), lower=lab.get("lower_limit"),
                    upper=lab.get("upper_limit"), date=day, method=lab.get("method"), loinc=lab.get("loinc"),
                    updated=None,
                )
            )  # fmt: skip
            origins[f"labs.{key}"] = Origin(path=f"Observation/{oid}", reference=f"Observation/{oid}", date=day)
    else:
        for key, ref in first_row.items():
            origins[f"labs.{key}"] = Origin(path=ref, reference=ref, resource_type="Observation")
    for key, value in (details.get("cytogenetics") or {}).items():
        if value is None or key not in c.B2M_FISH_CODES:
            continue
        code = c.b2m_code(c.B2M_FISH_CODES[key])
        oid = f"patient-{pid}-cytogenetics-{key.replace('_', '-')}"
        out.append(
            Observation(
                id=oid,
                status="final",
                category=_LAB,
                code=CodeableConcept(coding=[Coding(system=code.system, code=code.code, display=code.display)]),
                subject=Reference(reference=f"Patient/{pid}", type="Patient"),
                valueBoolean=bool(value),
            )
        )
        origins[f"cytogenetics.{key}"] = Origin(path=f"Observation/{oid}", reference=f"Observation/{oid}")
    notes = [
        f"{n} stored {a} result(s): no FHIR Observation in b2m (no LOINC code or not a lab)" for a, n in skipped.items()
    ]
    return StoredFhir(inputs=out, origins=origins, labs_used=labs, not_written=notes)


def derived(db: Session, p: Patient, rows: Sequence[Result], stored: StoredFhir) -> list[dict[str, Any]]:
    """What b2m derives from the stored record, as FHIR JSON resources with server ids (see the module docstring)."""
    from b2m.assessment import assess
    from b2m.io.fhir import assessment_bundle
    from b2m.io.patient import parse_patient
    from b2m.io.series import parse_patient_series
    from b2m.monitor.monitor import monitor_patient

    doc = store.document(p, rows)
    details = {k: v for k, v in doc.items() if k not in store.DOCUMENT_KEYS_STORED_AS_RESULTS}
    if not details.get("labs"):
        details["labs"] = {k: entries[0] for k, entries in doc["series"].items() if k in LAB_NAMES and entries}
    assessment = assess([parse_patient(details)])[0]
    monitor = monitor_patient(parse_patient_series(doc))
    dates = [o.date for k, o in stored.origins.items() if k.startswith("labs.") and o.date is not None]
    source = FhirInput(
        document=details,
        series=doc,
        origins=stored.origins,
        ignored=(),
        not_in_series=(),
        used=(),
        notes=(),
        subject=f"Patient/{p.id}",
        conditions=(),
        as_of=max(dates, default=None),
    )
    bundle = assessment_bundle(source, assessment, monitor=monitor)
    return server_ids(json.loads(bundle.model_dump_json()), p.version)


def server_ids(bundle: Mapping[str, Any], version: int) -> list[dict[str, Any]]:
    """The Bundle's resources with ``urn:uuid:<u>`` replaced by their id ``<u>`` and references ``Type/<u>``."""
    mapping: dict[str, str] = {}
    resources: list[dict[str, Any]] = []
    for entry in bundle.get("entry", []):
        res = dict(entry["resource"])
        full = str(entry.get("fullUrl", ""))
        if full.startswith("urn:uuid:"):
            res["id"] = full.removeprefix("urn:uuid:")
            mapping[full] = f"{res['resourceType']}/{res['id']}"
        res["meta"] = {**res.get("meta", {}), "versionId": str(version)}
        resources.append(res)
    return [_rewrite(r, mapping) for r in resources]


def _rewrite(x: Any, mapping: Mapping[str, str]) -> Any:
    if isinstance(x, dict):
        return {
            k: (mapping.get(v, v) if k == "reference" and isinstance(v, str) else _rewrite(v, mapping))
            for k, v in x.items()
        }
    if isinstance(x, list):
        return [_rewrite(v, mapping) for v in x]
    return x


def code_matches(resource: Mapping[str, Any], tokens: Iterable[tuple[str | None, str]]) -> bool:
    """FHIR token search on ``code``: ``system|code``, ``|code`` (no system) or ``code`` (any system; system None)."""
    codings = (resource.get("code") or {}).get("coding") or []
    for system, code in tokens:
        for cd in codings:
            if cd.get("code") != code:
                continue
            if system is None or (system == "" and not cd.get("system")) or cd.get("system") == system:
                return True
    return False
