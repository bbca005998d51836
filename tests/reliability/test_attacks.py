"""Attacks: hostile files and names through every reader and writer, each refused in one line or made harmless.

- XML: entity expansion ("billion laughs") and external entities (XXE, reading
  a local file) in every XML reader: the .qde of a .qdpx, a .qdc codebook, a
  .docx's and an .odt's content, an .xlsx's sheets (coding sheets, codebooks,
  decisions sheets).
- Zip: entries with ``..`` or absolute paths (zip slip), honest zip bombs
  (small file, huge inflated size) and members that declare a huge size, in
  every zip reader (.qdpx, .docx, .odt, .xlsx).
- Formula injection: every text a user or a transcript can bring (transcript
  text, document names, respondent ids and attributes, code labels,
  definitions, coder names, memos) that reaches an .xlsx or .csv writer comes
  out as text, never as a formula.
- ReDoS: a rule regex with catastrophic backtracking is stopped with a clear
  message and stores nothing.
- Names: document names, respondent ids and ``--out`` paths with ``..`` and
  shell characters are kept verbatim, run nothing and write only where asked.

Each case must end with exit code 0 or 1, without a traceback, within 5 s,
without the attack's payload (a secret file's text, an expanded entity)
anywhere in the project or the output, and with the project unchanged when
it fails.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import struct
import time
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, run_cli
from tests.reliability.conftest import base_projects, rebuilt_zip, state

EXAMPLE = REPO_ROOT / "transcripts_example"
LIMIT_SECONDS = 5.0
SECRET = "SECRET-3f9a1c-do-not-read"
LAUGH = "lolLOLlol"


# -- building hostile files -------------------------------------------------------------------

def entity_declarations(kind: str, secret_path: Path) -> bytes:
    if kind == "billion laughs":
        lines = [f'<!ENTITY lol0 "{LAUGH}">'] + [
            f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)]
        return ("<!DOCTYPE x [" + "".join(lines) + "]>").encode()
    return f'<!DOCTYPE x [<!ENTITY e SYSTEM "file://{secret_path}">]>'.encode()


def with_entities(xml: bytes, kind: str, secret_path: Path, anchor: bytes) -> bytes:
    """The XML with a DTD declaring the attack's entities after its declaration, and the entity used
    just before the first ``anchor`` (text or an attribute's opening quote)."""
    reference = b"&lol9;" if kind == "billion laughs" else b"&e;"
    declaration_end = xml.index(b"?>") + 2 if xml.lstrip().startswith(b"<?xml") else 0
    body = xml[declaration_end:]
    at = body.index(anchor) + len(anchor)
    body = body[:at] + reference + body[at:]
    return xml[:declaration_end] + entity_declarations(kind, secret_path) + body


def declaring(data: bytes, member: str, size: int) -> bytes:
    """The zip with ``member``'s uncompressed size in the central directory set to ``size`` (a lying header)."""
    data = bytearray(data)
    encoded = member.encode()
    at = 0
    while True:
        at = data.index(b"PK\x01\x02", at)
        name_length = struct.unpack_from("<H", data, at + 28)[0]
        if bytes(data[at + 46:at + 46 + name_length]) == encoded:
            struct.pack_into("<I", data, at + 24, size)
            return bytes(data)
        at += 4


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    """Real files qualcode reads (from the example study and from its own exports), and projects to read them into."""
    root = tmp_path_factory.mktemp("attacks")
    bases = base_projects(root, [("A", "work.toll", "Some nights I don't sleep"),
                                 ("B", "work.caseload", "forty people on my books")])
    files = {"docx": EXAMPLE / "SF2.docx", "odt": EXAMPLE / "SF6.odt"}
    for name, arguments in {
        "qdpx": ["export", "qdpx", root / "tiny.qdpx"],
        "qdc": ["codebook", "export", root / "codebook.qdc"],
        "codebook xlsx": ["codebook", "export", root / "codebook.xlsx"],
        "sheet": ["sheet", "export", "--coder", "C", "--out", root / "sheet.xlsx"],
        "decisions": ["reconcile", "A", "B", "--unit", "paragraph", "--sheet", root / "decisions.xlsx"],
    }.items():
        result = run_cli(*arguments, "--project", root / "tiny")
        assert result.exit_code == 0, result.output
        files[name] = Path(next(a for a in arguments if isinstance(a, Path)))
    secret = root / "secret.txt"
    secret.write_text(SECRET + "\n", encoding="utf-8")
    return {"root": root, "files": files, "secret": secret, "bases": bases}


# reader: (file in world["files"], base project, command before the file, command after, suffix)
READERS = {
    "qdpx": ("qdpx", "empty", ["import"], [], ".qdpx"),
    "qdc": ("qdc", "empty", ["codebook", "import"], [], ".qdc"),
    "docx": ("docx", "empty", ["import"], [], ".docx"),
    "odt": ("odt", "empty", ["import"], [], ".odt"),
    "codebook xlsx": ("codebook xlsx", "empty", ["codebook", "import"], [], ".xlsx"),
    "coding sheet": ("sheet", "tiny", ["sheet", "import"], ["--coder", "C"], ".xlsx"),
    "decisions sheet": ("decisions", "tiny", ["reconcile", "A", "B", "--unit", "paragraph", "--apply-sheet"], [],
                        ".xlsx"),
}
# where each reader's XML lives, and a place in it where an entity is used
XML_PARTS = {
    "qdpx": ("project.qde", b' name="'),
    "docx": ("word/document.xml", b"<w:t>"),
    "odt": ("content.xml", b"<text:p"),
    "codebook xlsx": ("xl/worksheets/sheet1.xml", b"<c "),
    "coding sheet": ("xl/worksheets/sheet1.xml", b"<c "),
    "decisions sheet": ("xl/worksheets/sheet1.xml", b"<c "),
}


def attack(world, reader: str, data: bytes, tmp_path: Path, monkeypatch) -> tuple[int, str]:
    """Run the reader on ``data`` in a fresh copy of its project; return (exit code, output) after the checks
    every attack shares: no traceback, in time, payload nowhere, nothing changed on failure."""
    key, base, before_args, after_args, suffix = READERS[reader]
    project = tmp_path / "project"
    if project.exists():
        shutil.rmtree(project)
    shutil.copytree(world["bases"][base], project)
    case = tmp_path / f"case{suffix}"
    case.write_bytes(data)
    before = state(project)
    monkeypatch.chdir(tmp_path)
    began = time.monotonic()
    result = run_cli(*before_args, case, *after_args, "--project", project)
    elapsed = time.monotonic() - began
    output = result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 1) and "Traceback" not in output, output
    assert elapsed < LIMIT_SECONDS, f"{reader}: {elapsed:.1f} s"
    database = (project / "qualcode.db").read_bytes()
    for payload in (SECRET, LAUGH * 3):
        assert payload not in output and payload.encode() not in database, f"{reader}: the payload got through"
    if result.exit_code == 1:
        assert state(project) == before, f"{reader}: a refused file changed the project"
    return result.exit_code, output


# -- XML ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["billion laughs", "external entity"])
@pytest.mark.parametrize("reader", list(READERS))
def test_entities_in_every_xml_reader_are_refused(reader, kind, world, figures, tmp_path, monkeypatch):
    path = world["files"][READERS[reader][0]]
    if reader == "qdc":
        data = with_entities(path.read_bytes(), kind, world["secret"], b' name="')
    else:
        member, anchor = XML_PARTS[reader]
        with zipfile.ZipFile(path) as source:
            xml = source.read(member)
        data = rebuilt_zip(path, replace={member: with_entities(xml, kind, world["secret"], anchor)})
    code, output = attack(world, reader, data, tmp_path, monkeypatch)
    assert code == 1, f"{reader} read a file declaring entities: {output}"
    figures["attacks refused"] += 1


# -- zip ------------------------------------------------------------------------------------------

ZIP_READERS = [r for r in READERS if r != "qdc"]


@pytest.mark.parametrize("entry", ["../../slipped.txt", "/tmp/qualcode-slipped.txt", "Sources/../../slipped.txt"])
@pytest.mark.parametrize("reader", ZIP_READERS)
def test_zip_slip_entries_write_nothing_outside(reader, entry, world, figures, tmp_path, monkeypatch):
    path = world["files"][READERS[reader][0]]
    data = rebuilt_zip(path, add={entry: b"slipped"})
    code, _ = attack(world, reader, data, tmp_path, monkeypatch)
    # nothing is ever extracted to disk: the entry cannot land anywhere
    for place in (tmp_path / "slipped.txt", tmp_path.parent / "slipped.txt", Path("/tmp/qualcode-slipped.txt"),
                  tmp_path / "project" / "slipped.txt"):
        assert not place.exists(), place
    if reader == "qdpx":  # a REFI project's entries are paths; one that climbs out is refused outright
        assert code == 1
    figures["attacks refused"] += 1


@pytest.mark.parametrize("reader", ZIP_READERS)
def test_zip_bombs_are_refused_before_inflating(reader, world, figures, tmp_path, monkeypatch):
    """An honest bomb (30 MB of zeros in ~30 kB) under caps lowered to 1 MB, so the test stays fast."""
    from qualcode import tables
    from qualcode.refi import archive
    from qualcode.transcripts import containers

    for module, name in ((archive, "MAX_TOTAL_BYTES"), (containers, "MAX_PACKAGE_BYTES"),
                         (tables, "MAX_WORKBOOK_BYTES")):
        monkeypatch.setattr(module, name, 2**20)
    path = world["files"][READERS[reader][0]]
    data = rebuilt_zip(path, add={"bomb.bin": b"\0" * 30_000_000})
    assert len(data) < path.stat().st_size + 100_000
    code, output = attack(world, reader, data, tmp_path, monkeypatch)
    assert code == 1 and "would decompress to" in output, output
    figures["attacks refused"] += 1


@pytest.mark.parametrize("reader", ZIP_READERS)
def test_a_member_declaring_gigabytes_is_refused_at_the_real_limits(reader, world, figures, tmp_path, monkeypatch):
    path = world["files"][READERS[reader][0]]
    member = XML_PARTS[reader][0]
    data = declaring(rebuilt_zip(path), member, 0xFFFFFF00)  # ~4 GB declared; the bytes are the real ones
    code, output = attack(world, reader, data, tmp_path, monkeypatch)
    assert code == 1 and re.search(r"would decompress to|larger than", output), output
    figures["attacks refused"] += 1


# -- formula injection -----------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil.example","click")', "+SUM(1,2)", "-2+3", "@SUM(A1)", "=cmd|' /C calc'!A0"]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

HOSTILE_CODEBOOK = """\
name: "=HYPERLINK(\\"http://evil.example\\",\\"book\\")"
codes:
  - key: work
    label: "=HYPERLINK(\\"http://evil.example\\")"
    definition: "+1+1 talk about work"
    memo: "@SUM(A1) theme memo"
    children:
      - key: work.caseload
        label: "@SUM(A1) caseload"
        definition: "-1 caseload talk"
        include: "=1+1 include"
        exclude: "+1 exclude"
        examples: ["=cmd|' /C calc'!A0 example"]
        rules:
          phrases: [caseload]
      - key: work.toll
        label: "-Toll"
        definition: "=toll"
        rules:
          phrases: [toll]
"""


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    """A project where every text a user or transcript brings starts like a formula."""
    from qualcode.memos import add_memo
    from qualcode.project import Project

    root = tmp_path_factory.mktemp("hostile")
    folder = root / "transcripts"
    folder.mkdir()
    (folder / "SF1.txt").write_text(
        "Interviewer: =HYPERLINK(\"http://evil.example\",\"click\") what do you say?\n\n"
        "SF1: =cmd|' /C calc'!A0 the caseload is too high and I feel the toll of it.\n\n"
        "SF1: +SUM(1,2) supervision helps with the caseload.\n", encoding="utf-8")
    (folder / "@SF2.txt").write_text("Interviewer: Tell me.\n\n@SF2: -2+3 the caseload never ends, the toll is real.\n",
                                     encoding="utf-8")
    (root / "respondents.csv").write_text(
        'respondent_id,role,site\nSF1,"=HYPERLINK(""x"")",+Northvale\n@SF2,@SUM(A1),-Eastbrook\n', encoding="utf-8")
    (root / "codebook.yaml").write_text(HOSTILE_CODEBOOK, encoding="utf-8")
    project = root / "project"
    for arguments in (["init", project], ["import", folder, "--project", project],
                      ["respondents", "import", root / "respondents.csv", "--project", project],
                      ["codebook", "import", root / "codebook.yaml", "--project", project],
                      ["apply", root / "codebook.yaml", "--coder", "=A", "--project", project],
                      ["apply", root / "codebook.yaml", "--coder", "+B", "--project", project]):
        result = run_cli(*arguments)
        assert result.exit_code == 0, (arguments, result.output)
    with Project.find(project) as opened, opened.transaction() as conn:
        coding_id, = conn.execute("SELECT min(coding_id) FROM codings").fetchone()
        add_memo(conn, "=A", "=HYPERLINK(\"http://evil.example\") memo", coding_id=coding_id)
        # B's work differs from A's, so there is something to reconcile
        conn.execute("DELETE FROM codings WHERE coding_id = (SELECT max(coding_id) FROM codings)")
    return project


def writers(out: Path) -> dict[str, list]:
    return {
        "sheet export": ["sheet", "export", "--coder", "C", "--out", out / "sheet.xlsx"],
        "codebook export xlsx": ["codebook", "export", out / "codebook.xlsx"],
        "codebook export csv": ["codebook", "export", out / "codebook.csv"],
        "codings export": ["codings", "export", "--out", out / "codings.csv"],
        "counts csv": ["counts", "--coder", "=A", "--out", out / "counts.csv"],
        "counts xlsx": ["counts", "--coder", "=A", "--out", out / "counts.xlsx"],
        "matrix csv": ["matrix", "--coder", "=A", "--out", out / "matrix.csv"],
        "matrix xlsx": ["matrix", "--coder", "=A", "--out", out / "matrix.xlsx"],
        "quotes csv": ["quotes", "--coder", "=A", "--out", out / "quotes.csv"],
        "quotes xlsx": ["quotes", "--coder", "=A", "--out", out / "quotes.xlsx"],
        "participants csv": ["participants", "table", "--out", out / "participants.csv"],
        "participants xlsx": ["participants", "table", "--out", out / "participants.xlsx"],
        "agree csv": ["agree", "=A", "+B", "--out", out / "agree.csv"],
        "agree xlsx": ["agree", "=A", "+B", "--out", out / "agree.xlsx"],
        "decisions sheet": ["reconcile", "=A", "+B", "--unit", "paragraph", "--sheet", out / "decisions.xlsx"],
    }


def formula_cells(path: Path) -> list[str]:
    """Cells of an .xlsx or .csv that a spreadsheet would evaluate: formulas, or text starting with a trigger
    (a number such as -0.12 is a number, not a formula)."""
    found = []
    if path.suffix == ".xlsx":
        from openpyxl import load_workbook

        workbook = load_workbook(path)
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if cell.data_type == "f" or (isinstance(cell.value, str) and cell.value.startswith(TRIGGERS)):
                        found.append(f"{sheet.title}!{cell.coordinate}: {str(cell.value)[:40]}")
        for name in workbook.defined_names:
            value = str(workbook.defined_names[name].attr_text)
            if any(f.lstrip("=+-@") in value for f in FORMULAS):
                found.append(f"defined name {name}: {value[:40]}")
    else:
        for number, row in enumerate(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig")))):
            for field in row:
                if field.startswith(TRIGGERS) and not re.fullmatch(r"[-+]?\d+(\.\d+)?(e[-+]?\d+)?", field):
                    found.append(f"row {number + 1}: {field[:40]}")
    return found


@pytest.mark.parametrize("writer", list(writers(Path("."))))
def test_formula_like_text_reaches_no_spreadsheet_as_a_formula(writer, hostile, figures, tmp_path):
    arguments = writers(tmp_path)[writer]
    result = run_cli(*arguments, "--project", hostile)
    assert result.exit_code == 0, result.output
    target = next(a for a in arguments if isinstance(a, Path))
    assert target.exists()
    assert formula_cells(target) == [], writer
    # and the text is all there, behind its neutralising apostrophe
    if target.suffix == ".xlsx" and writer in ("sheet export", "quotes xlsx"):
        from openpyxl import load_workbook

        values = {str(c.value) for s in load_workbook(target).worksheets for r in s.iter_rows() for c in r}
        assert any(v.startswith("'=cmd|") for v in values), writer
    figures["attacks refused"] += 1


@pytest.mark.parametrize("fmt", ["csv"])
@pytest.mark.parametrize("listing", [["documents"], ["respondents"], ["codings", "list"], ["codebook", "show"]])
def test_listings_on_stdout_are_formula_safe(listing, fmt, hostile, figures, tmp_path):
    result = run_cli(*listing, "--format", fmt, "--project", hostile)
    assert result.exit_code == 0, result.output
    out = tmp_path / "listing.csv"
    out.write_text(result.stdout, encoding="utf-8")
    assert formula_cells(out) == [], listing
    figures["attacks refused"] += 1


# -- ReDoS ----------------------------------------------------------------------------------------

def test_a_backtracking_regex_rule_is_stopped_and_stores_nothing(tmp_path, figures):
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "SF1.txt").write_text("Interviewer: Go on.\n\nSF1: " + "a" * 40 + "!\n", encoding="utf-8")
    (tmp_path / "rules.yaml").write_text(
        "name: ReDoS\ncodes:\n  - key: a\n    label: A\n    definition: a\n    rules:\n      regex: ['^(a|a)*$']\n",
        encoding="utf-8")
    project = tmp_path / "p"
    assert run_cli("init", project).exit_code == 0
    assert run_cli("import", folder, "--project", project).exit_code == 0
    before = state(project)
    began = time.monotonic()
    result = run_cli("apply", tmp_path / "rules.yaml", "--coder", "auto", "--project", project)
    elapsed = time.monotonic() - began
    assert result.exit_code == 1 and "took more than 2 s" in result.output, result.output
    assert "a" * 40 not in result.output  # the transcript's text is not printed
    assert elapsed < 10
    assert state(project) == before
    figures["attacks refused"] += 1


# -- names ----------------------------------------------------------------------------------------

SHELL_NAMES = ["$(touch PWNED1).txt", "a;touch PWNED2;.txt", "`touch PWNED3`.txt", "x && touch PWNED4.txt",
               "a..b.txt", "-rf.txt"]


def test_names_with_shell_characters_and_dots_are_kept_verbatim_and_run_nothing(tmp_path, figures, monkeypatch):
    from qualcode.project import Project

    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "t"
    folder.mkdir()
    for index, name in enumerate(SHELL_NAMES):
        (folder / name).write_text(f"Interviewer: Hello?\n\nR{index}: The caseload is high.\n", encoding="utf-8")
    (tmp_path / "respondents.csv").write_text(
        "respondent_id,site\n../../etc/passwd,$(touch PWNED5)\n", encoding="utf-8")
    project = tmp_path / "p"
    assert run_cli("init", project).exit_code == 0
    result = run_cli("import", folder, "--project", project)
    assert result.exit_code == 0, result.output
    result = run_cli("respondents", "import", tmp_path / "respondents.csv", "--allow-new", "--project", project)
    assert result.exit_code == 0, result.output
    with Project.find(project) as opened:
        names = {r[0] for r in opened.connect().execute("SELECT name FROM documents")}
        ids = {r[0] for r in opened.connect().execute("SELECT respondent_id FROM respondents")}
    assert names == set(SHELL_NAMES)
    assert "../../etc/passwd" in ids
    # an export whose --out holds .. and shell characters writes exactly there, and a .qdpx names no path
    odd = tmp_path / "out dir" / ".." / "out;$(touch PWNED6).qdpx"
    missing = run_cli("export", "qdpx", odd, "--project", project)  # the path is taken as the system takes it
    assert missing.exit_code == 1 and "does not exist; create it first" in missing.output
    (tmp_path / "out dir").mkdir()
    assert run_cli("export", "qdpx", odd, "--project", project).exit_code == 0
    written = tmp_path / "out;$(touch PWNED6).qdpx"
    assert written.exists() and not list((tmp_path / "out dir").iterdir())
    with zipfile.ZipFile(written) as archive:
        assert not [n for n in archive.namelist() if ".." in n.split("/") or n.startswith("/")]
    again = tmp_path / "again"
    assert run_cli("init", again).exit_code == 0
    result = run_cli("import", written, "--project", again)
    assert result.exit_code == 0, result.output
    with Project.find(again) as opened:
        assert {r[0] for r in opened.connect().execute("SELECT name FROM documents")} == set(SHELL_NAMES)
    left = [p.name for p in tmp_path.rglob("PWNED*")] + [p.name for p in Path("/").glob("PWNED*")]
    assert left == [], "a name was run by a shell"
    figures["attacks refused"] += 1
