"""The rule registry: every consumer iterates it, so a rule registered from a test flows everywhere.

The rules registered here are TOYS, made up for this test and published nowhere: ``b2m_only`` (stage I
when B2M < 3.5 mg/L, stage II otherwise, with no other input) and ``b2m_flag`` (a CLL "score" that is
"high" when B2M > 3.5 mg/L). Their expected stages follow from those one-line definitions, worked by
hand. Nothing in ``src/`` names them: they reach ``assess`` (JSON and text report), ``stage_frame`` and
``b2m stage`` (CSV and Parquet) only through :func:`b2m.rules.registry.registered`.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Mapping
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console

from b2m.assessment import assess, patient_features
from b2m.cli import main
from b2m.io.patient import parse_patient
from b2m.kidney.summary import kidney_summary
from b2m.provenance import RuleRef, Source
from b2m.rules import registry
from b2m.rules.base import Criterion, Note, RuleResult
from b2m.rules.expr import V, lt
from b2m.rules.features import FEATURES
from b2m.rules.inputs import StagingInputs
from b2m.rules.kleene import Num, gt
from b2m.rules.spec import Conditions, CriterionDef, ScoreRule, Staged, StagingSystem
from b2m.rules.staging import OUTPUT_COLUMNS, SYSTEMS, stage_frame
from b2m.rules.staging_results import StagingValues, stage_patient, staging_results

TOY_SOURCE = Source("Toy rule of the b2m test suite; not a published rule.", "10.0000/b2m-test-toy")
TOY_CUT_MG_L = 3.5  # toy: stage I when B2M < 3.5 mg/L (exclusive)


def _toy_evaluate(x: StagingInputs[V], earlier: Mapping[str, Conditions[V]], /) -> Staged[V]:
    below = lt(x.b2m_mg_l, TOY_CUT_MG_L)
    return Staged({"b2m_below_cut": below}, stages={"I": below, "II": ~below})


TOY = StagingSystem(
    name="b2m_only",
    label="B2M-only (toy)",
    ref=RuleRef("b2m_only", "toy", "Toy B2M-only staging (test)", TOY_SOURCE),
    stages=("I", "II"),
    inputs=("b2m_mg_l",),
    criteria=(CriterionDef("b2m_below_cut", f"serum B2M < {TOY_CUT_MG_L:g} mg/L (toy)", ("b2m_mg_l",)),),
    notes=(Note("b2m_only_toy", "caveat", "A made-up system registered by the test suite."),),
    outcomes=(),
    evaluate=_toy_evaluate,
)


def _toy_score(*, b2m_mg_l: Num) -> RuleResult:
    high = gt(b2m_mg_l, TOY_CUT_MG_L)
    possible = ("low", "high") if high is None else (("high",) if high else ("low",))
    return RuleResult(
        rule=RuleRef("b2m_flag", "toy", "Toy B2M flag (test)", TOY_SOURCE),
        possible=possible,
        criteria=(Criterion("b2m_high", f"B2M > {TOY_CUT_MG_L:g} mg/L (toy)", high, ("b2m_mg_l",)),),
        inputs={"b2m_mg_l": b2m_mg_l},
    )


TOY_SCORE = ScoreRule(
    name="b2m_flag",
    ref=RuleRef("b2m_flag", "toy", "Toy B2M flag (test)", TOY_SOURCE),
    stages=("low", "high"),
    inputs=("b2m_mg_l",),
    notes=(),
    evaluate=_toy_score,
    arguments={"b2m_mg_l": "b2m_mg_l"},
    diseases=("cll",),
)

PATIENT = {
    "id": "toy",
    "age": 60,
    "sex": "female",
    "labs": {
        "b2m": {"value": 2.8, "unit": "mg/L"},
        "albumin": {"value": 4.0, "unit": "g/dL"},
        "ldh": {"value": 180, "unit": "U/L", "upper_limit": 214},
    },
    "cytogenetics": {"del17p": False, "t4_14": False, "t14_16": False, "gain1q": False, "cd138_purified": True},
}

BATCH_CSV = """id,b2m_mg_l,albumin_g_dl,ldh_u_l,ldh_uln_u_l,del17p,t4_14,t14_16,gain1q
a,2.8,4.0,180,214,false,false,false,false
b,3.5,4.0,180,214,false,false,false,false
c,,4.0,180,214,false,false,false,false
"""


def test_today_output_columns() -> None:
    """The batch contract's columns for ISS, R-ISS and R2-ISS: names, then the score, then possible sets."""
    expected = ("iss", "r_iss", "r2_iss", "r2_iss_score", "iss_possible", "r_iss_possible", "r2_iss_possible")
    assert registry.output_columns() == expected
    assert tuple(OUTPUT_COLUMNS) == expected
    assert list(SYSTEMS) == ["iss", "r_iss", "r2_iss"]
    assert [s.label for s in registry.staging_systems()] == ["ISS", "R-ISS", "R2-ISS"]


def test_toy_staging_system_reaches_assess_json_and_text() -> None:
    """B2M 2.8 mg/L < 3.5: toy stage I, listed after R2-ISS; gone again once the block ends."""
    p = parse_patient(PATIENT)
    with registry.registered(TOY):
        (a,) = assess([p])
        doc = a.to_dict()
        keys = list(doc)
        assert keys[keys.index("r2_iss") + 1] == "b2m_only"
        toy = doc["b2m_only"]
        assert isinstance(toy, dict)
        assert toy["stage"] == "I" and toy["criteria_met"] == ["b2m_below_cut"]
        assert toy["rule"]["title"] == "Toy B2M-only staging (test)"
        assert json.loads(json.dumps(doc, allow_nan=False)) == doc
        buf = io.StringIO()
        from b2m.report.text import render_text

        render_text(a, Console(file=buf, width=200, color_system=None))
        text = buf.getvalue()
        assert "Toy B2M-only staging (test)" in text and "serum B2M < 3.5 mg/L (toy)" in text
        assert "A made-up system registered by the test suite." in text
    (a,) = assess([p])
    assert "b2m_only" not in a.to_dict()


def test_toy_staging_system_on_both_single_patient_paths() -> None:
    """The Python path and the one-row-frame path agree on the toy as on the published systems."""
    patients = [StagingValues(b2m_mg_l=b) for b in (2.8, 3.5, None)]
    with registry.registered(TOY):
        python = [stage_patient(p) for p in patients]
        assert python == staging_results(patients)
    assert [r["b2m_only"].possible for r in python] == [("I",), ("II",), ("I", "II")]
    assert python[2]["b2m_only"].missing == ("b2m_mg_l",)


def test_toy_staging_system_in_stage_frame() -> None:
    """stage_frame adds the toy's label and possible-set columns; B2M exactly 3.5 is not < 3.5, so II."""
    df = pl.read_csv(io.StringIO(BATCH_CSV))
    with registry.registered(TOY):
        assert registry.output_columns()[3] == "b2m_only" and registry.output_columns()[-1] == "b2m_only_possible"
        assert "b2m_only" in OUTPUT_COLUMNS and "b2m_only" in SYSTEMS
        out = stage_frame(df).with_columns(pl.col(pl.Enum).cast(pl.String))
    assert out["b2m_only"].to_list() == ["I", "II", None]
    assert out["b2m_only_possible"].to_list() == ["I", "II", "I|II"]
    assert out["iss"].to_list() == ["I", "II", None]  # the published systems are unchanged beside it
    assert "b2m_only" not in stage_frame(df).columns


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_toy_staging_system_in_b2m_stage(
    tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``b2m stage`` writes the toy's columns, and refuses an input that already has one of them."""
    src = tmp_path / "in.csv"
    src.write_text(BATCH_CSV)
    if suffix == ".parquet":
        pl.read_csv(src).write_parquet(tmp_path / "in.parquet")
        src = tmp_path / "in.parquet"
    out = tmp_path / f"out{suffix}"
    with registry.registered(TOY):
        monkeypatch.setattr(sys, "argv", ["b2m", "stage", str(src), "-o", str(out)])
        with pytest.raises(SystemExit) as exc:
            main()
        assert exc.value.code in (0, None), capsys.readouterr().err
        df = pl.read_csv(out) if suffix == ".csv" else pl.read_parquet(out)
        assert df["b2m_only"].to_list() == ["I", "II", None]
        assert df["b2m_only_possible"].to_list() == ["I", "II", "I|II"]
        clash = tmp_path / "clash.csv"
        df.write_csv(clash)
        monkeypatch.setattr(sys, "argv", ["b2m", "stage", str(clash), "-o", str(tmp_path / "again.csv")])
        with pytest.raises(SystemExit) as exc:
            main()
        assert exc.value.code == 2 and "b2m_only" in capsys.readouterr().err


def test_toy_score_rule_reaches_assess() -> None:
    """A toy CLL rule on B2M 2.8 mg/L (not > 3.5): "low", after CLL-IPI, and only for CLL patients."""
    cll = parse_patient({**PATIENT, "disease": "cll"})
    myeloma = parse_patient(PATIENT)
    with registry.registered(TOY_SCORE):
        a, b = assess([cll, myeloma])
        assert list(a.scores) == ["cll_ipi", "b2m_flag"] and a.scores["b2m_flag"].stage == "low"
        assert "b2m_flag" not in b.scores
    assert "b2m_flag" not in assess([cll])[0].scores


def test_registration_is_checked() -> None:
    """A second rule of the same name, or one using a system not registered before it, is refused."""
    with pytest.raises(ValueError, match="already registered"), registry.registered(registry.staging_system("iss")):
        pass
    bad = StagingSystem(**{**{f: getattr(TOY, f) for f in TOY.__dataclass_fields__}, "uses": ("nowhere",)})
    with pytest.raises(ValueError, match="not registered before it"), registry.registered(bad):
        pass
    assert registry.output_columns()[:3] == ("iss", "r_iss", "r2_iss")


def test_every_spec_is_complete() -> None:
    """Every registered rule has a DOI, stages, and reads only known inputs / features."""
    for spec in registry.specs():
        assert spec.ref.source.doi.startswith("10."), spec.name
        assert spec.stages and spec.inputs, spec.name
    for system in registry.staging_systems():
        assert {d.code for d in system.criteria}, system.name
        assert set(system.inputs) <= set(StagingValues.__dataclass_fields__), system.name
    for rule in registry.scores():
        assert set(rule.arguments.values()) <= set(FEATURES), rule.name


def test_features_are_the_vocabulary() -> None:
    """The assessment computes exactly the features the vocabulary lists."""
    p = parse_patient(PATIENT)
    kidney = kidney_summary(creatinine=None, cystatin_c=None, age_years=60, sex="female", weight_kg=None)
    assert set(patient_features(p, kidney)) == set(FEATURES)


LABS_CSV = (
    "patient_id,analyte,value,unit,date\n"
    "p1,b2m,2.8,mg/L,2026-01-10\n"
    "p1,albumin,40,g/L,2026-01-10\n"
    "p2,b2m,4200,ug/L,2026-01-10\n"
    "p3,albumin,30,g/L,2026-01-10\n"
)
PATIENTS_CSV = (
    "patient_id,index_date,age,sex,os_months,os_event\n"
    "p1,2026-01-12,61,female,40,0\n"
    "p2,2026-01-12,70,male,20,1\n"
    "p3,2026-01-12,66,female,30,1\n"
)


def test_toy_staging_system_in_cohort_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``b2m cohort values`` on a lab feed gives the toy's stage per patient: B2M 2.8 mg/L -> I; 4200 µg/L
    (4.2 mg/L, not < 3.5) -> II; no B2M -> I or II."""
    (tmp_path / "labs.csv").write_text(LABS_CSV)
    (tmp_path / "patients.csv").write_text(PATIENTS_CSV)
    out = tmp_path / "values.csv"
    argv = ["b2m", "cohort", "values", str(tmp_path / "labs.csv"), "--patients", str(tmp_path / "patients.csv")]
    with registry.registered(TOY), pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "argv", [*argv, "-o", str(out)])
        with pytest.raises(SystemExit) as exc:
            main()
        err = capsys.readouterr().err
        assert exc.value.code in (0, None), err
    df = pl.read_csv(out).sort("patient_id")
    assert df["b2m_only"].to_list() == ["I", "II", None]
    assert df["b2m_only_possible"].to_list() == ["I", "II", "I|II"]
    assert "b2m_only" in err  # the terminal summary counts the toy's staged patients too


def test_toy_staging_system_in_cohort_report(tmp_path: Path) -> None:
    """The cohort report analyses and shows every registered system: the toy gets its Kaplan–Meier curve,
    log-rank test, stage accounting and a place in the C-index comparison."""
    from b2m.cli.cohort import cohort_report

    (tmp_path / "labs.csv").write_text(LABS_CSV)
    (tmp_path / "patients.csv").write_text(PATIENTS_CSV)
    with registry.registered(TOY):
        files = cohort_report(
            str(tmp_path / "labs.csv"), tmp_path / "report", kind="long", patients=str(tmp_path / "patients.csv"),
            bootstrap=0,
        )
    doc = json.loads(files.json.read_text())
    s = doc["survival"]
    assert "b2m_only" in {a["system"] for a in s["staging_accounting"]}
    accounting = next(a for a in s["staging_accounting"] if a["system"] == "b2m_only")
    assert accounting["by_stage"] == {"I": 1, "II": 1}
    assert "b2m_only" in {k["system"] for k in s["kaplan_meier"]}
    page = files.html.read_text()
    assert "B2M-only (toy)" in page
