"""Staging a real cohort: GSE24080 (UAMS Total Therapy 2/3, 565 newly diagnosed myeloma patients).

Oracle: the dataset's documented facts (``src/b2m/data/GSE24080-README.md``: one B2M is ``<0.5``, one
is missing, one albumin is an implausible 0.3 g/dL; 9 patients have B2M exactly 3.5 mg/L, 5 exactly 5.5,
19 albumin exactly 3.5 g/dL) and the ISS rule of Greipp 2005 (DOI 10.1200/JCO.2005.04.242;
b2m reference ISS-2, E1-E3). The file is the copy bundled in the package (unmodified, SHA-256 checked in
tests/test_survival.py), read here as raw text the way a lab feed arrives.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import polars as pl
import pytest

DATA = Path(str(resources.files("b2m").joinpath("data/gse24080_uams_maqc2_clinical.csv")))


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    raw = pl.read_csv(DATA, infer_schema_length=0)  # everything as text, as a lab feed arrives
    batch = raw.select(
        pl.col("original_order").alias("id"),
        pl.col("b2m_mg_l"),
        pl.col("alb_g_dl").alias("albumin_g_dl"),
        pl.col("ldh_u_l"),
        pl.lit("").alias("ldh_uln_u_l"),  # the dataset gives no LDH upper limit: unknown, never assumed
        *(pl.lit("").alias(c) for c in ("del17p", "t4_14", "t14_16", "gain1q")),  # no per-abnormality FISH
    )
    tmp = tmp_path_factory.mktemp("gse")
    batch.write_csv(tmp / "in.csv")
    out = tmp / "out.csv"
    p = subprocess.run(
        [sys.executable, "-m", "b2m", "stage", str(tmp / "in.csv"), "-o", str(out), "--on-invalid", "null"],
        capture_output=True,
        check=False,
    )
    assert p.returncode == 0, p.stderr.decode()
    return pl.read_csv(out, infer_schema_length=0).join(
        raw.select("original_order", "b2m_mg_l_raw"), left_on="id", right_on="original_order"
    )


def test_every_patient_is_staged_or_given_possible_stages(staged: pl.DataFrame) -> None:
    assert staged.height == 565
    assert staged["iss_possible"].null_count() == 0


def test_strict_mode_refuses_the_implausible_albumin(tmp_path: Path) -> None:
    """README: one albumin is 0.3 g/dL (implausible). The default policy stops with one line, exit 2."""
    raw = pl.read_csv(DATA, infer_schema_length=0)
    raw.select(
        pl.col("b2m_mg_l"),
        pl.col("alb_g_dl").alias("albumin_g_dl"),
        pl.col("ldh_u_l"),
        pl.lit("").alias("ldh_uln_u_l"),
        *(pl.lit("").alias(c) for c in ("del17p", "t4_14", "t14_16", "gain1q")),
    ).write_csv(tmp_path / "in.csv")
    p = subprocess.run(
        [sys.executable, "-m", "b2m", "stage", str(tmp_path / "in.csv"), "-o", str(tmp_path / "o.csv")],
        capture_output=True,
        check=False,
    )
    assert p.returncode == 2
    err = p.stderr.decode().strip().splitlines()
    assert len(err) == 1 and "albumin_g_dl" in err[0] and "0.3" in err[0]
    assert not (tmp_path / "o.csv").exists()


def test_implausible_albumin_becomes_unknown_and_is_reported(staged: pl.DataFrame) -> None:
    """With --on-invalid null the 0.3 g/dL albumin is unknown (never normal) and named in b2m_issues."""
    flagged = staged.filter(pl.col("b2m_issues").is_not_null())
    assert flagged.height == 1
    assert "albumin_g_dl" in flagged["b2m_issues"][0] and "0.3" in flagged["b2m_issues"][0]
    assert flagged["albumin_g_dl"][0] is None


def test_b2m_exactly_on_cut_offs(staged: pl.DataFrame) -> None:
    """README: 9 patients with B2M = 3.5 (ISS II, b2m reference E1) and 5 with B2M = 5.5 (ISS III, b2m reference E2)."""
    at_35 = staged.filter(pl.col("b2m_mg_l") == "3.5")
    at_55 = staged.filter(pl.col("b2m_mg_l") == "5.5")
    assert at_35.height == 9 and set(at_35["iss"]) == {"II"}
    assert at_55.height == 5 and set(at_55["iss"]) == {"III"}


def test_albumin_exactly_3_5(staged: pl.DataFrame) -> None:
    """README: 19 patients with albumin = 3.5 g/dL; with B2M < 3.5 they are ISS I (b2m reference E3, '≥')."""
    rows = staged.filter(pl.col("albumin_g_dl") == "3.5")
    assert rows.height == 19
    low = rows.filter(pl.col("b2m_mg_l").cast(pl.Float64) < 3.5)
    assert low.height > 0 and set(low["iss"]) == {"I"}


def test_missing_b2m_rows_stay_open(staged: pl.DataFrame) -> None:
    """README: one B2M missing and one '<0.5' (empty in b2m_mg_l). With albumin >= 3.5 both can be
    any ISS stage in the batch path (the batch contract carries no censored values)."""
    open_rows = staged.filter(pl.col("b2m_mg_l").is_null())
    assert open_rows.height == 2
    assert set(open_rows["iss_possible"]) == {"I|II|III"}
    assert open_rows["iss"].null_count() == 2


def test_censored_b2m_through_assess() -> None:
    """The '<0.5' patient through `b2m assess` with the value as published: < 3.5 is certain, and
    albumin 4.6 >= 3.5, so ISS I (Greipp 2005); the censored value is kept as such."""
    raw = pl.read_csv(DATA, infer_schema_length=0).filter(pl.col("b2m_censored_below") == "1")
    row = raw.row(0, named=True)
    patient = {
        "id": "gse-censored",
        "labs": {
            "b2m": {"value": row["b2m_mg_l_raw"], "unit": "mg/L"},
            "albumin": {"value": float(row["alb_g_dl"]), "unit": "g/dL"},
        },
    }
    p = subprocess.run(
        [sys.executable, "-m", "b2m", "assess", "-f", "json", "-"],
        input=json.dumps(patient).encode(),
        capture_output=True,
        check=False,
    )
    assert p.returncode == 0, p.stderr.decode()
    doc = json.loads(p.stdout)
    assert doc["iss"]["stage"] == "I"
    assert doc["iss"]["inputs"]["b2m_mg_l"] == "<0.5"
