"""The web app in a real browser: Playwright drives Debian's Chromium (``/usr/bin/chromium``, installed by
scripts/setup.sh; no browser is downloaded) against a real ``b2m serve`` on a free loopback port with a fresh
SQLite database. axe-core checks every page (0 serious or critical violations); every page is kept as a
screenshot at desktop and phone size under tests/web/artifacts/ (ignored by git), and a blank or error page fails.

Oracle of the calculator steps: the ISS and R2-ISS tables as in docs/reference/iss.md and r2-iss.md (B2M 4.0 mg/L
alone: ISS II, R2-ISS II-IV possible; with LDH above the ULN and del(17p) present: 1 + 1 + 1 = 3 points, group IV).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from b2m.service.db.engine import migrate
from b2m.service.demo import load_demo
from tests.service.conftest import PASSWORD, build_world
from tests.service.test_server import serve

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.browser


def _need_chromium() -> None:
    if not CHROMIUM.exists():
        why = "Debian's chromium is missing (/usr/bin/chromium; scripts/setup.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    _need_chromium()
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'b2m.sqlite3'}"
    migrate(url)
    world = build_world(url)
    demo = {a.username: a.password for a in load_demo(world.app.state.sessions)}  # patients with whole series
    world.app.state.engine.dispose()
    with serve(url, 1) as (base, _, _log):
        yield {"base": base, "own": world.own, "other": world.other, "demo": demo}


@pytest.fixture(scope="module")
def browser(server: dict[str, Any]) -> Iterator[Any]:
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


def _login(browser: Any, base: str, who: str, password: str = PASSWORD, timezone: str | None = None) -> Any:
    context = browser.new_context(viewport=DESKTOP, locale="en-GB", timezone_id=timezone)
    page = context.new_page()
    page.goto(base + "/")
    assert page.locator("h1").inner_text() == "Log in to b2m"
    page.get_by_label("User name").fill(who)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("networkidle")
    return page


def _check(page: Any, name: str) -> None:
    """Not blank, not an error page, 0 serious or critical axe violations; screenshots at both sizes."""
    from axe_playwright_python.sync_playwright import Axe

    page.wait_for_load_state("networkidle")
    text = page.locator("main").inner_text().strip()
    assert len(text) > 40, f"{name}: blank page"
    assert not page.locator("h1", has_text=re.compile("Something went wrong|Not allowed|Not found")).count(), name
    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert bad == [], f"{name}: " + "; ".join(f"{v['id']}: {v['help']} ({len(v['nodes'])})" for v in bad)
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(ARTIFACTS / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(500)  # the charts follow a resize after a short debounce (app.js)
    page.screenshot(path=str(ARTIFACTS / f"{name}-phone.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.locator("main *, header *").evaluate_all(
        "(els) => els.filter((e) => !e.closest('.table-wrap table')"
        " && e.getBoundingClientRect().right > window.innerWidth + 2)"
        ".slice(0, 5).map((e) => e.tagName + '.' + e.className + '#' + e.id)"
    )
    assert width <= PHONE["width"] + 2, f"{name}: wider than a phone ({width} px): {wide}"
    page.set_viewport_size(DESKTOP)


def _possible(page: Any) -> set[str]:
    page.wait_for_load_state("networkidle")
    stage = page.get_by_test_id("stage").inner_text()
    m = re.search(r"—\s*(.+?)\s+possible", stage)
    if m:
        return set(m[1].split(", "))
    m = re.search(r"stage\s+(\S+)$", stage)
    assert m, stage
    return {m[1]}


def test_clinician_flow(server: dict[str, Any], browser: Any) -> None:
    from playwright.sync_api import expect

    base = server["base"]
    page = _login(browser, base, "clinician")
    assert page.url.endswith("/patients")
    _check(page, "patients")
    # A calculator, value by value: the stages still possible narrow as htmx swaps the result in.
    page.goto(base + "/calculators")
    _check(page, "calculators")
    page.goto(base + "/calculators/r2_iss")
    assert _possible(page) == {"I", "II", "III", "IV"}
    page.locator("#f-labs-b2m-value").fill("4.0")
    expect(page.get_by_test_id("stage")).to_contain_text(re.compile(r"— II, III, IV possible"), timeout=10_000)
    assert _possible(page) == {"II", "III", "IV"}
    page.locator("#f-labs-ldh-value").fill("300")
    page.locator("#f-labs-ldh-upper").fill("250")
    page.locator("#f-cytogenetics-del17p").select_option("true")
    expect(page.get_by_test_id("stage")).to_contain_text(re.compile(r"stage IV$"), timeout=10_000)
    assert _possible(page) == {"IV"}
    assert "r2_iss?" in page.url  # the address keeps the form (works without JavaScript too)
    _check(page, "calculator-r2-iss")
    # A patient: add a result, see the timeline's table and the record's version change.
    page.goto(f"{base}/patients/{server['own']}")
    _check(page, "patient-page")
    version = re.search(r"Record version (\d+)", page.content())
    page.locator("#r-analyte").select_option("b2m")
    page.locator("#r-date").fill("2024-06-01")
    page.locator("#r-value").fill("3.9")
    page.locator("#r-unit").fill("mg/L")
    page.get_by_role("button", name="Add the result").click()
    page.wait_for_load_state("networkidle")
    assert "1 result stored." in page.content()
    assert version and f"Record version {int(version[1]) + 1}" in page.content()
    page.locator("details.values summary").first.click()
    assert "3.9 mg/L" in page.locator("details.values").first.inner_text()
    assert page.locator("canvas").count() >= 1  # uPlot drew the timeline
    # A CSV with one bad row: the row is named, nothing stored.
    csv = "analyte,date,value,unit\nb2m,2024-07-01,4.1,mg/L\nb2m,2024-08-01,lots,mg/L\n"
    upload = {"name": "labs.csv", "mimeType": "text/csv", "buffer": csv.encode()}
    page.locator("#u-file").set_input_files(files=[upload])
    page.get_by_role("button", name="Upload").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_test_id("row-error-3").count() == 1
    assert page.get_by_test_id("row-error-2").count() == 0
    _check(page, "patient-upload-refused")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "Log in to b2m"
    page.context.close()


def test_the_charts_of_a_timeline_share_one_time_axis(server: dict[str, Any], browser: Any) -> None:
    """B2M with eGFR, M-protein, free light chains and responses are drawn on one time axis: their plot areas start
    and end at the same place at desktop and phone size (a new user saw the FLC chart's dates shifted: it had no
    right-hand axis, so its plot area was wider)."""
    base = server["base"]
    # A browser east of UTC: a tick at local midnight on the 1st is the last day of the month before in UTC, the
    # time zone the dates are written in, so its label named the month before (every label a month late).
    page = _login(browser, base, "demo-clinician", server["demo"]["demo-clinician"], timezone="Europe/Berlin")
    page.get_by_role("link", name="EX2-progressor").first.click()
    page.wait_for_selector(".timeline[data-ready='1']")
    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        page.wait_for_timeout(500)  # app.js redraws after a resize's debounce
        charts = page.locator(".timeline [data-chart]").evaluate_all(
            "(els) => els.map((e) => { const o = e.querySelector('.u-over'); if (!o) return [e.dataset.chart, null];"
            " const r = o.getBoundingClientRect();"
            " return [e.dataset.chart, Math.round(r.left), Math.round(r.width)]; })"
        )
        names = [c[0] for c in charts]
        assert {"b2m", "mprotein", "flc", "response"} <= set(names), charts
        assert all(c[1] is not None for c in charts), charts  # every chart drawn
        assert len({(c[1], c[2]) for c in charts}) == 1, (size, charts)
        # Every time tick is the first of a month in UTC, as the dates are: a month's label sits where it starts.
        ticks = page.locator(".timeline [data-chart]").evaluate_all(
            "(els) => els.flatMap((e) => (e.b2mChart.axes[0]._splits || [])"
            ".map((t) => new Date(t * 1000).toISOString()))"
        )
        assert ticks and all(t.endswith("-01T00:00:00.000Z") for t in ticks), ticks
    # On a phone the list and the response table are a card per row: no column cut off at the screen's edge.
    for path in ("/patients", page.url):
        page.goto(path if path.startswith("http") else base + path)
        page.wait_for_load_state("networkidle")
        outside = page.locator("table.stack td, table.stack th[scope='row']").evaluate_all(
            "(els) => els.filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1).length"
        )
        assert page.locator("table.stack td").count() > 0 and outside == 0, path
    page.context.close()


def test_patient_sees_only_their_own_page(server: dict[str, Any], browser: Any) -> None:
    base = server["base"]
    page = _login(browser, base, "patient")
    assert page.url.endswith("/my")
    _check(page, "my")
    assert "SITE-B" not in page.content()
    r = page.goto(f"{base}/patients/{server['other']}")
    assert r is not None and r.status in (403, 404)
    r = page.goto(f"{base}/api/v1/patients/{server['other']}")
    assert r is not None and r.status == 404
    r = page.goto(f"{base}/api/v1/patients/{server['own']}/report?audience=patient&format=html")
    assert r is not None and r.status == 200
    page.goto(base + "/my")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state("networkidle")
    assert page.goto(base + "/my").status == 401  # type: ignore[union-attr]
    page.context.close()


@pytest.mark.parametrize(("who", "paths"), [("lab", ["/lab"]), ("admin", ["/admin", "/admin/audit"])])
def test_lab_and_admin_pages(server: dict[str, Any], browser: Any, who: str, paths: list[str]) -> None:
    page = _login(browser, server["base"], who)
    for path in paths:
        page.goto(server["base"] + path)
        _check(page, who + path.replace("/", "-"))
    page.context.close()


def test_a_lab_reads_a_b2m_result_as_it_types(server: dict[str, Any], browser: Any) -> None:
    """The reading page updates as values are typed (htmx), passes axe, and says kidney function is unknown until a
    creatinine is entered (4.2 mg/L over the lab's upper limit 2.2: 1.91x; CKD-EPI 2021 for creatinine 1.4 mg/dL in
    a 60-year-old man: 57.5, kidney.epi's example)."""
    from playwright.sync_api import expect

    page = _login(browser, server["base"], "lab")
    page.goto(server["base"] + "/calculators/b2m-reading")
    page.locator("#f-labs-b2m-value").fill("4.2")
    page.locator("#f-labs-b2m-upper").fill("2.2")
    panel = page.locator("#result")
    expect(panel).to_contain_text("1.91× the upper limit", timeout=10_000)
    expect(panel).to_contain_text("unknown: enter creatinine or cystatin C")
    page.locator("#f-age").fill("60")
    page.locator("#f-sex").select_option("male")
    page.locator("#f-labs-creatinine-value").fill("1.4")
    expect(panel).to_contain_text("eGFR 57.5", timeout=10_000)
    _check(page, "lab-b2m-reading")
    page.context.close()


def test_login_page_is_accessible(server: dict[str, Any], browser: Any) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(server["base"] + "/login")
    _check(page, "login")
    context.close()


def teardown_module() -> None:
    shutil.rmtree(ARTIFACTS / "tmp", ignore_errors=True)
