"""`qualcode codebook …` through the command line; state checked through the library."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qualcode import codebook as cb
from qualcode import codings, store
from qualcode.project import Project
from tests.conftest import run_cli as run, table_rows

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "codebooks"
BRIDGE = REPO / "codebooks" / "bridge.yaml"


@pytest.fixture
def project_dir(tiny_project_dir) -> Path:
    return tiny_project_dir


def state(project_dir):
    return table_rows(project_dir, ("codes", "codebook_versions", "meta", "codings", "history"))


def test_validate_a_good_file():
    result = run("codebook", "validate", BRIDGE)
    assert result.exit_code == 0, result.output
    assert "valid — 21 codes" in result.stderr


def test_validate_lists_every_problem_with_position_and_exits_1(tmp_path):
    path = tmp_path / "two.yaml"
    path.write_text("codes:\n  - key: a\n    label: ''\n  - key: a\n    label: A\n", encoding="utf-8")
    result = run("codebook", "validate", path)
    assert result.exit_code == 1
    assert f"Error: {path}:3:12: code 'a' has an empty label" in result.stderr
    assert f"Error: {path}:4:10: duplicate code key 'a'" in result.stderr
    assert "2 problems" in result.stderr
    assert result.stdout == ""


def test_import_then_show_with_counts(project_dir):
    result = run("codebook", "import", BRIDGE, "-p", project_dir)
    assert result.exit_code == 0, result.output
    assert "as codebook version 1" in result.stderr and "16 added" in result.stderr
    with Project.find(project_dir) as project:
        conn = project.connect()
        assert cb.current_version_id(conn) == 1
        with project.transaction() as conn:
            coder = store.get_or_create_coder(conn, "A")
            codings.add_codings(conn, [{"coder_id": coder, "code_id": cb.load_tree(conn).node("work.toll").code_id,
                                        "document_id": 1, "start": 0, "end": 5, "origin": "manual"}])
    shown = run("codebook", "show", "--format", "json", "-p", project_dir)
    assert shown.exit_code == 0, shown.output
    rows = {r["key"]: r for r in json.loads(shown.stdout)}
    assert rows["work.toll"]["A"] == 1 and rows["work.toll"]["label"] == "Emotional toll"
    tree = run("codebook", "show", "-p", project_dir)
    assert tree.exit_code == 0
    assert "Emotional toll" in tree.stdout and "A: 1" in tree.stdout
    # the tiny project's theme 'work' is not in the example codebook: inactive, shown only with --all
    assert "work" not in {r["key"] for r in json.loads(shown.stdout)}
    with_inactive = run("codebook", "show", "--all", "--format", "json", "-p", project_dir)
    assert {r["key"]: r["active"] for r in json.loads(with_inactive.stdout)}["work"] is False


def test_show_a_file_needs_no_project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("codebook", "show", FIXTURES / "small.yaml", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "key,label,depth,parent,rules,active,definition"
    assert "sup.peer,Peer support,2,support,1,True" in result.stdout


def test_show_tree_and_validate_print_bracketed_text_as_written(tmp_path, monkeypatch):
    # labels, names and file names are text: "[peer]" must not be read as terminal markup and dropped
    monkeypatch.setenv("COLUMNS", "200")
    path = tmp_path / "[v2] codebook.yaml"
    path.write_text("name: Study [v2]\ncodes:\n  - key: sup\n    label: Support [peer]\n", encoding="utf-8")
    shown = run("codebook", "show", path)
    assert shown.exit_code == 0, shown.output
    assert "Study [v2]" in shown.stdout and "Support [peer]" in shown.stdout
    assert cb.load_codebook_file(path).nodes[0]["label"] == "Support [peer]"
    path.write_text("codes:\n  - key: sup\n    label: ''\n", encoding="utf-8")
    refused = run("codebook", "validate", path)
    assert refused.exit_code == 1
    assert f"Error: {path}:3:12: code 'sup' has an empty label" in refused.stderr


def test_import_of_a_bad_file_exits_1_and_changes_nothing(project_dir):
    before = state(project_dir)
    result = run("codebook", "import", FIXTURES / "malformed.yaml", "-p", project_dir)
    assert result.exit_code == 1
    assert " ".join(result.stderr.split()).startswith(f"Error: {FIXTURES / 'malformed.yaml'}:5:16: malformed YAML")
    assert state(project_dir) == before


def test_export_to_files_and_stdout(project_dir, tmp_path):
    assert run("codebook", "import", BRIDGE, "-p", project_dir).exit_code == 0
    out = tmp_path / "appendix.docx"
    result = run("codebook", "export", out, "-p", project_dir)
    assert result.exit_code == 0, result.output
    import docx

    cells = [c.text for c in docx.Document(str(out)).tables[0].rows[0].cells]
    assert cells == ["Code", "Key", "Definition", "Include", "Exclude", "Example"]
    again = run("codebook", "export", out, "-p", project_dir)
    assert again.exit_code == 1 and "add --force" in again.stderr
    printed = run("codebook", "export", "--format", "yaml", "-p", project_dir)
    assert printed.exit_code == 0
    path = tmp_path / "printed.yaml"
    path.write_text(printed.stdout, encoding="utf-8")
    assert cb.load_codebook_file(path).content_hash == cb.load_codebook_file(BRIDGE).content_hash
    xlsx = run("codebook", "export", tmp_path / "book.bin", "--format", "xlsx", "-p", project_dir)
    assert xlsx.exit_code == 0
    assert cb.load_codebook_file(_renamed(tmp_path / "book.bin", ".xlsx")).keys() == cb.load_codebook_file(BRIDGE).keys()
    refused = run("codebook", "export", "--format", "docx", "-p", project_dir)
    assert refused.exit_code == 1 and "cannot be printed" in refused.stderr


def _renamed(path: Path, suffix: str) -> Path:
    target = path.with_suffix(suffix)
    path.rename(target)
    return target


def test_diff_two_files_and_against_the_project(project_dir, tmp_path):
    newer = tmp_path / "newer.yaml"
    newer.write_text(BRIDGE.read_text(encoding="utf-8").replace("key: work.toll", "key: work.emotional"),
                     encoding="utf-8")
    result = run("codebook", "diff", BRIDGE, newer, "--format", "csv")
    assert result.exit_code == 0, result.output
    assert "renamed,work.emotional,was work.toll (same label and definition)" in result.stdout
    assert run("codebook", "import", BRIDGE, "-p", project_dir).exit_code == 0
    against = run("codebook", "diff", newer, "--format", "json", "-p", project_dir)
    assert [r["change"] for r in json.loads(against.stdout)] == ["renamed"]
    same = run("codebook", "diff", BRIDGE, BRIDGE)
    assert same.exit_code == 0 and "No differences" in same.stderr


def test_rename_and_merge(project_dir):
    with Project.find(project_dir) as project:
        with project.transaction() as conn:
            coder = store.get_or_create_coder(conn, "A")
            tree = cb.load_tree(conn)
            codings.add_codings(conn, [
                {"coder_id": coder, "code_id": tree.node("sup.peer").code_id, "document_id": 1, "start": 0,
                 "end": 5, "origin": "manual"},
                {"coder_id": coder, "code_id": tree.node("sup.supervision").code_id, "document_id": 1,
                 "start": 10, "end": 15, "origin": "manual"}])
    result = run("codebook", "rename", "work.toll", "work.emotional", "--label", "Emotional cost", "-p", project_dir)
    assert result.exit_code == 0, result.output
    assert "Renamed work.toll to work.emotional" in result.stderr
    merged = run("codebook", "merge", "sup.peer", "sup.supervision", "--into", "sup.people", "--label", "People",
                 "-p", project_dir)
    assert merged.exit_code == 0, merged.output
    assert "2 codings and 0 decisions moved" in merged.stderr
    with Project.find(project_dir) as project:
        conn = project.connect()
        assert [c.code_key for c in codings.load_codings(conn)] == ["sup.people", "sup.people"]
        actions = [r[0] for r in conn.execute("SELECT action FROM history ORDER BY event_id")]
        assert actions[-2:] == ["codebook rename", "codebook merge"]
    before = state(project_dir)
    refused = run("codebook", "merge", "work.caseload", "--into", "work.new", "-p", project_dir)
    assert refused.exit_code == 1 and "give its label with --label" in refused.stderr
    unknown = run("codebook", "rename", "nope", "x", "-p", project_dir)
    assert unknown.exit_code == 1 and "no code 'nope'" in unknown.stderr
    assert state(project_dir) == before


def test_every_command_has_help_with_an_example():
    for command in ("validate", "show", "import", "export", "diff", "rename", "merge"):
        result = run("codebook", command, "--help")
        assert result.exit_code == 0
        assert "Example" in result.stdout, command


def _with_codings(project_dir):
    """Bridge imported and one coding by coder A under every code."""
    assert run("codebook", "import", BRIDGE, "-p", project_dir).exit_code == 0
    with Project.find(project_dir) as project:
        with project.transaction() as conn:
            coder = store.get_or_create_coder(conn, "A")
            document_id, start, end = conn.execute(
                "SELECT document_id, start, end FROM units WHERE role = 'respondent' ORDER BY unit_id").fetchone()
            codings.add_codings(conn, [
                {"coder_id": coder, "code_id": node.code_id, "document_id": document_id, "start": start, "end": end,
                 "origin": "manual"} for node in cb.load_tree(conn).by_key.values()])


def _counts(project_dir):
    from qualcode.themes import compute_counts

    with Project.find(project_dir) as project:
        return compute_counts(project.connect(), coder="A").table[["key", "n"]].values.tolist()


def test_export_qdc_then_import_it_changes_no_code_rule_or_count(project_dir, tmp_path):
    _with_codings(project_dir)
    counts = _counts(project_dir)
    out = tmp_path / "cb.qdc"
    assert run("codebook", "export", out, "-p", project_dir).exit_code == 0
    result = run("codebook", "import", out, "-p", project_dir)
    assert result.exit_code == 0, result.output
    message = " ".join(result.stderr.split())
    assert "0 added" in message and "0 made inactive" in message and "21 unchanged" in message
    assert "A .qdc file carries no include, exclude, examples, memos or rules: 21 codes kept the stored ones." in message
    assert _counts(project_dir) == counts and any(n for _, n in counts)
    with Project.find(project_dir) as project:
        assert cb.project_codebook(project.connect()).rule_count() == cb.load_codebook_file(BRIDGE).rule_count()
    diff = run("codebook", "diff", BRIDGE, out, "-p", project_dir)
    assert diff.exit_code == 0
    exported_yaml = tmp_path / "cb.yaml"
    assert run("codebook", "export", exported_yaml, "-p", project_dir).exit_code == 0
    same = run("codebook", "diff", exported_yaml, out)
    assert same.exit_code == 0 and "No differences" in same.stderr, same.output


def test_import_that_would_drop_codes_with_codings_needs_force(project_dir, tmp_path):
    _with_codings(project_dir)
    smaller = tmp_path / "smaller.yaml"
    text = BRIDGE.read_text(encoding="utf-8")
    start = text.index("      - key: work.toll")
    end = text.index("\n  - key:", start)
    smaller.write_text(text[:start] + text[end + 1:], encoding="utf-8")
    before = state(project_dir)
    result = run("codebook", "import", smaller, "-p", project_dir)
    assert result.exit_code == 1
    assert ("Error: importing 'Bridge care-coordination study' would make 1 code that carries codings inactive:"
            " work.toll (1); 1 coding would no longer be counted.") in " ".join(result.stderr.split())
    assert "--force" in result.stderr
    assert state(project_dir) == before
    forced = run("codebook", "import", smaller, "--force", "-p", project_dir)
    assert forced.exit_code == 0, forced.output
    assert "1 made inactive" in forced.stderr
    with Project.find(project_dir) as project:
        assert "work.toll" not in cb.load_tree(project.connect())


def test_export_with_a_suffix_that_contradicts_the_format_is_an_error(project_dir, tmp_path):
    assert run("codebook", "import", BRIDGE, "-p", project_dir).exit_code == 0
    out = tmp_path / "cb2.csv"
    result = run("codebook", "export", out, "-f", "yaml", "-p", project_dir)
    assert result.exit_code == 1
    assert f"{out} ends in .csv but --format is yaml" in " ".join(result.stderr.split())
    assert not out.exists()
    ok = run("codebook", "export", tmp_path / "cb.yml", "-f", "yaml", "-p", project_dir)
    assert ok.exit_code == 0, ok.output


def test_yaml_export_is_block_style(project_dir, tmp_path):
    assert run("codebook", "import", BRIDGE, "-p", project_dir).exit_code == 0
    out = tmp_path / "cb.yaml"
    assert run("codebook", "export", out, "-p", project_dir).exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("name: Bridge care-coordination study\n")
    assert "codes:\n  - key: relationships\n" in text and "{key:" not in text
    assert cb.load_codebook_file(out).content_hash == cb.load_codebook_file(BRIDGE).content_hash


def test_qdc_problems_name_the_file_once_and_counts_are_plural_aware(tmp_path):
    missing = tmp_path / "nope.qdc"
    result = run("codebook", "validate", missing)
    assert result.exit_code == 1 and result.stderr.count(str(missing)) == 2  # the problem, then the total line
    assert f"Error: {missing}: no such file" in result.stderr
    damaged = tmp_path / "damaged.qdc"
    damaged.write_text("codes: not xml", encoding="utf-8")
    result = run("codebook", "validate", damaged)
    line = result.stderr.splitlines()[0]
    assert line.count("damaged.qdc") == 1 and "the file is not well-formed XML" in line
    one = tmp_path / "one.yaml"
    one.write_text("codes:\n  - key: a\n    label: A\n", encoding="utf-8")
    result = run("codebook", "validate", one)
    assert result.exit_code == 0 and "valid — 1 code, 0 rules" in result.stderr
