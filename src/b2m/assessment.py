"""One patient's full assessment: labs, kidney function, B2M interpretation and every applicable rule.

This module only wires the pure pieces together; it decides nothing itself and names no rule. The
patient's features (:mod:`b2m.rules.features`) are computed once; the rules come from the registry
(:mod:`b2m.rules.registry`), each applied when the patient's ``disease`` is one of its diseases (and its
``applies`` condition holds): the ISS-family staging systems, evaluated in Python from their shared
definitions, then every other rule in registry order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import b2m
from b2m.interpret import B2MInterpretation, interpret_b2m
from b2m.kidney.summary import KidneySummary, kidney_summary
from b2m.patient import Patient
from b2m.rules import registry
from b2m.rules.base import RuleResult
from b2m.rules.kleene import Num
from b2m.rules.spec import Features
from b2m.rules.staging_results import StagingValues, stage_patient
from b2m.units import LabValue

DISCLAIMER = (
    "Decision support, not diagnosis: b2m shows the inputs, the criteria that fired, sources and caveats. "
    "It gives no treatment recommendation; results must be read by a clinician with the whole clinical picture."
)


def _v(lab: LabValue | None) -> float | b2m.units.Censored | None:
    return lab.value if lab is not None else None


@dataclass(frozen=True, slots=True)
class Assessment:
    patient: Patient
    staging: dict[str, RuleResult]
    scores: dict[str, RuleResult]
    kidney: KidneySummary
    b2m: B2MInterpretation
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        p = self.patient
        kidney = self.kidney.to_dict()
        return {
            "id": p.id,
            **{name: r.to_dict() for name, r in self.staging.items()},
            "egfr": {
                k: kidney[k]
                for k in (
                    "ckd_epi_2021_creatinine",
                    "ckd_epi_2021_creatinine_cystatin",
                    "ckd_epi_2012_cystatin",
                )
            },
            "creatinine_clearance": {"cockcroft_gault": kidney["cockcroft_gault"]},
            "kidney": kidney,
            "b2m": self.b2m.to_dict(),
            "flags": [fl.to_dict() for fl in self.b2m.flags],
            "scores": {name: r.to_dict() for name, r in self.scores.items()},
            "patient": {
                "age": p.age,
                "sex": p.sex,
                "weight_kg": p.weight_kg,
                "setting": p.setting,
                "disease": p.disease,
                "labs": {k: lab.to_dict() for k, lab in p.labs.items()},
            },
            "disclaimer": DISCLAIMER,
            "b2m_version": b2m.__version__,
        }


def _plasmacytoma(p: Patient) -> str | None:
    proven = p.imaging.biopsy_proven_plasmacytoma
    if proven is None or proven is False:
        return None if proven is None else "none"
    extramedullary = p.imaging.extramedullary_plasmacytoma
    return "present" if extramedullary is None else ("extramedullary" if extramedullary else "bone")


def _flc_ratio(p: Patient) -> Num:
    """Involved / uninvolved free light chain ratio (b2m reference E22); needs the involved chain."""
    kappa, lam = p.lab("flc_kappa"), p.lab("flc_lambda")
    if p.involved_light_chain is None or kappa is None or lam is None:
        return None
    inv, uninv = (kappa, lam) if p.involved_light_chain == "kappa" else (lam, kappa)
    if isinstance(inv.value, float) and isinstance(uninv.value, float) and uninv.value > 0:
        return inv.value / uninv.value
    return None


def patient_features(p: Patient, kidney: KidneySummary) -> dict[str, object]:
    """Every feature of :data:`b2m.rules.features.FEATURES` for one patient (``None`` = unknown)."""
    b2m_lab, ldh = p.lab("b2m"), p.lab("ldh")
    cg, img = p.cytogenetics, p.imaging
    pref = kidney.preferred
    return {
        "b2m_mg_l": _v(b2m_lab),
        "b2m_upper_limit_mg_l": b2m_lab.upper_limit if b2m_lab else None,
        "albumin_g_dl": _v(p.lab("albumin")),
        "ldh_u_l": _v(ldh),
        "ldh_uln_u_l": ldh.upper_limit if ldh is not None else None,
        "hemoglobin_g_dl": _v(p.lab("hemoglobin")),
        "calcium_mg_dl": _v(p.lab("calcium")),
        "creatinine_mg_dl": _v(p.lab("creatinine")),
        "platelets_10e9_l": _v(p.lab("platelets")),
        "m_protein_g_dl": _v(p.lab("m_protein")),
        "urine_m_protein_mg_24h": _v(p.lab("urine_m_protein")),
        "calcium": p.lab("calcium"),
        "creatinine": p.lab("creatinine"),
        "hemoglobin": p.lab("hemoglobin"),
        "flc_kappa": p.lab("flc_kappa"),
        "flc_lambda": p.lab("flc_lambda"),
        "crcl_ml_min": pref[1].value if pref else None,
        "crcl_estimator": pref[1].equation.title if pref else None,
        "flc_ratio_involved_uninvolved": _flc_ratio(p),
        "plasmacytoma": _plasmacytoma(p),
        "age_years": p.age,
        "setting": p.setting,
        "disease": p.disease,
        "isotype": p.isotype,
        "bmpc_percent": p.marrow_plasma_cells_percent,
        "bm_lymphoplasmacytic_percent": p.marrow_lymphoplasmacytic_percent,
        "osteolytic_lesions": img.osteolytic_lesions,
        "mri_focal_lesions_ge_5mm": img.mri_focal_lesions,
        "bone_lesions": img.bone_status,
        "crab_attributable": p.crab_attributable,
        "amyloidosis": p.amyloidosis,
        "igm_related_features": p.igm_related_features,
        "del17p": cg.del17p,
        "del17p_clonal_fraction_percent": cg.del17p_clonal_fraction_percent,
        "tp53_mutation": cg.tp53_mutation,
        "t4_14": cg.t4_14,
        "t14_16": cg.t14_16,
        "t14_20": cg.t14_20,
        "gain1q": cg.plus1q,
        "del1p32": cg.del1p32_status,
        "del13q": cg.del13q,
        "fish_cd138_purified": cg.cd138_purified,
        "ighv_unmutated": p.cll.ighv_unmutated,
        "binet_stage": p.cll.binet_stage,
        "rai_stage": p.cll.rai_stage,
        "largest_node_diameter_cm": p.lymphoma.largest_node_diameter_cm,
        "bone_marrow_involved": p.lymphoma.bone_marrow_involvement,
    }


_STAGING_VALUES = tuple(StagingValues.__dataclass_fields__)


def _staging_values(features: Features) -> StagingValues:
    return StagingValues(**{k: features[k] for k in _STAGING_VALUES})  # type: ignore[arg-type]


def staging_values(p: Patient, kidney: KidneySummary) -> StagingValues:
    """The canonical inputs the ISS-family systems read for one patient (what :func:`assess` staged)."""
    return _staging_values(patient_features(p, kidney))


def _staging(features: Features, disease: str) -> dict[str, RuleResult]:
    systems = [s for s in registry.staging_systems() if disease in s.diseases]
    if not systems:
        return {}
    return stage_patient(_staging_values(features), systems)


def _scores(features: Features, disease: str) -> dict[str, RuleResult]:
    out: dict[str, RuleResult] = {}
    for rule in registry.scores():
        if disease in rule.diseases and (rule.applies is None or rule.applies(features, out)):
            out[rule.name] = rule(features)
    return out


def assess(patients: Sequence[Patient]) -> list[Assessment]:
    """Assess each patient: kidney function, the B2M interpretation and every rule that applies."""
    out = []
    for p in patients:
        kidney = kidney_summary(
            creatinine=p.lab("creatinine"),
            cystatin_c=p.lab("cystatin_c"),
            age_years=p.age,
            sex=p.sex,
            weight_kg=p.weight_kg,
        )
        pref = kidney.preferred
        interpretation = interpret_b2m(
            b2m=p.lab("b2m"),
            age_years=p.age,
            egfr_ml_min_1_73m2=pref[1].value if pref else None,
            egfr_equation=pref[1].equation.title if pref else None,
            creatinine=p.lab("creatinine"),
            crp=p.lab("crp"),
            conditions=p.conditions,
            medications=p.medications,
        )
        features = patient_features(p, kidney)
        out.append(
            Assessment(
                patient=p,
                staging=_staging(features, p.disease),
                scores=_scores(features, p.disease),
                kidney=kidney,
                b2m=interpretation,
            )
        )
    return out
