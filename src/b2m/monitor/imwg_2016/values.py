r"""Exact interval arithmetic on canonical values, the FLC measures built on it, and how values are shown.

The comparisons of IMWG 2016 (Kumar S, et al. Lancet Oncol. 2016;17(8):e328-e346,
DOI 10.1016/S1470-2045(16)30206-6). With :math:`v` the value now, :math:`b` the baseline and
:math:`n` the nadir, a reduction of :math:`p\%` means :math:`b - v \ge (p/100)\,b` and a PD rise
means :math:`v - n \ge 0.25\,n \wedge v - n \ge a` (``>`` for dFLC), evaluated in exact decimal
arithmetic on the canonical values (no rounding before comparison). Censored results (``"<0.1"``)
enter as closed intervals :data:`Iv`: a comparison is ``True``/``False`` only when every value in the
interval agrees, and ``None`` otherwise.
"""

from __future__ import annotations

import math
from decimal import Decimal

from b2m.monitor.imwg_2016.constants import (
    FLC_RATIO_NORMAL_MAX,
    FLC_RATIO_NORMAL_MIN,
    PD_RISE_FROM_NADIR_MIN_PERCENT,
    Chain,
)
from b2m.monitor.series import Marrow
from b2m.rules.kleene import Tri, not_
from b2m.units import Censored, LabValue

INF = Decimal("Infinity")
ZERO = Decimal(0)
Iv = tuple[Decimal, Decimal]  # closed [lo, hi]; hi may be +Infinity
UNKNOWN_NON_NEGATIVE: Iv = (ZERO, INF)


def dec(x: float) -> Decimal:
    """The decimal a float prints as (canonical values are already free of binary noise)."""
    return Decimal(repr(float(x)))


def iv_of(x: float | Censored | None) -> Iv | None:
    if x is None:
        return None
    if isinstance(x, Censored):
        lo, hi = x.bounds()
        return (dec(lo), INF if math.isinf(hi) else dec(hi))
    d = dec(x)
    return (d, d)


def value_iv(lab: LabValue | None) -> Iv | None:
    """A lab result's canonical value as an interval (``None`` when there is no result)."""
    return iv_of(lab.value if lab else None)


def marrow_iv(marrow: Marrow | None) -> Iv | None:
    """Marrow plasma cells (%) as an interval (``None`` when there is no marrow result)."""
    return iv_of(marrow.percent) if marrow else None


def iv_min(a: Iv | None, b: Iv | None) -> Iv | None:
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), min(a[1], b[1]))


def iv_sub(a: Iv, b: Iv) -> Iv:
    return (a[0] - b[1], a[1] - b[0])


def reduced_by(v: Iv, b: Iv, percent: Decimal) -> Tri:
    """``b - v >= percent/100 * b`` (falls with ``v``, grows with ``b``)."""
    k = 1 - percent / 100
    if v[1] <= k * b[0]:
        return True
    if v[0] > k * b[1]:
        return False
    return None


def risen_by(
    v: Iv, n: Iv, *, absolute: Decimal, strict: bool, percent: Decimal = PD_RISE_FROM_NADIR_MIN_PERCENT
) -> Tri:
    """``v - n >= percent/100 * max(n, 0)`` and ``v - n >= absolute`` (``>`` when ``strict``)."""

    def holds(vv: Decimal, nn: Decimal) -> bool:
        rise = vv - nn
        relative = percent == 0 or rise >= percent / 100 * max(nn, ZERO)  # (0 x Infinity is undefined)
        return relative and (rise > absolute if strict else rise >= absolute)

    if holds(v[0], n[1]):  # the least favourable corner for the rise
        return True
    if not holds(v[1], n[0]):
        return False
    return None


def below(v: Iv, t: Decimal) -> Tri:
    if v[1] < t:
        return True
    if v[0] >= t:
        return False
    return None


def at_least(v: Iv, t: Decimal) -> Tri:
    return not_(below(v, t))


def detected_by_electrophoresis(lab: LabValue | None) -> Tri:
    """A quantified M-spike > 0 is detected; 0 or a result reported below a limit (``"<0.1"``) is not."""
    if lab is None:
        return None
    if isinstance(lab.value, Censored):
        return lab.value.direction in (">", ">=")
    return lab.value > 0


def flc_ratio(kappa: LabValue | None, lam: LabValue | None) -> Iv | None:
    """Serum κ/λ ratio as an interval (``None`` when either chain is missing)."""
    k, lm = value_iv(kappa), value_iv(lam)
    if k is None or lm is None:
        return None
    hi = INF if lm[0] == 0 or k[1] == INF else k[1] / lm[0]
    if lm[1] == INF:
        lo = ZERO
    elif lm[1] == 0:  # lambda reported as exactly 0: the ratio is unbounded when kappa is above 0, unknown at 0/0
        lo = INF if k[0] > 0 else ZERO
    else:
        lo = k[0] / lm[1]
    return (lo, hi)


def ratio_normal(ratio: Iv | None) -> Tri:
    if ratio is None:
        return None
    if ratio[0] >= FLC_RATIO_NORMAL_MIN and ratio[1] <= FLC_RATIO_NORMAL_MAX:
        return True
    if ratio[1] < FLC_RATIO_NORMAL_MIN or ratio[0] > FLC_RATIO_NORMAL_MAX:
        return False
    return None


def flc_difference(kappa: LabValue | None, lam: LabValue | None, involved: Chain | None) -> Iv | None:
    """Involved minus uninvolved FLC (mg/L)."""
    k, lm = value_iv(kappa), value_iv(lam)
    if k is None or lm is None or involved is None:
        return None
    return iv_sub(k, lm) if involved == "kappa" else iv_sub(lm, k)


# ---------------------------------------------------------------------------------------------
# Values as shown in the output (JSON and criterion texts)
# ---------------------------------------------------------------------------------------------


def num_json(x: float | Censored) -> object:
    return str(x) if isinstance(x, Censored) else x


def iv_json(v: Iv) -> object:
    if v[0] == v[1] and v[0] != INF:  # JSON has no infinity: an unbounded value is written as text
        return float(v[0])
    return iv_text(v)


def iv_text(v: Iv) -> str:
    if v[0] == INF:
        return "∞"  # e.g. a kappa/lambda ratio over a lambda reported as 0
    if v[0] == v[1]:
        return f"{float(v[0]):g}"
    if v[1] == INF:
        return f"≥{float(v[0]):g}"
    return f"{float(v[0]):g}-{float(v[1]):g}"


def lab_point(lab: LabValue) -> dict[str, object]:
    return {
        "date": lab.date.isoformat() if lab.date else None,
        "value": num_json(lab.value),
        "unit": lab.unit,
        "received": f"{lab.received_value} {lab.received_unit}",
        "method": lab.method,
    }


def marrow_point(marrow: Marrow) -> dict[str, object]:
    return {"date": marrow.date.isoformat(), "value": num_json(marrow.percent), "unit": "%"}


def percent_change(now: Iv | None, ref: Iv | None) -> float | None:
    """(now - ref) / ref x 100 for exact values, rounded to 0.1 for display; ``None`` otherwise."""
    if now is None or ref is None or now[0] != now[1] or ref[0] != ref[1] or ref[0] == 0:
        return None
    return float(round((now[0] - ref[0]) / ref[0] * 100, 1))


def round_iv(v: Iv) -> Iv:
    q = Decimal("0.001")
    return (v[0].quantize(q) if v[0].is_finite() else v[0], v[1].quantize(q) if v[1].is_finite() else v[1])
