"""Codebook files, validation with positions, import/versions, rename, merge, diff and export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qualcode import codebook as cb
from qualcode import codings, store
from qualcode.errors import CodebookError, InputError, NotFound, OverwriteRefused

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "codebooks"
BRIDGE = REPO / "codebooks" / "bridge.yaml"

# The example study's hierarchy as codebooks/bridge.yaml lays it out (theme > code).
STUDY_TREE = {
    "relationships": ("Building trusting relationships", ["rel.continuity", "rel.time", "rel.boundaries"]),
    "workload": ("Workload and capacity", ["work.caseload", "work.admin", "work.toll"]),
    "coordination": ("Working across services", ["coord.info", "coord.clinical", "coord.practical", "coord.waiting"]),
    "support": ("Support for staff", ["sup.supervision", "sup.training", "sup.peer"]),
    "impact": ("Perceived impact on clients", ["imp.independence", "imp.crisis", "imp.family"]),
}


# -- the example codebook -----------------------------------------------------------------

def test_bridge_codebook_has_the_study_keys_and_hierarchy():
    book = cb.load_codebook_file(BRIDGE)
    by_key = {n["key"]: n for n in book.nodes}
    expected_keys = [k for theme, (_, codes) in STUDY_TREE.items() for k in [theme, *codes]]
    assert book.keys() == expected_keys
    for theme, (label, codes) in STUDY_TREE.items():
        assert by_key[theme]["label"] == label
        assert by_key[theme]["parent"] is None
        for key in codes:
            assert by_key[key]["parent"] == theme
    assert by_key["coord.waiting"]["label"] == "Waiting lists and referral delays"
    assert book.language == "en"


def test_bridge_codes_are_documented_and_have_every_kind_of_rule():
    book = cb.load_codebook_file(BRIDGE)
    codes = [n for n in book.nodes if n["parent"] is not None]
    for node in codes:
        assert node["definition"] and node["include"] and node["exclude"] and node["examples"], node["key"]
        assert node["rules"] and node["rules"].get("phrases"), node["key"]
    kinds = {kind for n in codes for kind in n["rules"]}
    assert {"phrases", "patterns", "regex", "unless"} <= kinds
    assert any(isinstance(u, dict) for n in codes for u in n["rules"].get("unless", []))


# -- validation with positions ----------------------------------------------------------------

@pytest.mark.parametrize("name, line, column, words", [
    ("malformed.yaml", 5, 16, "malformed YAML"),
    ("duplicate_key.yaml", 8, 14, "duplicate code key 'work.toll' (first defined at line 6)"),
    ("unknown_unless.yaml", 8, 11, "unknown code 'imp.crisis' in 'unless'"),
    ("unknown_parent.yaml", 7, 13, "unknown parent 'wrok' (did you mean 'work'?)"),
    ("parent_cycle.yaml", 5, 13, "the parents form a cycle: a → b → a"),
    ("unless_cycle.yaml", 7, 16, "'unless' code references form a cycle"),
    ("empty_label.yaml", 4, 12, "empty label"),
    ("bad_regex.yaml", 8, 11, "invalid regular expression"),
    ("bad_pattern.yaml", 7, 27, "spaCy rejects this token pattern"),
    ("bad_language.yaml", 2, 11, "unsupported language 'klingon'"),
])
def test_each_problem_is_reported_with_line_and_column(name, line, column, words):
    path = FIXTURES / name
    problems = cb.validate_codebook_file(path)
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.line, problem.column) == (line, column)
    assert words in problem.message
    assert str(problem).startswith(f"{path}:{line}:{column}: ")
    with pytest.raises(CodebookError) as caught:
        cb.load_codebook_file(path)
    assert str(caught.value) == str(problem)
    assert "\n" not in str(caught.value)


def test_token_pattern_problem_points_at_the_offending_token(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("codes:\n  - key: a\n    label: A\n    rules:\n      patterns:\n"
                    "        - - {LOWER: fine}\n          - {LOWER: x, OP: '%'}\n", encoding="utf-8")
    [problem] = cb.validate_codebook_file(path)
    assert (problem.line, problem.column) == (7, 13)
    assert "OP" in problem.message


def test_all_problems_are_listed_in_file_order(tmp_path):
    path = tmp_path / "many.yaml"
    path.write_text(
        "name: x\ncodes:\n  - key: a\n    label: A\n    defintion: typo\n  - key: a\n    label: ''\n"
        "    rules:\n      phrase: [x]\n      roles: [boss]\n", encoding="utf-8")
    problems = cb.validate_codebook_file(path)
    messages = [p.message for p in problems]
    assert [p.line for p in problems] == sorted(p.line for p in problems)
    assert any("unknown field 'defintion' (did you mean 'definition'?)" in m for m in messages)
    assert any("duplicate code key 'a'" in m for m in messages)
    assert any("empty label" in m for m in messages)
    assert any("unknown rule field 'phrase' (did you mean 'phrases'?)" in m for m in messages)
    assert any("unknown role 'boss'" in m for m in messages)
    with pytest.raises(CodebookError, match=r"4 more problems: run 'qualcode codebook validate"):
        cb.load_codebook_file(path)


def test_duplicate_mapping_field_and_contradicting_parent(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text("codes:\n  - key: a\n    label: A\n    label: B\n    children:\n"
                    "      - key: b\n        label: B\n        parent: c\n  - key: c\n    label: C\n", encoding="utf-8")
    problems = cb.validate_codebook_file(path)
    assert [(p.line, p.column) for p in problems] == [(4, 5), (8, 17)]
    assert "duplicate field 'label' (already given at line 3)" in problems[0].message
    assert "contradicts the nesting under 'a'" in problems[1].message


def test_flat_parent_list_is_reordered_parents_first(tmp_path):
    path = tmp_path / "flat.yaml"
    path.write_text("codes:\n  - {key: child, label: Child, parent: theme}\n  - {key: theme, label: Theme}\n"
                    "  - {key: other, label: Other}\n", encoding="utf-8")
    book = cb.load_codebook_file(path)
    assert book.keys() == ["theme", "child", "other"]


def test_unknown_suffix_and_missing_file(tmp_path):
    with pytest.raises(CodebookError, match="cannot read '.json' codebooks"):
        cb.load_codebook_file(tmp_path / "x.json")
    with pytest.raises(CodebookError, match="no such file"):
        cb.load_codebook_file(tmp_path / "x.yaml")


def test_content_hash_ignores_layout_but_not_content(tmp_path):
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text("name: N\ncodes:\n  - key: k\n    label: K\n    rules: {phrases: [x]}\n", encoding="utf-8")
    b.write_text("# a comment\nname: N\ncodes:\n- label: K\n  key: k\n  rules:\n    phrases:\n    - x\n", encoding="utf-8")
    assert cb.load_codebook_file(a).content_hash == cb.load_codebook_file(b).content_hash
    b.write_text("name: N\ncodes:\n  - key: k\n    label: K\n    rules: {phrases: [y]}\n", encoding="utf-8")
    assert cb.load_codebook_file(a).content_hash != cb.load_codebook_file(b).content_hash


# -- spreadsheets -----------------------------------------------------------------------------

def test_csv_codebook_with_parents_and_rules():
    book = cb.load_codebook_file(FIXTURES / "flat.csv")
    toll = book.node("work.toll")
    assert toll["parent"] == "work"
    assert toll["rules"] == {"phrases": ["take it home"], "regex": ["\\bdon't sleep\\b"],
                             "unless": [{"code": "sup.supervision"}], "roles": ["respondent"]}
    assert book.node("work.caseload")["rules"]["phrases"] == ["caseload", "on my books"]
    assert book.node("work.caseload")["examples"] == ["I've got forty on my books."]
    assert book.source_format == "csv"


def test_csv_problem_names_line_and_column():
    [problem] = cb.validate_codebook_file(FIXTURES / "bad_parent.csv")
    assert problem.where.text.endswith("bad_parent.csv, line 3, column parent")
    assert (problem.line, problem.column) == (3, 3)


def test_xlsx_problem_names_sheet_and_cell(tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Codes"
    sheet.append(["key", "label", "parent", "regex"])
    sheet.append(["work", "Workload", None, None])
    sheet.append(["work.toll", "Emotional toll", "work", "(broken"])
    path = tmp_path / "book.xlsx"
    workbook.save(path)
    [problem] = cb.validate_codebook_file(path)
    assert problem.where.text == f"{path}, sheet Codes, cell D3"
    assert "invalid regular expression" in problem.message


# -- import and versions ------------------------------------------------------------------------

def _snapshot(conn):
    return {table: [tuple(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY 1")]
            for table in ("codes", "codebook_versions", "meta", "codings", "history")}


def test_import_stores_a_version_and_the_tree(tiny_project):
    with tiny_project.transaction() as conn:
        result = cb.import_codebook(conn, FIXTURES / "small.yaml")
    conn = tiny_project.connect()
    # the tiny project already had these six keys: the four codes gain rules, the two themes are unchanged
    assert (result["added"], result["updated"], result["unchanged"], result["deactivated"]) == (0, 4, 2, 0)
    assert cb.current_version_id(conn) == result["version_id"]
    row = conn.execute("SELECT content_hash, name, source_format, content FROM codebook_versions").fetchone()
    book = cb.load_codebook_file(FIXTURES / "small.yaml")
    assert row["content_hash"] == book.content_hash == result["content_hash"]
    assert (row["name"], row["source_format"]) == ("Tiny test codebook", "yaml")
    assert cb.load_version(conn, result["version_id"]).nodes == book.nodes
    tree = cb.load_tree(conn)
    assert tree.node("sup.supervision").rules["unless"] == [{"code": "work.toll"}]
    history = conn.execute("SELECT action, detail FROM history WHERE action = 'codebook import'").fetchone()
    assert json.loads(history["detail"])["version_id"] == result["version_id"]


def test_importing_the_same_content_twice_reuses_the_version(tiny_project):
    with tiny_project.transaction() as conn:
        first = cb.import_codebook(conn, FIXTURES / "small.yaml")
        second = cb.import_codebook(conn, FIXTURES / "small.yaml")
    assert second["version_id"] == first["version_id"]
    assert second["unchanged"] == 6 and second["added"] == second["updated"] == 0
    assert tiny_project.connect().execute("SELECT COUNT(*) FROM codebook_versions").fetchone()[0] == 1


def test_codes_missing_from_a_new_version_become_inactive_and_keep_their_codings(tiny_project, tmp_path):
    conn = tiny_project.connect()
    with tiny_project.transaction() as conn:
        cb.import_codebook(conn, FIXTURES / "small.yaml")
        coder = store.get_or_create_coder(conn, "A")
        peer_id = cb.load_tree(conn).node("sup.peer").code_id
        codings.add_codings(conn, [{"coder_id": coder, "code_id": peer_id, "document_id": 1, "start": 0,
                                    "end": 5, "origin": "manual"}])
    smaller = tmp_path / "smaller.yaml"
    smaller.write_text((FIXTURES / "small.yaml").read_text(encoding="utf-8").split("      - key: sup.peer")[0],
                       encoding="utf-8")
    before = _snapshot(conn)
    with pytest.raises(InputError, match=r"1 code that carries codings inactive: sup\.peer \(1\); 1 coding would"
                                         r" no longer be counted.*--force"):
        with tiny_project.transaction() as conn:
            cb.import_codebook(conn, smaller)
    assert _snapshot(conn) == before
    with tiny_project.transaction() as conn:
        result = cb.import_codebook(conn, smaller, force=True)
    assert result["deactivated"] == 1
    assert "sup.peer" not in cb.load_tree(conn)
    assert not cb.load_tree(conn, include_inactive=True).node("sup.peer").active
    [coding] = codings.load_codings(conn, coders=["A"])
    assert coding.code_key == "sup.peer"
    assert conn.execute("SELECT COUNT(*) FROM codebook_versions").fetchone()[0] == 2
    # and bringing it back reactivates it
    with tiny_project.transaction() as conn:
        assert cb.import_codebook(conn, FIXTURES / "small.yaml")["reactivated"] == 1


def test_a_failed_import_changes_nothing(tiny_project):
    conn = tiny_project.connect()
    before = _snapshot(conn)
    with pytest.raises(CodebookError):
        with tiny_project.transaction() as conn:
            cb.import_codebook(conn, FIXTURES / "unknown_unless.yaml")
    assert _snapshot(conn) == before


# -- rename and merge -------------------------------------------------------------------------------

def _add(conn, coder, key, start, end, document_id=1, origin="manual"):
    coder_id = store.get_or_create_coder(conn, coder)
    code_id = cb.load_tree(conn, include_inactive=True).node(key).code_id
    codings.add_codings(conn, [{"coder_id": coder_id, "code_id": code_id, "document_id": document_id,
                                "start": start, "end": end, "origin": origin}])


def test_rename_keeps_codings_updates_references_and_records_history(tiny_project):
    with tiny_project.transaction() as conn:
        cb.import_codebook(conn, FIXTURES / "small.yaml")
        _add(conn, "A", "work.toll", 0, 10)
        result = cb.rename_code(conn, "work.toll", "work.emotional", label="Emotional cost")
    assert result["codings"] == 1
    tree = cb.load_tree(conn)
    assert "work.toll" not in tree and tree.node("work.emotional").label == "Emotional cost"
    assert [c.code_key for c in codings.load_codings(conn)] == ["work.emotional"]
    assert tree.node("sup.supervision").rules["unless"] == [{"code": "work.emotional"}]
    event = conn.execute("SELECT detail FROM history WHERE action = 'codebook rename'").fetchone()
    assert json.loads(event[0])["old"] == "work.toll"
    # the renamed tree is the current version
    assert "work.emotional" in cb.load_version(conn, cb.current_version_id(conn)).keys()


def test_rename_onto_an_existing_key_is_refused(tiny_project):
    with pytest.raises(InputError, match="already exists; to combine the two use 'qualcode codebook merge"):
        with tiny_project.transaction() as conn:
            cb.rename_code(conn, "work.toll", "work.caseload")
    with pytest.raises(NotFound, match="no code 'work.tol'"):
        with tiny_project.transaction() as conn:
            cb.rename_code(conn, "work.tol", "x")


def test_merge_moves_codings_and_decisions_and_deactivates_the_sources(tiny_project):
    with tiny_project.transaction() as conn:
        cb.import_codebook(conn, FIXTURES / "small.yaml")
        _add(conn, "A", "sup.peer", 0, 10)
        _add(conn, "A", "sup.supervision", 0, 10)  # same span: a duplicate after the merge
        _add(conn, "A", "sup.supervision", 20, 30)
        _add(conn, "B", "sup.peer", 0, 10)
        supervision_id = cb.load_tree(conn).node("sup.supervision").code_id
        conn.execute(
            "INSERT INTO decisions (coder_a, coder_b, into_coder, unit_level, unit_key, document_id, start, end,"
            " code_id, a_applied, b_applied, decision, decided_at) VALUES ('A','B','consensus','paragraph','SF1.txt#2',"
            " 1, 0, 10, ?, 1, 0, 'accept', 'now')", (supervision_id,))
        result = cb.merge_codes(conn, ["sup.peer", "sup.supervision"], "sup.people", label="Support from people")
    assert result["created"] and result["codings_moved"] == 4 and result["duplicates_dropped"] == 1
    assert result["decisions_moved"] == 1
    tree = cb.load_tree(conn)
    assert "sup.peer" not in tree and "sup.supervision" not in tree
    people = tree.node("sup.people")
    assert people.parent_key == "support" and people.label == "Support from people"
    assert set(people.rules["phrases"]) == {"supervision", "each other"}
    assert "unless" in people.rules  # supervision's veto by work.toll is kept
    spans = sorted((c.coder, c.code_key, c.start, c.end) for c in codings.load_codings(conn))
    assert spans == [("A", "sup.people", 0, 10), ("A", "sup.people", 20, 30), ("B", "sup.people", 0, 10)]
    decision_code = conn.execute("SELECT code_id FROM decisions").fetchone()[0]
    assert decision_code == people.code_id
    inactive = cb.load_tree(conn, include_inactive=True)
    assert not inactive.node("sup.peer").active and not inactive.node("sup.supervision").active
    assert conn.execute("SELECT COUNT(*) FROM history WHERE action = 'codebook merge'").fetchone()[0] == 1


def test_merge_into_an_existing_code_and_children_follow(tiny_project):
    with tiny_project.transaction() as conn:
        _add(conn, "A", "work.toll", 0, 10)
        result = cb.merge_codes(conn, ["support"], "work")
    tree = cb.load_tree(conn)
    assert not result["created"]
    assert tree.node("sup.peer").parent_key == "work"
    assert "support" not in tree


def test_merge_refusals(tiny_project):
    with pytest.raises(InputError, match="give its label with --label"):
        with tiny_project.transaction() as conn:
            cb.merge_codes(conn, ["sup.peer"], "sup.new")
    with pytest.raises(InputError, match="lies beneath it"):
        with tiny_project.transaction() as conn:
            cb.merge_codes(conn, ["support"], "sup.peer")
    with pytest.raises(InputError, match="nothing to merge"):
        with tiny_project.transaction() as conn:
            cb.merge_codes(conn, ["work"], "work")


# -- diff ------------------------------------------------------------------------------------------------

def test_diff_finds_added_removed_renamed_moved_and_redefined(tmp_path):
    old = cb.load_codebook_file(BRIDGE)
    nodes = [dict(n) for n in old.nodes]
    for node in nodes:
        if node["key"] == "work.toll":
            node["key"] = "work.emotional"  # renamed: same label and definition
        if node["key"] == "sup.peer":
            node["parent"] = "relationships"  # moved
        if node["key"] == "rel.time":
            node["definition"] = "Time with clients."  # redefined
    nodes = [n for n in nodes if n["key"] != "imp.family"]  # removed
    nodes.append({"key": "imp.housing", "label": "Stable housing", "parent": "impact"})  # added
    new = cb.Codebook(name=old.name, description=None, version_note="2", nodes=nodes, source_format="yaml")
    changes = cb.diff_codebooks(old, new)
    assert changes["added"] == [{"key": "imp.housing", "label": "Stable housing", "parent": "impact"}]
    assert changes["removed"] == [{"key": "imp.family", "label": "Involving families and carers"}]
    assert changes["renamed"] == [{"old": "work.toll", "new": "work.emotional", "label": "Emotional toll",
                                   "evidence": "same label and definition"}]
    assert changes["moved"] == [{"key": "sup.peer", "old_parent": "support", "new_parent": "relationships"}]
    assert changes["redefined"] == [{"key": "rel.time", "fields": ["definition"]}]
    assert cb.diff_codebooks(old, old) == {"added": [], "removed": [], "renamed": [], "moved": [], "redefined": []}


def test_diff_children_of_a_renamed_theme_are_not_moved():
    old = cb.load_codebook_file(FIXTURES / "small.yaml")
    nodes = [dict(n) for n in old.nodes]
    for node in nodes:
        if node["key"] == "support":
            node["key"] = "staff"
        if node["parent"] == "support":
            node["parent"] = "staff"
    new = cb.Codebook(name=old.name, description=None, version_note=None, nodes=nodes, source_format="yaml")
    changes = cb.diff_codebooks(old, new)
    assert [(r["old"], r["new"]) for r in changes["renamed"]] == [("support", "staff")]
    assert changes["moved"] == []


# -- export --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["yaml", "xlsx", "csv"])
def test_export_and_read_back_gives_the_same_codes(tiny_project, tmp_path, fmt):
    with tiny_project.transaction() as conn:
        cb.import_codebook(conn, BRIDGE)
    out = cb.export_codebook(conn, tmp_path / f"book.{fmt}")
    again = cb.load_codebook_file(out)
    original = cb.load_codebook_file(BRIDGE)
    assert again.nodes == original.nodes
    if fmt != "csv":  # csv carries codes only, not the codebook's name and notes
        assert again.content_hash == original.content_hash


def test_export_appendix_md_and_docx(tiny_project, tmp_path):
    import docx

    with tiny_project.transaction() as conn:
        cb.import_codebook(conn, BRIDGE)
    md = cb.export_codebook(conn, tmp_path / "appendix.md").read_text(encoding="utf-8")
    assert md.startswith("# Bridge care-coordination study\n")
    assert "| Code | Key | Definition | Include | Exclude | Example |" in md
    caseload = cb.load_codebook_file(BRIDGE).node("work.caseload")
    assert f"| {caseload['definition']} |" in md
    path = cb.export_codebook(conn, tmp_path / "appendix.docx")
    table = docx.Document(str(path)).tables[0]
    assert [c.text for c in table.rows[0].cells] == ["Code", "Key", "Definition", "Include", "Exclude", "Example"]
    row = next(r for r in table.rows if r.cells[1].text == "work.caseload")
    assert row.cells[0].text.strip() == "Caseload pressure"
    assert row.cells[2].text == caseload["definition"]
    assert row.cells[5].text == f"\u201c{caseload['examples'][0]}\u201d"


def test_export_neutralises_formulas_and_round_trips_them(tiny_project, tmp_path):
    from openpyxl import load_workbook

    book = cb.Codebook(name="F", description=None, version_note=None, source_format="yaml", nodes=[
        {"key": "a", "label": "=HYPERLINK(\"http://x\")", "definition": "-5 points"}])
    with tiny_project.transaction() as conn:
        cb.import_codebook(conn, book)
    path = cb.export_codebook(conn, tmp_path / "f.xlsx")
    sheet = load_workbook(path)["Codes"]
    values = {sheet.cell(1, c).value: sheet.cell(2, c).value for c in range(1, sheet.max_column + 1)}
    assert values["label"] == "'=HYPERLINK(\"http://x\")"
    assert values["definition"] == "'-5 points"
    assert cb.load_codebook_file(path).node("a")["label"] == "=HYPERLINK(\"http://x\")"


def test_export_refuses_to_overwrite_without_force(tiny_project, tmp_path):
    out = tmp_path / "book.yaml"
    out.write_text("keep me", encoding="utf-8")
    with pytest.raises(OverwriteRefused):
        cb.export_codebook(tiny_project.connect(), out)
    assert out.read_text(encoding="utf-8") == "keep me"
    cb.export_codebook(tiny_project.connect(), out, force=True)
    assert "work.caseload" in out.read_text(encoding="utf-8")
    with pytest.raises(InputError, match="cannot write a codebook as 'pdf'"):
        cb.export_codebook(tiny_project.connect(), tmp_path / "book.pdf")


def test_overview_counts_codings_per_coder(tiny_project):
    with tiny_project.transaction() as conn:
        _add(conn, "A", "work.toll", 0, 10)
        _add(conn, "A", "work.toll", 20, 30)
        _add(conn, "B", "sup.peer", 0, 10)
    table = cb.codebook_overview(conn)
    assert list(table["key"]) == cb.load_tree(conn).preorder()
    rows = table.set_index("key")
    assert rows.loc["work.toll", "A"] == 2 and rows.loc["work.toll", "B"] == 0
    assert rows.loc["sup.peer", "B"] == 1
    assert rows.loc["work.toll", "depth"] == 2


# -- round trip invariant --------------------------------------------------------------------------------------

_text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).map(str.strip) \
    .filter(bool)
_key = st.from_regex(r"[a-z][a-z0-9_.]{0,10}", fullmatch=True)


@st.composite
def _codebooks(draw):
    keys = draw(st.lists(_key, min_size=1, max_size=8, unique=True))
    nodes = []
    for index, key in enumerate(keys):
        parent = draw(st.sampled_from([None, *keys[:index]])) if index else None
        rules = draw(st.one_of(st.none(), st.fixed_dictionaries({
            "phrases": st.lists(_text, min_size=1, max_size=3, unique=True)})))
        nodes.append({"key": key, "label": draw(_text), "parent": parent,
                      "definition": draw(st.one_of(st.none(), _text)),
                      "examples": draw(st.lists(_text, max_size=2)), "rules": rules})
    return cb.Codebook(name=draw(_text), description=None, version_note=None, nodes=cb.validate._parents_first(nodes),
                       source_format="yaml")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(book=_codebooks())
def test_yaml_and_xlsx_round_trips_keep_the_content_hash(tmp_path_factory, book):
    folder = tmp_path_factory.mktemp("rt")
    for fmt in ("yaml", "xlsx"):
        path = cb.write_codebook(book, folder / f"book.{fmt}")
        again = cb.load_codebook_file(path)
        assert again.nodes == book.nodes
        assert again.content_hash == book.content_hash


def test_plain_yaml_scalars_keep_their_written_text(tmp_path):
    # YAML 1.1 reads yes/no/on as booleans and 1.10 as a number; a codebook means the words
    path = tmp_path / "words.yaml"
    path.write_text("version: 1.10\ncodes:\n  - key: a\n    label: No\n    rules: {phrases: [yes, on, 42]}\n"
                    "    examples: [off]\n", encoding="utf-8")
    book = cb.load_codebook_file(path)
    assert book.version_note == "1.10"
    assert book.node("a")["label"] == "No"
    assert book.node("a")["rules"]["phrases"] == ["yes", "on", "42"]
    assert book.node("a")["examples"] == ["off"]


def test_the_example_in_the_format_documentation_is_valid(tmp_path):
    text = (REPO / "docs" / "codebook-format.md").read_text(encoding="utf-8")
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.yaml"
    path.write_text(example, encoding="utf-8")
    book = cb.load_codebook_file(path)
    assert book.node("sup.peer")["rules"]["roles"] == ["respondent", "interviewer"]
    assert {"code": "work.toll"} in book.node("work.caseload")["rules"]["unless"]


def test_qdc_export_and_import_go_through_refi(tiny_project, tmp_path):
    with tiny_project.transaction() as conn:
        cb.import_codebook(conn, BRIDGE)
    path = cb.export_codebook(conn, tmp_path / "bridge.qdc")
    again = cb.load_codebook_file(path)
    original = cb.load_codebook_file(BRIDGE)
    assert again.source_format == "qdc"

    def shape(book):  # REFI-QDA has no keys: compare labels, hierarchy by label, and definitions
        labels = {n["key"]: n["label"] for n in book.nodes}
        return [(n["label"], labels.get(n["parent"]), n["definition"]) for n in book.nodes]

    assert shape(again) == shape(original)
    with pytest.raises(OverwriteRefused):
        cb.export_codebook(conn, path)


def test_semicolon_csv_from_a_european_excel(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("key;label;parent;definition\nwork;Workload;;Pressure, numbers.\nwork.toll;Toll;work;Stress\n",
                    encoding="utf-8-sig")
    book = cb.load_codebook_file(path)
    assert [(n["key"], n["parent"]) for n in book.nodes] == [("work", None), ("work.toll", "work")]
    assert book.node("work")["definition"] == "Pressure, numbers."



@pytest.mark.parametrize("encoding", ["cp1252", "utf-8-sig", "utf-16"])
def test_csv_codebook_saved_by_excel_on_windows(tmp_path, encoding):
    # Excel on Windows in a European locale: a sep=; line, semicolons, CRLF, the ANSI code page or UTF-16
    path = tmp_path / "windows.csv"
    path.write_bytes("sep=;\r\nkey;label;parent;definition\r\nwork;Arbeitsbelastung;;Druck, Zahlen – \"zu viel\"\r\n"
                     "work.toll;Überlastung;work;Stress\r\n".encode(encoding))
    book = cb.load_codebook_file(path)
    assert [(n["key"], n["label"], n["parent"]) for n in book.nodes] == [
        ("work", "Arbeitsbelastung", None), ("work.toll", "Überlastung", "work")]
    assert book.node("work")["definition"] == 'Druck, Zahlen – "zu viel"'


def test_csv_codebook_problem_lines_count_the_sep_line(tmp_path):
    path = tmp_path / "sep.csv"
    path.write_bytes(b"sep=;\r\nkey;label;parent\r\nwork;Workload;\r\nwork.toll;Toll;nowhere\r\n")
    [problem] = cb.validate_codebook_file(path)
    assert problem.where.text == f"{path}, line 4, column parent"


def test_binary_or_undecodable_csv_codebook_is_one_clear_problem(tmp_path):
    binary = tmp_path / "book.csv"
    binary.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    [problem] = cb.validate_codebook_file(binary)
    assert str(problem) == (f"{binary}: the file is not a CSV file (it contains binary data): it is a zip package such"
                            " as an .xlsx workbook; save the sheet as CSV and give that file")
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"\xef\xbb\xbfkey,label\nwork,Work\x81load\n")  # a UTF-8 BOM, then a byte that is not UTF-8
    [problem] = cb.validate_codebook_file(broken)
    assert str(problem).startswith(f"{broken}: line 2 has bytes that are not valid UTF-8")
    assert "Work" not in str(problem) and "\n" not in str(problem)
    with pytest.raises(CodebookError):
        cb.load_codebook_file(broken)

@settings(max_examples=40, deadline=None)
@given(book=_codebooks(), data=st.data())
def test_diff_of_a_renamed_key_reports_only_that_rename(book, data):
    labels = [n["label"] for n in book.nodes]
    old_key = data.draw(st.sampled_from(book.keys()))
    if labels.count(book.node(old_key)["label"]) > 1:
        return  # a label shared by two codes is no evidence of which one was renamed
    new_key = old_key + "_renamed"
    nodes = []
    for node in book.nodes:
        node = dict(node)
        if node["key"] == old_key:
            node["key"] = new_key
        if node["parent"] == old_key:
            node["parent"] = new_key
        nodes.append(node)
    renamed = cb.Codebook(name=book.name, description=None, version_note=None, nodes=nodes, source_format="yaml")
    changes = cb.diff_codebooks(book, renamed)
    assert [(r["old"], r["new"]) for r in changes["renamed"]] == [(old_key, new_key)]
    assert changes["added"] == changes["removed"] == changes["moved"] == changes["redefined"] == []


# -- matching by GUID, keeping what a .qdc cannot carry, refusing to drop counted codes ----------------

def _bridge_with_codings(tiny_project):
    """The tiny project with the bridge codebook and one coding under every code (so counts are not 0)."""
    with tiny_project.transaction() as conn:
        cb.import_codebook(conn, BRIDGE, force=True)
        coder = store.get_or_create_coder(conn, "A")
        document_id, start, end = conn.execute(
            "SELECT document_id, start, end FROM units WHERE role = 'respondent' ORDER BY unit_id").fetchone()
        rows = [{"coder_id": coder, "code_id": node.code_id, "document_id": document_id, "start": start, "end": end,
                 "origin": "manual"} for node in cb.load_tree(conn).by_key.values()]
        codings.add_codings(conn, rows)
    return tiny_project.connect()


def test_qdc_round_trip_keeps_keys_rules_and_counts(tiny_project, tmp_path):
    from qualcode.themes import compute_counts

    conn = _bridge_with_codings(tiny_project)
    counts_before = compute_counts(conn, coder="A").table[["key", "n", "units"]].values.tolist()
    assert all(n == 1 for _, n, _ in counts_before)
    tree_before = cb.load_tree(conn)
    rules_before = {k: n.rules for k, n in tree_before.by_key.items()}
    path = cb.export_codebook(conn, tmp_path / "cb.qdc")
    with tiny_project.transaction() as conn:
        result = cb.import_codebook(conn, path)
    # matched by GUID: the same codes, updated in place, none added or made inactive
    assert (result["added"], result["deactivated"], result["reactivated"]) == (0, 0, 0)
    assert result["unchanged"] == len(tree_before)
    assert result["kept_stored_fields"] == sum(
        1 for n in tree_before.by_key.values() if n.rules or n.include or n.exclude or n.examples or n.memo)
    tree_after = cb.load_tree(conn)
    assert {k: n.code_id for k, n in tree_after.by_key.items()} == {k: n.code_id for k, n in tree_before.by_key.items()}
    assert {k: n.rules for k, n in tree_after.by_key.items()} == rules_before
    assert tree_after.node("rel.continuity").include == tree_before.node("rel.continuity").include
    assert tree_after.node("rel.continuity").examples == tree_before.node("rel.continuity").examples
    assert cb.project_codebook(conn).rule_count() == cb.load_codebook_file(BRIDGE).rule_count() > 0
    assert compute_counts(conn, coder="A").table[["key", "n", "units"]].values.tolist() == counts_before
    # the same codebook come back keeps its name, and importing it again reuses the version
    assert result["name"] == "Bridge care-coordination study"
    with tiny_project.transaction() as conn:
        assert cb.import_codebook(conn, path)["version_id"] == result["version_id"]


def test_qdc_guids_match_case_insensitively_and_new_codes_are_added(tiny_project, tmp_path):
    conn = _bridge_with_codings(tiny_project)
    path = cb.export_codebook(conn, tmp_path / "cb.qdc")
    text = path.read_text(encoding="utf-8")
    guid = cb.load_tree(conn).node("work.toll").guid
    text = text.replace(f'guid="{guid}"', f'guid="{{{guid.upper()}}}"')
    text = text.replace("</Codes>", '<Code guid="0f0f0f0f-0000-4000-8000-000000000001" name="Brand new"'
                                    ' isCodable="true"/></Codes>')
    path.write_text(text, encoding="utf-8")
    with tiny_project.transaction() as conn:
        result = cb.import_codebook(conn, path)
    assert (result["added"], result["deactivated"]) == (1, 0)
    tree = cb.load_tree(conn)
    assert tree.node("work.toll").rules  # the upper-case, braced GUID found the stored code
    assert tree.node("brand_new").label == "Brand new"


def test_a_keyed_file_that_gives_a_known_guid_a_new_key_renames_the_code(tiny_project, tmp_path):
    conn = _bridge_with_codings(tiny_project)
    cb.export_codebook(conn, tmp_path / "cb.qdc")  # gives every code a GUID, which the yaml then carries
    toll = cb.load_tree(conn).node("work.toll")
    exported = cb.export_codebook(conn, tmp_path / "cb.yaml")
    assert f"guid: {toll.guid}" in exported.read_text(encoding="utf-8")
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(exported.read_text(encoding="utf-8").replace("key: work.toll", "key: work.emotional"),
                       encoding="utf-8")
    with tiny_project.transaction() as conn:
        result = cb.import_codebook(conn, renamed)
    assert (result["renamed"], result["added"], result["deactivated"]) == (1, 0, 0)
    assert cb.load_tree(conn).node("work.emotional").code_id == toll.code_id
    assert "work.toll" not in cb.load_tree(conn, include_inactive=True)


@pytest.mark.parametrize("fmt", ["yaml", "csv", "xlsx"])
def test_an_import_that_would_drop_codes_with_codings_is_refused_without_force(tiny_project, tmp_path, fmt):
    conn = _bridge_with_codings(tiny_project)
    book = cb.project_codebook(conn)
    dropped = {"work.toll", "rel.time"}
    smaller = cb.dataclass_replace(book, nodes=[n for n in book.nodes if n["key"] not in dropped])
    path = cb.write_codebook(smaller, tmp_path / f"smaller.{fmt}")
    before = _snapshot(conn)
    with pytest.raises(InputError) as caught:
        with tiny_project.transaction() as conn:
            cb.import_codebook(conn, path)
    message = str(caught.value)
    assert "2 codes that carry codings inactive: rel.time (1), work.toll (1)" in message or \
        "2 codes that carry codings inactive: work.toll (1), rel.time (1)" in message
    assert "2 codings would no longer be counted" in message and "--force" in message
    assert _snapshot(conn) == before
    with tiny_project.transaction() as conn:
        assert cb.import_codebook(conn, path, force=True)["deactivated"] == 2


def test_diff_matches_a_qdc_by_guid_and_compares_only_what_it_carries(tiny_project, tmp_path):
    conn = _bridge_with_codings(tiny_project)
    qdc = cb.export_codebook(conn, tmp_path / "cb.qdc")
    yaml_path = cb.export_codebook(conn, tmp_path / "cb.yaml")
    for old, new in ((yaml_path, qdc), (qdc, yaml_path)):
        changes = cb.diff_codebooks(old, new)
        assert changes == {"added": [], "removed": [], "renamed": [], "moved": [], "redefined": []}
    edited = tmp_path / "edited.yaml"
    edited.write_text(yaml_path.read_text(encoding="utf-8").replace("label: Emotional toll", "label: Emotional cost"),
                      encoding="utf-8")
    changes = cb.diff_codebooks(qdc, edited)
    assert changes["redefined"] == [{"key": "work.toll", "fields": ["label"]}] and not changes["renamed"]


def test_yaml_export_is_block_style_and_keeps_the_content_hash(tiny_project, tmp_path):
    with tiny_project.transaction() as conn:
        cb.import_codebook(conn, BRIDGE, force=True)
    text = cb.codebook_text(cb.project_codebook(conn), "yaml")
    assert "codes:\n  - key: relationships\n    label: Building trusting relationships\n" in text
    assert "{key:" not in text and "children: [" not in text
    # token patterns stay on one line, as in codebooks/bridge.yaml
    assert "        - [{LEMMA: {IN: [have, go, get]}}, {LIKE_NUM: true}" in text
    assert max(len(line) for line in text.splitlines()) <= 120
    path = tmp_path / "block.yaml"
    path.write_text(text, encoding="utf-8")
    assert cb.load_codebook_file(path).content_hash == cb.load_codebook_file(BRIDGE).content_hash
    multi = cb.Codebook(name="m", description="line one\nline two", version_note=None,
                        nodes=[{"key": "a", "label": "A", "definition": "first\nsecond"}], source_format="yaml")
    written = cb.codebook_text(multi, "yaml")
    assert "definition: |-\n      first\n      second" in written
    path.write_text(written, encoding="utf-8")
    assert cb.load_codebook_file(path).content_hash == multi.content_hash


@pytest.mark.parametrize(("name", "fmt", "words"), [
    ("cb2.csv", "yaml", "cb2.csv ends in .csv but --format is yaml"),
    ("cb.yml", "xlsx", "cb.yml ends in .yml but --format is xlsx"),
    ("cb.qdc", "md", "cb.qdc ends in .qdc but --format is md"),
])
def test_export_refuses_a_suffix_that_contradicts_the_format(tiny_project, tmp_path, name, fmt, words):
    with pytest.raises(InputError, match=words):
        cb.export_codebook(tiny_project.connect(), tmp_path / name, fmt)
    assert not (tmp_path / name).exists()
    assert cb.export_format_from_path("cb.yml", "yaml") == "yaml"
    assert cb.export_format_from_path("cb.bin", "xlsx") == "xlsx"
