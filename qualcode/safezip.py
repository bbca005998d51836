"""Limits every zip reader shares (.qdpx, .docx, .odt, .xlsx): zip bombs are refused before a byte is inflated.

A zip entry declares its uncompressed size, and Python's ``zipfile`` never
returns more than that from an entry (what inflates beyond it is cut off and
fails the CRC check). So summing the declared sizes bounds what reading the
archive can cost, and ``check_entries`` refuses an archive whose entries are
too many or declare too much, or, where names become paths, hold an absolute
path or a ``..`` part (zip slip).
"""

from __future__ import annotations

import re
import zipfile

from qualcode.errors import InputError


def is_unsafe_name(name: str) -> bool:
    """An entry name that would leave the folder it is extracted into: absolute, a drive, or a ``..`` part."""
    parts = re.split(r"[\\/]", name)
    return name.startswith(("/", "\\")) or bool(re.match(r"^[A-Za-z]:", name)) or ".." in parts


def check_entries(archive: zipfile.ZipFile, label: str, error: type[InputError], *, max_entries: int,
                  max_total: int, paths: bool = False) -> list[zipfile.ZipInfo]:
    """The archive's entries, or ``error`` when there are more than ``max_entries``, when together they
    declare more than ``max_total`` bytes, or (``paths``) when a name is unsafe as a path."""
    infos = archive.infolist()
    if len(infos) > max_entries:
        raise error(f"{label} holds {len(infos)} entries (limit {max_entries}); refusing to read it")
    declared = 0
    for info in infos:
        if paths and is_unsafe_name(info.filename):
            raise error(f"{label} contains an entry with an absolute path or '..' ({info.filename[:80]});"
                        " refusing to read it")
        declared += info.file_size
    if declared > max_total:
        raise error(f"{label} would decompress to {declared / 1024**2:.0f} MB (limit {max_total // 1024**2} MB);"
                    " refusing to read it")
    return infos
