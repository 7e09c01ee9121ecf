"""`b2m monitor`: the bundled example series, the JSON contract, long format, and bad input.

Expected categories of the bundled example patients were worked out by hand from the criteria
(Kumar 2016, DOI 10.1016/S1470-2045(16)30206-6; b2m reference RESP) and are written out in the docstrings. Bad input
must end with exit status 2 and exactly one line on stderr, never a traceback.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from b2m.cli import main

EXAMPLE = Path(str(resources.files("b2m").joinpath("data/example_series.json")))


class Run:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def b2m(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def run(args: list[str], stdin: str = "") -> Run:
        monkeypatch.setattr(sys, "argv", ["b2m", *args])
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
        with pytest.raises(SystemExit) as exc:
            main()
        captured = capsys.readouterr()
        code = exc.value.code
        return Run(code if isinstance(code, int) else 0, captured.out, captured.err)

    return run


def examples() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    return docs


CONTRACT_KEYS = {
    "id",
    "measurable_disease",
    "assessments",
    "best_response",
    "lines",
    "progression",
    "kinetics",
    "alerts",
    "staging_at_diagnosis",
    "rule",
    "notes",
    "disclaimer",
    "b2m_version",
}


@pytest.fixture(scope="module")
def example_output() -> dict[str, dict[str, Any]]:
    from b2m.io.series import parse_patient_series
    from b2m.monitor.monitor import monitor_patient

    return {d["id"]: monitor_patient(parse_patient_series(d)).to_dict() for d in examples()}


def test_example_runs_as_json(b2m) -> None:  # type: ignore[no-untyped-def]
    """Issue #4 'Done when': `b2m monitor` works on the bundled example series; the contract's keys."""
    r = b2m(["monitor", str(EXAMPLE), "--format", "json"])
    assert r.code == 0, r.err
    docs = r.json()
    assert [d["id"] for d in docs] == ["EX1-responder", "EX2-progressor", "EX3-renal"]
    for d in docs:
        assert set(d) == CONTRACT_KEYS
        assert d["rule"]["doi"] == "10.1016/S1470-2045(16)30206-6"
        for a in d["assessments"]:
            assert (a["category"] == "not_evaluable") == (len(a["possible"]) > 1)


def test_example_runs_as_text(b2m) -> None:  # type: ignore[no-untyped-def]
    r = b2m(["monitor", str(EXAMPLE)])
    assert r.code == 0, r.err
    for pid in ("EX1-responder", "EX2-progressor", "EX3-renal"):
        assert pid in r.out
    assert "IMWG 2016 assessments" in r.out


def test_example_responder(example_output: dict[str, dict[str, Any]]) -> None:
    """EX1 (IgG κ, serum 3.8 g/dL at baseline, urine 120 mg/24 h not measurable): 2.1 (-44.7%, MR), 1.2
    (-68.4%, PR), 0.5 (-86.8%, PR), 0.3 with urine 40 (-92.1%, < 100: VGPR), 0.2 with serum IFE positive
    (-94.7%: VGPR), then electrophoresis 0 with negative serum and urine IFE, marrow 2% without clonal cells
    and κ/λ 14.2/10.1 = 1.41 (normal): sCR, twice more (marrow carried forward) -> best response sCR,
    confirmed, first reached 2025-07-21."""
    r = example_output["EX1-responder"]
    assert [a["category"] for a in r["assessments"]] == ["MR", "PR", "PR", "VGPR", "VGPR", "sCR", "sCR", "sCR"]
    best = r["best_response"]
    assert (best["category"], best["confirmed"], best["date"]) == ("sCR", True, "2025-07-21")
    assert r["progression"] == []
    assert r["staging_at_diagnosis"]["iss"]["stage"] == "II"  # B2M 4.1: not < 3.5, not ≥ 5.5


def test_example_progressor(example_output: dict[str, dict[str, Any]]) -> None:
    """EX2 (IgA λ; serum 2.4 g/dL and urine 350 mg/24 h, both followed). Line 1: 1.5/150 (serum -37.5%, urine
    -57.1%: MR), 1.0/60 (-58.3%, < 200: PR), 0.9/40 (PR), 0.8/30 (PR), 1.2/45 (exactly -50%: PR; +0.4 from the
    0.8 nadir is < 0.5: not PD), 1.4 (+0.6 and +75% from 0.8: PD), 1.7 (PD, confirms). Line 2 re-baselined on
    1.7 (urine 150, not measurable): 1.1 (-35.3%, MR), 0.9 (-47.1%, MR)."""
    r = example_output["EX2-progressor"]
    assert [(a["line"], a["category"]) for a in r["assessments"]] == [
        (1, "MR"),
        (1, "PR"),
        (1, "PR"),
        (1, "PR"),
        (1, "PR"),
        (1, "PD"),
        (1, "PD"),
        (2, "MR"),
        (2, "MR"),
    ]
    (event,) = r["progression"]
    assert (event["date"], event["confirmed"], event["confirmed_by"]) == ("2025-04-14", True, "2025-05-12")
    assert [a["code"] for a in r["alerts"]] == ["confirmed_progression"]
    assert [(ln["line"], ln["best_response"]["category"], ln["best_response"]["date"]) for ln in r["lines"]] == [
        (1, "PR", "2024-10-28"),
        (2, "MR", "2025-06-23"),
    ]
    assert r["staging_at_diagnosis"]["iss"]["stage"] == "III"  # B2M 5.9 ≥ 5.5


def test_example_renal(example_output: dict[str, dict[str, Any]]) -> None:
    """EX3 (IgG κ, 74-year-old man): serum 2.8 -> 1.9 (-32.1%, MR) -> 1.3 (-53.6%, PR) and lower: PR throughout,
    no PD. B2M falls to 2.9 (2025-04-28) then rises to 5.6 (+93.1%) while creatinine rises from 1.2 mg/dL to
    239 µmol/L (2.70 mg/dL) with cystatin C 1.3 -> 2.6 mg/L. CKD-EPI 2021 creatinine-cystatin C (male, 74 y):
    135 x (1.2/0.9)^-0.544 x (1.3/0.8)^-0.778 x 0.9961^74 = 135 x 0.85513 x 0.68544 x 0.74892 = 59.3, and
    135 x (2.7036/0.9)^-0.544 x (2.6/0.8)^-0.778 x 0.74892 = 22.2: a -62.5% fall -> renal flag."""
    r = example_output["EX3-renal"]
    assert [a["category"] for a in r["assessments"]] == ["MR", "PR", "PR", "PR", "PR", "PR"]
    assert r["progression"] == []
    flag = r["kinetics"]["b2m"]["renal_flag"]
    assert flag["code"] == "b2m_rise_with_falling_egfr"
    assert flag["egfr_from"] == pytest.approx(59.3, abs=0.1)
    assert flag["egfr_to"] == pytest.approx(22.2, abs=0.1)
    assert r["kinetics"]["b2m"]["change_from_nadir_percent"] == 93.1
    alert_codes = {a["code"]: a for a in r["alerts"]}
    assert "b2m_rising_from_nadir" in alert_codes
    assert alert_codes["unit_or_method_change"]["evidence"]["analyte"] == "creatinine"


def _one(doc: dict[str, Any]) -> str:
    return json.dumps(doc)


def _simple() -> dict[str, Any]:
    return copy.deepcopy(examples()[2])


def test_unsorted_dates_are_sorted_with_a_note(b2m) -> None:  # type: ignore[no-untyped-def]
    """Entries out of date order give the same result as sorted ones, plus a note saying they were sorted."""
    doc = _simple()
    sorted_out = b2m(["monitor", "-", "--format", "json"], _one(doc)).json()
    doc["series"]["m_protein"].reverse()
    doc["series"]["b2m"].reverse()
    r = b2m(["monitor", "-", "--format", "json"], _one(doc))
    assert r.code == 0, r.err
    out = r.json()
    assert {n["code"] for n in out["notes"]} >= {"series.m_protein.unsorted", "series.b2m.unsorted"}
    out["notes"] = [n for n in out["notes"] if not n["code"].endswith(".unsorted")]
    assert out == sorted_out


def test_identical_repeat_is_counted_once(b2m) -> None:  # type: ignore[no-untyped-def]
    doc = _simple()
    doc["series"]["m_protein"].append(dict(doc["series"]["m_protein"][1]))
    r = b2m(["monitor", "-", "--format", "json"], _one(doc))
    assert r.code == 0, r.err
    assert any(n["code"] == "series.m_protein.repeat" for n in r.json()["notes"])


def test_missing_baseline_via_cli(b2m) -> None:  # type: ignore[no-untyped-def]
    """The line starts a year after the last result before it: no baseline -> every assessment not evaluable."""
    doc = _simple()
    doc["therapy_lines"] = [{"line": 1, "start": "2025-03-20"}]  # 24 days after the 2025-02-24 baseline: fine
    ok = b2m(["monitor", "-", "--format", "json"], _one(doc)).json()
    assert ok["measurable_disease"]["marker"] == "serum_m_protein"
    doc["therapy_lines"] = [{"line": 1, "start": "2025-03-28"}]  # 32 days after it: outside the 30-day window
    out = b2m(["monitor", "-", "--format", "json"], _one(doc)).json()
    assert out["measurable_disease"]["marker"] is None
    assert {a["category"] for a in out["assessments"]} == {"not_evaluable"}


def _mutate(path: list[str | int], value: object) -> str:
    doc = _simple()
    target: Any = doc
    for k in path[:-1]:
        target = target[k]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return _one(doc)


_DELETE = object()


@pytest.mark.parametrize(
    ("what", "stdin", "needle"),
    [
        ("malformed JSON", '{"id": "x", "series": {', "invalid JSON"),
        ("not an object", "[1, 2]", "expected an object"),
        ("unknown top-level key", _mutate(["seris"], {}), "unknown key(s) 'seris'"),
        ("unknown series key", _mutate(["series", "m_protien"], []), "unknown key(s) 'm_protien'"),
        ("unknown entry key", _mutate(["series", "m_protein", 0, "vlaue"], 1), "unknown key(s) 'vlaue'"),
        ("missing date", _mutate(["series", "m_protein", 0, "date"], _DELETE), "date is required"),
        ("bad date", _mutate(["series", "m_protein", 0, "date"], "2025-13-01"), "not a date"),
        ("missing unit", _mutate(["series", "m_protein", 0, "unit"], _DELETE), "unit is missing"),
        ("duplicate date", _mutate(["series", "m_protein", 1, "date"], "2025-02-24"), "two different results"),
        ("series not a list", _mutate(["series", "b2m"], {"value": 1}), "expected a list"),
        ("line ends before start", _mutate(["therapy_lines", 0, "end"], "2025-01-01"), "before start"),
        ("unknown finding", _mutate(["imaging_events"], [{"date": "2025-05-01", "finding": "lesion"}]), "finding"),
        ("marrow over 100", _mutate(["series", "marrow_plasma_cells_percent", 0, "value"], 120), "0 to 100"),
        (
            "bad immunofixation",
            _mutate(["series", "immunofixation"], [{"date": "2025-05-01", "serum": "maybe"}]),
            "maybe",
        ),
        ("duplicate JSON key", '{"id": "a", "id": "b"}', "duplicate key"),
    ],
)
def test_bad_input_one_line_exit_2(b2m, what: str, stdin: str, needle: str) -> None:  # type: ignore[no-untyped-def]
    r = b2m(["monitor", "-", "--format", "json"], stdin)
    assert r.code == 2, (what, r.out[:200])
    assert r.err.count("\n") == 1, r.err
    assert r.err.startswith("b2m: error: ")
    assert needle in r.err, r.err
    assert "Traceback" not in r.err


def test_duplicate_date_error_names_the_values(b2m) -> None:  # type: ignore[no-untyped-def]
    """Two serum M-protein results on 2025-02-24 (2.8 and 1.9 g/dL): refused, naming both."""
    r = b2m(["monitor", "-"], _mutate(["series", "m_protein", 1, "date"], "2025-02-24"))
    assert r.code == 2
    assert "series.m_protein[1].date" in r.err
    assert "2.8 g/dL" in r.err and "1.9 g/dL" in r.err


# ---------------------------------------------------------------------------------------------
# Long format (CSV / Parquet)
# ---------------------------------------------------------------------------------------------

LONG_HEADER = [
    "patient_id",
    "analyte",
    "date",
    "value",
    "unit",
    "lower_limit",
    "upper_limit",
    "method",
    "clonal",
    "end",
    "age",
    "sex",
    "weight_kg",
]


def to_long(doc: dict[str, Any]) -> list[dict[str, object]]:
    """The same patient as long-format rows (written independently of the reader under test)."""
    pid = doc["id"]
    common = {"patient_id": pid, "age": doc.get("age"), "sex": doc.get("sex"), "weight_kg": doc.get("weight_kg")}
    rows: list[dict[str, object]] = []
    for key, entries in doc["series"].items():
        if key == "immunofixation":
            for e in entries:
                for side in ("serum", "urine"):
                    if e.get(side):
                        rows.append(
                            {**common, "analyte": f"immunofixation_{side}", "date": e["date"], "value": e[side]}
                        )
        elif key == "marrow_plasma_cells_percent":
            for e in entries:
                rows.append(
                    {**common, "analyte": key, "date": e["date"], "value": e["value"], "clonal": e.get("clonal")}
                )
        else:
            for e in entries:
                rows.append({**common, "analyte": key, **{k: v for k, v in e.items() if k != "loinc"}})
    for t in doc.get("therapy_lines", []):
        rows.append(
            {
                **common,
                "analyte": "therapy_line",
                "date": t["start"],
                "value": t["line"],
                "method": t.get("regimen"),
                "end": t.get("end"),
            }
        )
    for e in doc.get("imaging_events", []):
        rows.append({**common, "analyte": "imaging_event", "date": e["date"], "value": e["finding"]})
    return rows


def _write_csv(path: Path, rows: list[dict[str, object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=LONG_HEADER)
        w.writeheader()
        for row in rows:
            w.writerow({k: ("" if v is None else str(v).lower() if isinstance(v, bool) else v) for k, v in row.items()})


def _without_labs(doc: dict[str, Any]) -> dict[str, Any]:
    out = {
        k: v for k, v in doc.items() if k not in ("labs", "cytogenetics", "setting", "isotype", "involved_light_chain")
    }
    return out


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_long_format_equals_json(b2m, tmp_path: Path, suffix: str) -> None:  # type: ignore[no-untyped-def]
    """The three example patients as one long-format file give the same results as the JSON documents."""
    docs = [_without_labs(d) for d in examples()]
    rows = [row for d in docs for row in to_long(d)]
    path = tmp_path / f"series{suffix}"
    if suffix == ".csv":
        _write_csv(path, rows)
    else:
        _write_csv(tmp_path / "tmp.csv", rows)
        pl.read_csv(tmp_path / "tmp.csv", infer_schema=False).write_parquet(path)
    r = b2m(["monitor", str(path), "--format", "json"])
    assert r.code == 0, r.err
    from_long = r.json()
    (tmp_path / "docs.json").write_text(json.dumps(docs), encoding="utf-8")
    from_json = b2m(["monitor", str(tmp_path / "docs.json"), "--format", "json"]).json()
    for a, b in zip(from_long, from_json, strict=True):
        for key in ("measurable_disease", "assessments", "lines", "progression", "kinetics", "alerts"):
            assert a[key] == b[key], (a["id"], key)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("patient_id,analyte,date,value,unit\n1,m_protien,2025-01-01,3,g/dL\n", "unknown analyte"),
        ("patient_id,analyte,date\n1,m_protein,2025-01-01\n", "missing column(s) value"),
        ("patient_id,analyte,date,value,unit,colour\n", "unknown column(s) colour"),
        ("patient_id,analyte,date,value,unit\n1,m_protein,2025-01-01,3,\n", "unit is missing"),
        (
            "patient_id,analyte,date,value,unit,age\n1,m_protein,2025-01-01,3,g/dL,60\n1,b2m,2025-01-01,3,mg/L,61\n",
            "one age per patient",
        ),
    ],
)
def test_long_format_bad_input(b2m, tmp_path: Path, content: str, needle: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    r = b2m(["monitor", str(path)])
    assert r.code == 2, r.out
    assert r.err.count("\n") == 1 and needle in r.err, r.err


def test_no_traceback_from_a_real_process(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": "x", "series": {"m_protein": [{"date": "2025-01-01", "value": 3}]}}', encoding="utf-8")
    exe = Path(sys.executable).with_name("b2m")
    p = subprocess.run([str(exe), "monitor", str(bad)], capture_output=True, text=True, check=False)
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
    assert "series.m_protein[0].unit" in p.stderr
