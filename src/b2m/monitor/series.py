"""A patient's dated series: what ``b2m monitor`` follows (docs/monitor-contract.md), as domain data.

The series document (JSON) and the long format (CSV / Parquet) are read at the edge
(:mod:`b2m.io.series`), which checks every dated lab result through the unit layer, sorts the
entries by date and refuses conflicting same-day results; here are only the types it builds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from b2m.patient import Patient
from b2m.rules.base import Note
from b2m.units import LAB_NAMES, Censored, LabValue

IfeResult = Literal["positive", "negative"]
IFE_RESULTS: tuple[IfeResult, ...] = ("positive", "negative")

ImagingFinding = Literal[
    "new_bone_lesion",
    "new_soft_tissue_plasmacytoma",
    "lesion_growth_50_percent",
    "no_new_or_progressing_lesions",
]
IMAGING_FINDINGS: tuple[ImagingFinding, ...] = (
    "new_bone_lesion",
    "new_soft_tissue_plasmacytoma",
    "lesion_growth_50_percent",
    "no_new_or_progressing_lesions",
)

MARROW_KEY = "marrow_plasma_cells_percent"
IFE_KEY = "immunofixation"
# Series keys: every lab name of the engine contract, plus marrow plasma cells and immunofixation.
SERIES_KEYS: tuple[str, ...] = (*LAB_NAMES, MARROW_KEY, IFE_KEY)


@dataclass(frozen=True, slots=True)
class Marrow:
    """Marrow plasma cells (%) on one date; ``clonal`` = clonal plasma cells seen by IHC/IF (sCR)."""

    date: dt.date
    percent: float | Censored
    clonal: bool | None = None
    method: str | None = None


@dataclass(frozen=True, slots=True)
class Immunofixation:
    date: dt.date
    serum: IfeResult | None = None
    urine: IfeResult | None = None


@dataclass(frozen=True, slots=True)
class TherapyLine:
    line: int
    start: dt.date
    end: dt.date | None = None
    regimen: str | None = None


@dataclass(frozen=True, slots=True)
class ImagingEvent:
    date: dt.date
    finding: ImagingFinding
    modality: str | None = None


@dataclass(frozen=True, slots=True)
class PatientSeries:
    """One patient: the engine's patient fields plus dated series, therapy lines and imaging."""

    patient: Patient
    labs: Mapping[str, tuple[LabValue, ...]] = field(default_factory=dict)  # each sorted by date
    marrow: tuple[Marrow, ...] = ()
    immunofixation: tuple[Immunofixation, ...] = ()
    therapy_lines: tuple[TherapyLine, ...] = ()  # sorted by start date
    imaging_events: tuple[ImagingEvent, ...] = ()
    notes: tuple[Note, ...] = ()  # about the input itself (sorting, dropped repeats)

    @property
    def id(self) -> str:
        return self.patient.id

    def lab(self, key: str) -> tuple[LabValue, ...]:
        return self.labs.get(key, ())

    def date_of(self, lab: LabValue) -> dt.date:
        assert lab.date is not None  # every series entry has a date (checked at parsing)
        return lab.date
