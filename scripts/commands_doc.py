"""Write docs/commands.md from the command line's own help texts.

Run after changing a command:  python scripts/commands_doc.py
(tests/test_docs.py fails when a command is missing from the file.)
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def walk(command, path):
    """(path, command) for every command and group, depth first."""
    yield path, command
    for name in sorted(getattr(command, "commands", {}) or {}):
        yield from walk(command.commands[name], [*path, name])


def render() -> str:
    import typer

    from qualcode.cli import app

    root = typer.main.get_command(app)
    lines = ["# Command reference", "", "Generated from the commands' own `--help` by `python scripts/commands_doc.py`.", ""]
    for path, command in walk(root, ["qualcode"]):
        if len(path) == 1:
            continue
        lines.append(f"## `{' '.join(path)}`")
        lines.append("")
        help_text = inspect.cleandoc(command.help or "")
        lines.append(help_text.replace("Example:\n\n", "Example:\n\n```sh\n", 1).rstrip() + ("\n```" if "Example:" in help_text else ""))
        params = [p for p in command.params if p.name not in ("help",) and not getattr(p, "hidden", False)]
        if params:
            lines.append("")
            lines.append("| option | help |")
            lines.append("|---|---|")
            for param in params:
                names = ", ".join(f"`{o}`" for o in (param.opts + param.secondary_opts)) if param.param_type_name == "option" else f"`{param.name.upper()}`"
                help_cell = (getattr(param, "help", None) or "").replace("|", "\\|")
                lines.append(f"| {names} | {help_cell} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    out = ROOT / "docs" / "commands.md"
    out.write_text(render(), encoding="utf-8")
    sys.stderr.write(f"wrote {out}\n")


if __name__ == "__main__":
    main()
