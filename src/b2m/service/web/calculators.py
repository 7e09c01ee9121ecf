"""The calculators: every rule of the registry from raw values with their units, nothing stored.

A calculator's page is a form (``GET``: it works without JavaScript, and the address can be kept); htmx sends
the same form as the user types and swaps in the result. The form becomes the patient document of
``b2m assess`` (:mod:`b2m.service.web.fields`), which the edge checks and reads through the unit layer
(:func:`b2m.io.models.validate`, :func:`b2m.io.patient.to_patient`); the engine (:func:`b2m.assessment.assess`)
computes everything shown: the stage or the stages still possible, the criteria, what is missing and what each
missing input could change (:mod:`b2m.service.web.whatif`), the notes, the source, the B2M interpretation with
kidney function and confounders. Rules are found in the registry; no rule is named here or in the templates.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from b2m.assessment import Assessment, assess, patient_features
from b2m.errors import InputError
from b2m.io.models import PatientDocument, validate
from b2m.io.patient import to_patient
from b2m.kidney.summary import kidney_summary
from b2m.patient import Patient
from b2m.rules import registry
from b2m.rules.base import RuleResult
from b2m.rules.spec import ScoreRule, Spec, StagingSystem
from b2m.service.access import CurrentCaller, rule
from b2m.service.problems import NotFound
from b2m.service.routers.auth import ALL_ROLES
from b2m.service.web.common import Formats, is_htmx, locale_of, render
from b2m.service.web.fields import B2M_CONTEXT, B2M_FEATURES, FEATURE_FIELDS, FIELDS, Field, read_form, unset
from b2m.service.web.fields import field_of as form_field_of
from b2m.service.web.whatif import WhatIf, describe, what_if

router = APIRouter(include_in_schema=False)
MAX_EDGE_ROUNDS = 20

DISEASE_TITLES = {
    "multiple_myeloma": "Multiple myeloma",
    "cll": "Chronic lymphocytic leukaemia",
    "waldenstrom": "Waldenström macroglobulinaemia",
    "follicular_lymphoma": "Follicular lymphoma",
}


def spec_named(name: str) -> Spec:
    for s in registry.specs():
        if s.name == name:
            return s
    raise NotFound("no such calculator")


def title_of(spec: Spec) -> str:
    return spec.ref.title


def short_name(spec: Spec) -> str:
    return spec.label if isinstance(spec, StagingSystem) else spec.ref.title.split(" (")[0]


def features_of(spec: Spec) -> tuple[str, ...]:
    """The patient features a rule reads (a staging system also those of the systems it uses)."""
    if isinstance(spec, StagingSystem):
        names: list[str] = [*spec.inputs]
        for u in spec.uses:
            names += [n for n in registry.staging_system(u).inputs if n not in names]
        return (*names, "setting", "fish_cd138_purified")
    return tuple(spec.arguments.values())


def form_fields(spec: Spec) -> tuple[list[Field], list[Field]]:
    """The rule's own fields, and the B2M context fields (when it reads B2M), in the form's order."""
    wanted: set[str] = set()
    for f in features_of(spec):
        wanted.update(FEATURE_FIELDS[f])
    if len(spec.diseases) > 1:
        wanted.add("disease")
    own = [f for name, f in FIELDS.items() if name in wanted]
    context: list[Field] = []
    if B2M_FEATURES & set(features_of(spec)):
        context = [FIELDS[n] for n in B2M_CONTEXT if n not in wanted]
    return own, context


def stage_label(stage: object) -> str:
    return str(stage).replace("_", " ")


@dataclass
class Computed:
    """Everything a calculator shows for one form."""

    entered: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    assessment: Assessment | None = None
    result: RuleResult | None = None
    whatif: list[WhatIf] = field(default_factory=list)
    conversions: dict[str, dict[str, Any]] = field(default_factory=dict)
    milliseconds: float = 0.0

    @property
    def anything_entered(self) -> bool:
        return any(v for k, v in self.entered.items() if not k.endswith(".unit"))


def _through_the_edge(doc: dict[str, Any], out: Computed) -> Patient | None:
    """The form's document through the edge. The edge refuses one thing at a time: each refusal is shown beside its
    field and the field left out, so that the rest is still computed (an unknown input widens the stages, never
    narrows them). ``None`` when a refusal cannot be set aside."""
    names = list(out.entered)
    for _ in range(MAX_EDGE_ROUNDS):
        try:
            return to_patient(validate(PatientDocument, doc))
        except InputError as e:
            name = form_field_of(e.field, names)
            out.errors.setdefault(name, e.problem + (f" ({e.hint})" if e.hint else "") + f"; accepted: {e.accepted}")
            if not unset(doc, e.field) and not unset(doc, name.rsplit(".", 1)[0] if name.count(".") > 1 else name):
                return None
    return None


def compute(spec: Spec, params: Mapping[str, str]) -> Computed:
    started = time.perf_counter()
    own, context = form_fields(spec)
    fields = own + context
    form = read_form(fields, params)
    doc = {**form.document, "disease": form.document.get("disease") or spec.diseases[0]}
    out = Computed(entered=form.entered, errors=dict(form.errors))
    patient = _through_the_edge(doc, out)
    if patient is None:
        return out
    a = assess([patient])[0]
    out.assessment = a
    out.result = a.staging.get(spec.name) or a.scores.get(spec.name)
    out.conversions = {k: lab.to_dict() for k, lab in patient.labs.items()}
    if out.result is not None and out.result.missing:
        kidney = kidney_summary(
            creatinine=patient.lab("creatinine"),
            cystatin_c=patient.lab("cystatin_c"),
            age_years=patient.age,
            sex=patient.sex,
            weight_kg=patient.weight_kg,
        )
        out.whatif = what_if(spec, patient_features(patient, kidney), out.result)
    out.milliseconds = (time.perf_counter() - started) * 1000
    return out


def feedback(fields: list[Field], c: Computed, fmt: Formats) -> dict[str, tuple[str, str]]:
    """Per field: the refusal to show beside it, and the conversion of a lab value (as entered -> as used)."""
    out: dict[str, tuple[str, str]] = {}
    for f in fields:
        errors = [msg for name, msg in c.errors.items() if name == f.name or name.startswith(f.name + ".")]
        conversion = ""
        lab = c.conversions.get(f.analyte) if f.kind == "lab" else None
        if lab is not None:
            received = lab["received"]
            used = lab["value"] if isinstance(lab["value"], str) else fmt.num(lab["value"], 4)
            if received["unit"] != lab["unit"]:
                conversion = f"{received['value']} {received['unit']} = {used} {lab['unit']}"
            else:
                conversion = f"{used} {lab['unit']}, as entered"
            if lab["upper_limit"] is not None:  # an upper limit alone is shown as such, no invented lower limit
                upper = f"{fmt.num(lab['upper_limit'])} {lab['unit']}"
                if lab["lower_limit"] is not None:
                    conversion += f"; reference interval {fmt.num(lab['lower_limit'])}–{upper}"
                else:
                    conversion += f"; upper reference limit {upper}"
        out[f.name] = ("; ".join(errors), conversion)
    return out


def caution_of(computed: Computed, spec: Spec) -> dict[str, str] | None:
    """The one caution shown in the summary: a setting note, then a value on a disputed boundary, then a B2M
    confounder (warning before caution) when the rule reads B2M, then the rule's first disputed point."""
    r = computed.result
    if r is None:
        return None
    notes = [n.to_dict() for n in r.notes]
    for n in notes:
        if n["kind"] == "setting":
            return n
    for n in notes:
        if n["kind"] == "discrepancy" and n["code"].endswith("_boundary"):
            return n
    a = computed.assessment
    if a is not None and B2M_FEATURES & set(features_of(spec)):
        flags = [fl.to_dict() for fl in a.b2m.flags]
        for level in ("warning", "caution"):
            for fl in flags:
                if fl["severity"] == level:
                    return {"kind": "caveat", "code": str(fl["code"]), "text": str(fl["clinician"])}
    for n in notes:
        if n["kind"] == "discrepancy":
            return n
    return notes[0] if notes else None


def calculators() -> list[dict[str, Any]]:
    """The registry's rules, grouped by disease, for the index page."""
    groups: dict[str, list[Spec]] = {}
    for s in registry.specs():
        groups.setdefault(s.diseases[0], []).append(s)
    return [
        {"disease": d, "title": DISEASE_TITLES.get(d, stage_label(d)), "specs": specs} for d, specs in groups.items()
    ]


@router.get("/calculators", **rule(ALL_ROLES))
def index(request: Request, caller: CurrentCaller) -> Response:
    return render(request, "calculators.html.j2", {"groups": calculators(), "short_name": short_name})


READING_FIELDS: tuple[str, ...] = ("labs.b2m", *B2M_CONTEXT)


def compute_reading(params: Mapping[str, str]) -> Computed:
    """One B2M result read on its own (the laboratory's interpretive comment): the result with the reporting lab's
    interval, kidney function and the other causes of a raised B2M; no stage."""
    started = time.perf_counter()
    form = read_form([FIELDS[n] for n in READING_FIELDS], params)
    out = Computed(entered=form.entered, errors=dict(form.errors))
    patient = _through_the_edge({**form.document, "disease": "multiple_myeloma"}, out)
    if patient is not None and patient.lab("b2m") is not None:
        out.assessment = assess([patient])[0]
        out.conversions = {k: lab.to_dict() for k, lab in patient.labs.items()}
    out.milliseconds = (time.perf_counter() - started) * 1000
    return out


@router.get("/calculators/b2m-reading", **rule(ALL_ROLES))
def b2m_reading(request: Request, caller: CurrentCaller) -> Response:
    """Reading one B2M result: the form and the interpretive comment (htmx asks for the comment alone)."""
    params = {k: v for k, v in request.query_params.items() if len(k) < 80}
    computed = compute_reading(params)
    fields = [FIELDS[n] for n in READING_FIELDS]
    fmt = Formats(locale_of(request))
    ctx: dict[str, Any] = {
        "b2m_field": fields[0],
        "context_fields": fields[1:],
        "c": computed,
        "fb": feedback(fields, computed, fmt),
        "oob": is_htmx(request),
    }
    if computed.assessment is not None:
        ctx["b2m_panel"] = {"b2m": computed.assessment.b2m.to_dict(), "kidney": computed.assessment.kidney.to_dict()}
    template = "b2m_reading_result.html.j2" if is_htmx(request) else "b2m_reading.html.j2"
    return render(request, template, ctx, headers={"Server-Timing": f"engine;dur={computed.milliseconds:.1f}"})


@router.get("/calculators/{name}", **rule(ALL_ROLES))
def calculator(
    request: Request, caller: CurrentCaller, name: str = Path(max_length=64, pattern=r"^[a-z0-9_]+$")
) -> Response:
    """One calculator: the form and its result (htmx asks for the result alone)."""
    spec = spec_named(name)
    params = {k: v for k, v in request.query_params.items() if len(k) < 80}
    computed = compute(spec, params)
    own, context = form_fields(spec)
    fmt = Formats(locale_of(request))
    ctx: dict[str, Any] = {
        "spec": spec,
        "kind": "staging" if isinstance(spec, StagingSystem) else "score",
        "title": title_of(spec),
        "short": short_name(spec),
        "own": own,
        "context_fields": context,
        "c": computed,
        "caution": caution_of(computed, spec),
        "stage_label": stage_label,
        "whatif_lines": [(w, describe(w, fmt.num, stage_label)) for w in computed.whatif],
        "reads_b2m": bool(B2M_FEATURES & set(features_of(spec))),
        "is_score_rule": isinstance(spec, ScoreRule),
    }
    if computed.assessment is not None:
        ctx["b2m_panel"] = {"b2m": computed.assessment.b2m.to_dict(), "kidney": computed.assessment.kidney.to_dict()}
    ctx["fb"] = feedback(own + context, computed, fmt)
    ctx["oob"] = is_htmx(request)
    template = "calculator_result.html.j2" if is_htmx(request) else "calculator.html.j2"
    return render(request, template, ctx, headers={"Server-Timing": f"engine;dur={computed.milliseconds:.1f}"})
