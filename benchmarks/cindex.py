"""C-index benchmark: three staging systems on 1M synthetic patients against one lifelines call.

Run: ``.venv/bin/python benchmarks/cindex.py`` (1M patients; ``--patients`` to change).

Measured in one run, side by side, and reported as a ratio (these machines are noisy):

- floor: ONE lifelines ``concordance_index(T, -ISS, E)`` call (Harrell's C of one system; lifelines'
  algorithm is n log n, scikit-survival's ``concordance_index_censored`` is O(n²) and is not run);
- b2m: :func:`b2m.cohort.survival.compare_concordance` for ISS, R-ISS and R2-ISS on the patients staged
  by all three: Harrell's AND Uno's C for each system (six estimates), including the patient selection.

Target (issue #3): b2m within 3x of the single lifelines call. Each timing is the best of ``--repeat``
runs. b2m's Harrell's C of ISS is checked against the lifelines value, so a fast wrong answer cannot
pass. The cost of one bootstrap replicate (all three systems, both C) is printed too.

Synthetic patients: lognormal B2M, normal albumin and LDH, four laboratory ULNs, FISH with 5% unknown,
staged by :func:`b2m.rules.staging.stage_frame` (the engine's rules); exponential survival with the
hazard rising with R2-ISS points, times in whole days (ties), uniform censoring.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import polars as pl

from b2m.cohort.survival import compare_concordance, stage_codes
from b2m.rules.staging import stage_frame

TARGET_RATIO = 3.0


def synthetic(n: int, seed: int = 42) -> pl.DataFrame:
    rng = np.random.default_rng(seed)

    def flag(p: float) -> pl.Series:
        s = pl.Series(rng.random(n) < p)
        return s.scatter(np.flatnonzero(rng.random(n) < 0.05), None)

    labs = pl.DataFrame(
        {
            "b2m_mg_l": np.round(rng.lognormal(np.log(3.5), 0.6, n), 1),
            "albumin_g_dl": np.round(rng.normal(3.6, 0.6, n).clip(1.5, 5.5), 1),
            "ldh_u_l": np.round(rng.normal(220, 70, n).clip(60, 2000)),
            "ldh_uln_u_l": rng.choice([214.0, 225.0, 248.0, 250.0], n),
            "del17p": flag(0.10),
            "t4_14": flag(0.12),
            "t14_16": flag(0.03),
            "gain1q": flag(0.35),
        }
    )
    staged = stage_frame(labs).with_columns(pl.col("iss", "r_iss", "r2_iss").cast(pl.String))
    score = staged["r2_iss_score"].fill_null(staged["iss"].replace_strict(["I", "II", "III"], [0.0, 1.0, 1.5]))
    hazard = 0.01 * np.exp(0.45 * score.to_numpy())  # per month
    event_time = rng.exponential(1.0 / hazard)
    censor_time = rng.uniform(6.0, 120.0, n)
    days = np.round(np.minimum(event_time, censor_time) * 30.4375)
    return staged.with_columns(
        pl.Series("os_months", days / 30.4375),
        pl.Series("os_event", (event_time <= censor_time).astype(np.int8)),
    )


def best(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--bootstrap", type=int, default=5, help="replicates timed for the per-replicate cost")
    args = ap.parse_args()

    from lifelines.utils import concordance_index

    t0 = time.perf_counter()
    table = synthetic(args.patients)
    common = table.filter(pl.col("iss").is_not_null() & pl.col("r_iss").is_not_null() & pl.col("r2_iss").is_not_null())
    print(f"{args.patients:,} synthetic patients staged in {time.perf_counter() - t0:.1f} s; "
          f"{common.height:,} staged by all three systems, {int(common['os_event'].sum()):,} deaths")  # fmt: skip

    t = common["os_months"].to_numpy()
    e = common["os_event"].to_numpy()
    iss = stage_codes(common, "iss")
    floor_s, floor_c = best(lambda: concordance_index(t, -iss, e), args.repeat)
    ours_s, res = best(lambda: compare_concordance(table, ("iss", "r_iss", "r2_iss"), "os", bootstrap=0), args.repeat)
    assert not isinstance(res, float) and res is not None
    rows = {r.system: r for r in res.rows}  # type: ignore[union-attr]
    diff = abs(rows["iss"].harrell.estimate - float(floor_c))  # type: ignore[arg-type]
    assert diff < 1e-12, f"b2m Harrell's C of ISS differs from lifelines by {diff}"
    boot_s, _ = best(lambda: compare_concordance(table, ("iss", "r_iss", "r2_iss"), "os", bootstrap=args.bootstrap), 1)
    per_rep = (boot_s - ours_s) / max(args.bootstrap, 1)

    print(f"floor  lifelines concordance_index, ISS only (1 estimate): {floor_s:7.3f} s  C = {floor_c:.6f}")
    print(f"b2m    compare_concordance, 3 systems x Harrell + Uno (6):   {ours_s:7.3f} s")
    for name, r in rows.items():
        uno = f"{r.uno.estimate:.6f}" if r.uno else "n/a"
        print(f"         {name:7s} Harrell {r.harrell.estimate:.6f}  Uno {uno}")
    print(f"bootstrap: {per_rep:.3f} s per replicate (3 systems, both C), "
          f"~{per_rep * 500:.0f} s for the default 500")  # fmt: skip
    ratio = ours_s / floor_s
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    print(f"ratio b2m / one lifelines call: {ratio:.2f}x (target <= {TARGET_RATIO:g}x) {verdict}")


if __name__ == "__main__":
    main()
