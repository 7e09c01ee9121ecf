"""Shared by the FHIR tests: the official packages fetched by scripts/setup.sh, and the validator.

- ``tests/.fhir-packages/hl7.fhir.r4.examples-4.0.1/package``: the HL7 FHIR R4 examples (npm, CC0);
- ``tests/.fhir-packages/hl7.fhir.us.mcode-4.0.0/package``: mCODE STU4 (npm), its definitions and examples;
- ``node_modules/@medplum/core``: the validator ``scripts/fhir-validate.mjs`` runs (Node.js >= 20.19).

Without them the tests that need them are skipped with the reason, except under CI (``CI`` set), where a
missing package is a failure: scripts/setup.sh must have installed it.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ROOT / "tests" / ".fhir-packages"
R4_EXAMPLES = PACKAGES / "hl7.fhir.r4.examples-4.0.1" / "package"
MCODE = PACKAGES / "hl7.fhir.us.mcode-4.0.0" / "package"
CANCER_STAGE_SD = MCODE / "StructureDefinition-mcode-cancer-stage.json"
VALIDATOR = ROOT / "scripts" / "fhir-validate.mjs"

# The only issue the validator reports on b2m's output that is not a defect: @medplum/core resolves a
# reference's target type only from "Type/id", so a Bundle-internal "urn:uuid:..." reference (valid
# FHIR, the form b2m uses inside the Bundles it writes) draws this warning.
URN_REFERENCE_WARNING = 'Invalid reference: got "urn:uuid:'


def need(path: Path, what: str) -> None:
    if path.exists():
        return
    message = f"{what} not found at {path.relative_to(ROOT)}: run scripts/setup.sh (Node.js and npm needed)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@functools.cache
def _examples(folder: Path) -> tuple[tuple[Path, str], ...]:
    """(path, resourceType) of every JSON resource in a folder (read once per test run)."""
    out = []
    for path in sorted(folder.glob("*.json")):
        head = path.read_text(encoding="utf-8")
        try:
            rt = json.loads(head).get("resourceType")
        except (ValueError, AttributeError):
            continue
        out.append((path, str(rt)))
    return tuple(out)


def example_files(folder: Path, types: Sequence[str]) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every example of the given resource types in a folder, parsed from its file."""
    for path, rt in _examples(folder):
        if rt in types:
            yield path, load(path)


def validate(resources: Sequence[dict[str, Any]], profiles: Sequence[Path] = ()) -> list[dict[str, Any]]:
    """Each resource's validation result (base R4, and every loaded profile it claims)."""
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("node not found: scripts/setup.sh needs Node.js >= 20.19 for the FHIR validator")
        pytest.skip("node not found (the FHIR validator runs on Node.js)")
    need(ROOT / "node_modules" / "@medplum" / "core" / "package.json", "the FHIR validator (@medplum/core)")
    for p in profiles:
        need(p, "the mCODE package")
    run = subprocess.run(
        [node, str(VALIDATOR), *map(str, profiles)],
        input=json.dumps(list(resources)),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert run.returncode in (0, 1), run.stderr
    out: list[dict[str, Any]] = json.loads(run.stdout)
    return out


def errors(result: dict[str, Any], *, allow: Sequence[str] = (URN_REFERENCE_WARNING,)) -> list[str]:
    """Every issue of one result except the known urn:uuid warning (errors and other warnings alike)."""
    out = []
    for issue in result["issues"]:
        text = str(issue.get("details", {}).get("text", ""))
        if issue.get("severity") == "warning" and any(text.startswith(a) for a in allow):
            continue
        out.append(f"{issue.get('severity')} {issue.get('expression')} {text} [{issue.get('where')}]")
    return out
