"""Transcript import: formats, speaker layouts, decoding, re-import and bad input."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qualcode import codebook, codings, documents, store, transcripts
from qualcode.errors import ImportFailed, InputError
from qualcode.project import CONFIG_NAME, Project
from tests.conftest import batch_interrupted_at

FIXTURES = Path(__file__).parent / "fixtures" / "transcripts"
LABELS = ["I", "Int", "Interviewer", "Q", "Facilitator", "Moderator"]


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def parse(path: Path, respondent: str | None = None, speaker_map=None) -> transcripts.ParsedTranscript:
    return transcripts.parse_file(path, interviewer_labels=LABELS, speaker_map=speaker_map,
                                  respondent_id=respondent or path.stem)


def unit_texts(parsed, role: str | None = None) -> list[str]:
    return [parsed.text[u["start"]:u["end"]] for u in parsed.units if role is None or u["role"] == role]


def assert_well_formed(parsed) -> None:
    """Units lie in the text, in order, trimmed, and never contain their speaker label."""
    previous_end = 0
    for unit in parsed.units:
        span = parsed.text[unit["start"]:unit["end"]]
        assert unit["start"] >= previous_end and unit["end"] > unit["start"]
        assert span == span.strip()
        if unit["speaker"]:
            before = parsed.text[:unit["start"]]
            assert not span.startswith(unit["speaker"] + ":")
            if unit["start"] > 0 and before.endswith(": "):
                # the label is just before the span, outside it
                assert before.rsplit("\n", 1)[-1].rstrip(": ").strip("[]") == unit["speaker"]
        previous_end = unit["end"]


@pytest.fixture
def project(tmp_path) -> Project:
    project = Project.create(tmp_path / "study")
    yield project
    project.close()


# -- text layouts -------------------------------------------------------------

def test_colon_layout_turns_paragraphs_and_roles(tmp_path):
    path = write(tmp_path, "SF1.txt", (
        "Interviewer: How is your caseload?\n\n"
        "SF1: It's a lot. Forty people.\n\n"
        "And that's too many, honestly.\n\n"
        "Interviewer: Thanks.\n"
    ))
    parsed = parse(path)
    assert parsed.source_format == "txt"
    assert unit_texts(parsed) == ["How is your caseload?", "It's a lot. Forty people.",
                                  "And that's too many, honestly.", "Thanks."]
    assert [u["role"] for u in parsed.units] == ["interviewer", "respondent", "respondent", "interviewer"]
    assert [u["respondent_id"] for u in parsed.units] == [None, "SF1", "SF1", None]
    assert [u["turn"] for u in parsed.units] == [1, 2, 2, 3]
    assert parsed.text.startswith("Interviewer: How is your caseload?\n\nSF1: It's a lot.")
    assert_well_formed(parsed)


def test_hard_wrapped_lines_are_joined_into_the_paragraph(tmp_path):
    path = write(tmp_path, "SF5.txt", (
        "I: So it's recording now. Is it okay if we just start with a bit about you and\n"
        "your job?\n"
        "\n"
        "P: Yeah, course. So I've been a support worker at Bridge for four years. Four\n"
        "years in September. Before that I was a carer, domiciliary, you know, going into\n"
        "people's houses.\n"
    ))
    parsed = parse(path)
    assert unit_texts(parsed) == [
        "So it's recording now. Is it okay if we just start with a bit about you and your job?",
        "Yeah, course. So I've been a support worker at Bridge for four years. Four years in September."
        " Before that I was a carer, domiciliary, you know, going into people's houses.",
    ]
    assert [u["role"] for u in parsed.units] == ["interviewer", "respondent"]
    assert parsed.units[1]["speaker"] == "P"


def test_bracket_layout_and_bracket_notes_are_text(tmp_path):
    path = write(tmp_path, "SF8.txt", (
        "[Interviewer] Okay, we're recording.\n\n"
        "[SF8] Yes. [laughs] It has been fourteen years.\n\n"
        "[Interviewer] [laughs] Noted.\n\n"
        "[SF8] Hugely.\n"
    ))
    parsed = parse(path)
    assert unit_texts(parsed) == ["Okay, we're recording.", "Yes. [laughs] It has been fourteen years.",
                                  "[laughs] Noted.", "Hugely."]
    assert [u["speaker"] for u in parsed.units] == ["Interviewer", "SF8", "Interviewer", "SF8"]
    assert parsed.text.startswith("[Interviewer] Okay")


def test_bracket_notes_in_a_colon_transcript_are_not_speakers(tmp_path):
    path = write(tmp_path, "SF2.txt", (
        "Interviewer: Hello.\n\n[Laughs] okay.\n\nSF2: Hi.\n\n[Laughs] Hi again.\n\nInterviewer: Right.\n"
    ))
    parsed = parse(path)
    assert {u["speaker"] for u in parsed.units} == {"Interviewer", "SF2"}
    assert "[Laughs] Hi again." in unit_texts(parsed, "respondent")


def test_generic_speaker_labels_with_speaker_map(tmp_path):
    content = "Speaker 1: Is that okay?\n\nSpeaker 2: Yeah, fine.\n\nSpeaker 1: Good.\n\nSpeaker 2: Right.\n"
    path = write(tmp_path, "TL5.txt", content)
    unmapped = parse(path)
    assert {u["role"] for u in unmapped.units} == {"respondent"}
    assert any("speaker_map.TL5" in w for w in unmapped.warnings)
    mapped = parse(path, speaker_map={"speaker 1": "interviewer", "Speaker 2": "TL5"})
    assert [u["role"] for u in mapped.units] == ["interviewer", "respondent", "interviewer", "respondent"]
    assert [u["respondent_id"] for u in mapped.units] == [None, "TL5", None, "TL5"]
    assert not mapped.warnings


def test_focus_group_speaker_map_assigns_several_respondents(tmp_path):
    path = write(tmp_path, "FG1.txt", (
        "Facilitator: Welcome all.\n\nAnna: Hello.\n\nBen: Hi there.\n\nAnna: Me again.\n\nObserver: Note.\n"
    ))
    parsed = parse(path, speaker_map={"Anna": "SF1", "Ben": "SF2", "Observer": "other"})
    assert [(u["role"], u["respondent_id"]) for u in parsed.units] == [
        ("interviewer", None), ("respondent", "SF1"), ("respondent", "SF2"), ("respondent", "SF1"), ("other", None)]
    assert parsed.respondent_id is None  # a focus group is nobody's own document


def test_otter_export_timestamps_on_units_not_in_text(tmp_path):
    path = write(tmp_path, "SF4.txt", (
        "Interviewer  0:02\nOkay, so we're recording.\n\n"
        "SF4  0:09\nIt's always a busy week.\n\n"
        "Interviewer  1:02:13\nFair enough.\n"
    ))
    parsed = parse(path)
    assert unit_texts(parsed) == ["Okay, so we're recording.", "It's always a busy week.", "Fair enough."]
    assert [u["timestamp"] for u in parsed.units] == [2.0, 9.0, 3733.0]
    assert "0:09" not in parsed.text and "1:02:13" not in parsed.text
    assert parsed.text.startswith("Interviewer: Okay")


def test_leading_and_inline_timestamps(tmp_path):
    path = write(tmp_path, "SF9.txt", (
        "[00:00:05] Interviewer: First question?\n\n"
        "SF9 (00:00:12): An answer [00:00:20] that goes on.\n\n"
        "Interviewer: Next?\n"
    ))
    parsed = parse(path)
    assert unit_texts(parsed) == ["First question?", "An answer that goes on.", "Next?"]
    assert [u["timestamp"] for u in parsed.units] == [5.0, 12.0, None]
    assert not re.search(r"\d:\d\d", parsed.text)


def test_monologue_without_labels_is_the_respondents_text(tmp_path):
    path = write(tmp_path, "SF7.txt", "Week 1, Monday\n\nI said I'd keep this diary.\nIt is hard.\n\nNote: tired.\n")
    parsed = parse(path)
    assert unit_texts(parsed) == ["Week 1, Monday", "I said I'd keep this diary. It is hard.", "Note: tired."]
    assert {(u["role"], u["respondent_id"], u["speaker"]) for u in parsed.units} == {("respondent", "SF7", None)}
    assert parsed.respondent_id == "SF7"


def test_header_before_the_first_label_is_not_respondent_speech(tmp_path):
    path = write(tmp_path, "SF1.txt", "Interview with SF1, site visit\n\nInterviewer: Hello.\n\nSF1: Hi.\n")
    parsed = parse(path)
    assert [u["role"] for u in parsed.units] == ["other", "interviewer", "respondent"]


def test_markdown_bold_labels(tmp_path):
    path = write(tmp_path, "SF3.md", "# Interview\n\n**Interviewer:** Hello.\n\n**SF3:** Hi, *really*.\n")
    parsed = parse(path)
    assert unit_texts(parsed, "respondent") == ["Hi, *really*."]
    assert parsed.source_format == "md"


def test_list_items_keep_their_own_line(tmp_path):
    path = write(tmp_path, "SF1.txt", "Interviewer: Tell me.\n\nSF1: Three things:\n- time\n- money\n")
    parsed = parse(path)
    assert unit_texts(parsed, "respondent") == ["Three things:\n- time\n- money"]


# -- word-processor formats ---------------------------------------------------

def test_docx_paragraphs_and_tables(tmp_path):
    import docx

    document = docx.Document()
    document.add_paragraph("Interviewer: Tell me about your work.")
    document.add_paragraph("")
    document.add_paragraph("Participant: It is busy.")
    document.add_paragraph("Very busy, in fact.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Interviewer"
    table.rows[0].cells[1].text = "Thanks."
    path = tmp_path / "SF2.docx"
    document.save(path)
    parsed = parse(path)
    assert parsed.source_format == "docx"
    assert unit_texts(parsed) == ["Tell me about your work.", "It is busy.", "Very busy, in fact.", "Thanks."]
    assert [u["role"] for u in parsed.units] == ["interviewer", "respondent", "respondent", "interviewer"]
    assert [u["turn"] for u in parsed.units] == [1, 2, 2, 3]


def test_odt_paragraphs_spaces_and_line_breaks(tmp_path):
    from odf.opendocument import OpenDocumentText
    from odf.text import LineBreak, P, S

    document = OpenDocumentText()
    first = P(text="Interviewer: Hello")
    document.text.addElement(first)
    second = P(text="SF6: Yes,")
    second.addElement(S(c=2))
    second.addText("sure.")
    second.addElement(LineBreak())
    second.addText("More on the next line.")
    document.text.addElement(second)
    path = tmp_path / "SF6.odt"
    document.save(str(path))
    parsed = parse(path)
    assert parsed.source_format == "odt"
    assert unit_texts(parsed) == ["Hello", "Yes,  sure. More on the next line."]
    assert parsed.units[1]["respondent_id"] == "SF6"


def test_rtf_with_unicode_escapes(tmp_path):
    rtf = (r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Calibri;}}" "\n"
           r"\pard {\b [Interviewer]} Okay, we\u8217?re recording.\par" "\n"
           r"\par" "\n"
           r"{\b [SF8]} Caf\'e9 visits, I\u8217?d say.\par" "\n}")
    parsed = parse(write(tmp_path, "SF8.rtf", rtf))
    assert parsed.source_format == "rtf"
    assert unit_texts(parsed) == ["Okay, we’re recording.", "Café visits, I’d say."]
    assert [u["role"] for u in parsed.units] == ["interviewer", "respondent"]


# -- captions -------------------------------------------------------------------

ZOOM_VTT = """WEBVTT

1
00:00:01.205 --> 00:00:04.100
Interviewer: Okay, I think we're recording.

2
00:00:04.300 --> 00:00:06.716
Interviewer: Can you hear me?

3
00:00:06.716 --> 00:00:09.000
SF3: Yeah, I can hear you fine.

4
00:00:09.100 --> 00:00:12.000
Interviewer: Great &amp; thanks.
"""


def test_zoom_vtt_merges_consecutive_cues_of_one_speaker(tmp_path):
    parsed = parse(write(tmp_path, "SF3.vtt", ZOOM_VTT))
    assert parsed.source_format == "vtt"
    assert unit_texts(parsed) == ["Okay, I think we're recording. Can you hear me?",
                                  "Yeah, I can hear you fine.", "Great & thanks."]
    assert [u["timestamp"] for u in parsed.units] == [1.205, 6.716, 9.1]
    assert parsed.text == ("Interviewer: Okay, I think we're recording. Can you hear me?\n\n"
                           "SF3: Yeah, I can hear you fine.\n\nInterviewer: Great & thanks.\n")


def test_teams_vtt_voice_tags_unpadded_and_overlapping_times(tmp_path):
    content = ("WEBVTT\n\nab12/11-0\n0:0:1.351 --> 0:0:7.607\n<v Interviewer>Right, recording now.</v>\n\n"
               "ab12/11-1\n0:0:7.0 --> 0:0:12.125\n<v Interviewer>Tell me about your role?</v>\n\n"
               "cd34/12-0\n0:0:11.5 --> 0:1:2.5\n<v TL1>I lead the team.</v>\n")
    parsed = parse(write(tmp_path, "TL1.vtt", content))
    assert unit_texts(parsed) == ["Right, recording now. Tell me about your role?", "I lead the team."]
    assert [u["role"] for u in parsed.units] == ["interviewer", "respondent"]
    assert [u["timestamp"] for u in parsed.units] == [1.351, 11.5]


def test_srt_with_labels(tmp_path):
    content = ("1\n00:00:01,859 --> 00:00:05,000\nInterviewer: Right, recording.\n\n"
               "2\n00:00:05,100 --> 00:00:09,000\nCan you start?\n\n"
               "3\n00:00:10,858 --> 00:00:15,000\nTL4: Yes. I trained\nas a nurse.\n")
    parsed = parse(write(tmp_path, "TL4.srt", content))
    assert parsed.source_format == "srt"
    assert unit_texts(parsed) == ["Right, recording. Can you start?", "Yes. I trained as a nurse."]
    assert [u["timestamp"] for u in parsed.units] == [1.859, 10.858]


@pytest.mark.parametrize("name, expected_first, cues", [
    ("webvtt-py_sample.vtt", "Caption text #1", 16),
    ("webvtt-py_sample.srt", "Caption text #1", 5),
    ("webvtt-py_captions_with_bom.vtt", "Caption text #1", 4),
    ("webvtt-py_metadata_headers.vtt", "Caption text #1", 2),
    ("webvtt-py_using_identifiers.vtt", "Caption text #1", 6),
])
def test_real_caption_files_without_speakers(shared_fixtures, name, expected_first, cues):
    parsed = parse(shared_fixtures / "transcripts" / name, respondent="R1")
    # no speakers: one monologue turn of the document's respondent
    assert len(parsed.units) == 1
    text = unit_texts(parsed)[0]
    assert text.startswith(expected_first)
    assert text.count("Caption text #") == cues
    assert parsed.units[0]["respondent_id"] == "R1" and parsed.units[0]["timestamp"] == 0.5


def test_real_teams_caption_file(shared_fixtures):
    parsed = parse(shared_fixtures / "transcripts" / "webvtt-py_teams_timeframe.vtt", respondent="R1")
    assert [u["speaker"] for u in parsed.units] == ["Yuri Bakulin", "Adrian Petrescu"]
    assert unit_texts(parsed) == ["There you go.", "Why hello there, Yuri."]
    assert [u["timestamp"] for u in parsed.units] == [0.0, 0.21]


def test_real_youtube_captions_read_without_rolling_duplicates(shared_fixtures):
    parsed = parse(shared_fixtures / "transcripts" / "webvtt-py_youtube_dl.vtt", respondent="R1")
    assert unit_texts(parsed) == ["yeah what this will happen is I'm telling"]
    assert "<" not in parsed.text


def test_malformed_srt_timestamp_names_file_line_and_fix(shared_fixtures):
    with pytest.raises(ImportFailed) as caught:
        parse(shared_fixtures / "transcripts" / "webvtt-py_invalid_timeframe.srt")
    message = str(caught.value)
    assert message.startswith("webvtt-py_invalid_timeframe.srt: line 6 (cue 2)")
    assert "00:00:11.890" in message and "HH:MM:SS,mmm" in message and "\n" not in message


def test_vtt_cue_without_text_names_file_and_cue(shared_fixtures):
    with pytest.raises(ImportFailed) as caught:
        parse(shared_fixtures / "transcripts" / "webvtt-py_missing_caption_text.vtt")
    assert str(caught.value).startswith("webvtt-py_missing_caption_text.vtt: cue 2 (line 6) has a time but no text")


@pytest.mark.parametrize("content, expected", [
    ("WEBVTT\n\n00:00:01.000 --> 00:00:xx.000\nHello\n", "line 3 (cue 1) has a malformed time"),
    ("WEBVTT\n\n00:00:05.000 --> 00:00:01.000\nHello\n", "line 3 (cue 1) ends before it starts"),
    ("WEBVTT\n\n00:00:01.000 -> 00:00:02.000\nHello\n", "line 3 is text outside any cue"),
    ("1\n00:00:01,000 --> 00:00:02,000\nHello\n", "line 1 should start with WEBVTT"),
    ("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nHi\n\n00:01:61.000 --> 00:01:62.000\nHo\n", "impossible time"),
])
def test_broken_vtt(tmp_path, content, expected):
    with pytest.raises(ImportFailed, match=re.escape(expected)):
        parse(write(tmp_path, "X1.vtt", content))


# -- decoding -------------------------------------------------------------------

def test_decoding_bom_utf16_cp1252_crlf_and_nfc(tmp_path):
    text = "Interviewer: Caf\u0065\u0301?\r\n\r\nSF1: Oui \u2013 tr\u00e8s.\r\n"
    utf8_bom = parse(write(tmp_path, "A.txt", codecs.BOM_UTF8 + text.encode("utf-8")), respondent="SF1")
    assert unit_texts(utf8_bom) == ["Café?", "Oui – très."]
    assert unit_texts(utf8_bom)[0] == "Caf\u00e9?"  # NFC: one code point
    assert "\r" not in utf8_bom.text and not utf8_bom.warnings
    utf16 = parse(write(tmp_path, "B.txt", text.encode("utf-16")), respondent="SF1")
    assert unit_texts(utf16) == unit_texts(utf8_bom)
    cp1252 = parse(write(tmp_path, "C.txt", text.encode("cp1252", errors="ignore")), respondent="SF1")
    assert "Oui – très." in unit_texts(cp1252)
    assert any("Windows-1252" in w for w in cp1252.warnings)


# -- bad input --------------------------------------------------------------------

@pytest.mark.parametrize("name, content, expected", [
    ("SF1.txt", b"", "SF1.txt is empty"),
    ("SF1.txt", b"  \n\n \t\n", "SF1.txt is empty"),
    ("SF1.txt", bytes(range(256)) * 20, "SF1.txt is not a text file (it contains binary data)"),
    ("SF1.txt", b"PK\x03\x04" + bytes(200), "give it its real extension (.docx or .odt)"),
    ("SF1.txt", b"Interviewer: ok\n\nSF1: caf\x81\n", "byte 0x81 on line 3 is neither UTF-8 nor Windows-1252"),
    ("SF1.docx", b"Interviewer: this is plain text\n", "SF1.docx is not a Word .docx file (it is not a zip package)"),
    ("SF1.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "old Word 97–2003 file"),
    ("SF1.odt", b"not a zip", "SF1.odt is not a OpenDocument .odt file"),
    ("SF1.rtf", b"Interviewer: hi\n", "SF1.rtf is not an RTF file"),
    ("SF1.pdf", b"%PDF-1.4", "unsupported format '.pdf'"),
    ("SF1.vtt", b"WEBVTT\n\nNOTE nothing here\n", "SF1.vtt has no cues"),
])
def test_bad_input_gives_one_line_error_naming_the_file(tmp_path, name, content, expected):
    with pytest.raises(ImportFailed) as caught:
        parse(write(tmp_path, name, content))
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_zip_that_is_not_a_word_document(tmp_path):
    import zipfile

    path = tmp_path / "SF1.docx"
    with zipfile.ZipFile(path, "w") as package:
        package.writestr("hello.txt", "hi")
    with pytest.raises(ImportFailed, match="is a zip file but not a Word .docx document"):
        parse(path)


def test_error_messages_never_contain_transcript_text(tmp_path):
    secret = "Jane Doe lives at 12 Hidden Lane"
    for name, content in [("A1.vtt", f"WEBVTT\n\n00:00:01.000 --> 00:00:0x.000\n{secret}\n"),
                          ("A2.srt", f"1\n00:00:01.000 --> 00:00:02,000\n{secret}\n"),
                          ("A3.txt", f"{secret}\x81\n".encode("utf-8") + b"\x81")]:
        with pytest.raises(ImportFailed) as caught:
            parse(write(tmp_path, name, content))
        assert "Jane" not in str(caught.value) and "Hidden" not in str(caught.value)


def test_file_above_the_size_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(transcripts.text, "MAX_FILE_BYTES", 1000)
    with pytest.raises(ImportFailed, match=r"SF1.txt is 0 MB, above the 0 MB limit"):
        parse(write(tmp_path, "SF1.txt", "Interviewer: hello\n" * 100))


def test_large_transcript_is_parsed_in_linear_time(tmp_path):
    import time

    turn = "Interviewer: What happened next?\n\nR1: " + "We waited and waited for the referral. " * 20 + "\n\n"
    small = write(tmp_path, "R1.txt", turn * 200)
    big = write(tmp_path, "R2.txt", turn * 4000)  # ~3.6 MB
    started = time.perf_counter()
    parse(small, respondent="R1")
    small_time = time.perf_counter() - started
    started = time.perf_counter()
    parsed = parse(big, respondent="R1")
    big_time = time.perf_counter() - started
    assert len(parsed.units) == 8000
    assert big_time < max(40 * small_time, 0.5) * 2  # 20× the data: no worse than linear (with slack)


# -- respondent ids -------------------------------------------------------------------

def test_respondent_id_rule():
    assert transcripts.respondent_from_name("SF4", "stem") == "SF4"
    assert transcripts.respondent_from_name("2023-05-01_SF4_final", r"(?P<id>[A-Z]{2}\d+)") == "SF4"
    assert transcripts.respondent_from_name("interview-TL2", r"[A-Z]+\d+") == "TL2"
    with pytest.raises(ImportFailed, match="does not match the respondent-id rule"):
        transcripts.respondent_from_name("notes", r"(?P<id>[A-Z]{2}\d+)")


# -- the invariant ---------------------------------------------------------------------

WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzé’'", min_size=1, max_size=9)
PARAGRAPH = st.lists(WORDS, min_size=1, max_size=12).map(" ".join)
SPEAKERS = st.sampled_from(["Interviewer", "I", "SF4", "P", "Speaker 2"])
TURNS = st.lists(st.tuples(SPEAKERS, st.lists(PARAGRAPH, min_size=1, max_size=3)), min_size=1, max_size=8)


def render(turns, layout: str, wrap: bool) -> str:
    out = []
    for speaker, paragraphs in turns:
        first, *rest = paragraphs
        if layout == "colon":
            head = f"{speaker}: {first}"
        elif layout == "bracket":
            head = f"[{speaker}] {first}"
        else:
            head = f"{speaker}  0:{len(out) % 60:02d}\n{first}"
        block = [head, *rest]
        if wrap:
            import textwrap

            block = ["\n".join(textwrap.wrap(b, 30, break_long_words=False, break_on_hyphens=False))
                     if "\n" not in b else b for b in block]
        out.append("\n\n".join(block))
    return "\n\n".join(out) + "\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(turns=TURNS, layout=st.sampled_from(["colon", "bracket", "otter"]), wrap=st.booleans())
def test_units_slice_the_text_exclude_labels_and_cover_every_respondent_word(tmp_path, turns, layout, wrap):
    path = write(tmp_path, "SF4.txt", render(turns, layout, wrap))
    parsed = parse(path)
    assert_well_formed(parsed)
    for unit in parsed.units:
        assert parsed.text[unit["start"]:unit["end"]].split()  # never empty
    # every word, in order, lands in a unit of the right role, and no label does
    spoken = [(speaker, word) for speaker, paragraphs in turns for p in paragraphs for word in p.split()]
    in_units = [(u["speaker"], word) for u in parsed.units for word in parsed.text[u["start"]:u["end"]].split()]
    assert in_units == spoken
    respondent_words = [w for s, w in spoken if s not in ("Interviewer", "I")]
    assert [w for u in parsed.units if u["role"] == "respondent"
            for w in parsed.text[u["start"]:u["end"]].split()] == respondent_words


# -- import_paths: storage, re-import, replace, atomicity ---------------------------------

def test_import_paths_stores_documents_units_and_history(project, tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    write(source, "SF1.txt", "Interviewer: Hello?\n\nSF1: Hi there.\n")
    (source / "sub").mkdir()
    write(source / "sub", "TL2.vtt", ZOOM_VTT.replace("SF3", "TL2"))
    write(source, "README.md", "# notes about the study\n")
    write(source, "respondents.csv", "respondent,role\nSF1,x\n")
    calls = []
    results = transcripts.import_paths(project, [source], progress=lambda done, total, r: calls.append((done, total)))
    assert [(r.file, r.status, r.respondent) for r in results] == [("SF1.txt", "imported", "SF1"),
                                                                   ("TL2.vtt", "imported", "TL2")]
    assert calls == [(1, 2), (2, 2)]
    conn = project.connect()
    document = documents.get_document(conn, "TL2.vtt")
    assert document.source_format == "vtt" and document.respondent_id == "TL2"
    rows = conn.execute("SELECT start, end, role, respondent_id, timestamp FROM units WHERE document_id = ?"
                        " ORDER BY seq", (document.document_id,)).fetchall()
    assert [document.text[r[0]:r[1]] for r in rows] == ["Okay, I think we're recording. Can you hear me?",
                                                         "Yeah, I can hear you fine.", "Great & thanks."]
    assert [r[3] for r in rows] == [None, "TL2", None]
    assert results[1].units == 3 and results[1].words == 17
    assert conn.execute("SELECT COUNT(*) FROM history WHERE action = 'import'").fetchone()[0] == 2


def test_reimport_identical_file_is_a_no_op(project, tmp_path):
    path = write(tmp_path, "SF1.txt", "Interviewer: Hello?\n\nSF1: Hi there.\n")
    first = transcripts.import_paths(project, [path])
    second = transcripts.import_paths(project, [path])
    assert first[0].status == "imported" and second[0].status == "unchanged"
    assert second[0].units == first[0].units and second[0].words == first[0].words
    conn = project.connect()
    assert conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 1
    assert conn.execute("SELECT COUNT(*) FROM history WHERE action = 'import'").fetchone()[0] == 1


def test_changed_file_is_refused_then_replaced(project, tmp_path):
    path = write(tmp_path, "SF1.txt", "Interviewer: Hello?\n\nSF1: Hi there.\n")
    transcripts.import_paths(project, [path])
    write(tmp_path, "SF1.txt", "Interviewer: Hello?\n\nSF1: Hi there, again.\n")
    refused = transcripts.import_paths(project, [path])[0]
    assert refused.status == "failed"
    assert "SF1.txt is already imported with different content; to replace it run `qualcode import --replace" \
        in refused.message
    assert "Hi there." in documents.get_document(project.connect(), "SF1.txt").text
    replaced = transcripts.import_paths(project, [path], replace=True)[0]
    assert replaced.status == "replaced" and "replaced the earlier version" in replaced.message
    document = documents.get_document(project.connect(), "SF1.txt")
    assert "Hi there, again." in document.text
    assert project.connect().execute("SELECT COUNT(*) FROM units").fetchone()[0] == 2


def test_replace_is_refused_when_the_document_has_codings(project, tmp_path):
    path = write(tmp_path, "SF1.txt", "Interviewer: Hello?\n\nSF1: Hi there.\n")
    transcripts.import_paths(project, [path])
    with project.transaction() as conn:
        ids = codebook.store_nodes(conn, [{"key": "a", "label": "A"}])
        document = documents.get_document(conn, "SF1.txt")
        codings.add_codings(conn, [{"coder_id": store.get_or_create_coder(conn, "ann"), "code_id": ids["a"],
                                    "document_id": document.document_id, "start": 20, "end": 25,
                                    "origin": "manual"}])
    write(tmp_path, "SF1.txt", "Interviewer: Hello?\n\nSF1: Changed.\n")
    result = transcripts.import_paths(project, [path], replace=True)[0]
    assert result.status == "failed"
    assert "SF1.txt already has codings, reconciliation decisions or units in a coding sample" in result.message
    assert "so it cannot be replaced; import the new version under another file name" in result.message
    assert documents.get_document(project.connect(), "SF1.txt").text == document.text


def test_same_file_name_from_another_folder_is_refused(project, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write(tmp_path / "a", "SF1.txt", "Interviewer: Hello?\n\nSF1: A.\n")
    write(tmp_path / "b", "SF1.txt", "Interviewer: Hello?\n\nSF1: B.\n")
    in_one_batch = transcripts.import_paths(project, [tmp_path / "a", tmp_path / "b"])
    assert [r.status for r in in_one_batch] == ["imported", "failed"]
    assert "another file with this name" in in_one_batch[1].message
    later = transcripts.import_paths(project, [tmp_path / "b" / "SF1.txt"])[0]
    assert later.status == "failed" and f"from {tmp_path / 'a'}" in later.message


def test_batch_is_atomic_per_file(project, tmp_path):
    write(tmp_path, "SF1.txt", "Interviewer: Hello?\n\nSF1: Fine.\n")
    write(tmp_path, "SF2.txt", b"")
    write(tmp_path, "SF3.srt", "1\n00:00:01.000 --> 00:00:02,000\nSF3: Hi\n")
    write(tmp_path, "SF4.txt", "Interviewer: Hello?\n\nSF4: Good.\n")
    results = transcripts.import_paths(project, [tmp_path])
    assert [(r.file, r.status) for r in results] == [("SF1.txt", "imported"), ("SF2.txt", "failed"),
                                                     ("SF3.srt", "failed"), ("SF4.txt", "imported")]
    conn = project.connect()
    assert sorted(documents.document_ids_by_name(conn)) == ["SF1.txt", "SF4.txt"]
    assert {r[0] for r in conn.execute("SELECT respondent_id FROM respondents")} == {"SF1", "SF4"}


def test_failure_inside_the_transaction_leaves_nothing(project, tmp_path, monkeypatch):
    path = write(tmp_path, "SF1.txt", "Interviewer: Hello?\n\nSF1: Fine.\n")

    def broken_history(conn, action, **detail):
        raise InputError("disk trouble; try again")

    monkeypatch.setattr(store, "record_history", broken_history)
    result = transcripts.import_paths(project, [path])[0]
    assert result.status == "failed" and result.message == "disk trouble; try again"
    conn = project.connect()
    assert conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM respondents").fetchone()[0] == 0


def test_respondent_override_and_project_speaker_map(tmp_path):
    project = Project.create(tmp_path / "p")
    with (project.root / CONFIG_NAME).open("a", encoding="utf-8") as handle:
        handle.write('\n[speaker_map.FG1]\n"Anna" = "SF1"\n"Ben" = "SF2"\n')
    project.close()
    project = Project.find(tmp_path / "p")
    write(tmp_path, "FG1.txt", "Moderator: Hi all.\n\nAnna: Hello.\n\nBen: Hi.\n")
    write(tmp_path, "interview-03.txt", "Interviewer: Hi.\n\nR: Hello.\n")
    results = transcripts.import_paths(project, [tmp_path / "FG1.txt"])
    assert results[0].respondent is None
    override = transcripts.import_paths(project, [tmp_path / "interview-03.txt"], respondent="TL9")[0]
    assert override.respondent == "TL9"
    conn = project.connect()
    assert [r[0] for r in conn.execute("SELECT respondent_id FROM units ORDER BY unit_id")] == [
        None, "SF1", "SF2", None, "TL9"]
    project.close()


def test_speaker_map_csv(project, tmp_path):
    write(tmp_path, "map.csv", "document;speaker;respondent\nFG2.txt;Speaker 1;interviewer\nFG2;Speaker 2;SF5\n")
    write(tmp_path, "FG2.txt", "Speaker 1: Hi.\n\nSpeaker 2: Hello.\n")
    result = transcripts.import_paths(project, [tmp_path / "FG2.txt"], speaker_map=tmp_path / "map.csv")[0]
    assert result.status == "imported" and result.respondent == "SF5"
    rows = project.connect().execute("SELECT role, respondent_id FROM units ORDER BY seq").fetchall()
    assert [tuple(r) for r in rows] == [("interviewer", None), ("respondent", "SF5")]


def test_anonymity_findings_warn_and_strict_refuses(project, tmp_path):
    path = write(tmp_path, "SF3.txt", "Interviewer: Hello?\n\nSF3: Ring me on 01632 960 123 or see Greyford.\n")
    (tmp_path / "strict").mkdir()
    strict_path = write(tmp_path / "strict", "SF4.txt", path.read_text().replace("SF3", "SF4"))
    warned = transcripts.import_paths(project, [path], identifiers=["Greyford"])[0]
    assert warned.status == "imported" and warned.findings >= 2
    assert any(w.startswith("SF3.txt:3:") and "phone number" in w and "960 123" not in w for w in warned.warnings)
    assert any("listed identifier" in w and "Greyford" not in w for w in warned.warnings)
    refused = transcripts.import_paths(project, [strict_path], strict=True)[0]
    assert refused.status == "failed" and "likely identifier(s)" in refused.message
    conn = project.connect()
    assert "SF4.txt" not in documents.document_ids_by_name(conn)
    # the identifiers list is never stored
    dump = "\n".join(conn.iterdump())
    assert dump.count("Greyford") == 1  # only inside the transcript text itself


def test_missing_path_and_unknown_format_hint(project, tmp_path):
    with pytest.raises(InputError, match="no such file or folder"):
        transcripts.import_paths(project, [tmp_path / "nope"])
    with pytest.raises(InputError, match="unknown format 'pdf'"):
        transcripts.import_paths(project, [tmp_path], format_hint="pdf")


def test_format_hint_reads_captions_saved_as_txt(project, tmp_path):
    path = write(tmp_path, "SF3.txt", ZOOM_VTT)
    result = transcripts.import_paths(project, [path], format_hint="vtt")[0]
    assert result.status == "imported" and result.units == 3
    assert documents.get_document(project.connect(), "SF3.txt").source_format == "vtt"


def test_example_study_imports_cleanly(project):
    from qualcode.demo import DEMO_CONFIG_EXTRA

    study = Path(__file__).resolve().parent.parent / "transcripts_example"
    if not (study / "respondents.csv").exists():
        pytest.skip("the example study is not in this checkout")
    with (project.root / CONFIG_NAME).open("a", encoding="utf-8") as handle:
        handle.write(DEMO_CONFIG_EXTRA)  # TL5 uses generic labels, mapped as the demo does
    project.config = Project.find(project.root).config
    results = transcripts.import_paths(project, [study])
    assert len(results) >= 12 and all(r.status == "imported" for r in results)
    conn = project.connect()
    for result in results:
        document = documents.get_document(conn, result.file)
        roles = {r[0] for r in conn.execute("SELECT DISTINCT role FROM units WHERE document_id = ?",
                                            (document.document_id,))}
        if result.file.startswith("SF7"):
            assert roles == {"respondent"}  # the diary
        else:
            assert {"interviewer", "respondent"} <= roles, result.file


CUES = st.lists(st.tuples(st.sampled_from(["Interviewer", "SF3", "Moderator"]), PARAGRAPH), min_size=1, max_size=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cues=CUES, teams=st.booleans(), srt=st.booleans())
def test_caption_turns_merge_cues_and_keep_every_word(tmp_path, cues, teams, srt):
    lines = [] if srt else ["WEBVTT", ""]
    for number, (speaker, text) in enumerate(cues, start=1):
        start, end = (f"00:00:{number:02d}{',' if srt else '.'}000", f"00:00:{number:02d}{',' if srt else '.'}900")
        body = f"<v {speaker}>{text}</v>" if teams and not srt else f"{speaker}: {text}"
        lines += [str(number), f"{start} --> {end}", body, ""]
    path = write(tmp_path, "SF3.srt" if srt else "SF3.vtt", "\n".join(lines))
    parsed = parse(path)
    assert_well_formed(parsed)
    # one turn per run of cues by the same speaker, starting at the run's first cue
    runs = [(s, n) for n, (s, _) in enumerate(cues, start=1) if n == 1 or cues[n - 2][0] != s]
    assert [(u["speaker"], u["timestamp"]) for u in parsed.units] == [(s, float(n)) for s, n in runs]
    assert [w for u in parsed.units for w in parsed.text[u["start"]:u["end"]].split()] == \
        [w for _, text in cues for w in text.split()]
    assert [u["role"] == "respondent" for u in parsed.units] == [s == "SF3" for s, _ in runs]


def test_clock_times_in_a_diary_stay_in_the_text(tmp_path):
    path = write(tmp_path, "SF7.txt", "Monday\n\n10:30 went to see a client.\n\n14:00\nTeam meeting, long.\n")
    parsed = parse(path)
    assert unit_texts(parsed) == ["Monday", "10:30 went to see a client.", "14:00 Team meeting, long."]
    assert all(u["timestamp"] is None for u in parsed.units)


def test_numbered_interviewer_labels(tmp_path):
    path = write(tmp_path, "TL3.txt", "Interviewer 1: Hello.\n\nInterviewer 2: And hi.\n\nQ3: First question?\n\n"
                                      "TL3: Answer.\n")
    parsed = parse(path)
    assert [(u["speaker"], u["role"]) for u in parsed.units] == [
        ("Interviewer 1", "interviewer"), ("Interviewer 2", "interviewer"), ("Q3", "interviewer"),
        ("TL3", "respondent")]


def test_replace_is_refused_when_the_document_is_in_a_coding_sample(project, tmp_path):
    path = write(tmp_path, "SF1.txt", "Interviewer: Hello?\n\nSF1: Hi there.\n")
    transcripts.import_paths(project, [path])
    with project.transaction() as conn:
        coder = store.get_or_create_coder(conn, "bea")
        unit_id = conn.execute("SELECT unit_id FROM units WHERE role = 'respondent'").fetchone()[0]
        conn.execute("INSERT INTO assignments (coder_id, unit_id) VALUES (?, ?)", (coder, unit_id))
    write(tmp_path, "SF1.txt", "Interviewer: Hello?\n\nSF1: Changed.\n")
    result = transcripts.import_paths(project, [path], replace=True)[0]
    assert result.status == "failed" and "units in a coding sample" in result.message
    assert project.connect().execute("SELECT COUNT(*) FROM assignments").fetchone()[0] == 1


@pytest.mark.parametrize("name, respondent_units, first_respondent_text", [
    ("SF1.txt", 3, "About six years now. Before that I did housing support."),
    ("SF3.vtt", 1, "Yeah, I can hear you fine. My camera is off."),
    ("TL4.srt", 1, "I trained as a nurse. Then I moved to the voluntary sector."),
])
def test_tiny_fixture_transcripts(name, respondent_units, first_respondent_text):
    parsed = parse(FIXTURES / name)
    respondent = unit_texts(parsed, "respondent")
    assert len(respondent) == respondent_units and respondent[0] == first_respondent_text
    assert unit_texts(parsed, "interviewer")  # every fixture has interviewer turns
    assert_well_formed(parsed)


TRICKY_RTF = (r"{\rtf1\ansi\ansicpg1252{\fonttbl{\f0\fswiss\fcharset0 Arial;}{\f1\fcharset204 Times;}}"
              r"{\colortbl;\red0\green0\blue0;}{\*\generator Msftedit;}\uc1\pard Caf\'e9 \u8217?ok\u8220\'93"
              r" x\uc0\u8212 y \f1\'cf\'f0\f0 {\field{\*\fldinst{HYPERLINK ""http://x.org""}}{\fldrslt{link}}}"
              r" end\line next\tab t\par\pard\intbl a\cell b\cell\row {\pict\pngblip 89504e47}\~nb\-sp\_h\\ \{ \}"
              r" \uc2\u12354\'82\'a0abc}trailing")


def test_rtf_reader_matches_striprtf():
    from striprtf.striprtf import rtf_to_text as reference

    samples = [TRICKY_RTF]
    example = Path(__file__).resolve().parent.parent / "transcripts_example" / "SF8.rtf"
    if example.exists():
        samples.append(example.read_text(encoding="cp1252"))
    for sample in samples:
        assert transcripts.rtf_to_text(sample) == reference(sample, encoding="cp1252", errors="replace")
    assert "Café ’ok“ x—y Пр" in transcripts.rtf_to_text(TRICKY_RTF)


def test_srt_with_missing_blank_lines_between_cues(tmp_path):
    content = ("1\n00:00:01,000 --> 00:00:02,000\nInterviewer: Hello there.\n"
               "2\n00:00:02,500 --> 00:00:04,000\nTL4: We counted 2\nthings.\n")
    parsed = parse(write(tmp_path, "TL4.srt", content))
    assert unit_texts(parsed) == ["Hello there.", "We counted 2 things."]


def test_long_runs_of_spaces_do_not_slow_parsing(tmp_path):
    import time

    path = write(tmp_path, "SF1.txt", "Interviewer: Hi.\n\nSF1: a" + " " * 200_000 + "b [00:01:02] c\n")
    started = time.perf_counter()
    parsed = parse(path)
    assert time.perf_counter() - started < 5
    assert unit_texts(parsed, "respondent")[0].endswith("b c")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.lists(st.sampled_from(list("ab IQ:[]()0123456789\n\n\t-*<>v.,") + ["-->", "SF4", "WEBVTT\n"]),
                    max_size=120).map("".join),
       suffix=st.sampled_from([".txt", ".vtt", ".srt", ".md"]))
def test_any_text_either_imports_well_formed_or_fails_with_one_line(tmp_path, text, suffix):
    path = write(tmp_path, "SF4" + suffix, text)
    try:
        parsed = parse(path)
    except ImportFailed as exc:
        assert "\n" not in str(exc) and str(exc).startswith("SF4")
        return
    assert_well_formed(parsed)
    assert parsed.units and parsed.text.endswith("\n")


# -- re-reading an identical file under new settings, counts, interrupts, listing ----------

GENERIC_LABELS = "Speaker 1: Is that okay?\n\nSpeaker 2: Yeah, fine.\n\nSpeaker 1: Good.\n\nSpeaker 2: Right.\n"
TL5_MAP = '\n[speaker_map.TL5]\n"Speaker 1" = "interviewer"\n"Speaker 2" = "TL5"\n'


def add_config(project: Project, extra: str) -> None:
    with (project.root / CONFIG_NAME).open("a", encoding="utf-8") as handle:
        handle.write(extra)
    project.config = Project.find(project.root).config


def stored_units(project, name: str) -> list[tuple]:
    return [tuple(r) for r in project.connect().execute(
        "SELECT u.speaker, u.role, u.respondent_id FROM units u JOIN documents d USING (document_id)"
        " WHERE d.name = ? ORDER BY u.seq", (name,))]


def test_speaker_map_added_after_import_is_applied_by_replace(project, tmp_path):
    path = write(tmp_path, "TL5.txt", GENERIC_LABELS)
    first = transcripts.import_paths(project, [path])[0]
    assert first.status == "imported" and any("[speaker_map.TL5]" in w for w in first.warnings)
    assert {role for _, role, _ in stored_units(project, "TL5.txt")} == {"respondent"}
    add_config(project, TL5_MAP)
    hinted = transcripts.import_paths(project, [path])[0]
    assert hinted.status == "unchanged" and f"`qualcode import --replace {path}`" in hinted.message
    assert {role for _, role, _ in stored_units(project, "TL5.txt")} == {"respondent"}
    replaced = transcripts.import_paths(project, [path], replace=True)[0]
    assert replaced.status == "replaced" and replaced.message == "re-read with the current settings"
    assert stored_units(project, "TL5.txt") == [("Speaker 1", "interviewer", None), ("Speaker 2", "respondent", "TL5"),
                                                ("Speaker 1", "interviewer", None), ("Speaker 2", "respondent", "TL5")]
    assert (replaced.units, replaced.respondent_units) == (4, 2)
    again = transcripts.import_paths(project, [path], replace=True)[0]
    assert again.status == "unchanged" and again.message == "already imported (same content)"
    history = [r[0] for r in project.connect().execute("SELECT detail FROM history WHERE action = 'import'")]
    assert len(history) == 2 and '"reason": "settings"' in history[1]


def test_speaker_map_csv_applies_to_an_identical_file_with_replace(project, tmp_path):
    path = write(tmp_path, "TL5.txt", GENERIC_LABELS)
    transcripts.import_paths(project, [path])
    result = transcripts.import_paths(project, [path], replace=True,
                                      speaker_map={"TL5": {"Speaker 1": "interviewer", "Speaker 2": "TL5"}})[0]
    assert result.status == "replaced"
    assert [role for _, role, _ in stored_units(project, "TL5.txt")] == ["interviewer", "respondent"] * 2


def test_reparse_of_an_identical_coded_file_is_refused_and_says_how_to_attribute(project, tmp_path):
    path = write(tmp_path, "TL5.txt", GENERIC_LABELS)
    transcripts.import_paths(project, [path])
    with project.transaction() as conn:
        ids = codebook.store_nodes(conn, [{"key": "a", "label": "A"}])
        document = documents.get_document(conn, "TL5.txt")
        codings.add_codings(conn, [{"coder_id": store.get_or_create_coder(conn, "ann"), "code_id": ids["a"],
                                    "document_id": document.document_id, "start": 12, "end": 16,
                                    "origin": "manual"}])
    add_config(project, TL5_MAP)
    before = stored_units(project, "TL5.txt")
    result = transcripts.import_paths(project, [path], replace=True)[0]
    assert result.status == "failed"
    assert "TL5.txt already has codings, reconciliation decisions or units in a coding sample" in result.message
    assert "cannot be re-read with the current settings" in result.message
    assert "`qualcode respondents assign TL5.txt RESPONDENT --speaker LABEL`" in result.message
    assert stored_units(project, "TL5.txt") == before


def test_unmapped_speaker_names_are_masked_in_the_warning(tmp_path):
    path = write(tmp_path, "SF3.vtt", (
        "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Yuri Bakulin>There you go.</v>\n\n"
        "00:00:02.000 --> 00:00:03.000\n<v Adrian Petrescu>Why hello there.</v>\n\n"
        "00:00:03.000 --> 00:00:04.000\n<v Speaker 3>Hi.</v>\n"))
    warnings = parse(path).warnings
    assert len(warnings) == 1
    warning = warnings[0]
    assert "Yuri" not in warning and "Bakulin" not in warning and "Adrian" not in warning
    assert "3 speakers (A••••• P•••••••, Speaker 3, Y••• B••••••)" in warning
    assert "[speaker_map.SF3] table in qualcode.toml" in warning and "--replace" in warning


def test_teams_fixture_warning_shows_no_speaker_name(shared_fixtures):
    path = shared_fixtures / "transcripts" / "webvtt-py_teams_timeframe.vtt"
    parsed = parse(path, respondent="TM1")
    names = {u["speaker"] for u in parsed.units}
    assert len(names) >= 2
    warning = next(w for w in parsed.warnings if "speaker_map" in w)
    for label in names:
        for word in label.split():
            assert word not in warning
    assert f"{len(names)} speakers" in warning
    assert "[speaker_map.webvtt-py_teams_timeframe]" in warning


def test_mask_label_keeps_generic_labels_and_the_respondent_id():
    assert transcripts.mask_label("Speaker 2") == "Speaker 2"
    assert transcripts.mask_label("Interviewer 1") == "Interviewer 1"
    assert transcripts.mask_label("SF4", "SF4") == "SF4"
    assert transcripts.mask_label("Yuri Bakulin") == "Y••• B••••••"


def test_counts_separate_all_speech_from_respondent_speech(project):
    result = transcripts.import_paths(project, [FIXTURES / "SF1.txt"])[0]
    text = (FIXTURES / "SF1.txt").read_text(encoding="utf-8")
    interviewer = "How long have you been in the role? And your caseload?"
    assert result.words == transcripts.count_words(text.replace("Interviewer:", "").replace("SF1:", ""))
    assert result.respondent_words == result.words - transcripts.count_words(interviewer)
    assert (result.units, result.respondent_units) == (5, 3)
    from qualcode.respondents import list_respondents

    listed = list_respondents(project.connect()).set_index("respondent")
    assert listed.loc["SF1", "words"] == result.respondent_words
    frame = transcripts.results_frame([result])
    assert list(frame.columns) == ["file", "document", "respondent", "units", "respondent_units", "words",
                                   "respondent_words", "status", "message"]


def test_ctrl_c_keeps_finished_files_and_rolls_back_the_current_one(project, tmp_path, monkeypatch):
    folder = batch_interrupted_at(tmp_path / "batch", monkeypatch,
                                  [FIXTURES / name for name in ("SF1.txt", "SF3.vtt", "TL4.srt")], "SF3.vtt")
    with pytest.raises(transcripts.ImportInterrupted) as caught:
        transcripts.import_paths(project, [folder])
    assert isinstance(caught.value, KeyboardInterrupt)
    assert [r.file for r in caught.value.results] == ["SF1.txt"] and caught.value.current == "SF3.vtt"
    assert sorted(documents.document_ids_by_name(project.connect())) == ["SF1.txt"]
    assert project.connect().execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_list_documents(project, tmp_path):
    transcripts.import_paths(project, [FIXTURES])
    group = write(tmp_path, "FG1.txt", "Moderator: Hello.\n\nAnna: Hi.\n\nBen: Hello.\n\nAnna: Again.\n")
    transcripts.import_paths(project, [group], speaker_map={"FG1": {"Anna": "SF1"}})
    table = transcripts.list_documents(project.connect())
    assert list(table["document"]) == ["FG1.txt", "SF1.txt", "SF3.vtt", "TL4.srt"]
    sf1 = table.set_index("document").loc["SF1.txt"]
    assert (sf1["format"], sf1["respondent"], sf1["respondent_units"], sf1["interviewer_units"]) == ("txt", "SF1", 3, 2)
    stored = documents.get_document(project.connect(), "SF1.txt")
    assert sf1["sha256"] == stored.sha256[:12] and len(sf1["sha256"]) == 12
    assert sf1["words"] > sf1["respondent_words"] > 0
    assert table.attrs["unattributed"] == []


def test_speaker_map_csv_saved_by_excel_on_windows(tmp_path):
    path = tmp_path / "speakers.csv"
    path.write_bytes("sep=;\r\ndocument;speaker;respondent\r\nGruppe-1;Jürgen;SF1\r\n\r\nGruppe-1;Renée;SF2\r\n"
                     .encode("cp1252"))
    assert transcripts.load_speaker_map_csv(path) == {"Gruppe-1": {"Jürgen": "SF1", "Renée": "SF2"}}
    path.write_bytes(b"sep=;\r\ndocument;speaker;respondent\r\nGruppe-1;;SF1\r\n")
    with pytest.raises(InputError, match=r"^speakers\.csv: row 3 has an empty document, speaker or respondent"):
        transcripts.load_speaker_map_csv(path)
