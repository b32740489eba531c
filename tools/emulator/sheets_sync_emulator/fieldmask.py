"""Field masks: ``fields=`` partial responses and the ``fields`` of update requests.

Syntax: comma-separated paths, ``.`` or ``/`` between names, ``a(b,c)`` sub-selections,
``*`` for everything (``sheets(properties,protectedRanges)``, ``gridProperties/rowCount``,
``kind,nextPageToken,files(id,name)``). A mask parses into a tree: name -> subtree, where
``None`` selects the whole value.
"""

from __future__ import annotations

import re
from typing import Any

Tree = dict[str, "Tree | None"] | None

_TOKEN = re.compile(r"\s*([^,()./\s]+|[,()./])")


class MaskSyntaxError(ValueError):
    pass


def _tokens(mask: str) -> list[str]:
    out, pos = [], 0
    mask = mask.strip()
    while pos < len(mask):
        m = _TOKEN.match(mask, pos)
        if not m:
            raise MaskSyntaxError(mask)
        out.append(m.group(1))
        pos = m.end()
    return out


def _merge(into: dict, name: str, sub: Tree) -> None:
    if name in into and (into[name] is None or sub is None):
        into[name] = None
    elif name in into:
        for key, value in sub.items():
            _merge(into[name], key, value)
    else:
        into[name] = sub


def parse(mask: str) -> Tree:
    """Parse a mask; an empty mask or ``*`` selects everything (None)."""
    tokens = _tokens(mask)
    if not tokens or tokens == ["*"]:
        return None
    pos = 0

    def path_list() -> dict:
        nonlocal pos
        tree: dict = {}
        while True:
            name, sub = path()
            _merge(tree, name, sub)
            if pos < len(tokens) and tokens[pos] == ",":
                pos += 1
                continue
            return tree

    def path() -> tuple[str, Tree]:
        nonlocal pos
        if pos >= len(tokens) or tokens[pos] in ",()./":
            raise MaskSyntaxError(mask)
        name = tokens[pos]
        pos += 1
        if pos < len(tokens) and tokens[pos] in "./":
            pos += 1
            sub_name, sub = path()
            return name, {sub_name: sub}
        if pos < len(tokens) and tokens[pos] == "(":
            pos += 1
            sub_tree = path_list()
            if pos >= len(tokens) or tokens[pos] != ")":
                raise MaskSyntaxError(mask)
            pos += 1
            return name, sub_tree
        return name, None

    tree = path_list()
    if pos != len(tokens):
        raise MaskSyntaxError(mask)
    return tree


def apply(value: Any, tree: Tree) -> Any:
    """Keep only the selected parts; objects on a selected path stay even when empty."""
    if tree is None:
        return value
    if isinstance(value, list):
        return [apply(item, tree) for item in value]
    if not isinstance(value, dict):
        return value
    if "*" in tree:
        return {k: apply(v, tree.get(k, tree["*"])) for k, v in value.items()}
    return {k: apply(value[k], sub) for k, sub in tree.items() if k in value}


def paths(mask: str) -> list[list[str]]:
    """Flatten a mask into leaf paths (for update requests): ``a(b,c)`` -> [[a,b],[a,c]]."""
    out: list[list[str]] = []

    def walk(tree: Tree, prefix: list[str]) -> None:
        if tree is None:
            out.append(prefix)
            return
        for name, sub in tree.items():
            walk(sub, prefix + [name])

    tree = parse(mask)
    walk(tree, [])
    return out if out != [[]] else [["*"]]
