"""Declarations shared by the expression-defined rules."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CriterionDef:
    """A named criterion: its code, the text shown (rendered from the rule's constants), its inputs."""

    code: str
    description: str
    inputs: tuple[str, ...]
