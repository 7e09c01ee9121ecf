"""ISS, R-ISS and R2-ISS against the published rules and the edge-case table (b2m reference EDGE-2).

Oracle: the published rules as written in the b2m reference (docs/reference/): ISS from Greipp
2005 (DOI 10.1200/JCO.2005.04.242; b2m reference ISS-2), R-ISS from Palumbo 2015 (DOI 10.1200/JCO.2015.61.2267;
b2m reference RISS-2), R2-ISS from D'Agostino 2022 (DOI 10.1200/JCO.21.02614; b2m reference R2ISS-2), and the edge-case
rows (b2m reference EDGE-2). Every case runs through both the single-patient and the batch path (``stage_both``
asserts they agree).
"""

from __future__ import annotations

import pytest

from b2m.units import Censored
from tests.staging_helpers import stage_both

NEG = {"del17p": False, "t4_14": False, "t14_16": False, "gain1q": False}
NORMAL_LDH = {"ldh_u_l": 180.0, "ldh_uln_u_l": 250.0}


@pytest.mark.parametrize(
    ("b2m", "albumin", "expected"),
    [
        (3.49, 3.5, "I"),  # b2m reference ISS-2: B2M < 3.5 and albumin >= 3.5
        (3.5, 4.0, "II"),  # b2m reference E1: exactly 3.5 is not < 3.5
        (3.4, 3.49, "II"),  # b2m reference ISS-2: B2M < 3.5 with albumin < 3.5 is stage II
        (5.49, 4.5, "II"),  # b2m reference ISS-2: 3.5 <= B2M < 5.5, any albumin
        (5.5, 4.5, "III"),  # b2m reference E2: exactly 5.5 is stage III (>=)
        (12.0, 2.0, "III"),  # b2m reference ISS-2: albumin irrelevant for III
        (2.0, 3.5, "I"),  # b2m reference E3: albumin exactly 3.5 with B2M < 3.5 is stage I
    ],
)
def test_iss_table(b2m: float, albumin: float, expected: str) -> None:
    """Greipp 2005 stage table (b2m reference ISS-2 and E1-E3)."""
    r = stage_both(b2m_mg_l=b2m, albumin_g_dl=albumin).iss
    assert r.stage == expected
    assert r.possible == (expected,)


def test_iss_b2m_below_3_5_without_albumin_is_not_assessable() -> None:
    """b2m reference E5: B2M < 3.5 with albumin missing: I vs II undetermined; albumin named as missing."""
    r = stage_both(b2m_mg_l=2.1).iss
    assert r.stage is None
    assert r.possible == ("I", "II")
    assert "albumin_g_dl" in r.missing


@pytest.mark.parametrize(("b2m", "expected"), [(3.5, "II"), (4.2, "II"), (5.5, "III"), (9.0, "III")])
def test_iss_b2m_at_or_above_3_5_needs_no_albumin(b2m: float, expected: str) -> None:
    """b2m reference ISS-3 missing-data note and b2m reference E5: B2M >= 3.5 settles the stage without albumin."""
    assert stage_both(b2m_mg_l=b2m).iss.stage == expected


def test_iss_unknown_b2m_with_low_albumin_excludes_stage_i() -> None:
    """b2m reference ISS-2: stage I needs albumin >= 3.5, so albumin 3.0 leaves II or III."""
    assert stage_both(albumin_g_dl=3.0).iss.possible == ("II", "III")


def test_iss_nothing_known_leaves_every_stage() -> None:
    """Unknown is never normal: no inputs leaves all three stages (brief, non-negotiables)."""
    r = stage_both().iss
    assert r.possible == ("I", "II", "III") and r.stage is None


def test_censored_b2m_below_cut_off_decides() -> None:
    """Issue #2: a censored '<0.5' mg/L B2M is used where its direction settles the answer: < 3.5."""
    assert stage_both(b2m_mg_l=Censored("<", 0.5), albumin_g_dl=4.0).iss.stage == "I"


def test_censored_b2m_above_cut_off_decides() -> None:
    """A '>20' mg/L B2M is >= 5.5 whatever its exact value: ISS III (b2m reference ISS-2)."""
    assert stage_both(b2m_mg_l=Censored(">", 20.0)).iss.stage == "III"


def test_censored_b2m_straddling_cut_off_stays_open() -> None:
    """'<5' mg/L could be below or above 3.5: ISS I or II with albumin 4 (never silently I)."""
    assert stage_both(b2m_mg_l=Censored("<", 5.0), albumin_g_dl=4.0).iss.possible == ("I", "II")


def test_censored_exactly_at_cut_off() -> None:
    """'<3.5' mg/L is strictly below 3.5, so B2M < 3.5 holds (b2m reference E1 boundary logic)."""
    assert stage_both(b2m_mg_l=Censored("<", 3.5), albumin_g_dl=4.0).iss.stage == "I"


def test_r_iss_stage_i() -> None:
    """b2m reference RISS-2: ISS I, no high-risk CA, normal LDH -> R-ISS I."""
    assert stage_both(b2m_mg_l=2.0, albumin_g_dl=4.0, **NORMAL_LDH, **NEG).r_iss.stage == "I"


def test_r_iss_iss_iii_standard_risk_normal_ldh_is_ii() -> None:
    """b2m reference RISS-2 truth-table gotcha: ISS III + standard-risk CA + normal LDH = R-ISS II, not III."""
    assert stage_both(b2m_mg_l=6.0, albumin_g_dl=3.0, **NORMAL_LDH, **NEG).r_iss.stage == "II"


@pytest.mark.parametrize("abnormality", ["del17p", "t4_14", "t14_16"])
def test_r_iss_iii_by_each_high_risk_abnormality(abnormality: str) -> None:
    """b2m reference RISS-2: ISS III and any of del(17p), t(4;14), t(14;16) -> R-ISS III."""
    fish = {**NEG, abnormality: True}
    assert stage_both(b2m_mg_l=6.0, albumin_g_dl=3.0, **NORMAL_LDH, **fish).r_iss.stage == "III"


def test_r_iss_iii_by_high_ldh() -> None:
    """b2m reference RISS-2: ISS III and LDH above ULN -> R-ISS III."""
    assert stage_both(b2m_mg_l=6.0, albumin_g_dl=3.0, ldh_u_l=300.0, ldh_uln_u_l=250.0, **NEG).r_iss.stage == "III"


def test_ldh_equal_to_uln_is_normal() -> None:
    """b2m reference E6: LDH exactly = ULN is not above ULN -> normal, so ISS I stays R-ISS I."""
    r = stage_both(b2m_mg_l=2.0, albumin_g_dl=4.0, ldh_u_l=250.0, ldh_uln_u_l=250.0, **NEG)
    assert r.r_iss.stage == "I"
    assert r.r2_iss.score == 0


def test_unknown_uln_is_never_defaulted() -> None:
    """b2m reference E7: LDH without the lab's ULN leaves R-ISS open (no generic ULN plugged in)."""
    r = stage_both(b2m_mg_l=2.0, albumin_g_dl=4.0, ldh_u_l=400.0, **NEG).r_iss
    assert r.possible == ("I", "II")
    assert "ldh_uln_u_l" in r.missing
    assert any(n.code == "ldh_uln_unknown" for n in r.notes)


def test_r_iss_missing_fish_is_not_normal() -> None:
    """Unknown is never normal (b2m reference RISS-4): missing FISH must not be read as normal; ISS I + unknown
    FISH -> I or II."""
    r = stage_both(b2m_mg_l=2.0, albumin_g_dl=4.0, **NORMAL_LDH).r_iss
    assert r.stage is None and r.possible == ("I", "II")
    assert {"del17p", "t4_14", "t14_16"} <= set(r.missing)


def test_r_iss_iss_ii_is_always_ii() -> None:
    """b2m reference RISS-2: ISS II can only be R-ISS II (I needs ISS I, III needs ISS III) - FISH not needed."""
    assert stage_both(b2m_mg_l=4.0, albumin_g_dl=4.0).r_iss.stage == "II"


@pytest.mark.parametrize(
    ("values", "score", "group"),
    [
        ({"b2m_mg_l": 2.0, "albumin_g_dl": 4.0, **NORMAL_LDH, **NEG}, 0, "I"),
        ({"b2m_mg_l": 2.0, "albumin_g_dl": 4.0, **NORMAL_LDH, **{**NEG, "gain1q": True}}, 0.5, "II"),
        ({"b2m_mg_l": 4.0, "albumin_g_dl": 4.0, **NORMAL_LDH, **NEG}, 1, "II"),
        ({"b2m_mg_l": 6.0, "albumin_g_dl": 4.0, **NORMAL_LDH, **NEG}, 1.5, "III"),
        ({"b2m_mg_l": 6.0, "albumin_g_dl": 4.0, **NORMAL_LDH, **{**NEG, "gain1q": True, "t4_14": True}}, 3, "IV"),
        ({"b2m_mg_l": 4.0, "albumin_g_dl": 4.0, **NORMAL_LDH, **{**NEG, "del17p": True, "gain1q": True}}, 2.5, "III"),
        (
            {
                "b2m_mg_l": 6.0,
                "albumin_g_dl": 4.0,
                "ldh_u_l": 300.0,
                "ldh_uln_u_l": 250.0,
                "del17p": True,
                "t4_14": True,
                "t14_16": False,
                "gain1q": True,
            },
            5,
            "IV",
        ),
    ],
)
def test_r2_iss_points_and_groups(values: dict[str, object], score: float, group: str) -> None:
    """b2m reference R2ISS-2 points (ISS II 1, ISS III 1.5, del17p 1, LDH 1, t(4;14) 1, 1q+ 0.5) and groups
    (I 0; II 0.5-1; III 1.5-2.5; IV 3-5), summed by hand from the table."""
    r = stage_both(**values).r2_iss
    assert r.score == score
    assert r.stage == group


def test_r2_iss_t14_16_not_counted() -> None:
    """b2m reference R2ISS-2: t(14;16) was dropped from R2-ISS, so it adds no points."""
    r = stage_both(b2m_mg_l=2.0, albumin_g_dl=4.0, **NORMAL_LDH, **{**NEG, "t14_16": True}).r2_iss
    assert r.score == 0


def test_r2_iss_missing_fish_gives_range() -> None:
    """b2m reference E9: FISH missing -> not assessable; report the min-max possible group.
    ISS II (1) with normal LDH and del17p, t(4;14), 1q unknown: 1 to 3.5 points -> II, III or IV."""
    r = stage_both(b2m_mg_l=4.0, albumin_g_dl=4.0, **NORMAL_LDH).r2_iss
    assert r.score is None
    assert r.score_range == (1.0, 3.5)
    assert r.possible == ("II", "III", "IV")


def test_r2_iss_unknown_factor_that_cannot_change_group() -> None:
    """ISS III 1.5 + del17p 1 + LDH high 1 = 3.5 already IV; unknown 1q (+0.5) keeps IV
    (b2m reference R2ISS-3 groups)."""
    r = stage_both(b2m_mg_l=6.0, ldh_u_l=300.0, ldh_uln_u_l=250.0, del17p=True, t4_14=False, t14_16=False).r2_iss
    assert r.stage == "IV" and r.score is None and r.score_range == (3.5, 4.0)


@pytest.mark.parametrize("setting", ["relapse", "smm", "mgus"])
def test_setting_outside_derivation_is_flagged_not_refused(setting: str) -> None:
    """b2m reference E47: ISS/R-ISS/R2-ISS were derived at diagnosis; other settings are flagged, not refused."""
    r = stage_both(b2m_mg_l=2.0, albumin_g_dl=4.0, setting=setting)
    for result in (r.iss, r.r_iss, r.r2_iss):
        assert any(n.kind == "setting" for n in result.notes)
    assert r.iss.stage == "I"


def test_new_diagnosis_has_no_setting_flag() -> None:
    """b2m reference E47: newly diagnosed is the derivation setting: no setting note."""
    r = stage_both(b2m_mg_l=2.0, albumin_g_dl=4.0, setting="new_diagnosis")
    assert not any(n.kind == "setting" for n in r.iss.notes)


def test_discrepancies_surface_in_every_result() -> None:
    """Brief: [D] choices are recorded and surfaced; the ISS operator discrepancies appear (b2m reference D1, D2)."""
    r = stage_both(b2m_mg_l=5.5, albumin_g_dl=3.5)
    codes = {n.code for n in r.iss.notes}
    assert {"iss_b2m_operator", "iss_albumin_operator", "b2m_at_stage_iii_boundary"} <= codes
    assert any(n.kind == "discrepancy" for n in r.r_iss.notes)
    assert any(n.kind == "discrepancy" for n in r.r2_iss.notes)


def test_unpurified_fish_is_flagged() -> None:
    """b2m reference E10: R-ISS requires CD138-purified iFISH; unsorted marrow is flagged."""
    r = stage_both(b2m_mg_l=2.0, albumin_g_dl=4.0, **NORMAL_LDH, **NEG, fish_cd138_purified=False)
    assert any(n.code == "fish_not_purified" for n in r.r_iss.notes)


def test_published_outcomes_attached_for_determined_stage() -> None:
    """b2m reference ISS-4: ISS median OS 62/44/29 months, n = 10,750 (Greipp 2005), attached with its citation."""
    r = stage_both(b2m_mg_l=6.0).iss
    (o,) = r.outcomes
    assert (o.stage, o.value, o.unit) == ("III", 29, "months")
    assert "10,750" in o.cohort and o.source.doi == "10.1200/JCO.2005.04.242"
    assert stage_both(b2m_mg_l=2.0).iss.outcomes == ()  # undetermined stage: no figure


def test_criteria_that_fired_are_reported() -> None:
    """The criteria shown are those of Greipp 2005: B2M < 3.5 and albumin >= 3.5 for stage I."""
    r = stage_both(b2m_mg_l=2.0, albumin_g_dl=4.0).iss
    assert [c.code for c in r.fired] == ["b2m_lt_3_5", "albumin_ge_3_5"]
    assert "3.5 mg/L" in r.fired[0].description
