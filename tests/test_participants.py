"""The participant characteristics table."""

from __future__ import annotations

import pytest

from qualcode import documents
from qualcode.errors import InputError, NotFound
from qualcode.participants import participant_table


def set_attribute(conn, respondent, name, value, position):
    conn.execute("INSERT OR REPLACE INTO respondent_attributes (respondent_id, name, value, position) VALUES (?, ?, ?, ?)",
                 (respondent, name, value, position))


@pytest.fixture
def described(tiny_project):
    with tiny_project.transaction() as conn:
        set_attribute(conn, "SF1", "years_in_role", "6", 2)
        set_attribute(conn, "SF2", "years_in_role", "1.5", 2)
        set_attribute(conn, "TL1", "years_in_role", "12", 2)
        set_attribute(conn, "TL1", "role", "Team leader", 0)
        documents.ensure_respondent(conn, "SF12")  # listed in respondents.csv, no transcript
        set_attribute(conn, "SF12", "role", "Support worker", 0)
    return tiny_project


def by_category(result):
    return {(r["characteristic"], r["category"]): r for r in result.table.to_dict("records")}


def test_counts_and_percentages_per_attribute_value(described):
    result = participant_table(described.connect())
    assert result.denominator == 3
    assert result.left_out == ["SF12"]
    assert any("SF12" in notice for notice in result.notices)
    rows = by_category(result)
    assert rows[("role", "Support worker")]["n"] == 2
    assert rows[("role", "Support worker")]["summary"] == "2 (67%)"
    assert rows[("role", "Team leader")]["summary"] == "1 (33%)"
    assert rows[("site", "not recorded")]["n"] == 1  # TL1 has no site
    assert [r["category"] for r in result.table.to_dict("records") if r["characteristic"] == "site"] == [
        "Eastbrook", "Northvale", "not recorded"]


def test_numeric_attributes_are_mean_and_range(described):
    result = participant_table(described.connect(), by=["years_in_role"])
    (row,) = result.table.to_dict("records")
    assert row["category"] == "mean (range)"
    assert row["mean"] == pytest.approx((6 + 1.5 + 12) / 3, abs=0.01)
    assert (row["min"], row["max"]) == (1.5, 12)
    assert row["summary"] == "6.5 (1.5–12)"


def test_numeric_with_missing_values_states_n(described):
    with described.transaction() as conn:
        conn.execute("DELETE FROM respondent_attributes WHERE respondent_id = 'SF2' AND name = 'years_in_role'")
    rows = by_category(participant_table(described.connect(), by=["years_in_role"]))
    assert rows[("years_in_role", "mean (range)")]["summary"] == "9.0 (6–12); n = 2"
    assert rows[("years_in_role", "not recorded")]["summary"] == "1 (33%)"


def test_all_respondents_and_display_layout(described):
    result = participant_table(described.connect(), by=["role"], include_all=True)
    assert result.denominator == 4 and result.left_out == []
    display = result.display()
    assert display.columns.tolist() == ["Characteristic", "Category", "Participants (N = 4)"]
    assert display.values.tolist() == [["role", "Support worker", "3 (75%)"], ["", "Team leader", "1 (25%)"]]


def test_unknown_attribute_and_empty_project(described, tmp_path):
    with pytest.raises(NotFound, match="no respondent attribute 'gender'"):
        participant_table(described.connect(), by=["gender"])
    from qualcode.project import Project

    empty = Project.create(tmp_path / "empty")
    with pytest.raises(InputError, match="no respondents"):
        participant_table(empty.connect())
    empty.close()
