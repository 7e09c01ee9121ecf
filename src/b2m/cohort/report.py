"""The cohort report: one self-contained HTML page, with every number beside it as JSON and CSV.

``write_report(table, out_dir, ...)`` writes

- ``report.html``: works offline (no CDN, no external address); figures are inline SVG drawn by
  matplotlib (Agg, no pyplot state): Kaplan–Meier curves per staging system with at-risk tables,
  stage distributions, B2M against eGFR (CKD-EPI 2021 creatinine, :mod:`b2m.kidney`) and a Cox
  forest plot; stated assumptions (an LDH upper limit the user supplied) at the top;
- ``report.json``: every number of the page (the survival numbers are :meth:`CohortAnalysis.to_dict`);
- ``*.csv``: the same numbers as flat tables, made from the JSON document.

The survival numbers come from :mod:`b2m.cohort.survival`; this module only lays them out. With
``min_cell_count`` every count below it is written ``"<N"``, and wherever counts add up to a
published total a second count is hidden as well (``">=N"``, :func:`b2m.cohort.suppression.suppress_tree`)
so that no small one can be worked out by subtraction; Kaplan–Meier groups whose size or events are
hidden are not drawn, and the B2M–eGFR figure shows category summaries instead of individual patients.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import re
import sys
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

import matplotlib

matplotlib.use("Agg")  # no display: set before anything draws

import numpy as np
import polars as pl
from jinja2 import Environment, select_autoescape
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

import b2m
from b2m.cohort.suppression import Shown, complement_mark, is_hidden, suppress, suppress_group
from b2m.cohort.survival import (
    DEFAULT_BOOTSTRAP,
    DEFAULT_SEED,
    ENDPOINTS,
    STAGES,
    SYSTEM_LABELS,
    CohortAnalysis,
    ProgressHook,
    analyse,
)
from b2m.errors import InputError
from b2m.kidney import KDIGO_GFR_CATEGORIES, ckd_epi_2021_creatinine, egfr_stage
from b2m.kidney.ckd_epi_2021_creatinine import RULE as CKD_EPI_2021
from b2m.rules.iss import B2M_STAGE_I_BELOW_MG_L, B2M_STAGE_III_MIN_MG_L

# Okabe-Ito palette (safe for the common colour-vision deficiencies), one colour per stage.
STAGE_COLOURS = ("#0072B2", "#E69F00", "#D55E00", "#CC79A7")
GREY = "#6b6b6b"
LOG_TICKS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0)
SCATTER_MAX_POINTS = 20_000  # B2M–eGFR scatter: a seeded sample of this many patients when larger
INPUT_COLUMNS = (
    "b2m_mg_l",
    "albumin_g_dl",
    "ldh_u_l",
    "ldh_uln_u_l",
    "del17p",
    "t4_14",
    "t14_16",
    "gain1q",
    "creatinine_mg_dl",
    "age",
    "sex",
)
DISCLAIMER = (
    "Research use. Decision support, not diagnosis: survival differences between stages describe this cohort "
    "and its treatment era, not an individual patient's prognosis."
)


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    json: Path
    csv: tuple[Path, ...]


def ldh_uln_assumption(ldh_uln_u_l: float) -> str:
    """The sentence the report shows when the LDH upper limit of normal was supplied by the user."""
    return (
        f"LDH upper limit of normal ASSUMED to be {ldh_uln_u_l:g} U/L for every patient without a laboratory-reported "
        "limit (user-supplied). 'LDH high', used by R-ISS and R2-ISS, rests on this value."
    )


# --------------------------------------------------------------------------- kidney function


def egfr_ckd_epi_2021(table: pl.DataFrame) -> pl.Series:
    """CKD-EPI 2021 creatinine eGFR per row (the engine's equation, one call per patient).

    Null where creatinine, age or sex is missing or refused by the equation (it says why for one
    patient; for a cohort the count of such rows is in the report's completeness table).
    """
    needed = ("creatinine_mg_dl", "age", "sex")
    if not all(c in table.columns for c in needed):
        return pl.Series("egfr", [None] * table.height, dtype=pl.Float64)
    values: list[float | None] = []
    for scr, age, sex in table.select(
        pl.col("creatinine_mg_dl").cast(pl.Float64),
        pl.col("age").cast(pl.Float64),
        pl.col("sex").cast(pl.String).str.to_lowercase(),
    ).iter_rows():
        if scr is None or age is None or sex not in ("female", "male"):
            values.append(None)
            continue
        try:
            values.append(ckd_epi_2021_creatinine(creatinine_mg_dl=scr, age_years=age, sex=sex).value)
        except InputError:
            values.append(None)
    return pl.Series("egfr", values, dtype=pl.Float64)


def _quantile(values: pl.Series, q: float) -> float:
    """Quantile with linear interpolation (numpy's default, as R's type 7)."""
    return float(np.quantile(values.to_numpy(), q))


def b2m_by_egfr(table: pl.DataFrame, egfr: pl.Series, min_cell_count: int | None) -> list[dict[str, Any]]:
    """Per KDIGO GFR category: patients, median and quartiles of B2M, share in ISS stage III.

    With ``min_cell_count`` only the patients with a B2M per category are published (the counts the
    quartiles describe), suppressed as one group with the patients left out (no eGFR or no B2M,
    its own row) against the number of patients; B2M quartiles of fewer than N patients are not
    shown. The other counts of a row (patients, ISS staged, ISS III and its share) are not
    published then: they nest inside one another, so their differences would be small groups
    (one patient without a B2M in a category, say) that no suppression of a column can hide.
    """
    rows = table.select(pl.col("b2m_mg_l").cast(pl.Float64), pl.col("iss").cast(pl.String)).with_columns(
        egfr.alias("egfr")
    )
    rows = rows.filter(pl.col("egfr").is_not_null())
    cats = [egfr_stage(x) for x in rows["egfr"].to_list()]
    rows = rows.with_columns(pl.Series("cat", cats, dtype=pl.String))
    b2m: dict[str, pl.Series] = {}
    counts: dict[str, dict[str, int]] = {"n": {}, "n_b2m": {}, "n_iss_staged": {}, "n_iss_iii": {}}
    for _, cat in KDIGO_GFR_CATEGORIES:
        g = rows.filter(pl.col("cat") == cat)
        b2m[cat] = g["b2m_mg_l"].drop_nulls()
        staged = g.filter(pl.col("iss").is_not_null())
        counts["n"][cat] = g.height
        counts["n_b2m"][cat] = b2m[cat].len()
        counts["n_iss_staged"][cat] = staged.height
        counts["n_iss_iii"][cat] = int((staged["iss"] == "III").sum())
    shown = {col: suppress_group(by_cat, min_cell_count)[0] for col, by_cat in counts.items()}
    registry = min_cell_count is not None and min_cell_count > 1
    rest = table.height - sum(counts["n_b2m"].values())
    if registry:
        with_rest, _ = suppress_group({**counts["n_b2m"], REST: rest}, min_cell_count)
        shown["n_b2m"] = with_rest
    out = []
    for _, cat in KDIGO_GFR_CATEGORIES:
        b = b2m[cat]
        few = min_cell_count is not None and 0 < b.len() < min_cell_count
        staged_n, n_iii = counts["n_iss_staged"][cat], counts["n_iss_iii"][cat]
        pct_hidden = is_hidden(shown["n_iss_staged"][cat]) or is_hidden(shown["n_iss_iii"][cat])
        out.append(
            {
                "kdigo_category": cat,
                "n": None if registry else shown["n"][cat],
                "n_b2m": shown["n_b2m"][cat],
                "b2m_median_mg_l": None if few or b.is_empty() else _quantile(b, 0.5),
                "b2m_q1_mg_l": None if few or b.is_empty() else _quantile(b, 0.25),
                "b2m_q3_mg_l": None if few or b.is_empty() else _quantile(b, 0.75),
                "n_iss_staged": None if registry else shown["n_iss_staged"][cat],
                "n_iss_iii": None if registry else shown["n_iss_iii"][cat],
                "pct_iss_iii": None if registry or pct_hidden or staged_n == 0 else 100.0 * n_iii / staged_n,
            }
        )
    if registry:
        none = dict.fromkeys(out[0]) if out else {}
        out.append({**none, "kdigo_category": REST, "n_b2m": shown["n_b2m"][REST]})
    return out


REST = "no eGFR or no B2M"  # the row that completes the B2M-by-eGFR counts under suppression


# --------------------------------------------------------------------------- figures


def _svg(fig: Figure, key: str, label: str) -> str:
    """Inline ``<svg>``: no prolog, DOCTYPE, metadata or namespace addresses; ids prefixed by ``key``."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r'\s+xmlns(?::\w+)?="[^"]*"', "", svg)
    svg = re.sub(r'(\bid=")([^"]+)(")', lambda m: f"{m[1]}{key}-{m[2]}{m[3]}", svg)
    svg = re.sub(r'(href="#)([^"]+)(")', lambda m: f"{m[1]}{key}-{m[2]}{m[3]}", svg)
    svg = re.sub(r"(url\(#)([^)]+)(\))", lambda m: f"{m[1]}{key}-{m[2]}{m[3]}", svg)
    return svg.replace("<svg", f'<svg role="img" aria-label="{html.escape(label)}"', 1)


def _km_figure(km: Mapping[str, Any], key: str) -> str:
    groups = [g for g in km["groups"] if not g["suppressed"]]
    if not groups:
        return ""
    times = km["at_risk_times"]
    fig = Figure(figsize=(6.4, 3.4 + 0.22 * len(km["groups"])))
    gs = fig.add_gridspec(2, 1, height_ratios=[4.0, 0.6 + 0.28 * len(km["groups"])], hspace=0.35)
    ax = fig.add_subplot(gs[0])
    for g in groups:
        colour = STAGE_COLOURS[STAGES[km["system"]].index(g["stage"])]
        c = g["curve"]
        t = np.asarray(c["time"], dtype=float)
        ax.step(t, np.asarray(c["survival"], dtype=float), where="post", color=colour, lw=1.6, label=g["stage"])
        lo = np.asarray([np.nan if v is None else v for v in c["lower"]], dtype=float)
        hi = np.asarray([np.nan if v is None else v for v in c["upper"]], dtype=float)
        ax.fill_between(t, lo, hi, step="post", color=colour, alpha=0.12, lw=0)
    label = SYSTEM_LABELS[km["system"]]
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, max(times) if times and max(times) > 0 else 1)
    ax.set_ylabel(f"{ENDPOINTS[km['endpoint']]}")
    ax.set_xticks(times)
    ax.grid(alpha=0.25)
    ax.legend(title=label, loc="lower left", frameon=False, fontsize=8, title_fontsize=8)
    ax.set_title(f"{label}: Kaplan–Meier, {ENDPOINTS[km['endpoint']]}", fontsize=10, loc="left")
    table_ax = fig.add_subplot(gs[1], sharex=ax)
    table_ax.set_axis_off()
    table_ax.set_title("Number at risk (months)", fontsize=8, loc="left")
    n_rows = len(km["groups"])
    for i, g in enumerate(km["groups"]):
        y = 1 - (i + 0.5) / max(n_rows, 1)
        colour = STAGE_COLOURS[STAGES[km["system"]].index(g["stage"])]
        table_ax.text(
            -0.06,
            y,
            g["stage"],
            transform=table_ax.get_yaxis_transform(),
            ha="right",
            va="center",
            color=colour,
            fontsize=8,
        )
        at_risk = {r["time"]: r["n"] for r in g.get("at_risk", [])}
        for t in times:
            value = at_risk.get(t, g["n"] if g["suppressed"] else "")
            table_ax.text(t, y, str(value), ha="center", va="center", fontsize=7.5)
    table_ax.set_ylim(0, 1)
    return _svg(fig, key, f"Kaplan–Meier curves by {label} stage with numbers at risk")


def _distribution_figure(accounting: Sequence[Mapping[str, Any]], key: str) -> str:
    fig = Figure(figsize=(7.2, 2.6))
    axes = fig.subplots(1, len(accounting), sharey=True)
    for ax, acc in zip(np.atleast_1d(axes), accounting, strict=True):
        labels = [*STAGES[acc["system"]], "not staged"]
        values = [*acc["by_stage"].values(), acc["n_unstaged"]]
        heights = [v if isinstance(v, int) else 0 for v in values]
        colours = [*STAGE_COLOURS[: len(labels) - 1], GREY]
        ax.bar(range(len(labels)), heights, color=colours)
        for x, (h, v) in enumerate(zip(heights, values, strict=True)):
            ax.text(x, h, str(v), ha="center", va="bottom", fontsize=7.5)
        ax.set_xticks(range(len(labels)), labels, fontsize=8)
        ax.set_title(acc["label"], fontsize=9)
        ax.grid(axis="y", alpha=0.25)
    np.atleast_1d(axes)[0].set_ylabel("patients")
    fig.tight_layout()
    return _svg(fig, key, "Stage distribution per staging system, with the patients each could not stage")


def _egfr_figure(
    table: pl.DataFrame, egfr: pl.Series, summary: Sequence[Mapping[str, Any]], min_cell_count: int | None, key: str
) -> tuple[str, str]:
    fig = Figure(figsize=(7.2, 3.2))
    ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    note = ""
    if min_cell_count is None:
        pts = table.select(pl.col("b2m_mg_l").cast(pl.Float64), pl.col("iss").cast(pl.String)).with_columns(
            egfr.alias("egfr")
        )
        pts = pts.filter(pl.col("egfr").is_not_null() & (pl.col("b2m_mg_l") > 0))
        if pts.height > SCATTER_MAX_POINTS:
            pts = pts.sample(SCATTER_MAX_POINTS, seed=DEFAULT_SEED)
            note = f"Scatter shows a seeded random sample of {SCATTER_MAX_POINTS:,} patients; the table uses all."
        for i, stage in enumerate((*STAGES["iss"], None)):
            g = pts.filter(pl.col("iss").is_null() if stage is None else pl.col("iss") == stage)
            if g.height:
                ax.scatter(
                    g["egfr"].to_numpy(),
                    g["b2m_mg_l"].to_numpy(),
                    s=7,
                    alpha=0.6,
                    lw=0,
                    color=STAGE_COLOURS[i] if stage else GREY,
                    label=f"ISS {stage}" if stage else "ISS not staged",
                )
        ax.set_yscale("log")
        _plain_log_axis(ax.yaxis)
        ax.legend(fontsize=7, frameon=False, loc="upper right", markerscale=1.5)
    else:
        note = f"Individual patients are not drawn (small-count suppression, N = {min_cell_count})."
        ax.text(0.5, 0.5, "individual points suppressed", ha="center", va="center", transform=ax.transAxes, fontsize=8)
    for y in (B2M_STAGE_I_BELOW_MG_L, B2M_STAGE_III_MIN_MG_L):
        ax.axhline(y, color=GREY, ls="--", lw=0.8)
        ax.text(1.0, y, f" {y:g}", transform=ax.get_yaxis_transform(), va="center", fontsize=7, color=GREY)
    for lower, _cat in KDIGO_GFR_CATEGORIES:
        if lower in (30.0, 60.0):
            ax.axvline(lower, color=GREY, ls=":", lw=0.8)
    ax.set_xlabel("eGFR, CKD-EPI 2021 creatinine (mL/min/1.73 m²)", fontsize=8)
    ax.set_ylabel("B2M (mg/L)", fontsize=8)
    ax.set_title("B2M against kidney function", fontsize=9, loc="left")
    ax.grid(alpha=0.25)
    shown = [r for r in summary if r["b2m_median_mg_l"] is not None]
    xs = range(len(shown))
    med = [r["b2m_median_mg_l"] for r in shown]
    err = [
        [m - r["b2m_q1_mg_l"] for m, r in zip(med, shown, strict=True)],
        [r["b2m_q3_mg_l"] - m for m, r in zip(med, shown, strict=True)],
    ]
    ax2.errorbar(xs, med, yerr=err, fmt="o", color=STAGE_COLOURS[0], capsize=3)
    ax2.axhline(B2M_STAGE_III_MIN_MG_L, color=GREY, ls="--", lw=0.8)
    ax2.set_xticks(list(xs), [f"{r['kdigo_category']}\nn={r['n_b2m']}" for r in shown], fontsize=7)
    ax2.set_ylabel("B2M median and IQR (mg/L)", fontsize=8)
    ax2.set_title("by KDIGO GFR category", fontsize=9, loc="left")
    ax2.grid(alpha=0.25)
    fig.tight_layout()
    return _svg(fig, key, "B2M against eGFR: renal confounding of B2M"), note


def _plain_log_axis(axis: Any) -> None:
    """Log axis labelled with plain numbers (1, 2, 5, 10), not powers of ten."""
    axis.set_major_locator(FixedLocator(LOG_TICKS))
    axis.set_minor_locator(NullLocator())
    formatter = ScalarFormatter()
    formatter.set_scientific(False)
    axis.set_major_formatter(formatter)


def _forest_figure(cox: Mapping[str, Any], key: str) -> str:
    rows: list[tuple[str, Mapping[str, Any] | None]] = []
    for m in cox["models"]:
        rows.append((m["label"], None))
        rows.extend(
            (f"{t['label']}", t)
            for t in m["terms"]
            if t["hr"] is not None and t["lower"] is not None and t["upper"] is not None
        )
    fig = Figure(figsize=(7.2, 0.9 + 0.2 * max(len(rows), 1)))
    ax = fig.add_subplot()
    ys = np.arange(len(rows))[::-1]
    lows = [t["lower"] for _, t in rows if t is not None]
    highs = [t["upper"] for _, t in rows if t is not None]
    for y, (_, t) in zip(ys, rows, strict=True):
        if t is None:
            continue
        ax.plot([t["lower"], t["upper"]], [y, y], color=STAGE_COLOURS[0], lw=1.2)
        ax.plot([t["hr"]], [y], "s", color=STAGE_COLOURS[0], ms=4)
        ax.text(
            1.01,
            y,
            f"{t['hr']:.2f} ({t['lower']:.2f}–{t['upper']:.2f})",
            transform=ax.get_yaxis_transform(),
            va="center",
            fontsize=7,
        )
    ax.axvline(1.0, color=GREY, lw=0.8)
    ax.set_xscale("log")
    if lows and highs:
        ax.set_xlim(min(0.8, min(lows) / 1.1), max(1.25, max(highs) * 1.1))
    _plain_log_axis(ax.xaxis)
    ax.set_yticks(ys, [("" if t is None else "   ") + label for label, t in rows], fontsize=7)
    for tick, (_, t) in zip(ax.get_yticklabels(), rows, strict=True):
        if t is None:
            tick.set_fontweight("bold")
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel(f"hazard ratio ({ENDPOINTS[cox['endpoint']]}), 95% CI, log scale", fontsize=8)
    ax.set_title(f"Cox models, {ENDPOINTS[cox['endpoint']]}", fontsize=9, loc="left")
    ax.grid(axis="x", alpha=0.25)
    fig.tight_layout()
    return _svg(fig, key, f"Cox forest plot, {ENDPOINTS[cox['endpoint']]}")


# --------------------------------------------------------------------------- CSV


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for r in rows:
            w.writerow(["" if v is None else v for v in r])
    return path


def _csv_files(doc: Mapping[str, Any], out: Path) -> tuple[Path, ...]:
    s = doc["survival"]
    files = [
        _write_csv(
            out / "staging_accounting.csv",
            ["system", "stage_or_possible_range", "staged", "patients"],
            [
                *[(a["system"], k, True, v) for a in s["staging_accounting"] for k, v in a["by_stage"].items()],
                *[
                    (a["system"], k, False, v)
                    for a in s["staging_accounting"]
                    for k, v in a["unstaged_by_possible"].items()
                ],
            ],
        ),
        _write_csv(
            out / "km_summary.csv",
            ["endpoint", "system", "stage", "n", "events", "median_months", "median_lower", "median_upper"],
            [
                (k["endpoint"], k["system"], g["stage"], g["n"], g["events"])
                + (
                    (g["median"]["estimate"], g["median"]["lower"], g["median"]["upper"])
                    if "median" in g
                    else (None,) * 3
                )
                for k in s["kaplan_meier"]
                for g in k["groups"]
            ],
        ),
        _write_csv(
            out / "km_landmarks.csv",
            ["endpoint", "system", "stage", "time_months", "survival", "lower", "upper"],
            [
                (k["endpoint"], k["system"], g["stage"], m["time"], m["estimate"], m["lower"], m["upper"])
                for k in s["kaplan_meier"]
                for g in k["groups"]
                for m in g.get("landmarks", [])
            ],
        ),
        _write_csv(
            out / "km_at_risk.csv",
            ["endpoint", "system", "stage", "time_months", "at_risk"],
            [
                (k["endpoint"], k["system"], g["stage"], r["time"], r["n"])
                for k in s["kaplan_meier"]
                for g in k["groups"]
                for r in g.get("at_risk", [])
            ],
        ),
        _write_csv(
            out / "km_curves.csv",
            ["endpoint", "system", "stage", "time_months", "survival", "lower", "upper"],
            [
                (k["endpoint"], k["system"], g["stage"], *v)
                for k in s["kaplan_meier"]
                for g in k["groups"]
                if "curve" in g
                for v in zip(
                    g["curve"]["time"], g["curve"]["survival"], g["curve"]["lower"], g["curve"]["upper"], strict=True
                )
            ],
        ),
        _write_csv(
            out / "logrank.csv",
            ["endpoint", "system", "comparison", "chi2", "df", "p", "p_adjustment"],
            [
                row
                for r in s["logrank"]
                for row in [
                    (r["endpoint"], r["system"], "overall", r["chi2"], r["df"], r["p"], "none"),
                    *[
                        (r["endpoint"], r["system"], f"{p['a']} vs {p['b']}", p["chi2"], 1, p["p"], "none")
                        for p in r["pairwise"]
                    ],
                ]
            ],
        ),
        _write_csv(
            out / "cox.csv",
            ["endpoint", "model", "model_label", "n", "events", "term", "term_label", "hr", "lower", "upper", "p"],
            [
                (
                    c["endpoint"],
                    m["name"],
                    m["label"],
                    m["n"],
                    m["events"],
                    t["term"],
                    t["label"],
                    t["hr"],
                    t["lower"],
                    t["upper"],
                    t["p"],
                )
                for c in s["cox"]
                for m in c["models"]
                for t in m["terms"]
            ],
        ),
        _write_csv(
            out / "concordance.csv",
            [
                "endpoint",
                "systems_compared",
                "n",
                "events",
                "system",
                "harrell",
                "harrell_lower",
                "harrell_upper",
                "uno",
                "uno_lower",
                "uno_upper",
                "bootstrap",
                "seed",
            ],
            [
                (c["endpoint"], "+".join(c["systems"]), c["n"], c["events"], r["system"])
                + (r["harrell"]["estimate"], r["harrell"]["lower"], r["harrell"]["upper"])
                + ((r["uno"]["estimate"], r["uno"]["lower"], r["uno"]["upper"]) if r["uno"] else (None,) * 3)
                + (c["bootstrap"], c["seed"])
                for c in s["concordance"]
                for r in c["rows"]
            ],
        ),
        _write_csv(
            out / "concordance_differences.csv",
            ["endpoint", "systems_compared", "kind", "a", "b", "b_minus_a", "lower", "upper"],
            [
                (
                    c["endpoint"],
                    "+".join(c["systems"]),
                    d["kind"],
                    d["a"],
                    d["b"],
                    d["estimate"],
                    d["lower"],
                    d["upper"],
                )
                for c in s["concordance"]
                for d in c["differences"]
            ],
        ),
        _write_csv(
            out / "b2m_by_egfr.csv",
            list(doc["b2m_by_egfr"][0]) if doc["b2m_by_egfr"] else ["kdigo_category"],
            [tuple(r.values()) for r in doc["b2m_by_egfr"]],
        ),
        _write_csv(
            out / "data_completeness.csv",
            ["column", "known", "unknown"],
            [(c["column"], c["known"], c["unknown"]) for c in doc["data_completeness"]],
        ),
    ]
    units = doc.get("extra", {}).get("unit_report")
    if units:
        files.append(_write_csv(out / "unit_report.csv", list(units[0]), [tuple(r.values()) for r in units]))
    return tuple(files)


# --------------------------------------------------------------------------- page


def _completeness(table: pl.DataFrame, min_cell_count: int | None) -> list[dict[str, Any]]:
    """Known and unknown per input column; they add up to the number of patients (published), so
    each pair is suppressed as a group (:func:`suppress_group`)."""
    out = []
    for c in INPUT_COLUMNS:
        known = int(table[c].is_not_null().sum()) if c in table.columns else 0
        shown, _ = suppress_group({"known": known, "unknown": table.height - known}, min_cell_count)
        out.append({"column": c, **shown})
    return out


UNIT_REPORT_PARTS = ("accepted", "refused_unit", "implausible", "value_missing")  # add up to "rows"
# counts that are a part of some of those (converted: of accepted; censored: of what had a number)
UNIT_REPORT_SUBCOUNTS = {"converted": ("accepted",), "censored": ("accepted", "implausible")}


def suppress_unit_report(units: pl.DataFrame, min_cell_count: int | None) -> list[dict[str, Any]]:
    """The loader's unit report as JSON rows, with small-count suppression.

    In each row ``rows = accepted + refused_unit + implausible + value_missing``; these are
    suppressed as a group whose total is published only here (:func:`suppress_group`).
    ``converted`` is a part of ``accepted`` (all of it when the unit needed a factor) and
    ``censored`` of ``accepted + implausible``; shown, either could bound a hidden part to one
    value, so it is hidden (``">=N"``) whenever one of its parts is. Every other count is suppressed
    on its own (:func:`suppress`), as is every count of a row whose parts do not add up (an
    unrecognised analyte has none).
    """
    out: list[dict[str, Any]] = []
    for row in units.iter_rows(named=True):
        counts = {k: v for k, v in row.items() if units.schema[k].is_integer() and v is not None}
        shown: dict[str, Shown] = {k: suppress(int(v), min_cell_count) for k, v in counts.items()}
        if min_cell_count is not None and "rows" in counts and all(k in counts for k in UNIT_REPORT_PARTS):
            parts = {k: int(counts[k]) for k in UNIT_REPORT_PARTS}
            if sum(parts.values()) == counts["rows"]:
                part_shown, shown["rows"] = suppress_group(parts, min_cell_count, fixed_total=False)
                shown.update(part_shown)
                for sub, within in UNIT_REPORT_SUBCOUNTS.items():
                    if counts.get(sub, 0) >= min_cell_count and any(is_hidden(shown[k]) for k in within):
                        shown[sub] = complement_mark(min_cell_count)
        out.append({k: shown.get(k, v) for k, v in row.items()})
    return out


def _fmt(x: Any, digits: int = 2) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        if not math.isfinite(x):
            return "–"
        return f"{x:.{digits}f}"
    return str(x)


def _fmt_p(p: Any) -> str:
    if p is None:
        return "–"
    return "< 0.0001" if p < 1e-4 else f"{p:.4f}"


def _environment() -> Environment:
    env = Environment(autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = _fmt
    env.filters["p"] = _fmt_p
    env.globals["system_label"] = env.filters["system_label"] = SYSTEM_LABELS.__getitem__
    env.globals["endpoint_label"] = ENDPOINTS.__getitem__
    return env


_COUNT_IN_TEXT = re.compile(r"\b(\d+)(?=(?: of \d+)? patients?\b| yes\b)")


def _registry_note(note: Mapping[str, Any], n: int | None) -> dict[str, Any]:
    """A data note as published: with suppression on, no patient ids, no per-patient values (the note's
    ``registry_text``), and its counts (the ``count`` field and counts written in its text, "3
    patients", "3 of 565 patients", "12 yes") below N as "<N"."""
    if n is None:
        return {k: v for k, v in note.items() if k != "registry_text"}
    out = {k: v for k, v in note.items() if k not in ("patient_ids", "registry_text")}
    if isinstance(note.get("registry_text"), str):  # the same note without per-patient values
        out["text"] = note["registry_text"]
    if isinstance(out.get("count"), int):
        out["count"] = suppress(out["count"], n)
    if isinstance(out.get("text"), str):
        out["text"] = _COUNT_IN_TEXT.sub(lambda m: str(suppress(int(m.group(1)), n)), out["text"])
    return out


def build_document(
    table: pl.DataFrame,
    analysis: CohortAnalysis,
    egfr: pl.Series,
    *,
    title: str,
    provenance: Mapping[str, Any],
    notes: Sequence[Mapping[str, Any]],
    assumptions: Sequence[str],
    min_cell_count: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON document of the report (everything the page shows)."""
    n = min_cell_count if min_cell_count is not None and min_cell_count > 1 else None
    return {
        "title": title,
        "b2m_version": b2m.__version__,
        "provenance": dict(provenance),
        "assumptions": list(assumptions),
        # patient identifiers are never written into registry output (small-count suppression on)
        "data_notes": [_registry_note(x, n) for x in notes],
        "min_cell_count": n,
        "data_completeness": _completeness(table, n),
        "egfr_equation": {"id": CKD_EPI_2021.id, "title": CKD_EPI_2021.title, "doi": CKD_EPI_2021.source.doi},
        "b2m_by_egfr": b2m_by_egfr(table, egfr, n),
        "survival": analysis.to_dict(n),
        **({"extra": dict(extra)} if extra else {}),
        "disclaimer": DISCLAIMER,
    }


def write_report(
    table: pl.DataFrame,
    out_dir: Path,
    *,
    title: str,
    provenance: Mapping[str, Any],
    notes: Sequence[Mapping[str, Any]] = (),
    assumptions: Sequence[str] = (),
    min_cell_count: int | None = None,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    seed: int = DEFAULT_SEED,
    extra: Mapping[str, Any] | None = None,
    progress: ProgressHook | None = None,
) -> ReportFiles:
    """Analyse ``table`` (the cohort table of ``b2m.cohort.load``) and write the report into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if progress:
        progress("preparing: kidney function (CKD-EPI 2021)", 0, 0)
    egfr = egfr_ckd_epi_2021(table)
    analysis = analyse(table, egfr=egfr, bootstrap=bootstrap, seed=seed, progress=progress)
    doc = build_document(
        table,
        analysis,
        egfr,
        title=title,
        provenance=provenance,
        notes=notes,
        assumptions=assumptions,
        min_cell_count=min_cell_count,
        extra=extra,
    )
    if progress:
        progress("preparing: figures and files", 0, 0)
    s = doc["survival"]
    figures = {
        "distribution": _distribution_figure(s["staging_accounting"], "dist"),
        "km": {
            f"{k['endpoint']}:{k['system']}": _km_figure(k, f"km-{k['endpoint']}-{k['system']}")
            for k in s["kaplan_meier"]
        },
        "forest": {c["endpoint"]: _forest_figure(c, f"forest-{c['endpoint']}") for c in s["cox"] if c["models"]},
    }
    egfr_svg, egfr_note = _egfr_figure(table, egfr, doc["b2m_by_egfr"], doc["min_cell_count"], "egfr")
    json_path = out_dir / "report.json"
    json_path.write_text(json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
    csv_paths = _csv_files(doc, out_dir)
    template = _environment().from_string(
        resources.files("b2m.cohort").joinpath("templates/report.html.j2").read_text(encoding="utf-8")
    )
    page = template.render(
        doc=doc,
        s=s,
        figures=figures,
        egfr_svg=egfr_svg,
        egfr_note=egfr_note,
        files=[json_path.name, *(p.name for p in csv_paths)],
        logrank={f"{r['endpoint']}:{r['system']}": r for r in s["logrank"]},
        iss_iii_b2m=f"{B2M_STAGE_III_MIN_MG_L:g}",
    )
    html_path = out_dir / "report.html"
    html_path.write_text(page, encoding="utf-8")
    return ReportFiles(html_path, json_path, csv_paths)


def write_example_report(
    out_dir: Path,
    *,
    ldh_uln_u_l: float | None = None,
    min_cell_count: int | None = None,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    seed: int = DEFAULT_SEED,
    progress: ProgressHook | None = None,
) -> ReportFiles:
    """The report on the bundled GSE24080 cohort (``b2m demo``, ``b2m cohort report gse24080``)."""
    from b2m.cohort import gse24080

    cohort = gse24080.load(ldh_uln_u_l=ldh_uln_u_l)
    notes = [n.to_dict() for n in cohort.notes]
    if ldh_uln_u_l is None:
        notes.append(
            {
                "code": "ldh_uln_unknown",
                "text": "No LDH upper limit of normal was given (the data have none; pass --ldh-uln to assume one): "
                "LDH can be neither high nor normal, so R-ISS and R2-ISS stay ranges wherever LDH matters.",
                "count": cohort.table.height,
                "patient_ids": [],
            }
        )
    return write_report(
        cohort.table,
        out_dir,
        title="GSE24080: UAMS Total Therapy 2 and 3, newly diagnosed multiple myeloma",
        provenance=cohort.provenance,
        notes=notes,
        assumptions=cohort.assumptions,
        min_cell_count=min_cell_count,
        bootstrap=bootstrap,
        seed=seed,
        progress=progress,
    )


# --------------------------------------------------------------------------- command entry points

EXAMPLE_DATASETS = ("gse24080",)
COHORT_KINDS = ("wide", "long", "omop")


def _plain(obj: Any) -> Any:
    """A JSON-ready copy of a provenance or unit-report object of any reasonable shape."""
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [_plain(v) for v in obj]
    if isinstance(obj, pl.DataFrame):
        return [_plain(r) for r in obj.to_dicts()]
    if isinstance(obj, Path):
        return str(obj)
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        return _plain(to_dict())
    if hasattr(obj, "__dataclass_fields__"):
        return {f: _plain(getattr(obj, f)) for f in obj.__dataclass_fields__}
    return str(obj)


def cohort_report(
    source: str,
    out_dir: Path,
    *,
    kind: str = "wide",
    patients: str | None = None,
    engine: str = "polars",
    ldh_uln_u_l: float | None = None,
    min_cell_count: int | None = None,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    seed: int = DEFAULT_SEED,
    progress: ProgressHook | None = None,
    fish_concept_ids: Mapping[str, Collection[int]] | None = None,
    window_days: tuple[int, int] = (-60, 30),
    policy: str = "nearest",
) -> ReportFiles:
    """``b2m cohort report``: load the cohort (:func:`b2m.cohort.load.load_cohort`) and write the report.

    ``source`` may also name a bundled example dataset (``gse24080``). The loader's per-measurement
    audit trail is not copied into the report (it holds dates and ids); its unit report is, as
    ``unit_report.csv`` and in the JSON document.
    """
    if kind not in COHORT_KINDS:
        raise InputError("--kind", f"unknown kind {kind!r}", ", ".join(COHORT_KINDS))
    if source.lower() in EXAMPLE_DATASETS and not Path(source).exists():
        return write_example_report(
            out_dir,
            ldh_uln_u_l=ldh_uln_u_l,
            min_cell_count=min_cell_count,
            bootstrap=bootstrap,
            seed=seed,
            progress=progress,
        )
    from b2m.cohort.load import load_cohort

    if progress:
        progress("preparing: loading the cohort", 0, 0)
    data = load_cohort(
        source,
        kind=kind,  # type: ignore[arg-type]  # checked against COHORT_KINDS above
        engine=engine,  # type: ignore[arg-type]  # the loader refuses an unknown engine with an InputError
        patients=patients,
        ldh_uln_u_l=ldh_uln_u_l,
        provenance="none",
        fish_concept_ids=fish_concept_ids,
        window_days=window_days,
        policy=policy,  # type: ignore[arg-type]  # the loader refuses an unknown policy by name
    )
    table = data.table
    n = min_cell_count if min_cell_count is not None and min_cell_count > 1 else None
    notes: list[dict[str, Any]] = [{"code": "loader", "text": str(t)} for t in data.notes]
    if table["ldh_uln_u_l"].is_null().all():
        notes.append(
            {
                "code": "ldh_uln_unknown",
                "text": "No LDH upper limit of normal in the data and none given (--ldh-uln): LDH can be neither "
                "high nor normal, so R-ISS and R2-ISS stay ranges wherever LDH matters.",
            }
        )
    if all(table[c].is_null().all() for c in ("del17p", "t4_14", "t14_16", "gain1q") if c in table.columns):
        notes.append(
            {
                "code": "fish_not_available",
                "text": "No per-abnormality FISH result (del(17p), t(4;14), t(14;16), 1q+) in the data: R-ISS and "
                "R2-ISS are possible-stage ranges wherever FISH matters.",
            }
        )
    assumptions: tuple[str, ...] = ()
    if ldh_uln_u_l is not None:
        used = int(table["ldh_uln_assumed"].sum()) if "ldh_uln_assumed" in table.columns else table.height
        assumptions = (f"{ldh_uln_assumption(ldh_uln_u_l)} Applied to {suppress(used, n)} patients.",)
    units = suppress_unit_report(data.unit_report, n)
    files = write_report(
        table,
        out_dir,
        title=f"Cohort report: {Path(source).name}",
        provenance={"source": str(source), "kind": kind, "settings": _plain(dict(data.settings))},
        notes=notes,
        assumptions=assumptions,
        min_cell_count=min_cell_count,
        bootstrap=bootstrap,
        seed=seed,
        extra={"unit_report": _plain(units)},
        progress=progress,
    )
    return files


@contextmanager
def terminal_progress(stream: TextIO | None = None) -> Iterator[ProgressHook | None]:
    """A rich progress bar on ``stream`` (stderr) when it is a terminal; otherwise no hook at all."""
    out = stream if stream is not None else sys.stderr
    if not out.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeRemainingColumn

    tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=Console(file=out),
        transient=True,
    ) as bar:

        def hook(description: str, completed: int, total: int) -> None:
            channel = description.split(":", 1)[0]
            if channel not in tasks:
                tasks[channel] = bar.add_task(description, total=total or None)
            bar.update(tasks[channel], description=description, completed=completed, total=total or None)

        yield hook
