"""Every kidney-function estimate the available inputs allow, for one patient."""

from __future__ import annotations

from dataclasses import dataclass

from b2m.kidney import (
    KidneyEstimate,
    Sex,
    ckd_epi_2012_cystatin,
    ckd_epi_2021_creatinine,
    ckd_epi_2021_creatinine_cystatin,
    cockcroft_gault,
    egfr_stage,
)
from b2m.kidney.base import ADULT_MIN_AGE_YEARS
from b2m.provenance import Note
from b2m.units import Censored, LabValue

EQUATIONS: tuple[str, ...] = (
    "ckd_epi_2021_creatinine",
    "ckd_epi_2021_creatinine_cystatin",
    "ckd_epi_2012_cystatin",
    "cockcroft_gault",
)


@dataclass(frozen=True, slots=True)
class KidneySummary:
    estimates: dict[str, KidneyEstimate]
    notes: tuple[Note, ...]

    @property
    def preferred(self) -> tuple[str, KidneyEstimate] | None:
        """The estimate to read B2M against: creatinine-cystatin C, else creatinine, else cystatin C.

        CKD-EPI is preferred over Cockcroft-Gault (IMWG renal recommendations, Dimopoulos 2016).
        """
        for name in ("ckd_epi_2021_creatinine_cystatin", "ckd_epi_2021_creatinine", "ckd_epi_2012_cystatin"):
            e = self.estimates.get(name)
            if e is not None and e.value is not None:
                return name, e
        return None

    def to_dict(self) -> dict[str, object]:
        values: dict[str, object] = {name: None for name in EQUATIONS}
        for name, e in self.estimates.items():
            values[name] = e.value
        pref = self.preferred
        return {
            **values,
            "preferred": pref[0] if pref else None,
            "kdigo_category": egfr_stage(pref[1].value) if pref and pref[1].value is not None else None,
            "details": {name: e.to_dict() for name, e in self.estimates.items()},
            "notes": [n.to_dict() for n in self.notes],
        }


def _plain(lab: LabValue | None, notes: list[Note]) -> float | None:
    if lab is None:
        return None
    if isinstance(lab.value, Censored):
        notes.append(
            Note(
                f"{lab.key}_censored",
                "missing",
                f"{lab.analyte.label} is censored ({lab.value} {lab.unit}); equations need a measured value.",
            )
        )
        return None
    return lab.value


def kidney_summary(
    *,
    creatinine: LabValue | None,
    cystatin_c: LabValue | None,
    age_years: float | None,
    sex: Sex | None,
    weight_kg: float | None,
) -> KidneySummary:
    notes: list[Note] = []
    scr = _plain(creatinine, notes)
    scys = _plain(cystatin_c, notes)
    out: dict[str, KidneyEstimate] = {}
    if age_years is not None and age_years < ADULT_MIN_AGE_YEARS:
        if scr is not None or scys is not None:
            notes.append(
                Note(
                    "kidney_adults_only",
                    "caveat",
                    f"The eGFR equations are validated for adults (>= {ADULT_MIN_AGE_YEARS:g} years); "
                    "none was estimated.",
                )
            )
        return KidneySummary(out, tuple(notes))
    if age_years is None or sex is None:
        if scr is not None or scys is not None:
            notes.append(
                Note(
                    "kidney_needs_age_sex",
                    "missing",
                    "eGFR needs age and sex; none was estimated.",
                )
            )
        return KidneySummary(out, tuple(notes))
    if scr is not None:
        out["ckd_epi_2021_creatinine"] = ckd_epi_2021_creatinine(creatinine_mg_dl=scr, age_years=age_years, sex=sex)
        if weight_kg is not None:
            out["cockcroft_gault"] = cockcroft_gault(
                creatinine_mg_dl=scr, age_years=age_years, weight_kg=weight_kg, sex=sex
            )
    if scys is not None:
        out["ckd_epi_2012_cystatin"] = ckd_epi_2012_cystatin(cystatin_c_mg_l=scys, age_years=age_years, sex=sex)
        if scr is not None:
            out["ckd_epi_2021_creatinine_cystatin"] = ckd_epi_2021_creatinine_cystatin(
                creatinine_mg_dl=scr, cystatin_c_mg_l=scys, age_years=age_years, sex=sex
            )
    return KidneySummary(out, tuple(notes))
