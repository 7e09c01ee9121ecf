"""Independent test oracles for ISS, R-ISS and R2-ISS on *complete* inputs.

Written straight from the published rules of Greipp 2005, Palumbo 2015 and D'Agostino 2022
(b2m reference ISS-2, RISS-2, R2ISS-2), with no code shared with ``b2m.rules``: plain Python comparisons, as a reader of
the papers would write them. Used to check the project's rules on complete inputs and, by enumerating completions, its
``possible`` sets.

- ISS (Greipp 2005, DOI 10.1200/JCO.2005.04.242): I = B2M < 3.5 mg/L and albumin >= 3.5 g/dL;
  III = B2M >= 5.5 mg/L; II otherwise.
- R-ISS (Palumbo 2015, DOI 10.1200/JCO.2015.61.2267): I = ISS I, no del(17p)/t(4;14)/t(14;16), LDH
  not above ULN; III = ISS III and (high-risk CA or LDH above ULN); II otherwise.
- R2-ISS (D'Agostino 2022, DOI 10.1200/JCO.21.02614): ISS II 1, ISS III 1.5, del(17p) 1, LDH > ULN
  1, t(4;14) 1, 1q+ 0.5; groups I 0, II 0.5-1, III 1.5-2.5, IV 3-5.
"""

from __future__ import annotations

from fractions import Fraction


def iss(b2m: float, albumin: float) -> str:
    if b2m >= 5.5:
        return "III"
    if b2m < 3.5 and albumin >= 3.5:
        return "I"
    return "II"


def r_iss(b2m: float, albumin: float, ldh: float, uln: float, del17p: bool, t4_14: bool, t14_16: bool) -> str:
    stage = iss(b2m, albumin)
    high_ca = del17p or t4_14 or t14_16
    high_ldh = ldh > uln
    if stage == "I" and not high_ca and not high_ldh:
        return "I"
    if stage == "III" and (high_ca or high_ldh):
        return "III"
    return "II"


def r2_iss_score(
    b2m: float, albumin: float, ldh: float, uln: float, del17p: bool, t4_14: bool, gain1q: bool
) -> Fraction:
    points = {"I": Fraction(0), "II": Fraction(1), "III": Fraction(3, 2)}[iss(b2m, albumin)]
    points += Fraction(1) if del17p else 0
    points += Fraction(1) if ldh > uln else 0
    points += Fraction(1) if t4_14 else 0
    points += Fraction(1, 2) if gain1q else 0
    return points


def r2_iss(b2m: float, albumin: float, ldh: float, uln: float, del17p: bool, t4_14: bool, gain1q: bool) -> str:
    s = r2_iss_score(b2m, albumin, ldh, uln, del17p, t4_14, gain1q)
    if s == 0:
        return "I"
    if s <= 1:
        return "II"
    if s <= Fraction(5, 2):
        return "III"
    return "IV"
