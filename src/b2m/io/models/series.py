"""The series document of ``b2m monitor`` and ``b2m report`` (docs/monitor-contract.md).

The patient document of ``b2m assess`` plus three keys: ``series`` (dated lab results, marrow plasma
cells, immunofixation), ``therapy_lines`` and ``imaging_events``. As for the patient document, the
model checks the shape; units, plausibility, date order and same-day conflicts are read when the
document becomes a :class:`b2m.monitor.series.PatientSeries` (:func:`b2m.io.series.to_patient_series`).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, RootModel, model_validator

from b2m.errors import InputError, short
from b2m.io.models.base import Accepted, ClinicalDate, Contract, LabNumber, Text
from b2m.io.models.patient import LabResult, PatientDocument, lab_description
from b2m.monitor.series import IfeResult, ImagingFinding
from b2m.units import Censored, parse_number

MAX_ENTRIES_PER_SERIES = 10_000  # a decade of daily results; more is not one patient's series
MAX_THERAPY_LINES = 50
MAX_PATIENTS_PER_SERIES_DOCUMENT = 10_000


class DatedLabResult(LabResult):
    """One dated lab result of a series: a value and a date are required; units as in `labs`."""

    value: LabNumber = Field(
        description='The result: a number, or a censored string such as "<0.1". A serum M-protein of 0 (or a censored '
        '"<x") means not detected by electrophoresis.'
    )
    # A required, checked date where a single result's is optional text (pydantic: a subclass may narrow a field).
    date: ClinicalDate = Field(  # type: ignore[assignment]
        description="Sampling date, ISO 8601 (1950-01-01 to 2100-12-31)."
    )


class MarrowResult(Contract):
    """Bone marrow plasma cells on one date. Percentages have no unit and do not go through the unit layer."""

    date: ClinicalDate = Field(description="Date of the marrow sample, ISO 8601.")
    value: Annotated[LabNumber, Accepted("a percentage from 0 to 100")] = Field(
        description='Plasma cells, percent (0-100; a censored value such as "<5" is kept as such).'
    )
    clonal: bool | None = Field(
        None, description="Clonal plasma cells by IHC/IF (false is needed for sCR); null: not done."
    )
    method: Text | None = Field(None, description="Method (e.g. aspirate, biopsy).")

    @model_validator(mode="after")
    def _percentage(self) -> MarrowResult:
        pct = parse_number(self.value, "value", allow_censored=True)
        lo, hi = pct.bounds() if isinstance(pct, Censored) else (pct, pct)
        if lo > 100 or (not isinstance(pct, Censored) and hi > 100):
            raise InputError("value", f"out of range: {short(self.value)}", "a percentage from 0 to 100")
        return self


IFE_ACCEPTED = Accepted("positive, negative, null (not done)")


class ImmunofixationResult(Contract):
    """Serum and urine immunofixation on one date."""

    date: ClinicalDate = Field(description="Date of the test, ISO 8601.")
    serum: Annotated[IfeResult | None, IFE_ACCEPTED] = Field(None, description="Serum immunofixation.")
    urine: Annotated[IfeResult | None, IFE_ACCEPTED] = Field(None, description="Urine immunofixation.")


def _entries(description: str) -> Any:
    return Field(None, max_length=MAX_ENTRIES_PER_SERIES, description=description)


LabSeries = Annotated[list[DatedLabResult] | None, Accepted("a JSON array of dated entries")]


class Series(Contract):
    """Dated results by lab name (each a list in any order; sorted by date when read)."""

    b2m: LabSeries = _entries(lab_description("b2m"))
    albumin: LabSeries = _entries(lab_description("albumin"))
    ldh: LabSeries = _entries(lab_description("ldh"))
    creatinine: LabSeries = _entries(lab_description("creatinine"))
    cystatin_c: LabSeries = _entries(lab_description("cystatin_c"))
    crp: LabSeries = _entries(lab_description("crp"))
    calcium: LabSeries = _entries(lab_description("calcium"))
    hemoglobin: LabSeries = _entries(lab_description("hemoglobin"))
    platelets: LabSeries = _entries(lab_description("platelets"))
    m_protein: LabSeries = _entries(lab_description("m_protein"))
    urine_m_protein: LabSeries = _entries(lab_description("urine_m_protein"))
    flc_kappa: LabSeries = _entries(lab_description("flc_kappa"))
    flc_lambda: LabSeries = _entries(lab_description("flc_lambda"))
    marrow_plasma_cells_percent: Annotated[list[MarrowResult] | None, Accepted("a JSON array of dated entries")] = (
        _entries("Bone marrow plasma cells (%) over time.")
    )
    immunofixation: Annotated[list[ImmunofixationResult] | None, Accepted("a JSON array of dated entries")] = _entries(
        "Serum and urine immunofixation over time."
    )


class TherapyLine(Contract):
    """A line of therapy: it owns the results after its start and before the next line's start."""

    line: int = Field(ge=1, le=MAX_THERAPY_LINES, description="Line number, 1-50, unique; follows the start dates.")
    regimen: Text | None = Field(None, description="Regimen as written (e.g. VRd).")
    start: ClinicalDate = Field(description="Start date, ISO 8601.")
    end: Annotated[ClinicalDate | None, Accepted("an ISO 8601 date on or after the start")] = Field(
        None, description="End date, ISO 8601, on or after the start; null: ongoing."
    )

    @model_validator(mode="after")
    def _end_after_start(self) -> TherapyLine:
        if self.end is not None and self.end < self.start:
            raise InputError("end", f"end {self.end} is before start {self.start}", "an end date on or after the start")
        return self


class ImagingEvent(Contract):
    """An imaging finding on one date."""

    date: ClinicalDate = Field(description="Date of the imaging, ISO 8601.")
    finding: ImagingFinding = Field(
        description="new_bone_lesion, new_soft_tissue_plasmacytoma and lesion_growth_50_percent count as "
        "progression; no_new_or_progressing_lesions does not."
    )
    modality: Text | None = Field(None, description="Modality (e.g. PET-CT, MRI).")


class SeriesDocument(PatientDocument):
    """One patient followed over time (`b2m monitor`, `b2m report`): the patient document of `b2m assess`
    (`labs` = values at diagnosis, for the stage at diagnosis) plus dated series, therapy lines and imaging."""

    series: Series | None = Field(None, description="Dated results by lab name, marrow and immunofixation.")
    therapy_lines: Annotated[list[TherapyLine] | None, Accepted("a JSON array of therapy lines")] = Field(
        None,
        max_length=MAX_THERAPY_LINES,
        description="Lines of therapy. Without them the first results are the baseline and the whole series is one "
        "line.",
    )
    imaging_events: Annotated[list[ImagingEvent] | None, Accepted("a JSON array of imaging findings")] = Field(
        None, max_length=MAX_ENTRIES_PER_SERIES, description="Imaging findings over time."
    )


class SeriesFile(
    RootModel[SeriesDocument | Annotated[list[SeriesDocument], Field(max_length=MAX_PATIENTS_PER_SERIES_DOCUMENT)]]
):
    """The input of `b2m monitor` and `b2m report`: one patient object, or an array of them (ids unique)."""


__all__ = [
    "MAX_ENTRIES_PER_SERIES",
    "MAX_PATIENTS_PER_SERIES_DOCUMENT",
    "MAX_THERAPY_LINES",
    "DatedLabResult",
    "ImagingEvent",
    "ImmunofixationResult",
    "MarrowResult",
    "Series",
    "SeriesDocument",
    "SeriesFile",
    "TherapyLine",
]
