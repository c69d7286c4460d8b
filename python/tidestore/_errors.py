"""The exceptions tidestore raises.

Every error the engine reports is a :class:`Error`. Those that correspond to a built-in
exception also derive from it, so ordinary Python code catches them as usual:

============================  ===========================  ==============================
exception                     also a                       raised for
============================  ===========================  ==============================
:class:`InvalidArgumentError` ``ValueError``               bad input (nothing is written)
:class:`NotFoundError`        ``KeyError``                 updating a point that is absent
:class:`IoError`              ``OSError``                  a failed file operation
:class:`ClosedError`          ``ValueError``               using a closed handle
:class:`CorruptionError`                                   damaged files
:class:`UnsupportedVersionError`                           files of a newer format
:class:`LockedError`                                       a directory open elsewhere
:class:`PoisonedError`                                     writes after a failed fsync
============================  ===========================  ==============================

The native module raises these classes by name; keep the names.
"""

from __future__ import annotations


class Error(Exception):
    """Base class of every error tidestore raises. ``str(e)`` is the engine's message."""


class InvalidArgumentError(Error, ValueError):
    """Input the engine does not accept (an empty metric, a tag key twice, a reversed
    range, ...). Nothing was written."""


class NotFoundError(Error, KeyError):
    """The thing asked for does not exist, e.g. ``update`` of a point that is absent."""

    def __str__(self) -> str:
        # KeyError shows the repr of its argument; show the message as it is.
        return str(self.args[0]) if self.args else ""


class CorruptionError(Error):
    """Bytes on disk failed a checksum or did not parse: a file is damaged.

    Attributes: ``file`` (the damaged file), ``offset`` (byte offset of the damage),
    ``what`` (which check failed).
    """

    file: str
    offset: int
    what: str


class UnsupportedVersionError(Error):
    """A file was written by a newer (or unknown) format version. Attribute: ``file``."""

    file: str


class LockedError(Error):
    """Another handle, in this process or another, has the directory open.
    Attribute: ``path``."""

    path: str


class PoisonedError(Error):
    """An earlier write or fsync failed; the handle accepts no more writes. Reopen the
    directory to recover its last durable state."""


class IoError(Error, OSError):
    """An operating-system I/O error (``errno`` is set when the OS gave one)."""


class ClosedError(Error, ValueError):
    """The handle was closed."""


__all__ = [
    "Error",
    "InvalidArgumentError",
    "NotFoundError",
    "CorruptionError",
    "UnsupportedVersionError",
    "LockedError",
    "PoisonedError",
    "IoError",
    "ClosedError",
]
