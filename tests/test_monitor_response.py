"""IMWG 2016 response and progression over dated series: worked cases written by hand from the criteria.

Oracle: Kumar 2016 (DOI 10.1016/S1470-2045(16)30206-6) as reproduced by the CIBMTR manual [S]
(b2m reference RESP), the edge-case rows (b2m reference E37-E41), and the user-raised edge cases of
pipetcpt/MM_response_module and pharmaverse/admiralonco (b2m reference RESP-11). Each docstring states the criterion and
the arithmetic; no expected value was produced by running b2m. Reductions are from the line's baseline, rises from the
nadir (lowest value from the baseline on).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from b2m.io.series import parse_patient_series
from b2m.monitor.monitor import monitor_patient

BASE = dt.date(2026, 1, 5)  # baseline results
START = dt.date(2026, 1, 10)  # line 1 starts (baseline window: the 30 days up to this date)


def day(i: int) -> str:
    """Date of assessment ``i`` (0 = baseline); assessments are 28 days apart."""
    return (BASE if i == 0 else START + dt.timedelta(days=28 * i)).isoformat()


def _lab(values: Sequence[object | None], unit: str) -> list[dict[str, object]]:
    return [{"date": day(i), "value": v, "unit": unit} for i, v in enumerate(values) if v is not None]


def case(
    *,
    serum: Sequence[object | None] = (),
    urine: Sequence[object | None] = (100,),
    kappa: Sequence[object | None] = (),
    lam: Sequence[object | None] = (),
    flc_unit: str = "mg/L",
    ife: Mapping[int, tuple[str | None, str | None]] | None = None,
    marrow: Mapping[int, tuple[float, bool | None]] | None = None,
    imaging: Mapping[int, str] | None = None,
    lines: Sequence[dict[str, object]] | None = None,
    involved: str | None = "kappa",
) -> dict[str, Any]:
    """A patient document; list position i is assessment i (0 = baseline). By default the baseline urine
    M-protein is 100 mg/24 h (measured, not measurable), so serum-only cases follow serum M-protein."""
    series: dict[str, object] = {
        "m_protein": _lab(serum, "g/dL"),
        "urine_m_protein": _lab(urine, "mg/24 h"),
        "flc_kappa": _lab(kappa, flc_unit),
        "flc_lambda": _lab(lam, flc_unit),
    }
    if ife:
        series["immunofixation"] = [{"date": day(i), "serum": s, "urine": u} for i, (s, u) in sorted(ife.items())]
    if marrow:
        series["marrow_plasma_cells_percent"] = [
            {"date": day(i), "value": v, "clonal": c} for i, (v, c) in sorted(marrow.items())
        ]
    doc: dict[str, Any] = {
        "id": "T",
        "age": 65,
        "sex": "female",
        "series": series,
        "therapy_lines": list(lines) if lines is not None else [{"line": 1, "start": START.isoformat()}],
        "imaging_events": [{"date": day(i), "finding": f} for i, f in sorted((imaging or {}).items())],
    }
    if involved:
        doc["involved_light_chain"] = involved
    return doc


def run(doc: Mapping[str, Any]) -> dict[str, Any]:
    return monitor_patient(parse_patient_series(doc)).to_dict()


def cats(r: Mapping[str, Any]) -> list[str]:
    return [a["category"] for a in r["assessments"]]


def met(assessment: Mapping[str, Any]) -> set[str]:
    return set(assessment["criteria_met"])


# ---------------------------------------------------------------------------------------------
# Measurable disease (b2m reference RESP-2 [S]: serum ≥ 1 g/dL, urine ≥ 200 mg/24 h; else involved FLC ≥ 10 mg/dL
# with an abnormal ratio; else marrow)
# ---------------------------------------------------------------------------------------------


def test_serum_exactly_1_g_dl_is_measurable() -> None:
    """Serum M-protein 1.0 g/dL: measurable ('≥ 1 g/dL', inclusive) -> serum M-protein is followed."""
    r = run(case(serum=[1.0, 0.9]))
    assert r["measurable_disease"]["marker"] == "serum_m_protein"


def test_urine_exactly_200_followed_when_serum_not_measurable() -> None:
    """Serum 0.99 g/dL (< 1, not measurable); urine 200 mg/24 h ('≥ 200', inclusive) -> urine is followed."""
    r = run(case(serum=[0.99], urine=[200, 150]))
    assert r["measurable_disease"]["marker"] == "urine_m_protein"


@pytest.mark.parametrize(
    ("kappa", "lam", "unit", "marker"),
    [
        (100, 10, "mg/L", "flc"),  # involved κ 100 mg/L = 10 mg/dL (≥, inclusive); ratio 10 > 1.65
        (10, 1, "mg/dL", "flc"),  # the same in mg/dL: 10 mg/dL, ratio 10
        (99, 10, "mg/L", "none"),  # 9.9 mg/dL < 10: not measurable, no marrow -> nothing measurable
        (150, 100, "mg/L", "none"),  # 15 mg/dL but ratio 1.5 is normal (0.26-1.65): not measurable
    ],
)
def test_flc_measurable_only_at_10_mg_dl_with_abnormal_ratio(kappa: float, lam: float, unit: str, marker: str) -> None:
    """Serum 0.5 g/dL and urine 150 mg/24 h are not measurable, so FLC decides: involved FLC ≥ 10 mg/dL with an
    abnormal κ/λ ratio (b2m reference RESP-2, E29)."""
    r = run(case(serum=[0.5], urine=[150], kappa=[kappa, kappa], lam=[lam, lam], flc_unit=unit))
    assert r["measurable_disease"]["marker"] == marker


def test_marrow_followed_when_nothing_else_is_measurable() -> None:
    """Serum 0.5, urine 100, κ 20 / λ 15 (ratio 1.33, normal): none measurable; baseline marrow 40% -> marrow."""
    r = run(case(serum=[0.5], urine=[100], kappa=[20], lam=[15], marrow={0: (40, True), 1: (30, True)}))
    assert r["measurable_disease"]["marker"] == "marrow"


def test_missing_baseline_urine_with_unmeasurable_serum_is_not_evaluable() -> None:
    """Serum 0.5 g/dL (not measurable) and no baseline urine: urine (≥ 200?) or FLC cannot be chosen, so the
    marker is undetermined and every assessment is not evaluable, with every category possible."""
    r = run(case(serum=[0.5, 0.4], urine=[None]))
    assert r["measurable_disease"]["marker"] is None
    assert cats(r) == ["not_evaluable"]
    assert set(r["assessments"][0]["possible"]) == {"sCR", "CR", "VGPR", "PR", "MR", "SD", "PD"}
    assert "urine_m_protein (baseline)" in r["assessments"][0]["missing"]


def test_missing_baseline_is_not_evaluable() -> None:
    """No result in the 30 days up to the line start (all results come later): no baseline, nothing to reduce
    from -> not evaluable, never a response."""
    doc = case(serum=[None, 1.5, 1.4], urine=[None, 100, 100])
    r = run(doc)
    assert r["measurable_disease"]["marker"] is None
    assert cats(r) == ["not_evaluable", "not_evaluable"]
    assert r["best_response"]["category"] == "not_evaluable"


# ---------------------------------------------------------------------------------------------
# Response categories (serum-followed unless said otherwise)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (2.26, "SD"),  # (3.0 - 2.26) / 3.0 = 24.7% < 25%
        (2.25, "MR"),  # 25.0% exactly: MR starts at ≥ 25%
        (1.51, "MR"),  # 49.7%: MR ends below PR's 50% (b2m reference E39)
        (1.5, "PR"),  # 50.0% exactly: PR (≥ 50%, b2m reference E40)
        (0.31, "PR"),  # 89.7% < 90%
        (0.3, "VGPR"),  # 90.0% exactly and urine not applicable -> VGPR (≥ 90%, b2m reference E40)
    ],
)
def test_serum_reduction_bands(now: float, expected: str) -> None:
    """Baseline serum 3.0 g/dL; reduction = (3.0 - now) / 3.0. MR ≥ 25%, PR ≥ 50%, VGPR ≥ 90% (with urine
    < 100 mg/24 h when urine is measured). The baseline urine (100 mg/24 h) was not measurable and is not
    repeated, so the urine parts do not apply."""
    assert cats(run(case(serum=[3.0, now]))) == [expected]


@pytest.mark.parametrize(("urine_now", "expected"), [(99, "VGPR"), (100, "PR")])
def test_vgpr_needs_urine_below_100(urine_now: float, expected: str) -> None:
    """Serum 3.0 -> 0.3 g/dL (-90%) with urine 99 mg/24 h: '< 100' holds -> VGPR; urine exactly 100 is not
    < 100 (exclusive) -> not VGPR; serum ≥ 50% and urine < 200 -> PR."""
    assert cats(run(case(serum=[3.0, 0.3], urine=[100, urine_now]))) == [expected]


def test_vgpr_when_m_protein_only_on_immunofixation() -> None:
    """Serum and urine M-protein 0 on electrophoresis but serum immunofixation positive: 'detectable by IFE but
    not by electrophoresis' -> VGPR (not CR, which needs negative immunofixation)."""
    r = run(case(serum=[3.0, 0], urine=[100, 0], ife={1: ("positive", "negative")}))
    assert cats(r) == ["VGPR"]


@pytest.mark.parametrize(("marrow_pct", "expected"), [(4, "CR"), (5, "VGPR")])
def test_cr_needs_marrow_below_5(marrow_pct: float, expected: str) -> None:
    """Serum and urine immunofixation negative (electrophoresis 0): CR if marrow plasma cells < 5%; 5% is not
    < 5 (exclusive) -> VGPR (serum and urine M-protein not detectable by electrophoresis). Clonal plasma cells
    are present, so sCR is excluded."""
    r = run(case(serum=[3.0, 0], urine=[100, 0], ife={1: ("negative", "negative")}, marrow={1: (marrow_pct, True)}))
    assert cats(r) == [expected]


@pytest.mark.parametrize(("kappa", "expected"), [(16.5, "sCR"), (16.6, "CR")])
def test_scr_needs_normal_ratio(kappa: float, expected: str) -> None:
    """CR (IFE negative, marrow 3%) with no clonal plasma cells: sCR if the κ/λ ratio is normal. κ 16.5 / λ 10 =
    1.65 is normal (0.26-1.65 inclusive, b2m reference E29) -> sCR; 16.6 / 10 = 1.66 is abnormal -> CR."""
    r = run(
        case(
            serum=[3.0, 0],
            urine=[100, 0],
            kappa=[200, kappa],
            lam=[10, 10],
            ife={1: ("negative", "negative")},
            marrow={1: (3, False)},
        )
    )
    assert cats(r) == [expected]


def test_cr_without_marrow_is_not_evaluable_but_at_least_vgpr() -> None:
    """Immunofixation negative, electrophoresis 0, no marrow since the line started: CR needs marrow < 5%, so
    CR (or sCR) cannot be shown; serum and urine are not detectable by electrophoresis -> at least VGPR.
    Unknown is never normal: not evaluable, possible sCR/CR/VGPR."""
    r = run(case(serum=[3.0, 0], urine=[100, 0], ife={1: ("negative", "negative")}))
    a = r["assessments"][0]
    assert a["category"] == "not_evaluable"
    assert a["possible"] == ["sCR", "CR", "VGPR"]
    assert a["at_least"] == "VGPR"
    assert "marrow_plasma_cells_percent (since line start)" in a["missing"]


def test_urine_only_disease_categories() -> None:
    """Urine-only disease (serum 0.5 g/dL, urine 1000 mg/24 h). Urine 400: -60% (≥ 50%) but neither ≥ 90% nor
    < 200 -> MR; urine 150: < 200 -> PR; urine 90: < 100 -> VGPR."""
    r = run(case(serum=[0.5, 0.5, 0.5, 0.5], urine=[1000, 400, 150, 90]))
    assert r["measurable_disease"]["marker"] == "urine_m_protein"
    assert cats(r) == ["MR", "PR", "VGPR"]


def test_serum_and_urine_both_followed() -> None:
    """Serum 3.0 g/dL and urine 500 mg/24 h both measurable. Serum 1.4 (-53.3%) with urine 300 (-40%: neither
    ≥ 90% nor < 200) -> not PR; serum ≥ 25% but urine < 50% -> not MR -> SD. Serum 1.4 with urine 240 (-52%)
    -> MR (serum ≥ 25% and urine ≥ 50%)."""
    r = run(case(serum=[3.0, 1.4, 1.4], urine=[500, 300, 240]))
    assert r["measurable_disease"]["followed"] == ["serum_m_protein", "urine_m_protein"]
    assert cats(r) == ["SD", "MR"]


# ---------------------------------------------------------------------------------------------
# Progression (PD) rules
# ---------------------------------------------------------------------------------------------


def test_pd_serum_rise_of_exactly_half_g_dl() -> None:
    """b2m reference E37: baseline 3.0 g/dL, nadir 1.0, now 1.5: +50% from the nadir and +0.5 g/dL absolute ->
    PD (≥ 25% and ≥ 0.5 g/dL, Kumar 2016)."""
    r = run(case(serum=[3.0, 1.0, 1.5]))
    assert cats(r) == ["PR", "PD"]
    assert "pd_serum_m_protein" in met(r["assessments"][1])
    assert any(n["code"] == "imwg2016_pd_serum_absolute_rise" for n in r["assessments"][1]["notes"])


def test_pd_both_thresholds_exactly_at_the_boundary() -> None:
    """Nadir 2.0, now 2.5: +25% exactly and +0.5 g/dL exactly -> PD (both inclusive)."""
    assert cats(run(case(serum=[3.0, 2.0, 2.5])))[-1] == "PD"


def test_no_pd_below_half_g_dl() -> None:
    """Nadir 1.0, now 1.49: +0.49 g/dL < 0.5 -> not PD; reduction from 3.0 is (3.0 - 1.49) / 3.0 = 50.3% -> PR."""
    assert cats(run(case(serum=[3.0, 1.0, 1.49]))) == ["PR", "PR"]


def test_no_pd_when_only_the_relative_rise_holds() -> None:
    """Nadir 0.2, now 0.6: +200% but only +0.4 g/dL -> not PD; (3.0 - 0.6) / 3.0 = 80% -> PR. (0.2 is a 93.3%
    reduction -> VGPR.)"""
    assert cats(run(case(serum=[3.0, 0.2, 0.6]))) == ["VGPR", "PR"]


def test_no_pd_when_only_the_absolute_rise_holds() -> None:
    """Baseline 3.0, nadir 2.9 (SD), now 3.5: +0.6 g/dL but +20.7% < 25% -> not PD (SD); now 3.7: +0.8 and
    +27.6% -> PD."""
    assert cats(run(case(serum=[3.0, 2.9, 3.5]))) == ["SD", "SD"]
    assert cats(run(case(serum=[3.0, 2.9, 3.7]))) == ["SD", "PD"]


def test_pd_high_nadir_rule() -> None:
    """Nadir ≥ 5 g/dL: a rise ≥ 1 g/dL is PD. Baseline 8.0; 5.5 (-31.3%, MR); 5.0 (-37.5%, MR); 6.0: +1.0 g/dL
    from the 5.0 nadir is only +20% (< 25%) but the nadir was ≥ 5 -> PD by the high-nadir rule."""
    r = run(case(serum=[8.0, 5.5, 5.0, 6.0]))
    assert cats(r) == ["MR", "MR", "PD"]
    fired = met(r["assessments"][2])
    assert "pd_serum_m_protein_high_nadir" in fired
    assert "pd_serum_m_protein" not in fired


def test_high_nadir_rule_needs_nadir_of_5() -> None:
    """Nadir 4.9 (< 5): the ≥ 1 g/dL rule does not apply; 5.9 is +1.0 g/dL = +20.4% < 25% -> not PD; reduction
    (8.0 - 5.9) / 8.0 = 26.25% -> MR."""
    assert cats(run(case(serum=[8.0, 5.5, 4.9, 5.9]))) == ["MR", "MR", "MR"]


@pytest.mark.parametrize(("now", "expected"), [(600, "PD"), (599, "SD")])
def test_pd_urine(now: float, expected: str) -> None:
    """Urine-only disease, baseline 1000 mg/24 h, nadir 400 (-60%, MR). 600: +200 mg/24 h (≥ 200) and +50% ->
    PD; 599: +199 < 200 -> not PD; (1000 - 599) / 1000 = 40.1% < 50% -> SD."""
    r = run(case(serum=[0.5, 0.5, 0.5], urine=[1000, 400, now]))
    assert cats(r) == ["MR", expected]


def test_no_pd_urine_when_rise_is_under_25_percent() -> None:
    """Urine-only disease, baseline 1000 (the nadir), now 1200: +200 mg/24 h but +20% < 25% -> SD."""
    assert cats(run(case(serum=[0.5, 0.5], urine=[1000, 1200]))) == ["SD"]


@pytest.mark.parametrize(
    ("kappa_now", "unit", "expected"),
    [
        (300, "mg/L", "SD"),  # dFLC 290: +100 mg/L = exactly 10 mg/dL, not > 10 (b2m reference E38)
        (301, "mg/L", "PD"),  # dFLC 291: +101 mg/L > 100 and +53.2%
        (30, "mg/dL", "SD"),  # the same case reported in mg/dL: +10 mg/dL exactly
    ],
)
def test_pd_flc_difference(kappa_now: float, unit: str, expected: str) -> None:
    """FLC-only disease: κ 500 / λ 10 (dFLC 490). κ 200 -> dFLC 190, (490 - 190) / 490 = 61.2% ≥ 50% -> PR.
    Then the FLC PD rule needs ≥ 25% and > 10 mg/dL (100 mg/L) above the dFLC nadir of 190; a 300 κ gives
    (490 - 290) / 490 = 40.8%, not PR, and FLC-only disease has no MR -> SD."""
    scale = 10 if unit == "mg/dL" else 1
    r = run(
        case(
            serum=[0.2],
            urine=[50],
            kappa=[500 / scale, 200 / scale, kappa_now],
            lam=[10 / scale, 10 / scale, 10 / scale],
            flc_unit=unit,
        )
    )
    assert r["measurable_disease"]["marker"] == "flc"
    assert cats(r) == ["PR", expected]


@pytest.mark.parametrize(("marrow_now", "expected"), [(25, "PD"), (24, "SD")])
def test_pd_marrow(marrow_now: float, expected: str) -> None:
    """Marrow-only disease (serum 0.5, urine 100, κ/λ 20/15 normal ratio), baseline marrow 40%. 15%: (40 - 15) /
    40 = 62.5% ≥ 50% with baseline ≥ 30% -> PR. 25%: +10 points (≥ 10) and +66.7% -> PD; 24%: +9 points ->
    not PD; (40 - 24) / 40 = 40% -> not PR; marrow-only disease has no MR -> SD."""
    r = run(
        case(
            serum=[0.5], urine=[100], kappa=[20], lam=[15], marrow={0: (40, True), 1: (15, True), 2: (marrow_now, True)}
        )
    )
    assert cats(r) == ["PR", expected]


def test_marrow_pr_needs_baseline_of_30_percent() -> None:
    """Baseline marrow 29% (< 30%): a reduction to 10% (-65.5%) is not PR for marrow-only disease -> SD."""
    r = run(case(serum=[0.5], urine=[100], kappa=[20], lam=[15], marrow={0: (29, True), 1: (10, True)}))
    assert cats(r) == ["SD"]


def test_pd_new_lesion_overrides_a_falling_m_protein() -> None:
    """Serum 3.0 -> 1.0 (-66.7%, PR by M-protein) but a new bone lesion on the same date: PD (new lesions)."""
    r = run(case(serum=[3.0, 1.0], imaging={1: "new_bone_lesion"}))
    assert cats(r) == ["PD"]
    assert "pd_new_lesion" in met(r["assessments"][0])


def test_relapse_from_cr() -> None:
    """CR on two consecutive assessments (IFE negative, marrow 2% with clonal cells, electrophoresis 0), then
    serum immunofixation turns positive with electrophoresis still 0 on two consecutive assessments: relapse
    from CR (reappearance on immunofixation, b2m reference RESP-6 [S]), confirmed. Those assessments are VGPR (not
    detectable by electrophoresis), not PD (no 0.5 g/dL rise)."""
    r = run(
        case(
            serum=[3.0, 0, 0, 0, 0],
            urine=[100, 0, 0, 0, 0],
            ife={
                1: ("negative", "negative"),
                2: ("negative", "negative"),
                3: ("positive", "negative"),
                4: ("positive", "negative"),
            },
            marrow={1: (2, True)},
        )
    )
    assert cats(r) == ["CR", "CR", "VGPR", "VGPR"]
    (event,) = r["progression"]
    assert event["type"] == "relapse_from_cr"
    assert event["date"] == day(3)
    assert event["confirmed"] is True
    assert event["confirmed_by"] == day(4)


def test_relapse_from_cr_by_marrow_5_percent() -> None:
    """After a confirmed CR, marrow plasma cells of 5% (≥ 5%, inclusive) on two consecutive assessments is
    relapse from CR even with negative immunofixation; the category is VGPR (marrow ≥ 5% excludes CR)."""
    r = run(
        case(
            serum=[3.0, 0, 0, 0, 0],
            urine=[100, 0, 0, 0, 0],
            ife={i: ("negative", "negative") for i in range(1, 5)},
            marrow={1: (2, True), 3: (5, True), 4: (6, True)},
        )
    )
    assert cats(r) == ["CR", "CR", "VGPR", "VGPR"]
    assert [(e["type"], e["confirmed"]) for e in r["progression"]] == [("relapse_from_cr", True)]


def test_light_chain_escape() -> None:
    """IgG-κ disease followed by serum M-protein (3.0 g/dL); κ 200 / λ 10 at baseline. Serum 0.5 (-83.3%, PR)
    with dFLC 20. Then serum stays 0.5 but κ 180 (dFLC 170): +150 mg/L > 100 and +750% from the dFLC nadir of
    20 -> PD by light-chain escape (b2m extension); κ 300 next -> confirmed."""
    r = run(case(serum=[3.0, 0.5, 0.5, 0.5], kappa=[200, 30, 180, 300], lam=[10, 10, 10, 10]))
    assert cats(r) == ["PR", "PD", "PD"]
    assert met(r["assessments"][1]) >= {"pd_light_chain_escape"}
    (event,) = r["progression"]
    assert (event["type"], event["confirmed"]) == ("light_chain_escape", True)
    assert any(n["code"] == "imwg2016_light_chain_escape" for n in r["assessments"][1]["notes"])


def test_no_light_chain_escape_under_10_mg_dl() -> None:
    """Same patient, κ 100 instead of 180: dFLC 90, +70 mg/L from 20 (not > 100) -> no escape; serum still
    -83.3% -> PR."""
    assert cats(run(case(serum=[3.0, 0.5, 0.5], kappa=[200, 30, 100], lam=[10, 10, 10]))) == ["PR", "PR"]


def test_heavy_chain_appears_in_light_chain_disease() -> None:
    """pipetcpt/MM_response_module PR #4 (switching between light-chain-only and intact-immunoglobulin disease;
    b2m reference RESP-11): FLC-only disease (κ 500 / λ 10, serum 0, urine 50). κ 100 -> dFLC 90, (490 - 90) / 490 =
    81.6% -> PR. Then a serum M-spike of 0.6 g/dL appears: +0.6 g/dL from a nadir of 0 (≥ 0.5, and any rise from 0 is ≥
    25%) -> PD by the serum rule, with a note on the switch."""
    r = run(case(serum=[0, 0, 0.6], urine=[50], kappa=[500, 100, 100], lam=[10, 10, 10]))
    assert r["measurable_disease"]["marker"] == "flc"
    assert cats(r) == ["PR", "PD"]
    assert "pd_serum_m_protein" in met(r["assessments"][1])
    assert any(n["code"] == "heavy_chain_m_protein_in_flc_disease" for n in r["assessments"][1]["notes"])


# ---------------------------------------------------------------------------------------------
# Confirmation (b2m reference RESP-8 [S], b2m reference E41) and best response
# ---------------------------------------------------------------------------------------------


def test_single_response_is_unconfirmed() -> None:
    """One PR (3.0 -> 1.2, -60%) and nothing after: unconfirmed; best response not evaluable (PR seen once)."""
    r = run(case(serum=[3.0, 1.2]))
    assert r["assessments"][0]["confirmed"] is False
    assert r["best_response"]["category"] == "not_evaluable"
    assert r["best_response"]["best_unconfirmed"] == "PR"


def test_two_consecutive_confirm() -> None:
    """PR (-60%) on two consecutive assessments: both confirmed; best response PR, first reached at the first."""
    r = run(case(serum=[3.0, 1.2, 1.1]))
    assert [a["confirmed"] for a in r["assessments"]] == [True, True]
    best = r["best_response"]
    assert (best["category"], best["confirmed"], best["date"], best["confirmed_by"]) == ("PR", True, day(1), day(2))


def test_better_then_worse_confirms_only_the_worse() -> None:
    """VGPR (0.3, -90%) then PR (0.6, -80%): the VGPR has no second VGPR -> unconfirmed; the PR is confirmed by
    the adjacent VGPR (at least as good) -> best confirmed response PR."""
    r = run(case(serum=[3.0, 0.3, 0.6]))
    assert cats(r) == ["VGPR", "PR"]
    assert [a["confirmed"] for a in r["assessments"]] == [False, True]
    assert r["best_response"]["category"] == "PR"
    assert r["best_response"]["best_unconfirmed"] == "VGPR"


def test_pd_on_first_record_with_no_later_assessment() -> None:
    """pharmaverse/admiralonco PR #280 (b2m reference RESP-11): PD on the first, lab-only record (3.0 -> 4.0:
    +1.0 g/dL, +33%) with no later assessment -> PD unconfirmed, best response not evaluable, no
    confirmed-progression alert."""
    r = run(case(serum=[3.0, 4.0]))
    assert cats(r) == ["PD"]
    assert r["assessments"][0]["confirmed"] is False
    assert any(n["code"] == "pd_first_record_unconfirmed" for n in r["assessments"][0]["notes"])
    assert r["best_response"]["category"] == "not_evaluable"
    assert [(e["type"], e["confirmed"]) for e in r["progression"]] == [("progression", False)]
    codes = [a["code"] for a in r["alerts"]]
    assert "confirmed_progression" not in codes
    assert "progression_awaiting_confirmation" in codes


def test_two_consecutive_pd_confirm_progression() -> None:
    """PD twice (4.0 then 4.5 from a 3.0 baseline: +1.0 and +1.5 g/dL) -> confirmed progression, alert."""
    r = run(case(serum=[3.0, 4.0, 4.5]))
    assert cats(r) == ["PD", "PD"]
    (event,) = r["progression"]
    assert (event["date"], event["confirmed"], event["confirmed_by"]) == (day(1), True, day(2))
    assert [a["code"] for a in r["alerts"] if a["severity"] == "warning"] == ["confirmed_progression"]
    assert r["best_response"]["category"] == "PD"


def test_not_evaluable_assessment_breaks_the_pair() -> None:
    """Serum 3.0 and urine 500 followed. PR (serum 1.4 -53.3%, urine 40 < 200), then an assessment without
    urine: the urine PD rule cannot be excluded -> not evaluable (PD possible), then PR again. The two PRs are
    not consecutive -> neither is confirmed."""
    r = run(case(serum=[3.0, 1.4, 1.4, 1.4], urine=[500, 40, None, 40]))
    assert cats(r) == ["PR", "not_evaluable", "PR"]
    middle = r["assessments"][1]
    assert "PD" in middle["possible"]
    assert "urine_m_protein" in middle["missing"]
    assert [a["confirmed"] for a in r["assessments"]] == [False, False, False]


def test_pd_cannot_be_confirmed_after_new_therapy() -> None:
    """PD on the last assessment of line 1 (3.0 -> 1.0 -> 1.6: +0.6, +60%) and line 2 starts before any repeat:
    the PD is unconfirmed (confirmation must come before new therapy)."""
    lines = [{"line": 1, "start": START.isoformat()}, {"line": 2, "start": (START + dt.timedelta(days=70)).isoformat()}]
    r = run(case(serum=[3.0, 1.0, 1.6, 1.5], lines=lines))
    line1 = [a for a in r["assessments"] if a["line"] == 1]
    assert [a["category"] for a in line1] == ["PR", "PD"]
    assert line1[1]["confirmed"] is False
    assert any(n["code"] == "not_confirmed_before_new_line" for n in line1[1]["notes"])


# ---------------------------------------------------------------------------------------------
# Re-baselining at a new line of therapy
# ---------------------------------------------------------------------------------------------


def test_new_line_is_rebaselined() -> None:
    """Line 1: 3.0 -> 0.6 (-80%, PR) -> 1.2 (+0.6 from the 0.6 nadir, +100%: PD) -> 1.4 (PD, confirmed). Line 2
    starts 7 days after the 1.4; its baseline is 1.4 (urine 100 mg/24 h, not measurable). Then 0.28:
    (1.4 - 0.28) / 1.4 = 80% -> PR (against the line-1 baseline it would be 90.7%, VGPR)."""
    line2 = dt.date.fromisoformat(day(3)) + dt.timedelta(days=7)
    lines = [{"line": 1, "start": START.isoformat()}, {"line": 2, "start": line2.isoformat()}]
    r = run(case(serum=[3.0, 0.6, 1.2, 1.4, 0.28], urine=[100, None, None, 100], lines=lines))
    assert [(a["line"], a["category"]) for a in r["assessments"]] == [(1, "PR"), (1, "PD"), (1, "PD"), (2, "PR")]
    assert r["measurable_disease"]["line"] == 2
    assert r["measurable_disease"]["baseline"]["value"] == 1.4
    assert [ln["best_response"]["category"] for ln in r["lines"]] == ["PD", "not_evaluable"]


# ---------------------------------------------------------------------------------------------
# Censored results and unknowns
# ---------------------------------------------------------------------------------------------


def test_censored_nadir_certain_pd() -> None:
    """Nadir reported '<0.1' g/dL (true value 0 to just under 0.1), now 0.6: the rise is more than 0.5 whatever
    the nadir -> PD. (3.0 -> '<0.1' is a reduction of more than 96.6%, with a positive serum immunofixation ->
    VGPR, not CR.)"""
    assert cats(run(case(serum=[3.0, "<0.1", 0.6], ife={1: ("positive", "negative")}))) == ["VGPR", "PD"]


def test_censored_below_limit_without_immunofixation_leaves_cr_open() -> None:
    """Serum '<0.1' g/dL and no immunofixation: electrophoresis does not detect the M-protein, so negative
    immunofixation (CR) cannot be excluded -> not evaluable, at least VGPR."""
    a = run(case(serum=[3.0, "<0.1"]))["assessments"][0]
    assert (a["category"], a["at_least"]) == ("not_evaluable", "VGPR")


def test_censored_nadir_undecided_pd() -> None:
    """Nadir '<0.1', now 0.55: the rise lies between 0.45 and 0.55 g/dL, on both sides of 0.5 -> PD can be
    neither shown nor excluded -> not evaluable, PD possible (unknown is never normal)."""
    a = run(case(serum=[3.0, "<0.1", 0.55]))["assessments"][1]
    assert a["category"] == "not_evaluable"
    assert "PD" in a["possible"]


def test_every_assessment_carries_the_discrepancy_notes() -> None:
    """Every [D]/[U] choice of the rule is a note on every assessment (conventions)."""
    r = run(case(serum=[3.0, 2.0, 1.0]))
    needed = {
        "imwg2016_pd_serum_absolute_rise",
        "imwg2016_pd_flc_unit",
        "imwg2016_mr_upper_bound",
        "imwg2016_confirmation",
        "imwg2016_lesion_wording",
        "imwg2016_cr_flc_only",
    }
    for a in r["assessments"]:
        kinds = {n["code"]: n["kind"] for n in a["notes"]}
        assert needed <= set(kinds)
        assert kinds["imwg2016_pd_serum_absolute_rise"] == "discrepancy"


def test_best_response_from_floors_says_what_is_still_open() -> None:
    """Immunofixation negative twice, electrophoresis 0, no marrow: each assessment is at least VGPR with CR/sCR
    open (marrow missing). Best response: VGPR confirmed (the certain floor), with sCR and CR possibly better."""
    r = run(case(serum=[3.0, 0, 0], urine=[100, 0, 0], ife={1: ("negative", "negative"), 2: ("negative", "negative")}))
    best = r["best_response"]
    assert (best["category"], best["confirmed"]) == ("VGPR", True)
    assert best["possibly_better"] == ["sCR", "CR"]


def test_a_free_light_chain_reported_as_exactly_zero_is_an_unbounded_ratio_not_a_crash() -> None:
    """Found by the hostile-input suite: a lambda FLC of 0.0 mg/L divided by zero inside the kappa/lambda ratio
    (an internal error for `b2m monitor` and `b2m report`). kappa > 0 over lambda = 0 is an unbounded ratio, far
    above the IMWG normal range 0.26-1.65 (Kumar 2016); 0 over 0 says nothing, so it stays unknown."""
    from b2m.monitor.imwg_2016.values import INF, flc_ratio, ratio_normal
    from b2m.units import parse_lab

    def lab(value: float) -> Any:
        return parse_lab("flc_kappa", {"value": value, "unit": "mg/L", "date": "2025-01-01"})

    assert flc_ratio(lab(12.0), lab(0.0)) == (INF, INF)
    assert ratio_normal(flc_ratio(lab(12.0), lab(0.0))) is False
    assert ratio_normal(flc_ratio(lab(0.0), lab(0.0))) is None
    series = {
        "id": "P",
        "isotype": "IgG",
        "involved_light_chain": "kappa",
        "series": {
            "m_protein": [
                {"date": "2025-01-01", "value": 3.0, "unit": "g/dL"},
                {"date": "2025-03-01", "value": 1.0, "unit": "g/dL"},
            ],
            "flc_kappa": [{"date": d, "value": 40.0, "unit": "mg/L"} for d in ("2025-01-01", "2025-03-01")],
            "flc_lambda": [{"date": d, "value": 0.0, "unit": "mg/L"} for d in ("2025-01-01", "2025-03-01")],
        },
        "therapy_lines": [{"line": 1, "start": "2025-01-02"}],
    }
    result = monitor_patient(parse_patient_series(series)).to_dict()
    assert result["assessments"], result  # assessed, not crashed
    measured = [m for a in result["assessments"] for m in a["measurements"]]
    ratios = [m["value"] for m in measured if m["marker"].startswith("flc_ratio")]
    assert ratios and set(ratios) == {"∞"}, ratios  # JSON has no infinity: written as text
    json.dumps(result, allow_nan=False)
