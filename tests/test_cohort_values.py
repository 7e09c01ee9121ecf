"""`b2m cohort values`: lab values at diagnosis and stages per patient, with the audit trail, to files.

Expected stages are worked out by hand from the published rules (b2m reference ISS-2): ISS (Greipp
2005) I = B2M < 3.5 mg/L and albumin >= 3.5 g/dL, III = B2M >= 5.5 mg/L, else II. Unit conversions
are those of the b2m reference (b2m reference UNITS-2: albumin g/L / 10 = g/dL).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from b2m.errors import InputError
from b2m.io.cohort.values import parse_window, write_values

INDEX = dt.date(2020, 3, 1)


def _day(n: int) -> dt.date:
    return INDEX + dt.timedelta(days=n)


@pytest.fixture
def feed(tmp_path: Path) -> tuple[Path, Path]:
    """A: B2M 6.1 mg/L, albumin 3.9 g/dL on the index date -> ISS III (B2M >= 5.5).
    B: B2M '<0.5' mg/L at d = -3, albumin 40 g/L (= 4.0 g/dL) at d = 0 -> ISS I (< 0.5 < 3.5, >= 3.5).
    C: only a B2M 2.0 at d = -90 (outside -60..+30) -> no value, ISS I, II or III.
    B also has a B2M 7.0 at d = -10 (farther than d = -3: not used; it would make ISS III)."""
    labs = pl.DataFrame(
        {
            "patient_id": ["A", "A", "B", "B", "B", "C"],
            "analyte": ["b2m", "albumin", "b2m", "b2m", "albumin", "b2m"],
            "value": ["6.1", "3.9", "<0.5", "7.0", "40", "2.0"],
            "unit": ["mg/L", "g/dL", "mg/L", "mg/L", "g/L", "mg/L"],
            "date": [_day(0), _day(0), _day(-3), _day(-10), _day(0), _day(-90)],
        }
    )
    labs.write_csv(tmp_path / "labs.csv")
    pl.DataFrame({"patient_id": ["A", "B", "C"], "index_date": [INDEX] * 3}).write_csv(tmp_path / "pts.csv")
    return tmp_path / "labs.csv", tmp_path / "pts.csv"


def test_table_audit_trail_and_unit_report(feed: tuple[Path, Path], tmp_path: Path) -> None:
    labs, pts = feed
    out, audit, units = tmp_path / "values.parquet", tmp_path / "audit.csv", tmp_path / "units.csv"
    summary = write_values(labs, out, kind="long", patients=pts, audit_trail=audit, unit_report=units)
    table = pl.read_parquet(out).sort("patient_id")
    assert table["iss"].to_list() == ["III", "I", None]
    assert table["iss_possible"].to_list() == ["III", "I", "I|II|III"]
    assert table["b2m_censored"].to_list() == [None, "<0.5", None]
    assert table["albumin_g_dl"].to_list() == [3.9, 4.0, None]
    trail = pl.read_csv(audit)
    b = trail.filter((pl.col("patient_id") == "B") & (pl.col("analyte") == "b2m")).sort("days_from_index")
    assert b.select("days_from_index", "reason").rows() == [(-10, "farther"), (-3, "used")]
    assert trail.filter(pl.col("patient_id") == "C")["reason"].to_list() == ["outside_window"]
    report = pl.read_csv(units)
    assert report.filter((pl.col("analyte") == "albumin") & (pl.col("unit") == "g/L"))["converted"].to_list() == [1]
    assert (summary.patients, summary.staged["iss"], summary.audit_rows) == (3, 2, 6)


def test_window_policy_and_used_rows_only(feed: tuple[Path, Path], tmp_path: Path) -> None:
    """last_before within -5..0: B's B2M '<0.5' at d = -3 is the last before; the 7.0 at d = -10 is
    outside. With --audit-rows used only the used measurements are written."""
    labs, pts = feed
    out, audit = tmp_path / "v.csv", tmp_path / "a.parquet"
    write_values(
        labs, out, kind="long", patients=pts, window_days=(-5, 0), policy="last_before", audit_trail=audit,
        audit_rows="used",
    )  # fmt: skip
    trail = pl.read_parquet(audit)
    assert trail["used"].all() and trail.height == 4  # A: b2m, albumin; B: b2m, albumin
    assert pl.read_csv(out).sort("patient_id")["iss"].to_list() == ["III", "I", None]


def test_a_failed_run_keeps_the_files_that_were_there(feed: tuple[Path, Path], tmp_path: Path) -> None:
    """A patient table with one patient twice is refused; the earlier output is untouched and no
    temporary file is left behind."""
    labs, _ = feed
    out = tmp_path / "values.csv"
    out.write_text("earlier result\n", encoding="utf-8")
    twice = tmp_path / "twice.csv"
    pl.DataFrame({"patient_id": ["A", "A"], "index_date": [INDEX] * 2}).write_csv(twice)
    with pytest.raises(InputError, match="more than once") as refused:
        write_values(labs, out, kind="long", patients=twice)
    assert "A" not in str(refused.value).replace("appear", "")  # a count, never the patient id
    assert out.read_text(encoding="utf-8") == "earlier result\n"
    assert not list(tmp_path.glob(".b2m-*"))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"output": "values.txt"}, "--output"),
        ({"output": "labs.csv"}, "--output"),  # would overwrite an input
        ({"output": "v.csv", "audit_trail": "v.csv"}, "same file"),
        ({"output": "no/such/dir/v.csv"}, "--output"),
        ({"output": "v.csv", "audit_rows": "some"}, "--audit-rows"),
    ],
)
def test_outputs_are_checked_before_any_work(
    feed: tuple[Path, Path], tmp_path: Path, kwargs: dict[str, str], field: str
) -> None:
    labs, pts = feed
    paths = {k: tmp_path / v if k != "audit_rows" else v for k, v in kwargs.items()}
    with pytest.raises(InputError, match=field):
        write_values(labs, kind="long", patients=pts, **paths)  # type: ignore[arg-type]


def test_no_folder_and_nothing_inside_an_input_folder(feed: tuple[Path, Path], tmp_path: Path) -> None:
    """An output that names an existing folder is refused (the folder and its files stay), unless
    Spark wrote it (``_SUCCESS``: an earlier audit trail on Spark); a file inside an input folder (an
    OMOP table) is refused too."""
    labs, pts = feed
    folder = tmp_path / "results.parquet"
    folder.mkdir()
    (folder / "thesis.txt").write_text("precious", encoding="utf-8")
    with pytest.raises(InputError, match="is a folder"):
        write_values(labs, folder, kind="long", patients=pts)
    assert (folder / "thesis.txt").read_text(encoding="utf-8") == "precious"
    omop = tmp_path / "cdm"
    omop.mkdir()
    with pytest.raises(InputError, match="inside an input folder"):
        write_values(omop, omop / "MEASUREMENT.csv", kind="omop")
    (folder / "thesis.txt").unlink()
    (folder / "_SUCCESS").touch()
    write_values(labs, folder, kind="long", patients=pts)  # a Spark folder is replaced by the file
    assert folder.is_file()


def test_outputs_get_ordinary_permissions(feed: tuple[Path, Path], tmp_path: Path) -> None:
    """Temporary files are private (0600); a published output is not: a new one gets 0666 less the
    umask, a replaced one keeps its mode."""
    labs, pts = feed
    new, old = tmp_path / "new.csv", tmp_path / "old.csv"
    old.write_text("x\n", encoding="utf-8")
    old.chmod(0o640)
    mask = os.umask(0o022)
    try:
        write_values(labs, new, kind="long", patients=pts, unit_report=old)
    finally:
        os.umask(mask)
    assert (new.stat().st_mode & 0o777, old.stat().st_mode & 0o777) == (0o644, 0o640)


def test_an_unwritable_folder_is_named_and_leaves_no_temporary(
    feed: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second output's folder refuses the temporary file: the error names that output, and the
    first output's temporary file is gone."""
    labs, pts = feed
    (tmp_path / "ro").mkdir()
    real = tempfile.mkstemp

    def mkstemp(*args: Any, **kw: Any) -> tuple[int, str]:
        if Path(kw["dir"]).name == "ro":
            raise PermissionError(13, "Permission denied")
        return real(*args, **kw)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    with pytest.raises(InputError, match=r"--audit-trail.*cannot write"):
        write_values(labs, tmp_path / "out.csv", kind="long", patients=pts, audit_trail=tmp_path / "ro" / "a.parquet")
    assert not list(tmp_path.glob(".b2m-*")) and not (tmp_path / "out.csv").exists()


def test_parse_window() -> None:
    assert parse_window("-60,30") == (-60, 30) and parse_window(" -7 , 0 ") == (-7, 0)
    for bad in ("-60", "a,b", "1.5,3", "30,-60", "", "1_0,20", "\u0663,\u0664", "1e2,3"):
        with pytest.raises(InputError):
            parse_window(bad)


def test_cli(feed: tuple[Path, Path], tmp_path: Path) -> None:
    """Exit 0, files written, counts on stderr and no patient id there; a bad window exits 2 with one
    line naming the option."""
    labs, pts = feed
    base = [sys.executable, "-m", "b2m", "cohort", "values", str(labs), "--patients", str(pts)]
    out, audit = tmp_path / "v.parquet", tmp_path / "audit.parquet"
    args = [*base, "-o", str(out), "--audit-trail", str(audit)]
    ok = subprocess.run(args, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert out.is_file() and audit.is_file()
    assert "3 patients" in ok.stderr and "iss 2" in ok.stderr
    assert not re.search(r"\b[ABC]\b", ok.stderr.replace(str(tmp_path), ""))  # no patient id
    bad = subprocess.run([*base, "-o", str(out), "--window", "30"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "--window" in bad.stderr
