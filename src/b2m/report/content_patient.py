"""Plain-language text of the patient report (target reading grade 8 or below).

Every sentence the patient reads is built here, from the monitor's output (``b2m monitor --format
json``, docs/monitor-contract.md) and the charted series; the template only lays it out. The
sentences are short and use everyday words; the grade is measured with textstat over exactly the
text the report shows (:mod:`b2m.report.readability`, ``scripts/reading_grade.py``).

What this text never does: give advice about treatment. It explains what the values are, how they
moved, what a raised B2M can and cannot mean (b2m reference LAB-4), and what to ask the care team.
Sentences that come from elsewhere (the monitor's alerts, the engine's flags) are shown only if
they pass :func:`treatment_words`; otherwise a neutral sentence of our own stands in their place.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from b2m.interpret.flags import EGFR_REDUCED_BELOW_ML_MIN_1_73M2, EGFR_SEVERELY_REDUCED_BELOW_ML_MIN_1_73M2
from b2m.report.charts import Point, SeriesSet

# ---------------------------------------------------------------------------------------------
# Words that would turn a report into advice. The patient report must contain none of them; the
# guard below applies them to text from other modules, and a test applies them to the whole report.
# ---------------------------------------------------------------------------------------------

TREATMENT_PATTERNS: tuple[str, ...] = (
    r"\btreat\w*",
    r"\bdos(?:e|es|ed|ing|age|ages)\b",
    r"\bstop(?:s|ped|ping)? taking\b",
    r"\bincreas\w*",
    r"\bdecreas\w*",
    r"\bstart\w*",
    r"\bchemo\w*",
    r"\brecommend\w*",
    r"\bprescri\w*",
    r"\btherap\w*",
    r"\bregimen\w*",
    r"\btransplant(?:ation)? (?:is|would be) (?:needed|advised)\b",
    r"\byou should (?:take|stop|switch|change)\b",
    r"\bswitch(?:ing)? (?:to|your)\b",
)
_TREATMENT_RE = re.compile("|".join(TREATMENT_PATTERNS), re.IGNORECASE)


def treatment_words(text: str) -> list[str]:
    """The treatment-advice words found in ``text`` (empty when the text is safe to show)."""
    return [m.group(0) for m in _TREATMENT_RE.finditer(text)]


def _safe(text: str | None, fallback: str) -> str:
    return text if text and not treatment_words(text) else fallback


# ---------------------------------------------------------------------------------------------
# Fixed text
# ---------------------------------------------------------------------------------------------

NOT_A_DIAGNOSIS: tuple[str, ...] = (
    "This report is not a diagnosis.",
    "A computer program made it from your lab results.",
    "It does not give advice about your care or your medicines.",
    "Only your care team can say what your results mean for you, because they know your whole health.",
    "Please do not change anything you do because of this report. Talk with your care team first.",
)

WHAT_B2M_IS: tuple[str, ...] = (
    "B2M is short for beta-2 microglobulin. It is a small protein in the blood.",
    "Most cells in the body make it, and the kidneys clear it from the blood.",
    "In myeloma, B2M is often higher when there is more myeloma in the body.",
    "That is why doctors use it, with other tests, to judge the stage of the myeloma when it is first found.",
)

WHAT_IT_CAN_MEAN: tuple[str, ...] = (
    "A high B2M can mean there is more myeloma in the body.",
    "A B2M that goes down over time often goes with less myeloma.",
    "A B2M that goes up over time can be one sign that the myeloma is more active.",
)

# Non-myeloma causes of a raised serum B2M (b2m reference LAB-4), in everyday words.
OTHER_CAUSES: tuple[str, ...] = (
    "Kidneys that do not clean the blood as well as usual.",
    "Infections, mostly with viruses. Examples are HIV, the virus that causes glandular fever (mono), and CMV.",
    "Long-term swelling in the body, called inflammation. It can come with illnesses such as rheumatoid "
    "arthritis, lupus, Sjögren disease or Crohn disease.",
    "Liver disease.",
    "Other blood cancers, such as lymphoma or CLL.",
    "Some other kinds of cancer.",
    "A kidney from a donor. After a kidney transplant, a rise in B2M can be an early sign of trouble "
    "with the new kidney.",
    "Some medicines, such as cyclosporine and lithium.",
)

WHAT_IT_CANNOT_MEAN: tuple[str, ...] = (
    "One B2M result cannot show on its own if the myeloma is growing or shrinking.",
    "A high B2M does not prove that the myeloma is getting worse. Your kidneys or an infection may be the reason.",
    "B2M cannot tell how long a person will live or how well they will do.",
    "Results from two labs, or from two test methods, may not match. A small change can come from the test itself.",
)

QUESTIONS: tuple[str, ...] = (
    "What do my latest results mean for me?",
    "Is my B2M high because of the myeloma, my kidneys, an infection or something else?",
    "How well are my kidneys working? Has this changed?",
    "Which test do you use to follow my myeloma, and how is it doing?",
    "Are my results confirmed by a second test, or do we need to wait for the next one?",
    "How often will my blood and urine be tested?",
    "Were my tests done in the same lab, with the same method?",
    "When will we next talk about my results?",
    "Who do I call if I feel unwell or notice something new?",
)


@dataclass(frozen=True, slots=True)
class Organisation:
    name: str
    about: str
    website: str


# Named without phone numbers: numbers change and differ by country; the websites list them.
SUPPORT_ORGANISATIONS: tuple[Organisation, ...] = (
    Organisation(
        "International Myeloma Foundation",
        "Gives clear facts about myeloma and runs a help line for patients and families around the world.",
        "myeloma.org",
    ),
    Organisation(
        "Myeloma UK",
        "Gives facts, a help line and support groups for people with myeloma in the UK.",
        "myeloma.org.uk",
    ),
    Organisation(
        "Blood Cancer UK",
        "Gives facts and support to anyone in the UK who is affected by blood cancer.",
        "bloodcancer.org.uk",
    ),
    Organisation(
        "Leukemia & Lymphoma Society",
        "Gives facts and support to people with blood cancers, including myeloma, in the United States.",
        "lls.org",
    ),
)
SUPPORT_CLOSING = "Your care team can also tell you about support groups near you."

# IMWG 2016 categories (b2m reference RESP-4) in everyday words. The formal name follows in brackets
# so the patient can match it to what the care team says.
CATEGORY_WORDS: Mapping[str, str] = {
    "sCR": "no sign of myeloma was found in the blood, urine or bone marrow, even with the most detailed "
    "tests (stringent complete response)",
    "CR": "no sign of myeloma was found in the blood and urine, and the bone marrow had very few myeloma "
    "cells (complete response)",
    "VGPR": "the myeloma marker went down by at least 90 out of 100 parts (very good partial response)",
    "PR": "the myeloma marker went down by at least half (partial response)",
    "MR": "the myeloma marker went down by a quarter to a half (minimal response)",
    "SD": "the myeloma marker did not change much (stable disease)",
    "PD": "the myeloma marker went up enough that the myeloma may be growing again (progressive disease)",
    "not_evaluable": "there were not enough test results to tell",
}

MARKER_WORDS: Mapping[str, str] = {
    "serum_m_protein": "the M-protein in your blood",
    "urine_m_protein": "the M-protein in your urine",
    "flc": "the free light chains in your blood",
    "marrow": "the share of myeloma cells in your bone marrow",
}

MARKER_INTRO: Mapping[str, str] = {
    "serum_m_protein": "The M-protein is the protein that myeloma cells make. Its level in the blood shows "
    "how much myeloma there is.",
    "urine_m_protein": "The M-protein is the protein that myeloma cells make. Some of it passes into the "
    "urine, and its level there shows how much myeloma there is.",
    "flc": "Free light chains are small pieces of protein that myeloma cells make. Their level in the "
    "blood shows how much myeloma there is.",
    "marrow": "The bone marrow is where myeloma cells grow. The share of myeloma cells there shows how "
    "much myeloma there is.",
}

# Patient sentences for alert codes of the monitor contract, used when the monitor's own sentence is
# missing or fails the treatment-word guard.
ALERT_FALLBACK: Mapping[str, str] = {
    "confirmed_progression": "Two tests in a row suggest that the myeloma may be growing again. Your care "
    "team will talk with you about this.",
    "relapse_from_cr": "Two tests in a row suggest that the myeloma may have come back after a complete "
    "response. Your care team will talk with you about this.",
    "b2m_rising_from_nadir": "Your B2M has gone up since its lowest point. This can have several causes.",
    "unit_or_method_change": "The lab changed how it measures one of your tests, so the numbers before and "
    "after may not match.",
    "monitoring_gap": "There was a long time between two of your tests.",
}
ALERT_GENERIC = "Your care team has a note about your results to look at with you."
FLAG_GENERIC = "Something in your health details may change B2M. Your care team can tell you more."

PROGRESSION_CONFIRMED = (
    "On {date}, two tests in a row showed that the myeloma was growing again. Your care team can tell you "
    "what this means for you."
)
PROGRESSION_UNCONFIRMED = (
    "On {date}, one test suggested that the myeloma may be growing again. This needs a second test to be "
    "sure, so it is not yet confirmed."
)
RELAPSE_CONFIRMED = (
    "On {date}, two tests in a row showed that the myeloma had come back after a complete response. Your care "
    "team can tell you what this means for you."
)
RELAPSE_UNCONFIRMED = (
    "On {date}, one test suggested that the myeloma may have come back after a complete response. This needs "
    "a second test to be sure, so it is not yet confirmed."
)
# An alert the response section already says in its own words (the confirmed events).
SAID_IN_RESPONSE_SECTION = frozenset({"confirmed_progression", "relapse_from_cr"})


# ---------------------------------------------------------------------------------------------
# Built content
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Section:
    """One part of the patient report: a title, paragraphs, a list and the charts that go with it."""

    key: str
    title: str
    paragraphs: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    charts: tuple[str, ...] = ()  # chart keys, drawn after the paragraphs


@dataclass(frozen=True, slots=True)
class PatientContent:
    sections: tuple[Section, ...]
    organisations: tuple[Organisation, ...] = SUPPORT_ORGANISATIONS
    not_a_diagnosis: tuple[str, ...] = NOT_A_DIAGNOSIS
    support_closing: str = SUPPORT_CLOSING

    def prose(self) -> str:
        """Every sentence of the report's text, one paragraph a line (what the reading grade is of)."""
        parts: list[str] = [*self.not_a_diagnosis]
        for s in self.sections:
            parts += [*s.paragraphs, *s.items]
        parts += [f"{o.name}. {o.about}" for o in self.organisations]
        parts.append(self.support_closing)
        return "\n".join(parts)


def long_date(d: dt.date | str) -> str:
    """``5 December 2025`` (day month year: read the same way in every English-speaking country)."""
    if isinstance(d, str):
        d = dt.date.fromisoformat(d)
    return f"{d.day} {d:%B %Y}"


def _num(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 100 else f"{x:.0f}"


def _whole(x: float) -> int:
    """Rounded half away from zero, as people round (54.5 -> 55), not to even."""
    return int(abs(x) + 0.5) * (1 if x >= 0 else -1)


def _value(p: Point, unit: str) -> str:
    if p.censored is not None:
        words = {"<": "less than", "<=": "at most", ">": "more than", ">=": "at least"}
        m = re.fullmatch(r"(<=|>=|<|>)(.*)", p.censored)
        if m:
            return f"{words[m.group(1)]} {m.group(2)} {unit}"
    return f"{_num(p.value)} {unit}"


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _percent_change(change: object, since: str) -> str | None:
    if not _is_number(change):
        return None
    assert isinstance(change, int | float)
    if _whole(change) == 0:
        return f"Your latest result is about the same as {since}."
    way = "higher" if change > 0 else "lower"
    return f"Your latest result is {abs(_whole(change))}% {way} than {since}."


class _Paras:
    """Sentences gathered into paragraphs (a paragraph is a few sentences on one point)."""

    def __init__(self) -> None:
        self._paras: list[list[str]] = [[]]

    def add(self, *sentences: str | None) -> None:
        self._paras[-1] += [s for s in sentences if s]

    def new(self, *sentences: str | None) -> None:
        if self._paras[-1]:
            self._paras.append([])
        self.add(*sentences)

    def done(self) -> tuple[str, ...]:
        return tuple(" ".join(p) for p in self._paras if p)


def _b2m_position(series: SeriesSet, last: Point) -> tuple[str, str] | None:
    """(usual range text, where the last result is) against the lab's latest interval."""
    lo, hi, _ = series.limits.get("b2m", (None, None, None))
    if hi is None or last.censored is not None:
        return None
    rng = f"{_num(lo)} to {_num(hi)} mg/L" if lo is not None else f"up to {_num(hi)} mg/L"
    if last.value > hi:
        return rng, "above"
    if lo is not None and last.value < lo:
        return rng, "below"
    return rng, "inside"


def _reference_point(kinetics: Mapping[str, Any], key: str) -> Point | None:
    """The monitor's baseline or nadir B2M (``kinetics.b2m.baseline`` / ``.nadir``), if it gives one."""
    ref = kinetics.get(key)
    if not isinstance(ref, Mapping) or not _is_number(ref.get("value_mg_l")) or not ref.get("date"):
        return None
    return Point(dt.date.fromisoformat(str(ref["date"])), float(ref["value_mg_l"]))


def _b2m_section(doc: Mapping[str, Any], series: SeriesSet, b2m: Sequence[Point]) -> Section:
    out = _Paras()
    out.add(*WHAT_B2M_IS)
    kinetics = (doc.get("kinetics") or {}).get("b2m") or {}
    if not b2m:
        out.new("There are no B2M results in this report yet.")
        return Section("b2m", "Your B2M results", out.done())
    last = b2m[-1]
    out.new(f"Your latest B2M result was {_value(last, 'mg/L')} on {long_date(last.date)}.")
    pos = _b2m_position(series, last)
    if pos is not None:
        out.add(f"The usual range at your lab is {pos[0]}, so this result is {pos[1]} the usual range.")
    # Changes are the monitor's, against the monitor's own baseline and nadir (never recomputed here).
    baseline = _reference_point(kinetics, "baseline")
    if baseline is not None and baseline.date < last.date:
        out.new(
            f"On {long_date(baseline.date)} your B2M was {_value(baseline, 'mg/L')}.",
            _percent_change(kinetics.get("change_from_baseline_percent"), "that"),
        )
    nadir = _reference_point(kinetics, "nadir")
    if (
        nadir is not None
        and nadir.date < last.date
        and (baseline is None or nadir.date > baseline.date)
        and last.censored is None
        and nadir.value < last.value  # worth saying only when B2M has risen from its lowest point
    ):
        out.add(
            f"Your lowest B2M after that was {_value(nadir, 'mg/L')} on {long_date(nadir.date)}.",
            _percent_change(kinetics.get("change_from_nadir_percent"), "that"),
        )
    renal = kinetics.get("renal_flag")
    if isinstance(renal, Mapping):
        out.new(
            _safe(
                renal.get("patient"),
                "Your kidney test went down while your B2M went up. Part of the rise may come from the kidneys.",
            )
        )
    caption = "The chart shows all your B2M results."
    if pos is not None:
        caption += " The green band is the usual range at your lab."
    out.new(caption)
    return Section("b2m", "Your B2M results", out.done(), charts=("b2m",))


def _marker_section(doc: Mapping[str, Any], series: SeriesSet) -> Section:
    md = doc.get("measurable_disease") or {}
    marker = md.get("marker") if isinstance(md.get("marker"), str) else None
    out = _Paras()
    charts: list[str] = []
    if marker is not None and marker in MARKER_INTRO:
        out.add(MARKER_INTRO[marker], f"Your care team follows {MARKER_WORDS[marker]} to see how the myeloma is doing.")
    elif marker == "none":
        out.add(
            "Your myeloma protein levels were too low at the first test to follow them with the usual rules.",
            "Your care team may use other tests, such as scans or a bone marrow test.",
        )
    else:
        out.add("There was not enough data at the first test to choose which myeloma test to follow.")
    base = md.get("baseline") or {}
    if marker is not None and marker in MARKER_WORDS and _is_number(base.get("value")) and base.get("date"):
        unit = f" {base['unit']}" if base.get("unit") else ""
        out.new(f"On {long_date(base['date'])} it was {_num(float(base['value']))}{unit}.")
        latest = _latest_measurement(doc.get("assessments") or [], marker)
        if latest is not None:
            unit = f" {latest['unit']}" if latest.get("unit") else ""
            if float(latest["value"]) == 0:
                out.add(f"On {long_date(latest['date'])} the test could not find it.")
            else:
                out.add(f"On {long_date(latest['date'])} it was {_num(float(latest['value']))}{unit}.")
    if series.get("m_protein"):
        charts.append("m_protein")
    if series.get("flc_kappa") or series.get("flc_lambda"):
        charts.append("flc")
        out.new(
            "There are two kinds of free light chain, kappa and lambda.",
            "Myeloma cells usually make too much of one kind.",
            "The charts show your M-protein and your free light chains.",
        )
    elif charts:
        out.new("The chart shows your M-protein results.")
    return Section("marker", "Your myeloma protein tests", out.done(), charts=tuple(charts))


def _latest_measurement(assessments: Sequence[Mapping[str, Any]], marker: str) -> Mapping[str, Any] | None:
    want = {"flc": ("flc", "flc_difference", "involved_flc")}.get(marker, (marker,))
    for a in reversed(assessments):
        for m in a.get("measurements") or []:
            if m.get("marker") in want and _is_number(m.get("value")) and (m.get("date") or a.get("date")):
                return {**m, "date": m.get("date") or a.get("date")}
    return None


def _latest_assessment(doc: Mapping[str, Any]) -> Mapping[str, Any] | None:
    assessments = [a for a in doc.get("assessments") or [] if a.get("category") and a.get("date")]
    return assessments[-1] if assessments else None


def _response_section(doc: Mapping[str, Any]) -> Section:
    out = _Paras()
    out.add(
        "Doctors use rules from the International Myeloma Working Group to judge how the myeloma is responding.",
        "The rules compare each test with an earlier reference test and with the lowest result so far.",
        "A result counts as confirmed only when two tests in a row show it.",
    )
    latest = _latest_assessment(doc)
    if latest is None:
        out.new("There are no later test results to compare with yet.")
        return Section("response", "How the myeloma is responding", out.done())
    cat = str(latest.get("category"))
    events = [p for p in doc.get("progression") or [] if p.get("date")]
    event_text: str | None = None
    if events:
        when = long_date(events[-1]["date"])
        relapse = events[-1].get("type") == "relapse_from_cr"  # no assessment of it need be PD
        if events[-1].get("confirmed"):
            event_text = (RELAPSE_CONFIRMED if relapse else PROGRESSION_CONFIRMED).format(date=when)
        elif cat != "PD":  # an unconfirmed PD at the latest test is said with the latest test
            event_text = (RELAPSE_UNCONFIRMED if relapse else PROGRESSION_UNCONFIRMED).format(date=when)
    event_first = event_text is not None and str(events[-1]["date"]) < str(latest["date"])
    if event_first:
        out.new(event_text)
    words = CATEGORY_WORDS.get(cat, "the result could not be put in a group")
    out.new(f"At your latest test, on {long_date(latest['date'])}, {words}.")
    if cat != "not_evaluable":
        out.add(
            "This was seen on two tests in a row, so it is confirmed."
            if latest.get("confirmed")
            else "This was seen on one test so far, so it is not yet confirmed."
        )
    if event_text is not None and not event_first:
        out.new(event_text)
    best = doc.get("best_response") or {}
    if (
        best.get("category") in CATEGORY_WORDS
        and best.get("category") not in ("PD", "not_evaluable", cat)  # the latest result already said
    ):
        when = f" on {long_date(best['date'])}" if best.get("date") else ""
        conf = "confirmed" if best.get("confirmed") else "not confirmed"
        out.new(f"Your best result so far was{when}: {CATEGORY_WORDS[best['category']]}. It was {conf}.")
    return Section("response", "How the myeloma is responding", out.done())


def _egfr_words(value: float) -> str | None:
    if value < EGFR_SEVERELY_REDUCED_BELOW_ML_MIN_1_73M2:
        return (
            f"An eGFR below {EGFR_SEVERELY_REDUCED_BELOW_ML_MIN_1_73M2:g} means the kidneys work much less than usual."
        )
    if value < EGFR_REDUCED_BELOW_ML_MIN_1_73M2:
        return f"An eGFR below {EGFR_REDUCED_BELOW_ML_MIN_1_73M2:g} means the kidneys work less than usual."
    return None


def _kidney_section(egfr: Sequence[Point]) -> Section:
    out = _Paras()
    out.add(
        "eGFR is a number that shows how well your kidneys clean the blood. A higher number is better.",
        "Weak kidneys cannot clear B2M well, so B2M can go up when the eGFR goes down.",
    )
    if not egfr:
        out.new("There are no kidney test results in this report.")
        return Section("kidney", "Your kidney tests", out.done())
    first, last = egfr[0], egfr[-1]
    if len(egfr) > 1:
        out.new(
            f"Your eGFR was {_whole(first.value)} on {long_date(first.date)} and "
            f"{_whole(last.value)} on {long_date(last.date)}."
        )
    else:
        out.new(f"Your eGFR was {_whole(last.value)} on {long_date(last.date)}.")
    out.add(_egfr_words(last.value))
    out.new(
        "The chart shows your eGFR over time. The dotted lines mark "
        f"{EGFR_REDUCED_BELOW_ML_MIN_1_73M2:g} and {EGFR_SEVERELY_REDUCED_BELOW_ML_MIN_1_73M2:g}."
    )
    return Section("kidney", "Your kidney tests", out.done(), charts=("egfr",))


def _alert_items(doc: Mapping[str, Any]) -> list[str]:
    items: list[str] = []
    for a in doc.get("alerts") or []:
        code = str(a.get("code"))
        if code in SAID_IN_RESPONSE_SECTION:
            continue  # said in the response section, in our own words
        text = _safe(a.get("patient"), ALERT_FALLBACK.get(code, ALERT_GENERIC)).strip()
        if a.get("date"):
            text = f"On {long_date(a['date'])}: {text}"
        items.append(text)
    for f in doc.get("flags") or []:
        items.append(_safe(f.get("patient"), FLAG_GENERIC))
    return list(dict.fromkeys(items))


def _summary(
    doc: Mapping[str, Any], series: SeriesSet, b2m: Sequence[Point], egfr: Sequence[Point], n_alerts: int
) -> Section:
    items: list[str] = []
    if b2m:
        last = b2m[-1]
        pos = _b2m_position(series, last)
        where = f", {pos[1]} the usual range at your lab" if pos else ""
        items.append(f"Your latest B2M was {_value(last, 'mg/L')} on {long_date(last.date)}{where}.")
    latest = _latest_assessment(doc)
    if latest is not None:
        cat = str(latest.get("category"))
        sentence = f"At your latest test, {CATEGORY_WORDS.get(cat, 'the result could not be put in a group')}."
        if cat != "not_evaluable":
            sentence += " This is confirmed." if latest.get("confirmed") else " This is not yet confirmed."
        items.append(sentence)
    if egfr:
        items.append(
            f"Your latest kidney test (eGFR) was {_whole(egfr[-1].value)}. {_egfr_words(egfr[-1].value) or ''}"
        )
    if n_alerts:
        items.append(
            "There is 1 point to talk about with your care team."
            if n_alerts == 1
            else f"There are {n_alerts} points to talk about with your care team."
        )
    return Section("summary", "In short", (), tuple(i.strip() for i in items))


def patient_content(
    doc: Mapping[str, Any], series: SeriesSet, *, b2m: Sequence[Point], egfr: Sequence[Point]
) -> PatientContent:
    """All the text of the patient report, in reading order."""
    alert_items = _alert_items(doc)
    sections: list[Section] = [
        _summary(doc, series, b2m, egfr, len(alert_items)),
        _b2m_section(doc, series, b2m),
        _marker_section(doc, series),
        _response_section(doc),
        _kidney_section(egfr),
    ]
    if alert_items:
        sections.append(
            Section(
                "alerts",
                "Things to talk about with your care team",
                ("The program noticed these points. They are not a diagnosis.",),
                tuple(alert_items),
            )
        )
    sections += [
        Section(
            "meaning",
            "What a high B2M can mean",
            (" ".join(WHAT_IT_CAN_MEAN), "Other things can also make B2M higher:"),
            OTHER_CAUSES,
        ),
        Section("cannot", "What B2M cannot tell you", (), WHAT_IT_CANNOT_MEAN),
        Section(
            "questions",
            "Questions you may want to ask your care team",
            ("You may want to write down the answers.",),
            QUESTIONS,
        ),
    ]
    return PatientContent(tuple(sections))
