"""Survival analytics (``b2m.cohort.survival``) against independent implementations and hand counts.

Oracles:

- hand-computed Kaplan–Meier and Harrell's / Uno's C on small tables (the arithmetic is in each
  docstring);
- lifelines ``concordance_index`` and scikit-survival ``concordance_index_censored`` /
  ``concordance_index_ipcw`` (independent C-index implementations) on random tied data;
- GSE24080 (the bundled example cohort): numbers computed ONCE by statsmodels 0.15.0 (survival
  functions, log-rank, Cox) and scikit-survival 0.28.0 / lifelines 0.30.3 (C-index) from the raw CSV
  with the script pasted in :data:`ORACLE_SCRIPT`, and pasted here as constants.
"""

from __future__ import annotations

import hashlib
import math
from importlib import resources

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from b2m.cohort.suppression import suppress
from b2m.cohort.survival import (
    NotEstimable,
    SortedOutcomes,
    analyse,
    compare_concordance,
    cox_models,
    kaplan_meier,
    logrank,
    stage_concordance,
    staging_accounting,
)
from b2m.io.cohort import gse24080

ORACLE_SCRIPT = r"""
import csv, numpy as np
from statsmodels.duration.survfunc import SurvfuncRight, survdiff
from statsmodels.duration.hazard_regression import PHReg
rows = list(csv.DictReader(open("src/b2m/data/gse24080_uams_maqc2_clinical.csv")))
def iss(r):  # Greipp 2005: III B2M >= 5.5; I B2M < 3.5 and albumin >= 3.5; II otherwise
    raw = r["b2m_mg_l_raw"].strip()
    if raw == "":
        return None
    b2m = 0.0 if raw.startswith("<") and float(raw[1:]) <= 3.5 else float(raw)
    alb = float(r["alb_g_dl"])
    alb = None if not 1.0 <= alb <= 7.0 else alb  # 0.3 g/dL: implausible -> unknown
    if b2m >= 5.5: return 3
    if b2m >= 3.5: return 2
    if alb is None: return None
    return 1 if alb >= 3.5 else 2
stage = [iss(r) for r in rows]
keep = [i for i, s in enumerate(stage) if s is not None]
t = np.array([float(rows[i]["os_time_months"]) for i in keep])
e = np.array([int(rows[i]["os_event"]) for i in keep])
g = np.array([stage[i] for i in keep])
for s in (1, 2, 3):
    sf = SurvfuncRight(t[g == s], e[g == s])
    print(s, (g == s).sum(), e[g == s].sum(), sf.quantile(0.5), sf.quantile_ci(0.5))
    for x in (24, 60):
        print(x, sf.surv_prob[np.searchsorted(sf.surv_times, x, side="right") - 1])
print(survdiff(t, e, g))
for a, b in ((1, 2), (1, 3), (2, 3)):
    m = (g == a) | (g == b); print(a, b, survdiff(t[m], e[m], g[m]))
ex = [i for i, r in enumerate(rows) if r["b2m_mg_l_raw"].strip() and not r["b2m_mg_l_raw"].startswith("<")]
tt = np.array([float(rows[i]["os_time_months"]) for i in ex]); ee = np.array([int(rows[i]["os_event"]) for i in ex])
x = np.log2(np.array([float(rows[i]["b2m_mg_l_raw"]) for i in ex]))[:, None]
fit = PHReg(tt, x, status=ee, ties="efron").fit(); print(np.exp(fit.params), np.exp(fit.conf_int()), fit.pvalues)
age = np.array([float(rows[i]["age"]) for i in ex]) / 10
fit2 = PHReg(tt, np.column_stack([x[:, 0], age]), status=ee, ties="efron").fit()
print(np.exp(fit2.params), np.exp(fit2.conf_int()))
from lifelines.utils import concordance_index
from sksurv.metrics import concordance_index_censored, concordance_index_ipcw
from sksurv.util import Surv
print(concordance_index(t, -g, e), concordance_index_censored(e.astype(bool), t, g.astype(float))[0])
y = Surv.from_arrays(e.astype(bool), t); print(concordance_index_ipcw(y, y, g.astype(float))[0])
"""

# statsmodels 0.15.0 output of ORACLE_SCRIPT (OS, ISS staged by the published rule: 564 patients).
ORACLE_ISS_N = {"I": 296, "II": 148, "III": 120}
ORACLE_ISS_EVENTS = {"I": 66, "II": 47, "III": 62}
ORACLE_MEDIAN_OS_III = 56.167  # months; CI (46.9, 76.233)
ORACLE_MEDIAN_OS_III_CI = (46.9, 76.233)
ORACLE_MEDIAN_OS_II_CI_LOWER = 66.667  # median not reached in II (upper CI inf) nor I
ORACLE_S24 = {"I": 0.9121621621621621, "II": 0.8571428571428571, "III": 0.741666666666667}
ORACLE_S60 = {"I": 0.7713050900396554, "II": 0.6432020301165807, "III": 0.47037926980114236}
ORACLE_LOGRANK_CHI2 = 39.713758562788186  # df 2
ORACLE_LOGRANK_P = 2.378301444672104e-09
ORACLE_PAIRWISE = {
    ("I", "II"): (6.621645576999284, 0.010074670607558178),
    ("I", "III"): (40.91149809101488, 1.5928125485231703e-10),
    ("II", "III"): (9.521905042168981, 0.0020303370644982888),
}
ORACLE_COX_N = 563  # exact B2M values (the '<0.5' and the missing one left out)
ORACLE_COX_HR_LOG2_B2M = 1.69402346
ORACLE_COX_HR_CI = (1.49014091, 1.92580142)
ORACLE_COX_P = 7.86189375e-16
ORACLE_COX_AGE_HR = (1.6775696, 1.18123036)  # log2 B2M, age per 10 years
ORACLE_COX_AGE_CI = ((1.47194409, 1.91192028), (1.00273038, 1.39150582))
ORACLE_HARRELL_ISS = 0.6154829069377723  # lifelines and scikit-survival agree to all digits
ORACLE_UNO_ISS = 0.6228890118317013  # scikit-survival concordance_index_ipcw, tau = None


@pytest.fixture(scope="module")
def cohort() -> pl.DataFrame:
    return gse24080.load().table


# --------------------------------------------------------------------------- hand-computed examples

TOY = pl.DataFrame(
    {
        "os_months": [2.0, 3.0, 3.0, 5.0, 8.0, 8.0],
        "os_event": [1, 1, 0, 1, 0, 1],
        "iss": ["III", "II", "III", "I", "II", "I"],
    }
)


def test_harrell_c_by_hand() -> None:
    """Pairs (i had the event first; a censoring at the same time counts as later), C = 7.5/12:
    A(t2,III) vs B,C,D,E,F: B II <, C III tie, D I <, E II <, F I <  -> 4.5 of 5
    B(t3,II)  vs D,E,F and C (censored at t3): D I <, E II tie, F I <, C III >  -> 2.5 of 4
    D(t5,I)   vs E, F: E II > (discordant), F I tie  -> 0.5 of 2
    F(t8,I)   vs E (censored at t8): E II >  -> 0 of 1."""
    s = SortedOutcomes.from_arrays(TOY["os_months"].to_numpy(), TOY["os_event"].to_numpy())
    codes = TOY["iss"].replace_strict(["I", "II", "III"], [0, 1, 2]).to_numpy()
    c = stage_concordance(s, codes, 3)
    assert (c.numerator, c.denominator) == (7.5, 12.0)


def test_uno_c_by_hand() -> None:
    """Censoring KM with events leaving first: G(2) = 1; at t3 4 remain after the event, 1 censored:
    G(3) = G(5) = 3/4; at t8 the one left after F's event is censored: G(8) = 0, so tau = 8 excludes F.
    Weights 1/G²: A 1, B 16/9, D 16/9.  C = (4.5 + 16/9·2.5 + 16/9·0.5) / (5 + 16/9·4 + 16/9·2) = 59/94."""
    s = SortedOutcomes.from_arrays(TOY["os_months"].to_numpy(), TOY["os_event"].to_numpy())
    codes = TOY["iss"].replace_strict(["I", "II", "III"], [0, 1, 2]).to_numpy()
    assert stage_concordance(s, codes, 3, kind="uno", tau=8.0).c == pytest.approx(59 / 94, rel=1e-12)
    with pytest.raises(NotEstimable):  # F's event at t8 would get weight 1/0
        stage_concordance(s, codes, 3, kind="uno")


def test_kaplan_meier_by_hand() -> None:
    """Stage I: times 1, 2, 2+, 4, 5+ (+ = censored). S(1) = 4/5 = 0.8; S(2) = 0.8·3/4 = 0.6;
    S(4) = 0.6·1/2 = 0.3 (2 at risk); the median is the first time S <= 0.5: 4. At risk at 0: 5."""
    t = pl.DataFrame(
        {"os_months": [1.0, 2.0, 2.0, 4.0, 5.0], "os_event": [1, 1, 0, 1, 0], "iss": ["I"] * 5},
        schema_overrides={"iss": pl.String},
    )
    km = kaplan_meier(t, "iss", "os", landmarks=(3.0,))
    (g,) = km.groups
    assert (g.n, g.events, g.median.estimate) == (5, 3, 4.0)
    surv = dict(zip(g.curve_time.tolist(), g.curve_survival.tolist(), strict=True))
    assert surv[1.0] == pytest.approx(0.8) and surv[2.0] == pytest.approx(0.6) and surv[4.0] == pytest.approx(0.3)
    assert g.landmarks[3.0].estimate == pytest.approx(0.6)
    assert g.at_risk == {0.0: 5}


def test_censoring_convention_all_censored_and_single_event() -> None:
    """Edge families: no events -> no comparable pair (NotEstimable); one event -> C from its pairs only."""
    none = TOY.with_columns(pl.lit(0).alias("os_event"))
    with pytest.raises(NotEstimable):
        compare_concordance(none, ("iss",), "os", bootstrap=0)
    single = TOY.with_columns(pl.Series("os_event", [1, 0, 0, 0, 0, 0]))
    # A (III) against B II, C III, D I, E II, F I: 4 lower + 1 tie of 5 pairs.
    res = compare_concordance(single, ("iss",), "os", bootstrap=0)
    assert res.rows[0].harrell.estimate == pytest.approx(4.5 / 5)


# --------------------------------------------------------------------------- independent implementations


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 120),
    k=st.integers(2, 4),
    n_times=st.integers(1, 15),
    p_event=st.floats(0.05, 1.0),
    seed=st.integers(0, 2**31 - 1),
)
def test_kernel_equals_lifelines_and_scikit_survival(n: int, k: int, n_times: int, p_event: float, seed: int) -> None:
    """Harrell's C equals lifelines ``concordance_index(T, -stage, E)`` and scikit-survival
    ``concordance_index_censored(E, T, stage)``; Uno's C equals ``concordance_index_ipcw(y, y, stage,
    tau)`` (tau = 80th centile of T), on data with many tied times and tied stages."""
    from lifelines.utils import concordance_index
    from sksurv.metrics import concordance_index_censored, concordance_index_ipcw
    from sksurv.util import Surv

    rng = np.random.default_rng(seed)
    stage = rng.integers(0, k, n)
    t = rng.integers(1, n_times + 1, n).astype(float)
    e = rng.random(n) < p_event
    e[0] = True
    s = SortedOutcomes.from_arrays(t, e)
    try:
        expected = concordance_index(t, -stage, e)
    except ZeroDivisionError:
        assert stage_concordance(s, stage, k).denominator == 0
        return
    assert stage_concordance(s, stage, k).c == pytest.approx(expected, abs=1e-12)
    assert stage_concordance(s, stage, k).c == pytest.approx(
        concordance_index_censored(e, t, stage.astype(float))[0], abs=1e-12
    )
    tau = float(np.quantile(t, 0.8))
    y = Surv.from_arrays(e, t)
    try:
        uno = concordance_index_ipcw(y, y, stage.astype(float), tau=tau)[0]
    except (ValueError, ZeroDivisionError, FloatingPointError):
        return  # scikit-survival refuses (G = 0 or no pair before tau): nothing to compare
    if math.isnan(uno):
        return
    assert stage_concordance(s, stage, k, kind="uno", tau=tau).c == pytest.approx(uno, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 60), seed=st.integers(0, 2**31 - 1))
def test_frequency_weights_equal_duplicated_rows(n: int, seed: int) -> None:
    """A bootstrap replicate as frequency weights gives the C of the explicitly resampled rows
    (checked against lifelines on the resampled rows)."""
    from lifelines.utils import concordance_index

    rng = np.random.default_rng(seed)
    stage, t, e = rng.integers(0, 3, n), rng.integers(1, 8, n).astype(float), rng.random(n) < 0.6
    idx = rng.integers(0, n, n)
    s = SortedOutcomes.from_arrays(t, e)
    freq = np.bincount(idx, minlength=n).astype(float)[s.order]
    weighted = stage_concordance(s, stage, 3, frequency=freq)
    try:
        expected = concordance_index(t[idx], -stage[idx], e[idx])
    except ZeroDivisionError:
        assert weighted.denominator == 0
        return
    assert weighted.c == pytest.approx(expected, abs=1e-12)


# --------------------------------------------------------------------------- GSE24080 against statsmodels


def test_bundled_file_is_the_published_one() -> None:
    """SHA-256 published with the dataset (src/b2m/data/GSE24080-README.md): the bundled copy is byte-identical."""
    data = resources.files("b2m").joinpath(gse24080.RESOURCE).read_bytes()
    assert hashlib.sha256(data).hexdigest() == gse24080.SHA256


def test_km_by_iss_matches_statsmodels(cohort: pl.DataFrame) -> None:
    """Oracle: ORACLE_SCRIPT (statsmodels ``SurvfuncRight``): group sizes, events, median OS of ISS III
    with its CI, medians not reached in I and II, survival at 24 and 60 months."""
    km = kaplan_meier(cohort, "iss", "os")
    groups = {g.stage: g for g in km.groups}
    assert {s: g.n for s, g in groups.items()} == ORACLE_ISS_N
    assert {s: g.events for s, g in groups.items()} == ORACLE_ISS_EVENTS
    assert groups["III"].median.estimate == pytest.approx(ORACLE_MEDIAN_OS_III)
    assert (groups["III"].median.lower, groups["III"].median.upper) == pytest.approx(ORACLE_MEDIAN_OS_III_CI)
    assert math.isinf(groups["I"].median.estimate) and math.isinf(groups["II"].median.estimate)
    assert groups["II"].median.lower == pytest.approx(ORACLE_MEDIAN_OS_II_CI_LOWER)
    for s, g in groups.items():
        assert g.landmarks[24.0].estimate == pytest.approx(ORACLE_S24[s], rel=1e-12)
        assert g.landmarks[60.0].estimate == pytest.approx(ORACLE_S60[s], rel=1e-12)


def test_logrank_by_iss_matches_statsmodels(cohort: pl.DataFrame) -> None:
    """Oracle: ORACLE_SCRIPT (statsmodels ``survdiff``), overall (df 2) and every pair."""
    lr = logrank(cohort, "iss", "os")
    assert lr.df == 2
    assert lr.chi2 == pytest.approx(ORACLE_LOGRANK_CHI2, rel=1e-9)
    assert lr.p == pytest.approx(ORACLE_LOGRANK_P, rel=1e-6)
    got = {(a, b): (c, p) for a, b, c, p in lr.pairwise}
    for pair, (chi2, p) in ORACLE_PAIRWISE.items():
        assert got[pair][0] == pytest.approx(chi2, rel=1e-9)
        assert got[pair][1] == pytest.approx(p, rel=1e-6)


def test_cox_log2_b2m_matches_statsmodels(cohort: pl.DataFrame) -> None:
    """Oracle: ORACLE_SCRIPT (statsmodels ``PHReg(..., ties="efron")``): HR per doubling of B2M, its
    95% CI and p; and adjusted for age (per 10 years)."""
    res = cox_models(cohort, "os")
    models = {m.name: m for m in res.models}
    (term,) = models["b2m"].terms
    assert models["b2m"].n == ORACLE_COX_N
    assert term.hr == pytest.approx(ORACLE_COX_HR_LOG2_B2M, rel=1e-5)
    assert (term.lower, term.upper) == pytest.approx(ORACLE_COX_HR_CI, rel=1e-5)
    assert term.p == pytest.approx(ORACLE_COX_P, rel=1e-3)
    b2m_term, age_term = models["b2m_age"].terms
    assert (b2m_term.hr, age_term.hr) == pytest.approx(ORACLE_COX_AGE_HR, rel=1e-5)
    assert (b2m_term.lower, b2m_term.upper) == pytest.approx(ORACLE_COX_AGE_CI[0], rel=1e-5)
    assert (age_term.lower, age_term.upper) == pytest.approx(ORACLE_COX_AGE_CI[1], rel=1e-5)


def test_harrell_and_uno_c_of_iss_match_oracles(cohort: pl.DataFrame) -> None:
    """Oracle: ORACLE_SCRIPT (lifelines ``concordance_index`` = scikit-survival
    ``concordance_index_censored``; scikit-survival ``concordance_index_ipcw``)."""
    res = compare_concordance(cohort, ("iss",), "os", bootstrap=0)
    assert res.n == sum(ORACLE_ISS_N.values())
    assert res.rows[0].harrell.estimate == pytest.approx(ORACLE_HARRELL_ISS, abs=1e-12)
    assert res.rows[0].uno is not None
    assert res.rows[0].uno.estimate == pytest.approx(ORACLE_UNO_ISS, abs=1e-12)


# --------------------------------------------------------------------------- comparisons and accounting


def test_comparison_uses_the_same_patients_and_is_seeded() -> None:
    """With an assumed LDH ULN, R-ISS stages 187 of the 565 (README: no FISH, so only II and III); ISS
    vs R-ISS is scored on exactly those, and the same seed gives the same intervals."""
    table = gse24080.load(ldh_uln_u_l=250.0).table
    a = compare_concordance(table, ("iss", "r_iss"), "os", bootstrap=60, seed=7)
    b = compare_concordance(table, ("iss", "r_iss"), "os", bootstrap=60, seed=7)
    both = table.filter(pl.col("iss").is_not_null() & pl.col("r_iss").is_not_null())
    assert a.n == both.height == 187
    assert a == b
    for row in a.rows:
        assert row.harrell.lower <= row.harrell.estimate <= row.harrell.upper
    assert {(k, x, y) for k, x, y, _ in a.differences} == {("harrell", "iss", "r_iss"), ("uno", "iss", "r_iss")}


def test_r2_iss_comparison_not_estimable_without_fish(cohort: pl.DataFrame) -> None:
    """README: GSE24080 has no per-abnormality FISH, so no patient has a single R2-ISS stage."""
    with pytest.raises(NotEstimable, match="0 patients"):
        compare_concordance(cohort, ("iss", "r2_iss"), "os", bootstrap=0)


def test_accounting_counts_every_patient(cohort: pl.DataFrame) -> None:
    """Every patient is staged or listed under its possible range; GSE24080 facts (README): one B2M is
    missing, so one patient's ISS is I|II|III; without FISH and an LDH ULN R2-ISS stages nobody."""
    acc = {a.system: a for a in staging_accounting(cohort)}
    for a in acc.values():
        assert a.n_staged + sum(a.unstaged_by_possible.values()) == a.n_patients == 565
        assert sum(a.by_stage.values()) == a.n_staged
    assert acc["iss"].unstaged_by_possible == {"I|II|III": 1}
    assert acc["r2_iss"].n_staged == 0


def test_small_count_suppression() -> None:
    """Counts 1..N-1 become '<N'; 0 and counts >= N are shown."""
    assert [suppress(x, 5) for x in (0, 1, 4, 5, 9)] == [0, "<5", "<5", 5, 9]
    assert suppress(3, None) == 3


def test_analysis_dict_suppresses_small_groups(cohort: pl.DataFrame) -> None:
    """With N = 200 the ISS II (148) and III (120) groups are suppressed: counts '<200', no curve.
    ISS I keeps its size (296), but its 66 deaths are '<200' too, and a curve would give them away,
    so it has no curve either. With N = 60 (sizes 296, 148, 120 all shown; deaths 66, 47, 62: II's
    47 is small and III's 62 is the smallest other, hidden as its complement) only ISS I keeps its
    curve. Sizes and deaths: the statsmodels oracle (ORACLE_ISS_N, ORACLE_ISS_EVENTS)."""
    analysis = analyse(cohort, bootstrap=0)
    d = analysis.to_dict(min_cell_count=200)
    km = next(k for k in d["kaplan_meier"] if k["system"] == "iss" and k["endpoint"] == "os")
    groups = {g["stage"]: g for g in km["groups"]}
    assert groups["I"]["n"] == ORACLE_ISS_N["I"] and groups["I"]["events"] == "<200" and "curve" not in groups["I"]
    assert groups["II"]["n"] == "<200" and groups["II"]["suppressed"] and "curve" not in groups["II"]
    d = analysis.to_dict(min_cell_count=60)
    km = next(k for k in d["kaplan_meier"] if k["system"] == "iss" and k["endpoint"] == "os")
    groups = {g["stage"]: g for g in km["groups"]}
    assert groups["I"]["events"] == ORACLE_ISS_EVENTS["I"] and "curve" in groups["I"]
    assert (groups["II"]["events"], groups["III"]["events"]) == ("<60", ">=60")
    assert groups["II"]["suppressed"] and groups["III"]["suppressed"] and "curve" not in groups["III"]


def test_model_sizes_give_no_small_group_away(cohort: pl.DataFrame) -> None:
    """With N = 10, checked on the published document alone (brute force): no Cox model or C-index
    size that is shown differs by 1..9 from another shown patient count (patients, numbers staged,
    other model sizes), and no shown event count of one from another. Without suppression they are
    the plain numbers."""
    analysis = analyse(cohort, bootstrap=0)
    n = 10
    d = analysis.to_dict(min_cell_count=n)
    models = [m for c in d["cox"] for m in c["models"]] + list(d["concordance"])
    fixed = [d["n_patients"], *(x["n_staged"] for x in d["staging_accounting"])]
    sizes = [m["n"] for m in models]
    shown = [x for x in [*fixed, *sizes] if isinstance(x, int)]
    for x in sizes:
        if isinstance(x, int):
            assert all(not 0 < abs(x - y) < n for y in shown), (x, shown)
    events = [m["events"] for m in models if isinstance(m["events"], int)]
    assert all(not 0 < abs(x - y) < n for x in events for y in events)
    plain = analysis.to_dict()
    assert [m["n"] for c in plain["cox"] for m in c["models"]] == [m.n for c in analysis.cox for m in c.models]
