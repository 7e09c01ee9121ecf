"""What the GSE24080 cohort report says, read from the rendered page (issue 10, "Honesty of the outputs").

Oracles: the published staging rules applied by hand to the bundled file's raw rows (ISS, Greipp 2005:
III B2M >= 5.5 mg/L; I B2M < 3.5 and albumin >= 3.5 g/dL; II otherwise. R-ISS, Palumbo 2015: I = ISS I,
no high-risk CA and LDH normal; III = ISS III and (high-risk CA or LDH high); II otherwise; LDH high =
above the upper limit, a value equal to it normal) and the dataset's documented facts (GSE24080-README:
one '<0.5' B2M, one missing, one albumin of 0.3 g/dL; no per-abnormality FISH; no LDH upper limit).

- A data note gives how many patients it concerns, never which: "(patients: 480)" read as 480
  censored values and published a row id.
- A C-index comparison with fewer than two stages populated is not estimable, and the page, the JSON
  and the CSV say so instead of printing "C 0.500 (0.500–0.500)" and "difference 0.000".
- ``b2m demo`` states the LDH upper limit it assumes, on the page, and compares ISS with R-ISS.
"""

from __future__ import annotations

import csv
import html
import json
import re
from importlib import resources
from pathlib import Path

import pytest

from b2m.cli.cohort import write_demo_report, write_example_report

ROWS: list[dict[str, str]] = list(
    csv.DictReader(
        resources.files("b2m")
        .joinpath("data/gse24080_uams_maqc2_clinical.csv")
        .read_text(encoding="utf-8")
        .splitlines()
    )
)
DEMO_ULN = 250.0  # the README's example: `b2m cohort report gse24080 -o gse-report --ldh-uln 250`


def iss_by_hand(r: dict[str, str]) -> str | None:
    """Greipp 2005; a '<0.5' B2M is below every cut-off; albumin outside 1-7 g/dL (0.3) is unknown."""
    raw = r["b2m_mg_l_raw"].strip()
    if not raw:
        return None
    b2m = 0.0 if raw.startswith("<") else float(raw)
    if b2m >= 5.5:
        return "III"
    if b2m >= 3.5:
        return "II"
    alb = float(r["alb_g_dl"])
    if not 1.0 <= alb <= 7.0:
        return None
    return "I" if alb >= 3.5 else "II"


def r_iss_by_hand(r: dict[str, str], uln: float | None) -> str | None:
    """Palumbo 2015 with FISH unknown: only the stages FISH cannot change are given."""
    iss = iss_by_hand(r)
    ldh_high = None if uln is None else float(r["ldh_u_l"]) > uln
    if iss == "II" or (iss == "I" and ldh_high is True):
        return "II"  # neither I (ISS II, or LDH high) nor III (ISS not III)
    if iss == "III" and ldh_high is True:
        return "III"
    return None  # ISS I with LDH normal or unknown: I or II; ISS III with LDH normal or unknown: II or III


def _section(page: str, start_id: str) -> str:
    """The visible text from the heading ``start_id`` to the next h2 (figures and tags removed)."""
    part = page[page.index(f'id="{start_id}"') :]
    part = part[: part.index("<h2", 1)] if "<h2" in part[1:] else part
    part = re.sub(r"<svg.*?</svg>", " ", part, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", part)).split())


def _discrimination(page: str) -> str:
    return " ".join(_section(page, f"cindex-{e}") for e in ("os", "efs"))


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def without_uln(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("no-uln")
    write_example_report(out, bootstrap=20)  # `b2m cohort report gse24080`, no --ldh-uln
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    write_demo_report(out, bootstrap=20)  # `b2m demo`
    return out


# ---------------------------------------------------------------------------------------------
# Data notes: counts, not ids
# ---------------------------------------------------------------------------------------------


def test_data_notes_give_counts_and_no_patient_id(without_uln: Path) -> None:
    """One '<0.5' B2M, one missing B2M, one albumin of 0.3 g/dL: each note says "(1 patient)"; the row
    ids of those patients (the file's ``original_order``) are nowhere in the Data section or the JSON notes."""
    censored = [r["original_order"] for r in ROWS if r["b2m_mg_l_raw"].strip().startswith("<")]
    missing = [r["original_order"] for r in ROWS if not r["b2m_mg_l_raw"].strip()]
    albumin = [r["original_order"] for r in ROWS if not 1.0 <= float(r["alb_g_dl"]) <= 7.0]
    assert (len(censored), len(missing), len(albumin)) == (1, 1, 1)
    data = _section((without_uln / "report.html").read_text(encoding="utf-8"), "data")
    assert "patients:" not in data
    assert re.search(r"B2M reported as '<0\.5' mg/L: .*?\(1 patient\)", data)
    assert re.search(r"B2M missing: .*?\(1 patient\)", data)
    assert re.search(r"Albumin 0\.3 g/dL .*?\(1 patient\)", data)
    assert f"({len(ROWS)} patients)" in data  # the FISH note concerns every patient
    for pid in (*censored, *missing, *albumin):
        assert not re.search(rf"(?<![\d.]){pid}(?![\d.])", data), pid
    notes = json.loads((without_uln / "report.json").read_text(encoding="utf-8"))["data_notes"]
    assert notes and all("patient_ids" not in n for n in notes)
    assert {n["code"]: n["count"] for n in notes if n["code"].startswith(("b2m_", "albumin"))} == {
        "b2m_censored": 1,
        "b2m_missing": 1,
        "albumin_implausible": 1,
    }


# ---------------------------------------------------------------------------------------------
# A comparison with one stage populated is not estimable
# ---------------------------------------------------------------------------------------------


def test_one_stage_comparison_is_not_estimable_on_the_page(without_uln: Path) -> None:
    """Without an LDH upper limit and without FISH, R-ISS can stage only ISS II patients (all R-ISS II):
    every patient staged by both is stage II in both, so ISS vs R-ISS says "not estimable" and prints no C."""
    both = [r for r in ROWS if iss_by_hand(r) is not None and r_iss_by_hand(r, None) is not None]
    assert {(iss_by_hand(r), r_iss_by_hand(r, None)) for r in both} == {("II", "II")}
    assert len(both) == 148  # ISS II in GSE24080 (tests/test_survival.py, statsmodels oracle)
    page = (without_uln / "report.html").read_text(encoding="utf-8")
    text = _discrimination(page)
    assert "0.500" not in text and "0.000" not in text
    assert "R-ISS − ISS" not in text  # no difference row
    found = re.findall(r"ISS vs R-ISS not estimable: ([^.]*?cannot discriminate)", text)
    assert len(found) == 2, text  # OS and EFS
    assert all("ISS stage II" in why and "R-ISS stage II" in why for why in found)


def test_one_stage_comparison_is_not_estimable_in_json_and_csv(without_uln: Path) -> None:
    doc = json.loads((without_uln / "report.json").read_text(encoding="utf-8"))["survival"]
    assert not [c for c in doc["concordance"] if "r_iss" in c["systems"] or "r2_iss" in c["systems"]]
    for endpoint in ("os", "efs"):
        assert "cannot discriminate" in doc["skipped"][f"concordance:{endpoint}:iss+r_iss"]
    rows = [r for r in _csv(without_uln / "concordance.csv") if r["systems_compared"] == "iss+r_iss"]
    assert len(rows) == 4  # two systems, two endpoints
    for r in rows:
        assert r["harrell"] == r["uno"] == r["n"] == "" and "cannot discriminate" in r["not_estimable"]
    assert not [r for r in _csv(without_uln / "concordance_differences.csv") if "r_iss" in r["systems_compared"]]


# ---------------------------------------------------------------------------------------------
# The demo: an assumption stated on the page, and a comparison that means something
# ---------------------------------------------------------------------------------------------


def test_demo_states_its_assumed_ldh_uln_on_the_page(demo: Path) -> None:
    page = (demo / "report.html").read_text(encoding="utf-8")
    boxes = [
        " ".join(html.unescape(re.sub(r"<[^>]+>", " ", b)).split())
        for b in re.findall(r'<div class="assumption"[^>]*>(.*?)</div>', page, flags=re.S)
    ]
    assert any("ASSUMED to be 250 U/L" in b and "chosen by b2m demo" in b for b in boxes), boxes
    assert any("not the UAMS laboratory's limit" in b and "--no-ldh-uln" in b for b in boxes), boxes
    doc = json.loads((demo / "report.json").read_text(encoding="utf-8"))
    assert doc["provenance"]["ldh_uln_u_l"] == DEMO_ULN
    assert doc["provenance"]["ldh_uln_source"] == "assumed by b2m demo (the data give none)"
    # the other view: what R-ISS and R2-ISS stage without the assumption, stated beside it
    data = _section(page, "data")
    assert "R-ISS would give a single stage to 148 patients (all of them stage II) and R2-ISS to 0 patients" in data


def test_demo_compares_iss_with_r_iss(demo: Path) -> None:
    """With LDH > 250 U/L as high, R-ISS stages ISS II (II), ISS I with LDH high (II) and ISS III with
    LDH high (III): by hand, the patients staged by both and their stages; the page shows a C with an
    interval for each system and their difference, on exactly those patients."""
    both = [r for r in ROWS if iss_by_hand(r) is not None and r_iss_by_hand(r, DEMO_ULN) is not None]
    stages = {s for r in both for s in (r_iss_by_hand(r, DEMO_ULN),)}
    assert stages == {"II", "III"}
    events = sum(int(r["os_event"]) for r in both)
    text = _discrimination((demo / "report.html").read_text(encoding="utf-8"))
    c = r"0\.\d{3} \(0\.\d{3}–0\.\d{3}\)"
    assert re.search(rf"ISS vs R-ISS {len(both)} {events} ISS {c} {c} R-ISS {c} {c}", text), text
    assert re.search(r"ISS vs R-ISS Harrell R-ISS − ISS -?0\.\d{3} \(-?0\.\d{3} to -?0\.\d{3}\)", text)
    assert "ISS vs R-ISS not estimable" not in text


def test_demo_refuses_an_assumed_and_no_ldh_uln(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--ldh-uln U` and `--no-ldh-uln` contradict each other: one line, exit 2, before any work."""
    import sys

    from b2m.cli import main

    monkeypatch.setattr(sys, "argv", ["b2m", "demo", "--ldh-uln", "250", "--no-ldh-uln", "--out", "/nonexistent/x"])
    with pytest.raises(SystemExit) as exc:
        main()
    captured = capsys.readouterr()
    assert exc.value.code == 2 and captured.out == ""
    assert captured.err.startswith("b2m: error: --no-ldh-uln") and captured.err.count("\n") == 1
