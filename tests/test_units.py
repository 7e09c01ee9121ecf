"""Tests for b2m.units: unit spellings, conversions, exact boundaries, refusals, censored values.

Oracles (none of the expected values below was produced by running this project's code):

* the b2m reference (docs/reference/): unit conventions and the B2M boundary conversions
  (b2m reference UNITS-2, UNITS-3), the B2M molecular weight 11,800 Da from Mayo Clinic Laboratories, 1 nmol/L ≈ 0.0118
  mg/L (b2m reference LAB-1), LOINC codes (b2m reference LAB-5) and the edge-case rows
  (b2m reference E4, E14, E27, E28, E31, E32, E34, E42, E44, E45, E46);
* definitions of the SI and of UCUM for purely definitional factors (1 L = 10 dL = 10^6 µL,
  1 mm³ = 1 µL, 1 day = 24 h, 1 kat = 1 mol/s, 1 U = 1 µmol/min = 16.67 nkat, "[IU]" = "IU");
* the documented contract of the code (docstrings and comments of b2m.units and b2m.errors) for
  behaviour that is project policy rather than clinical fact (plausibility bounds are closed, a
  unit is never assumed, errors carry field / accepted / hint).

Exact expected values are computed with ``decimal.Decimal`` from the reference's factors, so "exactly"
means "equal to the decimal result", not "equal to what a float multiplication happens to give".

The regression tests near the end pin real bugs found while writing this file (creatinine factor
rounding, malformed unit text escaping as non-InputError, upper-case and '/24 hr' spellings, 10⁹,
censored-bound rounding); all are fixed and must stay green.
"""

from __future__ import annotations

import math
import pickle
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from b2m.errors import B2MError, ImplausibleValueError, InputError, UnitError
from b2m.units import ANALYTES, LAB_NAMES, Censored, LabValue, parse_lab, parse_number, unit_factor
from b2m.units.registry import normalise_unit_text, parse_unit, round_sig

MICRO_SIGN = "\u00b5"  # µ MICRO SIGN (what most keyboards and Latin-1 systems produce)
GREEK_MU = "\u03bc"  # μ GREEK SMALL LETTER MU (what NFKC normalisation and Greek layouts produce)
LAB_KEYS = ("value", "unit", "lower_limit", "upper_limit", "date", "method", "loinc")


# ---------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------


def lab(key: str, value: object, unit: object, **extra: object) -> LabValue:
    lv = parse_lab(key, {"value": value, "unit": unit, **extra})
    assert lv is not None
    return lv


def canonical(key: str, value: object, unit: str) -> float:
    v = lab(key, value, unit).value
    assert isinstance(v, float), v
    return v


def refused(error: type[InputError], key: str, raw: object, field: str) -> InputError:
    """Parse ``raw`` expecting exactly ``error`` on ``field``; check the structured contract."""
    with pytest.raises(InputError) as info:
        parse_lab(key, raw)
    err = info.value
    assert type(err) is error, f"{type(err).__name__}: {err}"
    assert isinstance(err, ValueError)
    assert isinstance(err, B2MError)
    assert err.field == field
    assert err.accepted, "an error must say what would have been accepted"
    assert f"accepted: {err.accepted}" in str(err)
    assert str(err) == err.one_line()
    return err


def names_accepted_units(err: InputError, key: str) -> None:
    for spelling in ANALYTES[key].accepted:
        assert spelling in str(err), f"{spelling!r} missing from {err}"


def exact(text: str) -> float:
    return float(Decimal(text))


# ---------------------------------------------------------------------------------------------------
# every spelling of the micro sign
# ---------------------------------------------------------------------------------------------------


def test_micro_sign_and_greek_mu_are_different_code_points() -> None:
    """Guard for the tests below: the two micro characters must really be distinct (U+00B5, U+03BC)."""
    assert MICRO_SIGN != GREEK_MU
    assert ord(MICRO_SIGN) == 0xB5
    assert ord(GREEK_MU) == 0x3BC


@pytest.mark.parametrize(
    "unit",
    [
        f"{MICRO_SIGN}g/mL",
        f"{GREEK_MU}g/mL",
        "ug/mL",
        "mcg/mL",
        f"{MICRO_SIGN}g/ml",
        f"{GREEK_MU}g/ml",
        "mcg/ml",
        "UG/ML",
    ],
)
def test_b2m_microgram_per_millilitre_every_micro_spelling(unit: str) -> None:
    """b2m reference UNITS-2 (B2M row): 1 mg/L = 1 µg/mL = 1 mcg/mL, the same number; b2m reference LAB-2 Mayo
    reports mcg/mL."""
    assert canonical("b2m", 3.5, unit) == 3.5
    assert canonical("b2m", 2.7, unit) == 2.7


@pytest.mark.parametrize(
    "unit",
    [f"{MICRO_SIGN}g/L", f"{GREEK_MU}g/L", "ug/L", "mcg/L", "ug/l", "mcg/l", "ng/mL", "ng/ml"],
)
def test_b2m_microgram_per_litre_every_micro_spelling(unit: str) -> None:
    """b2m reference UNITS-2: B2M canonical mg/L; 1 mg = 1000 µg (SI), and 1 ng/mL = 1 µg/L, so 3500 µg/L = 3.5 mg/L."""
    assert canonical("b2m", 3500, unit) == 3.5
    assert canonical("b2m", 5500, unit) == 5.5
    assert canonical("b2m", 1210, unit) == exact("1.21")


@pytest.mark.parametrize("unit", [f"{MICRO_SIGN}mol/L", f"{GREEK_MU}mol/L", "umol/L", "mcmol/L", "umol/l", "UMOL/L"])
def test_creatinine_micromole_every_micro_spelling(unit: str) -> None:
    """b2m reference UNITS-2 and E31, E44: µmol/L = mg/dL × 88.4, so 177 µmol/L = 2.002 mg/dL (> 2 mg/dL)."""
    value = canonical("creatinine", 177, unit)
    assert round(value, 3) == 2.002
    assert value > 2.0
    assert value == pytest.approx(float(Decimal(177) / Decimal("88.4")), rel=1e-11)


@pytest.mark.parametrize("unit", [f"{MICRO_SIGN}kat/L", f"{GREEK_MU}kat/L", "ukat/L", "mckat/L"])
def test_ldh_microkatal_every_micro_spelling(unit: str) -> None:
    """SI: 1 kat = 1 mol/s and 1 U = 1 µmol/min (= 16.67 nkat), so 1 µkat/L = 60 U/L exactly."""
    assert canonical("ldh", 1, unit) == 60.0
    assert canonical("ldh", 4.5, unit) == 270.0


@pytest.mark.parametrize(
    "unit", [f"K/{MICRO_SIGN}L", f"K/{GREEK_MU}L", "K/uL", f"10^3/{MICRO_SIGN}L", "10^3/uL", "10*3/uL"]
)
def test_platelets_thousand_per_microlitre_every_micro_spelling(unit: str) -> None:
    """SI: 1 L = 10^6 µL, so 10^3/µL = 10^9/L: 150 K/µL = 150 ×10^9/L (K is kilo-, not kelvin)."""
    assert canonical("platelets", 150, unit) == 150.0


@pytest.mark.parametrize("unit", [f"/{MICRO_SIGN}L", f"/{GREEK_MU}L", "/uL", "/mm³"])
def test_platelets_per_microlitre_every_micro_spelling(unit: str) -> None:
    """SI: 1 L = 10^6 µL = 10^6 mm³, so 150,000/µL = 150 ×10^9/L."""
    assert canonical("platelets", 150000, unit) == 150.0


# ---------------------------------------------------------------------------------------------------
# UCUM and everyday spellings
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("unit", ["U/L", "IU/L", "[IU]/L", "[iU]/L", "U/l", "iu/l"])
def test_ldh_enzyme_unit_spellings(unit: str) -> None:
    """UCUM writes the international unit "[IU]" ("[iU]"); IU = U = 1 µmol/min (enzyme unit, SI).
    b2m reference E16 quotes LDH 250 IU/L, which is 250 U/L."""
    assert canonical("ldh", 250, unit) == 250.0


@pytest.mark.parametrize("unit", ["10^9/L", "10*9/L", "x10^9/L", "×10^9/L", "x 10^9/L", "x10*9/L", "1e9/L", "10^9/l"])
def test_platelets_10e9_per_litre_spellings(unit: str) -> None:
    """UCUM "10*9/L" and everyday "x10^9/L" are the canonical platelet unit (SI), e.g. 100 ×10^9/L
    is the IPSSWM boundary of b2m reference E14."""
    assert canonical("platelets", 100, unit) == 100.0


@pytest.mark.parametrize("unit", ["mg/24h", "mg/24 h", "mg/(24.h)", "mg/day", "mg/d"])
def test_urine_m_protein_milligram_per_day_spellings(unit: str) -> None:
    """UCUM "mg/(24.h)" and everyday "mg/24h", "mg/day" (1 d = 24 h): b2m reference E28 boundary 500 mg/24 h."""
    assert canonical("urine_m_protein", 500, unit) == 500.0


@pytest.mark.parametrize("unit", ["g/24h", "g/24 h", "g/(24.h)", "g/day", "g/d"])
def test_urine_m_protein_gram_per_day_spellings(unit: str) -> None:
    """SI: 1 g = 1000 mg, 1 d = 24 h, so 0.5 g/day = 500 mg/24 h (b2m reference E28 boundary)."""
    assert canonical("urine_m_protein", 0.5, unit) == 500.0
    assert canonical("urine_m_protein", 12, unit) == 12000.0


@pytest.mark.parametrize(
    ("key", "value", "unit", "expected"),
    [
        ("b2m", 3.5, "MG/L", "3.5"),  # upper-case HL7: milligram, not megagram
        ("b2m", 3.5, "mg/l", "3.5"),
        ("b2m", 3.5, " mg / L ", "3.5"),
        ("albumin", 35, "G/L", "3.5"),  # b2m reference UNITS-2: g/L = g/dL × 10
        ("albumin", 35, "g/l", "3.5"),
        ("calcium", 2.75, "MMOL/L", "11.022"),  # b2m reference UNITS-2: mmol/L = mg/dL ÷ 4.008
        ("flc_kappa", 1.94, "MG/DL", "19.4"),  # b2m reference UNITS-2: FLC mg/dL × 10 = mg/L
        ("crp", 5, "MG/DL", "50"),  # 1 dL = 0.1 L (SI)
        ("b2m", 1000, "UG/L", "1"),  # 1 mg = 1000 µg (SI)
    ],
)
def test_upper_case_and_lower_case_litre_spellings(key: str, value: float, unit: str, expected: str) -> None:
    """b2m reference UNITS-2 factors; case and spacing of an accepted spelling do not change its meaning."""
    assert canonical(key, value, unit) == exact(expected)


def test_upper_case_mg_l_is_milligram_not_megagram() -> None:
    """Regression: pint alone reads "MG" as megagram (or megagauss); B2M 3.5 "MG/L" is 3.5 mg/L
    (b2m reference UNITS-2)."""
    lv = lab("b2m", 3.5, "MG/L")
    assert lv.value == 3.5
    assert lv.factor == 1.0


def test_k_per_ul_is_thousand_per_microlitre_not_kelvin() -> None:
    """Regression: "K/uL" is 10^3/µL = 10^9/L (SI), never kelvin per microlitre."""
    assert canonical("platelets", 250, "K/uL") == 250.0


def test_platelets_per_microlitre_is_not_read_as_10e9_per_litre() -> None:
    """Regression: a count per µL is 10^6 times a count per litre (SI): 150,000/µL = 150 ×10^9/L,
    not 150,000 ×10^9/L."""
    assert canonical("platelets", 150000, "/uL") == 150.0


# ---------------------------------------------------------------------------------------------------
# canonical values documented in the b2m reference (UNITS-2, LAB-1, EDGE-2)
# ---------------------------------------------------------------------------------------------------


def test_albumin_35_g_l_is_exactly_3_5_not_float_noise() -> None:
    """b2m reference E4 and UNITS-2 (3.5 g/dL = 35 g/L): 35 g/L is exactly the ISS boundary 3.5 g/dL (== 3.5,
    not 3.5000000000000004), and 34.9 g/L is exactly 3.49 g/dL (stage II side)."""
    assert canonical("albumin", 35, "g/L") == 3.5
    assert canonical("albumin", "35", "g/L") == 3.5
    assert canonical("albumin", 35.0, "g/L") == 3.5
    assert canonical("albumin", 34.9, "g/L") == 3.49
    assert canonical("albumin", "34.9", "g/L") == 3.49
    assert canonical("albumin", 34.9, "g/L") < 3.5


@pytest.mark.parametrize(
    ("key", "grams_per_litre", "grams_per_decilitre", "row"),
    [
        ("albumin", "35", "3.5", "b2m reference E3, E4"),
        ("m_protein", "30", "3", "b2m reference UNITS-2, E27"),
        ("hemoglobin", "100", "10", "b2m reference E34"),
        ("hemoglobin", "115", "11.5", "b2m reference E14"),
        ("hemoglobin", "85", "8.5", "b2m reference E36"),
    ],
)
def test_g_per_litre_boundaries_are_exact(key: str, grams_per_litre: str, grams_per_decilitre: str, row: str) -> None:
    """b2m reference UNITS-2: g/L = g/dL × 10; each pair is a boundary of the named edge-case row and must
    land exactly."""
    assert canonical(key, float(grams_per_litre), "g/L") == exact(grams_per_decilitre), row


@pytest.mark.parametrize(
    ("umol_per_litre", "mg_per_decilitre"),
    [
        pytest.param("88.4", "1", id="88.4"),
        pytest.param("106.08", "1.2", id="106.08-ims-imwg-1.2"),  # b2m reference E42 boundary
        pytest.param("884", "10", id="884"),
        pytest.param(
            "176.8",
            "2",
            id="176.8-imwg-2.0",
        ),
        pytest.param(
            "44.2",
            "0.5",
            id="44.2",
        ),
        pytest.param(
            "265.2",
            "3",
            id="265.2",
        ),
    ],
)
def test_creatinine_exact_multiples_of_88_4_convert_exactly(umol_per_litre: str, mg_per_decilitre: str) -> None:
    """b2m reference UNITS-2 ("µmol/L = mg/dL × 88.4; 2.0 mg/dL ≈ 176.8 µmol/L") and b2m reference E44 (divide by 88.4):
    a µmol/L value that is an exact multiple of 88.4 must give the exact mg/dL value."""
    assert canonical("creatinine", float(umol_per_litre), "µmol/L") == exact(mg_per_decilitre)


def test_creatinine_upper_plausibility_bound_in_umol_is_accepted() -> None:
    """b2m reference UNITS-2: 30 mg/dL × 88.4 = 2652 µmol/L; bounds are closed, so 2652 µmol/L is accepted as 30."""
    assert canonical("creatinine", 2652, "µmol/L") == 30.0


def test_creatinine_177_umol_vs_2_mg_dl_mismatch() -> None:
    """b2m reference E31: 2.0 mg/dL is not > 2 mg/dL, but 177 µmol/L = 2.002 mg/dL is; the reported unit is
    kept so a rule can use the IMWG figure for that unit (177 µmol/L is not > 177 µmol/L)."""
    in_mg = lab("creatinine", 2.0, "mg/dL")
    in_umol = lab("creatinine", 177, "µmol/L")
    assert in_mg.value == 2.0
    assert isinstance(in_umol.value, float)
    assert round(in_umol.value, 3) == 2.002
    assert in_umol.reported_in("umol/L")
    assert not in_umol.reported_in("mg/dL")
    assert in_mg.reported_in("mg/dL")
    assert in_umol.received_magnitude == 177.0


def test_creatinine_mg_per_litre() -> None:
    """SI: 1 dL = 0.1 L, so 17.7 mg/L = 1.77 mg/dL (creatinine canonical mg/dL, b2m reference UNITS-2)."""
    assert canonical("creatinine", 17.7, "mg/L") == exact("1.77")


def test_calcium_2_75_mmol_vs_11_mg_dl_mismatch() -> None:
    """b2m reference UNITS-2 and E32: mmol/L = mg/dL ÷ 4.008, so 2.75 mmol/L = 11.022 mg/dL (11.02, > 11 mg/dL)
    while 11 mg/dL ≈ 2.745 mmol/L; 11 mg/dL stays exactly 11."""
    ca = lab("calcium", 2.75, "mmol/L")
    assert ca.value == exact("11.022")
    assert isinstance(ca.value, float)
    assert round(ca.value, 2) == 11.02
    assert ca.value > 11.0
    assert ca.reported_in("mmol/L")
    assert canonical("calcium", 11, "mg/dL") == 11.0
    assert round(canonical("calcium", 2.745, "mmol/L"), 2) == 11.0


def test_b2m_nmol_factor_is_the_molecular_weight_11800() -> None:
    """b2m reference LAB-1: MW 11,800 Da, "1 nmol/L ≈ 0.0118 mg/L" (11,800 g/mol × 1 nmol/L = 11.8 µg/L)."""
    assert unit_factor("b2m", "nmol/L", "f") == exact("0.0118")
    assert canonical("b2m", 1000, "nmol/L") == exact("11.8")


@pytest.mark.parametrize(
    ("mg_per_litre", "nmol_per_litre"),
    [("1", "84.7"), ("3.0", "254.2"), ("3.5", "296.6"), ("4.0", "339.0"), ("5.5", "466.1")],
)
def test_b2m_boundaries_in_nmol(mg_per_litre: str, nmol_per_litre: str) -> None:
    """b2m reference UNITS-2 ("handy B2M boundary conversions", MW 11,800) and b2m reference E45: 1 mg/L ≈ 84.7 nmol/L,
    3.5 mg/L ≈ 296.6 nmol/L, 5.5 mg/L ≈ 466.1 nmol/L (one decimal). Converting the threshold into
    nmol/L rounds to the reference's figure, and that figure converts back to the threshold
    within its rounding (±0.05 nmol/L)."""
    factor = unit_factor("b2m", "nmol/L", "labs.b2m.unit")
    assert round(float(mg_per_litre) / factor, 1) == float(nmol_per_litre)
    assert canonical("b2m", float(nmol_per_litre), "nmol/L") == pytest.approx(
        float(mg_per_litre), abs=0.05 * float(factor)
    )


def test_b2m_nmol_conversion_is_recorded() -> None:
    """b2m reference E45: B2M in nmol/L — "record the conversion": the factor, the received value and the
    received unit stay on the LabValue."""
    lv = lab("b2m", 296.6, "nmol/L")
    assert lv.factor == exact("0.0118")
    assert lv.received_value == 296.6
    assert lv.received_unit == "nmol/L"
    assert lv.unit == "mg/L"
    assert lv.reported_in("nmol/L")
    assert not lv.reported_in("mg/L")


def test_molar_contexts_are_per_analyte() -> None:
    """b2m reference UNITS-2, LAB-1: each analyte converts with its own molecular weight — B2M 11,800 g/mol
    (1 nmol/L = 0.0118 mg/L), creatinine 88.4 µmol/L per mg/dL, calcium 4.008 mg/dL per mmol/L —
    never with another's."""
    assert unit_factor("b2m", "nmol/L", "f") == exact("0.0118")
    assert unit_factor("calcium", "mmol/L", "f") == exact("4.008")
    assert unit_factor("creatinine", "µmol/L", "f") == pytest.approx(1 / 88.4, rel=1e-11)


def test_ldh_microkatal_matches_the_16_67_nkat_definition() -> None:
    """SI/IFCC: 1 U = 1 µmol/min = 16.67 nkat, so 1 µkat/L = 1000/16.67 ≈ 60 U/L (exactly 60 by
    1 µkat = 1 µmol/s = 60 µmol/min)."""
    assert canonical("ldh", 1, "µkat/L") == 60.0
    assert canonical("ldh", 1, "µkat/L") == pytest.approx(1000 / 16.67, rel=1e-3)
    assert canonical("ldh", 250 / 60, "µkat/L") == pytest.approx(250.0, rel=1e-12)


def test_flc_mayo_interval_in_mg_dl_is_the_quest_interval_in_mg_l() -> None:
    """b2m reference UNITS-2 (FLC row): mg/dL × 10 = mg/L; Mayo reports κ 0.33-1.94 mg/dL, Quest-type 3.3-19.4 mg/L.
    The reference limits are converted with the value."""
    for key in ("flc_kappa", "flc_lambda"):
        lv = lab(key, 1.0, "mg/dL", lower_limit=0.33, upper_limit=1.94)
        assert lv.value == 10.0
        assert lv.lower_limit == exact("3.3")
        assert lv.upper_limit == exact("19.4")
        assert lv.unit == "mg/L"


def test_reference_limits_are_converted_with_the_value() -> None:
    """b2m reference UNITS-2 (g/L = g/dL × 10; µmol/L = mg/dL × 88.4): limits follow the value into the
    canonical unit."""
    alb = lab("albumin", 40, "g/L", lower_limit=35, upper_limit=52)
    assert (alb.value, alb.lower_limit, alb.upper_limit) == (4.0, 3.5, 5.2)
    crea = lab("creatinine", 88.4, "µmol/L", lower_limit=44.2, upper_limit=106.08)
    assert crea.upper_limit == exact("1.2")
    assert crea.lower_limit == pytest.approx(0.5, rel=1e-11)


# ---------------------------------------------------------------------------------------------------
# refusals: units
# ---------------------------------------------------------------------------------------------------


def test_b2m_mg_dl_is_refused_not_multiplied() -> None:
    """b2m reference E46 and UNITS-2: B2M "mg/dL" is almost certainly mislabelled mg/L — refuse, never ×10."""
    for unit in ("mg/dL", "mg/dl", "MG/DL", "Mg/dL"):
        for value in (3.5, 0.35, "<0.5"):
            err = refused(UnitError, "b2m", {"value": value, "unit": unit}, "labs.b2m.unit")
            assert "b2m reference E46" in err.problem
            assert "not multiplied by 10" in err.problem
            names_accepted_units(err, "b2m")


def test_b2m_mg_per_100_ml_is_refused() -> None:
    """b2m reference E46: mg/100 mL (= mg/dL) must not reach the rules as a ×10 value either."""
    err = refused(UnitError, "b2m", {"value": 3.5, "unit": "mg/100 mL"}, "labs.b2m.unit")
    names_accepted_units(err, "b2m")


@pytest.mark.parametrize("unit", ["mmol", "g/dL/s", "%", "mg", "L", "furlong", "U/L", "mmol/L/s"])
def test_b2m_wrong_dimension_is_refused(unit: str) -> None:
    """b2m reference UNITS-2: B2M is a mass (or substance) concentration; an amount, a rate, a percentage, an
    enzyme activity or a length is of the wrong dimension."""
    err = refused(UnitError, "b2m", {"value": 3.5, "unit": unit}, "labs.b2m.unit")
    assert "wrong dimension" in err.problem
    names_accepted_units(err, "b2m")


@pytest.mark.parametrize("unit", ["frobs/L", "mg/frob", "bananas"])
def test_unknown_unit_is_refused(unit: str) -> None:
    """Contract (unit_factor): text that is not a unit is refused as unknown, naming the accepted units."""
    err = refused(UnitError, "b2m", {"value": 3.5, "unit": unit}, "labs.b2m.unit")
    assert "unknown unit" in err.problem
    names_accepted_units(err, "b2m")


@pytest.mark.parametrize(
    ("key", "unit"),
    [
        ("b2m", "g/L"),  # right dimension, but no lab reports B2M in g/L
        ("b2m", "umol/L"),
        ("b2m", "pmol/L"),
        ("albumin", "mg/dL"),
        ("creatinine", "mmol/L"),
        ("ldh", "nkat/L"),
        ("ldh", "IU/mL"),
        ("hemoglobin", "mg/dL"),
        ("calcium", "g/L"),
    ],
)
def test_unit_of_right_dimension_but_not_accepted_is_refused(key: str, unit: str) -> None:
    """Contract (analytes.py): only the listed units (and equivalent spellings) are accepted."""
    err = refused(UnitError, key, {"value": 1, "unit": unit}, f"labs.{key}.unit")
    assert "not an accepted unit" in err.problem
    names_accepted_units(err, key)


@pytest.mark.parametrize(
    "raw",
    [
        {"value": 3.5},
        {"value": 3.5, "unit": None},
        {"value": 3.5, "unit": ""},
        {"value": 3.5, "unit": "   "},
        {"value": 3.5, "unit": 5},
    ],
)
def test_unit_never_assumed_when_missing(raw: dict[str, Any]) -> None:
    """Regression: a missing unit is refused, never assumed to be canonical (10× errors,
    b2m reference UNITS-2 FLC row)."""
    err = refused(UnitError, "b2m", raw, "labs.b2m.unit")
    assert "missing" in err.problem
    names_accepted_units(err, "b2m")


def test_unit_factor_refuses_missing_unit_on_given_field() -> None:
    """Contract (unit_factor): the field passed in is the field reported."""
    with pytest.raises(UnitError) as info:
        unit_factor("albumin", None, "patients[2].labs.albumin.unit")
    assert info.value.field == "patients[2].labs.albumin.unit"


def test_percent_is_not_a_concentration() -> None:
    """Regression: "%" becomes pint's "percent" (dimensionless); it must not pass as a concentration."""
    err = refused(UnitError, "b2m", {"value": 3.5, "unit": "%"}, "labs.b2m.unit")
    assert "wrong dimension" in err.problem


# ---------------------------------------------------------------------------------------------------
# refusals: values and lab objects
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [-1, -0.5, "-0.5", "-3.5"])
def test_negative_value_is_refused(value: object) -> None:
    """Contract (parse_number): concentrations are never negative."""
    err = refused(InputError, "b2m", {"value": value, "unit": "mg/L"}, "labs.b2m.value")
    assert "negative" in err.problem
    assert "a number" in err.accepted


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "1e999"])
def test_non_finite_value_is_refused(value: object) -> None:
    """Contract (parse_number): NaN and infinity are refused ("value is not finite")."""
    err = refused(InputError, "b2m", {"value": value, "unit": "mg/L"}, "labs.b2m.value")
    assert "not finite" in err.problem


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "",
        " ",
        "4,2",
        "4.2 mg/L",
        "3.5.1",
        "nan",
        "NaN",
        "inf",
        "Infinity",
        "=<3",
        "<>5",
        "<-1",
        "0x10",
        "< 0.5 mg/L",
        "½",
    ],
)
def test_non_numeric_string_is_refused(value: str) -> None:
    """Contract (parse_number): text that is neither a number nor a censored value is refused, and the
    message names both accepted forms."""
    err = refused(InputError, "b2m", {"value": value, "unit": "mg/L"}, "labs.b2m.value")
    assert "not a number" in err.problem
    assert "4.2" in err.accepted
    assert "<0.5" in err.accepted


@pytest.mark.parametrize("value", [True, False, [3.5], {"value": 3.5}, (3.5,)])
def test_boolean_and_container_values_are_refused(value: object) -> None:
    """Regression: bool is an int subclass in Python; True must not become 1.0 mg/L."""
    err = refused(InputError, "b2m", {"value": value, "unit": "mg/L"}, "labs.b2m.value")
    assert "not a number" in err.problem


@pytest.mark.parametrize("name", ["b2mg", "B2M", "beta2", "albumin_g_l", ""])
def test_unknown_lab_name_is_refused(name: str) -> None:
    """Contract (parse_lab): the lab name must be one of LAB_NAMES, and the error lists them."""
    err = refused(InputError, name, {"value": 3.5, "unit": "mg/L"}, f"labs.{name}")
    for known in LAB_NAMES:
        assert known in err.accepted


def test_unknown_keys_in_lab_object_are_refused() -> None:
    """Contract (parse_lab): a misspelt key ("units", "Value") is refused rather than silently ignored."""
    err = refused(InputError, "b2m", {"value": 3.5, "unit": "mg/L", "units": "mg/dL", "Value": 35}, "labs.b2m")
    assert "'units'" in err.problem
    assert "'Value'" in err.problem
    for key in LAB_KEYS:
        assert key in err.accepted


@pytest.mark.parametrize("raw", [[3.5, "mg/L"], "3.5 mg/L", 3.5, True])
def test_lab_that_is_not_an_object_is_refused(raw: object) -> None:
    """Contract (parse_lab): a lab entry is an object with value and unit; the error shows one."""
    err = refused(InputError, "b2m", raw, "labs.b2m")
    assert '"unit"' in err.accepted


def test_lower_limit_above_upper_limit_is_refused() -> None:
    """Contract (parse_lab): a reference interval with lower > upper is refused on lower_limit."""
    raw = {"value": 2.0, "unit": "mg/L", "lower_limit": 2.7, "upper_limit": 1.21}
    err = refused(InputError, "b2m", raw, "labs.b2m.lower_limit")
    assert "lower_limit <= upper_limit" in err.accepted


def test_equal_limits_are_accepted() -> None:
    """Contract (parse_lab): lower_limit <= upper_limit, so equal limits pass."""
    lv = lab("b2m", 2.0, "mg/L", lower_limit=2.0, upper_limit=2.0)
    assert lv.lower_limit == lv.upper_limit == 2.0


@pytest.mark.parametrize(
    ("name", "limit"),
    [
        ("lower_limit", "<1"),
        ("upper_limit", ">2"),
        ("lower_limit", -1),
        ("upper_limit", True),
        ("upper_limit", math.nan),
        ("lower_limit", "one"),
    ],
)
def test_bad_reference_limits_are_refused(name: str, limit: object) -> None:
    """Contract (parse_lab): limits are plain finite non-negative numbers (no censored limits)."""
    refused(InputError, "b2m", {"value": 2.0, "unit": "mg/L", name: limit}, f"labs.b2m.{name}")


def test_custom_field_prefix_is_used_in_errors() -> None:
    """Contract (parse_lab field=...): a batch caller's path is carried into the error."""
    with pytest.raises(UnitError) as info:
        parse_lab("b2m", {"value": 3.5, "unit": "mg/dL"}, field="patients[7].labs.b2m")
    assert info.value.field == "patients[7].labs.b2m.unit"


def test_null_value_means_unknown_not_zero() -> None:
    """b2m reference EDGE-1 (general): unknown is an explicit state; a null lab or null value is None, never 0."""
    assert parse_lab("b2m", None) is None
    assert parse_lab("b2m", {"value": None, "unit": "mg/L"}) is None


def test_date_method_and_loinc_are_kept() -> None:
    """b2m reference LAB-2, LAB-5: store the method and LOINC with each result; ISO dates (time part dropped)."""
    lv = lab("b2m", 3.0, "mg/L", date="2026-01-31T10:00:00Z", method="  nephelometry ", loinc="1952-1")
    assert str(lv.date) == "2026-01-31"
    assert lv.method == "nephelometry"
    assert lv.loinc == "1952-1"
    refused(InputError, "b2m", {"value": 3.0, "unit": "mg/L", "date": "2026-02-30"}, "labs.b2m.date")
    refused(InputError, "b2m", {"value": 3.0, "unit": "mg/L", "method": "x" * 201}, "labs.b2m.method")


# ---------------------------------------------------------------------------------------------------
# refusals: implausible magnitudes, naming the likely intended unit
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "unit", "intended", "expected_canonical"),
    [
        # b2m reference UNITS-2: 1 mg/L = 1000 µg/L -> 4200 µg/L = 4.2 mg/L
        ("b2m", 4200, "mg/L", "µg/L", Decimal(4200) / 1000),
        # b2m reference UNITS-2: g/L = g/dL × 10 -> 38 g/L = 3.8 g/dL
        ("albumin", 38, "g/dL", "g/L", Decimal(38) / 10),
        # b2m reference UNITS-2: µmol/L = mg/dL × 88.4 -> 150 µmol/L = 1.697 mg/dL
        ("creatinine", 150, "mg/dL", "µmol/L", Decimal(150) / Decimal("88.4")),
        # b2m reference UNITS-2: mmol/L = mg/dL ÷ 4.008 -> 2.4 mmol/L = 9.619 mg/dL
        ("calcium", 2.4, "mg/dL", "mmol/L", Decimal("2.4") * Decimal("4.008")),
        # b2m reference UNITS-2: g/L = g/dL × 10 -> 120 g/L = 12 g/dL
        ("hemoglobin", 120, "g/dL", "g/L", Decimal(120) / 10),
        # b2m reference UNITS-2: 3 g/dL = 30 g/L -> 30 "g/dL" looks like g/L
        ("m_protein", 30, "g/dL", "g/L", Decimal(30) / 10),
    ],
)
def test_implausible_magnitude_names_the_likely_intended_unit(
    key: str, value: float, unit: str, intended: str, expected_canonical: Decimal
) -> None:
    """b2m reference UNITS-2 factors: a number implausible in the unit given but plausible in another accepted unit
    is refused with a hint naming that unit and the value it would have."""
    err = refused(ImplausibleValueError, key, {"value": value, "unit": unit}, f"labs.{key}.value")
    assert err.hint.startswith(f"looks like {intended}, not {unit}")
    assert f"= {float(expected_canonical):.4g} {ANALYTES[key].display}" in err.hint
    assert err.hint in str(err)
    names_accepted_units(err, key)


def test_implausible_without_alternative_has_no_hint() -> None:
    """Contract (check_plausible): 10^6 mg/L is implausible in every accepted B2M unit, so no unit is
    suggested, but the accepted units are still named."""
    err = refused(ImplausibleValueError, "b2m", {"value": 1e6, "unit": "mg/L"}, "labs.b2m.value")
    assert err.hint == ""
    names_accepted_units(err, "b2m")


@pytest.mark.parametrize("key", LAB_NAMES)
def test_plausibility_bounds_are_closed(key: str) -> None:
    """Contract (analytes.py: "closed bounds in the canonical unit"): both bounds are accepted, a value
    outside them in the 10th significant digit is refused. (Values within 12 significant digits of a
    bound are rounded onto it by round_sig, so the float right next to a bound counts as the bound.)"""
    a = ANALYTES[key]
    lo, hi = a.plausible
    unit = a.display if key != "urine_m_protein" else "mg/24 h"
    assert canonical(key, lo, unit) == lo
    assert canonical(key, hi, unit) == hi
    refused(ImplausibleValueError, key, {"value": hi * (1 + 1e-9), "unit": unit}, f"labs.{key}.value")
    if lo > 0:
        refused(ImplausibleValueError, key, {"value": lo * (1 - 1e-9), "unit": unit}, f"labs.{key}.value")


# ---------------------------------------------------------------------------------------------------
# censored values
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "direction", "bound", "shown"),
    [
        ("<0.5", "<", 0.5, "<0.5"),
        (">20", ">", 20.0, ">20"),
        ("<=3", "<=", 3.0, "<=3"),
        ("≥ 5", ">=", 5.0, ">=5"),
        ("≤0.2", "<=", 0.2, "<=0.2"),
        (">= 4", ">=", 4.0, ">=4"),
        (" < 1 ", "<", 1.0, "<1"),
        ("<.5", "<", 0.5, "<0.5"),
    ],
)
def test_censored_values_keep_their_direction(text: str, direction: Any, bound: float, shown: str) -> None:
    """b2m reference LAB-2 (BC Cancer "< 2 mg/L") and the b2m.units.censored contract: a censored result is
    carried as such — direction and bound — and never replaced by a number."""
    lv = lab("b2m", text, "mg/L")
    assert lv.value == Censored(direction, bound)
    assert not isinstance(lv.value, float)
    assert lv.censored
    assert lv.to_dict()["value"] == shown
    assert lv.received_value == text


@pytest.mark.parametrize(
    ("key", "text", "unit", "expected"),
    [
        ("b2m", "<500", "µg/L", Censored("<", 0.5)),  # b2m reference UNITS-2: 1 mg/L = 1000 µg/L
        ("b2m", ">3500", "ng/mL", Censored(">", 3.5)),  # 1 ng/mL = 1 µg/L
        ("b2m", "<0.2", "mcg/mL", Censored("<", 0.2)),  # b2m reference UNITS-2: 1 µg/mL = 1 mg/L
        ("albumin", "<35", "g/L", Censored("<", 3.5)),  # b2m reference UNITS-2, E4
        ("flc_kappa", ">10", "mg/dL", Censored(">", 100.0)),  # b2m reference UNITS-2 FLC: mg/dL × 10
        ("ldh", ">5", "µkat/L", Censored(">", 300.0)),  # 1 µkat/L = 60 U/L
    ],
)
def test_censored_values_are_scaled_by_the_unit(key: str, text: str, unit: str, expected: Censored) -> None:
    """b2m reference UNITS-2 factors: the censoring bound is converted like a value (e.g. "<500" µg/L -> <0.5 mg/L)."""
    assert lab(key, text, unit).value == expected


def test_censored_value_is_never_replaced_by_its_bound() -> None:
    """Regression: "<0.5" must not become 0.5 (or 0.25, or 0) anywhere on the way in."""
    lv = lab("b2m", "<0.5", "mg/L")
    assert isinstance(lv.value, Censored)
    assert lv.received_magnitude == Censored("<", 0.5)


@pytest.mark.parametrize(
    ("key", "text", "unit", "back"),
    [
        ("b2m", "<500", "µg/L", Censored("<", 500.0)),
        ("b2m", "<0.5", "mg/L", Censored("<", 0.5)),
        ("albumin", ">=35", "g/L", Censored(">=", 35.0)),
        ("ldh", ">5", "µkat/L", Censored(">", 5.0)),
    ],
)
def test_censored_received_magnitude_round_trip(key: str, text: str, unit: str, back: Censored) -> None:
    """SI factors (exact in decimal): the censored bound converted back to the received unit is the
    bound as received."""
    assert lab(key, text, unit).received_magnitude == back


def test_numeric_received_magnitude_round_trip() -> None:
    """b2m reference UNITS-2: 3500 µg/L -> 3.5 mg/L -> 3500 µg/L; 35 g/L -> 3.5 g/dL -> 35 g/L."""
    assert lab("b2m", 3500, "µg/L").received_magnitude == 3500.0
    assert lab("albumin", 35, "g/L").received_magnitude == 35.0
    assert lab("albumin", 34.9, "g/L").received_magnitude == 34.9


def test_censored_not_allowed_where_a_number_is_required() -> None:
    """Contract (parse_number allow_censored=False): limits must be numbers."""
    with pytest.raises(InputError) as info:
        parse_number("<0.5", "labs.b2m.upper_limit", allow_censored=False)
    assert info.value.field == "labs.b2m.upper_limit"
    assert info.value.accepted == "a number"
    assert parse_number("<0.5", "f", allow_censored=True) == Censored("<", 0.5)


@pytest.mark.parametrize("text", [">300", ">250", "<0.05", "<0.01"])
def test_censored_entirely_outside_plausible_range_is_refused(text: str) -> None:
    """Contract (check_plausible, closed bounds 0.05-250 mg/L): a censored value whose every possible
    value is outside the bounds is refused."""
    with pytest.raises(ImplausibleValueError) as info:
        parse_lab("b2m", {"value": text, "unit": "mg/L"})
    assert info.value.field == "labs.b2m.value"
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("text", [">=250", "<=0.05", "<0.2", ">249.9"])
def test_censored_overlapping_plausible_range_is_accepted(text: str) -> None:
    """Contract (check_plausible, closed bounds): overlapping the bounds at a single point is enough."""
    assert lab("b2m", text, "mg/L").censored


def test_censored_bounds_respect_strictness() -> None:
    """Censored contract: "<x" excludes x, "<=x" includes it; values are never negative."""
    assert Censored("<", 3.5).bounds()[1] < 3.5
    assert Censored("<=", 3.5).bounds() == (0.0, 3.5)
    assert Censored(">", 3.5).bounds()[0] > 3.5
    assert Censored(">=", 3.5).bounds() == (3.5, math.inf)
    assert Censored("<", 3.5).bounds()[0] == 0.0


# ---------------------------------------------------------------------------------------------------
# reported_in: equivalent spellings
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("received", ["µmol/L", "μmol/L", "umol/L", "mcmol/L", "umol/l"])
def test_reported_in_recognises_equivalent_spellings(received: str) -> None:
    """b2m reference E31: evaluate in the unit reported — so every spelling of µmol/L must be recognised as
    µmol/L, and mg/dL, mg/L, mmol/L or nonsense must not."""
    lv = lab("creatinine", 177, received)
    for same in ("µmol/L", "μmol/L", "umol/L", "mcmol/L"):
        assert lv.reported_in(same), same
    for other in ("mg/dL", "mg/L", "mmol/L", "nmol/L", "furlong", ""):
        assert not lv.reported_in(other), other


def test_reported_in_b2m_microgram_per_millilitre_is_mg_per_litre() -> None:
    """b2m reference UNITS-2: 1 µg/mL = 1 mg/L "same number", so a µg/mL result is reported in mg/L; not in nmol/L."""
    lv = lab("b2m", 3.5, "µg/mL")
    assert lv.reported_in("mg/L")
    assert lv.reported_in("mcg/mL")
    assert not lv.reported_in("nmol/L")
    assert not lv.reported_in("µg/L")


@pytest.mark.parametrize(
    ("key", "value", "received", "same", "other"),
    [
        ("creatinine", 177, "UMOL/L", "µmol/L", "mg/dL"),
        ("b2m", 2.5, "MG/L", "mg/L", "nmol/L"),
        ("calcium", 2.5, "MMOL/L", "mmol/L", "mg/dL"),
    ],
)
def test_reported_in_recognises_upper_case_received_unit(
    key: str, value: float, received: str, same: str, other: str
) -> None:
    """Regression (b2m reference E31, E32: evaluate in the unit reported): an upper-case HL7 unit accepted
    by parse_lab must also be recognised by reported_in (pint alone reads "UMOL" as undefined and
    "MG" as megagauss)."""
    lv = lab(key, value, received)
    assert lv.reported_in(same)
    assert not lv.reported_in(other)


@pytest.mark.parametrize("text", ["mg/(", "1/0", ","])
def test_reported_in_malformed_unit_is_false(text: str) -> None:
    """Contract (reported_in returns a bool): malformed text is simply not the reported unit."""
    assert lab("b2m", 3.5, "mg/L").reported_in(text) is False


# ---------------------------------------------------------------------------------------------------
# regressions found while writing these tests (all fixed)
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "unit"),
    [
        ("b2m", 4200, "MG/L"),
        ("b2m", 0.01, "UG/L"),
        ("b2m", 3.5, "NG/ML"),
        ("b2m", 3.5, "NMOL/L"),
        ("ldh", 1, "iu/l"),
        ("creatinine", 150, "MG/DL"),
    ],
)
def test_upper_case_unit_with_implausible_value_is_an_implausible_value_error(
    key: str, value: float, unit: str
) -> None:
    """Contract (check_plausible, b2m.errors): an implausible value is refused with ImplausibleValueError,
    whatever the case of an accepted unit."""
    refused(ImplausibleValueError, key, {"value": value, "unit": unit}, f"labs.{key}.value")


@pytest.mark.parametrize("unit", ["mg/(", ")", "1/0", "mg/L/0", ",", ".", "()", "22.^896eL"])
def test_malformed_unit_text_is_a_unit_error(unit: str) -> None:
    """Contract (b2m.errors: every error the user can cause is an InputError): malformed unit text is
    an unknown unit."""
    refused(UnitError, "b2m", {"value": 3.5, "unit": unit}, "labs.b2m.unit")


@pytest.mark.parametrize("name", ["value", "upper_limit"])
def test_integer_beyond_float_range_is_refused(name: str) -> None:
    """Contract (parse_number: finite numbers only): an integer too large for a float is not finite."""
    raw: dict[str, object] = {"value": 3.5, "unit": "mg/L", name: 10**400}
    refused(InputError, "b2m", raw, f"labs.b2m.{name}")


def test_censored_bound_must_be_finite() -> None:
    """Contract (parse_number docstring: "a finite, non-negative number, or a censored value")."""
    refused(InputError, "b2m", {"value": "<1e400", "unit": "mg/L"}, "labs.b2m.value")


def test_censored_bound_is_converted_as_exactly_as_a_number() -> None:
    """b2m reference UNITS-2 (g/L = g/dL × 10) and b2m reference E4: "<33" g/L is "<3.3" g/dL exactly, like
    33 g/L is 3.3."""
    assert canonical("albumin", 33, "g/L") == 3.3
    assert lab("albumin", "<33", "g/L").value == Censored("<", 3.3)


def test_censored_received_magnitude_has_no_float_noise() -> None:
    """b2m reference UNITS-2: 34.9 g/L -> 3.49 g/dL -> 34.9 g/L, censored or not."""
    assert lab("albumin", 34.9, "g/L").received_magnitude == 34.9
    assert lab("albumin", "<34.9", "g/L").received_magnitude == Censored("<", 34.9)


def test_censored_implausible_error_names_the_accepted_units() -> None:
    """Contract (InputError.accepted "lists the forms that would have been taken")."""
    err = refused(ImplausibleValueError, "b2m", {"value": ">300", "unit": "mg/L"}, "labs.b2m.value")
    names_accepted_units(err, "b2m")


@pytest.mark.parametrize("unit", ["mg/24 hr", "mg/24hr", "mg/24hrs", "mg/24 hours"])
def test_per_24_hr_spelling_is_accepted(unit: str) -> None:
    """Registry comment ("/24h, /(24.h), /24 hr"); 1 d = 24 h: 500 mg/24 hr = 500 mg/24 h (b2m reference E28)."""
    assert canonical("urine_m_protein", 500, unit) == 500.0


def test_superscript_nine_is_accepted() -> None:
    """Registry comment ("superscript nine: 10⁹"); SI: 10⁹/L is the canonical platelet unit."""
    assert canonical("platelets", 150, "10⁹/L") == 150.0


@pytest.mark.parametrize(
    ("key", "value", "unit", "expected"),
    [
        ("b2m", 3.5, "MCG/ML", 3.5),
        ("platelets", 150, "K/UL", 150.0),
        ("platelets", 150, "X10^9/L", 150.0),
        ("urine_m_protein", 500, "MG/24 H", 500.0),
    ],
)
def test_upper_case_of_rewritten_spellings_is_accepted(key: str, value: float, unit: str, expected: float) -> None:
    """unit_factor comment: older HL7 feeds send upper case and accepted spellings match case-insensitively."""
    assert canonical(key, value, unit) == expected


# ---------------------------------------------------------------------------------------------------
# registry helpers and errors
# ---------------------------------------------------------------------------------------------------


def test_registry_docstring_examples() -> None:
    """Docstrings of normalise_unit_text, round_sig and parse_unit."""
    assert normalise_unit_text(f"{GREEK_MU}g/mL") == "ug/mL"
    assert round_sig(3.5000000000000004) == 3.5  # the docstring's example
    assert round_sig(0.1 * 3) == 0.3
    assert 0.1 * 3 != 0.3  # the float noise round_sig exists to remove
    assert parse_unit("10^9/L").magnitude == 1e9


@pytest.mark.parametrize("unit", ["1", "2", "1e9"])
def test_bare_number_is_not_a_unit(unit: str) -> None:
    """Contract (parse_unit: a bare number is not a unit): "1" or "1e9" without "/L" is refused."""
    refused(UnitError, "platelets", {"value": 150, "unit": unit}, "labs.platelets.unit")


@pytest.mark.parametrize(
    "err",
    [
        UnitError("labs.b2m.unit", "unit 'mg/dL' refused", "mg/L, µg/mL", ""),
        ImplausibleValueError("labs.b2m.value", "4200 mg/L is implausible", "units mg/L", "looks like µg/L"),
        InputError("labs.b2m.value", "not a number: 'x'", "a number such as 4.2"),
    ],
)
def test_errors_are_structured_and_picklable(err: InputError) -> None:
    """pint-style structured exceptions (STYLE.md): fields survive pickling (multiprocessing, Spark)."""
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err)
    assert (back.field, back.problem, back.accepted, back.hint) == (err.field, err.problem, err.accepted, err.hint)
    assert str(back) == str(err)
    assert isinstance(back, ValueError)
    assert isinstance(back, B2MError)


def test_error_one_line_format() -> None:
    """b2m.errors contract: "field: problem; hint; accepted: ..."."""
    err = ImplausibleValueError("labs.albumin.value", "38 g/dL is implausible", "units g/dL, g/L", "looks like g/L")
    assert str(err) == "labs.albumin.value: 38 g/dL is implausible; looks like g/L; accepted: units g/dL, g/L"


# ---------------------------------------------------------------------------------------------------
# LOINC codes (b2m reference LAB-5)
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "codes"),
    [
        ("b2m", {"1952-1"}),
        ("albumin", {"1751-7"}),
        ("ldh", {"2532-0", "14804-9"}),
        ("creatinine", {"2160-0", "14682-9"}),
        ("cystatin_c", {"33863-2"}),
        ("crp", {"1988-5"}),
        ("m_protein", {"33358-3", "51435-6"}),
        ("flc_kappa", {"36916-5"}),
        ("flc_lambda", {"33944-0"}),
    ],
)
def test_loinc_codes_match_the_reference(key: str, codes: set[str]) -> None:
    """b2m reference LAB-5: serum B2M 1952-1 [C]; creatinine mass 2160-0 [C] and moles 14682-9 [C]; the rest [S]."""
    assert codes <= set(ANALYTES[key].loinc)


def test_no_wrong_or_fake_loinc_codes() -> None:
    """b2m reference LAB-5 warnings: urine B2M 1953-9 is not a serum code; 34366-5 is urine protein/creatinine;
    33944-8 / 33945-5 are fakes one character from 33944-0; 40844-3 is deprecated."""
    all_codes = {code for a in ANALYTES.values() for code in a.loinc}
    assert not all_codes & {"1953-9", "34366-5", "33944-8", "33945-5", "40844-3"}


# ---------------------------------------------------------------------------------------------------
# Hypothesis properties
# ---------------------------------------------------------------------------------------------------

ACCEPTED_PAIRS = [(key, unit) for key, a in ANALYTES.items() for unit in a.accepted]


@st.composite
def received_in_range(draw: st.DrawFn, n: int = 1) -> tuple[str, str, list[float]]:
    """An analyte, one of its accepted units, and ``n`` values in that unit inside the plausible range.

    Values below 1e-9 of the canonical unit are left out (no lab reports them, and floats lose
    relative precision near the subnormal range).
    """
    key, unit = draw(st.sampled_from(ACCEPTED_PAIRS))
    f = unit_factor(key, unit, "f")
    lo, hi = ANALYTES[key].plausible
    lo_x = max(lo, 1e-9) / f * (1 + 1e-9)
    hi_x = hi / f * (1 - 1e-9)
    values = st.floats(min_value=lo_x, max_value=hi_x, allow_nan=False, allow_infinity=False)
    if lo == 0:
        values = st.one_of(st.just(0.0), values)
    return key, unit, [draw(values) for _ in range(n)]


@settings(max_examples=500, deadline=None)
@given(received_in_range())
def test_unit_round_trip_is_identity(case: tuple[str, str, list[float]]) -> None:
    """STYLE.md b2m reference LYM invariant: a value in unit A -> canonical -> back to A is the original (rel 1e-9),
    for every accepted unit of every analyte and values inside the plausible range."""
    key, unit, (x,) = case
    lv = lab(key, x, unit)
    back = lv.received_magnitude
    assert isinstance(back, float)
    assert math.isclose(back, x, rel_tol=1e-9, abs_tol=0.0), (key, unit, x, back)
    assert isinstance(lv.value, float)
    assert math.isclose(lv.value / unit_factor(key, unit, "f"), x, rel_tol=1e-9, abs_tol=0.0)


@settings(max_examples=500, deadline=None)
@given(received_in_range(n=2))
def test_conversion_is_monotone(case: tuple[str, str, list[float]]) -> None:
    """Invariant: a larger received value never gives a smaller canonical value (same analyte, unit)."""
    key, unit, (a, b) = case
    small, large = sorted((a, b))
    v_small, v_large = canonical(key, small, unit), canonical(key, large, unit)
    assert v_small <= v_large, (key, unit, small, large, v_small, v_large)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(LAB_NAMES), st.integers(min_value=0, max_value=6), st.data())
def test_value_in_the_canonical_unit_is_unchanged(key: str, places: int, data: st.DataObject) -> None:
    """b2m reference EDGE-1 (general: compare the value as reported, do not round it): a decimal of up to 10
    significant digits in the canonical unit reaches the rules unchanged."""
    a = ANALYTES[key]
    lo, hi = a.plausible
    scale = 10**places
    digits = data.draw(st.integers(min_value=math.ceil(lo * scale), max_value=min(math.floor(hi * scale), 10**10)))
    x = float(Decimal(digits).scaleb(-places))
    unit = "mg/24 h" if key == "urine_m_protein" else a.display
    assert canonical(key, x, unit) == x


EXACT_DECIMAL_CONVERSIONS = [
    # (key, unit, decimal factor to canonical from b2m reference UNITS-2 / SI, decimal places of the received value)
    ("albumin", "g/L", Decimal("0.1"), 1),  # b2m reference UNITS-2: g/L = g/dL × 10
    ("hemoglobin", "g/L", Decimal("0.1"), 1),  # b2m reference UNITS-2
    ("m_protein", "g/L", Decimal("0.1"), 1),  # b2m reference UNITS-2
    ("b2m", "µg/L", Decimal("0.001"), 0),  # b2m reference UNITS-2: 1 mg/L = 1000 µg/L
    ("b2m", "ng/mL", Decimal("0.001"), 1),
    ("b2m", "µg/mL", Decimal(1), 2),  # b2m reference UNITS-2: same number
    ("b2m", "nmol/L", Decimal("0.0118"), 1),  # b2m reference LAB-1: 1 nmol/L = 0.0118 mg/L
    ("calcium", "mmol/L", Decimal("4.008"), 2),  # b2m reference UNITS-2: mmol/L = mg/dL ÷ 4.008
    ("creatinine", "mg/L", Decimal("0.1"), 1),  # SI: 1 dL = 0.1 L
    ("flc_kappa", "mg/dL", Decimal(10), 2),  # b2m reference UNITS-2: mg/dL × 10 = mg/L
    ("crp", "mg/dL", Decimal(10), 2),  # SI
    ("ldh", "µkat/L", Decimal(60), 2),  # SI: 1 µkat/L = 60 U/L
    ("platelets", "/µL", Decimal("0.001"), 0),  # SI: 10^6 µL per L
    ("urine_m_protein", "g/24 h", Decimal(1000), 3),  # SI: 1 g = 1000 mg
]


@st.composite
def exact_conversion_cases(draw: st.DrawFn) -> tuple[str, str, Decimal, Decimal]:
    """(key, unit, received, expected canonical) with the received value a short decimal whose
    canonical value lies inside the plausible range."""
    key, unit, factor, places = draw(st.sampled_from(EXACT_DECIMAL_CONVERSIONS))
    lo, hi = (Decimal(repr(b)) for b in ANALYTES[key].plausible)
    scale = Decimal(10) ** places
    n_lo = int((lo / factor * scale).to_integral_value(rounding="ROUND_CEILING"))
    n_hi = int((hi / factor * scale).to_integral_value(rounding="ROUND_FLOOR"))
    n = draw(st.integers(min_value=n_lo, max_value=n_hi))
    received = Decimal(n) / scale
    return key, unit, received, received * factor


@settings(max_examples=600, deadline=None)
@given(exact_conversion_cases())
def test_decimal_conversions_are_exact(case: tuple[str, str, Decimal, Decimal]) -> None:
    """b2m reference UNITS-2, E4 generalised: when the reference's factor makes the canonical value a finite
    decimal, the canonical float is that decimal exactly (35 g/L == 3.5, never 3.5000000000000004)."""
    key, unit, received, expected = case
    assert canonical(key, float(received), unit) == float(expected), (key, unit, str(received))


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=300))
@example(20)  # 176.8 µmol/L = 2.0 mg/dL, the IMWG creatinine figure (b2m reference UNITS-2, E31)
def test_creatinine_multiples_of_88_4_are_exact(tenths_mg_dl: int) -> None:
    """b2m reference UNITS-2: µmol/L = mg/dL × 88.4, so (n × 8.84) µmol/L is exactly n/10 mg/dL."""
    received = Decimal(tenths_mg_dl) * Decimal("8.84")
    assert canonical("creatinine", float(received), "µmol/L") == float(Decimal(tenths_mg_dl) / 10)


JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**300), max_value=10**300),  # beyond float range: see the regression tests
    st.floats(),
    st.text(),
    st.sampled_from(["<0.5", "≥ 5", ">20", "<=3", "1e999", "-0.5", "nan", "2026-01-31", "4,2", "<1e999"]),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=6,
)


@st.composite
def lab_objects(draw: st.DrawFn) -> tuple[str, object]:
    key = draw(st.sampled_from(LAB_NAMES))
    a = ANALYTES[key]
    raw: dict[str, object] = draw(st.dictionaries(st.sampled_from(LAB_KEYS[2:]), JSON_VALUES, max_size=5))
    raw["value"] = draw(JSON_VALUES)
    unit = draw(st.one_of(st.none(), st.sampled_from(a.accepted + tuple(r for r, _ in a.refused))))
    if unit is not None:
        raw["unit"] = unit
    return key, draw(st.one_of(st.just(raw), JSON_VALUES))


@settings(max_examples=1000, deadline=None)
@given(lab_objects())
def test_parse_raises_only_input_errors_on_arbitrary_values(case: tuple[str, object]) -> None:
    """b2m.errors contract: every error the user can cause is an InputError (a ValueError with
    structured fields) — for arbitrary JSON-ish values, limits, dates, methods with accepted units."""
    key, raw = case
    try:
        lv = parse_lab(key, raw)
    except InputError as err:
        assert isinstance(err, ValueError)
        assert err.field.startswith(f"labs.{key}")
        return
    if lv is not None:
        assert isinstance(lv.value, float | Censored)


@settings(max_examples=1000, deadline=None)
@given(st.sampled_from(LAB_NAMES), JSON_SCALARS, st.text())
@example("albumin", 4.0, "mg/(")
@example("hemoglobin", 12.0, "1/0")
@example("calcium", 10.0, ",")
@example("b2m", 4200, "MG/L")
def test_parse_raises_only_input_errors_on_arbitrary_unit_text(key: str, value: object, unit: str) -> None:
    """b2m.errors contract: arbitrary unit text (st.text()) is accepted or refused with an InputError."""
    try:
        parse_lab(key, {"value": value, "unit": unit})
    except InputError as err:
        assert isinstance(err, ValueError)
