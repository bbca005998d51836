"""Analytic standard errors and intervals for the many-coder statistics, and shared bootstrap draws.

* Gwet's (2008; 2014) linearised variance for Fleiss' κ, AC1 and
  Brennan–Prediger with missing ratings, as irrCAC computes it: v = (1 − f)
  / (n (n − 1)) Σ_i (c*_i − c)², with t(n − 1) intervals whose upper end is
  capped at 1 (f, the sampling fraction of units, is 0 here).
* Fleiss, Nee & Landis's (1979) standard error of Fleiss' κ under the null
  hypothesis κ = 0 — a test, not an interval — for a constant number of
  coders per unit.

No scipy: the Student t quantile is computed from the regularised incomplete
beta function (continued fraction, Press et al. 2007, §6.4).
"""

from __future__ import annotations

import math
from functools import lru_cache

from qualcode.agreement.many import _profile_terms, _ratio


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def regularised_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularised incomplete beta function."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T ≤ t) for Student's t with ``df`` degrees of freedom."""
    tail = 0.5 * regularised_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


@lru_cache(maxsize=256)
def t_quantile(probability: float, df: float) -> float:
    """The ``probability`` quantile of Student's t (bisection on ``t_cdf``, to 1e-12)."""
    if not 0.0 < probability < 1.0 or df <= 0:
        return float("nan")
    if probability < 0.5:
        return -t_quantile(1.0 - probability, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < probability:
        high *= 2.0
    for _ in range(200):
        middle = (low + high) / 2.0
        if t_cdf(middle, df) < probability:
            low = middle
        else:
            high = middle
        if high - low < 1e-12:
            break
    return (low + high) / 2.0


def gwet_intervals(profiles, weights, stats: dict, level: float = 0.95) -> dict:
    """Gwet's standard errors and t intervals for ``fleiss_kappa``, ``ac1`` and ``bp``.

    ``weights`` (..., P) over ``profiles`` (P, q); ``stats`` is
    ``many_statistics(profiles, weights)``. Returns ``{name: (se, low, high)}``
    (arrays of the leading shape; NaN where the coefficient is undefined or
    fewer than two units were rated). The per-unit terms follow irrCAC:
    c_i = (n / n₂)(p_a,i − p_e [r_i ≥ 2]) / (1 − p_e), corrected for the
    estimated chance agreement by −2(1 − c)(p_e,i − p_e)/(1 − p_e), with
    p_e,i = Σ_k (r_ik / r_i) π_k (Fleiss) or Σ_k (r_ik / r_i)(1 − π_k)/(q − 1)
    (AC1); Brennan–Prediger's p_e is fixed and needs no correction.
    """
    import numpy as np

    terms = _profile_terms(profiles)
    weights = np.asarray(weights, dtype=float) * terms["rated"]
    shares = terms["shares"]  # (P, q)
    q = shares.shape[1]
    units, pairable = stats["units"], stats["pairable_units"]
    pi = np.nan_to_num(stats["pi"])
    observed = stats["percent"] / 100.0
    chance = {
        "fleiss_kappa": ((pi ** 2).sum(axis=-1), np.einsum("pq,...q->...p", shares, pi)),
        "ac1": ((pi * (1 - pi)).sum(axis=-1) / max(q - 1, 1),
                np.einsum("pq,...q->...p", shares, 1 - pi) / max(q - 1, 1)),
        "bp": (np.full(units.shape, 1.0 / q), None),
    }
    out = {}
    t_values = np.array([t_quantile((1 + level) / 2, float(n) - 1) if n >= 2 else np.nan
                         for n in np.ravel(units)]).reshape(np.shape(units))
    for name, (chance_value, chance_per_profile) in chance.items():
        coefficient = _ratio(observed - chance_value, 1 - chance_value)
        scale = _ratio(units, pairable)[..., None]
        per_profile = scale * _ratio(terms["agree"] - chance_value[..., None] * terms["pairable"],
                                     (1 - chance_value)[..., None])
        if chance_per_profile is not None:
            per_profile = per_profile - 2 * (1 - coefficient[..., None]) * _ratio(
                chance_per_profile - chance_value[..., None], (1 - chance_value)[..., None])
        squares = (weights * (per_profile - coefficient[..., None]) ** 2).sum(axis=-1)
        variance = _ratio(squares, units * (units - 1))
        se = np.sqrt(variance)
        undefined = np.isnan(coefficient) | (units < 2) | np.isnan(stats[name])
        se = np.where(undefined, np.nan, se)
        low = np.where(undefined, np.nan, coefficient - t_values * se)
        high = np.where(undefined, np.nan, np.minimum(1.0, coefficient + t_values * se))
        out[name] = (se, low, high)
    return out


def fleiss_null_test(profiles, weights, stats: dict) -> dict:
    """Fleiss, Nee & Landis's (1979) SE of Fleiss' κ under H0: κ = 0, its z and two-sided p.

    Defined only when every rated unit has the same number m ≥ 2 of coders:
    SE₀ = √2 / (Σ p_j q_j √(N m (m − 1))) · √((Σ p_j q_j)² − Σ p_j q_j (q_j − p_j)),
    p_j the share of all ratings in category j, q_j = 1 − p_j. Returns
    ``{"se0", "z", "p"}`` arrays of the leading shape (NaN where undefined).
    """
    import numpy as np

    terms = _profile_terms(profiles)
    weights = np.asarray(weights, dtype=float)
    raters = terms["raters"]
    used = weights * terms["rated"] > 0  # (..., P)
    most = np.where(used, raters, -np.inf).max(axis=-1)
    fewest = np.where(used, raters, np.inf).min(axis=-1)
    constant = (most == fewest) & (most >= 2)
    m = np.where(constant, most, np.nan)
    p = np.nan_to_num(stats["pi"])
    pq = (p * (1 - p)).sum(axis=-1)
    third = (p * (1 - p) * ((1 - p) - p)).sum(axis=-1)
    units = stats["units"]
    root = np.sqrt(np.maximum(pq ** 2 - third, 0.0))
    se0 = _ratio(math.sqrt(2.0) * root, pq * np.sqrt(units * m * (m - 1)))
    se0 = np.where(constant & (pq > 0), se0, np.nan)
    z = _ratio(stats["fleiss_kappa"], se0)
    p_value = np.array([math.erfc(abs(v) / math.sqrt(2.0)) if v == v else np.nan for v in np.ravel(z)])
    return {"se0": se0, "z": z, "p": p_value.reshape(np.shape(z))}


def bootstrap_draws(n_clusters: int, *, n_boot: int = 1000, seed: int = 0):
    """(n_boot, R) multinomial counts of how often each cluster is drawn in each replicate — the same draws
    ``tables.bootstrap_replicates`` makes for the same seed, shared by every statistic of one run."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=n_boot).astype(float)
