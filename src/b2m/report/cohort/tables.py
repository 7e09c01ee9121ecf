"""The cohort report's numbers as flat CSV tables, made from its JSON document.

Every cell goes through :func:`b2m.engines.csv_safety.safe_cell`: a label from the data (a unit as
received, a column name) that a spreadsheet would run as a formula is written as text.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from b2m.engines.csv_safety import safe_cell


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([safe_cell(h) for h in header])
        for r in rows:
            w.writerow(["" if v is None else safe_cell(v) for v in r])
    return path


def csv_files(doc: Mapping[str, Any], out: Path) -> tuple[Path, ...]:
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
                "not_estimable",
            ],
            [
                *[
                    (c["endpoint"], "+".join(c["systems"]), c["n"], c["events"], r["system"])
                    + (r["harrell"]["estimate"], r["harrell"]["lower"], r["harrell"]["upper"])
                    + ((r["uno"]["estimate"], r["uno"]["lower"], r["uno"]["upper"]) if r["uno"] else (None,) * 3)
                    + (c["bootstrap"], c["seed"], None)
                    for c in s["concordance"]
                    for r in c["rows"]
                ],
                # a comparison that could not be made says so, with why, instead of leaving no row
                *[
                    (endpoint, systems, None, None, system, *(None,) * 8, why)
                    for key, why in s["skipped"].items()
                    if key.startswith("concordance:")
                    for _, endpoint, systems in [key.split(":", 2)]
                    for system in systems.split("+")
                ],
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
