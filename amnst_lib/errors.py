"""Exceptions raised by AM-NST for problems a user can fix.

Every error a user can cause (a missing file, a bad layer name, a weights file that does
not fit) is raised as an :class:`AmnstError` subclass whose message says what was wrong and
what to do. The command line prints that message alone, without a traceback, and exits
with a non-zero status; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class AmnstError(Exception):
    """Base class for errors caused by input the user can correct."""

    exit_code = 2


class AudioFileError(AmnstError):
    """An audio file is missing, unreadable, empty, silent or too short."""


class WeightsError(AmnstError):
    """A weights file is missing, of an unknown format, or does not fit the network."""


class LayerError(AmnstError):
    """A layer name or index does not name one of the network's feature layers."""


class ParameterError(AmnstError):
    """A setting is out of range or of the wrong kind."""


class OutputExistsError(AmnstError):
    """An output would overwrite an existing file or folder without permission."""


class DatasetError(AmnstError):
    """A dataset folder is missing, empty or laid out in a way we do not recognise."""


class DivergenceError(AmnstError):
    """The optimisation produced non-finite values and ran out of retries.

    Attributes
    ----------
    result : object or None
        The last good result (a :class:`amnst_lib.transfer.TransferResult`), kept so that
        nothing computed before the failure is lost.
    """

    exit_code = 3

    def __init__(self, message: str, result: object | None = None):
        super().__init__(message)
        self.result = result


class OutputWriteError(AmnstError):
    """The output cannot be written (read-only place, full disk, bad name); says what to fix."""
