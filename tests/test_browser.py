"""The coding page in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

Each test serves a project with uvicorn on a free loopback port, exactly as
``qualcode serve`` does, selects text with the mouse or the keyboard, presses
keys, and reads the result back through the library: the offsets stored are
those of the characters the browser shows as selected. No browser is
downloaded: the tests need /usr/bin/chromium (or $QUALCODE_CHROMIUM), which
.ci/run installs with apt-get where it is missing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, code_phrase

from qualcode.codings import load_codings
from qualcode.project import Project

if os.environ.get("QUALCODE_REQUIRE_BROWSER"):
    import playwright.sync_api as playwright_api
else:
    playwright_api = pytest.importorskip("playwright.sync_api",
                                         reason="the browser tests need playwright (pip install -e '.[test]')")

CHROMIUM = os.environ.get("QUALCODE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOT = REPO_ROOT / "docs" / "img" / "serve.png"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("QUALCODE_REQUIRE_BROWSER"),
                                reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")


def live_server(project_dir: Path, **settings):
    """Serve the project on 127.0.0.1 as `qualcode serve` does; yield the page's address with its token."""
    from qualcode.server.thread import serving

    return serving(project_dir, **settings)


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.on("console", lambda message: message.type == "error" and errors.append(message.text))
    yield opened
    context.close()
    assert not errors, f"the page reported errors: {errors}"


def open_page(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("#transcript .para")


def drag_select(page, phrase: str) -> None:
    """Select ``phrase`` (its first occurrence in the transcript) by dragging the mouse over it."""
    box = page.evaluate("""(phrase) => {
        const segs = [...document.querySelectorAll('#transcript .seg')];
        for (const seg of segs) {
            const node = seg.firstChild, at = node ? node.data.indexOf(phrase) : -1;
            if (at < 0) continue;
            seg.scrollIntoView({block: 'center'});
            const first = document.createRange(), last = document.createRange();
            first.setStart(node, at); first.setEnd(node, at + 1);
            last.setStart(node, at + phrase.length - 1); last.setEnd(node, at + phrase.length);
            const a = first.getClientRects()[0], b = last.getClientRects()[0];
            return {x1: a.left + 1, y1: a.top + a.height / 2, x2: b.right - 1, y2: b.top + b.height / 2};
        }
        return null;
    }""", phrase)
    assert box is not None, f"phrase not in the transcript: {phrase!r}"
    page.mouse.move(box["x1"], box["y1"])
    page.mouse.down()
    page.mouse.move((box["x1"] + box["x2"]) / 2, (box["y1"] + box["y2"]) / 2, steps=4)
    page.mouse.move(box["x2"], box["y2"], steps=4)
    page.mouse.up()
    assert page.evaluate("window.getSelection().toString()") == phrase


def codings_of(project_dir: Path, coder: str):
    with Project.find(project_dir) as project:
        conn = project.connect()
        texts = dict(conn.execute("SELECT document_id, text FROM documents"))
        return [(c, texts[c.document_id][c.start:c.end]) for c in load_codings(conn, coders=[coder])]


def shortcut_of(project_dir: Path, key: str) -> str:
    from qualcode.spans import codebook_for_coding

    with Project.find(project_dir) as project:
        codes = codebook_for_coding(project.connect(), [])["codes"]
    return next(c["shortcut"] for c in codes if c["key"] == key)


def test_select_with_the_mouse_press_a_key_reload_and_remove(tiny_project_dir, page):
    phrase = "forty people on my books"
    key = shortcut_of(tiny_project_dir, "work.caseload")
    with live_server(tiny_project_dir, coder="B") as url:
        open_page(page, url)
        drag_select(page, phrase)
        page.keyboard.press(key)
        page.wait_for_selector("#status:has-text('saved')")
        tag = page.locator("#transcript .tag")
        assert tag.count() == 1
        assert tag.get_attribute("data-label") == f"{key} work.caseload"  # the key is shown, not colour alone

        [(coding, text)] = codings_of(tiny_project_dir, "B")
        assert text == phrase and coding.code_key == "work.caseload" and coding.origin == "browser"

        page.reload()
        page.wait_for_selector("#transcript .tag")
        assert page.locator("#transcript .seg.coded").first.inner_text() == phrase

        page.locator("#transcript .tag").first.press("Enter")
        page.wait_for_selector("#coding-pane:not([hidden])")
        assert phrase in page.inner_text("#coding-quote")
        page.click("#coding-remove")
        page.wait_for_selector("#status:has-text('removed')")
        assert codings_of(tiny_project_dir, "B") == []
        assert page.locator("#transcript .tag").count() == 0

        page.keyboard.press("Control+z")  # undo the removal
        page.wait_for_selector("#transcript .tag")
        [(_, text)] = codings_of(tiny_project_dir, "B")
        assert text == phrase


def test_select_with_the_keyboard_and_filter_the_codebook_by_typing(tiny_project_dir, page):
    with live_server(tiny_project_dir, coder="B") as url:
        open_page(page, url)
        page.focus("#transcript")
        page.keyboard.press("ArrowDown")  # the cursor at the first paragraph
        page.keyboard.press("ArrowDown")  # … and at the second
        for _ in range(3):
            page.keyboard.press("Control+Shift+ArrowRight")
        selected = page.evaluate("window.getSelection().toString()").strip()
        assert len(selected.split()) >= 2, selected
        page.keyboard.type("toll")  # a letter opens the codebook filter; Enter codes with the first match
        assert page.input_value("#code-filter") == "toll"
        page.keyboard.press("Enter")
        page.wait_for_selector("#status:has-text('saved')")
        [(coding, text)] = codings_of(tiny_project_dir, "B")
        assert text == selected and coding.code_key == "work.toll"
        with Project.find(tiny_project_dir) as project:
            from qualcode.spans import document_outline

            outline = document_outline(project.connect(), coding.document_id)
        assert coding.start == outline["units"][1]["start"]  # from the start of the second paragraph


def test_offsets_are_code_points_through_emoji_combining_marks_and_crlf(tmp_path, page):
    from qualcode import transcripts
    from qualcode.codebook import import_codebook

    project = Project.create(tmp_path / "p")
    source = tmp_path / "R1.txt"
    text = ("Interviewer: How was it? 😀\r\n\r\nR1: The café was lovely 👩‍👩‍👧 but the Biq\u0323i next door"
            " was loud 🎉 and we left early.\r\n")
    source.write_bytes(text.encode("utf-8"))
    transcripts.import_paths(project, [source])
    book = tmp_path / "codebook.yaml"
    book.write_text("name: t\ncodes:\n  - key: place\n    label: Place\n", encoding="utf-8")
    with project.transaction() as conn:
        import_codebook(conn, book)
    project.close()
    phrase = "we left early"
    with live_server(tmp_path / "p", coder="B") as url:
        open_page(page, url)
        drag_select(page, phrase)
        page.keyboard.press("1")
        page.wait_for_selector("#status:has-text('saved')")
        drag_select(page, "Biq\u0323i next door")
        page.keyboard.press("1")
        page.wait_for_selector("#transcript .tag >> nth=1")
    found = sorted(codings_of(tmp_path / "p", "B"), key=lambda item: item[0].start)
    with Project.find(tmp_path / "p") as opened:
        stored = opened.connect().execute("SELECT text FROM documents").fetchone()[0]
    assert [t for _, t in found] == ["Biq\u0323i next door", phrase]
    for coding, t in found:
        assert coding.start == stored.index(t) and coding.end == coding.start + len(t)  # Python counts code points
    assert len(stored[:found[1][0].start].encode("utf-16-le")) // 2 > found[1][0].start  # emoji before: UTF-16 differs


def test_search_finds_a_phrase_and_codes_the_hit(tiny_project_dir, page):
    with live_server(tiny_project_dir, coder="B") as url:
        open_page(page, url)
        page.fill("#search", "supervision")
        page.press("#search", "Enter")
        page.wait_for_selector("#search-results button")
        page.click("#search-results button >> nth=0")
        page.wait_for_selector("#status:has-text('hit selected')")
        key = shortcut_of(tiny_project_dir, "sup.supervision")
        page.keyboard.press(key)
        page.wait_for_selector("#status:has-text('saved')")
    [(coding, text)] = codings_of(tiny_project_dir, "B")
    assert text.lower() == "supervision" and coding.code_key == "sup.supervision"


def test_a_blind_page_shows_no_other_coders_work(tiny_project_dir, page):
    with Project.find(tiny_project_dir) as project, project.transaction() as conn:
        code_phrase(conn, "A", "work.toll", "SF1.txt", "Some nights I don't sleep")
    with live_server(tiny_project_dir, coder="B") as url:
        open_page(page, url)
        assert page.locator("#transcript .tag").count() == 0
        assert "1 codings" not in page.inner_text("#documents")


def test_reconcile_one_disagreement_in_the_browser(tiny_project_dir, page):
    from qualcode.reconcile import decision_log

    with Project.find(tiny_project_dir) as project, project.transaction() as conn:
        code_phrase(conn, "A", "work.caseload", "SF1.txt", "forty people on my books")
        code_phrase(conn, "B", "work.caseload", "SF1.txt", "I've got forty people on my books")
        code_phrase(conn, "A", "work.toll", "SF1.txt", "Some nights I don't sleep")
    with live_server(tiny_project_dir, reconcile=("A", "B"), unit="paragraph") as url:
        open_page(page, url)
        page.wait_for_selector("#disagreements li")
        opened = int(page.inner_text("#disagreements-summary").split()[0])
        assert opened >= 1
        assert page.locator("#transcript .tag[data-label^='A:']").count() >= 1  # both coders shown
        assert page.locator("#transcript .tag[data-label^='B:']").count() >= 1
        page.click("#disagreements li:has-text('work.toll') button:has-text('Keep')")
        page.wait_for_selector("#status:has-text('saved: keep')")
        assert page.inner_text("#disagreements-summary").startswith(f"{opened - 1} open")
    with Project.find(tiny_project_dir) as project:
        log = decision_log(project)
        consensus = codings_of(tiny_project_dir, "consensus")
    decided = log[log["decision"] != "agreed"] if "decision" in log else log
    assert len(decided) >= 1
    assert any(c.code_key == "work.toll" and text == "Some nights I don't sleep" for c, text in consensus)


def test_the_example_study_opens_and_a_screenshot_for_the_readme(tmp_path, page):
    """The shipped example study coded by hand in the page; the screenshot in README comes from here."""
    from qualcode import transcripts
    from qualcode.codebook import import_codebook

    project = Project.create(tmp_path / "study")
    transcripts.import_paths(project, [REPO_ROOT / "transcripts_example"])
    with project.transaction() as conn:
        import_codebook(conn, REPO_ROOT / "codebooks" / "bridge.yaml")
    project.close()
    with live_server(tmp_path / "study", coder="B") as url:
        open_page(page, url)
        assert page.locator("#documents li").count() >= 10
        drag_select(page, "the person that holds it all together for the client")
        page.keyboard.press("1")
        page.wait_for_selector("#status:has-text('saved')")
        page.locator("#codes button.code").first.hover()
        page.locator("#transcript .tag").first.scroll_into_view_if_needed()
        if os.access(SCREENSHOT.parent, os.W_OK):
            page.screenshot(path=str(SCREENSHOT))
    [(_, text)] = codings_of(tmp_path / "study", "B")
    assert text == "the person that holds it all together for the client"


def test_change_a_codings_code_and_what_is_hidden_stays_hidden(tiny_project_dir, page):
    with Project.find(tiny_project_dir) as project, project.transaction() as conn:
        code_phrase(conn, "B", "work.toll", "SF1.txt", "Some nights I don't sleep")
    with live_server(tiny_project_dir, coder="B") as url:
        open_page(page, url)
        assert not page.is_visible("#search-code")  # nothing to code before a search
        assert not page.is_visible("#coding-pane")
        page.click("#transcript .seg.coded")
        page.wait_for_selector("#coding-pane:not([hidden])")
        assert "made by manual" in page.inner_text("#coding-meta") and "coder B" in page.inner_text("#coding-meta")
        page.select_option("#coding-code", "work.caseload")
        page.wait_for_selector("#status:has-text('changed to work.caseload')")
        [(coding, text)] = codings_of(tiny_project_dir, "B")
        assert coding.code_key == "work.caseload" and text == "Some nights I don't sleep"
        page.fill("#coding-memo", "tired rather than overloaded")
        page.click("#coding-memo-save")
        page.wait_for_selector("#status:has-text('memo saved')")
    from qualcode import memos

    with Project.find(tiny_project_dir) as project:
        assert memos.coding_memos(project.connect(), [coding.coding_id], coder="B") == {
            coding.coding_id: "tired rather than overloaded"}
