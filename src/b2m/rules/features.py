"""The patient features the rules read, by name: the vocabulary of the :class:`~b2m.rules.spec.ScoreRule` specs.

The assessment computes every feature once per patient (:func:`b2m.assessment.patient_features`); a
rule's spec maps each of its keyword inputs to one of these names. Values are canonical (unit in the
name), ``None`` when unknown; lab results the rules read in their reported unit are passed whole
(:class:`~b2m.units.LabValue`).
"""

from __future__ import annotations

FEATURES: dict[str, str] = {
    # Lab values, canonical unit
    "b2m_mg_l": "serum beta-2 microglobulin (mg/L)",
    "b2m_upper_limit_mg_l": "the reporting lab's upper reference limit for B2M (mg/L)",
    "albumin_g_dl": "serum albumin (g/dL)",
    "ldh_u_l": "serum LDH (U/L)",
    "ldh_uln_u_l": "the reporting lab's upper limit of normal for LDH (U/L)",
    "hemoglobin_g_dl": "haemoglobin (g/dL)",
    "calcium_mg_dl": "serum calcium (mg/dL)",
    "creatinine_mg_dl": "serum creatinine (mg/dL)",
    "platelets_10e9_l": "platelets (10^9/L)",
    "m_protein_g_dl": "serum M-protein (g/dL)",
    "urine_m_protein_mg_24h": "urine M-protein / light-chain excretion (mg/24 h)",
    # Lab results as received (thresholds applied in the reported unit, the lab's own limits)
    "calcium": "serum calcium, as reported",
    "creatinine": "serum creatinine, as reported",
    "hemoglobin": "haemoglobin, as reported",
    "flc_kappa": "serum free kappa light chain, as reported",
    "flc_lambda": "serum free lambda light chain, as reported",
    # Derived
    "crcl_ml_min": "the preferred kidney-function estimate (mL/min or mL/min/1.73 m²)",
    "crcl_estimator": "the equation that produced crcl_ml_min",
    "flc_ratio_involved_uninvolved": "involved / uninvolved serum free light chain ratio",
    "plasmacytoma": "biopsy-proven plasmacytoma: none, bone, extramedullary or present (site not given)",
    # The patient
    "age_years": "age (years)",
    "setting": "clinical setting: new_diagnosis, relapse, smm or mgus",
    "disease": "multiple_myeloma, cll, waldenstrom or follicular_lymphoma",
    "isotype": "heavy-chain type of the M-protein",
    "bmpc_percent": "clonal bone-marrow plasma cells (%)",
    "bm_lymphoplasmacytic_percent": "marrow lymphoplasmacytic infiltration (%)",
    "osteolytic_lesions": "osteolytic lesions other than a biopsied index plasmacytoma",
    "mri_focal_lesions_ge_5mm": "MRI focal lesions of at least 5 mm other than the index plasmacytoma",
    "bone_lesions": "Durie-Salmon skeletal survey grade",
    "crab_attributable": "CRAB features attributable to the plasma-cell disorder",
    "amyloidosis": "AL amyloidosis",
    "igm_related_features": "IgM-related symptoms, hyperviscosity, lymphadenopathy or organomegaly",
    # Cytogenetics
    "del17p": "del(17p)",
    "del17p_clonal_fraction_percent": "del(17p) clonal fraction (%)",
    "tp53_mutation": "TP53 mutation",
    "t4_14": "t(4;14)",
    "t14_16": "t(14;16)",
    "t14_20": "t(14;20)",
    "gain1q": "1q+ (gain or amplification, counted once)",
    "del1p32": "del(1p32): absent, monoallelic, biallelic or present",
    "del13q": "del(13q)",
    "fish_cd138_purified": "FISH done on CD138-purified plasma cells",
    # CLL and lymphoma
    "ighv_unmutated": "IGHV unmutated",
    "binet_stage": "Binet stage",
    "rai_stage": "Rai stage (0-4)",
    "largest_node_diameter_cm": "longest diameter of the largest involved node (cm)",
    "bone_marrow_involved": "bone-marrow involvement",
}
