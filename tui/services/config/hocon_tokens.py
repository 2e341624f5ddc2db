"""The HOCON tokenizer of the config scanner (locator.py): tokens with their line, key splitting and
the nesting limit, checked in one linear pass before pyhocon (whose parser recurses per level) sees
the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tui.core import limits
from tui.services.config.sourceindex import KeyPath, Location, Problem

_TOKEN = re.compile(
    r"""
    (?P<nl>\n)
  | (?P<ws>[ \t\r\f\ufeff]+)
  | (?P<comment>(?:\#|//)[^\n]*)
  | (?P<triple>\"\"\"[\s\S]*?\"\"\"\"*)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<subst>\$\{[^}\n]*\})
  | (?P<plus_eq>\+=)
  | (?P<punct>[{}\[\],:=])
  | (?P<text>(?:[^\s"{}\[\],:=\#$+]|\+(?!=)|/(?!/))+)
  | (?P<other>.)
    """,
    re.VERBOSE,
)


@dataclass
class Token:
    kind: str
    text: str
    line: int


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    line = 1
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        value = match.group()
        if kind not in ("ws", "comment"):
            tokens.append(Token(kind, value, line))
        line += value.count("\n")
    return tokens


def unquote(token: Token) -> str:
    if token.kind == "string":
        body = token.text[1:-1]
        return re.sub(r"\\(.)", r"\1", body)
    if token.kind == "triple":
        return token.text[3:-3]
    return token.text


def split_key(parts: list[Token]) -> list[str]:
    """`a.b."c.d"` -> ['a', 'b', 'c.d']: dots split unquoted text only."""
    out: list[str] = [""]
    for tok in parts:
        if tok.kind == "text":
            pieces = tok.text.split(".")
            out[-1] += pieces[0]
            out.extend(pieces[1:])
        else:
            out[-1] += unquote(tok)
    return out


def nesting_problem(toks: list[Token], name: str, prefix: KeyPath) -> Problem | None:
    """Brackets open deeper than the limit (one linear pass): pyhocon's parser recurses once per level
    and fails with RecursionError at about 50. Unbalanced brackets are left to pyhocon's syntax error,
    which names the line where its parse stopped."""
    depth = 0
    for tok in toks:
        if tok.kind != "punct":
            continue
        if tok.text in "{[":
            depth += 1
            if depth > limits.MAX_NESTING:
                return Problem(
                    Location(name, tok.line),
                    prefix,
                    f"nesting deeper than {limits.MAX_NESTING} levels of {{ }} and [ ]",
                )
        elif tok.text in "}]":
            depth = max(0, depth - 1)
    return None


def has_content(text: str) -> bool:
    return any(t.kind not in ("nl",) for t in tokenize(text))
