"""The readable terminal output of ``b2m monitor``: a compact table per patient.

Everything shown is read from the :class:`~b2m.monitor.monitor.MonitorResult`; nothing is recomputed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from b2m.monitor.imwg_2016 import NOT_EVALUABLE, Assessment

if TYPE_CHECKING:
    from b2m.monitor.monitor import MonitorResult

_CONTROL = dict.fromkeys([*range(0x00, 0x20), *range(0x7F, 0xA0)], "?")
_MARKERS = ("serum_m_protein", "urine_m_protein", "flc_difference", "marrow_plasma_cells_percent")


def _safe(text: object) -> str:
    """Input text shown on a terminal: markup escaped, control characters replaced."""
    return escape(str(text).translate(_CONTROL))


def _category(a: Assessment) -> str:
    r = a.result
    if r.category == NOT_EVALUABLE:
        floor = f", at least {r.at_least}" if r.at_least else ""
        return f"[yellow]not evaluable[/] ({' | '.join(r.possible)}{floor})"
    style = "bold red" if r.category == "PD" else "bold"
    return f"[{style}]{r.category}[/]"


def _key_values(a: Assessment) -> str:
    parts = []
    for m in a.result.measurements:
        if m.get("marker") not in _MARKERS:
            continue
        change = m.get("change_from_baseline_percent")
        pct = f" ({change:+g}%)" if isinstance(change, float) else ""
        name = str(m["marker"]).replace("_percent", "").replace("_", " ")
        parts.append(f"{name} {m['value']} {m.get('unit', '')}{pct}")
    return _safe("; ".join(parts))


def _assessments(result: MonitorResult) -> Table:
    t = Table(title="IMWG 2016 assessments", title_justify="left", show_edge=False)
    for col in ("date", "line", "category", "confirmed", "results (change from baseline)", "PD / relapse criteria"):
        t.add_column(col, overflow="fold")
    for a in result.history.assessments:
        fired = [c.code for c in a.result.criteria if c.met is True and c.code.startswith(("pd_", "relapse"))]
        t.add_row(
            a.date.isoformat(),
            "-" if a.line is None else str(a.line),
            _category(a),
            "yes" if a.confirmed else "no",
            _key_values(a),
            _safe(", ".join(fired)) or "-",
        )
    return t


def render_monitor_text(result: MonitorResult, console: Console) -> None:
    h, k = result.history, result.kinetics
    p = result.series.patient
    head = ", ".join(x for x in (f"age {p.age:g}" if p.age is not None else "", p.sex or "") if x)
    parts: list[object] = [Text(head)] if head else []
    for ln in h.lines:
        md, best = ln.measurable, ln.best
        label = f"Line {ln.line.number}" if ln.line.number is not None else "Series"
        regimen = f" ({_safe(ln.line.therapy.regimen)})" if ln.line.therapy and ln.line.therapy.regimen else ""
        marker = md.marker or "undetermined"
        conf = "confirmed" if best.confirmed else "unconfirmed"
        parts.append(
            Text.from_markup(
                f"{label}{regimen} from {ln.line.start}: followed marker [bold]{_safe(marker)}[/]; "
                f"best response [bold]{_safe(best.category)}[/] ({conf})"
            )
        )
        for n in md.notes:
            parts.append(Text("  " + n.text.translate(_CONTROL)))
    if h.assessments:
        parts.append(_assessments(result))
    for e in h.events:
        state = f"confirmed {e.confirmed_by}" if e.confirmed else "unconfirmed"
        parts.append(Text.from_markup(f"[bold]{_safe(e.type)}[/] from {e.date} ({state})"))
    if not h.lines:
        parts.append(Text("No serum/urine M-protein, FLC or marrow results: IMWG response not assessed."))
    parts.append(Text("\nB2M kinetics (b2m heuristic)", style="bold"))
    kd = k.to_dict()
    names = (
        "slope_log_per_month",
        "doubling_time_months",
        "halving_time_months",
        "change_from_baseline_percent",
        "change_from_nadir_percent",
    )
    summary = ", ".join(f"{name.replace('_', ' ')} {kd[name]}" for name in names if kd[name] is not None)
    parts.append(Text("  " + (summary or "not enough B2M results for a trend")))
    if k.renal_flag is not None:
        parts.append(Text("  " + k.renal_flag.clinician.translate(_CONTROL)))
    if result.alerts:
        parts.append(Text("\nAlerts", style="bold"))
        for al in result.alerts:
            tag = " (heuristic)" if al.heuristic else ""
            line = f"  [bold]{al.severity.upper()}[/] {al.date} {_safe(al.code)}{tag}: {_safe(al.clinician)}"
            parts.append(Text.from_markup(line))
    parts.append(Text("\nDecision support, not diagnosis; no treatment advice. Details: --format json.", style="dim"))
    console.print(Panel(Group(*parts), title=f"Patient {_safe(result.series.id)}", title_align="left"))  # type: ignore[arg-type]
