"""compute_team_agreement on real projects: scopes and missing ratings, the two-coder special case,
invariants, errors, intervals, and exclusive code groups (with the codebook's ``exclusive`` flag)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qualcode import codebook
from qualcode.agreement import compute_agreement, compute_team_agreement, exclusive_group_keys
from qualcode.errors import InputError
from tests.conftest import add_coded_spans, assign_paragraphs

NAN = float("nan")


def _paragraphs(conn):
    return [tuple(r) for r in conn.execute(
        "SELECT u.document_id, u.start, u.end, d.name || '#' || u.seq FROM units u JOIN documents d"
        " USING (document_id) WHERE u.role = 'respondent' ORDER BY d.name, u.seq")]


def _add(conn, coder, key, paragraph):
    add_coded_spans(conn, [(coder, key, paragraph[:3])])


# which paragraphs (0..5: SF1 #2 #4, SF2 #2 #4, TL1 #2 #3) each coder codes with each code
PLAN = {
    "alice": {"work.caseload": [0, 4], "work.toll": [1], "sup.peer": [2], "sup.supervision": [3]},
    "bob": {"work.caseload": [0, 4], "work.toll": [1, 5], "sup.peer": [2], "sup.supervision": [1, 3]},
    "carol": {"work.caseload": [5], "work.toll": [0, 1], "sup.peer": [2, 3]},
}


@pytest.fixture
def three(tiny_project):
    with tiny_project.transaction() as conn:
        paragraphs = _paragraphs(conn)
        for coder, codes in PLAN.items():
            for key, indexes in codes.items():
                for index in indexes:
                    _add(conn, coder, key, paragraphs[index])
    return tiny_project


def _row(df, code):
    rows = df[df["code"] == code]
    assert len(rows) == 1, code
    return rows.iloc[0]


def _ratings(code, coders=("alice", "bob", "carol"), rated=None):
    """units × coders 0/1 ratings of ``code`` from PLAN (NaN where ``rated`` says the coder did not rate)."""
    rows = []
    for unit in range(6):
        row = []
        for coder in coders:
            if rated is not None and unit not in rated.get(coder, range(6)):
                row.append(NAN)
            else:
                row.append(1.0 if unit in PLAN[coder].get(code, []) else 0.0)
        rows.append(row)
    return rows


def test_three_coders_match_irrcac_and_krippendorff(three):
    import krippendorff
    import pandas as pd
    from irrCAC.raw import CAC

    result = compute_team_agreement(three.connect(), ["alice", "bob", "carol"])
    for code in PLAN["alice"]:
        row = _row(result.per_code, code)
        rows = _ratings(code)
        assert (row.units, row.pairable_units, row.ratings) == (6, 6, 18)
        assert row.applied == sum(v for r in rows for v in r)
        cac = CAC(pd.DataFrame(rows), categories=[0.0, 1.0])
        assert row.fleiss_kappa == pytest.approx(cac.fleiss()["est"]["coefficient_value"], abs=1e-5)
        assert row.ac1 == pytest.approx(cac.gwet()["est"]["coefficient_value"], abs=1e-5)
        assert row.bp == pytest.approx(cac.bp()["est"]["coefficient_value"], abs=1e-5)
        assert row.alpha == pytest.approx(krippendorff.alpha(reliability_data=np.array(rows).T,
                                                             level_of_measurement="nominal"))


def test_missing_ratings_come_from_the_scopes(three):
    import krippendorff

    assign_paragraphs(three, "carol", ["SF1.txt#2", "SF1.txt#4", "SF2.txt#2"])  # carol rated units 0, 1, 2 only
    result = compute_team_agreement(three.connect(), ["alice", "bob", "carol"])
    row = _row(result.per_code, "work.toll")
    assert (row.units, row.pairable_units, row.ratings) == (6, 6, 15)
    rows = _ratings("work.toll", rated={"carol": [0, 1, 2]})
    assert row.alpha == pytest.approx(krippendorff.alpha(reliability_data=np.array(rows).T,
                                                         level_of_measurement="nominal"))
    assert "at least two coders" in result.compared["scope"]
    pair = result.pairwise[(result.pairwise["coder_b"] == "carol") & (result.pairwise["code"] == "work.toll")]
    assert set(pair["n"]) == {3}  # each pair with carol compares the three units she rated


def test_a_paragraph_in_one_scope_only_is_not_compared(three):
    assign_paragraphs(three, "alice", ["SF1.txt#2", "SF1.txt#4"])
    assign_paragraphs(three, "bob", ["SF1.txt#2"])
    assign_paragraphs(three, "carol", ["SF2.txt#2"])
    result = compute_team_agreement(three.connect(), ["alice", "bob", "carol"])
    assert result.compared["count"] == 1  # only SF1.txt#2 lies in two scopes


def test_higher_unit_partly_outside_a_scope_is_missing_for_that_coder(three):
    assign_paragraphs(three, "alice", ["SF1.txt#2", "SF1.txt#4"])
    assign_paragraphs(three, "bob", ["SF1.txt#2", "SF1.txt#4"])
    assign_paragraphs(three, "carol", ["SF1.txt#2"])
    result = compute_team_agreement(three.connect(), ["alice", "bob", "carol"], unit="respondent")
    row = _row(result.per_code, "work.toll")
    # SF1 (trimmed to its two compared paragraphs) is rated by alice and bob; carol saw only half of it
    assert (row.units, row.pairable_units, row.ratings) == (1, 1, 2)


def test_two_coders_through_the_team_path_agree_with_compute_agreement(three):
    conn = three.connect()
    team = compute_team_agreement(conn, ["alice", "bob"])
    pair = compute_agreement(conn, "alice", "bob")
    for frame_team, frame_pair in ((team.per_code, pair.per_code), (team.per_theme, pair.per_theme),
                                   (team.pooled.iloc[:1], pair.pooled.iloc[:1])):
        for row_team, row_pair in zip(frame_team.itertuples(), frame_pair.itertuples()):
            assert row_team.code == row_pair.code
            for team_name, pair_name in (("percent", "percent"), ("alpha", "alpha"), ("ac1", "ac1"),
                                         ("bp", "bp"), ("light_kappa", "kappa")):
                assert np.allclose(getattr(row_team, team_name), getattr(row_pair, pair_name), equal_nan=True)


@pytest.mark.parametrize("unit", ["paragraph", "respondent", "document", "turn"])
def test_order_of_the_coders_does_not_matter(three, unit):
    conn = three.connect()
    first = compute_team_agreement(conn, ["alice", "bob", "carol"], unit=unit)
    second = compute_team_agreement(conn, ["carol", "alice", "bob"], unit=unit)
    for name in ("percent", "fleiss_kappa", "alpha", "ac1", "bp", "light_kappa"):
        assert np.allclose(first.per_code[name], second.per_code[name], equal_nan=True)
        assert np.allclose(first.pooled[name], second.pooled[name], equal_nan=True)


def test_identical_coders_agree_perfectly(tiny_project):
    with tiny_project.transaction() as conn:
        paragraphs = _paragraphs(conn)
        for coder in ("ann", "ben", "cat", "dan"):
            for key, indexes in PLAN["bob"].items():
                for index in indexes:
                    _add(conn, coder, key, paragraphs[index])
    result = compute_team_agreement(tiny_project.connect(), ["ann", "ben", "cat", "dan"])
    for name in ("fleiss_kappa", "alpha", "ac1", "bp", "light_kappa"):
        assert np.allclose(result.per_code[name], 1.0)
    assert set(result.pairwise["kappa"]) == {1.0}


def test_unused_code_is_undefined_with_reason(three):
    with three.transaction() as conn:
        codebook.store_nodes(conn, [{"key": "work.hours", "label": "Hours", "parent": "work"}])
    result = compute_team_agreement(three.connect(), ["alice", "bob", "carol"])
    row = _row(result.per_code, "work.hours")
    assert math.isnan(row.fleiss_kappa) and math.isnan(row.alpha) and math.isnan(row.light_kappa)
    assert row.fleiss_kappa_reason == "no coder applied the code to any compared unit (no variation)"
    assert row.light_kappa_reason == "no pair of coders has a defined Cohen's κ"
    assert row.ac1 == 1.0 and row.percent == 100.0


@pytest.mark.parametrize("coders, options, message", [
    (["alice"], {}, "at least two coders"),
    (["alice", "bob", "alice"], {}, "named twice"),
    (["alice", "bob", "carol"], {"unit": "char"}, "two coders only"),
    (["alice", "bob", "carol"], {"unit": "word"}, "unknown unit"),
    (["alice", "bob", "carol"], {"ci": True, "n_boot": 5}, "too few replicates"),
])
def test_bad_input(three, coders, options, message):
    with pytest.raises(InputError, match=message):
        compute_team_agreement(three.connect(), coders, **options)


def test_no_units_in_common_is_an_error(three):
    assign_paragraphs(three, "alice", ["SF1.txt#2"])
    assign_paragraphs(three, "bob", ["SF1.txt#4"])
    assign_paragraphs(three, "carol", ["SF2.txt#2"])
    with pytest.raises(InputError, match="no two of alice, bob, carol have units in common"):
        compute_team_agreement(three.connect(), ["alice", "bob", "carol"])


def test_intervals_are_seeded_and_bracket_the_estimates(three):
    conn = three.connect()
    first = compute_team_agreement(conn, ["alice", "bob", "carol"], ci=True, n_boot=300, seed=4)
    second = compute_team_agreement(conn, ["alice", "bob", "carol"], ci=True, n_boot=300, seed=4)
    assert first.per_code.equals(second.per_code) and first.pooled.equals(second.pooled)
    pooled = first.pooled.iloc[0]
    for name in ("fleiss_kappa", "alpha", "ac1", "bp", "light_kappa"):
        assert pooled[f"{name}_lo"] <= pooled[name] + 1e-12 <= pooled[f"{name}_hi"] + 2e-12
    for name in ("fleiss_kappa", "ac1", "bp"):
        assert pooled[f"{name}_gwet_lo"] < pooled[name] <= pooled[f"{name}_gwet_hi"] <= 1.0
    assert pooled.fleiss_kappa_z == pytest.approx(pooled.fleiss_kappa / pooled.fleiss_kappa_se0)
    # 24 items (6 units × 4 codes), 3 coders each: SE0 = sqrt(2 / (N m (m - 1))) for a binary variable
    assert pooled.fleiss_kappa_se0 == pytest.approx(math.sqrt(2 / (24 * 3 * 2)))


# -- exclusive code groups ---------------------------------------------------------------------------

GROUPED_YAML = """\
name: grouped
codes:
  - key: work
    label: Workload and capacity
    children:
      - key: work.caseload
        label: Caseload pressure
      - key: work.toll
        label: Emotional toll
  - key: support
    label: Support for staff
    exclusive: true
    children:
      - key: sup.supervision
        label: Supervision
      - key: sup.peer
        label: Peer support
"""


def test_codebook_reads_and_keeps_the_exclusive_flag(tmp_path):
    path = tmp_path / "grouped.yaml"
    path.write_text(GROUPED_YAML, encoding="utf-8")
    read = codebook.load_codebook_file(path)
    assert [n["key"] for n in read.nodes if n.get("exclusive")] == ["support"]
    assert "exclusive: true" in codebook.codebook_to_yaml(read)
    plain = tmp_path / "plain.yaml"
    plain.write_text(GROUPED_YAML.replace("    exclusive: true\n", ""), encoding="utf-8")
    without = codebook.load_codebook_file(plain)
    assert '"exclusive"' not in without.content_json()  # a codebook without the flag keeps its content
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(GROUPED_YAML.replace("exclusive: true", "exclusive: sometimes"), encoding="utf-8")
    problems = codebook.validate_codebook_file(wrong)
    assert any("'exclusive' must be true or false" in p.message and p.line == 12 for p in problems)


def test_exclusive_group_agreement_and_problems(three, tmp_path):
    import krippendorff

    path = tmp_path / "grouped.yaml"
    path.write_text(GROUPED_YAML, encoding="utf-8")
    conn = three.connect()
    codebook.import_codebook(conn, path)
    assert exclusive_group_keys(conn) == ["support"]
    result = compute_team_agreement(conn, ["alice", "bob", "carol"])
    # bob applied both codes of the group in no unit (supervision at 1 and 3, peer at 2): the nominal ratings
    # by hand, (none) where a coder applied neither
    categories = {"sup.supervision": 0, "sup.peer": 1}
    rows = []
    for unit in range(6):
        row = []
        for coder in ("alice", "bob", "carol"):
            applied = [categories[k] for k in categories if unit in PLAN[coder].get(k, [])]
            row.append(NAN if len(applied) > 1 else applied[0] if applied else 2.0)
        rows.append(row)
    group = result.groups.iloc[0]
    assert group.group == "support" and group.categories == "sup.supervision, sup.peer, (none)"
    expected = krippendorff.alpha(reliability_data=np.array(rows).T, level_of_measurement="nominal")
    assert group.alpha == pytest.approx(expected)
    from irrCAC.raw import CAC
    import pandas as pd

    cac = CAC(pd.DataFrame(rows), categories=[0.0, 1.0, 2.0])
    assert group.fleiss_kappa == pytest.approx(cac.fleiss()["est"]["coefficient_value"], abs=1e-5)
    assert group.ac1 == pytest.approx(cac.gwet()["est"]["coefficient_value"], abs=1e-5)
    categories_frame = result.group_categories
    assert list(categories_frame["category"]) == ["sup.supervision", "sup.peer", "(none)"]
    coincidences = result.group_coincidences
    assert coincidences["coincidences"].sum() == pytest.approx(18)  # 6 units × 3 pairable values
    assert len(result.problems) == 0


def test_two_codes_of_an_exclusive_group_are_reported_and_left_missing(three, tmp_path):
    path = tmp_path / "grouped.yaml"
    path.write_text(GROUPED_YAML, encoding="utf-8")
    conn = three.connect()
    codebook.import_codebook(conn, path)
    with three.transaction() as write:
        _add(write, "carol", "sup.supervision", _paragraphs(write)[2])  # carol: peer and supervision in SF2.txt#2
    result = compute_team_agreement(three.connect(), ["alice", "bob", "carol"], ci=True, n_boot=100)
    problems = result.problems.to_dict(orient="records")
    assert problems == [{"group": "support", "coder": "carol", "document": "SF2.txt", "unit": "SF2.txt#2",
                         "codes": "sup.supervision, sup.peer"}]
    group = result.groups.iloc[0]
    assert group.ratings == 17 and group.problems == 1
    assert group.fleiss_kappa_lo <= group.fleiss_kappa <= group.fleiss_kappa_hi


def test_two_coders_group_tables_coincidences_and_light_kappa(three, tmp_path):
    from qualcode.agreement import kappa_table

    path = tmp_path / "grouped.yaml"
    path.write_text(GROUPED_YAML, encoding="utf-8")
    conn = three.connect()
    codebook.import_codebook(conn, path)
    result = compute_team_agreement(conn, ["alice", "carol"])
    order = ["sup.supervision", "sup.peer", "(none)"]
    table = np.zeros((3, 3))
    for unit in range(6):
        def category(coder):
            applied = [k for k in order[:2] if unit in PLAN[coder].get(k, [])]
            return order.index(applied[0]) if applied else 2
        table[category("alice"), category("carol")] += 1
    cells = result.group_tables
    built = np.array([[cells[(cells.category_a == r) & (cells.category_b == c)].units.iloc[0] for c in order]
                      for r in order])
    assert np.array_equal(built, table)
    coincidences = result.group_coincidences
    matrix = np.array([[coincidences[(coincidences.category == r) & (coincidences.with_category == c)]
                        .coincidences.iloc[0] for c in order] for r in order])
    assert np.allclose(matrix, table + table.T)
    assert result.groups.iloc[0].light_kappa == pytest.approx(kappa_table(table))


def test_project_codebook_keeps_the_exclusive_flag(three, tmp_path):
    path = tmp_path / "grouped.yaml"
    path.write_text(GROUPED_YAML, encoding="utf-8")
    conn = three.connect()
    codebook.import_codebook(conn, path)
    exported = codebook.codebook_to_yaml(codebook.project_codebook(conn))
    assert exported.count("exclusive: true") == 1
    again = tmp_path / "again.yaml"
    again.write_text(exported, encoding="utf-8")
    assert [n["key"] for n in codebook.load_codebook_file(again).nodes if n.get("exclusive")] == ["support"]


def test_a_coder_with_no_units_changes_nothing(three):
    from qualcode import store

    with three.transaction() as conn:
        store.get_or_create_coder(conn, "dave")  # a coder who coded nothing and was assigned nothing
    conn = three.connect()
    without = compute_team_agreement(conn, ["alice", "bob", "carol"])
    with_dave = compute_team_agreement(conn, ["alice", "bob", "carol", "dave"])
    for name in ("units", "ratings", "percent", "fleiss_kappa", "alpha", "ac1", "bp", "light_kappa"):
        assert np.allclose(without.per_code[name].astype(float), with_dave.per_code[name].astype(float),
                           equal_nan=True)
    dave = with_dave.pairwise[with_dave.pairwise["coder_b"] == "dave"]
    assert set(dave["n"]) == {0} and set(dave["kappa_reason"]) == {"no units compared"}


def test_a_group_only_partly_selected_is_left_out(three, tmp_path):
    path = tmp_path / "grouped.yaml"
    path.write_text(GROUPED_YAML, encoding="utf-8")
    conn = three.connect()
    codebook.import_codebook(conn, path)
    assert len(compute_team_agreement(conn, ["alice", "bob", "carol"], codes=["sup.peer"]).groups) == 0
    assert len(compute_team_agreement(conn, ["alice", "bob", "carol"], codes=["support"]).groups) == 1


@pytest.mark.parametrize("ci", [False, True])
def test_a_codebook_without_themes(tmp_path, ci):
    from qualcode import documents
    from qualcode.project import Project
    from tests.conftest import TINY_DOCUMENTS

    project = Project.create(tmp_path / "flat", name="flat")
    with project.transaction() as conn:
        for document in TINY_DOCUMENTS:
            documents.add_document(conn, source_format="txt", **document)
        codebook.store_nodes(conn, [{"key": "a", "label": "A"}, {"key": "b", "label": "B"}])
        paragraphs = _paragraphs(conn)
        for coder in ("x", "y", "z"):
            other = paragraphs[1 if coder != "z" else 3]
            add_coded_spans(conn, [(coder, "a", paragraphs[0][:3]), (coder, "b", other[:3])])
    result = compute_team_agreement(project.connect(), ["x", "y", "z"], ci=ci, n_boot=50)
    assert len(result.per_theme) == 0 and list(result.per_code["code"]) == ["a", "b"]
    assert result.per_code.set_index("code").loc["a", "fleiss_kappa"] == pytest.approx(1.0)
    project.close()
