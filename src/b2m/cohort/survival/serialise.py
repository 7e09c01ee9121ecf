"""The survival analysis as published: JSON-ready numbers, with small-count suppression.

:func:`analysis_to_dict` is :meth:`CohortAnalysis.to_dict`. With ``min_cell_count`` N, a count below
N is shown as ``"<N"`` (:func:`~b2m.cohort.suppression.suppress`); counts that add up to a published
total are suppressed as groups so that no hidden count can be worked out by subtraction
(:func:`~b2m.cohort.suppression.suppress_group`, :func:`~b2m.cohort.suppression.suppress_tree`); a
count published in two places is shown the same way in both; and patient numbers of nested models
that differ by less than N are hidden too (:func:`~b2m.cohort.suppression.suppress_differences`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from b2m.cohort.suppression import Shown, is_hidden, suppress, suppress_differences, suppress_group
from b2m.cohort.survival.common import CONFIDENCE, ENDPOINTS, json_float
from b2m.cohort.survival.lifelines_fits import KMGroup, KMResult

if TYPE_CHECKING:
    from b2m.cohort.survival.analysis import CohortAnalysis


def analysis_to_dict(a: CohortAnalysis, min_cell_count: int | None = None) -> dict[str, Any]:
    """:meth:`CohortAnalysis.to_dict`.

    Counts that add up are suppressed as groups (:func:`suppress_group`, :func:`suppress_tree`), and
    a count that is published in two places is shown the same way in both: when every patient staged
    by a system has an outcome, its Kaplan–Meier group sizes are its stage counts and its Cox and
    C-index patient numbers its number staged, so they are shown exactly as the staging accounting
    shows them (otherwise a count hidden there could be read here).
    """
    n = min_cell_count if min_cell_count is not None and min_cell_count > 1 else None
    accounting = {x.system: (x, x.to_dict(n)) for x in a.accounting}

    def sup(x: int) -> int | str:
        return suppress(x, n)

    def patients(count: int, systems: Iterable[str]) -> Shown:
        """A number of patients: when it is the number staged by one of ``systems`` (else by any system:
        the same number published twice must read the same), as the accounting shows it."""
        for system in [*systems, *accounting]:
            if system in accounting and accounting[system][0].n_staged == count:
                shown: Shown = accounting[system][1]["n_staged"]
                return shown
        return sup(count)

    def km_groups(k: KMResult) -> list[dict[str, Any]]:
        # The group sizes add up to the patients staged by the system (with an outcome), the events
        # to theirs: both totals are published (Cox models), so each set is suppressed as a group.
        sizes, _ = suppress_group({g.stage: g.n for g in k.groups}, n)
        if k.system in accounting:
            acc, shown = accounting[k.system]
            if {g.stage: g.n for g in k.groups} == {s: v for s, v in acc.by_stage.items() if v}:
                sizes = {g.stage: shown["by_stage"][g.stage] for g in k.groups}
        events, _ = suppress_group({g.stage: g.events for g in k.groups}, n)
        return [km_group(g, sizes[g.stage], events[g.stage]) for g in k.groups]

    def km_group(g: KMGroup, size: Shown, events: Shown) -> dict[str, Any]:
        # A curve gives its group's size (at risk at 0, the first step) and events (its steps) away:
        # when either is hidden, nothing of the group but the hidden counts is published.
        hidden = is_hidden(size) or is_hidden(events)
        d: dict[str, Any] = {"stage": g.stage, "n": size, "events": events, "suppressed": hidden}
        if hidden:
            return d
        d["median"] = g.median.to_dict()
        d["landmarks"] = [{"time": t, **iv.to_dict()} for t, iv in g.landmarks.items()]
        d["at_risk"] = [{"time": t, "n": sup(v)} for t, v in g.at_risk.items()]
        d["curve"] = {
            "time": [json_float(x) for x in g.curve_time.tolist()],
            "survival": [json_float(x) for x in g.curve_survival.tolist()],
            "lower": [json_float(x) for x in g.curve_lower.tolist()],
            "upper": [json_float(x) for x in g.curve_upper.tolist()],
        }
        return d

    sizes, events = _model_counts(a, n, patients)
    return {
        "n_patients": sup(a.n_patients),
        "endpoints": {e: ENDPOINTS[e] for e in a.endpoints},
        "confidence_level": CONFIDENCE,
        "min_cell_count": n,
        "staging_accounting": [shown for _, shown in accounting.values()],
        "kaplan_meier": [
            {
                "system": k.system,
                "endpoint": k.endpoint,
                "time_unit": "months",
                "at_risk_times": list(k.at_risk_times),
                "groups": km_groups(k),
            }
            for k in a.km
        ],
        "logrank": [
            {
                "system": r.system,
                "endpoint": r.endpoint,
                "groups": list(r.groups),
                "chi2": json_float(r.chi2),
                "df": r.df,
                "p": json_float(r.p),
                "pairwise": [
                    {"a": x, "b": y, "chi2": json_float(c), "p": json_float(p), "p_adjustment": "none"}
                    for x, y, c, p in r.pairwise
                ],
            }
            for r in a.logrank
        ],
        "cox": [
            {
                "endpoint": c.endpoint,
                "models": [
                    {
                        "name": m.name,
                        "label": m.label,
                        "n": sizes[("cox", c.endpoint, m.name)],
                        "events": events[("cox", c.endpoint, m.name)],
                        "concordance": json_float(m.concordance),
                        "terms": [
                            {
                                "term": t.term,
                                "label": t.label,
                                "hr": json_float(t.hr),
                                "lower": json_float(t.lower),
                                "upper": json_float(t.upper),
                                "p": json_float(t.p),
                            }
                            for t in m.terms
                        ],
                        "warnings": list(m.warnings),
                    }
                    for m in c.models
                ],
                "skipped": dict(c.skipped),
            }
            for c in a.cox
        ],
        "concordance": [
            {
                "endpoint": c.endpoint,
                "systems": list(c.systems),
                "n": sizes[("c", c.endpoint, i)],
                "events": events[("c", c.endpoint, i)],
                "tau": c.tau,
                "bootstrap": c.bootstrap,
                "seed": c.seed,
                "failed_replicates": c.failed_replicates,
                "rows": [
                    {
                        "system": r.system,
                        "harrell": r.harrell.to_dict(),
                        "uno": r.uno.to_dict() if r.uno is not None else None,
                    }
                    for r in c.rows
                ],
                "differences": [{"kind": k, "a": x, "b": y, **iv.to_dict()} for k, x, y, iv in c.differences],
                "notes": list(c.notes),
            }
            for i, c in enumerate(a.concordance)
        ],
        "skipped": dict(a.skipped),
    }


_Key = tuple[str, str, object]


def _model_counts(
    a: CohortAnalysis, n: int | None, patients: Callable[[int, Iterable[str]], Shown]
) -> tuple[dict[_Key, Shown], dict[_Key, Shown]]:
    """Patients and events of every Cox model and C-index comparison, as published. The models are
    fitted on nested groups (fewer patients as covariates are added), so two sizes that differ by
    less than N would give a small group away (patients without an eGFR, say): such a size is hidden
    too (:func:`suppress_differences`), compared with every patient count the report publishes."""
    size_cells: dict[_Key, tuple[int, Shown]] = {("all", "", None): (a.n_patients, suppress(a.n_patients, n))}
    for x in a.accounting:
        size_cells[("staged", x.system, None)] = (x.n_staged, patients(x.n_staged, [x.system]))
    event_cells: dict[_Key, tuple[int, Shown]] = {}
    for c in a.cox:
        for m in c.models:
            size_cells[("cox", c.endpoint, m.name)] = (m.n, patients(m.n, [m.name.removesuffix("_age")]))
            event_cells[("cox", c.endpoint, m.name)] = (m.events, suppress(m.events, n))
    for i, cc in enumerate(a.concordance):
        size_cells[("c", cc.endpoint, i)] = (cc.n, patients(cc.n, cc.systems))
        event_cells[("c", cc.endpoint, i)] = (cc.events, suppress(cc.events, n))
    fixed = {k for k, (v, shown) in size_cells.items() if k[0] in ("all", "staged") or _published_as_staged(a, v)}
    sizes = suppress_differences(size_cells, n, movable=[k for k in size_cells if k not in fixed])
    return sizes, suppress_differences(event_cells, n, movable=list(event_cells))


def _published_as_staged(a: CohortAnalysis, count: int) -> bool:
    """The count is a system's number staged: the staging accounting publishes it already."""
    return any(x.n_staged == count for x in a.accounting)
