"""Statistics on two coders' 2×2 tables, vectorised over many tables at once, and the cluster bootstrap.

For each code, presence/absence on the compared units gives a 2×2 table

                 coder B: yes   coder B: no
    coder A: yes      a              b
    coder A: no       c              d          n = a + b + c + d

from which percent agreement, Cohen's κ, Krippendorff's α (nominal), Gwet's
AC1, Brennan–Prediger κ and the positive / negative specific agreements are
computed. The functions take numpy arrays of a, b, c, d of any shape, so the
same code serves the per-code rows, the pooled rows and every bootstrap
replicate. The formulas, the undefined-value policy and the references are in
docs/methods/agreement.md.
"""

from __future__ import annotations

from qualcode.errors import InputError

STATISTICS = ("percent", "kappa", "alpha", "ac1", "bp", "pos_agree", "neg_agree")
# statistics that can be undefined on a table with n > 0, and so carry a reason column
REASONED = ("kappa", "alpha", "pos_agree", "neg_agree")

NO_VARIATION_ABSENT = "neither coder applied the code to any compared unit (no variation)"
NO_VARIATION_PRESENT = "both coders applied the code to every compared unit (no variation)"
NO_POSITIVES = "neither coder applied the code (a + b + c = 0)"
NO_NEGATIVES = "both coders applied the code everywhere (b + c + d = 0)"
NO_UNITS = "no units compared"


# --------------------------------------------------------------------------
# Statistics on 2×2 tables (numpy arrays of any shape; NaN where undefined)
# --------------------------------------------------------------------------

def _cells(a, b, c, d):
    import numpy as np

    return (np.asarray(a, dtype=float), np.asarray(b, dtype=float),
            np.asarray(c, dtype=float), np.asarray(d, dtype=float))


def _ratio(numerator, denominator):
    """numerator / denominator, NaN where the denominator is 0 (no warnings)."""
    import numpy as np

    numerator, denominator = np.broadcast_arrays(np.asarray(numerator, dtype=float),
                                                 np.asarray(denominator, dtype=float))
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def percent_agreement_2x2(a, b, c, d):
    """Proportion of units on which the coders agree, (a + d) / n (0–1; NaN when n = 0)."""
    a, b, c, d = _cells(a, b, c, d)
    return _ratio(a + d, a + b + c + d)


def kappa_2x2(a, b, c, d):
    """Cohen's κ = (p_o − p_e) / (1 − p_e), p_e = p_A·p_B + (1 − p_A)(1 − p_B).

    Computed in the equivalent closed form 2(ad − bc) / ((a+b)(b+d) + (a+c)(c+d)),
    which is exact in floating point. Undefined (NaN) when p_e = 1, i.e. when
    both coders gave every unit the same single value.
    """
    a, b, c, d = _cells(a, b, c, d)
    return _ratio(2.0 * (a * d - b * c), (a + b) * (b + d) + (a + c) * (c + d))


def kappa_table(table) -> float:
    """Cohen's κ for one k × k table of counts (rows coder A, columns coder B).

    p_o = Σ p_ii, p_e = Σ p_i· p_·i (a sum over categories of products of the
    two coders' marginal proportions). NaN when p_e = 1. ``kappa_2x2`` is the
    k = 2 case in closed form; this general form is here to check it against
    Cohen's (1960) own three-category example.
    """
    import numpy as np

    counts = np.asarray(table, dtype=float)
    n = counts.sum()
    if n == 0:
        return float("nan")
    proportions = counts / n
    observed = float(np.trace(proportions))
    chance = float(proportions.sum(axis=1) @ proportions.sum(axis=0))
    return float("nan") if chance >= 1.0 else (observed - chance) / (1.0 - chance)


def ac1_table(table) -> float:
    """Gwet's AC1 for one q × q table of counts (rows coder A, columns coder B).

    p_e = Σ_k π_k (1 − π_k) / (q − 1), π_k = the mean of the two coders' proportions
    in category k (Gwet 2008). ``ac1_2x2`` is the q = 2 case; this general form
    reproduces the handbook's three-category example.
    """
    import numpy as np

    counts = np.asarray(table, dtype=float)
    n, q = counts.sum(), counts.shape[0]
    if n == 0 or q < 2:
        return float("nan")
    proportions = counts / n
    observed = float(np.trace(proportions))
    prevalence = (proportions.sum(axis=1) + proportions.sum(axis=0)) / 2.0
    chance = float(np.sum(prevalence * (1.0 - prevalence)) / (q - 1))
    return (observed - chance) / (1.0 - chance)


def alpha_nominal_2x2(a, b, c, d):
    """Krippendorff's α for two coders, binary (nominal) values, no missing data.

    From the coincidence matrix (o₁₁ = 2a, o₀₁ = o₁₀ = b + c, o₀₀ = 2d;
    n₁ = 2a + b + c, n₀ = 2d + b + c, N = 2n):
    α = 1 − (N − 1)·o₀₁ / (n₀·n₁). Undefined (NaN) when n₀·n₁ = 0 — no variation
    in the values at all (Krippendorff 2011).
    """
    a, b, c, d = _cells(a, b, c, d)
    n_pairable = 2.0 * (a + b + c + d)
    disagreement = b + c
    expected = (2.0 * d + disagreement) * (2.0 * a + disagreement)
    return 1.0 - _ratio((n_pairable - 1.0) * disagreement, expected)


def ac1_2x2(a, b, c, d):
    """Gwet's AC1 = (p_o − p_e) / (1 − p_e), p_e = 2π(1 − π), π = (2a + b + c) / 2n.

    p_e ≤ 0.5, so AC1 is defined whenever n > 0.
    """
    import numpy as np

    a, b, c, d = _cells(a, b, c, d)
    n = a + b + c + d
    observed = _ratio(a + d, n)
    prevalence = _ratio(2.0 * a + b + c, 2.0 * n)
    chance = 2.0 * prevalence * (1.0 - prevalence)
    return np.where(n > 0, _ratio(observed - chance, 1.0 - chance), np.nan)


def bp_2x2(a, b, c, d):
    """Brennan–Prediger κ_n = (p_o − 1/q) / (1 − 1/q) with q = 2 categories: 2·p_o − 1."""
    return 2.0 * percent_agreement_2x2(a, b, c, d) - 1.0


def specific_agreement(a, b, c, d):
    """Positive and negative specific agreement (Fleiss 1975; Cicchetti & Feinstein 1990).

    Returns ``(pos, neg)``: pos = 2a / (2a + b + c), undefined when a + b + c = 0;
    neg = 2d / (2d + b + c), undefined when b + c + d = 0.
    """
    a, b, c, d = _cells(a, b, c, d)
    return _ratio(2.0 * a, 2.0 * a + b + c), _ratio(2.0 * d, 2.0 * d + b + c)


def statistics_2x2(a, b, c, d) -> dict:
    """Every statistic for the given tables: ``{name: array}`` (percent in 0–100)."""
    positive, negative = specific_agreement(a, b, c, d)
    return {
        "percent": 100.0 * percent_agreement_2x2(a, b, c, d),
        "kappa": kappa_2x2(a, b, c, d),
        "alpha": alpha_nominal_2x2(a, b, c, d),
        "ac1": ac1_2x2(a, b, c, d),
        "bp": bp_2x2(a, b, c, d),
        "pos_agree": positive,
        "neg_agree": negative,
    }


def undefined_reasons(a, b, c, d) -> dict:
    """Why each statistic is undefined for each table (``''`` where it is defined)."""
    import numpy as np

    a, b, c, d = _cells(a, b, c, d)
    n = a + b + c + d
    empty = n == 0
    all_absent = (a + b + c == 0) & ~empty
    all_present = (b + c + d == 0) & ~empty
    no_variation = np.where(empty, NO_UNITS, np.where(all_absent, NO_VARIATION_ABSENT,
                                                       np.where(all_present, NO_VARIATION_PRESENT, "")))
    return {
        "kappa": no_variation,
        "alpha": no_variation.copy(),
        "pos_agree": np.where(empty, NO_UNITS, np.where(a + b + c == 0, NO_POSITIVES, "")),
        "neg_agree": np.where(empty, NO_UNITS, np.where(b + c + d == 0, NO_NEGATIVES, "")),
    }


UNDEFINED = "—"
PERCENT_DIGITS = 1  # percent agreement is shown to 1 decimal wherever it is shown for people
STATISTIC_DIGITS = 2  # κ, α, AC1, BP and specific agreement in tables and summaries


def format_statistic(value: float | None, digits: int = STATISTIC_DIGITS) -> str:
    """A statistic as people read it: ``digits`` decimals, or ``—`` when it is undefined (None or NaN)."""
    if value is None or value != value:
        return UNDEFINED
    return f"{value:.{digits}f}"


def landis_koch(kappa: float | None) -> str:
    """Landis & Koch's (1977) label for a κ value ('' when undefined)."""
    if kappa is None or kappa != kappa:
        return ""
    if kappa < 0:
        return "poor"
    for upper, label in ((0.20, "slight"), (0.40, "fair"), (0.60, "moderate"), (0.80, "substantial")):
        if kappa <= upper + 1e-12:
            return label
    return "almost perfect"


# --------------------------------------------------------------------------
# Tables from presence data, and the cluster bootstrap
# --------------------------------------------------------------------------

def tables_from_presence(present_a, present_b, clusters=None):
    """2×2 cell counts per column of two boolean (units × columns) presence matrices.

    Returns an int64 array of shape (columns, 4) holding a, b, c, d; with
    ``clusters`` (an integer cluster index per unit, 0..R-1), an array of shape
    (R, columns, 4) with one table per cluster.
    """
    import numpy as np

    present_a = np.asarray(present_a, dtype=bool)
    present_b = np.asarray(present_b, dtype=bool)
    both = present_a & present_b
    only_a = present_a & ~present_b
    only_b = present_b & ~present_a
    if clusters is None:
        n = present_a.shape[0]
        a = np.count_nonzero(both, axis=0)
        b = np.count_nonzero(only_a, axis=0)
        c = np.count_nonzero(only_b, axis=0)
        return np.stack([a, b, c, n - a - b - c], axis=-1).astype(np.int64)
    clusters = np.asarray(clusters)
    order = np.argsort(clusters, kind="stable")
    sorted_clusters = clusters[order]
    n_clusters = int(sorted_clusters[-1]) + 1 if len(sorted_clusters) else 0
    starts = np.searchsorted(sorted_clusters, np.arange(n_clusters))
    present = np.searchsorted(sorted_clusters, np.arange(n_clusters), side="right") > starts
    out = np.zeros((n_clusters, present_a.shape[1], 4), dtype=np.int64)
    if not len(order):
        return out
    sizes = np.bincount(clusters, minlength=n_clusters)
    used = np.flatnonzero(present)
    for index, matrix in enumerate((both, only_a, only_b)):
        out[used, :, index] = np.add.reduceat(matrix[order].astype(np.int32), starts[used], axis=0)
    out[:, :, 3] = sizes[:, None] - out[:, :, :3].sum(axis=2)
    return out


def bootstrap_replicates(cluster_tables, *, n_boot: int = 1000, seed: int = 0):
    """Cluster-bootstrap replicates of summed tables.

    ``cluster_tables`` has shape (R, ..., 4). Each replicate draws R clusters
    with replacement; its table is the sum of the drawn clusters' tables, so a
    replicate is one matrix product of the draw counts with the cluster tables.
    Returns an array of shape (n_boot, ..., 4).
    """
    import numpy as np

    cluster_tables = np.asarray(cluster_tables)
    n_clusters = cluster_tables.shape[0]
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=n_boot).astype(float)
    flat = cluster_tables.reshape(n_clusters, -1).astype(float)
    return (draws @ flat).reshape((n_boot,) + cluster_tables.shape[1:])


def percentile_interval(replicates, level: float = 0.95):
    """Percentile interval over axis 0, ignoring replicates where the statistic is undefined."""
    import warnings

    import numpy as np

    tail = (1.0 - level) / 2.0 * 100.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low = np.nanpercentile(replicates, tail, axis=0)
        high = np.nanpercentile(replicates, 100.0 - tail, axis=0)
    return low, high


def _nanmean(values, axis):
    import warnings

    import numpy as np

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(values, axis=axis)


def compare_tables(tables, cluster_tables=None, *, ci: bool = False, n_boot: int = 1000, seed: int = 0,
                   ci_level: float = 0.95) -> dict:
    """Statistics for per-column tables (shape (K, 4)), the pooled rows, and optional CIs.

    Returns ``{"stats": {name: (K,)}, "reasons": {name: (K,)}, "pooled_sum": {name: float},
    "pooled_mean": {name: float}, "defined_counts": {name: int}}`` and, with ``ci``,
    ``"ci": {name: (low (K,), high (K,))}``, ``"ci_pooled_sum"`` and ``"ci_pooled_mean"``
    (each ``{name: (low, high)}``). ``cluster_tables`` (shape (R, K, 4)) is required for CIs.
    """
    import numpy as np

    tables = np.asarray(tables)
    cells = [tables[..., i] for i in range(4)]
    stats = statistics_2x2(*cells)
    summed = tables.sum(axis=0)
    pooled_sum = {k: float(v) for k, v in statistics_2x2(*summed).items()}
    pooled_mean = {k: float(_nanmean(v, axis=0)) if v.size else float("nan") for k, v in stats.items()}
    result = {
        "stats": stats,
        "reasons": undefined_reasons(*cells),
        "pooled_sum": pooled_sum,
        "pooled_sum_reasons": {k: str(v) for k, v in undefined_reasons(*summed).items()},
        "pooled_mean": pooled_mean,
        "defined_counts": {k: int(np.count_nonzero(~np.isnan(v))) for k, v in stats.items()},
    }
    if ci:
        if cluster_tables is None:
            raise InputError("confidence intervals need the tables of each cluster (respondent)")
        replicates = bootstrap_replicates(cluster_tables, n_boot=n_boot, seed=seed)  # (B, K, 4)
        rep_cells = [replicates[..., i] for i in range(4)]
        rep_stats = statistics_2x2(*rep_cells)
        rep_sum = statistics_2x2(*[replicates[..., i].sum(axis=1) for i in range(4)])
        result["ci"] = {k: percentile_interval(v, ci_level) for k, v in rep_stats.items()}
        result["ci_pooled_sum"] = {k: tuple(float(x) for x in percentile_interval(v, ci_level))
                                   for k, v in rep_sum.items()}
        result["ci_pooled_mean"] = {k: tuple(float(x) for x in percentile_interval(_nanmean(v, axis=1), ci_level))
                                    for k, v in rep_stats.items()}
    return result
