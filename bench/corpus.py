"""Synthetic interview corpus for benchmarks.

``generate_corpus(out_dir, files=1000, chars=10_000_000, seed=0)`` writes
``files`` transcripts whose spoken text adds up to about ``chars``
characters, in mixed formats (txt, docx, vtt, srt, odt, rtf, in turn), with
interviewer and respondent turns of English-like text drawn from a fixed
vocabulary. The text is a function of the seed alone, so two runs with the
same arguments produce the same transcripts (container files such as .docx
may differ in zip timestamps, never in text).

Run as a script to write a corpus to a folder:

    python bench/corpus.py /tmp/corpus --files 100 --chars 1000000 --seed 1
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

FORMATS = ("txt", "docx", "vtt", "srt", "odt", "rtf")

# Words of everyday interview talk about work, care and services; function
# words are repeated so that their frequency resembles speech.
FUNCTION_WORDS = (
    "the the the and and and to to of of a a a in in that that it it is is was was i i i you you "
    "we we they they but so so just really like like know know think think there there with for on "
    "at be have had not what when if my my our their them this then because about quite very"
).split()
CONTENT_WORDS = (
    "caseload support worker team leader client clients service services housing benefits referral waiting "
    "list supervision training colleague colleagues manager paperwork forms notes system systems record "
    "recording visit visits appointment appointments doctor nurse crisis ward hospital family families carer "
    "carers time week weeks month months year years day days morning evening phone call calls email meeting "
    "meetings plan plans risk assessment letter council office car travel mileage rota shift shifts cover "
    "sickness stress pressure workload boundaries trust relationship continuity listen listening talk talking "
    "help helping change changes better worse difficult hard easy good bad busy quiet new old different same "
    "really honestly basically actually sometimes always never often usually probably maybe perhaps properly "
    "feel felt think thought said told asked wanted needed tried managed started stopped waited chased rang "
    "wrote sent got went came took gave made kept lost found moved worked helped listened learned remember "
    "programme project funding budget cuts post posts vacancy vacancies agency staff handover caseworker "
    "psychiatrist pharmacy medication prescription benefits tribunal landlord rent arrears tenancy eviction "
    "food bank voucher college course volunteer confidence independence routine progress setback goal goals"
).split()
QUESTIONS = (
    "Could you tell me a bit more about that?", "How did that feel?", "What happened next?",
    "Can you give me an example?", "How does that compare with before?", "What would help with that?",
    "How long have you been in the role?", "What does a typical week look like?", "Who else was involved?",
    "How do you manage that with your caseload?", "What support do you get?", "Why do you think that is?",
)
FILLERS = ("um", "you know", "I mean", "sort of", "like", "erm")


def _sentence(rng: random.Random) -> str:
    length = rng.randint(5, 22)
    words = [rng.choice(FUNCTION_WORDS) if rng.random() < 0.45 else rng.choice(CONTENT_WORDS) for _ in range(length)]
    if rng.random() < 0.15:
        words.insert(rng.randint(1, len(words) - 1), rng.choice(FILLERS) + ",")
    text = " ".join(words)
    text = text[0].upper() + text[1:]
    return text.replace(" i ", " I ") + rng.choice(".....?!")


def _paragraph(rng: random.Random, sentences: tuple[int, int]) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(*sentences)))


def transcript_turns(rng: random.Random, respondent: str, target_chars: int) -> list[tuple[str, list[str]]]:
    """(speaker, paragraphs) turns alternating interviewer and respondent, about ``target_chars`` long."""
    turns: list[tuple[str, list[str]]] = []
    size = 0
    while size < target_chars:
        question = rng.choice(QUESTIONS)
        turns.append(("Interviewer", [question]))
        paragraphs = [_paragraph(rng, (2, 7)) for _ in range(1 if rng.random() < 0.75 else 2)]
        turns.append((respondent, paragraphs))
        size += len(question) + sum(len(p) for p in paragraphs) + len(respondent) + 20
    return turns


def _write_txt(path: Path, turns) -> None:
    blocks = []
    for speaker, paragraphs in turns:
        blocks.append(f"{speaker}: " + "\n\n".join(paragraphs))
    path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")


def _write_docx(path: Path, turns) -> None:
    import docx

    document = docx.Document()
    for speaker, paragraphs in turns:
        document.add_paragraph(f"{speaker}: {paragraphs[0]}")
        for paragraph in paragraphs[1:]:
            document.add_paragraph(paragraph)
    document.save(path)


def _write_odt(path: Path, turns) -> None:
    from odf.opendocument import OpenDocumentText
    from odf.text import P

    document = OpenDocumentText()
    for speaker, paragraphs in turns:
        document.text.addElement(P(text=f"{speaker}: {paragraphs[0]}"))
        for paragraph in paragraphs[1:]:
            document.text.addElement(P(text=paragraph))
    document.save(str(path))


def _rtf_escape(text: str) -> str:
    out = []
    for ch in text:
        if ch in "\\{}":
            out.append("\\" + ch)
        elif ord(ch) > 127:
            out.append(f"\\u{ord(ch) if ord(ch) < 32768 else ord(ch) - 65536}?")
        else:
            out.append(ch)
    return "".join(out)


def _write_rtf(path: Path, turns) -> None:
    lines = [r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Calibri;}}\pard\f0\fs22"]
    for speaker, paragraphs in turns:
        lines.append(r"{\b " + _rtf_escape(speaker) + r":} " + _rtf_escape(paragraphs[0]) + r"\par\par")
        for paragraph in paragraphs[1:]:
            lines.append(_rtf_escape(paragraph) + r"\par\par")
    lines.append("}")
    path.write_text("\n".join(lines), encoding="ascii")


def _cues(rng: random.Random, turns):
    """(start, end, speaker, text) cues of one or two sentences each."""
    clock = rng.uniform(0.5, 3.0)
    for speaker, paragraphs in turns:
        for paragraph in paragraphs:
            sentences = paragraph.replace("? ", "?\n").replace(". ", ".\n").replace("! ", "!\n").split("\n")
            for index in range(0, len(sentences), 2):
                text = " ".join(sentences[index:index + 2])
                duration = len(text) / 15
                yield clock, clock + duration, speaker, text
                clock += duration + rng.uniform(0.05, 0.6)


def _time(seconds: float, separator: str) -> str:
    millis = int(round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _write_vtt(path: Path, turns, rng: random.Random, teams: bool) -> None:
    lines = ["WEBVTT", ""]
    for number, (start, end, speaker, text) in enumerate(_cues(rng, turns), start=1):
        lines.append(str(number))
        lines.append(f"{_time(start, '.')} --> {_time(end, '.')}")
        lines.append(f"<v {speaker}>{text}</v>" if teams else f"{speaker}: {text}")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def _write_srt(path: Path, turns, rng: random.Random) -> None:
    lines = []
    for number, (start, end, speaker, text) in enumerate(_cues(rng, turns), start=1):
        lines += [str(number), f"{_time(start, ',')} --> {_time(end, ',')}", f"{speaker}: {text}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def generate_corpus(
    out_dir: Path | str,
    *,
    files: int = 1000,
    chars: int = 10_000_000,
    seed: int = 0,
    formats: tuple[str, ...] = FORMATS,
) -> list[Path]:
    """Write ``files`` transcripts (about ``chars`` characters of speech in all) to ``out_dir``.

    File i is named ``R{i:04d}.<format>`` with formats taken in turn from
    ``formats``; every other .vtt uses Teams voice tags instead of Zoom labels.
    Returns the paths written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    per_file = max(200, chars // max(1, files))
    paths = []
    for index in range(1, files + 1):
        fmt = formats[(index - 1) % len(formats)]
        respondent = f"R{index:04d}"
        # vary the length around the mean (interviews are not all the same length)
        turns = transcript_turns(rng, respondent, int(per_file * rng.uniform(0.6, 1.4)))
        path = out_dir / f"{respondent}.{fmt}"
        if fmt == "txt":
            _write_txt(path, turns)
        elif fmt == "docx":
            _write_docx(path, turns)
        elif fmt == "odt":
            _write_odt(path, turns)
        elif fmt == "rtf":
            _write_rtf(path, turns)
        elif fmt == "vtt":
            # every other .vtt file is a Teams export (voice tags), the rest Zoom-style
            _write_vtt(path, turns, rng, teams=(index - 1) // len(formats) % 2 == 1)
        elif fmt == "srt":
            _write_srt(path, turns, rng)
        else:
            raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description="Write a synthetic interview corpus in mixed formats.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--chars", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma-separated, e.g. txt,docx")
    args = parser.parse_args()
    paths = generate_corpus(args.out_dir, files=args.files, chars=args.chars, seed=args.seed,
                            formats=tuple(args.formats.split(",")))
    print(f"wrote {len(paths)} transcripts to {args.out_dir}")


if __name__ == "__main__":
    main()
