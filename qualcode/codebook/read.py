"""A codebook file in: the reader chosen by suffix (``PARSERS``; .qdc through
``qualcode.refi.qdc``), then validation.
"""

from __future__ import annotations

from pathlib import Path

from qualcode.codebook.model import Codebook
from qualcode.codebook.problems import Problem, Where
from qualcode.codebook.read_table import parse_csv_codebook, parse_xlsx_codebook
from qualcode.codebook.read_yaml import parse_yaml_codebook
from qualcode.codebook.validate import build_codebook
from qualcode.errors import CodebookError


PARSERS = {
    ".yaml": ("yaml", parse_yaml_codebook),
    ".yml": ("yaml", parse_yaml_codebook),
    ".xlsx": ("xlsx", parse_xlsx_codebook),
    ".csv": ("csv", parse_csv_codebook),
}


def read_codebook_file(path: Path | str) -> tuple[Codebook | None, list[Problem]]:
    """Parse and validate a codebook file; return the codebook (None if invalid) and every problem found."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in PARSERS and suffix != ".qdc":
        return None, [Problem(Where(str(path)), f"cannot read '{suffix or 'no suffix'}' codebooks; use .yaml, .xlsx,"
                                                " .csv or .qdc")]
    if not path.is_file():
        return None, [Problem(Where(str(path)), "no such file")]
    if suffix == ".qdc":
        from qualcode.errors import QualcodeError
        from qualcode.refi.qdc import read_qdc

        try:
            return read_qdc(path), []
        except QualcodeError as exc:
            message = str(exc)
            # the reader's messages start with the path, which the problem's place already gives
            if message.startswith(f"{path} "):
                message = "the file " + message[len(str(path)) + 1:]
            return None, [Problem(Where(str(path)), message)]
    source_format, parser = PARSERS[suffix]
    problems: list[Problem] = []
    parsed = parser(path, problems)
    if parsed is None:
        return None, problems
    meta, meta_where, raw_nodes = parsed
    codebook = build_codebook(path, source_format, meta, meta_where, raw_nodes, problems)
    problems.sort(key=lambda p: (p.where.line or 0, p.where.column or 0))
    return codebook, problems


def validate_codebook_file(path: Path | str) -> list[Problem]:
    """Every problem in a codebook file (an empty list when it is valid)."""
    return read_codebook_file(path)[1]


def load_codebook_file(path: Path | str) -> Codebook:
    """Parse and validate a codebook file (.yaml, .xlsx, .csv, .qdc); CodebookError on the first problem."""
    codebook, problems = read_codebook_file(path)
    if problems:
        more = f" ({len(problems) - 1} more problems: run 'qualcode codebook validate {path}')" if len(problems) > 1 else ""
        raise CodebookError(f"{problems[0]}{more}")
    assert codebook is not None
    return codebook
