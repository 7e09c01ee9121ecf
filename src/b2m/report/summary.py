"""The one-screen summary of ``b2m assess``: the default terminal output (``--detail`` gives the full report).

Per patient, in this order:

- **Stages**: each staging system's result and why: the criteria that hold and, for the stages it does
  not give, the criteria that would have to hold, found by evaluating the system's own definition with one
  input changed (:func:`b2m.rules.explain.explain`); the inputs those criteria read, with their values.
- **Missing**: each unknown input that could change a stage, with the stages possible now and those the
  system would give once it is known (and the inputs that are unknown but could change no stage).
- **Cautions**: kidney function, the B2M interpretation's warnings and cautions (kidney, confounders),
  and the notes about this patient's own values or setting (a value on a disputed boundary, LDH without
  its upper limit, a setting outside the systems' derivation).
- **Other rules** that answer the patient's setting (:attr:`b2m.rules.spec.ScoreRule.settings`); the
  rules left out are named (the JSON and ``--detail`` keep them).

Every text is taken from the results (criteria descriptions, flag and note texts, rule titles, sources);
no threshold is retyped here. Plain text wrapped to the terminal's width: a summary costs well under a
millisecond to render, so a large array of patients streams at the speed of the assessment.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

from b2m.assessment import DISCLAIMER, Assessment, staging_values
from b2m.rules import registry
from b2m.rules.base import Criterion, RuleResult
from b2m.rules.explain import Case, Explanation, MissingEffect, explain
from b2m.rules.features import FEATURES

_CONTROL = dict.fromkeys([*range(0x00, 0x20), *range(0x7F, 0xA0)], "?")

# Short names of the staging inputs in the summary's running text; any other input is named by its feature
# description (b2m.rules.features). Units come from the feature descriptions.
SHORT_NAMES: dict[str, str] = {
    "b2m_mg_l": "B2M",
    "albumin_g_dl": "albumin",
    "ldh_u_l": "LDH",
    "ldh_uln_u_l": "LDH upper limit",
    "del17p": "del(17p)",
    "t4_14": "t(4;14)",
    "t14_16": "t(14;16)",
    "gain1q": "1q+",
}
SEVERITY_ORDER = ("warning", "caution")
INDENT = "  "


def _safe(text: str) -> str:
    """Text from the input shown on a terminal: control characters (escape sequences) replaced."""
    return text.translate(_CONTROL)


def input_unit(name: str) -> str:
    """The unit of an input, from its feature description (``b2m_mg_l`` -> ``mg/L``); empty when it has none."""
    label = FEATURES.get(name, "")
    return label[label.rfind("(") + 1 : -1] if label.endswith(")") and "(" in label else ""


def input_name(name: str) -> str:
    """How the summary names an input: its short name, else its feature description without the unit."""
    if name in SHORT_NAMES:
        return SHORT_NAMES[name]
    label = FEATURES.get(name)
    if label is None:
        return name.replace("_", " ").replace(".", " ")  # "calcium.upper_limit": the lab's limit
    label = label.split(": ", 1)[0]  # "del(1p32): absent, monoallelic, ..." names its values after a colon
    return label[: label.rfind(" (")] if label.endswith(")") and " (" in label else label


def input_value(name: str, value: object) -> str:
    """An input and its value as the summary shows it: ``B2M 4.2 mg/L``, ``del(17p) absent``."""
    if isinstance(value, bool):
        shown = "present" if value else "absent"
    elif isinstance(value, float | int):
        shown = f"{value:.4g}" + (f" {input_unit(name)}" if input_unit(name) else "")
    else:
        shown = _safe(str(value)) + (f" {input_unit(name)}" if input_unit(name) else "")
    return f"{input_name(name)} {shown}"


def stages_text(stages: Sequence[str], order: Sequence[str]) -> str:
    """``I or II``; a run of three or more consecutive stages as ``II–IV``."""
    shown = [s.replace("_", " ") for s in stages]
    if len(stages) >= 3:
        idx = [order.index(s) for s in stages if s in order]
        if len(idx) == len(stages) and idx == list(range(idx[0], idx[0] + len(idx))):
            return f"{shown[0]}–{shown[-1]}"
    if len(shown) <= 2:
        return " or ".join(shown)
    return ", ".join(shown[:-1]) + " or " + shown[-1]


def _result(r: RuleResult, order: Sequence[str]) -> str:
    text = stages_text(r.possible, order)
    if r.score is not None:
        text += f" (score {r.score:g})"
    elif r.score_range is not None and r.score_range[0] != r.score_range[1]:
        text += f" (score {r.score_range[0]:g}–{r.score_range[1]:g})"
    return text


def _wrap(text: str, width: int, first: str = INDENT, rest: str | None = None) -> list[str]:
    rest = first + INDENT if rest is None else rest
    return textwrap.wrap(text, width=width, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False) or [
        first.rstrip()
    ]


def _adjacent(stage: str, possible: Sequence[str], order: Sequence[str]) -> bool:
    idx = [order.index(s) for s in possible]
    return order.index(stage) in (min(idx) - 1, max(idx) + 1)


def _why(r: RuleResult, explanation: Explanation, order: Sequence[str], scored: bool) -> str:
    """Why a system gives its stages: criteria that hold, what the other stages would need, what is open."""
    by_code = {c.code: c for c in r.criteria}
    parts: list[str] = []
    mentioned: list[Criterion] = []
    met = list(r.fired)
    if met:
        parts.append(
            ("met: " if not scored else "points: ") + (" + " if scored else "; ").join(c.description for c in met)
        )
        mentioned += met
    if not scored:
        needs: dict[str, list[str]] = {}
        for reach in explanation.reached_by:
            if not _adjacent(reach.stage, r.possible, order):
                continue  # the stages next to the result say why; farther ones repeat it
            wanted = [by_code[c] for c in reach.criteria if c in by_code]
            if not wanted:
                continue  # reached only by a criterion that holds ceasing to hold: the "met" list says it
            text = " and ".join(c.description for c in wanted)
            if text not in needs.setdefault(reach.stage, []):
                needs[reach.stage].append(text)
            mentioned += wanted
        parts += [f"stage {stage} needs {' or '.join(texts)}" for stage, texts in needs.items()]
    still_open = [c for c in r.criteria if c.met is None]
    if still_open:
        parts.append("open: " + ("; " if not scored else " + ").join(c.description for c in still_open))
        mentioned += still_open
    if not parts:
        return ""
    names: list[str] = []
    for c in mentioned:
        names += [i for i in c.inputs if i not in names]
    known = [input_value(n, r.inputs[n]) for n in names if r.inputs.get(n) is not None]
    return "; ".join(parts) + (f" ({', '.join(known)})" if known else "")


def _case(case: Case, criteria: Mapping[str, Criterion], now: Sequence[str], order: Sequence[str]) -> str:
    stages = stages_text(case.possible, order)
    if case.values:
        condition = "if " + " or ".join("present" if v else "absent" for v in case.values)
    elif case.criteria:
        condition = "if " + " and ".join(criteria[c].description for c in case.criteria if c in criteria)
    else:
        condition = "otherwise"
    return f"{stages} {condition}" + (" (as now)" if tuple(case.possible) == tuple(now) else "")


def _missing_lines(a: Assessment, explanations: Mapping[str, Explanation], width: int) -> list[str]:
    effects: dict[tuple[str, ...], list[tuple[str, MissingEffect]]] = {}
    for name, ex in explanations.items():
        for effect in ex.missing:
            effects.setdefault(effect.inputs, []).append((name, effect))
    lines: list[str] = []
    for inputs, items in effects.items():
        texts = []
        for name, effect in items:
            system = registry.staging_system(name)
            criteria = {c.code: c for c in a.staging[name].criteria}
            cases = sorted(effect.cases, key=lambda c: (not (c.values or c.criteria), c.values != (True,)))
            told = ", ".join(_case(c, criteria, effect.now, system.stages) for c in cases)
            texts.append(f"{system.label} {stages_text(effect.now, system.stages)} now → {told}")
        head = " and ".join(input_name(i) for i in inputs) + " unknown: "
        lines += _wrap(head + "; ".join(texts) + ".", width)
    changing = {i for inputs in effects for i in inputs}
    idle: list[str] = []
    for r in a.staging.values():
        idle += [m for m in r.missing if m not in changing and m not in idle]
    if idle:
        lines += _wrap("Also unknown, changing no stage here: " + ", ".join(input_name(m) for m in idle) + ".", width)
    return lines


def _caution_lines(a: Assessment, width: int) -> list[str]:
    lines: list[str] = []
    pref = a.kidney.preferred
    if pref is not None and pref[1].value is not None:
        category = a.kidney.to_dict().get("kdigo_category")
        kidney = f"Kidney function: {pref[1].value:.0f} {pref[1].unit} ({pref[1].equation.title})"
        lines += _wrap(kidney + (f", KDIGO {category}." if category else "."), width)
    flags = sorted(
        (f for f in a.b2m.flags if f.severity in SEVERITY_ORDER), key=lambda f: SEVERITY_ORDER.index(f.severity)
    )
    for f in flags:
        lines += _wrap(f"{f.severity.upper()}: {_safe(f.clinician)}", width)
    seen: set[str] = set()
    for name, r in a.staging.items():
        static = {n.code for n in registry.staging_system(name).notes}
        for n in r.notes:
            if n.code in static or n.code in seen or n.kind in ("unconfirmed", "missing"):
                continue  # a missing input is said, with what it could change, under "Missing"
            seen.add(n.code)
            lines += _wrap(f"{n.kind.upper()}: {_safe(n.text)}", width)
    return lines


def _applies(name: str, setting: str | None) -> bool:
    spec = next((s for s in registry.scores() if s.name == name), None)
    return spec is None or spec.settings is None or setting is None or setting in spec.settings


def _other_rules(a: Assessment, width: int) -> tuple[list[str], list[str]]:
    lines: list[str] = []
    left_out: list[str] = []
    for name, r in a.scores.items():
        if not _applies(name, a.patient.setting):
            left_out.append(r.rule.title)
            continue
        text = f"{r.rule.title}: {_result(r, r.possible)}"
        if r.stage is None and r.missing:
            text += "; unknown: " + ", ".join(input_name(m) for m in r.missing)
        lines += _wrap(text, width)
    return lines, left_out


def _sources(results: Mapping[str, RuleResult]) -> str:
    seen: dict[str, str] = {}
    labels = {s.name: s.label for s in registry.staging_systems()}
    for name, r in results.items():
        seen.setdefault(r.rule.source.doi, labels.get(name, r.rule.title))
    return "; ".join(f"{label} {doi}" for doi, label in seen.items())


def render_summary(a: Assessment, width: int = 100) -> str:
    """The one-screen summary of one assessed patient, as text lines ending in a newline."""
    width = max(width, 60)
    p = a.patient
    head = ", ".join(
        x
        for x in (
            f"age {p.age:g}" if p.age is not None else "",
            p.sex or "",
            f"setting {p.setting}" if p.setting else "setting not given",
            p.disease.replace("_", " "),
        )
        if x
    )
    title = f"Patient {_safe(p.id)} — {head} "
    lines = [title + "─" * max(width - len(title), 3)]
    systems = [registry.staging_system(name) for name in a.staging]
    explanations = explain(staging_values(p, a.kidney), systems) if systems else {}
    if systems:
        lines.append("Stages")
        label_width = max(len(f"{s.label} {_result(a.staging[s.name], s.stages)}") for s in systems) + 2
        for s in systems:
            r = a.staging[s.name]
            lead = f"{INDENT}{s.label} {_result(r, s.stages)}".ljust(label_width + len(INDENT))
            why = _why(r, explanations[s.name], s.stages, scored=s.score is not None)
            lines += _wrap(why, width, first=lead, rest=" " * len(lead)) if why else [lead.rstrip()]
        missing = _missing_lines(a, explanations, width)
        if missing:
            lines.append("Missing, and what it could change")
            lines += missing
    cautions = _caution_lines(a, width)
    lines.append("Cautions")
    lines += cautions or _wrap("None from the inputs given.", width)
    others, left_out = _other_rules(a, width)
    if others:
        lines.append(f"Other rules for {'this setting' if p.setting else 'this patient'}")
        lines += others
    if left_out:
        lines += _wrap(
            f"Not shown for the setting {p.setting} (in --detail and the JSON): " + "; ".join(left_out) + ".", width
        )
    shown = {**a.staging, **{n: r for n, r in a.scores.items() if _applies(n, p.setting)}}
    if shown:
        lines += _wrap("Sources (DOI): " + _sources(shown) + ".", width, first="")
    lines += _wrap(
        "Every criterion, note, published outcome and source: b2m assess --detail. " + DISCLAIMER,
        width,
        first="",
        rest="",
    )
    return "\n".join(lines) + "\n\n"


__all__ = ["SHORT_NAMES", "input_name", "input_value", "render_summary", "stages_text"]
