"""Lab values at diagnosis: one measurement per patient and analyte, chosen around the index date.

For each patient and analyte the measurements are read in their reported units, converted once per
distinct unit through :func:`b2m.units.unit_factor` (the one unit layer; never per row), checked
against the analyte's plausibility bounds, and then one is chosen relative to the index date
(diagnosis). Every measurement gets a ``reason``: ``"used"``, or why it was not (:data:`REASONS`).

Window and policies (``d`` = measurement date − index date, in days; ``lo``..``hi`` the window,
inclusive at both ends, default −60..+30):

- ``nearest``: smallest ``|d|`` within the window. **Ties**: equal ``|d|`` on both sides of the index
  date -> the earlier date wins (the value before treatment can start); reason of the other
  ``"tie_later"``.
- ``last_before``: the latest measurement on or before the index date (``lo <= d <= 0``).
- ``first_after``: the earliest measurement on or after the index date (``0 <= d <= hi``).

Several measurements of one analyte on the chosen date: the lowest source id wins (OMOP
``measurement_id``, a lab feed's ``source_id``, or the row number when a feed has none); the others
get ``"same_day_duplicate"``. Nothing is averaged.

This is written once as narwhals expressions (the exclusion conditions, a window ``min`` and a pivot
by ``max`` over at most one row), so the same code runs on Polars, DuckDB and Spark; the engine
adapters only attach the unit lookup to each event and take date differences
(:mod:`b2m.engines`). The rank is an integer key: ``2|d| + (d > 0)`` for ``nearest`` (so the
earlier of two equally distant dates has the smaller key), ``-d`` for ``last_before``, ``d`` for
``first_after``; with integer source ids it is packed with the source id into one integer, so one
window pass picks.

Two routes share those definitions: with an audit trail every event gets its reason code
(:func:`prepared`, :func:`ranked`); for the table alone the same conditions run as filters
(:func:`eligible`, :func:`chosen`). Tests hold the two routes equal, and both against a brute-force
oracle.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import narwhals as nw
import polars as pl

from b2m.engines import Engine, PolarsEngine
from b2m.errors import InputError
from b2m.units.analytes import ANALYTES
from b2m.units.labvalue import unit_factor

Policy = Literal["nearest", "last_before", "first_after"]
POLICIES: tuple[Policy, ...] = ("nearest", "last_before", "first_after")

# Lab analytes carried in the cohort table: analyte key -> output column (canonical unit in the name).
LAB_COLUMNS: dict[str, str] = {
    "b2m": "b2m_mg_l",
    "albumin": "albumin_g_dl",
    "ldh": "ldh_u_l",
    "creatinine": "creatinine_mg_dl",
}
# FISH results, when they come as events (OMOP observations): 1 = abnormality present, 0 = absent.
FISH_KEYS: tuple[str, ...] = ("del17p", "t4_14", "t14_16", "gain1q")

REASONS: dict[str, str] = {
    "used": "the measurement chosen for this patient and analyte",
    "unit_refused": "the unit is missing, unknown, of the wrong dimension or refused for this analyte",
    "value_missing": "no usable number (empty, or text that is not a number or a censored number such as '<0.5')",
    "implausible": (
        "outside the analyte's plausibility bounds after conversion (likely a unit error); for a FISH "
        "result, anything but an exact 1 (present) or 0 (absent)"
    ),
    "not_in_cohort": "the patient is not in the cohort's patient table",
    "no_index_date": "the patient has no index date, so no window can be placed",
    "date_missing": "the measurement has no date",
    "outside_window": "the measurement date is outside the window around the index date",
    "wrong_side": "on the other side of the index date than the policy allows",
    "farther": "another measurement is nearer the index date by the policy",
    "tie_later": "as far from the index date as the one used, but later (ties go to the earlier date)",
    "same_day_duplicate": "taken on the same date as the one used; the lowest source id wins",
    "patient_table": "a FISH result from a lab event, not used: the patient table gives this result, and it wins",
}

# Reasons travel as small integer codes while computing (cheaper than text on every row).
REASON_CODES: dict[str, int] = {name: i for i, name in enumerate(REASONS)}


REASON_NAMES: dict[int, str] = {i: name for name, i in REASON_CODES.items()}

# A censored result ("<0.5", ">20") travels as its number and an operator code (null: exact).
OPERATORS: dict[str, int] = {"<": 1, "<=": 2, ">": 3, ">=": 4}
OPERATOR_NAMES: dict[int, str] = {i: op for op, i in OPERATORS.items()}


def _code(name: str) -> nw.Expr:
    return nw.lit(REASON_CODES[name], dtype=nw.Int8())


_LOINC = re.compile(r"^(\d{1,7})-(\d)$")


def loinc_check_digit(body: str) -> int:
    """The LOINC mod-10 check digit of the code's digits before the hyphen.

    LOINC Users' Guide, "Calculating Mod 10 check digits": double the digits in odd positions
    counting from the right, add all resulting digits, and take what brings the sum to a multiple of
    10 (this is the Luhn scheme). The Guide's example: 12345 -> 5.
    """
    total = 0
    for i, ch in enumerate(reversed(body)):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n // 10 + n % 10
    return (10 - total % 10) % 10


def loinc_valid(code: str) -> bool:
    """A syntactically valid LOINC code whose check digit is right (rejects 33944-8 for 33944-0)."""
    m = _LOINC.match(code.strip())
    return bool(m) and loinc_check_digit(m.group(1)) == int(m.group(2))  # type: ignore[union-attr]


def _analyte_codes() -> dict[str, str]:
    codes: dict[str, str] = {}
    for key in LAB_COLUMNS:
        for code in ANALYTES[key].loinc:
            if not loinc_valid(code):  # b2m reference LAB-5: validate every code against its check digit
                raise AssertionError(f"invalid LOINC code {code!r} for {key} in b2m.units.analytes")
            codes[code] = key
    return codes


LOINC_TO_ANALYTE: dict[str, str] = _analyte_codes()


def analyte_names() -> dict[str, str]:
    """Lower-case name or code -> analyte key: the key (``"b2m"``), the label, and every LOINC code."""
    names: dict[str, str] = {k: k for k in (*LAB_COLUMNS, *FISH_KEYS)}
    names.update({ANALYTES[k].label.lower(): k for k in LAB_COLUMNS})
    names.update(LOINC_TO_ANALYTE)
    return names


def unrecognised_problem(text: str | None) -> str:
    if text is None:
        return "no analyte name or code"
    if _LOINC.match(text.strip()) and not loinc_valid(text):
        return f"{text!r} is not a valid LOINC code (check digit)"
    return f"analyte {text!r} is not one the cohort table uses"


@dataclass(frozen=True, slots=True)
class Window:
    """Where a measurement may lie relative to the index date, in days (both ends inclusive)."""

    lo_days: int = -60
    hi_days: int = 30
    policy: Policy = "nearest"

    def __post_init__(self) -> None:
        if not (isinstance(self.lo_days, int) and isinstance(self.hi_days, int)) or self.lo_days > self.hi_days:
            raise InputError("window_days", f"not a window: ({self.lo_days}, {self.hi_days})", "(lo, hi) with lo <= hi")
        if self.policy not in POLICIES:
            raise InputError("policy", f"unknown policy {self.policy!r}", ", ".join(POLICIES))
        if self.policy == "last_before" and self.lo_days > 0:
            raise InputError("window_days", "last_before needs a window reaching the index date", "lo <= 0")
        if self.policy == "first_after" and self.hi_days < 0:
            raise InputError("window_days", "first_after needs a window reaching the index date", "hi >= 0")

    def max_key(self) -> int:
        """The largest rank key :func:`prepared` can give an event inside this window."""
        if self.policy == "nearest":
            return 2 * max(abs(self.lo_days), abs(self.hi_days)) + 1
        return -self.lo_days if self.policy == "last_before" else self.hi_days

    def describe(self) -> str:
        return f"{self.policy} within {self.lo_days:+d}..{self.hi_days:+d} days of the index date"


# -- names and units, once per distinct (name, unit) pair ---------------------------------------------
LOOKUP_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "pair_id": pl.Int32,  # carried through the engine instead of the texts below
    "analyte": pl.String,  # as received (a name or a LOINC code)
    "unit_key": pl.String,  # unit as received, "" when missing
    "analyte_key": pl.String,  # b2m.units key, null when not recognised
    "analyte_code": pl.Int8,
    "factor": pl.Float64,
    "unit_refused": pl.Boolean,
    "unit_problem": pl.String,
    "plausible_lo": pl.Float64,
    "plausible_hi": pl.Float64,
    "unit_canonical": pl.String,
}
ANALYTE_CODES: dict[str, int] = {k: i for i, k in enumerate((*LAB_COLUMNS, *FISH_KEYS))}
_FIRST_FISH_CODE = ANALYTE_CODES[FISH_KEYS[0]]  # FISH keys are coded last


def distinct_pairs(events: nw.LazyFrame[Any], engine: Engine) -> pl.DataFrame:
    """The one small aggregation pass before the pick, per (analyte as received, unit as received,
    order of magnitude of the value): rows, rows without a number, smallest and largest number, and
    with integer source ids their smallest and largest (for :func:`packed_rank`). The magnitude
    buckets let :func:`implausible_counts` count implausible rows without reading the rows again
    (:func:`per_pair` sums the buckets up)."""
    c = nw.col
    v = c("value")
    missing = v.is_null() | v.is_nan()
    bucket = (
        nw.when(missing)
        .then(nw.lit(None, dtype=nw.Int32()))
        .when(v <= 0)
        .then(nw.lit(_NON_POSITIVE, dtype=nw.Int32()))
        .when(~v.is_finite())
        .then(nw.lit(_INFINITE, dtype=nw.Int32()))
        .otherwise(v.log(10).floor().cast(nw.Int32()))
    )
    keyed = events.with_columns(c("unit").fill_null("").alias("unit_key"), bucket.alias("bucket"))
    aggs = [
        nw.len().alias("rows"),
        missing.cast(nw.Int64()).sum().alias("value_missing"),
        (~c("operator").is_null() & ~missing).cast(nw.Int64()).sum().alias("censored"),
        v.min().alias("value_min"),
        v.max().alias("value_max"),
    ]
    aggs.append(c("source_id").is_null().cast(nw.Int64()).sum().alias("source_missing"))
    if keyed.collect_schema()["source_id"].is_integer():
        aggs += [c("source_id").min().alias("source_min"), c("source_id").max().alias("source_max")]
    out = engine.collect(keyed.group_by("analyte", "unit_key", "bucket").agg(*aggs))
    return out.with_columns(pl.col("analyte", "unit_key").cast(pl.String), pl.col("bucket").cast(pl.Int32))


_NON_POSITIVE = -(2**15)  # the bucket of zero and negative numbers (no logarithm)
_INFINITE = 2**15  # the bucket of +inf ("1e400" in a text feed): implausible, never a crash


def per_pair(buckets: pl.DataFrame) -> pl.DataFrame:
    """:func:`distinct_pairs` summed over the magnitude buckets: one row per (analyte, unit) pair."""
    sums = [pl.col(n).sum() for n in ("rows", "value_missing", "censored", "source_missing")]
    ends = [pl.col("value_min").min(), pl.col("value_max").max()]
    if "source_min" in buckets.columns:
        ends += [pl.col("source_min").min(), pl.col("source_max").max()]
    return buckets.group_by("analyte", "unit_key").agg(*sums, *ends)


def unit_lookup(pairs: pl.DataFrame) -> pl.DataFrame:
    """Analyte key, factor to the canonical unit, refusal reason and plausibility bounds per pair.

    ``pairs`` holds the distinct ``analyte`` / ``unit_key`` pairs of the data. Each unit goes through
    :func:`b2m.units.unit_factor` once per analyte, never once per row.
    """
    names = analyte_names()
    rows: list[dict[str, object]] = []
    distinct = pairs.select("analyte", "unit_key").unique().sort("analyte", "unit_key", nulls_last=True)
    for i, (raw, unit) in enumerate(distinct.iter_rows()):
        key = names.get(str(raw).strip().lower()) if raw is not None else None
        row: dict[str, object] = {"pair_id": i, "analyte": raw, "unit_key": unit, "analyte_key": key}
        row["analyte_code"], row["unit_refused"] = (ANALYTE_CODES[key] if key else None), False
        if key in FISH_KEYS:
            row.update(factor=1.0, plausible_lo=0.0, plausible_hi=1.0)
            if unit:  # "1 %" of nuclei is not "present": a FISH result is 1 or 0 with no unit
                row["unit_problem"], row["unit_refused"] = f"a FISH result takes no unit (got {unit!r})", True
        elif key is not None:
            a = ANALYTES[key]
            row["unit_canonical"] = a.display
            try:
                row["factor"] = unit_factor(key, unit or None, f"{key}.unit")
                row["plausible_lo"], row["plausible_hi"] = a.plausible
            except InputError as e:
                row["unit_problem"], row["unit_refused"] = e.problem, True
        rows.append(row)
    return pl.DataFrame(rows, schema=LOOKUP_SCHEMA)


def unrecognised(pairs: pl.DataFrame, lookup: pl.DataFrame) -> pl.DataFrame:
    """Unit-report rows for analyte names or codes that are not recognised (never dropped silently)."""
    unknown = lookup.filter(pl.col("analyte_key").is_null()).select("analyte", "unit_key")
    counts = pairs.join(unknown, on=["analyte", "unit_key"], nulls_equal=True, how="inner")
    per_name = counts.group_by("analyte").agg(pl.col("rows").sum()).sort("analyte", nulls_last=True)
    return pl.DataFrame(
        [
            {"rows": int(r["rows"]), "problem": unrecognised_problem(r["analyte"])}
            for r in per_name.iter_rows(named=True)
        ],
        schema={"rows": pl.Int64, "problem": pl.String},
    )


# -- the pick ------------------------------------------------------------------------------------------
EVENT_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "analyte",
    "value",
    "operator",  # OPERATORS code of a censored value, null when exact
    "unit",
    "lower",
    "upper",
    "date",
    "source_id",
)
_QUALITY = ("unit_refused", "value_missing", "implausible")
_ENGINE_LOOKUP = (
    "pair_id",
    "analyte_code",
    "factor",
    "unit_refused",
    "plausible_lo",
    "plausible_hi",
)


def attached(events: nw.LazyFrame[Any], lookup: pl.DataFrame, engine: Engine) -> nw.LazyFrame[Any]:
    """Every recognised event with its pair's lookup row and its canonical value and upper limit.
    Texts stay out of the engine from here on: the analyte and unit travel as ``pair_id`` /
    ``analyte_code`` (``lookup`` is :func:`unit_lookup`)."""
    c = nw.col
    ev = events.with_columns(c("unit").fill_null("").alias("unit_key")).drop("unit")
    ev = engine.attach_lookup(ev, lookup, list(_ENGINE_LOOKUP))
    return ev.with_columns(
        (c("value") * c("factor")).round(9).alias("value_canonical"),
        (c("upper") * c("factor")).round(9).alias("upper_canonical"),
    )


def placed(ev: nw.LazyFrame[Any], patients: nw.LazyFrame[Any], engine: Engine) -> nw.LazyFrame[Any]:
    """:func:`attached` events with their patient's index date and the days from it."""
    index = patients.select("patient_id", "index_date").with_columns(nw.lit(value=True).alias("_in_cohort"))
    ev = ev.join(index, on="patient_id", how="left")
    return engine.with_days_between(ev, "date", "index_date", "days_from_index")


def exclusions(window: Window, events: nw.LazyFrame[Any]) -> list[tuple[str, nw.Expr]]:
    """Why an event of :func:`placed` cannot be used, in the order the reasons are given: the first
    condition that holds is the reason (null counts as not holding). Data-quality reasons come first,
    so the unit report counts them whatever the window says.

    A FISH event is a result only as an exact 1 or 0: a 0.5 or a "<1" would otherwise be chosen and
    then read as unknown, hiding a real result a few days away. (``events`` tells whether an
    ``operator`` column exists: without one no value is censored.)"""
    c = nw.col
    d, vc = c("days_from_index"), c("value_canonical")
    side = {"nearest": None, "last_before": d > 0, "first_after": d < 0}[window.policy]
    not_a_result = ~c("value").is_in([0.0, 1.0])  # as received (FISH takes no unit), not rounded
    if "operator" in events.collect_schema():
        not_a_result = not_a_result | ~c("operator").is_null()
    fish = c("analyte_code") >= _FIRST_FISH_CODE
    out = [
        ("unit_refused", c("unit_refused")),
        ("value_missing", c("value").is_null() | c("value").is_nan()),
        ("implausible", (vc < c("plausible_lo")) | (vc > c("plausible_hi")) | (fish & not_a_result)),
        ("not_in_cohort", c("_in_cohort").is_null()),
        ("no_index_date", c("index_date").is_null()),
        ("date_missing", c("date").is_null()),
        ("outside_window", (d < window.lo_days) | (d > window.hi_days)),
    ]
    return out if side is None else [*out, ("wrong_side", side)]


def rank_key(window: Window) -> nw.Expr:
    """The policy's rank of an eligible event (smaller is better; see the module docstring)."""
    d = nw.col("days_from_index")
    if window.policy == "nearest":
        key = d.abs() * 2 + nw.when(d > 0).then(nw.lit(1)).otherwise(nw.lit(0))
    else:
        key = -d if window.policy == "last_before" else d
    return key.cast(nw.Int64())


def _none_holds(conditions: list[tuple[str, nw.Expr]]) -> nw.Expr:
    """Rows for which none of ``conditions`` holds (null counts as not holding, as in :func:`prepared`)."""
    out: nw.Expr = nw.lit(value=True)
    for _, cond in conditions:
        out = out & ~cond.fill_null(value=False)
    return out


def _holds_first(conditions: list[tuple[str, nw.Expr]], reason: str) -> nw.Expr:
    """Rows whose reason is ``reason``: its condition holds and no earlier one does."""
    names = [name for name, _ in conditions]
    i = names.index(reason)
    return _none_holds(conditions[:i]) & conditions[i][1].fill_null(value=False)


def prepared(ev: nw.LazyFrame[Any], window: Window) -> nw.LazyFrame[Any]:
    """Every event of :func:`placed` with ``_excluded`` (the reason code, or null when it can be used)
    and ``_key`` (:func:`rank_key`, null when excluded): what the audit trail is made of."""
    conditions = exclusions(window, ev)
    name, cond = conditions[0]
    chain = nw.when(cond).then(_code(name))
    for name, cond in conditions[1:]:
        chain = chain.when(cond).then(_code(name))
    ev = ev.with_columns(chain.alias("_excluded"))
    return ev.with_columns(nw.when(nw.col("_excluded").is_null()).then(rank_key(window)).alias("_key"))


_CARRIED = (
    "patient_id",
    "pair_id",
    "analyte_code",
    "date",
    "value",
    "operator",
    "value_canonical",
    "upper_canonical",
    "source_id",
)


def eligible(ev: nw.LazyFrame[Any], patients: nw.LazyFrame[Any], window: Window, engine: Engine) -> nw.LazyFrame[Any]:
    """Only the :func:`attached` events that :func:`prepared` would leave without a reason, placed and
    with ``_key``: the same conditions, as filters (cheaper than reason codes when only the table is
    wanted). The data-quality filter runs before the patient join, so the join carries fewer rows
    and columns."""
    conditions = exclusions(window, ev)
    quality = [x for x in conditions if x[0] in _QUALITY]
    cohort = [x for x in conditions if x[0] not in _QUALITY]
    carried = [k for k in _CARRIED if k in ev.collect_schema()]  # "operator" only when a value is censored
    ev = placed(ev.filter(_none_holds(quality)).select(*carried), patients, engine)
    return ev.filter(_none_holds(cohort)).with_columns(rank_key(window).alias("_key"))


_GROUP = ("patient_id", "analyte_code")


def ranked(ev: nw.LazyFrame[Any], window: Window) -> nw.LazyFrame[Any]:
    """The :func:`eligible` events with ``used`` and ``reason`` (the smallest key wins, then the
    lowest source id)."""
    c = nw.col
    ev = ev.with_columns(c("_key").min().over(*_GROUP).alias("_best"))
    ev = ev.with_columns((c("_key") == c("_best")).alias("_at_best"))
    ev = ev.with_columns(nw.when(c("_at_best")).then(c("source_id")).min().over(*_GROUP).alias("_src"))
    used = c("_at_best") & (c("source_id") == c("_src"))
    best_before = (c("_best") % 2) == 0  # nearest: the used one lies on or before the index date
    tie_later = nw.lit(window.policy == "nearest") & best_before & (c("_key") == c("_best") + 1)
    reason = (
        nw.when(used)
        .then(_code("used"))
        .when(c("_at_best"))
        .then(_code("same_day_duplicate"))
        .when(tie_later)
        .then(_code("tie_later"))
        .otherwise(_code("farther"))
    )
    return ev.with_columns(reason.alias("reason"), used.alias("used"))


def packed_rank(window: Window, pairs: pl.DataFrame) -> tuple[int, int] | None:
    """``(span, offset)`` such that ``_key * span + (source_id - offset)`` orders the events as
    (``_key``, ``source_id``) does, within 64 bits; ``None`` when the source ids are not integers or
    their range is too wide (then :func:`chosen` takes two window passes instead of one)."""
    if "source_min" not in pairs.columns or pairs["source_min"].null_count() == pairs.height:
        return None
    offset, top = int(pairs["source_min"].min()), int(pairs["source_max"].max())  # type: ignore[arg-type]
    span = top - offset + 1
    fits = offset >= -(2**63) and top < 2**63  # ids must fit the signed 64-bit arithmetic (not UInt64's top half)
    return (span, offset) if fits and (window.max_key() + 1) * span < 2**63 else None


def chosen(ev: nw.LazyFrame[Any], pack: tuple[int, int] | None = None) -> nw.LazyFrame[Any]:
    """Only the used ones of the :func:`eligible` events (the same rule as :func:`ranked`: smallest
    key, then lowest source id). With ``pack`` (:func:`packed_rank`) the two orders are one integer
    and one window pass does."""
    c = nw.col
    if pack is not None:
        span, offset = pack
        rank = c("_key") * span + (c("source_id").cast(nw.Int64()) - offset)
        return ev.filter(rank == rank.min().over(*_GROUP))
    ev = ev.filter(c("_key") == c("_key").min().over(*_GROUP))
    return ev.filter(c("source_id") == c("source_id").min().over(*_GROUP))


PROVENANCE_SOURCE: tuple[str, ...] = (
    "patient_id",
    "pair_id",
    "analyte_code",
    "used",
    "reason",
    "date",
    "days_from_index",
    "value",
    "operator",
    "value_canonical",
    "upper_canonical",
    "source_id",
)


def audited(base: nw.LazyFrame[Any], window: Window) -> nw.LazyFrame[Any]:
    """Every event of :func:`prepared` with ``used`` and ``reason`` (eligible and excluded)."""
    c = nw.col
    cols = list(PROVENANCE_SOURCE)
    excluded = base.filter(~c("_excluded").is_null()).with_columns(
        c("_excluded").alias("reason"), nw.lit(value=False).alias("used")
    )
    usable = ranked(base.filter(c("_excluded").is_null()), window)
    return nw.concat([usable.select(*cols), excluded.select(*cols)], how="vertical")


def provenance(cand: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
    """The audit trail as the engine returns it (codes); :func:`finish_provenance` adds the texts."""
    return cand.select(*PROVENANCE_SOURCE)


def finish_provenance(df: pl.DataFrame, lookup: pl.DataFrame) -> pl.DataFrame:
    """The collected audit trail (codes) with its texts (:func:`provenance_texts`, in Polars, so
    identical whichever engine ran; Polars keeps the row order through the join), in the order
    patient, analyte, date, source id (sorted on integer codes before the texts are attached: far
    cheaper on millions of rows)."""
    names = sorted(lookup["analyte_key"].drop_nulls().unique())
    rank = lookup.select(
        pl.col("pair_id").cast(pl.Int32),
        pl.col("analyte_key").replace_strict({k: i for i, k in enumerate(names)}, default=None).alias("_rank"),
    )
    df = df.with_columns(pl.col("pair_id").cast(pl.Int32)).join(rank, on="pair_id", how="left")
    df = df.sort("patient_id", "_rank", "date", "source_id", nulls_last=True).drop("_rank")
    native: pl.LazyFrame = provenance_texts(nw.from_native(df.lazy()), lookup, PolarsEngine()).to_native()
    return native.collect(engine="in-memory")


_REASON_SPAN, _OPERATOR_SPAN = 32, 8  # more than the reason codes and operator codes (+ "none") there are


def provenance_texts(frame: nw.LazyFrame[Any], lookup: pl.DataFrame, engine: Engine) -> nw.LazyFrame[Any]:
    """The audit trail's columns from its codes (:func:`provenance`): analyte, unit, canonical unit
    and refusal text by pair, reason and operator names, from one small table joined in the engine
    (so it runs on the collected frame or inside any engine, for an audit trail written straight to
    a file)."""
    c = nw.col
    pairs = lookup.select(
        pl.col("pair_id").cast(pl.Int64).alias("_pair"),
        pl.col("analyte_key").alias("analyte"),
        pl.when(pl.col("unit_key") != "").then(pl.col("unit_key")).alias("unit"),
        "unit_canonical",
        pl.col("unit_problem").alias("detail"),
        pl.col("unit_refused").alias("_refused"),
    )
    # One join instead of three: the small table holds every (pair, reason, operator) combination,
    # keyed by one integer (0 stands for "no operator": an exact value).
    names = pl.DataFrame(
        {"_reason": list(REASON_NAMES), "reason_name": list(REASON_NAMES.values())},
        schema={"_reason": pl.Int64, "reason_name": pl.String},
    ).join(
        pl.DataFrame(
            {"_op": [0, *OPERATOR_NAMES], "operator_name": [None, *OPERATOR_NAMES.values()]},
            schema={"_op": pl.Int64, "operator_name": pl.String},
        ),
        how="cross",
    )
    small = pairs.join(names, how="cross").select(
        ((pl.col("_pair") * _REASON_SPAN + pl.col("_reason")) * _OPERATOR_SPAN + pl.col("_op")).alias("_text_key"),
        pl.exclude("_pair", "_reason", "_op"),
    )
    key = (c("pair_id").cast(nw.Int64()) * _REASON_SPAN + c("reason").cast(nw.Int64())) * _OPERATOR_SPAN + c(
        "operator"
    ).cast(nw.Int64()).fill_null(0)
    frame = engine.join_small(frame.with_columns(key.alias("_text_key")), small, "_text_key")
    refused = c("_refused").fill_null(value=False)
    return frame.select(
        c("patient_id"),
        c("analyte").cast(nw.String()),
        c("used").cast(nw.Boolean()),
        c("reason_name").alias("reason"),
        c("date").cast(nw.Date()),
        c("days_from_index").cast(nw.Int32()),
        c("value").cast(nw.Float64()),
        c("operator_name").alias("operator"),
        c("unit").cast(nw.String()),
        nw.when(~refused).then(c("value_canonical")).cast(nw.Float64()).alias("value_canonical"),
        c("unit_canonical").cast(nw.String()),
        nw.when(~refused).then(c("upper_canonical")).cast(nw.Float64()).alias("upper_limit_canonical"),
        c("source_id").cast(nw.String()),
        c("detail").cast(nw.String()),
    )


def patient_table_wins(cand: nw.LazyFrame[Any], patients: nw.LazyFrame[Any], keys: list[str]) -> nw.LazyFrame[Any]:
    """A FISH event picked for a patient whose patient table gives that result is not what the table
    shows: not used, reason ``patient_table`` (codes, before :func:`provenance_texts`)."""
    if not keys:
        return cand
    c = nw.col
    flags = [f"_from_table_{k}" for k in keys]
    known = patients.select("patient_id", *((~c(k).is_null()).alias(f) for k, f in zip(keys, flags, strict=True)))
    joined = cand.join(known, on="patient_id", how="left")
    from_table: nw.Expr = nw.lit(value=False)
    for k, f in zip(keys, flags, strict=True):
        from_table = from_table | ((c("analyte_code") == ANALYTE_CODES[k]) & c(f).fill_null(value=False))
    wins = c("used") & from_table
    return joined.with_columns(
        nw.when(wins).then(_code("patient_table")).otherwise(c("reason")).alias("reason"),
        (c("used") & ~wins).alias("used"),
    ).drop(*flags)


def picked_values(used: nw.LazyFrame[Any], analytes: Mapping[str, str]) -> nw.LazyFrame[Any]:
    """One row per patient with a used measurement: ``analytes`` maps analyte key -> output column
    (the canonical number; for a censored value its bound, and ``<column>__op`` its operator code).

    Adds ``_ldh_uln_reported`` (the upper reference limit the LDH measurement came with, canonical).
    """
    c = nw.col
    code = c("analyte_code")
    cols = [nw.when(code == ANALYTE_CODES[k]).then(c("value_canonical")).alias(col) for k, col in analytes.items()]
    with_ops = "operator" in used.collect_schema()  # absent when no value is censored: nothing to carry
    ops = {f"{col}__op": k for k, col in analytes.items()} if with_ops else {}
    cols += [nw.when(code == ANALYTE_CODES[k]).then(c("operator")).alias(name) for name, k in ops.items()]
    cols.append(nw.when(code == ANALYTE_CODES["ldh"]).then(c("upper_canonical")).alias("_ldh_uln_reported"))
    wide = used.select("patient_id", *cols)
    names = [*analytes.values(), *ops, "_ldh_uln_reported"]
    out = wide.group_by("patient_id").agg(*(c(n).max() for n in names), nw.len().alias("_used_rows"))
    # Every used row has a number, so the analytes used are the filled columns. More used rows than
    # that means one source id twice on one date: refused by the caller.
    filled = nw.sum_horizontal(*((~c(col).is_null()).cast(nw.Int64()) for col in analytes.values()))
    return out.with_columns(filled.alias("_used_analytes"))


UNIT_REPORT_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "analyte": pl.String,
    "unit": pl.String,
    "unit_canonical": pl.String,
    "factor": pl.Float64,
    "rows": pl.Int64,
    "accepted": pl.Int64,
    "converted": pl.Int64,
    "refused_unit": pl.Int64,
    "implausible": pl.Int64,
    "value_missing": pl.Int64,
    "censored": pl.Int64,
    "problem": pl.String,
}


def implausible_counts(buckets: pl.DataFrame, lookup: pl.DataFrame) -> tuple[pl.DataFrame, list[int]]:
    """Implausible rows per pair, from the magnitude buckets of :func:`distinct_pairs` where they
    decide it, and the pair ids where they do not.

    Conversion (a positive factor, then rounding) keeps order, so a bucket whose smallest and largest
    numbers both convert inside the analyte's bounds has no implausible row, and one whose numbers
    all convert outside has nothing else. A pair with a bucket across a bound (rare: a bound falls
    inside a power of ten that also holds plausible values) is counted row by row
    (:func:`unit_report_plan`), and so is every FISH pair (only the exact numbers 0 and 1 are results)."""
    ok = lookup.filter(pl.col("analyte_code").is_not_null() & ~pl.col("unit_refused"))
    both = ok.join(buckets.filter(pl.col("bucket").is_not_null()), on=["analyte", "unit_key"], how="inner")
    lo, hi = ((pl.col(f"value_{e}") * pl.col("factor")).round(9) for e in ("min", "max"))
    inside = (lo >= pl.col("plausible_lo")) & (hi <= pl.col("plausible_hi"))
    outside = (hi < pl.col("plausible_lo")) | (lo > pl.col("plausible_hi"))
    both = both.with_columns(inside.alias("_in"), outside.alias("_out"))
    per = both.group_by("pair_id").agg(
        ((pl.col("_in") | pl.col("_out")).all() & (pl.col("analyte_code") < _FIRST_FISH_CODE).all()).alias("decided"),
        pl.when(pl.col("_out")).then(pl.col("rows")).otherwise(0).sum().alias("implausible"),
    )
    known = per.filter("decided").select(pl.col("pair_id").cast(pl.Int32), pl.col("implausible").cast(pl.UInt32))
    return known, sorted(per.filter(~pl.col("decided"))["pair_id"])


def unit_report_plan(
    events: nw.LazyFrame[Any], lookup: pl.DataFrame, window: Window, engine: Engine, pair_ids: list[int]
) -> nw.LazyFrame[Any]:
    """Implausible rows of the given pairs (those :func:`implausible_counts` leaves open), row by row.
    A cheap filter on the received texts and numbers first keeps only rows near or beyond a bound (a
    margin far wider than the rounding of the conversion); the exact test of :func:`exclusions` then
    runs on those few rows only."""
    c = nw.col
    unit_key = c("unit").fill_null("")
    near: nw.Expr = nw.lit(value=False)
    rows = lookup.filter(pl.col("pair_id").is_in(pair_ids))
    columns = ("analyte", "unit_key", "factor", "plausible_lo", "plausible_hi", "analyte_code")
    for a, u, f, lo, hi, code in rows.select(*columns).iter_rows():
        pair = (c("analyte") == a) & (unit_key == u)
        if code >= _FIRST_FISH_CODE:  # few rows, and any number but 0 or 1 is out
            near = near | pair
            continue
        low_edge = (lo * (1 + _MARGIN) + _MARGIN) / f
        high_edge = (hi * (1 - _MARGIN) - _MARGIN) / f
        near = near | (pair & ((c("value") <= low_edge) | (c("value") >= high_edge)))
    quality = [(name, cond) for name, cond in exclusions(window, events) if name in _QUALITY]
    implausible = attached(events.filter(near), lookup, engine).filter(_holds_first(quality, "implausible"))
    return implausible.group_by("pair_id").agg(nw.len().alias("implausible"))


_MARGIN = 1e-6  # relative and absolute; the conversion rounds to 1e-9


def finish_unit_report(
    implausible: pl.DataFrame, pairs: pl.DataFrame, lookup: pl.DataFrame, unknown: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Per analyte and unit as received: rows, accepted, converted (factor != 1), refused with why.

    The reasons are counted in :func:`prepared`'s order: a refused unit first (every row of the
    pair), then no number, then implausible; accepted is what is left.
    """
    texts = lookup.filter(pl.col("analyte_key").is_not_null()).select(
        "pair_id",
        "analyte",
        "unit_key",
        pl.col("analyte_key").alias("analyte_out"),
        pl.when(pl.col("unit_key") != "").then(pl.col("unit_key")).alias("unit"),
        "unit_canonical",
        "factor",
        "unit_refused",
        pl.col("unit_problem").alias("problem"),
    )
    counts = pairs.select("analyte", "unit_key", "rows", "value_missing", "censored")
    out = texts.join(counts, on=["analyte", "unit_key"], how="inner", nulls_equal=True)
    out = out.join(implausible.with_columns(pl.col("pair_id").cast(pl.Int32)), on="pair_id", how="left")
    refused = pl.col("unit_refused")
    out = out.with_columns(
        pl.when(refused).then(pl.col("rows")).otherwise(0).alias("refused_unit"),
        pl.when(refused).then(0).otherwise(pl.col("value_missing")).alias("value_missing"),
        pl.when(refused).then(0).otherwise(pl.col("implausible").fill_null(0)).alias("implausible"),
        pl.when(refused).then(0).otherwise(pl.col("censored")).alias("censored"),
    )
    out = out.with_columns(
        (pl.col("rows") - pl.col("refused_unit") - pl.col("value_missing") - pl.col("implausible")).alias("accepted")
    )
    out = out.with_columns(pl.when(pl.col("factor") != 1.0).then(pl.col("accepted")).otherwise(0).alias("converted"))
    # Spellings of one unit ("µg/L", "ug/L") are distinct pairs; the report keeps them apart.
    out = out.drop("analyte").rename({"analyte_out": "analyte"})
    out = out.group_by("analyte", "unit").agg(
        pl.col("unit_canonical").first(),
        pl.col("factor").first(),
        *(
            pl.col(n).sum()
            for n in ("rows", "accepted", "converted", "refused_unit", "implausible", "value_missing", "censored")
        ),
        pl.col("problem").first(),
    )
    out = out.select([pl.col(k).cast(v) for k, v in UNIT_REPORT_SCHEMA.items()]).sort(
        "analyte", "unit", nulls_last=True
    )
    if unknown is not None and unknown.height:
        out = pl.concat([out, unknown], how="diagonal_relaxed").select(list(UNIT_REPORT_SCHEMA))
    return out
