"""No CSV file b2m writes holds a cell a spreadsheet would run as a formula (issue 10).

The rule is OWASP's ("CSV Injection", owasp.org/www-community/attacks/CSV_Injection): a cell that
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with a single quote;
numbers stay numbers (``-5`` is a number, not a formula). Each test opens every CSV file a command
wrote and checks every cell.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from b2m.engines.csv_safety import safe_cell
from b2m.report.cohort.tables import csv_files

HOSTILE = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(A1:A9)", "\tx", "\rx"]
NUMBER = re.compile(r"^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$")


def assert_no_formula(*paths: Path) -> int:
    """Every cell of every CSV file under ``paths`` (files, or folders of part files); returns cells seen."""
    files = [f for p in paths for f in ([p] if p.is_file() else sorted(p.rglob("*.csv")))]
    assert files
    seen = 0
    for f in files:
        with f.open(newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    seen += 1
                    risky = cell[:1] in ("=", "+", "-", "@", "\t", "\r") and not NUMBER.match(cell)
                    assert not risky, (f.name, cell)
    return seen


def test_safe_cell() -> None:
    assert [safe_cell(v) for v in HOSTILE] == ["'" + v for v in HOSTILE]
    kept = ("-5", "+1.5e3", "-0.25", "ok", "a=b", 7, None)
    assert [safe_cell(v) for v in kept] == list(kept)


def test_stage_output(tmp_path: Path) -> None:
    header = "id,note,b2m_mg_l,albumin_g_dl"
    rows = [f'"{v.replace(chr(34), chr(34) * 2)}","{v.replace(chr(34), chr(34) * 2)}",2.0,4.0' for v in HOSTILE]
    (tmp_path / "in.csv").write_text("\n".join([header, *rows, "-7,-5,2.0,4.0", "=x,y,=1+1,4.0"]) + "\n")
    r = subprocess.run(
        [sys.executable, "-m", "b2m", "stage", "in.csv", "-o", "out.csv", "--on-invalid", "null"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert_no_formula(tmp_path / "out.csv")
    out = pl.read_csv(tmp_path / "out.csv", infer_schema=False)
    assert out["id"].to_list()[: len(HOSTILE)] == ["'" + v for v in HOSTILE]
    assert out["note"].to_list()[len(HOSTILE)] == "-5"  # a negative number stays a number


def test_cohort_values_table_audit_trail_and_unit_report(tmp_path: Path) -> None:
    labs = pl.DataFrame(
        {
            "patient_id": ["=cmd", "@A", "+B", "-C"],
            "analyte": ["b2m", "b2m", "albumin", "b2m"],
            "value": ["6.1", "2.0", "4.0", "-1"],
            "unit": ["mg/L", "=1+1", "g/dL", "mg/L"],
            "date": ["2020-03-01"] * 4,
            "source_id": ["=HYPERLINK(1)", "@x", "\tt", "-5"],
        }
    )
    labs.write_csv(tmp_path / "labs.csv")
    pts = pl.DataFrame({"patient_id": ["=cmd", "@A", "+B", "-C"], "index_date": ["2020-03-01"] * 4})
    pts.write_csv(tmp_path / "pts.csv")
    outputs = [tmp_path / "v.csv", tmp_path / "a.csv", tmp_path / "u.csv"]
    r = subprocess.run(
        [sys.executable, "-m", "b2m", "cohort", "values", "labs.csv", "--patients", "pts.csv", "-o", "v.csv",
         "--audit-trail", "a.csv", "--unit-report", "u.csv"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert assert_no_formula(*outputs) > 20
    assert "'=cmd" in pl.read_csv(outputs[0], infer_schema=False)["patient_id"].to_list()
    assert "'=1+1" in pl.read_csv(outputs[2], infer_schema=False)["unit"].to_list()


def test_cohort_report_tables(tmp_path: Path) -> None:
    """The report's tables from a document whose labels came from the data (a unit as received, a
    column name): each written cell is checked."""
    doc = {
        "survival": {
            **{k: [] for k in ("staging_accounting", "kaplan_meier", "logrank", "cox", "concordance")},
            "skipped": {"concordance:os:iss+=cmd": "@not estimable"},
        },
        "b2m_by_egfr": [{"kdigo_category": "=G1", "patients": 3, "median_b2m": -0.5}],
        "data_completeness": [{"column": "@column", "known": 1, "unknown": 2}],
        "extra": {"unit_report": [{"analyte": "b2m", "unit": "+cmd|x", "rows": 4}]},
    }
    files = csv_files(doc, tmp_path)
    assert len(files) == 12
    assert_no_formula(*files)
    assert (tmp_path / "b2m_by_egfr.csv").read_text().splitlines()[1] == "'=G1,3,-0.5"


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_engine_sinks(engine: str, tmp_path: Path) -> None:
    """The audit trail is written by the engine: its CSV sink applies the rule itself (Spark: in
    tests/test_cohort_engines.py, with the session the cross-engine tests share)."""
    from b2m.engines import make_engine

    eng = make_engine(engine)  # type: ignore[arg-type]
    frame = pl.DataFrame({"text": [*HOSTILE, "-5", None], "n": [-1.5] * (len(HOSTILE) + 2)})
    eng.sink(eng.lazy(frame), str(tmp_path / "x.csv"))
    assert_no_formula(tmp_path / "x.csv")
    back = pl.read_csv(tmp_path / "x.csv", infer_schema=False)
    assert back["text"].to_list()[-2:] == ["-5", None] and back["n"].to_list()[0] == "-1.5"
