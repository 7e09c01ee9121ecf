"""The package layout as rules a reader can rely on (the import-linter contracts in pyproject.toml cover
the layers and cycles; these cover what import-linter cannot express).

Oracle: the architecture written down in README.md ("Layout") and issue 9 ("no private imports across
packages").
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "b2m"


def _modules() -> list[tuple[str, ast.Module]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out.append((name, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))))
    return out


def _package(module: str) -> str:
    """The top-level package of ``b2m.x.y`` (``b2m.x``)."""
    return ".".join(module.split(".")[:2])


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_no_private_name_is_imported_from_another_package() -> None:
    """A name starting with ``_`` is private to its package: no other package imports it."""
    offences = []
    for importer, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("b2m"):
                source = node.module
                for alias in node.names:
                    target = f"{source}.{alias.name}"
                    crosses = _package(importer) != _package(source)
                    private = _private(alias.name) or any(_private(p) for p in source.split("."))
                    if crosses and private:
                        offences.append(f"{importer} imports {target}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    crosses = alias.name.startswith("b2m.") and _package(importer) != _package(alias.name)
                    if crosses and any(_private(p) for p in alias.name.split(".")):
                        offences.append(f"{importer} imports {alias.name}")
    assert offences == []


@pytest.mark.parametrize(
    "package",
    ["units", "kidney", "rules", "interpret", "monitor", "cohort", "engines", "io", "report", "cli", "service"],
)
def test_every_package_says_what_it_holds(package: str) -> None:
    """Every package's ``__init__`` (or module) starts with a docstring: the layout explains itself."""
    init = SRC / package / "__init__.py"
    tree = ast.parse(init.read_text(encoding="utf-8"))
    assert ast.get_docstring(tree), f"b2m.{package} has no docstring"

