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
) -> None:
    """Assess the bundled example patients and print their reports."""
    raw = json.loads(resources.files("b2m").joinpath("data/example_patients.json").read_text(encoding="utf-8"))
    _assess_document(raw, format)


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
