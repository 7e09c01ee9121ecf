"""FHIR R4 in: a Bundle or a set of resources -> the documents of ``b2m assess`` and ``b2m monitor``.

The adapter produces the JSON contract *documents* (README; docs/monitor-contract.md), which then go
through the same edge as JSON input (:func:`b2m.io.patient.parse_patients` for
:meth:`FhirInput.patient`, :func:`b2m.io.series.parse_series_document` for
:meth:`FhirInput.patient_series`): the same unit layer, the same refusals and messages.
A refusal names the FHIR element it came from instead of the contract field, e.g.
``Bundle.entry[3].resource(Observation/abc).valueQuantity.code: unit 'mg/dL' refused: ...``.
A Patient's resource id is never part of a path (no patient id in any message).

Rules (docs/fhir-conformance.md states them for integrators):

- Resources are parsed with the fhir.resources R4B models (R4 payloads; a resource type that exists only
  in R4 is listed as ignored). A resource of a type b2m reads that does not parse is refused.
- One patient per input: at most one Patient; every subject must be that patient.
- Labs: Observations coded with a LOINC code of :data:`codes.LAB_BY_LOINC` (also as a component), status
  final / amended / corrected, ``valueQuantity`` with a UCUM ``code`` (else its ``unit`` text),
  ``comparator`` kept as censoring (``<0.5``), one ``referenceRange`` (the only one, or the only one
  typed "normal" without age or appliesTo) as the lab's limits, ``effective[x]`` as the date,
  ``method`` as the method.
- Cytogenetics: Observations (or components) with b2m's own codes or the codes a site configures
  (``fish_codes``), read as present / absent from ``valueBoolean``, a coded answer or a word.
- **Assessment: the latest result per analyte** (by effective date; on the same date by time when every
  result there has one, else identical values or a refusal). Undated results are used only when an
  analyte has exactly one result and it is undated. ``as_of`` excludes later results.
- **Series: every result with an effective date** precise to the day.
- Age: completed years from ``birthDate`` at the assessment date (``as_of``, else the latest date of the
  results used). Sex: ``gender`` male / female (other and unknown are unknown).
- The myeloma Condition (SNOMED CT 109989006, ICD-10 C90.0, ICD-10-CM C90.00-C90.02) becomes the focus
  of the stages written; other current Conditions and current MedicationStatements / MedicationRequests
  become the ``conditions`` / ``medications`` the B2M interpretation reads.
- Therapy lines: MedicationStatement / MedicationRequest / Procedure resources carrying b2m's
  therapy-line extension (no standard FHIR element numbers a line of therapy).
- Everything else, and every result b2m does not use, is listed in :attr:`FhirInput.ignored` with the
  reason; nothing is dropped silently.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from b2m.cohort.at_diagnosis import loinc_valid
from b2m.errors import InputError
from b2m.io.fhir import codes as c
from b2m.io.patient import parse_patients
from b2m.io.series import parse_series_document
from b2m.monitor.series import PatientSeries
from b2m.patient import Patient
from b2m.provenance import Note
from b2m.units import ANALYTES, unit_factor

READ_TYPES: tuple[str, ...] = (
    "Patient",
    "Observation",
    "Condition",
    "MedicationStatement",
    "MedicationRequest",
    "Procedure",
    "Medication",
)
MAX_RESOURCES = 100_000
MAX_BUNDLE_DEPTH = 4
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_VALUE_FIELDS = (
    "valueQuantity",
    "valueCodeableConcept",
    "valueString",
    "valueBoolean",
    "valueInteger",
    "valueRange",
    "valueRatio",
    "valueSampledData",
    "valueTime",
    "valueDateTime",
    "valuePeriod",
)
NORMAL_RANGE = ("http://terminology.hl7.org/CodeSystem/referencerange-meaning", "normal")


@dataclass(frozen=True, slots=True)
class Origin:
    """Where one element of a contract document came from.

    ``path`` is the FHIR path of the resource (or component); ``elements`` maps the contract entry's keys
    to the FHIR elements below it (``"unit" -> "valueQuantity.code"``); ``reference`` is how an output
    resource points at the source (``Observation/abc`` or its ``fullUrl``), ``None`` when it has neither.
    """

    path: str
    reference: str | None
    elements: Mapping[str, str] = field(default_factory=dict)
    date: dt.date | None = None
    resource_type: str | None = None


@dataclass(frozen=True, slots=True)
class Ignored:
    """A resource or element b2m does not use, and why."""

    path: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class FhirInput:
    """One patient's FHIR input as contract documents, with the origin of every element.

    ``document`` is a patient document of ``b2m assess`` (latest result per analyte); ``series`` a patient
    document of ``b2m monitor`` (every dated result). ``origins`` is keyed by contract path (``labs.b2m``,
    ``series.b2m[2]``, ``age``, ``cytogenetics.del17p``, ``conditions[0]``, ``therapy_lines[0]``).
    """

    document: Mapping[str, object]
    series: Mapping[str, object]
    origins: Mapping[str, Origin]
    ignored: tuple[Ignored, ...]
    not_in_series: tuple[Ignored, ...]
    used: tuple[str, ...]  # paths of every resource the documents were read from (with ignored: all)
    notes: tuple[Note, ...]
    subject: str | None  # reference of the patient (for the resources b2m writes)
    conditions: tuple[str, ...]  # references of the myeloma Condition(s): the focus of the stages
    as_of: dt.date | None  # the assessment date

    def patient(self) -> Patient:
        """The assessment document through the edge (errors name FHIR paths)."""
        try:
            return parse_patients(dict(self.document))[0]
        except InputError as e:
            raise self.translate(e) from None

    def patient_series(self) -> PatientSeries:
        """The series document (every dated result) through the edge, as the monitor reads it (errors name
        FHIR paths)."""
        try:
            return parse_series_document(dict(self.series))[0]
        except InputError as e:
            raise self.translate(e) from None

    def translate(self, e: InputError) -> InputError:
        """The same error with the contract field replaced by the FHIR path it came from."""
        return type(e)(fhir_path(e.field, self.origins), e.problem, e.accepted, e.hint)

    def references(self, contract_path: str) -> tuple[tuple[str, str | None], ...]:
        """(reference, resource type) of the resources behind a contract element and its entries."""
        out: dict[str, str | None] = {}
        for key, o in self.origins.items():
            if (key == contract_path or key.startswith(contract_path + "[")) and o.reference:
                out.setdefault(o.reference, o.resource_type)
        return tuple(out.items())


def fhir_path(field_name: str, origins: Mapping[str, Origin]) -> str:
    """Map a contract field (``labs.b2m.unit``, ``series.b2m[3].date``) to its FHIR path."""
    best = ""
    for key in origins:
        if (field_name == key or field_name.startswith(key + ".") or field_name.startswith(key + "[")) and len(
            key
        ) > len(best):
            best = key
    if not best:
        return field_name
    o = origins[best]
    rest = field_name[len(best) :].lstrip(".")
    if not rest:
        return o.path
    head, _, tail = rest.partition(".")
    element = o.elements.get(head)
    if element is None:
        return f"{o.path} ({field_name})"
    return f"{o.path}.{element}" + (f".{tail}" if tail else "")


# ---------------------------------------------------------------------------------------------
# Parsing resources
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Entry:
    path: str
    resource: Any  # a fhir.resources R4B model
    full_url: str | None

    @property
    def type(self) -> str:
        return str(self.resource.get_resource_type())

    @property
    def reference(self) -> str | None:
        if self.full_url and self.full_url.startswith("urn:"):
            return self.full_url
        if self.resource.id:
            return f"{self.type}/{self.resource.id}"
        return self.full_url


def _label(raw: Mapping[str, object]) -> str:
    rt = raw.get("resourceType")
    rt_text = rt if isinstance(rt, str) and rt.isidentifier() else "?"
    rid = raw.get("id")
    if rt_text == "Patient" or not (isinstance(rid, str) and _FHIR_ID.match(rid)):
        return rt_text
    return f"{rt_text}/{rid}"


def _loc_path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", part):
            out += f".{part}"
    return out


def _validation_error(e: ValidationError, path: str, resource_type: str) -> InputError:
    first = e.errors()[0]
    problem = str(first.get("msg", "invalid")).splitlines()[0][:160]
    return InputError(
        path + _loc_path(first.get("loc", ())),
        f"not a valid FHIR R4 {resource_type}: {problem}",
        f"a {resource_type} resource as FHIR R4 defines it",
    )


def _collect(
    raw: object, path: str, out: list[_Entry], ignored: list[Ignored], full_url: str | None, depth: int
) -> None:
    if not isinstance(raw, Mapping):
        raise InputError(
            path or "input",
            f"expected a FHIR resource (a JSON object), got {type(raw).__name__}",
            "a Bundle, a resource, or an array of resources",
        )
    rt = raw.get("resourceType")
    if not isinstance(rt, str):
        raise InputError(path or "input", "resourceType is missing", "a FHIR R4 resource")
    if rt == "Bundle":
        if depth > MAX_BUNDLE_DEPTH:
            raise InputError(path, "Bundles nested too deeply", f"at most {MAX_BUNDLE_DEPTH} levels")
        entries = raw.get("entry") or []
        if not isinstance(entries, list):
            raise InputError(f"{path}.entry", "expected an array", "an array of Bundle entries")
        shell = {
            **raw,
            "entry": [
                {k: v for k, v in e.items() if k != "resource"} if isinstance(e, Mapping) else e for e in entries
            ],
        }
        try:
            get_fhir_model_class("Bundle").model_validate(shell)
        except ValidationError as e:
            raise _validation_error(e, path, "Bundle") from None
        for i, entry in enumerate(entries):
            assert isinstance(entry, Mapping)
            res = entry.get("resource")
            fu = entry.get("fullUrl")
            if res is None:
                ignored.append(Ignored(f"{path}.entry[{i}]", "entry without a resource"))
                continue
            label = _label(res) if isinstance(res, Mapping) else "?"
            _collect(
                res,
                f"{path}.entry[{i}].resource({label})",
                out,
                ignored,
                fu if isinstance(fu, str) else None,
                depth + 1,
            )
        return
    if len(out) >= MAX_RESOURCES:
        raise InputError(path, f"more than {MAX_RESOURCES:,} resources", "one patient's resources")
    if rt not in READ_TYPES:
        # Not validated: b2m reads nothing from it (listed as ignored with the reason below, or here).
        try:
            get_fhir_model_class(rt)
        except ValueError:
            ignored.append(
                Ignored(path, f"resource type {rt!r} has no FHIR R4B model (R4-only or unknown); not read by b2m")
            )
            return
        ignored.append(Ignored(path, f"resource type {rt} is not read by b2m"))
        return
    try:
        model = get_fhir_model_class(rt)
    except ValueError:
        ignored.append(
            Ignored(path, f"resource type {rt!r} has no FHIR R4B model (an R4-only or unknown type); not read by b2m")
        )
        return
    try:
        resource = model.model_validate(raw)
    except ValidationError as e:
        raise _validation_error(e, path, rt) from None
    out.append(_Entry(path, resource, full_url))


def _top(raw: object) -> tuple[list[_Entry], list[Ignored]]:
    out: list[_Entry] = []
    ignored: list[Ignored] = []
    if isinstance(raw, Mapping):
        rt = raw.get("resourceType")
        start = "Bundle" if rt == "Bundle" else (_label(raw) if isinstance(rt, str) else "input")
        _collect(raw, start, out, ignored, None, 0)
    elif isinstance(raw, list):
        for i, item in enumerate(raw):
            label = _label(item) if isinstance(item, Mapping) else "?"
            _collect(item, f"[{i}]({label})", out, ignored, None, 0)
    else:
        raise InputError(
            "input",
            f"expected a FHIR Bundle or resources, got {type(raw).__name__}",
            "a Bundle, a resource, or an array of resources",
        )
    return out, ignored


# ---------------------------------------------------------------------------------------------
# Small readers of FHIR data types
# ---------------------------------------------------------------------------------------------


def _codings(cc: Any) -> list[Any]:
    return list(cc.coding or []) if cc is not None else []


def _cc_text(cc: Any) -> str | None:
    if cc is None:
        return None
    if cc.text:
        return str(cc.text)
    for cd in _codings(cc):
        if cd.display:
            return str(cd.display)
    for cd in _codings(cc):
        if cd.code:
            return str(cd.code)
    return None


def _first_code(cc: Any) -> str | None:
    for cd in _codings(cc):
        if cd.code:
            return str(cd.code)
    return None


def _number_text(x: Decimal) -> str:
    text = format(x, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _norm_ref(ref: str) -> str:
    """``http://x/fhir/Patient/1`` and ``Patient/1`` name the same resource; ``urn:uuid:...`` stays."""
    if ref.startswith("urn:"):
        return ref
    parts = [p for p in ref.split("/") if p]
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    return "/".join(parts[-2:])


@dataclass(frozen=True, slots=True)
class _When:
    date: dt.date | None
    instant: dt.datetime | None  # set only for a time with a time zone
    element: str | None
    imprecise: str | None = None  # why no date (partial date)


def _when_of(value: object, element: str) -> _When:
    if isinstance(value, dt.datetime):
        return _When(value.date(), value if value.tzinfo is not None else None, element)
    if isinstance(value, dt.date):
        return _When(value, None, element)
    if isinstance(value, str):
        return _When(None, None, element, f"{element} {value} is not precise to the day")
    return _When(None, None, None)


def _effective(res: Any) -> _When:
    if getattr(res, "effectiveDateTime", None) is not None:
        return _when_of(res.effectiveDateTime, "effectiveDateTime")
    if getattr(res, "effectiveInstant", None) is not None:
        return _when_of(res.effectiveInstant, "effectiveInstant")
    period = getattr(res, "effectivePeriod", None)
    if period is not None and period.start is not None:
        return _when_of(period.start, "effectivePeriod.start")
    return _When(None, None, None)


# ---------------------------------------------------------------------------------------------
# Observations
# ---------------------------------------------------------------------------------------------

Kind = Literal["lab", "fish"]


@dataclass(frozen=True, slots=True)
class _Reading:
    kind: Kind
    key: str
    entry: _Entry
    element: Any  # the Observation or one of its components
    path: str  # FHIR path of the element
    code: str  # the code that matched
    when: _When


def _matches(cc: Any, fish: Mapping[tuple[str, str], str]) -> list[tuple[Kind, str, str]]:
    out: list[tuple[Kind, str, str]] = []
    for cd in _codings(cc):
        system, code = cd.system or "", cd.code or ""
        if system == c.LOINC and code in c.LAB_BY_LOINC:
            out.append(("lab", c.LAB_BY_LOINC[code], code))
        elif (system, code) in fish:
            out.append(("fish", fish[(system, code)], code))
    return out


def _unused_code_reason(cc: Any) -> str:
    found = [f"{cd.system or '?'}|{cd.code}" for cd in _codings(cc) if cd.code]
    bad_loinc = [cd.code for cd in _codings(cc) if cd.system == c.LOINC and cd.code and not loinc_valid(cd.code)]
    if bad_loinc:
        return f"LOINC {bad_loinc[0]} fails its check digit (not a LOINC code)"
    if not found:
        return "no code b2m reads (the code has no coding)"
    return "code not read by b2m: " + ", ".join(found[:4]) + (" ..." if len(found) > 4 else "")


def _is_b2m_output(obs: Any) -> bool:
    profiles = obs.meta.profile if obs.meta is not None and obs.meta.profile else []
    if c.MCODE_CANCER_STAGE in profiles:
        return True
    return any(cd.system == c.B2M_SYSTEM and cd.code not in c.B2M_FISH_CODES.values() for cd in _codings(obs.code))


def _lab_entry(r: _Reading) -> tuple[dict[str, object], dict[str, str]]:
    """The contract's lab entry for one reading, and where each of its keys came from."""
    el = r.element
    label = ANALYTES[r.key].label
    q = el.valueQuantity
    if q is None:
        other = next((name for name in _VALUE_FIELDS if getattr(el, name, None) is not None), None)
        raise InputError(
            f"{r.path}.{other or 'value[x]'}",
            f"a {label} result must be a Quantity with a unit" + ("" if other else " (no value given)"),
            "valueQuantity with value and a UCUM code",
        )
    elements = {"value": "valueQuantity.value"}
    if q.value is None:
        raise InputError(f"{r.path}.valueQuantity.value", "value is missing", "a number")
    value: object = float(q.value)
    if q.comparator is not None:
        value = f"{q.comparator}{_number_text(q.value)}"  # censored: kept as such ("<0.5")
    unit: str | None = None
    if q.system == c.UCUM and q.code:
        unit, elements["unit"] = str(q.code), "valueQuantity.code"
    else:
        unit, elements["unit"] = (str(q.unit) if q.unit else None), "valueQuantity.unit"
    entry: dict[str, object] = {"value": value, "unit": unit, "loinc": r.code}
    low, high, range_path = _reference_range(r, unit)
    if low is not None:
        entry["lower_limit"], elements["lower_limit"] = low, f"{range_path}.low.value"
    if high is not None:
        entry["upper_limit"], elements["upper_limit"] = high, f"{range_path}.high.value"
    if r.when.date is not None:
        entry["date"], elements["date"] = r.when.date.isoformat(), str(r.when.element)
    method = _cc_text(r.entry.resource.method)
    if method:
        entry["method"], elements["method"] = method[:200], "method"
    elements["loinc"] = "code"
    return entry, elements


def _reference_range(r: _Reading, unit: str | None) -> tuple[float | None, float | None, str]:
    ranges = list(r.element.referenceRange or [])

    def usable(rr: Any) -> bool:
        typed = rr.type is None or any((cd.system, cd.code) == NORMAL_RANGE for cd in _codings(rr.type))
        return typed and not rr.appliesTo and rr.age is None

    candidates = [(i, rr) for i, rr in enumerate(ranges) if usable(rr)]
    if len(candidates) != 1:
        return None, None, ""
    i, rr = candidates[0]
    base = f"referenceRange[{i}]"
    out: list[float | None] = []
    for side in ("low", "high"):
        qty = getattr(rr, side)
        if qty is None or qty.value is None:
            out.append(None)
            continue
        limit_unit = str(qty.code) if qty.system == c.UCUM and qty.code else (str(qty.unit) if qty.unit else None)
        if limit_unit is not None and unit is not None and limit_unit != unit:
            where = f"{r.path}.{base}.{side}.{'code' if qty.system == c.UCUM and qty.code else 'unit'}"
            same = unit_factor(r.key, limit_unit, where) == unit_factor(r.key, unit, f"{r.path}.valueQuantity")
            if not same:
                raise InputError(
                    where,
                    f"reference range in {limit_unit!r} but the result in {unit!r}",
                    "a reference range in the result's unit (a limit in another unit is never converted or used)",
                )
        out.append(float(qty.value))
    return out[0], out[1], base


def _fish_value(r: _Reading) -> bool | str:
    """True / False, or the reason the value was not read."""
    el = r.element
    if el.valueBoolean is not None:
        return bool(el.valueBoolean)
    if el.valueCodeableConcept is not None:
        cds = {(cd.system, cd.code) for cd in _codings(el.valueCodeableConcept)}
        present, absent = bool(cds & c.PRESENT_CODES), bool(cds & c.ABSENT_CODES)
        if present != absent:
            return present
        if present and absent:
            return "the answer is coded both present and absent"
        text = el.valueCodeableConcept.text
        if text and text.strip().casefold() in (*c.PRESENT_WORDS, *c.ABSENT_WORDS):
            return text.strip().casefold() in c.PRESENT_WORDS
        return "coded answer not read as present or absent: " + ", ".join(
            f"{s}|{k}" for s, k in sorted((str(s), str(k)) for s, k in cds)[:3]
        )
    if el.valueString is not None:
        word = str(el.valueString).strip().casefold()
        if word in (*c.PRESENT_WORDS, *c.ABSENT_WORDS):
            return word in c.PRESENT_WORDS
        return "text answer not read as present or absent"
    if el.dataAbsentReason is not None:
        return f"no value (dataAbsentReason {_first_code(el.dataAbsentReason) or _cc_text(el.dataAbsentReason)})"
    return "no value b2m reads (valueBoolean, valueCodeableConcept or valueString)"


# ---------------------------------------------------------------------------------------------
# The reader
# ---------------------------------------------------------------------------------------------

FishCodes = Mapping[str, Iterable[tuple[str, str]]]


def _fish_table(site: FishCodes | None) -> dict[tuple[str, str], str]:
    table = {(c.B2M_SYSTEM, code): key for key, code in c.B2M_FISH_CODES.items()}
    for key, pairs in (site or {}).items():
        if key not in c.FISH_KEYS:
            raise InputError("fish_codes", f"unknown cytogenetic finding {key!r}", ", ".join(c.FISH_KEYS))
        for system, code in pairs:
            if not system or not code:
                raise InputError(f"fish_codes.{key}", "a code needs a system and a code", "(system, code) pairs")
            if system == c.LOINC and code in c.LAB_BY_LOINC:
                raise InputError(f"fish_codes.{key}", f"LOINC {code} is a lab code b2m reads", "a FISH result's code")
            if table.get((system, code), key) != key:
                raise InputError(
                    f"fish_codes.{key}", f"{system}|{code} is configured for two findings", "each code for one finding"
                )
            table[(system, code)] = key
    return table


def check_fish_codes(site: FishCodes) -> None:
    """Refuse, as :func:`read_fhir` would, a site's FISH code table: an unknown finding, half a code, a LOINC code
    of a lab b2m reads, one code for two findings (a service checks its configuration once, at start)."""
    _fish_table(site)


def _age(birth: object, on: dt.date | None, notes: list[Note]) -> int | None:
    if birth is None:
        return None
    if on is None:
        notes.append(
            Note(
                "fhir_age_no_date",
                "missing",
                "Age unknown: the birth date is given but no result is dated and no assessment date (as_of) was given.",
            )
        )
        return None

    def years(b: dt.date) -> int:
        return on.year - b.year - ((on.month, on.day) < (b.month, b.day))

    if isinstance(birth, dt.date):
        return years(birth)
    text = str(birth)
    year = int(text[:4])
    if len(text) == 4:
        lo, hi = dt.date(year, 1, 1), dt.date(year, 12, 31)
    else:
        month = int(text[5:7])
        lo = dt.date(year, month, 1)
        hi = (dt.date(year + (month == 12), month % 12 + 1, 1)) - dt.timedelta(days=1)
    if years(lo) == years(hi):
        return years(lo)
    notes.append(
        Note(
            "fhir_age_partial_birth_date",
            "missing",
            f"Age unknown: the birth date is given only as {text}, which leaves two possible ages on {on.isoformat()}.",
        )
    )
    return None


def _latest(readings: list[_Reading], same: Any) -> tuple[_Reading | None, list[Ignored]]:
    """The reading for the assessment and the readings left out for lack of a date (with the reason)."""
    dated = [r for r in readings if r.when.date is not None]
    undated = [r for r in readings if r.when.date is None]
    if not dated:
        if len(undated) == 1:
            return undated[0], []
        why = "several results of this analyte without an effective date: which is the latest cannot be told"
        return None, [Ignored(r.path, r.when.imprecise + "; " + why if r.when.imprecise else why) for r in undated]
    left = [
        Ignored(r.path, (r.when.imprecise or "no effective date") + "; a dated result of the same analyte is used")
        for r in undated
    ]
    last_date = max(r.when.date for r in dated if r.when.date is not None)
    on_last = [r for r in dated if r.when.date == last_date]
    if len(on_last) == 1:
        return on_last[0], left
    instants = [r.when.instant for r in on_last]
    if all(i is not None for i in instants) and len(set(instants)) == len(instants):
        return max(on_last, key=lambda r: r.when.instant), left  # type: ignore[arg-type, return-value]
    if all(same(on_last[0], r) for r in on_last[1:]):
        return on_last[0], left
    raise InputError(
        on_last[-1].path,
        f"several different results on the latest date, {last_date.isoformat()} (also {on_last[0].path}), and "
        "their times do not tell which is the latest",
        "one result per analyte and date, or times with a time zone",
    )


def read_fhir(
    raw: object,
    *,
    fish_codes: FishCodes | None = None,
    as_of: dt.date | None = None,
    setting: str | None = None,
) -> FhirInput:
    """Read one patient's FHIR R4 resources (a Bundle, a resource, or a list of them; parsed JSON).

    ``fish_codes`` maps a cytogenetic finding of the contract (``del17p``, ``t4_14``, ...) to the
    ``(system, code)`` pairs a site uses for it. ``as_of`` is the assessment date (results after it are
    not used for the assessment; age is computed at it). ``setting`` is the contract's setting (never
    inferred from FHIR). Refusals are :class:`b2m.errors.InputError` naming the FHIR path.
    """
    fish = _fish_table(fish_codes)
    entries, ignored = _top(raw)
    notes: list[Note] = []
    origins: dict[str, Origin] = {}
    not_in_series: list[Ignored] = []

    # -- the patient -----------------------------------------------------------------------------
    patients = [e for e in entries if e.type == "Patient"]
    if len(patients) > 1:
        raise InputError(
            patients[1].path,
            f"{len(patients)} Patient resources in one input",
            "one patient's resources (send one Bundle per patient)",
        )
    patient = patients[0] if patients else None
    subject_keys: set[str] = set()
    if patient is not None:
        if patient.resource.id:
            subject_keys.add(f"Patient/{patient.resource.id}")
        if patient.full_url:
            subject_keys.add(_norm_ref(patient.full_url))
    subjects: dict[str, str] = {}  # normalised subject reference -> first path seen

    def check_subject(e: _Entry) -> None:
        ref = getattr(e.resource, "subject", None) or getattr(e.resource, "patient", None)
        if ref is None or ref.reference is None:
            return
        key = _norm_ref(str(ref.reference))
        if subject_keys and key not in subject_keys:
            raise InputError(
                f"{e.path}.subject",
                "refers to another patient than the input's Patient resource",
                "one patient's resources",
            )
        subjects.setdefault(key, e.path)
        if len(subjects) > 1:
            raise InputError(
                f"{e.path}.subject", "the resources refer to more than one patient", "one patient's resources"
            )

    # -- medications referenced by id ------------------------------------------------------------
    medications_by_ref: dict[str, _Entry] = {}
    for e in entries:
        if e.type == "Medication":
            for ref in (e.reference, e.full_url):
                if ref:
                    medications_by_ref[_norm_ref(ref)] = e
    used_medications: set[str] = set()

    readings: dict[tuple[Kind, str], list[_Reading]] = {}
    condition_refs: list[str] = []
    condition_items: list[tuple[str, Origin]] = []
    medication_items: list[tuple[str, Origin]] = []
    lines: dict[int, list[tuple[_Entry, dt.date | None, dt.date | None, str | None, str]]] = {}

    for e in entries:
        res, rt = e.resource, e.type
        if rt in ("Patient", "Medication"):
            continue
        if rt == "Observation":
            check_subject(e)
            if _is_b2m_output(res):
                ignored.append(
                    Ignored(e.path, "an observation b2m writes (a stage or an interpretation), not an input")
                )
                continue
            found: list[_Reading] = []
            when = _effective(res)
            for elem, path in (
                (res, e.path),
                *((comp, f"{e.path}.component[{j}]") for j, comp in enumerate(res.component or [])),
            ):
                m = _matches(elem.code, fish)
                keys = {(k, key) for k, key, _ in m}
                if len(keys) > 1:
                    raise InputError(
                        f"{path}.code",
                        "codes of two different results: " + ", ".join(sorted(f"{k} {key}" for k, key in keys)),
                        "one result per Observation or component",
                    )
                if m:
                    found.append(_Reading(m[0][0], m[0][1], e, elem, path, m[0][2], when))
            if not found:
                ignored.append(Ignored(e.path, _unused_code_reason(res.code)))
                continue
            if res.status not in c.RESULT_STATUSES:
                ignored.append(
                    Ignored(e.path, f"status {res.status}: only final, amended or corrected results are used")
                )
                continue
            for r in found:
                readings.setdefault((r.kind, r.key), []).append(r)
            continue
        if rt == "Condition":
            check_subject(e)
            ver = _first_code(res.verificationStatus)
            if ver in c.REFUTED_VERIFICATION:
                ignored.append(Ignored(e.path, f"verificationStatus {ver}"))
                continue
            if any((cd.system, cd.code) in c.MYELOMA_CODES for cd in _codings(res.code)):
                if e.reference:
                    condition_refs.append(e.reference)
                else:
                    ignored.append(Ignored(e.path, "myeloma Condition without id or fullUrl: cannot be referenced"))
                continue
            clinical = _first_code(res.clinicalStatus)
            if clinical is not None and clinical not in c.CURRENT_CONDITION_STATUSES:
                ignored.append(Ignored(e.path, f"clinicalStatus {clinical}: not a current condition"))
                continue
            items = _coded_items(res.code, condition=True)
            if not items:
                ignored.append(Ignored(e.path, "no code or text b2m can read"))
            for item in items:
                condition_items.append((item, Origin(e.path, e.reference, {"": "code"}, None, e.type)))
            continue
        if rt in ("MedicationStatement", "MedicationRequest", "Procedure"):
            check_subject(e)
            line = _therapy_line_number(res, e.path)
            name, med_entry = (
                _medication_name(res, medications_by_ref) if rt != "Procedure" else (_cc_text(res.code), None)
            )
            if line is not None:
                start, end, where = _line_dates(res)
                lines.setdefault(line, []).append((e, start, end, name, where))
                if med_entry is not None:
                    used_medications.add(med_entry.path)
                continue
            if rt == "Procedure":
                ignored.append(
                    Ignored(e.path, "a Procedure is read only as a therapy line (b2m's therapy-line extension)")
                )
                continue
            status = str(res.status)
            if status not in c.CURRENT_MEDICATION_STATUSES[rt]:
                ignored.append(Ignored(e.path, f"status {status}: not a current medication"))
                continue
            items = _medication_items(res, med_entry)
            if not items:
                ignored.append(Ignored(e.path, "no medication code or name b2m can read"))
            for item in items:
                medication_items.append((item, Origin(e.path, e.reference, {"": "medication"}, None, e.type)))
            if items and med_entry is not None:
                used_medications.add(med_entry.path)
            continue
    for e in entries:
        if e.type == "Medication" and e.path not in used_medications:
            ignored.append(Ignored(e.path, "a Medication not referenced by a medication b2m uses"))

    # -- the assessment: latest result per analyte -------------------------------------------------
    chosen: dict[tuple[Kind, str], _Reading] = {}
    for rkey, rs in readings.items():
        # Results after the assessment date stay in the series; only the assessment leaves them out.
        usable = [r for r in rs if as_of is None or r.when.date is None or r.when.date <= as_of]
        if not usable:
            continue
        if rkey[0] == "lab":
            pick, left = _latest(
                usable,
                lambda a, b: (
                    _lab_entry(a)[0]["value"] == _lab_entry(b)[0]["value"]
                    and _lab_entry(a)[0]["unit"] == _lab_entry(b)[0]["unit"]
                ),
            )
        else:
            pick, left = _latest(usable, lambda a, b: _fish_value(a) == _fish_value(b))
        ignored.extend(left)
        if pick is not None:
            chosen[rkey] = pick
    day = as_of or max((r.when.date for r in chosen.values() if r.when.date is not None), default=None)

    labs: dict[str, object] = {}
    cytogenetics: dict[str, object] = {}
    for (kind, key), r in sorted(chosen.items()):
        if kind == "lab":
            entry, elements = _lab_entry(r)
            labs[key] = entry
            origins[f"labs.{key}"] = Origin(r.path, r.entry.reference, elements, r.when.date, r.entry.type)
        else:
            value = _fish_value(r)
            if isinstance(value, str):
                ignored.append(Ignored(r.path, f"{value}; {key} stays unknown"))
                continue
            cytogenetics[key] = value
            origins[f"cytogenetics.{key}"] = Origin(r.path, r.entry.reference, {}, r.when.date, r.entry.type)

    document: dict[str, object] = {}
    if patient is not None:
        pres = patient.resource
        if pres.id:
            document["id"] = str(pres.id)  # a patient document's own id (never used in a message)
        age = _age(pres.birthDate, day, notes)
        if age is not None:
            document["age"] = age
            origins["age"] = Origin(f"{patient.path}.birthDate", patient.reference, {}, None, "Patient")
        if pres.gender in ("female", "male"):
            document["sex"] = pres.gender
            origins["sex"] = Origin(f"{patient.path}.gender", patient.reference, {}, None, "Patient")
        elif pres.gender is not None:
            notes.append(
                Note(
                    "fhir_sex_unknown",
                    "missing",
                    f"Administrative gender '{pres.gender}' is read as sex unknown (the equations need "
                    "female or male).",
                )
            )
    if setting is not None:
        document["setting"] = setting
    if labs:
        document["labs"] = labs
    if cytogenetics:
        document["cytogenetics"] = cytogenetics
    for list_name, listed in (("conditions", condition_items), ("medications", medication_items)):
        if listed:
            document[list_name] = [text for text, _ in listed]
            for i, (_, o) in enumerate(listed):
                origins[f"{list_name}[{i}]"] = o

    # -- the series: every dated result ------------------------------------------------------------
    series_labs: dict[str, list[object]] = {}
    for (kind, key), rs in sorted(readings.items()):
        if kind != "lab":
            continue
        dated = sorted((r for r in rs if r.when.date is not None), key=lambda r: (r.when.date, r.path))
        for r in rs:
            if r.when.date is None:
                not_in_series.append(Ignored(r.path, r.when.imprecise or "no effective date (the series needs one)"))
        for i, r in enumerate(dated):
            entry, elements = _lab_entry(r)
            series_labs.setdefault(key, []).append(entry)
            origins[f"series.{key}[{i}]"] = Origin(r.path, r.entry.reference, elements, r.when.date, r.entry.type)
    series: dict[str, object] = {k: v for k, v in document.items() if k != "labs"}
    if series_labs:
        series["series"] = series_labs
    therapy: list[object] = []
    for n, (number, parts) in enumerate(sorted(lines.items())):
        starts = [s for _, s, _, _, _ in parts if s is not None]
        ends = [x for _, _, x, _, _ in parts if x is not None]
        names = list(dict.fromkeys(name for _, _, _, name, _ in parts if name))
        therapy.append(
            {
                "line": number,
                "start": min(starts).isoformat() if starts else None,
                "end": max(ends).isoformat() if len(ends) == len(parts) else None,  # open while any part is
                "regimen": " + ".join(names)[:200] or None,
            }
        )
        first = parts[0]
        origins[f"therapy_lines[{n}]"] = Origin(
            first[0].path,
            first[0].reference,
            {"start": first[4], "end": first[4], "line": "extension"},
            None,
            first[0].type,
        )
    if therapy:
        series["therapy_lines"] = therapy
    if day is not None and readings:
        span = [r.when.date for r in chosen.values() if r.when.date is not None]
        if span and min(span) != max(span):
            notes.append(
                Note(
                    "fhir_results_span",
                    "caveat",
                    f"The latest results used for the assessment span {min(span).isoformat()} to "
                    f"{max(span).isoformat()} ({(max(span) - min(span)).days} days).",
                )
            )
    subject = patient.reference if patient is not None else next(iter(subjects), None)
    used = [o.path.split(".component[")[0] for k, o in origins.items() if k not in ("age", "sex")]
    used += [patient.path] if patient is not None else []
    used += [e.path for e in entries if e.type == "Condition" and e.reference in condition_refs]
    used += [e.path for e in entries if e.path in used_medications]
    return FhirInput(
        document=document,
        series=series,
        origins=origins,
        ignored=tuple(ignored),
        not_in_series=tuple(not_in_series),
        used=tuple(dict.fromkeys(used)),
        notes=tuple(notes),
        subject=subject,
        conditions=tuple(dict.fromkeys(condition_refs)),
        as_of=day,
    )


# ---------------------------------------------------------------------------------------------
# Conditions, medications, therapy lines
# ---------------------------------------------------------------------------------------------


def _coded_items(cc: Any, *, condition: bool) -> list[str]:
    """Items of the contract's ``conditions`` / ``medications``: ``ICD10:...``, ``SNOMED:...``, ``ATC:...``,
    else the text. One item per resource (the first readable coding), so a condition is counted once."""
    for cd in _codings(cc):
        if not cd.code:
            continue
        if condition and cd.system in (c.ICD10, c.ICD10_CM):
            return [f"ICD10:{cd.code}"]
        if condition and cd.system == c.SNOMED:
            return [f"SNOMED:{cd.code}"]
        if not condition and cd.system == c.ATC:
            return [f"ATC:{cd.code}"]
    text = _cc_text(cc)
    return [text[:200]] if text else []


def _medication_name(res: Any, by_ref: Mapping[str, _Entry]) -> tuple[str | None, _Entry | None]:
    if res.medicationCodeableConcept is not None:
        return _cc_text(res.medicationCodeableConcept), None
    ref = res.medicationReference
    if ref is not None and ref.reference:
        med = by_ref.get(_norm_ref(str(ref.reference)))
        if med is not None:
            return _cc_text(med.resource.code), med
        return (str(ref.display) if ref.display else None), None
    return None, None


def _medication_items(res: Any, med: _Entry | None) -> list[str]:
    if res.medicationCodeableConcept is not None:
        return _coded_items(res.medicationCodeableConcept, condition=False)
    if med is not None:
        return _coded_items(med.resource.code, condition=False)
    ref = res.medicationReference
    return [str(ref.display)[:200]] if ref is not None and ref.display else []


def _therapy_line_number(res: Any, path: str) -> int | None:
    for i, ext in enumerate(res.extension or []):
        if ext.url == c.B2M_THERAPY_LINE_EXTENSION:
            if ext.valueInteger is None:
                raise InputError(
                    f"{path}.extension[{i}]",
                    "the therapy-line extension needs valueInteger",
                    "valueInteger: the line number (1-50)",
                )
            return int(ext.valueInteger)
    return None


def _line_dates(res: Any) -> tuple[dt.date | None, dt.date | None, str]:
    rt = res.get_resource_type()
    if rt == "MedicationStatement":
        if res.effectivePeriod is not None:
            return _day(res.effectivePeriod.start), _day(res.effectivePeriod.end), "effectivePeriod"
        return _day(res.effectiveDateTime), None, "effectiveDateTime"
    if rt == "MedicationRequest":
        vp = res.dispenseRequest.validityPeriod if res.dispenseRequest is not None else None
        if vp is not None:
            return _day(vp.start), _day(vp.end), "dispenseRequest.validityPeriod"
        return _day(res.authoredOn), None, "authoredOn"
    if res.performedPeriod is not None:
        return _day(res.performedPeriod.start), _day(res.performedPeriod.end), "performedPeriod"
    return _day(res.performedDateTime), None, "performedDateTime"


def _day(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None


__all__ = ["FhirInput", "Ignored", "Origin", "fhir_path", "read_fhir"]
