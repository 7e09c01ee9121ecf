r"""Survival analytics by staging system: Kaplan–Meier, log-rank, Cox, Harrell's and Uno's C.

Kaplan–Meier curves, log-rank tests and Cox models are fitted by **lifelines** (Davidson-Pilon C.
lifelines: survival analysis in Python. JOSS 2019;4(40):1317, DOI 10.21105/joss.01317); this module
only chooses the patients, codes the covariates and collects the numbers.

The concordance of a *stage* (an ordinal code with a handful of levels) is computed by
:func:`stage_concordance`, which counts comparable pairs per (time, stage) cell in
:math:`O(n \log n + U K)` for :math:`U` distinct times and :math:`K` stages:

.. math::

    C = \frac{\sum_{i:\,\delta_i = 1} w_i \sum_{j \in R_i}
              \left(\mathbf 1[s_j < s_i] + \tfrac12 \mathbf 1[s_j = s_i]\right)}
             {\sum_{i:\,\delta_i = 1} w_i\, |R_i|},
    \qquad R_i = \{j : T_j > T_i\} \cup \{j : T_j = T_i,\ \delta_j = 0\}

with :math:`s` the stage (higher = worse), :math:`w_i = 1` for Harrell's C (Harrell 1996, DOI
10.1002/(SICI)1097-0258(19960229)15:4<361::AID-SIM168>3.0.CO;2-4) and
:math:`w_i = \hat G(T_i)^{-2}\,\mathbf 1[T_i < \tau]` for Uno's C (Uno 2011, DOI 10.1002/sim.4154),
:math:`\hat G` the Kaplan–Meier estimate of the censoring distribution with events leaving the risk
set before censorings at the same time. The pair definition, tie rules and :math:`\hat G` are exactly
those of lifelines' ``concordance_index`` and scikit-survival's ``concordance_index_censored`` /
``concordance_index_ipcw``, and the tests check equality with both. Neither library could be called
instead: scikit-survival's implementations are :math:`O(n^2)` (no answer in 120 s at 1M patients),
lifelines' is :math:`O(n \log n)` but has no IPCW weights and would re-sort for every one of the
bootstrap replicates, which here are frequency weights on one shared sort.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import combinations
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from b2m.cohort.suppression import Shown, is_hidden, suppress, suppress_differences, suppress_group, suppress_tree
from b2m.rules.staging import SYSTEMS

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

SYSTEM_LABELS: dict[str, str] = {"iss": "ISS", "r_iss": "R-ISS", "r2_iss": "R2-ISS"}
STAGES: dict[str, tuple[str, ...]] = {name: s.stages for name, s in SYSTEMS.items()}
ENDPOINTS: dict[str, str] = {"os": "overall survival", "efs": "event-free survival"}
DEFAULT_BOOTSTRAP = 500
DEFAULT_SEED = 20240601
CONFIDENCE = 0.95
MAX_CURVE_POINTS = 2000  # KM curves with more distinct times are reported on an even grid of this size

# progress(description, completed, total); total 0 = indeterminate. The text before the first ":" names
# the bar ("analysis", "bootstrap"), the rest says what is running now.
ProgressHook = Callable[[str, int, int], None]


class NotEstimable(ValueError):
    """A statistic that the data cannot give (no comparable pairs, a single stage, no events)."""


# --------------------------------------------------------------------------- concordance kernel


@dataclass(frozen=True)
class SortedOutcomes:
    """Times and events sorted once, shared by every system and every bootstrap replicate."""

    order: IntArray  # indices into the caller's rows, by increasing time
    time_index: IntArray  # for each sorted row, the index of its distinct time (0..U-1)
    times: FloatArray  # the U distinct times, increasing
    event: BoolArray  # sorted

    @classmethod
    def from_arrays(cls, time: npt.ArrayLike, event: npt.ArrayLike) -> SortedOutcomes:
        t = np.asarray(time, dtype=np.float64)
        e = np.asarray(event).astype(bool)
        if t.shape != e.shape or t.ndim != 1:
            raise ValueError("time and event must be 1-D arrays of the same length")
        if not np.isfinite(t).all():
            raise ValueError("times must be finite")
        order = np.argsort(t, kind="stable").astype(np.int64)
        ts = t[order]
        times, time_index = np.unique(ts, return_inverse=True)
        return cls(order, time_index.astype(np.int64), times, e[order])

    @property
    def n(self) -> int:
        return int(self.order.shape[0])


def censoring_survival(s: SortedOutcomes, f: FloatArray) -> FloatArray:
    """Kaplan–Meier of the censoring distribution at each distinct time (events leave first)."""
    u = s.times.shape[0]
    total = np.bincount(s.time_index, weights=f, minlength=u)
    died = np.bincount(s.time_index, weights=f * s.event, minlength=u)
    censored = total - died
    at_risk = np.cumsum(total[::-1])[::-1] - died
    ratio = np.divide(censored, at_risk, out=np.zeros(u), where=at_risk > 0)
    return np.asarray(np.cumprod(1.0 - ratio), dtype=np.float64)


@dataclass(frozen=True)
class ConcordanceCounts:
    numerator: float
    denominator: float

    @property
    def c(self) -> float:
        return self.numerator / self.denominator if self.denominator > 0 else math.nan


def stage_concordance(
    s: SortedOutcomes,
    stage_code: npt.ArrayLike,
    n_stages: int,
    *,
    kind: Literal["harrell", "uno"] = "harrell",
    tau: float | None = None,
    frequency: FloatArray | None = None,
    censoring: FloatArray | None = None,
) -> ConcordanceCounts:
    """Weighted pair counts of the module equation for one stage code (0 = best .. n_stages-1).

    ``stage_code`` is in the caller's row order; ``frequency`` (sorted order) are bootstrap
    frequency weights (default 1). ``tau`` (Uno only) restricts the earlier time of a pair to < tau.
    ``censoring`` is :func:`censoring_survival` for the same frequencies (computed if not given).
    Raises :class:`NotEstimable` when an event before ``tau`` has an estimated censoring survival 0.
    """
    codes = np.asarray(stage_code, dtype=np.int64)[s.order]
    f = np.ones(s.n) if frequency is None else frequency
    u, k = s.times.shape[0], n_stages
    key = s.time_index * k + codes
    n_all = np.bincount(key, weights=f, minlength=u * k).reshape(u, k)
    n_died = np.bincount(key, weights=f * s.event, minlength=u * k).reshape(u, k)
    later = np.cumsum(n_all[::-1], axis=0)[::-1] - n_all  # T_j > T_u, per stage
    partners = later + (n_all - n_died)  # ... plus censored at T_u
    below = np.cumsum(partners, axis=1) - partners  # stages better (lower) than each column
    per_time_num = (n_died * (below + 0.5 * partners)).sum(axis=1)
    per_time_den = n_died.sum(axis=1) * partners.sum(axis=1)
    if kind == "uno":
        g = censoring_survival(s, f) if censoring is None else censoring
        keep = s.times < tau if tau is not None else np.ones(u, dtype=bool)
        relevant = keep & (n_died.sum(axis=1) > 0)
        if (g[relevant] <= 0).any():
            raise NotEstimable("the censoring survival estimate is 0 at an event time; choose a smaller tau")
        w = np.zeros(u)
        w[relevant] = 1.0 / np.square(g[relevant])
        per_time_num, per_time_den = per_time_num * w, per_time_den * w
    return ConcordanceCounts(float(per_time_num.sum()), float(per_time_den.sum()))


# --------------------------------------------------------------------------- result types


@dataclass(frozen=True)
class Interval:
    estimate: float
    lower: float
    upper: float

    def to_dict(self) -> dict[str, float | None]:
        return {"estimate": _num(self.estimate), "lower": _num(self.lower), "upper": _num(self.upper)}


@dataclass(frozen=True)
class StageAccounting:
    """How many patients a system could stage, and the possible-stage ranges of the rest."""

    system: str
    n_patients: int
    n_staged: int
    by_stage: dict[str, int]
    unstaged_by_possible: dict[str, int]  # "I|II" -> count ("" = no input at all)

    def to_dict(self, min_cell_count: int | None = None) -> dict[str, Any]:
        """JSON-ready counts, with small-count suppression (:func:`suppress_tree`) when ``min_cell_count``.

        The counts nest: patients = staged + not staged, staged = the sum over stages, not staged =
        the sum over possible-stage ranges; all three groups are suppressed together, so a count
        hidden in one cannot be worked out through another. The number of patients is published
        elsewhere in the report, so it is never hidden as a complement.
        """
        patients, staged, unstaged = ("n", "patients"), ("n", "staged"), ("n", "unstaged")
        stage_keys = [("by_stage", k) for k in self.by_stage]
        range_keys = [("unstaged_by_possible", k) for k in self.unstaged_by_possible]
        counts = {
            patients: self.n_patients,
            staged: self.n_staged,
            unstaged: self.n_patients - self.n_staged,
            **{k: self.by_stage[k[1]] for k in stage_keys},
            **{k: self.unstaged_by_possible[k[1]] for k in range_keys},
        }
        sums = {patients: [staged, unstaged], staged: stage_keys}
        if range_keys:
            sums[unstaged] = range_keys
        shown = suppress_tree(counts, sums, min_cell_count, fixed=[patients])
        return {
            "system": self.system,
            "label": SYSTEM_LABELS[self.system],
            "n_patients": shown[patients],
            "n_staged": shown[staged],
            "n_unstaged": shown[unstaged],
            "by_stage": {k[1]: shown[k] for k in stage_keys},
            "unstaged_by_possible": {k[1]: shown[k] for k in range_keys},
        }


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
class ConcordanceRow:
    system: str
    harrell: Interval
    uno: Interval | None  # None when not estimable (see ConcordanceComparison.notes)


@dataclass(frozen=True)
class ConcordanceComparison:
    """Harrell's and Uno's C for several systems on the *same* patients (staged by every one)."""

    endpoint: str
    systems: tuple[str, ...]
    n: int
    events: int
    rows: tuple[ConcordanceRow, ...]
    differences: tuple[tuple[str, str, str, Interval], ...]  # (kind, a, b, C of b minus C of a)
    tau: float | None
    bootstrap: int
    seed: int
    failed_replicates: int
    notes: tuple[str, ...] = ()


# --------------------------------------------------------------------------- helpers


def _num(x: float | None) -> float | None:
    """JSON-safe float: NaN and infinities become null."""
    if x is None or not math.isfinite(x):
        return None
    return float(x)


def endpoint_columns(endpoint: str) -> tuple[str, str]:
    return f"{endpoint}_months", f"{endpoint}_event"


def has_endpoint(table: pl.DataFrame, endpoint: str) -> bool:
    t, e = endpoint_columns(endpoint)
    return t in table.columns and e in table.columns and table.select(pl.col(t).is_not_null().any()).item()


def outcome_rows(table: pl.DataFrame, endpoint: str) -> pl.DataFrame:
    """Rows with a usable time (finite, >= 0) and a known event flag, as ``_time`` (float) / ``_event`` (bool)."""
    t, e = endpoint_columns(endpoint)
    out = table.with_columns(
        pl.col(t).cast(pl.Float64).alias("_time"),
        pl.col(e).cast(pl.Int8).cast(pl.Boolean).alias("_event"),
    )
    usable = pl.col("_time").is_not_null() & pl.col("_time").is_finite() & (pl.col("_time") >= 0)
    return out.filter(usable & pl.col("_event").is_not_null())


def staged_rows(table: pl.DataFrame, systems: Iterable[str]) -> pl.DataFrame:
    """Patients staged (exactly one stage) by every system in ``systems``."""
    cond = pl.lit(value=True)
    for s in systems:
        cond = cond & pl.col(s).is_not_null()
    return table.filter(cond)


def stage_codes(table: pl.DataFrame, system: str) -> IntArray:
    stages = STAGES[system]
    col = table[system].cast(pl.String)
    return np.asarray(col.replace_strict(list(stages), list(range(len(stages))), return_dtype=pl.Int64).to_numpy())


def at_risk_grid(max_time: float) -> tuple[float, ...]:
    """At-risk times: every 12 months (6 if follow-up is under 3 years), from 0 to the last time."""
    if not math.isfinite(max_time) or max_time <= 0:
        return (0.0,)
    step = 12.0 if max_time >= 36 else 6.0
    return tuple(float(x) for x in np.arange(0.0, max_time + 1e-9, step))


# --------------------------------------------------------------------------- accounting


def staging_accounting(table: pl.DataFrame) -> tuple[StageAccounting, ...]:
    out = []
    for system, stages in STAGES.items():
        col = table[system].cast(pl.String)
        possible = table[f"{system}_possible"].cast(pl.String).fill_null("")
        by_stage = {s: int((col == s).sum()) for s in stages}
        unstaged = possible.filter(col.is_null()).value_counts(sort=True)
        ranges = {str(r[0]): int(r[1]) for r in unstaged.iter_rows()}
        out.append(StageAccounting(system, table.height, int(col.is_not_null().sum()), by_stage, ranges))
    return tuple(out)


# --------------------------------------------------------------------------- Kaplan–Meier


def _curve(kmf: Any, max_points: int) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    sf = kmf.survival_function_
    ci = kmf.confidence_interval_survival_function_
    t = sf.index.to_numpy(dtype=np.float64)
    if t.shape[0] > max_points:
        grid = np.linspace(0.0, float(t[-1]), max_points)
        pos = np.searchsorted(t, grid, side="right") - 1
        return (
            grid,
            sf.to_numpy(dtype=np.float64)[pos, 0],
            ci.to_numpy(dtype=np.float64)[pos, 0],
            ci.to_numpy(dtype=np.float64)[pos, 1],
        )
    return (
        t,
        sf.to_numpy(dtype=np.float64)[:, 0],
        ci.to_numpy(dtype=np.float64)[:, 0],
        ci.to_numpy(dtype=np.float64)[:, 1],
    )


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
        ct, cs, cl, cu = _curve(kmf, max_curve_points)
        groups.append(KMGroup(stage, g.height, int(event.sum()), median, marks, at_risk, ct, cs, cl, cu))
    return KMResult(system, endpoint, tuple(groups), grid)


# --------------------------------------------------------------------------- log-rank


def logrank(table: pl.DataFrame, system: str, endpoint: str = "os") -> LogRank:
    """Log-rank test across the stages of ``system`` (lifelines), and every pair (unadjusted p)."""
    from lifelines.statistics import multivariate_logrank_test, pairwise_logrank_test

    rows = outcome_rows(staged_rows(table, [system]), endpoint)
    groups = rows[system].cast(pl.String).to_numpy()
    present = tuple(s for s in STAGES[system] if (groups == s).any())
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


# --------------------------------------------------------------------------- Cox

AGE_PER_YEARS = 10.0  # age enters Cox models per 10 years
EGFR_PER = 10.0  # eGFR enters per 10 mL/min/1.73 m²
_COX_ERRORS = ("ConvergenceError", "LinAlgError")


@dataclass(frozen=True)
class CoxResults:
    endpoint: str
    models: tuple[CoxModel, ...]
    skipped: dict[str, str]  # model label -> why it was not fitted


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


def _b2m_design(rows: pl.DataFrame, covariates: Sequence[str]) -> tuple[pl.DataFrame, dict[str, str]]:
    cols = [pl.col("b2m_mg_l").cast(pl.Float64).log(2).alias("log2_b2m")]
    names = {"log2_b2m": "B2M, per doubling"}
    if "age" in covariates:
        cols.append((pl.col("age").cast(pl.Float64) / AGE_PER_YEARS).alias("age_per_10y"))
        names["age_per_10y"] = f"age, per {AGE_PER_YEARS:g} years"
    if "egfr" in covariates:
        cols.append((pl.col("_egfr") / EGFR_PER).alias("egfr_per_10"))
        names["egfr_per_10"] = f"eGFR, per {EGFR_PER:g} mL/min/1.73 m²"
    exact = rows.filter(pl.col("b2m_mg_l").cast(pl.Float64) > 0)
    return exact.select(*cols, "_time", "_event").drop_nulls(), names


def _stage_design(rows: pl.DataFrame, system: str, adjust: bool) -> tuple[pl.DataFrame, dict[str, str]]:
    sub = rows.filter(pl.col(system).is_not_null())
    stages = [s for s in STAGES[system] if (sub[system].cast(pl.String) == s).any()]
    if len(stages) < 2:
        raise NotEstimable(f"fewer than two {SYSTEM_LABELS[system]} stages have patients")
    ref = stages[0]
    cols = [(pl.col(system).cast(pl.String) == s).cast(pl.Int8).alias(f"{system}_{s}") for s in stages[1:]]
    names = {f"{system}_{s}": f"{SYSTEM_LABELS[system]} {s} vs {ref}" for s in stages[1:]}
    if adjust:
        cols.append((pl.col("age").cast(pl.Float64) / AGE_PER_YEARS).alias("age_per_10y"))
        names["age_per_10y"] = f"age, per {AGE_PER_YEARS:g} years"
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


# --------------------------------------------------------------------------- concordance comparison


def _percentile_interval(estimate: float, replicates: FloatArray) -> Interval:
    ok = replicates[np.isfinite(replicates)]
    if ok.size == 0:
        return Interval(estimate, math.nan, math.nan)
    alpha = (1 - CONFIDENCE) / 2
    lo, hi = np.quantile(ok, [alpha, 1 - alpha])
    return Interval(estimate, float(lo), float(hi))


def _c_pair(
    s: SortedOutcomes,
    codes: IntArray,
    k: int,
    tau: float | None,
    freq: FloatArray | None,
    g: FloatArray | None,
) -> tuple[float, float]:
    harrell = stage_concordance(s, codes, k, frequency=freq).c
    if g is None:
        return harrell, math.nan
    try:
        uno = stage_concordance(s, codes, k, kind="uno", tau=tau, frequency=freq, censoring=g).c
    except NotEstimable:
        uno = math.nan
    return harrell, uno


def compare_concordance(
    table: pl.DataFrame,
    systems: Sequence[str] = tuple(STAGES),
    endpoint: str = "os",
    *,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    seed: int = DEFAULT_SEED,
    tau: float | None = None,
    progress: ProgressHook | None = None,
) -> ConcordanceComparison:
    """Harrell's and Uno's C of each system on the patients staged by *all* of ``systems``.

    Percentile bootstrap intervals (``bootstrap`` replicates, ``numpy.random.default_rng(seed)``):
    every replicate resamples patients with replacement once and scores every system on that same
    resample, so the intervals of the differences between systems are paired.
    """
    rows = outcome_rows(staged_rows(table, systems), endpoint)
    if rows.height < 2 or not rows["_event"].any():
        raise NotEstimable(
            f"{rows.height} patients staged by all of {', '.join(SYSTEM_LABELS[x] for x in systems)} "
            f"with {int(rows['_event'].sum()) if rows.height else 0} events: no comparable pairs"
        )
    so = SortedOutcomes.from_arrays(rows["_time"].to_numpy(), rows["_event"].to_numpy())
    codes = {x: stage_codes(rows, x) for x in systems}
    sizes = {x: len(STAGES[x]) for x in systems}
    notes: list[str] = []
    ones = np.ones(so.n)
    g0: FloatArray | None = censoring_survival(so, ones)
    point = {x: _c_pair(so, codes[x], sizes[x], tau, None, g0) for x in systems}
    if all(math.isnan(point[x][1]) for x in systems):
        notes.append("Uno's C not estimable: the censoring survival estimate reaches 0 before tau")
    if all(math.isnan(point[x][0]) for x in systems):
        raise NotEstimable("no comparable pairs (every earlier time is censored)")

    reps = np.full((bootstrap, len(systems), 2), np.nan)
    rng = np.random.default_rng(seed)
    for b in range(bootstrap):
        freq = np.bincount(rng.integers(0, so.n, so.n), minlength=so.n).astype(np.float64)[so.order]
        g = censoring_survival(so, freq)
        for j, x in enumerate(systems):
            reps[b, j] = _c_pair(so, codes[x], sizes[x], tau, freq, g)
        if progress is not None:
            progress(f"bootstrap: C-index of {' vs '.join(SYSTEM_LABELS[x] for x in systems)}", b + 1, bootstrap)
    failed = int(np.isnan(reps[:, :, 0]).any(axis=1).sum())
    if failed:
        notes.append(f"{failed} of {bootstrap} bootstrap replicates had no comparable pairs and were left out")

    out_rows = []
    for j, x in enumerate(systems):
        h, u = point[x]
        out_rows.append(
            ConcordanceRow(
                x,
                _percentile_interval(h, reps[:, j, 0]),
                None if math.isnan(u) else _percentile_interval(u, reps[:, j, 1]),
            )
        )
    diffs = []
    for (ia, a), (ib, b_) in combinations(enumerate(systems), 2):
        for kind, col in (("harrell", 0), ("uno", 1)):
            est = point[b_][col] - point[a][col]
            if math.isnan(est):
                continue
            diffs.append((kind, a, b_, _percentile_interval(est, reps[:, ib, col] - reps[:, ia, col])))
    return ConcordanceComparison(
        endpoint,
        tuple(systems),
        rows.height,
        int(rows["_event"].sum()),
        tuple(out_rows),
        tuple(diffs),
        tau,
        bootstrap,
        seed,
        failed,
        tuple(notes),
    )


# --------------------------------------------------------------------------- whole analysis


@dataclass(frozen=True)
class CohortAnalysis:
    """Every survival number of the cohort report (see :func:`analyse`)."""

    n_patients: int
    endpoints: tuple[str, ...]
    accounting: tuple[StageAccounting, ...]
    km: tuple[KMResult, ...]
    logrank: tuple[LogRank, ...]
    cox: tuple[CoxResults, ...]
    concordance: tuple[ConcordanceComparison, ...]
    skipped: dict[str, str]  # "<analysis>:<endpoint>:<systems>" -> why it was not done

    def to_dict(self, min_cell_count: int | None = None) -> dict[str, Any]:
        """JSON-ready numbers; counts below ``min_cell_count`` become ``"<N"`` (see :func:`suppress`), and
        counts that would give one away through a published total ``">=N"`` (see :func:`suppress_tree`)."""
        return analysis_to_dict(self, min_cell_count)


def analyse(
    table: pl.DataFrame,
    *,
    egfr: pl.Series | None = None,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    seed: int = DEFAULT_SEED,
    progress: ProgressHook | None = None,
) -> CohortAnalysis:
    """KM, log-rank, Cox and C-index comparisons for each endpoint (OS, and EFS when present)."""
    endpoints = tuple(e for e in ENDPOINTS if has_endpoint(table, e))
    km: list[KMResult] = []
    lr: list[LogRank] = []
    cox: list[CoxResults] = []
    cc: list[ConcordanceComparison] = []
    skipped: dict[str, str] = {}
    systems = tuple(STAGES)
    sets = [systems, *combinations(systems, 2)]
    steps = len(endpoints) * (2 * len(systems) + 1 + len(sets))
    done = 0

    def starting(what: str, endpoint: str) -> None:
        """Announce the step now running (the bar shows how many are done)."""
        if progress is not None:
            progress(f"analysis: {what}, {ENDPOINTS[endpoint]}", done, steps)

    def finished() -> None:
        nonlocal done
        done += 1

    for endpoint in endpoints:
        for system in systems:
            starting(f"Kaplan–Meier by {SYSTEM_LABELS[system]}", endpoint)
            km.append(kaplan_meier(table, system, endpoint))
            finished()
            starting(f"log-rank by {SYSTEM_LABELS[system]}", endpoint)
            try:
                lr.append(logrank(table, system, endpoint))
            except NotEstimable as e:
                skipped[f"logrank:{endpoint}:{system}"] = str(e)
            finished()
        starting("Cox models", endpoint)
        cox.append(cox_models(table, endpoint, egfr=egfr))
        finished()
        for subset in sets:
            starting(f"C-index, {' vs '.join(SYSTEM_LABELS[x] for x in subset)}", endpoint)
            try:
                cc.append(
                    compare_concordance(table, subset, endpoint, bootstrap=bootstrap, seed=seed, progress=progress)
                )
            except NotEstimable as e:
                skipped[f"concordance:{endpoint}:{'+'.join(subset)}"] = str(e)
            finished()
    if progress is not None:
        progress("analysis: done", done, steps)
    return CohortAnalysis(
        table.height, endpoints, staging_accounting(table), tuple(km), tuple(lr), tuple(cox), tuple(cc), skipped
    )


def analysis_to_dict(a: CohortAnalysis, min_cell_count: int | None = None) -> dict[str, Any]:
    """:meth:`CohortAnalysis.to_dict`.

    Counts that add up are suppressed as groups (:func:`suppress_group`, :func:`suppress_tree`), and
    a count that is published in two places is shown the same way in both: when every patient staged
    by a system has an outcome, its Kaplan–Meier group sizes are its stage counts and its Cox and
    C-index patient numbers its number staged, so they are shown exactly as the staging accounting
    shows them (otherwise a count hidden there could be read here).
    """
    n = min_cell_count if min_cell_count is not None and min_cell_count > 1 else None
    accounting = {x.system: (x, x.to_dict(n)) for x in a.accounting}

    def sup(x: int) -> int | str:
        return suppress(x, n)

    def patients(count: int, systems: Iterable[str]) -> Shown:
        """A number of patients: when it is the number staged by one of ``systems`` (else by any system:
        the same number published twice must read the same), as the accounting shows it."""
        for system in [*systems, *accounting]:
            if system in accounting and accounting[system][0].n_staged == count:
                shown: Shown = accounting[system][1]["n_staged"]
                return shown
        return sup(count)

    def km_groups(k: KMResult) -> list[dict[str, Any]]:
        # The group sizes add up to the patients staged by the system (with an outcome), the events
        # to theirs: both totals are published (Cox models), so each set is suppressed as a group.
        sizes, _ = suppress_group({g.stage: g.n for g in k.groups}, n)
        if k.system in accounting:
            acc, shown = accounting[k.system]
            if {g.stage: g.n for g in k.groups} == {s: v for s, v in acc.by_stage.items() if v}:
                sizes = {g.stage: shown["by_stage"][g.stage] for g in k.groups}
        events, _ = suppress_group({g.stage: g.events for g in k.groups}, n)
        return [km_group(g, sizes[g.stage], events[g.stage]) for g in k.groups]

    def km_group(g: KMGroup, size: Shown, events: Shown) -> dict[str, Any]:
        # A curve gives its group's size (at risk at 0, the first step) and events (its steps) away:
        # when either is hidden, nothing of the group but the hidden counts is published.
        hidden = is_hidden(size) or is_hidden(events)
        d: dict[str, Any] = {"stage": g.stage, "n": size, "events": events, "suppressed": hidden}
        if hidden:
            return d
        d["median"] = g.median.to_dict()
        d["landmarks"] = [{"time": t, **iv.to_dict()} for t, iv in g.landmarks.items()]
        d["at_risk"] = [{"time": t, "n": sup(v)} for t, v in g.at_risk.items()]
        d["curve"] = {
            "time": [_num(x) for x in g.curve_time.tolist()],
            "survival": [_num(x) for x in g.curve_survival.tolist()],
            "lower": [_num(x) for x in g.curve_lower.tolist()],
            "upper": [_num(x) for x in g.curve_upper.tolist()],
        }
        return d

    sizes, events = _model_counts(a, n, patients)
    return {
        "n_patients": sup(a.n_patients),
        "endpoints": {e: ENDPOINTS[e] for e in a.endpoints},
        "confidence_level": CONFIDENCE,
        "min_cell_count": n,
        "staging_accounting": [shown for _, shown in accounting.values()],
        "kaplan_meier": [
            {
                "system": k.system,
                "endpoint": k.endpoint,
                "time_unit": "months",
                "at_risk_times": list(k.at_risk_times),
                "groups": km_groups(k),
            }
            for k in a.km
        ],
        "logrank": [
            {
                "system": r.system,
                "endpoint": r.endpoint,
                "groups": list(r.groups),
                "chi2": _num(r.chi2),
                "df": r.df,
                "p": _num(r.p),
                "pairwise": [
                    {"a": x, "b": y, "chi2": _num(c), "p": _num(p), "p_adjustment": "none"} for x, y, c, p in r.pairwise
                ],
            }
            for r in a.logrank
        ],
        "cox": [
            {
                "endpoint": c.endpoint,
                "models": [
                    {
                        "name": m.name,
                        "label": m.label,
                        "n": sizes[("cox", c.endpoint, m.name)],
                        "events": events[("cox", c.endpoint, m.name)],
                        "concordance": _num(m.concordance),
                        "terms": [
                            {
                                "term": t.term,
                                "label": t.label,
                                "hr": _num(t.hr),
                                "lower": _num(t.lower),
                                "upper": _num(t.upper),
                                "p": _num(t.p),
                            }
                            for t in m.terms
                        ],
                        "warnings": list(m.warnings),
                    }
                    for m in c.models
                ],
                "skipped": dict(c.skipped),
            }
            for c in a.cox
        ],
        "concordance": [
            {
                "endpoint": c.endpoint,
                "systems": list(c.systems),
                "n": sizes[("c", c.endpoint, i)],
                "events": events[("c", c.endpoint, i)],
                "tau": c.tau,
                "bootstrap": c.bootstrap,
                "seed": c.seed,
                "failed_replicates": c.failed_replicates,
                "rows": [
                    {
                        "system": r.system,
                        "harrell": r.harrell.to_dict(),
                        "uno": r.uno.to_dict() if r.uno is not None else None,
                    }
                    for r in c.rows
                ],
                "differences": [{"kind": k, "a": x, "b": y, **iv.to_dict()} for k, x, y, iv in c.differences],
                "notes": list(c.notes),
            }
            for i, c in enumerate(a.concordance)
        ],
        "skipped": dict(a.skipped),
    }


_Key = tuple[str, str, object]


def _model_counts(
    a: CohortAnalysis, n: int | None, patients: Callable[[int, Iterable[str]], Shown]
) -> tuple[dict[_Key, Shown], dict[_Key, Shown]]:
    """Patients and events of every Cox model and C-index comparison, as published. The models are
    fitted on nested groups (fewer patients as covariates are added), so two sizes that differ by
    less than N would give a small group away (patients without an eGFR, say): such a size is hidden
    too (:func:`suppress_differences`), compared with every patient count the report publishes."""
    size_cells: dict[_Key, tuple[int, Shown]] = {("all", "", None): (a.n_patients, suppress(a.n_patients, n))}
    for x in a.accounting:
        size_cells[("staged", x.system, None)] = (x.n_staged, patients(x.n_staged, [x.system]))
    event_cells: dict[_Key, tuple[int, Shown]] = {}
    for c in a.cox:
        for m in c.models:
            size_cells[("cox", c.endpoint, m.name)] = (m.n, patients(m.n, [m.name.removesuffix("_age")]))
            event_cells[("cox", c.endpoint, m.name)] = (m.events, suppress(m.events, n))
    for i, cc in enumerate(a.concordance):
        size_cells[("c", cc.endpoint, i)] = (cc.n, patients(cc.n, cc.systems))
        event_cells[("c", cc.endpoint, i)] = (cc.events, suppress(cc.events, n))
    fixed = {k for k, (v, shown) in size_cells.items() if k[0] in ("all", "staged") or _published_as_staged(a, v)}
    sizes = suppress_differences(size_cells, n, movable=[k for k in size_cells if k not in fixed])
    return sizes, suppress_differences(event_cells, n, movable=list(event_cells))


def _published_as_staged(a: CohortAnalysis, count: int) -> bool:
    """The count is a system's number staged: the staging accounting publishes it already."""
    return any(x.n_staged == count for x in a.accounting)
