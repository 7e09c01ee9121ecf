"""The project's error hierarchy.

Every error the user can cause derives from :class:`B2MError` and carries structured fields, so the
CLI can print one clear line (and a later API can emit RFC 9457 problem details) without parsing
messages.
"""

from __future__ import annotations


def short(raw: object, limit: int = 60) -> str:
    """``repr`` of a refused value, cut so that one error stays one readable line."""
    text = repr(raw)
    return text if len(text) <= limit else text[:limit] + "..."


class B2MError(Exception):
    """Root of every error b2m raises on purpose."""


class InputError(B2MError, ValueError):
    """An input value, unit or file was refused.

    ``field`` names what was wrong (``labs.b2m.unit``), ``problem`` says how, ``accepted`` lists the
    forms that would have been taken, and ``hint`` optionally names the likely intended input.
    """

    def __init__(self, field: str, problem: str, accepted: str = "", hint: str = "") -> None:
        self.field = field
        self.problem = problem
        self.accepted = accepted
        self.hint = hint
        super().__init__(self.one_line())

    def one_line(self) -> str:
        parts = [f"{self.field}: {self.problem}"]
        if self.hint:
            parts.append(self.hint)
        if self.accepted:
            parts.append(f"accepted: {self.accepted}")
        return "; ".join(parts)

    def __reduce__(self) -> tuple[type[InputError], tuple[str, str, str, str]]:
        # Keeps the structured fields through pickling (multiprocessing, Spark workers).
        return (type(self), (self.field, self.problem, self.accepted, self.hint))


class UnitError(InputError):
    """A unit that is unknown, of the wrong dimension, or implausible for the analyte."""


class ImplausibleValueError(InputError):
    """A value outside the documented plausibility bounds of its analyte."""


class FileFormatError(InputError):
    """A batch file that cannot be read or lacks required columns."""
