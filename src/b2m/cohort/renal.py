"""B2M against kidney function in a cohort: eGFR per patient and B2M by KDIGO GFR category.

B2M is filtered by the glomerulus, so it rises as kidney function falls whatever the tumour burden
(b2m reference, kidney and laboratory sections): this table shows how much of a cohort's B2M, and of its
ISS stage III, goes with reduced eGFR.
"""

from __future__ import annotations

from typing import Any

import narwhals as nw
import numpy as np
import polars as pl

from b2m.cohort.suppression import is_hidden, suppress_group
from b2m.kidney import KDIGO_GFR_CATEGORIES
from b2m.kidney.ckd_epi_2021_creatinine import expression as ckd_epi_2021_creatinine

REST = "no eGFR or no B2M"  # the row that completes the B2M-by-eGFR counts under suppression


def egfr_ckd_epi_2021(table: pl.DataFrame) -> pl.Series:
    """CKD-EPI 2021 creatinine eGFR per row, as one expression over the table (the equation module's own).

    Null where creatinine, age or sex is missing or refused by the equation (for a cohort the count of
    such rows is in the report's completeness table).
    """
    needed = ("creatinine_mg_dl", "age", "sex")
    if not all(c in table.columns for c in needed):
        return pl.Series("egfr", [None] * table.height, dtype=pl.Float64)
    frame = nw.from_native(table.select(needed))
    egfr = ckd_epi_2021_creatinine(
        nw.col("creatinine_mg_dl").cast(nw.Float64()),
        nw.col("age").cast(nw.Float64()),
        nw.col("sex").cast(nw.String()).str.to_lowercase(),
    )
    out: pl.DataFrame = frame.select(egfr.alias("egfr")).to_native()
    return out["egfr"]


def kdigo_category(egfr: nw.Expr) -> nw.Expr:
    """KDIGO 2012 GFR category of an eGFR column (lower bounds inclusive, as :func:`b2m.kidney.egfr_stage`)."""
    (lower, cat), *rest = KDIGO_GFR_CATEGORIES
    expr = nw.when(egfr >= lower).then(nw.lit(cat))
    for lower, cat in rest:
        expr = expr.when(egfr >= lower).then(nw.lit(cat))
    return expr


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
    rows = nw.from_native(rows).with_columns(kdigo_category(nw.col("egfr")).alias("cat")).to_native()
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
