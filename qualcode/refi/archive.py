"""Reading a .qdpx zip safely: in memory, entry count and decompressed size
capped while the bytes are read, absolute paths and ``..`` entries refused.
"""

from __future__ import annotations

from pathlib import Path

from qualcode.errors import InputError, RefiError
from qualcode.safezip import check_entries


# Limits on what a .qdpx may make us read (zip bombs). Real projects are far
# below these: the NVivo test project is 1.4 MB with five entries.
MAX_ZIP_ENTRIES = 20_000
MAX_TOTAL_BYTES = 2 * 1024**3
MAX_MEMBER_BYTES = 512 * 1024**2
READ_CHUNK = 1024 * 1024


# -- reading the zip safely --------------------------------------------------------------------

class Archive:
    """A .qdpx zip, read in memory only, with caps on entries and decompressed bytes."""

    def __init__(self, path: Path):
        import zipfile

        self.path = path
        self.label = path.name
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise InputError(f"{path} does not exist; check the path") from None
            raise RefiError(f"{self.label} is not a REFI-QDA project (a .qdpx file is a zip archive): {exc}") from None
        try:
            infos = check_entries(self.zip, self.label, RefiError, max_entries=MAX_ZIP_ENTRIES,
                                  max_total=MAX_TOTAL_BYTES, paths=True)
        except RefiError:
            self.zip.close()
            raise
        self.members: dict[str, object] = {}
        for info in infos:
            if not info.is_dir():
                self.members[info.filename.replace("\\", "/").lower()] = info
        self.bytes_read = 0

    def close(self) -> None:
        self.zip.close()

    def find(self, name: str):
        return self.members.get(name.replace("\\", "/").lower())

    def read(self, info) -> bytes:
        """A member's bytes, counted while reading: more than declared or than the caps is refused."""
        import zipfile
        import zlib

        limit = min(info.file_size, MAX_MEMBER_BYTES)
        if info.file_size > MAX_MEMBER_BYTES:
            raise RefiError(f"{self.label}: {info.filename} is larger than {MAX_MEMBER_BYTES // 1024**2} MB;"
                            " refusing to read it")
        chunks, size = [], 0
        try:
            with self.zip.open(info) as handle:
                while True:
                    chunk = handle.read(READ_CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                    self.bytes_read += len(chunk)
                    if size > limit or self.bytes_read > MAX_TOTAL_BYTES:
                        raise RefiError(
                            f"{self.label}: {info.filename} decompresses to more than it declares; refusing to read it"
                        )
                    chunks.append(chunk)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
            raise RefiError(f"{self.label}: cannot read {info.filename} ({exc}); the file is damaged") from None
        except zipfile.LargeZipFile as exc:  # pragma: no cover - needs a zip64 archive
            raise RefiError(f"{self.label}: cannot read {info.filename} ({exc})") from None
        return b"".join(chunks)

    def project_entry(self):
        """The single ``*.qde`` (any case); ``project.qde`` wins when there are several."""
        qdes = [info for name, info in self.members.items() if name.endswith(".qde")]
        if not qdes:
            raise RefiError(f"{self.label} holds no project.qde; it is not a REFI-QDA project")
        if len(qdes) > 1:
            preferred = [info for info in qdes if info.filename.replace("\\", "/").lower() == "project.qde"]
            if len(preferred) != 1:
                names = ", ".join(sorted(info.filename for info in qdes))
                raise RefiError(f"{self.label} holds several .qde files ({names}); keep one and try again")
            return preferred[0]
        return qdes[0]

    def source_entry(self, path: str | None):
        """The zip entry a ``plainTextPath`` names, or None when it is not in the archive.

        Accepts ``internal://x.txt``, a bare ``x.txt`` and, as a last resort, the
        file name of a ``relative:///`` or absolute path looked up in Sources/.
        """
        if not path:
            return None
        path = path.strip().replace("\\", "/")
        scheme, sep, rest = path.partition("://")
        candidates = []
        if sep and scheme.lower() == "internal":
            candidates += [f"sources/{rest.lstrip('/')}", rest.lstrip("/")]
        elif sep:
            candidates.append(f"sources/{rest.rsplit('/', 1)[-1]}")
        else:
            candidates += [f"sources/{path.lstrip('/')}", path.lstrip("/"), f"sources/{path.rsplit('/', 1)[-1]}"]
        for candidate in candidates:
            if ".." in candidate.split("/"):
                continue
            info = self.find(candidate)
            if info is not None:
                return info
        return None
