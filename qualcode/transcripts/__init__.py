"""Transcript import: files in many formats → normalised text + speaker-turn units.

Pipeline for one file::

    bytes ──decode──▶ str (NFC, \\n) ──reader──▶ plain text or caption cues
          ──layout──▶ turns (speaker label, timestamp, paragraphs)
          ──build───▶ stored text + units (start, end, speaker, role, respondent, timestamp)

Readers are registered in ``readers.READERS`` (one module and one line per
format). Text-like readers (txt, md, docx, odt, rtf) return plain text whose
speaker layout is recognised by ``parse_turns``; caption readers (vtt, srt)
return cues, merged into turns by speaker.

The stored text is a tidy rendering of the transcript: every turn is
``Label: words`` (``[Label] words`` for bracket layouts), paragraphs are
separated by a blank line, hard-wrapped lines are joined, and timestamps are
removed (the first one of each unit is kept on the unit). A unit's span covers
only the spoken words of one paragraph: never the label, never surrounding
whitespace.

Nothing here prints; ``import_paths`` returns one ``FileResult`` per file.
"""

from __future__ import annotations

from qualcode.transcripts.text import (  # noqa: F401
    MAX_FILE_BYTES,
    binary_error,
    decode_text,
    normalise_text,
    read_bytes,
)
from qualcode.transcripts.containers import (  # noqa: F401
    open_zip,
    parse_xml,
)
from qualcode.transcripts.txt import (  # noqa: F401
    read_txt,
)
from qualcode.transcripts.docx import (  # noqa: F401
    WORD_NS,
    docx_paragraph,
    read_docx,
)
from qualcode.transcripts.odt import (  # noqa: F401
    OFFICE_NS,
    odt_blocks,
    read_odt,
)
from qualcode.transcripts.rtf import (  # noqa: F401
    rtf_to_text,
    read_rtf,
)
from qualcode.transcripts.captions import (  # noqa: F401
    Cue,
    INLINE_TIME_TAG,
    VOICE,
    TAG,
    ENTITIES,
    ENTITY,
    read_captions,
    read_vtt,
    read_srt,
)
from qualcode.transcripts.readers import (  # noqa: F401
    TEXT_SUFFIXES,
    CAPTION_SUFFIXES,
    READERS,
    SUPPORTED_SUFFIXES,
)
from qualcode.transcripts.speakers import (  # noqa: F401
    GENERIC_RESPONDENT_LABELS,
    GENERIC_SPEAKER,
    Turn,
    COLON_LABEL,
    count_words,
    parse_timestamp,
    Speakers,
    label_ok,
    parse_turns,
    clean_cue_line,
    cue_turns,
    build_document,
    is_generic_label,
    mask_label,
)
from qualcode.transcripts.parse import (  # noqa: F401
    ParsedTranscript,
    parse_file,
)
from qualcode.transcripts.import_ import (  # noqa: F401
    FileResult,
    respondent_from_name,
    load_speaker_map_csv,
    FOLDER_SKIP_STEMS,
    collect_files,
    KIND_NAMES,
    anonymity_warnings,
    delete_document,
    CODED_REFUSAL,
    import_file,
    ImportInterrupted,
    import_paths,
    RESULT_COLUMNS,
    results_frame,
    list_documents,
)
