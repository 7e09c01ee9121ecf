"""Where a result comes from (the rule, its version, its publication) and the caveats attached to it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

NoteKind = Literal["discrepancy", "unconfirmed", "setting", "missing", "caveat"]


@dataclass(frozen=True, slots=True)
class Source:
    """A publication. ``doi`` is the canonical key; PMIDs are too often misquoted to rely on."""

    citation: str
    doi: str

    def to_dict(self) -> dict[str, str]:
        return {"citation": self.citation, "doi": self.doi}


@dataclass(frozen=True, slots=True)
class RuleRef:
    """Identity of one published rule version (one module implements exactly one)."""

    id: str
    version: str
    title: str
    source: Source

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "version": self.version,
            "title": self.title,
            "citation": self.source.citation,
            "doi": self.source.doi,
        }


@dataclass(frozen=True, slots=True)
class Note:
    """A caveat. ``discrepancy``/``unconfirmed`` notes surface every [D]/[U] choice of a rule."""

    code: str
    kind: NoteKind
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "kind": self.kind, "text": self.text}
