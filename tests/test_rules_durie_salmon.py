"""Durie–Salmon 1975 staging.

Oracles: the Durie–Salmon criteria of Durie & Salmon 1975 (DOI
10.1002/1097-0142(197509)36:3<842::aid-cncr2820360303>3.0.co;2-u) as reproduced by MMRF, IMF and BMJ Best Practice
(b2m reference DS-2), the edge-case rows (b2m reference E35, E36) and the discrepancy register
(b2m reference D7, D8, D9). Every expected stage below was derived by hand from that table (b2m reference DS-2); none
was produced by running this code.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from b2m.errors import InputError
from b2m.rules.base import RuleResult
from b2m.rules.durie_salmon_1975 import (
    BONE_LESIONS,
    ISOTYPES,
    STAGE_NUMBERS,
    STAGES,
    durie_salmon_1975,
    split_label,
)
from b2m.units import Censored

# Every criterion known and favourable for stage I (b2m reference DS-2: Hb > 10, Ca ≤ 12, normal bones, IgG < 5,
# urine light chain < 4 g/24 h) and creatinine < 2.0 (subclass A).
FAVOURABLE: dict[str, Any] = dict(
    hemoglobin_g_dl=12.0,
    calcium_mg_dl=9.5,
    bone_lesions="none",
    isotype="IgG",
    m_protein_g_dl=3.0,
    urine_light_chain_mg_24h=1000.0,
    creatinine_mg_dl=1.0,
)
DISCREPANCY_NOTES = {
    "durie_salmon_calcium_stage_i",
    "durie_salmon_subclass_b",
    "durie_salmon_bones_stage_iii",
}


def ds(**override: Any) -> RuleResult:
    return durie_salmon_1975(**{**FAVOURABLE, **override})


def crit(r: RuleResult, code: str) -> bool | None:
    (c,) = [c for c in r.criteria if c.code == code]
    return c.met


# ---------------------------------------------------------------------------------------------------
# Worked examples from the criteria table (b2m reference DS-2)
# ---------------------------------------------------------------------------------------------------


def test_all_stage_i_criteria_favourable_is_ia() -> None:
    """b2m reference DS-2: stage I needs all of Hb > 10, Ca ≤ 12, normal bones, IgG < 5, BJ < 4 g/24 h; Cr < 2.0 → A."""
    r = ds()
    assert r.stage == "IA"
    assert crit(r, "I.m_component") is True
    assert crit(r, "subclass_B") is False


def test_solitary_bone_plasmacytoma_is_compatible_with_stage_i() -> None:
    """b2m reference DS-2 stage I: 'bone x-ray normal (scale 0) or solitary bone plasmacytoma only'."""
    assert ds(bone_lesions="solitary_plasmacytoma").stage == "IA"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"hemoglobin_g_dl": 8.4}, "IIIA"),  # Hb < 8.5
        ({"calcium_mg_dl": 12.1}, "IIIA"),  # Ca > 12
        ({"bone_lesions": "advanced"}, "IIIA"),  # advanced lytic lesions (scale 3)
        ({"m_protein_g_dl": 7.1}, "IIIA"),  # IgG > 7
        ({"isotype": "IgA", "m_protein_g_dl": 5.1}, "IIIA"),  # IgA > 5
        ({"urine_light_chain_mg_24h": 12100.0}, "IIIA"),  # urine light chain > 12 g/24 h
    ],
)
def test_any_single_stage_iii_criterion_gives_stage_iii(override: dict[str, Any], expected: str) -> None:
    """b2m reference DS-2 stage III: 'one or more of' Hb < 8.5; Ca > 12; scale-3 bones; IgG > 7, IgA > 5,
    BJ > 12 g/24 h."""
    assert ds(**override).stage == expected


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"hemoglobin_g_dl": 10.0}, "IIA"),  # not > 10, not < 8.5
        ({"hemoglobin_g_dl": 8.5}, "IIA"),  # not < 8.5
        ({"hemoglobin_g_dl": 10.1}, "IA"),
        ({"m_protein_g_dl": 5.0}, "IIA"),  # IgG not < 5, not > 7
        ({"m_protein_g_dl": 7.0}, "IIA"),
        ({"m_protein_g_dl": 4.99}, "IA"),
        ({"isotype": "IgA", "m_protein_g_dl": 3.0}, "IIA"),  # IgA not < 3, not > 5
        ({"isotype": "IgA", "m_protein_g_dl": 5.0}, "IIA"),
        ({"isotype": "IgA", "m_protein_g_dl": 2.99}, "IA"),
        ({"urine_light_chain_mg_24h": 4000.0}, "IIA"),  # 4 g/24 h: not < 4
        ({"urine_light_chain_mg_24h": 12000.0}, "IIA"),  # 12 g/24 h: not > 12
        ({"urine_light_chain_mg_24h": 3999.0}, "IA"),
        ({"bone_lesions": "limited"}, "IIA"),  # lytic lesions short of scale 3: neither I nor III
    ],
)
def test_boundaries_are_exclusive_on_both_sides(override: dict[str, Any], expected: str) -> None:
    """b2m reference DS-2: every stage I and III threshold is strict (>, <); a value exactly at one is stage II."""
    assert ds(**override).stage == expected


def test_calcium_exactly_12_is_stage_i_under_the_majority_reading() -> None:
    """b2m reference DS-2 [D]: stage I calcium 'normal (≤ 12 mg/dL)' (majority reading); III needs > 12.
    The IMF's '< 10.5' is noted."""
    r = ds(calcium_mg_dl=12.0)
    assert r.stage == "IA"
    assert crit(r, "III.calcium") is False
    assert "durie_salmon_calcium_stage_i" in {n.code for n in r.notes}


# ---------------------------------------------------------------------------------------------------
# Edge-case rows (b2m reference E35, E36)
# ---------------------------------------------------------------------------------------------------


def test_edge_case_e35_creatinine_exactly_2_is_subclass_b() -> None:
    """b2m reference E35: creatinine exactly 2.0 mg/dL is subclass B (≥ 2.0, most sources); IMF '> 2.0' noted [D]."""
    assert ds(creatinine_mg_dl=2.0).stage == "IB"
    assert ds(creatinine_mg_dl=1.99).stage == "IA"
    r = ds(creatinine_mg_dl=2.0, hemoglobin_g_dl=8.0)
    assert r.stage == "IIIB"
    note = next(n for n in r.notes if n.code == "durie_salmon_subclass_b")
    assert note.kind == "discrepancy"


@pytest.mark.parametrize(
    "override",
    [
        {"hemoglobin_g_dl": 9.0},
        {"m_protein_g_dl": 6.0},
        {"urine_light_chain_mg_24h": 8000.0},
        {"hemoglobin_g_dl": 9.0, "m_protein_g_dl": 6.0, "urine_light_chain_mg_24h": 8000.0},
    ],
)
def test_edge_case_e36_intermediate_values_are_stage_ii(override: dict[str, Any]) -> None:
    """b2m reference E36: Hb between 8.5 and 10; IgG 5-7 g/dL; BJP 4-12 g/24 h → stage II (neither I nor III)."""
    assert ds(**override).stage == "IIA"


# ---------------------------------------------------------------------------------------------------
# Isotypes without M-component thresholds (b2m reference DS-4, [S])
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("isotype", ["IgD", "IgE", "IgM", "light_chain"])
def test_serum_m_protein_unused_for_isotypes_without_thresholds(isotype: str) -> None:
    """b2m reference DS-4: IgD, IgE, light-chain (and IgM) have no serum thresholds; stage on Hb, Ca,
    bones, urine LC."""
    r = ds(isotype=isotype, m_protein_g_dl=None)
    assert r.stage == "IA"
    assert "m_protein_g_dl" not in r.missing
    assert "durie_salmon_no_m_component_thresholds" in {n.code for n in r.notes}
    assert ds(isotype=isotype, m_protein_g_dl=9.0).stage == "IA"
    assert ds(isotype=isotype, urine_light_chain_mg_24h=13000.0).stage == "IIIA"


def test_non_secretory_uses_neither_serum_nor_urine_m_component() -> None:
    """b2m reference DS-4: non-secretory disease is staged on Hb, Ca and bones only."""
    r = ds(isotype="non_secretory", m_protein_g_dl=None, urine_light_chain_mg_24h=None)
    assert r.stage == "IA"
    assert r.missing == ()


# ---------------------------------------------------------------------------------------------------
# Missing data (b2m reference DS-5: III from any single criterion; I needs every criterion known and favourable)
# ---------------------------------------------------------------------------------------------------


def test_everything_unknown_leaves_every_label_possible() -> None:
    """b2m reference DS-5 missing-data rule: nothing known → any stage, either subclass."""
    r = durie_salmon_1975(
        hemoglobin_g_dl=None,
        calcium_mg_dl=None,
        bone_lesions=None,
        isotype=None,
        m_protein_g_dl=None,
        urine_light_chain_mg_24h=None,
        creatinine_mg_dl=None,
    )
    assert r.possible == STAGES
    assert set(r.missing) == set(FAVOURABLE)


def test_single_stage_iii_criterion_settles_stage_with_everything_else_unknown() -> None:
    """b2m reference DS-5: 'stage III can be asserted from any single qualifying criterion' (Hb 8 < 8.5)."""
    r = durie_salmon_1975(
        hemoglobin_g_dl=8.0,
        calcium_mg_dl=None,
        bone_lesions=None,
        isotype=None,
        m_protein_g_dl=None,
        urine_light_chain_mg_24h=None,
        creatinine_mg_dl=None,
    )
    assert r.possible == ("IIIA", "IIIB")
    assert crit(r, "III.hemoglobin") is True


def test_unknown_hemoglobin_with_the_rest_favourable_allows_all_three_stages() -> None:
    """b2m reference DS-5: Hb unknown could be > 10 (I), 8.5-10 (II) or < 8.5 (III)."""
    r = ds(hemoglobin_g_dl=None)
    assert r.possible == ("IA", "IIA", "IIIA")
    assert r.missing == ("hemoglobin_g_dl",)


def test_unknown_calcium_allows_only_stage_i_or_iii() -> None:
    """b2m reference DS-2 (majority reading): Ca ≤ 12 is favourable for I and Ca > 12 is III, so no value gives II."""
    assert ds(calcium_mg_dl=None).possible == ("IA", "IIIA")


def test_unknown_isotype_with_m_protein_6() -> None:
    """b2m reference DS-4: 6 g/dL is IgG 5-7 (II), IgA > 5 (III), or unused for other types (I)."""
    assert ds(isotype=None, m_protein_g_dl=6.0).possible == ("IA", "IIA", "IIIA")


def test_unknown_creatinine_leaves_both_subclasses() -> None:
    """b2m reference DS-3 subclass: creatinine unknown → A or B."""
    assert ds(creatinine_mg_dl=None).possible == ("IA", "IB")


def test_censored_values() -> None:
    """A censored Hb '<8' is < 8.5 (III); '>10.5' is > 10 (I); '<9' may be II or III."""
    assert ds(hemoglobin_g_dl=Censored("<", 8.0)).stage == "IIIA"
    assert ds(hemoglobin_g_dl=Censored(">", 10.5)).stage == "IA"
    assert ds(hemoglobin_g_dl=Censored("<", 9.0)).possible == ("IIA", "IIIA")


# ---------------------------------------------------------------------------------------------------
# Notes, provenance, input checks
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "override", [{}, {"hemoglobin_g_dl": 8.0}, {"hemoglobin_g_dl": None}, {"creatinine_mg_dl": 3.0}]
)
def test_every_result_carries_every_discrepancy_note(override: dict[str, Any]) -> None:
    """b2m reference D7, D8, D9 (Durie–Salmon stage I calcium / subclass B / stage III bones) [D]: on every result."""
    r = ds(**override)
    codes = {n.code for n in r.notes if n.kind == "discrepancy"}
    assert codes == DISCREPANCY_NOTES
    assert "durie_salmon_missing_data" in {n.code for n in r.notes if n.kind == "unconfirmed"}
    assert r.outcomes == ()  # survival by stage is [U]: never attached
    assert r.rule.source.doi.startswith("10.1002/1097-0142(197509)36:3<842")


def test_split_label() -> None:
    assert split_label("IIIB") == ("III", "B")
    assert split_label("IA") == ("I", "A")
    with pytest.raises(ValueError):
        split_label("IV")


@pytest.mark.parametrize(
    "override",
    [
        {"hemoglobin_g_dl": -1.0},
        {"calcium_mg_dl": float("nan")},
        {"bone_lesions": "many"},
        {"isotype": "IgX"},
        {"creatinine_mg_dl": True},
    ],
)
def test_refuses_bad_input(override: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        ds(**override)


# ---------------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------------

concrete = st.fixed_dictionaries(
    {
        "hemoglobin_g_dl": st.one_of(st.sampled_from([8.5, 10.0]), st.floats(4.0, 18.0)),
        "calcium_mg_dl": st.one_of(st.sampled_from([12.0]), st.floats(6.0, 16.0)),
        "bone_lesions": st.sampled_from(BONE_LESIONS),
        "isotype": st.sampled_from(ISOTYPES),
        "m_protein_g_dl": st.one_of(st.sampled_from([3.0, 5.0, 7.0]), st.floats(0.0, 12.0)),
        "urine_light_chain_mg_24h": st.one_of(st.sampled_from([4000.0, 12000.0]), st.floats(0.0, 20000.0)),
        "creatinine_mg_dl": st.one_of(st.sampled_from([2.0]), st.floats(0.3, 8.0)),
    }
)


def _rank(label: str) -> tuple[int, int]:
    stage, subclass = split_label(label)
    return STAGE_NUMBERS.index(stage), "AB".index(subclass)


@settings(max_examples=300, deadline=None)
@given(concrete, st.sets(st.sampled_from(sorted(FAVOURABLE))))
def test_unknown_inputs_keep_every_completion_possible(values: dict[str, Any], blank: set[str]) -> None:
    """Invariant: with some inputs blanked, ``possible`` still holds the label of the full input."""
    full = durie_salmon_1975(**values)
    assert full.stage is not None
    partial = durie_salmon_1975(**{**values, **{k: None for k in blank}})
    assert full.stage in partial.possible


ADVERSE = st.sampled_from(
    [
        "hemoglobin_g_dl",
        "calcium_mg_dl",
        "bone_lesions",
        "m_protein_g_dl",
        "urine_light_chain_mg_24h",
        "creatinine_mg_dl",
    ]
)


@settings(max_examples=300, deadline=None)
@given(concrete, ADVERSE, st.floats(0.0, 5.0))
def test_adverse_change_never_lowers_stage_or_subclass(values: dict[str, Any], field: str, delta: float) -> None:
    """Invariant: lower Hb, higher Ca / M-component / creatinine, or worse bones never lowers either part."""
    worse = dict(values)
    if field == "hemoglobin_g_dl":
        worse[field] = max(0.0, values[field] - delta)
    elif field == "bone_lesions":
        worse[field] = BONE_LESIONS[min(len(BONE_LESIONS) - 1, BONE_LESIONS.index(values[field]) + 1)]
        if values[field] == "none":
            worse[field] = "limited"
    elif field == "urine_light_chain_mg_24h":
        worse[field] = values[field] + 1000 * delta
    else:
        worse[field] = values[field] + delta
    before, after = durie_salmon_1975(**values), durie_salmon_1975(**worse)
    assert before.stage is not None and after.stage is not None
    (s0, c0), (s1, c1) = _rank(before.stage), _rank(after.stage)
    assert s1 >= s0
    assert c1 >= c0
