"""Spotify's ``fields=`` filter of Web API answers (``a,b.c,d(e,f(g))``)."""

from __future__ import annotations


def parse_fields(spec: str) -> dict | None:
    """Parse Spotify's ``fields`` syntax (``a,b.c,d(e,f(g))``) into a tree; exclusions ignored."""
    pos = 0

    def parse_list() -> dict:
        nonlocal pos
        tree: dict = {}
        while pos < len(spec):
            if spec[pos] == ")":
                return tree
            if spec[pos] == ",":
                pos += 1
                continue
            name, sub = parse_item()
            if name:
                if name in tree and tree[name] is not None and sub is not None:
                    tree[name].update(sub)
                else:
                    tree[name] = None if (name in tree and tree[name] is None) else sub
        return tree

    def parse_item():
        nonlocal pos
        start = pos
        while pos < len(spec) and spec[pos] not in ",().":
            pos += 1
        name = spec[start:pos].strip()
        sub = None
        if pos < len(spec) and spec[pos] == ".":
            pos += 1
            child, child_sub = parse_item()
            sub = {child: child_sub} if child else None
        elif pos < len(spec) and spec[pos] == "(":
            pos += 1
            sub = parse_list()
            pos += 1  # ')'
        if name.startswith("!"):
            return None, None
        return name, sub

    tree = parse_list()
    return tree or None


def apply_fields(obj, tree):
    if tree is None:
        return obj
    if isinstance(obj, list):
        return [apply_fields(o, tree) for o in obj]
    if isinstance(obj, dict):
        return {k: apply_fields(obj[k], sub) for k, sub in tree.items() if k in obj}
    return obj
