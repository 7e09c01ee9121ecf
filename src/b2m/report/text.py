"""The readable terminal report of ``b2m assess``: inputs, results, why, and what is missing.

Everything shown is taken from the assessment objects; nothing is recomputed or retyped here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from b2m.rules.base import RuleResult

if TYPE_CHECKING:
    from b2m.assessment import Assessment

_CONTROL = dict.fromkeys([*range(0x00, 0x20), *range(0x7F, 0xA0)], "?")


def _safe(text: str) -> str:
    """Text from the input, shown on a terminal: markup escaped and control characters (escape
    sequences that could rewrite the screen) replaced."""
    return escape(text.translate(_CONTROL))


def _labs(a: Assessment) -> Table:
    t = Table(title="Lab values", title_justify="left", expand=False, show_edge=False)
    for col in ("lab", "as received", "canonical", "lab interval", "date", "method"):
        t.add_column(col)
    for key, lab in a.patient.labs.items():
        lo, hi = lab.lower_limit, lab.upper_limit
        if lo is not None and hi is not None:
            interval = f"{_num(lo)}-{_num(hi)} {lab.unit}"
        elif hi is not None:
            interval = f"upper limit {_num(hi)} {lab.unit}"
        elif lo is not None:
            interval = f"lower limit {_num(lo)} {lab.unit}"
        else:
            interval = ""
        t.add_row(
            key,
            _safe(f"{lab.received_value} {lab.received_unit}"),
            escape(f"{lab.value} {lab.unit}") if not isinstance(lab.value, float) else f"{_num(lab.value)} {lab.unit}",
            interval,
            lab.date.isoformat() if lab.date else "",
            _safe(lab.method or ""),
        )
    return t


def _num(x: float) -> str:
    """Converted values shown to 4 significant digits (the exact value is in the JSON output)."""
    return f"{x:.4g}"


def _result_row(name: str, r: RuleResult) -> tuple[str, str, str, str, str]:
    stage = r.stage or "[yellow]not determined[/]"
    if r.score is not None:
        stage += f" (score {r.score:g})"
    elif r.score_range is not None and r.score_range[0] != r.score_range[1]:
        stage += f" (score {r.score_range[0]:g}-{r.score_range[1]:g})"
    fired = "; ".join(c.description for c in r.fired) or "-"
    missing = ", ".join(r.missing) or "-"
    return (escape(r.rule.title), stage, " | ".join(r.possible), escape(fired), escape(missing))


def _results(title: str, results: dict[str, RuleResult]) -> Table:
    t = Table(title=title, title_justify="left", show_edge=False)
    for col in ("system", "result", "possible", "criteria met", "missing"):
        t.add_column(col, overflow="fold")
    for name, r in results.items():
        t.add_row(*_result_row(name, r))
    return t


def _outcomes(results: dict[str, RuleResult]) -> list[str]:
    lines = []
    for r in results.values():
        for o in r.outcomes:
            value = "not reached" if o.value is None else f"{o.value:g} {o.unit}"
            status = "" if o.status == "C" else f" [status {o.status}]"
            lines.append(f"{r.rule.title} {o.stage}: {o.measure} {value} ({o.cohort}){status}")
    return lines


def _kidney(a: Assessment) -> list[str]:
    lines = []
    for e in a.kidney.estimates.values():
        value = "not given" if e.value is None else f"{e.value:.1f} {e.unit}"
        lines.append(f"{e.equation.title}: {value}")
    lines += [n.text for n in a.kidney.notes]
    return lines or ["No creatinine or cystatin C: kidney function unknown."]


def _sources(a: Assessment) -> list[str]:
    seen: dict[str, str] = {}
    for r in (*a.staging.values(), *a.scores.values()):
        seen.setdefault(r.rule.source.doi, r.rule.source.citation)
    for e in a.kidney.estimates.values():
        seen.setdefault(e.equation.source.doi, e.equation.source.citation)
    return [f"{c} DOI {d}" for d, c in seen.items()]


def render_text(a: Assessment, console: Console) -> None:
    p = a.patient
    head = ", ".join(
        x
        for x in (
            f"age {p.age:g}" if p.age is not None else "",
            p.sex or "",
            f"setting {p.setting}" if p.setting else "",
            p.disease.replace("_", " "),
        )
        if x
    )
    parts: list[object] = [Text(head), _labs(a)]
    parts.append(Text("\nKidney function", style="bold"))
    parts += [Text("  " + line) for line in _kidney(a)]
    parts.append(Text("\nB2M result", style="bold"))
    parts.append(Text("  " + a.b2m.summary_clinician.translate(_CONTROL)))
    for fl in a.b2m.flags:
        parts.append(Text.from_markup(f"  [bold]{fl.severity.upper()}[/] {_safe(fl.code)}: {_safe(fl.clinician)}"))
    if a.staging:
        parts.append(_results("\nStaging", a.staging))
    if a.scores:
        parts.append(_results("\nOther rules", a.scores))
    outcomes = _outcomes({**a.staging, **a.scores})
    if outcomes:
        parts.append(
            Text(
                "\nPublished outcomes for the stages above (cohort figures, not a prediction for this patient)",
                style="bold",
            )
        )
        parts += [Text("  " + line) for line in outcomes]
    caveats = {n.code: n for r in (*a.staging.values(), *a.scores.values()) for n in r.notes}
    if caveats:
        parts.append(
            Text("\nNotes (sources disagree [D], unconfirmed [U], setting, missing data, caveats)", style="bold")
        )
        for n in caveats.values():
            parts.append(Text(f"  [{n.kind}] {n.text}".translate(_CONTROL)))
    parts.append(Text("\nSources", style="bold"))
    parts += [Text("  " + s) for s in _sources(a)]
    from b2m.assessment import DISCLAIMER

    parts.append(Text("\n" + DISCLAIMER, style="italic"))
    console.print(Panel(Group(*parts), title=f"Patient {_safe(p.id)}", title_align="left"))  # type: ignore[arg-type]
