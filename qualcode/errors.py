"""The one error hierarchy.

Every expected failure is a QualcodeError whose message is one line saying
what is wrong, where (file, line, cell) and what to do. The CLI prints it as
``Error: …`` on stderr and exits 1. Messages never contain transcript text.
"""


class QualcodeError(Exception):
    """An expected failure with a message fit for the user."""

    exit_code = 1


class ProjectError(QualcodeError):
    """No project, a broken project, or a project setting that is wrong."""


class InputError(QualcodeError):
    """A file or value given by the user cannot be used."""


class ImportFailed(InputError):
    """A transcript or data file could not be imported."""


class CodebookError(InputError):
    """A codebook is malformed or refers to something unknown."""


class SheetError(InputError):
    """A coding sheet or decisions sheet is malformed."""


class RefiError(InputError):
    """A REFI-QDA project or codebook cannot be read or written."""


class NotFound(QualcodeError):
    """A named thing (coder, code, document, respondent, unit) does not exist."""


class OverwriteRefused(QualcodeError):
    """An output file exists and --force was not given."""
