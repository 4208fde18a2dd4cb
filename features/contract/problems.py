"""Problems and request errors: what a rejected input reports.

A :class:`Problem` names one violation (field, reason code, expectation, received value, hint).
Every error that rejects a request carries a list of them and derives from :class:`RequestError`
(a ``ValueError``), so callers that serve requests (CLI, REST) catch one type and report the
problems one per line; :class:`InvalidPatientError` is the contract's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

_MAX_RECEIVED = 60
_MAX_LISTED = 50


@dataclass(frozen=True)
class Problem:
    """One contract violation: the field, the reason code, what was expected and received.

    ``row`` is the 0-based position of the row in the validated input (None for a single record
    or a whole-column problem). It is a position, never the ``patient_id``, so reports carry no
    identifier. :attr:`line` is the same row as the line number a user sees in the file or a
    spreadsheet (header = line 1).
    """

    field: str
    reason: str
    expected: str
    received: str
    hint: str = ""
    row: int | None = None

    @property
    def line(self) -> int | None:
        """The row as the line of a file with one header line: ``row + 2`` (header = line 1,
        first data row = line 2, as a spreadsheet numbers them); None when ``row`` is None."""
        return None if self.row is None else self.row + 2

    @property
    def message(self) -> str:
        text = f"{self.field}: expected {self.expected}, got {self.received}"
        return f"{text} ({self.hint})" if self.hint else text

    def to_dict(self) -> dict:
        return asdict(self)


def received_text(value) -> str:
    """A received value as a :class:`Problem` shows it: strings quoted, at most 60 characters."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= _MAX_RECEIVED else text[: _MAX_RECEIVED - 3] + "..."


class RequestError(ValueError):
    """A request is rejected; ``problems`` lists every :class:`Problem` found.

    The message is ``headline`` followed by one line per problem (at most 50, then a count).
    ``error`` is the machine-readable code of the subclass (see :meth:`to_dict`).
    """

    error = "invalid_request"

    def __init__(self, problems: Iterable[Problem], headline: str):
        self.problems = tuple(problems)
        lines = [f"  - {p.message}" for p in self.problems[:_MAX_LISTED]]
        if len(self.problems) > _MAX_LISTED:
            lines.append(f"  ... and {len(self.problems) - _MAX_LISTED} more")
        super().__init__(headline + "\n" + "\n".join(lines))

    def to_dict(self) -> dict:
        """JSON-safe form (used by the CLI and the REST endpoint)."""
        return {
            "error": self.error,
            "message": str(self).splitlines()[0],
            "problems": [p.to_dict() for p in self.problems],
        }


class InvalidPatientError(RequestError):
    """A patient record violates the contract; ``problems`` lists every violation."""

    error = "invalid_patient"

    def __init__(self, problems, context: str = "patient record"):
        problems = tuple(problems)
        super().__init__(problems, f"invalid {context}: {len(problems)} problem(s)")
