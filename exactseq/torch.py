"""The paper's transformer as a PyTorch module, loadable from a certificate or an export.

    from exactseq.torch import ExactTransformer
    model = ExactTransformer.from_certificate("cert.json", dtype=torch.float64)
    Y = model(X)                          # X: (n x d), or (B x n x d) with mask (B x n)
    model = ExactTransformer.load("weights.safetensors")   # npz, safetensors, torch or json file

Semantics (CLAIMS.md): a block is ``SA(FF(X))`` with
``FF(x) = eta x + W relu(U x + b)`` and ``SA(X)_i = rho x_i + sum_j w_ij V x_j``
(H heads: A and V of shape (H, d, d), ``rho x_i + sum_h sum_j w^h_ij V_h x_j``);
hardmax weights share 1/|C_i| among the keys whose score ``<A x_i, x_j>``
equals the row's maximum (exact float equality: ties are averaged); softmax
weights are ``softmax(<A x_i, x_j> / tau)`` over j.  The operations are those of
the NumPy pass (:mod:`exactseq.floatpass`), in the same order (softmax through
``torch.softmax``); BLAS kernels may still round products differently.  Every weight
is an ``nn.Parameter`` (names ``blocks.{k}.ff.eta``, ``.ff.U``, ``.ff.b``,
``.ff.W``, ``.sa.rho``, ``.sa.A``, ``.sa.V``), so the model can be fine-tuned;
hardmax attention passes no gradient to A (its weights are piecewise
constant in the scores).  tau is a plain attribute, not a parameter.
Padding tokens (mask False) are ignored as keys and set to zero in the output.
"""
from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["ExactTransformer", "FeedForward", "SelfAttention", "Block", "TORCH_DTYPES"]

TORCH_DTYPES = {"float64": torch.float64, "float32": torch.float32, "bfloat16": torch.bfloat16}


class FeedForward(nn.Module):
    """FF(x) = eta x + W relu(U x + b), per token."""

    def __init__(self, d, width, dtype=torch.float64):
        super().__init__()
        self.eta = nn.Parameter(torch.ones((), dtype=dtype))
        self.U = nn.Parameter(torch.zeros((width, d), dtype=dtype))
        self.b = nn.Parameter(torch.zeros((width,), dtype=dtype))
        self.W = nn.Parameter(torch.zeros((d, width), dtype=dtype))

    def pre(self, X):
        return X @ self.U.T + self.b

    def forward(self, X):
        return self.eta * X + torch.relu(self.pre(X)) @ self.W.T


class SelfAttention(nn.Module):
    """SA(X)_i = rho x_i + sum_j w_ij V x_j, hardmax or softmax at temperature tau.

    With ``heads`` = H > 1, A and V have shape (H, d, d) and
    ``SA(X)_i = rho x_i + sum_h sum_j w^h_ij V_h x_j``, the heads' terms added to
    rho X in head order (as the NumPy pass); a head whose V is zero is skipped."""

    def __init__(self, d, attention="hardmax", tau=None, dtype=torch.float64, heads=1):
        super().__init__()
        shape = (d, d) if heads == 1 else (heads, d, d)
        self.heads = heads
        self.rho = nn.Parameter(torch.ones((), dtype=dtype))
        self.A = nn.Parameter(torch.zeros(shape, dtype=dtype))
        self.V = nn.Parameter(torch.zeros(shape, dtype=dtype))
        self.attention, self.tau = attention, tau

    def forward(self, X, pad=None, want=False):
        """(output, argmax mask or None): with V exactly zero the output is rho X and
        no score is computed.  With several heads the argmax is a tuple, one mask (or
        None: V zero) per head."""
        if self.heads == 1:
            if not bool(torch.any(self.V != 0)):
                return self.rho * X, None
            term, M = self._head(X, self.A, self.V, pad)
            return self.rho * X + term, (M if want else None)
        out, masks, live = self.rho * X, [], False
        for A, V in zip(self.A, self.V):
            if not bool(torch.any(V != 0)):
                masks.append(None)
                continue
            term, M = self._head(X, A, V, pad)
            out, live = out + term, True
            masks.append(M)
        return out, (tuple(masks) if want and live else None)

    def _head(self, X, A, V, pad):
        S = (X @ A.T) @ X.transpose(-1, -2)            # S[i, j] = <A x_i, x_j>
        if pad is not None:
            S = S.masked_fill(pad[..., None, :], -math.inf)
        M = S == S.amax(dim=-1, keepdim=True)
        if self.attention == "softmax":
            w = torch.softmax(S / self.tau, dim=-1)
        else:
            Mf = M.to(X.dtype)
            w = Mf / Mf.sum(dim=-1, keepdim=True)
        return (w @ X) @ V.T, M


class Block(nn.Module):
    def __init__(self, d, width, attention="hardmax", tau=None, dtype=torch.float64, heads=1):
        super().__init__()
        self.ff = FeedForward(d, width, dtype)
        self.sa = SelfAttention(d, attention, tau, dtype, heads)

    def forward(self, X, pad=None):
        return self.sa(self.ff(X), pad)[0]


class ExactTransformer(nn.Module):
    """B_L o ... o B_1 with B = SA o FF; weights exported by ``exactseq export``.

    ``forward(X, mask=None)``: X of shape (n, d) or (B, n, d); mask (B, n) (or (n,))
    True for real tokens."""

    def __init__(self, d, widths, attention="hardmax", tau=None, dtype=torch.float64, phases=None,
                 heads=None):
        super().__init__()
        if attention not in ("hardmax", "softmax"):
            raise ValueError(f"unknown attention {attention!r}")
        if attention == "softmax" and (tau is None or not tau >= 0):
            raise ValueError("softmax attention needs a temperature tau > 0 (0: a tau that "
                             "underflowed, which gives nan like the NumPy pass)")
        self.d, self.attention = d, attention
        self.phases = list(phases) if phases is not None else [None] * len(widths)
        self.metadata = {}
        heads = list(heads) if heads is not None else [1] * len(widths)
        if len(heads) != len(widths) or any(type(h) is not int or h < 1 for h in heads):
            raise ValueError("heads: one positive number of heads per block")
        self.blocks = nn.ModuleList(Block(d, w, attention, tau, dtype, h) for w, h in zip(widths, heads))
        self.tau = tau

    @property
    def tau(self):
        """The softmax temperature (None for hardmax); setting it sets every layer's."""
        return self._tau

    @tau.setter
    def tau(self, value):
        self._tau = value
        for blk in self.blocks:
            blk.sa.tau = value

    # ------------------------------------------------------------ running
    def _prepare(self, X, mask):
        single = X.dim() == 2
        if single:
            X = X[None]
            mask = None if mask is None else mask.reshape(1, -1)
        if X.dim() != 3 or X.shape[-1] != self.d:
            raise ValueError(f"expected tokens of shape (n, {self.d}) or (B, n, {self.d}), "
                             f"got {tuple(X.shape)}")
        pad = None
        if mask is not None:
            mask = mask.to(torch.bool)
            if mask.shape != X.shape[:2]:
                raise ValueError("mask must have shape (B, n)")
            pad = ~mask
            if not bool(pad.any()):
                pad = None
        return X, pad, single

    def forward(self, X, mask=None):
        X, pad, single = self._prepare(X, mask)
        for blk in self.blocks:
            X = blk(X, pad)
            if pad is not None:
                X = X.masked_fill(pad[..., None], 0)
        return X[0] if single else X

    def step(self, k, X, mask=None):
        """Block k (from 0) on X (B, n, d): (output, pattern (B, n, w): which ReLU units
        are > 0, argmax (B, n, n) or None: the keys of largest score)."""
        X, pad, _ = self._prepare(X, mask)
        blk = self.blocks[k]
        H = blk.ff.pre(X)
        pattern = H > 0
        X = blk.ff.eta * X + torch.relu(H) @ blk.ff.W.T
        X, argmax = blk.sa(X, pad, want=True)
        if pad is not None:
            X = X.masked_fill(pad[..., None], 0)
        return X, pattern, argmax

    # ------------------------------------------------------------ building
    @classmethod
    def from_state_dict(cls, state_dict, metadata=None, dtype=None):
        """A model shaped after a state dict of the exported names (tensors or arrays);
        metadata gives attention and tau (default hardmax)."""
        md = dict(metadata or {})
        sd = {k: torch.as_tensor(v) for k, v in state_dict.items()}
        L = 0
        while f"blocks.{L}.ff.U" in sd:
            L += 1
        if L == 0 and "blocks.0.sa.A" not in sd:
            raise ValueError("no blocks.0.ff.U in the state dict")
        d = sd["blocks.0.sa.A"].shape[-1]
        widths = [sd[f"blocks.{k}.ff.U"].shape[0] for k in range(L)]
        heads = [1 if sd[f"blocks.{k}.sa.A"].dim() == 2 else sd[f"blocks.{k}.sa.A"].shape[0]
                 for k in range(L)]
        stored = sd["blocks.0.sa.A"].dtype
        dtype = dtype or stored
        if torch.finfo(dtype).bits < torch.finfo(stored).bits:
            # each weight would be rounded twice (exact -> stored -> dtype): outside the
            # float claim's model, and not always the correctly rounded value
            raise ValueError(f"weights stored in {stored} converted to {dtype} are rounded twice; "
                             f"export with --dtype {str(dtype).replace('torch.', '')} or use "
                             f"ExactTransformer.from_certificate(CERT, dtype={dtype})")
        attention = md.get("attention", "hardmax")
        tau = md.get("tau")
        model = cls(d, widths, attention, tau, dtype, md.get("phases"), heads)
        model.load_state_dict({k: v.to(dtype) for k, v in sd.items()})
        model.metadata = md
        return model

    @classmethod
    def load(cls, path, dtype=None):
        """A model from a file written by ``exactseq export`` (npz, safetensors, torch, or
        exact json: each exact weight then correctly rounded once to dtype, default
        float64)."""
        from .export import read_export, rounded
        try:
            sd, md = read_export(path)
        except Exception:           # not written by exactseq export: any weight file it reads
            return cls.from_weight_file(path, dtype)
        if md.get("dtype") == "exact":
            dtype = dtype or torch.float64
            fmt = {v: k for k, v in TORCH_DTYPES.items()}.get(dtype)
            if fmt is None:
                raise ValueError(f"dtype must be one of {', '.join(TORCH_DTYPES)}")
            sd = {k: torch.from_numpy(v).to(dtype) for k, v in rounded(sd, fmt).items()}
        return cls.from_state_dict(sd, md, dtype)

    @classmethod
    def from_weight_file(cls, path, dtype=None, limits=None):
        """A model from any weight file ``exactseq check --weights`` reads (npz,
        safetensors, a PyTorch state_dict, exact JSON; exactseq.weightfile): each exact
        weight correctly rounded once to dtype (default float64).  One-line
        InputError for a file it cannot read."""
        import numpy as np
        from .export import rounded
        from .weightfile import read
        w = read(path, limits=limits)
        dtype = dtype or torch.float64
        fmt = {v: k for k, v in TORCH_DTYPES.items()}.get(dtype)
        if fmt is None:
            raise ValueError(f"dtype must be one of {', '.join(TORCH_DTYPES)}")
        exact = {}
        for k, b in enumerate(w.blocks):
            arr = lambda rows, shape: np.array([x for r in rows for x in r] or [], dtype=object).reshape(shape)
            exact[f"blocks.{k}.ff.eta"] = np.array(b.eta, dtype=object)
            exact[f"blocks.{k}.ff.U"] = arr(b.U, (len(b.U), w.d))
            exact[f"blocks.{k}.ff.b"] = np.array(list(b.b), dtype=object).reshape(len(b.b))
            exact[f"blocks.{k}.ff.W"] = arr(b.W, (w.d, len(b.U)))
            exact[f"blocks.{k}.sa.rho"] = np.array(b.rho, dtype=object)
            for name, i in (("A", 0), ("V", 1)):
                mats = [h[i] for h in b.heads]
                a = np.array([x for m in mats for r in m for x in r], dtype=object)
                exact[f"blocks.{k}.sa.{name}"] = a.reshape((w.d, w.d) if len(mats) == 1 else (len(mats), w.d, w.d))
        sd = {k: torch.from_numpy(v).to(dtype) for k, v in rounded(exact, fmt).items()}
        md = {"attention": w.attention or "hardmax",
              "tau": None if w.tau is None else float(w.tau)}
        return cls.from_state_dict(sd, md, dtype)

    @classmethod
    def from_certificate(cls, cert, dtype=torch.float64, limits=None):
        """A model from a certificate (a path, a JSON object, or an
        exactseq.weights.Model), every weight correctly rounded to dtype."""
        from . import weights as wt
        from proofs_check.limits import DEFAULT
        if isinstance(cert, wt.Model):
            model = cert
        elif isinstance(cert, dict):
            model = wt.parse(cert, limits or DEFAULT)
        else:
            model = wt.load(str(cert), limits or DEFAULT)
        fmt = {v: k for k, v in TORCH_DTYPES.items()}.get(dtype)
        if fmt is None:
            raise ValueError(f"dtype must be one of {', '.join(TORCH_DTYPES)}")
        from .export import metadata, state_dict
        md = metadata(model, fmt)
        sd = state_dict(model, fmt)
        out = cls(model.d, [b.width for b in model.blocks], model.attention, md["tau"], dtype,
                  model.phases, [len(b.heads) for b in model.blocks])
        out.load_state_dict({k: torch.from_numpy(v).to(dtype) for k, v in sd.items()})
        out.metadata = md
        return out
