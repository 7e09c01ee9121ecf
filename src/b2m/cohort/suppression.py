"""Small-count suppression for registry output: primary ("<N") and complementary (">=N").

A registry publishes no count of patients below N (``min_cell_count``), and that only holds if no
published total lets a reader work a hidden count out by subtraction. :func:`suppress` hides one
number on its own; :func:`suppress_tree` / :func:`suppress_group` hide counts that add up, so that
no hidden count is a sum or difference of published ones (the rule is in :func:`suppress_tree`).
Used by :mod:`b2m.cohort.survival`, :mod:`b2m.cohort.publication` and :mod:`b2m.report.cohort`.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

Shown = int | str  # a count as published: the number, "<N" (small) or ">=N" (hidden as a complement)
K = TypeVar("K", bound=Hashable)
_Range = tuple[float, float]  # integer interval [lo, hi]; hi may be infinite


def suppress(count: int, min_cell_count: int | None) -> int | str:
    """``count`` itself, or ``"<N"`` when ``0 < count < N`` (registry disclosure control).

    Zero is shown as 0 (it discloses no individual); ``None`` or N <= 1 switches suppression off.
    This is *primary* suppression of one number on its own; counts that add up to a published total
    need :func:`suppress_group` or :func:`suppress_tree` as well.
    """
    if min_cell_count is None or min_cell_count <= 1 or count == 0 or count >= min_cell_count:
        return int(count)
    return f"<{min_cell_count}"


def complement_mark(min_cell_count: int) -> str:
    """How a count hidden only as a complement is written: ``">=N"`` (true: it is not a small count)."""
    return f">={min_cell_count}"


def is_hidden(shown: object) -> bool:
    """Whether a published count is hidden (``"<N"`` or ``">=N"``) rather than shown."""
    return isinstance(shown, str)


def _meet(a: _Range, b: _Range) -> _Range:
    return (max(a[0], b[0]), min(a[1], b[1]))


def _add(ranges: Iterable[_Range]) -> _Range:
    lo = hi = 0.0
    for r in ranges:
        lo, hi = lo + r[0], hi + r[1]
    return (lo, hi)


def _minus(a: _Range, b: _Range) -> _Range:
    return (a[0] - b[1], a[1] - b[0])


@dataclass(frozen=True)
class _Sums:
    """Counts in a forest of sums: ``values[t] == sum(values[c] for c in children[t])`` for every total ``t``."""

    values: tuple[int, ...]
    children: tuple[tuple[int, ...], ...]
    parent: tuple[int | None, ...]
    order: tuple[int, ...]  # every cell, each total before its parts

    @classmethod
    def build(cls, values: Sequence[int], children: Sequence[Sequence[int]]) -> _Sums:
        parent: list[int | None] = [None] * len(values)
        for t, parts in enumerate(children):
            for c in parts:
                if c == t:
                    raise ValueError("a count cannot be a part of itself")
                if parent[c] is not None:
                    raise ValueError("every count may be a part of one total only")
                parent[c] = t
            if parts and values[t] != sum(values[c] for c in parts):
                raise ValueError(f"a total ({values[t]}) is not the sum of its parts ({[values[c] for c in parts]})")
        if any(v < 0 for v in values):
            raise ValueError("counts must not be negative")
        order = [i for i, p in enumerate(parent) if p is None]
        for i in order:  # breadth first: the list grows while it is walked
            order.extend(children[i])
        if len(order) != len(values):
            raise ValueError("the sums must not form a cycle")
        return cls(tuple(int(v) for v in values), tuple(tuple(c) for c in children), tuple(parent), tuple(order))

    def ranges(self, boxes: Sequence[_Range]) -> tuple[list[_Range], list[_Range | None]]:
        """Every value each count can take given ``boxes`` (what a reader knows of each) and the sums.

        Exact for a forest: sums of integer intervals are integer intervals, so the range of a total
        given its parts is the sum of their ranges (bottom-up), and the range of a part is what its
        total's range leaves after its siblings' ranges (top-down). Also returns, for each total, the
        range its parts alone give it.
        """
        sub = list(boxes)
        below: list[_Range | None] = [None] * len(boxes)
        for i in reversed(self.order):
            if self.children[i]:
                below[i] = b = _add(sub[c] for c in self.children[i])
                sub[i] = _meet(boxes[i], b)
        full = list(sub)
        for i in self.order:
            p = self.parent[i]
            if p is not None:
                others = _add(sub[s] for s in self.children[p] if s != i)
                full[i] = _meet(sub[i], _minus(full[p], others))
        return full, below

    def near(self, i: int, below: Sequence[_Range | None]) -> list[int]:
        """Totals whose groups (a total and its parts) to look in for a complement to ``i``, nearest first.

        The group of ``i``'s own parts first when they alone pin it, then the group ``i`` is a part
        of, then its own parts' group, then every other group of the same tree, breadth first.
        """
        start: list[int] = []
        b = below[i]
        if b is not None and b[0] == b[1]:
            start.append(i)
        p = self.parent[i]
        if p is not None:
            start.append(p)
        if self.children[i]:
            start.append(i)
        seen: list[int] = []
        for t in start:
            if t not in seen:
                seen.append(t)
        for t in seen:  # grows while walked
            q = self.parent[t]
            for u in ([q] if q is not None else []) + [c for c in self.children[t] if self.children[c]]:
                if u not in seen:
                    seen.append(u)
        return seen


def _boxes(values: Sequence[int], hidden: Mapping[int, bool], n: int) -> list[_Range]:
    """What a reader knows of each count: a shown count exactly, ``"<N"`` 1..N-1, ``">=N"`` N or more."""
    return [
        ((1.0, n - 1.0) if hidden[i] else (float(n), math.inf)) if i in hidden else (float(v), float(v))
        for i, v in enumerate(values)
    ]


def _complementary(sums: _Sums, n: int, fixed: Collection[int]) -> dict[int, bool]:
    """The counts to hide: index -> True for a small count (primary), False for a complement."""
    values = sums.values
    hidden = {i: True for i, v in enumerate(values) if 0 < v < n}
    totals = [t for t in sums.order if sums.children[t]]

    def complement(t: int) -> int | None:
        """The smallest non-zero shown part of ``t``'s group (the first listed on ties), else ``t`` itself."""
        parts = [c for c in sums.children[t] if c not in hidden and c not in fixed and values[c] > 0]
        if parts:
            return min(parts, key=lambda c: (values[c], c))
        return t if t not in hidden and t not in fixed and values[t] > 0 else None

    # A count still pinned when everything that may be hidden is hidden cannot be helped by hiding more.
    everything = {**{i: False for i, v in enumerate(values) if v > 0 and i not in fixed}, **hidden}
    worst, _ = sums.ranges(_boxes(values, everything, n))
    while True:
        changed = True
        while changed:  # the classic rule: no group with exactly one hidden member
            changed = False
            for t in totals:
                if sum(m in hidden for m in (t, *sums.children[t])) == 1 and (c := complement(t)) is not None:
                    hidden[c] = False
                    changed = True
        full, below = sums.ranges(_boxes(values, hidden, n))
        pick = None
        for i in sums.order:  # the bounds of "<N" and ">=N" may still pin a hidden count
            if i in hidden and full[i][0] == full[i][1] and worst[i][0] < worst[i][1]:
                pick = next((c for t in sums.near(i, below) if (c := complement(t)) is not None), None)
                if pick is not None:
                    break
        if pick is None:
            return hidden
        hidden[pick] = False


def _shown(sums: _Sums, min_cell_count: int | None, fixed: Collection[int]) -> list[Shown]:
    if min_cell_count is None or min_cell_count <= 1:
        return list(sums.values)
    hidden = _complementary(sums, min_cell_count, fixed)
    small, big = f"<{min_cell_count}", complement_mark(min_cell_count)
    return [(small if hidden[i] else big) if i in hidden else v for i, v in enumerate(sums.values)]


def suppress_tree(
    counts: Mapping[K, int],
    sums: Mapping[K, Sequence[K]],
    min_cell_count: int | None,
    *,
    fixed: Collection[K] = (),
) -> dict[K, Shown]:
    """Primary and complementary small-count suppression of counts that add up.

    ``sums`` maps a total to the counts that make it up (``counts[t] == sum(counts[c] for c in
    sums[t])``); a count may be a part of one total only, so the sums form a forest (totals of
    sub-totals are fine: patients = staged + not staged, staged = stage I + II + III). ``fixed``
    are counts published elsewhere too (the number of patients): they are hidden only when small
    themselves, never as a complement. With N = ``min_cell_count`` (``None`` or N <= 1: off):

    1. **Primary**: a count 0 < x < N is written ``"<N"``. Zero stays 0: it discloses nobody, and
       is never hidden.
    2. **Complementary**: in a group (a total and its parts) with exactly one hidden member, that
       member is the total minus the others, so primary suppression alone hides nothing. The
       smallest non-zero shown part of the group is hidden as well (on ties the one listed first),
       written ``">=N"``; when no part is left, the total itself is hidden, and the rule is applied
       again to the group above it. This repeats until every group has no hidden member or at
       least two. For sums that form a forest that is exactly the condition under which no hidden
       count is a sum or difference of published ones (think of the groups as nodes and the
       hidden counts as edges between the two groups each belongs to, a top total or a bottom part
       also to "outside": a count is recoverable exactly when its edge is a bridge, and a graph in
       which no group has exactly one hidden edge has no bridge).
    3. **Bounds**: a reader also knows that ``"<N"`` is 1..N-1 and ``">=N"`` is N or more. Two
       hidden parts ``"<10"`` whose total is 2 are both 1, and ``"<10"`` beside ``">=10"`` adding
       up to 11 are 1 and 10. While these bounds leave a hidden count a single possible value, the
       smallest shown part of the nearest group that can give one is hidden too. A count that is
       pinned even when everything that may be hidden is hidden (``"<10"`` + ``">=10"`` = 11 with
       the total fixed) cannot be protected by hiding more counts; it is left so and nothing more
       is hidden on its account. With N = 2, ``"<2"`` can only be 1, so only rule 2 protects anything.

    Why: registries (national cancer registries; OHDSI network studies) publish no count below N,
    and that holds only if no published total lets a reader work a hidden count out by subtraction.
    """
    keys = list(counts)
    index = {k: i for i, k in enumerate(keys)}
    unknown = [k for t, parts in sums.items() for k in (t, *parts) if k not in index]
    if unknown:
        raise ValueError(f"sums name counts that are not given: {unknown!r}")
    children: list[list[int]] = [[] for _ in keys]
    for t, parts in sums.items():
        children[index[t]].extend(index[c] for c in parts)
    tree = _Sums.build([counts[k] for k in keys], children)
    shown = _shown(tree, min_cell_count, {index[k] for k in fixed})
    return dict(zip(keys, shown, strict=True))


def suppress_group(
    counts: Mapping[K, int], min_cell_count: int | None, *, fixed_total: bool = True
) -> tuple[dict[K, Shown], Shown]:
    """:func:`suppress_tree` for one group: the parts ``counts`` and their total, ``sum(counts)``.

    Returns the parts as shown and the total as shown. ``fixed_total``: the total is published
    elsewhere (or a reader can work it out), so it is never hidden as a complement; set it False
    when the total is published only beside these parts (then, as a last resort, it is hidden too).
    """
    keys = list(counts)
    parts: list[list[int]] = [list(range(1, len(keys) + 1)), *([] for _ in keys)]
    tree = _Sums.build([sum(counts.values()), *(counts[k] for k in keys)], parts)
    shown = _shown(tree, min_cell_count, {0} if fixed_total else set())
    return dict(zip(keys, shown[1:], strict=True)), shown[0]


def suppress_differences(
    cells: Mapping[K, tuple[int, Shown]], min_cell_count: int | None, *, movable: Collection[K]
) -> dict[K, Shown]:
    """Counts of nested groups of patients (the sizes of models fitted on fewer and fewer patients:
    with an outcome, with B2M, with B2M and age, ...): two shown counts that differ by 1..N-1 give
    that many patients away by subtraction. ``cells`` maps each count to (value, as shown so far);
    a ``movable`` count is hidden (``">=N"``) until no two shown counts differ by 1..N-1. Counts that
    are not movable are published as shown elsewhere (they already are, so hiding them here would
    protect nothing). Conservative: counts of groups that are not nested are compared as well."""
    out = {k: shown for k, (_, shown) in cells.items()}
    if min_cell_count is None or min_cell_count <= 1:
        return out
    value = {k: v for k, (v, _) in cells.items()}

    def clash(k: K) -> bool:
        return any(
            j != k and not is_hidden(out[j]) and 0 < abs(value[j] - value[k]) < min_cell_count for j in out
        )

    # Smallest first: a model on fewer patients is the one whose size is hidden.
    for k in sorted((k for k in cells if k in set(movable)), key=lambda k: value[k]):
        if not is_hidden(out[k]) and clash(k):
            out[k] = complement_mark(min_cell_count)
    return out
