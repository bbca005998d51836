"""Agreement among two or more coders with missing ratings, vectorised over many variables at once.

A variable (one code as presence/absence, or one exclusive code group as a
nominal variable) is summarised by *profiles*: the distinct rows r_i = (r_i1,
…, r_iq) of "how many coders put unit i in category k", and their *weights*,
how many units have each profile. Every statistic here is a function of
(profiles, weights) alone, and weights add up: the pooled table of several
codes is the sum of their weights, and a cluster-bootstrap replicate is a
weighted sum of the clusters' weights. So one array of weights of shape
(..., P) serves per-code rows, pooled rows and every replicate.

Definitions (Gwet 2014; Krippendorff 2011), for units with
r_i ≥ 1 ratings, n of them, n₂ of them with r_i ≥ 2:

* p_a = (1/n₂) Σ_{r_i ≥ 2} Σ_k r_ik (r_ik − 1) / (r_i (r_i − 1)) — the
  proportion of agreeing coder pairs in a unit, averaged over units (Fleiss'
  P̄; "percent" is 100·p_a).
* π_k = (1/n) Σ_i r_ik / r_i — category k's share.
* Fleiss' κ: p_e = Σ π_k²; Gwet's AC1: p_e = Σ π_k (1 − π_k) / (q − 1);
  Brennan–Prediger: p_e = 1/q; each (p_a − p_e) / (1 − p_e).
* Krippendorff's α (nominal) from the coincidences of the pairable units
  (r_i ≥ 2): α = 1 − (N − 1) Σ_{c≠k} o_ck / Σ_{c≠k} n_c n_k.

docs/methods/agreement.md gives the formulas with references and the
undefined-value policy.
"""

from __future__ import annotations

import math

MANY_STATISTICS = ("percent", "fleiss_kappa", "alpha", "ac1", "bp")

NO_PAIRABLE = "no unit was rated by two or more coders"
NO_VARIATION = "every rating is the same category (no variation)"
NO_VARIATION_ABSENT_ALL = "no coder applied the code to any compared unit (no variation)"
NO_VARIATION_PRESENT_ALL = "every coder applied the code to every compared unit (no variation)"


def _ratio(numerator, denominator):
    """numerator / denominator, NaN where the denominator is 0 (no warnings)."""
    import numpy as np

    numerator, denominator = np.broadcast_arrays(np.asarray(numerator, dtype=float),
                                                 np.asarray(denominator, dtype=float))
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


# --------------------------------------------------------------------------
# Profiles and weights
# --------------------------------------------------------------------------

def category_counts(ratings, categories=None):
    """Counts (units × q) of how many coders gave each category, from a units × coders array.

    Missing ratings are NaN or None. ``categories`` fixes the categories and
    their order (default: the sorted values seen). Returns ``(counts, categories)``.
    """
    import numpy as np

    values = np.asarray(ratings, dtype=object)
    missing = np.array([[v is None or (isinstance(v, float) and math.isnan(v)) for v in row] for row in values],
                       dtype=bool).reshape(values.shape)
    if categories is None:
        categories = sorted({v for v, m in zip(values.ravel(), missing.ravel()) if not m})
    counts = np.zeros((values.shape[0], len(categories)), dtype=np.int64)
    for k, category in enumerate(categories):
        counts[:, k] = np.sum((values == category) & ~missing, axis=1)
    return counts, list(categories)


def profiles_from_counts(counts, clusters=None):
    """(profiles (P, q), weights) for unit × category counts; with ``clusters`` (an index 0..R-1 per
    unit) the weights have shape (R, P), one row per cluster, otherwise (P,)."""
    import numpy as np

    counts = np.asarray(counts, dtype=np.int64)
    if not len(counts):
        return np.zeros((1, counts.shape[1]), dtype=np.int64), np.zeros((0, 1) if clusters is not None else 1)
    profiles, inverse = np.unique(counts, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    if clusters is None:
        return profiles, np.bincount(inverse, minlength=len(profiles)).astype(float)
    clusters = np.asarray(clusters, dtype=np.int64)
    n_clusters = int(clusters.max()) + 1
    flat = np.bincount(clusters * len(profiles) + inverse, minlength=n_clusters * len(profiles))
    return profiles, flat.reshape(n_clusters, len(profiles)).astype(float)


def binary_profiles(n_coders: int):
    """The profiles of a presence/absence code among ``n_coders``: (present, absent) counts for every
    number of raters r ≤ n_coders and present ≤ r, indexed r·(C + 1) + present (impossible ones (0, 0))."""
    import numpy as np

    size = n_coders + 1
    raters, present = np.divmod(np.arange(size * size), size)
    valid = present <= raters
    return np.stack([np.where(valid, present, 0), np.where(valid, raters - present, 0)], axis=1).astype(np.int64)


def binary_weights(present, rated, clusters=None, n_clusters: int | None = None):
    """Weights over ``binary_profiles(C)`` for each code, from per-coder presence and rating masks.

    ``present`` is a (C, U, K) boolean array (coder, unit, code), ``rated`` a
    (C, U) boolean array (did the coder rate the unit: it was in their scope).
    Returns (K, P) weights, or (R, K, P) with ``clusters`` (an index per unit).
    A unit counts once per code: one ``bincount`` over units × codes.
    """
    import numpy as np

    present = np.asarray(present, dtype=bool)
    rated = np.asarray(rated, dtype=bool)
    n_coders, n_units, n_codes = present.shape
    size = n_coders + 1
    raters = rated.sum(axis=0).astype(np.int64)  # (U,)
    count = np.zeros((n_units, n_codes), dtype=np.int64)
    for coder in range(n_coders):  # a loop over coders only; each step is one (U, K) array operation
        count += present[coder] & rated[coder][:, None]
    index = raters[:, None] * size + count  # (U, K)
    index += np.arange(n_codes, dtype=np.int64)[None, :] * (size * size)
    if clusters is None:
        return np.bincount(index.ravel(), minlength=n_codes * size * size).reshape(n_codes, size * size).astype(float)
    clusters = np.asarray(clusters, dtype=np.int64)
    if n_clusters is None:
        n_clusters = int(clusters.max()) + 1 if len(clusters) else 0
    index += clusters[:, None] * (n_codes * size * size)
    flat = np.bincount(index.ravel(), minlength=n_clusters * n_codes * size * size)
    return flat.reshape(n_clusters, n_codes, size * size).astype(float)


# --------------------------------------------------------------------------
# Statistics from profiles and weights
# --------------------------------------------------------------------------

def _profile_terms(profiles):
    """Per-profile quantities: raters r, p_a term, shares r_k / r, α disagreement term, masks."""
    import numpy as np

    counts = np.asarray(profiles, dtype=float)
    raters = counts.sum(axis=1)
    rated, pairable = raters >= 1, raters >= 2
    agree = _ratio((counts * (counts - 1.0)).sum(axis=1), raters * (raters - 1.0))
    agree = np.where(pairable, agree, 0.0)
    shares = np.where(rated[:, None], _ratio(counts, raters[:, None]), 0.0)
    disagree = np.where(pairable, _ratio(raters ** 2 - (counts ** 2).sum(axis=1), raters - 1.0), 0.0)
    pairable_values = counts * pairable[:, None]
    return {"raters": raters, "rated": rated.astype(float), "pairable": pairable.astype(float), "agree": agree,
            "shares": shares, "disagree": disagree, "pairable_values": pairable_values}


def many_statistics(profiles, weights) -> dict:
    """Percent agreement, Fleiss' κ, Krippendorff's α, Gwet's AC1 and Brennan–Prediger for weights of any
    shape (..., P) over ``profiles`` (P, q). Returns ``{name: array (...)}`` plus ``pi`` (..., q) and the
    counts ``units`` (n) and ``pairable_units`` (n₂); NaN where a statistic is undefined."""
    import numpy as np

    terms = _profile_terms(profiles)
    weights = np.asarray(weights, dtype=float)
    q = terms["shares"].shape[1]
    units = weights @ terms["rated"]
    pairable_units = weights @ terms["pairable"]
    observed = _ratio(weights @ terms["agree"], pairable_units)
    pi = _ratio(weights @ terms["shares"], units[..., None])
    chance_fleiss = (pi ** 2).sum(axis=-1)
    chance_ac1 = (pi * (1.0 - pi)).sum(axis=-1) / (q - 1) if q >= 2 else np.full(units.shape, np.nan)
    chance_bp = 1.0 / q if q >= 2 else np.nan
    value_counts = weights @ terms["pairable_values"]  # n_c over pairable units
    total = value_counts.sum(axis=-1)
    expected = total ** 2 - (value_counts ** 2).sum(axis=-1)
    alpha = 1.0 - _ratio((total - 1.0) * (weights @ terms["disagree"]), expected)
    alpha = np.where(pairable_units > 0, alpha, np.nan)
    return {
        "percent": 100.0 * observed,
        "fleiss_kappa": _ratio(observed - chance_fleiss, 1.0 - chance_fleiss),
        "alpha": alpha,
        "ac1": _ratio(observed - chance_ac1, 1.0 - chance_ac1),
        "bp": _ratio(observed - chance_bp, 1.0 - chance_bp),
        "pi": pi, "units": units, "pairable_units": pairable_units, "pairable_values": value_counts,
    }


def many_reasons(stats: dict, *, binary: bool) -> dict:
    """Why Fleiss' κ and α are undefined for each variable ('' where defined), from ``many_statistics``."""
    import numpy as np

    none_pairable = stats["pairable_units"] == 0
    pi = stats["pi"]
    value_counts = stats["pairable_values"]
    one_value = (value_counts > 0).sum(axis=-1) <= 1
    one_share = np.nanmax(np.where(np.isnan(pi), 0.0, pi), axis=-1) >= 1.0 - 1e-12
    if binary:
        # category 0 is "present", 1 "absent"
        absent_text = np.where(pi[..., 0] <= 1e-12, NO_VARIATION_ABSENT_ALL, NO_VARIATION_PRESENT_ALL)
        alpha_text = np.where(value_counts[..., 0] == 0, NO_VARIATION_ABSENT_ALL, NO_VARIATION_PRESENT_ALL)
    else:
        absent_text = alpha_text = np.full(none_pairable.shape, NO_VARIATION)
    return {
        "fleiss_kappa": np.where(none_pairable, NO_PAIRABLE, np.where(one_share, absent_text, "")),
        "alpha": np.where(none_pairable, NO_PAIRABLE, np.where(one_value, alpha_text, "")),
        "ac1": np.where(none_pairable, NO_PAIRABLE, ""),
        "bp": np.where(none_pairable, NO_PAIRABLE, ""),
        "percent": np.where(none_pairable, NO_PAIRABLE, ""),
    }


def coincidence_matrix(profiles, weights):
    """Krippendorff's coincidence matrix o_ck (q × q) over the pairable units: o_ck = Σ_i r_ic (r_ik − [c = k])
    / (r_i − 1). Its row sums are n_c; for two coders without missing ratings it is the symmetrised
    A × B table."""
    import numpy as np

    counts = np.asarray(profiles, dtype=float)
    raters = counts.sum(axis=1)
    pairable = raters >= 2
    weight = np.where(pairable, _ratio(np.asarray(weights, dtype=float), raters - 1.0), 0.0)
    products = counts[:, :, None] * counts[:, None, :] - np.eye(counts.shape[1])[None] * counts[:, :, None]
    return np.tensordot(weight, products, axes=(0, 0))


# --------------------------------------------------------------------------
# Pairs of coders: Cohen's κ per pair and Light's κ
# --------------------------------------------------------------------------

NO_DEFINED_PAIR = "no pair of coders has a defined Cohen's κ"


def coder_pairs(n_coders: int) -> list[tuple[int, int]]:
    """Every pair (j, k), j < k, in a fixed order (the rows of ``pairwise_tables``)."""
    return [(j, k) for j in range(n_coders) for k in range(j + 1, n_coders)]


def pairwise_tables(present, rated, clusters=None, n_clusters: int | None = None):
    """Cohen's 2×2 tables (a, b, c, d) of every coder pair over the units both rated.

    ``present`` (C, U, K) and ``rated`` (C, U) as for ``binary_weights``.
    Returns (pairs, K, 4), or (R, pairs, K, 4) with ``clusters``.
    """
    import numpy as np

    from qualcode.agreement.tables import tables_from_presence

    present = np.asarray(present, dtype=bool)
    rated = np.asarray(rated, dtype=bool)
    n_coders, n_units, n_codes = present.shape
    if clusters is not None:
        clusters = np.asarray(clusters, dtype=np.int64)
        if n_clusters is None:
            n_clusters = int(clusters.max()) + 1 if len(clusters) else 0
    out = []
    for first, second in coder_pairs(n_coders):  # a loop over pairs only; each step is one (U, K) operation
        both = rated[first] & rated[second]
        left, right = present[first] & both[:, None], present[second] & both[:, None]
        if clusters is None:
            tables = tables_from_presence(left, right)
            tables[:, 3] -= n_units - int(both.sum())  # d counts only the units both rated
        else:
            tables = np.zeros((n_clusters, n_codes, 4), dtype=np.int64)
            if n_units:
                found = tables_from_presence(left, right, clusters)
                tables[:len(found)] = found
            sizes = np.bincount(clusters, minlength=n_clusters)
            rated_sizes = np.bincount(clusters, weights=both, minlength=n_clusters).astype(np.int64)
            tables[:, :, 3] -= (sizes - rated_sizes)[:, None]
        out.append(tables)
    if not out:
        return np.zeros((0, n_codes, 4)) if clusters is None else np.zeros((n_clusters, 0, n_codes, 4))
    return np.stack(out, axis=0 if clusters is None else 1)


def light_kappa(pair_tables, axis: int = 0):
    """Light's (1971) κ: the mean of the pairwise Cohen's κ over the pairs where it is defined.

    ``pair_tables`` has the pairs on ``axis`` and the cells last. Returns
    ``(light, pair_kappas, defined_pairs)``; ``light`` is NaN where no pair
    has a defined κ.
    """
    import warnings

    import numpy as np

    from qualcode.agreement.tables import kappa_2x2

    tables = np.asarray(pair_tables, dtype=float)
    kappas = kappa_2x2(*[tables[..., i] for i in range(4)])
    defined = np.count_nonzero(~np.isnan(kappas), axis=axis)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        light = np.nanmean(kappas, axis=axis) if kappas.shape[axis] else np.full(defined.shape, np.nan)
    return light, kappas, defined


# --------------------------------------------------------------------------
# Both summaries at once, through each unit's rating state
# --------------------------------------------------------------------------

STATE_CODERS_MAX = 6  # 3^6 = 729 states; beyond, the per-pair path (the state histogram would grow too large)


def _state_maps(n_coders: int):
    """For every state Σ_c v_c 3^c (v = 0 missing, 1 rated absent, 2 rated present): its profile index in
    ``binary_profiles`` as a one-hot (S, P) matrix, and its cells in each pair's 2×2 table, (S, pairs × 4)."""
    import numpy as np

    states = np.arange(3 ** n_coders)
    digits = (states[:, None] // (3 ** np.arange(n_coders))[None, :]) % 3  # (S, C)
    raters, present = (digits > 0).sum(axis=1), (digits == 2).sum(axis=1)
    size = n_coders + 1
    to_profile = np.zeros((len(states), size * size))
    to_profile[states, raters * size + present] = 1.0
    pairs = coder_pairs(n_coders)
    to_pairs = np.zeros((len(states), len(pairs), 4))
    for index, (first, second) in enumerate(pairs):
        left, right = digits[:, first], digits[:, second]
        for cell, (value_left, value_right) in enumerate(((2, 2), (2, 1), (1, 2), (1, 1))):
            to_pairs[:, index, cell] = (left == value_left) & (right == value_right)
    return to_profile, to_pairs.reshape(len(states), -1)


def binary_summaries(present, rated, clusters=None, n_clusters: int | None = None):
    """``(binary_weights(...), pairwise_tables(...))`` for the same arguments, computed together.

    Up to ``STATE_CODERS_MAX`` coders each (unit, code) is reduced to one
    rating state and counted once (one ``bincount``); the weights and every
    pair's tables are then small matrix products of that histogram. With more
    coders, the two functions are called.
    """
    import numpy as np

    present = np.asarray(present, dtype=bool)
    rated = np.asarray(rated, dtype=bool)
    n_coders, n_units, n_codes = present.shape
    if n_coders > STATE_CODERS_MAX:
        return (binary_weights(present, rated, clusters, n_clusters),
                pairwise_tables(present, rated, clusters, n_clusters))
    n_states = 3 ** n_coders
    state = np.zeros((n_units, n_codes), dtype=np.int64)
    for coder in range(n_coders):  # a loop over coders only; each step is one (U, K) array operation
        weight = 3 ** coder
        state += np.where(present[coder] & rated[coder][:, None], 2 * weight,
                          np.where(rated[coder], weight, 0)[:, None])
    state += np.arange(n_codes, dtype=np.int64)[None, :] * n_states
    if clusters is None:
        histogram = np.bincount(state.ravel(), minlength=n_codes * n_states).reshape(1, n_codes, n_states)
    else:
        clusters = np.asarray(clusters, dtype=np.int64)
        if n_clusters is None:
            n_clusters = int(clusters.max()) + 1 if len(clusters) else 0
        state += clusters[:, None] * (n_codes * n_states)
        histogram = np.bincount(state.ravel(), minlength=n_clusters * n_codes * n_states).reshape(
            n_clusters, n_codes, n_states)
    to_profile, to_pairs = _state_maps(n_coders)
    histogram = histogram.astype(float)
    weights = histogram @ to_profile  # (R, K, P)
    n_pairs = len(coder_pairs(n_coders))
    tables = (histogram @ to_pairs).reshape(histogram.shape[0], n_codes, n_pairs, 4).transpose(0, 2, 1, 3)
    tables = np.rint(tables).astype(np.int64)  # (R, pairs, K, 4)
    if clusters is None:
        return weights[0], tables[0]
    return weights, tables
