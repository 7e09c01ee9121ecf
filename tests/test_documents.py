"""The edge: document models, their JSON Schemas, the JSON checks and the errors they give (issue 9, item 1).

Oracles: the contracts written down in README.md ("JSON contract") and docs/monitor-contract.md; JSON
itself (RFC 8259: ``true``/``false`` are not numbers, ``"5"`` is a string, object keys should be unique);
the JSON Schema 2020-12 specification as implemented by the independent ``jsonschema`` package, which
checks the committed schemas and validates the bundled example documents against them.
"""

from __future__ import annotations

import copy
import io
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from b2m.errors import InputError
from b2m.io.documents import MAX_DEPTH, load_json, patients_from_json, read_source, series_from_json
from b2m.io.models import SCHEMAS, LabResult, Labs, PatientDocument, SeriesDocument, json_schema_text, validate
from b2m.io.models import patient as patient_models
from b2m.io.models.options import CohortReportOptions, CohortValuesOptions, FishKey, Kind, StageOptions
from b2m.io.models.series import Series
from b2m.io.patient import parse_patient, parse_patients
from b2m.io.series import parse_series_document
from b2m.monitor.series import SERIES_KEYS
from b2m.units import LAB_NAMES

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_DIR = ROOT / "docs" / "schemas"
DATA = resources.files("b2m").joinpath("data")
EXAMPLES = {"patient": "example_patients.json", "series": "example_series.json"}


def _example(name: str) -> Any:
    return json.loads(DATA.joinpath(EXAMPLES[name]).read_text(encoding="utf-8"))


def _validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


# ---------------------------------------------------------------------------------------------
# The committed schemas are the models' schemas, and the examples are valid against them
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_committed_schema_equals_the_model(name: str) -> None:
    """docs/schemas/NAME.schema.json is exactly what the model gives (regenerate with `b2m schema NAME`)."""
    committed = (SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8")
    assert committed == json_schema_text(name), f"docs/schemas/{name}.schema.json is stale: run b2m schema {name}"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schema_command_prints_the_committed_schema(
    name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from b2m.cli import main

    monkeypatch.setattr(sys, "argv", ["b2m", "schema", name])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out == (SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8")
    schema = json.loads(out)
    assert list(schema)[:4] == ["$schema", "$id", "title", "description"]
    assert schema["$id"] == f"urn:b2m:schema:{name}"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schema_is_valid_json_schema_2020_12(name: str) -> None:
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_bundled_examples_are_valid_against_the_committed_schema(name: str) -> None:
    """The bundled example documents, checked by an independent JSON Schema validator."""
    errors = [e.message for e in _validator(name).iter_errors(_example(name))]
    assert errors == []


def test_monitor_fixture_patient_is_valid_against_the_series_schema() -> None:
    fixture = json.loads((ROOT / "tests" / "data" / "monitor_fixture.json").read_text(encoding="utf-8"))
    assert [e.message for e in _validator("series").iter_errors(fixture["patient"])] == []


@pytest.mark.parametrize(
    ("name", "doc"),
    [
        ("patient", {"age": False}),
        ("patient", {"age": "67"}),
        ("patient", {"age": 131}),
        ("patient", {"del_17p": True}),
        ("patient", {"id": True}),
        ("patient", {"id": ""}),
        ("patient", {"labs": {"b2m": {"value": "4.2", "unit": "mg/L"}}}),
        ("patient", {"labs": {"b2m": {"value": True, "unit": "mg/L"}}}),
        ("patient", {"labs": {"b2m": {"value": -1, "unit": "mg/L"}}}),
        ("patient", {"labs": {"b2microglobulin": {"value": 4, "unit": "mg/L"}}}),
        ("patient", {"cytogenetics": {"del17p": 1}}),
        ("patient", {"cll": {"rai_stage": 5}}),
        ("patient", [{"sex": "m"}]),
        ("series", {"series": {"b2m": [{"value": 3, "unit": "mg/L"}]}}),
        ("series", {"series": {"b2m": [{"date": "2025-01-01", "unit": "mg/L"}]}}),
        ("series", {"therapy_lines": [{"line": 0, "start": "2025-01-01"}]}),
        ("series", {"imaging_events": [{"date": "2025-01-01", "finding": "lesion"}]}),
    ],
)
def test_schema_and_model_refuse_the_same_documents(name: str, doc: Any) -> None:
    """What the committed schema refuses, the model refuses too (strict JSON types: RFC 8259)."""
    assert list(_validator(name).iter_errors(doc)), doc
    with pytest.raises(InputError):
        (parse_patients if name == "patient" else parse_series_document)(doc)


def test_model_is_stricter_than_the_schema_on_integers_with_a_fraction() -> None:
    """JSON Schema's "integer" includes 2.0 (a number with a zero fraction); b2m's counts and stages are written
    as integers (2), as `b2m assess` has always required. (The reader is stricter than the schema wherever a
    schema cannot say it: units and plausibility, the calendar range, an end after its start.)"""
    assert list(_validator("patient").iter_errors({"cll": {"rai_stage": 2.0}})) == []
    with pytest.raises(InputError, match=r"not a whole number from 0 to 4: 2\.0"):
        parse_patient({"cll": {"rai_stage": 2.0}})


@pytest.mark.parametrize(
    ("name", "doc"),
    [
        ("patient", {"id": 12345, "age": 67, "weight_kg": 70.5}),
        ("patient", {"labs": {"b2m": {"value": "<0.5", "unit": "mg/L"}, "ldh": {"value": 300, "unit": "U/L"}}}),
        ("patient", {"labs": {"b2m": {"value": None}}, "cytogenetics": {"del17p": None}}),
        ("patient", {"conditions": ["rheumatoid arthritis", None], "medications": []}),
        ("series", {"id": 7, "series": {"b2m": [{"date": "2025-01-01", "value": ">=20", "unit": "µg/mL"}]}}),
    ],
)
def test_schema_and_model_accept_the_same_documents(name: str, doc: Any) -> None:
    """An integer id, censored values and nulls are accepted by both, as the contracts say."""
    assert [e.message for e in _validator(name).iter_errors(doc)] == []
    (parse_patients if name == "patient" else parse_series_document)(doc)


# ---------------------------------------------------------------------------------------------
# The models match the domain's vocabulary
# ---------------------------------------------------------------------------------------------


def test_models_name_every_lab_and_series_key() -> None:
    """Labs and series keys are the unit layer's analytes (one list, in units/analytes.py)."""
    assert tuple(Labs.model_fields) == LAB_NAMES
    assert tuple(Series.model_fields) == SERIES_KEYS


def test_option_choices_are_the_cohort_layers() -> None:
    from b2m.cohort.at_diagnosis import FISH_KEYS
    from b2m.io.cohort.load import KINDS

    assert get_args(FishKey) == FISH_KEYS
    assert get_args(Kind) == KINDS


@pytest.mark.parametrize(
    ("model", "domain"),
    [
        ("Cytogenetics", "Cytogenetics"),
        ("Imaging", "Imaging"),
        ("CLL", "CLLFeatures"),
        ("Lymphoma", "LymphomaFeatures"),
    ],
)
def test_sub_documents_have_the_domain_fields(model: str, domain: str) -> None:
    import dataclasses

    import b2m.patient

    domain_fields = {f.name for f in dataclasses.fields(getattr(b2m.patient, domain))}
    assert set(getattr(patient_models, model).model_fields) == domain_fields


# ---------------------------------------------------------------------------------------------
# Strict types, both ways in (parsed JSON and raw JSON bytes)
# ---------------------------------------------------------------------------------------------


def test_values_are_kept_as_received() -> None:
    """`35` stays an integer and `"<0.5"` stays text: the report shows what the lab sent."""
    doc = validate(PatientDocument, {"labs": {"albumin": {"value": 35, "unit": "g/L"}, "b2m": {"value": "<0.5"}}})
    assert doc.labs is not None and doc.labs.albumin is not None and doc.labs.b2m is not None
    assert type(doc.labs.albumin.value) is int and doc.labs.b2m.value == "<0.5"
    patient = parse_patient({"id": 42, "labs": {"albumin": {"value": 35, "unit": "g/L"}}})
    assert patient.id == "42"
    assert patient.labs["albumin"].received_value == 35 and patient.labs["albumin"].value == 3.5


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_json_mode_and_python_mode_agree(name: str) -> None:
    """pydantic's JSON mode on the raw bytes (what an API may use) gives the same models as the parsed JSON."""
    model = PatientDocument if name == "patient" else SeriesDocument
    for item in _example(name):
        raw = json.dumps(item).encode()
        assert model.model_validate_json(raw, strict=True) == validate(model, item)


@pytest.mark.parametrize(
    ("doc", "field", "words"),
    [
        ({"age": False}, "age", ["not a number: False", "0 to 130 (years)"]),
        ({"age": "67"}, "age", ["not a number: '67'", "0 to 130"]),
        ({"age": 10**400}, "age", ["too large for any measurement", "0 to 130"]),
        ({"weight_kg": float("inf")}, "weight_kg", ["out of range: inf", "1 to 400"]),
        ({"cytogenetics": {"del17p": 1}}, "cytogenetics.del17p", ["expected true, false or null, got 1", "null"]),
        ({"cll": {"rai_stage": 2.0}}, "cll.rai_stage", ["not a whole number from 0 to 4: 2.0", "an integer 0-4"]),
        ({"sex": "m"}, "sex", ["unknown value 'm'", "female, male"]),
        ({"labs": {"b2m": {"value": "4.2", "unit": "mg/L"}}}, "labs.b2m.value", ["without quotes", '"<0.5"']),
        ({"labs": {"b2m": 4.2}}, "labs.b2m", ["expected an object, got a number 4.2", "value, unit"]),
        ({"labs": {"b2m": {"value": 4, "unit": "mg/L", "units": "x"}}}, "labs.b2m", ["unknown key(s) 'units'"]),
        ({"labs": {"b2microglobulin": {}}}, "labs.b2microglobulin", ["unknown lab name", "b2m, albumin"]),
        ({"id": "a\tb"}, "id", ["control characters", "printable text"]),
        ({"id": True}, "id", ["expected text, got a boolean True", "or an integer"]),
        ({"conditions": [1]}, "conditions[0]", ["expected text, got a number 1", "200 characters"]),
    ],
)
def test_errors_name_field_problem_and_accepted_forms(doc: dict[str, Any], field: str, words: list[str]) -> None:
    """Every refusal is one InputError (never pydantic's ValidationError) naming the field path, the problem
    and the accepted forms."""
    with pytest.raises(InputError) as exc:
        parse_patient(doc)
    e = exc.value
    assert e.field == field, str(e)
    for w in words:
        assert w in str(e), (w, str(e))


def test_error_paths_through_arrays_and_series() -> None:
    """`[3].series.b2m[2].date`: the index of the patient, the series and the entry (docs/monitor-contract.md)."""
    doc = copy.deepcopy(_example("series")[0])
    doc["series"]["b2m"][2]["date"] = "2025-02-30"
    docs = [{"id": "a"}, {"id": "b"}, {"id": "c"}, doc]
    with pytest.raises(InputError) as exc:
        parse_series_document(docs)
    assert exc.value.field == "[3].series.b2m[2].date"
    assert "not a date: '2025-02-30'" in str(exc.value) and "ISO 8601" in str(exc.value)
    doc["series"]["b2m"][2]["date"] = "2025-03-01"
    doc["series"]["b2m"][2]["value"] = 4200  # mg/L: the unit layer names the unit most likely meant
    with pytest.raises(InputError) as exc:
        parse_series_document(docs)
    assert exc.value.field == "[3].series.b2m[2].value"
    assert "looks like µg/L" in str(exc.value)


def test_series_patient_ids_are_unique_and_not_echoed() -> None:
    with pytest.raises(InputError) as exc:
        parse_series_document([{"id": "secret-1"}, {"id": "secret-1"}])
    assert exc.value.field == "[1].id" and "secret" not in str(exc.value)


# ---------------------------------------------------------------------------------------------
# JSON checks at the edge (once, for the CLI and the API)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b'{"labs": {"b2m": {"value": 3, "unit": "mg/L", "value": 7}}}', ["duplicate key 'value'"]),
        (b'[{"id": "a"}, {"id": "b", "id": "c"}]', ["duplicate key 'id'"]),
        (b'{"id": "\\udc00x"}', ["not valid Unicode"]),
        (b'{"id": "\\ud83d\\ude00"}', None),  # a valid surrogate pair (an emoji) is text
        (b"\xef\xbb\xbf{}", None),  # a UTF-8 byte-order mark is allowed
        (b'{"id": "caf\xe9"}', ["not UTF-8"]),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), ["nested too deeply", f"at most {MAX_DEPTH}"]),
        (b"[" * 100_000, ["nested too deeply"]),
        (b'{"age": ' + b"9" * 5000 + b"}", ["invalid JSON"]),
        (b"{not json", ["invalid JSON at line 1"]),
    ],
)
def test_json_checks(data: bytes, words: list[str] | None) -> None:
    if words is None:
        load_json(data, "doc")
        return
    with pytest.raises(InputError) as exc:
        load_json(data, "doc")
    assert exc.value.field == "doc"
    for w in words:
        assert w in str(exc.value)


def test_numbers_beyond_any_measurement_are_refused_by_their_field() -> None:
    """1e400 parses as infinity and NaN is not JSON; both are refused where they stand, with the field's forms."""
    for data, field in (
        (b'{"age": 1e400}', "age"),
        (b'{"labs": {"b2m": {"value": NaN, "unit": "mg/L"}}}', "labs.b2m.value"),
    ):
        with pytest.raises(InputError) as exc:
            patients_from_json(data, "doc")
        assert exc.value.field == field


def test_read_source_size_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 2048)
    with pytest.raises(InputError, match="larger than 1,024 bytes"):
        read_source(str(big), io.BytesIO(), max_bytes=1024)
    with pytest.raises(InputError, match="larger than 1,024 bytes"):
        read_source("-", io.BytesIO(b" " * 2048), max_bytes=1024)
    assert read_source("-", io.BytesIO(b"{}"), max_bytes=1024) == (b"{}", "stdin")
    with pytest.raises(InputError, match="no such file"):
        read_source(str(tmp_path / "nope.json"), io.BytesIO())


def test_document_shape_is_kept() -> None:
    """One object in, one out; an array in, an array out (the CLI mirrors the input's shape)."""
    one = patients_from_json(b'{"id": "x"}')
    many = patients_from_json(b'[{"id": "x"}, {}]')
    assert (len(one.items), one.array) == (1, False)
    assert (many.array, [p.id for p in many.items]) == (True, ["x", "2"])
    series = series_from_json(json.dumps(_example("series")).encode())
    assert series.array and [p.id for p in series.items] == [d["id"] for d in _example("series")]


# ---------------------------------------------------------------------------------------------
# Run options
# ---------------------------------------------------------------------------------------------


def test_options_defaults_are_the_commands_defaults() -> None:
    """The flags' documented defaults (README "Commands")."""
    assert StageOptions().on_invalid == "error"
    r = CohortReportOptions()
    assert (r.kind, r.engine, r.window, r.policy, r.bootstrap, r.seed) == (
        "wide",
        "polars",
        (-60, 30),
        "nearest",
        500,
        20240601,
    )
    assert CohortValuesOptions().kind == "long"


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"window_days": [30, -60]}, "window_days", ["not a window"]),
        ({"window_days": [1, 30], "policy": "last_before"}, "window_days", ["last_before"]),
        ({"window_days": [1]}, "window_days", ["1 entries; at least 2"]),
        ({"ldh_uln_u_l": 5}, "ldh_uln_u_l", ["out of range: 5", "U/L, 10-50000"]),
        (
            {"fish_concept_ids": {"del(17p)": [5]}, "kind": "omop"},
            "fish_concept_ids",
            ["unknown key 'del(17p)'", "del17p"],
        ),
        ({"fish_concept_ids": {"del17p": [5]}}, "fish_concept_ids", ["given for kind 'wide'"]),
        ({"bootstrap": -1}, "bootstrap", ["not a whole number from 0 to 100000"]),
        ({"min_cell_count": 1}, "min_cell_count", ["out of range"]),
        ({"engine": "pandas"}, "engine", ["unknown value 'pandas'", "polars, duckdb, spark"]),
        ({"seed": "1"}, "seed", ["not a whole number"]),
    ],
)
def test_option_errors(values: dict[str, Any], field: str, words: list[str]) -> None:
    with pytest.raises(InputError) as exc:
        validate(CohortReportOptions, values, root="options")
    assert exc.value.field == field, str(exc.value)
    for w in words:
        assert w in str(exc.value), str(exc.value)


def test_lab_result_model_is_shared_by_labs_and_series() -> None:
    assert all(Labs.model_fields[k].annotation == LabResult | None for k in LAB_NAMES)


# ---------------------------------------------------------------------------------------------
# Property: whatever the document, the edge answers with a domain object or one InputError
# ---------------------------------------------------------------------------------------------

_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(["", "x", "<0.5", "4.2", "2026-01-31", "mg/L", "female", "positive", "new_bone_lesion"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["value", "unit", "date", "x"]), inner),
    max_leaves=6,
)


def _paths(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*path, i))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(sorted(EXAMPLES)))
def test_any_mutation_gives_a_domain_object_or_one_input_error(data: st.DataObject, name: str) -> None:
    """Replace any part of a bundled example with any JSON value: the edge returns domain objects or raises
    one InputError whose text is the project's (field path first), never pydantic's own wording."""
    doc = copy.deepcopy(_example(name)[0])
    path = data.draw(st.sampled_from(_paths(doc)))
    value = data.draw(_JSON)
    if not path:
        doc = value
    else:
        target = doc
        for p in path[:-1]:
            target = target[p]
        target[path[-1]] = value
    reader = parse_patients if name == "patient" else parse_series_document
    try:
        reader(doc)
    except InputError as e:
        text = str(e)
        assert "\n" not in text and "Input should" not in text and "validation error" not in text, text
        assert e.field and e.problem, text
