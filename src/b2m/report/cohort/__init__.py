"""The cohort report: one self-contained HTML page, with every number beside it as JSON and CSV.

``write_report(table, out_dir, ...)`` writes

- ``report.html``: works offline (no CDN, no external address); figures are inline SVG drawn by
  matplotlib (:mod:`b2m.report.cohort.figures`): Kaplan–Meier curves per staging system with at-risk
  tables, stage distributions, B2M against eGFR (CKD-EPI 2021 creatinine, :mod:`b2m.cohort.renal`) and
  a Cox forest plot; stated assumptions (an LDH upper limit the user supplied) at the top;
- ``report.json``: every number of the page (:mod:`b2m.report.cohort.document`);
- ``*.csv``: the same numbers as flat tables, made from the JSON document (:mod:`b2m.report.cohort.tables`).

The survival numbers come from :mod:`b2m.cohort.survival`; this package only lays them out. With
``min_cell_count`` every count below it is written ``"<N"``, and wherever counts add up to a
published total a second count is hidden as well (``">=N"``, :func:`b2m.cohort.suppression.suppress_tree`)
so that no small one can be worked out by subtraction; Kaplan–Meier groups whose size or events are
hidden are not drawn, and the B2M–eGFR figure shows category summaries instead of individual patients.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl
from jinja2 import Environment, select_autoescape

from b2m.cohort.renal import egfr_ckd_epi_2021
from b2m.cohort.survival import DEFAULT_BOOTSTRAP, DEFAULT_SEED, ENDPOINTS, SYSTEM_LABELS, ProgressHook, analyse
from b2m.report.cohort.document import build_document
from b2m.report.cohort.figures import distribution_figure, egfr_figure, forest_figure, km_figure
from b2m.report.cohort.tables import csv_files
from b2m.rules.iss import B2M_STAGE_III_MIN_MG_L


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    json: Path
    csv: tuple[Path, ...]


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
    """Analyse ``table`` (the cohort table of ``b2m.io.cohort.load``) and write the report into ``out_dir``."""
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
        "distribution": distribution_figure(s["staging_accounting"], "dist"),
        "km": {
            f"{k['endpoint']}:{k['system']}": km_figure(k, f"km-{k['endpoint']}-{k['system']}")
            for k in s["kaplan_meier"]
        },
        "forest": {c["endpoint"]: forest_figure(c, f"forest-{c['endpoint']}") for c in s["cox"] if c["models"]},
    }
    egfr_svg, egfr_note = egfr_figure(table, egfr, doc["b2m_by_egfr"], doc["min_cell_count"], "egfr")
    json_path = out_dir / "report.json"
    json_path.write_text(json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
    csv_paths = csv_files(doc, out_dir)
    template = _environment().from_string(
        resources.files("b2m.report").joinpath("templates/cohort.html.j2").read_text(encoding="utf-8")
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
