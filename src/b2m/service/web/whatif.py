"""What each missing input could change: the rule evaluated again with that input known, over its whole range.

For a result that leaves inputs unknown, each missing input is given, in turn, every value it can take (yes / no;
each choice; for a number, a grid over its plausible range, the changes of outcome then located by bisection)
while everything else stays as entered, and the rule itself (from the registry, through the same definitions as
the assessment) says which stages would then remain possible. Nothing here knows any rule's thresholds: the
boundaries shown are where the engine's answer changes.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from b2m.patient import BoneLesions, Isotype, Setting
from b2m.rules import registry
from b2m.rules.base import RuleResult
from b2m.rules.features import FEATURES
from b2m.rules.inputs import StagingValues
from b2m.rules.spec import ScoreRule, Spec, StagingSystem
from b2m.rules.staging_results import stage_patient
from b2m.units import ANALYTES, parse_lab

GRID_POINTS = 16
BISECTIONS = 12


@dataclass(frozen=True, slots=True)
class Domain:
    """The values a feature can take: ``choices``, or numbers from ``lo`` to ``hi`` (``integer``: whole)."""

    choices: tuple[object, ...] = ()
    lo: float = 0.0
    hi: float = 0.0
    unit: str = ""
    integer: bool = False
    analyte: str | None = None  # a lab: the result as received is a LabValue in the canonical unit


def _lab(key: str) -> Domain:
    a = ANALYTES[key]
    lo, hi = a.plausible
    return Domain(lo=max(lo, hi * 1e-5), hi=hi, unit=a.display, analyte=key)


BOOL = Domain(choices=(True, False))
# Per feature (b2m.rules.features.FEATURES): what it can be, for the what-if. Lab features vary as a number in the
# canonical unit; a feature the rules read as a received result (calcium, creatinine, ...) varies with it.
DOMAINS: dict[str, Domain] = {
    "b2m_mg_l": _lab("b2m"),
    "b2m_upper_limit_mg_l": _lab("b2m"),
    "albumin_g_dl": _lab("albumin"),
    "ldh_u_l": _lab("ldh"),
    "ldh_uln_u_l": _lab("ldh"),
    "hemoglobin_g_dl": _lab("hemoglobin"),
    "calcium_mg_dl": _lab("calcium"),
    "creatinine_mg_dl": _lab("creatinine"),
    "platelets_10e9_l": Domain(lo=1.0, hi=ANALYTES["platelets"].plausible[1], unit=ANALYTES["platelets"].display),
    "m_protein_g_dl": Domain(lo=0.0, hi=ANALYTES["m_protein"].plausible[1], unit=ANALYTES["m_protein"].display),
    "urine_m_protein_mg_24h": Domain(lo=0.0, hi=20000.0, unit=ANALYTES["urine_m_protein"].display),
    "calcium": _lab("calcium"),
    "creatinine": _lab("creatinine"),
    "hemoglobin": _lab("hemoglobin"),
    "flc_kappa": Domain(lo=0.1, hi=20000.0, unit="mg/L", analyte="flc_kappa"),
    "flc_lambda": Domain(lo=0.1, hi=20000.0, unit="mg/L", analyte="flc_lambda"),
    "crcl_ml_min": Domain(lo=1.0, hi=200.0, unit="mL/min"),
    "flc_ratio_involved_uninvolved": Domain(lo=0.01, hi=10000.0),
    "plasmacytoma": Domain(choices=("none", "bone", "extramedullary")),
    "age_years": Domain(lo=18.0, hi=100.0, unit="years"),
    "setting": Domain(choices=typing.get_args(Setting)),
    "isotype": Domain(choices=typing.get_args(Isotype)),
    "bmpc_percent": Domain(lo=0.0, hi=100.0, unit="%"),
    "bm_lymphoplasmacytic_percent": Domain(lo=0.0, hi=100.0, unit="%"),
    "osteolytic_lesions": Domain(lo=0, hi=10, integer=True),
    "mri_focal_lesions_ge_5mm": Domain(lo=0, hi=10, integer=True),
    "bone_lesions": Domain(choices=typing.get_args(BoneLesions)),
    "crab_attributable": BOOL,
    "amyloidosis": BOOL,
    "igm_related_features": BOOL,
    "del17p": BOOL,
    "del17p_clonal_fraction_percent": Domain(lo=0.0, hi=100.0, unit="%"),
    "tp53_mutation": BOOL,
    "t4_14": BOOL,
    "t14_16": BOOL,
    "t14_20": BOOL,
    "gain1q": BOOL,
    "del1p32": Domain(choices=("absent", "monoallelic", "biallelic")),
    "del13q": BOOL,
    "fish_cd138_purified": BOOL,
    "ighv_unmutated": BOOL,
    "binet_stage": Domain(choices=("A", "B", "C")),
    "rai_stage": Domain(lo=0, hi=4, integer=True),
    "largest_node_diameter_cm": Domain(lo=0.5, hi=30.0, unit="cm"),
    "bone_marrow_involved": BOOL,
}
# Features that vary together (one lab result gives both its number and its received form).
LINKED: dict[str, tuple[str, ...]] = {
    "calcium": ("calcium", "calcium_mg_dl"),
    "calcium_mg_dl": ("calcium", "calcium_mg_dl"),
    "creatinine": ("creatinine", "creatinine_mg_dl"),
    "creatinine_mg_dl": ("creatinine", "creatinine_mg_dl"),
    "hemoglobin": ("hemoglobin", "hemoglobin_g_dl"),
    "hemoglobin_g_dl": ("hemoglobin", "hemoglobin_g_dl"),
}
NOT_VARIED = frozenset({"crcl_estimator", "disease"})  # text that follows from other inputs


@dataclass(frozen=True, slots=True)
class Segment:
    """One part of a missing input's range and the stages then possible."""

    when: object  # a choice, or (lo, hi) with None for an open end
    possible: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WhatIf:
    feature: str
    label: str
    unit: str
    segments: tuple[Segment, ...]
    changes: bool  # some value would leave fewer stages possible than now
    integer: bool = False

    @property
    def numeric(self) -> bool:
        return bool(self.segments) and isinstance(self.segments[0].when, tuple)


def feature_of(spec: Spec, name: str) -> str:
    """The feature behind an input name a result lists as missing (a score's keyword, or the feature itself)."""
    if isinstance(spec, ScoreRule):
        return spec.arguments.get(name, name)
    return name


def _feature_label(feature: str) -> str:
    text = FEATURES.get(feature, feature.replace("_", " "))
    first = text.split(" ", 1)[0]
    # "Serum albumin", but "del(17p)" and "t(4;14)" keep the case of their nomenclature
    return text[0].upper() + text[1:] if first.isalpha() else text


class Evaluator:
    """The rule of ``spec`` for one patient's features, with one feature changed at a time."""

    def __init__(self, spec: Spec, features: Mapping[str, object]) -> None:
        self.spec = spec
        self.features = dict(features)
        self.calls = 0
        if isinstance(spec, StagingSystem):
            wanted = {spec.name, *spec.uses}
            self.systems = [s for s in registry.staging_systems() if s.name in wanted]
            names = [f.name for f in dataclasses.fields(StagingValues)]
            self.values = StagingValues(**{k: features[k] for k in names})  # type: ignore[arg-type]

    def possible(self, changes: Mapping[str, object]) -> tuple[str, ...]:
        self.calls += 1
        spec = self.spec
        if isinstance(spec, StagingSystem):
            values = dataclasses.replace(self.values, **changes)  # type: ignore[arg-type]
            result: RuleResult = stage_patient(values, self.systems)[spec.name]
        else:
            result = spec({**self.features, **changes})
        return result.possible


def _changes(feature: str, value: object) -> dict[str, object]:
    linked = LINKED.get(feature, (feature,))
    out: dict[str, object] = {}
    for f in linked:
        d = DOMAINS[f]
        if d.analyte is not None and isinstance(value, float | int) and not isinstance(value, bool):
            unit = ANALYTES[d.analyte].canonical if d.analyte != "platelets" else "10^9/L"
            out[f] = parse_lab(d.analyte, {"value": float(value), "unit": unit}) if f == d.analyte else float(value)
        else:
            out[f] = value
    return out


def _grid(d: Domain) -> list[float]:
    if d.integer:
        return [i for i in range(int(d.lo), int(d.hi) + 1)]
    if d.lo > 0 and d.hi / d.lo > 50:
        step = math.log(d.hi / d.lo) / (GRID_POINTS - 1)
        return [d.lo * math.exp(step * i) for i in range(GRID_POINTS)]
    return [d.lo + (d.hi - d.lo) * i / (GRID_POINTS - 1) for i in range(GRID_POINTS)]


def _boundary(ev: Evaluator, feature: str, a: float, b: float, pa: tuple[str, ...], log: bool) -> float:
    """Where the outcome changes between ``a`` and ``b`` (the first value with the new outcome, approximately)."""
    for _ in range(BISECTIONS):
        mid = math.sqrt(a * b) if log and a > 0 else (a + b) / 2
        if ev.possible(_changes(feature, mid)) == pa:
            a = mid
        else:
            b = mid
    return b


def round_boundary(x: float) -> float:
    """A boundary found by bisection, shown to 2 significant digits, or 3 where that keeps a finer step."""
    if x == 0:
        return 0.0
    two = float(f"{x:.2g}")
    three = float(f"{x:.3g}")
    return two if abs(two - x) / abs(x) < 0.002 else three


def what_if(spec: Spec, features: Mapping[str, object], result: RuleResult) -> list[WhatIf]:
    """For each missing input of ``result``: the stages possible over its range (empty if nothing is missing)."""
    ev = Evaluator(spec, features)
    now = result.possible
    out: list[WhatIf] = []
    seen: set[str] = set()
    for name in result.missing:
        feature = feature_of(spec, name)
        if feature in seen or feature in NOT_VARIED or feature not in DOMAINS:
            continue
        seen.add(feature)
        d = DOMAINS[feature]
        segments: list[Segment] = []
        if d.choices:
            for c in d.choices:
                segments.append(Segment(c, ev.possible(_changes(feature, c))))
        else:
            grid = _grid(d)
            log = not d.integer and d.lo > 0 and d.hi / d.lo > 50
            outcomes = [ev.possible(_changes(feature, x)) for x in grid]
            start: float | None = None
            if not d.integer and d.lo == 0:
                # Is zero itself a case of its own (no clonal plasma cells, no M-protein detected)?
                tiny = d.hi * 1e-9
                just_above = ev.possible(_changes(feature, tiny))
                if just_above != outcomes[0]:
                    segments.append(Segment((0.0, 0.0), outcomes[0]))
                    grid[0], outcomes[0], start = tiny, just_above, 0.0
            for i in range(len(grid)):
                if i + 1 < len(grid) and outcomes[i + 1] == outcomes[i]:
                    continue
                if i + 1 < len(grid):
                    edge = (
                        grid[i + 1]
                        if d.integer
                        else round_boundary(_boundary(ev, feature, grid[i], grid[i + 1], outcomes[i], log))
                    )
                else:
                    edge = None
                segments.append(Segment((start, edge), outcomes[i]))
                start = edge
        changes = any(len(s.possible) < len(now) for s in segments)
        out.append(WhatIf(feature, _feature_label(feature), d.unit, tuple(segments), changes, d.integer))
    out.sort(key=lambda w: not w.changes)
    return out


def describe(w: WhatIf, fmt_num: Any, stage_label: Any) -> list[tuple[str, str]]:
    """(when, stages) lines for a page: ``below 3.5 mg/L`` -> ``I or II``."""
    lines: list[tuple[str, str]] = []
    for s in w.segments:
        stages = " or ".join(stage_label(p) for p in s.possible)
        if isinstance(s.when, tuple):
            lo, hi = s.when
            unit = f" {w.unit}" if w.unit else ""
            if lo == hi == 0.0:
                when = f"exactly 0{unit}"
            elif w.integer and hi is not None:
                hi = hi - 1
                lo = 0 if lo is None else lo
                when = f"{fmt_num(lo)}{unit}" if lo == hi else f"{fmt_num(lo)} to {fmt_num(hi)}{unit}"
            elif lo is None and hi is None:
                when = "any value"
            elif lo is None:
                when = f"below {fmt_num(hi)}{unit}"
            elif hi is None:
                when = f"{fmt_num(lo)}{unit} or more"
            elif lo == 0.0 and lines and lines[-1][0].startswith("exactly 0"):
                when = f"above 0 to {fmt_num(hi)}{unit}"
            else:
                when = f"{fmt_num(lo)} to {fmt_num(hi)}{unit}"
        elif isinstance(s.when, bool):
            when = "yes / present" if s.when else "no / absent"
        else:
            when = str(s.when).replace("_", " ")
        lines.append((when, stages))
    return lines


__all__ = ["DOMAINS", "Domain", "WhatIf", "describe", "what_if"]
