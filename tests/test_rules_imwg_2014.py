"""IMWG 2014 diagnostic criteria (Rajkumar 2014).

Oracles: the Rajkumar 2014 panel (DOI 10.1016/S1470-2045(14)70442-5: MM, SMM, the three MGUS types,
solitary plasmacytoma; b2m reference IMWG14), the edge-case rows (b2m reference E22-E34) and the discrepancy register
(b2m reference D10, D18). Each expected class was worked out by hand from the criterion text quoted in the test's
docstring; none was produced by running this code.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from b2m.errors import InputError, UnitError
from b2m.rules.base import RuleResult
from b2m.rules.imwg_2014 import ISOTYPES, PLASMACYTOMAS, STAGES, imwg_2014
from b2m.units import LabValue, parse_lab


def lab(key: str, value: object, unit: str, **limits: float) -> LabValue:
    parsed = parse_lab(key, {"value": value, "unit": unit, **limits})
    assert parsed is not None
    return parsed


# A non-IgM MGUS with every item known: IgG 1.0 g/dL, clonal BMPC 5%, urine 100 mg/24 h, no CRAB (Ca
# 9.5 mg/dL with ULN 10.2; creatinine 0.9 mg/dL; CrCl 80; Hb 13 g/dL with LLN 12; no lesions), no
# SLiM (κ/λ 30/10 = 3; no MRI lesions), no amyloidosis.
MGUS: dict[str, Any] = dict(
    bmpc_percent=5.0,
    plasmacytoma="none",
    isotype="IgG",
    m_protein_g_dl=1.0,
    urine_m_protein_mg_24h=100.0,
    calcium=lab("calcium", 9.5, "mg/dL", upper_limit=10.2),
    creatinine=lab("creatinine", 0.9, "mg/dL"),
    crcl_ml_min=80.0,
    crcl_estimator="CKD-EPI 2021",
    hemoglobin=lab("hemoglobin", 13.0, "g/dL", lower_limit=12.0),
    osteolytic_lesions=0,
    mri_focal_lesions_ge_5mm=0,
    flc_kappa=lab("flc_kappa", 30.0, "mg/L", upper_limit=19.4),
    flc_lambda=lab("flc_lambda", 10.0, "mg/L", upper_limit=26.3),
    crab_attributable=None,
    amyloidosis=False,
)
SMM = {**MGUS, "bmpc_percent": 20.0}  # clonal BMPC 10-60%, no MDE → SMM
MM_CRAB = {**SMM, "crab_attributable": True}  # a CRAB feature added to this one is an attributable MDE


def imwg(base: dict[str, Any] = MGUS, **override: Any) -> RuleResult:
    return imwg_2014(**{**base, **override})


def crit(r: RuleResult, code: str) -> bool | None:
    (c,) = [c for c in r.criteria if c.code == code]
    return c.met


def test_baselines() -> None:
    """b2m reference IMWG14-4 non-IgM MGUS (M < 30 g/L, BMPC < 10%, no CRAB); b2m reference IMWG14-3 SMM (BMPC
    10-60%, no MDE)."""
    assert imwg().stage == "mgus_non_igm"
    assert imwg(SMM).stage == "smouldering_myeloma"
    assert imwg(MGUS).missing == ()


# ---------------------------------------------------------------------------------------------------
# Edge-case rows (b2m reference E22-E34), one test per row
# ---------------------------------------------------------------------------------------------------


def test_edge_case_e22_lambda_involved_ratio_is_lambda_over_kappa() -> None:
    """b2m reference E22: the ratio is involved/uninvolved; κ/λ ≤ 0.01 is λ/κ ≥ 100 (λ 100 mg/L ≥ 100 too)."""
    r = imwg(SMM, flc_kappa=lab("flc_kappa", 1.0, "mg/L"), flc_lambda=lab("flc_lambda", 100.0, "mg/L"))
    assert crit(r, "Li") is True
    assert r.stage == "multiple_myeloma"
    below = imwg(SMM, flc_kappa=lab("flc_kappa", 2.0, "mg/L"), flc_lambda=lab("flc_lambda", 199.0, "mg/L"))
    assert crit(below, "Li") is False  # λ/κ = 99.5 < 100
    assert below.stage == "smouldering_myeloma"


def test_edge_case_e23_ratio_100_with_involved_below_100_mg_l_is_not_an_mde() -> None:
    """b2m reference E23: ratio ≥ 100 but involved FLC < 100 mg/L → not an MDE (κ 99 / λ 0.99 = 100)."""
    r = imwg(SMM, flc_kappa=lab("flc_kappa", 99.0, "mg/L"), flc_lambda=lab("flc_lambda", 0.99, "mg/L"))
    assert crit(r, "Li") is False
    assert r.stage == "smouldering_myeloma"
    met = imwg(SMM, flc_kappa=lab("flc_kappa", 100.0, "mg/L"), flc_lambda=lab("flc_lambda", 1.0, "mg/L"))
    assert crit(met, "Li") is True
    assert met.stage == "multiple_myeloma"


def test_edge_case_e24_flc_without_unit_never_reaches_the_rule() -> None:
    """b2m reference E24: FLC units missing → do not evaluate absolute FLC thresholds: the lab parser refuses it,
    and a value in mg/dL is converted (10 mg/dL = 100 mg/L meets the involved-FLC threshold)."""
    with pytest.raises(UnitError):
        parse_lab("flc_kappa", {"value": 150.0})
    r = imwg(SMM, flc_kappa=lab("flc_kappa", 10.0, "mg/dL"), flc_lambda=lab("flc_lambda", 0.1, "mg/dL"))
    assert crit(r, "Li") is True


def test_edge_case_e25_bmpc_exactly_60_is_myeloma() -> None:
    """b2m reference E25: BMPC exactly 60% → MM (≥ 60% is an MDE); the SMM range 10-60% is overridden."""
    r = imwg(SMM, bmpc_percent=60.0)
    assert crit(r, "S") is True
    assert r.stage == "multiple_myeloma"
    assert imwg(SMM, bmpc_percent=59.9).stage == "smouldering_myeloma"


def test_edge_case_e26_bmpc_exactly_10_excludes_mgus() -> None:
    """b2m reference E26: BMPC exactly 10% meets the MM clonal requirement and excludes MGUS (< 10%)."""
    assert imwg(bmpc_percent=10.0).stage == "smouldering_myeloma"
    assert imwg(bmpc_percent=9.9).stage == "mgus_non_igm"
    anaemic = imwg(MM_CRAB, bmpc_percent=10.0, hemoglobin=lab("hemoglobin", 9.0, "g/dL", lower_limit=12.0))
    assert crit(anaemic, "clonal_marrow_or_plasmacytoma") is True
    assert anaemic.stage == "multiple_myeloma"


def test_edge_case_e27_serum_m_protein_exactly_30_g_l_is_smm_range() -> None:
    """b2m reference E27: serum M-protein exactly 30 g/L (3.0 g/dL) is SMM-range (≥ 30), not MGUS (< 30)."""
    assert imwg(m_protein_g_dl=3.0).stage == "smouldering_myeloma"
    assert imwg(m_protein_g_dl=2.99).stage == "mgus_non_igm"


def test_edge_case_e28_urine_m_protein_exactly_500_is_smm_range() -> None:
    """b2m reference E28: urine M-protein exactly 500 mg/24 h is SMM-range (≥ 500); LC-MGUS requires < 500."""
    assert imwg(urine_m_protein_mg_24h=500.0).stage == "smouldering_myeloma"
    light = {**MGUS, "isotype": "light_chain", "m_protein_g_dl": 0.0}  # κ/λ 3 > 1.65, κ 30 > ULN 19.4
    assert imwg(light, urine_m_protein_mg_24h=499.0).stage == "mgus_light_chain"
    assert imwg(light, urine_m_protein_mg_24h=500.0).stage == "smouldering_myeloma"


@pytest.mark.parametrize(
    ("kappa", "lam", "abnormal"),
    [
        (33.0, 20.0, False),  # κ/λ exactly 1.65: normal
        (33.1, 20.0, True),  # 1.655 > 1.65, κ above its ULN 19.4
        (7.8, 30.0, False),  # κ/λ exactly 0.26: normal
        (7.7, 30.0, True),  # 0.2567 < 0.26, λ above its ULN 26.3
    ],
)
def test_edge_case_e29_light_chain_mgus_ratio_exactly_at_the_limits_is_normal(
    kappa: float, lam: float, abnormal: bool
) -> None:
    """b2m reference E29: LC-MGUS ratio exactly 0.26 or 1.65 is normal (abnormal is < 0.26 or > 1.65)."""
    r = imwg(
        MGUS,
        isotype="light_chain",
        m_protein_g_dl=0.0,
        flc_kappa=lab("flc_kappa", kappa, "mg/L", upper_limit=19.4),
        flc_lambda=lab("flc_lambda", lam, "mg/L", upper_limit=26.3),
    )
    assert crit(r, "light_chain_mgus_flc") is abnormal
    assert r.stage == ("mgus_light_chain" if abnormal else "unclassified")


def test_edge_case_e30_one_mri_lesion_is_not_an_mde() -> None:
    """b2m reference E30: exactly 1 focal lesion, or a lesion of 4.9 mm, is not an MDE (> 1 lesion, each ≥ 5 mm).
    A 4.9-mm lesion is not counted in mri_focal_lesions_ge_5mm, so 1 lesion ≥ 5 mm + 1 of 4.9 mm is 1."""
    r = imwg(SMM, mri_focal_lesions_ge_5mm=1)
    assert crit(r, "M") is False
    assert r.stage == "smouldering_myeloma"
    two = imwg(SMM, mri_focal_lesions_ge_5mm=2)
    assert crit(two, "M") is True
    assert two.stage == "multiple_myeloma"
    assert "imwg_2014_mri_lesion_size" in {n.code for n in r.notes if n.kind == "discrepancy"}


@pytest.mark.parametrize(
    ("value", "unit", "met"),
    [
        (2.0, "mg/dL", False),  # not > 2 mg/dL
        (2.01, "mg/dL", True),
        (177.0, "µmol/L", False),  # not > 177 µmol/L, although 177 µmol/L = 2.002 mg/dL
        (178.0, "µmol/L", True),
        (20.0, "mg/L", False),  # 20 mg/L = 2 mg/dL: the mg/dL figure, converted to the unit reported
    ],
)
def test_edge_case_e31_creatinine_is_compared_in_the_unit_reported(value: float, unit: str, met: bool) -> None:
    """b2m reference E31: evaluate creatinine in the unit reported, with IMWG's figure for that unit (2 mg/dL,
    177 µmol/L); 177 µmol/L is not > 177 µmol/L even though it converts to 2.002 mg/dL."""
    r = imwg(MM_CRAB, creatinine=lab("creatinine", value, unit))
    assert crit(r, "R") is met
    assert r.stage == ("multiple_myeloma" if met else "smouldering_myeloma")


@pytest.mark.parametrize(
    ("value", "unit", "uln", "met"),
    [
        (2.75, "mmol/L", 2.6, False),  # not > 2.75 mmol/L (although 11.02 mg/dL); ULN + 0.25 = 2.85
        (2.76, "mmol/L", 2.6, True),
        (11.0, "mg/dL", 10.2, False),  # not > 11 mg/dL; ULN + 1 = 11.2
        (11.1, "mg/dL", 10.2, True),
        (10.5, "mg/dL", 9.5, False),  # exactly 1 mg/dL above ULN: not > 1
        (10.6, "mg/dL", 9.5, True),  # > ULN + 1 although < 11
        (2.6, "mmol/L", 2.35, False),  # exactly 0.25 mmol/L above ULN
        (2.61, "mmol/L", 2.35, True),
    ],
)
def test_edge_case_e32_calcium_is_compared_in_the_unit_reported(value: float, unit: str, uln: float, met: bool) -> None:
    """b2m reference E32: 11 mg/dL = 2.745 mmol/L — compare in the unit reported (> 2.75 mmol/L or > 11 mg/dL)
    and check the '> ULN + 0.25 mmol/L (1 mg/dL)' arm."""
    r = imwg(MM_CRAB, calcium=lab("calcium", value, unit, upper_limit=uln))
    assert crit(r, "C") is met
    assert r.stage == ("multiple_myeloma" if met else "smouldering_myeloma")


def test_edge_case_e33_crcl_exactly_40_is_not_renal_insufficiency() -> None:
    """b2m reference E33: CrCl/eGFR exactly 40 is not < 40 → not an MDE by that arm; the estimator is recorded."""
    r = imwg(MM_CRAB, crcl_ml_min=40.0, crcl_estimator="Cockcroft-Gault")
    assert crit(r, "R") is False
    assert r.stage == "smouldering_myeloma"
    low = imwg(MM_CRAB, crcl_ml_min=39.9, crcl_estimator="Cockcroft-Gault")
    assert crit(low, "R") is True
    assert low.stage == "multiple_myeloma"
    (r_crit,) = [c for c in low.criteria if c.code == "R"]
    assert "Cockcroft-Gault" in r_crit.description
    assert low.inputs["crcl_estimator"] == "Cockcroft-Gault"


@pytest.mark.parametrize(
    ("value", "unit", "lln", "met"),
    [
        (10.0, "g/dL", 12.0, False),  # not < 10; exactly 2 g/dL below LLN is not > 2 below
        (10.0, "g/dL", 12.1, True),  # 2.1 g/dL below the LLN
        (9.9, "g/dL", 12.0, True),
        (100.0, "g/L", 120.0, False),
        (99.0, "g/L", 120.0, True),
        (105.0, "g/L", 126.0, True),  # 21 g/L below the LLN although ≥ 100 g/L
    ],
)
def test_edge_case_e34_hemoglobin_exactly_10_checks_the_lln_arm(value: float, unit: str, lln: float, met: bool) -> None:
    """b2m reference E34: Hb exactly 10 g/dL is not < 10 → check the '> 2 g/dL (20 g/L) below LLN' arm."""
    r = imwg(MM_CRAB, hemoglobin=lab("hemoglobin", value, unit, lower_limit=lln))
    assert crit(r, "A") is met
    assert r.stage == ("multiple_myeloma" if met else "smouldering_myeloma")


# ---------------------------------------------------------------------------------------------------
# Worked examples from the IMWG 2014 criteria (b2m reference IMWG14)
# ---------------------------------------------------------------------------------------------------


def test_crab_needs_attribution() -> None:
    """b2m reference IMWG14-2: 'CRAB features must be attributable to the plasma-cell disorder'."""
    anaemia = lab("hemoglobin", 8.5, "g/dL", lower_limit=12.0)
    assert imwg(SMM, hemoglobin=anaemia, crab_attributable=True).stage == "multiple_myeloma"
    assert imwg(SMM, hemoglobin=anaemia, crab_attributable=False).stage == "smouldering_myeloma"
    open_ = imwg(SMM, hemoglobin=anaemia, crab_attributable=None)
    assert open_.possible == ("multiple_myeloma", "smouldering_myeloma")
    assert open_.missing == ("crab_attributable",)


def test_non_attributable_crab_still_allows_mgus() -> None:
    """b2m reference IMWG14-4 non-IgM MGUS: 'no CRAB ... attributable to the clone': an unrelated anaemia leaves it."""
    r = imwg(hemoglobin=lab("hemoglobin", 8.5, "g/dL", lower_limit=12.0), crab_attributable=False)
    assert r.stage == "mgus_non_igm"


def test_solitary_plasmacytoma() -> None:
    """b2m reference IMWG14-5: biopsy-proven solitary lesion, marrow without clonal plasma cells, imaging
    otherwise normal, no CRAB → solitary plasmacytoma; clonal BMPC present but < 10% → minimal marrow involvement."""
    sp = {**MGUS, "plasmacytoma": "bone", "bmpc_percent": 0.0, "m_protein_g_dl": 0.5}
    assert imwg(sp).stage == "solitary_plasmacytoma"
    assert imwg(sp, bmpc_percent=5.0).stage == "solitary_plasmacytoma_minimal_marrow"
    assert imwg(sp, plasmacytoma="extramedullary").stage == "solitary_plasmacytoma"


def test_plasmacytoma_with_another_lytic_lesion_is_myeloma() -> None:
    """b2m reference IMWG14-2: a biopsy-proven plasmacytoma satisfies the clonal requirement; ≥ 1
    osteolytic lesion is B."""
    sp = {**MGUS, "plasmacytoma": "extramedullary", "bmpc_percent": 5.0, "crab_attributable": True}
    r = imwg(sp, osteolytic_lesions=1)
    assert crit(r, "B") is True
    assert r.stage == "multiple_myeloma"


def test_index_bone_plasmacytoma_counts_as_b_only_with_marrow_10_percent() -> None:
    """b2m reference IMWG14-5 (imaging normal 'apart from the primary lesion', no CRAB) and the recalled IMWG footnote
    ('> 1 bone lesion when BMPC < 10%', [U]): the index lesion alone is B only with BMPC ≥ 10%."""
    sp = {**MGUS, "plasmacytoma": "bone", "crab_attributable": True}
    assert crit(imwg(sp, bmpc_percent=5.0), "B") is False
    r = imwg(sp, bmpc_percent=15.0)
    assert crit(r, "B") is True
    assert r.stage == "multiple_myeloma"
    assert "imwg_2014_index_plasmacytoma" in {n.code for n in r.notes if n.kind == "unconfirmed"}
    # A biopsy-proven plasmacytoma is the clone's own lesion: no separate attribution is needed.
    assert imwg(sp, bmpc_percent=15.0, crab_attributable=None).stage == "multiple_myeloma"


def test_igm_mgus_and_igm_above_30_g_l() -> None:
    """b2m reference IMWG14-4 IgM MGUS: IgM < 30 g/L, lymphoplasmacytic infiltration < 10%, no attributable anaemia,
    symptoms, hyperviscosity, nodes or organomegaly. IgM ≥ 30 g/L fits no IMWG 2014 entity (b2m reference IMWG14)."""
    igm = {
        **MGUS,
        "isotype": "IgM",
        "bmpc_percent": 0.0,
        "igm_related_features": False,
        "bm_lymphoplasmacytic_percent": 5.0,
    }
    assert imwg(igm).stage == "mgus_igm"
    assert imwg(igm, m_protein_g_dl=3.5).stage == "unclassified"
    assert imwg(igm, bm_lymphoplasmacytic_percent=10.0).stage == "unclassified"
    assert imwg(igm, igm_related_features=True).stage == "unclassified"
    assert imwg(igm, bm_lymphoplasmacytic_percent=None).possible == ("mgus_igm", "unclassified")


def test_amyloidosis_excludes_smm_and_mgus() -> None:
    """b2m reference IMWG14-3 SMM: 'no MDE and no amyloidosis'; b2m reference IMWG14-4 non-IgM MGUS: no CRAB
    or amyloidosis."""
    assert imwg(amyloidosis=True).stage == "unclassified"
    assert imwg(SMM, amyloidosis=True).stage == "unclassified"


# ---------------------------------------------------------------------------------------------------
# Missing data (b2m reference IMWG14-8: 'no MDE' requires every item known negative)
# ---------------------------------------------------------------------------------------------------


def test_unknown_bmpc() -> None:
    """BMPC unknown with no plasmacytoma: ≥ 60% → MM (S); 10-60% → SMM; < 10% → non-IgM MGUS."""
    r = imwg(bmpc_percent=None)
    assert r.possible == ("multiple_myeloma", "smouldering_myeloma", "mgus_non_igm")
    assert r.missing == ("bmpc_percent",)


def test_unknown_calcium_uln_leaves_hypercalcaemia_open_below_11() -> None:
    """b2m reference IMWG14-2 C: '> 1 mg/dL above ULN' cannot be excluded without the lab's ULN, so 'no MDE' is open."""
    r = imwg(SMM, calcium=lab("calcium", 9.5, "mg/dL"))
    assert crit(r, "C") is None
    assert r.possible == ("multiple_myeloma", "smouldering_myeloma")
    assert set(r.missing) == {"calcium.upper_limit", "crab_attributable"}
    high = imwg(MM_CRAB, calcium=lab("calcium", 11.5, "mg/dL"))
    assert crit(high, "C") is True  # > 11 mg/dL needs no ULN
    assert high.stage == "multiple_myeloma"


def test_unknown_crcl_leaves_renal_criterion_open() -> None:
    """b2m reference IMWG14-2 R: creatinine ≤ 2 mg/dL does not exclude CrCl < 40; with CrCl unknown R stays open."""
    r = imwg(SMM, crcl_ml_min=None, crcl_estimator=None)
    assert crit(r, "R") is None
    assert r.possible == ("multiple_myeloma", "smouldering_myeloma")
    assert "crcl_ml_min" in r.missing


def test_mde_asserted_from_one_positive_item_with_the_rest_unknown() -> None:
    """b2m reference IMWG14-8 missing data: 'an MDE can be asserted from any one positive item' (BMPC 70% ≥ 60%)."""
    unknown: dict[str, Any] = {k: None for k in MGUS}
    r = imwg_2014(**{**unknown, "bmpc_percent": 70.0})
    assert r.stage == "multiple_myeloma"


def test_everything_unknown() -> None:
    r = imwg_2014(**{k: None for k in MGUS})
    assert r.possible == STAGES


@pytest.mark.parametrize(
    "override",
    [{}, {"bmpc_percent": 70.0}, {"bmpc_percent": None}, {"isotype": "light_chain"}],
)
def test_every_result_carries_the_discrepancy_and_unconfirmed_notes(override: dict[str, Any]) -> None:
    """b2m reference D10, D18 (MRI lesion size, CrCl estimator) [D] and the [U] bone-lesion footnote (b2m reference U5)
    are on every result."""
    r = imwg(**override)
    kinds = {(n.code, n.kind) for n in r.notes}
    assert ("imwg_2014_mri_lesion_size", "discrepancy") in kinds
    assert ("imwg_2014_crcl_estimator", "discrepancy") in kinds
    assert ("imwg_2014_index_plasmacytoma", "unconfirmed") in kinds
    assert r.rule.source.doi == "10.1016/S1470-2045(14)70442-5"


@pytest.mark.parametrize(
    "override",
    [
        {"bmpc_percent": 101.0},
        {"osteolytic_lesions": -1},
        {"osteolytic_lesions": 1.5},
        {"isotype": "IgY"},
        {"plasmacytoma": "many"},
        {"amyloidosis": "no"},
        {"calcium": lab("creatinine", 1.0, "mg/dL")},
    ],
)
def test_refuses_bad_input(override: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        imwg(**override)


# ---------------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------------


@st.composite
def labs(draw: st.DrawFn, key: str, units: dict[str, tuple[float, float, str, float, float]]) -> dict[str, Any]:
    unit = draw(st.sampled_from(sorted(units)))
    lo, hi, limit_name, llo, lhi = units[unit]
    return {
        "value": draw(st.floats(lo, hi).map(lambda x: round(x, 2))),
        "unit": unit,
        limit_name: draw(st.floats(llo, lhi).map(lambda x: round(x, 2))),
    }


RAW = st.fixed_dictionaries(
    {
        "bmpc_percent": st.one_of(st.sampled_from([0.0, 9.9, 10.0, 60.0]), st.floats(0.0, 100.0)),
        "plasmacytoma": st.sampled_from([p for p in PLASMACYTOMAS if p != "present"]),
        "isotype": st.sampled_from(ISOTYPES),
        "m_protein_g_dl": st.one_of(st.sampled_from([3.0]), st.floats(0.0, 6.0)),
        "urine_m_protein_mg_24h": st.one_of(st.sampled_from([500.0]), st.floats(0.0, 2000.0)),
        "calcium": labs(
            "calcium",
            {"mg/dL": (7.0, 14.0, "upper_limit", 9.5, 10.6), "mmol/L": (1.8, 3.5, "upper_limit", 2.3, 2.65)},
        ),
        "creatinine": labs(
            "creatinine",
            {
                "mg/dL": (0.4, 4.0, "upper_limit", 1.0, 1.3),
                "µmol/L": (40.0, 350.0, "upper_limit", 90.0, 115.0),
            },
        ),
        "crcl_ml_min": st.floats(10.0, 120.0),
        "crcl_estimator": st.just("CKD-EPI 2021"),
        "hemoglobin": labs(
            "hemoglobin",
            {
                "g/dL": (6.0, 16.0, "lower_limit", 11.5, 13.5),
                "g/L": (60.0, 160.0, "lower_limit", 115.0, 135.0),
            },
        ),
        "osteolytic_lesions": st.integers(0, 3),
        "mri_focal_lesions_ge_5mm": st.integers(0, 3),
        "flc_kappa": labs("flc_kappa", {"mg/L": (0.5, 3000.0, "upper_limit", 19.4, 19.4)}),
        "flc_lambda": labs("flc_lambda", {"mg/L": (0.5, 3000.0, "upper_limit", 26.3, 26.3)}),
        "crab_attributable": st.booleans(),
        "amyloidosis": st.booleans(),
        "igm_related_features": st.booleans(),
        "bm_lymphoplasmacytic_percent": st.floats(0.0, 30.0),
    }
)
LAB_KEYS = ("calcium", "creatinine", "hemoglobin", "flc_kappa", "flc_lambda")
LIMIT_KEYS = ("calcium", "hemoglobin", "flc_kappa", "flc_lambda")


def build(
    raw: dict[str, Any],
    blank: frozenset[str] | set[str] = frozenset(),
    blank_limits: frozenset[str] | set[str] = frozenset(),
) -> RuleResult:
    kwargs: dict[str, Any] = {}
    for k, v in raw.items():
        if k in blank:
            kwargs[k] = None
        elif k in LAB_KEYS:
            d = dict(v)
            if k in blank_limits:
                d.pop("upper_limit", None)
                d.pop("lower_limit", None)
            kwargs[k] = parse_lab(k, d)
        else:
            kwargs[k] = v
    return imwg_2014(**kwargs)


@settings(max_examples=300, deadline=None)
@given(
    RAW,
    st.sets(st.sampled_from([*sorted(MGUS), "igm_related_features", "bm_lymphoplasmacytic_percent"])),
    st.sets(st.sampled_from(LIMIT_KEYS)),
)
def test_unknown_inputs_keep_every_completion_possible(
    raw: dict[str, Any], blank: set[str], blank_limits: set[str]
) -> None:
    """Invariant: blanking inputs (or a lab's reference limit) keeps the full input's class possible."""
    full = build(raw)
    assert full.stage is not None
    partial = build(raw, blank, blank_limits)
    assert full.stage in partial.possible


def _worse(raw: dict[str, Any], field: str, step: float) -> dict[str, Any]:
    out = dict(raw)
    if field in ("calcium", "creatinine"):
        out[field] = {**raw[field], "value": raw[field]["value"] * (1 + step)}
    elif field == "hemoglobin":
        out[field] = {**raw[field], "value": raw[field]["value"] * (1 - step / 2)}
    elif field == "crcl_ml_min":
        out[field] = raw[field] * (1 - step / 2)
    elif field == "bmpc_percent":
        out[field] = min(100.0, raw[field] + 100 * step)
    elif field in ("osteolytic_lesions", "mri_focal_lesions_ge_5mm"):
        out[field] = raw[field] + 1
    elif field == "crab_attributable":
        out[field] = True
    elif field == "plasmacytoma":
        out[field] = "bone"
    return out


@settings(max_examples=300, deadline=None)
@given(
    RAW,
    st.sampled_from(
        [
            "calcium",
            "creatinine",
            "hemoglobin",
            "crcl_ml_min",
            "bmpc_percent",
            "osteolytic_lesions",
            "mri_focal_lesions_ge_5mm",
            "crab_attributable",
            "plasmacytoma",
        ]
    ),
    st.floats(0.0, 0.5),
)
def test_adverse_finding_never_undoes_myeloma(raw: dict[str, Any], field: str, step: float) -> None:
    """Invariant: a more adverse CRAB/SLiM item, more marrow, a lesion or attribution keeps MM as MM."""
    before, after = build(raw), build(_worse(raw, field, step))
    if before.stage == "multiple_myeloma":
        assert after.stage == "multiple_myeloma"


def test_plasmacytoma_of_unknown_site() -> None:
    """b2m reference IMWG14-2, IMWG14-5: a biopsy-proven plasmacytoma meets the clonal requirement
    whatever its site; with BMPC 15% a bone plasmacytoma is itself the bone lesion (MM), an extramedullary one
    is not (SMM)."""
    sp = {**SMM, "bmpc_percent": 15.0, "plasmacytoma": "present"}
    assert crit(imwg(sp), "clonal_marrow_or_plasmacytoma") is True
    assert imwg(sp).possible == ("multiple_myeloma", "smouldering_myeloma")
    assert imwg(sp, bmpc_percent=0.0, m_protein_g_dl=0.5).stage == "solitary_plasmacytoma"
