"""proofs_check: the independent checker of exactseq certificates (stdlib only)."""
from .checker import Malformed, Rejected, check
from .softmax import Unknown

__all__ = ["check", "Rejected", "Malformed", "Unknown"]
