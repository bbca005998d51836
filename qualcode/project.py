"""A project: a folder holding ``qualcode.db`` and ``qualcode.toml``.

Commands find the project like git finds a repository — from the current
folder upward — or take ``--project DIR``.
"""

from __future__ import annotations

import os
import sqlite3
import tomllib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from qualcode import store
from qualcode.errors import ProjectError

DB_NAME = "qualcode.db"
CONFIG_NAME = "qualcode.toml"

# Set by ``qualcode --project DIR COMMAND`` for the one command it runs.
_default_root: Path | None = None


def set_default_root(root: Path | str | None) -> None:
    """The project folder commands use when they are not given --project."""
    global _default_root
    _default_root = Path(root) if root is not None else None


DEFAULT_INTERVIEWER_LABELS = ["I", "Int", "Interviewer", "Q", "Facilitator", "Moderator"]

CONFIG_TEMPLATE = """\
# qualcode project settings. Edit freely; qualcode reads this file on every command.

[project]
name = {name}
# spaCy language code used for sentences, lemmas and rules
language = {language}

[speakers]
# Speaker labels that mark the interviewer's turns (matched case-insensitively)
interviewer_labels = {interviewer_labels}

[respondents]
# How a document's respondent id is found: "stem" uses the file name without
# its extension (SF4.docx -> SF4); otherwise a regular expression searched in
# the file stem whose group "id" (or whole match) is the id, e.g. "^(?P<id>[A-Z]+[0-9]+)"
id_rule = {id_rule}

# Speaker -> respondent map for focus groups or generic labels, per document
# (file stem). A value "interviewer" marks the interviewer.
# [speaker_map.TL5]
# "Speaker 1" = "interviewer"
# "Speaker 2" = "TL5"
"""


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(_toml_string(v) for v in values) + "]"


@dataclass
class Project:
    """An open project. ``root`` is the folder; ``config`` is the parsed qualcode.toml."""

    root: Path
    config: dict = field(default_factory=dict)
    _conn: sqlite3.Connection | None = field(default=None, repr=False)

    # -- finding and creating ---------------------------------------------
    @classmethod
    def find(cls, start: Path | str | None = None) -> "Project":
        """Open the project at ``start`` (when given) or the nearest one from the cwd upward.

        Without ``start``, a folder given to ``qualcode --project DIR`` before the
        command, or the QUALCODE_PROJECT environment variable, comes first.
        """
        if start is None:
            start = _default_root or os.environ.get("QUALCODE_PROJECT") or None
        if start is not None:
            root = Path(start).expanduser().resolve()
            if not (root / DB_NAME).exists():
                raise ProjectError(
                    f"{root} is not a qualcode project (no {DB_NAME}); create one with 'qualcode init {start}'"
                )
            return cls.open(root)
        here = Path.cwd().resolve()
        for folder in (here, *here.parents):
            if (folder / DB_NAME).exists():
                return cls.open(folder)
        raise ProjectError(
            "no qualcode project here or in any parent folder; run 'qualcode init' or pass --project DIR"
        )

    @classmethod
    def open(cls, root: Path) -> "Project":
        return cls(root=root, config=load_config(root))

    @classmethod
    def create(
        cls,
        root: Path | str,
        *,
        name: str | None = None,
        language: str = "en",
        interviewer_labels: list[str] | None = None,
        id_rule: str = "stem",
    ) -> "Project":
        """Create ``qualcode.db`` and ``qualcode.toml`` in ``root`` (created if missing)."""
        root = Path(root).expanduser().resolve()
        if (root / DB_NAME).exists():
            raise ProjectError(f"{root} already holds a qualcode project; use it, or choose another folder")
        if root.exists() and not root.is_dir():
            raise ProjectError(f"{root} exists and is not a folder; choose another path")
        _check_language(language)
        root.mkdir(parents=True, exist_ok=True)
        config_path = root / CONFIG_NAME
        if not config_path.exists():
            config_path.write_text(
                CONFIG_TEMPLATE.format(
                    name=_toml_string(name or root.name),
                    language=_toml_string(language),
                    interviewer_labels=_toml_list(interviewer_labels or DEFAULT_INTERVIEWER_LABELS),
                    id_rule=_toml_string(id_rule),
                ),
                encoding="utf-8",
            )
        conn = store.connect(root / DB_NAME)
        with store.transaction(conn):
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('created_at', ?)", (store.now(),)
            )
            store.record_history(conn, "init", name=name or root.name, language=language)
        project = cls(root=root, config=load_config(root), _conn=conn)
        return project

    # -- settings -----------------------------------------------------------
    @property
    def name(self) -> str:
        return self.config.get("project", {}).get("name", self.root.name)

    @property
    def language(self) -> str:
        return self.config.get("project", {}).get("language", "en")

    @property
    def interviewer_labels(self) -> list[str]:
        return list(self.config.get("speakers", {}).get("interviewer_labels", DEFAULT_INTERVIEWER_LABELS))

    @property
    def id_rule(self) -> str:
        return self.config.get("respondents", {}).get("id_rule", "stem")

    @property
    def speaker_map(self) -> dict[str, dict[str, str]]:
        return {k: dict(v) for k, v in self.config.get("speaker_map", {}).items()}

    @property
    def db_path(self) -> Path:
        return self.root / DB_NAME

    # -- database -----------------------------------------------------------
    def connect(self) -> sqlite3.Connection:
        """The project's connection (opened once, migrations applied)."""
        if self._conn is None:
            self._conn = store.connect(self.db_path)
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One transaction: everything inside is committed together or not at all."""
        conn = self.connect()
        with store.transaction(conn):
            yield conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def load_config(root: Path) -> dict:
    path = root / CONFIG_NAME
    if not path.exists():
        return {}
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ProjectError(f"{path}: {exc}; fix the file (it is TOML) and run the command again") from None


SUPPORTED_LANGUAGES_HINT = "a spaCy language code such as en, de, fr, es, nl, it, pt"


def _check_language(language: str) -> None:
    """Refuse a language spaCy has no support for (without importing spaCy's pipelines)."""
    import importlib.util

    if not language or not language.isascii() or not language.replace("_", "").isalnum():
        raise ProjectError(f"unsupported language '{language}'; use {SUPPORTED_LANGUAGES_HINT}")
    # Look for spacy/lang/<code> on disk: importing spaCy here would make init slow.
    spec = importlib.util.find_spec("spacy")
    if spec is None or not spec.submodule_search_locations:
        return
    if not any((Path(location) / "lang" / language).is_dir() for location in spec.submodule_search_locations):
        raise ProjectError(f"unsupported language '{language}': spaCy has no 'spacy.lang.{language}'; use {SUPPORTED_LANGUAGES_HINT}")
