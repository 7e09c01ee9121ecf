"""The OMOP CDM v5.4 path on the Synthea27Nj export (28 synthetic persons, OHDSI EunomiaDatasets).

The export has no myeloma, no B2M and no LDH, so each test run unzips it to a temporary folder and
injects rows (below). Its own albumin (LOINC 1751-7) and creatinine (38483-4) measurements are
used as they are. Expected stages are worked out by hand from the published rules
(b2m reference ISS-2, RISS-2, R2ISS-2): ISS (Greipp 2005): I = B2M < 3.5 mg/L and albumin >= 3.5 g/dL, III = B2M >=
5.5 mg/L, else II; R-ISS (Palumbo 2015): I = ISS I, no high-risk CA, LDH <= ULN; III = ISS III and (high-risk CA or
LDH > ULN); else II; R2-ISS (D'Agostino 2022): ISS II 1, ISS III 1.5, del(17p) 1, LDH > ULN 1,
t(4;14) 1, 1q+ 0.5; groups 0 / 0.5-1 / 1.5-2.5 / 3-5. FISH is unknown in OMOP here, so each unknown
abnormality widens the score range by its points.

Injected persons (dates relative to the index date d = 0):

- person 7 (male, born 1938-02-22, died 2019-05-28): myeloma by SNOMED 109989006 in
  ``condition_source_value`` on 2018-04-20 (and again on 2019-01-01: the earliest wins). B2M 6.0
  µg/mL at d = -2 (= 6.0 mg/L), B2M 2.0 mg/L at d = -109 (outside -60..+30), LDH 5.0 µkat/L with
  upper limit 4.0 µkat/L at d = +1 (= 300 U/L against 240 U/L). Synthea's albumin 4.3 g/dL and
  creatinine 3.5 mg/dL are from 2018-04-13 (d = -7).
- person 8 (female, born 1967-01-17, alive, observed until 2022-01-17): myeloma by ICD-10-CM C90.00
  on 2020-10-01. B2M 250 nmol/L at d = -3 (x 0.0118 = 2.95 mg/L), B2M 2.0 "foo" (unknown unit) at
  d = -1, B2M 3.0 "mg/dL" (refused: b2m reference E46) at d = 0, albumin 3.6 g/dL at d = 0 coded only by
  ``measurement_concept_id`` 3024561 and ``unit_concept_id`` 8713 (the export's concept table maps
  them to LOINC 1751-7 and UCUM g/dL), LDH 180 U/L with upper limit 250 at d = +1 coded by
  ``unit_concept_id`` 8645 (UCUM [U]/L). Synthea's creatinine 0.8 mg/dL on 2020-10-06 (d = +5).
- person 10 (male, born 1971-08-22, alive, observed until 2022-10-10): myeloma by a concept injected
  into ``concept`` (SNOMED 109989006, id 2000000001) on 2022-01-10; its source value "MM-local" is
  not a myeloma code. B2M 5.6 mg/L at d = -10 and 4.2 mg/L at d = +10 (a tie: the earlier wins),
  4200 mg/L at d = -1 (implausible, > 250 mg/L), albumin 41 g/L at d = +30 (window edge, inclusive)
  and 2.0 g/dL at d = +31 (outside), no LDH. Synthea's creatinine 2.0 mg/dL on 2022-01-10 (d = 0).
- person 1 (no myeloma) gets a B2M that must not appear anywhere.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import zipfile
from pathlib import Path

import polars as pl
import pytest

from b2m.cohort.at_diagnosis import LOINC_TO_ANALYTE, loinc_check_digit, loinc_valid
from b2m.engines import spark_session
from b2m.io.cohort import load_cohort
from b2m.io.cohort.omop import MYELOMA_ICD10, MYELOMA_ICD10CM, MYELOMA_SNOMED

# Bundled byte for byte from OHDSI/EunomiaDatasets (Apache-2.0; origin, terms and this SHA-256 in
# tests/data/Synthea27Nj_5.4-NOTICE.md), so that a fresh clone runs every test here.
ZIP = Path(__file__).parent / "data" / "Synthea27Nj_5.4.zip"
ZIP_SHA256 = "cdd3971be325e17b0e872bf4560711ab4c346917ecb079e2faf32badb55cb693"
D = dt.date

CONDITIONS = [  # person, date, concept id, source value
    (7, "2018-04-20", 0, "109989006"),
    (7, "2019-01-01", 0, "109989006"),
    (8, "2020-10-01", 0, "C90.00"),
    (10, "2022-01-10", 2000000001, "MM-local"),
]
MEASUREMENTS = [  # person, date, source value (LOINC), concept id, value, unit, unit concept, range_high
    (7, "2018-04-18", "1952-1", 0, 6.0, "µg/mL", 0, None),
    (7, "2018-01-01", "1952-1", 0, 2.0, "mg/L", 0, None),
    (7, "2018-04-21", "2532-0", 0, 5.0, "µkat/L", 0, 4.0),
    (8, "2020-09-28", "1952-1", 0, 250.0, "nmol/L", 0, None),
    (8, "2020-09-30", "1952-1", 0, 2.0, "foo", 0, None),
    (8, "2020-10-01", "1952-1", 0, 3.0, "mg/dL", 0, None),
    (8, "2020-10-01", "", 3024561, 3.6, "", 8713, None),
    (8, "2020-10-02", "2532-0", 0, 180.0, "", 8645, 250.0),
    (10, "2021-12-31", "1952-1", 0, 5.6, "mg/L", 0, None),
    (10, "2022-01-20", "1952-1", 0, 4.2, "mg/L", 0, None),
    (10, "2022-01-09", "1952-1", 0, 4200.0, "mg/L", 0, None),
    (10, "2022-02-09", "1751-7", 0, 41.0, "g/L", 0, None),
    (10, "2022-02-10", "1751-7", 0, 2.0, "g/dL", 0, None),
    (1, "2020-01-01", "1952-1", 0, 9.9, "mg/L", 0, None),
]


def _append(path: Path, rows: list[dict[str, object]]) -> None:
    with path.open(newline="") as fh:
        header = next(csv.reader(fh))
    with path.open("a", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header)
        for r in rows:
            w.writerow({k: ("" if v is None else v) for k, v in r.items()})


def build_export(folder: Path) -> Path:
    """Unzip Synthea27Nj (after checking it is the published file) and inject the rows described in the
    module docstring."""
    assert hashlib.sha256(ZIP.read_bytes()).hexdigest() == ZIP_SHA256, f"{ZIP} is not the published export"
    with zipfile.ZipFile(ZIP) as z:
        z.extractall(folder)
    root = next(p.parent for p in folder.rglob("PERSON.csv") if "__MACOSX" not in p.parts)
    _append(
        root / "CONDITION_OCCURRENCE.csv",
        [
            {
                "condition_occurrence_id": 9_000_000 + i,
                "person_id": p,
                "condition_concept_id": cid,
                "condition_start_date": d,
                "condition_type_concept_id": 32817,
                "condition_status_concept_id": 0,
                "condition_source_value": src,
                "condition_source_concept_id": 0,
            }
            for i, (p, d, cid, src) in enumerate(CONDITIONS)
        ],
    )
    _append(
        root / "MEASUREMENT.csv",
        [
            {
                "measurement_id": 9_000_000 + i,
                "person_id": p,
                "measurement_concept_id": cid,
                "measurement_date": d,
                "measurement_type_concept_id": 32817,
                "value_as_number": v,
                "unit_concept_id": ucid,
                "range_high": hi,
                "measurement_source_value": src,
                "measurement_source_concept_id": 0,
                "unit_source_value": u,
            }
            for i, (p, d, src, cid, v, u, ucid, hi) in enumerate(MEASUREMENTS)
        ],
    )
    _append(
        root / "CONCEPT.csv",
        [
            {
                "concept_id": 2000000001,
                "concept_name": "Multiple myeloma",
                "domain_id": "Condition",
                "vocabulary_id": "SNOMED",
                "concept_class_id": "Clinical Finding",
                "standard_concept": "S",
                "concept_code": "109989006",
                "valid_start_date": "1970-01-01",
                "valid_end_date": "2099-12-31",
            }
        ],
    )
    return root


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_export(tmp_path_factory.mktemp("synthea"))


@pytest.fixture(scope="module", params=["polars", "duckdb"])
def loaded(request: pytest.FixtureRequest, export: Path):  # type: ignore[no-untyped-def]
    return load_cohort(export, kind="omop", engine=request.param)


def _row(table: pl.DataFrame, person: int) -> dict[str, object]:
    return table.filter(pl.col("patient_id") == person).row(0, named=True)


def test_bundled_export_is_the_published_one() -> None:
    """SHA-256 of OHDSI/EunomiaDatasets' Synthea27Nj_5.4.zip (tests/data/Synthea27Nj_5.4-NOTICE.md)."""
    assert hashlib.sha256(ZIP.read_bytes()).hexdigest() == ZIP_SHA256


def test_cohort_is_the_myeloma_persons(loaded) -> None:  # type: ignore[no-untyped-def]
    """Persons 7, 8, 10 carry a myeloma code (SNOMED 109989006 / ICD-10-CM C90.00 / concept); person 1
    does not, so its B2M appears neither in the table nor in the audit trail."""
    assert loaded.table["patient_id"].to_list() == [7, 8, 10]
    assert 1 not in loaded.provenance["patient_id"].to_list()


def test_index_date_is_the_first_myeloma_condition(loaded) -> None:  # type: ignore[no-untyped-def]
    assert loaded.table["index_date"].to_list() == [D(2018, 4, 20), D(2020, 10, 1), D(2022, 1, 10)]


def test_person_7_stages(loaded) -> None:  # type: ignore[no-untyped-def]
    """B2M 6.0 µg/mL = 6.0 mg/L >= 5.5 -> ISS III. LDH 5.0 µkat/L x 60 = 300 U/L > 4.0 x 60 = 240 U/L
    -> high, so R-ISS III (ISS III and high LDH; FISH need not be known). R2-ISS: 1.5 (ISS III) + 1
    (LDH) = 2.5, plus up to 1 + 1 + 0.5 for unknown FISH: 2.5..5 -> III|IV."""
    r = _row(loaded.table, 7)
    assert (r["b2m_mg_l"], r["ldh_u_l"], r["ldh_uln_u_l"]) == (6.0, 300.0, 240.0)
    assert (r["albumin_g_dl"], r["creatinine_mg_dl"]) == (4.3, 3.5)  # Synthea's own rows, d = -7
    assert (r["iss"], r["r_iss"], r["r2_iss"], r["r2_iss_possible"]) == ("III", "III", None, "III|IV")
    assert r["ldh_uln_assumed"] is False


def test_person_7_demographics_and_survival(loaded) -> None:  # type: ignore[no-untyped-def]
    """Born 1938-02-22, index 2018-04-20: 80 completed years. Died 2019-05-28: 2018-04-20 ->
    2019-04-20 is 365 days, -> 2019-05-20 30, -> 2019-05-28 8: 403 days = 403 / 30.4375 months."""
    r = _row(loaded.table, 7)
    assert (r["age"], r["sex"], r["os_event"]) == (80.0, "male", True)
    assert r["os_months"] == pytest.approx(403 / 30.4375)


def test_person_8_units_and_stages(loaded) -> None:  # type: ignore[no-untyped-def]
    """250 nmol/L x 0.0118 = 2.95 mg/L (MW 11,800, b2m reference LAB-1); the 'foo' and 'mg/dL' B2M
    values nearer the index date are refused, not used. Albumin 3.6 g/dL (by concept ids). ISS I
    (2.95 < 3.5 and 3.6 >= 3.5). LDH 180 <= 250: normal, so R-ISS I unless FISH shows a high-risk
    abnormality (unknown): I|II. R2-ISS 0 + unknown FISH 0..2.5 -> I|II|III."""
    r = _row(loaded.table, 8)
    assert (r["b2m_mg_l"], r["albumin_g_dl"], r["ldh_u_l"], r["ldh_uln_u_l"]) == (2.95, 3.6, 180.0, 250.0)
    assert r["creatinine_mg_dl"] == 0.8
    assert (r["iss"], r["r_iss_possible"], r["r2_iss_possible"]) == ("I", "I|II", "I|II|III")
    assert (r["age"], r["sex"], r["os_event"]) == (53.0, "female", False)
    # 2020-10-01 -> 2021-10-01 365 days, -> 2022-01-01 92, -> 2022-01-17 16: 473 days of follow-up.
    assert r["os_months"] == pytest.approx(473 / 30.4375)


def test_person_10_tie_and_window_edge(loaded) -> None:  # type: ignore[no-untyped-def]
    """B2M 5.6 (d = -10) and 4.2 (d = +10) are equally near: the earlier wins, 5.6 >= 5.5 -> ISS III.
    Albumin 41 g/L = 4.1 g/dL at d = +30 is inside the window (inclusive). No LDH: R-ISS II|III,
    R2-ISS 1.5 + up to 1 + 1 + 1 + 0.5 = 1.5..5 -> III|IV."""
    r = _row(loaded.table, 10)
    assert (r["b2m_mg_l"], r["albumin_g_dl"], r["ldh_u_l"], r["creatinine_mg_dl"]) == (5.6, 4.1, None, 2.0)
    assert (r["iss"], r["r_iss_possible"], r["r2_iss_possible"]) == ("III", "II|III", "III|IV")
    assert r["os_months"] == pytest.approx(273 / 30.4375)  # to 2022-10-10, end of observation


def test_reasons_for_what_was_not_used(loaded) -> None:  # type: ignore[no-untyped-def]
    prov = loaded.provenance
    b2m = prov.filter(pl.col("analyte") == "b2m").select("patient_id", "date", "days_from_index", "reason")
    got = {(r["patient_id"], r["date"]): (r["days_from_index"], r["reason"]) for r in b2m.iter_rows(named=True)}
    assert got == {
        (7, D(2018, 4, 18)): (-2, "used"),
        (7, D(2018, 1, 1)): (-109, "outside_window"),
        (8, D(2020, 9, 28)): (-3, "used"),
        (8, D(2020, 9, 30)): (-1, "unit_refused"),
        (8, D(2020, 10, 1)): (0, "unit_refused"),
        (10, D(2021, 12, 31)): (-10, "used"),
        (10, D(2022, 1, 20)): (10, "tie_later"),
        (10, D(2022, 1, 9)): (-1, "implausible"),
    }
    alb = prov.filter((pl.col("patient_id") == 10) & (pl.col("analyte") == "albumin"))
    assert dict(zip(alb["days_from_index"], alb["reason"], strict=True)) == {30: "used", 31: "outside_window"}
    used = prov.filter(pl.col("used"))
    assert used.group_by("patient_id", "analyte").len()["len"].max() == 1  # one measurement per analyte


def test_unit_report_names_every_unit(loaded) -> None:  # type: ignore[no-untyped-def]
    """The unknown unit and the refused mg/dL are reported with their reason; conversions counted."""
    rep = loaded.unit_report.filter(pl.col("analyte") == "b2m")
    by_unit = {r["unit"]: r for r in rep.iter_rows(named=True)}
    assert by_unit["foo"]["refused_unit"] == 1 and "unknown unit 'foo'" in by_unit["foo"]["problem"]
    assert by_unit["mg/dL"]["refused_unit"] == 1 and "mislabelling" in by_unit["mg/dL"]["problem"]
    assert by_unit["nmol/L"]["converted"] == 1 and by_unit["nmol/L"]["factor"] == 0.0118
    assert by_unit["mg/L"]["implausible"] == 1  # 4200 mg/L
    ldh = {r["unit"]: r for r in loaded.unit_report.filter(pl.col("analyte") == "ldh").iter_rows(named=True)}
    assert ldh["µkat/L"]["converted"] == 1 and ldh["[U]/L"]["accepted"] == 1  # UCUM code via concept 8645


def test_policies(export: Path) -> None:
    """first_after: person 10's B2M becomes 4.2 (d = +10; the tie rule no longer applies) -> ISS II
    (3.5 <= 4.2 < 5.5). last_before: person 7's LDH (d = +1) is on the wrong side -> unknown."""
    after = load_cohort(export, kind="omop", policy="first_after")
    assert _row(after.table, 10)["b2m_mg_l"] == 4.2 and _row(after.table, 10)["iss"] == "II"
    before = load_cohort(export, kind="omop", policy="last_before")
    r7 = _row(before.table, 7)
    assert r7["ldh_u_l"] is None and r7["r_iss_possible"] == "II|III"
    assert "wrong_side" in before.provenance.filter(pl.col("patient_id") == 7)["reason"].to_list()


def test_duckdb_file_source(export: Path, tmp_path: Path) -> None:
    """The same export as a DuckDB database file gives the same cohort as the CSV folder."""
    import duckdb

    db = tmp_path / "cdm.duckdb"
    with duckdb.connect(str(db)) as con:
        for name in ("PERSON", "CONDITION_OCCURRENCE", "MEASUREMENT", "DEATH", "OBSERVATION_PERIOD", "CONCEPT"):
            con.execute(f"CREATE TABLE {name.lower()} AS SELECT * FROM read_csv('{export / (name + '.csv')}')")
    for engine in ("duckdb", "polars"):
        got = load_cohort(db, kind="omop", engine=engine)  # type: ignore[arg-type]
        want = load_cohort(export, kind="omop", engine=engine)  # type: ignore[arg-type]
        assert got.table.equals(want.table)
        assert got.provenance.equals(want.provenance)


def test_spark_gives_the_same_cohort(export: Path) -> None:
    """Spark local mode reads the same CSV folder and gives identical table, audit and unit report."""
    polars = load_cohort(export, kind="omop", engine="polars")
    spark = load_cohort(export, kind="omop", engine="spark", spark=spark_session("local[2]"))
    assert spark.table.equals(polars.table)
    assert spark.provenance.equals(polars.provenance)
    assert spark.unit_report.equals(polars.unit_report)


def test_loinc_check_digits() -> None:
    """LOINC Users' Guide (mod 10): 12345 -> check digit 5. Every code the loader maps is valid, and a
    one-character slip such as 33944-8 (for 33944-0, b2m reference LAB-5 warning) is caught."""
    assert loinc_check_digit("12345") == 5
    assert all(loinc_valid(code) for code in LOINC_TO_ANALYTE)
    assert loinc_valid("33944-0") and not loinc_valid("33944-8")
    assert LOINC_TO_ANALYTE["1952-1"] == "b2m" and LOINC_TO_ANALYTE["1751-7"] == "albumin"


def test_myeloma_codes() -> None:
    """SNOMED CT 109989006 Multiple myeloma (disorder); ICD-10 C90.0; ICD-10-CM C90.00-C90.02."""
    assert MYELOMA_SNOMED == ("109989006",)
    assert MYELOMA_ICD10 == ("C90.0",)
    assert MYELOMA_ICD10CM == ("C90.00", "C90.01", "C90.02")


# FISH from the site's own concepts (ids injected below; no LOINC code for them is confirmed).
DEL17P, T4_14, T14_16, GAIN1Q = 2000000101, 2000000102, 2000000103, 2000000104
POSITIVE, NEGATIVE = 2000000201, 2000000202
FISH_CONCEPTS = {"del17p": [DEL17P], "t4_14": [T4_14], "t14_16": [T14_16], "gain1q": [GAIN1Q]}


@pytest.fixture(scope="module")
def fish_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The export above plus FISH results for persons 7 and 8 in MEASUREMENT and OBSERVATION, read by
    value_as_number, by the name of value_as_concept_id, and by text."""
    root = build_export(tmp_path_factory.mktemp("synthea_fish"))
    _append(
        root / "CONCEPT.csv",
        [
            {
                "concept_id": cid,
                "concept_name": name,
                "domain_id": "Meas Value",
                "vocabulary_id": "Local",
                "concept_class_id": "Answer",
                "standard_concept": "",
                "concept_code": name,
                "valid_start_date": "1970-01-01",
                "valid_end_date": "2099-12-31",
            }
            for cid, name in ((POSITIVE, "Positive"), (NEGATIVE, "Negative"))
        ],
    )
    meas = [  # person, date, concept, value_as_number
        (7, "2018-04-22", DEL17P, 1.0),  # d = +2: present
        (7, "2017-01-01", T4_14, 1.0),  # far outside the window: not used
        (8, "2020-10-05", DEL17P, 0.0),
        (8, "2020-10-05", T4_14, 0.0),
    ]
    _append(
        root / "MEASUREMENT.csv",
        [
            {
                "measurement_id": 9_100_000 + i,
                "person_id": p,
                "measurement_concept_id": cid,
                "measurement_date": d,
                "measurement_type_concept_id": 32817,
                "value_as_number": v,
                "measurement_source_concept_id": 0,
            }
            for i, (p, d, cid, v) in enumerate(meas)
        ],
    )
    obs = [  # person, date, concept, value_as_string, value_as_concept_id, value_source_value
        (7, "2018-04-20", T4_14, "negative", 0, ""),
        (7, "2018-04-20", T14_16, "", NEGATIVE, ""),
        (7, "2018-04-20", GAIN1Q, "", POSITIVE, ""),
        (8, "2020-10-05", T14_16, "", NEGATIVE, ""),
        (8, "2020-10-05", GAIN1Q, "", 0, "Not detected"),
        (10, "2022-01-10", DEL17P, "pending", 0, ""),  # not a result: unknown
    ]
    _append(
        root / "OBSERVATION.csv",
        [
            {
                "observation_id": 9_200_000 + i,
                "person_id": p,
                "observation_concept_id": cid,
                "observation_date": d,
                "observation_type_concept_id": 32817,
                "value_as_string": s,
                "value_as_concept_id": vc,
                "observation_source_concept_id": 0,
                "value_source_value": sv,
            }
            for i, (p, d, cid, s, vc, sv) in enumerate(obs)
        ],
    )
    return root


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_fish_from_the_sites_concepts(fish_export: Path, engine: str) -> None:
    """Person 7: del(17p) present (value 1 at d = +2), t(4;14) absent ('negative'; the 'present' row of
    2017 is outside the window), t(14;16) absent (concept named Negative), 1q+ present (Positive).
    R2-ISS (D'Agostino 2022): ISS III 1.5 + LDH high 1 + del(17p) 1 + 1q+ 0.5 = 4.0 -> IV (3-5).
    Person 8: every abnormality absent ('Not detected' read from value_source_value); ISS I, LDH
    180 <= 250: R-ISS I (Palumbo 2015), R2-ISS score 0 -> I. Person 10: 'pending' is no result."""
    r = load_cohort(fish_export, kind="omop", engine=engine, fish_concept_ids=FISH_CONCEPTS)  # type: ignore[arg-type]
    p7, p8, p10 = (_row(r.table, p) for p in (7, 8, 10))
    assert (p7["del17p"], p7["t4_14"], p7["t14_16"], p7["gain1q"]) == (True, False, False, True)
    assert (p7["r2_iss_score"], p7["r2_iss"], p7["r_iss"]) == (4.0, "IV", "III")
    assert (p8["del17p"], p8["t4_14"], p8["t14_16"], p8["gain1q"]) == (False, False, False, False)
    assert (p8["r_iss"], p8["r2_iss"], p8["r2_iss_score"]) == ("I", "I", 0.0)
    assert p10["del17p"] is None
    why = r.provenance.filter(pl.col("analyte").is_in(list(FISH_CONCEPTS)))
    assert why.filter((pl.col("patient_id") == 7) & (pl.col("analyte") == "t4_14"))["reason"].sort().to_list() == [
        "outside_window",
        "used",
    ]
    assert why.filter(pl.col("patient_id") == 10)["reason"].to_list() == ["value_missing"]
    assert any("FISH read from the site's own concepts" in n for n in r.notes)


def test_fish_concepts_are_checked(fish_export: Path) -> None:
    from b2m.errors import InputError

    with pytest.raises(InputError, match="unknown FISH result"):
        load_cohort(fish_export, kind="omop", fish_concept_ids={"del(17p)": [1]})
    with pytest.raises(InputError, match="integers"):
        load_cohort(fish_export, kind="omop", fish_concept_ids={"del17p": "123"})  # type: ignore[dict-item]
    with pytest.raises(InputError, match="concept 5 is listed under del17p and t4_14"):  # not last-one-wins
        load_cohort(fish_export, kind="omop", fish_concept_ids={"del17p": [4, 5], "t4_14": [5]})
    with pytest.raises(InputError, match="kind='omop' only"):
        load_cohort(fish_export, kind="long", patients=fish_export, fish_concept_ids=FISH_CONCEPTS)


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_censored_measurements(tmp_path: Path, engine: str) -> None:
    """Person 7 gets, on the index date (nearer than the B2M of d = -2 and the LDH of d = +1): a B2M
    with no value_as_number and value_source_value '<0.5', and an LDH 1000 U/L with an
    operator_concept_id whose concept is named '>' (range_high 250). B2M < 0.5 < 3.5 and albumin 4.3
    >= 3.5: ISS I (Greipp 2005); LDH > 1000 > 250 is high, so R-ISS II, not I (Palumbo 2015)."""
    root = build_export(tmp_path)
    _append(
        root / "CONCEPT.csv",
        [
            {
                "concept_id": 2000000302,
                "concept_name": ">",
                "domain_id": "Meas Value Operator",
                "vocabulary_id": "Meas Value Operator",
                "concept_class_id": "Meas Value Operator",
                "standard_concept": "S",
                "concept_code": "4172704",
                "valid_start_date": "1970-01-01",
                "valid_end_date": "2099-12-31",
            }
        ],
    )
    common = {"person_id": 7, "measurement_date": "2018-04-20", "measurement_type_concept_id": 32817}
    _append(
        root / "MEASUREMENT.csv",
        [
            {
                "measurement_id": 9_300_000,
                **common,
                "measurement_concept_id": 0,
                "measurement_source_value": "1952-1",
                "measurement_source_concept_id": 0,
                "unit_source_value": "mg/L",
                "value_source_value": "<0.5",
            },
            {
                "measurement_id": 9_300_001,
                **common,
                "measurement_concept_id": 0,
                "measurement_source_value": "2532-0",
                "measurement_source_concept_id": 0,
                "operator_concept_id": 2000000302,
                "value_as_number": 1000.0,
                "unit_source_value": "U/L",
                "range_high": 250.0,
            },
        ],
    )
    r = load_cohort(root, kind="omop", engine=engine)  # type: ignore[arg-type]
    p7 = _row(r.table, 7)
    assert (p7["b2m_mg_l"], p7["b2m_censored"], p7["ldh_u_l"], p7["ldh_censored"]) == (None, "<0.5", None, ">1000.0")
    assert (p7["iss"], p7["r_iss"]) == ("I", "II")
    used = r.provenance.filter((pl.col("patient_id") == 7) & pl.col("used"))
    assert dict(zip(used["analyte"], used["operator"], strict=True))["b2m"] == "<"


def test_cli_fish_concepts(fish_export: Path, tmp_path: Path) -> None:
    """`b2m cohort report EXPORT --kind omop --fish-concept KEY=IDS ...` reads FISH from those concepts
    (the loader's note reaches the report); a malformed option exits 2 with one line naming it."""
    import subprocess
    import sys

    args = [sys.executable, "-m", "b2m", "cohort", "report", str(fish_export), "--kind", "omop", "--bootstrap", "5"]
    fish = [x for k, ids in FISH_CONCEPTS.items() for x in ("--fish-concept", f"{k}={','.join(map(str, ids))}")]
    window = ["--window", "-60,0", "--policy", "last_before"]
    ok = subprocess.run(
        [*args, "-o", str(tmp_path / "rep"), *fish, *window], capture_output=True, text=True, check=False
    )
    assert ok.returncode == 0, ok.stderr
    doc = (tmp_path / "rep" / "report.json").read_text(encoding="utf-8")
    assert "FISH read from the site's own concepts" in doc
    settings = json.loads(doc)["provenance"]["settings"]
    assert (settings["window_days"], settings["policy"]) == ([-60, 0], "last_before")
    for bad in ("del17p", "del17p=abc", "del(17p)=5"):
        p = subprocess.run(
            [*args, "-o", str(tmp_path / "bad"), "--fish-concept", bad], capture_output=True, text=True, check=False
        )
        assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr
        assert "fish" in p.stderr.lower()


def _diagnosed(n: int) -> dict[str, pl.DataFrame]:
    """Persons 1..n, each with myeloma (ICD-10-CM C90.00) on 2020-01-10: the index date."""
    ids = list(range(1, n + 1))
    person = pl.DataFrame({"person_id": ids, "gender_concept_id": [8507, 8532] * (n // 2) + [8507] * (n % 2)})
    cond = pl.DataFrame(
        {
            "person_id": ids,
            "condition_concept_id": [0] * n,
            "condition_start_date": [D(2020, 1, 10)] * n,
            "condition_source_value": ["C90.00"] * n,
        }
    )
    return {"person": person.with_columns(year_of_birth=pl.lit(1950)), "condition_occurrence": cond}


def test_standard_operator_ids_and_source_text_without_a_concept_table() -> None:
    """Without a concept table: person 1's albumin 3.6 g/dL has operator_concept_id 4171756 (the
    OMOP 'Meas Value Operator' concept '<'); person 2's has value_as_number 3.6 and value_source_value
    '<3.6' (an ETL that kept the bare number). Both are censored, '<3.6': albumin may be below 3.5,
    so with B2M 2.0 ISS is I or II (Greipp 2005: I needs albumin >= 3.5), never a plain I."""
    meas = pl.DataFrame(
        {
            "measurement_id": [1, 2, 3, 4],
            "person_id": [1, 1, 2, 2],
            "measurement_concept_id": [0] * 4,
            "measurement_date": [D(2020, 1, 10)] * 4,
            "value_as_number": [2.0, 3.6, 2.0, 3.6],
            "operator_concept_id": [None, 4171756, None, None],
            "value_source_value": [None, None, None, "<3.6"],
            "unit_source_value": ["mg/L", "g/dL", "mg/L", "g/dL"],
            "measurement_source_value": ["1952-1", "1751-7", "1952-1", "1751-7"],
        }
    )
    r = load_cohort({**_diagnosed(2), "measurement": meas}, kind="omop")
    assert r.table["albumin_censored"].to_list() == ["<3.6", "<3.6"]
    assert r.table["iss_possible"].to_list() == ["I|II", "I|II"]


def test_plain_number_in_source_text_when_value_as_number_is_empty() -> None:
    """An ETL that left value_as_number empty but kept the result in value_source_value: person 1's
    B2M is '6.1' mg/L there, so it is used like any number. B2M 6.1 >= 5.5 is ISS III whatever the
    albumin (Greipp 2005). Person 2's text is not a number ('see note'): no value, so with albumin 4.0
    ISS is still open (I, II or III), never a favourable default."""
    meas = pl.DataFrame(
        {
            "measurement_id": [1, 2, 3, 4],
            "person_id": [1, 1, 2, 2],
            "measurement_concept_id": [0] * 4,
            "measurement_date": [D(2020, 1, 10)] * 4,
            "value_as_number": [None, 4.0, None, 4.0],
            "value_source_value": [" 6.1 ", None, "see note", None],
            "unit_source_value": ["mg/L", "g/dL", "mg/L", "g/dL"],
            "measurement_source_value": ["1952-1", "1751-7", "1952-1", "1751-7"],
        }
    )
    r = load_cohort({**_diagnosed(2), "measurement": meas}, kind="omop")
    assert _row(r.table, 1)["b2m_mg_l"] == 6.1 and _row(r.table, 1)["iss"] == "III"
    assert _row(r.table, 2)["b2m_mg_l"] is None and _row(r.table, 2)["iss_possible"] == "I|II|III"


def test_fish_numbers_are_read_like_lab_values() -> None:
    """FISH from the site's concept (del(17p) = 2000000101 here), as a number: only an exact 1 or 0
    without a unit is a result. Person 1: 1 with operator_concept_id 4171756 ('<', the standard OMOP
    operator concept) -> '<1', no result. Person 2: 1 with source text '<1' -> no result. Person 3:
    1 with unit '%' (1 % of nuclei, not 'present'; b2m reference RISS-1) -> refused. Person 4: no
    value_as_number, source text '1' -> present. None of the first three may read as present."""
    fish_id = 2000000101
    meas = pl.DataFrame(
        {
            "measurement_id": [1, 2, 3, 4],
            "person_id": [1, 2, 3, 4],
            "measurement_concept_id": [fish_id] * 4,
            "measurement_date": [D(2020, 1, 10)] * 4,
            "value_as_number": [1.0, 1.0, 1.0, None],
            "operator_concept_id": [4171756, None, None, None],
            "value_source_value": [None, "<1", None, "1"],
            "unit_source_value": [None, None, "%", None],
            "measurement_source_value": [None] * 4,
        },
        schema_overrides={"measurement_source_value": pl.String},
    )
    tables = {**_diagnosed(4), "measurement": meas}
    for engine in ("polars", "duckdb"):
        r = load_cohort(tables, kind="omop", engine=engine, fish_concept_ids={"del17p": [fish_id]})  # type: ignore[arg-type]
        assert r.table["del17p"].to_list() == [None, None, None, True], engine
        why = dict(zip(r.provenance["patient_id"], r.provenance["reason"], strict=True))
        assert why == {1: "implausible", 2: "implausible", 3: "unit_refused", 4: "used"}, engine
