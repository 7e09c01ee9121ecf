"""Reading grade of the patient report, measured with textstat over the text the patient reads.

Two indices, both US school grades:

- Flesch-Kincaid grade level: 0.39 × (words / sentences) + 11.8 × (syllables / words) − 15.59
  (Kincaid JP et al., 1975, Naval Technical Training Command report 8-75);
- SMOG grade: 1.0430 × √(polysyllables × 30 / sentences) + 3.1291 (McLaughlin GH, J Reading
  1969;12(8):639-646), the index most used for health information.

The text measured is what the report shows as prose: every paragraph (``<p>``) and list item
(``<li>``) of the rendered page, each taken as its own sentence group; headings, tables of numbers,
charts and the page's metadata are left out. Measuring the rendered page, not the strings that
went into it, means nothing the patient reads escapes the measurement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

import textstat

TARGET_GRADE = 8.0  # issue #4: patient text at grade 8 or below
PROSE_TAGS = frozenset({"p", "li"})
SKIPPED_TAGS = frozenset({"table", "svg", "style", "script", "title", "head"})


@dataclass(frozen=True, slots=True)
class ReadingGrade:
    flesch_kincaid_grade: float
    smog_grade: float
    words: int
    sentences: int

    @property
    def meets_target(self) -> bool:
        return self.flesch_kincaid_grade <= TARGET_GRADE

    def to_dict(self) -> dict[str, object]:
        return {
            "flesch_kincaid_grade": round(self.flesch_kincaid_grade, 1),
            "smog_grade": round(self.smog_grade, 1),
            "words": self.words,
            "sentences": self.sentences,
            "target": TARGET_GRADE,
        }


class _ProseExtractor(HTMLParser):
    """Collects the text of ``<p>`` and ``<li>`` elements outside tables, charts and the head."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self._skip = 0
        self._open: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED_TAGS:
            self._skip += 1
        elif tag in PROSE_TAGS and not self._skip:
            self._open.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in PROSE_TAGS and self._open and not self._skip:
            text = " ".join("".join(self._open.pop()).split())
            if text:
                self.blocks.append(text)

    def handle_data(self, data: str) -> None:
        if self._open and not self._skip:
            self._open[-1].append(data)


def prose_from_html(html: str) -> list[str]:
    """The paragraphs and list items of a rendered report, in order, as plain text."""
    parser = _ProseExtractor()
    parser.feed(html)
    parser.close()
    return parser.blocks


def _as_sentences(blocks: list[str]) -> str:
    # A list item or a question is a sentence of its own even without a full stop.
    return "\n".join(b if b.rstrip()[-1:] in ".?!:" else b + "." for b in blocks)


_DECIMAL = re.compile(r"(?<=\d)\.(?=\d)")
_WEB_ADDRESS = re.compile(r"(?<=[a-z])\.(?=(?:org|uk|com)\b)")


def _normalise(text: str) -> str:
    """Keep the full stops of ``3.4`` and ``myeloma.org`` from counting as sentence ends (which
    would shorten the sentences and flatter the grade)."""
    return _WEB_ADDRESS.sub("-", _DECIMAL.sub("", text))


def reading_grade(text_or_blocks: str | list[str]) -> ReadingGrade:
    """Flesch-Kincaid and SMOG grades of a text (or of prose blocks, each ending a sentence)."""
    text = text_or_blocks if isinstance(text_or_blocks, str) else _as_sentences(text_or_blocks)
    text = _normalise(text)
    return ReadingGrade(
        flesch_kincaid_grade=float(textstat.flesch_kincaid_grade(text)),
        smog_grade=float(textstat.smog_index(text)),
        words=int(textstat.lexicon_count(text)),
        sentences=int(textstat.sentence_count(text)),
    )


def html_reading_grade(html: str) -> ReadingGrade:
    """Reading grade of the prose of a rendered HTML report."""
    return reading_grade(prose_from_html(html))
