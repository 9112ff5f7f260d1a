"""proofs_check: the independent checker of exactseq certificates (stdlib only)."""
from .checker import check
from .limits import DEFAULT, LimitError, Limits
from .numbers import Malformed, Rejected, Unknown

__all__ = ["check", "Rejected", "Malformed", "Unknown", "Limits", "LimitError", "DEFAULT"]
