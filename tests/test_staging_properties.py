"""Properties of ISS, R-ISS and R2-ISS on generated cohorts (Hypothesis).

Oracles: ``tests/oracle.py`` (the published rules written independently) and the invariants named
in the brief: unknown is never normal, a higher B2M never lowers ISS, an added adverse factor never
lowers R2-ISS, the batch path equals the single-patient path, and the single-patient Python path
(:func:`stage_patient`) equals the one-row-frame path (:func:`staging_results`) result for result,
censored values and every combination of unknown inputs included.
"""

from __future__ import annotations

import itertools

import duckdb
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from b2m.rules.inputs import FISH_COLUMNS
from b2m.rules.staging import stage_frame
from b2m.rules.staging_results import StagingValues, stage_patient, staging_results
from b2m.units import Censored
from tests import oracle
from tests.staging_helpers import batch_frame

# Values on and around every cut-off (B2M 3.5/5.5, albumin 3.5, LDH vs ULN) plus free values.
B2M = st.one_of(st.sampled_from([0.5, 3.49, 3.5, 3.51, 5.49, 5.5, 5.51, 20.0]), st.floats(0.05, 40, allow_nan=False))
ALBUMIN = st.one_of(st.sampled_from([2.0, 3.49, 3.5, 3.51, 4.5]), st.floats(1.0, 7.0, allow_nan=False))
LDH = st.one_of(st.sampled_from([150.0, 249.99, 250.0, 250.01, 400.0]), st.floats(10, 2000, allow_nan=False))
ULN = st.sampled_from([200.0, 250.0])


@st.composite
def patients(draw: st.DrawFn, *, complete: bool = False) -> StagingValues:
    def maybe(s: st.SearchStrategy[object]) -> object:
        return draw(s) if complete else draw(st.one_of(st.none(), s))

    return StagingValues(
        b2m_mg_l=maybe(B2M),  # type: ignore[arg-type]
        albumin_g_dl=maybe(ALBUMIN),  # type: ignore[arg-type]
        ldh_u_l=maybe(LDH),  # type: ignore[arg-type]
        ldh_uln_u_l=maybe(ULN),  # type: ignore[arg-type]
        **{c: maybe(st.booleans()) for c in FISH_COLUMNS},  # type: ignore[arg-type]
    )


# Representative completions: one value in every region the published cut-offs create.
COMPLETIONS: dict[str, tuple[object, ...]] = {
    "b2m_mg_l": (1.0, 3.5, 4.5, 5.5, 8.0),
    "albumin_g_dl": (3.0, 3.5, 4.0),
    "ldh_u_l": (100.0, 250.0, 400.0),
    "ldh_uln_u_l": (100.0, 250.0, 400.0),
    **{c: (False, True) for c in FISH_COLUMNS},
}


def _oracle_all(v: dict[str, object]) -> tuple[str, str, str]:
    args = (v["b2m_mg_l"], v["albumin_g_dl"])
    ldh = (v["ldh_u_l"], v["ldh_uln_u_l"])
    return (
        oracle.iss(*args),  # type: ignore[arg-type]
        oracle.r_iss(*args, *ldh, v["del17p"], v["t4_14"], v["t14_16"]),  # type: ignore[arg-type]
        oracle.r2_iss(*args, *ldh, v["del17p"], v["t4_14"], v["gain1q"]),  # type: ignore[arg-type]
    )


@settings(max_examples=150, deadline=None)
@given(patients())
def test_possible_equals_every_completion(p: StagingValues) -> None:
    """`possible` is exactly the set of oracle stages over every completion of the unknown inputs."""
    known = {k: getattr(p, k) for k in COMPLETIONS}
    unknown = [k for k, v in known.items() if v is None]
    options = dict(COMPLETIONS)
    # LDH is compared with the ULN, so a completion must also fall below, on and above the known side.
    if p.ldh_u_l is not None:
        options["ldh_uln_u_l"] = (p.ldh_u_l / 2, p.ldh_u_l, p.ldh_u_l * 2)
    if p.ldh_uln_u_l is not None:
        options["ldh_u_l"] = (p.ldh_uln_u_l / 2, p.ldh_uln_u_l, p.ldh_uln_u_l * 2)
    seen: tuple[set[str], set[str], set[str]] = (set(), set(), set())
    for combo in itertools.product(*(options[k] for k in unknown)):
        filled = {**known, **dict(zip(unknown, combo, strict=True))}
        for s, stage in zip(seen, _oracle_all(filled), strict=True):
            s.add(stage)
    r = staging_results([p])[0]
    for name, s in zip(("iss", "r_iss", "r2_iss"), seen, strict=True):
        assert set(r[name].possible) == s, (name, r[name].possible, s)
        assert (r[name].stage is not None) == (len(r[name].possible) == 1)


@settings(max_examples=150, deadline=None)
@given(patients(complete=True))
def test_complete_inputs_match_oracle(p: StagingValues) -> None:
    """With every input known, each system gives exactly the oracle's stage and R2-ISS score."""
    r = staging_results([p])[0]
    v = {k: getattr(p, k) for k in COMPLETIONS}
    assert (r["iss"].stage, r["r_iss"].stage, r["r2_iss"].stage) == _oracle_all(v)
    expected = oracle.r2_iss_score(
        p.b2m_mg_l,
        p.albumin_g_dl,
        p.ldh_u_l,
        p.ldh_uln_u_l,
        p.del17p,
        p.t4_14,
        p.gain1q,  # type: ignore[arg-type]
    )
    assert r["r2_iss"].score == float(expected)


ORDER = {"I": 1, "II": 2, "III": 3, "IV": 4}


@settings(max_examples=100, deadline=None)
@given(patients(), B2M, B2M)
def test_higher_b2m_never_lowers_iss(p: StagingValues, a: float, b: float) -> None:
    """A higher B2M never gives a lower ISS (nor a lower best/worst possible stage)."""
    lo, hi = sorted((a, b))
    r_lo, r_hi = staging_results([_with(p, b2m_mg_l=lo), _with(p, b2m_mg_l=hi)])
    for name in ("iss", "r_iss", "r2_iss"):
        assert min(ORDER[s] for s in r_lo[name].possible) <= min(ORDER[s] for s in r_hi[name].possible)
        assert max(ORDER[s] for s in r_lo[name].possible) <= max(ORDER[s] for s in r_hi[name].possible)


def _with(p: StagingValues, **changes: object) -> StagingValues:
    from dataclasses import replace

    return replace(p, **changes)  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(patients(), st.sampled_from(["del17p", "t4_14", "gain1q"]))
def test_added_adverse_factor_never_lowers_r2_iss(p: StagingValues, factor: str) -> None:
    """Turning an R2-ISS factor from absent to present never lowers the group or the score range."""
    without, with_ = staging_results([_with(p, **{factor: False}), _with(p, **{factor: True})])
    a, b = without["r2_iss"], with_["r2_iss"]
    assert min(ORDER[s] for s in a.possible) <= min(ORDER[s] for s in b.possible)
    assert max(ORDER[s] for s in a.possible) <= max(ORDER[s] for s in b.possible)
    assert a.score_range is not None and b.score_range is not None
    assert a.score_range[0] <= b.score_range[0] and a.score_range[1] <= b.score_range[1]


def _labels(df: pl.DataFrame) -> list[dict[str, object]]:
    return df.with_columns(pl.col(pl.Enum).cast(pl.String)).to_dicts()


@settings(max_examples=60, deadline=None)
@given(st.lists(patients(), min_size=1, max_size=40))
def test_batch_path_equals_single_patient_path(cohort: list[StagingValues]) -> None:
    """The batch path (exact columns) and the single-patient path (bounded layout) agree exactly."""
    batch = _labels(stage_frame(batch_frame(cohort)))
    single = [stage_patient(p) for p in cohort]
    assert single == staging_results(cohort)
    for row, res in zip(batch, single, strict=True):
        for name in ("iss", "r_iss", "r2_iss"):
            assert row[name] == res[name].stage
            assert row[f"{name}_possible"] == "|".join(res[name].possible)
        assert row["r2_iss_score"] == res["r2_iss"].score


def _censored(values: st.SearchStrategy[float]) -> st.SearchStrategy[Censored]:
    return st.builds(Censored, st.sampled_from(["<", "<=", ">", ">="]), values)


@st.composite
def any_patients(draw: st.DrawFn) -> StagingValues:
    """Exact, censored or unknown numeric inputs (censored on and around the cut-offs too), unknown FISH,
    every setting and FISH purification state."""

    def num(s: st.SearchStrategy[float]) -> object:
        return draw(st.one_of(st.none(), s, _censored(s)))

    return StagingValues(
        b2m_mg_l=num(B2M),  # type: ignore[arg-type]
        albumin_g_dl=num(ALBUMIN),  # type: ignore[arg-type]
        ldh_u_l=num(LDH),  # type: ignore[arg-type]
        ldh_uln_u_l=num(ULN),  # type: ignore[arg-type]
        **{c: draw(st.one_of(st.none(), st.booleans())) for c in FISH_COLUMNS},  # type: ignore[arg-type]
        setting=draw(st.sampled_from([None, "new_diagnosis", "relapse", "smm", "mgus"])),
        fish_cd138_purified=draw(st.one_of(st.none(), st.booleans())),
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(any_patients(), min_size=1, max_size=20))
def test_python_path_equals_frame_path(cohort: list[StagingValues]) -> None:
    """The Python evaluation gives exactly the one-row-frame results: stages, possible sets, scores,
    criteria, missing inputs, notes and outcomes."""
    for p, expected in zip(cohort, staging_results(cohort), strict=True):
        assert stage_patient(p) == expected, p


def test_python_path_equals_frame_path_for_every_unknown_subset() -> None:
    """Every subset of the eight inputs unknown, on patients around each cut-off: the two paths agree."""
    bases = [
        dict(
            b2m_mg_l=3.4,
            albumin_g_dl=3.5,
            ldh_u_l=250.0,
            ldh_uln_u_l=250.0,
            del17p=False,
            t4_14=False,
            t14_16=False,
            gain1q=False,
        ),
        dict(
            b2m_mg_l=5.5,
            albumin_g_dl=3.4,
            ldh_u_l=251.0,
            ldh_uln_u_l=250.0,
            del17p=True,
            t4_14=True,
            t14_16=True,
            gain1q=True,
        ),
        dict(
            b2m_mg_l=Censored("<", 3.5),
            albumin_g_dl=Censored(">=", 3.5),
            ldh_u_l=Censored(">", 250.0),
            ldh_uln_u_l=250.0,
            del17p=False,
            t4_14=True,
            t14_16=False,
            gain1q=True,
        ),
    ]
    names = list(COMPLETIONS)
    cohort = [
        StagingValues(**{k: (None if k in unknown else v) for k, v in base.items()})  # type: ignore[arg-type]
        for base in bases
        for r in range(len(names) + 1)
        for unknown in itertools.combinations(names, r)
    ]
    assert len(cohort) == 3 * 2 ** len(names)
    for p, expected in zip(cohort, staging_results(cohort), strict=True):
        assert stage_patient(p) == expected, p


@settings(max_examples=25, deadline=None)
@given(st.lists(patients(), min_size=1, max_size=30))
def test_duckdb_engine_equals_polars(cohort: list[StagingValues]) -> None:
    """The same rule expressions on DuckDB give the same stages as on Polars (engine neutrality)."""
    frame = batch_frame(cohort).with_row_index("row")
    expected = _labels(stage_frame(frame))
    rel = duckdb.from_arrow(frame.to_arrow())
    got = stage_frame(rel).order("row").pl().to_dicts()
    cols = ("iss", "r_iss", "r2_iss", "iss_possible", "r_iss_possible", "r2_iss_possible", "r2_iss_score")
    assert [{c: r[c] for c in cols} for r in got] == [{c: r[c] for c in cols} for r in expected]
