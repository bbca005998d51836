"""Every command has help with an example and is in docs/commands.md."""

from pathlib import Path

import typer

from qualcode.cli import app

ROOT = Path(__file__).resolve().parent.parent


def _commands():
    def walk(command, path):
        yield path, command
        for name, child in sorted((getattr(command, "commands", {}) or {}).items()):
            yield from walk(child, [*path, name])

    return [(p, c) for p, c in walk(typer.main.get_command(app), ["qualcode"]) if len(p) > 1]


def test_every_command_has_help_with_an_example():
    missing = [" ".join(path) for path, command in _commands()
               if not command.help or "Example" not in command.help]
    assert missing == []


def test_every_command_is_in_the_reference():
    reference = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8")
    missing = [" ".join(path) for path, _ in _commands() if f"## `{' '.join(path)}`" not in reference]
    assert missing == [], "run: python scripts/commands_doc.py"
