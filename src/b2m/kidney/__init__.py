"""Kidney function: one module per published equation, each returning a :class:`KidneyEstimate`.

Inputs are in canonical units (creatinine mg/dL, cystatin C mg/L, age in years, weight in kg);
conversion from µmol/L and other reported units happens in :mod:`b2m.units`, never here.

- :func:`ckd_epi_2021_creatinine` - CKD-EPI 2021 eGFRcr (race-free), mL/min/1.73 m²
- :func:`ckd_epi_2021_creatinine_cystatin` - CKD-EPI 2021 eGFRcr-cys (race-free), mL/min/1.73 m²
- :func:`ckd_epi_2012_cystatin` - CKD-EPI 2012 eGFRcys, mL/min/1.73 m²
- :func:`cockcroft_gault` - Cockcroft-Gault 1976 creatinine clearance, mL/min (not indexed)
- :func:`egfr_stage` - KDIGO 2012 GFR category G1-G5

The B2M-based GFR equation of Inker 2016 (AJKD) is deliberately absent: its coefficients could not
be checked against the paper's own equation text (b2m reference KID-5 [U]).
"""

from b2m.kidney.base import KDIGO_GFR_CATEGORIES, KidneyEstimate, Sex, egfr_stage
from b2m.kidney.ckd_epi_2012_cystatin import estimate as ckd_epi_2012_cystatin
from b2m.kidney.ckd_epi_2021_creatinine import estimate as ckd_epi_2021_creatinine
from b2m.kidney.ckd_epi_2021_creatinine_cystatin import estimate as ckd_epi_2021_creatinine_cystatin
from b2m.kidney.cockcroft_gault import estimate as cockcroft_gault

__all__ = [
    "KDIGO_GFR_CATEGORIES",
    "KidneyEstimate",
    "Sex",
    "ckd_epi_2012_cystatin",
    "ckd_epi_2021_creatinine",
    "ckd_epi_2021_creatinine_cystatin",
    "cockcroft_gault",
    "egfr_stage",
]
