"""FHIR R4 out: an assessment (and a monitoring result) as a Bundle of Observations with their evidence.

Every resource is built from the fhir.resources R4B models (never a hand-assembled dict). What is written
(docs/fhir-conformance.md has the full table of codes):

- **ISS and R-ISS** as mCODE CancerStage Observations (profile ``mcode-cancer-stage``): NCIt stage type
  and stage value, SNOMED CT method, ``status`` final, ``category`` laboratory, ``subject``, ``focus`` at
  the myeloma Condition(s) when given, ``effectiveDateTime`` = the assessment date, ``derivedFrom`` every
  input Observation the rule read. An open result has no value but ``dataAbsentReason`` unknown; the
  stages still possible, the missing inputs and every criterion (met / not met / unknown) are
  components with b2m codes; the rule's caveats ([D]/[U] notes) are ``note``.
- **R2-ISS** in the same shape with b2m's codes (no standard code exists), and its score as an
  Observation of its own (a ``valueQuantity``, or a ``valueRange`` while open) that the stage lists in
  ``hasMember``.
- **B2M interpretation**: the position against the interval used (v3 ObservationInterpretation H / N /
  L), the interval and its origin, the ISS band and every confounder flag as components.
- **eGFR** per equation the inputs allow (LOINC 98979-8 / 98980-6 where confirmed, else b2m codes).
- **IMWG 2016 response** per assessment of a monitoring result, with b2m codes.
- A **Provenance** naming b2m (a Device with its version) as author, every input as source and the
  rules' publications (DOIs) as policy; an **OperationOutcome** listing what the input had that b2m did
  not use, with the reason.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from fhir.resources.R4B.annotation import Annotation
from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.device import Device, DeviceDeviceName, DeviceVersion
from fhir.resources.R4B.meta import Meta
from fhir.resources.R4B.observation import Observation, ObservationComponent
from fhir.resources.R4B.operationoutcome import OperationOutcome, OperationOutcomeIssue
from fhir.resources.R4B.provenance import Provenance, ProvenanceAgent, ProvenanceEntity
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.range import Range
from fhir.resources.R4B.reference import Reference

import b2m
from b2m.assessment import Assessment
from b2m.errors import InputError
from b2m.io.fhir import codes as c
from b2m.io.fhir.reader import FhirInput
from b2m.provenance import Note, RuleRef
from b2m.rules.base import RuleResult

if TYPE_CHECKING:
    from b2m.monitor.monitor import MonitorResult

# Contract elements behind each input of the staging rules (the derivedFrom of a stage).
RULE_INPUT_PATHS: Mapping[str, tuple[str, ...]] = {
    "b2m_mg_l": ("labs.b2m",),
    "albumin_g_dl": ("labs.albumin",),
    "ldh_u_l": ("labs.ldh",),
    "ldh_uln_u_l": ("labs.ldh",),
    "del17p": ("cytogenetics.del17p",),
    "t4_14": ("cytogenetics.t4_14",),
    "t14_16": ("cytogenetics.t14_16",),
    "gain1q": ("cytogenetics.gain1q", "cytogenetics.amp1q"),
}
# Series analytes behind each measurement marker of an IMWG 2016 assessment.
MARKER_SERIES: Mapping[str, tuple[str, ...]] = {
    "serum_m_protein": ("m_protein",),
    "urine_m_protein": ("urine_m_protein",),
    "flc_difference": ("flc_kappa", "flc_lambda"),
    "flc_ratio_kappa_lambda": ("flc_kappa", "flc_lambda"),
}
_POSITION = {"above": ("H", "High"), "within": ("N", "Normal"), "below": ("L", "Low")}
_NAMESPACE = uuid.UUID(c.B2M_SYSTEM.removeprefix("urn:uuid:"))


def _coding(code: c.Code) -> Coding:
    return Coding(system=code.system, code=code.code, display=code.display)


def _cc(code: c.Code, text: str | None = None) -> CodeableConcept:
    return CodeableConcept(coding=[_coding(code)], text=text)


def _b2m_cc(code: str, text: str | None = None) -> CodeableConcept:
    return _cc(c.b2m_code(code), text)


_UNKNOWN = CodeableConcept(coding=[Coding(system=c.DATA_ABSENT_REASON, code="unknown", display="Unknown")])
_LABORATORY = [CodeableConcept(coding=[Coding(system=c.OBSERVATION_CATEGORY, code="laboratory", display="Laboratory")])]


def _decimal(x: float) -> Decimal:
    return Decimal(repr(float(x)))


def _qty(value: float, unit: str, ucum: str | None) -> Quantity:
    return Quantity(value=_decimal(value), unit=unit, system=c.UCUM if ucum else None, code=ucum)


def _fhir_date(d: dt.date | None) -> Any:
    """A date for a dateTime element (the models type it as datetime; a date is written as YYYY-MM-DD)."""
    return d


def _note(n: Note) -> Annotation:
    return Annotation(text=f"{n.code} ({n.kind}): {n.text}")


class _Writer:
    """Collects the resources of one output Bundle (deterministic urn:uuid fullUrls)."""

    def __init__(self, source: FhirInput) -> None:
        if source.subject is None:
            raise InputError(
                "subject",
                "the input names no patient (no Patient resource and no subject)",
                "a Patient resource or Observations with a subject",
            )
        self.source = source
        self.subject = Reference(reference=source.subject, type="Patient")
        self.entries: list[tuple[str, Any]] = []
        self.inputs: dict[str, str | None] = {}
        self.policies: dict[str, None] = {}

    def url(self, *parts: object) -> str:
        key = "|".join([str(self.source.subject), *map(str, parts)])
        return f"urn:uuid:{uuid.uuid5(_NAMESPACE, key)}"

    def add(self, url: str, resource: Any) -> Reference:
        self.entries.append((url, resource))
        return Reference(reference=url, type=resource.get_resource_type())

    def refs(self, contract_paths: Iterable[str]) -> list[Reference]:
        out: dict[str, str | None] = {}
        for p in contract_paths:
            for ref, rtype in self.source.references(p):
                out.setdefault(ref, rtype)
        self.inputs.update(out)
        return [Reference(reference=r, type=t) for r, t in out.items()]

    def policy(self, rule: RuleRef) -> None:
        if rule.source.doi:
            self.policies[f"https://doi.org/{rule.source.doi}"] = None

    def observation(self, **fields: Any) -> Observation:
        effective = self.source.as_of
        return Observation(
            status="final",
            category=_LABORATORY,
            subject=self.subject,
            effectiveDateTime=fields.pop("effectiveDateTime", _fhir_date(effective)),
            **fields,
        )


# ---------------------------------------------------------------------------------------------
# Stages
# ---------------------------------------------------------------------------------------------


def _criterion_component(system: str, code: str, met: bool | None) -> ObservationComponent:
    cc = _b2m_cc(c.criterion_code(system, code))
    if met is None:
        return ObservationComponent(code=cc, dataAbsentReason=_UNKNOWN)
    yes_no = Coding(system=c.V2_YES_NO, code="Y" if met else "N", display="Yes" if met else "No")
    return ObservationComponent(code=cc, valueCodeableConcept=CodeableConcept(coding=[yes_no]))


def _stage(w: _Writer, name: str, result: RuleResult, members: Sequence[Reference] = ()) -> Reference:
    sc = c.STAGING[name]
    components = [
        ObservationComponent(code=_b2m_cc("possible-stage"), valueCodeableConcept=_cc(sc.values[s]))
        for s in result.possible
    ]
    components += [
        ObservationComponent(
            code=_b2m_cc("missing-input"),
            valueCodeableConcept=_b2m_cc(f"input-{m.replace('_', '-')}", c.RULE_INPUT_LABELS[m]),
        )
        for m in result.missing
    ]
    components += [_criterion_component(name, cr.code, cr.met) for cr in result.criteria]
    stage = result.stage
    obs = w.observation(
        meta=Meta(profile=[c.MCODE_CANCER_STAGE]),
        code=_cc(sc.code),
        method=_cc(sc.method),
        focus=[Reference(reference=r, type="Condition") for r in w.source.conditions] or None,
        valueCodeableConcept=_cc(sc.values[stage]) if stage is not None else None,
        dataAbsentReason=_UNKNOWN if stage is None else None,
        component=components,
        derivedFrom=w.refs(p for i in result.inputs for p in RULE_INPUT_PATHS[i]) or None,
        hasMember=list(members) or None,
        note=[_note(n) for n in result.notes] or None,
    )
    w.policy(result.rule)
    return w.add(w.url("stage", name), obs)


def _r2_iss_score(w: _Writer, result: RuleResult) -> Reference | None:
    if result.score_range is None:
        return None
    lo, hi = result.score_range
    value: dict[str, Any] = (
        {"valueQuantity": _qty(lo, "{points}", "{points}")}
        if lo == hi
        else {"valueRange": Range(low=_qty(lo, "{points}", "{points}"), high=_qty(hi, "{points}", "{points}"))}
    )
    obs = w.observation(
        code=_b2m_cc("r2-iss-score"),
        method=_cc(c.STAGING["r2_iss"].method),
        derivedFrom=w.refs(p for i in result.inputs for p in RULE_INPUT_PATHS[i]) or None,
        **value,
    )
    return w.add(w.url("r2-iss-score"), obs)


# ---------------------------------------------------------------------------------------------
# B2M interpretation, kidney function
# ---------------------------------------------------------------------------------------------


def _interpretation(w: _Writer, a: Assessment) -> Reference | None:
    b = a.b2m
    if b.value_mg_l is None:
        return None
    components: list[ObservationComponent] = []
    ri = b.reference_interval
    if ri is not None:
        components.append(
            ObservationComponent(
                code=_b2m_cc("b2m-reference-interval"),
                valueRange=Range(
                    low=_qty(ri.lower, "mg/L", "mg/L") if ri.lower is not None else None,
                    high=_qty(ri.upper, "mg/L", "mg/L") if ri.upper is not None else None,
                ),
            )
        )
        origin = "reporting-lab" if ri.origin == "reporting_lab" else "default"
        components.append(
            ObservationComponent(code=_b2m_cc("b2m-reference-interval-origin"), valueCodeableConcept=_b2m_cc(origin))
        )
    if b.iss_band is not None:
        components.append(ObservationComponent(code=_b2m_cc("iss-band"), valueString=b.iss_band))
    for fl in b.flags:
        components.append(
            ObservationComponent(
                code=_b2m_cc("confounder-flag"),
                valueCodeableConcept=CodeableConcept(
                    coding=[Coding(system=c.B2M_FLAG_SYSTEM, code=fl.code, display=fl.code.replace("_", " "))],
                    text=fl.clinician[:1000],
                ),
            )
        )
    position = _POSITION.get(b.position)
    obs = w.observation(
        code=_b2m_cc("b2m-interpretation"),
        valueCodeableConcept=(
            CodeableConcept(coding=[Coding(system=c.V3_INTERPRETATION, code=position[0], display=position[1])])
            if position
            else None
        ),
        dataAbsentReason=_UNKNOWN if position is None else None,
        component=components or None,
        derivedFrom=w.refs(("labs.b2m", "labs.creatinine", "labs.cystatin_c", "labs.crp")) or None,
        note=[Annotation(text=b.summary_clinician), *(_note(n) for n in b.notes)],
    )
    for fl in b.flags:
        if fl.source is not None and fl.source.doi:
            w.policies[f"https://doi.org/{fl.source.doi}"] = None
    return w.add(w.url("b2m-interpretation"), obs)


def _kidney(w: _Writer, a: Assessment) -> list[Reference]:
    out = []
    pref = a.kidney.preferred
    for name, est in a.kidney.estimates.items():
        if est.value is None or name not in c.EGFR_CODES:
            continue
        ucum = c.EGFR_UCUM.get(est.unit)
        components = []
        if pref is not None and pref[0] == name:
            from b2m.kidney import egfr_stage

            components.append(
                ObservationComponent(code=_b2m_cc("kdigo-gfr-category"), valueString=egfr_stage(est.value))
            )
        inputs = [p for key, p in (("creatinine", "labs.creatinine"), ("cystatin", "labs.cystatin_c")) if key in name]
        if name == "cockcroft_gault":
            inputs = ["labs.creatinine"]
        obs = w.observation(
            code=_cc(c.EGFR_CODES[name]),
            valueQuantity=_qty(round(est.value, 1), est.unit, ucum),
            component=components or None,
            derivedFrom=w.refs(inputs) or None,
            note=[
                Annotation(text=f"{est.equation.title}: {est.equation.source.citation}"),
                *(_note(n) for n in est.notes),
            ],
        )
        w.policy(est.equation)
        out.append(w.add(w.url("kidney", name), obs))
    return out


# ---------------------------------------------------------------------------------------------
# IMWG 2016 response per assessment
# ---------------------------------------------------------------------------------------------


def _series_refs(w: _Writer, marker: str, date: str) -> list[tuple[str, str | None]]:
    out = []
    for key in MARKER_SERIES.get(marker, ()):
        prefix = f"series.{key}["
        for k, o in w.source.origins.items():
            if k.startswith(prefix) and o.date is not None and o.date.isoformat() == date and o.reference:
                out.append((o.reference, o.resource_type))
    return out


def _responses(w: _Writer, m: MonitorResult) -> list[Reference]:
    out = []
    for i, a in enumerate(m.history.assessments):
        d = a.to_dict()
        category = d["category"]
        possible = [str(p) for p in cast(list[object], d.get("possible") or [])]
        components = [
            ObservationComponent(code=_b2m_cc("possible-response"), valueCodeableConcept=_b2m_cc(f"imwg-{p}"))
            for p in possible
        ]
        components.append(ObservationComponent(code=_b2m_cc("response-confirmed"), valueBoolean=bool(d["confirmed"])))
        if d.get("line") is not None:
            components.append(ObservationComponent(code=_b2m_cc("therapy-line"), valueInteger=cast(int, d["line"])))
        if d.get("at_least"):
            components.append(
                ObservationComponent(
                    code=_b2m_cc("response-at-least"), valueCodeableConcept=_b2m_cc(f"imwg-{d['at_least']}")
                )
            )
        refs: dict[str, str | None] = {}
        for meas in cast(list[dict[str, object]], d.get("measurements") or []):
            for r, t in _series_refs(w, str(meas.get("marker")), str(meas.get("date"))):
                refs.setdefault(r, t)
        w.inputs.update(refs)
        settled = category in c.IMWG_CATEGORIES
        obs = w.observation(
            code=_b2m_cc("imwg-2016-response"),
            effectiveDateTime=_fhir_date(dt.date.fromisoformat(str(d["date"]))),
            valueCodeableConcept=_b2m_cc(f"imwg-{category}") if settled else None,
            dataAbsentReason=None if settled else _UNKNOWN,
            component=components,
            derivedFrom=[Reference(reference=r, type=t) for r, t in refs.items()] or None,
        )
        out.append(w.add(w.url("imwg", i, d["date"]), obs))
    doi = cast(dict[str, object], m.to_dict()["rule"]).get("doi") if out else None
    if doi:
        w.policies[f"https://doi.org/{doi}"] = None
    return out


# ---------------------------------------------------------------------------------------------
# Provenance, ignored inputs, the Bundle
# ---------------------------------------------------------------------------------------------


def _device(w: _Writer) -> Reference:
    device = Device(
        deviceName=[DeviceDeviceName(name="b2m", type="user-friendly-name")],
        version=[DeviceVersion(value=b2m.__version__)],
        note=[
            Annotation(
                text="b2m: serum beta-2 microglobulin in multiple myeloma. Decision support, not "
                "diagnosis; no treatment recommendation."
            )
        ],
    )
    return w.add(w.url("device", b2m.__version__), device)


def assessment_bundle(
    source: FhirInput,
    assessment: Assessment,
    *,
    monitor: MonitorResult | None = None,
    recorded: dt.datetime | None = None,
) -> Bundle:
    """The resources b2m writes for one assessment (and, when given, one monitoring result).

    ``source`` is the input as read (:func:`b2m.io.fhir.read_fhir`): it gives the subject, the focus
    and the references of the inputs. ``recorded`` is the Provenance time (default: now, UTC).
    """
    w = _Writer(source)
    targets: list[Reference] = []
    staging = assessment.staging
    if "iss" in staging:
        targets.append(_stage(w, "iss", staging["iss"]))
    if "r_iss" in staging:
        targets.append(_stage(w, "r_iss", staging["r_iss"]))
    if "r2_iss" in staging:
        score = _r2_iss_score(w, staging["r2_iss"])
        if score is not None:
            targets.append(score)
        targets.append(_stage(w, "r2_iss", staging["r2_iss"], [score] if score is not None else []))
    interp = _interpretation(w, assessment)
    if interp is not None:
        targets.append(interp)
    targets += _kidney(w, assessment)
    if monitor is not None:
        targets += _responses(w, monitor)
    device = _device(w)
    when = recorded or dt.datetime.now(dt.UTC)
    provenance = Provenance(
        target=targets,
        recorded=when,
        policy=list(w.policies) or None,
        agent=[
            ProvenanceAgent(
                type=CodeableConcept(coding=[Coding(system=c.PROVENANCE_PARTICIPANT, code="author", display="Author")]),
                who=device,
            )
        ],
        entity=[ProvenanceEntity(role="source", what=Reference(reference=r, type=t)) for r, t in w.inputs.items()]
        or None,
    )
    w.add(w.url("provenance"), provenance)
    if source.ignored or source.notes:
        outcome = OperationOutcome(
            issue=[
                OperationOutcomeIssue(
                    severity="information", code="informational", diagnostics=f"{i.path}: not used: {i.reason}"
                )
                for i in source.ignored
            ]
            + [
                OperationOutcomeIssue(severity="information", code="informational", diagnostics=f"{n.code}: {n.text}")
                for n in source.notes
            ]
        )
        w.add(w.url("ignored"), outcome)
    return Bundle(
        type="collection",
        timestamp=when,
        entry=[BundleEntry(fullUrl=url, resource=res) for url, res in w.entries],
    )


__all__ = ["MARKER_SERIES", "RULE_INPUT_PATHS", "assessment_bundle"]
