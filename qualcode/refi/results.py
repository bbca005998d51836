"""What a .qdpx import reports: counts, skipped selections with their reason,
and the sources as read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from qualcode.refi.common import normalise_guid, plural
from qualcode.refi.quirks import OffsetMap



# -- import ------------------------------------------------------------------------------------

@dataclass
class SkippedSelection:
    """A selection (or a coding of it) that was not imported. Carries no source text."""

    source: str
    selection: str | None
    start: int | None
    end: int | None
    reason: str
    codings: int


@dataclass
class RefiImportResult:
    """What ``import_project`` did."""

    path: Path
    origin: str | None
    counting: str
    documents_added: list[str] = field(default_factory=list)
    documents_reused: list[str] = field(default_factory=list)
    sources_skipped: list[tuple[str, str]] = field(default_factory=list)
    codes_added: int = 0
    codes_matched: int = 0
    coders: list[str] = field(default_factory=list)
    respondents: list[str] = field(default_factory=list)
    attributes: int = 0
    selections: int = 0
    codings_imported: int = 0
    codings_skipped: dict[str, int] = field(default_factory=dict)
    skipped_selections: list[SkippedSelection] = field(default_factory=list)
    selections_verified: int = 0
    selections_unverified: int = 0
    codebook_version_id: int | None = None
    notices: list[str] = field(default_factory=list)

    @property
    def codings_skipped_total(self) -> int:
        return sum(self.codings_skipped.values())

    def skip(self, reason: str, count: int = 1) -> None:
        if count:
            self.codings_skipped[reason] = self.codings_skipped.get(reason, 0) + count

    def __str__(self) -> str:
        return "\n".join(self.summary_lines())

    def summary_lines(self) -> list[str]:
        """A short human summary (no source text), for the command line."""
        lines = [
            f"Read {self.path.name} (made by {self.origin or 'an unnamed program'}; positions: {self.counting}).",
            f"Documents: {len(self.documents_added)} added, {len(self.documents_reused)} already in the project,"
            f" {plural(len(self.sources_skipped), 'source')} skipped.",
            f"Codes: {self.codes_added} added, {self.codes_matched} matched to existing codes.",
            f"Coders: {', '.join(self.coders) if self.coders else 'none'}.",
            f"Respondents (cases): {len(self.respondents)}, with {plural(self.attributes, 'attribute value')}.",
            f"Codings: {self.codings_imported} imported from {plural(self.selections, 'text selection')};"
            f" {plural(self.selections_verified, 'selection')} checked against their quoted text.",
        ]
        if self.codings_skipped:
            reasons = "; ".join(f"{reason}: {count}" for reason, count in sorted(self.codings_skipped.items()))
            lines.append(f"Codings skipped: {self.codings_skipped_total} ({reasons}).")
        for source, reason in self.sources_skipped:
            lines.append(f"Source '{source}' skipped: {reason}.")
        lines.extend(self.notices)
        return lines


def detail_selection(result, source_name, selection, start, end, reason, codings):
    result.skip(reason, codings)
    result.skipped_selections.append(SkippedSelection(
        source_name, normalise_guid(selection.get("guid")) if selection is not None else None, start, end, reason,
        codings))


@dataclass
class Source:
    element: object
    guid: str | None
    name: str
    offsets: OffsetMap | None
    units: list[dict] | None = None
    raw: str = ""
