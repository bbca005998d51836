"""The zip and XML layer shared by the .docx and .odt readers: size caps, safe parsing (defusedxml).
"""

from __future__ import annotations


from qualcode.errors import ImportFailed

def open_zip(data: bytes, name: str, member: str, kind: str, save_as: str) -> bytes:
    import io
    import zipfile

    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFailed(f"{name} is an old Word 97–2003 file, not {kind}; open it and save it as {save_as}")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            return package.read(member)
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
