"""The project's clinical reference (docs/reference/) and the citations of it.

Oracle: the citation rules written in docs/reference/README.md (b2m reference REF-3): every section
has an id in its heading, the edge-case rows keep their ids E1-E48, every id is unique, every
"b2m reference ID" anywhere in the repository names exactly one of them, every DOI in the code is
listed in docs/reference/sources.md, and nothing in the repository cites a file outside it.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "reference"
SCANNED = ("src", "tests", "docs", "benchmarks", "scripts")
TEXT_SUFFIXES = frozenset({".py", ".md", ".txt", ".json", ".j2", ".html", ".toml", ".sh", ".cfg", ".yml", ".yaml"})
SKIPPED_DIRS = frozenset({".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis"})

# A section id: upper-case letters and digits, optionally "-" and a number (ISS-2, R2ISS-4, E46, D3).
ID = r"[A-Z][A-Z0-9]*(?:-[0-9]+)?"
HEADING = re.compile(rf"^#{{1,6}}[ \t]+({ID})(?:[ \t]|$)")
ANY_HEADING = re.compile(r"^#{1,6}[ \t]+\S")
EDGE_ROW = re.compile(r"^\|[ \t]*(E[0-9]+)[ \t]*\|")
# "b2m reference" then an id list: "E46", "ISS-2", "E35, E36", "D7, D8 and D9", a run "E22-E34".
# Between the words a line may break inside a docstring, a comment or a split string literal.
GAP = r"(?:[ \t]*\n[ \t]*(?:#[ \t]*)?|[ \t]*\"[ \t]*\n[ \t]*[rfRF]?\"|[ \t]+)+"
CITATION = re.compile(rf"\bb2m{GAP}reference{GAP}(?=[A-Z])")
ITEM = re.compile(rf"([A-Z]+)([0-9]+)[-–]\1([0-9]+)(?![\w-])|({ID})(?![\w-])")
SEPARATOR = re.compile(r"[ \t]*,[ \t]*(?:and[ \t]+)?|[ \t]+and[ \t]+")
DOI = re.compile(r"\b10\.[0-9]{4,9}/[^\s`|]+")
# Built in two parts so that this file does not contain what it forbids.
FORBIDDEN = ("reference" + " sheet", "clinical-definitions" + ".md", "shared/" + "reference")


def _text_files() -> list[Path]:
    files = [ROOT / "README.md"]
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            parts = set(path.relative_to(ROOT).parts)
            if parts & SKIPPED_DIRS or any(p.endswith(".egg-info") for p in parts):
                continue
            if path.is_file() and path.suffix in TEXT_SUFFIXES:
                files.append(path)
    return files


def _reference_files() -> list[Path]:
    return sorted(REFERENCE.glob("*.md"))


def _declared_ids() -> list[tuple[str, str]]:
    """(id, file) for every heading id and every edge-case row id of docs/reference."""
    found: list[tuple[str, str]] = []
    for path in _reference_files():
        for line in path.read_text(encoding="utf-8").splitlines():
            m = HEADING.match(line) or (EDGE_ROW.match(line) if path.name == "edge-cases.md" else None)
            if m:
                found.append((m.group(1), path.name))
    return found


def _cited_ids(text: str) -> list[tuple[int, list[str] | None]]:
    """(offset, ids) of every citation in ``text``; ids is None when the list after "b2m reference"
    does not parse (e.g. "b2m reference R-ISS")."""
    out: list[tuple[int, list[str] | None]] = []
    for m in CITATION.finditer(text):
        pos, ids = m.end(), []
        while item := ITEM.match(text, pos):
            if item.group(4):
                ids.append(item.group(4))
            else:
                prefix, lo, hi = item.group(1), int(item.group(2)), int(item.group(3))
                ids += [f"{prefix}{n}" for n in range(lo, hi + 1)] if lo < hi else [f"{prefix}{lo}", f"{prefix}{hi}"]
            pos = item.end()
            sep = SEPARATOR.match(text, pos)
            if sep is None or not ITEM.match(text, sep.end()):
                break
            pos = sep.end()
        out.append((m.start(), ids or None))
    return out


def _dois(text: str) -> set[str]:
    out = set()
    for m in DOI.finditer(text):
        doi = m.group(0)
        while doi and (doi[-1] in ".,;:'\"*" or (doi[-1] == ")" and doi.count(")") > doi.count("("))):
            doi = doi[:-1]
        out.add(doi.lower())
    return out


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def test_every_heading_of_the_reference_has_an_id() -> None:
    """REF-3: every citable section has a short id at the start of its heading."""
    missing = [
        f"{path.name}: {line}"
        for path in _reference_files()
        for line in path.read_text(encoding="utf-8").splitlines()
        if ANY_HEADING.match(line) and not HEADING.match(line)
    ]
    assert missing == []


def test_ids_are_unique() -> None:
    """REF-3: an id names exactly one section or edge-case row."""
    counts = Counter(i for i, _ in _declared_ids())
    assert [i for i, n in counts.items() if n > 1] == []


def test_edge_case_rows_are_e1_to_e48() -> None:
    """EDGE-2: the table keeps its rows E1-E48 in order (a row keeps its meaning)."""
    rows = [i for i, f in _declared_ids() if f == "edge-cases.md" and re.fullmatch(r"E[0-9]+", i)]
    assert rows[:48] == [f"E{n}" for n in range(1, 49)]


def test_every_citation_resolves_to_one_id() -> None:
    """REF-3: every "b2m reference ID" in src/, tests/, docs/, benchmarks/, scripts/ and README.md
    names an id declared in docs/reference (and parses as an id list)."""
    declared = {i for i, _ in _declared_ids()}
    bad: list[str] = []
    cited = 0
    for path in _text_files():
        if path == Path(__file__).resolve():
            continue  # this file's own parser examples include a malformed citation on purpose
        text = path.read_text(encoding="utf-8")
        for offset, ids in _cited_ids(text):
            where = f"{path.relative_to(ROOT)}:{_line(text, offset)}"
            if ids is None:
                bad.append(f"{where}: unparsed {text[offset : offset + 40]!r}")
                continue
            cited += 1
            bad += [f"{where}: unknown id {i}" for i in ids if i not in declared]
    assert bad == []
    assert cited > 0


def test_citation_parser() -> None:
    """The citation forms of REF-3, parsed by hand."""
    assert _cited_ids("(b2m reference E46)") == [(1, ["E46"])]
    assert _cited_ids("b2m reference ISS-2; b2m reference E35, E36") == [(0, ["ISS-2"]), (21, ["E35", "E36"])]
    assert _cited_ids("b2m reference D7, D8 and D9.") == [(0, ["D7", "D8", "D9"])]
    assert _cited_ids("b2m reference E22-E24") == [(0, ["E22", "E23", "E24"])]
    assert _cited_ids('(b2m "\n    "reference E2)') == [(1, ["E2"])]
    assert _cited_ids("b2m reference R-ISS") == [(0, None)]
    assert _cited_ids("the b2m reference (docs/reference/)") == []


def test_every_doi_in_the_code_is_listed_in_sources() -> None:
    """SRC: every DOI quoted in a source file of the package is listed in docs/reference/sources.md."""
    listed = _dois((REFERENCE / "sources.md").read_text(encoding="utf-8"))
    in_code = set().union(*(_dois(p.read_text(encoding="utf-8")) for p in (ROOT / "src").rglob("*.py")))
    assert in_code
    assert sorted(in_code - listed) == []


def test_every_doi_in_the_reference_is_listed_in_sources() -> None:
    """SRC: a DOI quoted anywhere in docs/reference has its full citation in sources.md."""
    listed = _dois((REFERENCE / "sources.md").read_text(encoding="utf-8"))
    quoted = set().union(*(_dois(p.read_text(encoding="utf-8")) for p in _reference_files()))
    assert sorted(quoted - listed) == []


def test_sources_of_implemented_rules_are_in_the_code() -> None:
    """SRC-1 lists only DOIs the code actually cites (SRC-2 holds the others)."""
    text = (REFERENCE / "sources.md").read_text(encoding="utf-8")
    src1 = text.split("## SRC-1", 1)[1].split("## SRC-2", 1)[0]
    in_code = set().union(*(_dois(p.read_text(encoding="utf-8")) for p in (ROOT / "src").rglob("*.py")))
    assert _dois(src1)
    assert sorted(_dois(src1) - in_code) == []


@pytest.mark.parametrize("phrase", FORBIDDEN)
def test_nothing_cites_a_file_outside_the_repository(phrase: str) -> None:
    """REF-1: notes, errors, docstrings, tests and docs cite docs/reference, never an outside file."""
    hits = []
    for path in _text_files():
        # Words may be split over lines, comments or string literals: compare with those joined.
        joined = re.sub(r"[\s\"#]+", " ", path.read_text(encoding="utf-8")).casefold()
        if phrase in joined:
            hits.append(str(path.relative_to(ROOT)))
    assert hits == []
