"""Measuring the check on a labelled set: precision and recall per kind (docs/anonymity.md).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from qualcode.anonymity.findings import KINDS
from qualcode.anonymity.scan import scan_text


@dataclass(frozen=True)
class LabelledSpan:
    """A planted identifier in a labelled test file."""

    file: str
    kind: str
    start: int
    end: int


def load_labelled_set(folder: Path | str) -> tuple[dict[str, str], list[LabelledSpan], list[str]]:
    """Texts, labelled spans and identifiers list of a labelled set (see tests/fixtures/anonymity/README.md).

    ``labels.csv`` has columns file, line, kind, text, occurrence; each row is
    turned into a code-point span by finding ``text`` on that line.
    """
    from qualcode.errors import InputError

    folder = Path(folder)
    texts = {path.name: path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.txt"))
             if path.name != "identifiers.txt"}
    labels: list[LabelledSpan] = []
    with (folder / "labels.csv").open(encoding="utf-8", newline="") as handle:
        for row_number, row in enumerate(csv.DictReader(handle), start=2):
            text = texts.get(row["file"])
            if text is None or row["kind"] not in KINDS:
                raise InputError(f"{folder / 'labels.csv'} row {row_number}: unknown file or kind")
            line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
            line_start = line_starts[int(row["line"]) - 1]
            line_end = text.find("\n", line_start)
            line_text = text[line_start:line_end if line_end >= 0 else len(text)]
            position = -1
            for _ in range(int(row.get("occurrence") or 1)):
                position = line_text.find(row["text"], position + 1)
                if position < 0:
                    raise InputError(f"{folder / 'labels.csv'} row {row_number}: text not found on line {row['line']}")
            labels.append(LabelledSpan(row["file"], row["kind"], line_start + position,
                                       line_start + position + len(row["text"])))
    identifiers_path = folder / "identifiers.txt"
    identifiers = read_identifiers(identifiers_path) if identifiers_path.exists() else []
    return texts, labels, identifiers


def read_identifiers(path: Path | str) -> list[str]:
    """The study's identifiers list: one name or place per line; blank lines and # comments ignored.

    Errors name the file only, never its content.
    """
    from qualcode.errors import InputError

    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"identifiers file {path} does not exist; give a text file with one name per line") from None
    except (IsADirectoryError, PermissionError):
        raise InputError(f"identifiers file {path} cannot be read; give a text file with one name per line") from None
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"identifiers file {path} is not UTF-8 text; save it as UTF-8 and try again") from None
    terms = [line.strip() for line in content.splitlines()]
    terms = [t for t in terms if t and not t.startswith("#")]
    if not terms:
        raise InputError(f"identifiers file {path} holds no names; give one name or place per line")
    return terms


def evaluate_labelled_set(folder: Path | str, *, names: str = "heuristic", files: list[str] | None = None
                          ) -> list[dict]:
    """Precision and recall of ``scan_text`` on a labelled set, per kind and overall.

    A finding is correct when it overlaps a labelled span of the same kind; a
    label is found when a finding of its kind overlaps it. Returns one dict
    per kind (in KINDS order, then ``all``) with labelled, found, correct,
    recalled, precision and recall (None when undefined). ``files`` limits
    the evaluation to some file names.
    """
    texts, labels, identifiers = load_labelled_set(folder)
    if files is not None:
        texts = {name: text for name, text in texts.items() if name in set(files)}
    findings = {name: scan_text(text, identifiers=identifiers, names=names) for name, text in texts.items()}
    counts = {kind: {"labelled": 0, "found": 0, "correct": 0, "recalled": 0} for kind in KINDS}
    for name, found in findings.items():
        file_labels = [label for label in labels if label.file == name]
        for finding in found:
            counts[finding.kind]["found"] += 1
            if any(label.kind == finding.kind and label.start < finding.end and finding.start < label.end
                   for label in file_labels):
                counts[finding.kind]["correct"] += 1
        for label in file_labels:
            counts[label.kind]["labelled"] += 1
            if any(finding.kind == label.kind and label.start < finding.end and finding.start < label.end
                   for finding in found):
                counts[label.kind]["recalled"] += 1
    rows = []
    total = {"labelled": 0, "found": 0, "correct": 0, "recalled": 0}
    for kind in KINDS:
        for key in total:
            total[key] += counts[kind][key]
        rows.append({"kind": kind, **counts[kind]})
    rows.append({"kind": "all", **total})
    for row in rows:
        row["precision"] = row["correct"] / row["found"] if row["found"] else None
        row["recall"] = row["recalled"] / row["labelled"] if row["labelled"] else None
    return rows
