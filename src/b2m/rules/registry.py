"""The rule registry: every rule's spec, in the order results are shown.

Consumers iterate the registry instead of naming rules: the assessment (:mod:`b2m.assessment`), batch
staging (:func:`b2m.rules.staging.staged`, ``b2m stage``) and the single-patient staging results. A new
rule module exports one spec and is listed here; :func:`registered` adds one for the duration of a
``with`` block (tests register a toy rule that way, with no source file changed).

Staging systems (:class:`~b2m.rules.spec.StagingSystem`) come first, in dependency order (a system is
listed after every system it ``uses``); their batch columns are ``<name>`` for each, then
``<name>_score`` for each scored one, then ``<name>_possible`` for each (:func:`output_columns`). The
other rules (:class:`~b2m.rules.spec.ScoreRule`) follow, in the order of the JSON ``scores`` object.

The registry is module state, changed only by :func:`registered` (meant for tests and plug-ins set up
at start-up, not for concurrent use while patients are being assessed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Generic, TypeVar

from b2m.rules import (
    cll_ipi_2016,
    durie_salmon_1975,
    flipi2_2009,
    ims_imwg_2025_high_risk,
    imwg_2014,
    ipsswm_2009,
    iss,
    prima_pi_2018,
    r2_iss,
    r_iss,
    ripsswm_2019,
    smm_imwg_2020,
    smm_mayo_2018,
)
from b2m.rules.spec import ScoreRule, Spec, StagingSystem

_STAGING: list[StagingSystem] = [iss.SPEC, r_iss.SPEC, r2_iss.SPEC]
_SCORES: list[ScoreRule] = [
    imwg_2014.SPEC,
    durie_salmon_1975.SPEC,
    ims_imwg_2025_high_risk.SPEC,
    smm_mayo_2018.SPEC,
    smm_imwg_2020.SPEC,
    cll_ipi_2016.SPEC,
    ipsswm_2009.SPEC,
    ripsswm_2019.SPEC,
    flipi2_2009.SPEC,
    prima_pi_2018.SPEC,
]
_cache: dict[str, object] = {}

S = TypeVar("S", StagingSystem, ScoreRule)
T = TypeVar("T")


def staging_systems() -> tuple[StagingSystem, ...]:
    """The ISS-family systems, in dependency order (also the order of the JSON and the batch columns)."""
    return tuple(_STAGING)


def staging_system(name: str) -> StagingSystem:
    for s in _STAGING:
        if s.name == name:
            return s
    raise KeyError(name)


def scores() -> tuple[ScoreRule, ...]:
    """Every other rule, in the order of the assessment's ``scores``."""
    return tuple(_SCORES)


def specs() -> tuple[Spec, ...]:
    return (*_STAGING, *_SCORES)


class SystemView(Mapping[str, T], Generic[T]):
    """One attribute of every registered staging system, by name, read at each use (so a system
    registered later is seen by every table, analysis and report that iterates this view)."""

    def __init__(self, get: Callable[[StagingSystem], T]) -> None:
        self._get = get

    def __getitem__(self, name: str) -> T:
        return self._get(staging_system(name))

    def __iter__(self) -> Iterator[str]:
        return iter([s.name for s in staging_systems()])

    def __len__(self) -> int:
        return len(_STAGING)


def score_columns() -> tuple[str, ...]:
    """The numeric batch columns (``<name>_score`` of each scored system); every other output is a label."""
    return tuple(f"{s.name}_score" for s in staging_systems() if s.score is not None)


def output_columns() -> tuple[str, ...]:
    """The batch staging contract's output columns: names, then score columns, then possible sets."""
    cols = _cache.get("output_columns")
    if not isinstance(cols, tuple):
        systems = staging_systems()
        cols = (
            *(s.name for s in systems),
            *(f"{s.name}_score" for s in systems if s.score is not None),
            *(f"{s.name}_possible" for s in systems),
        )
        _cache["output_columns"] = cols
    return cols


def _check(spec: Spec) -> None:
    names = {s.name for s in specs()}
    if spec.name in names:
        raise ValueError(f"a rule named {spec.name!r} is already registered")
    if isinstance(spec, StagingSystem):
        unknown = [u for u in spec.uses if u not in {s.name for s in _STAGING}]
        if unknown:
            raise ValueError(f"{spec.name} uses {unknown}, which are not registered before it")


@contextmanager
def registered(spec: S) -> Iterator[S]:
    """Add ``spec`` after the rules of its kind for the duration of the block, then remove it."""
    _check(spec)
    if isinstance(spec, StagingSystem):
        _STAGING.append(spec)
    else:
        _SCORES.append(spec)
    _cache.clear()
    try:
        yield spec
    finally:
        if isinstance(spec, StagingSystem):
            _STAGING.remove(spec)
        else:
            _SCORES.remove(spec)
        _cache.clear()
