"""Agreement statistics: published worked examples, independent implementations, invariants,
and the project pipeline (units, scope, themes, characters, bootstrap)."""

from __future__ import annotations

import csv
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qualcode import agreement, codebook, codings, documents, store
from qualcode.agreement import (
    ac1_2x2, alpha_nominal_2x2, bp_2x2, compute_agreement, kappa_2x2, percent_agreement_2x2,
    specific_agreement, statistics_2x2, tables_from_presence, undefined_reasons,
)
from qualcode.errors import InputError, NotFound
from qualcode.project import Project
from tests.conftest import add_coded_spans, code_id


# --------------------------------------------------------------------------
# Published worked examples
# --------------------------------------------------------------------------

def test_krippendorff_2011_binary_two_observers_example():
    # Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability, section A
    # ("binary or dichotomous data, two observers, no missing data"): ten units,
    # observer A = 0 1 0 0 0 0 0 0 1 0, observer B = 1 1 1 0 0 1 0 0 0 0.
    # Coincidences o00 = 10, o01 = o10 = 4, o11 = 2; n0 = 14, n1 = 6, n = 20;
    # alpha = 1 - (20 - 1) * 4 / (14 * 6) = 0.095.
    observer_a = np.array([0, 1, 0, 0, 0, 0, 0, 0, 1, 0], dtype=bool)
    observer_b = np.array([1, 1, 1, 0, 0, 1, 0, 0, 0, 0], dtype=bool)
    (a, b, c, d), = tables_from_presence(observer_a[:, None], observer_b[:, None])
    assert (a, b, c, d) == (1, 1, 3, 5)
    alpha = float(alpha_nominal_2x2(a, b, c, d))
    assert alpha == pytest.approx(1 - 19 * 4 / (14 * 6))
    assert round(alpha, 3) == 0.095


def test_cohen_1960_example_table():
    # Cohen (1960), the example table of 200 items in three categories (proportions
    # .44 .07 .09 / .05 .20 .05 / .01 .03 .06; also the example in R psych::cohen.kappa,
    # "cohen reports .492"): p_o = .70, p_c = .41, kappa = .29 / .59 = .492.
    counts = np.array([[88, 14, 18], [10, 40, 10], [2, 6, 12]])
    kappa = agreement.kappa_table(counts)
    assert kappa == pytest.approx((0.70 - 0.41) / (1 - 0.41))
    assert round(kappa, 3) == 0.492


@settings(max_examples=100, deadline=None)
@given(st.tuples(*[st.integers(0, 40)] * 4).filter(lambda t: sum(t) > 0))
def test_closed_form_kappa_equals_the_general_definition(table):
    a, b, c, d = table
    general = agreement.kappa_table([[a, b], [c, d]])
    closed = float(kappa_2x2(a, b, c, d))
    assert (math.isnan(general) and math.isnan(closed)) or closed == pytest.approx(general, abs=1e-12)


def test_cohen_kappa_two_by_two_textbook_example():
    # The 2x2 worked example of Cohen's (1960) kappa as given in the Wikipedia article
    # "Cohen's kappa" (50 grant proposals; yes/yes 20, A yes B no 5, A no B yes 10, no/no 15):
    # p_o = 0.7, p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5, kappa = 0.4.
    assert float(percent_agreement_2x2(20, 5, 10, 15)) == pytest.approx(0.7)
    assert float(kappa_2x2(20, 5, 10, 15)) == pytest.approx(0.4)


def test_nvivo_help_percentage_agreement_and_kappa_example():
    # NVivo help, "Run a coding comparison query": a 1000-character source where 50
    # characters are coded by both users, 150 by only one and 800 by neither gives a
    # percentage agreement of (800 + 50) / 1000 = 85%. With the 150 split 100 (A only)
    # and 50 (B only), NVivo's kappa recipe gives EF = 150*100/1000 + 850*900/1000 = 780
    # and K = (850 - 780) / (1000 - 780) = 0.318.
    stats = statistics_2x2(50, 100, 50, 800)
    assert float(stats["percent"]) == pytest.approx(85.0)
    assert float(stats["kappa"]) == pytest.approx((850 - 780) / (1000 - 780))
    # the split of the 150 changes kappa but not the percentage agreement
    assert float(statistics_2x2(50, 75, 75, 800)["percent"]) == pytest.approx(85.0)


def test_gwet_ac1_two_by_two_formula():
    # Gwet (2008), eq. for two raters and q = 2 categories: p_e = 2 pi (1 - pi) with
    # pi = mean of the two raters' "yes" proportions. For the table 20/5/10/15:
    # pi = (25/50 + 30/50) / 2 = 0.55, p_e = 0.495, AC1 = (0.7 - 0.495) / 0.505.
    assert float(ac1_2x2(20, 5, 10, 15)) == pytest.approx((0.7 - 0.495) / 0.505)
    # The kappa paradox (Feinstein & Cicchetti 1990; Gwet 2008): 90% agreement on a
    # rare code can give a low kappa while AC1 stays close to the agreement.
    assert float(kappa_2x2(1, 5, 5, 89)) < 0.15
    assert float(ac1_2x2(1, 5, 5, 89)) > 0.85


def test_gwet_handbook_three_category_example():
    # Gwet (2014), Handbook of Inter-Rater Reliability: 100 pregnant women classified by two
    # abstractors (Ectopic / AIU / NIU). As documented by irrCAC (table_cont3x3abstractors):
    # p_a = 0.89, p_e = 0.26992, AC1 = 0.84933.
    counts = np.array([[13, 0, 0], [0, 20, 7], [0, 4, 56]])
    assert round(agreement.ac1_table(counts), 5) == 0.84933


@settings(max_examples=100, deadline=None)
@given(st.tuples(*[st.integers(0, 40)] * 4).filter(lambda t: sum(t) > 0))
def test_ac1_closed_form_equals_the_general_definition(table):
    a, b, c, d = table
    assert float(ac1_2x2(a, b, c, d)) == pytest.approx(agreement.ac1_table([[a, b], [c, d]]), abs=1e-12)


def test_brennan_prediger_two_categories():
    # Brennan & Prediger (1981): kappa_n = (p_o - 1/q) / (1 - 1/q); q = 2 gives 2 p_o - 1.
    assert float(bp_2x2(20, 5, 10, 15)) == pytest.approx((0.7 - 0.5) / 0.5)


def test_specific_agreement():
    positive, negative = specific_agreement(20, 5, 10, 15)
    assert float(positive) == pytest.approx(40 / 55)
    assert float(negative) == pytest.approx(30 / 45)


# --------------------------------------------------------------------------
# Undefined values: NaN with a reason, never 0 or 1 silently
# --------------------------------------------------------------------------

def test_code_never_used_is_undefined_for_kappa_alpha_and_positive_agreement():
    stats = statistics_2x2(0, 0, 0, 12)
    reasons = undefined_reasons(0, 0, 0, 12)
    assert math.isnan(stats["kappa"]) and math.isnan(stats["alpha"]) and math.isnan(stats["pos_agree"])
    assert str(reasons["kappa"]) == agreement.NO_VARIATION_ABSENT
    assert str(reasons["pos_agree"]) == agreement.NO_POSITIVES
    # AC1, Brennan-Prediger and percent agreement stay defined (their chance term is < 1)
    assert float(stats["ac1"]) == 1.0 and float(stats["bp"]) == 1.0 and float(stats["percent"]) == 100.0
    assert float(stats["neg_agree"]) == 1.0 and str(reasons["neg_agree"]) == ""


def test_code_used_everywhere_is_undefined_for_kappa_alpha_and_negative_agreement():
    stats = statistics_2x2(7, 0, 0, 0)
    reasons = undefined_reasons(7, 0, 0, 0)
    assert math.isnan(stats["kappa"]) and math.isnan(stats["alpha"]) and math.isnan(stats["neg_agree"])
    assert str(reasons["alpha"]) == agreement.NO_VARIATION_PRESENT
    assert float(stats["pos_agree"]) == 1.0


def test_one_coder_constant_other_not_gives_kappa_zero_not_undefined():
    # coder A never used the code, coder B did twice: p_e < 1, kappa = 0 (chance level)
    assert float(kappa_2x2(0, 0, 2, 8)) == 0.0
    assert str(undefined_reasons(0, 0, 2, 8)["kappa"]) == ""


def test_empty_table_is_undefined_everywhere():
    stats = statistics_2x2(0, 0, 0, 0)
    assert all(math.isnan(float(v)) for v in stats.values())
    assert str(undefined_reasons(0, 0, 0, 0)["kappa"]) == agreement.NO_UNITS


@pytest.mark.parametrize("kappa,label", [(-0.1, "poor"), (0.0, "slight"), (0.2, "slight"), (0.35, "fair"),
                                         (0.6, "moderate"), (0.75, "substantial"), (0.81, "almost perfect"),
                                         (float("nan"), "")])
def test_landis_koch(kappa, label):
    assert agreement.landis_koch(kappa) == label


# --------------------------------------------------------------------------
# Independent implementations (used only here) on generated tables
# --------------------------------------------------------------------------

tables = st.tuples(*[st.integers(0, 40)] * 4).filter(lambda t: sum(t) > 0)


def _ratings(a, b, c, d):
    rater_a = [1] * a + [1] * b + [0] * c + [0] * d
    rater_b = [1] * a + [0] * b + [1] * c + [0] * d
    return rater_a, rater_b


@settings(max_examples=150, deadline=None)
@given(tables)
def test_kappa_matches_scikit_learn(table):
    from sklearn.metrics import cohen_kappa_score

    ours = float(kappa_2x2(*table))
    rater_a, rater_b = _ratings(*table)
    if str(undefined_reasons(*table)["kappa"]):
        assert math.isnan(ours)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = cohen_kappa_score(rater_a, rater_b, labels=[0, 1])
    assert ours == pytest.approx(theirs, abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(tables)
def test_alpha_matches_krippendorff_package(table):
    import krippendorff

    ours = float(alpha_nominal_2x2(*table))
    if str(undefined_reasons(*table)["alpha"]):
        assert math.isnan(ours)
        return
    theirs = krippendorff.alpha(reliability_data=np.array(_ratings(*table), dtype=float),
                                level_of_measurement="nominal", value_domain=[0.0, 1.0])
    assert ours == pytest.approx(theirs, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(tables)
def test_ac1_bp_and_kappa_match_irrcac(table):
    import pandas as pd
    from irrCAC.table import CAC

    a, b, c, d = table
    contingency = pd.DataFrame([[a, b], [c, d]], index=["yes", "no"], columns=["yes", "no"])
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        cac = CAC(contingency, digits=12)
        ac1 = cac.gwet()["est"]["coefficient_value"]
        bp = CAC(contingency, digits=12).bp()["est"]["coefficient_value"]
        kappa = CAC(contingency, digits=12).cohen()["est"]["coefficient_value"]
    assert float(ac1_2x2(*table)) == pytest.approx(ac1, abs=1e-9)
    assert float(bp_2x2(*table)) == pytest.approx(bp, abs=1e-9)
    if not str(undefined_reasons(*table)["kappa"]):
        assert float(kappa_2x2(*table)) == pytest.approx(kappa, abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(tables)
def test_symmetric_in_the_two_coders(table):
    a, b, c, d = table
    forward, backward = statistics_2x2(a, b, c, d), statistics_2x2(a, c, b, d)
    for name in forward:
        assert np.allclose(forward[name], backward[name], equal_nan=True), name


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 30), st.integers(0, 30))
def test_identical_coders_give_one_where_defined(both, neither):
    if both + neither == 0:
        return
    stats = statistics_2x2(both, 0, 0, neither)
    reasons = undefined_reasons(both, 0, 0, neither)
    for name in ("percent", "kappa", "alpha", "ac1", "bp", "pos_agree", "neg_agree"):
        value = float(stats[name])
        if name in reasons and str(reasons[name]):
            assert math.isnan(value)
        else:
            assert value == pytest.approx(100.0 if name == "percent" else 1.0)


@settings(max_examples=50, deadline=None)
@given(st.lists(tables, min_size=1, max_size=12))
def test_vectorised_equals_one_table_at_a_time(many):
    array = np.array(many)
    together = statistics_2x2(*array.T)
    for index, table in enumerate(many):
        alone = statistics_2x2(*table)
        for name in together:
            assert np.allclose(together[name][index], alone[name], equal_nan=True)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 60), st.integers(1, 6), st.integers(1, 5), st.randoms(use_true_random=False))
def test_tables_from_presence_match_a_loop(n_units, n_codes, n_clusters, rnd):
    present_a = np.array([[rnd.random() < 0.3 for _ in range(n_codes)] for _ in range(n_units)])
    present_b = np.array([[rnd.random() < 0.3 for _ in range(n_codes)] for _ in range(n_units)])
    clusters = np.array([rnd.randrange(n_clusters) for _ in range(n_units)])
    expected = np.zeros((n_clusters, n_codes, 4), dtype=int)
    for unit in range(n_units):
        for code in range(n_codes):
            cell = {(True, True): 0, (True, False): 1, (False, True): 2, (False, False): 3}[
                (bool(present_a[unit, code]), bool(present_b[unit, code]))]
            expected[clusters[unit], code, cell] += 1
    assert (tables_from_presence(present_a, present_b) == expected.sum(axis=0)).all()
    by_cluster = tables_from_presence(present_a, present_b, clusters)
    assert (by_cluster[: expected.shape[0]].sum(axis=0) == expected.sum(axis=0)).all()
    used = sorted(set(clusters.tolist()))
    assert (by_cluster[used] == expected[used]).all()


# --------------------------------------------------------------------------
# Bootstrap
# --------------------------------------------------------------------------

def test_bootstrap_is_seeded_and_sums_drawn_clusters():
    rng = np.random.default_rng(5)
    cluster_tables = rng.integers(0, 10, size=(8, 3, 4))
    first = agreement.bootstrap_replicates(cluster_tables, n_boot=50, seed=11)
    again = agreement.bootstrap_replicates(cluster_tables, n_boot=50, seed=11)
    other = agreement.bootstrap_replicates(cluster_tables, n_boot=50, seed=12)
    assert first.shape == (50, 3, 4)
    assert (first == again).all() and not (first == other).all()
    # each replicate draws 8 clusters, so its total n is a sum of 8 cluster totals
    totals = cluster_tables.sum(axis=2)  # (8, 3)
    assert np.all(first.sum(axis=2) >= 8 * totals.min(axis=0) - 1e-9)
    assert np.all(first.sum(axis=2) <= 8 * totals.max(axis=0) + 1e-9)


def test_bootstrap_of_identical_clusters_has_zero_width():
    cluster_tables = np.tile(np.array([[3, 1, 2, 14]]), (6, 1, 1))  # 6 clusters, 1 code
    result = agreement.compare_tables(cluster_tables.sum(axis=0), cluster_tables, ci=True, n_boot=200, seed=0)
    low, high = result["ci"]["kappa"]
    assert low[0] == pytest.approx(result["stats"]["kappa"][0])
    assert high[0] == pytest.approx(result["stats"]["kappa"][0])


def test_bootstrap_interval_brackets_estimate():
    rng = np.random.default_rng(1)
    cluster_tables = np.stack([rng.multinomial(40, [0.2, 0.05, 0.05, 0.7], size=4) for _ in range(30)])
    result = agreement.compare_tables(cluster_tables.sum(axis=0), cluster_tables, ci=True, n_boot=500, seed=3)
    low, high = result["ci"]["kappa"]
    assert np.all(low <= result["stats"]["kappa"]) and np.all(result["stats"]["kappa"] <= high)
    assert np.all(high - low > 0)


# --------------------------------------------------------------------------
# The pipeline on a project
# --------------------------------------------------------------------------

def _paragraphs(conn):
    """Respondent paragraphs of the tiny project in order: (document_id, start, end, unit_id)."""
    return [tuple(r) for r in conn.execute(
        "SELECT u.document_id, u.start, u.end, u.unit_id FROM units u JOIN documents d USING (document_id)"
        " WHERE u.role = 'respondent' ORDER BY d.name, u.seq")]


def _add(conn, coder, key, paragraph, start_offset=0, end_offset=None):
    """One coding by ``coder`` (a name) of ``paragraph`` (from ``_paragraphs``), optionally cut by offsets."""
    document_id, start, end, _ = paragraph
    add_coded_spans(conn, [(coder, key, (document_id, start + start_offset,
                                         end if end_offset is None else start + end_offset))])


@pytest.fixture
def coded(tiny_project):
    """alice and bob code the six respondent paragraphs (SF1 #2 #4, SF2 #2 #4, TL1 #2 #3)."""
    with tiny_project.transaction() as conn:
        p = _paragraphs(conn)
        _add(conn, "alice", "work.caseload", p[0])
        _add(conn, "bob", "work.caseload", p[0], 0, 10)  # a short span inside the same paragraph
        _add(conn, "alice", "work.toll", p[1])
        _add(conn, "bob", "work.toll", p[1])
        _add(conn, "bob", "work.toll", p[5])
        _add(conn, "alice", "sup.supervision", p[1], 40)
        _add(conn, "alice", "sup.supervision", p[3])
        _add(conn, "bob", "sup.supervision", p[3])
        _add(conn, "alice", "sup.peer", p[2])
        _add(conn, "bob", "sup.peer", p[2])
        _add(conn, "alice", "work.caseload", p[4])
        _add(conn, "bob", "work.caseload", p[4])
    return tiny_project


def _row(df, code):
    rows = df[df["code"] == code]
    assert len(rows) == 1, code
    return rows.iloc[0]


def test_paragraph_tables_by_hand(coded):
    result = compute_agreement(coded.connect(), "alice", "bob")
    assert result.compared["count"] == 6 and result.compared["unit"] == "paragraph"
    assert result.compared["documents"] == ["SF1.txt", "SF2.txt", "TL1.txt"]
    expected = {"work.caseload": (2, 0, 0, 4), "work.toll": (1, 0, 1, 4),
                "sup.supervision": (1, 1, 0, 4), "sup.peer": (1, 0, 0, 5)}
    for code, cells in expected.items():
        row = _row(result.per_code, code)
        assert tuple(int(row[x]) for x in "abcd") == cells
        assert row["kappa"] == pytest.approx(float(kappa_2x2(*cells)))
        assert row["level"] == "code"
    # themes: present where any code beneath is
    assert tuple(int(_row(result.per_theme, "work")[x]) for x in "abcd") == (3, 0, 1, 2)
    assert tuple(int(_row(result.per_theme, "support")[x]) for x in "abcd") == (2, 1, 0, 3)
    pooled_sum = _row(result.pooled, "(pooled: sum of tables)")
    assert tuple(int(pooled_sum[x]) for x in "abcd") == (5, 1, 1, 17)
    pooled_mean = _row(result.pooled, "(pooled: mean of codes)")
    assert pooled_mean["kappa"] == pytest.approx(result.per_code["kappa"].mean())


def test_min_overlap_drops_a_short_span(coded):
    result = compute_agreement(coded.connect(), "alice", "bob", min_overlap=0.5)
    assert tuple(int(_row(result.per_code, "work.caseload")[x]) for x in "abcd") == (1, 1, 0, 4)
    with pytest.raises(InputError, match="min-overlap"):
        compute_agreement(coded.connect(), "alice", "bob", min_overlap=1.5)


def test_higher_units(coded):
    conn = coded.connect()
    by_document = compute_agreement(conn, "alice", "bob", unit="document")
    assert by_document.compared["count"] == 3
    # work.toll: both in SF1, only bob in TL1, neither in SF2
    assert tuple(int(_row(by_document.per_code, "work.toll")[x]) for x in "abcd") == (1, 0, 1, 1)
    by_respondent = compute_agreement(conn, "alice", "bob", unit="respondent")
    assert by_respondent.compared["count"] == 3
    assert tuple(int(_row(by_respondent.per_code, "sup.supervision")[x]) for x in "abcd") == (1, 1, 0, 1)
    by_turn = compute_agreement(conn, "alice", "bob", unit="turn")
    assert by_turn.compared["count"] == 6  # every respondent paragraph is its own turn here


def test_scope_uses_assignments_and_restricts_higher_units(coded):
    conn = coded.connect()
    p = _paragraphs(conn)
    with coded.transaction():
        for name in ("alice", "bob"):
            coder = store.coder_id(conn, name)
            for paragraph in (p[0], p[1], p[4]):  # SF1 both paragraphs, TL1 first paragraph
                conn.execute("INSERT INTO assignments (coder_id, unit_id) VALUES (?, ?)", (coder, paragraph[3]))
    result = compute_agreement(conn, "alice", "bob")
    assert result.compared["count"] == 3 and result.compared["paragraphs"] == 3
    assert "assigned" in result.compared["scope"]
    assert tuple(int(_row(result.per_code, "work.toll")[x]) for x in "abcd") == (1, 0, 0, 2)
    # respondent units are cut down to the compared paragraphs: TL1's second paragraph
    # (where only bob coded work.toll) is outside the sample
    by_respondent = compute_agreement(conn, "alice", "bob", unit="respondent")
    assert by_respondent.compared["count"] == 2
    assert tuple(int(_row(by_respondent.per_code, "work.toll")[x]) for x in "abcd") == (1, 0, 0, 1)
    everything = compute_agreement(conn, "alice", "bob", scope="all")
    assert everything.compared["count"] == 6


def test_scope_falls_back_to_documents_coded(tiny_project):
    with tiny_project.transaction() as conn:
        p = _paragraphs(conn)
        _add(conn, "alice", "work.toll", p[1])
        _add(conn, "alice", "work.caseload", p[4])  # TL1: only alice coded this document
        _add(conn, "bob", "work.toll", p[1])
    result = compute_agreement(tiny_project.connect(), "alice", "bob")
    assert result.compared["documents"] == ["SF1.txt"] and result.compared["count"] == 2


def test_no_shared_units_is_an_error(tiny_project):
    with tiny_project.transaction() as conn:
        p = _paragraphs(conn)
        _add(conn, "alice", "work.toll", p[0])
        _add(conn, "bob", "work.toll", p[4])
    with pytest.raises(InputError, match="no units in common"):
        compute_agreement(tiny_project.connect(), "alice", "bob")
    assert compute_agreement(tiny_project.connect(), "alice", "bob", scope="all").compared["count"] == 6


def test_bad_input(coded):
    conn = coded.connect()
    with pytest.raises(NotFound, match="no coder named 'carol'"):
        compute_agreement(conn, "alice", "carol")
    with pytest.raises(NotFound, match="no code 'nope'"):
        compute_agreement(conn, "alice", "bob", codes=["nope"])
    with pytest.raises(InputError, match="unknown unit 'page'"):
        compute_agreement(conn, "alice", "bob", unit="page")
    with pytest.raises(InputError, match="two different coders"):
        compute_agreement(conn, "alice", "alice")


def test_codes_option_selects_a_subtree(coded):
    result = compute_agreement(coded.connect(), "alice", "bob", codes=["support"])
    assert list(result.per_code["code"]) == ["sup.supervision", "sup.peer"]
    assert list(result.per_theme["code"]) == ["support"]


def test_unused_code_is_reported_undefined_with_reason(coded):
    conn = coded.connect()
    with coded.transaction():
        codebook.store_nodes(conn, [{"key": "work.rota", "label": "Rotas", "parent": "work"}])
    result = compute_agreement(conn, "alice", "bob")
    row = _row(result.per_code, "work.rota")
    assert math.isnan(row["kappa"]) and row["kappa_reason"] == agreement.NO_VARIATION_ABSENT
    assert row["ac1"] == 1.0
    mean = _row(result.pooled, "(pooled: mean of codes)")
    assert "4 of 5 codes" in mean["kappa_reason"]


def test_ci_columns_are_seeded(coded):
    conn = coded.connect()
    first = compute_agreement(conn, "alice", "bob", ci=True, n_boot=300, seed=4)
    again = compute_agreement(conn, "alice", "bob", ci=True, n_boot=300, seed=4)
    for column in ("kappa_lo", "kappa_hi", "alpha_lo", "ac1_hi"):
        assert column in first.per_code
    assert first.per_code[["kappa_lo", "kappa_hi"]].equals(again.per_code[["kappa_lo", "kappa_hi"]])
    assert first.compared["clusters"] == 3


def test_char_level_by_hand(coded):
    conn = coded.connect()
    result = compute_agreement(conn, "alice", "bob", unit="char")
    p = _paragraphs(conn)
    total = sum(end - start for _, start, end, _ in p)
    assert result.compared["count"] == total
    row = _row(result.per_code, "work.caseload")
    first = p[0][2] - p[0][1]
    fifth = p[4][2] - p[4][1]
    assert (int(row["a"]), int(row["b"]), int(row["c"])) == (10 + fifth, first - 10, 0)
    assert int(row["n"]) == total
    per_document = result.per_code_document
    sf1 = per_document[(per_document["code"] == "work.caseload") & (per_document["document"] == "SF1.txt")].iloc[0]
    assert (int(sf1["a"]), int(sf1["b"]), int(sf1["c"]), int(sf1["n"])) == (10, first - 10, 0, p[0][2] - p[0][1] + p[1][2] - p[1][1])


# --------------------------------------------------------------------------
# Character level on real span data (pygamma-agreement test files)
# --------------------------------------------------------------------------

def _load_spans(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return [(row[0], row[1], int(row[2]), int(row[3])) for row in csv.reader(handle) if row]


@pytest.mark.parametrize("name,coder_a,coder_b", [
    ("pygamma_3by100.csv", "annotator_1", "annotator_2"),
    ("pygamma_3by100.csv", "annotator_2", "annotator_3"),
    ("pygamma_annotation_paul_suzann_alex.csv", "Paul", "Suzan"),
    ("pygamma_annotation_dalton.csv", "Joe", "Averell"),
])
def test_char_level_matches_per_character_computation(tmp_path, shared_fixtures, name, coder_a, coder_b):
    from sklearn.metrics import cohen_kappa_score

    spans = _load_spans(shared_fixtures / "agreement" / name)
    length = max(end for *_, end in spans) + 7
    categories = sorted({category for _, category, _, _ in spans})
    project = Project.create(tmp_path / "spans", name="spans")
    with project.transaction() as conn:
        document_id = documents.add_document(
            conn, name="continuum.txt", text="x" * length, source_format="txt", respondent_id="R1",
            units=[{"start": 0, "end": length, "role": "respondent", "respondent_id": "R1", "speaker": "R1"}])
        codebook.store_nodes(conn, [{"key": f"cat.{c}", "label": f"Category {c}"} for c in categories])
        coder_ids = {coder: store.get_or_create_coder(conn, coder) for coder in {s[0] for s in spans}}
        codings.add_codings(conn, [{"coder_id": coder_ids[coder], "code_id": code_id(conn, f"cat.{category}"),
                                    "document_id": document_id, "start": start, "end": end, "origin": "import"}
                                   for coder, category, start, end in spans])
    result = compute_agreement(project.connect(), coder_a, coder_b, unit="char")
    assert result.compared["count"] == length
    for category in categories:
        marks = {}
        for coder in (coder_a, coder_b):
            array = np.zeros(length, dtype=bool)
            for who, cat, start, end in spans:
                if who == coder and cat == category:
                    array[start:end] = True
            marks[coder] = array
        x, y = marks[coder_a], marks[coder_b]
        cells = (int(np.sum(x & y)), int(np.sum(x & ~y)), int(np.sum(~x & y)), int(np.sum(~x & ~y)))
        row = _row(result.per_code, f"cat.{category}")
        assert tuple(int(row[c]) for c in "abcd") == cells
        assert row["percent"] == pytest.approx(100 * np.mean(x == y))
        if x.any() or y.any():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = cohen_kappa_score(x, y, labels=[False, True])
            if not math.isnan(expected):
                assert row["kappa"] == pytest.approx(expected, abs=1e-9)
    project.close()


# --------------------------------------------------------------------------
# The demo stage
# --------------------------------------------------------------------------

def test_demo_stage_reads_the_coders_from_the_project(coded):
    from qualcode.demo import _stage_agree

    with coded.transaction() as conn:
        _add(conn, "auto", "work.toll", _paragraphs(conn)[0])  # 'auto' and 'consensus' are not a coder pair
    step = _stage_agree({"project": coded})
    assert step.command == "qualcode agree alice bob --unit paragraph"
    assert "Coders: alice and bob." in step.lines[0]
    shown = dict(zip(step.table["code"], step.table["kappa"]))
    assert shown["work.toll"] == f"{float(kappa_2x2(1, 0, 1, 4)):.2f}" and shown["sup.peer"] == "1.00"
    assert list(step.table["code"])[:2] == ["sup.peer", "work.caseload"]  # κ = 1 first, ties by code key
    assert set(step.table.columns) >= {"code", "kappa", "alpha", "ac1", "landis_koch"}


def test_demo_stage_skips_without_two_coders(tiny_project):
    from qualcode.demo import _stage_agree

    with tiny_project.transaction() as conn:
        _add(conn, "alice", "work.toll", _paragraphs(conn)[0])
    step = _stage_agree({"project": tiny_project})
    assert step.table is None and step.lines[0].startswith("Skipped") and "alice" in step.lines[0]


def test_document_unit_is_code_existence(coded):
    # MAXQDA's "code existence in the document": per document and code, did each coder use
    # the code anywhere in it? The pooled (sum) percent is the share of agreeing
    # (document, code) cells.
    conn = coded.connect()
    result = compute_agreement(conn, "alice", "bob", unit="document")
    existence = {}
    for coder in ("alice", "bob"):
        existence[coder] = {(r[0], r[1]) for r in conn.execute(
            "SELECT DISTINCT c.document_id, k.key FROM codings c JOIN codes k USING (code_id)"
            " JOIN coders o USING (coder_id) WHERE o.name = ?", (coder,))}
    document_ids = [r[0] for r in conn.execute("SELECT document_id FROM documents")]
    keys = list(result.per_code["code"])
    cells = [(d, k) for d in document_ids for k in keys]
    agreeing = sum(((cell in existence["alice"]) == (cell in existence["bob"])) for cell in cells)
    pooled = _row(result.pooled, "(pooled: sum of tables)")
    assert pooled["percent"] == pytest.approx(100 * agreeing / len(cells))
    for key in keys:
        row = _row(result.per_code, key)
        both = sum(((d, key) in existence["alice"]) and ((d, key) in existence["bob"]) for d in document_ids)
        assert int(row["a"]) == both


def test_sentence_units(coded):
    # the tiny project's six respondent paragraphs hold 2 + 3 + 2 + 1 + 2 + 2 = 12 sentences
    result = compute_agreement(coded.connect(), "alice", "bob", unit="sentence")
    assert result.compared["count"] == 12
    # work.toll: both coded SF1's second answer (3 sentences); only bob TL1's second paragraph (2)
    assert tuple(int(_row(result.per_code, "work.toll")[x]) for x in "abcd") == (3, 0, 2, 7)
    # sup.supervision: alice's span starts inside the second sentence of SF1's answer, so it
    # overlaps two of its three sentences; both coded SF2's one-sentence answer
    assert tuple(int(_row(result.per_code, "sup.supervision")[x]) for x in "abcd") == (1, 2, 0, 9)


@pytest.mark.parametrize("unit", ["paragraph", "document", "respondent", "char"])
def test_pipeline_is_symmetric_in_the_coders(coded, unit):
    conn = coded.connect()
    forward = compute_agreement(conn, "alice", "bob", unit=unit).per_code.set_index("code")
    backward = compute_agreement(conn, "bob", "alice", unit=unit).per_code.set_index("code")
    assert (forward["b"] == backward["c"]).all() and (forward["c"] == backward["b"]).all()
    for name in ("percent", "kappa", "alpha", "ac1", "bp", "pos_agree", "neg_agree"):
        assert np.allclose(forward[name], backward[name], equal_nan=True), name


@pytest.mark.parametrize("unit", ["paragraph", "respondent", "char"])
def test_pipeline_identical_coders_agree_perfectly(coded, unit):
    conn = coded.connect()
    with coded.transaction():
        copy = store.get_or_create_coder(conn, "alice_copy")
        conn.execute(
            "INSERT INTO codings (coder_id, code_id, document_id, start, end, origin, created_at)"
            " SELECT ?, code_id, document_id, start, end, origin, created_at FROM codings"
            " WHERE coder_id = (SELECT coder_id FROM coders WHERE name = 'alice')", (copy,))
    result = compute_agreement(conn, "alice", "alice_copy", unit=unit)
    for frame in (result.per_code, result.per_theme):
        assert (frame["b"] == 0).all() and (frame["c"] == 0).all()
        defined = frame["kappa"].notna()
        assert defined.any()
        assert np.allclose(frame.loc[defined, "kappa"], 1.0) and np.allclose(frame.loc[defined, "alpha"], 1.0)
        assert np.allclose(frame["ac1"], 1.0) and np.allclose(frame["percent"], 100.0)
