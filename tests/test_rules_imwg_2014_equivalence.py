"""IMWG 2014: equivalence of the current implementation with the one before its refactor.

This is an EQUIVALENCE test against the previous implementation of :func:`b2m.rules.imwg_2014.imwg_2014`
(the single 246-line function with a per-class witness search, before it was cut into per-criterion
helpers and made fast), NOT a reference test: its expected values were produced by running that
previous implementation, so they protect against a refactor changing an answer, not against an error
the old code already had. The reference tests, with oracles from the paper, are in
``tests/test_rules_imwg_2014.py``.

``tests/data/imwg_2014_equivalence.json`` holds a corpus of inputs generated with Hypothesis (values on
and around every IMWG 2014 cut-off, in every reported unit, censored values, every input unknown in
turn) and, for each, the previous implementation's answer: ``possible``, every criterion's ``met``
(``T``/``F``/``?`` in criterion order), ``missing``, the note codes, and a SHA-256 of the inputs as
shown and the criterion texts; recorded at the commit that added this file, before any change to the
rule.

Re-recording (``python -m tests.test_rules_imwg_2014_equivalence --record``) is only meaningful on
that commit: recording with the new code would make the test compare the code with itself.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from b2m.errors import InputError
from b2m.rules.base import RuleResult
from b2m.rules.imwg_2014 import imwg_2014
from b2m.units import parse_lab
from b2m.units.labvalue import MIN_REPORTED_VALUE, parse_number

DATA = Path(__file__).parent / "data" / "imwg_2014_equivalence.json"
N_CASES = 5000


# Values on, just below and just above every cut-off, in the units the labs report, plus free values.
_NUM = {
    "bmpc_percent": st.one_of(
        st.sampled_from([0.0, 0.5, 5.0, 9.99, 10.0, 10.01, 30.0, 59.99, 60.0, 60.01, 95.0]),
        st.floats(0, 100, allow_nan=False),
        st.sampled_from(["<5", "<10", ">10", ">=10", "<60", ">=60", ">60", "<=10"]),
    ),
    "m_protein_g_dl": st.one_of(
        st.sampled_from([0.0, 0.5, 2.99, 3.0, 3.01, 6.0]),
        st.floats(0, 15, allow_nan=False),
        st.sampled_from(["<0.1", "<3", ">=3", ">3", "<=3"]),
    ),
    "urine_m_protein_mg_24h": st.one_of(
        st.sampled_from([0.0, 100.0, 499.0, 500.0, 501.0, 3200.0]),
        st.floats(0, 10000, allow_nan=False),
        st.sampled_from(["<500", ">=500", "<100", ">500"]),
    ),
    "crcl_ml_min": st.one_of(
        st.sampled_from([15.0, 39.9, 40.0, 40.1, 90.0]),
        st.floats(1, 200, allow_nan=False),
        st.sampled_from(["<40", ">=40", ">60", "<15"]),
    ),
    "bm_lymphoplasmacytic_percent": st.one_of(
        st.sampled_from([0.0, 9.9, 10.0, 10.1, 40.0]),
        st.sampled_from(["<10", ">=10"]),
    ),
}
# (unit, values around the cut-offs in that unit, limit name, limits) per lab.
_LABS: dict[str, list[tuple[str, list[Any], str, list[float]]]] = {
    "calcium": [
        ("mg/dL", [8.5, 10.0, 10.99, 11.0, 11.01, 11.2, 11.5, 12.5, ">11", "<11"], "upper_limit", [10.2, 10.5]),
        ("mmol/L", [2.2, 2.5, 2.74, 2.75, 2.76, 2.8, 2.85, 3.1], "upper_limit", [2.55, 2.6]),
    ],
    "creatinine": [
        ("mg/dL", [0.8, 1.99, 2.0, 2.01, 3.5, ">2", "<2"], "upper_limit", [1.2]),
        ("µmol/L", [70.0, 176.0, 177.0, 178.0, 300.0], "upper_limit", [106.0]),
        ("mg/L", [8.0, 19.9, 20.0, 20.1, 35.0], "upper_limit", [12.0]),
    ],
    "hemoglobin": [
        ("g/dL", [8.0, 9.99, 10.0, 10.01, 11.0, 11.5, 12.0, 14.0, "<10"], "lower_limit", [12.0, 13.5]),
        ("g/L", [80.0, 99.0, 100.0, 101.0, 110.0, 115.0, 140.0], "lower_limit", [120.0, 135.0]),
    ],
    "flc_kappa": [
        ("mg/L", [5.0, 19.4, 19.5, 30.0, 99.9, 100.0, 100.1, 1000.0, 2450.0, "<1", ">100"], "upper_limit", [19.4]),
        ("mg/dL", [0.5, 1.0, 10.0, 10.01, 245.0], "upper_limit", [1.94]),
    ],
    "flc_lambda": [
        ("mg/L", [1.0, 9.5, 10.0, 24.5, 26.3, 26.4, 100.0, 1000.0, "<1", ">100"], "upper_limit", [26.3]),
        ("mg/dL", [0.1, 1.0, 2.64, 10.0, 100.0], "upper_limit", [2.63]),
    ],
}


@st.composite
def _lab(draw: st.DrawFn, key: str) -> dict[str, Any] | None:
    if draw(st.integers(0, 4)) == 0:
        return None
    unit, values, limit_name, limits = draw(st.sampled_from(_LABS[key]))
    value = draw(st.sampled_from(values))
    raw: dict[str, Any] = {"value": value, "unit": unit}
    limit = draw(st.one_of(st.none(), st.sampled_from(limits)))
    if limit is not None:
        raw[limit_name] = limit
    return raw


_MGUS: dict[str, Any] = {
    "bmpc_percent": 5.0,
    "plasmacytoma": "none",
    "isotype": "IgG",
    "m_protein_g_dl": 1.0,
    "urine_m_protein_mg_24h": 100.0,
    "calcium": {"value": 9.5, "unit": "mg/dL", "upper_limit": 10.2},
    "creatinine": {"value": 0.9, "unit": "mg/dL"},
    "crcl_ml_min": 80.0,
    "crcl_estimator": "CKD-EPI 2021",
    "hemoglobin": {"value": 13.0, "unit": "g/dL", "lower_limit": 12.0},
    "osteolytic_lesions": 0,
    "mri_focal_lesions_ge_5mm": 0,
    "flc_kappa": {"value": 30.0, "unit": "mg/L", "upper_limit": 19.4},
    "flc_lambda": {"value": 10.0, "unit": "mg/L", "upper_limit": 26.3},
    "crab_attributable": None,
    "amyloidosis": False,
    "igm_related_features": None,
    "bm_lymphoplasmacytic_percent": None,
}
# One profile near each class; the generator then changes some inputs (or makes them unknown).
_PROFILES: tuple[dict[str, Any], ...] = (
    _MGUS,
    {**_MGUS, "isotype": "IgM", "bm_lymphoplasmacytic_percent": 5.0, "igm_related_features": False},
    {
        **_MGUS,
        "isotype": "light_chain",
        "m_protein_g_dl": 0.0,
        "flc_kappa": {"value": 80.0, "unit": "mg/L", "upper_limit": 19.4},
    },
    {**_MGUS, "bmpc_percent": 20.0},
    {**_MGUS, "bmpc_percent": 0.0, "plasmacytoma": "bone"},
    {**_MGUS, "plasmacytoma": "extramedullary"},
    {**_MGUS, "bmpc_percent": 30.0, "calcium": {"value": 11.5, "unit": "mg/dL"}, "crab_attributable": True},
    {**_MGUS, "amyloidosis": True},
)
_OTHER: dict[str, st.SearchStrategy[Any]] = {
    **_NUM,
    "plasmacytoma": st.sampled_from(["none", "bone", "extramedullary", "present"]),
    "isotype": st.sampled_from(["IgG", "IgA", "IgD", "IgE", "IgM", "light_chain", "non_secretory"]),
    "crcl_estimator": st.sampled_from(["CKD-EPI 2021", "Cockcroft-Gault"]),
    "osteolytic_lesions": st.sampled_from([0, 1, 2, 5]),
    "mri_focal_lesions_ge_5mm": st.sampled_from([0, 1, 2, 3]),
    "crab_attributable": st.booleans(),
    "amyloidosis": st.booleans(),
    "igm_related_features": st.booleans(),
}


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    """One set of keyword inputs in JSON form (labs as the patient contract writes them)."""
    case = dict(draw(st.sampled_from(_PROFILES)))
    for key in sorted(case):
        change = draw(st.integers(0, 9))
        if change == 0:
            case[key] = None
        elif change <= 2:
            case[key] = draw(_lab(key)) if key in _LABS else draw(_OTHER[key])
    return case


def _kwargs(case: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in case.items():
        if k in _LABS:
            out[k] = parse_lab(k, v)
        elif k in _NUM and v is not None:
            out[k] = parse_number(v, k, allow_censored=True)
        else:
            out[k] = v
    return out


def answer(r: RuleResult) -> dict[str, Any]:
    """What is compared: every decision, and a digest of the inputs as shown and the criterion texts.

    Note texts are compared by code only (their prose, constants of the module, is edited on its own).
    """
    shown = json.dumps([r.to_dict()["inputs"], [c.description for c in r.criteria]], ensure_ascii=False)
    return {
        "possible": list(r.possible),
        "met": "".join({True: "T", False: "F", None: "?"}[c.met] for c in r.criteria),
        "missing": list(r.missing),
        "notes": [n.code for n in r.notes],
        "shown_sha256": hashlib.sha256(shown.encode()).hexdigest(),
    }


def _load() -> list[dict[str, Any]]:
    return json.loads(DATA.read_text())["cases"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("chunk", range(10))
def test_same_answer_as_previous_implementation(chunk: int) -> None:
    """Every recorded input gives exactly the previous implementation's answer (equivalence, see module doc)."""
    recorded = _load()
    refused = 0
    for i, item in enumerate(recorded[chunk::10]):
        if _below_floor(item["input"]):
            # The one deliberate change since the recording: the units layer now refuses a positive value below
            # any reported one (MIN_REPORTED_VALUE, e.g. Hypothesis's 1.6e-257), which the old code accepted.
            with pytest.raises(InputError, match="below any reported value"):
                _kwargs(item["input"])
            refused += 1
            continue
        got = answer(imwg_2014(**_kwargs(item["input"])))
        assert got == item["answer"], (chunk + 10 * i, item["input"])
    assert refused < 20, refused  # the exception: 57 of 2,907 recorded inputs in all


def _below_floor(o: object) -> bool:
    """Whether an input holds a positive number below the units layer's floor (0 stays valid)."""
    if isinstance(o, dict):
        return any(_below_floor(v) for v in o.values())
    if isinstance(o, list):
        return any(_below_floor(v) for v in o)
    return isinstance(o, float) and 0 < abs(o) < MIN_REPORTED_VALUE


def test_corpus_covers_every_class_and_unknowns() -> None:
    """The corpus reaches every class as a settled answer and as one of several possible ones."""
    recorded = _load()
    assert len(recorded) >= 2000
    settled = {c["answer"]["possible"][0] for c in recorded if len(c["answer"]["possible"]) == 1}
    open_ = {s for c in recorded if len(c["answer"]["possible"]) > 1 for s in c["answer"]["possible"]}
    classes = {
        "multiple_myeloma",
        "smouldering_myeloma",
        "solitary_plasmacytoma",
        "solitary_plasmacytoma_minimal_marrow",
        "mgus_non_igm",
        "mgus_igm",
        "mgus_light_chain",
        "unclassified",
    }
    assert settled == classes and open_ == classes


def _record() -> None:
    inputs: list[dict[str, Any]] = []

    @settings(
        max_examples=N_CASES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(cases())
    def collect(case: dict[str, Any]) -> None:
        inputs.append(case)

    collect()
    out = []
    seen: set[str] = set()
    for case in inputs:
        key = json.dumps(case, sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        out.append({"input": case, "answer": answer(imwg_2014(**_kwargs(case)))})
    doc = {
        "about": "IMWG 2014 equivalence corpus: answers of the implementation before its refactor "
        "(see tests/test_rules_imwg_2014_equivalence.py). Not reference values.",
        "cases": out,
    }
    DATA.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")
    sys.stdout.write(f"{len(out)} cases written to {DATA}\n")


if __name__ == "__main__" and sys.argv[1:] == ["--record"]:
    _record()
