"""CKD-EPI 2021 creatinine over a whole table (the cohort report's eGFR) equals the per-patient equation.

Oracle: :func:`b2m.kidney.ckd_epi_2021_creatinine.estimate`, itself tested against Inker 2021 (NEJM, DOI
10.1056/NEJMoa2102953) in tests/test_kidney.py; this is an equivalence test of the two forms.
"""

from __future__ import annotations

import math

import narwhals as nw
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from b2m.errors import InputError
from b2m.kidney.ckd_epi_2021_creatinine import estimate, expression

creatinine = st.one_of(st.none(), st.sampled_from([0.0, -1.0, 0.7, 0.9, math.inf]), st.floats(0.05, 20.0))
age = st.one_of(st.none(), st.sampled_from([17.99, 18.0, 0.0]), st.floats(1.0, 110.0))
sex = st.one_of(st.none(), st.sampled_from(["female", "male", "other"]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(creatinine, age, sex), min_size=1, max_size=40))
def test_expression_equals_the_per_patient_equation(rows: list[tuple[float | None, float | None, str | None]]) -> None:
    df = pl.DataFrame(rows, schema={"scr": pl.Float64, "age": pl.Float64, "sex": pl.String}, orient="row")
    out = nw.from_native(df).select(expression(nw.col("scr"), nw.col("age"), nw.col("sex")).alias("e")).to_native()
    for (scr, years, s), got in zip(rows, out["e"].to_list(), strict=True):
        try:
            want = estimate(creatinine_mg_dl=scr, age_years=years, sex=s).value  # type: ignore[arg-type]
        except InputError:
            want = None
        if want is None:
            assert got is None
        else:
            assert got is not None and math.isclose(got, want, rel_tol=1e-12)
