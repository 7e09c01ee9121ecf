"""The `b2m` command: contracts, agreement of `assess` with `stage`, and bad input of every kind.

Bad input must end with exit status 2 and exactly one line on stderr naming the field, the problem
and the accepted forms - never a traceback (issue #2, "Done when").
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from b2m.cli import main


class Run:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self) -> object:
        return json.loads(self.out)


def run(
    args: list[str],
    stdin: str | bytes = b"",
    capsys: pytest.CaptureFixture[str] | None = None,
    monkeypatch: pytest.MonkeyPatch | None = None,
) -> Run:
    assert capsys is not None and monkeypatch is not None
    data = stdin.encode() if isinstance(stdin, str) else stdin
    monkeypatch.setattr(sys, "argv", ["b2m", *args])
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    with pytest.raises(SystemExit) as exc:
        main()
    captured = capsys.readouterr()
    code = exc.value.code
    return Run(code if isinstance(code, int) else 0, captured.out, captured.err)


@pytest.fixture
def b2m(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    return lambda args, stdin=b"": run(args, stdin, capsys, monkeypatch)


PATIENT = {
    "id": "P1",
    "age": 67,
    "sex": "female",
    "weight_kg": 70,
    "setting": "new_diagnosis",
    "labs": {
        "b2m": {
            "value": 4.2,
            "unit": "mg/L",
            "lower_limit": 1.21,
            "upper_limit": 2.7,
            "date": "2026-01-31",
            "method": "nephelometry",
        },
        "albumin": {"value": 35, "unit": "g/L"},
        "ldh": {"value": 300, "unit": "U/L", "upper_limit": 250},
        "creatinine": {"value": 1.3, "unit": "mg/dL"},
    },
    "cytogenetics": {"del17p": False, "t4_14": False, "t14_16": False, "gain1q": None},
}


def test_assess_json_contract(b2m) -> None:  # type: ignore[no-untyped-def]
    """Issue #2 item 7: the documented output keys, with stage non-null exactly when possible has one."""
    r = b2m(["assess", "--format", "json", "-"], json.dumps(PATIENT))
    assert r.code == 0, r.err
    doc = r.json()
    assert isinstance(doc, dict) and doc["id"] == "P1"
    for system in ("iss", "r_iss", "r2_iss"):
        assert {"stage", "possible"} <= set(doc[system])
        assert (doc[system]["stage"] is not None) == (len(doc[system]["possible"]) == 1)
    # Greipp 2005: 3.5 <= B2M 4.2 < 5.5 is ISS II; R-ISS II follows from ISS II (Palumbo 2015).
    assert doc["iss"]["stage"] == "II" and doc["r_iss"]["stage"] == "II"
    # R2-ISS: ISS II 1 + LDH > ULN 1 = 2, plus 0 or 0.5 for the unknown 1q -> 2 or 2.5: group III.
    assert doc["r2_iss"]["stage"] == "III" and doc["r2_iss"]["score"] is None
    assert doc["r2_iss"]["score_range"] == [2.0, 2.5]
    assert set(doc["egfr"]) == {"ckd_epi_2021_creatinine", "ckd_epi_2021_creatinine_cystatin", "ckd_epi_2012_cystatin"}
    assert isinstance(doc["egfr"]["ckd_epi_2021_creatinine"], float)
    assert any(f["code"] == "reduced_kidney_function" for f in doc["flags"])  # creatinine >= 1.2 mg/dL


def test_assess_array_gives_array(b2m) -> None:  # type: ignore[no-untyped-def]
    """README contract: an array of patients in gives an array of results out, in the same order."""
    r = b2m(["assess", "-f", "json", "-"], json.dumps([PATIENT, {**PATIENT, "id": "P2"}]))
    assert r.code == 0
    doc = r.json()
    assert isinstance(doc, list) and [d["id"] for d in doc] == ["P1", "P2"]


def test_assess_text_report(b2m) -> None:  # type: ignore[no-untyped-def]
    """Issue #2 item 6: the readable report shows the stage, the criteria that fired, the source DOI
    and the decision-support disclaimer (B2M 4.2 mg/L: ISS II by Greipp 2005). Since issue 10 this full
    report is `--detail`; the default is the one-screen summary (tests/test_assess_summary.py)."""
    r = b2m(["assess", "--detail", "-"], json.dumps(PATIENT))
    assert r.code == 0
    assert "Patient P1" in r.out and "International Staging System" in r.out
    assert "10.1200/JCO.2005.04.242" in r.out
    assert "Decision support, not diagnosis" in r.out
    iss_line = next(line for line in r.out.splitlines() if "International Staging System" in line)
    assert "II" in iss_line


def test_demo_runs(b2m) -> None:  # type: ignore[no-untyped-def]
    """The bundled examples, staged by hand from the published rules:
    EX1 B2M 2.8 mg/L, albumin 41 g/L (>= 35), LDH 182 <= ULN 214, FISH negative -> ISS I, R-ISS I, R2-ISS I (0).
    EX2 B2M 780 nmol/L = 9.2 mg/L (>= 5.5) -> ISS III; del(17p) -> R-ISS III; 1.5 + 1 (del17p) + 1 (LDH
        6.1 > 4.1 µkat/L) + 0.5 (1q+) = 4 -> R2-ISS IV; creatinine 2.6 mg/dL -> reduced kidney function flag.
    EX3 B2M 4.1 µg/mL -> ISS II -> R-ISS II (FISH unknown cannot change it); R2-ISS open.
    EX4 B2M exactly 5.5 -> ISS III (b2m reference E2); setting relapse is flagged (b2m reference E47); LDH
        250 without a ULN leaves 'LDH high' unknown (b2m reference E7)."""
    r = b2m(["demo", "--format", "json"])
    assert r.code == 0
    docs = {d["id"]: d for d in r.json()}  # type: ignore[union-attr]
    ex1, ex2, ex3, ex4 = (
        docs[k] for k in ("EX1-standard-risk", "EX2-high-risk-renal", "EX3-fish-pending", "EX4-relapse-boundary")
    )
    assert (ex1["iss"]["stage"], ex1["r_iss"]["stage"], ex1["r2_iss"]["stage"], ex1["r2_iss"]["score"]) == (
        "I",
        "I",
        "I",
        0,
    )
    assert (ex2["iss"]["stage"], ex2["r_iss"]["stage"], ex2["r2_iss"]["stage"], ex2["r2_iss"]["score"]) == (
        "III",
        "III",
        "IV",
        4,
    )
    assert any(f["code"] == "reduced_kidney_function" for f in ex2["flags"])
    assert (ex3["iss"]["stage"], ex3["r_iss"]["stage"]) == ("II", "II") and ex3["r2_iss"]["stage"] is None
    assert ex4["iss"]["stage"] == "III"
    assert any(n["kind"] == "setting" for n in ex4["iss"]["notes"])
    assert any(n["code"] == "ldh_uln_unknown" for n in ex4["r_iss"]["notes"])


BAD_INPUTS = [
    # (description, patient, field named in the error, a word of the accepted forms)
    ("unknown unit", {"labs": {"b2m": {"value": 4, "unit": "furlongs"}}}, "labs.b2m.unit", "mg/L"),
    ("wrong dimension", {"labs": {"albumin": {"value": 4, "unit": "mmol"}}}, "labs.albumin.unit", "g/dL"),
    ("b2m mg/dL", {"labs": {"b2m": {"value": 4, "unit": "mg/dL"}}}, "labs.b2m.unit", "mg/L"),
    ("missing unit", {"labs": {"b2m": {"value": 4}}}, "labs.b2m.unit", "mg/L"),
    ("negative", {"labs": {"b2m": {"value": -1, "unit": "mg/L"}}}, "labs.b2m.value", "number"),
    ("not a number", {"labs": {"b2m": {"value": "high", "unit": "mg/L"}}}, "labs.b2m.value", "number"),
    ("boolean value", {"labs": {"b2m": {"value": True, "unit": "mg/L"}}}, "labs.b2m.value", "number"),
    ("implausible b2m", {"labs": {"b2m": {"value": 4200, "unit": "mg/L"}}}, "labs.b2m.value", "µg/L"),
    ("implausible albumin", {"labs": {"albumin": {"value": 38, "unit": "g/dL"}}}, "labs.albumin.value", "g/L"),
    (
        "implausible creatinine",
        {"labs": {"creatinine": {"value": 150, "unit": "mg/dL"}}},
        "labs.creatinine.value",
        "µmol/L",
    ),
    ("unknown lab", {"labs": {"b2microglobulin": {"value": 4, "unit": "mg/L"}}}, "labs.b2microglobulin", "b2m"),
    ("unknown key", {"del_17p": True}, "patient", "cytogenetics"),
    ("bad sex", {"sex": "m"}, "sex", "female"),
    ("bad setting", {"setting": "diagnosis"}, "setting", "new_diagnosis"),
    ("bad fish", {"cytogenetics": {"del17p": "yes"}}, "cytogenetics.del17p", "true"),
    ("age out of range", {"age": 240}, "age", "0 to 130"),
    ("bad date", {"labs": {"b2m": {"value": 4, "unit": "mg/L", "date": "31/01/2026"}}}, "labs.b2m.date", "ISO 8601"),
    (
        "limits reversed",
        {"labs": {"b2m": {"value": 4, "unit": "mg/L", "lower_limit": 3, "upper_limit": 1}}},
        "labs.b2m.lower_limit",
        "lower_limit",
    ),
]


@pytest.mark.parametrize(("what", "patient", "field", "accepted"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_one_line_exit_2(b2m, what: str, patient: dict[str, object], field: str, accepted: str) -> None:  # type: ignore[no-untyped-def]
    """Issue #2: bad input of every kind -> exit 2, one stderr line naming the field and the accepted forms.
    The implausible-value rows name the unit most likely meant (rcpchgrowth-style hints, STYLE.md)."""
    r = b2m(["assess", "-f", "json", "-"], json.dumps(patient))
    assert r.code == 2, (what, r.err)
    assert r.out == ""
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, r.err
    assert field in lines[0] and accepted in lines[0], lines[0]
    assert "Traceback" not in r.err


@pytest.mark.parametrize(
    ("stdin", "needle"),
    [
        ("{not json", "invalid JSON"),
        ("", "invalid JSON"),
        ("null", "patient"),
        ("42", "patient"),
        ("[1, 2]", "[0]"),
        (b"\xff\xfe", "UTF-8"),
        ("[" * 100000, "JSON"),
    ],
    ids=["malformed", "empty", "null", "number", "array of numbers", "not utf-8", "deeply nested"],
)
def test_malformed_documents(b2m, stdin: str | bytes, needle: str) -> None:  # type: ignore[no-untyped-def]
    """Documents that are not the contract: exit 2, one line naming the problem, no traceback."""
    r = b2m(["assess", "-"], stdin)
    assert r.code == 2
    assert len(r.err.strip().splitlines()) == 1 and needle in r.err and "Traceback" not in r.err


def test_missing_file(b2m, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A missing input file is bad input: exit 2 and one line."""
    r = b2m(["assess", str(tmp_path / "nope.json")])
    assert r.code == 2 and "no such file" in r.err


def test_usage_error_is_one_line(b2m) -> None:  # type: ignore[no-untyped-def]
    """A wrong option value is bad input too: exit 2 and one line, no usage box."""
    r = b2m(["assess", "--format", "yaml", "-"])
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1


def test_no_traceback_from_a_real_process(tmp_path: Path) -> None:
    """The installed entry point (a real process) prints one line and exits 2 on bad input."""
    p = subprocess.run(
        [sys.executable, "-m", "b2m", "assess", "-"],
        input=b'{"labs": {"b2m": {"value": 4, "unit": "mg/dL"}}}',
        capture_output=True,
        check=False,
    )
    assert p.returncode == 2
    assert p.stdout == b"" and len(p.stderr.decode().strip().splitlines()) == 1


# ---- b2m stage -------------------------------------------------------------------------------------

CSV = """id,b2m_mg_l,albumin_g_dl,ldh_u_l,ldh_uln_u_l,del17p,t4_14,t14_16,gain1q
a,2.0,4.0,200,250,false,false,false,false
b,5.5,,300,250,1,0,0,
c,,4.0,,,,,,
d,3.5,3.5,250,250,no,yes,no,yes
"""


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_stage_file(b2m, tmp_path: Path, suffix: str) -> None:  # type: ignore[no-untyped-def]
    """Expected stages from Greipp 2005 / Palumbo 2015 / D'Agostino 2022 tables (worked by hand):
    a: ISS I, R-ISS I, R2-ISS I (0). b: B2M 5.5 -> ISS III; del17p -> R-ISS III; 1.5+1+1 = 3.5 (+0.5?) -> IV.
    c: nothing settled. d: B2M 3.5 -> ISS II; R-ISS II; 1 + t(4;14) 1 + 1q 0.5 = 2.5 -> III (LDH = ULN normal)."""
    src = tmp_path / "in.csv"
    src.write_text(CSV)
    if suffix == ".parquet":
        pl.read_csv(src).write_parquet(tmp_path / "in.parquet")
        src = tmp_path / "in.parquet"
    out = tmp_path / f"out{suffix}"
    r = b2m(["stage", str(src), "-o", str(out)])
    assert r.code == 0, r.err
    df = pl.read_csv(out) if suffix == ".csv" else pl.read_parquet(out)
    rows = {row["id"]: row for row in df.to_dicts()}
    assert (rows["a"]["iss"], rows["a"]["r_iss"], rows["a"]["r2_iss"], rows["a"]["r2_iss_score"]) == ("I", "I", "I", 0)
    assert (rows["b"]["iss"], rows["b"]["r_iss"], rows["b"]["r2_iss"], rows["b"]["r2_iss_score"]) == (
        "III",
        "III",
        "IV",
        None,
    )
    assert rows["c"]["iss"] is None and rows["c"]["iss_possible"] == "I|II|III"
    assert rows["c"]["r2_iss_possible"] == "I|II|III|IV"
    assert (rows["d"]["iss"], rows["d"]["r_iss"], rows["d"]["r2_iss"], rows["d"]["r2_iss_score"]) == (
        "II",
        "II",
        "III",
        2.5,
    )


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("id,b2m_mg_l\n1,2\n", "missing column"),
        # Issue 10 made censored values valid batch input (staged by direction: tests/test_stage_files.py);
        # a censored bound outside the plausible range (B2M 0.05-250 mg/L) is still refused, naming the row.
        (CSV.replace("a,2.0", "a,<0.01"), "row 1"),
        (CSV.replace("a,2.0", "a,4200"), "implausible"),
        (CSV.replace("false,false,false,false", "false,maybe,false,false"), "t4_14"),
        ("", "CSV"),
    ],
    ids=["missing columns", "censored in batch", "implausible", "bad flag", "empty file"],
)
def test_stage_bad_files_keep_existing_output(b2m, tmp_path: Path, content: str, needle: str) -> None:  # type: ignore[no-untyped-def]
    """A malformed batch file stops with one line and exit 2; an existing output is left intact."""
    src = tmp_path / "in.csv"
    src.write_text(content)
    out = tmp_path / "out.csv"
    out.write_text("precious")
    r = b2m(["stage", str(src), "-o", str(out)])
    assert r.code == 2, r.err
    assert needle in r.err and len(r.err.strip().splitlines()) == 1
    assert out.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".b2m-")] == []


def test_stage_unsupported_extension(b2m, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Only .csv and .parquet are accepted, and the error names both."""
    src = tmp_path / "in.xlsx"
    src.write_text("x")
    r = b2m(["stage", str(src), "-o", str(tmp_path / "o.csv")])
    assert r.code == 2 and ".csv, .parquet" in r.err


# ---- assess and stage agree ------------------------------------------------------------------------

B2M_UNITS = {"mg/L": 1, "µg/mL": 1, "μg/mL": 1, "ug/L": 1000, "ng/mL": 1000}
ALB_UNITS = {"g/dL": 1, "g/L": 10}
LDH_UNITS = {"U/L": 1, "IU/L": 1}
tenths = st.integers(1, 400).map(lambda i: i / 10)


@st.composite
def cohort_row(draw: st.DrawFn) -> dict[str, object]:
    def maybe(s: st.SearchStrategy[object]) -> object:
        return draw(st.one_of(st.none(), s))

    return {
        "b2m_mg_l": maybe(st.one_of(st.sampled_from([3.5, 5.5, 3.4, 5.4]), tenths)),
        "albumin_g_dl": maybe(st.one_of(st.sampled_from([3.5, 3.4]), st.integers(10, 70).map(lambda i: i / 10))),
        "ldh_u_l": maybe(st.sampled_from([150.0, 250.0, 251.0, 400.0])),
        "ldh_uln_u_l": maybe(st.sampled_from([225.0, 250.0])),
        **{k: maybe(st.booleans()) for k in ("del17p", "t4_14", "t14_16", "gain1q")},
        "b2m_unit": draw(st.sampled_from(sorted(B2M_UNITS))),
        "alb_unit": draw(st.sampled_from(sorted(ALB_UNITS))),
        "ldh_unit": draw(st.sampled_from(sorted(LDH_UNITS))),
    }


def _patient(i: int, row: dict[str, object]) -> dict[str, object]:
    labs: dict[str, object] = {}
    if row["b2m_mg_l"] is not None:
        labs["b2m"] = {"value": round(row["b2m_mg_l"] * B2M_UNITS[row["b2m_unit"]], 6), "unit": row["b2m_unit"]}  # type: ignore[operator,index]
    if row["albumin_g_dl"] is not None:
        labs["albumin"] = {"value": round(row["albumin_g_dl"] * ALB_UNITS[row["alb_unit"]], 6), "unit": row["alb_unit"]}  # type: ignore[operator,index]
    if row["ldh_u_l"] is not None:
        labs["ldh"] = {"value": row["ldh_u_l"], "unit": row["ldh_unit"], "upper_limit": row["ldh_uln_u_l"]}
    return {
        "id": str(i),
        "labs": labs,
        "cytogenetics": {k: row[k] for k in ("del17p", "t4_14", "t14_16", "gain1q")},
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(cohort_row(), min_size=1, max_size=25))
def test_assess_and_stage_agree(b2m, tmp_path_factory: pytest.TempPathFactory, rows: list[dict[str, object]]) -> None:  # type: ignore[no-untyped-def]
    """Issue #2 item 8: the batch path and `assess` (through JSON and every unit spelling) agree exactly,
    including missing and boundary values."""
    # ULN only travels with an LDH result in the JSON contract; mirror that in the batch table.
    for row in rows:
        if row["ldh_u_l"] is None:
            row["ldh_uln_u_l"] = None
    tmp = tmp_path_factory.mktemp("agree")
    cols = ["b2m_mg_l", "albumin_g_dl", "ldh_u_l", "ldh_uln_u_l", "del17p", "t4_14", "t14_16", "gain1q"]
    schema = {c: (pl.Boolean if c in cols[4:] else pl.Float64) for c in cols}
    pl.DataFrame([{c: r[c] for c in cols} for r in rows], schema=schema, orient="row").write_parquet(tmp / "in.parquet")
    assert b2m(["stage", str(tmp / "in.parquet"), "-o", str(tmp / "out.parquet")]).code == 0
    batch = pl.read_parquet(tmp / "out.parquet").to_dicts()
    r = b2m(["assess", "-f", "json", "-"], json.dumps([_patient(i, row) for i, row in enumerate(rows)]))
    assert r.code == 0, r.err
    docs = r.json()
    assert isinstance(docs, list)
    for doc, row in zip(docs, batch, strict=True):
        for system in ("iss", "r_iss", "r2_iss"):
            assert doc[system]["stage"] == row[system]
            assert "|".join(doc[system]["possible"]) == row[f"{system}_possible"]
        assert doc["r2_iss"]["score"] == row["r2_iss_score"]


def test_stage_on_invalid_null_keeps_going_and_says_why(b2m, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """--on-invalid null: a bad value becomes unknown (stages widen, never improve) and b2m_issues names it.
    Row a has albumin 38 'g/dL' (implausible; b2m reference UNITS-1) with B2M 2.0: ISS I or II, never silently I."""
    src = tmp_path / "in.csv"
    src.write_text(CSV.replace("a,2.0,4.0", "a,2.0,38").replace("false,false,false,false", "false,maybe,false,false"))
    out = tmp_path / "out.csv"
    r = b2m(["stage", str(src), "-o", str(out), "--on-invalid", "null"])
    assert r.code == 0, r.err
    rows = {row["id"]: row for row in pl.read_csv(out).to_dicts()}
    a = rows["a"]
    assert a["albumin_g_dl"] is None and a["t4_14"] is None
    assert "albumin_g_dl: implausible" in a["b2m_issues"] and "t4_14: not a yes/no value maybe" in a["b2m_issues"]
    assert a["iss"] is None and a["iss_possible"] == "I|II"
    assert rows["b"]["b2m_issues"] is None


HOSTILE = [
    (
        "ldh limit in another unit",
        {"labs": {"ldh": {"value": 200, "unit": "U/L", "upper_limit": 5}}},
        "labs.ldh.upper_limit",
    ),
    ("zero upper limit", {"labs": {"b2m": {"value": 3, "unit": "mg/L", "upper_limit": 0}}}, "labs.b2m.upper_limit"),
    ("huge integer", {"age": 10**400}, "age"),
    ("huge lab value", {"labs": {"b2m": {"value": 10**400, "unit": "mg/L"}}}, "labs.b2m.value"),
    ("very long unit", {"labs": {"b2m": {"value": 3, "unit": "m" * 100000}}}, "labs.b2m.unit"),
    ("garbage after unit", {"labs": {"b2m": {"value": 3, "unit": "mg/L=1"}}}, "labs.b2m.unit"),
    (
        "garbage after date",
        {"labs": {"b2m": {"value": 3, "unit": "mg/L", "date": "2026-01-01garbage"}}},
        "labs.b2m.date",
    ),
    ("empty id", {"id": ""}, "id"),
    ("control characters in id", {"id": "\u001b[31mRED"}, "id"),
]


@pytest.mark.parametrize(("what", "patient", "field"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_input_is_refused_in_one_short_line(b2m, what: str, patient: dict[str, object], field: str) -> None:  # type: ignore[no-untyped-def]
    """Review findings M1-M3: limits are plausibility-checked like values (a unit-mixed LDH limit must not
    make LDH 'high'); oversized numbers and unit text are refused quickly; the error stays one short line."""
    r = b2m(["assess", "-f", "json", "-"], json.dumps(patient))
    assert r.code == 2, (what, r.err)
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"b2m: error: {field}") and len(lines[0]) < 800, r.err


@pytest.mark.parametrize(
    ("stdin", "needle"),
    [
        ('{"labs": {"b2m": {"value": 3, "unit": "mg/L"}, "b2m": {"value": 7, "unit": "mg/L"}}}', "duplicate key"),
        ('{"id": "\\ud800"}', "not valid Unicode"),
        ('{"age": ' + "9" * 5000 + "}", "invalid JSON"),
    ],
    ids=["duplicate keys", "lone surrogate", "integer beyond the digit limit"],
)
def test_hostile_documents(b2m, stdin: str, needle: str) -> None:  # type: ignore[no-untyped-def]
    """Duplicate keys would silently keep the last value (here ISS III instead of I); lone surrogates cannot
    be written back; Python refuses > 4300-digit integers. All are bad input: exit 2, one line."""
    r = b2m(["assess", "-f", "json", "-"], stdin)
    assert r.code == 2 and needle in r.err and len(r.err.strip().splitlines()) == 1


def test_stage_output_path_problems(b2m, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An output in a missing folder or onto a directory is refused up front (exit 2), before any work."""
    src = tmp_path / "in.csv"
    src.write_text(CSV)
    assert "folder does not exist" in b2m(["stage", str(src), "-o", str(tmp_path / "no" / "o.csv")]).err
    (tmp_path / "d.csv").mkdir()
    r = b2m(["stage", str(src), "-o", str(tmp_path / "d.csv")])
    assert r.code == 2 and "is a directory" in r.err


@pytest.mark.parametrize(
    ("content", "needle"),
    [("foo,bar\n", "missing column"), (CSV.splitlines()[0] + ",b2m_mg_l\n", "duplicate column")],
    ids=["header only, wrong columns", "duplicate column"],
)
def test_stage_header_problems(b2m, tmp_path: Path, content: str, needle: str) -> None:  # type: ignore[no-untyped-def]
    """Column problems are found from the header even when the file has no data rows."""
    src = tmp_path / "in.csv"
    src.write_text(content)
    r = b2m(["stage", str(src), "-o", str(tmp_path / "o.csv")])
    assert r.code == 2 and needle in r.err and not (tmp_path / "o.csv").exists()


def test_stage_nested_column_to_csv_is_refused(b2m, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A Parquet input with a nested pass-through column cannot be written as CSV: exit 2 naming .parquet."""
    src = tmp_path / "in.parquet"
    pl.read_csv(io.StringIO(CSV)).with_columns(extra=pl.struct(a=pl.lit(1))).write_parquet(src)
    r = b2m(["stage", str(src), "-o", str(tmp_path / "o.csv")])
    assert r.code == 2 and ".parquet" in r.err
    assert b2m(["stage", str(src), "-o", str(tmp_path / "o.parquet")]).code == 0


def test_text_report_strips_terminal_escapes(b2m) -> None:  # type: ignore[no-untyped-def]
    """Input text is shown on a terminal: escape sequences from the input must not reach it."""
    patient = {**PATIENT, "conditions": ["\u001b[2Jrheumatoid arthritis"]}
    r = b2m(["assess", "-"], json.dumps(patient))
    assert r.code == 0 and "\x1b" not in r.out
