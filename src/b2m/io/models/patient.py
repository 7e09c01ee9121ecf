"""The patient document of ``b2m assess`` (README, "JSON contract"): one object, or an array of them.

The model checks the document's shape: keys, JSON types, ranges and choices. Lab units and the
plausibility of a value in its unit are read by the unit layer (:func:`b2m.units.parse_lab`) when the
document becomes a :class:`b2m.patient.Patient` (:func:`b2m.io.patient.to_patient`), never here.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, RootModel, model_validator

from b2m.errors import InputError
from b2m.io.models.base import (
    MAX_TEXT_CHARS,
    Accepted,
    ClinicalDate,
    Contract,
    LabNumber,
    LimitNumber,
    PatientId,
    Text,
)
from b2m.patient import BoneLesions, Disease, Isotype, Setting, Sex
from b2m.units import ANALYTES
from b2m.units.labvalue import MAX_UNIT_CHARS

MAX_PATIENTS_PER_DOCUMENT = 100_000
AGE_RANGE_YEARS = (0.0, 130.0)
WEIGHT_RANGE_KG = (1.0, 400.0)


class LabResult(Contract):
    """One lab result as the reporting lab sent it. A `null` value means unknown."""

    value: LabNumber | None = Field(
        None,
        description='The result: a number, or a censored string such as "<0.5" (below the assay\'s limit) or ">20". '
        "Kept as received; converted to the analyte's canonical unit by b2m's unit layer.",
    )
    unit: str | None = Field(
        None,
        description="The unit as reported; required with a value (a unit is never assumed). Every spelling of micro "
        "(µ U+00B5, μ U+03BC, u, mc) and the UCUM forms are read; a value implausible in its unit is refused with "
        "the unit most likely meant.",
        examples=["mg/L", "µmol/L", "g/dL"],
        json_schema_extra={"maxLength": MAX_UNIT_CHARS},  # checked by the unit layer, with the accepted units
    )
    lower_limit: LimitNumber | None = Field(
        None, description="The reporting lab's lower reference limit, in the result's unit (0: 'up to')."
    )
    upper_limit: LimitNumber | None = Field(
        None,
        description="The reporting lab's upper reference limit, in the result's unit; plausibility-checked like the "
        "value (a limit in another unit is refused, never used).",
    )
    date: ClinicalDate | None = Field(
        None, description="Sampling date, YYYY-MM-DD, from 1950-01-01 to today (a result is not dated in the future)."
    )
    method: Text | None = Field(None, description="Assay method as reported (e.g. nephelometry).")
    loinc: Text | None = Field(None, description="LOINC code of the test (e.g. 1952-1).", examples=["1952-1"])


def lab_description(key: str) -> str:
    a = ANALYTES[key]
    return f"{a.label[0].upper()}{a.label[1:]}; accepted units {', '.join(a.accepted)} (canonical {a.display})."


class Labs(Contract):
    """Lab results at the time of the assessment, by lab name; an absent or null lab is unknown."""

    unknown_key_noun: ClassVar[str | None] = "lab name"

    b2m: LabResult | None = Field(None, description=lab_description("b2m"))
    albumin: LabResult | None = Field(None, description=lab_description("albumin"))
    ldh: LabResult | None = Field(
        None,
        description=lab_description("ldh") + " LDH is 'high' only against the reporting lab's own upper_limit.",
    )
    creatinine: LabResult | None = Field(None, description=lab_description("creatinine"))
    cystatin_c: LabResult | None = Field(None, description=lab_description("cystatin_c"))
    crp: LabResult | None = Field(None, description=lab_description("crp"))
    calcium: LabResult | None = Field(None, description=lab_description("calcium"))
    hemoglobin: LabResult | None = Field(None, description=lab_description("hemoglobin"))
    platelets: LabResult | None = Field(None, description=lab_description("platelets"))
    m_protein: LabResult | None = Field(None, description=lab_description("m_protein"))
    urine_m_protein: LabResult | None = Field(None, description=lab_description("urine_m_protein"))
    flc_kappa: LabResult | None = Field(None, description=lab_description("flc_kappa"))
    flc_lambda: LabResult | None = Field(None, description=lab_description("flc_lambda"))


Finding = Annotated[bool | None, Accepted("true, false, null (unknown)")]


class Cytogenetics(Contract):
    """FISH and sequencing results; `null` (or absent) is unknown, never normal."""

    del17p: Finding = Field(None, description="del(17p).")
    t4_14: Finding = Field(None, description="t(4;14).")
    t14_16: Finding = Field(None, description="t(14;16).")
    t14_20: Finding = Field(None, description="t(14;20).")
    gain1q: Finding = Field(None, description="The report's 1q+ call (gain or amplification; counted once).")
    amp1q: Finding = Field(None, description="1q amplification (>= 4 copies); true also makes 1q+ true.")
    del1p32: Finding = Field(None, description="del(1p32).")
    del1p32_biallelic: Finding = Field(None, description="Whether a del(1p32) is biallelic.")
    del13q: Finding = Field(None, description="del(13q) (IMWG 2020 smouldering-myeloma score).")
    tp53_mutation: Finding = Field(None, description="TP53 mutation.")
    del17p_clonal_fraction_percent: float | None = Field(
        None, ge=0, le=100, description="Cancer clonal fraction of the del(17p), percent."
    )
    cd138_purified: Finding = Field(None, description="Whether FISH was done on CD138-purified plasma cells.")

    @model_validator(mode="after")
    def _one_1q_call(self) -> Cytogenetics:
        # 1q+ counts gain or amplification, so "no 1q+" beside "1q amplified" is a contradiction to be resolved at
        # its source, never a choice made here (R2-ISS scores 1q+).
        if self.gain1q is False and self.amp1q is True:
            raise InputError(
                "gain1q",
                "is false (no 1q gain or amplification) while amp1q is true: the two calls contradict each other",
                "gain1q true or null (unknown) with amp1q true",
            )
        if self.del1p32 is False and self.del1p32_biallelic is True:
            raise InputError(
                "del1p32",
                "is false while del1p32_biallelic is true: the two calls contradict each other",
                "del1p32 true or null (unknown) with del1p32_biallelic true",
            )
        return self


class Imaging(Contract):
    """Skeletal and soft-tissue imaging."""

    osteolytic_lesions: int | None = Field(
        None,
        ge=0,
        le=1000,
        description="Osteolytic lesions on X-ray, CT or PET-CT, not counting a biopsied index plasmacytoma "
        "(IMWG 2014 reads imaging apart from the primary lesion).",
    )
    mri_focal_lesions: int | None = Field(
        None, ge=0, le=1000, description="MRI focal lesions >= 5 mm, not counting a biopsied index plasmacytoma."
    )
    bone_status: BoneLesions | None = Field(None, description="Durie-Salmon skeletal survey grade.")
    biopsy_proven_plasmacytoma: Finding = Field(
        None, description="A biopsy-proven bony or extramedullary plasmacytoma."
    )
    extramedullary_plasmacytoma: Finding = Field(None, description="An extramedullary plasmacytoma.")


class CLL(Contract):
    """Chronic lymphocytic leukaemia features (CLL-IPI)."""

    ighv_unmutated: Finding = Field(None, description="IGHV unmutated.")
    binet_stage: Literal["A", "B", "C"] | None = Field(None, description="Binet stage.")
    rai_stage: int | None = Field(None, ge=0, le=4, description="Rai stage, 0-4.")


class Lymphoma(Contract):
    """Follicular lymphoma features (FLIPI-2, PRIMA-PI)."""

    largest_node_diameter_cm: float | None = Field(
        None, ge=0, le=100, description="Longest diameter of the largest involved node, cm."
    )
    bone_marrow_involvement: Finding = Field(None, description="Bone marrow involvement.")


CodeList = Annotated[
    list[Text | None] | None,
    Field(max_length=MAX_TEXT_CHARS),
    Accepted(f"a JSON array of up to {MAX_TEXT_CHARS} strings"),
]


class PatientDocument(Contract):
    """One patient of `b2m assess`: values as received, with their units. Absent keys and `null` mean unknown;
    unknown keys are refused."""

    id: PatientId | None = Field(
        None,
        description="The patient's identifier at the site (an integer is read as text); not used in any log or "
        "error message. Default: the position in the document, from 1.",
    )
    age: Annotated[float | None, Accepted("a number from 0 to 130 (years)")] = Field(
        None, ge=AGE_RANGE_YEARS[0], le=AGE_RANGE_YEARS[1], description="Age in years."
    )
    sex: Sex | None = Field(None, description="Sex as used by the kidney equations.")
    weight_kg: float | None = Field(
        None, ge=WEIGHT_RANGE_KG[0], le=WEIGHT_RANGE_KG[1], description="Body weight, kg (Cockcroft-Gault)."
    )
    setting: Setting | None = Field(
        None,
        description="Clinical setting. ISS, R-ISS and R2-ISS outside new_diagnosis are computed and flagged.",
    )
    disease: Disease | None = Field(
        None,
        description="multiple_myeloma (default: the plasma-cell rules), cll (CLL-IPI), waldenstrom (IPSSWM, revised "
        "IPSSWM), follicular_lymphoma (FLIPI-2, PRIMA-PI).",
    )
    labs: Labs | None = Field(None, description="Lab results at diagnosis or at the assessment, by lab name.")
    cytogenetics: Cytogenetics | None = Field(None, description="FISH and sequencing results.")
    marrow_plasma_cells_percent: float | None = Field(
        None, ge=0, le=100, description="Clonal bone marrow plasma cells, percent."
    )
    imaging: Imaging | None = Field(None, description="Skeletal and soft-tissue imaging.")
    conditions: CodeList = Field(
        None,
        description="Other conditions, as names or codes (e.g. 'rheumatoid arthritis', 'ICD10:B20'): read for what "
        "else can raise B2M.",
    )
    medications: CodeList = Field(
        None, description="Medications, as names or codes (e.g. 'ciclosporin', 'ATC:N05AN01')."
    )
    isotype: Isotype | None = Field(None, description="Heavy-chain isotype of the monoclonal protein.")
    involved_light_chain: Literal["kappa", "lambda"] | None = Field(
        None, description="The involved light chain: needed for the involved/uninvolved FLC ratio."
    )
    amyloidosis: Finding = Field(None, description="AL amyloidosis.")
    crab_attributable: Finding = Field(
        None,
        description="Whether CRAB features present are attributable to the plasma-cell disorder (IMWG 2014); unknown "
        "keeps myeloma and smouldering myeloma both possible.",
    )
    igm_related_features: Finding = Field(
        None, description="IgM-related symptoms, hyperviscosity, nodes or organomegaly (IgM MGUS vs Waldenström)."
    )
    marrow_lymphoplasmacytic_percent: float | None = Field(
        None, ge=0, le=100, description="Lymphoplasmacytic marrow infiltration, percent (Waldenström)."
    )
    cll: CLL | None = Field(None, description="CLL features.")
    lymphoma: Lymphoma | None = Field(None, description="Follicular lymphoma features.")


class PatientFile(
    RootModel[PatientDocument | Annotated[list[PatientDocument], Field(max_length=MAX_PATIENTS_PER_DOCUMENT)]]
):
    """The input of `b2m assess`: one patient object, or an array of them."""
