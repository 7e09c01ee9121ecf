"""Tests for b2m.interpret: reference intervals, ISS B2M bands, confounder flags, context matching.

Oracles: the b2m reference (docs/reference/), cited by section id and edge-case row id (b2m reference E1-E48),
with the papers and laboratory sources named there; unit arithmetic done by hand from the reference's
factors (MW 11,800 Da, creatinine x88.4); the KDIGO 2012 GFR categories for the eGFR cut-offs (G3a < 60, G4 < 30); WHO
ICD-10 and ATC code tables for the coded inputs. No expected value was produced by running b2m.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from b2m.errors import InputError
from b2m.interpret import (
    B2MInterpretation,
    Flag,
    Match,
    interpret_b2m,
    match_conditions,
    match_medications,
)
from b2m.units import LabValue, parse_lab

LOW, MIDDLE, HIGH = "< 3.5 mg/L", "3.5 to < 5.5 mg/L", "≥ 5.5 mg/L"  # ISS B2M bands, b2m reference ISS-2


def lab(key: str, value: object, unit: str, **extra: object) -> LabValue:
    parsed = parse_lab(key, {"value": value, "unit": unit, **extra})
    assert parsed is not None
    return parsed


def b2m(value: object, unit: str = "mg/L", **extra: object) -> LabValue:
    extra.setdefault("method", "nephelometry")
    return lab("b2m", value, unit, **extra)


def run(**kw: Any) -> B2MInterpretation:
    args: dict[str, Any] = {
        "b2m": None,
        "age_years": None,
        "egfr_ml_min_1_73m2": None,
        "egfr_equation": None,
        "creatinine": None,
        "crp": None,
        "conditions": (),
        "medications": (),
    }
    args.update(kw)
    return interpret_b2m(**args)


def flags_with(r: B2MInterpretation, code: str) -> list[Flag]:
    return [f for f in r.flags if f.code == code]


def note_codes(r: B2MInterpretation) -> set[str]:
    return {n.code for n in r.notes}


# ---------------------------------------------------------------------------------------------
# Reference interval and position
# ---------------------------------------------------------------------------------------------


def test_default_interval_is_mayo_nephelometry() -> None:
    """Oracle: b2m reference LAB-2 (Mayo Clinic Laboratories 1.21-2.70 mg/L, nephelometry, LOINC 1952-1 [C])."""
    r = run(b2m=b2m(2.0))
    ri = r.reference_interval
    assert ri is not None
    assert (ri.lower, ri.upper, ri.unit) == (1.21, 2.70, "mg/L")
    assert (ri.method, ri.loinc) == ("nephelometry", "1952-1")
    assert ri.origin == "default"
    assert ri.source is not None and "Mayo" in ri.source.citation
    assert r.position == "within"
    assert {"methods_not_interchangeable", "default_reference_interval"} <= note_codes(r)


def test_lab_interval_preferred_over_default() -> None:
    """Oracle: b2m reference LAB-2 Ohio State turbidimetry interval 0.80-2.34 mg/L vs Mayo 1.21-2.70 mg/L.

    2.5 mg/L lies above 2.34 (the lab's) but inside 2.70 (the default's).
    """
    own = run(b2m=b2m(2.5, lower_limit=0.80, upper_limit=2.34, method="turbidimetry"))
    assert own.reference_interval is not None
    assert own.reference_interval.origin == "reporting_lab"
    assert own.reference_interval.source is None
    assert (own.reference_interval.lower, own.reference_interval.upper) == (0.80, 2.34)
    assert own.position == "above"
    assert "default_reference_interval" not in note_codes(own)
    default = run(b2m=b2m(2.5))
    assert default.position == "within"


@pytest.mark.parametrize(
    ("value", "position"),
    [(1.20, "below"), (1.21, "within"), (2.70, "within"), (2.71, "above")],
)
def test_position_at_the_limits(value: float, position: str) -> None:
    """Oracle: Mayo limits 1.21/2.70 (b2m reference LAB-2); a value equal to a limit is not outside it
    (b2m reference E6, E19)."""
    assert run(b2m=b2m(value)).position == position


def test_position_against_one_sided_lab_interval() -> None:
    """Oracle: b2m reference LAB-2 BC Cancer interval '< 2 mg/L' (upper limit only): nothing is below it."""
    assert run(b2m=b2m(0.1, upper_limit=2.0)).position == "within"
    assert run(b2m=b2m(2.5, upper_limit=2.0)).position == "above"
    r = run(b2m=b2m(2.0, upper_limit=2.0))
    assert r.position == "within"
    assert "one_sided_interval" in note_codes(r)


def test_lower_limit_only_leaves_above_open() -> None:
    """Oracle: unknown is never normal (conventions): without an upper limit 'above' stays possible."""
    r = run(b2m=b2m(3.0, lower_limit=1.0))
    assert r.position == "unknown"
    assert r.possible_positions == ("within", "above")
    assert r.times_upper_limit is None


@pytest.mark.parametrize(
    ("nmol_l", "position"), [(102.4, "below"), (102.5, "within"), (228.8, "within"), (228.9, "above")]
)
def test_position_against_a_lab_interval_in_nmol_l(nmol_l: float, position: str) -> None:
    """Oracle: b2m reference EDGE-1 (compare in the reported unit) and b2m reference E6, E19 (equal to a
    limit is inside).

    The lab reports 102.5-228.8 nmol/L; its limits come back exactly in that unit.
    """
    r = run(b2m=b2m(nmol_l, "nmol/L", lower_limit=102.5, upper_limit=228.8))
    assert r.position == position
    assert r.reference_interval_as_reported == {"lower": 102.5, "upper": 228.8, "unit": "nmol/L"}


def test_patient_summary_uses_the_reported_unit() -> None:
    """Oracle: b2m reference LAB-2 and LAB-1 by hand: 1.21 / 0.0118 = 102.54 and 2.70 / 0.0118 = 228.81 nmol/L."""
    r = run(b2m=b2m(300, "nmol/L"))
    assert "300 nmol/L" in r.summary_patient
    assert "102.5 to 228.8 nmol/L" in r.summary_patient
    assert "1.21–2.7 mg/L (102.5–228.8 nmol/L)" in r.summary_clinician


def test_times_upper_limit() -> None:
    """Oracle: by hand, 5.4 / 2.70 = 2.0 (b2m reference LAB-2 Mayo) and 4.68 / 2.34 = 2.0 (Ohio State)."""
    assert run(b2m=b2m(5.4)).times_upper_limit == pytest.approx(2.0)
    assert run(b2m=b2m(4.68, lower_limit=0.8, upper_limit=2.34)).times_upper_limit == pytest.approx(2.0)


def test_censored_below_is_below_a_higher_lower_limit() -> None:
    """Oracle: brief / b2m reference EDGE-1 'General': '<0.5' is wholly below 1.21 (b2m reference LAB-2) but
    not below 0.3."""
    r = run(b2m=b2m("<0.5"))
    assert r.position == "below"
    assert r.times_upper_limit is None
    assert r.iss_band == LOW
    assert flags_with(r, "censored_result")
    straddling = run(b2m=b2m("<0.5", lower_limit=0.3, upper_limit=2.7))
    assert straddling.position == "unknown"
    assert straddling.possible_positions == ("below", "within")


def test_censored_above() -> None:
    """Oracle: '>20' mg/L is wholly above 2.70 (b2m reference LAB-2) and ≥ 5.5 (b2m reference ISS-2)."""
    r = run(b2m=b2m(">20"))
    assert r.position == "above"
    assert r.iss_band == HIGH
    assert r.times_upper_limit is None


def test_no_b2m() -> None:
    """Oracle: conventions 'unknown is never normal': no B2M leaves every position and band open."""
    r = run()
    assert r.position == "unknown"
    assert r.possible_positions == ("below", "within", "above")
    assert r.iss_band is None
    assert r.possible_iss_bands == (LOW, MIDDLE, HIGH)
    assert r.reference_interval is None
    assert r.flags == ()
    assert "b2m_missing" in note_codes(r)


# ---------------------------------------------------------------------------------------------
# ISS B2M band (Greipp 2005)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "band"),
    [
        (3.49, LOW),
        (3.5, MIDDLE),  # b2m reference E1: 3.5 is not < 3.5
        (5.49, MIDDLE),
        (5.5, HIGH),  # b2m reference E2: 5.5 is ≥ 5.5
        (0.9, LOW),
        (12.0, HIGH),
    ],
)
def test_iss_band_boundaries(value: float, band: str) -> None:
    """Oracle: b2m reference ISS-2 (B2M < 3.5 / ≥ 5.5 mg/L) and b2m reference E1-E2."""
    r = run(b2m=b2m(value))
    assert r.iss_band == band
    assert r.possible_iss_bands == (band,)


@pytest.mark.parametrize(
    ("nmol_l", "band"),
    [(296.61, LOW), (296.62, MIDDLE), (466.10, MIDDLE), (466.11, HIGH)],
)
def test_iss_band_in_nmol_l(nmol_l: float, band: str) -> None:
    """Oracle: b2m reference E45 (3.5 mg/L ≈ 296.6 nmol/L, 5.5 mg/L ≈ 466.1 nmol/L; MW 11,800 Da, b2m reference LAB-1).

    By hand: 3.5 / 0.0118 = 296.6102 nmol/L and 5.5 / 0.0118 = 466.1017 nmol/L.
    """
    assert run(b2m=b2m(nmol_l, "nmol/L")).iss_band == band


@pytest.mark.parametrize(("ug_l", "band"), [(3499, LOW), (3500, MIDDLE), (5499, MIDDLE), (5500, HIGH)])
def test_iss_band_in_ug_l(ug_l: float, band: str) -> None:
    """Oracle: b2m reference E1-E2 with 1 mg/L = 1000 µg/L."""
    assert run(b2m=b2m(ug_l, "µg/L")).iss_band == band


def test_censored_band_straddling_a_cut_off_is_open() -> None:
    """Oracle: b2m reference ISS-2 cut-offs: '<5' may be < 3.5 or in 3.5-5.5; '>4' may be in 3.5-5.5 or ≥ 5.5."""
    r = run(b2m=b2m("<5"))
    assert r.iss_band is None
    assert r.possible_iss_bands == (LOW, MIDDLE)
    assert run(b2m=b2m(">4")).possible_iss_bands == (MIDDLE, HIGH)


def test_iss_operator_discrepancy_note_on_every_result() -> None:
    """Oracle: b2m reference D1 (ISS stage III '≥ 5.5' vs '> 5.5' [D]); conventions: [D] note on every result."""
    for value in (1.0, 4.0, 5.5, "<0.5"):
        notes = [n for n in run(b2m=b2m(value)).notes if n.code == "iss_b2m_operator"]
        assert len(notes) == 1 and notes[0].kind == "discrepancy"


# ---------------------------------------------------------------------------------------------
# Kidney function
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("egfr", "severity"),
    [(90.0, None), (60.0, None), (59.9, "caution"), (30.0, "caution"), (29.9, "warning"), (5.0, "warning")],
)
def test_reduced_kidney_function_by_egfr(egfr: float, severity: str | None) -> None:
    """Oracle: KDIGO 2012 GFR categories (G3a below 60, G4 below 30; 60 is G2 and 30 is G3b)."""
    r = run(b2m=b2m(3.0), egfr_ml_min_1_73m2=egfr, egfr_equation="CKD-EPI 2021 creatinine")
    fs = flags_with(r, "reduced_kidney_function")
    if severity is None:
        assert fs == []
    else:
        assert len(fs) == 1 and fs[0].severity == severity
        assert fs[0].evidence["egfr"] == egfr
        assert fs[0].evidence["equation"] == "CKD-EPI 2021 creatinine"
    assert "kidney_thresholds" in note_codes(r)
    assert not flags_with(r, "kidney_function_unknown")


def test_evidence_example_from_the_brief() -> None:
    """Oracle: the brief's example evidence {"egfr": 42.1, "equation": "CKD-EPI 2021 creatinine"}."""
    r = run(b2m=b2m(3.0), egfr_ml_min_1_73m2=42.1, egfr_equation="CKD-EPI 2021 creatinine")
    (f,) = flags_with(r, "reduced_kidney_function")
    assert {"egfr": 42.1, "equation": "CKD-EPI 2021 creatinine"}.items() <= f.evidence.items()
    assert "creatinine" not in f.evidence


@pytest.mark.parametrize(
    ("value", "unit", "flagged"),
    [
        (1.19, "mg/dL", False),
        (1.2, "mg/dL", True),  # b2m reference E42: creatinine 1.2 is not < 1.2
        (2.5, "mg/dL", True),
        (106, "µmol/L", False),  # 1.2 mg/dL x 88.4 = 106.08 µmol/L (b2m reference UNITS-2)
        (106.08, "µmol/L", True),
        (107, "µmol/L", True),
    ],
)
def test_reduced_kidney_function_by_creatinine(value: float, unit: str, flagged: bool) -> None:
    """Oracle: b2m reference HR25-2, E42, E48 (IMS/IMWG 2025 B2M criterion needs creatinine < 1.2 mg/dL)."""
    cr = lab("creatinine", value, unit)
    r = run(b2m=b2m(6.0), creatinine=cr)
    fs = flags_with(r, "reduced_kidney_function")
    assert bool(fs) is flagged
    if flagged:
        (f,) = fs
        assert f.severity == "caution"
        creat = f.evidence["creatinine"]
        assert isinstance(creat, dict)
        assert (creat["value"], creat["unit"]) == (value, unit)
        assert "IMS/IMWG 2025" in f.clinician and "< 1.2 mg/dL" in f.clinician
        assert "egfr" not in f.evidence
    assert not flags_with(r, "kidney_function_unknown")


def test_kidney_flag_takes_the_worse_of_egfr_and_creatinine() -> None:
    """Oracle: KDIGO G4 (< 30) is a warning whatever the creatinine flag says."""
    r = run(
        b2m=b2m(6.0),
        egfr_ml_min_1_73m2=20,
        egfr_equation="CKD-EPI 2021 creatinine",
        creatinine=lab("creatinine", 3.1, "mg/dL"),
    )
    (f,) = flags_with(r, "reduced_kidney_function")
    assert f.severity == "warning"
    assert {"egfr", "creatinine"} <= set(f.evidence)


KDIGO_2012_DOI = "10.1038/kisup.2012.73"  # KDIGO 2012 CKD guideline, Kidney Int Suppl 2013;3(1):1-150
AVET_LOISEAU_2025_DOI = "10.1200/JCO-24-01893"  # b2m reference HR25


@pytest.mark.parametrize("egfr", [59.9, 29.9])
def test_reduced_kidney_function_by_egfr_cites_kdigo(egfr: float) -> None:
    """Oracle: KDIGO 2012 GFR categories (G3a below 60, G4 below 30), the guideline the cut-offs come
    from (DOI 10.1038/kisup.2012.73), cited whether or not creatinine is also high."""
    for creatinine in (None, lab("creatinine", 2.5, "mg/dL")):
        r = run(b2m=b2m(3.0), egfr_ml_min_1_73m2=egfr, egfr_equation="CKD-EPI 2021 creatinine", creatinine=creatinine)
        (f,) = flags_with(r, "reduced_kidney_function")
        assert f.source is not None and f.source.doi == KDIGO_2012_DOI
        assert "KDIGO" in f.source.citation
        assert f.status == "C"


def test_reduced_kidney_function_by_creatinine_alone_cites_avet_loiseau() -> None:
    """Oracle: b2m reference HR25-2 (Avet-Loiseau 2025, DOI 10.1200/JCO-24-01893: B2M criterion needs creatinine
    < 1.2 mg/dL, from secondary summaries [S]) and b2m reference E42 (1.2 is not < 1.2)."""
    for egfr in (None, 75.0):  # no eGFR, or an eGFR above the cut-offs: only creatinine raised it
        r = run(
            b2m=b2m(6.0),
            egfr_ml_min_1_73m2=egfr,
            egfr_equation="CKD-EPI 2021 creatinine",
            creatinine=lab("creatinine", 1.2, "mg/dL"),
        )
        (f,) = flags_with(r, "reduced_kidney_function")
        assert f.source is not None and f.source.doi == AVET_LOISEAU_2025_DOI
        assert f.status == "S"
        assert "egfr" not in f.evidence


def test_ims_imwg_constants_are_the_rules_own() -> None:
    """Oracle: b2m reference HR25, E42 (B2M ≥ 5.5 mg/L, creatinine < 1.2 mg/dL) and b2m reference ISS-2 (Greipp 2005,
    DOI 10.1200/JCO.2005.04.242); review finding 4: one definition, imported from the rules."""
    from b2m.interpret import b2m as interpret_module
    from b2m.interpret import flags
    from b2m.rules import ims_imwg_2025_high_risk as ims
    from b2m.rules import iss

    assert flags.IMS_IMWG_2025_CREATININE_BELOW_MG_DL is ims.CREATININE_NORMAL_BELOW_MG_DL == 1.2
    assert flags.IMS_IMWG_2025_B2M_MIN_MG_L is ims.B2M_MG_L == 5.5
    assert flags.AVET_LOISEAU_2025 is ims.SOURCE and ims.SOURCE.doi == AVET_LOISEAU_2025_DOI
    assert interpret_module.GREIPP_2005 is iss.SOURCE and iss.SOURCE.doi == "10.1200/JCO.2005.04.242"
    assert run(b2m=b2m(3.0)).to_dict()["iss_band_source"] == iss.SOURCE.to_dict()


def test_kidney_function_unknown() -> None:
    """Oracle: b2m reference LAB-1 (B2M rises as GFR falls): without creatinine or eGFR it cannot be read against it."""
    r = run(b2m=b2m(3.0))
    (f,) = flags_with(r, "kidney_function_unknown")
    assert f.severity == "info"
    assert not flags_with(r, "reduced_kidney_function")
    # not raised once either kidney input is present, even if normal
    normal_cr = lab("creatinine", 0.8, "mg/dL")
    assert not flags_with(run(b2m=b2m(3.0), creatinine=normal_cr), "kidney_function_unknown")
    assert not flags_with(run(b2m=b2m(3.0), egfr_ml_min_1_73m2=95.0), "kidney_function_unknown")
    # nor without a B2M result, nor when dialysis already says more
    assert not flags_with(run(), "kidney_function_unknown")
    assert not flags_with(run(b2m=b2m(30.0), conditions=["haemodialysis"]), "kidney_function_unknown")


def test_ims_imwg_criterion_not_assessable_without_creatinine() -> None:
    """Oracle: b2m reference E42 (creatinine missing -> the B2M criterion is not assessable)."""
    assert "ims_imwg_2025_b2m_criterion_not_assessable" in note_codes(run(b2m=b2m(5.5)))
    assert "ims_imwg_2025_b2m_criterion_not_assessable" not in note_codes(run(b2m=b2m(5.4)))
    with_cr = run(b2m=b2m(5.5), creatinine=lab("creatinine", 0.9, "mg/dL"))
    assert "ims_imwg_2025_b2m_criterion_not_assessable" not in note_codes(with_cr)


def test_egfr_equation_notes() -> None:
    """Oracle: b2m reference KID-6 (Cockcroft-Gault is CrCl in mL/min; IMWG prefers CKD-EPI)."""
    assert "egfr_equation_not_named" in note_codes(run(b2m=b2m(3.0), egfr_ml_min_1_73m2=50.0))
    cg = run(b2m=b2m(3.0), egfr_ml_min_1_73m2=50.0, egfr_equation="Cockcroft-Gault")
    assert "egfr_cockcroft_gault" in note_codes(cg)


# ---------------------------------------------------------------------------------------------
# Inflammation
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("crp", "flagged"),
    [
        (lab("crp", 5.0, "mg/L"), False),  # b2m default: > 5 mg/L (equal is not above)
        (lab("crp", 5.1, "mg/L"), True),
        (lab("crp", 8.0, "mg/L"), True),  # 5-10 mg/L is no longer read as normal without a lab limit
        (lab("crp", 10.0, "mg/L"), True),
        (lab("crp", 0.5, "mg/dL"), False),  # 0.5 mg/dL = 5 mg/L
        (lab("crp", 0.51, "mg/dL"), True),
        (lab("crp", "<5", "mg/L"), False),
        (lab("crp", 6.0, "mg/L", upper_limit=5.0), True),  # the lab's own limit wins
        (lab("crp", 5.0, "mg/L", upper_limit=5.0), False),
        (lab("crp", 8.0, "mg/L", upper_limit=10.0), False),  # ... also when it is the lenient 10 mg/L
    ],
)
def test_inflammation(crp: LabValue, flagged: bool) -> None:
    """Oracle: review finding 1 (CRP above the lab's upper limit, else > 5 mg/L, the stricter of the
    common lab limits 5 and 10 mg/L); b2m reference E6 (equal to a limit is not above it); b2m reference UNITS-2
    (mg/dL x 10 = mg/L)."""
    r = run(b2m=b2m(3.0), crp=crp)
    fs = flags_with(r, "inflammation")
    assert bool(fs) is flagged
    if flagged:
        ev = fs[0].evidence
        origin = "reporting lab" if crp.upper_limit is not None else "b2m default"
        assert ev["upper_limit_origin"] == origin
        assert isinstance(ev["crp"], dict) and ev["crp"]["value"] == crp.received_value
    assert ("crp_default_upper_limit" in note_codes(r)) is (crp.upper_limit is None)


def test_crp_default_limit_is_the_stricter_and_noted_on_every_result_that_used_it() -> None:
    """Oracle: review finding 1 (many labs use 5 mg/L, some 10 mg/L; missing lab limits never default
    to the lenient side; the default is a note on every result that used it)."""
    for value in (1.0, 5.0, 7.5, 12.0, "<10"):
        r = run(b2m=b2m(3.0), crp=lab("crp", value, "mg/L"))
        (note,) = [n for n in r.notes if n.code == "crp_default_upper_limit"]
        assert note.kind == "setting"
        assert "> 5 mg/L" in note.text and "10 mg/L" in note.text
    own = run(b2m=b2m(3.0), crp=lab("crp", 7.5, "mg/L", upper_limit=10.0))
    assert "crp_default_upper_limit" not in note_codes(own)
    (f,) = flags_with(run(b2m=b2m(3.0), crp=lab("crp", 7.5, "mg/L")), "inflammation")
    assert f.evidence["crp_upper_limit_mg_l"] == 5.0
    assert f.evidence["upper_limit_origin"] == "b2m default"
    assert "5 mg/L" in f.clinician


def test_crp_straddling_the_default_limit_is_undecided() -> None:
    """Oracle: conventions 'unknown is never normal': '<10' mg/L may or may not be above 5 mg/L."""
    r = run(b2m=b2m(3.0), crp=lab("crp", "<10", "mg/L"))
    assert not flags_with(r, "inflammation")
    assert "crp_undecided" in note_codes(r)


def test_no_crp_no_inflammation_flag() -> None:
    """Oracle: brief (flags only from evidence present)."""
    r = run(b2m=b2m(3.0))
    assert not flags_with(r, "inflammation")
    assert "crp_default_upper_limit" not in note_codes(r)


# ---------------------------------------------------------------------------------------------
# Conditions and medications
# ---------------------------------------------------------------------------------------------

LPD = "other_lymphoproliferative_disease"
CKD = "known_kidney_disease"
CONDITION_CASES = [
    # (input, flag code, category) — names and WHO ICD-10 / SNOMED CT codes
    ("HIV", "infection", "hiv"),
    ("Human immunodeficiency virus infection", "infection", "hiv"),
    ("HIV/AIDS", "infection", "hiv"),
    ("ICD10:B20", "infection", "hiv"),
    ("B24", "infection", "hiv"),
    ("Z21", "infection", "hiv"),
    ("SNOMED:86406008", "infection", "hiv"),
    ("Infectious mononucleosis", "infection", "ebv"),
    ("EBV", "infection", "ebv"),
    ("ICD-10:B27.0", "infection", "ebv"),
    ("CMV", "infection", "cmv"),
    ("B25.9", "infection", "cmv"),
    ("Influenza A", "infection", "acute_viral_infection"),
    ("U07.1", "infection", "acute_viral_infection"),
    ("Rheumatoid arthritis", "autoimmune_disease", "autoimmune_disease"),
    ("ICD10:M05.9", "autoimmune_disease", "autoimmune_disease"),
    ("M06.9", "autoimmune_disease", "autoimmune_disease"),
    ("SLE", "autoimmune_disease", "autoimmune_disease"),
    ("Lupus", "autoimmune_disease", "autoimmune_disease"),
    ("M32.9", "autoimmune_disease", "autoimmune_disease"),
    ("Sjogren syndrome", "autoimmune_disease", "autoimmune_disease"),
    ("Sjögren's syndrome", "autoimmune_disease", "autoimmune_disease"),
    ("M35.0", "autoimmune_disease", "autoimmune_disease"),
    ("Crohn's disease", "autoimmune_disease", "autoimmune_disease"),
    ("K50.9", "autoimmune_disease", "autoimmune_disease"),
    ("K51.0", "autoimmune_disease", "autoimmune_disease"),
    ("SNOMED:69896004", "autoimmune_disease", "autoimmune_disease"),
    ("Cirrhosis", "liver_disease", "liver_disease"),
    ("Hepatitis C", "liver_disease", "liver_disease"),
    ("K74.6", "liver_disease", "liver_disease"),
    ("K70.3", "liver_disease", "liver_disease"),
    ("CLL", LPD, LPD),
    ("Chronic lymphocytic leukaemia", LPD, LPD),
    ("chronic lymphocytic leukemia", LPD, LPD),
    ("Diffuse large B-cell lymphoma", LPD, LPD),
    ("Waldenström macroglobulinemia", LPD, LPD),
    ("Waldenstrom", LPD, LPD),
    ("C91.1", LPD, LPD),
    ("C83.3", LPD, LPD),
    ("C88.0", LPD, LPD),
    ("SNOMED:92814006", LPD, LPD),
    ("Breast cancer", "solid_tumour", "solid_tumour"),
    ("C34.1", "solid_tumour", "solid_tumour"),
    ("C18.7", "solid_tumour", "solid_tumour"),
    ("C53.9", "solid_tumour", "solid_tumour"),
    ("Kidney transplant", "transplant", "kidney_transplant"),
    ("Renal transplant recipient", "transplant", "kidney_transplant"),
    ("Z94.0", "transplant", "kidney_transplant"),
    ("SNOMED:70536003", "transplant", "kidney_transplant"),
    # chronic kidney disease: names from the review finding; WHO ICD-10 N18.1-N18.4 (CKD stages 1-4),
    # N18.9 (CKD, unspecified), N19 (unspecified kidney failure); ICD-10-CM N18.30 (stage 3 unspecified);
    # SNOMED CT 709044004 Chronic kidney disease (disorder)
    ("Chronic kidney disease", CKD, CKD),
    ("CKD", CKD, CKD),
    ("CKD stage 3", CKD, CKD),
    ("CKD G3a", CKD, CKD),
    ("pre-dialysis CKD", CKD, CKD),  # pre-dialysis is not dialysis, but it is CKD
    ("Renal insufficiency", CKD, CKD),
    ("Chronic renal failure", CKD, CKD),
    ("N18.1", CKD, CKD),
    ("N18.3", CKD, CKD),
    ("ICD10:N18.4", CKD, CKD),
    ("N18.30", CKD, CKD),
    ("N18.9", CKD, CKD),
    ("N19", CKD, CKD),
    ("SNOMED:709044004", CKD, CKD),
    ("Haemodialysis", "dialysis", "dialysis"),
    ("hemodialysis", "dialysis", "dialysis"),
    ("End-stage renal disease", "dialysis", "dialysis"),
    ("Z99.2", "dialysis", "dialysis"),
    ("N18.6", "dialysis", "dialysis"),
]


@pytest.mark.parametrize(("item", "code", "category"), CONDITION_CASES)
def test_condition_flags(item: str, code: str, category: str) -> None:
    """Oracle: b2m reference LAB-4 (causes of raised B2M); WHO ICD-10 chapters named in the brief."""
    r = run(b2m=b2m(3.0), conditions=["Multiple myeloma", item])
    fs = [f for f in flags_with(r, code) if f.category == category]
    assert len(fs) == 1
    matched = fs[0].evidence["matched"]
    assert isinstance(matched, list) and [m["input"] for m in matched] == [item]
    assert fs[0].patient and fs[0].clinician


@pytest.mark.parametrize(
    "item",
    [
        "archive",
        "HIV negative",
        "No HIV",
        "HIV exposure",
        "hearing aids",
        "Z20.6",  # contact with and exposure to HIV
        "Z11.4",  # screening for HIV
        "lupus anticoagulant",
        "family history of breast cancer",
        "autologous stem cell transplant",
        "allogeneic stem cell transplant",
        "awaiting kidney transplant",
        "kidney transplant donor",
        "no CKD",
        "CKD ruled out",
        "kidney stones",
        "N20.0",  # calculus of kidney
        "Multiple myeloma",
        "C90.00",
        "SNOMED:109989006",  # multiple myeloma
        "hepatitis B vaccination",
        "",
    ],
)
def test_condition_items_that_raise_nothing(item: str) -> None:
    """Oracle: brief (no false positives from substrings, negations or non-diagnoses); ICD-10 Z20.6, Z11.4,
    N20.0 and C90 are not in the confounder chapters."""
    r = run(b2m=b2m(3.0), creatinine=lab("creatinine", 0.8, "mg/dL"), conditions=[item])
    assert [f.code for f in r.flags if f.code != "method_not_stated"] == []


MEDICATION_CASES = [
    ("Ciclosporin", "ciclosporin"),
    ("cyclosporine 100 mg twice daily", "ciclosporin"),
    ("Neoral", "ciclosporin"),
    ("L04AD01", "ciclosporin"),
    ("ATC:L04AD01", "ciclosporin"),
    ("Lithium carbonate 400 mg", "lithium"),
    ("Priadel", "lithium"),
    ("ATC:N05AN01", "lithium"),
]


@pytest.mark.parametrize(("item", "category"), MEDICATION_CASES)
def test_drug_effect(item: str, category: str) -> None:
    """Oracle: b2m reference LAB-3, LAB-4 (cyclosporine, lithium raise serum B2M [S]); WHO ATC L04AD01, N05AN01."""
    r = run(b2m=b2m(3.0), medications=[item])
    (f,) = flags_with(r, "drug_effect")
    assert f.category == category and f.status == "S"
    matched = f.evidence["matched"]
    assert isinstance(matched, list)
    assert [(m["input"], m["category"]) for m in matched] == [(item, category)]


@pytest.mark.parametrize(
    "item",
    [
        "lithium heparin tube",
        "stopped lithium",
        "lithium allergy",
        "cyclosporine eye drops",
        "tacrolimus",
        "L04AD02",
        "biotinidase deficiency test",
    ],
)
def test_medications_that_raise_nothing(item: str) -> None:
    """Oracle: brief ('lithium heparin tube' is not lithium); ATC L04AD02 is tacrolimus, not ciclosporin."""
    r = run(b2m=b2m(3.0), medications=[item])
    assert not flags_with(r, "drug_effect")
    assert not flags_with(r, "biotin_interference")


def test_matcher_reports_which_item_matched_which_category() -> None:
    """Oracle: brief (return which input item matched which category); WHO ICD-10 M05-M06 = RA."""
    m = match_conditions(["HIV", "archive", "M05.9", "HIV negative"])
    assert m.matches == (
        Match("HIV", "hiv", "name", "hiv"),
        Match("M05.9", "autoimmune_disease", "ICD-10", "M05-M06"),
    )
    assert m.unmatched == ("archive",)
    assert [(s.input, s.category) for s in m.skipped] == [("HIV negative", "hiv")]
    meds = match_medications(["Biotin 10 mg", "A11HA05"])
    assert [(x.input, x.category, x.via) for x in meds.matches] == [
        ("Biotin 10 mg", "biotin", "name"),
        ("A11HA05", "biotin", "ATC"),
    ]


def test_skipped_items_are_surfaced_as_notes() -> None:
    """Oracle: conventions (nothing silently dropped): a negated item is reported, not used."""
    r = run(b2m=b2m(3.0), conditions=["HIV negative"])
    assert not flags_with(r, "infection")
    assert any(n.code == "context_item_not_used" and "HIV negative" in n.text for n in r.notes)


def test_cmv_is_marked_secondary_only() -> None:
    """Oracle: b2m reference LAB-4 (CMV [S, low-authority only])."""
    (f,) = flags_with(run(b2m=b2m(3.0), conditions=["CMV viraemia"]), "infection")
    assert f.status == "S" and f.source is None
    assert "secondary" in f.clinician


def test_hiv_and_ebv_cite_their_papers() -> None:
    """Oracle: b2m reference LAB-4 (HIV: Lacey 1987 AIDS 1(2):123-127 [C]; EBV: PMID 6171995 [C])."""
    (hiv,) = flags_with(run(conditions=["HIV"]), "infection")
    assert hiv.source is not None and "Lacey" in hiv.source.citation and hiv.status == "C"
    assert "64%" in hiv.clinician
    (ebv,) = flags_with(run(conditions=["EBV"]), "infection")
    assert ebv.source is not None and "6171995" in ebv.source.citation


def test_known_kidney_disease_replaces_kidney_function_unknown() -> None:
    """Oracle: review finding 2 (known CKD is a caution flag; no kidney_function_unknown when it matched,
    and the result still says eGFR could not be computed); b2m reference LAB-4 (reduced GFR / CKD raises B2M [C])."""
    r = run(b2m=b2m(4.0), conditions=["CKD stage 3"])
    (f,) = flags_with(r, "known_kidney_disease")
    assert f.severity == "caution" and f.category == "known_kidney_disease"
    assert f.source is not None and "Mayo" in f.source.citation and f.status == "C"
    assert not flags_with(r, "kidney_function_unknown")
    (note,) = [n for n in r.notes if n.code == "egfr_not_computed"]
    assert note.kind == "missing" and "eGFR could not be computed" in note.text
    # with a kidney test the note has nothing to say; the condition flag stays (it is evidence itself)
    with_cr = run(b2m=b2m(4.0), creatinine=lab("creatinine", 1.0, "mg/dL"), conditions=["N18.3"])
    assert "egfr_not_computed" not in note_codes(with_cr)
    assert flags_with(with_cr, "known_kidney_disease")
    # without a B2M result there is nothing to read against kidney function
    assert "egfr_not_computed" not in note_codes(run(conditions=["CKD"]))


def test_known_kidney_disease_patient_sentence_is_short_and_plain() -> None:
    """Oracle: review finding 2 (patient-language sentence short and plain): one sentence, no jargon."""
    (f,) = flags_with(run(b2m=b2m(4.0), conditions=["Chronic kidney disease"]), "known_kidney_disease")
    assert len(_sentences(f.patient)) == 1 and len(f.patient.split()) <= 10
    assert not any(w in f.patient.casefold() for w in ("renal", "glomerul", "gfr", "ckd", "chronic"))


@pytest.mark.parametrize("item", ["CKD stage 5", "CKD G5", "CKD 5 on haemodialysis", "N18.5"])
def test_stage_5_kidney_disease_is_dialysis_only(item: str) -> None:
    """Oracle: KDIGO 2012 G5 is kidney failure (the dialysis entry, WHO ICD-10 N18.5); the milder CKD flag
    is not raised beside it for the same item."""
    r = run(b2m=b2m(30.0), conditions=[item])
    assert flags_with(r, "dialysis")
    assert not flags_with(r, "known_kidney_disease")
    assert "context_item_not_used" not in note_codes(r)
    assert not flags_with(r, "kidney_function_unknown")


def test_dialysis_is_a_warning() -> None:
    """Oracle: b2m reference LAB-1 (long-term dialysis -> very high B2M, Aβ2M amyloid [S])."""
    r = run(b2m=b2m(40.0), conditions=["Z99.2"])
    f = r.flag("dialysis")
    assert f is not None and f.severity == "warning" and f.status == "S"
    assert "dialysis" in r.codes and "kidney_function_unknown" not in r.codes


# ---------------------------------------------------------------------------------------------
# Technical flags
# ---------------------------------------------------------------------------------------------


def test_unit_converted_from_nmol_l() -> None:
    """Oracle: b2m reference LAB-1 (MW 11,800 Da): 300 nmol/L x 11,800 g/mol = 3.54 mg/L (factor 0.0118)."""
    r = run(b2m=b2m(300, "nmol/L"))
    (f,) = flags_with(r, "unit_converted")
    assert f.severity == "info"
    assert f.evidence["factor"] == pytest.approx(0.0118)
    assert f.evidence["molecular_weight_da"] == 11800
    assert f.evidence["received_unit"] == "nmol/L"
    assert r.value_mg_l == pytest.approx(3.54)
    assert "b2m_molar_conversion" in note_codes(r)


def test_molecular_weight_text_is_rendered_from_the_conversion_used() -> None:
    """Oracle: b2m reference LAB-1 (MW 11,800 Da [C]; 1 mg/L ≈ 84.7 nmol/L, by hand 1000 / 11.8 = 84.75) and unit
    arithmetic (1 nmol/L x MW g/mol = MW x 1e-6 mg/L): the MW shown is the one behind the factor applied."""
    from b2m.interpret.flags import molecular_weight_g_mol

    assert molecular_weight_g_mol(0.0118) == 11800
    r = run(b2m=b2m(300, "nmol/L"))
    (f,) = flags_with(r, "unit_converted")
    factor = f.evidence["factor"]
    assert isinstance(factor, float)
    assert f.evidence["molecular_weight_da"] == round(factor * 1e6) == 11800
    assert "11,800 Da" in f.clinician
    (note,) = [n for n in r.notes if n.code == "b2m_molar_conversion"]
    assert "11,800 Da" in note.text and "84.7 nmol/L" in note.text


def test_unit_converted_from_ug_l_has_no_molecular_weight() -> None:
    """Oracle: 1 mg/L = 1000 µg/L (mass units; no molecular weight involved)."""
    (f,) = flags_with(run(b2m=b2m(3000, "µg/L")), "unit_converted")
    assert f.evidence["factor"] == pytest.approx(0.001)
    assert "molecular_weight_da" not in f.evidence


@pytest.mark.parametrize("unit", ["mg/L", "µg/mL", "μg/mL", "mcg/mL"])
def test_same_number_units_are_not_converted(unit: str) -> None:
    """Oracle: b2m reference UNITS-2 (1 mg/L = 1 µg/mL = 1 mcg/mL, same number)."""
    assert not flags_with(run(b2m=b2m(3.0, unit)), "unit_converted")


def test_method_not_stated() -> None:
    """Oracle: b2m reference LAB-2 (intervals are method-dependent; store the method with each result)."""
    r = run(b2m=lab("b2m", 3.0, "mg/L"))
    (f,) = flags_with(r, "method_not_stated")
    assert f.severity == "info" and f.evidence["method"] is None
    assert not flags_with(run(b2m=b2m(3.0, method="nephelometry")), "method_not_stated")


@pytest.mark.parametrize(
    ("method", "flagged"),
    [
        (None, True),
        ("chemiluminescent immunometric assay (Immulite)", True),
        ("CLIA", True),
        ("nephelometry", False),
        ("latex immunoturbidimetric", False),
    ],
)
def test_biotin_interference(method: str | None, flagged: bool) -> None:
    """Oracle: b2m reference LAB-3 (Immulite-type B2M assay: avoid biotin 12 h before collection [C])."""
    result = lab("b2m", 3.0, "mg/L") if method is None else lab("b2m", 3.0, "mg/L", method=method)
    r = run(b2m=result, medications=["Biotin 10 mg daily"])
    fs = flags_with(r, "biotin_interference")
    assert bool(fs) is flagged
    if flagged:
        assert fs[0].evidence["method"] == method
        assert fs[0].source is not None and "12 h" in fs[0].source.citation
    else:
        assert "biotin_method_not_immunometric" in note_codes(r)


def test_no_biotin_no_biotin_flag() -> None:
    """Oracle: brief (flags only from evidence present)."""
    r = run(b2m=lab("b2m", 3.0, "mg/L", method="chemiluminescent immunometric"))
    assert not flags_with(r, "biotin_interference")


def test_censored_result_flag() -> None:
    """Oracle: brief (censored results are flagged info); '0.5' is not censored."""
    (f,) = flags_with(run(b2m=b2m("<0.5")), "censored_result")
    assert f.severity == "info" and f.evidence["received"] == "<0.5"
    assert "less than 0.5" in f.patient
    assert not flags_with(run(b2m=b2m(0.5)), "censored_result")


@pytest.mark.parametrize(
    ("value", "flagged"),
    [(20.0, False), (20.1, True), (">20", True), (">15", False), (160.0, True)],
)
def test_very_high_result(value: object, flagged: bool) -> None:
    """Oracle: brief (> 20 mg/L, exclusive); b2m reference LAB-3 (hook effect for B2M unconfirmed [U])."""
    r = run(b2m=b2m(value))
    fs = flags_with(r, "very_high_result")
    assert bool(fs) is flagged
    if flagged:
        assert "[U]" in fs[0].clinician
        assert any(n.code == "b2m_hook_effect" and n.kind == "unconfirmed" for n in r.notes)
    if value == ">15":
        assert "very_high_undecided" in note_codes(r)


def test_urine_loinc_is_noted() -> None:
    """Oracle: b2m reference LAB-5 (1952-1 serum B2M [C]; 1953-9 urine B2M [S])."""
    r = run(b2m=b2m(3.0, loinc="1953-9"))
    assert any(n.code == "loinc_not_serum_b2m" and "urine" in n.text for n in r.notes)
    assert "loinc_not_serum_b2m" not in note_codes(run(b2m=b2m(3.0, loinc="1952-1")))


def test_age_notes_for_the_adult_default_interval() -> None:
    """Oracle: b2m reference LAB-2 ('Adult serum reference intervals')."""
    assert "default_interval_is_adult" in note_codes(run(b2m=b2m(2.0), age_years=12))
    assert "age_not_given" in note_codes(run(b2m=b2m(2.0)))
    adult = note_codes(run(b2m=b2m(2.0), age_years=60))
    assert not {"default_interval_is_adult", "age_not_given"} & adult
    lab_own = note_codes(run(b2m=b2m(2.0, lower_limit=0.8, upper_limit=2.34), age_years=12))
    assert "default_interval_is_adult" not in lab_own


# ---------------------------------------------------------------------------------------------
# Summaries, serialisation, input errors
# ---------------------------------------------------------------------------------------------


def test_summaries_render_the_same_values() -> None:
    """Oracle: b2m reference LAB-2 (Mayo 1.21-2.70 mg/L) and b2m reference ISS-2 (band ≥ 5.5): the text shows
    the values used."""
    r = run(b2m=b2m(6.0), egfr_ml_min_1_73m2=42.1, egfr_equation="CKD-EPI 2021 creatinine")
    assert "6 mg/L" in r.summary_clinician
    assert "1.21–2.7 mg/L" in r.summary_clinician
    assert "above" in r.summary_clinician
    assert HIGH in r.summary_clinician
    assert "reduced kidney function (caution)" in r.summary_clinician  # words, not the code
    assert "higher than" in r.summary_patient and "1.21 to 2.7 mg/L" in r.summary_patient


def test_to_dict_is_plain_data() -> None:
    """Oracle: the JSON contract needs plain types; a censored value keeps its text ('<0.5')."""
    import json

    r = run(b2m=b2m("<0.5"), conditions=["HIV"], medications=["biotin"])
    d = r.to_dict()
    json.dumps(d)
    assert d["value_mg_l"] == "<0.5"
    assert d["position"] == "below"
    flags = d["flags"]
    assert isinstance(flags, list) and {f["code"] for f in flags} >= {"infection", "censored_result"}


def test_input_errors() -> None:
    """Oracle: conventions (refused input raises InputError with the field)."""
    with pytest.raises(InputError, match="conditions"):
        run(conditions="HIV")
    with pytest.raises(InputError, match="egfr"):
        run(egfr_ml_min_1_73m2=-1.0)
    with pytest.raises(InputError, match="egfr"):
        run(egfr_ml_min_1_73m2=float("nan"))
    with pytest.raises(InputError, match="creatinine"):
        run(creatinine=b2m(3.0))


# ---------------------------------------------------------------------------------------------
# Properties (Hypothesis)
# ---------------------------------------------------------------------------------------------

TREATMENT_WORDS = (
    "treat",
    "dose",
    "dosage",
    "stop taking",
    "start taking",
    "increase",
    "decrease",
    "chemotherapy",
    "therapy",
    "prescri",
    "should take",
    "should stop",
    "regimen",
    "transfusion",
)
CONDITION_POOL = [c for c, _, _ in CONDITION_CASES] + [
    "archive",
    "HIV negative",
    "lupus anticoagulant",
    "autologous stem cell transplant",
    "Multiple myeloma",
    "CKD stage 3",
    "hearing aids",
    "C90.00",
    "Z20.6",
]
MEDICATION_POOL = [m for m, _ in MEDICATION_CASES] + [
    "Biotin 10 mg",
    "A11HA05",
    "lithium heparin tube",
    "dexamethasone",
    "lenalidomide",
    "stopped lithium",
]


@st.composite
def b2m_values(draw: st.DrawFn) -> LabValue:
    unit, factor = draw(st.sampled_from([("mg/L", 1.0), ("nmol/L", 1 / 0.0118), ("µg/L", 1000.0)]))
    method = draw(st.sampled_from([None, "nephelometry", "chemiluminescent immunometric"]))
    extra: dict[str, object] = {} if method is None else {"method": method}
    if draw(st.booleans()):
        extra |= {"lower_limit": round(1.0 * factor, 2), "upper_limit": round(2.5 * factor, 2)}
    if draw(st.integers(0, 5)) == 0:
        raw: object = draw(st.sampled_from(["<0.2", "<0.5", ">20", ">10"]))
        unit, extra = "mg/L", {k: v for k, v in extra.items() if k == "method"}
    else:
        raw = round(draw(st.floats(0.1, 200.0)) * factor, 3)
    return lab("b2m", raw, unit, **extra)


optional_b2m = st.one_of(st.none(), b2m_values())
optional_creatinine = st.one_of(st.none(), st.floats(0.1, 30.0).map(lambda v: lab("creatinine", round(v, 2), "mg/dL")))
optional_crp = st.one_of(st.none(), st.floats(0.0, 500.0).map(lambda v: lab("crp", round(v, 1), "mg/L")))
optional_egfr = st.one_of(st.none(), st.floats(0.0, 200.0))
conditions_st = st.lists(st.one_of(st.sampled_from(CONDITION_POOL), st.text(max_size=20)), max_size=6)
medications_st = st.lists(st.one_of(st.sampled_from(MEDICATION_POOL), st.text(max_size=20)), max_size=4)


@settings(max_examples=300, deadline=None)
@given(
    b=optional_b2m,
    egfr=optional_egfr,
    equation=st.sampled_from([None, "CKD-EPI 2021 creatinine", "Cockcroft-Gault"]),
    creatinine=optional_creatinine,
    crp=optional_crp,
    conditions=conditions_st,
    medications=medications_st,
)
def test_flags_only_claim_evidence_from_the_input(
    b: LabValue | None,
    egfr: float | None,
    equation: str | None,
    creatinine: LabValue | None,
    crp: LabValue | None,
    conditions: list[str],
    medications: list[str],
) -> None:
    """Oracle: brief (a flag is raised only from evidence present, never from absence)."""
    r = run(
        b2m=b,
        egfr_ml_min_1_73m2=egfr,
        egfr_equation=equation,
        creatinine=creatinine,
        crp=crp,
        conditions=conditions,
        medications=medications,
    )
    for f in r.flags:
        ev = f.evidence
        if f.code == "reduced_kidney_function":
            assert egfr is not None or creatinine is not None
            assert "egfr" not in ev or (egfr is not None and ev["egfr"] == egfr and egfr < 60)
            assert "creatinine" not in ev or creatinine is not None
        elif f.code == "kidney_function_unknown":
            assert b is not None and egfr is None and creatinine is None
        elif f.code == "inflammation":
            assert crp is not None
        elif f.code in ("unit_converted", "method_not_stated", "censored_result", "very_high_result"):
            assert b is not None
        if "matched" in ev:
            matched = ev["matched"]
            assert isinstance(matched, list) and matched
            pool = medications if f.code in ("drug_effect", "biotin_interference") else conditions
            assert all(m["input"] in pool for m in matched)
    if "known_kidney_disease" in r.codes:
        assert "kidney_function_unknown" not in r.codes
    if b is None and egfr is None and creatinine is None and crp is None:
        assert {f.code for f in r.flags} <= {
            "infection",
            "autoimmune_disease",
            "liver_disease",
            "other_lymphoproliferative_disease",
            "solid_tumour",
            "transplant",
            "known_kidney_disease",
            "dialysis",
            "drug_effect",
        }
    if not conditions and not medications and (b, egfr, creatinine, crp) == (None, None, None, None):
        assert r.flags == ()


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


@settings(max_examples=200, deadline=None)
@given(
    b=optional_b2m,
    egfr=optional_egfr,
    creatinine=optional_creatinine,
    crp=optional_crp,
    conditions=st.lists(st.sampled_from(CONDITION_POOL), max_size=6),
    medications=st.lists(st.sampled_from(MEDICATION_POOL), max_size=4),
)
def test_patient_sentences_are_plain_and_give_no_treatment_advice(
    b: LabValue | None,
    egfr: float | None,
    creatinine: LabValue | None,
    crp: LabValue | None,
    conditions: list[str],
    medications: list[str],
) -> None:
    """Oracle: brief (patient text: plain words, no treatment advice). textstat is not installed, so
    reading level is approximated by short sentences (at most 25 words) of one line each."""
    r = run(
        b2m=b,
        egfr_ml_min_1_73m2=egfr,
        egfr_equation="CKD-EPI 2021 creatinine",
        creatinine=creatinine,
        crp=crp,
        conditions=conditions,
        medications=medications,
    )
    texts = [f.patient for f in r.flags] + [r.summary_patient]
    for text in texts:
        low = text.casefold()
        assert not any(w in low for w in TREATMENT_WORDS), text
        for s in _sentences(text):
            assert len(s.split()) <= 25, s
    for f in r.flags:
        assert len(_sentences(f.patient)) == 1, f.patient
        assert len(_sentences(f.clinician)) == 1, f.clinician


BAND_ORDER = {LOW: 0, MIDDLE: 1, HIGH: 2}
POSITION_ORDER = {"below": 0, "within": 1, "above": 2}


@settings(max_examples=200, deadline=None)
@given(a=st.floats(0.1, 200.0), b=st.floats(0.1, 200.0), unit=st.sampled_from(["mg/L", "nmol/L"]))
def test_higher_b2m_never_gives_a_lower_band_or_position(a: float, b: float, unit: str) -> None:
    """Oracle: b2m reference ISS-2 (bands are ordered by B2M); monotonicity invariant of STYLE.md."""
    lo, hi = sorted((a, b))
    factor = 1.0 if unit == "mg/L" else 1 / 0.0118
    r_lo = run(b2m=b2m(round(lo * factor, 4), unit))
    r_hi = run(b2m=b2m(round(hi * factor, 4), unit))
    assert r_lo.iss_band is not None and r_hi.iss_band is not None
    assert BAND_ORDER[r_lo.iss_band] <= BAND_ORDER[r_hi.iss_band]
    assert POSITION_ORDER[r_lo.position] <= POSITION_ORDER[r_hi.position]


def test_conditions_and_drugs_not_recognised_are_said_never_dropped() -> None:
    """A new user typed "foo-bar disease" and saw nothing: an item b2m does not read is named in a note, so a
    misspelt or unlisted cause of a raised B2M never looks considered. A recognised one still flags (HIV: an
    infection that raises it, b2m reference LAB-4)."""
    r = run(b2m=b2m(4.0), conditions=("HIV", "foo-bar disease", "hypertension"), medications=("xyz",))
    notes = [n for n in r.notes if n.code == "context_item_not_recognised"]
    assert len(notes) == 2, r.notes  # one for the conditions, one for the drugs
    assert "'foo-bar disease', 'hypertension'" in notes[0].text and "'HIV'" not in notes[0].text
    assert "'xyz'" in notes[1].text
    assert any(f.category == "hiv" for f in r.flags), r.flags
    assert not [n for n in run(b2m=b2m(4.0), conditions=("HIV",)).notes if n.code == "context_item_not_recognised"]
