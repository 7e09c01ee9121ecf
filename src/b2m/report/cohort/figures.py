"""The cohort report's figures (matplotlib, drawn to inline SVG by :func:`b2m.report.charts.figure_svg`):
Kaplan–Meier curves with numbers at risk, stage distributions, B2M against eGFR, the Cox forest plot."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

from b2m.cohort.survival import DEFAULT_SEED, ENDPOINTS, STAGES, SYSTEM_LABELS
from b2m.kidney import KDIGO_GFR_CATEGORIES
from b2m.report.charts import GREY, figure_svg
from b2m.rules.iss import B2M_STAGE_I_BELOW_MG_L, B2M_STAGE_III_MIN_MG_L

# Okabe-Ito palette (safe for the common colour-vision deficiencies), one colour per stage.
STAGE_COLOURS = ("#0072B2", "#E69F00", "#D55E00", "#CC79A7")
LOG_TICKS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0)
SCATTER_MAX_POINTS = 20_000  # B2M–eGFR scatter: a seeded sample of this many patients when larger


def _svg(fig: Figure, key: str, label: str) -> str:
    FigureCanvasAgg(fig)  # the Agg backend, attached to this figure only: no pyplot, no global state
    return figure_svg(fig, key, label=label, namespaces=False)


def km_figure(km: Mapping[str, Any], key: str) -> str:
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


def distribution_figure(accounting: Sequence[Mapping[str, Any]], key: str) -> str:
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


def egfr_figure(
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
        if pts.height:  # a cohort without creatinine has no point to draw (and no legend)
            ax.legend(fontsize=7, frameon=False, loc="upper right", markerscale=1.5)
        else:
            note = "No patient has both a B2M and an eGFR (creatinine, age and sex): nothing to draw."
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


def forest_figure(cox: Mapping[str, Any], key: str) -> str:
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
