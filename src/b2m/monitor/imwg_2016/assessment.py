"""One IMWG 2016 assessment: its results, the nadirs it is compared with, and its classification.

Kumar S, et al. International Myeloma Working Group consensus criteria for response and minimal
residual disease assessment in multiple myeloma. Lancet Oncol. 2016;17(8):e328-e346.
DOI 10.1016/S1470-2045(16)30206-6.

Results of the followed marker(s) close in time form one assessment (:mod:`.history`); its
:class:`Classification` lists every category still ``possible`` given the results (unknown is never
normal): ``category`` is set only when one remains, ``at_least`` is the least favourable category
certainly reached when PD is excluded. The category is decided in :mod:`.ladder` and
:mod:`.progression`; this module holds the types they share and the :func:`measurements` shown
beside each assessment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from b2m.monitor.imwg_2016.baseline import Baseline
from b2m.monitor.imwg_2016.constants import NOT_EVALUABLE, RANK
from b2m.monitor.imwg_2016.values import (
    Iv,
    flc_difference,
    flc_ratio,
    iv_json,
    lab_point,
    marrow_iv,
    marrow_point,
    percent_change,
    round_iv,
    value_iv,
)
from b2m.monitor.series import ImagingEvent, Immunofixation, Marrow
from b2m.rules.base import Criterion, Note
from b2m.rules.kleene import Tri
from b2m.units import LabValue


@dataclass(frozen=True, slots=True)
class AssessmentData:
    """The results of one assessment (followed markers and everything attached to it)."""

    date: dt.date
    first_date: dt.date
    serum: LabValue | None = None
    urine: LabValue | None = None
    kappa: LabValue | None = None
    lam: LabValue | None = None
    ife: Immunofixation | None = None
    marrow: Marrow | None = None  # a marrow result attached to this assessment
    marrow_for_cr: Marrow | None = None  # latest marrow since the line start (a repeat is not needed for CR)
    imaging: tuple[ImagingEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class Nadirs:
    """Lowest values from the baseline up to (not including) the assessment; ``None`` = no value yet."""

    serum: Iv | None = None
    urine: Iv | None = None
    dflc: Iv | None = None
    marrow: Iv | None = None


@dataclass(frozen=True, slots=True)
class Classification:
    possible: tuple[str, ...]  # categories still consistent with the results
    criteria: tuple[Criterion, ...]
    measurements: tuple[Mapping[str, object], ...]
    missing: tuple[str, ...]
    notes: tuple[Note, ...]
    pd_fired: tuple[str, ...]
    relapse: Tri  # relapse-from-CR criteria (None when not in CR or undecided)

    @property
    def category(self) -> str:
        return self.possible[0] if len(self.possible) == 1 else NOT_EVALUABLE

    @property
    def at_least(self) -> str | None:
        """The least favourable category certainly reached, when PD is excluded."""
        if "PD" in self.possible:
            return None
        return min(self.possible, key=lambda c: RANK[c])

    @property
    def level(self) -> str | None:
        """What confirmation compares: the category, or the certain floor when not evaluable."""
        return self.category if self.category != NOT_EVALUABLE else self.at_least


class Collector:
    """The criteria checked while classifying one assessment, in order, and what was missing for them."""

    def __init__(self) -> None:
        self.criteria: list[Criterion] = []
        self.missing: list[str] = []

    def add(self, code: str, description: str, met: Tri, inputs: tuple[str, ...], missing: str | None = None) -> Tri:
        self.criteria.append(Criterion(code, description, met, inputs))
        if met is None and missing and missing not in self.missing:
            self.missing.append(missing)
        return met


def measurements(at: AssessmentData, nadir: Nadirs, b: Baseline) -> tuple[Mapping[str, object], ...]:
    """The values shown with an assessment: each result with its baseline, nadir and changes."""
    out: list[Mapping[str, object]] = []

    def add(marker: str, lab: LabValue | None, base: Iv | None, low: Iv | None) -> None:
        if lab is None:
            return
        now = value_iv(lab)
        out.append(
            {
                "marker": marker,
                **lab_point(lab),
                "baseline": iv_json(base) if base else None,
                "nadir": iv_json(low) if low else None,
                "change_from_baseline_percent": percent_change(now, base),
                "change_from_nadir_percent": percent_change(now, low),
            }
        )

    add("serum_m_protein", at.serum, value_iv(b.serum), nadir.serum)
    add("urine_m_protein", at.urine, value_iv(b.urine), nadir.urine)
    add("flc_kappa", at.kappa, value_iv(b.kappa), None)
    add("flc_lambda", at.lam, value_iv(b.lam), None)
    d = flc_difference(at.kappa, at.lam, b.involved)
    if d is not None:
        dates = [x.date for x in (at.kappa, at.lam) if x and x.date]
        out.append(
            {
                "marker": "flc_difference",
                "date": max(dates).isoformat() if dates else None,
                "value": iv_json(d),
                "unit": "mg/L",
                "baseline": iv_json(b.dflc) if b.dflc else None,
                "nadir": iv_json(nadir.dflc) if nadir.dflc else None,
                "change_from_baseline_percent": percent_change(d, b.dflc),
                "change_from_nadir_percent": percent_change(d, nadir.dflc),
            }
        )
    ratio = flc_ratio(at.kappa, at.lam)
    if ratio is not None:
        out.append({"marker": "flc_ratio_kappa_lambda", "value": iv_json(round_iv(ratio)), "unit": ""})
    if at.ife is not None:
        out.append(
            {"marker": "immunofixation", "date": at.ife.date.isoformat(), "serum": at.ife.serum, "urine": at.ife.urine}
        )
    marrow = at.marrow or at.marrow_for_cr
    if marrow is not None:
        base_m = marrow_iv(b.marrow)
        now_m = marrow_iv(marrow)
        out.append(
            {
                "marker": "marrow_plasma_cells_percent",
                **marrow_point(marrow),
                "clonal": marrow.clonal,
                "carried_forward": at.marrow is None,
                "baseline": iv_json(base_m) if base_m else None,
                "change_from_baseline_percent": percent_change(now_m, base_m),
            }
        )
    for e in at.imaging:
        out.append({"marker": "imaging", "date": e.date.isoformat(), "finding": e.finding, "modality": e.modality})
    return tuple(out)
