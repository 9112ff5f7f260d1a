"""The errors exactseq raises on purpose: one family, each with a one-line message.

Library code raises these and never prints; the command line turns each into
one line on stderr and an exit status (bad input or usage: 2).  Anything else
that escapes is a bug, reported as an internal error and never a pass.

    ExactseqError
    ├── InputError          a dataset, token, option or file that cannot be used
    │   ├── DatasetError    a dataset file or object (names the file, sequence, token)
    │   └── NumberError     a coordinate that is not an exact real number we represent
    ├── CertificateError    a certificate not of the documented form
    ├── ConstructionError   a construction step that found no admissible choice
    ├── ExportError         an export that cannot be done (``status``: the exit status)
    ├── AuditError          a float audit that cannot be done
    ├── NormError           parameter norms that cannot be computed
    ├── PictureError        a picture that cannot be drawn
    ├── ReplayError         a saved fuzz case that cannot be replayed
    └── MissingExtra        an optional dependency that is not installed

Each keeps ValueError (RuntimeError, ImportError) as a second base, so callers
that caught those before still do.
"""
from __future__ import annotations

__all__ = ["ExactseqError", "InputError", "DatasetError", "NumberError", "CertificateError",
           "ConstructionError", "ExportError", "AuditError", "NormError", "PictureError",
           "ReplayError", "MissingExtra"]


class ExactseqError(Exception):
    """Base of every error exactseq raises on purpose."""


class InputError(ExactseqError, ValueError):
    """A file, certificate, token or option that cannot be used; the message is one line."""


class DatasetError(InputError):
    """Bad dataset input: the message is one line, ready to print."""


class NumberError(InputError):
    """A coordinate that is not an exact real number we can represent."""


class CertificateError(ExactseqError, ValueError):
    """A certificate that cannot be read or is not of the documented form (one line)."""


class ConstructionError(ExactseqError, RuntimeError):
    """A construction step that found no admissible choice."""


class ExportError(ExactseqError, ValueError):
    """A one-line reason the export cannot be done (``status``: the exit status)."""

    def __init__(self, msg, status=2):
        super().__init__(msg)
        self.status = status


class AuditError(ExactseqError, ValueError):
    """A one-line reason the audit cannot be done."""


class NormError(ExactseqError, ValueError):
    """A certificate whose weights cannot be read for norms (one line)."""


class PictureError(ExactseqError, ValueError):
    """Bad input for a picture (one line)."""


class ReplayError(ExactseqError, ValueError):
    """A saved fuzz case that cannot be replayed (one line)."""


class MissingExtra(ExactseqError, ImportError):
    """An optional dependency that is not installed (the message names the extra)."""
