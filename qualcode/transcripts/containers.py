"""The zip and XML layer shared by the .docx and .odt readers: size caps, safe parsing (defusedxml).
"""

from __future__ import annotations

from qualcode.errors import ImportFailed
from qualcode.safezip import check_entries

# A transcript's package may hold pictures; the part that is read (its text as XML) is capped on its own:
# 200 MB of XML is some 20 million words, far beyond any interview.
MAX_ENTRIES = 20_000
MAX_PACKAGE_BYTES = 2 * 1024**3
MAX_PART_BYTES = 200 * 1024**2


def open_zip(data: bytes, name: str, member: str, kind: str, save_as: str) -> bytes:
    import io
    import zipfile
    import zlib

    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFailed(f"{name} is an old Word 97–2003 file, not {kind}; open it and save it as {save_as}")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            check_entries(package, name, ImportFailed, max_entries=MAX_ENTRIES, max_total=MAX_PACKAGE_BYTES)
            info = package.getinfo(member)
            if info.file_size > MAX_PART_BYTES:
                raise ImportFailed(f"{name}: its {member} would decompress to {info.file_size / 1024**2:.0f} MB"
                                   f" (limit {MAX_PART_BYTES // 1024**2} MB); refusing to read it")
            try:
                return package.read(info)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
                raise ImportFailed(f"{name}: its {member} cannot be read ({type(exc).__name__}: the package is"
                                   f" damaged or encrypted); open it in a word processor and save it as"
                                   f" {save_as}") from None
    except zipfile.BadZipFile:
        raise ImportFailed(
            f"{name} is not a {kind} file (it is not a zip package); open it in a word processor and save it as"
            f" {save_as}, or give it its real extension") from None
    except KeyError:
        raise ImportFailed(f"{name} is a zip file but not a {kind} document (no {member}); save it as {save_as}") from None


def parse_xml(xml: bytes, name: str, kind: str):
    from defusedxml import ElementTree

    try:
        return ElementTree.fromstring(xml)
    except Exception as exc:  # ParseError or a defusedxml refusal (entity expansion)
        raise ImportFailed(f"{name}: the {kind} content is damaged ({type(exc).__name__}); open and re-save the file") from None
