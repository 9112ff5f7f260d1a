"""exactseq: exact sequence interpolation with transformers, independently checked."""
__version__ = "0.1.0"
