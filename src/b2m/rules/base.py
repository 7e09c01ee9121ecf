"""Result types shared by every rule: what was decided, why, from what, and with which caveats."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from b2m.provenance import Note, RuleRef, Source
from b2m.rules.kleene import Num, Tri
from b2m.units.censored import Censored

Status = Literal["C", "S", "U", "D"]  # b2m reference REF-2: confirmed, secondary, unconfirmed, disputed


@dataclass(frozen=True, slots=True)
class Criterion:
    """One criterion of a rule and whether it held: ``met`` is ``None`` when inputs leave it open."""

    code: str
    description: str
    met: Tri
    inputs: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "description": self.description,
            "met": self.met,
            "inputs": list(self.inputs),
        }


@dataclass(frozen=True, slots=True)
class Outcome:
    """A published outcome figure for one stage of one rule, with its cohort and source."""

    stage: str
    measure: str  # e.g. "median overall survival"
    value: float | None  # None for "not reached"
    unit: str  # "months", "%"
    cohort: str
    source: Source
    status: Status = "C"

    def to_dict(self) -> dict[str, object]:
        return {
            "stage": self.stage,
            "measure": self.measure,
            "value": self.value,
            "unit": self.unit,
            "cohort": self.cohort,
            "citation": self.source.citation,
            "doi": self.source.doi,
            "status": self.status,
        }


def input_repr(x: Num | bool | str) -> object:
    """JSON form of a rule input: censored values keep their text (``"<0.5"``)."""
    if isinstance(x, Censored):
        return str(x)
    return x


@dataclass(frozen=True, slots=True)
class RuleResult:
    """The outcome of one rule for one patient.

    ``possible`` is the ordered set of stages (or groups) still consistent with the known inputs;
    ``stage`` is set exactly when ``possible`` has one element.
    """

    rule: RuleRef
    possible: tuple[str, ...]
    criteria: tuple[Criterion, ...] = ()
    inputs: Mapping[str, object] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    notes: tuple[Note, ...] = ()
    outcomes: tuple[Outcome, ...] = ()
    score: float | None = None
    score_range: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if not self.possible:
            raise AssertionError(f"{self.rule.id}: a rule must leave at least one possible stage")
        # One outcome policy for every rule: published figures describe a stage, so they are shown only
        # once the stage is settled, and only confirmed [C] ones; a secondary-source [S] figure of the
        # settled stage is mentioned in a note, never presented as a result (brief: "never an
        # unconfirmed one").
        settled = [o for o in self.outcomes if o.stage == self.stage]
        secondary = [o for o in settled if o.status != "C"]
        object.__setattr__(self, "outcomes", tuple(o for o in settled if o.status == "C"))
        if secondary:
            text = "; ".join(
                f"{o.measure} {'not reached' if o.value is None else f'{o.value:g} {o.unit}'}" for o in secondary
            )
            note = Note(
                "secondary_outcomes",
                "unconfirmed",
                f"Figures for stage {self.stage} seen only in secondary sources, not confirmed against the "
                f"primary paper, so not shown as results: {text} ({secondary[0].cohort}).",
            )
            object.__setattr__(self, "notes", (*self.notes, note))

    @property
    def stage(self) -> str | None:
        return self.possible[0] if len(self.possible) == 1 else None

    @property
    def fired(self) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if c.met is True)

    def to_dict(self) -> dict[str, object]:
        return {
            "stage": self.stage,
            "possible": list(self.possible),
            "score": self.score,
            "score_range": list(self.score_range) if self.score_range else None,
            "criteria": [c.to_dict() for c in self.criteria],
            "criteria_met": [c.code for c in self.fired],
            "inputs": {k: input_repr(v) for k, v in self.inputs.items()},  # type: ignore[arg-type]
            "missing": list(self.missing),
            "notes": [n.to_dict() for n in self.notes],
            "outcomes": [o.to_dict() for o in self.outcomes],
            "rule": self.rule.to_dict(),
        }


def missing_names(values: Mapping[str, object]) -> tuple[str, ...]:
    return tuple(k for k, v in values.items() if v is None)


def ordered(candidates: Sequence[str], keep: Mapping[str, bool]) -> tuple[str, ...]:
    return tuple(c for c in candidates if keep[c])


# Note lives in b2m.provenance (kidney and units sit below rules); rules, interpret and reports keep
# importing it from here.
__all__ = ["Criterion", "Note", "Outcome", "RuleResult", "Status", "input_repr", "missing_names", "ordered"]
