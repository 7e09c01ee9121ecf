"""Hypothesis strategies for whole patient documents of the ``b2m assess`` JSON contract.

Labs come in every accepted unit (the value converted from a canonical draw), some censored, some with
the lab's reference limits; FISH, imaging and the clinical flags are often unknown; the four diseases
and every setting occur. Documents the edge would refuse (a converted value outside the plausibility
bounds) are filtered out by :func:`valid_patient_documents`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from hypothesis import strategies as st

from b2m.errors import InputError
from b2m.io.patient import parse_patient
from b2m.units.labvalue import unit_factor


class _Lab(NamedTuple):
    span: tuple[float, float]  # canonical unit
    cuts: tuple[float, ...]  # cut-offs worth hitting exactly (canonical unit)
    units: tuple[str, ...]
    limits: dict[str, float]  # reference limits the lab may send (canonical unit)
    censored: tuple[str, ...] = ()  # censored results, in the first unit


_LABS: dict[str, _Lab] = {
    "b2m": _Lab(
        (0.8, 30.0),
        (2.5, 3.5, 5.5, 4.0),
        ("mg/L", "µg/mL", "µg/L", "ng/mL", "nmol/L"),
        {"upper_limit": 2.4},
        ("<0.2", ">20"),
    ),
    "albumin": _Lab((1.8, 5.2), (3.5, 3.49), ("g/dL", "g/L"), {"lower_limit": 3.5}),
    "ldh": _Lab((90.0, 900.0), (214.0, 250.0), ("U/L", "IU/L", "µkat/L"), {"upper_limit": 214.0}),
    "creatinine": _Lab((0.5, 6.0), (2.0, 1.2), ("mg/dL", "µmol/L", "mg/L"), {"upper_limit": 1.2}),
    "cystatin_c": _Lab((0.6, 4.0), (1.0,), ("mg/L",), {"upper_limit": 1.0}),
    "crp": _Lab((0.5, 80.0), (5.0,), ("mg/L", "mg/dL"), {"upper_limit": 5.0}, ("<3",)),
    "calcium": _Lab((8.0, 13.5), (11.0, 10.5), ("mg/dL", "mmol/L"), {"upper_limit": 10.2}),
    "hemoglobin": _Lab((6.0, 16.0), (10.0, 11.5), ("g/dL", "g/L"), {"lower_limit": 12.0}),
    "platelets": _Lab((20.0, 400.0), (100.0,), ("10^9/L", "10^3/µL", "/µL"), {"lower_limit": 150.0}),
    "m_protein": _Lab((0.0, 7.0), (3.0, 2.0), ("g/dL", "g/L"), {}, ("<0.1",)),
    "urine_m_protein": _Lab((0.0, 3000.0), (500.0,), ("mg/24 h", "g/24 h"), {}),
    "flc_kappa": _Lab((3.0, 3000.0), (100.0, 19.4), ("mg/L", "mg/dL"), {"upper_limit": 19.4}, ("<1",)),
    "flc_lambda": _Lab((3.0, 3000.0), (100.0, 26.3), ("mg/L", "mg/dL"), {"upper_limit": 26.3}, ("<1",)),
}
_FLAGS = (
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
_CONDITIONS = ("rheumatoid arthritis", "CKD stage 3", "ICD10:N18.5", "HIV infection", "hypertension", "lithium")
_MEDICATIONS = ("lithium carbonate 400 mg", "ciclosporin", "ATC:A11HA05", "aspirin")


def _consistent(cyto: dict[str, Any]) -> dict[str, Any]:
    """No call that contradicts its detail (the edge refuses "no 1q+" beside "1q amplified", and "no del(1p32)"
    beside "biallelic del(1p32)"): the detail wins, as a report that names it would."""
    if cyto.get("amp1q") is True and cyto.get("gain1q") is False:
        cyto["gain1q"] = True
    if cyto.get("del1p32_biallelic") is True and cyto.get("del1p32") is False:
        cyto["del1p32"] = True
    return cyto


def _sig(x: float) -> float:
    return float(f"{x:.4g}")


@st.composite
def _lab(draw: st.DrawFn, key: str) -> dict[str, Any]:
    (lo, hi), cuts, units, limits, censored = _LABS[key]
    unit = draw(st.sampled_from(units))
    factor = unit_factor(key, unit, key)  # canonical = received x factor
    kind = draw(st.integers(0, 9))
    value: float | str
    if censored and kind == 0:
        value = draw(st.sampled_from(censored))  # in the canonical unit's number, so only with that unit
        unit = units[0]
        factor = 1.0
    elif kind <= 3:
        value = _sig(draw(st.sampled_from(cuts)) / factor)
    else:
        value = _sig(draw(st.floats(lo, hi, allow_nan=False)) / factor)
    raw: dict[str, Any] = {"value": value, "unit": unit}
    for name, limit in limits.items():
        if draw(st.booleans()):
            raw[name] = _sig(limit / factor)
    return raw


def _maybe(draw: st.DrawFn, s: st.SearchStrategy[Any], p_none: int = 3) -> Any:
    """``None`` with probability 1/p_none."""
    return None if draw(st.integers(1, p_none)) == 1 else draw(s)


@st.composite
def patient_documents(draw: st.DrawFn) -> dict[str, Any]:
    disease = draw(st.sampled_from(["multiple_myeloma"] * 5 + ["cll", "waldenstrom", "follicular_lymphoma"]))
    labs = {k: draw(_lab(k)) for k in _LABS if draw(st.integers(0, 4)) > 0}
    doc: dict[str, Any] = {
        "id": "generated",
        "age": _maybe(draw, st.sampled_from([45, 64.9, 65, 70, 80.5])),
        "sex": _maybe(draw, st.sampled_from(["female", "male"])),
        "weight_kg": _maybe(draw, st.sampled_from([55, 72.5, 90])),
        "setting": _maybe(draw, st.sampled_from(["new_diagnosis", "relapse", "smm", "mgus"])),
        "disease": disease,
        "labs": labs,
        "cytogenetics": _consistent({f: _maybe(draw, st.booleans(), 2) for f in _FLAGS}),
        "marrow_plasma_cells_percent": _maybe(draw, st.sampled_from([0, 5, 10, 20, 59, 60, 75])),
        "imaging": {
            "osteolytic_lesions": _maybe(draw, st.sampled_from([0, 1, 3])),
            "mri_focal_lesions": _maybe(draw, st.sampled_from([0, 1, 2])),
            "bone_status": _maybe(draw, st.sampled_from(["none", "solitary", "limited", "advanced"])),
            "biopsy_proven_plasmacytoma": _maybe(draw, st.booleans()),
            "extramedullary_plasmacytoma": _maybe(draw, st.booleans()),
        },
        "conditions": draw(st.lists(st.sampled_from(_CONDITIONS), max_size=2, unique=True)),
        "medications": draw(st.lists(st.sampled_from(_MEDICATIONS), max_size=2, unique=True)),
        "isotype": _maybe(draw, st.sampled_from(["IgG", "IgA", "IgM", "IgD", "light_chain", "non_secretory"])),
        "involved_light_chain": _maybe(draw, st.sampled_from(["kappa", "lambda"])),
        "amyloidosis": _maybe(draw, st.booleans()),
        "crab_attributable": _maybe(draw, st.booleans()),
        "igm_related_features": _maybe(draw, st.booleans()),
        "marrow_lymphoplasmacytic_percent": _maybe(draw, st.sampled_from([5, 10, 30])),
        "cll": {
            "ighv_unmutated": _maybe(draw, st.booleans()),
            "binet_stage": _maybe(draw, st.sampled_from(["A", "B", "C"])),
            "rai_stage": _maybe(draw, st.integers(0, 4)),
        },
        "lymphoma": {
            "largest_node_diameter_cm": _maybe(draw, st.sampled_from([3.0, 6.0, 6.1])),
            "bone_marrow_involvement": _maybe(draw, st.booleans()),
        },
    }
    return doc


def parses(doc: dict[str, Any]) -> bool:
    try:
        parse_patient(doc)
    except InputError:
        return False
    return True


def valid_patient_documents() -> st.SearchStrategy[dict[str, Any]]:
    return patient_documents().filter(parses)
