"""The patient JSON contract of ``b2m assess`` (documented in the README), parsed into typed values.

Absent keys and ``null`` mean unknown. Unknown keys are refused (a misspelt ``"del_17p"`` must not
silently become "FISH unknown"), and every refusal names the field, the problem and the accepted forms.
"""

from __future__ import annotations

from b2m.errors import InputError
from b2m.io import fields as f
from b2m.patient import (
    BONE_LESIONS,
    DISEASES,
    ISOTYPES,
    SETTINGS,
    SEXES,
    CLLFeatures,
    Cytogenetics,
    Imaging,
    LymphomaFeatures,
    Patient,
)
from b2m.units import LAB_NAMES, LabValue, parse_lab

CYTOGENETIC_FLAGS: tuple[str, ...] = (
    "del17p",
    "t4_14",
    "t14_16",
    "t14_20",
    "gain1q",
    "amp1q",
    "del1p32",
    "del1p32_biallelic",
    "del13q",
    "tp53_mutation",
    "cd138_purified",
)
IMAGING_KEYS: tuple[str, ...] = (
    "osteolytic_lesions",
    "mri_focal_lesions",
    "bone_status",
    "biopsy_proven_plasmacytoma",
    "extramedullary_plasmacytoma",
)
TOP_KEYS: tuple[str, ...] = (
    "id",
    "age",
    "sex",
    "weight_kg",
    "setting",
    "disease",
    "labs",
    "cytogenetics",
    "marrow_plasma_cells_percent",
    "imaging",
    "conditions",
    "medications",
    "isotype",
    "involved_light_chain",
    "amyloidosis",
    "crab_attributable",
    "igm_related_features",
    "marrow_lymphoplasmacytic_percent",
    "cll",
    "lymphoma",
)
CLL_KEYS: tuple[str, ...] = ("ighv_unmutated", "binet_stage", "rai_stage")
LYMPHOMA_KEYS: tuple[str, ...] = ("largest_node_diameter_cm", "bone_marrow_involvement")

# Plausibility bounds of the non-lab fields, with the reason in the accepted-forms text.
AGE_RANGE_YEARS = (0.0, 130.0)
WEIGHT_RANGE_KG = (1.0, 400.0)


def _cytogenetics(raw: object) -> Cytogenetics:
    d = f.obj(raw, "cytogenetics")
    f.check_keys(d, (*CYTOGENETIC_FLAGS, "del17p_clonal_fraction_percent"), "cytogenetics")
    flags = {k: f.boolean(d.get(k), f"cytogenetics.{k}") for k in CYTOGENETIC_FLAGS}
    ccf = f.number(d.get("del17p_clonal_fraction_percent"), "cytogenetics.del17p_clonal_fraction_percent", 0, 100)
    return Cytogenetics(**flags, del17p_clonal_fraction_percent=ccf)


def _imaging(raw: object) -> Imaging:
    d = f.obj(raw, "imaging")
    f.check_keys(d, IMAGING_KEYS, "imaging")
    return Imaging(
        osteolytic_lesions=f.integer(d.get("osteolytic_lesions"), "imaging.osteolytic_lesions", 0, 1000),
        mri_focal_lesions=f.integer(d.get("mri_focal_lesions"), "imaging.mri_focal_lesions", 0, 1000),
        bone_status=f.choice(d.get("bone_status"), "imaging.bone_status", BONE_LESIONS),
        biopsy_proven_plasmacytoma=f.boolean(d.get("biopsy_proven_plasmacytoma"), "imaging.biopsy_proven_plasmacytoma"),
        extramedullary_plasmacytoma=f.boolean(
            d.get("extramedullary_plasmacytoma"), "imaging.extramedullary_plasmacytoma"
        ),
    )


def _labs(raw: object) -> dict[str, LabValue]:
    d = f.obj(raw, "labs")
    unknown = sorted(set(d) - set(LAB_NAMES))
    if unknown:
        raise InputError(f"labs.{unknown[0]}", f"unknown lab name {unknown[0]!r}", ", ".join(LAB_NAMES))
    out = {}
    for key in LAB_NAMES:
        lab = parse_lab(key, d.get(key))
        if lab is not None:
            out[key] = lab
    return out


def parse_patient(raw: object, default_id: str = "1") -> Patient:
    d = f.obj(raw, "patient")
    if raw is None:
        raise InputError("patient", "expected a patient object, got null", "a JSON object")
    f.check_keys(d, TOP_KEYS, "")
    pid = d.get("id", default_id)
    if isinstance(pid, int) and not isinstance(pid, bool):
        pid = str(pid)
    pid = f.text(pid, "id", 64)
    if pid is None:
        pid = default_id
    elif not pid.strip() or not pid.isprintable():
        raise InputError("id", "empty or contains control characters", "printable text of 1-64 characters")
    cll = f.obj(d.get("cll"), "cll")
    f.check_keys(cll, CLL_KEYS, "cll")
    lym = f.obj(d.get("lymphoma"), "lymphoma")
    f.check_keys(lym, LYMPHOMA_KEYS, "lymphoma")
    return Patient(
        id=pid,
        age=f.number(d.get("age"), "age", *AGE_RANGE_YEARS, why="years"),
        sex=f.choice(d.get("sex"), "sex", SEXES),
        weight_kg=f.number(d.get("weight_kg"), "weight_kg", *WEIGHT_RANGE_KG),
        setting=f.choice(d.get("setting"), "setting", SETTINGS),
        disease=f.choice(d.get("disease"), "disease", DISEASES) or "multiple_myeloma",
        labs=_labs(d.get("labs")),
        cytogenetics=_cytogenetics(d.get("cytogenetics")),
        marrow_plasma_cells_percent=f.number(
            d.get("marrow_plasma_cells_percent"), "marrow_plasma_cells_percent", 0, 100
        ),
        imaging=_imaging(d.get("imaging")),
        conditions=f.text_list(d.get("conditions"), "conditions"),
        medications=f.text_list(d.get("medications"), "medications"),
        isotype=f.choice(d.get("isotype"), "isotype", ISOTYPES),
        involved_light_chain=f.choice(d.get("involved_light_chain"), "involved_light_chain", ("kappa", "lambda")),
        amyloidosis=f.boolean(d.get("amyloidosis"), "amyloidosis"),
        crab_attributable=f.boolean(d.get("crab_attributable"), "crab_attributable"),
        igm_related_features=f.boolean(d.get("igm_related_features"), "igm_related_features"),
        marrow_lymphoplasmacytic_percent=f.number(
            d.get("marrow_lymphoplasmacytic_percent"), "marrow_lymphoplasmacytic_percent", 0, 100
        ),
        cll=CLLFeatures(
            ighv_unmutated=f.boolean(cll.get("ighv_unmutated"), "cll.ighv_unmutated"),
            binet_stage=f.choice(cll.get("binet_stage"), "cll.binet_stage", ("A", "B", "C")),
            rai_stage=f.integer(cll.get("rai_stage"), "cll.rai_stage", 0, 4),
        ),
        lymphoma=LymphomaFeatures(
            largest_node_diameter_cm=f.number(
                lym.get("largest_node_diameter_cm"), "lymphoma.largest_node_diameter_cm", 0, 100
            ),
            bone_marrow_involvement=f.boolean(lym.get("bone_marrow_involvement"), "lymphoma.bone_marrow_involvement"),
        ),
    )


MAX_PATIENTS_PER_DOCUMENT = 100_000


def parse_patients(raw: object) -> list[Patient]:
    """One patient object or an array of them; errors are prefixed with the array index."""
    if isinstance(raw, list):
        if len(raw) > MAX_PATIENTS_PER_DOCUMENT:
            raise InputError(
                "patients",
                f"{len(raw)} patients in one document",
                f"at most {MAX_PATIENTS_PER_DOCUMENT:,}; use `b2m stage` for cohorts",
            )
        out = []
        for i, item in enumerate(raw):
            try:
                out.append(parse_patient(item, default_id=str(i + 1)))
            except InputError as e:
                raise type(e)(f"[{i}].{e.field}", e.problem, e.accepted, e.hint) from None
        return out
    return [parse_patient(raw)]


__all__ = ["MAX_PATIENTS_PER_DOCUMENT", "Cytogenetics", "Imaging", "Patient", "parse_patient", "parse_patients"]
