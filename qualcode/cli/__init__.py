"""The ``qualcode`` command line: a typer app joined from one module per command group.

Each module in COMMAND_MODULES has ``register(app)``. Modules import heavy
libraries (spaCy, pandas, …) only inside their commands, so ``qualcode
--help`` stays fast.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperGroup

try:  # typer >= 0.2x carries its own copy of click
    from typer._click import exceptions as _click_exceptions
except ImportError:  # pragma: no cover - older typer on top of click
    from click import exceptions as _click_exceptions

# click's own control flow (usage errors, --help exits, aborts) passes untouched.
_PASS_THROUGH = tuple({
    _click_exceptions.ClickException, typer.Exit, typer.Abort,
    *(getattr(_click_exceptions, name) for name in ("Exit", "Abort") if hasattr(_click_exceptions, name)),
})

from qualcode.errors import QualcodeError


class QualcodeGroup(TyperGroup):
    """Turns a QualcodeError into ``Error: …`` on stderr and exit 1 — never a traceback."""

    def invoke(self, ctx):
        try:
            return self._invoke(ctx)
        finally:
            # --project before the command applies to that command only
            from qualcode.project import set_default_root

            set_default_root(None)

    def _invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except QualcodeError as exc:
            if os.environ.get("QUALCODE_DEBUG") == "1":
                raise
            from qualcode.cli._util import err_console

            from rich.markup import escape

            # the message may hold brackets (a code "[role]", a placeholder "[/]"): print it as text
            err_console().print(f"[bold red]Error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            ctx.exit(exc.exit_code)
        except _PASS_THROUGH:
            raise
        except BrokenPipeError:
            # the reader of the output stopped early (`qualcode codings list | head`): not an error
            import sys

            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # so the flush at exit does not fail again
            ctx.exit(0)
        except KeyboardInterrupt:
            from qualcode.cli._util import err_console

            err_console().print("Interrupted; nothing from the unfinished step was saved.")
            ctx.exit(130)
        except Exception as exc:  # an unexpected failure: short message, no transcript-bearing locals
            import sqlite3

            from qualcode.store import BUSY_TIMEOUT_SECONDS, is_busy

            if isinstance(exc, sqlite3.OperationalError) and is_busy(exc):
                from qualcode.cli._util import err_console

                # every write is one transaction: the one that could not start or commit left nothing
                err_console().print(
                    "[bold red]Error:[/] the project database is busy: another qualcode command or the coding page"
                    f" has been writing to it for over {BUSY_TIMEOUT_SECONDS:g} s. Nothing from the unfinished step was saved; run the"
                    " command again when the other has finished.", highlight=False)
                ctx.exit(1)
            if os.environ.get("QUALCODE_DEBUG") == "1" or "PYTEST_CURRENT_TEST" in os.environ:
                raise
            from qualcode.cli._util import err_console

            err_console().print(
                f"[bold red]Error:[/] unexpected failure ({type(exc).__name__}); the project was left as it was."
                " Run again with QUALCODE_DEBUG=1 to see the details, and report them.",
                highlight=False,
            )
            ctx.exit(1)


app = typer.Typer(
    name="qualcode",
    cls=QualcodeGroup,
    help="Qualitative interview studies from transcripts to theme tables: import, code, agree, reconcile, count, quote.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

# One module per command group; each has register(app). Keep the order: it is
# the order of `qualcode --help`.
COMMAND_MODULES = [
    "init",
    "importing",
    "respondents",
    "documents",
    "demo",
    "agree",
    "reconcile",
    "sheet",
    "counts",
    "participants",
    "quotes",
    "refi",
    "anonymity",
    "codebook",
    "apply",
    "codings",
    "serve",
    "doctor",
]

for _name in COMMAND_MODULES:
    importlib.import_module(f"qualcode.cli.{_name}").register(app)


def _print_version(value: bool) -> None:
    if value:
        from qualcode import __version__

        typer.echo(f"qualcode {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", is_eager=True, callback=_print_version
    ),
    project: Optional[Path] = typer.Option(
        None, "--project", "-p", envvar="QUALCODE_PROJECT", show_envvar=True,
        help="Project folder for the command that follows (default: the nearest one from the current folder upward).",
    ),
) -> None:
    """Qualitative interview studies from transcripts to theme tables.

    Start with 'qualcode demo' to see the whole workflow on an example study,
    or 'qualcode init' to create a project.
    """
    from qualcode.project import set_default_root

    set_default_root(project)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="qualcode")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
