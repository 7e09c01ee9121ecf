"""Flags: what, besides myeloma, may be moving one serum B2M result (b2m reference LAB-4, LAB-6).

Every flag is raised from evidence present in the input (an eGFR, a creatinine, a CRP, a matched
condition or medication, the result's own unit, method or censoring) and records that evidence;
none is raised from the absence of an input, except ``kidney_function_unknown``, whose evidence is
the B2M result itself and whose message is exactly that kidney function was not given.

Each flag carries one clinician sentence and one patient sentence (short words, no jargon, no
advice about treatment), both rendered from the same constants the checks compare with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from b2m.interpret import reference_intervals as ri
from b2m.interpret.context import Category, ContextMatches, Match
from b2m.provenance import Source
from b2m.rules.base import Note, Status
from b2m.rules.ims_imwg_2025_high_risk import B2M_MG_L as IMS_IMWG_2025_B2M_MIN_MG_L
from b2m.rules.ims_imwg_2025_high_risk import CREATININE_NORMAL_BELOW_MG_DL as IMS_IMWG_2025_CREATININE_BELOW_MG_DL
from b2m.rules.ims_imwg_2025_high_risk import SOURCE as AVET_LOISEAU_2025
from b2m.rules.kleene import Tri
from b2m.units.censored import Censored
from b2m.units.labvalue import LabValue, unit_factor

Severity = Literal["info", "caution", "warning"]
SEVERITY_RANK: Mapping[Severity, int] = {"info": 0, "caution": 1, "warning": 2}

# ---------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------

# Avet-Loiseau 2025 (IMS/IMWG) is imported with its thresholds from b2m.rules.ims_imwg_2025_high_risk.
KDIGO_2012 = Source(
    "Kidney Disease: Improving Global Outcomes (KDIGO) CKD Work Group. KDIGO 2012 Clinical Practice "
    "Guideline for the Evaluation and Management of Chronic Kidney Disease. Kidney Int Suppl. "
    "2013;3(1):1-150.",
    "10.1038/kisup.2012.73",
)
LACEY_1987 = Source("Lacey et al. AIDS. 1987;1(2):123-127 (serum B2M in HIV infection).", "")
EBV_1981 = Source(
    "Acta Pathol Microbiol Scand C. 1981; PMID 6171995 (serum B2M in Epstein-Barr virus infectious "
    "mononucleosis in children).",
    "",
)
BC_CANCER_QUEST = Source(
    "BC Cancer and Quest Diagnostics laboratory information on serum beta-2-microglobulin "
    "(secondary sources; b2m reference LAB-4).",
    "",
)
QUEST_B2M = Source("Quest Diagnostics test information, beta-2-microglobulin (secondary source; "
                   "b2m reference LAB-4).", "")
MEDSCAPE_B2M = Source("Medscape reference, beta-2-microglobulin (secondary source; b2m reference LAB-1).", "")
TIETZ_SECONDARY = Source(
    "Tietz clinical guide to laboratory tests, as quoted by secondary sources (b2m reference LAB-3).", ""
)
IMMULITE_B2M = Source(
    "Immulite-type (immunometric chemiluminescent) beta-2-microglobulin assay instructions: patients "
    "avoid biotin supplements for 12 h before collection (b2m reference LAB-3).",
    "",
)

# ---------------------------------------------------------------------------------------------
# Thresholds (inclusive/exclusive written out; each is tested exactly at the boundary)
# ---------------------------------------------------------------------------------------------

# KDIGO 2012 GFR categories: G3a starts below 60, G4 below 30 (both exclusive: 60 is G2, 30 is G3b).
# A b2m choice (b2m reference LAB-6), stated in a note on every result that has an eGFR.
EGFR_REDUCED_BELOW_ML_MIN_1_73M2 = 60.0
EGFR_SEVERELY_REDUCED_BELOW_ML_MIN_1_73M2 = 30.0
# Avet-Loiseau 2025 (IMS/IMWG): the B2M >= 5.5 mg/L high-risk criterion counts only with creatinine
# < 1.2 mg/dL (exclusive: 1.2 is not "< 1.2", b2m reference E42) [S]. Creatinine >= 1.2 is flagged.
# Both thresholds are the rule's own constants (IMS_IMWG_2025_CREATININE_BELOW_MG_DL,
# IMS_IMWG_2025_B2M_MIN_MG_L, imported above), so the flag and the rule cannot drift apart.
# b2m choice: CRP above 5 mg/L counts as inflammation when the lab gives no upper limit (exclusive;
# equal to the limit is not above it, as for LDH in b2m reference E6). Many labs use 5 mg/L, some
# 10 mg/L; the stricter is taken so that a missing lab limit never defaults to the lenient side.
CRP_DEFAULT_UPPER_LIMIT_MG_L = 5.0
CRP_LENIENT_UPPER_LIMIT_MG_L = 10.0  # the other common lab limit, named in the default's note only
# b2m choice: about 7x the Mayo upper limit (2.70 mg/L); above it (exclusive) the dilution protocol
# and measuring range deserve a check (b2m reference LAB-3).
B2M_VERY_HIGH_ABOVE_MG_L = 20.0

# Method words that mark an immunometric / chemiluminescent assay (biotin-sensitive design).
IMMUNOMETRIC_METHOD_WORDS: tuple[str, ...] = (
    "chemilumin",
    "immunometric",
    "immulite",
    "clia",
    "cmia",
    "eclia",
    "electrochemilumin",
)


@dataclass(frozen=True, slots=True)
class Flag:
    """One reason a B2M result may not mean what it seems, and the input that raised it."""

    code: str
    severity: Severity
    evidence: Mapping[str, object]
    clinician: str
    patient: str
    source: Source | None = None
    status: Status = "C"  # evidence level of the flag's claim (b2m reference REF-2)
    category: str | None = None  # the matched category for condition/medication flags

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity,
            "category": self.category,
            "evidence": dict(self.evidence),
            "clinician": self.clinician,
            "patient": self.patient,
            "citation": self.source.citation if self.source else None,
            "doi": self.source.doi if self.source else None,
            "status": self.status,
        }


@dataclass(slots=True)
class Findings:
    """Flags and notes collected by the checks below (a local accumulator, never shared)."""

    flags: list[Flag] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def lab_evidence(lab: LabValue) -> dict[str, object]:
    """A lab value as received and as used, for a flag's evidence."""
    canonical: object = str(lab.value) if isinstance(lab.value, Censored) else lab.value
    return {
        "value": lab.received_value,
        "unit": lab.received_unit,
        "value_canonical": canonical,
        "unit_canonical": lab.unit,
    }


def lab_text(lab: LabValue) -> str:
    """``"1.4 mg/dL"`` or ``"<0.5 mg/L"`` as reported."""
    x = ri.as_reported(lab)
    return f"{x} {lab.received_unit}" if isinstance(x, Censored) else f"{x:g} {lab.received_unit}"


_CENSOR_WORDS = {"<": "less than", "<=": "at most", ">": "more than", ">=": "at least"}


def censor_words(c: Censored) -> str:
    return f"{_CENSOR_WORDS[c.direction]} {c.bound:g}"


def _matched(ms: Sequence[Match]) -> list[dict[str, str]]:
    return [m.to_dict() for m in ms]


def _inputs(ms: Sequence[Match]) -> str:
    return ", ".join(dict.fromkeys(repr(m.input) for m in ms))


# ---------------------------------------------------------------------------------------------
# Kidney function
# ---------------------------------------------------------------------------------------------


def check_kidney(
    out: Findings,
    *,
    b2m: LabValue | None,
    egfr: float | None,
    equation: str | None,
    creatinine: LabValue | None,
    on_dialysis: bool,
    known_kidney_disease: bool = False,
) -> None:
    """``reduced_kidney_function`` from eGFR and/or creatinine; ``kidney_function_unknown`` if neither.

    The flag cites what raised it: the KDIGO 2012 GFR categories when an eGFR cut-off (60, 30) was
    crossed, Avet-Loiseau 2025 when only creatinine ≥ 1.2 mg/dL was. With listed chronic kidney
    disease (``known_kidney_disease``) and no eGFR or creatinine, a note says eGFR could not be
    computed instead of ``kidney_function_unknown``: the condition itself is flagged elsewhere.
    """
    evidence: dict[str, object] = {}
    parts: list[str] = []
    tail = ""
    severity: Severity | None = None
    by_egfr = False
    if egfr is not None:
        out.notes.append(
            Note(
                "kidney_thresholds",
                "setting",
                f"b2m flags eGFR < {EGFR_REDUCED_BELOW_ML_MIN_1_73M2:g} (caution) and < "
                f"{EGFR_SEVERELY_REDUCED_BELOW_ML_MIN_1_73M2:g} mL/min/1.73 m² (warning): the KDIGO 2012 GFR "
                "categories G3a and G4. These cut-offs are a b2m choice (b2m reference LAB-6); no B2M-specific eGFR "
                "cut-off is published.",
            )
        )
        if equation is None:
            out.notes.append(
                Note("egfr_equation_not_named", "missing", "The eGFR was given without its equation's name.")
            )
        elif "cockcroft" in equation.casefold():
            out.notes.append(
                Note(
                    "egfr_cockcroft_gault",
                    "caveat",
                    "Cockcroft-Gault estimates creatinine clearance in mL/min, not eGFR normalised to "
                    "1.73 m²; IMWG 2016 prefers CKD-EPI (or MDRD) for patients with stable creatinine "
                    "(b2m reference KID-6).",
                )
            )
        if egfr < EGFR_REDUCED_BELOW_ML_MIN_1_73M2:
            severe = egfr < EGFR_SEVERELY_REDUCED_BELOW_ML_MIN_1_73M2
            severity = "warning" if severe else "caution"
            by_egfr = True
            cut = EGFR_SEVERELY_REDUCED_BELOW_ML_MIN_1_73M2 if severe else EGFR_REDUCED_BELOW_ML_MIN_1_73M2
            evidence |= {"egfr": egfr, "equation": equation, "egfr_below": cut}
            by = f" ({equation})" if equation else " (equation not named)"
            parts.append(f"eGFR {egfr:.1f} mL/min/1.73 m²{by} is below {cut:g}")
    if creatinine is not None:
        high = ri.ge(creatinine, IMS_IMWG_2025_CREATININE_BELOW_MG_DL)
        limit_txt = f"{ri.threshold_as_reported(IMS_IMWG_2025_CREATININE_BELOW_MG_DL, creatinine):g}"
        if high is True:
            severity = severity or "caution"
            evidence |= {
                "creatinine": lab_evidence(creatinine),
                "creatinine_at_least_mg_dl": IMS_IMWG_2025_CREATININE_BELOW_MG_DL,
            }
            unit_part = "" if creatinine.factor == 1.0 else f" (= {IMS_IMWG_2025_CREATININE_BELOW_MG_DL:g} mg/dL)"
            limit_txt += f" {creatinine.received_unit}{unit_part}"
            parts.append(f"creatinine {lab_text(creatinine)} is at least {limit_txt}")
            tail = (
                ", and the IMS/IMWG 2025 high-risk criterion B2M ≥ "
                f"{IMS_IMWG_2025_B2M_MIN_MG_L:g} mg/L counts only with creatinine < "
                f"{IMS_IMWG_2025_CREATININE_BELOW_MG_DL:g} mg/dL (Avet-Loiseau 2025)"
            )
        elif high is None:
            out.notes.append(
                Note(
                    "creatinine_undecided",
                    "missing",
                    f"Creatinine {lab_text(creatinine)} does not settle whether it is at least "
                    f"{IMS_IMWG_2025_CREATININE_BELOW_MG_DL:g} mg/dL; no kidney flag was raised from it.",
                )
            )
    if severity is not None:
        # The cited source is the one whose cut-off raised the flag: KDIGO 2012 for an eGFR category
        # (G3a < 60, G4 < 30; a primary guideline, chosen by b2m, see the kidney_thresholds note), else
        # the IMS/IMWG 2025 creatinine limit, known from secondary summaries [S] (b2m reference HR25-1).
        source = KDIGO_2012 if by_egfr else AVET_LOISEAU_2025
        status: Status = "C" if by_egfr else "S"
        out.flags.append(
            Flag(
                "reduced_kidney_function",
                severity,
                evidence,
                f"Kidney function is reduced: {' and '.join(parts)}; serum B2M rises as GFR falls (about 95% "
                "of free B2M is cleared by glomerular filtration), so part of this B2M may reflect kidney "
                f"function rather than myeloma{tail}.",
                (
                    "Your kidney tests show your kidneys clean the blood much less than usual, and that "
                    "alone can make B2M a lot higher."
                    if severity == "warning"
                    else "Your kidney tests show your kidneys clean the blood less than usual, and that "
                    "alone can make B2M higher."
                ),
                source,
                status,
            )
        )
    if b2m is not None and egfr is None and creatinine is None and not on_dialysis and known_kidney_disease:
        out.notes.append(
            Note(
                "egfr_not_computed",
                "missing",
                "Chronic kidney disease is listed, but neither creatinine nor eGFR was given, so eGFR could "
                "not be computed and how much of this B2M reflects kidney function cannot be judged.",
            )
        )
    elif b2m is not None and egfr is None and creatinine is None and not on_dialysis:
        out.flags.append(
            Flag(
                "kidney_function_unknown",
                "info",
                {"b2m": lab_evidence(b2m), "creatinine": None, "egfr": None},
                "Neither creatinine nor eGFR was given, so this B2M cannot be read against kidney "
                "function (serum B2M rises as GFR falls).",
                "We do not have a kidney test with this result, and weak kidneys can make B2M higher.",
                ri.MAYO_CLINIC_LABORATORIES_B2M,
                "C",
            )
        )
    if b2m is not None and creatinine is None and ri.ge(b2m, IMS_IMWG_2025_B2M_MIN_MG_L) is not False:
        out.notes.append(
            Note(
                "ims_imwg_2025_b2m_criterion_not_assessable",
                "missing",
                f"The IMS/IMWG 2025 high-risk criterion B2M ≥ {IMS_IMWG_2025_B2M_MIN_MG_L:g} mg/L counts "
                f"only with creatinine < {IMS_IMWG_2025_CREATININE_BELOW_MG_DL:g} mg/dL; creatinine was not "
                "given, so it is not assessable (b2m reference E42).",
            )
        )


# ---------------------------------------------------------------------------------------------
# Inflammation
# ---------------------------------------------------------------------------------------------


def check_inflammation(out: Findings, *, crp: LabValue | None) -> None:
    """``inflammation``: CRP above the lab's upper limit, or above the b2m default when none is given."""
    if crp is None:
        return
    if crp.upper_limit is not None:
        upper, origin = crp.upper_limit, "reporting lab"
    else:
        upper, origin = CRP_DEFAULT_UPPER_LIMIT_MG_L, "b2m default"
        out.notes.append(
            Note(
                "crp_default_upper_limit",
                "setting",
                "The CRP came without an upper limit; b2m counts CRP > "
                f"{CRP_DEFAULT_UPPER_LIMIT_MG_L:g} mg/L as inflammation. Many labs use "
                f"{CRP_DEFAULT_UPPER_LIMIT_MG_L:g} mg/L as the upper limit and some "
                f"{CRP_LENIENT_UPPER_LIMIT_MG_L:g} mg/L; b2m takes the stricter so that a missing lab limit "
                "never reads a raised CRP as normal. This default is a b2m choice, not a published B2M rule.",
            )
        )
    above: Tri = ri.gt(crp, upper)
    limit_txt = f"{ri.threshold_as_reported(upper, crp):g} {crp.received_unit}"
    if above is True:
        out.flags.append(
            Flag(
                "inflammation",
                "caution",
                {"crp": lab_evidence(crp), "crp_upper_limit_mg_l": upper, "upper_limit_origin": origin},
                f"CRP {lab_text(crp)} is above the {origin} upper limit {limit_txt}: chronic inflammation "
                "raises serum B2M (Mayo Clinic Laboratories), so this B2M may overstate myeloma activity.",
                "A blood test for swelling (CRP) is high, and swelling in the body can make B2M higher.",
                ri.MAYO_CLINIC_LABORATORIES_B2M,
                "C",
            )
        )
    elif above is None:
        out.notes.append(
            Note(
                "crp_undecided",
                "missing",
                f"CRP {lab_text(crp)} does not settle whether it is above {limit_txt}; no inflammation flag.",
            )
        )


# ---------------------------------------------------------------------------------------------
# Conditions and medications
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfounderSpec:
    """How one matched category becomes a flag."""

    code: str
    severity: Severity
    clinician: str  # ends without a full stop; the matched inputs are appended
    patient: str
    source: Source | None
    status: Status


CONFOUNDERS: Mapping[Category, ConfounderSpec] = {
    "hiv": ConfounderSpec(
        "infection",
        "caution",
        "HIV infection raises serum B2M (raised in 64% of infected vs 6.7% of uninfected people, and "
        "> 3.0 mg/L was associated with progression to AIDS; Lacey 1987), so B2M may not reflect "
        "myeloma alone",
        "HIV can make B2M higher, so part of this result may come from HIV.",
        LACEY_1987,
        "C",
    ),
    "ebv": ConfounderSpec(
        "infection",
        "caution",
        "Epstein-Barr virus infectious mononucleosis raises serum B2M early, with return to normal over "
        "3 weeks to 3 months (PMID 6171995, in children), so a result taken in that window may "
        "overstate myeloma-related B2M",
        "The virus that causes mono (glandular fever) can make B2M higher for weeks or months.",
        EBV_1981,
        "C",
    ),
    "cmv": ConfounderSpec(
        "infection",
        "caution",
        "Cytomegalovirus infection is said to raise serum B2M, but only low-authority secondary sources "
        "report it (b2m reference LAB-4 [S]); regard it as a possible confounder",
        "CMV, a common virus, may make B2M higher.",
        None,
        "S",
    ),
    "acute_viral_infection": ConfounderSpec(
        "infection",
        "caution",
        "Acute viral infection raises serum B2M (Mayo Clinic Laboratories), so a result taken during "
        "one may overstate myeloma-related B2M",
        "An infection with a virus can make B2M higher for a while.",
        ri.MAYO_CLINIC_LABORATORIES_B2M,
        "C",
    ),
    "autoimmune_disease": ConfounderSpec(
        "autoimmune_disease",
        "caution",
        "Chronic inflammation raises serum B2M (Mayo Clinic Laboratories [C]) and autoimmune disease "
        "such as rheumatoid arthritis, SLE, Sjögren syndrome or Crohn disease is listed as a cause "
        "(BC Cancer, Quest [S]), so B2M may not reflect myeloma alone",
        "Illnesses where the body's defense system attacks the body, like lupus, can make B2M higher.",
        BC_CANCER_QUEST,
        "S",
    ),
    "liver_disease": ConfounderSpec(
        "liver_disease",
        "caution",
        "Liver disease raises serum B2M (Mayo Clinic Laboratories), so B2M may not reflect myeloma alone",
        "Liver disease can make B2M higher.",
        ri.MAYO_CLINIC_LABORATORIES_B2M,
        "C",
    ),
    "other_lymphoproliferative_disease": ConfounderSpec(
        "other_lymphoproliferative_disease",
        "caution",
        "B-lineage malignancies such as CLL, B-cell lymphoma and Waldenström macroglobulinaemia raise "
        "serum B2M themselves (Mayo Clinic Laboratories; BC Cancer), so B2M cannot be attributed to "
        "myeloma alone",
        "Other blood cancers, like lymphoma, can also make B2M higher.",
        ri.MAYO_CLINIC_LABORATORIES_B2M,
        "C",
    ),
    "solid_tumour": ConfounderSpec(
        "solid_tumour",
        "caution",
        "Some solid tumours (digestive tract, cervix, lung, breast) are reported to raise serum B2M "
        "(BC Cancer, secondary source [S]), so B2M may not reflect myeloma alone",
        "Some other kinds of cancer can also make B2M higher.",
        BC_CANCER_QUEST,
        "S",
    ),
    "kidney_transplant": ConfounderSpec(
        "transplant",
        "caution",
        "After kidney transplantation serum B2M follows graft function, and a rising level is described "
        "as an early sign of rejection (Quest, secondary source [S])",
        "After a kidney transplant, a rise in B2M can be an early sign of trouble with the new kidney.",
        QUEST_B2M,
        "S",
    ),
    "known_kidney_disease": ConfounderSpec(
        "known_kidney_disease",
        "caution",
        "Chronic kidney disease (or renal insufficiency) is listed: serum B2M rises as GFR falls, since "
        "about 95% of free B2M is cleared by glomerular filtration (Mayo Clinic Laboratories), so part of "
        "this B2M may reflect kidney function rather than myeloma",
        "Kidney disease can make B2M higher.",
        ri.MAYO_CLINIC_LABORATORIES_B2M,
        "C",
    ),
    "dialysis": ConfounderSpec(
        "dialysis",
        "warning",
        "Kidney failure and long-term dialysis give very high serum B2M (up to more than 60 times "
        "normal) and dialysis-related Aβ2M amyloidosis (Medscape, secondary source [S]), so B2M cannot "
        "be read as a myeloma marker here",
        "When the kidneys have stopped working, B2M builds up in the blood and can be very high for that reason alone.",
        MEDSCAPE_B2M,
        "S",
    ),
    "ciclosporin": ConfounderSpec(
        "drug_effect",
        "caution",
        "Ciclosporin (cyclosporine) is reported to raise serum B2M (Tietz, via secondary sources [S])",
        "Cyclosporine, a medicine on your list, can make B2M higher.",
        TIETZ_SECONDARY,
        "S",
    ),
    "lithium": ConfounderSpec(
        "drug_effect",
        "caution",
        "Lithium is reported to raise serum B2M (Tietz, via secondary sources [S])",
        "Lithium, a medicine on your list, can make B2M higher.",
        TIETZ_SECONDARY,
        "S",
    ),
}


def check_context(out: Findings, matches: ContextMatches) -> None:
    """One flag per matched category that can raise B2M, with the matched inputs as evidence."""
    for category, spec in CONFOUNDERS.items():
        ms = matches.of(category)
        if not ms:
            continue
        out.flags.append(
            Flag(
                spec.code,
                spec.severity,
                {"category": category, "matched": _matched(ms)},
                f"{spec.clinician} (from {_inputs(ms)}).",
                spec.patient,
                spec.source,
                spec.status,
                category,
            )
        )
    for s in matches.skipped:
        out.notes.append(
            Note(
                "context_item_not_used",
                "caveat",
                f"{s.input!r} was not taken as evidence of {s.category.replace('_', ' ')}: {s.reason}.",
            )
        )
    if matches.unmatched:
        # Said, never dropped in silence: a misspelt or unlisted cause of a raised B2M would otherwise look read.
        out.notes.append(
            Note(
                "context_item_not_recognised",
                "caveat",
                f"Not recognised as a cause of a raised B2M or an assay problem, so not read: "
                f"{', '.join(repr(u) for u in matches.unmatched)} (b2m reads the conditions and drugs of b2m "
                "reference LAB-3 and LAB-4, by name or code).",
            )
        )


# ---------------------------------------------------------------------------------------------
# Technical: unit, method, assay interference, censoring, very high values
# ---------------------------------------------------------------------------------------------


def molecular_weight_g_mol(mg_l_per_nmol_l: float) -> int:
    """The molecular weight (g/mol = Da) behind a nmol/L -> mg/L factor: 1 nmol/L x MW g/mol = MW x 1e-6 mg/L.

    Rendered from the factor the unit registry actually applied, so the text cannot drift from it.
    """
    return round(mg_l_per_nmol_l * 1e6)


def is_immunometric(method: str) -> bool:
    m = method.casefold()
    return any(w in m for w in IMMUNOMETRIC_METHOD_WORDS)


def check_technical(out: Findings, *, b2m: LabValue | None, medications: ContextMatches) -> None:
    """Flags about the result itself.

    ``unit_converted``, ``method_not_stated``, ``biotin_interference``, ``censored_result`` and
    ``very_high_result``.
    """
    biotin = medications.of("biotin")
    if b2m is None:
        return
    if b2m.factor != 1.0:
        nmol_l_factor = unit_factor("b2m", "nmol/L", "b2m.unit")  # mg/L per nmol/L, from the unit registry
        molar = b2m.factor == nmol_l_factor
        evidence: dict[str, object] = {
            "received_value": b2m.received_value,
            "received_unit": b2m.received_unit,
            "factor": b2m.factor,
            "value_mg_l": str(b2m.value) if isinstance(b2m.value, Censored) else b2m.value,
        }
        how = f"x{b2m.factor:g}"
        if molar:
            molecular_weight_da = molecular_weight_g_mol(nmol_l_factor)
            evidence["molecular_weight_da"] = molecular_weight_da
            how += f", from a molecular weight of {molecular_weight_da:,} Da"
            out.notes.append(
                Note(
                    "b2m_molar_conversion",
                    "caveat",
                    f"nmol/L were converted with MW {molecular_weight_da:,} Da (1 mg/L ≈ "
                    f"{1 / nmol_l_factor:.1f} nmol/L); one CLL reference rounds this to "
                    "x85 [S]. Thresholds were converted into the reported unit for comparison "
                    "(b2m reference E45).",
                )
            )
        value_txt = str(b2m.value) if isinstance(b2m.value, Censored) else f"{b2m.value:g}"
        out.flags.append(
            Flag(
                "unit_converted",
                "info",
                evidence,
                f"Reported as {lab_text(b2m)} and converted to {value_txt} mg/L ({how}); thresholds were "
                "compared in the reported unit.",
                "The lab used a different unit, so the result was changed to mg/L to compare it.",
                None,
                "C",
            )
        )
    if b2m.method is None:
        out.flags.append(
            Flag(
                "method_not_stated",
                "info",
                {"method": None, "b2m": lab_evidence(b2m)},
                "The result does not name its method, and B2M reference intervals are method-specific "
                "(nephelometry, turbidimetry and immunometric assays are not interchangeable).",
                "The lab did not name its test method, and methods can give slightly different numbers.",
                ri.MAYO_CLINIC_LABORATORIES_B2M,
                "C",
            )
        )
    if biotin:
        if b2m.method is None or is_immunometric(b2m.method):
            method_txt = b2m.method or "not stated"
            out.flags.append(
                Flag(
                    "biotin_interference",
                    "caution",
                    {"matched": _matched(biotin), "method": b2m.method},
                    f"Biotin is listed (from {_inputs(biotin)}) and the B2M method is {method_txt}: the "
                    "Immulite-type (immunometric chemiluminescent) B2M assay asks patients to avoid biotin "
                    "supplements for 12 h before collection, so biotin may disturb this result.",
                    "Biotin (vitamin B7) pills can change the results of some lab tests like this one.",
                    IMMULITE_B2M,
                    "C",
                    "biotin",
                )
            )
        else:
            out.notes.append(
                Note(
                    "biotin_method_not_immunometric",
                    "caveat",
                    f"Biotin is listed, but the method ({b2m.method}) is not an immunometric or "
                    "chemiluminescent assay, so no biotin flag was raised.",
                )
            )
    if isinstance(b2m.value, Censored):
        out.flags.append(
            Flag(
                "censored_result",
                "info",
                {"received": str(ri.as_reported(b2m)), "unit": b2m.received_unit},
                f"The result is censored ({lab_text(b2m)}): it is placed only where its known side "
                "settles a comparison, and no multiple of the upper limit is given.",
                f"The lab gave this result as {censor_words(_as_censored(b2m))} {b2m.received_unit}, not "
                "as an exact number.",
                None,
                "C",
            )
        )
    very_high = ri.gt(b2m, B2M_VERY_HIGH_ABOVE_MG_L)
    if very_high is True:
        out.flags.append(
            Flag(
                "very_high_result",
                "caution",
                {"b2m": lab_evidence(b2m), "above_mg_l": B2M_VERY_HIGH_ABOVE_MG_L},
                f"B2M {lab_text(b2m)} is above {B2M_VERY_HIGH_ABOVE_MG_L:g} mg/L: check it against the "
                "assay's measuring range and dilution protocol; a hook (antigen-excess) effect is "
                "documented for free light chain assays but unconfirmed for B2M [U].",
                "This result is very high, so the lab may check it again to be sure it is right.",
                None,
                "S",
            )
        )
        out.notes.extend(
            (
                Note(
                    "very_high_threshold",
                    "setting",
                    f"'Very high' means B2M > {B2M_VERY_HIGH_ABOVE_MG_L:g} mg/L, a b2m choice (about 7 times "
                    "the Mayo upper limit); the assay's own measuring range, when known, is the better "
                    "limit.",
                ),
                Note(
                    "b2m_hook_effect",
                    "unconfirmed",
                    "A B2M-specific hook (antigen-excess) effect was not confirmed (b2m reference LAB-3 [U]); b2m does "
                    "not assume one either way.",
                ),
            )
        )
    elif very_high is None:
        out.notes.append(
            Note(
                "very_high_undecided",
                "missing",
                f"B2M {lab_text(b2m)} may or may not be above {B2M_VERY_HIGH_ABOVE_MG_L:g} mg/L.",
            )
        )


def _as_censored(lab: LabValue) -> Censored:
    x = ri.as_reported(lab)
    assert isinstance(x, Censored)
    return x
