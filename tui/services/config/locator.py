"""Where each key of a HOCON file (and its includes) is written: file, line and raw text.

pyhocon's ConfigTree keeps no positions, so diagnostics would otherwise point at nothing. This is a
small tolerant scanner over the raw text that follows HOCON's nesting (objects, arrays, dotted keys,
includes) and records, for every key path, the file and line of its definition and the raw text of
scalar values. It also spots what pyhocon accepts silently but the admin did not mean: two objects
on one line inside an array (HOCON merges them into one element) and missing or empty includes.
It never raises: on text it does not understand it skips ahead; pyhocon reports the syntax error.

It is also the gate in front of pyhocon, whose parser recurses per nesting level and reads included
files itself: every file is read here once through `bounded_files` (regular files only, size-limited,
UTF-8), nesting, key depth and include depth are limited and include cycles are
found with the chain of include lines. Those findings are `problems`: the loader does not hand a
config with problems to pyhocon, and pyhocon's includes are served from the texts read here.
"""

from __future__ import annotations

import re
from pathlib import Path

from tui.core import limits
from tui.services.bounded_files import InputFileError, read_text, resolve
from tui.services.config.hocon import can_wrap
from tui.services.config.hocon_tokens import Token, has_content, nesting_problem, split_key, tokenize, unquote
from tui.services.config.sourceindex import IncludeRef, KeyPath, Location, MergedObjects, Problem, SourceIndex


class _Scanner:
    def __init__(
        self, index: SourceIndex, file: Path, prefix: KeyPath, chain: tuple[tuple[Path, Location], ...]
    ) -> None:
        self.index = index
        self.file = file  # as pyhocon will name it (joined, not resolved): includes resolve from here
        self.name = str(file)
        self.prefix = prefix
        self.chain = chain  # (resolved file, include statement) for every file that led here
        self.toks: list[Token] = []
        self.pos = 0
        self.too_deep = False
        self.root_dotted = 0

    def run(self, text: str) -> None:
        self.toks = tokenize(text)
        self.pos = 0
        too_deep = nesting_problem(self.toks, self.name, self.prefix)
        if too_deep:
            self.index.problems.append(too_deep)
            return
        if self._peek_kind() == "{":
            self.pos += 1
        self._object(self.prefix, closing="}")
        self._check_substitutions(text)

    def _check_substitutions(self, text: str) -> None:
        where = Location(self.name, 1)
        count = sum(1 for t in self.toks if t.kind == "subst")
        self.index.substitutions += count
        if count and self.index.substitutions > limits.MAX_SUBSTITUTIONS:
            self.index.problems.append(
                Problem(where, self.prefix, f"more than {limits.MAX_SUBSTITUTIONS} substitutions ${{...}}")
            )
        if not can_wrap(text) and self.root_dotted > limits.MAX_ROOT_DOTTED_WITH_SUBSTITUTIONS:
            self.index.problems.append(
                Problem(
                    where,
                    self.prefix,
                    f"{self.root_dotted} dotted keys at the top level of a file with substitutions"
                    f"{' (or a root in braces)' if '${' not in text and '+=' not in text else ''} (at most "
                    f"{limits.MAX_ROOT_DOTTED_WITH_SUBSTITUTIONS}): write them inside an object, "
                    "e.g. ticrypt.vm { ... }",
                )
            )

    # -- token helpers ------------------------------------------------------------------------------
    def _peek(self) -> Token | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def _peek_kind(self) -> str:
        tok = self._peek()
        if tok is None:
            return "eof"
        return tok.text if tok.kind == "punct" else tok.kind

    def _skip_newlines(self) -> None:
        while self._peek_kind() in ("nl", ","):
            self.pos += 1

    def _deep(self, path: KeyPath, line: int) -> bool:
        """Whether `path` is past the key depth limit (reported once per file)."""
        if len(path) <= limits.MAX_KEY_DEPTH:
            return False
        if not self.too_deep:
            self.too_deep = True
            self.index.problems.append(
                Problem(
                    Location(self.name, line),
                    path[: limits.MAX_KEY_DEPTH],
                    f"key path deeper than {limits.MAX_KEY_DEPTH} levels (dotted keys and nested objects)",
                )
            )
        return True

    # -- grammar ------------------------------------------------------------------------------------
    def _object(self, path: KeyPath, closing: str) -> None:
        while True:
            self._skip_newlines()
            kind = self._peek_kind()
            if kind == "eof":
                return
            if kind == closing or kind in ("}", "]"):
                self.pos += 1
                return
            tok = self._peek()
            assert tok is not None
            if tok.kind == "text" and tok.text == "include":
                self._include(path)
                continue
            self._field(path)

    def _field(self, path: KeyPath) -> None:
        key_parts: list[Token] = []
        while self._peek_kind() in ("text", "string"):
            tok = self._peek()
            assert tok is not None
            # Adjacent tokens with whitespace between belong to one key in HOCON; stop at the line end.
            if key_parts and tok.line != key_parts[-1].line:
                break
            key_parts.append(tok)
            self.pos += 1
        if not key_parts:
            self.pos += 1  # not a key: skip one token and resynchronise
            return
        keys = split_key(key_parts)
        line = key_parts[0].line
        if path == self.prefix and len(keys) > 1:
            self.root_dotted += 1
        full = path + tuple(keys)
        if self._deep(full, line):
            full = full[: limits.MAX_KEY_DEPTH]
        for end in range(len(path) + 1, len(full)):
            self.index.keys.setdefault(full[:end], Location(self.name, line))
        self.index.keys[full] = Location(self.name, line)
        if self._peek_kind() in (":", "=", "plus_eq"):
            self.pos += 1
        self._value(full)

    def _value(self, path: KeyPath) -> None:
        while self._peek_kind() == "nl":  # a value may start on the next line after ':'
            self.pos += 1
        kind = self._peek_kind()
        if kind == "{":
            self.pos += 1
            self._object(path, closing="}")
            self._rest_of_value(path)
        elif kind == "[":
            self.pos += 1
            self._array(path)
        else:
            self._scalar(path)

    def _rest_of_value(self, path: KeyPath) -> None:
        # Object concatenation such as `{ a: 1 } { b: 2 }` or `${base} { ... }` on the same line.
        while self._peek_kind() == "{":
            self.pos += 1
            self._object(path, closing="}")

    def _scalar(self, path: KeyPath) -> None:
        parts: list[str] = []
        last_line = None
        while self._peek_kind() not in ("nl", ",", "}", "]", "eof", "{", "["):
            tok = self._peek()
            assert tok is not None
            if last_line is not None and parts:
                parts.append(" ")
            parts.append(unquote(tok) if tok.kind in ("string", "triple") else tok.text)
            last_line = tok.line
            self.pos += 1
        if parts:
            self.index.raw[path] = re.sub(r"\s+", " ", "".join(parts)).strip()
        if self._peek_kind() == "{":  # `${x} { ... }`
            self._rest_of_value(path)

    def _array(self, path: KeyPath) -> None:
        index = 0
        last_object_end_line: int | None = None
        separated = True
        while True:
            kind = self._peek_kind()
            if kind == "eof":
                return
            if kind in ("]", "}"):
                # A `}` here is a mismatched bracket (pyhocon reports it); it belongs to the enclosing
                # object, so it is left for that object to consume.
                if kind == "]":
                    self.pos += 1
                return
            if kind in ("nl", ","):
                separated = True
                self.pos += 1
                continue
            tok = self._peek()
            assert tok is not None
            if kind == "{":
                if not separated and last_object_end_line == tok.line:
                    # HOCON object concatenation: this object merges into the previous element.
                    element = path + (index - 1,)
                    self.index.merged.append(MergedObjects(Location(self.name, tok.line), element))
                else:
                    element = path + (index,)
                    self.index.keys[element] = Location(self.name, tok.line)
                    index += 1
                self.pos += 1
                self._object(element, closing="}")
                closing = self.toks[self.pos - 1] if self.pos else tok
                last_object_end_line = closing.line
                separated = False
                continue
            element = path + (index,)
            self.index.keys[element] = Location(self.name, tok.line)
            index += 1
            start = self.pos
            if kind == "[":
                self.pos += 1
                self._array(element)
            else:
                self._scalar(element)
            if self.pos == start:
                self.pos += 1  # never loop on a token nothing consumes
            last_object_end_line = None
            separated = False

    def _include(self, path: KeyPath) -> None:
        start = self._peek()
        assert start is not None
        self.pos += 1
        at = Location(self.name, start.line)
        target: str | None = None
        words: list[str] = []
        # Forms: include "x", include file("x"), include required(file("x")), include url(...)
        while self._peek_kind() not in ("nl", ",", "}", "eof"):
            tok = self._peek()
            assert tok is not None
            if tok.kind == "string" and target is None:
                target = unquote(tok)
            elif tok.kind == "text":
                words.extend(w for w in re.split(r"[()\s]+", tok.text) if w)
            self.pos += 1
        if target is None:
            return  # not an include statement pyhocon accepts: it reports the syntax error
        refused = self._refused_form(target, words)
        if refused:
            self.index.problems.append(Problem(at, path, refused))
            return
        if len(self.index.includes) >= limits.MAX_INCLUDES:
            self.index.problems.append(
                Problem(at, path, f"more than {limits.MAX_INCLUDES} include statements in this config")
            )
            return
        joined = self.file.parent / target
        try:
            resolved = resolve(joined)
        except InputFileError as exc:
            self.index.problems.append(Problem(at, path, f"include {target!r}: {exc.message}"))
            return
        exists = resolved.exists()
        text = ""
        if exists:
            cycle = [i for i, (seen, _) in enumerate(self.chain) if seen == resolved]
            if cycle:
                links = [*self.chain[cycle[0] + 1 :], (resolved, at)]
                steps = ", ".join(f"{loc.file}:{loc.line} includes {Path(f).name}" for f, loc in links)
                self.index.problems.append(Problem(at, path, f"include cycle: {steps}"))
                return
            if len(self.chain) > limits.MAX_INCLUDE_DEPTH:
                self.index.problems.append(
                    Problem(at, path, f"includes nested deeper than {limits.MAX_INCLUDE_DEPTH} files")
                )
                return
            try:
                text = read_text(resolved, limits.MAX_CONFIG_FILE_BYTES)
            except InputFileError as exc:
                self.index.problems.append(Problem(at, path, f"include {target!r}: {exc}"))
                return
            self.index.total_bytes += len(text)
            if self.index.total_bytes > limits.MAX_CONFIG_TOTAL_BYTES:
                self.index.problems.append(
                    Problem(
                        at,
                        path,
                        f"the config and its includes exceed {limits.MAX_CONFIG_TOTAL_BYTES // limits.MIB} MiB "
                        "together",
                    )
                )
                return
            self.index.texts[str(resolved)] = text
        empty = exists and not has_content(text)
        self.index.includes.append(IncludeRef(at, path, target, resolved, exists, empty))
        if exists and not empty:
            self.index.files.append(resolved)
            _Scanner(self.index, joined, path, (*self.chain, (resolved, at))).run(text)

    @staticmethod
    def _refused_form(target: str, words: list[str]) -> str | None:
        if "url" in words or target.startswith(("http:", "https:", "file:")):
            return f"include {target!r}: includes from URLs are not supported (vmdeck never fetches config)"
        if "classpath" in words or "package" in words:
            return f"include {target!r}: classpath and package includes are not supported; name a file"
        if any(c in target for c in "*?["):
            return f"include {target!r}: wildcards in include paths are not supported; name each file"
        return None


def index_source(text: str, file: Path) -> SourceIndex:
    """Scan a config's text (already read) and, recursively, the files it includes."""
    index = SourceIndex(files=[file], texts={str(file): text}, total_bytes=len(text))
    _Scanner(index, file, (), ((file, Location(str(file), 0)),)).run(text)
    return index
