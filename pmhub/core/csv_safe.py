"""CSV that is safe to open in a spreadsheet: every download the project writes goes through here.

A text cell that Excel, LibreOffice or Sheets would read as a formula (`=HYPERLINK(...)`,
`+1+1`, `@SUM(A1)`) runs when the file is opened, with the reader's privileges. OWASP's rule
("CSV Injection") is applied to every text cell: one starting with `=`, `+`, `-`, `@`, a tab or a
carriage return gets a leading apostrophe, which spreadsheets take as "this is text". Only `str`
cells are touched: a number written as a number (a negative score, a negative ARR) is not a
formula and stays a number.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, Protocol

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Writable(Protocol):
    def write(self, value: str, /) -> Any: ...


def neutralise(cell: str) -> str:
    """`cell`, with a leading apostrophe when a spreadsheet would run it as a formula."""
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell


def safe_cells(row: Iterable[Any]) -> list[Any]:
    """`row` with its text cells neutralised; numbers, dates and None as they are."""
    return [neutralise(cell) if isinstance(cell, str) else cell for cell in row]


class SafeWriter:
    """A csv.writer whose every text cell is neutralised, so no column can be forgotten."""

    def __init__(self, file: _Writable, **options: Any) -> None:
        self._writer = csv.writer(file, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow(safe_cells(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(file: _Writable, **options: Any) -> SafeWriter:
    """csv.writer(file, **options) for a file people will open in a spreadsheet."""
    return SafeWriter(file, **options)
