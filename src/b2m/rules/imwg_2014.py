"""IMWG 2014 diagnostic criteria for multiple myeloma and related plasma-cell disorders.

Rajkumar SV, Dimopoulos MA, Palumbo A, et al. International Myeloma Working Group updated criteria
for the diagnosis of multiple myeloma. Lancet Oncol. 2014;15(12):e538-e548.
DOI 10.1016/S1470-2045(14)70442-5. Criteria as in the reference sheet §5 [C].

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
    the three MGUS definitions of §5.3.
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
is applied **in the unit the lab reported** (reference sheet §12 rows 31–32: 177 µmol/L is not
> 177 µmol/L although it is 2.002 mg/dL) and the lab's own reference limits (calcium ULN,
haemoglobin LLN) are at hand. The free light chains are LabValues too (the upper limits decide
"increased involved chain" for light-chain MGUS; a lab value always carries its unit, so the 10×
mg/L–mg/dL trap of §12 row 24 cannot reach this rule).

Imaging is counted **apart from a biopsied index plasmacytoma**: ``osteolytic_lesions`` is the number
of osteolytic lesions on skeletal radiography, CT or PET-CT other than the index plasmacytoma, and
``mri_focal_lesions_ge_5mm`` the number of MRI focal lesions of ≥ 5 mm other than it. A biopsied bone
plasmacytoma itself counts as the B (bone) feature only when clonal BMPC ≥ 10% (see the note
``imwg_2014_index_plasmacytoma``).

Missing data: an MDE is asserted from any one positive item, but "no MDE" (needed for SMM, MGUS and
solitary plasmacytoma) needs every item known negative — including the lab's calcium ULN and
haemoglobin LLN when the absolute thresholds alone do not settle C and A (§5 missing data). The
result then lists every class still possible. The search branches on each unknown (marrow band,
isotype, CRAB item, ...) and is exact, except that the two FLC items (the SLiM ratio and the
light-chain-MGUS ratio, which share κ and λ) are branched on independently — at worst an extra class.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
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

# Rajkumar 2014 panel (reference sheet §5) [C]. Each threshold is given in the units IMWG prints.
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
        f"under which a lesion of exactly {MRI_LESION_MIN_MM:g} mm would not count (reference sheet §13).",
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

State = frozenset[str]
_YES: State = frozenset({"T"})
_NO: State = frozenset({"F"})
_BOTH: State = frozenset({"T", "F"})


def _tri_state(t: Tri) -> State:
    return _BOTH if t is None else (_YES if t else _NO)


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


# --- region states of the shared variables ---------------------------------------------------------


def _bmpc_states(x: Num) -> State:
    b = bounds(x)
    if b is None:
        return frozenset({"0", "lt10", "10to60", "ge60"})
    lo, hi = b
    out = set()
    if lo <= 0:
        out.add("0")
    if hi > 0 and lo < BMPC_CLONAL_PERCENT:
        out.add("lt10")
    if hi >= BMPC_CLONAL_PERCENT and lo < BMPC_SLIM_PERCENT:
        out.add("10to60")
    if hi >= BMPC_SLIM_PERCENT:
        out.add("ge60")
    return frozenset(out)


def _split(x: Num, t: float, below: str, above: str) -> State:
    """States of 'x < t' / 'x ≥ t'."""
    return frozenset(s for s, tri in ((below, lt(x, t)), (above, ge(x, t))) if tri is not False)


def _count_states(x: int | None, cuts: tuple[tuple[str, int, int | None], ...]) -> State:
    if x is None:
        return frozenset(name for name, _, _ in cuts)
    return frozenset(name for name, lo, hi in cuts if x >= lo and (hi is None or x <= hi))


Env = Mapping[str, State]


def _is(env: Env, var: str, true_set: frozenset[str]) -> Tri:
    states = env[var]
    if states <= true_set:
        return True
    if not states & true_set:
        return False
    return None


def _classes(env: Env) -> dict[str, Tri]:
    """Kleene truth of every class definition under the (partly known) variable states."""

    def yes(var: str) -> Tri:
        return _is(env, var, _YES)

    ge10 = _is(env, "bmpc", frozenset({"10to60", "ge60"}))
    lt10 = _is(env, "bmpc", frozenset({"0", "lt10"}))
    s_item = _is(env, "bmpc", frozenset({"ge60"}))
    plasmacytoma = _is(env, "plasmacytoma", frozenset({"bone", "extramedullary"}))
    # A biopsied bone plasmacytoma is attributable by its histology; other findings need attribution.
    bone_index = and_(_is(env, "plasmacytoma", frozenset({"bone"})), ge10)
    b_lesions = _is(env, "lesions", frozenset({"ge1"}))
    m_item = _is(env, "mri", frozenset({"ge2"}))
    crab = or_(and_(or_(yes("C"), yes("R"), yes("A"), b_lesions), yes("attributable")), bone_index)
    mde = or_(crab, s_item, yes("Li"), m_item)
    m_lt3 = _is(env, "m_protein", frozenset({"lt3"}))
    smm_burden = or_(
        and_(_is(env, "isotype", _SMM_SERUM_ISOTYPES), _is(env, "m_protein", frozenset({"ge3"}))),
        _is(env, "urine", frozenset({"ge500"})),
        _is(env, "bmpc", frozenset({"10to60"})),
    )
    sp_common = and_(plasmacytoma, _is(env, "lesions", frozenset({"0"})), _is(env, "mri", frozenset({"0"})), not_(crab))
    return {
        "multiple_myeloma": and_(or_(ge10, plasmacytoma), mde),
        "smouldering_myeloma": and_(smm_burden, not_(mde), not_(yes("amyloidosis"))),
        "solitary_plasmacytoma": and_(sp_common, _is(env, "bmpc", frozenset({"0"}))),
        "solitary_plasmacytoma_minimal_marrow": and_(sp_common, _is(env, "bmpc", frozenset({"lt10"}))),
        "mgus_non_igm": and_(_is(env, "isotype", _NON_IGM_HEAVY), m_lt3, lt10, not_(crab), not_(yes("amyloidosis"))),
        "mgus_igm": and_(
            _is(env, "isotype", frozenset({"IgM"})),
            m_lt3,
            _is(env, "lpl", frozenset({"lt10"})),
            not_(and_(yes("A"), yes("attributable"))),
            not_(yes("igm_features")),
        ),
        "mgus_light_chain": and_(
            _is(env, "isotype", frozenset({"light_chain"})),
            yes("LC"),
            not_(crab),
            not_(yes("amyloidosis")),
            lt10,
            _is(env, "urine", frozenset({"lt500"})),
        ),
    }


_BRANCH_ORDER = (
    "bmpc",
    "isotype",
    "plasmacytoma",
    "attributable",
    "C",
    "R",
    "A",
    "lesions",
    "mri",
    "Li",
    "m_protein",
    "urine",
    "amyloidosis",
    "LC",
    "igm_features",
    "lpl",
)


def _witness(env: dict[str, State], target: str) -> bool:
    """Whether some completion of the unknown variables makes ``target`` the answer.

    ``target`` is the answer when its definition holds and no class before it in :data:`STAGES`
    does (``unclassified``: no definition holds). Kleene evaluation prunes; branching on one unknown
    variable at a time makes the search exact.
    """
    tris = _classes(env)
    earlier = STAGES[: STAGES.index(target)]
    if any(tris[c] is True for c in earlier):
        return False
    own: Tri = True if target == "unclassified" else tris[target]
    if own is False:
        return False
    if own is True and all(tris[c] is False for c in earlier):
        return True
    var = next(v for v in _BRANCH_ORDER if len(env[v]) > 1)
    return any(_witness({**env, var: frozenset({s})}, target) for s in sorted(env[var]))


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
    check_number("bmpc_percent", bmpc_percent, 100.0)
    check_number("bm_lymphoplasmacytic_percent", bm_lymphoplasmacytic_percent, 100.0)
    check_number("m_protein_g_dl", m_protein_g_dl)
    check_number("urine_m_protein_mg_24h", urine_m_protein_mg_24h)
    check_number("crcl_ml_min", crcl_ml_min)
    check_count("osteolytic_lesions", osteolytic_lesions)
    check_count("mri_focal_lesions_ge_5mm", mri_focal_lesions_ge_5mm)
    check_choice("plasmacytoma", plasmacytoma, PLASMACYTOMAS)
    check_choice("isotype", isotype, ISOTYPES)
    for name, flag in (
        ("crab_attributable", crab_attributable),
        ("amyloidosis", amyloidosis),
        ("igm_related_features", igm_related_features),
    ):
        check_bool(name, flag)
    for name, lab, key in (
        ("calcium", calcium, "calcium"),
        ("creatinine", creatinine, "creatinine"),
        ("hemoglobin", hemoglobin, "hemoglobin"),
        ("flc_kappa", flc_kappa, "flc_kappa"),
        ("flc_lambda", flc_lambda, "flc_lambda"),
    ):
        check_lab(name, lab, key)
    if crcl_estimator is not None and not isinstance(crcl_estimator, str):
        raise InputError("crcl_estimator", f"expected text, got {crcl_estimator!r}", "e.g. 'CKD-EPI 2021'")

    c_met, c_text, c_missing = _calcium(calcium)
    r_met, r_text, r_missing = _creatinine(creatinine, crcl_ml_min, crcl_estimator)
    a_met, a_text, a_missing = _hemoglobin(hemoglobin)
    li_met, lc_met = _flc(flc_kappa, flc_lambda)

    env: dict[str, State] = {
        "bmpc": _bmpc_states(bmpc_percent),
        "isotype": frozenset(ISOTYPES if isotype is None else (isotype,)),
        "plasmacytoma": frozenset(_PLASMACYTOMA_SITES.get(plasmacytoma) or (str(plasmacytoma),)),
        "attributable": _tri_state(crab_attributable),
        "C": _tri_state(c_met),
        "R": _tri_state(r_met),
        "A": _tri_state(a_met),
        "lesions": _count_states(osteolytic_lesions, (("0", 0, 0), ("ge1", OSTEOLYTIC_LESIONS_MIN, None))),
        "mri": _count_states(
            mri_focal_lesions_ge_5mm,
            (
                ("0", 0, 0),
                ("1", 1, MRI_FOCAL_LESIONS_MORE_THAN),
                ("ge2", MRI_FOCAL_LESIONS_MORE_THAN + 1, None),
            ),
        ),
        "Li": _tri_state(li_met),
        "m_protein": _split(m_protein_g_dl, M_PROTEIN_SMM_G_DL, "lt3", "ge3"),
        "urine": _split(urine_m_protein_mg_24h, URINE_M_PROTEIN_SMM_MG_24H, "lt500", "ge500"),
        "amyloidosis": _tri_state(amyloidosis),
        "LC": _tri_state(lc_met),
        "igm_features": _tri_state(igm_related_features),
        "lpl": _split(bm_lymphoplasmacytic_percent, IGM_LPL_INFILTRATION_PERCENT, "lt10", "ge10"),
    }
    possible = tuple(c for c in STAGES if _witness(env, c))
    root = _classes(env)

    def state_tri(var: str, true_set: frozenset[str]) -> Tri:
        return _is(env, var, true_set)

    ge10 = state_tri("bmpc", frozenset({"10to60", "ge60"}))
    b_lesions = state_tri("lesions", frozenset({"ge1"}))
    bone_index = and_(state_tri("plasmacytoma", frozenset({"bone"})), ge10)
    b_met = or_(b_lesions, bone_index)
    crab_any = or_(c_met, r_met, a_met, b_lesions)  # findings whose cause must be attributed
    crab_met = or_(and_(crab_any, crab_attributable), bone_index)
    s_met = state_tri("bmpc", frozenset({"ge60"}))
    m_met = state_tri("mri", frozenset({"ge2"}))
    mde_met = or_(crab_met, s_met, li_met, m_met)
    flc_inputs = ("flc_kappa", "flc_lambda")
    criteria = [
        Criterion(
            "clonal_marrow_or_plasmacytoma",
            f"clonal BMPC ≥ {BMPC_CLONAL_PERCENT:g}% or biopsy-proven bony or extramedullary plasmacytoma",
            or_(ge10, state_tri("plasmacytoma", frozenset({"bone", "extramedullary"}))),
            ("bmpc_percent", "plasmacytoma"),
        ),
        Criterion("C", f"hypercalcaemia: {c_text}", c_met, ("calcium",)),
        Criterion("R", f"renal insufficiency: {r_text}", r_met, ("creatinine", "crcl_ml_min", "crcl_estimator")),
        Criterion("A", f"anaemia: {a_text}", a_met, ("hemoglobin",)),
        Criterion(
            "B",
            f"≥ {OSTEOLYTIC_LESIONS_MIN} osteolytic lesion on skeletal radiography, CT or PET-CT (a biopsied "
            f"bone plasmacytoma counts only with clonal BMPC ≥ {BMPC_CLONAL_PERCENT:g}%)",
            b_met,
            ("osteolytic_lesions", "plasmacytoma", "bmpc_percent"),
        ),
        Criterion(
            "CRAB_attributable",
            "a CRAB feature is present and attributable to the plasma-cell disorder (a biopsied bone "
            "plasmacytoma is attributable by its histology)",
            crab_met,
            ("crab_attributable",),
        ),
        Criterion("S", f"clonal BMPC ≥ {BMPC_SLIM_PERCENT:g}%", s_met, ("bmpc_percent",)),
        Criterion(
            "Li",
            f"involved/uninvolved serum FLC ratio ≥ {FLC_RATIO_SLIM:g} and involved FLC "
            f"≥ {FLC_INVOLVED_SLIM_MG_L:g} mg/L (Freelite)",
            li_met,
            flc_inputs,
        ),
        Criterion(
            "M",
            f"> {MRI_FOCAL_LESIONS_MORE_THAN} focal lesion on MRI, each ≥ {MRI_LESION_MIN_MM:g} mm",
            m_met,
            ("mri_focal_lesions_ge_5mm",),
        ),
        Criterion("MDE", "≥ 1 myeloma-defining event (attributable CRAB, S, Li or M)", mde_met, ()),
        Criterion("amyloidosis", "AL amyloidosis present", amyloidosis, ("amyloidosis",)),
        Criterion(
            "light_chain_mgus_flc",
            f"κ/λ FLC ratio < {FLC_RATIO_LC_MGUS_LOW:g} or > {FLC_RATIO_LC_MGUS_HIGH:g} with the involved "
            "chain above the lab's upper limit",
            lc_met,
            flc_inputs,
        ),
    ]
    criteria += [Criterion(f"class.{c}", f"criteria for {c.replace('_', ' ')} met", root[c], ()) for c in root]

    # Inputs that are unknown and that left a criterion undecided.
    iso_states = env["isotype"]
    missing: list[str] = []

    def need(name: str, value: object, undecided: bool) -> None:
        if value is None and undecided and name not in missing:
            missing.append(name)

    need("bmpc_percent", bmpc_percent, True)
    need("plasmacytoma", plasmacytoma, True)
    need("isotype", isotype, True)
    need("m_protein_g_dl", m_protein_g_dl, bool(iso_states & (_NON_IGM_HEAVY | {"IgM"})))
    need("urine_m_protein_mg_24h", urine_m_protein_mg_24h, True)
    for name in (*c_missing, *r_missing, *a_missing):
        need(name, None, True)
    need("osteolytic_lesions", osteolytic_lesions, True)
    need("mri_focal_lesions_ge_5mm", mri_focal_lesions_ge_5mm, True)
    need("flc_kappa", flc_kappa, li_met is None or lc_met is None)
    need("flc_lambda", flc_lambda, li_met is None or lc_met is None)
    if lc_met is None and "light_chain" in iso_states:
        if flc_kappa is not None and flc_kappa.upper_limit is None:
            need("flc_kappa.upper_limit", None, True)
        if flc_lambda is not None and flc_lambda.upper_limit is None:
            need("flc_lambda.upper_limit", None, True)
    need("crab_attributable", crab_attributable, crab_any is not False and crab_met is None)
    need("amyloidosis", amyloidosis, True)
    need("igm_related_features", igm_related_features, "IgM" in iso_states)
    need("bm_lymphoplasmacytic_percent", bm_lymphoplasmacytic_percent, "IgM" in iso_states)

    inputs: dict[str, object] = {
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
    for name, canonical, lab in (
        ("calcium", "calcium_mg_dl", calcium),
        ("creatinine", "creatinine_mg_dl", creatinine),
        ("hemoglobin", "hemoglobin_g_dl", hemoglobin),
        ("flc_kappa", "flc_kappa_mg_l", flc_kappa),
        ("flc_lambda", "flc_lambda_mg_l", flc_lambda),
    ):
        # As reported (the unit the thresholds were applied in), and the canonical value.
        inputs[name] = None if lab is None else f"{_fmt(lab.received_magnitude)} {lab.received_unit}"
        inputs[canonical] = None if lab is None else lab.value
    for name, lab, attr in (
        ("calcium_upper_limit", calcium, "upper_limit"),
        ("hemoglobin_lower_limit", hemoglobin, "lower_limit"),
        ("flc_kappa_upper_limit", flc_kappa, "upper_limit"),
        ("flc_lambda_upper_limit", flc_lambda, "upper_limit"),
    ):
        if lab is not None:
            lim = _in_reported_unit(lab, getattr(lab, attr))
            inputs[name] = None if lim is None else f"{lim:g} {lab.received_unit}"

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
    return RuleResult(
        rule=REF,
        possible=possible,
        criteria=tuple(criteria),
        inputs=inputs,
        missing=tuple(missing),
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
)
