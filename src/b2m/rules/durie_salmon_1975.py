"""Durie–Salmon clinical staging of multiple myeloma (1975): stage I/II/III with renal subclass A/B.

Durie BGM, Salmon SE. A clinical staging system for multiple myeloma. Correlation of measured
myeloma cell mass with presenting clinical features, response to treatment, and survival.
Cancer. 1975;36(3):842-854. DOI 10.1002/1097-0142(197509)36:3<842::aid-cncr2820360303>3.0.co;2-u.

Criteria as reproduced by secondary sources [S] (b2m reference DS-2):

* **Stage I** — *all* of: haemoglobin > 10 g/dL; serum calcium normal (≤ 12 mg/dL) [D]; bone
  x-ray normal (scale 0) or a solitary bone plasmacytoma only; low M-component production
  (IgG < 5 g/dL, IgA < 3 g/dL, urine light chain < 4 g/24 h).
* **Stage III** — *one or more* of: haemoglobin < 8.5 g/dL; serum calcium > 12 mg/dL; advanced
  lytic bone lesions (scale 3) [D]; high M-component production (IgG > 7 g/dL, IgA > 5 g/dL, urine
  light chain > 12 g/24 h).
* **Stage II** — fits neither I nor III.
* **Subclass** — A: serum creatinine < 2.0 mg/dL; B: ≥ 2.0 mg/dL [D].

Design of the inputs and the result
-----------------------------------
* ``bone_lesions`` is the radiologist's grading on the Durie–Salmon bone scale, not a lesion count:
  ``"none"`` (scale 0, normal bone structure), ``"solitary_plasmacytoma"`` (a solitary bone
  plasmacytoma only), ``"limited"`` (scale 1–2: osteoporosis or lytic lesions short of advanced)
  and ``"advanced"`` (scale 3: advanced / extensive lytic lesions). Lesion-count paraphrases ("> 3",
  "> 5") disagree with each other [D], so the grading is left to the reader of the images.
* ``isotype`` is the heavy-chain type of the M-protein. Only IgG and IgA have serum M-component
  thresholds; for the others (IgD, IgE, IgM, light chain only) the serum M-protein is not used,
  and in non-secretory disease neither is the urine light chain [S].
* ``possible`` holds full labels, stage then subclass: ``"IA"``, ``"IB"``, ..., ``"IIIB"``, in the
  order of :data:`STAGES`; it is the cross product of the possible stages and the possible
  subclasses (the two depend on disjoint inputs). :func:`split_label` takes a label apart.
* Missing data (not addressed by the paper [U]): stage III is asserted from any single qualifying
  criterion; stage I only when every criterion is known and favourable; otherwise every stage still
  consistent with the known values stays in ``possible``. The computation is exact: each domain
  (haemoglobin, calcium, bones, M-component) is reduced to the set of zones — favourable for I,
  neither, qualifying for III — its known value allows, and the domains are independent.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from b2m.patient import BONE_LESIONS, BoneLesions
from b2m.provenance import RuleRef, Source
from b2m.rules.base import Criterion, Note, RuleResult
from b2m.rules.checks import check_choice, check_number
from b2m.rules.kleene import Num, Tri, and_, ge, gt, le, lt
from b2m.rules.spec import ScoreRule

SOURCE = Source(
    citation=(
        "Durie BGM, Salmon SE. A clinical staging system for multiple myeloma. Correlation of "
        "measured myeloma cell mass with presenting clinical features, response to treatment, and "
        "survival. Cancer. 1975;36(3):842-854."
    ),
    doi="10.1002/1097-0142(197509)36:3<842::aid-cncr2820360303>3.0.co;2-u",
)
REF = RuleRef("durie_salmon", "1975", "Durie–Salmon clinical staging of multiple myeloma", SOURCE)
INPUTS: tuple[str, ...] = (
    "hemoglobin_g_dl",
    "calcium_mg_dl",
    "bone_lesions",
    "isotype",
    "m_protein_g_dl",
    "urine_light_chain_mg_24h",
    "creatinine_mg_dl",
)

Isotype = Literal["IgG", "IgA", "IgD", "IgE", "IgM", "light_chain", "non_secretory"]
ISOTYPES: tuple[Isotype, ...] = ("IgG", "IgA", "IgD", "IgE", "IgM", "light_chain", "non_secretory")

STAGE_NUMBERS: tuple[str, ...] = ("I", "II", "III")
SUBCLASSES: tuple[str, ...] = ("A", "B")
#: Ordering of ``possible``: full labels, stage-major, then subclass ("IA", "IB", ..., "IIIB").
STAGES: tuple[str, ...] = tuple(s + c for s in STAGE_NUMBERS for c in SUBCLASSES)

# Durie & Salmon 1975 as reproduced by secondary sources [S] (b2m reference DS-2).
HB_STAGE_I_G_DL = 10.0  # stage I needs Hb > 10 g/dL (exclusive); 10.0 itself is not stage I
HB_STAGE_III_G_DL = 8.5  # stage III if Hb < 8.5 g/dL (exclusive); 8.5 itself is stage II
CALCIUM_STAGE_III_MG_DL = 12.0  # stage I needs Ca ≤ 12 (inclusive); III if > 12 [D: IMF uses < 10.5 for I]
CALCIUM_STAGE_I_IMF_MG_DL = 10.5  # the IMF alternative for stage I (< 10.5); not applied, cited in a note
IGG_STAGE_I_G_DL = 5.0  # stage I needs IgG < 5 g/dL (exclusive)
IGG_STAGE_III_G_DL = 7.0  # stage III if IgG > 7 g/dL (exclusive)
IGA_STAGE_I_G_DL = 3.0  # stage I needs IgA < 3 g/dL (exclusive)
IGA_STAGE_III_G_DL = 5.0  # stage III if IgA > 5 g/dL (exclusive)
URINE_LC_STAGE_I_MG_24H = 4000.0  # stage I needs urine light chain < 4 g/24 h (exclusive)
URINE_LC_STAGE_III_MG_24H = 12000.0  # stage III if urine light chain > 12 g/24 h (exclusive)
CREATININE_SUBCLASS_B_MG_DL = 2.0  # subclass B if creatinine ≥ 2.0 mg/dL (inclusive) [D: IMF "> 2.0"]

_SERUM_THRESHOLDS: dict[str, tuple[float, float]] = {
    "IgG": (IGG_STAGE_I_G_DL, IGG_STAGE_III_G_DL),
    "IgA": (IGA_STAGE_I_G_DL, IGA_STAGE_III_G_DL),
}

_ZONES = ("I", "II", "III")  # per domain: favourable for stage I / neither / qualifies for stage III
Zones = frozenset[str]
_ALL: Zones = frozenset(_ZONES)

NOTES: tuple[Note, ...] = (
    Note(
        "durie_salmon_calcium_stage_i",
        "discrepancy",
        f"Stage I calcium: b2m uses 'normal, ≤ {CALCIUM_STAGE_III_MG_DL:g} mg/dL' (MMRF, BMJ Best "
        f"Practice and others); the IMF page writes '< {CALCIUM_STAGE_I_IMF_MG_DL:g} mg/dL', under "
        f"which calcium from {CALCIUM_STAGE_I_IMF_MG_DL:g} to {CALCIUM_STAGE_III_MG_DL:g} mg/dL would "
        "give stage II instead of I (b2m reference D7).",
    ),
    Note(
        "durie_salmon_subclass_b",
        "discrepancy",
        f"Subclass B: b2m uses creatinine ≥ {CREATININE_SUBCLASS_B_MG_DL:.1f} mg/dL (most sources); "
        f"the IMF page writes '> {CREATININE_SUBCLASS_B_MG_DL:.1f}', under which exactly "
        f"{CREATININE_SUBCLASS_B_MG_DL:.1f} mg/dL would be subclass A (b2m reference E35).",
    ),
    Note(
        "durie_salmon_bones_stage_iii",
        "discrepancy",
        "Stage III bones: b2m takes 'advanced lytic bone lesions (scale 3)' as graded by the reader "
        "of the images (bone_lesions='advanced'); BMJ Best Practice paraphrases this as '> 3' lytic "
        "lesions and some teaching notes as '> 5' (closer to Durie–Salmon PLUS). No lesion count is "
        "used (b2m reference D9).",
    ),
    Note(
        "durie_salmon_missing_data",
        "unconfirmed",
        "The paper does not address missing data [U]. b2m asserts stage III from any single "
        "qualifying criterion and stage I only when every criterion is known and favourable; "
        "otherwise every stage still consistent with the known values is listed as possible.",
    ),
)

_SECONDARY_NOTE = Note(
    "durie_salmon_secondary_source",
    "caveat",
    "Durie–Salmon thresholds were checked against secondary reproductions only (MMRF, IMF, BMJ Best "
    "Practice), not the 1975 paper [S]. Survival by stage is not shown: the figures are unconfirmed [U].",
)


def _isotype_note(isotype: str) -> Note:
    return Note(
        "durie_salmon_no_m_component_thresholds",
        "caveat",
        f"{isotype}: Durie–Salmon gives serum M-component thresholds only for IgG and IgA; staging "
        "uses haemoglobin, calcium, bones"
        + ("" if isotype == "non_secretory" else " and the urine light chain")
        + " [S].",
    )


def _zones(i: Tri, ii: Tri, iii: Tri) -> Zones:
    """Zones whose condition is not ruled out by the known part of the value."""
    return frozenset(z for z, t in zip(_ZONES, (i, ii, iii), strict=True) if t is not False)


def _band_zones(x: Num, stage_i_below: float, stage_iii_above: float) -> Zones:
    """Zones for 'I if x < a; III if x > b; else II' (M-component bands)."""
    middle = and_(ge(x, stage_i_below), le(x, stage_iii_above))
    return _zones(lt(x, stage_i_below), middle, gt(x, stage_iii_above))


def _worse(a: str, b: str) -> str:
    return a if _ZONES.index(a) >= _ZONES.index(b) else b


def _combine(parts: Iterable[Zones]) -> Zones:
    """Zones of a domain that is as bad as its worst part (parts independent)."""
    out: Zones = frozenset({"I"})
    for p in parts:
        out = frozenset(_worse(a, b) for a in out for b in p)
    return out


def _m_component_zones(isotype: Isotype | None, m_protein_g_dl: Num, urine_lc_mg_24h: Num) -> Zones:
    zones: set[str] = set()
    for iso in ISOTYPES if isotype is None else (isotype,):
        parts: list[Zones] = []
        if iso in _SERUM_THRESHOLDS:
            lo, hi = _SERUM_THRESHOLDS[iso]
            parts.append(_band_zones(m_protein_g_dl, lo, hi))
        if iso != "non_secretory":
            parts.append(_band_zones(urine_lc_mg_24h, URINE_LC_STAGE_I_MG_24H, URINE_LC_STAGE_III_MG_24H))
        zones |= _combine(parts)
    return frozenset(zones)


def _met(zones: Zones, zone: str) -> Tri:
    if zone not in zones:
        return False
    return True if zones == {zone} else None


def split_label(label: str) -> tuple[str, str]:
    """``"IIIB"`` -> ``("III", "B")``."""
    if label not in STAGES:
        raise ValueError(f"not a Durie–Salmon label: {label!r}")
    return label[:-1], label[-1]


def durie_salmon_1975(
    *,
    hemoglobin_g_dl: Num,
    calcium_mg_dl: Num,
    bone_lesions: BoneLesions | None,
    isotype: Isotype | None,
    m_protein_g_dl: Num,
    urine_light_chain_mg_24h: Num,
    creatinine_mg_dl: Num,
) -> RuleResult:
    """Durie–Salmon stage and subclass; ``None`` inputs are unknown and widen ``possible``.

    ``m_protein_g_dl`` is the serum M-protein (used for IgG and IgA only);
    ``urine_light_chain_mg_24h`` the urine light-chain (Bence Jones) excretion in mg/24 h
    (4 g/24 h = 4000 mg/24 h).
    """
    for name, x in (
        ("hemoglobin_g_dl", hemoglobin_g_dl),
        ("calcium_mg_dl", calcium_mg_dl),
        ("m_protein_g_dl", m_protein_g_dl),
        ("urine_light_chain_mg_24h", urine_light_chain_mg_24h),
        ("creatinine_mg_dl", creatinine_mg_dl),
    ):
        check_number(name, x)
    check_choice("bone_lesions", bone_lesions, BONE_LESIONS)
    check_choice("isotype", isotype, ISOTYPES)

    hb = _zones(
        gt(hemoglobin_g_dl, HB_STAGE_I_G_DL),
        and_(le(hemoglobin_g_dl, HB_STAGE_I_G_DL), ge(hemoglobin_g_dl, HB_STAGE_III_G_DL)),
        lt(hemoglobin_g_dl, HB_STAGE_III_G_DL),
    )
    ca = _zones(le(calcium_mg_dl, CALCIUM_STAGE_III_MG_DL), False, gt(calcium_mg_dl, CALCIUM_STAGE_III_MG_DL))
    bone_zone = {"none": "I", "solitary_plasmacytoma": "I", "limited": "II", "advanced": "III"}
    bones: Zones = _ALL if bone_lesions is None else frozenset({bone_zone[bone_lesions]})
    mc = _m_component_zones(isotype, m_protein_g_dl, urine_light_chain_mg_24h)
    domains = (hb, ca, bones, mc)

    stages: list[str] = []
    if all("I" in d for d in domains):
        stages.append("I")
    if all(d & {"I", "II"} for d in domains) and any("II" in d for d in domains):
        stages.append("II")
    if any("III" in d for d in domains):
        stages.append("III")

    subclass_b = ge(creatinine_mg_dl, CREATININE_SUBCLASS_B_MG_DL)
    subclasses = [c for c, ok in (("A", subclass_b is not True), ("B", subclass_b is not False)) if ok]
    possible = tuple(s + c for s in stages for c in subclasses)

    serum_used = isotype in (None, "IgG", "IgA")
    urine_used = isotype != "non_secretory"
    m_inputs = (
        ("isotype",)
        + (("m_protein_g_dl",) if serum_used else ())
        + (("urine_light_chain_mg_24h",) if urine_used else ())
    )
    bands = (
        f"IgG < {IGG_STAGE_I_G_DL:g} g/dL, IgA < {IGA_STAGE_I_G_DL:g} g/dL, urine light chain "
        f"< {URINE_LC_STAGE_I_MG_24H / 1000:g} g/24 h"
    )
    bands_iii = (
        f"IgG > {IGG_STAGE_III_G_DL:g} g/dL, IgA > {IGA_STAGE_III_G_DL:g} g/dL, urine light chain "
        f"> {URINE_LC_STAGE_III_MG_24H / 1000:g} g/24 h"
    )
    criteria = (
        Criterion("I.hemoglobin", f"Hb > {HB_STAGE_I_G_DL:g} g/dL", _met(hb, "I"), ("hemoglobin_g_dl",)),
        Criterion(
            "I.calcium",
            f"serum calcium normal (≤ {CALCIUM_STAGE_III_MG_DL:g} mg/dL)",
            _met(ca, "I"),
            ("calcium_mg_dl",),
        ),
        Criterion(
            "I.bones",
            "normal bone structure (scale 0) or solitary bone plasmacytoma only",
            _met(bones, "I"),
            ("bone_lesions",),
        ),
        Criterion("I.m_component", f"low M-component production ({bands})", _met(mc, "I"), m_inputs),
        Criterion("III.hemoglobin", f"Hb < {HB_STAGE_III_G_DL:g} g/dL", _met(hb, "III"), ("hemoglobin_g_dl",)),
        Criterion(
            "III.calcium",
            f"serum calcium > {CALCIUM_STAGE_III_MG_DL:g} mg/dL",
            _met(ca, "III"),
            ("calcium_mg_dl",),
        ),
        Criterion("III.bones", "advanced lytic bone lesions (scale 3)", _met(bones, "III"), ("bone_lesions",)),
        Criterion("III.m_component", f"high M-component production ({bands_iii})", _met(mc, "III"), m_inputs),
        Criterion(
            "subclass_B",
            f"serum creatinine ≥ {CREATININE_SUBCLASS_B_MG_DL:.1f} mg/dL (else subclass A)",
            subclass_b,
            ("creatinine_mg_dl",),
        ),
    )

    inputs: dict[str, object] = {
        "hemoglobin_g_dl": hemoglobin_g_dl,
        "calcium_mg_dl": calcium_mg_dl,
        "bone_lesions": bone_lesions,
        "isotype": isotype,
        "m_protein_g_dl": m_protein_g_dl,
        "urine_light_chain_mg_24h": urine_light_chain_mg_24h,
        "creatinine_mg_dl": creatinine_mg_dl,
    }
    used = {"hemoglobin_g_dl", "calcium_mg_dl", "bone_lesions", "isotype", "creatinine_mg_dl"}
    used |= {"m_protein_g_dl"} if serum_used else set()
    used |= {"urine_light_chain_mg_24h"} if urine_used else set()
    missing = tuple(k for k, v in inputs.items() if v is None and k in used)

    notes = list(NOTES)
    notes.append(_SECONDARY_NOTE)
    if isotype is not None and isotype not in _SERUM_THRESHOLDS:
        notes.append(_isotype_note(isotype))
    if missing:
        notes.append(
            Note(
                "durie_salmon_not_assessable",
                "missing",
                f"Unknown: {', '.join(missing)}; the result lists every stage and subclass still possible.",
            )
        )
    return RuleResult(
        rule=REF,
        possible=possible,
        criteria=criteria,
        inputs=inputs,
        missing=missing,
        notes=tuple(notes),
    )


SPEC = ScoreRule(
    name="durie_salmon",
    ref=REF,
    stages=STAGES,
    inputs=INPUTS,
    notes=NOTES,
    evaluate=durie_salmon_1975,
    arguments={
        "hemoglobin_g_dl": "hemoglobin_g_dl",
        "calcium_mg_dl": "calcium_mg_dl",
        "bone_lesions": "bone_lesions",
        "isotype": "isotype",
        "m_protein_g_dl": "m_protein_g_dl",
        "urine_light_chain_mg_24h": "urine_m_protein_mg_24h",
        "creatinine_mg_dl": "creatinine_mg_dl",
    },
    diseases=("multiple_myeloma",),
    settings=("new_diagnosis",),  # clinical staging of myeloma at diagnosis (Durie & Salmon 1975)
)
