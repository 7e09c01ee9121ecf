"""The ``b2m`` command: assess patients, stage batch files, run the demo.

Bad input ends with exit status 2 and one line on stderr naming the field, the problem and the
accepted forms; no traceback is ever shown (set ``B2M_DEBUG=1`` to see one while developing).
"""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from typer.exceptions import Abort, TyperException

from b2m.cli.service import serve, user_app
from b2m.errors import B2MError, InputError

app = typer.Typer(
    name="b2m",
    help="Serum beta-2 microglobulin in myeloma: staging, interpretation and batch staging. "
    "Decision support, not diagnosis.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)

MAX_JSON_BYTES = 256 << 20  # a larger document is a cohort: use `b2m stage`
PROGRESS_MIN_BYTES = 8 << 20


class InvalidPolicy(StrEnum):
    error = "error"
    null = "null"


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


def _fail(message: str, code: int = 2) -> NoReturn:
    sys.stderr.write(f"b2m: error: {' '.join(message.split())}\n")
    raise SystemExit(code)


def _read_json(source: str) -> object:
    if source == "-":
        data = sys.stdin.buffer.read(MAX_JSON_BYTES + 1)
        name = "stdin"
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError("FILE", f"no such file: {source}", "a path to a JSON file, or - for standard input")
        if path.stat().st_size > MAX_JSON_BYTES:
            raise InputError(
                "FILE", f"{source} is larger than {MAX_JSON_BYTES >> 20} MiB", "use `b2m stage` for cohorts"
            )
        data = path.read_bytes()
        name = source
    if len(data) > MAX_JSON_BYTES:
        raise InputError("FILE", f"input is larger than {MAX_JSON_BYTES >> 20} MiB", "use `b2m stage` for cohorts")
    try:
        doc = json.loads(data.decode("utf-8-sig"), object_pairs_hook=_unique_keys)
    except UnicodeDecodeError:
        raise InputError(name, "is not UTF-8 text", "a UTF-8 JSON document") from None
    except _DuplicateKey as e:
        raise InputError(name, f"duplicate key {e.args[0]!r} in one object", "each key once per object") from None
    except json.JSONDecodeError as e:
        raise InputError(
            name, f"invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}", "a JSON object or array of objects"
        ) from None
    except RecursionError:
        raise InputError(name, "JSON nested too deeply", "the patient contract (see README)") from None
    except ValueError as e:  # e.g. integers beyond Python's digit limit
        raise InputError(name, f"invalid JSON ({str(e)[:80]})", "a JSON object or array of objects") from None
    _check_text(doc, name)
    return doc


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """Refuse duplicate keys: JSON parsers silently keep the last one, which would hide a conflicting value."""
    out: dict[str, object] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(k)
        out[k] = v
    return out


def _check_text(doc: object, name: str) -> None:
    """Refuse strings that cannot be written back as UTF-8 (lone surrogates such as "\\ud800")."""
    stack = [doc]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            stack.extend(x.keys())
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
        elif isinstance(x, str):
            try:
                x.encode("utf-8")
            except UnicodeEncodeError:
                raise InputError(name, "contains a string that is not valid Unicode", "UTF-8 text") from None


def _emit(payload: object, fmt: OutputFormat, patients_text: str | None = None) -> None:
    if fmt is OutputFormat.json:
        sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    elif patients_text is not None:
        sys.stdout.write(patients_text)


def _assess_document(raw: object, fmt: OutputFormat) -> None:
    from b2m.assessment import assess
    from b2m.io.patient import parse_patients
    from b2m.report.text import render_text

    patients = parse_patients(raw)
    results = assess(patients)
    if fmt is OutputFormat.json:
        docs = [r.to_dict() for r in results]
        _emit(docs if isinstance(raw, list) else docs[0], fmt)
    else:
        console = Console(file=sys.stdout, width=int(os.environ.get("COLUMNS", "110")), soft_wrap=False)
        for r in results:
            render_text(r, console)


@app.command()
def assess(
    file: Annotated[str, typer.Argument(help="Patient JSON file (one object or an array), or - for stdin.")],
    format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="text report or the JSON contract")
    ] = OutputFormat.text,
) -> None:
    """Stage and interpret one patient or an array of patients."""
    _assess_document(_read_json(file), format)


@app.command()
def stage(
    input: Annotated[Path, typer.Argument(help="CSV or Parquet file with the batch columns (see README).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output .csv or .parquet (written atomically).")],
    on_invalid: Annotated[
        InvalidPolicy,
        typer.Option(
            "--on-invalid",
            help="error: stop at the first invalid value (default); null: make it unknown and say why in b2m_issues.",
        ),
    ] = InvalidPolicy.error,
    progress: Annotated[
        bool | None,
        typer.Option("--progress/--no-progress", help="Progress bar (default: on a terminal for large files)."),
    ] = None,
) -> None:
    """Stage ISS, R-ISS and R2-ISS for every row of a table."""
    from b2m.io.batch import stage_file, total_work

    total = total_work(input) if input.is_file() else 0
    show = (
        progress
        if progress is not None
        else (
            sys.stderr.isatty() and (total > PROGRESS_MIN_BYTES or (input.suffix == ".parquet" and total > 1_000_000))
        )
    )
    if not show:
        rows = stage_file(input, output, on_invalid=on_invalid.value)
    else:
        with Progress(
            TextColumn("staging"),
            BarColumn(),
            TaskProgressColumn(),
            TimeRemainingColumn(),
            console=Console(file=sys.stderr),
            transient=True,
        ) as bar:
            task = bar.add_task("stage", total=total or None)
            rows = stage_file(input, output, progress=lambda n: bar.advance(task, n), on_invalid=on_invalid.value)
    sys.stderr.write(f"b2m: staged {rows:,} rows -> {output}\n")


@app.command()
def demo(
    format: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.text,
    out: Annotated[
        Path, typer.Option("--out", help="Directory for the cohort report on the bundled GSE24080 cohort.")
    ] = Path("b2m-demo-report"),
    ldh_uln: Annotated[
        float | None, typer.Option("--ldh-uln", help="LDH upper limit (U/L) to assume for GSE24080 (it has none).")
    ] = None,
) -> None:
    """Assess the bundled example patients and print their reports; write the GSE24080 cohort report."""
    raw = json.loads(resources.files("b2m").joinpath("data/example_patients.json").read_text(encoding="utf-8"))
    _assess_document(raw, format)
    from b2m.cli.cohort import write_example_report
    from b2m.cli.progress import terminal_progress

    with terminal_progress() as hook:
        files = write_example_report(out, ldh_uln_u_l=ldh_uln, progress=hook)
    sys.stderr.write(f"b2m: GSE24080 cohort report -> {files.html}\n")


@app.command()
def monitor(
    file: Annotated[
        str, typer.Argument(help="Patient series: JSON (one object or an array), CSV/Parquet long format, or - (JSON).")
    ],
    format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="text table or the JSON contract")
    ] = OutputFormat.text,
) -> None:
    """IMWG 2016 response and progression over time, B2M kinetics with kidney function, and alerts."""
    from b2m.monitor.monitor import monitor_patient
    from b2m.monitor.series import parse_series_document, read_long_format
    from b2m.report.monitor_text import render_monitor_text

    is_table = file != "-" and Path(file).suffix.lower() in (".csv", ".parquet")
    raw = None if is_table else _read_json(file)
    patients = read_long_format(Path(file)) if is_table else parse_series_document(raw)
    results = [monitor_patient(p) for p in patients]
    if format is OutputFormat.json:
        docs = [r.to_dict() for r in results]
        _emit(docs if is_table or isinstance(raw, list) else docs[0], format)
    else:
        console = Console(file=sys.stdout, width=int(os.environ.get("COLUMNS", "110")), soft_wrap=False)
        for r in results:
            render_monitor_text(r, console)


class ReportAudience(StrEnum):
    patient = "patient"
    clinician = "clinician"


@app.command()
def report(
    file: Annotated[str, typer.Argument(help="One patient's series (JSON, see docs/monitor-contract.md), or -.")],
    audience: Annotated[
        ReportAudience, typer.Option("--audience", "-a", help="patient: plain language; clinician: full detail.")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="OUT.pdf or OUT.html (written atomically).")],
    patient: Annotated[
        str | None, typer.Option("--patient", "-p", help="The patient's id, when FILE holds several.")
    ] = None,
) -> None:
    """Monitoring report of one patient with trend charts, as PDF or self-contained HTML."""
    from b2m.report.pdf import write_report

    written = write_report(
        _read_json(file), "patient" if audience is ReportAudience.patient else "clinician", output, patient_id=patient
    )
    sys.stderr.write(f"b2m: {audience.value} report -> {written}\n")


cohort_app = typer.Typer(
    help="Cohort analytics: survival by staging system and the cohort report.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(cohort_app, name="cohort")


class CohortKind(StrEnum):
    wide = "wide"
    long = "long"
    omop = "omop"


class WindowPolicy(StrEnum):
    nearest = "nearest"
    last_before = "last_before"
    first_after = "first_after"


class AuditRows(StrEnum):
    all = "all"
    used = "used"


# Options that `cohort report` and `cohort values` share, declared once.
PatientsOption = Annotated[
    str | None,
    typer.Option("--patients", help="Patient table (index date, age, sex, outcomes, FISH) for --kind long."),
]
EngineOption = Annotated[str, typer.Option("--engine", help="polars (default), duckdb or spark.")]
LdhUlnOption = Annotated[
    float | None,
    typer.Option("--ldh-uln", help="LDH upper limit of normal (U/L) to assume where the data give none."),
]
WindowOption = Annotated[
    str, typer.Option("--window", help="Days around the index date, LO,HI, both inclusive (e.g. -60,30).")
]
PolicyOption = Annotated[
    WindowPolicy,
    typer.Option("--policy", help="nearest (ties: the earlier date), last_before or first_after the index date."),
]
FishConceptOption = Annotated[
    list[str] | None,
    typer.Option(
        "--fish-concept",
        help="OMOP: the site's concept ids of a FISH result, e.g. del17p=123,456 (repeat for t4_14, t14_16, gain1q).",
    ),
]


@cohort_app.command("report")
def cohort_report(
    input: Annotated[str, typer.Argument(help="Cohort file or folder, or 'gse24080' for the bundled example.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory (HTML, JSON, CSV).")],
    kind: Annotated[CohortKind, typer.Option("--kind", help="Input layout.")] = CohortKind.wide,
    patients: PatientsOption = None,
    engine: EngineOption = "polars",
    ldh_uln: LdhUlnOption = None,
    min_cell_count: Annotated[
        int | None, typer.Option("--min-cell-count", min=2, help="Show counts below N as '<N' (registry output).")
    ] = None,
    bootstrap: Annotated[int, typer.Option("--bootstrap", min=0, help="Bootstrap replicates for C-index CIs.")] = 500,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap.")] = 20240601,
    window: WindowOption = "-60,30",
    policy: PolicyOption = WindowPolicy.nearest,
    fish_concept: FishConceptOption = None,
) -> None:
    """Survival by ISS, R-ISS and R2-ISS: a self-contained HTML report with JSON and CSV beside it."""
    from b2m.cli.cohort import cohort_report as run
    from b2m.cli.progress import terminal_progress
    from b2m.io.cohort.values import parse_window

    window_days = parse_window(window)

    with terminal_progress() as hook:
        files = run(
            input,
            out,
            kind=kind.value,
            patients=patients,
            engine=engine,
            ldh_uln_u_l=ldh_uln,
            min_cell_count=min_cell_count,
            bootstrap=bootstrap,
            seed=seed,
            progress=hook,
            fish_concept_ids=_fish_concepts(fish_concept or []),
            window_days=window_days,
            policy=policy.value,
        )
    sys.stderr.write(f"b2m: cohort report -> {files.html}\n")


@cohort_app.command("values")
def cohort_values(
    input: Annotated[str, typer.Argument(help="Lab table (--kind long), OMOP CDM folder or file, or wide table.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Per-patient table: .parquet or .csv.")],
    kind: Annotated[CohortKind, typer.Option("--kind", help="Input layout.")] = CohortKind.long,
    patients: PatientsOption = None,
    engine: EngineOption = "polars",
    window: WindowOption = "-60,30",
    policy: PolicyOption = WindowPolicy.nearest,
    ldh_uln: LdhUlnOption = None,
    audit_trail: Annotated[
        Path | None,
        typer.Option(
            "--audit-trail",
            help="Also write every measurement, used or why not (.parquet or .csv; written by the engine, rows "
            "in no set order; Spark: a folder).",
        ),
    ] = None,
    audit_rows: Annotated[
        AuditRows, typer.Option("--audit-rows", help="all measurements, or only those used.")
    ] = AuditRows.all,
    unit_report: Annotated[
        Path | None, typer.Option("--unit-report", help="Also write the units seen, converted, refused (.csv).")
    ] = None,
    fish_concept: FishConceptOption = None,
) -> None:
    """Lab values at diagnosis and ISS / R-ISS / R2-ISS for every patient, with their audit trail."""
    from b2m.io.cohort.values import parse_window, write_values

    summary = write_values(
        input,
        output,
        kind=kind.value,
        patients=patients,
        engine=engine,
        window_days=parse_window(window),
        policy=policy.value,
        ldh_uln_u_l=ldh_uln,
        audit_trail=audit_trail,
        audit_rows=audit_rows.value,
        unit_report=unit_report,
        fish_concept_ids=_fish_concepts(fish_concept or []),
    )
    for note in summary.notes:
        sys.stderr.write(f"b2m: note: {note}\n")
    staged = ", ".join(f"{name} {n:,}" for name, n in summary.staged.items())
    sys.stderr.write(f"b2m: {summary.patients:,} patients (one stage: {staged}) -> {output}\n")
    if summary.audit_rows is not None:
        sys.stderr.write(f"b2m: audit trail, {summary.audit_rows:,} measurements -> {audit_trail}\n")


app.command("serve")(serve)
app.add_typer(user_app, name="user")


def _fish_concepts(given: list[str]) -> dict[str, list[int]]:
    """``del17p=123,456`` (repeatable) -> {"del17p": [123, 456]}; bad forms are refused by name."""
    out: dict[str, list[int]] = {}
    for item in given:
        key, sep, ids = item.partition("=")
        try:
            numbers = [int(i) for i in ids.split(",")]
        except ValueError:
            numbers = []
        if not sep or not numbers:
            raise InputError("--fish-concept", f"not KEY=ID[,ID...]: {item!r}", "e.g. del17p=123,456")
        out.setdefault(key.strip(), []).extend(numbers)
    return out


def main() -> None:
    try:
        code = app(standalone_mode=False)
    except B2MError as e:
        _fail(str(e))
    except Abort:
        _fail("aborted", 130)
    except TyperException as e:
        _fail(f"{e.format_message()} (see b2m --help)")
    except SystemExit:
        raise
    except Exception as e:
        if os.environ.get("B2M_DEBUG"):
            raise
        _fail(f"internal error ({type(e).__name__}: {e}); please report it", 1)
    raise SystemExit(code if isinstance(code, int) else 0)
