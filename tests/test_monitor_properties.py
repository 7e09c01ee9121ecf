"""Invariants of the monitor over generated series (Hypothesis).

- A later assessment never changes an earlier category and never un-confirms one (issue #4: "adding a
  later confirming assessment never un-confirms").
- A series that only falls never yields PD (issue #4).
- The input order of the entries does not change the result (beyond the note that they were sorted).
- A missing result never makes the answer more favourable: with the urine result of a followed urine
  marker removed, the remaining possible categories include the complete-data category.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_monitor_response import case, run

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Serum M-protein in g/dL with one decimal (as labs report it); the baseline is measurable (≥ 1 g/dL).
tenths = st.integers(min_value=0, max_value=90).map(lambda n: n / 10)
baseline = st.integers(min_value=10, max_value=90).map(lambda n: n / 10)
kappas = st.integers(min_value=5, max_value=2000).map(float)


@st.composite
def serum_series(draw: st.DrawFn, min_size: int = 1, max_size: int = 7) -> list[float]:
    return [draw(baseline), *draw(st.lists(tenths, min_size=min_size, max_size=max_size))]


@st.composite
def falling(draw: st.DrawFn) -> tuple[list[float], list[float]]:
    """Non-increasing serum M-protein and non-increasing involved κ (λ fixed)."""
    s = sorted(draw(serum_series()), reverse=True)
    k = sorted(draw(st.lists(kappas, min_size=len(s), max_size=len(s))), reverse=True)
    return s, k


def _comparable(r: dict[str, Any]) -> dict[str, Any]:
    out = dict(r)
    out["notes"] = [n for n in r["notes"] if not n["code"].endswith(".unsorted")]
    return out


@SETTINGS
@given(serum_series(min_size=1, max_size=6), tenths)
def test_a_later_assessment_never_unconfirms(values: list[float], later: float) -> None:
    before = run(case(serum=values))["assessments"]
    after = run(case(serum=[*values, later]))["assessments"]
    assert len(after) == len(before) + 1
    for a, b in zip(before, after, strict=False):
        assert b["category"] == a["category"]
        assert b["possible"] == a["possible"]
        if a["confirmed"]:
            assert b["confirmed"]


@SETTINGS
@given(serum_series(min_size=1, max_size=6))
def test_repeating_the_last_value_confirms_it(values: list[float]) -> None:
    """The same result twice in a row is the same category twice: the later one is always confirmed
    (when evaluable)."""
    r = run(case(serum=[*values, values[-1]]))
    last_two = r["assessments"][-2:]
    if len(last_two) == 2 and last_two[0]["category"] == last_two[1]["category"] != "not_evaluable":
        assert last_two[1]["confirmed"]


@SETTINGS
@given(falling())
def test_a_series_that_only_falls_never_yields_pd(series: tuple[list[float], list[float]]) -> None:
    serum, kappa = series
    r = run(case(serum=serum, kappa=kappa, lam=[10.0] * len(kappa)))
    assert "PD" not in [a["category"] for a in r["assessments"]]
    assert r["progression"] == []
    assert not [a for a in r["alerts"] if a["code"] in ("confirmed_progression", "progression_awaiting_confirmation")]


@SETTINGS
@given(serum_series(min_size=2, max_size=6), st.randoms(use_true_random=False))
def test_input_order_does_not_matter(values: list[float], rnd: random.Random) -> None:
    doc = case(serum=values, kappa=[100.0 + 10 * i for i in range(len(values))], lam=[10.0] * len(values))
    shuffled = case(serum=values, kappa=[100.0 + 10 * i for i in range(len(values))], lam=[10.0] * len(values))
    for key in ("m_protein", "flc_kappa", "flc_lambda"):
        rnd.shuffle(shuffled["series"][key])
    assert _comparable(run(shuffled)) == _comparable(run(doc))


@SETTINGS
@given(serum_series(min_size=1, max_size=4), st.lists(st.integers(min_value=0, max_value=900), min_size=5, max_size=5))
def test_missing_urine_never_improves_the_answer(values: list[float], urine: list[int]) -> None:
    """Serum and urine (baseline 500 mg/24 h, measurable) are both followed. Dropping the urine result of the
    last assessment must leave its complete-data category among the possible ones."""
    urine_series: list[object | None] = [500, *urine[: len(values) - 1]]
    full = run(case(serum=values, urine=urine_series))["assessments"][-1]
    partial = run(case(serum=values, urine=[*urine_series[:-1], None]))["assessments"][-1]
    if full["category"] != "not_evaluable":
        assert full["category"] in partial["possible"]
    else:
        assert set(full["possible"]) <= set(partial["possible"])
