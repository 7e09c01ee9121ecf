"""IMS/IMWG 2025 consensus definition of high-risk multiple myeloma (Avet-Loiseau 2025).

Oracles: the four criteria of Avet-Loiseau 2025 (DOI 10.1200/JCO-24-01893) as in concordant
secondary summaries (b2m reference HR25-2), the edge-case rows (b2m reference E42, E48) and the discrepancy register
(b2m reference D19, del(17p) CCF). Every expected status below was derived by hand from the criterion text quoted in the
docstring; none was produced by running this code.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from b2m.errors import InputError
from b2m.rules.base import RuleResult
from b2m.rules.ims_imwg_2025_high_risk import DEL1P32_VALUES, STAGES, ims_imwg_2025_high_risk
from b2m.units import Censored

# Every criterion known and not met: no del(17p) / TP53 mutation, no IgH translocation, no 1q+,
# no del(1p32), B2M 3.0 mg/L with creatinine 0.9 mg/dL.
STANDARD: dict[str, Any] = dict(
    del17p=False,
    tp53_mutation=False,
    t4_14=False,
    t14_16=False,
    t14_20=False,
    gain1q=False,
    del1p32="absent",
    b2m_mg_l=3.0,
    creatinine_mg_dl=0.9,
    del17p_clonal_fraction_percent=None,
)
HR, NOT = ("high_risk",), ("not_high_risk",)


def hr(**override: Any) -> RuleResult:
    return ims_imwg_2025_high_risk(**{**STANDARD, **override})


def crit(r: RuleResult, code: str) -> bool | None:
    (c,) = [c for c in r.criteria if c.code == code]
    return c.met


def test_nothing_met_is_not_high_risk() -> None:
    """b2m reference HR25-2: high risk needs ≥ 1 of the four criteria; none met → not high risk."""
    r = hr()
    assert r.possible == NOT
    assert r.missing == ()


# ---------------------------------------------------------------------------------------------------
# Edge-case rows E42 and E48 (b2m reference E42, E48; criterion 4: B2M ≥ 5.5 mg/L with creatinine < 1.2 mg/dL)
# ---------------------------------------------------------------------------------------------------


def test_edge_case_e42_b2m_5_5_with_creatinine_exactly_1_2_is_not_met() -> None:
    """b2m reference E42: B2M exactly 5.5 qualifies (≥ 5.5) but creatinine exactly 1.2 is not '< 1.2' → not met."""
    r = hr(b2m_mg_l=5.5, creatinine_mg_dl=1.2)
    assert crit(r, "b2m_ge_5_5") is True
    assert crit(r, "creatinine_lt_1_2") is False
    assert crit(r, "b2m_normal_creatinine") is False
    assert r.possible == NOT
    assert hr(b2m_mg_l=5.5, creatinine_mg_dl=1.19).possible == HR
    assert hr(b2m_mg_l=5.49, creatinine_mg_dl=1.0).possible == NOT


def test_edge_case_e42_creatinine_missing_is_not_assessable() -> None:
    """b2m reference E42: 'creatinine missing → not assessable' when B2M ≥ 5.5; with B2M < 5.5 it is irrelevant."""
    r = hr(b2m_mg_l=6.0, creatinine_mg_dl=None)
    assert crit(r, "b2m_normal_creatinine") is None
    assert r.possible == ("not_high_risk", "high_risk")
    assert r.stage is None
    assert r.missing == ("creatinine_mg_dl",)
    low = hr(b2m_mg_l=3.0, creatinine_mg_dl=None)
    assert low.possible == NOT
    assert low.missing == ()


def test_edge_case_e48_raised_b2m_with_impaired_kidneys_does_not_count() -> None:
    """b2m reference E48: the IMS/IMWG B2M criterion only counts with creatinine < 1.2 mg/dL (B2M 8, Cr 2.5)."""
    assert hr(b2m_mg_l=8.0, creatinine_mg_dl=2.5).possible == NOT


# ---------------------------------------------------------------------------------------------------
# Criteria 1-3 (b2m reference HR25-2)
# ---------------------------------------------------------------------------------------------------


def test_del17p_ccf_cut_off_is_exclusive() -> None:
    """b2m reference HR25-2 (criterion 1) and D19 [D]: del(17p) counts with CCF > 20% (b2m's choice); exactly
    20% does not."""
    assert hr(del17p=True, del17p_clonal_fraction_percent=20.0).possible == NOT
    assert hr(del17p=True, del17p_clonal_fraction_percent=20.1).possible == HR
    r = hr(del17p=True, del17p_clonal_fraction_percent=None)
    assert r.possible == ("not_high_risk", "high_risk")
    assert r.missing == ("del17p_clonal_fraction_percent",)
    assert hr(del17p=False, del17p_clonal_fraction_percent=None).missing == ()
    note = next(n for n in r.notes if n.code == "ims_imwg_2025_del17p_ccf")
    assert note.kind == "discrepancy"


def test_tp53_mutation_alone_is_high_risk() -> None:
    """b2m reference HR25-2 criterion 1: del(17p) '... and/or TP53 mutation'."""
    assert hr(tp53_mutation=True).possible == HR
    assert hr(tp53_mutation=True, del17p=None).possible == HR


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"t4_14": True}, NOT),  # a translocation alone is not enough
        ({"t4_14": True, "gain1q": True}, HR),
        ({"t14_16": True, "gain1q": True}, HR),
        ({"t14_20": True, "del1p32": "monoallelic"}, HR),
        ({"gain1q": True}, NOT),  # 1q+ alone is not enough
        ({"del1p32": "monoallelic"}, NOT),
        ({"del1p32": "monoallelic", "gain1q": True}, HR),  # criterion 3
        ({"del1p32": "biallelic"}, HR),  # criterion 3
    ],
)
def test_igh_translocation_and_chromosome_1_criteria(override: dict[str, Any], expected: tuple[str, ...]) -> None:
    """b2m reference HR25-2 criteria 2-3: t(4;14)/t(14;16)/t(14;20) with 1q+ and/or del(1p32); monoallelic del(1p32)
    with 1q+, or biallelic del(1p32)."""
    assert hr(**override).possible == expected


def test_del1p32_with_unknown_allelic_status() -> None:
    """del(1p32) found, allelic status unknown: biallelic → high risk, monoallelic alone → not;
    with 1q+ both readings are high risk (criterion 3)."""
    assert hr(del1p32="present").possible == ("not_high_risk", "high_risk")
    assert hr(del1p32="present", gain1q=True).possible == HR
    assert hr(del1p32="present", t4_14=True).possible == HR  # criterion 2: any del(1p32)


def test_unknown_gain1q_with_monoallelic_del1p32() -> None:
    """1q+ unknown: monoallelic del(1p32) with 1q+ would be high risk, without it not."""
    r = hr(gain1q=None, del1p32="monoallelic")
    assert r.possible == ("not_high_risk", "high_risk")
    assert r.missing == ("gain1q",)


def test_everything_unknown() -> None:
    r = ims_imwg_2025_high_risk(**{k: None for k in STANDARD})
    assert r.possible == STAGES
    assert set(r.missing) == set(STANDARD)


def test_notes_and_provenance_on_every_result() -> None:
    """Erratum content not reviewed [U] (b2m reference U19); del(17p) CCF > vs ≥ 20% [D] (b2m reference D19); both on
    every result."""
    for r in (hr(), hr(tp53_mutation=True), hr(b2m_mg_l=None)):
        kinds = {(n.code, n.kind) for n in r.notes}
        assert ("ims_imwg_2025_del17p_ccf", "discrepancy") in kinds
        assert ("ims_imwg_2025_erratum", "unconfirmed") in kinds
        assert r.rule.source.doi == "10.1200/JCO-24-01893"
        assert r.outcomes == ()


def test_censored_b2m() -> None:
    """A censored B2M '>6' is ≥ 5.5."""
    assert hr(b2m_mg_l=Censored(">", 6.0)).possible == HR


@pytest.mark.parametrize(
    "override", [{"del1p32": "deleted"}, {"t4_14": 1}, {"del17p_clonal_fraction_percent": 120.0}, {"b2m_mg_l": -2.0}]
)
def test_refuses_bad_input(override: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        hr(**override)


# ---------------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------------

FLAGS = ("del17p", "tp53_mutation", "t4_14", "t14_16", "t14_20", "gain1q")
VALUES = st.fixed_dictionaries(
    {
        **{k: st.booleans() for k in FLAGS},
        "del1p32": st.sampled_from(("absent", "monoallelic", "biallelic")),
        "b2m_mg_l": st.one_of(st.sampled_from([5.5]), st.floats(0.5, 30.0)),
        "creatinine_mg_dl": st.one_of(st.sampled_from([1.2]), st.floats(0.3, 6.0)),
        "del17p_clonal_fraction_percent": st.one_of(st.sampled_from([20.0]), st.floats(0.0, 100.0)),
    }
)


@settings(max_examples=300, deadline=None)
@given(VALUES, st.sets(st.sampled_from(sorted(STANDARD))), st.booleans())
def test_unknown_inputs_keep_every_completion_possible(v: dict[str, Any], blank: set[str], present: bool) -> None:
    """Invariant: blanking inputs (or reporting del(1p32) only as 'present') keeps the answer possible."""
    full = ims_imwg_2025_high_risk(**v)
    assert full.stage is not None
    partial = {**v, **{k: None for k in blank}}
    if present and v["del1p32"] != "absent" and "del1p32" not in blank:
        partial["del1p32"] = "present"
    assert full.stage in ims_imwg_2025_high_risk(**partial).possible


@settings(max_examples=300, deadline=None)
@given(VALUES, st.sampled_from([*FLAGS, "del1p32", "b2m_mg_l", "del17p_clonal_fraction_percent"]), st.floats(0.0, 20.0))
def test_adverse_finding_never_lowers_risk(v: dict[str, Any], field: str, delta: float) -> None:
    """Invariant: an abnormality found, a worse del(1p32), a higher B2M or CCF never lowers the status."""
    worse = dict(v)
    if field in FLAGS:
        worse[field] = True
    elif field == "del1p32":
        worse[field] = DEL1P32_VALUES[min(2, DEL1P32_VALUES.index(v[field]) + 1)]
    elif field == "del17p_clonal_fraction_percent":
        worse[field] = min(100.0, v[field] + delta)
    else:
        worse[field] = v[field] + delta
    before, after = ims_imwg_2025_high_risk(**v), ims_imwg_2025_high_risk(**worse)
    assert before.stage is not None and after.stage is not None
    assert STAGES.index(after.stage) >= STAGES.index(before.stage)
