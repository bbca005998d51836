"""The statistics of a block of variables among many coders: per variable, pooled, with intervals.

Shared by the per-code and per-theme tables (``team_result``) and the
exclusive groups (``team_frames``).
"""

from __future__ import annotations

from qualcode.agreement import many
from qualcode.agreement.intervals import fleiss_null_test, gwet_intervals
from qualcode.agreement.tables import _nanmean, percentile_interval

TEAM_STATISTICS = ("percent", "fleiss_kappa", "alpha", "ac1", "bp", "light_kappa")
ANALYTIC = ("fleiss_kappa", "ac1", "bp")  # Gwet's variance
COUNT_COLUMNS = ("units", "pairable_units", "ratings", "applied")



def _statistics(profiles, weights, pair_tables, pair_axis: int, *, binary: bool = True) -> dict:
    stats = many.many_statistics(profiles, weights)
    light, _, defined_pairs = _light(pair_tables, pair_axis, binary)
    stats["light_kappa"] = light
    stats["defined_pairs"] = defined_pairs
    return stats


def _light(pair_tables, axis: int, binary: bool):
    if binary:
        return many.light_kappa(pair_tables, axis=axis)
    import warnings

    import numpy as np

    kappas = _kappa_square(pair_tables)
    defined = np.count_nonzero(~np.isnan(kappas), axis=axis)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        light = np.nanmean(kappas, axis=axis) if kappas.shape[axis] else np.full(defined.shape, np.nan)
    return light, kappas, defined


def _kappa_square(tables):
    """Cohen's κ for q × q tables (the last two axes), vectorised; NaN where p_e = 1 or n = 0."""
    import numpy as np

    counts = np.asarray(tables, dtype=float)
    n = counts.sum(axis=(-1, -2))
    observed = many._ratio(np.trace(counts, axis1=-2, axis2=-1), n)
    chance = many._ratio((counts.sum(axis=-1) * counts.sum(axis=-2)).sum(axis=-1), n ** 2)
    return many._ratio(observed - chance, 1.0 - chance)


def _reasons(stats: dict, *, binary: bool) -> dict:
    import numpy as np

    reasons = many.many_reasons(stats, binary=binary)
    reasons["light_kappa"] = np.where(stats["defined_pairs"] == 0, many.NO_DEFINED_PAIR, "")
    return reasons


def _block(profiles, weights, cluster_weights, pair_tables, cluster_pair_tables, draws, ci_level,
           *, binary: bool = True) -> dict:
    """Statistics of K variables (weights (K, P), pair tables (pairs, K, …)): per variable, pooled (sum of the
    weights and of the pair tables) and pooled (mean), with bootstrap and analytic intervals when ``draws``."""
    import numpy as np

    stats = _statistics(profiles, weights, pair_tables, 0, binary=binary)
    summed = _statistics(profiles, weights.sum(axis=0), pair_tables.sum(axis=1), 0, binary=binary)
    out = {"stats": stats, "reasons": _reasons(stats, binary=binary), "pooled_sum": summed,
           "pooled_sum_reasons": _reasons(summed, binary=binary),
           "pooled_mean": {k: _nanmean(stats[k], axis=0) if len(stats[k]) else np.nan for k in TEAM_STATISTICS},
           "defined_counts": {k: int(np.count_nonzero(~np.isnan(stats[k]))) for k in TEAM_STATISTICS}}
    if draws is None:
        return out
    replicate_weights = np.tensordot(draws, cluster_weights, axes=(1, 0))  # (B, K, P)
    replicate_pairs = np.tensordot(draws, cluster_pair_tables, axes=(1, 0))  # (B, pairs, K, …)
    per_replicate = _statistics(profiles, replicate_weights, replicate_pairs, 1, binary=binary)
    summed_replicate = _statistics(profiles, replicate_weights.sum(axis=1), replicate_pairs.sum(axis=2), 1,
                                   binary=binary)
    out["ci"] = {k: percentile_interval(per_replicate[k], ci_level) for k in TEAM_STATISTICS}
    out["ci_pooled_sum"] = {k: percentile_interval(summed_replicate[k], ci_level) for k in TEAM_STATISTICS}
    out["ci_pooled_mean"] = {k: percentile_interval(_nanmean(per_replicate[k], axis=1), ci_level)
                             for k in TEAM_STATISTICS}
    out["analytic"] = gwet_intervals(profiles, weights, stats, ci_level)
    out["analytic_pooled_sum"] = gwet_intervals(profiles, weights.sum(axis=0), summed, ci_level)
    out["null"] = fleiss_null_test(profiles, weights, stats)
    out["null_pooled_sum"] = fleiss_null_test(profiles, weights.sum(axis=0), summed)
    return out


def _binary_block(present, rated, clusters, n_clusters, draws, ci_level) -> dict:
    """``_block`` for presence/absence columns: present (C, U, K)."""
    import numpy as np

    profiles = many.binary_profiles(present.shape[0])
    cluster_weights = cluster_pairs = None
    if draws is None:
        weights, pair_tables = many.binary_summaries(present, rated)
    else:
        cluster_weights, cluster_pairs = many.binary_summaries(present, rated, clusters, n_clusters)
        weights, pair_tables = cluster_weights.sum(axis=0), cluster_pairs.sum(axis=0)
    out = _block(profiles, weights, cluster_weights, pair_tables, cluster_pairs, draws, ci_level)
    out["counts"] = _counts(profiles, weights)
    out["pooled_counts"] = {k: float(np.sum(v)) for k, v in out["counts"].items()}
    out["pair_tables"] = pair_tables
    return out


def _counts(profiles, weights) -> dict:
    raters = profiles.sum(axis=1)
    return {"units": weights @ (raters >= 1), "pairable_units": weights @ (raters >= 2),
            "ratings": weights @ raters, "applied": weights @ profiles[:, 0]}
