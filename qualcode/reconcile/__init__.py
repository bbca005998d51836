"""Reconciliation: two coders' disagreements → decisions → a consensus coder.

A reconciliation session compares coder A and coder B unit by unit (paragraph,
turn or sentence; respondent speech only) over the paragraphs both coders
coded — ``units.compared_paragraphs``, the rule ``agree`` uses too: each
coder's assignments, or the documents a coder without assignments coded. A
turn only partly in that scope is trimmed to its compared paragraphs. For
every (unit, code):

- neither coder applied the code: nothing to do;
- both applied it with the same boundaries inside the unit: an *agreement*,
  copied into the consensus coder and recorded as decision ``agreed``;
- exactly one applied it: a disagreement of kind ``presence``;
- both applied it with different boundaries inside the unit: a disagreement
  of kind ``boundary``.

Each disagreement is settled by one decision — ``apply`` (the union of the
coders' spans inside the unit, or a span the caller chooses), ``reject``,
``A`` (A's span), ``B`` (B's span) — saved in its own transaction together
with the consensus codings it creates, so an interrupted session loses
nothing. ``skip`` leaves a disagreement open (saved only when it carries a
note). ``undo_last`` marks the latest decision undone and removes its
codings. Decisions refer to codes by code_id, so a renamed code keeps them.

The consensus is an ordinary coder whose codings have origin ``reconcile``;
each carries ``{"decision_id": N}`` in its detail, which is how undo finds it.
Library code: nothing here prints or prompts.

Modules (the public names are re-exported here):

- ``disagreements``: the compared units and the Disagreement / Agreement / Carried / Undone records
- ``session``: ``open_session`` and ``Session`` — the comparison, ``decide`` / ``undo_last``, the consensus codings
- ``sheet``: the decisions sheet out (``write_sheet``) and back in (``reconcile_from_sheet``)
- ``log``: ``decision_log``, every decision as a table
"""

from __future__ import annotations

from qualcode.reconcile.disagreements import (
    Agreement, CLOSING_DECISIONS, Carried, DECISIONS, Disagreement, RECONCILE_LEVELS, Undone, compared_units,
    describe_action, inside_segments, with_decision,
)
from qualcode.reconcile.session import Session, open_session, recorded_sessions
from qualcode.reconcile.sheet import (
    ABOUT_SHEET, SHEET_CHOICES, SHEET_COLUMNS, SHEET_NAME, apply_sheet, reconcile_from_sheet, sheet_settings,
    write_sheet,
)
from qualcode.reconcile.log import LOG_COLUMNS, decision_log

__all__ = [
    "ABOUT_SHEET",
    "Agreement",
    "CLOSING_DECISIONS",
    "Carried",
    "DECISIONS",
    "Disagreement",
    "LOG_COLUMNS",
    "RECONCILE_LEVELS",
    "SHEET_CHOICES",
    "SHEET_COLUMNS",
    "SHEET_NAME",
    "Session",
    "Undone",
    "apply_sheet",
    "compared_units",
    "decision_log",
    "describe_action",
    "inside_segments",
    "open_session",
    "reconcile_from_sheet",
    "recorded_sessions",
    "sheet_settings",
    "with_decision",
    "write_sheet",
]
