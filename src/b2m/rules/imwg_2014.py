"""IMWG 2014 diagnostic criteria for multiple myeloma and related plasma-cell disorders.

Rajkumar SV, Dimopoulos MA, Palumbo A, et al. International Myeloma Working Group updated criteria
for the diagnosis of multiple myeloma. Lancet Oncol. 2014;15(12):e538-e548.
DOI 10.1016/S1470-2045(14)70442-5. Criteria as in b2m reference IMWG14 [C].

Classes (the ordering of ``possible``, :data:`STAGES`, is also the order of precedence):

``multiple_myeloma``
    clonal BMPC ≥ 10% or a biopsy-proven bony or extramedullary plasmacytoma, **and** ≥ 1
    myeloma-defining event (MDE): an attributable CRAB feature, or a SLiM biomarker.
``smouldering_myeloma``
    serum M-protein (IgG or IgA) ≥ 3 g/dL (30 g/L) or urine M-protein ≥ 500 mg/24 h, and/or clonal
    BMPC 10–60%; **and** no MDE and no amyloidosis.
``solitary_plasmacytoma`` / ``solitary_plasmacytoma_minimal_marrow``
    a biopsy-proven solitary bone or soft-tissue plasmacytoma; no clonal plasma cells in the
    marrow (or, for minimal marrow involvement, clonal BMPC < 10%); otherwise normal skeletal
    imaging and MRI; no attributable CRAB.
``mgus_non_igm``, ``mgus_igm``, ``mgus_light_chain``
    the three MGUS definitions of b2m reference IMWG14-4.
``unclassified``
    none of the above holds (e.g. AL amyloidosis, an IgM M-protein ≥ 3 g/dL, CRAB without a clonal
    marrow or plasmacytoma): the findings fit no IMWG 2014 entity implemented here.

When the criteria of two classes hold at once the first in :data:`STAGES` is returned: smouldering
myeloma before solitary plasmacytoma (an SMM-range M-protein or marrow beside a plasmacytoma), and
solitary plasmacytoma before MGUS (a plasmacytoma with a small M-protein meets the MGUS wording too);
a non-IgM MGUS with urine M-protein ≥ 500 mg/24 h is smouldering myeloma.

Inputs and units
----------------
Calcium, creatinine and haemoglobin are :class:`~b2m.units.LabValue` objects so that each threshold
is applied **in the unit the lab reported** (b2m reference E31-E32: 177 µmol/L is not
> 177 µmol/L although it is 2.002 mg/dL) and the lab's own reference limits (calcium ULN,
haemoglobin LLN) are at hand. The free light chains are LabValues too (the upper limits decide
"increased involved chain" for light-chain MGUS; a lab value always carries its unit, so the 10×
mg/L–mg/dL trap of b2m reference E24 cannot reach this rule).

Imaging is counted **apart from a biopsied index plasmacytoma**: ``osteolytic_lesions`` is the number
of osteolytic lesions on skeletal radiography, CT or PET-CT other than the index plasmacytoma, and
``mri_focal_lesions_ge_5mm`` the number of MRI focal lesions of ≥ 5 mm other than it. A biopsied bone
plasmacytoma itself counts as the B (bone) feature only when clonal BMPC ≥ 10% (see the note
``imwg_2014_index_plasmacytoma``).

Missing data: an MDE is asserted from any one positive item, but "no MDE" (needed for SMM, MGUS and
solitary plasmacytoma) needs every item known negative — including the lab's calcium ULN and
haemoglobin LLN when the absolute thresholds alone do not settle C and A (b2m reference IMWG14-8). The
result then lists every class still possible. The search branches on each unknown (marrow band,
isotype, CRAB item, ...) and is exact, except that the two FLC items (the SLiM ratio and the
light-chain-MGUS ratio, which share κ and λ) are branched on independently — at worst an extra class.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Literal

from b2m.errors import InputError
from b2m.provenance import RuleRef, Source
from b2m.rules.base import Criterion, Note, RuleResult
from b2m.rules.checks import check_bool, check_choice, check_count, check_lab, check_number
from b2m.rules.kleene import Num, Tri, and_, bounds, ge, gt, gt_num, lt, not_, or_
from b2m.rules.spec import Features, ScoreRule
from b2m.units.censored import Censored
from b2m.units.labvalue import LabValue
from b2m.units.registry import round_sig

SOURCE = Source(
    citation=(
        "Rajkumar SV, Dimopoulos MA, Palumbo A, et al. International Myeloma Working Group updated "
        "criteria for the diagnosis of multiple myeloma. Lancet Oncol. 2014;15(12):e538-e548."
    ),
    doi="10.1016/S1470-2045(14)70442-5",
)
REF = RuleRef("imwg_2014", "2014", "IMWG updated criteria for the diagnosis of multiple myeloma", SOURCE)
INPUTS: tuple[str, ...] = (
    "bmpc_percent",
    "plasmacytoma",
    "isotype",
    "m_protein_g_dl",
    "urine_m_protein_mg_24h",
    "calcium",
    "creatinine",
    "crcl_ml_min",
    "crcl_estimator",
    "hemoglobin",
    "osteolytic_lesions",
    "mri_focal_lesions_ge_5mm",
    "flc_kappa",
    "flc_lambda",
    "crab_attributable",
    "amyloidosis",
    "igm_related_features",
    "bm_lymphoplasmacytic_percent",
)

Isotype = Literal["IgG", "IgA", "IgD", "IgE", "IgM", "light_chain", "non_secretory"]
ISOTYPES: tuple[Isotype, ...] = ("IgG", "IgA", "IgD", "IgE", "IgM", "light_chain", "non_secretory")
Plasmacytoma = Literal["none", "bone", "extramedullary", "present"]
#: ``"present"``: a biopsy-proven plasmacytoma whose site (bone or soft tissue) was not given.
PLASMACYTOMAS: tuple[Plasmacytoma, ...] = ("none", "bone", "extramedullary", "present")
_PLASMACYTOMA_SITES: dict[str | None, tuple[str, ...]] = {
    None: ("none", "bone", "extramedullary"),
    "present": ("bone", "extramedullary"),
}

#: Ordering of ``possible``; also the order of precedence when two definitions hold.
STAGES: tuple[str, ...] = (
    "multiple_myeloma",
    "smouldering_myeloma",
    "solitary_plasmacytoma",
    "solitary_plasmacytoma_minimal_marrow",
    "mgus_non_igm",
    "mgus_igm",
    "mgus_light_chain",
    "unclassified",
)

# Rajkumar 2014 panel (b2m reference IMWG14) [C]. Each threshold is given in the units IMWG prints.
BMPC_CLONAL_PERCENT = 10.0  # MM needs clonal BMPC ≥ 10% (inclusive); MGUS needs < 10% (row 26)
BMPC_SLIM_PERCENT = 60.0  # S: clonal BMPC ≥ 60% (inclusive) is an MDE (row 25); SMM range is 10–<60
CALCIUM_MG_DL = 11.0  # C: calcium > 11 mg/dL (exclusive) when reported in mg/dL (row 32)
CALCIUM_MMOL_L = 2.75  # C: calcium > 2.75 mmol/L (exclusive) when reported in mmol/L (row 32)
CALCIUM_ABOVE_ULN_MG_DL = 1.0  # C: > 1 mg/dL above the lab's ULN (exclusive)
CALCIUM_ABOVE_ULN_MMOL_L = 0.25  # C: > 0.25 mmol/L above the lab's ULN (exclusive)
CREATININE_MG_DL = 2.0  # R: creatinine > 2 mg/dL (exclusive) when reported in mg/dL (row 31)
CREATININE_UMOL_L = 177.0  # R: creatinine > 177 µmol/L (exclusive) when reported in µmol/L (row 31)
CRCL_ML_MIN = 40.0  # R: creatinine clearance < 40 mL/min (exclusive); 40 is not (row 33)
HB_G_DL = 10.0  # A: Hb < 10 g/dL (exclusive); 10.0 is not (row 34)
HB_G_L = 100.0  # A: Hb < 100 g/L when reported in g/L
HB_BELOW_LLN_G_DL = 2.0  # A: Hb > 2 g/dL below the lab's LLN (exclusive)
HB_BELOW_LLN_G_L = 20.0  # A: Hb > 20 g/L below the lab's LLN (exclusive)
OSTEOLYTIC_LESIONS_MIN = 1  # B: ≥ 1 osteolytic lesion on skeletal radiography, CT or PET-CT
FLC_RATIO_SLIM = 100.0  # Li: involved/uninvolved FLC ratio ≥ 100 (inclusive); rows 22-23
FLC_INVOLVED_SLIM_MG_L = 100.0  # Li: and involved FLC ≥ 100 mg/L (inclusive); row 23
MRI_FOCAL_LESIONS_MORE_THAN = 1  # M: > 1 MRI focal lesion, each ≥ 5 mm (row 30)
MRI_LESION_MIN_MM = 5.0  # M: focal lesions count from 5 mm (inclusive) [D: one table "> 5 mm"]
M_PROTEIN_SMM_G_DL = 3.0  # SMM: serum M-protein (IgG/IgA) ≥ 30 g/L (inclusive); MGUS < 30 g/L (row 27)
URINE_M_PROTEIN_SMM_MG_24H = 500.0  # SMM: urine M-protein ≥ 500 mg/24 h (inclusive); LC-MGUS < 500 (row 28)
FLC_RATIO_LC_MGUS_LOW = 0.26  # LC-MGUS: κ/λ < 0.26 (exclusive) is abnormal; 0.26 is normal (row 29)
FLC_RATIO_LC_MGUS_HIGH = 1.65  # LC-MGUS: κ/λ > 1.65 (exclusive) is abnormal; 1.65 is normal (row 29)
IGM_LPL_INFILTRATION_PERCENT = 10.0  # IgM MGUS: lymphoplasmacytic marrow infiltration < 10%

_NON_IGM_HEAVY: frozenset[str] = frozenset({"IgG", "IgA", "IgD", "IgE"})
_SMM_SERUM_ISOTYPES: frozenset[str] = frozenset({"IgG", "IgA"})

NOTES: tuple[Note, ...] = (
    Note(
        "imwg_2014_mri_lesion_size",
        "discrepancy",
        f"MRI focal lesions are counted from {MRI_LESION_MIN_MM:g} mm (≥, IMWG 2014 as reproduced by "
        f"BMJ Best Practice, Medscape and others); one review table writes '> {MRI_LESION_MIN_MM:g} mm', "
        f"under which a lesion of exactly {MRI_LESION_MIN_MM:g} mm would not count (b2m reference D10).",
    ),
    Note(
        "imwg_2014_crcl_estimator",
        "discrepancy",
        f"Renal criterion: creatinine clearance < {CRCL_ML_MIN:g} mL/min 'measured or estimated by "
        "validated equations' (exact wording unconfirmed [U]). IMWG 2016 prefers CKD-EPI (else MDRD); "
        "Cockcroft–Gault is often used in practice [D]. b2m uses the clearance supplied and records "
        "the estimator named with it.",
    ),
    Note(
        "imwg_2014_index_plasmacytoma",
        "unconfirmed",
        "Imaging counts exclude a biopsied index plasmacytoma. The index bone plasmacytoma counts as "
        f"the bone (B) feature only when clonal BMPC ≥ {BMPC_CLONAL_PERCENT:g}%, so a solitary bone "
        "plasmacytoma with < 10% marrow is not myeloma unless another lesion is present (being the "
        "clone's own lesion, it needs no separate attribution). This follows "
        "the solitary-plasmacytoma definition (imaging normal 'except for the primary lesion', no "
        "CRAB) and a recalled, unverified IMWG footnote ('> 1 bone lesion when BMPC < 10%') [U]. That "
        "footnote would also ask for 2 lesions beside an extramedullary plasmacytoma; b2m asks for 1, "
        "as the panel's 'one or more osteolytic lesions'.",
    ),
    Note(
        "imwg_2014_marrow_footnotes",
        "caveat",
        "Clonality must be shown by κ/λ restriction (flow cytometry, immunohistochemistry or "
        "immunofluorescence); BMPC % preferably from the core biopsy, the higher value being used when "
        "aspirate and core disagree [S]. CRAB features count only when attributable to the "
        "plasma-cell disorder (input crab_attributable).",
    ),
)


def _fmt(x: float | Censored) -> str:
    return str(x) if isinstance(x, Censored) else f"{x:g}"


def _dec(x: float) -> Decimal:
    return Decimal(repr(x)) if math.isfinite(x) else Decimal("Infinity")


def _plus(a: float, b: float) -> float:
    """``a + b`` on the decimal values as written (2.6 + 0.25 is 2.85, not 2.8500000000000001)."""
    return float(_dec(a) + _dec(b))


def _ratio_ge(num: Num, den: Num, t: float) -> Tri:
    """``num / den ≥ t`` (t > 0), decided on exact decimals as ``num ≥ t·den``; censored-aware."""
    bn, bd = bounds(num), bounds(den)
    if bn is None or bd is None:
        return None
    td = _dec(t)
    if _dec(bn[0]) >= td * _dec(bd[1]):
        return True
    if _dec(bn[1]) < td * _dec(bd[0]):
        return False
    return None


def _ratio_gt(num: Num, den: Num, t: float) -> Tri:
    bn, bd = bounds(num), bounds(den)
    if bn is None or bd is None:
        return None
    td = _dec(t)
    if _dec(bn[0]) > td * _dec(bd[1]):
        return True
    if _dec(bn[1]) <= td * _dec(bd[0]):
        return False
    return None


def _ratio_lt(num: Num, den: Num, t: float) -> Tri:
    return not_(_ratio_ge(num, den, t))


# --- CRAB and SLiM items, each evaluated in the unit the lab reported -----------------------------


def _in_reported_unit(lab: LabValue, limit: float | None) -> float | None:
    return None if limit is None else round_sig(limit / lab.factor)


def _calcium(lab: LabValue | None) -> tuple[Tri, str, tuple[str, ...]]:
    if lab is None:
        text = f"serum calcium > {CALCIUM_MG_DL:g} mg/dL or > {CALCIUM_ABOVE_ULN_MG_DL:g} mg/dL above ULN"
        return None, text, ("calcium",)
    if lab.reported_in("mmol/L"):
        x: float | Censored = lab.received_magnitude
        uln = _in_reported_unit(lab, lab.upper_limit)
        limit, delta, unit = CALCIUM_MMOL_L, CALCIUM_ABOVE_ULN_MMOL_L, "mmol/L"
    else:
        x, uln = lab.value, lab.upper_limit
        limit, delta, unit = CALCIUM_MG_DL, CALCIUM_ABOVE_ULN_MG_DL, "mg/dL"
    arm_uln = None if uln is None else gt(x, _plus(uln, delta))
    met = or_(gt(x, limit), arm_uln)
    text = (
        f"serum calcium > {limit:g} {unit}, or > {delta:g} {unit} above the ULN"
        + (f" ({uln:g} {unit})" if uln is not None else " (ULN not given)")
        + f"; value {_fmt(x)} {unit}, compared in the unit reported"
    )
    missing = ("calcium.upper_limit",) if met is None and uln is None else ()
    return met, text, missing


def _creatinine(lab: LabValue | None, crcl_ml_min: Num, estimator: str | None) -> tuple[Tri, str, tuple[str, ...]]:
    if lab is None:
        arm: Tri = None
        text = f"serum creatinine > {CREATININE_MG_DL:g} mg/dL (> {CREATININE_UMOL_L:g} µmol/L)"
    elif lab.reported_in("umol/L"):
        x = lab.received_magnitude
        arm = gt(x, CREATININE_UMOL_L)
        text = f"serum creatinine > {CREATININE_UMOL_L:g} µmol/L (value {_fmt(x)} µmol/L, as reported)"
    else:
        arm = gt(lab.value, CREATININE_MG_DL)
        text = f"serum creatinine > {CREATININE_MG_DL:g} mg/dL (value {_fmt(lab.value)} mg/dL)"
    est = estimator or "estimator not stated"
    crcl_arm = lt(crcl_ml_min, CRCL_ML_MIN)
    met = or_(arm, crcl_arm)
    crcl = "not given" if crcl_ml_min is None else f"{_fmt(crcl_ml_min)} mL/min"
    text += f", or creatinine clearance < {CRCL_ML_MIN:g} mL/min (value {crcl}, {est})"
    missing: tuple[str, ...] = ()
    if met is None:
        missing = (() if lab is not None else ("creatinine",)) + (("crcl_ml_min",) if crcl_ml_min is None else ())
    return met, text, missing


def _hemoglobin(lab: LabValue | None) -> tuple[Tri, str, tuple[str, ...]]:
    if lab is None:
        return None, f"Hb < {HB_G_DL:g} g/dL or > {HB_BELOW_LLN_G_DL:g} g/dL below LLN", ("hemoglobin",)
    if lab.reported_in("g/L"):
        x: float | Censored = lab.received_magnitude
        lln = _in_reported_unit(lab, lab.lower_limit)
        limit, delta, unit = HB_G_L, HB_BELOW_LLN_G_L, "g/L"
    else:
        x, lln = lab.value, lab.lower_limit
        limit, delta, unit = HB_G_DL, HB_BELOW_LLN_G_DL, "g/dL"
    arm_lln = None if lln is None else lt(x, _plus(lln, -delta))
    met = or_(lt(x, limit), arm_lln)
    text = (
        f"Hb < {limit:g} {unit}, or > {delta:g} {unit} below the LLN"
        + (f" ({lln:g} {unit})" if lln is not None else " (LLN not given)")
        + f"; value {_fmt(x)} {unit}"
    )
    missing = ("hemoglobin.lower_limit",) if met is None and lln is None else ()
    return met, text, missing


def _flc(kappa: LabValue | None, lam: LabValue | None) -> tuple[Tri, Tri]:
    """(Li: SLiM FLC criterion, light-chain MGUS: abnormal ratio with the involved chain increased)."""
    k: Num = None if kappa is None else kappa.value
    lm: Num = None if lam is None else lam.value
    li = or_(
        and_(_ratio_ge(k, lm, FLC_RATIO_SLIM), ge(k, FLC_INVOLVED_SLIM_MG_L)),
        and_(_ratio_ge(lm, k, FLC_RATIO_SLIM), ge(lm, FLC_INVOLVED_SLIM_MG_L)),
    )
    k_uln: Num = None if kappa is None else kappa.upper_limit
    l_uln: Num = None if lam is None else lam.upper_limit
    lc = or_(
        and_(_ratio_gt(k, lm, FLC_RATIO_LC_MGUS_HIGH), gt_num(k, k_uln)),
        and_(_ratio_lt(k, lm, FLC_RATIO_LC_MGUS_LOW), gt_num(lm, l_uln)),
    )
    return li, lc


# --- the variables the class definitions share, each reduced to the regions the criteria tell apart ---
#
# A variable's value is the set of regions the input leaves possible, as a bit mask over its regions
# (one bit when the input is known, several when it is unknown or censored across a cut-off).

_BMPC_REGIONS = ("0", "lt10", "10to60", "ge60")
_ISOTYPE_REGIONS: tuple[str, ...] = ISOTYPES
_PLASMACYTOMA_REGIONS = ("none", "bone", "extramedullary")
_YES_NO = ("T", "F")

# Variable positions in an environment.
(
    _BMPC,
    _ISOTYPE,
    _PLASMACYTOMA,
    _ATTRIBUTABLE,
    _C,
    _R,
    _A,
    _LESIONS,
    _MRI,
    _LI,
    _M_PROTEIN,
    _URINE,
    _AMYLOIDOSIS,
    _LC,
    _IGM_FEATURES,
    _LPL,
) = range(16)

Env = list[int]
"""One bit mask per variable (positions above): the regions each input still allows."""


def _bits(regions: tuple[str, ...], *names: str) -> int:
    return sum(1 << regions.index(n) for n in names)


_ALL_BMPC = _bits(_BMPC_REGIONS, *_BMPC_REGIONS)
_BMPC_0 = _bits(_BMPC_REGIONS, "0")
_BMPC_LT10 = _bits(_BMPC_REGIONS, "lt10")
_BMPC_BELOW_10 = _bits(_BMPC_REGIONS, "0", "lt10")
_BMPC_10_TO_60 = _bits(_BMPC_REGIONS, "10to60")
_BMPC_GE10 = _bits(_BMPC_REGIONS, "10to60", "ge60")
_BMPC_GE60 = _bits(_BMPC_REGIONS, "ge60")
_SMM_SERUM = _bits(_ISOTYPE_REGIONS, *sorted(_SMM_SERUM_ISOTYPES))
_NON_IGM = _bits(_ISOTYPE_REGIONS, *sorted(_NON_IGM_HEAVY))
_IGM = _bits(_ISOTYPE_REGIONS, "IgM")
_LIGHT_CHAIN = _bits(_ISOTYPE_REGIONS, "light_chain")
_BONE = _bits(_PLASMACYTOMA_REGIONS, "bone")
_PLASMACYTOMA_ANY = _bits(_PLASMACYTOMA_REGIONS, "bone", "extramedullary")
_YES = _bits(_YES_NO, "T")
_BELOW, _ABOVE = 1, 2  # regions of a split at one cut-off: below it, at or above it
_NONE, _SOME = 1, 2  # osteolytic lesions: 0, >= 1
_MRI_0, _MRI_1, _MRI_GE2 = 1, 2, 4  # MRI focal lesions: 0, 1, >= 2


def _yes_no(t: Tri) -> int:
    return 0b11 if t is None else (0b01 if t else 0b10)


def _bmpc_regions(x: Num) -> int:
    b = bounds(x)
    if b is None:
        return _ALL_BMPC
    lo, hi = b
    out = 0
    if lo <= 0:
        out |= _BMPC_0
    if hi > 0 and lo < BMPC_CLONAL_PERCENT:
        out |= _BMPC_LT10
    if hi >= BMPC_CLONAL_PERCENT and lo < BMPC_SLIM_PERCENT:
        out |= _BMPC_10_TO_60
    if hi >= BMPC_SLIM_PERCENT:
        out |= _BMPC_GE60
    return out


def _split(x: Num, t: float) -> int:
    """Regions of 'x < t' (:data:`_BELOW`) / 'x ≥ t' (:data:`_ABOVE`) the value allows."""
    return (_BELOW if lt(x, t) is not False else 0) | (_ABOVE if ge(x, t) is not False else 0)


def _count_regions(x: int | None, cuts: tuple[tuple[int, int, int | None], ...]) -> int:
    """Regions (bit, lowest, highest or None) of a count; all of them when it is unknown."""
    return sum(bit for bit, lo, hi in cuts if x is None or (x >= lo and (hi is None or x <= hi)))


def _plasmacytoma_regions(x: Plasmacytoma | None) -> int:
    return _bits(_PLASMACYTOMA_REGIONS, *(_PLASMACYTOMA_SITES.get(x) or (str(x),)))


# --- three-valued truths of the search ------------------------------------------------------------
#
# In the search a truth is a 2-bit int, bit 0 "certain" and bit 1 "possible" (the pair of
# b2m.rules.expr): TRUE 3, UNKNOWN 2, FALSE 0, so Kleene AND and OR are the bitwise & and |.

_T, _U, _F = 3, 2, 0
_NOT = (_T, _T, _U, _F)  # indexed by a truth (1 never occurs)
_KLEENE: dict[int, Tri] = {_T: True, _U: None, _F: False}


def _is(allowed: int, true_set: int) -> int:
    """Whether a variable lies in ``true_set``: certain when every allowed region does, possible when one does."""
    return (allowed & ~true_set == 0) | ((allowed & true_set != 0) << 1)


def _yes(env: Env, var: int) -> int:
    return _is(env[var], _YES)


# --- the criteria (Rajkumar 2014 panel), one helper each --------------------------------------------


def _clonal_marrow(env: Env) -> int:
    """Clonal BMPC ≥ 10%."""
    return _is(env[_BMPC], _BMPC_GE10)


def _biopsied_plasmacytoma(env: Env) -> int:
    """A biopsy-proven bony or extramedullary plasmacytoma."""
    return _is(env[_PLASMACYTOMA], _PLASMACYTOMA_ANY)


def _bone_index(env: Env) -> int:
    """The biopsied bone plasmacytoma counts as B (and is attributable) only with clonal BMPC ≥ 10%."""
    return _is(env[_PLASMACYTOMA], _BONE) & _clonal_marrow(env)


def _osteolytic(env: Env) -> int:
    """≥ 1 osteolytic lesion other than the index plasmacytoma."""
    return _is(env[_LESIONS], _SOME)


def _b(env: Env) -> int:
    """B: bone lesions."""
    return _osteolytic(env) | _bone_index(env)


def _crab_findings(env: Env) -> int:
    """A CRAB finding whose cause must be attributed (C, R, A, or an osteolytic lesion)."""
    return _yes(env, _C) | _yes(env, _R) | _yes(env, _A) | _osteolytic(env)


def _crab(env: Env) -> int:
    """An attributable CRAB feature (a biopsied bone plasmacytoma is attributable by its histology)."""
    return (_crab_findings(env) & _yes(env, _ATTRIBUTABLE)) | _bone_index(env)


def _s(env: Env) -> int:
    """S: clonal BMPC ≥ 60%."""
    return _is(env[_BMPC], _BMPC_GE60)


def _m(env: Env) -> int:
    """M: > 1 focal lesion on MRI."""
    return _is(env[_MRI], _MRI_GE2)


def _mde(env: Env, crab: int) -> int:
    """A myeloma-defining event: attributable CRAB, or a SLiM biomarker (S, Li, M)."""
    return crab | _s(env) | _yes(env, _LI) | _m(env)


# --- the classes, one helper each ----------------------------------------------------------------


def _multiple_myeloma(env: Env, mde: int) -> int:
    return (_clonal_marrow(env) | _biopsied_plasmacytoma(env)) & mde


def _smouldering(env: Env, mde: int) -> int:
    burden = (
        (_is(env[_ISOTYPE], _SMM_SERUM) & _is(env[_M_PROTEIN], _ABOVE))
        | _is(env[_URINE], _ABOVE)
        | _is(env[_BMPC], _BMPC_10_TO_60)
    )
    return burden & _NOT[mde] & _NOT[_yes(env, _AMYLOIDOSIS)]


def _solitary_plasmacytoma(env: Env, crab: int, marrow: int) -> int:
    """With ``marrow`` the BMPC region: none (no clonal plasma cells) or < 10% (minimal marrow involvement)."""
    imaging_otherwise_normal = _is(env[_LESIONS], _NONE) & _is(env[_MRI], _MRI_0)
    return _biopsied_plasmacytoma(env) & imaging_otherwise_normal & _NOT[crab] & _is(env[_BMPC], marrow)


def _mgus_non_igm(env: Env, crab: int) -> int:
    return (
        _is(env[_ISOTYPE], _NON_IGM)
        & _is(env[_M_PROTEIN], _BELOW)
        & _is(env[_BMPC], _BMPC_BELOW_10)
        & _NOT[crab]
        & _NOT[_yes(env, _AMYLOIDOSIS)]
    )


def _mgus_igm(env: Env) -> int:
    return (
        _is(env[_ISOTYPE], _IGM)
        & _is(env[_M_PROTEIN], _BELOW)
        & _is(env[_LPL], _BELOW)
        & _NOT[_yes(env, _A) & _yes(env, _ATTRIBUTABLE)]
        & _NOT[_yes(env, _IGM_FEATURES)]
    )


def _mgus_light_chain(env: Env, crab: int) -> int:
    return (
        _is(env[_ISOTYPE], _LIGHT_CHAIN)
        & _yes(env, _LC)
        & _NOT[crab]
        & _NOT[_yes(env, _AMYLOIDOSIS)]
        & _is(env[_BMPC], _BMPC_BELOW_10)
        & _is(env[_URINE], _BELOW)
    )


def _classes(env: Env) -> tuple[int, ...]:
    """The truth of each class definition, in :data:`STAGES` order (``unclassified`` excluded)."""
    crab = _crab(env)
    mde = _mde(env, crab)
    return (
        _multiple_myeloma(env, mde),
        _smouldering(env, mde),
        _solitary_plasmacytoma(env, crab, _BMPC_0),
        _solitary_plasmacytoma(env, crab, _BMPC_LT10),
        _mgus_non_igm(env, crab),
        _mgus_igm(env),
        _mgus_light_chain(env, crab),
    )


_UNCLASSIFIED = len(STAGES) - 1

# How the search splits each variable: region by region, except that IgG and IgA are alike for every
# class, and so are IgD and IgE, so an isotype branch never repeats an identical subtree.
_REGION_COUNTS = {_BMPC: len(_BMPC_REGIONS), _ISOTYPE: len(_ISOTYPE_REGIONS), _PLASMACYTOMA: 3, _MRI: 3}
_PARTS: list[tuple[int, ...]] = [tuple(1 << i for i in range(_REGION_COUNTS.get(v, 2))) for v in range(16)]
_PARTS[_ISOTYPE] = (_SMM_SERUM, _NON_IGM & ~_SMM_SERUM, _IGM, _LIGHT_CHAIN, _bits(_ISOTYPE_REGIONS, "non_secretory"))

# The myeloma-defining events first (they decide myeloma against every other class), the details of
# the MGUS types last; the order changes only the search's speed, never its answer.
_BRANCH_ORDER: tuple[int, ...] = (
    _BMPC,
    _ATTRIBUTABLE,
    _C,
    _R,
    _A,
    _LESIONS,
    _LI,
    _MRI,
    _PLASMACYTOMA,
    _AMYLOIDOSIS,
    _M_PROTEIN,
    _URINE,
    _ISOTYPE,
    _LC,
    _IGM_FEATURES,
    _LPL,
)


@lru_cache(maxsize=4096)  # patients share few region patterns; the answer depends on nothing else
def _possible(regions: tuple[int, ...]) -> tuple[str, ...]:
    """Every class some completion of the unknown regions makes the answer.

    The answer is the first class in :data:`STAGES` whose definition holds (``unclassified``: none
    does). One depth-first search collects every reachable answer: where the Kleene truths already
    leave one answer it is recorded; where every answer they leave is recorded the branch is pruned;
    otherwise the search splits the first variable (in :data:`_BRANCH_ORDER`) that spans more than one
    of its :data:`_PARTS`. Exact, since variables narrowed to one part each decide every truth.
    """
    found = [False] * len(STAGES)

    def search(env: Env) -> None:
        candidates = []
        for i, t in enumerate(_classes(env)):
            if t == _T:
                candidates.append(i)
                break
            if t == _U:
                candidates.append(i)
        else:
            candidates.append(_UNCLASSIFIED)
        if len(candidates) == 1:
            found[candidates[0]] = True
            return
        if all(found[c] for c in candidates):
            return
        for var in _BRANCH_ORDER:
            allowed = env[var]
            parts = [part for part in _PARTS[var] if allowed & part]
            if len(parts) > 1:
                break
        else:
            raise AssertionError("undecided classes with every variable decided")
        for part in parts:
            child = env.copy()
            child[var] = allowed & part
            search(child)

    search(list(regions))
    return tuple(c for c, f in zip(STAGES, found, strict=True) if f)


# --- the rule -------------------------------------------------------------------------------------


def _check_inputs(
    bmpc_percent: Num,
    plasmacytoma: Plasmacytoma | None,
    isotype: Isotype | None,
    m_protein_g_dl: Num,
    urine_m_protein_mg_24h: Num,
    labs: tuple[tuple[str, LabValue | None], ...],
    crcl_ml_min: Num,
    crcl_estimator: str | None,
    counts: tuple[tuple[str, int | None], ...],
    flags: tuple[tuple[str, bool | None], ...],
    bm_lymphoplasmacytic_percent: Num,
) -> None:
    check_number("bmpc_percent", bmpc_percent, 100.0)
    check_number("bm_lymphoplasmacytic_percent", bm_lymphoplasmacytic_percent, 100.0)
    check_number("m_protein_g_dl", m_protein_g_dl)
    check_number("urine_m_protein_mg_24h", urine_m_protein_mg_24h)
    check_number("crcl_ml_min", crcl_ml_min)
    for name, count in counts:
        check_count(name, count)
    check_choice("plasmacytoma", plasmacytoma, PLASMACYTOMAS)
    check_choice("isotype", isotype, ISOTYPES)
    for name, flag in flags:
        check_bool(name, flag)
    for name, lab in labs:
        check_lab(name, lab, name)
    if crcl_estimator is not None and not isinstance(crcl_estimator, str):
        raise InputError("crcl_estimator", f"expected text, got {crcl_estimator!r}", "e.g. 'CKD-EPI 2021'")


def _criteria(
    env: Env,
    items: Mapping[str, tuple[Tri, str]],
    amyloidosis: bool | None,
) -> list[Criterion]:
    """The criteria as shown, each from its helper evaluated on the inputs as given (no branching)."""
    crab = _crab(env)
    mde = _mde(env, crab)
    flc_inputs = ("flc_kappa", "flc_lambda")
    criteria = [
        Criterion(
            "clonal_marrow_or_plasmacytoma",
            f"clonal BMPC ≥ {BMPC_CLONAL_PERCENT:g}% or biopsy-proven bony or extramedullary plasmacytoma",
            _KLEENE[_clonal_marrow(env) | _biopsied_plasmacytoma(env)],
            ("bmpc_percent", "plasmacytoma"),
        ),
        Criterion("C", f"hypercalcaemia: {items['C'][1]}", items["C"][0], ("calcium",)),
        Criterion(
            "R", f"renal insufficiency: {items['R'][1]}", items["R"][0], ("creatinine", "crcl_ml_min", "crcl_estimator")
        ),
        Criterion("A", f"anaemia: {items['A'][1]}", items["A"][0], ("hemoglobin",)),
        Criterion(
            "B",
            f"≥ {OSTEOLYTIC_LESIONS_MIN} osteolytic lesion on skeletal radiography, CT or PET-CT (a biopsied "
            f"bone plasmacytoma counts only with clonal BMPC ≥ {BMPC_CLONAL_PERCENT:g}%)",
            _KLEENE[_b(env)],
            ("osteolytic_lesions", "plasmacytoma", "bmpc_percent"),
        ),
        Criterion(
            "CRAB_attributable",
            "a CRAB feature is present and attributable to the plasma-cell disorder (a biopsied bone "
            "plasmacytoma is attributable by its histology)",
            _KLEENE[crab],
            ("crab_attributable",),
        ),
        Criterion("S", f"clonal BMPC ≥ {BMPC_SLIM_PERCENT:g}%", _KLEENE[_s(env)], ("bmpc_percent",)),
        Criterion(
            "Li",
            f"involved/uninvolved serum FLC ratio ≥ {FLC_RATIO_SLIM:g} and involved FLC "
            f"≥ {FLC_INVOLVED_SLIM_MG_L:g} mg/L (Freelite)",
            items["Li"][0],
            flc_inputs,
        ),
        Criterion(
            "M",
            f"> {MRI_FOCAL_LESIONS_MORE_THAN} focal lesion on MRI, each ≥ {MRI_LESION_MIN_MM:g} mm",
            _KLEENE[_m(env)],
            ("mri_focal_lesions_ge_5mm",),
        ),
        Criterion("MDE", "≥ 1 myeloma-defining event (attributable CRAB, S, Li or M)", _KLEENE[mde], ()),
        Criterion("amyloidosis", "AL amyloidosis present", amyloidosis, ("amyloidosis",)),
        Criterion(
            "light_chain_mgus_flc",
            f"κ/λ FLC ratio < {FLC_RATIO_LC_MGUS_LOW:g} or > {FLC_RATIO_LC_MGUS_HIGH:g} with the involved "
            "chain above the lab's upper limit",
            items["LC"][0],
            flc_inputs,
        ),
    ]
    criteria += [
        Criterion(f"class.{c}", f"criteria for {c.replace('_', ' ')} met", _KLEENE[t], ())
        for c, t in zip(STAGES[:_UNCLASSIFIED], _classes(env), strict=True)
    ]
    return criteria


def _missing(
    env: Env,
    given: Mapping[str, object],
    item_missing: tuple[str, ...],
    li: Tri,
    lc: Tri,
    flc_kappa: LabValue | None,
    flc_lambda: LabValue | None,
) -> tuple[str, ...]:
    """Inputs that are unknown and that left a criterion undecided, in input order."""
    iso = env[_ISOTYPE]
    crab = _KLEENE[_crab(env)]
    missing: list[str] = []

    def need(name: str, value: object, undecided: bool) -> None:
        if value is None and undecided and name not in missing:
            missing.append(name)

    need("bmpc_percent", given["bmpc_percent"], True)
    need("plasmacytoma", given["plasmacytoma"], True)
    need("isotype", given["isotype"], True)
    need("m_protein_g_dl", given["m_protein_g_dl"], bool(iso & (_NON_IGM | _IGM)))
    need("urine_m_protein_mg_24h", given["urine_m_protein_mg_24h"], True)
    for name in item_missing:
        need(name, None, True)
    need("osteolytic_lesions", given["osteolytic_lesions"], True)
    need("mri_focal_lesions_ge_5mm", given["mri_focal_lesions_ge_5mm"], True)
    need("flc_kappa", flc_kappa, li is None or lc is None)
    need("flc_lambda", flc_lambda, li is None or lc is None)
    if lc is None and iso & _LIGHT_CHAIN:
        if flc_kappa is not None and flc_kappa.upper_limit is None:
            need("flc_kappa.upper_limit", None, True)
        if flc_lambda is not None and flc_lambda.upper_limit is None:
            need("flc_lambda.upper_limit", None, True)
    crab_findings = _KLEENE[_crab_findings(env)]
    need("crab_attributable", given["crab_attributable"], crab_findings is not False and crab is None)
    need("amyloidosis", given["amyloidosis"], True)
    need("igm_related_features", given["igm_related_features"], bool(iso & _IGM))
    need("bm_lymphoplasmacytic_percent", given["bm_lymphoplasmacytic_percent"], bool(iso & _IGM))
    return tuple(missing)


def _inputs_shown(given: Mapping[str, object], labs: tuple[tuple[str, str, LabValue | None], ...]) -> dict[str, object]:
    """The inputs as received; each lab as reported (the unit its thresholds were applied in) and canonical."""
    inputs = dict(given)
    for name, canonical, lab in labs:
        inputs[name] = None if lab is None else f"{_fmt(lab.received_magnitude)} {lab.received_unit}"
        inputs[canonical] = None if lab is None else lab.value
    for name, lab, attr in (
        ("calcium_upper_limit", labs[0][2], "upper_limit"),
        ("hemoglobin_lower_limit", labs[2][2], "lower_limit"),
        ("flc_kappa_upper_limit", labs[3][2], "upper_limit"),
        ("flc_lambda_upper_limit", labs[4][2], "upper_limit"),
    ):
        if lab is not None:
            lim = _in_reported_unit(lab, getattr(lab, attr))
            inputs[name] = None if lim is None else f"{lim:g} {lab.received_unit}"
    return inputs


def imwg_2014(
    *,
    bmpc_percent: Num,
    plasmacytoma: Plasmacytoma | None,
    isotype: Isotype | None,
    m_protein_g_dl: Num,
    urine_m_protein_mg_24h: Num,
    calcium: LabValue | None,
    creatinine: LabValue | None,
    crcl_ml_min: Num,
    crcl_estimator: str | None,
    hemoglobin: LabValue | None,
    osteolytic_lesions: int | None,
    mri_focal_lesions_ge_5mm: int | None,
    flc_kappa: LabValue | None,
    flc_lambda: LabValue | None,
    crab_attributable: bool | None,
    amyloidosis: bool | None,
    igm_related_features: bool | None = None,
    bm_lymphoplasmacytic_percent: Num = None,
) -> RuleResult:
    """Classify a plasma-cell disorder by the IMWG 2014 criteria; ``None`` means unknown.

    - ``bmpc_percent``: clonal bone-marrow plasma cells (%; 0 = no clonal plasma cells).
    - ``plasmacytoma``: biopsy-proven plasmacytoma (the index lesion): ``"none"``, ``"bone"``,
      ``"extramedullary"`` or ``"present"`` (site not given).
    - ``isotype``: heavy-chain type of the M-protein (``"light_chain"`` = no heavy chain on
      immunofixation).
    - ``m_protein_g_dl``: serum M-protein (3 g/dL = 30 g/L); ``urine_m_protein_mg_24h``: urine M-protein.
    - ``calcium``, ``creatinine``, ``hemoglobin``, ``flc_kappa``, ``flc_lambda``: parsed lab values
      (reported unit and the lab's reference limits are used).
    - ``crcl_ml_min`` / ``crcl_estimator``: creatinine clearance or eGFR and the equation or method
      that produced it.
    - ``osteolytic_lesions``: osteolytic lesions on skeletal radiography, CT or PET-CT, **other than**
      the index plasmacytoma; ``mri_focal_lesions_ge_5mm``: MRI focal lesions ≥ 5 mm, other than it.
    - ``crab_attributable``: whether the CRAB feature(s) present are attributable to the plasma-cell
      disorder (only read when a CRAB feature may be present).
    - ``amyloidosis``: AL amyloidosis present.
    - ``igm_related_features`` (IgM MGUS only): constitutional symptoms, hyperviscosity,
      lymphadenopathy or hepatosplenomegaly attributable to the clone.
    - ``bm_lymphoplasmacytic_percent`` (IgM MGUS only): marrow lymphoplasmacytic infiltration (%).
    """
    _check_inputs(
        bmpc_percent,
        plasmacytoma,
        isotype,
        m_protein_g_dl,
        urine_m_protein_mg_24h,
        (
            ("calcium", calcium),
            ("creatinine", creatinine),
            ("hemoglobin", hemoglobin),
            ("flc_kappa", flc_kappa),
            ("flc_lambda", flc_lambda),
        ),
        crcl_ml_min,
        crcl_estimator,
        (("osteolytic_lesions", osteolytic_lesions), ("mri_focal_lesions_ge_5mm", mri_focal_lesions_ge_5mm)),
        (
            ("crab_attributable", crab_attributable),
            ("amyloidosis", amyloidosis),
            ("igm_related_features", igm_related_features),
        ),
        bm_lymphoplasmacytic_percent,
    )
    c_met, c_text, c_missing = _calcium(calcium)
    r_met, r_text, r_missing = _creatinine(creatinine, crcl_ml_min, crcl_estimator)
    a_met, a_text, a_missing = _hemoglobin(hemoglobin)
    li_met, lc_met = _flc(flc_kappa, flc_lambda)

    env: Env = [0] * 16
    env[_BMPC] = _bmpc_regions(bmpc_percent)
    env[_ISOTYPE] = _bits(_ISOTYPE_REGIONS, *(ISOTYPES if isotype is None else (isotype,)))
    env[_PLASMACYTOMA] = _plasmacytoma_regions(plasmacytoma)
    env[_ATTRIBUTABLE] = _yes_no(crab_attributable)
    env[_C], env[_R], env[_A] = _yes_no(c_met), _yes_no(r_met), _yes_no(a_met)
    env[_LESIONS] = _count_regions(osteolytic_lesions, ((_NONE, 0, 0), (_SOME, OSTEOLYTIC_LESIONS_MIN, None)))
    env[_MRI] = _count_regions(
        mri_focal_lesions_ge_5mm,
        (
            (_MRI_0, 0, 0),
            (_MRI_1, 1, MRI_FOCAL_LESIONS_MORE_THAN),
            (_MRI_GE2, MRI_FOCAL_LESIONS_MORE_THAN + 1, None),
        ),
    )
    env[_LI] = _yes_no(li_met)
    env[_M_PROTEIN] = _split(m_protein_g_dl, M_PROTEIN_SMM_G_DL)
    env[_URINE] = _split(urine_m_protein_mg_24h, URINE_M_PROTEIN_SMM_MG_24H)
    env[_AMYLOIDOSIS] = _yes_no(amyloidosis)
    env[_LC] = _yes_no(lc_met)
    env[_IGM_FEATURES] = _yes_no(igm_related_features)
    env[_LPL] = _split(bm_lymphoplasmacytic_percent, IGM_LPL_INFILTRATION_PERCENT)

    given: dict[str, object] = {
        "bmpc_percent": bmpc_percent,
        "plasmacytoma": plasmacytoma,
        "isotype": isotype,
        "m_protein_g_dl": m_protein_g_dl,
        "urine_m_protein_mg_24h": urine_m_protein_mg_24h,
        "crcl_ml_min": crcl_ml_min,
        "crcl_estimator": crcl_estimator,
        "osteolytic_lesions": osteolytic_lesions,
        "mri_focal_lesions_ge_5mm": mri_focal_lesions_ge_5mm,
        "crab_attributable": crab_attributable,
        "amyloidosis": amyloidosis,
        "igm_related_features": igm_related_features,
        "bm_lymphoplasmacytic_percent": bm_lymphoplasmacytic_percent,
    }
    items = {"C": (c_met, c_text), "R": (r_met, r_text), "A": (a_met, a_text), "Li": (li_met, ""), "LC": (lc_met, "")}
    missing = _missing(env, given, (*c_missing, *r_missing, *a_missing), li_met, lc_met, flc_kappa, flc_lambda)
    notes = list(NOTES)
    if missing:
        notes.append(
            Note(
                "imwg_2014_not_assessable",
                "missing",
                f"Unknown: {', '.join(missing)}. 'No myeloma-defining event' needs every item known "
                "negative; every class still consistent with the known values is listed.",
            )
        )
    labs = (
        ("calcium", "calcium_mg_dl", calcium),
        ("creatinine", "creatinine_mg_dl", creatinine),
        ("hemoglobin", "hemoglobin_g_dl", hemoglobin),
        ("flc_kappa", "flc_kappa_mg_l", flc_kappa),
        ("flc_lambda", "flc_lambda_mg_l", flc_lambda),
    )
    return RuleResult(
        rule=REF,
        possible=_possible(tuple(env)),
        criteria=tuple(_criteria(env, items, amyloidosis)),
        inputs=_inputs_shown(given, labs),
        missing=missing,
        notes=tuple(notes),
    )


def smouldering_risk_applies(features: Features, results: Mapping[str, RuleResult]) -> bool:
    """Smouldering-myeloma risk applies where SMM is the setting or still a possible IMWG 2014 class."""
    r = results.get(REF.id)
    return features["setting"] == "smm" or (r is not None and "smouldering_myeloma" in r.possible)


SPEC = ScoreRule(
    name="imwg_2014",
    ref=REF,
    stages=STAGES,
    inputs=INPUTS,
    notes=NOTES,
    evaluate=imwg_2014,
    arguments={
        "bmpc_percent": "bmpc_percent",
        "plasmacytoma": "plasmacytoma",
        "isotype": "isotype",
        "m_protein_g_dl": "m_protein_g_dl",
        "urine_m_protein_mg_24h": "urine_m_protein_mg_24h",
        "calcium": "calcium",
        "creatinine": "creatinine",
        "crcl_ml_min": "crcl_ml_min",
        "crcl_estimator": "crcl_estimator",
        "hemoglobin": "hemoglobin",
        "osteolytic_lesions": "osteolytic_lesions",
        "mri_focal_lesions_ge_5mm": "mri_focal_lesions_ge_5mm",
        "flc_kappa": "flc_kappa",
        "flc_lambda": "flc_lambda",
        "crab_attributable": "crab_attributable",
        "amyloidosis": "amyloidosis",
        "igm_related_features": "igm_related_features",
        "bm_lymphoplasmacytic_percent": "bm_lymphoplasmacytic_percent",
    },
    diseases=("multiple_myeloma",),
    # which plasma-cell disorder: the question of a smouldering or MGUS work-up (a new diagnosis or
    # relapse of myeloma is the setting's own answer; the JSON and --detail keep the classification)
    settings=("smm", "mgus"),
)
