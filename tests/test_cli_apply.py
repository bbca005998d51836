"""`qualcode apply` through the command line; state checked through the library."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qualcode import codebook as cb
from qualcode import codings
from qualcode.project import Project
from tests.conftest import run_cli as run, table_rows

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "codebooks"


@pytest.fixture
def project_dir(tiny_project_dir) -> Path:
    return tiny_project_dir


def state(project_dir):
    return table_rows(project_dir, ("codes", "codebook_versions", "meta", "codings", "coders", "sentences", "history"))


def rule_codings(project_dir, coder="auto"):
    with Project.find(project_dir) as project:
        return codings.load_codings(project.connect(), coders=[coder])


def test_apply_a_codebook_file_prints_the_summary(project_dir):
    result = run("apply", FIXTURES / "small.yaml", "--format", "json", "-p", project_dir)
    assert result.exit_code == 0, result.output
    rows = {r["code"]: r for r in json.loads(result.stdout)}
    assert (rows["work.caseload"]["units"], rows["work.caseload"]["respondents"]) == (3, 2)
    assert "Rule codings of 'auto': 9 new, 0 unchanged (ids kept), 0 removed (no longer made)" in result.stderr
    stored = rule_codings(project_dir)
    assert len(stored) == sum(r["units"] for r in rows.values())
    with Project.find(project_dir) as project:
        assert {c.codebook_version_id for c in stored} == {cb.current_version_id(project.connect())}


def test_apply_current_codebook_as_another_coder_by_paragraph(project_dir):
    assert run("codebook", "import", FIXTURES / "small.yaml", "-p", project_dir).exit_code == 0
    result = run("apply", "--coder", "robot", "--unit", "paragraph", "--documents", "SF*", "-p", project_dir)
    assert result.exit_code == 0, result.output
    assert "robot made 5 codings by paragraph in 2 documents" in " ".join(result.stdout.split())
    assert {c.document for c in rule_codings(project_dir, "robot")} == {"SF1.txt", "SF2.txt"}


def test_dry_run_changes_nothing(project_dir):
    before = state(project_dir)
    result = run("apply", FIXTURES / "small.yaml", "--dry-run", "--format", "csv", "-p", project_dir)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "code,label,units,respondents,matches"
    assert "Dry run: nothing was written." in result.stderr
    assert state(project_dir) == before


@pytest.mark.parametrize("name, message", [
    ("malformed.yaml", "malformed.yaml:5:16: malformed YAML"),
    ("unknown_unless.yaml", "unknown_unless.yaml:8:11: code 'work.toll' names an unknown code 'imp.crisis'"),
    ("bad_pattern.yaml", "bad_pattern.yaml:7:27: spaCy rejects this token pattern"),
    ("bad_language.yaml", "bad_language.yaml:2:11: unsupported language 'klingon'"),
])
def test_bad_codebooks_give_one_line_errors_and_change_nothing(project_dir, name, message):
    before = state(project_dir)
    result = run("apply", FIXTURES / name, "-p", project_dir)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert message in " ".join(result.stderr.split())
    assert result.stdout == ""
    assert state(project_dir) == before


def test_catastrophic_regex_is_reported_with_its_rule(project_dir, monkeypatch):
    import qualcode.rules as rules_module

    monkeypatch.setattr(rules_module, "REGEX_TIMEOUT_SECONDS", 0.2)
    with Project.find(project_dir) as project:
        with project.transaction() as conn:
            from qualcode import documents

            text = "SF9: " + "a" * 40 + "!\n"
            documents.add_document(conn, name="SF9.txt", text=text, source_format="txt", respondent_id="SF9",
                                   units=[{"start": 5, "end": len(text) - 1, "role": "respondent", "speaker": "SF9",
                                           "respondent_id": "SF9"}])
    before = state(project_dir)
    result = run("apply", FIXTURES / "catastrophic_regex.yaml", "-p", project_dir)
    assert result.exit_code == 1
    flat = " ".join(result.stderr.split())
    assert "code 'a': regex 2 (^(a|a)*$) took more than 0.2 s on one paragraph of SF9.txt" in flat
    assert state(project_dir) == before


def test_unsupported_project_language(project_dir):
    config = project_dir / "qualcode.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('language = "en"', 'language = "qq"'),
                      encoding="utf-8")
    path = project_dir / "nolang.yaml"
    path.write_text("codes:\n  - {key: a, label: A, rules: {phrases: [caseload]}}\n", encoding="utf-8")
    before = state(project_dir)
    result = run("apply", path, "-p", project_dir)
    assert result.exit_code == 1
    assert "unsupported language 'qq'" in result.stderr
    assert state(project_dir) == before


def test_bad_unit_and_help(project_dir):
    result = run("apply", FIXTURES / "small.yaml", "--unit", "word", "-p", project_dir)
    assert result.exit_code == 1
    assert "cannot code by 'word'; choose one of sentence, paragraph, turn" in result.stderr
    helped = run("apply", "--help")
    assert helped.exit_code == 0 and "Example" in helped.stdout


def test_a_model_that_is_not_installed_is_refused(project_dir):
    before = state(project_dir)
    result = run("apply", FIXTURES / "small.yaml", "--model", "xx_not_a_pipeline", "-p", project_dir)
    assert result.exit_code == 1
    assert "the spaCy pipeline 'xx_not_a_pipeline' is not installed" in " ".join(result.stderr.split())
    assert state(project_dir) == before


def test_rerun_keeps_the_ids_of_unchanged_codings_and_says_so(project_dir):
    assert run("apply", FIXTURES / "small.yaml", "-p", project_dir).exit_code == 0
    first = {c.coding_id: (c.code_key, c.document, c.start, c.end) for c in rule_codings(project_dir)}
    again = run("apply", "-p", project_dir)
    assert again.exit_code == 0, again.output
    assert "Rule codings of 'auto': 0 new, 9 unchanged (ids kept), 0 removed (no longer made)" in again.stderr
    assert {c.coding_id: (c.code_key, c.document, c.start, c.end) for c in rule_codings(project_dir)} == first
    explained = run("codings", "explain", min(first), "--format", "json", "-p", project_dir)
    info = json.loads(explained.stdout)
    assert (info["code"], info["document"], info["start"], info["end"]) == first[min(first)]


def test_dry_run_says_so_in_the_title_and_writes_nothing(project_dir):
    before = state(project_dir)
    result = run("apply", FIXTURES / "small.yaml", "--dry-run", "-p", project_dir)
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    assert "Dry run of codebook 'Tiny test codebook' (nothing written)" in out
    assert "applied" not in out and "auto would make 9 codings by sentence in 3 documents" in out
    assert "Dry run: nothing was written. Rule codings of 'auto' would be: 9 new, 0 unchanged" in result.stderr
    assert state(project_dir) == before


def test_documents_pattern_without_a_match_points_at_the_documents_command(project_dir):
    before = state(project_dir)
    result = run("apply", FIXTURES / "small.yaml", "--documents", "XX*", "-p", project_dir)
    assert result.exit_code == 1
    assert "Error: no document matches 'XX*'; 'qualcode documents' lists them" in result.stderr
    assert state(project_dir) == before


def test_a_single_coding_and_document_are_not_pluralised(project_dir, tmp_path):
    one = tmp_path / "one.yaml"
    one.write_text("codes:\n  - key: vac\n    label: Vacancy\n    rules: {phrases: [vacancy]}\n", encoding="utf-8")
    result = run("apply", one, "--documents", "TL*", "--dry-run", "-p", project_dir)
    assert result.exit_code == 0, result.output
    assert "auto would make 1 coding by sentence in 1 document " in " ".join(result.stdout.split())
