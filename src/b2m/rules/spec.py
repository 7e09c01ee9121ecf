"""What a rule module declares about itself: one spec per module, listed by :mod:`b2m.rules.registry`.

Two kinds of rule:

- :class:`StagingSystem`: the ISS family, defined over the three-valued algebra of
  :mod:`b2m.rules.expr`, so one definition runs as dataframe expressions (batch columns, any engine)
  and in plain Python for one patient. A system may read the stage conditions of earlier systems
  (R-ISS and R2-ISS read ISS's), declared in ``uses``.
- :class:`ScoreRule`: every other rule, a pure function of keyword inputs; its spec maps each keyword
  to a patient feature (:mod:`b2m.rules.features`) and says for which diseases, and when, it applies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Generic, Protocol

from b2m.provenance import RuleRef
from b2m.rules.base import Note, Outcome, RuleResult
from b2m.rules.expr import Tri, V
from b2m.rules.inputs import StagingInputs, StagingValues


@dataclass(frozen=True, slots=True)
class CriterionDef:
    """A named criterion: its code, the text shown (rendered from the rule's constants), its inputs."""

    code: str
    description: str
    inputs: tuple[str, ...]


Conditions = Mapping[str, Tri[V]]
"""The three-valued condition of each stage (or group) of a system, by stage name."""


@dataclass(frozen=True, slots=True)
class Staged(Generic[V]):
    """A staging system evaluated on one backend.

    ``criteria`` by code (as declared in the spec's ``criteria``); ``stages`` the condition of each stage
    for a system defined by conditions; ``score`` the lowest and highest total (in the score's units)
    consistent with the unknown inputs, for a system defined by a score (its groups follow from it).
    """

    criteria: Mapping[str, Tri[V]]
    stages: Mapping[str, Tri[V]] = field(default_factory=dict)
    score: tuple[V, V] | None = None


class Evaluate(Protocol):
    """A staging system's definition: its inputs and the stage conditions of the systems it ``uses``."""

    def __call__(self, x: StagingInputs[V], earlier: Mapping[str, Conditions[V]], /) -> Staged[V]: ...


class Groups(Protocol):
    """Which groups a score range ``[lo, hi]`` can reach (one never-null flag per group, in order)."""

    def __call__(self, lo: V, hi: V, /) -> Mapping[str, V]: ...


@dataclass(frozen=True, slots=True)
class Score:
    """A points score: totals are integers of ``1 / units_per_point`` points (R2-ISS: half-points)."""

    units_per_point: int
    groups: Groups


@dataclass(frozen=True, slots=True)
class StagingSystem:
    """One ISS-family staging system: everything shown about it, and its definition.

    ``name`` is its batch output column and its key in the assessment JSON; ``label`` its short name in
    tables and figures ("R2-ISS"). ``value_notes`` are notes
    on the patient's values (ISS: a value exactly on a disputed boundary); they are given to this
    system's results and to those of every system that ``uses`` it.
    """

    name: str
    label: str
    ref: RuleRef
    stages: tuple[str, ...]
    inputs: tuple[str, ...]  # names from b2m.rules.inputs
    criteria: tuple[CriterionDef, ...]
    notes: tuple[Note, ...]
    outcomes: tuple[Outcome, ...]
    evaluate: Evaluate
    uses: tuple[str, ...] = ()
    score: Score | None = None
    value_notes: Callable[[StagingValues], tuple[Note, ...]] | None = None
    diseases: tuple[str, ...] = ("multiple_myeloma",)


Features = Mapping[str, object]
"""One patient's features by name (:data:`b2m.rules.features.FEATURES`), computed once per assessment."""


@dataclass(frozen=True, slots=True)
class ScoreRule:
    """Any other rule: a pure function of keyword inputs, fed from the patient's features.

    ``arguments`` maps each keyword of ``evaluate`` to a feature name. ``applies``, when given, decides
    from the features and the results of the rules before it whether the rule is evaluated at all
    (smouldering-myeloma risk only where smouldering myeloma is the setting or still possible).
    """

    name: str
    ref: RuleRef
    stages: tuple[str, ...]
    inputs: tuple[str, ...]
    notes: tuple[Note, ...]
    evaluate: Callable[..., RuleResult]
    arguments: Mapping[str, str]
    diseases: tuple[str, ...]
    outcomes: tuple[Outcome, ...] = ()
    applies: Callable[[Features, Mapping[str, RuleResult]], bool] | None = None

    def __call__(self, features: Features) -> RuleResult:
        return self.evaluate(**{k: features[f] for k, f in self.arguments.items()})


Spec = StagingSystem | ScoreRule
