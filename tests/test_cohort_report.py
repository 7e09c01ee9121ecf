"""The cohort report (``b2m cohort report``, ``b2m.cohort.report``) on the bundled GSE24080 cohort.

Oracles: the issue's contract for the report (self-contained HTML, no external address, figures
inline, the LDH-ULN assumption stated, every number in JSON/CSV beside it); the survival numbers are
those of :mod:`b2m.cohort.survival` (themselves checked against statsmodels in tests/test_survival.py)
and the dataset facts of src/b2m/data/GSE24080-README.md ('<0.5' B2M, 0.3 g/dL albumin, no FISH, no LDH ULN).
"""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

import polars as pl
import pytest

from b2m.cli.cohort import write_example_report
from b2m.cohort.renal import egfr_ckd_epi_2021
from b2m.cohort.survival import analyse
from b2m.io.cohort import gse24080

ULN = 250.0
BOOTSTRAP = 40


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    write_example_report(out, ldh_uln_u_l=ULN, bootstrap=BOOTSTRAP)
    return out


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_html_is_self_contained(report: Path) -> None:
    """No external address of any kind (http(s), protocol-relative, script/link/img sources)."""
    page = (report / "report.html").read_text(encoding="utf-8")
    assert re.search(r"https?://", page) is None
    assert re.search(r"""(src|href)\s*=\s*["']?(//|https?:)""", page) is None
    assert "<script" not in page and "<link" not in page and "<img" not in page


def test_html_has_the_figures(report: Path) -> None:
    """KM per staged system and endpoint (ISS, R-ISS x OS, EFS), stage distribution, B2M-eGFR, two forest plots."""
    page = (report / "report.html").read_text(encoding="utf-8")
    labels = re.findall(r'<svg role="img" aria-label="([^"]+)"', page)
    assert sum("Kaplan–Meier curves by" in x for x in labels) == 4
    assert sum("Cox forest plot" in x for x in labels) == 2
    assert any("Stage distribution" in x for x in labels)
    assert any("B2M against eGFR" in x for x in labels)
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "element ids must be unique across the inline figures"


def test_assumption_and_data_notes_are_stated(report: Path) -> None:
    page = (report / "report.html").read_text(encoding="utf-8")
    assert 'class="assumption"' in page
    assert f"ASSUMED to be {ULN:g} U/L" in page
    assert "&#39;&lt;0.5&#39;" in page or "'<0.5'" in page
    assert "0.3 g/dL" in page
    assert "NOT mapped" in page  # cyto_abn is not per-abnormality FISH
    doc = json.loads((report / "report.json").read_text(encoding="utf-8"))
    assert doc["provenance"]["ldh_uln_u_l"] == ULN
    assert any("ASSUMED" in a for a in doc["assumptions"])


def test_no_assumption_box_without_a_supplied_uln(tmp_path: Path) -> None:
    write_example_report(tmp_path, bootstrap=0)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'class="assumption"' not in page
    assert "No LDH upper limit of normal was given" in page


def test_json_numbers_match_the_survival_module(report: Path) -> None:
    """The JSON survival section is exactly the survival module's result for the same cohort and seed."""
    doc = json.loads((report / "report.json").read_text(encoding="utf-8"))
    table = gse24080.load(ldh_uln_u_l=ULN).table
    expected = analyse(table, egfr=egfr_ckd_epi_2021(table), bootstrap=BOOTSTRAP).to_dict()
    assert doc["survival"] == json.loads(json.dumps(expected, allow_nan=False))


def test_csv_numbers_match_the_json(report: Path) -> None:
    doc = json.loads((report / "report.json").read_text(encoding="utf-8"))["survival"]
    km = {(r["endpoint"], r["system"], r["stage"]): r for r in _csv(report / "km_summary.csv")}
    for k in doc["kaplan_meier"]:
        for g in k["groups"]:
            row = km[(k["endpoint"], k["system"], g["stage"])]
            assert int(row["n"]) == g["n"] and int(row["events"]) == g["events"]
            med = g["median"]["estimate"]
            assert (row["median_months"] == "") if med is None else float(row["median_months"]) == med
    lr = {(r["endpoint"], r["system"], r["comparison"]): r for r in _csv(report / "logrank.csv")}
    for r in doc["logrank"]:
        assert float(lr[(r["endpoint"], r["system"], "overall")]["chi2"]) == r["chi2"]
        assert float(lr[(r["endpoint"], r["system"], "overall")]["p"]) == r["p"]
    cox = {(r["endpoint"], r["model"], r["term"]): r for r in _csv(report / "cox.csv")}
    for c in doc["cox"]:
        for m in c["models"]:
            for t in m["terms"]:
                assert float(cox[(c["endpoint"], m["name"], t["term"])]["hr"]) == t["hr"]
    cc = {(r["endpoint"], r["systems_compared"], r["system"]): r for r in _csv(report / "concordance.csv")}
    for c in doc["concordance"]:
        for r in c["rows"]:
            row = cc[(c["endpoint"], "+".join(c["systems"]), r["system"])]
            assert float(row["harrell"]) == r["harrell"]["estimate"]


def test_b2m_by_egfr_shows_renal_confounding(report: Path) -> None:
    """Every patient with creatinine, age and sex has a CKD-EPI 2021 eGFR (562 of 565: 3 creatinine
    missing, README), and the median B2M rises from G1 to G5."""
    doc = json.loads((report / "report.json").read_text(encoding="utf-8"))
    rows = doc["b2m_by_egfr"]
    assert sum(r["n"] for r in rows) == 562
    medians = [r["b2m_median_mg_l"] for r in rows]
    assert medians[0] < medians[-1]


def test_min_cell_count_suppresses_every_small_count(tmp_path: Path) -> None:
    """With N = 30 no count between 1 and 29 appears as a number anywhere in the JSON's count fields,
    and individual patients are not plotted."""
    write_example_report(tmp_path, ldh_uln_u_l=ULN, min_cell_count=30, bootstrap=0)
    doc = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    counts: list[object] = []

    def walk(x: object, key: str = "") -> None:
        if isinstance(x, dict):
            for k, v in x.items():
                walk(v, k)
        elif isinstance(x, list):
            for v in x:
                walk(v, key)
        elif key in {"n", "events", "known", "unknown", "n_staged", "n_unstaged", "n_iss_iii", "n_iss_staged"}:
            counts.append(x)

    walk(doc)
    assert "<30" in counts
    assert not any("patient_ids" in note for note in doc["data_notes"])  # no identifiers in registry output
    assert not [c for c in counts if isinstance(c, int) and 0 < c < 30]
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "individual patients are not plotted" in page or "Individual patients are not drawn" in page


def test_cli_cohort_report(tmp_path: Path) -> None:
    """`b2m cohort report gse24080 -o DIR --ldh-uln 250` exits 0 and writes the report; a bad kind exits 2."""
    import subprocess

    out = tmp_path / "rep"
    p = subprocess.run(
        [sys.executable, "-m", "b2m", "cohort", "report", "gse24080", "-o", str(out), "--ldh-uln", "250",
         "--bootstrap", "10"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert (out / "report.html").is_file() and (out / "report.json").is_file()
    assert "\x1b[" not in p.stderr  # no progress bar when stderr is not a terminal
    bad = subprocess.run(
        [sys.executable, "-m", "b2m", "cohort", "report", "gse24080", "-o", str(out), "--kind", "nope"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_wide_table_through_the_loader(tmp_path: Path) -> None:
    """The same cohort as a wide file goes through ``b2m.io.cohort.load`` into a report stating the assumed ULN
    (the loader makes the '<0.5' B2M unknown, so its ISS numbers differ from the example's by one patient)."""
    pytest.importorskip("b2m.io.cohort.load")
    from b2m.cli.cohort import cohort_report

    raw = pl.read_csv(gse24080_path(), infer_schema_length=0)
    wide = raw.select(
        pl.col("original_order").alias("patient_id"),
        "age",
        "sex",
        pl.col("b2m_mg_l_raw").alias("b2m_mg_l"),
        pl.col("alb_g_dl").alias("albumin_g_dl"),
        "ldh_u_l",
        pl.col("creat_mg_dl").alias("creatinine_mg_dl"),
        pl.col("os_time_months").alias("os_months"),
        "os_event",
    )
    wide.write_csv(tmp_path / "wide.csv")
    files = cohort_report(str(tmp_path / "wide.csv"), tmp_path / "out", ldh_uln_u_l=ULN, bootstrap=0)
    doc = json.loads(files.json.read_text(encoding="utf-8"))
    assert "ASSUMED" in doc["assumptions"][0]
    lr = next(r for r in doc["survival"]["logrank"] if r["system"] == "iss" and r["endpoint"] == "os")
    assert lr["df"] == 2 and lr["chi2"] > 30


def gse24080_path() -> Path:
    from importlib import resources

    return Path(str(resources.files("b2m").joinpath(gse24080.RESOURCE)))
