"""Many-coder statistics (qualcode.agreement.many, .intervals): published examples, independent
implementations (irrCAC, krippendorff, statsmodels, scikit-learn), degenerate cases and invariants."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qualcode.agreement import many
from qualcode.agreement.intervals import fleiss_null_test, gwet_intervals, t_quantile

NAN = float("nan")

# Fleiss (1971), Table 1: 30 patients, 6 psychiatrists each, 5 diagnoses (1 depression, 2 personality
# disorder, 3 schizophrenia, 4 neurosis, 5 other), as the irr package ships it (data "diagnoses").
FLEISS_1971 = [
    [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5], [2, 2, 2, 4, 4, 4],
    [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4], [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5],
    [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4], [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5],
    [3, 3, 3, 3, 3, 5], [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4], [1, 4, 4, 4, 4, 5],
    [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4], [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
]

# Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters, 5 categories (counts per category)
WIKIPEDIA_FLEISS = [
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
]

# Krippendorff (2011), "nominal data, any number of observers, missing data": 4 observers × 12 units
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]


def _stats(counts):
    profiles, weights = many.profiles_from_counts(np.asarray(counts))
    return profiles, weights, many.many_statistics(profiles, weights)


def _from_ratings(ratings_units_by_coders, categories=None):
    counts, categories = many.category_counts(ratings_units_by_coders, categories)
    return _stats(counts)


def test_fleiss_1971_table_kappa_and_null_test():
    profiles, weights, stats = _from_ratings(FLEISS_1971)
    assert float(stats["fleiss_kappa"]) == pytest.approx(0.430, abs=5e-4)
    assert float(stats["fleiss_kappa"]) == pytest.approx(0.4302445, abs=1e-7)  # irr::kappam.fleiss
    null = fleiss_null_test(profiles, weights, stats)
    assert float(null["z"]) == pytest.approx(17.65183, abs=1e-5)  # irr: z = 17.65183 (Fleiss, Nee & Landis 1979)


def test_fleiss_kappa_matches_statsmodels():
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

    table, _ = aggregate_raters(np.array(FLEISS_1971))
    _, _, stats = _stats(table)
    assert float(stats["fleiss_kappa"]) == pytest.approx(fleiss_kappa(table), abs=1e-12)


def test_wikipedia_fleiss_example():
    _, _, stats = _stats(WIKIPEDIA_FLEISS)
    assert float(stats["fleiss_kappa"]) == pytest.approx(0.210, abs=5e-4)
    assert float(stats["percent"]) / 100 == pytest.approx(0.378, abs=5e-4)  # P̄
    assert float((stats["pi"] ** 2).sum()) == pytest.approx(0.213, abs=5e-4)  # P̄e


def test_krippendorff_2011_four_observers_with_missing_values():
    _, _, stats = _from_ratings(np.array(KRIPPENDORFF_2011).T)
    assert float(stats["alpha"]) == pytest.approx(0.743, abs=5e-4)


def test_gwet_handbook_four_raters_with_missing_ratings():
    # Gwet (2014), the 4 raters × 12 units example with missing ratings, values as documented by irrCAC
    from irrCAC.datasets import raw_4raters

    profiles, weights, stats = _from_ratings(raw_4raters().to_numpy())
    assert float(stats["ac1"]) == pytest.approx(0.77544, abs=5e-6)
    assert float(stats["fleiss_kappa"]) == pytest.approx(0.76117, abs=5e-6)
    assert float(stats["percent"]) / 100 == pytest.approx(0.81818, abs=5e-6)
    assert float(stats["alpha"]) == pytest.approx(0.74342, abs=5e-6)
    intervals = gwet_intervals(profiles, weights, stats)
    se, low, high = (float(x) for x in intervals["ac1"])
    assert (round(se, 5), round(low, 5), high) == (0.14295, 0.46081, 1.0)
    se, low, high = (float(x) for x in intervals["fleiss_kappa"])
    assert (round(se, 5), round(low, 5), high) == (0.15302, 0.42438, 1.0)


def test_t_quantile_matches_scipy():
    from scipy import stats

    for probability in (0.6, 0.9, 0.975, 0.995):
        for df in (1, 2, 3.5, 10, 29, 119, 10_000):
            ours = t_quantile(probability, df)
            # scipy's ppf is itself off by up to ~1e-9 (its own cdf of it misses p by 6e-10 at df = 29)
            assert ours == pytest.approx(stats.t.ppf(probability, df), rel=1e-8, abs=1e-8)
            assert stats.t.cdf(ours, df) == pytest.approx(probability, abs=1e-10)
    assert t_quantile(0.025, 10) == pytest.approx(-t_quantile(0.975, 10))


# -- independent implementations on generated ratings ------------------------------------------------

@st.composite
def ratings(draw, min_coders=2, max_coders=5, categories=3, missing=True):
    n_coders = draw(st.integers(min_coders, max_coders))
    n_units = draw(st.integers(3, 25))
    cell = st.one_of(st.none(), st.integers(0, categories - 1)) if missing else st.integers(0, categories - 1)
    rows = draw(st.lists(st.lists(cell, min_size=n_coders, max_size=n_coders), min_size=n_units, max_size=n_units))
    return [[NAN if v is None else float(v) for v in row] for row in rows]


def _irrcac(rows, categories):
    from irrCAC.raw import CAC

    frame = pd.DataFrame(rows).dropna(how="all")
    return CAC(frame, categories=categories)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ratings())
def test_fleiss_ac1_bp_and_gwet_intervals_match_irrcac(rows):
    categories = [0.0, 1.0, 2.0]
    profiles, weights, stats = _from_ratings(rows, categories)
    if not float(stats["pairable_units"]) or float(stats["units"]) < 2:
        return
    cac = _irrcac(rows, categories)
    intervals = gwet_intervals(profiles, weights, stats)
    for name, method in (("fleiss_kappa", "fleiss"), ("ac1", "gwet"), ("bp", "bp")):
        ours = float(stats[name])
        if math.isnan(ours):
            continue
        theirs = getattr(cac, method)()["est"]
        assert ours == pytest.approx(theirs["coefficient_value"], abs=1e-5)
        se = float(intervals[name][0])
        if theirs["se"] > 1e-9:
            assert se == pytest.approx(theirs["se"], abs=1e-5)


@settings(max_examples=80, deadline=None)
@given(ratings(categories=4))
def test_alpha_matches_krippendorff_package(rows):
    import krippendorff

    _, _, stats = _from_ratings(rows, [0.0, 1.0, 2.0, 3.0])
    data = np.array(rows, dtype=float).T
    values = data[~np.isnan(data)]
    pairable = (np.sum(~np.isnan(data), axis=0) >= 2).any()
    if not pairable or len(np.unique(values)) < 2:
        return  # the package raises where α is undefined
    try:
        with np.errstate(all="ignore"):  # the package divides 0/0 where α is undefined
            theirs = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal",
                                        value_domain=[0.0, 1.0, 2.0, 3.0])
    except ValueError:
        return
    ours = float(stats["alpha"])
    if math.isnan(theirs):
        assert math.isnan(ours)
    else:
        assert ours == pytest.approx(theirs, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(ratings(min_coders=3, max_coders=6, missing=False))
def test_fleiss_matches_statsmodels_without_missing(rows):
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

    table, _ = aggregate_raters(np.array(rows, dtype=int), n_cat=3)
    _, _, stats = _stats(table)
    with np.errstate(all="ignore"):
        theirs = fleiss_kappa(table)
    if math.isnan(theirs) or not np.isfinite(theirs):
        assert math.isnan(float(stats["fleiss_kappa"]))
    else:
        assert float(stats["fleiss_kappa"]) == pytest.approx(theirs, abs=1e-9)


def _binary_arrays(rows):
    """(C, U, 1) presence and (C, U) rated from units × coders 0/1/NaN ratings."""
    data = np.array(rows, dtype=float).T
    rated = ~np.isnan(data)
    return (np.nan_to_num(data) > 0.5)[:, :, None] & rated[:, :, None], rated


@settings(max_examples=60, deadline=None)
@given(ratings(categories=2))
def test_binary_weights_equal_the_general_profiles(rows):
    present, rated = _binary_arrays(rows)
    weights = many.binary_weights(present, rated)[0]
    general = _from_ratings(rows, [1.0, 0.0])[2]  # category 0 is "present"
    binary = many.many_statistics(many.binary_profiles(present.shape[0]), weights)
    for name in many.MANY_STATISTICS:
        assert np.allclose(binary[name], general[name], equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(ratings(categories=2, min_coders=2, max_coders=5))
def test_light_kappa_is_the_mean_of_scikit_learn_pairwise_kappas(rows):
    from sklearn.metrics import cohen_kappa_score

    present, rated = _binary_arrays(rows)
    light, kappas, _ = many.light_kappa(many.pairwise_tables(present, rated))
    data = np.array(rows, dtype=float).T
    expected = []
    for first, second in many.coder_pairs(len(data)):
        both = ~np.isnan(data[first]) & ~np.isnan(data[second])
        left, right = data[first][both], data[second][both]
        if len(left) and len(set(left) | set(right)) > 1:
            expected.append(cohen_kappa_score(left, right, labels=[0.0, 1.0]))
    defined = [k for k in expected if not math.isnan(k)]
    if defined:
        assert float(light[0]) == pytest.approx(float(np.mean(defined)), abs=1e-9)
    else:
        assert math.isnan(float(light[0]))


# -- invariants -------------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(ratings(), st.randoms())
def test_statistics_do_not_depend_on_the_order_of_the_coders(rows, rnd):
    order = list(range(len(rows[0])))
    rnd.shuffle(order)
    shuffled = [[row[i] for i in order] for row in rows]
    first = _from_ratings(rows, [0.0, 1.0, 2.0])[2]
    second = _from_ratings(shuffled, [0.0, 1.0, 2.0])[2]
    for name in many.MANY_STATISTICS:
        assert np.allclose(first[name], second[name], equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 2), min_size=2, max_size=30), st.integers(2, 6))
def test_identical_coders_give_one_wherever_defined(values, n_coders):
    _, _, stats = _from_ratings([[float(v)] * n_coders for v in values], [0.0, 1.0, 2.0])
    for name in many.MANY_STATISTICS:
        value = float(stats[name]) / (100.0 if name == "percent" else 1.0)
        assert math.isnan(value) or value == pytest.approx(1.0)
    if len(set(values)) > 1:
        assert float(stats["fleiss_kappa"]) == pytest.approx(1.0)
        assert float(stats["alpha"]) == pytest.approx(1.0)


# -- degenerate cases -------------------------------------------------------------------------------

def test_all_coders_agree_on_one_category_only():
    present = np.zeros((3, 5, 1), dtype=bool)  # no coder applied the code anywhere
    rated = np.ones((3, 5), dtype=bool)
    stats = many.many_statistics(many.binary_profiles(3), many.binary_weights(present, rated))
    reasons = many.many_reasons(stats, binary=True)
    assert math.isnan(stats["fleiss_kappa"][0]) and math.isnan(stats["alpha"][0])
    assert reasons["fleiss_kappa"][0] == many.NO_VARIATION_ABSENT_ALL
    assert reasons["alpha"][0] == many.NO_VARIATION_ABSENT_ALL
    assert stats["ac1"][0] == 1.0 and stats["bp"][0] == 1.0 and stats["percent"][0] == 100.0
    stats = many.many_statistics(many.binary_profiles(3), many.binary_weights(~present, rated))
    assert many.many_reasons(stats, binary=True)["alpha"][0] == many.NO_VARIATION_PRESENT_ALL


def test_a_unit_rated_by_one_coder_only_counts_for_the_shares_but_not_for_agreement():
    rows = [[1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, NAN, NAN]]
    profiles, weights, stats = _from_ratings(rows, [0.0, 1.0])
    assert float(stats["units"]) == 3 and float(stats["pairable_units"]) == 2
    assert float(stats["percent"]) == pytest.approx(100 * (1 / 3 + 1) / 2)
    # α ignores the single rating (not pairable), as the krippendorff package does
    import krippendorff

    expected = krippendorff.alpha(reliability_data=np.array(rows).T, level_of_measurement="nominal")
    assert float(stats["alpha"]) == pytest.approx(expected)
    cac = _irrcac(rows, [0.0, 1.0])
    assert float(stats["fleiss_kappa"]) == pytest.approx(cac.fleiss()["est"]["coefficient_value"], abs=1e-5)


def test_a_coder_with_no_units_changes_nothing():
    with_empty = [row + [NAN] for row in KRIPPENDORFF_2011_UNITS]
    first = _from_ratings(KRIPPENDORFF_2011_UNITS)[2]
    second = _from_ratings(with_empty)[2]
    for name in many.MANY_STATISTICS:
        assert np.allclose(first[name], second[name], equal_nan=True)


KRIPPENDORFF_2011_UNITS = np.array(KRIPPENDORFF_2011).T.tolist()


def test_no_pairable_unit_leaves_everything_undefined_with_a_reason():
    _, _, stats = _from_ratings([[1.0, NAN], [NAN, 0.0]], [0.0, 1.0])
    reasons = many.many_reasons(stats, binary=False)
    for name in many.MANY_STATISTICS:
        assert math.isnan(float(stats[name]))
        assert reasons[name] == many.NO_PAIRABLE


def test_coincidence_matrix_of_two_coders_is_the_symmetrised_table():
    rows = [[0, 0], [0, 1], [1, 1], [2, 1], [2, 2], [0, 0]]
    counts, _ = many.category_counts(np.array(rows, dtype=float), [0, 1, 2])
    profiles, weights = many.profiles_from_counts(counts)
    table = np.zeros((3, 3))
    for a, b in rows:
        table[a, b] += 1
    assert np.allclose(many.coincidence_matrix(profiles, weights), table + table.T)


def test_cluster_weights_add_up_to_the_whole():
    rng = np.random.default_rng(3)
    present = rng.random((4, 40, 3)) < 0.3
    rated = rng.random((4, 40)) < 0.8
    clusters = rng.integers(0, 5, 40)
    assert np.array_equal(many.binary_weights(present, rated, clusters, 6).sum(axis=0),
                          many.binary_weights(present, rated))
    assert np.array_equal(many.pairwise_tables(present, rated, clusters, 6).sum(axis=0),
                          many.pairwise_tables(present, rated))


@pytest.mark.parametrize("n_coders", [2, 3, 5, 6, 7])
def test_state_histogram_summaries_equal_the_direct_ones(n_coders):
    rng = np.random.default_rng(n_coders)
    present = rng.random((n_coders, 200, 6)) < 0.3
    rated = rng.random((n_coders, 200)) < 0.7
    clusters = rng.integers(0, 8, 200)
    weights, tables = many.binary_summaries(present, rated)
    assert np.array_equal(weights, many.binary_weights(present, rated))
    assert np.array_equal(tables, many.pairwise_tables(present, rated))
    weights, tables = many.binary_summaries(present, rated, clusters, 9)
    assert np.array_equal(weights, many.binary_weights(present, rated, clusters, 9))
    assert np.array_equal(tables, many.pairwise_tables(present, rated, clusters, 9))
