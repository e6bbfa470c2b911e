"""Cells of the CSV and xlsx files people open in a spreadsheet (statistics exports, the training
archive): the one place that neutralises what a spreadsheet would run."""
from __future__ import annotations

from typing import Any, Iterable

FORMULA_STARTS = ("=", "+", "-", "@")


def cell(v: Any) -> Any:
    """A value as a cell: a text starting with =, +, - or @ would make a spreadsheet evaluate it as a
    formula (CSV injection: a trainee named "=HYPERLINK(...)"), so it gets a leading apostrophe;
    None is an empty cell; numbers and dates pass as they are."""
    if isinstance(v, str) and v[:1] in FORMULA_STARTS:
        return "'" + v
    return "" if v is None else v


def row(values: Iterable[Any]) -> list[Any]:
    """A row of cells (see cell)."""
    return [cell(v) for v in values]
