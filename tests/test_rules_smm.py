"""Smouldering-myeloma risk: Mayo 2018 20/2/20 (Lakshman 2018) and the IMWG 2020 scoring tool (Mateos 2020).

Oracles: Lakshman 2018 (DOI 10.1038/s41408-018-0077-4; 20/2/20 factors and groups,
b2m reference SMM-1), Mateos 2020 (DOI 10.1038/s41408-020-00366-3; IMWG 2020 validation figures [C],
b2m reference SMM-2; point table, groups and risks [S], b2m reference SMM-3, SMM-4), the edge-case rows
(b2m reference E20, E21) and the discrepancy register (b2m reference D14, D15, D16). Every total and group below was
added up by hand from those tables; none was produced by running this code.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from b2m.errors import InputError
from b2m.rules.base import RuleResult
from b2m.rules.smm_imwg_2020 import STAGES as IMWG_GROUPS
from b2m.rules.smm_imwg_2020 import smm_imwg_2020
from b2m.rules.smm_mayo_2018 import STAGES as MAYO_GROUPS
from b2m.rules.smm_mayo_2018 import smm_mayo_2018
from b2m.units import Censored


def crit(r: RuleResult, code: str) -> bool | None:
    (c,) = [c for c in r.criteria if c.code == code]
    return c.met


def mayo(bmpc: Any, m: Any, flc: Any) -> RuleResult:
    return smm_mayo_2018(bmpc_percent=bmpc, m_protein_g_dl=m, flc_ratio_involved_uninvolved=flc)


NO_FISH: dict[str, Any] = dict(t4_14=False, t14_16=False, gain1q=False, del13q=False)


def imwg(flc: Any, m: Any, bmpc: Any, **fish: Any) -> RuleResult:
    return smm_imwg_2020(flc_ratio_involved_uninvolved=flc, m_protein_g_dl=m, bmpc_percent=bmpc, **{**NO_FISH, **fish})


# ---------------------------------------------------------------------------------------------------
# Mayo 2018 20/2/20
# ---------------------------------------------------------------------------------------------------


def test_edge_case_e20_values_exactly_at_the_cut_offs_are_not_risk_factors() -> None:
    """b2m reference E20: M-protein exactly 2 g/dL, FLCr exactly 20, BMPC exactly 20% are not factors (strict >)."""
    r = mayo(20.0, 2.0, 20.0)
    assert (crit(r, "bmpc"), crit(r, "m_protein"), crit(r, "flc_ratio")) == (False, False, False)
    assert (r.score, r.stage) == (0, "low")


@pytest.mark.parametrize(
    ("bmpc", "m", "flc", "score", "group"),
    [
        (20.1, 2.0, 20.0, 1, "intermediate"),
        (20.0, 2.1, 20.0, 1, "intermediate"),
        (20.0, 2.0, 20.1, 1, "intermediate"),
        (25.0, 2.5, 10.0, 2, "high"),
        (25.0, 2.5, 25.0, 3, "high"),
    ],
)
def test_mayo_groups(bmpc: float, m: float, flc: float, score: int, group: str) -> None:
    """b2m reference SMM-1: factors BMPC > 20%, M-protein > 2 g/dL, FLCr > 20; low 0, intermediate 1, high 2-3."""
    r = mayo(bmpc, m, flc)
    assert (r.score, r.stage) == (score, group)


def test_mayo_outcomes_are_the_imwg_2020_validation_figures() -> None:
    """b2m reference SMM-2 [C]: 2/20/20 in the IMWG cohort (n = 1,996): 2-year progression 6 / 18 / 44%."""
    expected = {"low": 6, "intermediate": 18, "high": 44}
    for args, group in (
        ((10.0, 1.0, 5.0), "low"),
        ((25.0, 1.0, 5.0), "intermediate"),
        ((25.0, 3.0, 5.0), "high"),
    ):
        r = mayo(*args)
        assert r.stage == group
        (o,) = [o for o in r.outcomes if o.measure == "2-year progression to multiple myeloma"]
        assert (o.stage, o.value, o.unit, o.status) == (group, expected[group], "%", "C")
        assert o.source.doi == "10.1038/s41408-020-00366-3"


def test_mayo_missing_factor() -> None:
    """b2m reference SMM-1: two factors present put the patient in high (2-3) whatever the third; none present → 0-1."""
    r = mayo(25.0, 2.5, None)
    assert (r.stage, r.score, r.score_range) == ("high", None, (2, 3))
    assert r.missing == ("flc_ratio_involved_uninvolved",)
    r = mayo(10.0, None, 5.0)
    assert r.possible == ("low", "intermediate")
    assert r.outcomes == ()  # outcome policy: figures only once the group is settled
    assert mayo(None, None, None).possible == MAYO_GROUPS


def test_mayo_censored_ratio() -> None:
    """A censored FLC ratio '>100' is > 20; '<15' is not."""
    assert crit(mayo(10.0, 1.0, Censored(">", 100.0)), "flc_ratio") is True
    assert crit(mayo(10.0, 1.0, Censored("<", 15.0)), "flc_ratio") is False


def test_mayo_notes_and_input_checks() -> None:
    r = mayo(10.0, 1.0, 5.0)
    assert "smm_mayo_2018_derivation_figures" in {n.code for n in r.notes if n.kind == "unconfirmed"}
    assert r.rule.source.doi == "10.1038/s41408-018-0077-4"
    with pytest.raises(InputError):
        mayo(120.0, 1.0, 5.0)
    with pytest.raises(InputError):
        mayo(10.0, -1.0, 5.0)


# ---------------------------------------------------------------------------------------------------
# IMWG 2020 scoring tool
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flc", "m", "bmpc", "score"),
    [
        (10.0, 1.0, 5.0, 0),  # FLCr 10 → 0
        (10.5, 1.0, 5.0, 2),  # FLCr 10.5 → 2
        (5.0, 3.0, 5.0, 3),  # M-protein exactly 3.0 → 3
        (5.0, 3.01, 5.0, 4),  # > 3 → 4
        (5.0, 1.5, 5.0, 0),  # M-protein 1.5 → 0
        (5.0, 1.0, 15.0, 0),  # BMPC 15 → 0
        (5.0, 1.0, 15.5, 2),  # BMPC 15.5 → 2
    ],
)
def test_edge_case_e21_bin_edges_are_lower_exclusive(flc: float, m: float, bmpc: float, score: int) -> None:
    """b2m reference E21 [U]: lower-exclusive bins — FLCr 10 → 0, 10.5 → 2; M-protein 3.0 → 3, > 3 → 4;
    BMPC 15 → 0, 15.5 → 2."""
    r = imwg(flc, m, bmpc)
    assert r.score == score
    note = next(n for n in r.notes if n.code == "smm_imwg_2020_bin_edges")
    assert note.kind == "unconfirmed"


@pytest.mark.parametrize(
    ("flc", "m", "bmpc", "fish", "score", "group"),
    [
        (5.0, 1.0, 10.0, {}, 0, "low"),  # 0+0+0+0
        (5.0, 1.0, 16.0, {"t4_14": True}, 4, "low"),  # 0+0+2+2
        (15.0, 2.0, 5.0, {}, 5, "low_intermediate"),  # 2+3+0+0
        (50.0, 2.0, 5.0, {}, 8, "low_intermediate"),  # 5+3+0+0
        (30.0, 3.5, 18.0, {}, 9, "intermediate_high"),  # 3+4+2+0
        (30.0, 2.0, 25.0, {"t4_14": True}, 11, "intermediate_high"),  # 3+3+3+2
        (50.0, 3.5, 25.0, {}, 12, "intermediate_high"),  # 5+4+3+0
        (50.0, 3.5, 18.0, {"del13q": True}, 13, "high"),  # 5+4+2+2
        (50.0, 4.0, 50.0, {"gain1q": True, "t14_16": True}, 17, "high"),  # 5+4+6+2 (FISH counted once)
    ],
)
def test_imwg_2020_totals_and_groups(
    flc: float, m: float, bmpc: float, fish: dict[str, bool], score: int, group: str
) -> None:
    """b2m reference SMM-3: points FLCr 0/2/3/5, M-protein 0/3/4, BMPC 0/2/3/5/6, FISH 2; groups 0-4,
    5-8, 9-12, > 12."""
    r = imwg(flc, m, bmpc, **fish)
    assert (r.score, r.stage) == (score, group)


def test_imwg_2020_outcomes_are_secondary_source() -> None:
    """b2m reference SMM-4 [S]: 2-year progression 3.8 / 26 / 51 / 73% (QxMD, n = 689) and HR 7.56 / 17.3 / 31.9. Under
    the outcome policy an [S] figure is never an outcome: the settled group's figures are in a note."""
    expected = dict(zip(IMWG_GROUPS, ("3.8", "26", "51", "73"), strict=True))
    hazard = dict(zip(IMWG_GROUPS, (None, "7.56", "17.3", "31.9"), strict=True))
    for args, group in (
        ((5.0, 1.0, 10.0), "low"),  # 0
        ((15.0, 2.0, 5.0), "low_intermediate"),  # 2 + 3 = 5
        ((30.0, 3.5, 18.0), "intermediate_high"),  # 3 + 4 + 2 = 9
        ((50.0, 4.0, 50.0), "high"),  # 5 + 4 + 6 = 15
    ):
        r = imwg(*args)
        assert r.stage == group
        assert r.outcomes == ()
        (note,) = [n for n in r.notes if n.code == "secondary_outcomes"]
        assert note.kind == "unconfirmed"
        assert f"2-year progression to multiple myeloma {expected[group]} %" in note.text
        if hazard[group] is not None:
            assert f"hazard ratio for progression vs the low group {hazard[group]}" in note.text
        else:
            assert "hazard ratio" not in note.text
    open_group = imwg(None, None, None, t4_14=None)
    assert open_group.outcomes == () and "secondary_outcomes" not in {n.code for n in open_group.notes}


def test_mayo_outcomes_only_for_the_settled_group() -> None:
    """b2m reference SMM-2 [C] 2/20/20 validation figures (6 / 18 / 44% 2-year progression; 38 / 33 / 29% of patients)
    are attached for the settled group only, and no [S] figure is attached."""
    r = mayo(25.0, 2.5, None)  # high whatever the FLC ratio
    assert r.stage == "high"
    assert {(o.measure, o.value) for o in r.outcomes} == {
        ("2-year progression to multiple myeloma", 44),
        ("share of patients", 29),
    }
    assert all(o.stage == "high" and o.status == "C" for o in r.outcomes)


def test_imwg_2020_missing_fish_reports_a_range() -> None:
    """b2m reference SMM-5 [C] complete-case fit: FISH unknown with 0+0+2 known → total 2 or 4, both 'low'."""
    r = imwg(5.0, 1.0, 18.0, t4_14=None, t14_16=None, gain1q=None, del13q=None)
    assert (r.score, r.score_range, r.stage) == (None, (2, 4), "low")
    assert set(r.missing) == {"t4_14", "t14_16", "gain1q", "del13q"}
    assert "smm_imwg_2020_complete_case" in {n.code for n in r.notes if n.kind == "missing"}


def test_imwg_2020_known_negative_del13q_settles_the_fish_factor() -> None:
    """b2m reference SMM-3 FISH list t(4;14), t(14;16), +1q, del13q (Mateos abstract [D]): all four known
    negative score 0 and settle the factor; del(13q) unknown alone leaves it open (0 or 2); del(13q) alone
    present scores 2."""
    r = imwg(5.0, 1.0, 5.0)  # NO_FISH: every abnormality known negative, del13q=False included
    assert crit(r, "fish") is False
    assert (r.score, r.score_range, r.missing) == (0, (0, 0), ())
    assert "smm_imwg_2020_complete_case" not in {n.code for n in r.notes}
    open_ = imwg(5.0, 1.0, 5.0, del13q=None)
    assert crit(open_, "fish") is None
    assert (open_.score, open_.score_range, open_.missing) == (None, (0, 2), ("del13q",))
    present = imwg(5.0, 1.0, 5.0, del13q=True)
    assert crit(present, "fish") is True and present.score == 2


def test_imwg_2020_one_positive_fish_settles_the_factor() -> None:
    """FISH factor: any one abnormality present scores 2; the others need not be known."""
    r = imwg(5.0, 1.0, 5.0, t4_14=True, t14_16=None, gain1q=None, del13q=None)
    assert r.score == 2
    assert r.missing == ()


def test_imwg_2020_only_reachable_totals_count() -> None:
    """BMPC unknown with 5+3+0 known: totals 8, 10, 11, 13 or 14 → low-int, int-high or high."""
    r = imwg(50.0, 2.0, None)
    assert r.possible == ("low_intermediate", "intermediate_high", "high")
    assert r.score_range == (8, 14)
    r = imwg(5.0, 1.0, 12.0, t4_14=None)  # 0 + FISH {0, 2} → low either way
    assert r.stage == "low"


def test_imwg_2020_notes_on_every_result() -> None:
    """b2m reference D16, D14, D15: FISH list, low-group bounds and rounded risks are [D]; bin edges [U]
    (b2m reference U13) — noted on every result."""
    for r in (imwg(5.0, 1.0, 10.0), imwg(None, None, None, t4_14=None)):
        kinds = {(n.code, n.kind) for n in r.notes}
        assert ("smm_imwg_2020_fish_list", "discrepancy") in kinds
        assert ("smm_imwg_2020_low_group", "discrepancy") in kinds
        assert ("smm_imwg_2020_risk_figures", "discrepancy") in kinds
        assert ("smm_imwg_2020_bin_edges", "unconfirmed") in kinds
    assert imwg(None, None, None, t4_14=None).possible == IMWG_GROUPS


def test_imwg_2020_censored_and_bad_input() -> None:
    assert imwg(Censored(">", 40.0), 1.0, 5.0).score == 5
    assert imwg(Censored("<", 20.0), 1.0, 5.0).score_range == (0, 2)
    with pytest.raises(InputError):
        imwg(5.0, 1.0, 5.0, t4_14="yes")
    with pytest.raises(InputError):
        imwg(float("inf"), 1.0, 5.0)


# ---------------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------------

VALUES = st.fixed_dictionaries(
    {
        "bmpc": st.one_of(st.sampled_from([15.0, 20.0, 30.0, 40.0]), st.floats(0.0, 100.0)),
        "m": st.one_of(st.sampled_from([1.5, 2.0, 3.0]), st.floats(0.0, 8.0)),
        "flc": st.one_of(st.sampled_from([10.0, 20.0, 25.0, 40.0]), st.floats(0.0, 500.0)),
        "t4_14": st.booleans(),
        "t14_16": st.booleans(),
        "gain1q": st.booleans(),
        "del13q": st.booleans(),
    }
)


def _mayo(v: dict[str, Any]) -> RuleResult:
    return mayo(v["bmpc"], v["m"], v["flc"])


def _imwg(v: dict[str, Any]) -> RuleResult:
    fish = {k: v[k] for k in NO_FISH}
    return smm_imwg_2020(flc_ratio_involved_uninvolved=v["flc"], m_protein_g_dl=v["m"], bmpc_percent=v["bmpc"], **fish)


@settings(max_examples=300, deadline=None)
@given(VALUES, st.sets(st.sampled_from(["bmpc", "m", "flc", "t4_14", "t14_16", "gain1q", "del13q"])))
def test_unknown_inputs_keep_every_completion_possible(v: dict[str, Any], blank: set[str]) -> None:
    """Invariant: blanking inputs keeps the full input's group possible and its total in range."""
    partial = {**v, **{k: None for k in blank}}
    for f in (_mayo, _imwg):
        full, part = f(v), f(partial)
        assert full.stage is not None and full.score is not None
        assert full.stage in part.possible
        assert part.score_range is not None
        assert part.score_range[0] <= full.score <= part.score_range[1]


@settings(max_examples=300, deadline=None)
@given(
    VALUES,
    st.sampled_from(["bmpc", "m", "flc", "t4_14", "t14_16", "gain1q", "del13q"]),
    st.floats(0.0, 50.0),
)
def test_adverse_change_never_lowers_score_or_group(v: dict[str, Any], field: str, delta: float) -> None:
    """Invariant: more marrow, M-protein, FLC ratio or a FISH abnormality never lowers a score or group."""
    worse = dict(v)
    worse[field] = True if field in NO_FISH else (min(100.0, v[field] + delta) if field == "bmpc" else v[field] + delta)
    for f, order in ((_mayo, MAYO_GROUPS), (_imwg, IMWG_GROUPS)):
        before, after = f(v), f(worse)
        assert before.score is not None and after.score is not None
        assert after.score >= before.score
        assert before.stage is not None and after.stage is not None
        assert order.index(after.stage) >= order.index(before.stage)


def test_ratio_below_1_is_flagged_as_a_likely_kappa_lambda_ratio() -> None:
    """b2m reference E22: the ratio is involved/uninvolved (λ/κ for a λ clone), so a value below 1 is flagged."""
    for r in (mayo(10.0, 1.0, 0.04), imwg(0.04, 1.0, 5.0)):
        assert any(n.code.endswith("flc_ratio_below_1") and n.kind == "caveat" for n in r.notes)
    for r in (mayo(10.0, 1.0, 25.0), imwg(25.0, 1.0, 5.0)):
        assert not any(n.code.endswith("flc_ratio_below_1") for n in r.notes)


def test_imwg_2020_variable_scoring_points_in_every_bin_left_is_met() -> None:
    """FLCr '>20' lies in the 2-, 3- or 5-point bins: the variable scores points whatever its bin."""
    r = imwg(Censored(">", 20.0), 1.0, 5.0)
    assert crit(r, "flc_ratio") is True
    assert r.score_range == (2, 5)
    assert crit(imwg(Censored("<", 20.0), 1.0, 5.0), "flc_ratio") is None
