"""docs/fhir-conformance.md lists every code b2m reads and writes, and the code tables agree with the engine.

Oracle: the conformance page (written for integrators) and the engine's own vocabularies (rule inputs,
flag codes, IMWG categories), so that a code added in one place and not the other fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

from b2m.io.fhir import codes as c
from b2m.io.fhir.writer import MARKER_SERIES, RULE_INPUT_PATHS
from b2m.monitor.imwg_2016.constants import CATEGORIES, NOT_EVALUABLE
from b2m.rules.staging import SYSTEMS

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "fhir-conformance.md").read_text(encoding="utf-8")


def _listed(code: str) -> bool:
    return f"`{code}`" in PAGE


def test_every_code_read_is_listed() -> None:
    missing = [k for k in c.LAB_BY_LOINC if not _listed(k)]
    missing += [k for _, k in c.MYELOMA_CODES if not _listed(k)]
    missing += [k for _, k in c.PRESENT_CODES | c.ABSENT_CODES if not _listed(k)]
    missing += [k for k in c.FISH_KEYS if not _listed(k)]
    missing += [s for s in (c.B2M_THERAPY_LINE_EXTENSION,) if s not in PAGE]
    assert missing == []


def test_every_code_written_is_listed() -> None:
    written = [*c.B2M_CODES, *c.CRITERION_CODES, *c.FLAG_CODES]
    for s in c.STAGING.values():
        written += [s.code.code, s.method.code, *(v.code for v in s.values.values())]
    written += [x.code for x in c.EGFR_CODES.values()]
    missing = [k for k in written if not _listed(k)]
    assert missing == []
    for url in (c.B2M_SYSTEM, c.B2M_FLAG_SYSTEM, c.MCODE_CANCER_STAGE, c.NCIT):
        assert url in PAGE


def test_every_rule_input_has_a_source_and_a_label() -> None:
    systems = {name: SYSTEMS[name] for name in c.STAGING}
    inputs = {i for s in systems.values() for i in s.inputs}
    assert inputs == set(RULE_INPUT_PATHS) == set(c.RULE_INPUT_LABELS)


def test_every_criterion_of_the_staging_systems_has_a_code() -> None:
    """The registry's criteria of ISS, R-ISS and R2-ISS are exactly b2m's criterion codes."""
    codes = {c.criterion_code(name, d.code): d.description for name in c.STAGING for d in SYSTEMS[name].criteria}
    assert codes == dict(c.CRITERION_CODES)


def test_the_imwg_categories_are_the_monitors() -> None:
    assert c.IMWG_CATEGORIES == CATEGORIES
    assert c.IMWG_NOT_EVALUABLE == NOT_EVALUABLE
    assert set(MARKER_SERIES) <= {"serum_m_protein", "urine_m_protein", "flc_difference", "flc_ratio_kappa_lambda"}


def test_every_flag_b2m_interpret_raises_has_a_code() -> None:
    """Flag codes written as literals in b2m.interpret (``Flag("code", ...)``), and the confounder table."""
    source = (ROOT / "src" / "b2m" / "interpret" / "flags.py").read_text(encoding="utf-8")
    literal = {
        node.args[0].value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) == "Flag"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }
    from b2m.interpret.flags import CONFOUNDERS

    assert literal | {s.code for s in CONFOUNDERS.values()} == set(c.FLAG_CODES)
