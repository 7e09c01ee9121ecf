"""Which of a patient's conditions and medications can move serum B2M (b2m reference LAB-3, LAB-4).

Conditions and medications arrive as free text ("Rheumatoid arthritis", "lithium carbonate 400 mg")
or as codes ("ICD10:M05.9", bare "M05.9", "SNOMED:86406008", "ATC:N05AN01", bare "N05AN01"). The
tables below are data; one matcher (:func:`_match`) reads them all, and every match records which
input item matched which category, through which vocabulary and which table entry, so a flag can
show its evidence.

Free text is matched on whole words after case folding and accent stripping ("Sjögren" and
"Sjogren's" match, "archive" does not match "HIV"). An item that negates or does not assert the
condition ("HIV negative", "lupus anticoagulant", "awaiting kidney transplant", "lithium heparin
tube", "stopped lithium") is not evidence and is returned in ``skipped`` with the reason, never
silently dropped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Category = Literal[
    "hiv",
    "ebv",
    "cmv",
    "acute_viral_infection",
    "autoimmune_disease",
    "liver_disease",
    "other_lymphoproliferative_disease",
    "solid_tumour",
    "kidney_transplant",
    "known_kidney_disease",
    "dialysis",
    "ciclosporin",
    "lithium",
    "biotin",
]
Vocabulary = Literal["name", "ICD-10", "SNOMED CT", "ATC"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One category of the tables: its names (phrases) and codes.

    ``icd10`` holds 3-character ranges (``("B20", "B24")``) or single codes, which also match their
    subcodes (``("M35.0", "M35.0")`` matches M35.0 and M35.01). ``exclude`` holds phrases that void a
    name match for this category only (``"lupus anticoagulant"`` is a coagulation test, not SLE).
    ``superseded_by`` names categories that, matched by the same item, make this one redundant.
    """

    category: Category
    label: str  # how the category is named in sentences
    names: tuple[str, ...] = ()
    case_sensitive_names: tuple[str, ...] = ()  # acronyms that are ordinary words in lower case ("AIDS")
    icd10: tuple[tuple[str, str], ...] = ()
    snomed: tuple[str, ...] = ()
    atc: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    # categories that say more about the same item: when one of them matched the item too, this
    # entry's match is dropped as redundant ("CKD stage 5" is dialysis-range kidney failure, not
    # also a second, milder kidney flag). Not a skip: the item was used, as the stronger category.
    superseded_by: tuple[Category, ...] = ()


# ---------------------------------------------------------------------------------------------
# Tables. ICD-10 chapters are WHO ICD-10 (ICD-10-CM uses the same 3-character categories here).
# SNOMED CT ids: only concepts whose id we could corroborate; others are matched by name or ICD-10.
# ---------------------------------------------------------------------------------------------

CONDITIONS: tuple[Entry, ...] = (
    Entry(
        "hiv",
        "HIV infection",
        names=(
            "hiv",
            "human immunodeficiency virus",
            "acquired immunodeficiency syndrome",
            "acquired immune deficiency syndrome",
        ),
        case_sensitive_names=("AIDS",),
        icd10=(("B20", "B24"), ("Z21", "Z21")),  # B20-B24 HIV disease; Z21 asymptomatic HIV status
        snomed=("86406008",),  # Human immunodeficiency virus infection (disorder)
    ),
    Entry(
        "ebv",
        "Epstein-Barr virus infection (infectious mononucleosis)",
        names=(
            "ebv",
            "epstein barr",
            "epstein barr virus",
            "infectious mononucleosis",
            "glandular fever",
            "mononucleosis",
        ),
        icd10=(("B27", "B27"),),  # infectious mononucleosis
    ),
    Entry(
        "cmv",
        "cytomegalovirus infection",
        names=("cmv", "cytomegalovirus"),
        icd10=(("B25", "B25"),),  # cytomegaloviral disease
    ),
    Entry(
        "acute_viral_infection",
        "acute viral infection",
        names=(
            "viral infection",
            "acute viral infection",
            "virus infection",
            "influenza",
            "covid",
            "covid 19",
            "sars cov 2",
            "measles",
            "mumps",
            "rubella",
            "chickenpox",
            "varicella",
            "dengue",
        ),
        # B34 viral infection of unspecified site; J09-J11 influenza; U07.1 COVID-19; B01 varicella;
        # B05 measles; B06 rubella; B26 mumps.
        icd10=(("B34", "B34"), ("J09", "J11"), ("U07.1", "U07.1"), ("B01", "B01"), ("B05", "B06"), ("B26", "B26")),
    ),
    Entry(
        "autoimmune_disease",
        "autoimmune or chronic inflammatory disease",
        names=(
            "rheumatoid arthritis",
            "lupus",
            "sle",
            "systemic lupus erythematosus",
            "sjogren",
            "sjogren syndrome",
            "sjogrens",
            "sicca syndrome",
            "crohn",
            "crohns",
            "crohn disease",
            "ulcerative colitis",
            "inflammatory bowel disease",
            "ibd",
        ),
        # M05-M06 rheumatoid arthritis; M32 SLE; M35.0 sicca (Sjögren); K50 Crohn; K51 ulcerative colitis
        icd10=(("M05", "M06"), ("M32", "M32"), ("M35.0", "M35.0"), ("K50", "K51")),
        snomed=(
            "69896004",  # Rheumatoid arthritis (disorder)
            "55464009",  # Systemic lupus erythematosus (disorder)
            "83901003",  # Sjögren's syndrome (disorder)
            "34000006",  # Crohn's disease (disorder)
            "64766004",  # Ulcerative colitis (disorder)
        ),
        exclude=("lupus anticoagulant",),
    ),
    Entry(
        "liver_disease",
        "liver disease",
        names=(
            "cirrhosis",
            "liver cirrhosis",
            "hepatitis",
            "liver disease",
            "liver failure",
            "hepatic failure",
            "hepatic impairment",
            "hepatic cirrhosis",
            "fatty liver",
            "nafld",
            "nash",
            "masld",
        ),
        # K70-K77 diseases of liver; B15-B19 viral hepatitis
        icd10=(("K70", "K77"), ("B15", "B19")),
        snomed=(
            "235856003",  # Disorder of liver (disorder)
            "19943007",  # Cirrhosis of liver (disorder)
        ),
        exclude=("hepatitis b immune", "hepatitis b immunity", "immune to hepatitis"),
    ),
    Entry(
        "other_lymphoproliferative_disease",
        "another lymphoproliferative disease (CLL, lymphoma, Waldenström macroglobulinaemia)",
        names=(
            "cll",
            "chronic lymphocytic leukaemia",
            "chronic lymphocytic leukemia",
            "chronic lymphoid leukaemia",
            "chronic lymphoid leukemia",
            "small lymphocytic lymphoma",
            "sll",
            "lymphoma",
            "nhl",
            "waldenstrom",
            "waldenstroms",
            "macroglobulinaemia",
            "macroglobulinemia",
            "lymphoplasmacytic lymphoma",
        ),
        # C81-C86 lymphomas (the brief's C82-C85 plus Hodgkin C81 and T/NK C86, which the name
        # "lymphoma" matches anyway); C88.0 Waldenström; C88.4 MALT lymphoma; C91.1 CLL.
        icd10=(("C81", "C86"), ("C88.0", "C88.0"), ("C88.4", "C88.4"), ("C91.1", "C91.1")),
        snomed=(
            "92814006",  # Chronic lymphoid leukaemia, disease (disorder)
            "118600007",  # Malignant lymphoma (disorder)
        ),
    ),
    Entry(
        "solid_tumour",
        "a solid tumour of the kind reported to raise B2M (digestive tract, lung, breast, cervix)",
        names=(
            "solid tumour",
            "solid tumor",
            "lung cancer",
            "lung carcinoma",
            "non small cell lung",
            "small cell lung",
            "breast cancer",
            "breast carcinoma",
            "cervical cancer",
            "cervix cancer",
            "cervical carcinoma",
            "colorectal cancer",
            "colorectal carcinoma",
            "colon cancer",
            "rectal cancer",
            "bowel cancer",
            "gastric cancer",
            "stomach cancer",
            "oesophageal cancer",
            "esophageal cancer",
            "pancreatic cancer",
            "liver cancer",
            "hepatocellular carcinoma",
        ),
        # C15-C26 digestive organs; C33-C34 trachea, bronchus, lung; C50 breast; C53 cervix uteri
        icd10=(("C15", "C26"), ("C33", "C34"), ("C50", "C50"), ("C53", "C53")),
    ),
    Entry(
        "kidney_transplant",
        "kidney transplant",
        names=(
            "kidney transplant",
            "renal transplant",
            "kidney transplantation",
            "renal transplantation",
            "kidney allograft",
            "renal allograft",
            "transplanted kidney",
            "kidney graft",
            "renal graft",
        ),
        # Z94.0 kidney transplant status; T86.1 kidney transplant failure and rejection
        icd10=(("Z94.0", "Z94.0"), ("T86.1", "T86.1")),
        snomed=("70536003",),  # Transplant of kidney (procedure)
        exclude=(
            "awaiting",
            "waiting list",
            "wait list",
            "waitlist",
            "candidate",
            "work up",
            "workup",
            "evaluation for",
            "donor",
        ),
    ),
    Entry(
        "known_kidney_disease",
        "chronic kidney disease or renal insufficiency",
        names=(
            "chronic kidney disease",
            "ckd",
            "chronic renal disease",
            "chronic renal failure",
            "chronic renal insufficiency",
            "chronic kidney insufficiency",
            "renal insufficiency",
            "kidney insufficiency",
        ),
        # N18.1-N18.4 CKD stages 1-4 (ICD-10-CM N18.30-N18.32 included); N18.9 CKD, unspecified;
        # N19 unspecified kidney failure. N18.5-N18.6 (stage 5, end-stage) are the dialysis entry.
        icd10=(("N18.1", "N18.4"), ("N18.9", "N18.9"), ("N19", "N19")),
        snomed=("709044004",),  # Chronic kidney disease (disorder)
        superseded_by=("dialysis",),
    ),
    Entry(
        "dialysis",
        "dialysis or kidney failure",
        names=(
            "dialysis",
            "haemodialysis",
            "hemodialysis",
            "peritoneal dialysis",
            "haemodiafiltration",
            "hemodiafiltration",
            "end stage renal disease",
            "end stage kidney disease",
            "end stage renal failure",
            "esrd",
            "eskd",
            "ckd stage 5",
            "ckd 5",
            "ckd g5",
            "ckd5",
            "ckd stage g5",
        ),
        # N18.5 CKD stage 5; N18.6 end-stage renal disease; Z99.2 dependence on renal dialysis;
        # Z49 care involving dialysis
        icd10=(("N18.5", "N18.6"), ("Z99.2", "Z99.2"), ("Z49", "Z49")),
        snomed=(
            "46177005",  # End-stage renal disease (disorder)
            "302497006",  # Haemodialysis (procedure)
            "265764009",  # Renal dialysis (procedure)
        ),
        exclude=("pre dialysis", "predialysis"),
    ),
)

MEDICATIONS: tuple[Entry, ...] = (
    Entry(
        "ciclosporin",
        "ciclosporin (cyclosporine)",
        names=(
            "ciclosporin",
            "ciclosporine",
            "cyclosporin",
            "cyclosporine",
            "cyclosporin a",
            "sandimmun",
            "sandimmune",
            "neoral",
            "gengraf",
        ),
        atc=("L04AD01",),
        exclude=("eye drops", "eye drop", "ophthalmic", "ophthalmic emulsion"),
    ),
    Entry(
        "lithium",
        "lithium",
        names=("lithium", "lithium carbonate", "lithium citrate", "priadel", "camcolit", "lithobid", "liskonum"),
        atc=("N05AN01",),
        exclude=("lithium heparin",),
    ),
    Entry(
        "biotin",
        "biotin (vitamin B7)",
        names=("biotin", "biotine", "vitamin b7", "vitamin h"),
        atc=("A11HA05",),
    ),
)

# Words that make a free-text item not an assertion of the condition or of current use.
CONDITION_NEGATIONS: tuple[str, ...] = (
    "no",
    "not",
    "negative",
    "neg",
    "without",
    "denies",
    "denied",
    "excluded",
    "ruled out",
    "rule out",
    "absent",
    "unlikely",
    "family history",
    "vaccine",
    "vaccination",
    "vaccinated",
    "immunisation",
    "immunization",
    "screening",
    "exposure",
    "exposed",
    "contact",
    "prophylaxis",
    "prep",
    "suspected",
    "possible",
    "query",
)
MEDICATION_NEGATIONS: tuple[str, ...] = (
    "no",
    "not",
    "stopped",
    "discontinued",
    "ceased",
    "allergy",
    "allergic",
    "intolerance",
    "intolerant",
    "contraindicated",
    "declined",
)


# ---------------------------------------------------------------------------------------------
# Result types
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Match:
    """One input item that matched one category."""

    input: str  # the item as received
    category: Category
    via: Vocabulary
    term: str  # the table phrase or code (range) that matched

    def to_dict(self) -> dict[str, str]:
        return {"input": self.input, "category": self.category, "via": self.via, "term": self.term}


@dataclass(frozen=True, slots=True)
class Skipped:
    """An input item that named a category but was not taken as evidence, and why."""

    input: str
    category: Category
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"input": self.input, "category": self.category, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class ContextMatches:
    matches: tuple[Match, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    unmatched: tuple[str, ...] = ()  # items that named no category of the table

    def of(self, category: Category) -> tuple[Match, ...]:
        return tuple(m for m in self.matches if m.category == category)

    def to_dict(self) -> dict[str, object]:
        return {
            "matches": [m.to_dict() for m in self.matches],
            "skipped": [s.to_dict() for s in self.skipped],
            "unmatched": list(self.unmatched),
        }


# ---------------------------------------------------------------------------------------------
# The matcher
# ---------------------------------------------------------------------------------------------

_ICD10 = re.compile(r"^([A-Z])(\d{2})(?:\.?([0-9A-Z]{1,4}))?$")
_ATC = re.compile(r"^[A-Z]\d{2}[A-Z]{2}\d{2}$")
_SNOMED = re.compile(r"^\d{6,18}$")
_SYSTEM = re.compile(r"^\s*(?P<system>[A-Za-z][A-Za-z0-9 ./:_-]*?)\s*[:|]\s*(?P<code>[A-Za-z0-9.]+)\s*$")
_SYSTEMS: dict[str, Vocabulary] = {
    "icd10": "ICD-10",
    "icd10cm": "ICD-10",  # ICD-10-CM shares the categories used here
    "icd10am": "ICD-10",
    "icd10gm": "ICD-10",
    "httphl7orgfhirsidicd10": "ICD-10",
    "httphl7orgfhirsidicd10cm": "ICD-10",
    "snomed": "SNOMED CT",
    "snomedct": "SNOMED CT",
    "sct": "SNOMED CT",
    "httpsnomedinfosct": "SNOMED CT",
    "atc": "ATC",
    "whoatc": "ATC",
    "httpwwwwhoccnoatc": "ATC",
}


def normalise_text(text: str) -> tuple[str, ...]:
    """Words of ``text``: accents stripped, case folded, possessive ``'s`` dropped, punctuation split."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    plain = re.sub(r"['’]s\b", "", plain)
    return tuple(re.findall(r"[a-z0-9]+", plain))


def _contains(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return n > 0 and any(words[i : i + n] == phrase for i in range(len(words) - n + 1))


def _icd10_key(code: str) -> tuple[str, str] | None:
    """``"m05.9"`` -> ``("M05", "9")``; ``None`` if not ICD-10 shaped."""
    m = _ICD10.match(code.strip().upper())
    if not m:
        return None
    return m.group(1) + m.group(2), m.group(3) or ""


def _icd10_in(code: tuple[str, str], lo: str, hi: str) -> bool:
    cat, sub = code
    lo_key, hi_key = _icd10_key(lo), _icd10_key(hi)
    assert lo_key is not None and hi_key is not None, (lo, hi)
    if lo_key[1] or hi_key[1]:  # a subcode entry such as M35.0 or N18.5-N18.6: compare first digit
        if cat != lo_key[0] or cat != hi_key[0] or not sub:
            return False
        return lo_key[1][0] <= sub[0] <= hi_key[1][0]
    return lo_key[0] <= cat <= hi_key[0]


def _parse_code(item: str) -> tuple[Vocabulary, str] | None:
    """A coded item: ``"ICD10:M05.9"``, ``"SNOMED:86406008"``, ``"ATC:N05AN01"``, or a bare code."""
    m = _SYSTEM.match(item)
    if m:
        system = re.sub(r"[^a-z0-9]", "", m.group("system").casefold())
        vocab = _SYSTEMS.get(system)
        return (vocab, m.group("code").upper()) if vocab else None
    bare = item.strip().upper()
    if _ATC.match(bare):
        return "ATC", bare
    if _ICD10.match(bare):
        return "ICD-10", bare
    return None


def _code_matches(vocab: Vocabulary, code: str, entry: Entry) -> str | None:
    """The table term that ``code`` matches in ``entry``, or ``None``."""
    if vocab == "ICD-10":
        key = _icd10_key(code)
        if key is None:
            return None
        for lo, hi in entry.icd10:
            if _icd10_in(key, lo, hi):
                return lo if lo == hi else f"{lo}-{hi}"
        return None
    if vocab == "SNOMED CT":
        return code if _SNOMED.match(code) and code in entry.snomed else None
    return code if code in entry.atc else None


def _name_match(item: str, words: tuple[str, ...], entry: Entry) -> str | None:
    for name in entry.names:
        if _contains(words, normalise_text(name)):
            return name
    for name in entry.case_sensitive_names:
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])", item):
            return name
    return None


def _first(words: tuple[str, ...], phrases: Sequence[str]) -> str | None:
    return next((p for p in phrases if _contains(words, normalise_text(p))), None)


def _match(items: Sequence[str], table: Sequence[Entry], negations: Sequence[str]) -> ContextMatches:
    """The one matcher: each item against every entry of ``table``, by code or by name."""
    matches: list[Match] = []
    skipped: list[Skipped] = []
    unmatched: list[str] = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            continue
        hit = False
        coded = _parse_code(item)
        if coded is not None:
            vocab, code = coded
            for entry in table:
                term = _code_matches(vocab, code, entry)
                if term is not None:
                    matches.append(Match(item, entry.category, vocab, term))
                    hit = True
        else:
            words = normalise_text(item)
            for entry in table:
                term = _name_match(item, words, entry)
                if term is None:
                    continue
                hit = True
                excluded = _first(words, entry.exclude)
                negated = _first(words, negations)
                if excluded is not None:
                    why = f"names {excluded!r}, which is not this category"
                    skipped.append(Skipped(item, entry.category, why))
                elif negated is not None:
                    skipped.append(Skipped(item, entry.category, f"not asserted ({negated!r})"))
                else:
                    matches.append(Match(item, entry.category, "name", term))
        if not hit:
            unmatched.append(item)
    return ContextMatches(tuple(_drop_superseded(matches, table)), tuple(skipped), tuple(unmatched))


def _drop_superseded(matches: Sequence[Match], table: Sequence[Entry]) -> list[Match]:
    """Matches without those an entry's ``superseded_by`` category makes redundant for the same item."""
    by_item: dict[str, set[Category]] = {}
    for m in matches:
        by_item.setdefault(m.input, set()).add(m.category)
    stronger = {e.category: set(e.superseded_by) for e in table}
    return [m for m in matches if not stronger[m.category] & by_item[m.input]]


def match_conditions(conditions: Sequence[str]) -> ContextMatches:
    """Which conditions (names or ICD-10 / SNOMED CT codes) can raise serum B2M (b2m reference LAB-4)."""
    return _match(conditions, CONDITIONS, CONDITION_NEGATIONS)


def match_medications(medications: Sequence[str]) -> ContextMatches:
    """Which medications (names or ATC codes) can raise serum B2M or disturb its assay (b2m reference LAB-3)."""
    return _match(medications, MEDICATIONS, MEDICATION_NEGATIONS)


def label(category: Category) -> str:
    return next(e.label for e in (*CONDITIONS, *MEDICATIONS) if e.category == category)
