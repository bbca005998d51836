"""Where a problem is in a codebook file (``Where``), the problem itself
(``Problem``), and YAML values that remember their line and column.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import NamedTuple


class Where(NamedTuple):
    """A place in a codebook file: text for messages, and line/column for YAML."""

    text: str
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True)
class Problem:
    where: Where
    message: str

    def __str__(self) -> str:
        return f"{self.where.text}: {self.message}"

    @property
    def line(self) -> int | None:
        return self.where.line

    @property
    def column(self) -> int | None:
        return self.where.column


class MarkedMap(dict):
    """A mapping that remembers where it and each of its keys and values are in the file."""

    def __init__(self, where: Where):
        super().__init__()
        self.where = where
        self.key_where: dict = {}
        self.value_where: dict = {}
        self.value_source: dict = {}  # the text of plain scalars as written (YAML reads `yes` as True)

    def text_of(self, key) -> str:
        return self.value_source.get(key, str(self[key]))

    def at(self, key) -> Where:
        return self.value_where.get(key, self.where)

    def key_at(self, key) -> Where:
        return self.key_where.get(key, self.where)


class MarkedList(list):
    """A list that remembers where it and each item are in the file."""

    def __init__(self, where: Where):
        super().__init__()
        self.where = where
        self.item_where: list[Where] = []
        self.item_source: dict[int, str] = {}

    def text_of(self, index: int) -> str:
        return self.item_source.get(index, str(self[index]))

    def at(self, index: int) -> Where:
        return self.item_where[index] if index < len(self.item_where) else self.where


def plain_value(value):
    """MarkedMap/MarkedList → plain dict/list (for storing as JSON)."""
    if isinstance(value, dict):
        return {str(k): plain_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_value(v) for v in value]
    return value


def suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


# -- YAML ---------------------------------------------------------------------

def yaml_where(path_text: str, mark) -> Where:
    return Where(f"{path_text}:{mark.line + 1}:{mark.column + 1}", mark.line + 1, mark.column + 1)
