"""Bulk staging benchmark: the batch path against a memory-read floor and a naive row-wise baseline.

Run: ``.venv/bin/python benchmarks/bulk_staging.py`` (10M patients; ``--rows`` to change).

Everything is measured in one run, side by side, and reported as ratios (these machines are noisy):

- floor: a plain sum over the same eight input columns, in memory (the least any engine must do);
- batch: ``b2m.rules.staging.stage_frame`` on the same in-memory Polars frame (all seven outputs);
- baseline: a naive pandas ``DataFrame.apply(axis=1)`` with a per-row Python function computing the same
  outputs, on ``--apply-rows`` rows (1M by default), scaled to rows per second.

Targets (issue #2): batch >= 1/8 of the floor's rows/s, and >= 1000x the row-wise baseline. Each timing
is the best of ``--repeat`` runs. The batch output is checked against the baseline on the rows both
computed, so a fast wrong answer cannot pass.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import pandas as pd
import polars as pl
from _timing import best_of

from b2m.rules.staging import stage_frame


def synthetic(n: int, seed: int = 42) -> pl.DataFrame:
    """Synthetic newly diagnosed patients with ~2% missing labs and ~5% missing FISH."""
    rng = np.random.default_rng(seed)

    def with_nulls(values: np.ndarray, rate: float) -> pl.Series:
        s = pl.Series(values)
        return s.scatter(np.flatnonzero(rng.random(n) < rate), None) if rate else s

    return pl.DataFrame(
        {
            "b2m_mg_l": with_nulls(np.round(rng.lognormal(1.2, 0.6, n), 1), 0.02),
            "albumin_g_dl": with_nulls(np.round(rng.normal(3.6, 0.5, n), 1).clip(1.0, 7.0), 0.02),
            "ldh_u_l": with_nulls(np.round(rng.normal(200, 60, n)).clip(10, None), 0.02),
            "ldh_uln_u_l": pl.Series(rng.choice([214.0, 225.0, 248.0], n)),
            "del17p": with_nulls(rng.random(n) < 0.10, 0.05),
            "t4_14": with_nulls(rng.random(n) < 0.12, 0.05),
            "t14_16": with_nulls(rng.random(n) < 0.03, 0.05),
            "gain1q": with_nulls(rng.random(n) < 0.35, 0.05),
        }
    )


def _possible(flags: list[bool], stages: tuple[str, ...]) -> tuple[str | None, str]:
    chosen = [s for s, f in zip(stages, flags, strict=True) if f]
    return (chosen[0] if len(chosen) == 1 else None), "|".join(chosen)


def _na(x: object) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def row_wise(row: pd.Series) -> pd.Series:  # type: ignore[type-arg]
    """The naive baseline: one Python call per patient, written the obvious way."""
    b2m, alb, ldh, uln = row["b2m_mg_l"], row["albumin_g_dl"], row["ldh_u_l"], row["ldh_uln_u_l"]
    fish = {k: (None if _na(row[k]) else bool(row[k])) for k in ("del17p", "t4_14", "t14_16", "gain1q")}
    # ISS: which stages remain possible given unknown values
    iss_p = []
    for stage in ("I", "II", "III"):
        if _na(b2m):
            ok = stage != "I" or _na(alb) or alb >= 3.5
        elif stage == "I":
            ok = b2m < 3.5 and (_na(alb) or alb >= 3.5)
        elif stage == "III":
            ok = b2m >= 5.5
        else:
            ok = (b2m >= 3.5 and b2m < 5.5) or (b2m < 3.5 and (_na(alb) or alb < 3.5))
        iss_p.append(bool(ok))
    ldh_high = None if _na(ldh) or _na(uln) else ldh > uln
    hr = [fish["del17p"], fish["t4_14"], fish["t14_16"]]
    hr_ca = True if any(h is True for h in hr) else (False if all(h is False for h in hr) else None)
    r_p = [
        iss_p[0] and hr_ca is not True and ldh_high is not True,
        True,
        iss_p[2] and (hr_ca is not False or ldh_high is not False),
    ]
    r_p[1] = not (iss_p == [True, False, False] and hr_ca is False and ldh_high is False) and not (
        iss_p == [False, False, True] and (hr_ca is True or ldh_high is True)
    )
    lo = 0 if iss_p[0] else 2 if iss_p[1] else 3
    hi = 3 if iss_p[2] else 2 if iss_p[1] else 0
    for v, pts in ((fish["del17p"], 2), (ldh_high, 2), (fish["t4_14"], 2), (fish["gain1q"], 1)):
        lo += pts if v is True else 0
        hi += pts if v is not False else 0
    groups = {"I": (0, 0), "II": (1, 2), "III": (3, 5), "IV": (6, 10)}
    r2_p = [lo <= g_hi and hi >= g_lo for g_lo, g_hi in groups.values()]
    iss, iss_s = _possible(iss_p, ("I", "II", "III"))
    r, r_s = _possible(r_p, ("I", "II", "III"))
    r2, r2_s = _possible(r2_p, ("I", "II", "III", "IV"))
    return pd.Series(
        {
            "iss": iss,
            "r_iss": r,
            "r2_iss": r2,
            "r2_iss_score": lo / 2 if lo == hi else None,
            "iss_possible": iss_s,
            "r_iss_possible": r_s,
            "r2_iss_possible": r2_s,
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--apply-rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    df = synthetic(args.rows)
    cols = df.columns
    t_floor, _ = best_of(args.repeat, lambda: df.select([pl.col(c).sum() for c in cols]))
    t_batch, staged = best_of(args.repeat, lambda: stage_frame(df))
    assert isinstance(staged, pl.DataFrame)

    sample = df.head(args.apply_rows)
    pdf = sample.to_pandas()
    t_apply, baseline = best_of(1, lambda: pdf.apply(row_wise, axis=1))
    assert isinstance(baseline, pd.DataFrame)
    ours = staged.head(args.apply_rows).with_columns(pl.col(pl.Enum).cast(pl.String)).to_pandas()
    for c in baseline.columns:
        mismatch = int((baseline[c].fillna("NA").astype(str) != ours[c].fillna("NA").astype(str)).sum())
        assert mismatch == 0, f"{c}: {mismatch} rows differ between the batch path and the row-wise baseline"

    floor_rps = args.rows / t_floor
    batch_rps = args.rows / t_batch
    apply_rps = args.apply_rows / t_apply
    print(f"rows: {args.rows:,} (row-wise baseline on {args.apply_rows:,}); best of {args.repeat}")
    print(f"floor (sum of 8 input columns): {floor_rps / 1e6:10.1f} M rows/s")
    print(f"batch stage_frame (7 outputs):  {batch_rps / 1e6:10.1f} M rows/s")
    print(f"row-wise pandas apply:          {apply_rps / 1e6:10.4f} M rows/s")
    print(f"ratio batch/floor    = {batch_rps / floor_rps:.3f}  (target >= 0.125)")
    print(f"ratio batch/row-wise = {batch_rps / apply_rps:,.0f}x  (target >= 1000x)")
    print(f"outputs identical to the row-wise baseline on {args.apply_rows:,} rows: yes")


if __name__ == "__main__":
    main()
