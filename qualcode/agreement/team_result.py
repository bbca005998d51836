"""``compute_team_agreement``: two or more coders, per code, per theme, pooled, pairwise and per exclusive group.

The library returns DataFrames; ``qualcode agree A B C …`` renders them.
Formulas, the undefined-value policy and references: docs/methods/agreement.md.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Sequence

from qualcode.agreement import team_frames
from qualcode.agreement.intervals import bootstrap_draws
from qualcode.agreement.team_blocks import COUNT_COLUMNS, _binary_block
from qualcode.agreement.teams import gather_team_data


@dataclass
class TeamAgreementResult:
    """What ``compute_team_agreement`` returns.

    ``per_code``, ``per_theme`` and ``pooled`` have the columns code, label,
    level, units (rated by at least one coder), pairable_units (by two or
    more), ratings, applied (ratings of "present"), percent, fleiss_kappa,
    alpha, ac1, bp, light_kappa and a ``*_reason`` per statistic; with CIs,
    ``*_lo`` / ``*_hi`` (cluster bootstrap), ``*_se`` / ``*_gwet_lo`` /
    ``*_gwet_hi`` (Gwet's variance, for fleiss_kappa, ac1, bp) and
    ``fleiss_kappa_se0`` / ``_z`` / ``_p`` (the test of κ = 0). ``pairwise``
    has Cohen's κ for every pair of coders per code and pooled. ``groups``,
    ``group_categories`` and ``group_coincidences`` describe the exclusive
    code groups, ``group_tables`` each pair of coders' category × category
    table; ``problems`` lists the units where a coder applied two codes
    of one exclusive group.
    """

    coders: list[str]
    unit: str
    per_code: object
    per_theme: object
    pooled: object
    pairwise: object
    groups: object
    group_categories: object
    group_coincidences: object
    group_tables: object
    problems: object
    compared: dict
    ci: bool = False
    ci_level: float = 0.95
    settings: dict = field(default_factory=dict)

    def table(self):
        """per_code, per_theme and pooled rows stacked (the ``level`` column tells them apart)."""
        import pandas as pd

        stacked = pd.concat([p for p in (self.per_code, self.per_theme, self.pooled) if len(p)], ignore_index=True)
        for cell in COUNT_COLUMNS:  # integers, the pooled mean row blank (see AgreementResult.table)
            stacked[cell] = pd.Series(["" if pd.isna(v) else int(v) for v in stacked[cell]], dtype=object)
        return stacked

    def sheets(self) -> dict:
        """{sheet name: DataFrame} for an xlsx workbook."""
        import pandas as pd

        compared = pd.DataFrame(
            [{"item": k, "value": ", ".join(v) if isinstance(v, list) else str(v)} for k, v in self.compared.items()]
            + [{"item": f"setting: {k}", "value": "" if v is None else str(v)} for k, v in self.settings.items()])
        sheets = {"per code": self.per_code, "per theme": self.per_theme, "pooled": self.pooled,
                  "pairwise": self.pairwise}
        if len(self.groups):
            sheets.update({"groups": self.groups, "group categories": self.group_categories,
                           "group coincidences": self.group_coincidences, "group tables": self.group_tables,
                           "group problems": self.problems})
        sheets["compared"] = compared
        return sheets

    def to_dict(self) -> dict:
        """A JSON-ready dict (undefined values as None)."""
        import math

        def records(df):
            rows = df.to_dict(orient="records")
            return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
                    for row in rows]

        out = {"coders": self.coders, "unit": self.unit, "compared": self.compared, "settings": self.settings}
        for name in ("per_code", "per_theme", "pooled", "pairwise", "groups", "group_categories",
                     "group_coincidences", "group_tables", "problems"):
            out[name] = records(getattr(self, name))
        return out


def compute_team_agreement(
    conn: sqlite3.Connection,
    coders: Sequence[str],
    *,
    unit: str = "paragraph",
    codes: Sequence[str] | None = None,
    min_overlap: float = 0.0,
    ci: bool = False,
    n_boot: int = 1000,
    seed: int = 0,
    scope: str = "assigned",
    language: str = "en",
    ci_level: float = 0.95,
) -> TeamAgreementResult:
    """Agreement among two or more ``coders``, per code, per theme, pooled, pairwise and per exclusive group.

    The units, the overlap rule and ``scope`` are those of ``compute_agreement``,
    except that a paragraph is compared when it lies in the scope of at least
    two coders, and a coder is missing (not absent) for a unit outside their
    scope. ``unit="char"`` is for two coders only. With ``ci``, percentile
    intervals from a cluster bootstrap over respondents (``n_boot``
    replicates, ``seed``), Gwet's analytic intervals and the Fleiss–Nee–Landis
    test of κ = 0. Reads only.
    """
    data = gather_team_data(conn, coders, unit=unit, codes=codes, min_overlap=min_overlap, scope=scope,
                            language=language, ci=ci, n_boot=n_boot)
    draws = bootstrap_draws(data.n_clusters, n_boot=n_boot, seed=seed) if ci else None
    n_codes = data.n_codes
    code_block = _binary_block(data.present[:, :, :n_codes], data.rated, data.clusters, data.n_clusters, draws,
                               ci_level)
    theme_block = _binary_block(data.present[:, :, n_codes:], data.rated, data.clusters, data.n_clusters, draws,
                                ci_level)
    settings = {"unit": unit, "codes": list(codes) if codes else None, "min_overlap": min_overlap, "scope": scope,
                "ci": ci, "n_boot": n_boot if ci else None, "seed": seed if ci else None,
                "ci_level": ci_level if ci else None}
    groups = team_frames.group_frames(data, draws, ci_level, ci=ci)
    return TeamAgreementResult(
        data.coders, unit,
        team_frames.column_frame(data.columns[:n_codes], code_block, ci=ci),
        team_frames.column_frame(data.columns[n_codes:], theme_block, ci=ci),
        team_frames.pooled_frame(code_block, n_codes, ci=ci),
        team_frames.pairwise_frame(data.coders, data.columns[:n_codes], code_block),
        *groups, compared=data.compared, ci=ci, ci_level=ci_level, settings=settings)
