#!/usr/bin/env python3
"""Lists the module import edges inside each crate of the workspace and fails on any circle.

A module is a source file (`src/a/b.rs` or `src/a/b/mod.rs` is `a::b`; `lib.rs` and `main.rs`
are the crate root); a module's inline submodules (`mod ssr { … }`, `mod tests { … }`) belong to
its file. There is an edge A → B when the code of A names a path into B: `crate::b::…`,
`super::…`, `self::…`, or a path through a module A declares (`b::item`), resolved to the deepest
file module the path reaches (a path that names only a module's own items is an edge to that
module, a child naming its parent's items included). Declaring a submodule (`mod b;`) is not an
edge: the crate's tree is not a dependency. The crate root may name every module (it declares and wires them: the routes, the
registry), so edges out of the root are listed but never part of a circle.

Usage: scripts/module-cycles.py [--edges] [CRATE_DIR ...]   (default: every workspace crate)
Exit status 1 when a circle is found, or a feature imports another (`FEATURES`), with each
printed.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATES = ["hotspot", "protocol", "bodega", "app", "frontend", "server"]

# The rooms of a crate that are features: a feature may import the crate's shared floor (every
# other module) and its own submodules, never another feature; the floor never imports a
# feature. Only the crate root, which wires them, names them all (docs/ARCHITECTURE.md).
FEATURES = {
    "app": ["accuracy", "admin", "crime", "missions", "overview", "places", "presence", "signin", "snapshot", "upload"],
}

COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
STRING = re.compile(r'b?r(#*)".*?"\1|b?"(?:\\.|[^"\\])*"', re.S)
CHAR = re.compile(r"'(?:\\.|[^'\\])'")
PATH = re.compile(r"(?<![\w:])((?:crate|super|self)(?:\s*::\s*\w+)+)")
USE_GROUP = re.compile(r"\buse\s+((?:crate|super|self)(?:::\w+)*)::\{")


def module_of(src: Path, file: Path) -> tuple[str, ...]:
    rel = file.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] in ("lib", "main") and len(parts) == 1:
        return ()
    if parts[-1] == "mod":
        parts = parts[:-1]
    return tuple(parts)


def strip(text: str) -> str:
    text = COMMENT.sub(" ", text)
    text = STRING.sub('""', text)
    return CHAR.sub("' '", text)


def expand_groups(text: str) -> list[tuple[int, str]]:
    """`use crate::a::{b, c::d};` names crate::a::b and crate::a::c::d (with where it is)."""
    out = []
    for m in USE_GROUP.finditer(text):
        prefix = m.group(1)
        depth, i = 1, m.end()
        start = i
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        body = text[start : i - 1]
        out.extend((m.start(), f"{prefix}::{leaf}") for leaf in flatten(body))
    return out


def flatten(body: str) -> list[str]:
    items, depth, cur = [], 0, ""
    for ch in body:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
        else:
            cur += ch
    items.append(cur)
    out = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        if "{" in item:
            head, _, rest = item.partition("{")
            head = head.strip().rstrip(":").strip()
            out.extend(f"{head}::{leaf}" if head else leaf for leaf in flatten(rest.rsplit("}", 1)[0]))
        else:
            out.append(item.split(" as ")[0].strip())
    return out


INLINE_MOD = re.compile(r"\bmod\s+\w+\s*\{")


def inline_spans(text: str) -> list[tuple[int, int]]:
    """The byte ranges of `mod name { … }` blocks in a file (so `super` inside them is resolved
    to the file first)."""
    spans = []
    for m in INLINE_MOD.finditer(text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        spans.append((m.start(), i))
    return spans


def crate_edges(crate: Path) -> dict[tuple[str, ...], set[tuple[str, ...]]]:
    src = crate / "src"
    # A crate with both a library and `main.rs`: the binary is a crate of its own that reaches the
    # library by name (`server::…`), never by `crate::`, so it cannot close a circle in it.
    sources = [f for f in src.rglob("*.rs") if not (f == src / "main.rs" and (src / "lib.rs").exists())]
    files = {module_of(src, f): f for f in sources}
    modules = set(files)
    edges: dict[tuple[str, ...], set[tuple[str, ...]]] = {m: set() for m in modules}
    for mod, file in files.items():
        text = strip(file.read_text(encoding="utf-8"))
        spans = inline_spans(text)
        children = sorted(m[-1] for m in modules if len(m) == len(mod) + 1 and m[: len(mod)] == mod)
        found = [(m.start(), re.sub(r"\s+", "", m.group(1))) for m in PATH.finditer(text)]
        found += expand_groups(text)
        if children:
            bare = re.compile(r"(?<![\w:])((?:" + "|".join(children) + r")(?:\s*::\s*\w+)+)")
            found += [(m.start(), "self::" + re.sub(r"\s+", "", m.group(1))) for m in bare.finditer(text)]
        for at, path in found:
            parts = path.split("::")
            inline_depth = sum(1 for a, b in spans if a <= at < b)
            if parts[0] == "crate":
                base: tuple[str, ...] = ()
                rest = parts[1:]
            else:
                base, rest = mod, parts
                while rest and rest[0] in ("self", "super"):
                    if rest[0] == "super":
                        if inline_depth:
                            inline_depth -= 1
                        elif base:
                            base = base[:-1]
                    rest = rest[1:]
            target = base
            for part in rest:
                if target + (part,) not in modules:
                    break
                target = target + (part,)
            if target != mod:
                edges[mod].add(target)
    return edges


def circles(edges: dict[tuple[str, ...], set[tuple[str, ...]]]) -> list[list[tuple[str, ...]]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict = {}
    low: dict = {}
    stack: list = []
    on: set = set()
    out: list = []
    counter = [0]
    graph = edges

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
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

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def name(mod: tuple[str, ...]) -> str:
    return "::".join(mod) if mod else "crate"


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    show = "--edges" in sys.argv
    crates = [Path(a) for a in args] or [ROOT / c for c in CRATES]
    failed = False
    back = 0
    for crate in crates:
        edges = crate_edges(crate)
        if show:
            for m in sorted(edges):
                for t in sorted(edges[m]):
                    print(f"{crate.name}: {name(m)} -> {name(t)}")
        features = set(FEATURES.get(crate.name, []))
        for m in sorted(edges):
            if m == ():
                continue
            for t in sorted(edges[m]):
                mine, theirs = m[0] if m[0] in features else None, t[0] if t and t[0] in features else None
                if theirs is not None and theirs != mine:
                    failed = True
                    where = f"feature {mine}" if mine else "the shared floor"
                    print(f"{crate.name}: {name(m)} -> {name(t)}: {where} imports feature {theirs}")
        for comp in circles(edges):
            failed = True
            back += sum(1 for m in comp for t in edges[m] if t in comp)
            inner = {m: sorted(t for t in edges[m] if t in comp) for m in comp}
            print(f"{crate.name}: import circle among {len(comp)} modules:")
            for m in comp:
                print(f"  {name(m)} -> {', '.join(name(t) for t in inner[m])}")
    if failed:
        print(f"module-cycles: {back} imports run back up (edges inside a circle)")
    else:
        print("module-cycles: no import circle in " + ", ".join(c.name for c in crates) + "; no feature imports another")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
