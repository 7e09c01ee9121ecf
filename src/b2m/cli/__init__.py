"""The ``b2m`` command: assess patients, stage batch files, run the demo.

Bad input ends with exit status 2 and one line on stderr naming the field, the problem and the
accepted forms; no traceback is ever shown (set ``B2M_DEBUG=1`` to see one while developing).
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Literal, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from typer.exceptions import Abort, TyperException

from b2m.cli.service import cds_app, serve, user_app
from b2m.errors import B2MError, InputError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from b2m.monitor.series import PatientSeries
    from b2m.patient import Patient

HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    name="b2m",
    help="Serum beta-2 microglobulin in myeloma: staging, interpretation and batch staging. "
    "Decision support, not diagnosis.",
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
    context_settings=HELP_OPTIONS,
)


def _show_version(value: bool) -> None:
    if value:
        from b2m import __version__

        sys.stdout.write(f"b2m {__version__}\n")
        raise typer.Exit()


def _help_without_command(ctx: typer.Context) -> None:
    """A group called without a command prints its help (on standard output, exit status 0)."""
    if ctx.invoked_subcommand is None and not ctx.resilient_parsing:
        sys.stdout.write(ctx.get_help() + "\n")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", "-V", help="Print the version and exit.", callback=_show_version, is_eager=True),
    ] = False,
) -> None:
    _help_without_command(ctx)


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


def _console() -> Console:
    return Console(file=sys.stdout, width=_width(110), soft_wrap=False)


def _width(default: int) -> int:
    given = os.environ.get("COLUMNS", "")
    return int(given) if given.isdigit() and 40 <= int(given) <= 1000 else default


@contextmanager
def _standard_output() -> Iterator[None]:
    """Results written to standard output, flushed here: a full disk (``> /dev/full``) is one line, exit 2. A
    reader that went away (``| head``) is left to the command-line library (exit 1, nothing said)."""
    try:
        yield
        sys.stdout.flush()
    except OSError as e:
        if isinstance(e, BrokenPipeError):
            raise
        raise InputError(
            "standard output", f"cannot write ({e.strerror or type(e).__name__})", "a writable output"
        ) from None


def _json_text(payload: object) -> str:
    return json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False)


def _assess_stream(stream: IO[bytes], name: str, fmt: OutputFormat, detail: bool) -> None:
    """Assess a document's patients one at a time, writing each result as it is done.

    The document is read twice: first every patient is checked (bad input prints its one error line and
    nothing else), then each is assessed and written, so memory does not grow with the number of
    patients. A JSON array is written element by element, byte for byte what ``json.dumps(results,
    indent=2)`` would give.
    """
    from b2m.io.documents import iter_patients

    for _ in iter_patients(stream, name)[1]:
        pass
    stream.seek(0)
    is_array, patients = iter_patients(stream, name)
    with _standard_output():
        _write_assessments(is_array, patients, fmt, detail)


def _write_assessments(is_array: bool, patients: Iterator[Patient], fmt: OutputFormat, detail: bool) -> None:
    from b2m.assessment import assess

    if fmt is OutputFormat.json:
        _write_json_items((assess([p])[0].to_dict() for p in patients), is_array)
        return
    if detail:
        from b2m.report.text import render_text

        console = _console()
        for p in patients:
            (result,) = assess([p])
            render_text(result, console)
        return
    from b2m.report.summary import render_summary

    width = _width(100)
    for p in patients:
        (result,) = assess([p])
        sys.stdout.write(render_summary(result, width))


DetailOption = Annotated[
    bool,
    typer.Option(
        "--detail",
        help="The full report: every rule, criterion, note, published outcome and source (default: a one-screen "
        "summary per patient).",
    ),
]


@app.command()
def assess(
    file: Annotated[str, typer.Argument(help="Patient JSON file (one object or an array), or - for stdin.")],
    format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="text report or the JSON contract")
    ] = OutputFormat.text,
    detail: DetailOption = False,
) -> None:
    """Stage and interpret one patient or an array of patients: a one-screen summary each (--detail: everything)."""
    from b2m.io.documents import open_source

    with open_source(file, sys.stdin.buffer) as (stream, name):
        _assess_stream(stream, name, format, detail)


@app.command()
def stage(
    input: Annotated[
        Path, typer.Argument(help="CSV (comma, semicolon or tab), Parquet or Excel .xlsx file with the batch columns.")
    ],
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
    from b2m.io.batch import estimated_rows, stage_file
    from b2m.io.models.options import StageOptions
    from b2m.io.publish import interruptible

    policy = _options(StageOptions, on_invalid=on_invalid.value).on_invalid
    notes: list[str] = []  # said after the run: a refused file gets its one error line only
    note = notes.append

    show = (
        progress
        if progress is not None
        else sys.stderr.isatty() and input.is_file() and (input.stat().st_size > PROGRESS_MIN_BYTES)
    )
    if not show:
        rows = interruptible(lambda: stage_file(input, output, on_invalid=policy, notice=note))
    else:
        with Progress(
            TextColumn("staging"),
            BarColumn(),
            TaskProgressColumn(),
            TimeRemainingColumn(),
            console=Console(file=sys.stderr),
            transient=True,
        ) as bar:
            task = bar.add_task("stage", total=estimated_rows(input))
            rows = interruptible(
                lambda: stage_file(
                    input, output, progress=lambda n: bar.advance(task, n), on_invalid=policy, notice=note
                )
            )
    for text in notes:
        sys.stderr.write(f"b2m: note: {text}\n")
    sys.stderr.write(f"b2m: staged {rows:,} rows -> {output}\n")


@app.command()
def demo(
    format: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.text,
    out: Annotated[
        Path, typer.Option("--out", help="Directory for the cohort report on the bundled GSE24080 cohort.")
    ] = Path("b2m-demo-report"),
    ldh_uln: Annotated[
        float | None,
        typer.Option(
            "--ldh-uln",
            help="LDH upper limit (U/L) to assume for GSE24080, which gives none (default: the README example's "
            "250 U/L; the report states it as an assumption).",
        ),
    ] = None,
    no_ldh_uln: Annotated[
        bool,
        typer.Option("--no-ldh-uln", help="Assume no LDH upper limit: R-ISS and R2-ISS then stay ranges."),
    ] = False,
    detail: DetailOption = False,
) -> None:
    """Assess the bundled example patients and print their reports; write the GSE24080 cohort report."""
    from b2m.cli.cohort import write_demo_report

    if no_ldh_uln and ldh_uln is not None:
        raise InputError("--no-ldh-uln", "given together with --ldh-uln", "one of --ldh-uln U/L or --no-ldh-uln")
    from b2m.io.models.options import CohortReportOptions

    _options(CohortReportOptions, kind="wide", ldh_uln_u_l=ldh_uln)  # checked before anything is printed
    from b2m.cli.outputs import check_output_folder, writing
    from b2m.cli.progress import terminal_progress

    example = resources.files("b2m").joinpath("data/example_patients.json")
    check_output_folder(out, "--out")
    _assess_stream(io.BytesIO(example.read_bytes()), example.name, format, detail)
    with terminal_progress() as hook, writing("--out", out):
        files = write_demo_report(out, ldh_uln_u_l=ldh_uln, assume_ldh_uln=not no_ldh_uln, progress=hook)
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
    from b2m.report.monitor_text import render_monitor_text

    with _series(file) as (is_array, patients):
        for _ in patients():  # every patient checked first: bad input prints its one line and nothing else
            pass
        with _standard_output():
            if format is OutputFormat.json:
                _write_json_items((monitor_patient(p).to_dict() for p in patients()), is_array)
            else:
                console = _console()
                for p in patients():
                    render_monitor_text(monitor_patient(p), console)


def _write_json_items(docs: Iterator[object], is_array: bool) -> None:
    """Documents written one at a time: an array element by element, byte for byte ``json.dumps(list, indent=2)``."""
    write = sys.stdout.write
    if not is_array:
        for doc in docs:
            write(_json_text(doc) + "\n")
        return
    write("[\n")
    for n, doc in enumerate(docs):
        write((",\n" if n else "") + "  " + _json_text(doc).replace("\n", "\n  "))
    write("\n]\n")


@contextmanager
def _series(file: str) -> Iterator[tuple[bool, Callable[[], Iterator[PatientSeries]]]]:
    """The patients of a series FILE, to be read as often as needed: JSON (or - for standard input), or the
    long format (.csv, .parquet); whether the document is an array."""
    from b2m.io.documents import iter_series, open_source
    from b2m.io.series import LongFormat

    if file != "-" and Path(file).suffix.lower() in (".csv", ".parquet"):
        table = LongFormat(Path(file))
        yield True, lambda: iter(table)
        return
    with open_source(file, sys.stdin.buffer) as (stream, name):

        def again() -> Iterator[PatientSeries]:
            stream.seek(0)
            return iter_series(stream, name)[1]

        yield iter_series(stream, name)[0], again


LIST_IDS = "list them with `b2m report FILE --list-patients`"


def _one_patient(patients: Iterator[PatientSeries], patient_id: str | None) -> PatientSeries:
    """The one patient a report is for: the only one, or the one whose id is ``patient_id``.

    Errors give the number of patients and how to list their ids, never an id (the README's promise: no
    patient id in any error message, which may end up in a log).
    """
    chosen: PatientSeries | None = None
    n = 0
    for p in patients:
        n += 1
        if (patient_id is None and n == 1) or (patient_id is not None and p.id == patient_id):
            chosen = p
    count = f"{n:,} patient{'s' if n != 1 else ''}"
    if patient_id is not None and chosen is None:
        raise InputError(
            "--patient", f"no patient with the id given among the document's {count}", f"one of their ids ({LIST_IDS})"
        )
    if patient_id is None and n != 1:
        raise InputError("FILE", f"the document holds {count} and a report is for one", f"--patient ID ({LIST_IDS})")
    assert chosen is not None
    return chosen


class ReportAudience(StrEnum):
    patient = "patient"
    clinician = "clinician"


@app.command()
def report(
    file: Annotated[
        str,
        typer.Argument(help="Patient series (JSON, see docs/monitor-contract.md; CSV/Parquet long format), or -."),
    ],
    audience: Annotated[
        ReportAudience | None,
        typer.Option("--audience", "-a", help="patient: plain language; clinician: full detail (required)."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="OUT.pdf or OUT.html (written atomically; required).")
    ] = None,
    patient: Annotated[
        str | None, typer.Option("--patient", "-p", help="The patient's id, when FILE holds several.")
    ] = None,
    list_patients: Annotated[
        bool,
        typer.Option("--list-patients", help="Print the ids of the patients in FILE, one per line, and exit."),
    ] = False,
) -> None:
    """Monitoring report of one patient with trend charts, as PDF or self-contained HTML."""
    from b2m.cli.outputs import check_output_file, writing
    from b2m.monitor.monitor import monitor_patient
    from b2m.report.pdf import check_report_target, write_report

    if list_patients:
        with _series(file) as (_, patients):
            for p in patients():
                sys.stdout.write(p.id + "\n")  # ids are printable text (checked when read)
        return
    if audience is None:
        raise InputError("--audience", "missing", "--audience patient or --audience clinician")
    if output is None:
        raise InputError("--output", "missing", "-o OUT.pdf or -o OUT.html")
    chosen: Literal["patient", "clinician"] = "patient" if audience is ReportAudience.patient else "clinician"
    check_report_target(output, chosen)
    check_output_file(output, "--output", [file])
    with _series(file) as (_, patients):
        series = _one_patient(patients(), patient)
    with writing("--output", output):
        written = write_report(monitor_patient(series), chosen, output)
    sys.stderr.write(f"b2m: {audience.value} report -> {written}\n")


class SchemaName(StrEnum):
    patient = "patient"
    series = "series"


@app.command()
def schema(
    name: Annotated[SchemaName, typer.Argument(help="patient (b2m assess) or series (b2m monitor, b2m report).")],
) -> None:
    """Print the JSON Schema of an input document (as committed under docs/schemas/)."""
    from b2m.io.models import json_schema_text

    sys.stdout.write(json_schema_text(name.value))


cohort_app = typer.Typer(
    help="Cohort analytics: survival by staging system and the cohort report.",
    rich_markup_mode=None,
    context_settings=HELP_OPTIONS,
)
app.add_typer(cohort_app, name="cohort")


@cohort_app.callback(invoke_without_command=True)
def _cohort(ctx: typer.Context) -> None:
    _help_without_command(ctx)


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
    from b2m.cli.outputs import check_output_folder, writing
    from b2m.cli.progress import terminal_progress
    from b2m.io.cohort.values import parse_window
    from b2m.io.models.options import CohortReportOptions

    options = _options(
        CohortReportOptions,
        kind=kind.value,
        engine=engine,
        window_days=list(parse_window(window)),
        policy=policy.value,
        ldh_uln_u_l=ldh_uln,
        fish_concept_ids=_fish_concepts(fish_concept or []) or None,
        min_cell_count=min_cell_count,
        bootstrap=bootstrap,
        seed=seed,
    )
    check_output_folder(out, "--out", [input, patients])
    with terminal_progress() as hook, writing("--out", out):
        files = run(
            input,
            out,
            kind=options.kind,
            patients=patients,
            engine=options.engine,
            ldh_uln_u_l=options.ldh_uln_u_l,
            min_cell_count=options.min_cell_count,
            bootstrap=options.bootstrap,
            seed=options.seed,
            progress=hook,
            fish_concept_ids=options.fish_concepts,
            window_days=options.window,
            policy=options.policy,
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
    from b2m.io.models.options import CohortValuesOptions
    from b2m.io.publish import interruptible

    options = _options(
        CohortValuesOptions,
        kind=kind.value,
        engine=engine,
        window_days=list(parse_window(window)),
        policy=policy.value,
        ldh_uln_u_l=ldh_uln,
        fish_concept_ids=_fish_concepts(fish_concept or []) or None,
        audit_rows=audit_rows.value,
    )
    summary = interruptible(
        lambda: write_values(
            input,
            output,
            kind=options.kind,
            patients=patients,
            engine=options.engine,
            window_days=options.window,
            policy=options.policy,
            ldh_uln_u_l=options.ldh_uln_u_l,
            audit_trail=audit_trail,
            audit_rows=options.audit_rows,
            unit_report=unit_report,
            fish_concept_ids=options.fish_concepts,
        )
    )
    for note in summary.notes:
        sys.stderr.write(f"b2m: note: {note}\n")
    staged = ", ".join(f"{name} {n:,}" for name, n in summary.staged.items())
    sys.stderr.write(f"b2m: {summary.patients:,} patients (one stage: {staged}) -> {output}\n")
    if summary.audit_rows is not None:
        sys.stderr.write(f"b2m: audit trail, {summary.audit_rows:,} measurements -> {audit_trail}\n")


app.command("serve")(serve)
app.add_typer(user_app, name="user")
app.add_typer(cds_app, name="cds")

# The flag that sets each option field, so that an option's error names what the user typed.
OPTION_FLAGS = {
    "on_invalid": "--on-invalid",
    "kind": "--kind",
    "engine": "--engine",
    "window_days": "--window",
    "policy": "--policy",
    "ldh_uln_u_l": "--ldh-uln",
    "fish_concept_ids": "--fish-concept",
    "audit_rows": "--audit-rows",
    "min_cell_count": "--min-cell-count",
    "bootstrap": "--bootstrap",
    "seed": "--seed",
}

OptionsT = TypeVar("OptionsT", bound="BaseModel")


def _options(model: type[OptionsT], **flags: object) -> OptionsT:
    """The run's options model from its flags (checked once, at the edge); errors name the flag."""
    from b2m.io.models import validate

    try:
        return validate(model, flags, root="options")
    except InputError as e:
        head, sep, rest = e.field.partition(".")
        field = OPTION_FLAGS.get(head, head) + (f" ({rest})" if sep else "")
        raise type(e)(field, e.problem, e.accepted, e.hint) from None


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
    except BaseException as e:  # a Rust panic in a reader (pyo3's PanicException is no Exception)
        if type(e).__name__ != "PanicException" or os.environ.get("B2M_DEBUG"):
            raise
        _fail("internal error (a file reader failed); please report it", 1)
    raise SystemExit(code if isinstance(code, int) else 0)
