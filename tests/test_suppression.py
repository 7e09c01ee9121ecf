"""Primary and complementary small-count suppression (``b2m.cohort.survival.suppress_group`` /
``suppress_tree``) and its use in the cohort report.

Oracles:

- hand-worked examples: the expected output of each is worked out in its docstring from the rule
  (primary: 0 < x < N is "<N"; complementary: a group with exactly one hidden member also hides its
  smallest non-zero shown part, ">=N"; bounds: "<N" is 1..N-1 and ">=N" at least N);
- for random counts, what a reader can work out is computed without our code: by enumerating every
  completion of the hidden counts (small groups), by integer programming (``scipy.optimize.milp``,
  HiGHS) over the published sums (nested accounting), and by linear algebra (a hidden count is a sum
  or difference of published numbers exactly when its unit vector is in the row space of the sums
  restricted to the hidden counts, ``numpy.linalg.matrix_rank``);
- the report facts of the bundled GSE24080 cohort: 565 patients, one not ISS-stageable
  (tests/test_survival.py::test_accounting_counts_every_patient), ISS stage sizes 296/148/120.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from b2m.cli.cohort import write_example_report
from b2m.cohort.publication import suppress_unit_report
from b2m.cohort.suppression import suppress, suppress_differences, suppress_group, suppress_tree
from b2m.cohort.survival import StageAccounting

N10 = 10

# --------------------------------------------------------------------------- hand-worked examples


def test_single_small_cell_forces_a_second() -> None:
    """I 4, II 30, III 50, total 84 published, N = 10. I is "<10"; alone, I = 84 - 30 - 50 = 4. The
    smallest non-zero shown part, II (30), is hidden too: I + II = 84 - 50 = 34 with I in 1..9 leaves
    II anywhere in 25..33, and I anywhere in 1..9."""
    parts, total = suppress_group({"I": 4, "II": 30, "III": 50}, N10)
    assert parts == {"I": "<10", "II": ">=10", "III": 50}
    assert total == 84


def test_two_small_cells_need_nothing_more() -> None:
    """I 3, II 5, III 40, N = 10: I and II are both "<10"; I + II = 48 - 40 = 8 leaves I in 1..7."""
    parts, total = suppress_group({"I": 3, "II": 5, "III": 40}, N10)
    assert parts == {"I": "<10", "II": "<10", "III": 40}
    assert total == 48


def test_a_zero_cell_is_never_the_complement() -> None:
    """I 3, II 0, III 25, IV 40, N = 10: II (0) is the smallest shown part but discloses nobody and
    hiding it would not help (a reader knows a hidden count is not 0); III (25) is hidden instead."""
    parts, _ = suppress_group({"I": 3, "II": 0, "III": 25, "IV": 40}, N10)
    assert parts == {"I": "<10", "II": 0, "III": ">=10", "IV": 40}


def test_ties_go_to_the_part_listed_first() -> None:
    """I 4, II 30, III 30, N = 10: II and III tie for the complement; II is listed first."""
    parts, _ = suppress_group({"I": 4, "II": 30, "III": 30}, N10)
    assert parts == {"I": "<10", "II": ">=10", "III": 30}


def test_total_below_n_is_hidden_too() -> None:
    """I 2, II 5, N = 10: total 7 is itself below 10, so "<10" whether published elsewhere or not;
    I 0, II 7: II = total, both "<10", the zero stays 0."""
    assert suppress_group({"I": 2, "II": 5}, N10) == ({"I": "<10", "II": "<10"}, "<10")
    assert suppress_group({"I": 2, "II": 5}, N10, fixed_total=False) == ({"I": "<10", "II": "<10"}, "<10")
    assert suppress_group({"I": 0, "II": 7}, N10) == ({"I": 0, "II": "<10"}, "<10")


def test_bounds_two_ones_are_not_safe() -> None:
    """I 1, II 1, III 30, total 32, N = 10: two "<10" parts, but I + II = 32 - 30 = 2 and each is at
    least 1, so both are 1. III (30) is hidden too: I + II + III = 32 with III >= 10 leaves I in 1..9."""
    parts, _ = suppress_group({"I": 1, "II": 1, "III": 30}, N10)
    assert parts == {"I": "<10", "II": "<10", "III": ">=10"}


def test_bounds_one_and_exactly_n() -> None:
    """I 1, II 10, III 30, total 41, N = 10: I "<10" forces II (10) ">=10"; then I + II = 41 - 30 = 11
    with I >= 1 and II >= 10 leaves only 1 + 10, so III is hidden as well: I + II + III = 41, II and
    III >= 10, leaves I in 1..9 (for example 9 + 10 + 22)."""
    parts, total = suppress_group({"I": 1, "II": 10, "III": 30}, N10)
    assert parts == {"I": "<10", "II": ">=10", "III": ">=10"}
    assert total == 41


def test_a_count_no_hiding_can_protect() -> None:
    """I 1, II 10, N = 10, total 11. Published elsewhere (fixed), the total leaves only 1 + 10
    whatever is hidden: both parts are hidden and nothing more can be. When the total is published
    only here it is hidden too (">=10"), and then I is anywhere in 1..9."""
    assert suppress_group({"I": 1, "II": 10}, N10) == ({"I": "<10", "II": ">=10"}, 11)
    assert suppress_group({"I": 1, "II": 10}, N10, fixed_total=False) == ({"I": "<10", "II": ">=10"}, ">=10")


def test_off_and_primary_unchanged() -> None:
    """None and N = 1 switch suppression off; ``suppress`` of one number is as before."""
    assert suppress_group({"I": 1, "II": 10}, None) == ({"I": 1, "II": 10}, 11)
    assert suppress_group({"I": 1, "II": 10}, 1) == ({"I": 1, "II": 10}, 11)
    assert [suppress(x, 5) for x in (0, 1, 4, 5, 9)] == [0, "<5", "<5", 5, 9]


def test_sums_that_do_not_add_up_are_refused() -> None:
    with pytest.raises(ValueError, match="not the sum"):
        suppress_tree({"t": 5, "a": 1, "b": 1}, {"t": ["a", "b"]}, N10)
    with pytest.raises(ValueError, match="one total only"):
        suppress_tree({"t": 2, "u": 1, "a": 1, "b": 1}, {"t": ["a", "b"], "u": ["a"]}, N10)
    with pytest.raises(ValueError, match="not given"):
        suppress_tree({"t": 2}, {"t": ["a"]}, N10)


def test_nested_accounting_one_unstaged_patient() -> None:
    """GSE24080's ISS accounting, N = 10: 565 patients (published elsewhere), 564 staged (I 296,
    II 148, III 120), 1 not staged (range I|II|III: 1).

    - "not staged" 1 and its range 1 are "<10"; their group has two hidden members.
    - patients = staged + not staged: with staged shown, not staged = 565 - 564 = 1. So staged is
      hidden (">=10").
    - staged = I + II + III: with I, II, III shown, staged = 564. So the smallest, III (120), is
      hidden (">=10"). Now staged = 444 + III and staged = 565 - (1..9) = 556..564, so III is
      anywhere in 112..120 and "not staged" anywhere in 1..9.
    """
    acc = StageAccounting("iss", 565, 564, {"I": 296, "II": 148, "III": 120}, {"I|II|III": 1})
    d = acc.to_dict(N10)
    assert (d["n_patients"], d["n_staged"], d["n_unstaged"]) == (565, ">=10", "<10")
    assert d["by_stage"] == {"I": 296, "II": 148, "III": ">=10"}
    assert d["unstaged_by_possible"] == {"I|II|III": "<10"}


def test_nested_accounting_hiding_a_subtotal_forces_more() -> None:
    """N = 10; 311 patients (fixed): staged 11 = I 1 + II 10 + III 0; not staged 300 = "I|II" 200 +
    "no input" 100.

    - I (1) is "<10", so II (10, the smallest non-zero shown stage; III is 0) is ">=10".
    - I + II = 11 with I >= 1 and II >= 10 leaves only 1 + 10; no stage is left to hide, so the
      sub-total staged (11) is hidden (">=10").
    - patients = staged + not staged: staged alone hidden, so not staged (300) is hidden (">=10").
    - not staged = 200 + 100: not staged alone hidden, so the smaller part, "no input" (100), is
      hidden (">=10").
    Then staged >= 11 and not staged >= 210 leave staged in 11..101, not staged in 210..300, I in
    1..9, II in 10..100 and "no input" in 10..100.
    """
    acc = StageAccounting("iss", 311, 11, {"I": 1, "II": 10, "III": 0}, {"I|II": 200, "": 100})
    d = acc.to_dict(N10)
    assert (d["n_patients"], d["n_staged"], d["n_unstaged"]) == (311, ">=10", ">=10")
    assert d["by_stage"] == {"I": "<10", "II": ">=10", "III": 0}
    assert d["unstaged_by_possible"] == {"I|II": 200, "": ">=10"}


def test_unit_report_rows() -> None:
    """Per row, rows = accepted + refused_unit + implausible + value_missing, N = 10.

    - 565 = 560 + 0 + 5 + 0: implausible 5 is "<10", accepted (smallest non-zero other) ">=10";
      censored 1 is "<10" on its own; rows stays (two hidden parts).
    - 30 = 27 + 0 + 0 + 3 with converted 27 (all accepted needed a factor) and censored 27 (all
      were "<x"): value_missing "<10", accepted ">=10". Shown, converted and censored (parts of
      accepted + implausible 0) would narrow accepted = 30 - (1..9) to 27..29, and to one value had
      they been 29, so they are ">=10" as well.
    - 40 = 40 + 0 + 0 + 0: nothing small, all shown.
    - an unrecognised analyte (no parts): rows 3 "<10" on its own.
    """
    units = pl.DataFrame(
        {
            "analyte": ["b2m", "b2m", "ldh", None],
            "unit": ["mg/L", "ug/mL", "U/L", "furlongs"],
            "rows": [565, 30, 40, 3],
            "accepted": [560, 27, 40, None],
            "converted": [0, 27, 0, None],
            "refused_unit": [0, 0, 0, None],
            "implausible": [5, 0, 0, None],
            "value_missing": [0, 3, 0, None],
            "censored": [1, 27, 0, None],
        },
        schema_overrides={c: pl.Int64 for c in ("rows", "accepted", "converted", "refused_unit", "implausible")},
    )
    out = suppress_unit_report(units, N10)
    counts = ("rows", "accepted", "converted", "refused_unit", "implausible", "value_missing", "censored")
    assert [tuple(r[c] for c in counts) for r in out] == [
        (565, ">=10", 0, 0, "<10", 0, "<10"),
        (30, ">=10", ">=10", 0, 0, "<10", ">=10"),
        (40, 40, 0, 0, 0, 0, 0),
        ("<10", None, None, None, None, None, None),
    ]
    assert out[3]["unit"] == "furlongs"
    off = suppress_unit_report(units, None)[0]
    assert tuple(off[c] for c in counts) == (565, 560, 0, 0, 5, 0, 1)


# --------------------------------------------------------------------------- what a reader can work out


def _box(shown: Any, n: int) -> tuple[int, float]:
    """What a reader knows of one published count."""
    if shown == f"<{n}":
        return 1, n - 1
    if shown == f">={n}":
        return n, math.inf
    assert isinstance(shown, int)
    return shown, shown


def _worst_case(value: int, n: int, may_hide: bool) -> Any:
    """The count as shown if every count that may be hidden were hidden."""
    if 0 < value < n:
        return f"<{n}"
    return f">={n}" if may_hide and value > 0 else value


def _enumerated_values(shown: Sequence[Any], total: int, n: int) -> list[set[int]]:
    """Every value each part can take: all completions of the hidden parts within their bounds
    (">=N" capped at the total) whose sum is the published ``total``."""
    boxes = [_box(s, n) for s in shown]
    hidden = [i for i, s in enumerate(shown) if isinstance(s, str)]
    fixed_sum = sum(int(b[0]) for i, b in enumerate(boxes) if i not in hidden)
    seen: list[set[int]] = [set() for _ in shown]
    for i, b in enumerate(boxes):
        if i not in hidden:
            seen[i].add(int(b[0]))
    if not hidden:
        return seen
    *free, last = hidden
    ranges = [range(int(boxes[i][0]), int(min(boxes[i][1], total)) + 1) for i in free]
    lo_last, hi_last = boxes[last]
    for combo in itertools.product(*ranges):
        rest = total - fixed_sum - sum(combo)
        if lo_last <= rest <= hi_last:
            for i, v in zip(free, combo, strict=True):
                seen[i].add(v)
            seen[last].add(rest)
    return seen


@settings(max_examples=200, deadline=None)
@given(counts=st.lists(st.integers(0, 9), min_size=1, max_size=4), n=st.integers(3, 6))
def test_flat_group_no_hidden_count_is_recoverable(counts: list[int], n: int) -> None:
    """For a group with a published total, every hidden part can still take at least two values
    (enumerated completions, "<N" in 1..N-1, ">=N" from N), unless it takes one value even when
    every non-zero part is hidden (then no suppression can protect it, e.g. 1 + 10 = 11)."""
    parts = {f"c{i}": v for i, v in enumerate(counts)}
    shown, total_shown = suppress_group(parts, n)
    total = sum(counts)
    assert total_shown == suppress(total, n)
    if isinstance(total_shown, str):
        return  # the total is itself "<N": the group has no published sum
    values = _enumerated_values(list(shown.values()), total, n)
    worst = _enumerated_values([_worst_case(v, n, True) for v in counts], total, n)
    for i, (key, s) in enumerate(shown.items()):
        assert (s == 0) == (parts[key] == 0)  # zeros stay zeros and nothing else is shown as 0
        if isinstance(s, str):
            assert parts[key] in values[i]
            assert len(values[i]) >= 2 or len(worst[i]) == 1, (parts, shown)


ACCOUNTING = st.tuples(
    st.lists(st.integers(0, 20), min_size=3, max_size=3),
    st.lists(st.integers(0, 20), min_size=0, max_size=3),
    st.integers(3, 12),
)


def _accounting_cells(acc: StageAccounting, d: Mapping[str, Any]) -> tuple[list[int], list[Any], np.ndarray]:
    """The accounting's counts (true and shown) and its sums as rows of a matrix (A x = 0)."""
    values = [acc.n_patients, acc.n_staged, acc.n_patients - acc.n_staged]
    values += list(acc.by_stage.values()) + list(acc.unstaged_by_possible.values())
    shown = [d["n_patients"], d["n_staged"], d["n_unstaged"]]
    shown += list(d["by_stage"].values()) + list(d["unstaged_by_possible"].values())
    k, u = len(acc.by_stage), len(acc.unstaged_by_possible)
    a = np.zeros((3, len(values)))
    a[0, :3] = [1, -1, -1]
    a[1, 1] = 1
    a[1, 3 : 3 + k] = -1
    a[2, 2] = 1
    a[2, 3 + k : 3 + k + u] = -1
    return values, shown, a


def _milp_range(a: np.ndarray, boxes: Sequence[tuple[float, float]], j: int) -> tuple[float, float]:
    """Smallest and largest integer value of count ``j`` subject to A x = 0 and the boxes (HiGHS)."""
    lb = np.array([b[0] for b in boxes], dtype=float)
    ub = np.array([b[1] for b in boxes], dtype=float)
    out = []
    for sign in (1.0, -1.0):
        c = np.zeros(len(boxes))
        c[j] = sign
        res = milp(c, integrality=np.ones(len(boxes)), bounds=Bounds(lb, ub), constraints=LinearConstraint(a, 0, 0))
        if res.status == 3:  # unbounded
            out.append(math.inf)
        else:
            assert res.status == 0, res.message
            out.append(sign * res.fun)
    return out[0], out[1]


def _accounting(by_stage: list[int], unstaged: list[int]) -> StageAccounting:
    ranges = {f"r{i}": v for i, v in enumerate(unstaged)}
    staged = sum(by_stage)
    stages = dict(zip(("I", "II", "III"), by_stage, strict=True))
    return StageAccounting("iss", staged + sum(unstaged), staged, stages, ranges)


@settings(max_examples=120, deadline=None)
@given(ACCOUNTING)
def test_nested_accounting_no_hidden_count_is_recoverable(case: tuple[list[int], list[int], int]) -> None:
    """Nested accounting (patients = staged + not staged, each a sum of parts; patients fixed): every
    hidden count has at least two possible values given the published ones and the bounds of "<N"
    and ">=N" (integer programming), unless it has one even when every count that may be hidden is."""
    by_stage, unstaged, n = case
    acc = _accounting(by_stage, unstaged)
    values, shown, a = _accounting_cells(acc, acc.to_dict(n))
    boxes = [_box(s, n) for s in shown]
    worst = [_box(_worst_case(v, n, i != 0), n) for i, v in enumerate(values)]
    for j, s in enumerate(shown):
        assert (s == 0) == (values[j] == 0)
        if isinstance(s, str):
            lo, hi = _milp_range(a, boxes, j)
            assert lo <= values[j] <= hi
            if lo == hi:
                assert _milp_range(a, worst, j)[0] == _milp_range(a, worst, j)[1], (acc, shown)


@settings(max_examples=200, deadline=None)
@given(ACCOUNTING)
def test_no_hidden_count_is_a_sum_or_difference_of_published_ones(case: tuple[list[int], list[int], int]) -> None:
    """The brief's criterion without bounds, with no exception: count j is recoverable by adding and
    subtracting published counts exactly when e_j lies in the row space of the sums restricted to
    the hidden counts (rank does not grow when e_j is appended)."""
    by_stage, unstaged, n = case
    acc = _accounting(by_stage, unstaged)
    _, shown, a = _accounting_cells(acc, acc.to_dict(n))
    hidden = [j for j, s in enumerate(shown) if isinstance(s, str)]
    if not hidden:
        return
    a_h = a[:, hidden]
    rank = np.linalg.matrix_rank(a_h)
    for pos, j in enumerate(hidden):
        e = np.zeros((1, len(hidden)))
        e[0, pos] = 1
        assert np.linalg.matrix_rank(np.vstack([a_h, e])) > rank, (acc, shown, j)


# --------------------------------------------------------------------------- through the report


def _groups(doc: Mapping[str, Any]) -> list[tuple[str, list[Any]]]:
    """Every published group of counts that add up (a total, where published, first)."""
    s = doc["survival"]
    out: list[tuple[str, list[Any]]] = []
    for a in s["staging_accounting"]:
        out.append((f"{a['system']}: patients", [a["n_patients"], a["n_staged"], a["n_unstaged"]]))
        out.append((f"{a['system']}: staged", [a["n_staged"], *a["by_stage"].values()]))
        out.append((f"{a['system']}: not staged", [a["n_unstaged"], *a["unstaged_by_possible"].values()]))
    for k in s["kaplan_meier"]:
        if not k["groups"]:
            continue
        cox = next(c for c in s["cox"] if c["endpoint"] == k["endpoint"])
        model = next(m for m in cox["models"] if m["name"] == k["system"])
        out.append((f"KM {k['system']} {k['endpoint']} sizes", [model["n"], *(g["n"] for g in k["groups"])]))
        out.append((f"KM {k['system']} {k['endpoint']} events", [model["events"], *(g["events"] for g in k["groups"])]))
    for c in doc["data_completeness"]:
        out.append((f"completeness {c['column']}", [s["n_patients"], c["known"], c["unknown"]]))
    for col in ("n", "n_b2m", "n_iss_staged", "n_iss_iii"):
        out.append((f"b2m_by_egfr {col}", [r[col] for r in doc["b2m_by_egfr"]]))
    return out


@pytest.fixture(scope="module", params=[10, 30])
def registry_report(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp(f"registry{request.param}")
    write_example_report(out, ldh_uln_u_l=250.0, min_cell_count=request.param, bootstrap=0)
    doc: dict[str, Any] = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return doc


def test_report_every_group_hides_none_or_at_least_two(registry_report: dict[str, Any]) -> None:
    """In every published group of the GSE24080 report, either no count or at least two are hidden,
    and something is hidden (with N = 10 at least the one patient ISS cannot stage)."""
    n = registry_report["min_cell_count"]
    hidden_any = False
    for name, group in _groups(registry_report):
        hidden = [x for x in group if isinstance(x, str)]
        assert set(hidden) <= {f"<{n}", f">={n}"}, name
        assert len(hidden) != 1, (name, group)
        hidden_any |= bool(hidden)
    assert hidden_any


def test_report_one_unstaged_patient_is_hidden_everywhere(registry_report: dict[str, Any]) -> None:
    """One of 565 patients cannot be ISS-staged. "<N" in the accounting is only safe if the number
    staged (564) is hidden wherever it is published: the accounting (with III, 120, the smallest
    stage, as its complement), the Kaplan–Meier group sizes (they add up to it) and the ISS Cox models."""
    n = registry_report["min_cell_count"]
    s = registry_report["survival"]
    iss = next(a for a in s["staging_accounting"] if a["system"] == "iss")
    assert (iss["n_patients"], iss["n_staged"], iss["n_unstaged"]) == (565, f">={n}", f"<{n}")
    assert iss["by_stage"] == {"I": 296, "II": 148, "III": f">={n}"}
    for k in s["kaplan_meier"]:
        if k["system"] == "iss":
            assert [g["n"] for g in k["groups"]] == [296, 148, f">={n}"]
    for c in s["cox"]:
        for m in c["models"]:
            if m["name"] in ("iss", "iss_age"):
                assert m["n"] == f">={n}"


def test_report_nothing_derived_from_a_hidden_count_is_shown(registry_report: dict[str, Any]) -> None:
    """A Kaplan–Meier group whose size or events are hidden has no curve, median, landmarks or
    numbers at risk; the share in ISS III is not shown when either of its counts is hidden; B2M
    quartiles are not shown for fewer than N patients."""
    n = registry_report["min_cell_count"]
    for k in registry_report["survival"]["kaplan_meier"]:
        for g in k["groups"]:
            hidden = isinstance(g["n"], str) or isinstance(g["events"], str)
            assert g["suppressed"] == hidden
            if hidden:
                assert not {"curve", "median", "landmarks", "at_risk"} & set(g)
    for r in registry_report["b2m_by_egfr"]:
        if isinstance(r["n_iss_iii"], str) or isinstance(r["n_iss_staged"], str):
            assert r["pct_iss_iii"] is None
        if r["n_b2m"] == f"<{n}":
            assert r["b2m_median_mg_l"] is None and r["b2m_q1_mg_l"] is None


def test_data_notes_publish_no_small_count() -> None:
    """Registry output (N = 10): a note's count of 1 becomes "<10", counts written in its text
    ("3 of 565 patients", "for 3 patients", "12 yes") follow the same rule, numbers that are not counts
    of patients (0.3 g/dL, 250 U/L) stay, and patient ids are dropped. Without N nothing changes."""
    from b2m.cohort.publication import registry_note as _registry_note

    note = {
        "code": "x",
        "text": "LDH ULN assumed to be 250 U/L for 3 of 565 patients; albumin 0.3 g/dL for 1 patient; "
        "ldh for 30 patients; cyto_abn (12 yes)",
        "count": 1,
        "patient_ids": [17],
    }
    out = _registry_note(note, 10)
    assert out == {
        "code": "x",
        "text": "LDH ULN assumed to be 250 U/L for <10 of 565 patients; albumin 0.3 g/dL for <10 patient; "
        "ldh for 30 patients; cyto_abn (12 yes)",
        "count": "<10",
    }
    assert _registry_note(note, None) == note
    assert _registry_note({**note, "text": "x (3 yes)"}, 10)["text"] == "x (<10 yes)"


def test_registry_notes_carry_no_per_patient_values() -> None:
    """GSE24080's one implausible albumin (0.3 g/dL, src/b2m/data/GSE24080-README.md) is quoted in the
    ordinary report; in registry output (N = 10) its note names neither the value nor the patient."""
    from b2m.cohort.publication import registry_note as _registry_note
    from b2m.io.cohort.gse24080 import load as load_example

    note = next(x.to_dict() for x in load_example().notes if x.code == "albumin_implausible")
    assert "0.3" in _registry_note(note, None)["text"]
    published = _registry_note(note, 10)
    assert "0.3" not in published["text"] and "patient_ids" not in published and published["count"] == "<10"


# --------------------------------------------------------------------------- nested model sizes


def test_model_sizes_by_hand() -> None:
    """N = 10. 565 patients (published elsewhere: fixed); Cox models on 560 and 551 patients and a
    C-index on 400. 551 and 560 differ by 9 (< 10): the smaller, 551, is hidden. 560 and 565 differ by
    5: 560 is hidden. 400 differs from every other by >= 10: shown."""
    cells = {"all": (565, 565), "b2m": (560, 560), "b2m_egfr": (551, 551), "c": (400, 400)}
    out = suppress_differences(cells, N10, movable=["b2m", "b2m_egfr", "c"])
    assert out == {"all": 565, "b2m": ">=10", "b2m_egfr": ">=10", "c": 400}
    assert suppress_differences(cells, None, movable=["b2m"]) == {k: v for k, (v, _) in cells.items()}


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(st.integers(0, 60), min_size=1, max_size=8),
    fixed=st.lists(st.booleans(), min_size=8, max_size=8),
    n=st.integers(2, 12),
)
def test_no_shown_size_is_a_small_difference_from_another(values: list[int], fixed: list[bool], n: int) -> None:
    """Brute force over the output: no movable count that is shown differs from any other shown
    count by 1..N-1; fixed counts keep what they showed; a hidden count was >= N (else it was '<N')."""
    cells = {i: (v, suppress(v, n)) for i, v in enumerate(values)}
    movable = [i for i in cells if not fixed[i]]
    out = suppress_differences(cells, n, movable=movable)
    shown = {i: v for i, v in out.items() if isinstance(v, int)}
    for i in movable:
        if i in shown:
            assert all(not 0 < abs(shown[i] - shown[j]) < n for j in shown if j != i)
    assert all(out[i] == cells[i][1] for i in cells if fixed[i])
    assert all(out[i] in (cells[i][1], f">={n}") for i in movable)


def test_b2m_by_egfr_publishes_no_nested_counts(registry_report: dict[str, Any]) -> None:
    """Under suppression a B2M-by-eGFR row publishes only its patients with a B2M (what the quartiles
    describe): patients, ISS staged, ISS III and its share nest inside one another, and in GSE24080
    a category's patients and patients with a B2M differ by 1 (one patient without a B2M, README:
    the '<0.5' result). A last row counts the patients left out, so with the published number of
    patients (565) the column is one group: none or at least two of its counts are hidden."""
    rows = registry_report["b2m_by_egfr"]
    n = registry_report["min_cell_count"]
    assert all(r[k] is None for r in rows for k in ("n", "n_iss_staged", "n_iss_iii", "pct_iss_iii"))
    assert rows[-1]["kdigo_category"] == "no eGFR or no B2M"
    column = [r["n_b2m"] for r in rows]
    hidden = [x for x in column if isinstance(x, str)]
    assert len(hidden) != 1 and set(hidden) <= {f"<{n}", f">={n}"}
    if not hidden:
        assert sum(column) == registry_report["survival"]["n_patients"]
