"""The edge per request: one patient document from JSON bytes to the domain object.

Run: ``.venv/bin/python benchmarks/edge.py`` (``--rounds`` to change).

For each bundled example patient (``src/b2m/data/example_patients.json``: 4 patients with 6-11 labs each)
and the first example series (``example_series.json``: 7 series, 57 dated results), measured side by
side in one run, p50 and p99 over ``--rounds`` calls:

- ``edge``: :func:`b2m.io.documents.patients_from_json` / ``series_from_json`` on the bytes: UTF-8,
  the standard library's JSON parser with duplicate-key detection, nesting and surrogate checks, the
  strict pydantic model (Python mode), and the conversion to the domain object through the unit layer;
- its parts: ``json.loads`` with the duplicate-key hook; the model on the parsed object; the conversion;
- ``model_validate_json``: pydantic's own JSON parser on the bytes (its fastest path; it cannot refuse
  duplicate keys, which is why the edge does not use it) + the same conversion, for comparison.

Target (issue 9): validating and converting one patient well under a millisecond.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from importlib import resources

from b2m.io.documents import load_json, patients_from_json, series_from_json
from b2m.io.models import PatientDocument, SeriesDocument, validate
from b2m.io.patient import to_patient
from b2m.io.series import to_patient_series

TARGET_US = 1000.0


def timed(rounds: int, fn: Callable[[], object]) -> tuple[float, float]:
    """p50 and p99 of ``rounds`` calls, in microseconds (after a warm-up)."""
    for _ in range(min(200, rounds)):
        fn()
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e6)
    times.sort()
    return statistics.median(times), times[int(0.99 * (len(times) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5000)
    args = parser.parse_args()
    data = resources.files("b2m").joinpath("data")
    patients = json.loads(data.joinpath("example_patients.json").read_text(encoding="utf-8"))
    series = json.loads(data.joinpath("example_series.json").read_text(encoding="utf-8"))

    rows: list[tuple[str, str, float, float]] = []
    for doc in patients:
        raw = json.dumps(doc, ensure_ascii=False).encode()
        parsed = load_json(raw)
        model = validate(PatientDocument, parsed)
        steps: list[tuple[str, Callable[[], object]]] = [
            ("edge: bytes -> Patient", lambda raw=raw: patients_from_json(raw)),
            ("  json.loads + checks", lambda raw=raw: load_json(raw)),
            ("  model (Python mode)", lambda parsed=parsed: validate(PatientDocument, parsed)),
            ("  conversion (unit layer)", lambda model=model: to_patient(model)),
            (
                "model_validate_json + conversion",
                lambda raw=raw: to_patient(PatientDocument.model_validate_json(raw, strict=True)),
            ),
        ]
        for name, fn in steps:
            rows.append((doc["id"], name, *timed(args.rounds, fn)))
    doc = series[0]
    raw = json.dumps(doc, ensure_ascii=False).encode()
    for name, fn in (
        ("edge: bytes -> PatientSeries", lambda: series_from_json(raw)),
        (
            "model_validate_json + conversion",
            lambda: to_patient_series(SeriesDocument.model_validate_json(raw, strict=True)),
        ),
    ):
        rows.append((doc["id"], name, *timed(max(1, args.rounds // 5), fn)))

    print(f"{'document':<22} {'step':<34} {'p50 µs':>8} {'p99 µs':>8}")
    for pid, name, p50, p99 in rows:
        print(f"{pid:<22} {name:<34} {p50:>8.1f} {p99:>8.1f}")
    worst = max(p50 for _, name, p50, _ in rows if name == "edge: bytes -> Patient")
    verdict = "met" if worst < TARGET_US else "NOT met"
    print(f"slowest patient through the edge: p50 {worst:.0f} µs (target < {TARGET_US:.0f} µs: {verdict})")


if __name__ == "__main__":
    main()
