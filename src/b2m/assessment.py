"""One patient's full assessment: labs, kidney function, B2M interpretation and every applicable rule.

This module only wires the pure pieces together; it decides nothing itself. Which rules apply follows
the patient's ``disease``: plasma-cell rules for myeloma (and its precursors), the lymphoid scores
for CLL, Waldenström and follicular lymphoma.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import b2m
from b2m.interpret import B2MInterpretation, interpret_b2m
from b2m.kidney.summary import KidneySummary, kidney_summary
from b2m.patient import Patient
from b2m.rules import (
    cll_ipi_2016,
    durie_salmon_1975,
    flipi2_2009,
    ims_imwg_2025_high_risk,
    imwg_2014,
    ipsswm_2009,
    prima_pi_2018,
    ripsswm_2019,
    smm_imwg_2020,
    smm_mayo_2018,
)
from b2m.rules.base import RuleResult
from b2m.rules.kleene import Num
from b2m.rules.staging_results import StagingValues, staging_results
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


def _staging_values(p: Patient) -> StagingValues:
    ldh = p.lab("ldh")
    cg = p.cytogenetics
    return StagingValues(
        b2m_mg_l=_v(p.lab("b2m")),
        albumin_g_dl=_v(p.lab("albumin")),
        ldh_u_l=_v(ldh),
        ldh_uln_u_l=ldh.upper_limit if ldh is not None else None,
        del17p=cg.del17p,
        t4_14=cg.t4_14,
        t14_16=cg.t14_16,
        gain1q=cg.plus1q,
        setting=p.setting,
        fish_cd138_purified=cg.cd138_purified,
    )


def _plasmacytoma(p: Patient) -> imwg_2014.Plasmacytoma | None:
    proven = p.imaging.biopsy_proven_plasmacytoma
    if proven is None or proven is False:
        return None if proven is None else "none"
    extramedullary = p.imaging.extramedullary_plasmacytoma
    return "present" if extramedullary is None else ("extramedullary" if extramedullary else "bone")


def _flc_ratio(p: Patient) -> Num:
    """Involved / uninvolved free light chain ratio (reference sheet §12 #22); needs the involved chain."""
    kappa, lam = p.lab("flc_kappa"), p.lab("flc_lambda")
    if p.involved_light_chain is None or kappa is None or lam is None:
        return None
    inv, uninv = (kappa, lam) if p.involved_light_chain == "kappa" else (lam, kappa)
    if isinstance(inv.value, float) and isinstance(uninv.value, float) and uninv.value > 0:
        return inv.value / uninv.value
    return None


def _plasma_cell_scores(p: Patient, kidney: KidneySummary) -> dict[str, RuleResult]:
    cg = p.cytogenetics
    pref = kidney.preferred
    scores = {
        "imwg_2014": imwg_2014.imwg_2014(
            bmpc_percent=p.marrow_plasma_cells_percent,
            plasmacytoma=_plasmacytoma(p),
            isotype=p.isotype,
            m_protein_g_dl=_v(p.lab("m_protein")),
            urine_m_protein_mg_24h=_v(p.lab("urine_m_protein")),
            calcium=p.lab("calcium"),
            creatinine=p.lab("creatinine"),
            crcl_ml_min=pref[1].value if pref else None,
            crcl_estimator=pref[1].equation.title if pref else None,
            hemoglobin=p.lab("hemoglobin"),
            osteolytic_lesions=p.imaging.osteolytic_lesions,
            mri_focal_lesions_ge_5mm=p.imaging.mri_focal_lesions,
            flc_kappa=p.lab("flc_kappa"),
            flc_lambda=p.lab("flc_lambda"),
            crab_attributable=p.crab_attributable,
            amyloidosis=p.amyloidosis,
            igm_related_features=p.igm_related_features,
            bm_lymphoplasmacytic_percent=p.marrow_lymphoplasmacytic_percent,
        ),
        "durie_salmon": durie_salmon_1975.durie_salmon_1975(
            hemoglobin_g_dl=_v(p.lab("hemoglobin")),
            calcium_mg_dl=_v(p.lab("calcium")),
            bone_lesions=p.imaging.bone_status,
            isotype=p.isotype,
            m_protein_g_dl=_v(p.lab("m_protein")),
            urine_light_chain_mg_24h=_v(p.lab("urine_m_protein")),
            creatinine_mg_dl=_v(p.lab("creatinine")),
        ),
        "ims_imwg_2025_high_risk": ims_imwg_2025_high_risk.ims_imwg_2025_high_risk(
            del17p=cg.del17p,
            tp53_mutation=cg.tp53_mutation,
            t4_14=cg.t4_14,
            t14_16=cg.t14_16,
            t14_20=cg.t14_20,
            gain1q=cg.plus1q,
            del1p32=cg.del1p32_status,
            b2m_mg_l=_v(p.lab("b2m")),
            creatinine_mg_dl=_v(p.lab("creatinine")),
            del17p_clonal_fraction_percent=cg.del17p_clonal_fraction_percent,
        ),
    }
    # Smouldering-myeloma risk applies where SMM is the setting or still a possible IMWG 2014 class.
    if p.setting == "smm" or "smouldering_myeloma" in scores["imwg_2014"].possible:
        ratio = _flc_ratio(p)
        scores["smm_mayo_2018"] = smm_mayo_2018.smm_mayo_2018(
            bmpc_percent=p.marrow_plasma_cells_percent,
            m_protein_g_dl=_v(p.lab("m_protein")),
            flc_ratio_involved_uninvolved=ratio,
        )
        scores["smm_imwg_2020"] = smm_imwg_2020.smm_imwg_2020(
            flc_ratio_involved_uninvolved=ratio,
            m_protein_g_dl=_v(p.lab("m_protein")),
            bmpc_percent=p.marrow_plasma_cells_percent,
            t4_14=cg.t4_14,
            t14_16=cg.t14_16,
            gain1q=cg.plus1q,
            del13q=cg.del13q,
        )
    return scores


def _lymphoid_scores(p: Patient) -> dict[str, RuleResult]:
    b2m_lab = p.lab("b2m")
    if p.disease == "cll":
        return {
            "cll_ipi": cll_ipi_2016.cll_ipi_2016(
                del17p=p.cytogenetics.del17p,
                tp53_mutated=p.cytogenetics.tp53_mutation,
                ighv_unmutated=p.cll.ighv_unmutated,
                b2m_mg_l=_v(b2m_lab),
                binet_stage=p.cll.binet_stage,
                rai_stage=p.cll.rai_stage,  # type: ignore[arg-type]
                age_years=p.age,
            )
        }
    if p.disease == "waldenstrom":
        return {
            "ipsswm": ipsswm_2009.ipsswm_2009(
                age_years=p.age,
                hemoglobin_g_dl=_v(p.lab("hemoglobin")),
                platelets_10e9_l=_v(p.lab("platelets")),
                b2m_mg_l=_v(b2m_lab),
                m_protein_g_dl=_v(p.lab("m_protein")),
            ),
            "ripsswm": ripsswm_2019.ripsswm_2019(
                age_years=p.age,
                b2m_mg_l=_v(b2m_lab),
                ldh_u_l=_v(p.lab("ldh")),
                albumin_g_dl=_v(p.lab("albumin")),
            ),
        }
    if p.disease == "follicular_lymphoma":
        return {
            "flipi2": flipi2_2009.flipi2_2009(
                b2m_mg_l=_v(b2m_lab),
                b2m_upper_limit_mg_l=b2m_lab.upper_limit if b2m_lab else None,
                largest_node_diameter_cm=p.lymphoma.largest_node_diameter_cm,
                bone_marrow_involved=p.lymphoma.bone_marrow_involvement,
                hemoglobin_g_dl=_v(p.lab("hemoglobin")),
                age_years=p.age,
            ),
            "prima_pi": prima_pi_2018.prima_pi_2018(
                b2m_mg_l=_v(b2m_lab),
                bone_marrow_involved=p.lymphoma.bone_marrow_involvement,
            ),
        }
    return {}


def assess(patients: Sequence[Patient]) -> list[Assessment]:
    """Assess patients; ISS, R-ISS and R2-ISS are evaluated for all of them in one frame."""
    staged = staging_results([_staging_values(p) for p in patients])
    out = []
    for p, staging in zip(patients, staged, strict=True):
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
        myeloma = p.disease == "multiple_myeloma"
        scores = _plasma_cell_scores(p, kidney) if myeloma else _lymphoid_scores(p)
        out.append(
            Assessment(
                patient=p,
                staging=staging if myeloma else {},
                scores=scores,
                kidney=kidney,
                b2m=interpretation,
            )
        )
    return out
