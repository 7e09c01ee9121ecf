r"""Kaplan–Meier curves, log-rank tests and Cox models by staging system, fitted by lifelines.

Davidson-Pilon C. lifelines: survival analysis in Python. JOSS 2019;4(40):1317,
DOI 10.21105/joss.01317. This module only chooses the patients, codes the covariates and collects
the numbers; every estimate is lifelines': ``KaplanMeierFitter`` (exponential Greenwood, "log-log", intervals),
``multivariate_logrank_test`` / ``pairwise_logrank_test``, and ``CoxPHFitter`` (Efron ties).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import combinations

import numpy as np
import polars as pl

from b2m.cohort.survival.common import (
    CONFIDENCE,
    MAX_CURVE_POINTS,
    STAGES,
    SYSTEM_LABELS,
    FloatArray,
    Interval,
    NotEstimable,
    outcome_rows,
    staged_rows,
    stages_present,
)


@dataclass(frozen=True)
class KMGroup:
    stage: str
    n: int
    events: int
    median: Interval  # nan = not reached
    landmarks: dict[float, Interval]  # survival probability at landmark times
    at_risk: dict[float, int]
    curve_time: FloatArray = field(repr=False)
    curve_survival: FloatArray = field(repr=False)
    curve_lower: FloatArray = field(repr=False)
    curve_upper: FloatArray = field(repr=False)


@dataclass(frozen=True)
class KMResult:
    system: str
    endpoint: str
    groups: tuple[KMGroup, ...]
    at_risk_times: tuple[float, ...]


@dataclass(frozen=True)
class LogRank:
    system: str
    endpoint: str
    groups: tuple[str, ...]
    chi2: float
    df: int
    p: float
    pairwise: tuple[tuple[str, str, float, float], ...]  # (stage a, stage b, chi2, p) unadjusted


@dataclass(frozen=True)
class CoxTerm:
    term: str
    label: str
    hr: float
    lower: float
    upper: float
    p: float


@dataclass(frozen=True)
class CoxModel:
    name: str
    label: str
    endpoint: str
    n: int
    events: int
    terms: tuple[CoxTerm, ...]
    concordance: float
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class CoxResults:
    endpoint: str
    models: tuple[CoxModel, ...]
    skipped: dict[str, str]  # model label -> why it was not fitted


def at_risk_grid(max_time: float) -> tuple[float, ...]:
    """At-risk times: every 12 months (6 if follow-up is under 3 years), from 0 to the last time."""
    if not math.isfinite(max_time) or max_time <= 0:
        return (0.0,)
    step = 12.0 if max_time >= 36 else 6.0
    return tuple(float(x) for x in np.arange(0.0, max_time + 1e-9, step))


def _curve(
    t: FloatArray, s: FloatArray, ci: FloatArray, max_points: int
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """The curve as reported: every step, or the value at each of ``max_points`` evenly spaced times."""
    if t.shape[0] > max_points:
        grid = np.linspace(0.0, float(t[-1]), max_points)
        pos = np.searchsorted(t, grid, side="right") - 1
        return grid, s[pos], ci[pos, 0], ci[pos, 1]
    return t, s, ci[:, 0], ci[:, 1]


def _at(t: FloatArray, y: FloatArray, x: float) -> float:
    pos = int(np.searchsorted(t, x, side="right")) - 1
    return float(y[pos]) if pos >= 0 else 1.0


def kaplan_meier(
    table: pl.DataFrame,
    system: str,
    endpoint: str = "os",
    *,
    landmarks: Sequence[float] = (24.0, 60.0),
    max_curve_points: int = MAX_CURVE_POINTS,
) -> KMResult:
    """Kaplan–Meier per stage of ``system`` (lifelines ``KaplanMeierFitter``), staged patients only."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    rows = outcome_rows(staged_rows(table, [system]), endpoint)
    grid = at_risk_grid(float(rows.select(pl.col("_time").max()).item() or 0.0)) if rows.height else (0.0,)
    groups = []
    for stage in STAGES[system]:
        g = rows.filter(pl.col(system).cast(pl.String) == stage)
        if g.height == 0:
            continue
        time = g["_time"].to_numpy()
        event = g["_event"].to_numpy()
        kmf = KaplanMeierFitter(alpha=1 - CONFIDENCE).fit(time, event, label=stage)
        med_ci = median_survival_times(kmf.confidence_interval_)
        median = Interval(float(kmf.median_survival_time_), float(med_ci.iloc[0, 0]), float(med_ci.iloc[0, 1]))
        full_t = kmf.survival_function_.index.to_numpy(dtype=np.float64)
        full_s = kmf.survival_function_.to_numpy(dtype=np.float64)[:, 0]
        ci = kmf.confidence_interval_survival_function_.to_numpy(dtype=np.float64)
        marks = {
            float(x): Interval(_at(full_t, full_s, x), _at(full_t, ci[:, 0], x), _at(full_t, ci[:, 1], x))
            for x in landmarks
            if x <= full_t[-1]
        }
        at_risk = {x: int((time >= x).sum()) for x in grid}
        ct, cs, cl, cu = _curve(full_t, full_s, ci, max_curve_points)
        groups.append(KMGroup(stage, g.height, int(event.sum()), median, marks, at_risk, ct, cs, cl, cu))
    return KMResult(system, endpoint, tuple(groups), grid)


def logrank(table: pl.DataFrame, system: str, endpoint: str = "os") -> LogRank:
    """Log-rank test across the stages of ``system`` (lifelines), and every pair (unadjusted p)."""
    from lifelines.statistics import multivariate_logrank_test, pairwise_logrank_test

    rows = outcome_rows(staged_rows(table, [system]), endpoint)
    groups = rows[system].cast(pl.String).to_numpy()
    present = stages_present(rows, system)
    if len(present) < 2:
        raise NotEstimable(f"{SYSTEM_LABELS[system]}: fewer than two stages have patients")
    t, e = rows["_time"].to_numpy(), rows["_event"].to_numpy()
    overall = multivariate_logrank_test(t, groups, e)
    pairs = pairwise_logrank_test(t, groups, e).summary
    pairwise = []
    for a, b in combinations(present, 2):
        key = (a, b) if (a, b) in pairs.index else (b, a)
        pairwise.append((a, b, float(pairs.loc[key, "test_statistic"]), float(pairs.loc[key, "p"])))
    return LogRank(
        system,
        endpoint,
        present,
        float(overall.test_statistic),
        int(overall.degrees_of_freedom),
        float(overall.p_value),
        tuple(pairwise),
    )


AGE_PER_YEARS = 10.0  # age enters Cox models per 10 years
EGFR_PER = 10.0  # eGFR enters per 10 mL/min/1.73 m²
_COX_ERRORS = ("ConvergenceError", "LinAlgError")


def _fit_cox(frame: pl.DataFrame, labels: Mapping[str, str], name: str, label: str, endpoint: str) -> CoxModel:
    from lifelines import CoxPHFitter

    if frame.height < 2 or int(frame["_event"].sum()) == 0:
        raise NotEstimable(f"no events among {frame.height} patients")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cph = CoxPHFitter(alpha=1 - CONFIDENCE).fit(frame.to_pandas(), duration_col="_time", event_col="_event")
    s = cph.summary
    level = f"{CONFIDENCE:.0%}"
    terms = tuple(
        CoxTerm(
            str(term),
            labels[str(term)],
            float(s.loc[term, "exp(coef)"]),
            float(s.loc[term, f"exp(coef) lower {level}"]),
            float(s.loc[term, f"exp(coef) upper {level}"]),
            float(s.loc[term, "p"]),
        )
        for term in s.index
    )
    notes = tuple(dict.fromkeys(" ".join(str(w.message).split()) for w in caught))
    n_events = int(frame["_event"].sum())
    return CoxModel(name, label, endpoint, frame.height, n_events, terms, float(cph.concordance_index_), notes)


def _add_age(cols: list[pl.Expr], names: dict[str, str]) -> None:
    """Age as a covariate, per :data:`AGE_PER_YEARS` years."""
    cols.append((pl.col("age").cast(pl.Float64) / AGE_PER_YEARS).alias("age_per_10y"))
    names["age_per_10y"] = f"age, per {AGE_PER_YEARS:g} years"


def _b2m_design(rows: pl.DataFrame, covariates: Sequence[str]) -> tuple[pl.DataFrame, dict[str, str]]:
    cols = [pl.col("b2m_mg_l").cast(pl.Float64).log(2).alias("log2_b2m")]
    names = {"log2_b2m": "B2M, per doubling"}
    if "age" in covariates:
        _add_age(cols, names)
    if "egfr" in covariates:
        cols.append((pl.col("_egfr") / EGFR_PER).alias("egfr_per_10"))
        names["egfr_per_10"] = f"eGFR, per {EGFR_PER:g} mL/min/1.73 m²"
    exact = rows.filter(pl.col("b2m_mg_l").cast(pl.Float64) > 0)
    return exact.select(*cols, "_time", "_event").drop_nulls(), names


def _stage_design(rows: pl.DataFrame, system: str, adjust: bool) -> tuple[pl.DataFrame, dict[str, str]]:
    sub = rows.filter(pl.col(system).is_not_null())
    stages = stages_present(sub, system)
    if len(stages) < 2:
        raise NotEstimable(f"fewer than two {SYSTEM_LABELS[system]} stages have patients")
    ref = stages[0]
    cols = [(pl.col(system).cast(pl.String) == s).cast(pl.Int8).alias(f"{system}_{s}") for s in stages[1:]]
    names = {f"{system}_{s}": f"{SYSTEM_LABELS[system]} {s} vs {ref}" for s in stages[1:]}
    if adjust:
        _add_age(cols, names)
    return sub.select(*cols, "_time", "_event").drop_nulls(), names


def cox_models(table: pl.DataFrame, endpoint: str = "os", *, egfr: pl.Series | None = None) -> CoxResults:
    r"""Cox proportional-hazards models, fitted by lifelines ``CoxPHFitter`` (Efron ties).

    .. math::

        h(t \mid x) = h_0(t) \exp(\beta^\top x)

    - ``b2m``: :math:`x = \log_2` B2M (mg/L), so :math:`e^\beta` is the hazard ratio per doubling;
      ``b2m_age`` adds age (per 10 years); ``b2m_age_egfr`` adds CKD-EPI 2021 eGFR (per 10 mL/min/1.73 m²),
      showing how much of B2M's prognostic weight is kidney function;
    - ``<system>``: stage indicators (the best stage present is the reference); ``<system>_age`` adds age.

    A censored B2M (``"<0.5"``) has no exact value and is left out of the B2M models. ``egfr`` is
    aligned with ``table``'s rows. A model that cannot be fitted is listed in ``skipped`` with why.
    """
    rows = table.with_columns(egfr.alias("_egfr")) if egfr is not None else table
    rows = outcome_rows(rows, endpoint)
    has_age = "age" in rows.columns and rows["age"].is_not_null().any()
    has_egfr = "_egfr" in rows.columns and rows["_egfr"].is_not_null().any()
    specs: list[tuple[str, str, Callable[[], tuple[pl.DataFrame, dict[str, str]]]]] = [
        ("b2m", "B2M per doubling", partial(_b2m_design, rows, ()))
    ]
    if has_age:
        specs.append(("b2m_age", "B2M per doubling, adjusted for age", partial(_b2m_design, rows, ("age",))))
    if has_age and has_egfr:
        specs.append(
            (
                "b2m_age_egfr",
                "B2M per doubling, adjusted for age and eGFR",
                partial(_b2m_design, rows, ("age", "egfr")),
            )
        )
    for system in STAGES:
        label = SYSTEM_LABELS[system]
        specs.append((system, label, partial(_stage_design, rows, system, adjust=False)))
        if has_age:
            specs.append(
                (f"{system}_age", f"{label}, adjusted for age", partial(_stage_design, rows, system, adjust=True))
            )
    models: list[CoxModel] = []
    skipped: dict[str, str] = {}
    for name, label, build in specs:
        try:
            frame, names = build()
            models.append(_fit_cox(frame, names, name, label, endpoint))
        except NotEstimable as e:
            skipped[label] = str(e)
        except Exception as e:  # lifelines' ConvergenceError, numpy's LinAlgError
            if type(e).__name__ not in _COX_ERRORS:
                raise
            skipped[label] = " ".join(str(e).split())[:200] or type(e).__name__
    return CoxResults(endpoint, tuple(models), skipped)
