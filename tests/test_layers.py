"""The packages read as layers: every import (at module level or inside a function)
goes from a module to one in its own layer or below, there is no import cycle,
proofs_check imports nothing from exactseq, and only the command line prints."""
import ast
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# exactseq, bottom to top; a module may import only from its own layer or below
EXACTSEQ = [
    ["errors"],
    ["numbers"],
    ["dataset", "classification", "strategies", "hostile"],
    ["model", "enclosures", "weights", "weightfile"],
    ["construction"],                                       # the package, one module per phase
    ["floatsafe", "certificate", "certfield", "exactmodel", "softsearch", "weightcert"],
    ["floatpass", "rounded", "export", "torch", "audit",    # the float world
     "tikhonov", "evaluation", "pictures", "distributed",   # and analysis
     "fuzz", "falsify"],                                    # and the campaigns
    ["api"],
    ["cli", "__main__"],
]
PROOFS_CHECK = [
    ["limits", "numbers"],
    ["lemmas", "reading", "distance"],
    ["kernel", "engine", "filters", "sparse"],
    ["causal", "softmax", "floatclaim", "shards", "weights"],
    ["checker"],
    ["report"],
    ["__main__"],
]


def module_name(path, root):
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def import_graph(package):
    """{module: {modules of the same package it imports}}, every import statement."""
    root = ROOT
    files = sorted((root / package).rglob("*.py"))
    mods = {module_name(f, root) for f in files}
    graph = {}
    for f in files:
        m = module_name(f, root)
        is_pkg = f.name == "__init__.py"
        base = m.split(".") if is_pkg else m.split(".")[:-1]
        out = set()
        for node in ast.walk(ast.parse(f.read_text())):
            targets = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    prefix = base[:len(base) - node.level + 1]
                    mod = ".".join(prefix + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                targets = [f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in mods] or [mod]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            out |= {t for t in targets if t in mods and t != m}
        graph[m] = out
    return graph


def rank(module, layers, package):
    parts = module.split(".")
    if len(parts) == 1:
        return None                       # the package's own __init__ (lazy re-exports)
    top = parts[1]
    for k, layer in enumerate(layers):
        if top in layer:
            return k
    raise AssertionError(f"{module} is in no layer of {package}: add it to tests/test_layers.py")


def cycles(graph):
    """Every strongly connected component of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


@pytest.mark.parametrize("package, layers", [("exactseq", EXACTSEQ), ("proofs_check", PROOFS_CHECK)])
def test_no_upward_import_and_no_cycle(package, layers):
    graph = import_graph(package)
    upward = []
    for m, targets in graph.items():
        rm = rank(m, layers, package)
        for t in targets:
            rt = rank(t, layers, package)
            if rm is not None and rt is not None and rt > rm:
                upward.append(f"{m} -> {t}")
    assert upward == []
    assert cycles(graph) == []


def test_the_checker_imports_nothing_from_exactseq():
    for f in (ROOT / "proofs_check").rglob("*.py"):
        text = f.read_text()
        assert not re.search(r"^\s*(from|import)\s+exactseq", text, re.M), f


def test_only_the_command_line_prints_or_exits():
    """Library modules return values, raise, or call a progress callback."""
    allowed = {"cli", "__main__", "strategies"}
    offenders = []
    for f in sorted((ROOT / "exactseq").rglob("*.py")):
        m = module_name(f, ROOT).split(".")
        if len(m) > 1 and m[1] in allowed:
            continue
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                offenders.append(f"{f.relative_to(ROOT)}:{node.lineno}: print")
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "sys" \
                    and node.attr in ("exit", "stderr", "stdout"):
                offenders.append(f"{f.relative_to(ROOT)}:{node.lineno}: sys.{node.attr}")
    assert offenders == []


def test_the_graph_reader_sees_function_level_imports():
    graph = import_graph("exactseq")
    assert "exactseq.audit" in graph["exactseq.cli.audit"]        # imported inside run()
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
