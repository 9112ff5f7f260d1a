"""An exact transformer read from a certificate: :class:`Model`, reading and
writing certificate files, evaluating on new inputs, exact text of outputs.

Below the API (:mod:`exactseq.api` re-exports every public name here), so
that the analysis modules (evaluation, pictures) can use a certificate's
model without the API.
"""
from __future__ import annotations

import os
from fractions import Fraction

from .enclosures import Enclosure
from .errors import CertificateError, InputError

__all__ = ["Model", "load_certificate", "save_certificate", "evaluate", "as_text", "cert_obj",
           "parse_tokens", "coordinate_text"]


def coordinate_text(x):
    """A Python number as dataset coordinate text (floats by their shortest decimal)."""
    if isinstance(x, bool):
        return x                       # refused by the reader, with its message
    if isinstance(x, Fraction):
        return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"
    if isinstance(x, float):
        return repr(x)                 # "nan"/"inf" are refused by the reader
    if type(x).__name__ == "Decimal":
        return str(x)
    if hasattr(x, "item") and not isinstance(x, (int, str)):   # numpy scalars
        return coordinate_text(x.item())
    return x


# ------------------------------------------------------------------ certificates
def load_certificate(path, limits=None):
    """Read a certificate file with the checker's safe JSON reader (resource
    limits, no duplicate keys, no NaN); returns the JSON object.  Raises
    :class:`CertificateError` with one line on anything unreadable."""
    from proofs_check import report as pcr
    from proofs_check.limits import DEFAULT
    try:
        cert = pcr.load(os.fspath(path), limits or DEFAULT)
        pcr.envelope(cert)
    except pcr.Malformed as exc:
        raise CertificateError(f"{os.fspath(path)}: {exc}") from None
    return cert


def save_certificate(certificate, path):
    """Write a certificate object (canonical JSON) atomically to ``path``."""
    from . import certificate as cmod
    cmod.write_atomic(os.fspath(path), cmod.dumps(cert_obj(certificate)))


def cert_obj(x):
    if isinstance(x, Model):
        return x.certificate
    if hasattr(x, "verdict") and hasattr(x, "certificate"):      # an api.Result
        if x.certificate is None:
            raise CertificateError(f"no certificate: the verdict is {x.verdict}")
        return x.certificate
    if isinstance(x, dict):
        return x
    if isinstance(x, (str, os.PathLike)):
        return load_certificate(x)
    raise TypeError(f"expected a certificate (dict or path), a Model or a Result, "
                    f"not {type(x).__name__}")


# ------------------------------------------------------------------ the model
class Model:
    """An exact transformer read from a certificate.

    ``model(tokens)`` evaluates it on one input sequence (a list of tokens)
    and returns the output tokens in order: exact tuples for hardmax, and
    :class:`Enclosure` balls for softmax.  ``model.trajectory(tokens)`` gives
    the tokens after every block (state 0 is the input); ``model.phases[k]``
    is the phase of block k (None in a weights certificate, whose blocks are
    given weights, not phases of a construction).  Attention layers may have
    several heads (``"heads"`` in a weights certificate).
    """

    def __init__(self, certificate, _net=None):
        from . import certificate as cmod
        from .certfield import field_of
        from .numbers import NumberError
        if not isinstance(certificate, dict):
            raise TypeError("Model() takes a certificate object (see load_certificate)")
        self.certificate = certificate
        self.attention = certificate.get("attention", "hardmax")
        try:
            self.dim = certificate["dataset"]["dimension"]
            self.tau = Fraction(certificate["softmax"]["tau"]) if self.attention == "softmax" else None
            self._cf = field_of(certificate)
        except (KeyError, TypeError, ValueError, ZeroDivisionError, NumberError) as exc:
            raise CertificateError(f"malformed certificate: {type(exc).__name__}: {exc}") from None
        try:
            self._net = _net or cmod.load_model(certificate)
        except cmod.CertificateError as exc:
            raise CertificateError(str(exc)) from None
        self.summary = None          # the checker's summary, once checked
        if self._cf is not None:     # field elements print in terms of the certificate's roots
            self._cf.field.certfield = self._cf
            for blk in self._net.blocks[:1]:
                if hasattr(blk.ff.eta, "f"):
                    blk.ff.eta.f.certfield = self._cf

    @property
    def blocks(self):
        return self._net.blocks

    @property
    def phases(self):
        return [b.phase for b in self._net.blocks]

    def __repr__(self):
        return (f"<exactseq.Model {self.attention}, d = {self.dim}, {len(self.blocks)} blocks"
                + (f", tau = {self.tau}" if self.tau is not None else "") + ">")

    def tokens(self, X, limits=None):
        """Parse an input sequence into exact points of this model's number system."""
        return parse_tokens(X, self.dim, self._cf, limits, softmax=self.attention == "softmax")[0]

    def trajectory(self, X):
        """The tokens after each block: a list of len(blocks) + 1 lists of tokens."""
        pts = self.tokens(X)
        if self.attention == "softmax":
            from . import enclosures
            return enclosures.run(self.blocks, self.tau, pts, self.dim)
        states = [list(pts)]
        for blk in self.blocks:
            states.append(blk.apply(states[-1]))
        return states

    def __call__(self, X):
        pts = self.tokens(X)
        if self.attention == "softmax":
            from . import enclosures
            return enclosures.run(self.blocks, self.tau, pts, self.dim)[-1]
        return self._net.evaluate(pts)

    def save(self, path):
        save_certificate(self.certificate, path)


def evaluate(model, X):
    """The output of a model (a :class:`Model`, a certificate object or a
    certificate path) on the input sequence X, exactly; see :class:`Model`."""
    if not isinstance(model, Model):
        model = Model(cert_obj(model))
    return model(X)


def parse_tokens(X, dim, cf, limits=None, softmax=False, label=None):
    """(points, CertField or None for formatting) of an input sequence.

    Rational coordinates give Fractions; with a number-field certificate every
    coordinate becomes a field element (expressions in the certificate's roots);
    with a rational certificate, expressions make a number field of their own."""
    from proofs_check.limits import DEFAULT, LimitError
    from .numbers import NumberError, RadicalExpr, parse_coordinate
    limits = limits or DEFAULT
    label = label or (lambda t: f"token {t}")
    if hasattr(X, "tolist"):          # a numpy array or a tensor of shape (n, d)
        X = X.tolist()
    if not isinstance(X, (list, tuple)) or not X:
        raise InputError("an input sequence must be a non-empty list of tokens")
    pts, radicals = [], []
    for t, tok in enumerate(X):
        if not isinstance(tok, (list, tuple)) or len(tok) != dim:
            raise InputError(f"{label(t)}: expected a list of {dim} coordinates")
        row = []
        for i, c in enumerate(tok):
            c = coordinate_text(c)
            try:
                v = cf.coordinate(c, limits) if cf is not None else parse_coordinate(c, limits)
            except (NumberError, LimitError) as exc:
                raise InputError(f"{label(t)}, coordinate {i}: {exc}") from None
            if isinstance(v, RadicalExpr):
                radicals.append(v)
            row.append(v)
        pts.append(row)
    if radicals and softmax:
        raise InputError("softmax enclosures need rational coordinates")
    if cf is None and radicals:
        from .certfield import CertField
        from .numbers import build_field, radical_atoms
        try:
            field, values, conv = build_field(radicals, limits)
        except (NumberError, LimitError) as exc:
            raise InputError(str(exc)) from None
        value = {id(r): v for r, v in zip(radicals, values)}
        atoms = {}
        for r in radicals:
            for base, e, val in radical_atoms(r, conv):
                atoms[(tuple(base.c), e)] = val
        spec = field.describe()
        spec["atoms"] = [{"base": [str(c) for c in b], "exponent": str(e), "value": [str(c) for c in v.c]}
                         for (b, e), v in atoms.items()]
        cf = CertField(spec)
        field.certfield = cf
        pts = [[value[id(v)] if isinstance(v, RadicalExpr) else field.const(v) for v in row]
               for row in pts]
    return [tuple(row) for row in pts], cf


def as_text(points, model=None):
    """Exact text of output tokens: lists of "p/q" strings (or readable algebraic
    expressions); an :class:`Enclosure` becomes {"centre": [...], "radius": "r"}."""
    from .certfield import CertField
    from .numbers import Alg, to_text
    cf = model._cf if isinstance(model, Model) else model if isinstance(model, CertField) else None
    # without a model, an algebraic number prints by the roots its field was made from

    def num(x):
        if isinstance(x, Alg):
            return cf.text(x) if cf is not None else _alg_text(x)
        return to_text(x)
    out = []
    for p in points:
        if isinstance(p, Enclosure):
            out.append({"centre": [to_text(c) for c in p.centre], "radius": to_text(p.radius)})
        else:
            out.append([num(x) for x in p])
    return out


def _alg_text(x):
    from .certfield import CertField
    cf = getattr(x.f, "certfield", None)
    if cf is None:
        cf = x.f.certfield = CertField(x.f.describe())
    return cf.text(x)
