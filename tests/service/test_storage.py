"""Storage round trips on SQLite and PostgreSQL: results kept as received beside canonical values, never rewritten
(corrections are new versions), the series rules of ``b2m monitor`` applied to stored histories, concurrent
writers serialised, migrations up from empty and down.

Oracles: the unit conversions are the README's published factors (creatinine µmol/L ÷ 88.4 = mg/dL; B2M nmol/L
x 0.0118 = mg/L, MW 11,800 Da); the refusal texts are the command line's (tests/test_monitor_cli.py asserts the
same rules on files); the concurrency rule is issue 11's ("both succeed or one gets a clean 409").
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from b2m.service.db.engine import downgrade, make_engine, migrate
from b2m.service.db.models import AuditEvent, Base, Result
from b2m.service.schemas import Timeline
from tests.service.conftest import World


def post(world: World, results: list[dict[str, Any]], who: str = "clinician", pid: int | None = None) -> Any:
    return world.client.post(
        f"/api/v1/patients/{pid or world.own}/results", headers=world.auth(who), json={"results": results}
    )


def test_results_round_trip_as_received_and_canonical(world: World) -> None:
    r = post(
        world,
        [
            {"analyte": "creatinine", "date": "2026-01-10", "value": 176.8, "unit": "µmol/L", "upper_limit": 97},
            {"analyte": "b2m", "date": "2026-01-10", "value": "<0.5", "unit": "mg/L", "method": "nephelometry"},
            {"analyte": "b2m", "date": "2026-02-10", "value": 340, "unit": "nmol/L", "loinc": "1952-1"},
            {"analyte": "immunofixation_serum", "date": "2026-02-10", "value": "positive"},
            {"analyte": "therapy_line", "date": "2026-01-15", "value": 1, "method": "VRd"},
        ],
    )
    assert r.status_code == 201, r.text
    got = world.client.get(f"/api/v1/patients/{world.own}/results", headers=world.auth("clinician")).json()
    Timeline.model_validate(got)  # the documented response model (the route writes its JSON directly)
    history = world.client.get(f"/api/v1/patients/{world.own}/results?history=true", headers=world.auth("clinician"))
    Timeline.model_validate(history.json())
    by = {(x["analyte"], x["date"]): x for x in got["results"]}
    creat = by[("creatinine", "2026-01-10")]
    assert creat["received"] == {"value": 176.8, "unit": "µmol/L", "upper_limit": 97}
    assert creat["canonical"]["value"] == pytest.approx(2.0)  # 176.8 / 88.4
    assert creat["canonical"]["unit"] == "mg/dL"
    assert creat["canonical"]["upper_limit"] == pytest.approx(97 / 88.4, rel=1e-3)
    low = by[("b2m", "2026-01-10")]
    assert low["received"] == {"value": "<0.5", "unit": "mg/L", "method": "nephelometry"}
    assert (low["canonical"]["censoring"], low["canonical"]["value"]) == ("<", 0.5)
    nmol = by[("b2m", "2026-02-10")]
    assert nmol["received"]["value"] == 340 and nmol["received"]["unit"] == "nmol/L"
    assert nmol["canonical"]["value"] == pytest.approx(4.012)  # 340 nmol/L x 11,800 g/mol = 4.012 mg/L
    assert by[("immunofixation_serum", "2026-02-10")]["canonical"] is None
    assert by[("therapy_line", "2026-01-15")]["received"] == {"value": 1, "method": "VRd"}
    assert [x["date"] for x in got["results"]] == sorted(x["date"] for x in got["results"])


def test_conflicts_and_duplicates_refused(world: World) -> None:
    first = {"analyte": "b2m", "date": "2026-01-10", "value": 4.2, "unit": "mg/L"}
    assert post(world, [first]).status_code == 201
    again = post(world, [first])
    assert again.status_code == 409 and again.json()["type"] == "urn:b2m:problem:duplicate"
    other = post(world, [{**first, "value": 4.3}])
    assert other.status_code == 409
    body = other.json()
    assert body["field"] == "results[0].date"
    assert "two different results on 2026-01-10 (4.2 mg/L and 4.3 mg/L)" in body["detail"]
    assert "corrections" in body["accepted"]
    # Inside one request: the command line's refusal (422), and nothing of the request is stored.
    pair = post(
        world,
        [
            {"analyte": "ldh", "date": "2026-03-01", "value": 200, "unit": "U/L"},
            {"analyte": "ldh", "date": "2026-03-01", "value": 250, "unit": "U/L"},
        ],
    )
    assert pair.status_code == 422
    assert pair.json()["problem"].startswith("two different results on 2026-03-01")
    got = world.client.get(f"/api/v1/patients/{world.own}/results", headers=world.auth("clinician")).json()
    assert [x["analyte"] for x in got["results"]] == ["b2m"]


def test_whole_batch_or_nothing(world: World) -> None:
    bad = post(
        world,
        [
            {"analyte": "albumin", "date": "2026-01-10", "value": 35, "unit": "g/L"},
            {"analyte": "b2m", "date": "2026-01-10", "value": 4200, "unit": "mg/L"},
        ],
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "results[1].value"
    assert bad.json()["hint"].startswith("looks like µg/L")
    got = world.client.get(f"/api/v1/patients/{world.own}/results", headers=world.auth("clinician")).json()
    assert got["results"] == []


def test_therapy_lines_checked_as_a_whole_document(world: World) -> None:
    assert post(world, [{"analyte": "therapy_line", "date": "2026-01-15", "value": 1}]).status_code == 201
    clash = post(world, [{"analyte": "therapy_line", "date": "2026-03-15", "value": 1}])
    assert clash.status_code == 409 and "line 1 is given twice" in clash.json()["detail"]
    order = post(world, [{"analyte": "therapy_line", "date": "2025-06-01", "value": 2}])
    assert order.status_code == 422
    assert order.json()["problem"] == "line numbers do not follow the start dates"


def test_correction_is_a_new_version(world: World) -> None:
    r = post(world, [{"analyte": "b2m", "date": "2026-01-10", "value": 42, "unit": "mg/L"}]).json()
    rid = r["results"][0]["id"]
    fix = world.client.post(
        f"/api/v1/patients/{world.own}/results/{rid}/corrections",
        headers=world.auth("clinician"),
        json={"analyte": "b2m", "date": "2026-01-10", "value": 4.2, "unit": "mg/L"},
    )
    assert fix.status_code == 201, fix.text
    new = fix.json()["results"][0]
    assert new["supersedes"] == rid
    current = world.client.get(f"/api/v1/patients/{world.own}/results", headers=world.auth("clinician")).json()
    assert [(x["id"], x["received"]["value"]) for x in current["results"]] == [(new["id"], 4.2)]
    history = world.client.get(
        f"/api/v1/patients/{world.own}/results?history=true", headers=world.auth("clinician")
    ).json()["results"]
    assert [(x["id"], x["superseded_by"]) for x in history] == [(rid, new["id"]), (new["id"], None)]
    twice = world.client.post(
        f"/api/v1/patients/{world.own}/results/{rid}/corrections",
        headers=world.auth("clinician"),
        json={"analyte": "b2m", "date": "2026-01-10", "value": 4.3, "unit": "mg/L"},
    )
    assert twice.status_code == 409
    gone = world.client.post(
        f"/api/v1/patients/{world.own}/results/{new['id']}/retraction", headers=world.auth("clinician")
    )
    assert gone.status_code == 201 and gone.json()["results"][0]["status"] == "entered_in_error"
    current = world.client.get(f"/api/v1/patients/{world.own}/results", headers=world.auth("clinician")).json()
    assert current["results"] == []


def test_stored_rows_cannot_be_rewritten(world: World) -> None:
    """The database itself refuses UPDATE and DELETE on results and audit events (triggers)."""
    post(world, [{"analyte": "b2m", "date": "2026-01-10", "value": 4.2, "unit": "mg/L"}])
    engine = world.app.state.engine
    for table in (Result.__tablename__, AuditEvent.__tablename__):
        for statement in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(statement))
        with engine.connect() as conn:
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() > 0


def test_views_recomputed_from_stored_results(world: World) -> None:
    """A patient registered with a bundled example document, its series stored as rows and read back, gives the
    same monitor output as ``b2m monitor`` on the document itself (an equivalence, not a reference test), and
    the assessment at diagnosis stages B2M 4.1 mg/L, albumin 3.6 g/dL as ISS II (Greipp 2005, JCO 23:3412:
    stage I needs B2M < 3.5 mg/L)."""
    import json
    from importlib import resources

    from b2m.io.series import parse_patient_series
    from b2m.monitor.monitor import monitor_patient

    docs = json.loads(resources.files("b2m").joinpath("data/example_series.json").read_text(encoding="utf-8"))
    doc = next(d for d in docs if d["id"] == "EX1-responder")
    created = world.client.post(
        "/api/v1/patients",
        headers=world.auth("clinician"),
        json={"site_id": doc["id"], "document": {k: v for k, v in doc.items() if k != "id"}},
    )
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    got = world.client.get(f"/api/v1/patients/{pid}/monitor", headers=world.auth("clinician")).json()
    assert got == json.loads(json.dumps(monitor_patient(parse_patient_series(doc)).to_dict()))
    assessment = world.client.get(f"/api/v1/patients/{pid}/assessment", headers=world.auth("clinician")).json()
    assert assessment["iss"]["stage"] == "II" and assessment["labs_from"] == "document"


def _write_concurrently(world: World, bodies: list[list[dict[str, Any]]]) -> list[int]:
    start = threading.Barrier(len(bodies))
    codes: list[int] = [0] * len(bodies)

    def run(i: int) -> None:
        start.wait()
        codes[i] = post(world, bodies[i]).status_code

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return codes


def test_two_writers_of_one_patient(world: World) -> None:
    """Issue 11: two clients writing the same patient at once both succeed, or one gets a clean 409; no lost
    update."""
    for round_ in range(3):
        day = f"2026-0{round_ + 1}-10"
        codes = _write_concurrently(
            world,
            [
                [{"analyte": "b2m", "date": day, "value": 4.2, "unit": "mg/L"}],
                [{"analyte": "albumin", "date": day, "value": 3.5, "unit": "g/dL"}],
            ],
        )
        assert codes == [201, 201]
        conflicting = _write_concurrently(
            world,
            [
                [{"analyte": "ldh", "date": day, "value": 200, "unit": "U/L"}],
                [{"analyte": "ldh", "date": day, "value": 300, "unit": "U/L"}],
            ],
        )
        assert sorted(conflicting) == [201, 409]
    got = world.client.get(f"/api/v1/patients/{world.own}/results", headers=world.auth("clinician")).json()
    assert len(got["results"]) == 9
    assert got["version"] == 1 + 9  # every stored write bumped the version once


def test_writes_are_audited_with_the_data(world: World) -> None:
    post(world, [{"analyte": "b2m", "date": "2026-01-10", "value": 4.2, "unit": "mg/L"}], who="lab")
    world.client.get(f"/api/v1/patients/{world.other}/results", headers=world.auth("clinician"))
    events = world.client.get("/api/v1/audit", headers=world.auth("admin")).json()["items"]
    write = next(e for e in events if e["access"] == "write")
    assert (write["username"], write["roles"], write["patient_id"], write["outcome"]) == ("lab", "lab", world.own, 201)
    assert write["action"].startswith("POST ") and write["request_id"]
    refused = post(world, [{"analyte": "b2m", "date": "2026-01-11", "value": 4200, "unit": "mg/L"}], who="lab")
    assert refused.status_code == 422
    events = world.client.get("/api/v1/audit", headers=world.auth("admin")).json()["items"]
    why = next(e for e in events if e["outcome"] == 422)
    assert why["detail"] == "invalid-input at results[0].value" and "4200" not in why["detail"]
    denied = [e for e in events if e["outcome"] == 404]
    assert denied and denied[0]["username"] == "clinician"
    assert world.client.get("/api/v1/audit/export", headers=world.auth("admin")).text.count("\n") == len(events)


def test_migrations_up_from_empty_and_down(database_url: str) -> None:
    """The migration creates exactly the models' schema (autogenerate finds nothing to add) and downgrades to
    an empty database."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        downgrade(database_url)
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate(database_url)
        assert {"results", "audit_events", "users"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_cds_migration_down_to_the_first_and_up_again(database_url: str) -> None:
    """Revision 0002 (CDS Hooks token uses and feedback) downgrades to 0001, leaving 0001's tables as they were,
    and upgrades again."""
    engine = make_engine(database_url)
    try:
        before = set(inspect(engine).get_table_names())
        assert {"cds_token_uses", "cds_feedback"} <= before
        downgrade(database_url, "0001")
        assert set(inspect(engine).get_table_names()) == before - {"cds_token_uses", "cds_feedback"}
        migrate(database_url)
        assert set(inspect(engine).get_table_names()) == before
    finally:
        engine.dispose()
