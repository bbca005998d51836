"""Independent cross-checks of the numbers qualcode prints, on the demo project.

The demo study is built once through the CLI (``python -m qualcode demo``).
Every expected value here is recomputed from the project database with plain
SQL and Python written for this file — no qualcode function is imported — and
compared with what the commands print (``--format json``) or export:

- counts: distinct respondents per code and per theme (roll-up is a union),
  percentages of the respondents with text, units, documents, ids in natural
  order (docs/counts.md);
- agreement: the 2×2 tables on the double-coded sample (``assignments``) at
  paragraph, sentence, respondent, document and character level, and κ, α,
  AC1, Brennan–Prediger and specific agreement from the published formulas,
  with κ also from scikit-learn and α from the ``krippendorff`` package
  (docs/methods/agreement.md);
- the framework matrix, quotations and the REFI-QDA export against the
  stored transcript text.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter

import pytest

CODER_A, CODER_B, COUNTED = "A", "B", "consensus"
UNITS = ("paragraph", "sentence", "respondent", "document", "char")


def _run(project, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "qualcode", *args, "--project", str(project)],
                          capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("crosscheck") / "demo"
    subprocess.run([sys.executable, "-m", "qualcode", "demo", str(root)], capture_output=True, text=True, check=True)
    conn = sqlite3.connect(root / "qualcode.db")
    yield root, conn
    conn.close()


def natural(s: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def respondent_units(conn):
    return conn.execute("SELECT unit_id, document_id, start, end, respondent_id FROM units "
                        "WHERE role = 'respondent'").fetchall()


def code_tree(conn):
    rows = conn.execute("SELECT code_id, key, parent_id FROM codes").fetchall()
    children: dict = {}
    for code_id, _, parent in rows:
        children.setdefault(parent, []).append(code_id)

    def beneath(code_id):
        out = {code_id}
        for child in children.get(code_id, []):
            out |= beneath(child)
        return out

    return {key: beneath(code_id) for code_id, key, _ in rows}, {key for code_id, key, _ in rows
                                                                 if code_id not in children}


def spans(conn, coder):
    out: dict = {}
    for code_id, document_id, start, end in conn.execute(
            "SELECT code_id, document_id, g.start, g.end FROM codings g JOIN coders USING (coder_id) "
            "WHERE name = ?", (coder,)):
        out.setdefault((code_id, document_id), []).append((start, end))
    return out


def coded(coder_spans, code_ids, document_id, start, end) -> bool:
    return any(s < end and e > start for code_id in code_ids for s, e in coder_spans.get((code_id, document_id), []))


# -- formulas, written from the references ----------------------------------------------------------


def statistics(a: int, b: int, c: int, d: int) -> dict:
    n = a + b + c + d
    p_o, p_a, p_b = (a + d) / n, (a + b) / n, (a + c) / n
    p_e = p_a * p_b + (1 - p_a) * (1 - p_b)  # Cohen 1960
    # Krippendorff 2011: coincidence matrix of two coders, no missing values
    o01 = o10 = b + c  # off-diagonal cells; the diagonal holds 2d and 2a pairable values
    n0, n1, total = 2 * d + b + c, 2 * a + b + c, 2 * n
    d_o, d_e = (o01 + o10) / total, 2 * n0 * n1 / (total * (total - 1))
    pi = (p_a + p_b) / 2  # Gwet 2008, q = 2
    p_e_gwet = 2 * pi * (1 - pi)
    return {
        "percent": 100 * p_o,
        "kappa": None if p_e == 1 else (p_o - p_e) / (1 - p_e),
        "alpha": None if d_e == 0 else 1 - d_o / d_e,
        "ac1": (p_o - p_e_gwet) / (1 - p_e_gwet),
        "bp": (p_o - 1 / 2) / (1 - 1 / 2),  # Brennan & Prediger 1981, q = 2
        "pos_agree": None if 2 * a + b + c == 0 else 2 * a / (2 * a + b + c),
        "neg_agree": None if 2 * d + b + c == 0 else 2 * d / (2 * d + b + c),
    }


def test_formulas_agree_with_scikit_learn_and_krippendorff():
    np = pytest.importorskip("numpy")
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    krippendorff = pytest.importorskip("krippendorff")
    for a, b, c, d in [(20, 5, 10, 15), (1, 1, 3, 5), (0, 0, 2, 69), (10, 1, 0, 60), (61, 5, 11, 1059)]:
        x = [1] * a + [1] * b + [0] * c + [0] * d
        y = [1] * a + [0] * b + [1] * c + [0] * d
        mine = statistics(a, b, c, d)
        assert mine["kappa"] == pytest.approx(sklearn_metrics.cohen_kappa_score(x, y), abs=1e-12)
        assert mine["alpha"] == pytest.approx(
            krippendorff.alpha(reliability_data=np.array([x, y], float), level_of_measurement="nominal"), abs=1e-12)


# -- counts ---------------------------------------------------------------------------------------------


def expected_counts(conn, coder):
    beneath, _ = code_tree(conn)
    units = respondent_units(conn)
    coder_spans = spans(conn, coder)
    with_text = {u[4] for u in units}
    out = {}
    for key, code_ids in beneath.items():
        touched = [u for u in units if coded(coder_spans, code_ids, u[1], u[2], u[3])]
        ids = sorted({u[4] for u in touched}, key=natural)
        out[key] = {"n": len(ids), "pct": round(100 * len(ids) / len(with_text), 1), "denominator": len(with_text),
                    "units": len(touched), "documents": len({u[1] for u in touched}),
                    "ids": "[" + "; ".join(ids) + "]", "members": ids}
    return out


def test_counts_match_an_independent_count(demo):
    root, conn = demo
    expected = expected_counts(conn, COUNTED)
    printed = json.loads(_run(root, "counts", "--coder", COUNTED, "--format", "json"))
    assert {row["key"] for row in printed} == set(expected)
    for row in printed:
        want = expected[row["key"]]
        assert {k: row[k] for k in ("n", "pct", "denominator", "units", "documents", "ids")} == \
            {k: want[k] for k in ("n", "pct", "denominator", "units", "documents", "ids")}, row["key"]


def test_counts_by_role_use_each_group_as_denominator(demo):
    root, conn = demo
    expected = expected_counts(conn, COUNTED)
    roles = dict(conn.execute("SELECT respondent_id, value FROM respondent_attributes WHERE name = 'role'"))
    with_text = {u[4] for u in respondent_units(conn)}
    groups: dict = {}
    for respondent in with_text:
        groups.setdefault(roles.get(respondent) or "not recorded", set()).add(respondent)
    printed = json.loads(_run(root, "counts", "--coder", COUNTED, "--by", "role", "--format", "json"))
    for row in printed:
        for value, members in groups.items():
            n = len(set(expected[row["key"]]["members"]) & members)
            assert (row[f"n ({value})"], row[f"pct ({value})"]) == (n, round(100 * n / len(members), 1)), row["key"]


def test_matrix_count_cells_are_paragraphs_per_respondent(demo, tmp_path):
    import csv

    root, conn = demo
    beneath, _ = code_tree(conn)
    coder_spans = spans(conn, COUNTED)
    units = respondent_units(conn)
    out = tmp_path / "matrix.csv"
    _run(root, "matrix", "--cells", "count", "--coder", COUNTED, "--out", str(out))
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert [r["respondent"] for r in rows] == sorted({u[4] for u in units}, key=natural)
    for row in rows:
        for column, value in row.items():
            key = re.search(r"\[([^\]]+)\]$", column)
            if key:
                want = sum(1 for u in units if u[4] == row["respondent"]
                           and coded(coder_spans, beneath[key.group(1)], u[1], u[2], u[3]))
                assert int(value) == want, (row["respondent"], key.group(1))


# -- agreement ------------------------------------------------------------------------------------------


def compared_units(conn, level):
    """(list of (document_id, start, end) pieces) per compared unit, on the intersection of the two scopes."""
    assigned = [{u for (u,) in conn.execute("SELECT unit_id FROM assignments JOIN coders USING (coder_id) "
                                            "WHERE name = ?", (coder,))} for coder in (CODER_A, CODER_B)]
    assert assigned[0] and assigned[1]
    paragraphs = [u for u in respondent_units(conn) if u[0] in assigned[0] & assigned[1]]
    if level == "paragraph":
        return [[(u[1], u[2], u[3])] for u in paragraphs]
    if level == "sentence":
        ids = {u[0] for u in paragraphs}
        return [[(d, s, e)] for unit_id, d, s, e in conn.execute(
            "SELECT unit_id, document_id, s.start, s.end FROM sentences s JOIN units USING (unit_id)") if unit_id in ids]
    groups: dict = {}
    for u in paragraphs:
        groups.setdefault(u[4] if level == "respondent" else u[1], []).append((u[1], u[2], u[3]))
    return list(groups.values())


def expected_tables(conn, level, code_ids):
    span_a, span_b = spans(conn, CODER_A), spans(conn, CODER_B)
    if level == "char":
        texts = dict(conn.execute("SELECT document_id, text FROM documents"))
        table = [0, 0, 0, 0]
        for (document_id, start, end), in compared_units(conn, "paragraph"):
            for i in range(start, end):
                x = coded(span_a, code_ids, document_id, i, i + 1)
                y = coded(span_b, code_ids, document_id, i, i + 1)
                table[0 if x and y else 1 if x else 2 if y else 3] += 1
            assert end <= len(texts[document_id])
        return tuple(table)
    table = [0, 0, 0, 0]
    for pieces in compared_units(conn, level):
        x = any(coded(span_a, code_ids, *piece) for piece in pieces)
        y = any(coded(span_b, code_ids, *piece) for piece in pieces)
        table[0 if x and y else 1 if x else 2 if y else 3] += 1
    return tuple(table)


def check_row(row, table):
    assert (row["a"], row["b"], row["c"], row["d"], row["n"]) == (*table, sum(table)), row["code"]
    for name, value in statistics(*table).items():
        if value is None:
            assert row[name] is None and row[f"{name}_reason"], (row["code"], name)
        else:
            assert row[name] == pytest.approx(value, abs=1e-9), (row["code"], name)


@pytest.mark.parametrize("level", UNITS)
def test_agreement_tables_and_statistics(demo, level):
    root, conn = demo
    beneath, leaves = code_tree(conn)
    printed = json.loads(_run(root, "agree", CODER_A, CODER_B, "--unit", level, "--format", "json"))
    assert {row["code"] for row in printed["per_code"]} == leaves
    tables = {}
    for row in printed["per_code"] + printed["per_theme"]:
        tables[row["code"]] = expected_tables(conn, level, beneath[row["code"]])
        check_row(row, tables[row["code"]])
    pooled_sum, pooled_mean = printed["pooled"]
    check_row(pooled_sum, tuple(sum(tables[key][i] for key in leaves) for i in range(4)))
    per_code = [statistics(*tables[key]) for key in leaves]
    for name in ("percent", "kappa", "alpha", "ac1", "bp", "pos_agree", "neg_agree"):
        values = [s[name] for s in per_code if s[name] is not None]
        assert pooled_mean[name] == pytest.approx(sum(values) / len(values), abs=1e-9), name


# -- quotations and the REFI-QDA export ---------------------------------------------------------------


def tidy_quotation(conn, quotation) -> str:
    """The respondent's parts of the coded span, whitespace collapsed, other speech between them as […]."""
    text = conn.execute("SELECT text FROM documents WHERE name = ?", (quotation["document"],)).fetchone()[0]
    start, end = quotation["start"], quotation["end"]
    parts: list[str] = []
    for s, e, role, respondent in conn.execute(
            "SELECT u.start, u.end, u.role, u.respondent_id FROM units u JOIN documents USING (document_id) "
            "WHERE name = ? AND u.start < ? AND u.end > ? ORDER BY u.start", (quotation["document"], end, start)):
        if role == "respondent" and respondent == quotation["respondent"]:
            parts.append(re.sub(r"\s+", " ", text[max(s, start):min(e, end)]).strip())
        elif parts and parts[-1] != "[…]":
            parts.append("[…]")
    while parts and parts[-1] == "[…]":
        parts.pop()
    return " ".join(parts)


def test_quotations_are_the_respondents_own_words(demo):
    root, conn = demo
    quotations = json.loads(_run(root, "quotes", "--coder", COUNTED, "--format", "json"))
    assert len(quotations) == conn.execute(
        "SELECT count(*) FROM codings JOIN coders USING (coder_id) WHERE name = ?", (COUNTED,)).fetchone()[0]
    for quotation in quotations:
        assert quotation["text"] == tidy_quotation(conn, quotation), quotation["id"]


def test_trimmed_quotations_keep_the_words_verbatim(demo):
    root, conn = demo
    quotations = json.loads(_run(root, "quotes", "--coder", COUNTED, "--max-words", "60", "--format", "json"))
    for quotation in quotations:
        kept = quotation["text"].removesuffix("[…]").strip()
        assert tidy_quotation(conn, quotation).startswith(kept), quotation["id"]


def test_no_stored_sentence_ends_with_an_opening_bracket_or_quote(demo):
    _, conn = demo
    texts = dict(conn.execute("SELECT document_id, text FROM documents"))
    dangling = [(d, s, e) for d, s, e in conn.execute(
        "SELECT document_id, s.start, s.end FROM sentences s JOIN units USING (unit_id)")
        if texts[d][s:e][-1] in "[(“‘"]
    assert dangling == []


def test_qdpx_selections_are_the_coded_text(demo, tmp_path):
    root, conn = demo
    out = tmp_path / "study.qdpx"
    _run(root, "export", "qdpx", str(out))
    ns = {"q": "urn:QDA-XML:project:1.0"}
    texts = {name: (document_id, text) for document_id, name, text in
             conn.execute("SELECT document_id, name, text FROM documents")}
    labels = dict(conn.execute("SELECT label, key FROM codes"))
    exported, in_project = Counter(), Counter(conn.execute(
        "SELECT coders.name, codes.key, document_id, g.start, g.end "
        "FROM codings g JOIN coders USING (coder_id) JOIN codes USING (code_id)").fetchall())
    with zipfile.ZipFile(out) as archive:
        root_xml = ET.fromstring(archive.read("project.qde"))
        users = {u.get("guid"): u.get("name") for u in root_xml.iterfind(".//q:User", ns)}
        code_keys = {c.get("guid"): labels[c.get("name")] for c in root_xml.iterfind(".//q:Code", ns)}
        for source in root_xml.iterfind(".//q:TextSource", ns):
            document_id, text = texts[source.get("name")]
            plain = archive.read("Sources/" + source.get("plainTextPath").split("//", 1)[1]).decode("utf-8")
            assert plain == text
            for selection in source.iterfind("q:PlainTextSelection", ns):
                start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
                for coding in selection.iterfind("q:Coding", ns):
                    key = code_keys[coding.find("q:CodeRef", ns).get("targetGUID")]
                    exported[(users[coding.get("creatingUser")], key, document_id, start, end)] += 1
    assert exported == in_project
