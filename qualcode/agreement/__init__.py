"""Inter-coder agreement, per code and pooled, on a unit the researcher chooses.

``compute_agreement`` compares two coders (2×2 tables per code, the
statistics in ``tables``); ``compute_team_agreement`` compares two or more
(Fleiss' κ, Krippendorff's α with missing values, Gwet's AC1,
Brennan–Prediger, Light's κ, the pairwise κ matrix and mutually exclusive
code groups, statistics in ``many``). Every public name is re-exported here,
so ``from qualcode import agreement; agreement.compute_agreement(...)`` reads
as before the package was split. Formulas and references:
docs/methods/agreement.md.
"""

from qualcode.agreement.report import (CHART_SUFFIXES, codes_below, coder_pair_for_demo, sort_by_kappa,
                                       write_chart)
from qualcode.agreement.tables import (NO_NEGATIVES, NO_POSITIVES, NO_UNITS, NO_VARIATION_ABSENT,
                                       NO_VARIATION_PRESENT, PERCENT_DIGITS, REASONED, STATISTIC_DIGITS, STATISTICS,
                                       UNDEFINED, ac1_2x2, ac1_table, alpha_nominal_2x2, bootstrap_replicates,
                                       bp_2x2, compare_tables, format_statistic, kappa_2x2, kappa_table, landis_koch,
                                       percent_agreement_2x2, percentile_interval, specific_agreement,
                                       statistics_2x2, tables_from_presence, undefined_reasons)
from qualcode.agreement.team_frames import pairwise_matrix
from qualcode.agreement.team_blocks import TEAM_STATISTICS
from qualcode.agreement.team_result import TeamAgreementResult, compute_team_agreement
from qualcode.agreement.teams import NONE_CATEGORY, exclusive_group_keys, gather_team_data
from qualcode.agreement.two_coders import AGREEMENT_LEVELS, SCOPES, AgreementResult, compute_agreement

__all__ = [
    "ac1_2x2", "ac1_table", "AGREEMENT_LEVELS", "AgreementResult", "alpha_nominal_2x2", "bootstrap_replicates",
    "bp_2x2", "CHART_SUFFIXES", "coder_pair_for_demo", "codes_below", "compare_tables", "compute_agreement",
    "compute_team_agreement", "exclusive_group_keys", "format_statistic", "gather_team_data", "kappa_2x2",
    "kappa_table", "landis_koch", "NO_NEGATIVES", "NO_POSITIVES", "NO_UNITS", "NO_VARIATION_ABSENT",
    "NO_VARIATION_PRESENT", "NONE_CATEGORY", "pairwise_matrix", "percent_agreement_2x2", "PERCENT_DIGITS",
    "percentile_interval", "REASONED", "SCOPES", "sort_by_kappa", "specific_agreement", "STATISTIC_DIGITS",
    "STATISTICS", "statistics_2x2", "tables_from_presence", "TEAM_STATISTICS", "TeamAgreementResult", "UNDEFINED",
    "undefined_reasons", "write_chart",
]
