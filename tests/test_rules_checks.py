"""The shared input checks (b2m.rules.checks) and their use by every rule that refuses input.

Oracles: the conventions (/work/main/docs/CONVENTIONS-FOR-HELPERS.md: refused input raises
``InputError(field, problem, accepted, hint)``; inputs may be ``None`` = unknown; censored values such
as "<0.5" are rule inputs) and review finding 7 (one helper, the same refusal everywhere). The
accepted ranges are the inputs' own domains: a percentage is 0-100, a concentration is ≥ 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from b2m.errors import InputError
from b2m.interpret import interpret_b2m
from b2m.rules import durie_salmon_1975, ims_imwg_2025_high_risk, imwg_2014, smm_imwg_2020, smm_mayo_2018
from b2m.rules.checks import check_bool, check_choice, check_count, check_lab, check_number
from b2m.units import Censored, parse_lab


def refusal(call: Callable[[], object]) -> InputError:
    with pytest.raises(InputError) as info:
        call()
    return info.value


# ---------------------------------------------------------------------------------------------------
# The helpers
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("x", [None, 0, 0.0, 5, 100.0, Censored("<", 0.5), Censored(">", 20.0)])
def test_check_number_accepts_unknown_censored_and_in_range(x: Any) -> None:
    """Conventions: None is unknown, a censored value is a rule input; 0 and the upper bound are inside."""
    check_number("x", x, 100.0)


@pytest.mark.parametrize("x", [-0.1, 100.1, math.nan, math.inf, -math.inf, True, False, "5", [5]])
def test_check_number_refuses(x: Any) -> None:
    """Conventions: a value outside 0-100, non-finite, a bool or text is refused with the field named."""
    err = refusal(lambda: check_number("bmpc_percent", x, 100.0))
    assert err.field == "bmpc_percent"
    assert err.accepted == "a number from 0 to 100"
    assert err.problem == f"expected a finite number from 0 to 100 or null (unknown), got {x!r}"


def test_check_number_without_an_upper_bound() -> None:
    """Conventions: a concentration has no upper bound here, only ≥ 0."""
    check_number("b2m_mg_l", 1e6)
    err = refusal(lambda: check_number("b2m_mg_l", -1.0))
    assert err.accepted == "a number ≥ 0"
    assert "finite number ≥ 0 or null (unknown)" in err.problem


def test_check_number_can_refuse_censored_values() -> None:
    """Review finding 7 (interpret's age and eGFR are plain numbers): censored=False refuses '<0.5'."""
    err = refusal(lambda: check_number("age_years", Censored("<", 0.5), 130.0, censored=False))
    assert err.field == "age_years" and err.accepted == "a number from 0 to 130"


def test_check_count_bool_choice_lab() -> None:
    """Conventions: counts are whole numbers ≥ 0; flags are true/false/null; choices are listed; lab
    values are parsed LabValues of the right analyte."""
    check_count("osteolytic_lesions", 0)
    for bad in (-1, 1.5, True):
        assert refusal(lambda bad=bad: check_count("osteolytic_lesions", bad)).accepted == "an integer ≥ 0"
    check_bool("t4_14", None)
    for bad in ("yes", 1, 0):
        assert refusal(lambda bad=bad: check_bool("t4_14", bad)).accepted == "true, false, null"
    check_choice("isotype", "IgG", ("IgG", "IgA"))
    err = refusal(lambda: check_choice("isotype", "IgX", ("IgG", "IgA")))
    assert (err.field, err.accepted) == ("isotype", "IgG, IgA, or null (unknown)")
    creatinine = parse_lab("creatinine", {"value": 1.0, "unit": "mg/dL"})
    check_lab("creatinine", creatinine, "creatinine")
    err = refusal(lambda: check_lab("calcium", creatinine, "calcium"))
    assert err.field == "calcium" and "parse_lab('calcium'" in err.accepted


# ---------------------------------------------------------------------------------------------------
# Every user refuses the same way
# ---------------------------------------------------------------------------------------------------

_IMS: dict[str, Any] = dict(
    del17p=False,
    tp53_mutation=False,
    t4_14=False,
    t14_16=False,
    t14_20=False,
    gain1q=False,
    del1p32="absent",
    b2m_mg_l=3.0,
    creatinine_mg_dl=0.9,
)
_SMM: dict[str, Any] = dict(
    flc_ratio_involved_uninvolved=5.0,
    m_protein_g_dl=1.0,
    bmpc_percent=5.0,
    t4_14=False,
    t14_16=False,
    gain1q=False,
    del13q=False,
)
_MAYO: dict[str, Any] = dict(bmpc_percent=5.0, m_protein_g_dl=1.0, flc_ratio_involved_uninvolved=5.0)
_DS: dict[str, Any] = dict(
    hemoglobin_g_dl=12.0,
    calcium_mg_dl=9.5,
    bone_lesions="none",
    isotype="IgG",
    m_protein_g_dl=3.0,
    urine_light_chain_mg_24h=1000.0,
    creatinine_mg_dl=1.0,
)
_IMWG: dict[str, Any] = dict(
    bmpc_percent=5.0,
    plasmacytoma="none",
    isotype="IgG",
    m_protein_g_dl=1.0,
    urine_m_protein_mg_24h=100.0,
    calcium=None,
    creatinine=None,
    crcl_ml_min=None,
    crcl_estimator=None,
    hemoglobin=None,
    osteolytic_lesions=0,
    mri_focal_lesions_ge_5mm=0,
    flc_kappa=None,
    flc_lambda=None,
    crab_attributable=None,
    amyloidosis=False,
)
_INTERPRET: dict[str, Any] = dict(
    b2m=None,
    age_years=None,
    egfr_ml_min_1_73m2=None,
    egfr_equation=None,
    creatinine=None,
    crp=None,
    conditions=(),
    medications=(),
)

CALLS: dict[str, Callable[..., object]] = {
    "ims_imwg_2025": lambda **kw: ims_imwg_2025_high_risk.ims_imwg_2025_high_risk(**{**_IMS, **kw}),
    "smm_imwg_2020": lambda **kw: smm_imwg_2020.smm_imwg_2020(**{**_SMM, **kw}),
    "smm_mayo_2018": lambda **kw: smm_mayo_2018.smm_mayo_2018(**{**_MAYO, **kw}),
    "durie_salmon_1975": lambda **kw: durie_salmon_1975.durie_salmon_1975(**{**_DS, **kw}),
    "imwg_2014": lambda **kw: imwg_2014.imwg_2014(**{**_IMWG, **kw}),
    "interpret": lambda **kw: interpret_b2m(**{**_INTERPRET, **kw}),
}


@pytest.mark.parametrize(
    ("rule", "field", "bad", "accepted"),
    [
        ("ims_imwg_2025", "b2m_mg_l", math.nan, "a number ≥ 0"),
        ("ims_imwg_2025", "del17p_clonal_fraction_percent", 101.0, "a number from 0 to 100"),
        ("ims_imwg_2025", "t4_14", "yes", "true, false, null"),
        ("ims_imwg_2025", "del1p32", "partial", "absent, monoallelic, biallelic, present, or null (unknown)"),
        ("smm_imwg_2020", "bmpc_percent", 101.0, "a number from 0 to 100"),
        ("smm_imwg_2020", "flc_ratio_involved_uninvolved", math.inf, "a number ≥ 0"),
        ("smm_imwg_2020", "del13q", 1, "true, false, null"),
        ("smm_mayo_2018", "bmpc_percent", 120.0, "a number from 0 to 100"),
        ("smm_mayo_2018", "m_protein_g_dl", -1.0, "a number ≥ 0"),
        ("durie_salmon_1975", "hemoglobin_g_dl", -1.0, "a number ≥ 0"),
        ("durie_salmon_1975", "creatinine_mg_dl", True, "a number ≥ 0"),
        (
            "durie_salmon_1975",
            "bone_lesions",
            "many",
            "none, solitary_plasmacytoma, limited, advanced, or null (unknown)",
        ),
        ("imwg_2014", "bmpc_percent", 101.0, "a number from 0 to 100"),
        ("imwg_2014", "osteolytic_lesions", -1, "an integer ≥ 0"),
        ("imwg_2014", "amyloidosis", "no", "true, false, null"),
        ("interpret", "age_years", 131.0, "a number from 0 to 130"),
        ("interpret", "egfr_ml_min_1_73m2", -1.0, "a number from 0 to 300"),
        ("interpret", "egfr_ml_min_1_73m2", Censored("<", 15.0), "a number from 0 to 300"),
    ],
)
def test_every_rule_refuses_through_the_shared_checks(rule: str, field: str, bad: Any, accepted: str) -> None:
    """Review finding 7: one helper, so one refusal shape (field named, same accepted text) in every module."""
    err = refusal(lambda: CALLS[rule](**{field: bad}))
    assert err.field == field
    assert err.accepted == accepted


@pytest.mark.parametrize(
    "module", [ims_imwg_2025_high_risk, smm_imwg_2020, smm_mayo_2018, durie_salmon_1975, imwg_2014]
)
def test_no_rule_keeps_a_private_copy_of_the_checks(module: object) -> None:
    """Review finding 7: the checks are defined once, in b2m.rules.checks."""
    private = {"_check", "_check_num", "_check_bool", "_check_choice", "_check_count", "_check_lab"}
    assert not private & set(vars(module))
