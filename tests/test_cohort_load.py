"""``load_cohort`` on long lab feeds and wide tables: window, policies, ties, units, boundaries.

Oracles: the edge-case rows (b2m reference EDGE-2, cited per test), the ISS / R-ISS / R2-ISS rules
of Greipp 2005, Palumbo 2015 and D'Agostino 2022 (b2m reference ISS-2, RISS-2, R2ISS-2), the window policy as documented
in :mod:`b2m.cohort.at_diagnosis` (re-implemented here by brute force from its definition), and the GSE24080 facts in
``src/b2m/data/GSE24080-README.md``.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from b2m.cohort.at_diagnosis import REASONS
from b2m.errors import InputError
from b2m.io.cohort import load_cohort

D = dt.date
INDEX = D(2020, 3, 1)  # 2020 is a leap year: INDEX - 60 days = 2020-01-01, INDEX + 30 days = 2020-03-31
NEG = {"del17p": False, "t4_14": False, "t14_16": False, "gain1q": False}


def _cohort(rows: list[tuple[str, str, float, str | None, D | None]], patients: list[str], **kw: object):  # type: ignore[no-untyped-def]
    """rows: (patient, analyte, value, unit, date); every patient indexed on INDEX, FISH negative."""
    labs = pl.DataFrame(rows, schema=["patient_id", "analyte", "value", "unit", "date"], orient="row").with_columns(
        pl.col("value").cast(pl.Float64)
    )
    upper = kw.pop("upper", None)
    if upper is not None:
        labs = labs.with_columns(pl.Series("upper_limit", upper, dtype=pl.Float64))
    pts = pl.DataFrame({"patient_id": patients, "index_date": [INDEX] * len(patients)}).with_columns(
        *(pl.lit(v).alias(k) for k, v in NEG.items())
    )
    return load_cohort(labs, kind="long", patients=pts, **kw)  # type: ignore[arg-type]


def _days(n: int) -> D:
    return INDEX + dt.timedelta(days=n)


def test_window_edges_are_inclusive() -> None:
    """-60 and +30 are inside the default window, -61 and +31 outside (documented: both ends
    inclusive). Nearest: |+30| < |-60| so the +30 value is used."""
    r = _cohort(
        [
            ("P1", "b2m", 2.0, "mg/L", _days(-61)),
            ("P1", "b2m", 2.5, "mg/L", _days(31)),
            ("P2", "b2m", 3.0, "mg/L", _days(-60)),
            ("P2", "b2m", 6.0, "mg/L", _days(30)),
        ],
        ["P1", "P2"],
    )
    assert r.table["b2m_mg_l"].to_list() == [None, 6.0]
    reasons = dict(zip(r.provenance["days_from_index"], r.provenance["reason"], strict=True))
    assert reasons == {-61: "outside_window", 31: "outside_window", -60: "farther", 30: "used"}


@pytest.mark.parametrize(("policy", "expected"), [("nearest", 6.0), ("last_before", 3.0), ("first_after", 6.0)])
def test_policies(policy: str, expected: float) -> None:
    r = _cohort([("P2", "b2m", 3.0, "mg/L", _days(-60)), ("P2", "b2m", 6.0, "mg/L", _days(30))], ["P2"], policy=policy)
    assert r.table["b2m_mg_l"].to_list() == [expected]


def test_index_day_counts_for_both_one_sided_policies() -> None:
    """'last before' is on or before the index date; 'first after' on or after it."""
    rows = [
        ("P", "b2m", 4.0, "mg/L", _days(0)),
        ("P", "b2m", 1.0, "mg/L", _days(-1)),
        ("P", "b2m", 9.0, "mg/L", _days(1)),
    ]
    for policy in ("last_before", "first_after", "nearest"):
        assert _cohort(rows, ["P"], policy=policy).table["b2m_mg_l"].to_list() == [4.0]


def test_tie_goes_to_the_earlier_date() -> None:
    r = _cohort([("P", "b2m", 4.2, "mg/L", _days(10)), ("P", "b2m", 5.6, "mg/L", _days(-10))], ["P"])
    assert r.table["b2m_mg_l"].to_list() == [5.6]
    assert sorted(r.provenance["reason"].to_list()) == ["tie_later", "used"]


def test_same_day_duplicates_lowest_source_id_wins() -> None:
    labs = pl.DataFrame(
        {
            "patient_id": ["P", "P"],
            "analyte": ["b2m", "b2m"],
            "value": [7.0, 2.0],
            "unit": ["mg/L", "mg/L"],
            "date": [_days(-5), _days(-5)],
            "source_id": [7, 3],
        }
    )
    pts = pl.DataFrame({"patient_id": ["P"], "index_date": [INDEX]})
    r = load_cohort(labs, kind="long", patients=pts)
    assert r.table["b2m_mg_l"].to_list() == [2.0]
    assert dict(zip(r.provenance["source_id"], r.provenance["reason"], strict=True)) == {
        "3": "used",
        "7": "same_day_duplicate",
    }


def test_unit_boundaries_after_conversion() -> None:
    """b2m reference E1: B2M exactly 3.5 mg/L (3500 µg/L) is not < 3.5 -> ISS II. b2m reference E3, E4: albumin 35 g/L
    = 3.5 g/dL satisfies >= 3.5, so B2M 3.499 mg/L (3499 µg/L) -> ISS I. b2m reference E2: B2M 5500 ng/mL =
    5.5 mg/L -> ISS III."""
    r = _cohort(
        [
            ("A", "b2m", 3500.0, "µg/L", _days(0)),
            ("A", "albumin", 35.0, "g/L", _days(0)),
            ("B", "b2m", 3499.0, "ug/L", _days(0)),
            ("B", "albumin", 35.0, "g/L", _days(0)),
            ("C", "1952-1", 5500.0, "ng/mL", _days(0)),
        ],
        ["A", "B", "C"],
    )
    assert r.table["iss"].to_list() == ["II", "I", "III"]
    assert r.table["b2m_mg_l"].to_list() == [3.5, 3.499, 5.5]


def test_ldh_against_the_reported_upper_limit() -> None:
    """b2m reference E6: LDH equal to the ULN is normal -> with ISS I and negative FISH, R-ISS I and R2-ISS I
    (score 0). LDH 4.2 µkat/L = 252 U/L above 4.1 µkat/L = 246 U/L is high: R-ISS II (ISS I but
    not all of I's conditions; not ISS III), R2-ISS 0 + 1 = 1 -> II."""
    r = _cohort(
        [
            ("E", "b2m", 2.0, "mg/L", _days(0)),
            ("E", "albumin", 4.0, "g/dL", _days(0)),
            ("E", "ldh", 250.0, "U/L", _days(0)),
            ("H", "b2m", 2.0, "mg/L", _days(0)),
            ("H", "albumin", 4.0, "g/dL", _days(0)),
            ("H", "ldh", 4.2, "µkat/L", _days(0)),
        ],
        ["E", "H"],
        upper=[None, None, 250.0, None, None, 4.1],
    )
    t = r.table
    assert t["ldh_u_l"].to_list() == [250.0, 252.0] and t["ldh_uln_u_l"].to_list() == [250.0, 246.0]
    assert t["r_iss"].to_list() == ["I", "II"] and t["r2_iss"].to_list() == ["I", "II"]
    assert t["r2_iss_score"].to_list() == [0.0, 1.0]


def test_unknown_uln_is_never_assumed_unless_stated() -> None:
    """b2m reference E7: LDH ULN unknown -> R-ISS not decidable (I|II for ISS I with negative FISH). Stated as
    300 U/L: 252 <= 300 is normal -> R-ISS I, and the assumption is flagged and noted."""
    rows = [
        ("U", "b2m", 2.0, "mg/L", _days(0)),
        ("U", "albumin", 4.0, "g/dL", _days(0)),
        ("U", "ldh", 252.0, "U/L", _days(0)),
    ]
    unknown = _cohort(rows, ["U"])
    assert unknown.table["r_iss_possible"].to_list() == ["I|II"] and unknown.notes == ()
    stated = _cohort(rows, ["U"], ldh_uln_u_l=300.0)
    assert stated.table["r_iss"].to_list() == ["I"] and stated.table["ldh_uln_assumed"].to_list() == [True]
    assert any("assumed to be 300 U/L for 1 of 1" in n for n in stated.notes)


def test_refusals_are_reported_not_dropped() -> None:
    """Unknown or refused units, implausible values, unrecognised names and invalid LOINC codes all
    appear in the unit report; none is used."""
    r = _cohort(
        [
            ("P", "b2m", 4200.0, "mg/L", _days(0)),  # implausible: looks like µg/L
            ("P", "b2m", 3.0, "mg/dL", _days(0)),  # refused: b2m reference E46
            ("P", "b2m", 2.0, None, _days(0)),  # no unit: never assumed
            ("P", "albumin", 3.0, "mmol/L", _days(0)),  # wrong dimension for albumin
            ("P", "crp", 5.0, "mg/L", _days(0)),  # not a cohort analyte
            ("P", "33944-8", 5.0, "mg/L", _days(0)),  # check digit wrong (33944-0)
        ],
        ["P"],
    )
    assert r.table["b2m_mg_l"].to_list() == [None] and r.table["albumin_g_dl"].to_list() == [None]
    rep = r.unit_report
    b2m = {row["unit"]: row for row in rep.filter(pl.col("analyte") == "b2m").iter_rows(named=True)}
    assert b2m["mg/L"]["implausible"] == 1 and b2m["mg/dL"]["refused_unit"] == 1
    assert b2m[None]["refused_unit"] == 1 and "missing" in b2m[None]["problem"]
    assert rep.filter(pl.col("analyte") == "albumin")["refused_unit"].to_list() == [1]
    problems = rep.filter(pl.col("analyte").is_null())["problem"].to_list()
    assert any("'crp'" in p for p in problems) and any("33944-8" in p and "check digit" in p for p in problems)
    assert set(r.provenance["reason"]) <= set(REASONS)


def test_events_of_patients_outside_the_cohort_are_reported() -> None:
    labs = pl.DataFrame(
        {"patient_id": ["P", "X"], "analyte": ["b2m", "b2m"], "value": [2.0, 2.0], "unit": ["mg/L"] * 2}
    ).with_columns(pl.lit(_days(0)).alias("date"))
    pts = pl.DataFrame({"patient_id": ["P"], "index_date": [INDEX]})
    r = load_cohort(labs, kind="long", patients=pts)
    assert r.table["patient_id"].to_list() == ["P"]
    assert dict(zip(r.provenance["patient_id"], r.provenance["reason"], strict=True)) == {
        "P": "used",
        "X": "not_in_cohort",
    }


def test_csv_files_as_text(tmp_path: Path) -> None:
    """A lab feed read as text: numbers parsed, censored results kept as censored, text that is
    neither says why; the row number is the source id. P: B2M '<0.5' mg/L on the index date (nearer
    than the 2.5 of day -10) with albumin 4.0 g/dL: B2M < 0.5 < 3.5 whatever its exact value, so ISS
    I (Greipp 2005: B2M < 3.5 and albumin >= 3.5). Q: B2M '>20' mg/L: >= 5.5 whatever its exact
    value, so ISS III. R: 'n/a' is no number (value_missing), so B2M is unknown."""
    (tmp_path / "labs.csv").write_text(
        "patient_id,analyte,value,unit,date\n"
        "P,b2m,<0.5,mg/L,2020-03-01\nP,b2m,2.5,mg/L,2020-02-20\nP,albumin,4.0,g/dL,2020-03-01\n"
        "Q,b2m,> 20,mg/L,2020-03-01\nR,b2m,n/a,mg/L,2020-03-01\n"
    )
    (tmp_path / "pts.csv").write_text(
        "patient_id,index_date,age,sex,os_months,os_event\nP,2020-03-01,61.5,F,12.5,yes\n"
        "Q,2020-03-01,70,M,3,no\nR,2020-03-01,,,,\n"
    )
    for engine in ("polars", "duckdb"):
        r = load_cohort(tmp_path / "labs.csv", kind="long", patients=tmp_path / "pts.csv", engine=engine)  # type: ignore[arg-type]
        p, q, rr = (r.table.row(i, named=True) for i in range(3))
        assert (p["b2m_mg_l"], p["b2m_censored"], p["iss"], p["age"], p["sex"], p["os_event"]) == (
            None,
            "<0.5",
            "I",
            61.5,
            "female",
            True,
        )
        assert (q["b2m_mg_l"], q["b2m_censored"], q["iss"]) == (None, ">20.0", "III")
        assert (rr["b2m_mg_l"], rr["b2m_censored"], rr["iss"], rr["iss_possible"]) == (None, None, None, "I|II|III")
        why = dict(zip(r.provenance["source_id"], r.provenance["reason"], strict=True))
        assert why == {"1": "used", "2": "farther", "3": "used", "4": "used", "5": "value_missing"}
        assert r.provenance.filter(pl.col("source_id") == "4")["operator"].to_list() == [">"]
        b2m = r.unit_report.filter(pl.col("analyte") == "b2m").row(0, named=True)
        assert (b2m["rows"], b2m["accepted"], b2m["censored"], b2m["value_missing"]) == (4, 3, 2, 1)


def test_censored_bounds_against_the_thresholds() -> None:
    """Strict and non-strict bounds at the ISS thresholds (Greipp 2005: I needs B2M < 3.5; III is
    B2M >= 5.5), albumin 4.0 g/dL throughout: '<3.5' is below 3.5 -> I; '<=3.5' may be 3.5 -> I or II;
    '>=5.5' is at least 5.5 -> III; '>5.4' may be 5.45 or 6 -> II or III."""
    rows, pts = [], []
    for i, text in enumerate(["<3.5", "<=3.5", ">=5.5", ">5.4", "≤ 3.5", "≥5.5"]):
        rows += [(f"P{i}", "b2m", text, "mg/L", _days(0)), (f"P{i}", "albumin", "4.0", "g/dL", _days(0))]
        pts.append(f"P{i}")
    labs = pl.DataFrame(rows, schema=["patient_id", "analyte", "value", "unit", "date"], orient="row")
    r = load_cohort(labs, kind="long", patients=pl.DataFrame({"patient_id": pts, "index_date": [INDEX] * 6}))
    assert r.table["iss_possible"].to_list() == ["I", "I|II", "III", "II|III", "I|II", "III"]


def test_refused_inputs() -> None:
    pts = pl.DataFrame({"patient_id": ["P", "P"], "index_date": [INDEX, INDEX]})
    labs = pl.DataFrame({"patient_id": ["P"], "analyte": ["b2m"], "value": [1.0], "unit": ["mg/L"], "date": [INDEX]})
    with pytest.raises(InputError, match="more than once"):
        load_cohort(labs, kind="long", patients=pts)
    with pytest.raises(InputError, match="window"):
        load_cohort(labs, kind="long", patients=pts[:1], window_days=(10, -10))
    with pytest.raises(InputError, match="policy"):
        load_cohort(labs, kind="long", patients=pts[:1], policy="closest")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="kind"):
        load_cohort(labs, kind="fhir")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="ldh_uln_u_l"):
        load_cohort(labs, kind="long", patients=pts[:1], ldh_uln_u_l=-5)
    with pytest.raises(InputError, match="patient table"):
        load_cohort(labs, kind="long")


def _oracle(events: list[tuple[int, float, int]], lo: int, hi: int, policy: str) -> float | None:
    """The documented pick, by brute force: (days, value, source id) -> the value used."""
    ok = [e for e in events if lo <= e[0] <= hi]
    if policy == "last_before":
        ok = [e for e in ok if e[0] <= 0]
        rank = [(-d, s) for d, _, s in ok]
    elif policy == "first_after":
        ok = [e for e in ok if e[0] >= 0]
        rank = [(d, s) for d, _, s in ok]
    else:
        rank = [(abs(d), d, s) for d, _, s in ok]  # |d|, then the earlier date, then the source id
    if not ok:
        return None
    return ok[min(range(len(ok)), key=lambda i: rank[i])][1]


event = st.tuples(st.integers(-90, 60), st.sampled_from([1.0, 2.0, 3.0, 4.0, 6.0]))


# Source ids: in file order, reversed, sparse and huge (packed into one rank with the key), or spread
# over the whole 64-bit range (too wide to pack: the pick then takes two window passes).
SOURCE_IDS = {
    "ascending": lambda k: k,
    "descending": lambda k: -k,
    "huge": lambda k: 2**62 + 7919 * k,
    "full_range": lambda k: (-1) ** k * (2**62 - k),
}


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(event, max_size=6), min_size=1, max_size=12),
    st.sampled_from(["nearest", "last_before", "first_after"]),
    st.tuples(st.integers(-60, 0), st.integers(0, 30)),
    st.sampled_from(sorted(SOURCE_IDS)),
    st.sampled_from(["all", "none"]),
)
def test_pick_equals_brute_force(
    cohort: list[list[tuple[int, float]]], policy: str, window: tuple[int, int], ids: str, mode: str
) -> None:
    """Any cohort, any policy, any window, any source ids, with or without the audit trail: the value
    used is the one the documented rule picks."""
    rows, sid, source_id = [], 0, SOURCE_IDS[ids]
    for p, evs in enumerate(cohort):
        for d, v in evs:
            sid += 1
            rows.append(
                {
                    "patient_id": p,
                    "analyte": "b2m",
                    "value": v,
                    "unit": "mg/L",
                    "date": _days(d),
                    "source_id": source_id(sid),
                }
            )
    labs = pl.DataFrame(
        rows,
        schema={
            "patient_id": pl.Int64,
            "analyte": pl.String,
            "value": pl.Float64,
            "unit": pl.String,
            "date": pl.Date,
            "source_id": pl.Int64,
        },
    )
    pts = pl.DataFrame({"patient_id": list(range(len(cohort))), "index_date": [INDEX] * len(cohort)})
    r = load_cohort(labs, kind="long", patients=pts, policy=policy, window_days=window, provenance=mode)  # type: ignore[arg-type]
    sids = iter(range(1, sid + 1))
    expected = [_oracle([(d, v, source_id(next(sids))) for d, v in evs], *window, policy) for evs in cohort]
    assert r.table["b2m_mg_l"].to_list() == expected
    if mode == "all":
        assert r.provenance.filter(pl.col("used")).height == sum(e is not None for e in expected)


GSE = Path(str(resources.files("b2m").joinpath("data/gse24080_uams_maqc2_clinical.csv")))  # bundled, unmodified
GSE_COLUMNS = {
    "original_order": "patient_id",
    "alb_g_dl": "albumin_g_dl",
    "creat_mg_dl": "creatinine_mg_dl",
    "os_time_months": "os_months",
    "efs_time_months": "efs_months",
}


def test_gse24080_wide() -> None:
    """README facts: 565 patients; one albumin of 0.3 g/dL (implausible: refused and reported, never
    used); B2M exactly 3.5 in 9 patients (ISS II, b2m reference E1) and 5.5 in 5 (ISS III,
    b2m reference E2); no LDH ULN, so a stated one is flagged as assumed for every patient with an LDH."""
    r = load_cohort(GSE, kind="wide", columns=GSE_COLUMNS, ldh_uln_u_l=250.0)
    t = r.table
    assert t.height == 565 and t["patient_id"].is_sorted()
    assert set(t.filter(pl.col("b2m_mg_l") == 3.5)["iss"]) == {"II"} and t.filter(pl.col("b2m_mg_l") == 3.5).height == 9
    assert (
        set(t.filter(pl.col("b2m_mg_l") == 5.5)["iss"]) == {"III"} and t.filter(pl.col("b2m_mg_l") == 5.5).height == 5
    )
    alb = r.unit_report.filter(pl.col("analyte") == "albumin").row(0, named=True)
    assert alb["implausible"] == 1 and alb["unit"] == "g/dL"
    bad = r.provenance.filter(pl.col("reason") == "implausible")
    assert bad["analyte"].to_list() == ["albumin"] and bad["value"].to_list() == [0.3]
    assert t.filter(pl.col("patient_id") == bad["patient_id"][0])["albumin_g_dl"].to_list() == [None]
    with_ldh = t.filter(pl.col("ldh_u_l").is_not_null())
    assert with_ldh["ldh_uln_assumed"].all() and any("250 U/L" in n for n in r.notes)
    assert any("del17p" in n for n in r.notes)  # no per-abnormality FISH in this dataset: said so
    assert t["os_event"].dtype == pl.Boolean and "efs_months" in t.columns


@pytest.mark.parametrize("mode", ["all", "none"])
def test_fish_as_lab_events(mode: str) -> None:
    """FISH rows in the lab feed (value 1 present, 0 absent) are picked like lab values and fill the
    patient table where it has no result; a known patient-table result wins. P1: table unknown, event
    del(17p) present -> True. P2: table says absent, an event says present -> the table's False. P3:
    the only event is outside the window -> still unknown. P4: value 0.5 is no result -> unknown. P5:
    a 0.5 on the index date does not hide the 1 five days later -> True (only 1 and 0 are results, so
    the 0.5s are counted implausible in the unit report)."""
    labs = pl.DataFrame(
        [
            ("P1", "del17p", 1.0, None, _days(3)),
            ("P2", "del17p", 1.0, None, _days(3)),
            ("P3", "del17p", 1.0, None, _days(-200)),
            ("P4", "del17p", 0.5, None, _days(0)),
            ("P5", "del17p", 0.5, None, _days(0)),
            ("P5", "del17p", 1.0, None, _days(5)),
            ("P1", "b2m", 6.0, "mg/L", _days(0)),
        ],
        schema=["patient_id", "analyte", "value", "unit", "date"],
        orient="row",
    )
    pts = pl.DataFrame(
        {
            "patient_id": ["P1", "P2", "P3", "P4", "P5"],
            "index_date": [INDEX] * 5,
            "del17p": [None, "no", None, None, None],
        }
    )
    r = load_cohort(labs, kind="long", patients=pts, provenance=mode)  # type: ignore[arg-type]
    assert r.table["del17p"].to_list() == [True, False, None, None, True]
    assert any("FISH read from lab events (del17p)" in n for n in r.notes)
    fish = r.unit_report.filter(pl.col("analyte") == "del17p")
    assert fish.select("rows", "accepted", "implausible").row(0) == (6, 4, 2)
    if mode == "all":
        why = r.provenance.filter((pl.col("analyte") == "del17p") & (pl.col("value") == 0.5))["reason"]
        assert why.to_list() == ["implausible", "implausible"]
        p2 = r.provenance.filter((pl.col("patient_id") == "P2") & (pl.col("analyte") == "del17p"))
        assert p2.select("used", "reason").row(0) == (False, "patient_table")  # the table's "no" is shown
        used = r.provenance.filter((pl.col("analyte") == "del17p") & pl.col("used"))
        assert sorted(used["patient_id"]) == ["P1", "P5"]


def test_unit_report_at_the_plausibility_bounds() -> None:
    """Bounds are closed (B2M 0.05-250 mg/L, albumin 1.0-7.0 g/dL; b2m.units.analytes). Values exactly
    on a bound, in the canonical unit and after conversion (250,000 µg/L = 250 mg/L; 70 g/L = 7.0
    g/dL), are plausible; a hair beyond is not. The table-only route counts them exactly as the audit
    trail does."""
    rows = [
        ("P1", "b2m", 0.05, "mg/L", _days(0)),
        ("P1", "b2m", 0.0499999, "mg/L", _days(1)),
        ("P1", "b2m", 250.0, "mg/L", _days(2)),
        ("P1", "b2m", 250.0001, "mg/L", _days(3)),
        ("P1", "b2m", 250_000.0, "µg/L", _days(4)),
        ("P1", "b2m", 250_000.1, "µg/L", _days(5)),
        ("P1", "b2m", 50.0, "µg/L", _days(6)),
        ("P1", "albumin", 70.0, "g/L", _days(0)),
        ("P1", "albumin", 70.01, "g/L", _days(1)),
        ("P1", "albumin", 10.0, "g/L", _days(2)),
        ("P1", "albumin", 9.99, "g/L", _days(3)),
    ]
    want = {("b2m", "mg/L"): 2, ("b2m", "µg/L"): 1, ("albumin", "g/L"): 2}
    for mode in ("all", "none"):
        rep = _cohort(rows, ["P1"], provenance=mode).unit_report
        got = {(a, u): n for a, u, n in rep.select("analyte", "unit", "implausible").iter_rows()}
        assert got == want, mode


def test_implausible_counts_decided_by_magnitude_buckets() -> None:
    """B2M in mg/L (bounds 0.05-250): 1.2, 3.4 and 80 lie in decades wholly inside, 4200 and 9100 in
    one wholly above: 2 implausible, decided without reading the rows again. Albumin g/dL (1.0-7.0):
    3.6 and 7.5 share the decade [1, 10), across the bound 7.0: left to the row-by-row count."""
    import narwhals as nw

    from b2m.cohort import at_diagnosis as ad
    from b2m.engines import make_engine

    eng = make_engine("polars")
    events = nw.from_native(
        pl.DataFrame(
            {
                "analyte": ["b2m"] * 5 + ["albumin"] * 2,
                "unit": ["mg/L"] * 5 + ["g/dL"] * 2,
                "value": [1.2, 3.4, 80.0, 4200.0, 9100.0, 3.6, 7.5],
                "source_id": list(range(7)),
                "operator": pl.Series([None] * 7, dtype=pl.Int8),
            }
        ).lazy()
    )
    buckets = ad.distinct_pairs(events, eng)
    lookup = ad.unit_lookup(ad.per_pair(buckets))
    known, open_pairs = ad.implausible_counts(buckets, lookup)
    ids = {a: i for i, a in lookup.select("pair_id", "analyte").iter_rows()}
    assert dict(known.iter_rows()) == {ids["b2m"]: 2}
    assert open_pairs == [ids["albumin"]]


def _text_feed(rows: list[tuple[str, str, str, str | None, D, int | None]], **kw: object):  # type: ignore[no-untyped-def]
    """rows: (patient, analyte, value as text, unit, date, source id); every patient indexed on INDEX."""
    labs = pl.DataFrame(
        rows,
        schema={
            "patient_id": pl.String,
            "analyte": pl.String,
            "value": pl.String,
            "unit": pl.String,
            "date": pl.Date,
            "source_id": pl.Int64,
        },
        orient="row",
    )
    ids = sorted({r[0] for r in rows})
    pts = pl.DataFrame({"patient_id": ids, "index_date": [INDEX] * len(ids)})
    return load_cohort(labs, kind="long", patients=pts, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_fish_results_are_never_misread(engine: str) -> None:
    """A FISH result is 1 (present) or 0 (absent) with no unit. A: '<1' is no result (not 'present');
    B: '>0' is no result (not 'absent'); C: '1' with unit '%' (1 % of nuclei, below any cut-off,
    b2m reference RISS-1) is refused, not 'present'. R2-ISS would gain a point from a false del(17p)
    (b2m reference R2ISS-2). D: a '<1' on the index date does not hide the '0' two days later: absent. E, F:
    1.0000000001 and -1e-10 are not 1 and 0 (tested as received, not after the conversion's rounding to 9 places)."""
    r = _text_feed(
        [
            ("A", "del17p", "<1", None, _days(0), 1),
            ("B", "t4_14", ">0", None, _days(0), 2),
            ("C", "del17p", "1", "%", _days(0), 3),
            ("D", "del17p", "<1", None, _days(0), 4),
            ("D", "del17p", "0", None, _days(2), 5),
            ("E", "del17p", "1.0000000001", None, _days(0), 6),
            ("F", "del17p", "-1e-10", None, _days(0), 7),
        ],
        engine=engine,
    )
    a, b, c, d, e, f = (r.table.row(i, named=True) for i in range(6))
    assert (a["del17p"], b["t4_14"], c["del17p"], d["del17p"]) == (None, None, None, False)
    assert (e["del17p"], f["del17p"]) == (None, None)
    refused = r.unit_report.filter((pl.col("analyte") == "del17p") & (pl.col("unit") == "%"))
    assert refused["refused_unit"].to_list() == [1] and "no unit" in refused["problem"][0]


def test_source_ids_empty_text_and_unsigned() -> None:
    """Empty source ids are refused (the tie rule needs them); ids read as text compare as numbers
    (id 9 before id 10: the lowest id wins a same-day tie, so 2.0 mg/L, not 6.0); unsigned ids above
    2**63 still work; an infinite value ('1e400') is implausible, not a crash."""
    with pytest.raises(InputError, match="without a source id"):
        _text_feed([("F", "b2m", "2", "mg/L", _days(0), None), ("F", "b2m", "6", "mg/L", _days(1), 11)])
    labs = pl.DataFrame(
        {
            "patient_id": ["P", "P", "Q"],
            "analyte": ["b2m"] * 3,
            "value": ["6", "2", "1e400"],
            "unit": ["mg/L"] * 3,
            "date": [_days(0)] * 3,
            "source_id": ["10", "9", "1"],
        }
    )
    pts = pl.DataFrame({"patient_id": ["P", "Q"], "index_date": [INDEX] * 2})
    for engine in ("polars", "duckdb"):
        r = load_cohort(labs, kind="long", patients=pts, engine=engine)  # type: ignore[arg-type]
        assert r.table["b2m_mg_l"].to_list() == [2.0, None]
        assert r.unit_report.filter(pl.col("analyte") == "b2m")["implausible"].to_list() == [1]
    big = labs.with_columns(pl.Series("source_id", [2**63 + 5, 2**63 + 3, 2**63 + 1], dtype=pl.UInt64))
    assert load_cohort(big, kind="long", patients=pts).table["b2m_mg_l"].to_list() == [2.0, None]


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_unicode_digits_and_spaces_are_no_number_on_any_engine(engine: str) -> None:
    """Text numbers are ASCII: an Arabic-Indic digit, a no-break space or a tab around a number is no
    number (value_missing) on every engine alike, never a crash and never a guess."""
    rows = [
        ("P", "b2m", "\u0663", "mg/L", _days(0), 1),
        ("P", "b2m", "\u00a04.2", "mg/L", _days(1), 2),
        ("P", "b2m", "<\u00a00.5", "mg/L", _days(2), 3),
        ("P", "b2m", " 4.5 ", "mg/L", _days(3), 4),
    ]
    r = _text_feed(rows, engine=engine)
    why = dict(zip(r.provenance["source_id"], r.provenance["reason"], strict=True))
    assert why == {"1": "value_missing", "2": "value_missing", "3": "value_missing", "4": "used"}
    assert r.table["b2m_mg_l"].to_list() == [4.5]


def test_one_source_id_twice_is_refused() -> None:
    """Two B2M rows of one patient on one date under the same source id ('<3' and '5', id 7): the tie
    rule (lowest source id) cannot choose, and mixing them would report a value neither row had; the
    load stops with one error naming source_id. Distinct ids on the same date are fine."""
    rows = [("G", "b2m", "<3", "mg/L", _days(0), 7), ("G", "b2m", "5", "mg/L", _days(0), 7)]
    for engine in ("polars", "duckdb"):
        for mode in ("none", "all"):
            with pytest.raises(InputError, match="same source id"):
                _text_feed(rows, engine=engine, provenance=mode)
    ok = _text_feed([rows[0], (*rows[1][:5], 8)])
    assert (ok.table["b2m_mg_l"].to_list(), ok.table["b2m_censored"].to_list()) == ([None], ["<3.0"])
