"""Every code b2m reads from FHIR and writes to it, as data (docs/fhir-conformance.md lists them all).

Standard codes are used wherever one exists and a source outside b2m confirms it; where none does,
b2m writes codes of its own CodeSystem (:data:`B2M_SYSTEM`) and says so in the conformance page.
Nothing here is guessed: a FISH result has no LOINC code confirmed by the sources of the b2m
reference (CYTO-5), so FISH is read only from b2m's own codes and the codes a site configures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from b2m.cohort.at_diagnosis import loinc_valid
from b2m.interpret.flags import CONFOUNDERS
from b2m.rules import iss, r2_iss, r_iss
from b2m.units import ANALYTES

# ---------------------------------------------------------------------------------------------
# Code systems and profiles
# ---------------------------------------------------------------------------------------------

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
NCIT = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"  # the system mCODE uses for NCIt
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICD10_CM = "http://hl7.org/fhir/sid/icd-10-cm"
ATC = "http://www.whocc.no/atc"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DATA_ABSENT_REASON = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
V3_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
V2_YES_NO = "http://terminology.hl7.org/CodeSystem/v2-0136"
PROVENANCE_PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"

MCODE_CANCER_STAGE = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-cancer-stage"

# b2m's own code system and extension. A urn:uuid is globally unique without claiming a web domain the
# project does not own; it is fixed for ever (a new meaning gets a new code, never a reused one).
B2M_SYSTEM = "urn:uuid:f3c1e839-e696-4048-ace8-07553b233592"
B2M_FLAG_SYSTEM = "urn:uuid:0c5a6f1e-5d0b-4f0e-9a55-6c1f2d8f7b31"  # the flag codes of b2m.interpret
B2M_THERAPY_LINE_EXTENSION = "urn:uuid:7d0f2b8e-3c4a-4e61-b1f9-2a9e8c5d4b70"  # valueInteger: line number

# ---------------------------------------------------------------------------------------------
# Read: labs, FISH answers, the myeloma condition
# ---------------------------------------------------------------------------------------------

# LOINC -> lab name of the contract, from the analyte table (b2m.units.analytes; status of each code:
# b2m reference LAB-5). Every code's check digit is verified when this module is imported.
LAB_BY_LOINC: Mapping[str, str] = {code: key for key, a in ANALYTES.items() for code in a.loinc}
assert all(loinc_valid(c) for c in LAB_BY_LOINC), "a LOINC code of the analyte table fails its check digit"

# FISH: the cytogenetic flags of the contract that a FISH (or other cytogenetic) result can set.
FISH_KEYS: tuple[str, ...] = (
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
# b2m's own codes for them (what b2m writes; read back like a site's codes).
B2M_FISH_CODES: Mapping[str, str] = {key: f"cytogenetics-{key.replace('_', '-')}" for key in FISH_KEYS}

# Answers read as present / absent. SNOMED CT 10828004 / 260385009 / 2667000 as in the HL7 R4 examples
# (Observation-example-genetics-1, -5, Observation-vomiting); 52101004 in mCODE 4.0.0's prognostic factor
# value set; LOINC answers LA6576-8 / LA6577-6 / LA9633-4 / LA9634-2 as in mCODE 4.0.0's examples.
PRESENT_CODES: frozenset[tuple[str, str]] = frozenset(
    {(SNOMED, "10828004"), (SNOMED, "52101004"), (LOINC, "LA6576-8"), (LOINC, "LA9633-4"), (V2_YES_NO, "Y")}
)
ABSENT_CODES: frozenset[tuple[str, str]] = frozenset(
    {(SNOMED, "260385009"), (SNOMED, "2667000"), (LOINC, "LA6577-6"), (LOINC, "LA9634-2"), (V2_YES_NO, "N")}
)
# Words read from a valueString or a CodeableConcept's text (case-folded, whole value), as for OMOP.
PRESENT_WORDS: tuple[str, ...] = ("positive", "present", "detected", "yes")
ABSENT_WORDS: tuple[str, ...] = ("negative", "absent", "not detected", "no")

# The myeloma Condition (b2m.io.cohort.omop reads the same codes in OMOP data).
MYELOMA_CODES: frozenset[tuple[str, str]] = frozenset(
    {
        (SNOMED, "109989006"),  # Multiple myeloma (disorder)
        (ICD10, "C90.0"),  # WHO ICD-10: Multiple myeloma
        (ICD10_CM, "C90.00"),  # not having achieved remission (also in mCODE 4.0.0's primary cancer value set)
        (ICD10_CM, "C90.01"),  # in remission
        (ICD10_CM, "C90.02"),  # in relapse
    }
)

# Observation statuses whose value b2m uses (a preliminary or cancelled result is listed as ignored).
RESULT_STATUSES: tuple[str, ...] = ("final", "amended", "corrected")
# Medication statuses read as a current medication (the context of a B2M result).
CURRENT_MEDICATION_STATUSES: Mapping[str, tuple[str, ...]] = {
    "MedicationStatement": ("active", "intended"),
    "MedicationRequest": ("active",),
}
# Condition clinical statuses read as current (absent = not stated = read as current).
CURRENT_CONDITION_STATUSES: tuple[str, ...] = ("active", "recurrence", "relapse")
REFUTED_VERIFICATION: tuple[str, ...] = ("refuted", "entered-in-error")

# ---------------------------------------------------------------------------------------------
# Write: staging systems
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Code:
    system: str
    code: str
    display: str


@dataclass(frozen=True, slots=True)
class StagingCodes:
    """How one staging system is written: the stage type (``Observation.code``), the method and the values."""

    rule_id: str
    code: Code
    method: Code
    values: Mapping[str, Code]
    mcode: bool  # True when every code is the standard one mCODE uses (ISS, R-ISS)


STAGING: Mapping[str, StagingCodes] = {
    "iss": StagingCodes(
        iss.REF.id,
        Code(NCIT, "C139007", "International Staging System Stage"),
        Code(SNOMED, "1149162008", "International Staging System for multiple myeloma (staging scale)"),
        {
            "I": Code(NCIT, "C70658", "ISS Stage I Plasma Cell Myeloma"),
            "II": Code(NCIT, "C70659", "ISS Stage II Plasma Cell Myeloma"),
            "III": Code(NCIT, "C70660", "ISS Stage III Plasma Cell Myeloma"),
        },
        mcode=True,
    ),
    "r_iss": StagingCodes(
        r_iss.REF.id,
        Code(NCIT, "C141392", "RISS Stage"),
        Code(SNOMED, "1149163003", "Revised International Staging System for multiple myeloma (staging scale)"),
        {
            "I": Code(NCIT, "C141394", "RISS Stage I Plasma Cell Myeloma"),
            "II": Code(NCIT, "C141395", "RISS Stage II Plasma Cell Myeloma"),
            "III": Code(NCIT, "C141396", "RISS Stage III Plasma Cell Myeloma"),
        },
        mcode=True,
    ),
    "r2_iss": StagingCodes(
        r2_iss.REF.id,
        Code(B2M_SYSTEM, "r2-iss-stage", "Second revision of the International Staging System (R2-ISS) stage"),
        Code(B2M_SYSTEM, "r2-iss-2022", "R2-ISS, D'Agostino 2022 (DOI 10.1200/JCO.21.02614)"),
        {s: Code(B2M_SYSTEM, f"r2-iss-stage-{s}", f"R2-ISS stage {s}") for s in r2_iss.STAGES},
        mcode=False,
    ),
}

# IMWG 2016 response categories as b2m.monitor.imwg_2016 names them (written out here because the edge may
# not import the monitor package until the series document moves to the edge; a test checks they agree).
IMWG_CATEGORIES: tuple[str, ...] = ("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD")
IMWG_NOT_EVALUABLE = "not_evaluable"

# ---------------------------------------------------------------------------------------------
# Write: b2m's own codes (every one is listed in docs/fhir-conformance.md; a test checks it)
# ---------------------------------------------------------------------------------------------

RULE_INPUT_LABELS: Mapping[str, str] = {
    "b2m_mg_l": "serum beta-2 microglobulin (mg/L)",
    "albumin_g_dl": "serum albumin (g/dL)",
    "ldh_u_l": "serum LDH (U/L)",
    "ldh_uln_u_l": "upper limit of normal of the reporting lab's LDH (U/L)",
    "del17p": "del(17p) by FISH",
    "t4_14": "t(4;14) by FISH",
    "t14_16": "t(14;16) by FISH",
    "gain1q": "1q gain or amplification (1q+) by FISH",
}

B2M_CODES: Mapping[str, str] = {
    # what an Observation or a component reports
    "possible-stage": "A stage still consistent with the known inputs",
    "missing-input": "An input whose value is unknown and could change the result",
    "r2-iss-score": "R2-ISS total score (points)",
    "b2m-interpretation": "Serum B2M result read against its reference interval, with confounder flags",
    "b2m-reference-interval": "Reference interval the B2M result was read against (mg/L)",
    "b2m-reference-interval-origin": "Where the reference interval came from",
    "reporting-lab": "The reporting laboratory's own interval",
    "default": "b2m's cited default interval (Mayo Clinic Laboratories, nephelometry)",
    "iss-band": "ISS B2M band of the result (Greipp 2005 cut-offs; a band is not a stage)",
    "confounder-flag": "A reason the B2M result may not mean what it seems",
    "egfr-ckd-epi-2012-cystatin": "eGFR by the CKD-EPI 2012 cystatin C equation (Inker 2012)",
    "crcl-cockcroft-gault": "Creatinine clearance by the Cockcroft-Gault equation",
    "kdigo-gfr-category": "KDIGO 2012 GFR category of the preferred estimate",
    "imwg-2016-response": "IMWG 2016 response category of one response assessment (Kumar 2016)",
    "possible-response": "A response category still consistent with the results",
    "response-confirmed": "Confirmed by the adjacent assessment of the same line",
    "therapy-line": "Line of therapy the assessment belongs to",
    "response-at-least": "The certain floor of a not-evaluable assessment",
    "criterion": "A criterion of the rule and whether it held",
    **{f"input-{name.replace('_', '-')}": label for name, label in RULE_INPUT_LABELS.items()},
    **{code: f"{key} (cytogenetic finding: present / absent)" for key, code in B2M_FISH_CODES.items()},
    **{f"imwg-{cat}": f"IMWG 2016 {cat}" for cat in IMWG_CATEGORIES},
    **{s.code.code: s.code.display for s in STAGING.values() if s.code.system == B2M_SYSTEM},
    **{s.method.code: s.method.display for s in STAGING.values() if s.method.system == B2M_SYSTEM},
    **{v.code: v.display for s in STAGING.values() for v in s.values.values() if v.system == B2M_SYSTEM},
}


def criterion_code(system: str, code: str) -> str:
    """b2m code of one criterion of a staging system: ``iss.b2m_lt_3_5`` (the rule's own criterion code)."""
    return f"{system}.{code}"


CRITERION_CODES: Mapping[str, str] = {
    criterion_code(name, d.code): d.description
    for name, module in (("iss", iss), ("r_iss", r_iss), ("r2_iss", r2_iss))
    for d in module.CRITERIA
}

# Flag codes of b2m.interpret (b2m reference LAB-6); the confounder categories come from its table.
FLAG_CODES: tuple[str, ...] = (
    "reduced_kidney_function",
    "kidney_function_unknown",
    "inflammation",
    "very_high_result",
    "unit_converted",
    "method_not_stated",
    "censored_result",
    "biotin_interference",
    *sorted({spec.code for spec in CONFOUNDERS.values()}),
)

# eGFR and creatinine clearance: LOINC where one is confirmed (HL7 Switzerland CH LAB-Report: 98980-6
# cr-cys 2021; 98979-8 cr 2021 in its ConceptMap and in public FHIR code), else b2m's own code.
EGFR_CODES: Mapping[str, Code] = {
    "ckd_epi_2021_creatinine": Code(
        LOINC,
        "98979-8",
        "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by "
        "Creatinine-based formula (CKD-EPI 2021)",
    ),
    "ckd_epi_2021_creatinine_cystatin": Code(
        LOINC,
        "98980-6",
        "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by "
        "Creatinine and Cystatin C-based formula (CKD-EPI 2021)",
    ),
    "ckd_epi_2012_cystatin": Code(B2M_SYSTEM, "egfr-ckd-epi-2012-cystatin", B2M_CODES["egfr-ckd-epi-2012-cystatin"]),
    "cockcroft_gault": Code(B2M_SYSTEM, "crcl-cockcroft-gault", B2M_CODES["crcl-cockcroft-gault"]),
}
assert all(loinc_valid(c.code) for c in EGFR_CODES.values() if c.system == LOINC)
EGFR_UCUM: Mapping[str, str] = {"mL/min/1.73 m²": "mL/min/{1.73_m2}", "mL/min": "mL/min"}


def b2m_code(code: str) -> Code:
    """One of b2m's own codes (refuses a code not in the table: every code written is documented)."""
    if code in B2M_CODES:
        return Code(B2M_SYSTEM, code, B2M_CODES[code])
    if code in CRITERION_CODES:
        return Code(B2M_SYSTEM, code, CRITERION_CODES[code])
    raise KeyError(f"{code!r} is not a documented b2m code")
