"""Single-patient benchmark: the Python path against the one-row-frame path, per patient, in one run.

Run: ``.venv/bin/python benchmarks/single_patient.py`` (``--patients``, ``--frame-patients``, ``--seed``).

Patients are generated as documents of the ``b2m assess`` JSON contract and parsed at the edge, as a
service would receive them: newly diagnosed myeloma mostly (some relapse, smouldering and MGUS
settings), labs in every accepted unit (B2M in mg/L, µg/mL, µg/L, ng/mL and nmol/L; creatinine in
mg/dL and µmol/L; ...), some censored results (B2M ``<0.2``, ``>20``), the lab's reference limits
sometimes missing, FISH missing for a quarter of them and marrow, imaging and FLC often unknown.

Two measurements, each for both paths and as a ratio:

1. ISS + R-ISS + R2-ISS for one patient: :func:`b2m.rules.staging_results.stage_patient` (the
   definitions evaluated in Python) against :func:`~b2m.rules.staging_results.staging_results` on a
   one-row frame (the same definitions as narwhals expressions on Polars).
2. The whole assessment, :func:`b2m.assessment.assess` for one patient (every rule, kidney function,
   the B2M interpretation), as it is, and with its staging swapped for the one-row-frame path.

Each patient's time on a path is the best of ``--repeat`` calls (these machines are shared and noisy;
a warm-up call comes first), and p50 / p99 are taken over patients. The
frame path is timed on the first ``--frame-patients`` patients (it is ~20 ms each). Both paths must give
identical results on every patient timed on both (staging results, and the assessment JSON), so a fast
wrong answer cannot pass. ``--cold`` also times the Python path with the IMWG 2014 cache emptied before
each patient (its search without the memo of region patterns).

Targets (issue #9): p50 <= 1 ms for ISS + R-ISS + R2-ISS and <= 2 ms for the whole assessment.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import b2m.assessment
from b2m.assessment import assess, patient_features
from b2m.io.patient import parse_patient
from b2m.kidney.summary import kidney_summary
from b2m.patient import Patient
from b2m.rules import imwg_2014
from b2m.rules.staging_results import StagingValues, stage_patient, staging_results
from b2m.units.labvalue import unit_factor

TARGET_STAGING_MS = 1.0
TARGET_ASSESSMENT_MS = 2.0


def _sig(x: float) -> float:
    return float(f"{x:.3g}")


class Generator:
    """Realistic patient documents (numpy random generator, reproducible by seed)."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def p(self, prob: float) -> bool:
        return bool(self.rng.random() < prob)

    def pick(self, options: Sequence[Any], weights: Sequence[float] | None = None) -> Any:
        w = None if weights is None else np.asarray(weights, dtype=float) / sum(weights)
        return options[int(self.rng.choice(len(options), p=w))]

    def lab(
        self,
        key: str,
        canonical: float,
        units: Sequence[str],
        weights: Sequence[float],
        limits: dict[str, float] | None = None,
        p_limits: float = 0.7,
    ) -> dict[str, Any]:
        unit = self.pick(units, weights)
        factor = unit_factor(key, unit, key)  # canonical = received x factor
        raw: dict[str, Any] = {"value": _sig(canonical / factor), "unit": unit}
        if limits and self.p(p_limits):
            for name, value in limits.items():
                raw[name] = _sig(value / factor)
        return raw

    def fish(self, prob: float) -> bool:
        return self.p(prob)

    def document(self, i: int) -> dict[str, Any]:
        rng = self.rng
        labs: dict[str, Any] = {}
        b2m = float(np.clip(rng.lognormal(1.3, 0.6), 0.3, 60.0))
        if self.p(0.02):
            labs["b2m"] = {"value": "<0.2", "unit": "mg/L"}
        elif self.p(0.02):
            labs["b2m"] = {"value": ">20", "unit": "mg/L"}
        elif self.p(0.97):
            labs["b2m"] = self.lab(
                "b2m", b2m, ("mg/L", "µg/mL", "µg/L", "ng/mL", "nmol/L"), (6, 1, 1, 1, 1), {"upper_limit": 2.4}, 0.5
            )
        if self.p(0.97):
            albumin = float(np.clip(rng.normal(3.6, 0.5), 1.5, 6.0))
            labs["albumin"] = self.lab("albumin", albumin, ("g/dL", "g/L"), (1, 1), {"lower_limit": 3.5}, 0.5)
        if self.p(0.9):
            ldh = float(np.clip(rng.normal(220, 80), 60, 3000))
            uln = self.pick((214.0, 225.0, 248.0))
            labs["ldh"] = self.lab("ldh", ldh, ("U/L", "IU/L", "µkat/L"), (6, 1, 2), {"upper_limit": uln}, 0.85)
        if self.p(0.95):
            creat = float(np.clip(rng.lognormal(0.05, 0.45), 0.3, 15.0))
            labs["creatinine"] = self.lab("creatinine", creat, ("mg/dL", "µmol/L"), (1, 1), {"upper_limit": 1.2})
        if self.p(0.2):
            labs["cystatin_c"] = self.lab(
                "cystatin_c", float(np.clip(rng.lognormal(0.1, 0.4), 0.4, 8)), ("mg/L",), (1,)
            )
        if self.p(0.9):
            calcium = float(np.clip(rng.normal(9.8, 0.9), 6.0, 16.0))
            labs["calcium"] = self.lab("calcium", calcium, ("mg/dL", "mmol/L"), (1, 1), {"upper_limit": 10.2}, 0.5)
        if self.p(0.95):
            hb = float(np.clip(rng.normal(10.8, 1.8), 4.0, 17.0))
            labs["hemoglobin"] = self.lab("hemoglobin", hb, ("g/dL", "g/L"), (3, 2), {"lower_limit": 12.0}, 0.5)
        if self.p(0.8):
            labs["m_protein"] = self.lab(
                "m_protein", float(np.clip(rng.lognormal(0.8, 0.7), 0.1, 12)), ("g/dL", "g/L"), (2, 1)
            )
        if self.p(0.4):
            urine = float(np.clip(rng.lognormal(5.5, 1.5), 10, 20000))
            labs["urine_m_protein"] = self.lab("urine_m_protein", urine, ("mg/24 h", "g/24 h"), (1, 1))
        involved = self.pick(("kappa", "lambda"), (2, 1))
        if self.p(0.75):
            inv = float(np.clip(rng.lognormal(4.5, 1.5), 5, 20000))
            uninv = float(np.clip(rng.lognormal(2.4, 0.5), 1, 200))
            k, lam = (inv, uninv) if involved == "kappa" else (uninv, inv)
            labs["flc_kappa"] = self.lab("flc_kappa", k, ("mg/L", "mg/dL"), (3, 1), {"upper_limit": 19.4})
            labs["flc_lambda"] = self.lab("flc_lambda", lam, ("mg/L", "mg/dL"), (3, 1), {"upper_limit": 26.3})
        if self.p(0.5):
            labs["crp"] = self.lab("crp", float(np.clip(rng.lognormal(1.2, 1.0), 0.2, 300)), ("mg/L", "mg/dL"), (3, 1))
        cytogenetics: dict[str, Any] = {}
        if self.p(0.75):  # a quarter without FISH
            cytogenetics = {
                "del17p": self.fish(0.10),
                "t4_14": self.fish(0.12),
                "t14_16": self.fish(0.03),
                "t14_20": self.fish(0.02),
                "gain1q": self.fish(0.35),
                "del1p32": self.fish(0.08),
                "cd138_purified": True if self.p(0.8) else None,
            }
        setting = self.pick(("new_diagnosis", "relapse", "smm", "mgus"), (80, 10, 7, 3))
        return {
            "id": f"G{i}",
            "age": int(np.clip(rng.normal(66, 10), 30, 95)),
            "sex": self.pick(("female", "male")),
            "weight_kg": round(float(np.clip(rng.normal(75, 15), 40, 150)), 1),
            "setting": setting,
            "isotype": self.pick(("IgG", "IgA", "light_chain", "IgD", "non_secretory"), (55, 22, 18, 2, 2)),
            "involved_light_chain": involved,
            "labs": labs,
            "cytogenetics": cytogenetics,
            "marrow_plasma_cells_percent": round(float(np.clip(rng.lognormal(3.3, 0.6), 1, 95)))
            if self.p(0.85)
            else None,
            "imaging": {
                "osteolytic_lesions": int(rng.poisson(2.0)) if self.p(0.8) else None,
                "mri_focal_lesions": int(rng.poisson(1.0)) if self.p(0.3) else None,
            },
            "crab_attributable": True if self.p(0.7) else None,
            "amyloidosis": False if self.p(0.8) else None,
        }


def patients(n: int, seed: int) -> list[Patient]:
    gen = Generator(seed)
    return [parse_patient(gen.document(i)) for i in range(n)]


def _staging_values(p: Patient) -> StagingValues:
    """The staging inputs the assessment reads (through its features), for timing staging alone."""
    kidney = kidney_summary(
        creatinine=p.lab("creatinine"), cystatin_c=p.lab("cystatin_c"), age_years=p.age, sex=p.sex, weight_kg=None
    )
    f = patient_features(p, kidney)
    return StagingValues(**{k: f[k] for k in StagingValues.__dataclass_fields__})  # type: ignore[arg-type]


def _frame_stage_patient(values: StagingValues, systems: object = None) -> object:
    return staging_results([values])[0]


def per_call(
    items: Sequence[Any], fn: Callable[[Any], object], repeat: int, before: Callable[[], object] | None = None
) -> list[float]:
    """Wall time of one call per item in ms, the best of ``repeat`` calls (after a warm-up call)."""
    fn(items[0])
    out = []
    for x in items:
        best = float("inf")
        for _ in range(repeat):
            if before is not None:
                before()
            t = time.perf_counter()
            fn(x)
            best = min(best, time.perf_counter() - t)
        out.append(best * 1e3)
    return out


def pct(ms: list[float], q: float) -> float:
    s = sorted(ms)
    return s[min(len(s) - 1, int(q * len(s)))]


def row(label: str, ms: list[float]) -> str:
    return f"  {label:<34} p50 {pct(ms, 0.5):9.3f} ms   p99 {pct(ms, 0.99):9.3f} ms   (n = {len(ms):,})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=2000)
    ap.add_argument("--frame-patients", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3, help="calls per patient and path; the best counts")
    ap.add_argument("--cold", action="store_true", help="also time with the IMWG 2014 cache emptied each patient")
    args = ap.parse_args()

    cohort = patients(args.patients, args.seed)
    values = [_staging_values(p) for p in cohort]
    framed = args.frame_patients

    # Same answers on both paths before any timing counts.
    for v in values[:framed]:
        assert stage_patient(v) == staging_results([v])[0], "staging: Python and one-row-frame paths differ"
    fast_docs = [json.dumps(a.to_dict()) for a in assess(cohort[:framed])]
    python_staging = b2m.assessment.stage_patient
    b2m.assessment.stage_patient = _frame_stage_patient  # type: ignore[assignment]
    try:
        frame_docs = [json.dumps(a.to_dict()) for a in assess(cohort[:framed])]
        assert frame_docs == fast_docs, "assessment: Python and one-row-frame staging give different JSON"
        t_assess_frame = per_call(cohort[:framed], lambda p: assess([p]), args.repeat)
    finally:
        b2m.assessment.stage_patient = python_staging  # type: ignore[assignment]

    t_stage_fast = per_call(values, stage_patient, args.repeat)
    t_stage_frame = per_call(values[:framed], lambda v: staging_results([v]), args.repeat)
    t_assess_fast = per_call(cohort, lambda p: assess([p]), args.repeat)

    print(
        f"{args.patients:,} generated myeloma patients (seed {args.seed}); one-row-frame path on the first {framed:,}"
    )
    print(
        f"  FISH missing: {sum(v.del17p is None for v in values):,}; B2M censored: "
        f"{sum(not isinstance(v.b2m_mg_l, float | None) for v in values):,}; B2M unknown: "
        f"{sum(v.b2m_mg_l is None for v in values):,}"
    )
    print("ISS + R-ISS + R2-ISS, one patient")
    print(row("Python (stage_patient)", t_stage_fast))
    print(row("one-row frame (staging_results)", t_stage_frame))
    print(
        f"  ratio frame / Python: p50 {pct(t_stage_frame, 0.5) / pct(t_stage_fast, 0.5):,.0f}x, "
        f"p99 {pct(t_stage_frame, 0.99) / pct(t_stage_fast, 0.99):,.0f}x"
    )
    print("Whole assessment (every rule, kidney function, interpretation), one patient")
    print(row("Python staging (assess)", t_assess_fast))
    print(row("one-row-frame staging", t_assess_frame))
    print(
        f"  ratio frame / Python: p50 {pct(t_assess_frame, 0.5) / pct(t_assess_fast, 0.5):,.0f}x, "
        f"p99 {pct(t_assess_frame, 0.99) / pct(t_assess_fast, 0.99):,.0f}x"
    )
    if args.cold:
        cold = per_call(cohort, lambda p: assess([p]), args.repeat, before=imwg_2014._possible.cache_clear)
        print(row("Python, IMWG 2014 cache cold", cold))
    p50_stage, p50_assess = pct(t_stage_fast, 0.5), pct(t_assess_fast, 0.5)
    print(
        f"targets: ISS family p50 {p50_stage:.3f} ms <= {TARGET_STAGING_MS:g} ms: "
        f"{'met' if p50_stage <= TARGET_STAGING_MS else 'NOT met'}; whole assessment p50 {p50_assess:.3f} ms "
        f"<= {TARGET_ASSESSMENT_MS:g} ms: {'met' if p50_assess <= TARGET_ASSESSMENT_MS else 'NOT met'}"
    )
    print(f"outputs identical on both paths for the {framed:,} patients timed on both: yes")


if __name__ == "__main__":
    main()
