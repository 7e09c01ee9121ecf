"""The cohort commands' work: load a cohort at the edge (:mod:`b2m.io.cohort`), analyse it and write the
report (:mod:`b2m.report.cohort`). Only the interface layer may join the edge and the reports."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from b2m.cohort.publication import suppress_unit_report
from b2m.cohort.suppression import suppress
from b2m.cohort.survival import DEFAULT_BOOTSTRAP, DEFAULT_SEED, ProgressHook
from b2m.errors import InputError
from b2m.report.cohort import ReportFiles, write_report
from b2m.report.cohort.document import ldh_uln_assumption, plain

DEMO_LDH_ULN_U_L = 250.0
"""The LDH upper limit ``b2m demo`` assumes for GSE24080 (which gives none): the README example's value,
for illustration only, stated on the page as an assumption. Without an LDH limit R-ISS can stage only
the patients whose stage LDH cannot change (148 of 565, all stage II) and R2-ISS none, so the demo would
compare nothing."""


def write_demo_report(
    out_dir: Path,
    *,
    ldh_uln_u_l: float | None = None,
    assume_ldh_uln: bool = True,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    progress: ProgressHook | None = None,
) -> ReportFiles:
    """The cohort report of ``b2m demo`` on GSE24080: with the user's LDH upper limit (``ldh_uln_u_l``),
    else :data:`DEMO_LDH_ULN_U_L`, stated on the page as the demo's assumption; with none when
    ``assume_ldh_uln`` is false."""
    if not assume_ldh_uln:
        return write_example_report(out_dir, bootstrap=bootstrap, progress=progress)
    if ldh_uln_u_l is not None:
        return write_example_report(out_dir, ldh_uln_u_l=ldh_uln_u_l, bootstrap=bootstrap, progress=progress)
    why = (
        f"b2m demo assumes {DEMO_LDH_ULN_U_L:g} U/L, the value of the README's example, so that R-ISS can be "
        "compared with ISS. It is an illustration, not the UAMS laboratory's limit (the data do not give it): "
        "`b2m demo --ldh-uln U` assumes another value, `b2m demo --no-ldh-uln` none."
    )
    return write_example_report(
        out_dir,
        ldh_uln_u_l=DEMO_LDH_ULN_U_L,
        ldh_uln_chosen_by="b2m demo",
        more_assumptions=(why,),
        bootstrap=bootstrap,
        progress=progress,
    )


def _without_ldh_uln() -> dict[str, Any]:
    """A data note: what R-ISS and R2-ISS stage when no LDH upper limit is assumed (the other view)."""
    from b2m.io.cohort import gse24080

    table = gse24080.load().table
    staged = {x: table[x].drop_nulls() for x in ("r_iss", "r2_iss")}
    alike = {x: f" (all of them stage {s[0]})" if s.len() and s.n_unique() == 1 else "" for x, s in staged.items()}
    return {
        "code": "ldh_uln_assumption_effect",
        "text": "Without the assumed LDH upper limit LDH could be neither high nor normal: R-ISS would give a "
        f"single stage to {staged['r_iss'].len()} patients{alike['r_iss']} and R2-ISS to "
        f"{staged['r2_iss'].len()} patients{alike['r2_iss']}. The comparisons of R-ISS with ISS below rest on "
        "the assumption.",
    }


def write_example_report(
    out_dir: Path,
    *,
    ldh_uln_u_l: float | None = None,
    ldh_uln_chosen_by: str = "the user",
    more_assumptions: Sequence[str] = (),
    min_cell_count: int | None = None,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    seed: int = DEFAULT_SEED,
    progress: ProgressHook | None = None,
) -> ReportFiles:
    """The report on the bundled GSE24080 cohort (``b2m demo``, ``b2m cohort report gse24080``).

    ``ldh_uln_chosen_by`` names who assumed ``ldh_uln_u_l`` (stated with it); ``more_assumptions`` are
    stated beside it at the top of the page.
    """
    from b2m.io.cohort import gse24080

    cohort = gse24080.load(ldh_uln_u_l=ldh_uln_u_l, ldh_uln_chosen_by=ldh_uln_chosen_by)
    notes = [n.to_dict() for n in cohort.notes]
    if ldh_uln_u_l is not None:
        notes.append(_without_ldh_uln())
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
        assumptions=(*cohort.assumptions, *more_assumptions),
        min_cell_count=min_cell_count,
        bootstrap=bootstrap,
        seed=seed,
        progress=progress,
    )


EXAMPLE_DATASETS = ("gse24080",)
COHORT_KINDS = ("wide", "long", "omop")


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
    """``b2m cohort report``: load the cohort (:func:`b2m.io.cohort.load_cohort`) and write the report.

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
    from b2m.io.cohort import load_cohort

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
        provenance={"source": str(source), "kind": kind, "settings": plain(dict(data.settings))},
        notes=notes,
        assumptions=assumptions,
        min_cell_count=min_cell_count,
        bootstrap=bootstrap,
        seed=seed,
        extra={"unit_report": plain(units)},
        progress=progress,
    )
    return files
