"""exactseq: exact sequence interpolation with transformers, independently checked.

The Python API (:mod:`exactseq.api`) is importable from here, on first use::

    import exactseq
    result = exactseq.certify(exactseq.load("examples/figure5.json"))
    result.verdict, result.model([[0, 0], [2, 0]])
"""
__version__ = "0.1.0"

# name -> module that defines it; imported on first access, so that starting the
# command line imports none of it
_API = {name: "api" for name in (
    "load", "dataset_from", "build", "certify", "check", "evaluate", "load_certificate",
    "save_certificate", "as_text", "Model", "Result", "Enclosure", "Dataset", "DatasetError",
    "CertificateError", "InputError", "ExactseqError", "verify", "export_weights", "audit_floats",
    "tikhonov_file", "evaluate_file", "figure", "fuzz_campaign", "check_weights")}
_API.update({"parameter_norms": "tikhonov", "tikhonov_bound": "tikhonov"})

__all__ = sorted(_API)


def __getattr__(name):
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'exactseq' has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(f"exactseq.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_API))
