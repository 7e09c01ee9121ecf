"""Outputs survive being killed: `b2m stage` and `b2m cohort values` killed at random moments (SIGKILL
and SIGTERM, 20 times each) leave the previous complete outputs or the new complete ones, never a
part; the outputs of one `cohort values` run appear together or not at all; no temporary of a dead
run survives the next run (b2m.io.publish)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from b2m.io.publish import PREFIX, Outputs, roll_forward, sweep

KILLS = 20
HEADER = "patient_id,b2m_mg_l,albumin_g_dl,ldh_u_l,ldh_uln_u_l,del17p,t4_14,t14_16,gain1q"


def _stage_input(path: Path, rows: int) -> None:
    path.write_text(HEADER + "\n" + "".join(f"P{i},2.0,4.0,200,250,false,,no,1\n" for i in range(rows)))


def _cohort(folder: Path, patients: int) -> tuple[Path, Path]:
    """``patients`` patients with two lab rows each (B2M and albumin on the index date)."""
    ids = [f"P{i}" for i in range(patients)]
    labs = pl.DataFrame(
        {
            "patient_id": [p for p in ids for _ in range(2)],
            "analyte": ["b2m", "albumin"] * patients,
            "value": ["2.5", "4.1"] * patients,
            "unit": ["mg/L", "g/dL"] * patients,
            "date": ["2020-03-01"] * (2 * patients),
        }
    )
    labs.write_csv(folder / f"labs{patients}.csv")
    pl.DataFrame({"patient_id": ids, "index_date": ["2020-03-01"] * patients}).write_csv(folder / f"pts{patients}.csv")
    return folder / f"labs{patients}.csv", folder / f"pts{patients}.csv"


def _b2m(*args: str) -> list[str]:
    return [sys.executable, "-m", "b2m", *args]


def _kill_at_random(cmd: list[str], sig: int, seconds: float, rng: random.Random) -> None:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(rng.uniform(0, seconds))
    proc.send_signal(sig)
    proc.wait(timeout=120)


def _timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def _left(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(PREFIX))


def _csv_rows(path: Path) -> int:
    """Rows of a complete CSV output (a cut file fails here: its last line is cut or its columns are)."""
    text = path.read_text()
    assert text.endswith("\n"), "cut file"
    return pl.read_csv(path, infer_schema=False).height


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_stage_killed_at_random_leaves_a_complete_output(sig: int, tmp_path: Path) -> None:
    old, new = tmp_path / "old.csv", tmp_path / "new.csv"
    _stage_input(old, 3_000)
    _stage_input(new, 60_000)
    out = tmp_path / "out.csv"
    subprocess.run(_b2m("stage", str(old), "-o", str(out)), check=True, capture_output=True)
    seconds = _timed(_b2m("stage", str(new), "-o", str(tmp_path / "probe.csv")))
    (tmp_path / "probe.csv").unlink()
    rng = random.Random(sig)
    for _ in range(KILLS):
        _kill_at_random(_b2m("stage", str(new), "-o", str(out)), sig, seconds * 1.2, rng)
        assert _csv_rows(out) in (3_000, 60_000)
        sweep(tmp_path)  # what the next run in the folder does first
        assert _left(tmp_path) == []
    _kill_at_random(_b2m("stage", str(new), "-o", str(out)), sig, seconds / 2, rng)
    subprocess.run(_b2m("stage", str(old), "-o", str(tmp_path / "next.csv")), check=True, capture_output=True)
    assert _left(tmp_path) == []  # a real next run removed what the killed one left


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_cohort_values_killed_at_random_leaves_one_run_s_outputs(sig: int, tmp_path: Path) -> None:
    """The table (one row per patient), the audit trail (one row per lab row) and the unit report (rows
    counted per unit) must come from one run: 3 patients (6 lab rows) or 40 (80), never mixed. The
    audit trail is in a folder of its own, so the journal spans two folders."""
    small, large = _cohort(tmp_path, 3), _cohort(tmp_path, 40)
    (tmp_path / "audit").mkdir()
    out, audit, units = tmp_path / "v.csv", tmp_path / "audit" / "a.parquet", tmp_path / "u.csv"

    def cmd(feed: tuple[Path, Path]) -> list[str]:
        labs, pts = feed
        return _b2m(
            "cohort", "values", str(labs), "--patients", str(pts), "-o", str(out), "--audit-trail", str(audit),
            "--unit-report", str(units),
        )  # fmt: skip

    subprocess.run(cmd(small), check=True, capture_output=True)
    seconds = _timed(cmd(large))
    subprocess.run(cmd(small), check=True, capture_output=True)
    rng = random.Random(100 + sig)
    seen = set()
    for _ in range(KILLS):
        _kill_at_random(cmd(large), sig, seconds * 1.2, rng)
        for folder in (tmp_path, tmp_path / "audit"):
            sweep(folder)  # what the next run does first
        state = (_csv_rows(out), pl.read_parquet(audit).height, int(pl.read_csv(units)["rows"].sum()))
        assert state in ((3, 6, 6), (40, 80, 80)), state
        seen.add(state)
        assert _left(tmp_path) == [] and _left(tmp_path / "audit") == []
        if state[0] == 40:  # the killed run's set was complete and published: back to the small one
            subprocess.run(cmd(small), check=True, capture_output=True)
    assert seen  # (which states were hit depends on the machine's speed)


def test_a_committed_journal_is_rolled_forward_by_the_next_run(tmp_path: Path) -> None:
    """A run killed after its journal was committed (simulated: lock released, journal and temporaries
    on disk, one target already renamed): the next run's sweep completes the publish."""
    a, b = tmp_path / "a.csv", tmp_path / "sub" / "b.csv"
    b.parent.mkdir()
    a.write_text("old a\n")
    b.write_text("old b\n")
    run = "999dead"
    ta, tb = tmp_path / f"{PREFIX}{run}-1.csv", b.parent / f"{PREFIX}{run}-2.csv"
    ta.write_text("new a\n")
    tb.write_text("new b\n")
    journal = tmp_path / f"{PREFIX}{run}.journal"
    journal.write_text(json.dumps({"version": 1, "run": run, "pairs": [[str(ta), str(a)], [str(tb), str(b)]]}))
    for folder in (tmp_path, b.parent):  # dead run: its lock files exist, nobody holds them
        (folder / f"{PREFIX}{run}.lock").write_text(json.dumps({"journal": str(journal)}))
    ta.replace(a)  # killed between the two renames
    sweep(b.parent)
    assert (a.read_text(), b.read_text()) == ("new a\n", "new b\n")
    assert _left(b.parent) == [] and not journal.exists()
    sweep(tmp_path)
    assert _left(tmp_path) == []


def test_temporaries_of_a_dead_run_without_journal_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("previous\n")
    run = "12345abc"
    (tmp_path / f"{PREFIX}{run}.lock").write_text(json.dumps({"journal": str(tmp_path / f"{PREFIX}{run}.journal")}))
    (tmp_path / f"{PREFIX}{run}-x.csv").write_text("half")
    with Outputs({"output": target}) as outputs:  # a new run sweeps first
        assert _left(tmp_path) == [f"{PREFIX}{outputs.run}.lock"]
    assert target.read_text() == "previous\n" and _left(tmp_path) == []


def test_a_live_run_s_temporaries_are_left_alone(tmp_path: Path) -> None:
    with Outputs({"output": tmp_path / "a.csv"}) as first:
        tmp = first.temporary("output")
        with Outputs({"output": tmp_path / "b.csv"}):
            assert tmp.exists()  # the first run holds its lock: not swept
        tmp.write_text("done\n")
        first.publish()
    assert (tmp_path / "a.csv").read_text() == "done\n" and _left(tmp_path) == []


def test_roll_forward_is_idempotent(tmp_path: Path) -> None:
    tmp, target = tmp_path / f"{PREFIX}r-1.csv", tmp_path / "t.csv"
    tmp.write_text("new\n")
    journal = tmp_path / f"{PREFIX}r.journal"
    doc = json.dumps({"version": 1, "run": "r", "pairs": [[str(tmp), str(target)]]})
    journal.write_text(doc)
    roll_forward(journal)
    journal.write_text(doc)  # interrupted after the rename, before the journal was removed
    roll_forward(journal)
    assert target.read_text() == "new\n" and not journal.exists()


def test_outputs_get_the_umask_s_permissions(tmp_path: Path) -> None:
    mask = os.umask(0o027)
    try:
        with Outputs({"output": tmp_path / "x.csv"}) as outputs:
            outputs.temporary("output").write_text("x\n")
            outputs.publish()
    finally:
        os.umask(mask)
    assert (tmp_path / "x.csv").stat().st_mode & 0o777 == 0o640
