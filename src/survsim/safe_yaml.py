"""Reading the YAML a user gives: safe tags only, bounded in size, depth and expansion.

``yaml.safe_load`` builds plain data only (a ``!!python/...`` tag is an error, nothing is
executed), but it expands nothing lazily: ten nested anchors of ten aliases each (the
"billion laughs") are a few hundred bytes of text and 10**10 values for whatever walks
them next (pydantic, ``repr`` in an error message, ``model_dump``). :func:`load_yaml`
therefore composes the node graph first and counts the values it stands for, memoised
per node so that the count itself is cheap, and refuses recursive aliases, deep nesting,
overlong values and more than :data:`MAX_VALUES` values before it constructs anything.

Every refusal is a :class:`~survsim.errors.ScenarioError` with one line.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from survsim.errors import ScenarioError

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_VALUES",
    "YamlSyntaxError",
    "decode_text",
    "load_yaml",
    "read_text_file",
]

#: The largest file read (the built-in scenarios are under 10 kB).
MAX_FILE_BYTES = 1_000_000
#: The most values (mappings, lists, scalars, keys included) a document may stand for
#: once its aliases are expanded (the built-in scenarios stand for under 1,000).
MAX_VALUES = 100_000
#: The deepest nesting of mappings and lists (the built-in scenarios need 5).
MAX_DEPTH = 32
#: The longest single value, in characters.
MAX_SCALAR_CHARS = 10_000
#: The longest integer, in characters (a 400-digit hexadecimal fits a message in decimal).
MAX_INT_CHARS = 400

_INT_TAG = "tag:yaml.org,2002:int"
#: libyaml's safe loader where PyYAML was built with it (about 10 times faster), else
#: PyYAML's own: both build plain data only.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlSyntaxError(ScenarioError):
    """The text is not YAML at all (as opposed to YAML that is refused)."""


def decode_text(data: bytes, where: str) -> str:
    """The text of ``data`` if it is UTF-8 (a byte-order mark is allowed).

    Raises:
        ScenarioError: UTF-16 or UTF-32 text, binary data (NUL bytes) or bytes that are not
            UTF-8, naming the first offending byte.
    """
    for bom, name in [
        (codecs.BOM_UTF32_LE, "UTF-32"),
        (codecs.BOM_UTF32_BE, "UTF-32"),
        (codecs.BOM_UTF16_LE, "UTF-16"),
        (codecs.BOM_UTF16_BE, "UTF-16"),
    ]:
        if data.startswith(bom):
            raise ScenarioError(f"{where} is not UTF-8 text but {name} (save it as UTF-8)")
    if b"\x00" in data:
        at = data.index(b"\x00")
        raise ScenarioError(f"{where} is not UTF-8 text but binary data (NUL at byte {at})")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"{where} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}; "
            "save it as UTF-8)"
        ) from None


def read_text_file(path: Path, where: str) -> str:
    """Read a regular file of at most :data:`MAX_FILE_BYTES` bytes as UTF-8 text.

    Raises:
        FileNotFoundError: nothing is at ``path`` (the caller words that one).
        ScenarioError: a directory, device, pipe or socket, a file too big, unreadable or
            not UTF-8 text.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:  # too long a name, a NUL in it, no permission
        raise ScenarioError(f"{where} cannot be read: {_reason(exc)}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ScenarioError(f"{where} is a directory, not a YAML file")
    if not stat.S_ISREG(info.st_mode):
        raise ScenarioError(f"{where} is not a regular file (a device, a pipe or a socket)")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(f"{where} cannot be read: {_reason(exc)}") from None
    if max(len(data), info.st_size) > MAX_FILE_BYTES:
        size = f"{info.st_size:,} bytes" if info.st_size > MAX_FILE_BYTES else "larger"
        raise ScenarioError(f"{where} is {size} (allowed: at most {MAX_FILE_BYTES:,} bytes)")
    return decode_text(data, where)


def load_yaml(text: str, where: str) -> Any:
    """One YAML document as plain data, with safe tags only and bounded expansion.

    Returns:
        The document's value (``None`` for an empty text).

    Raises:
        YamlSyntaxError: the text is not YAML (one line, with the line and column).
        ScenarioError: an unknown tag (``!!python/...``), several documents, recursive
            aliases, too many values once aliases are expanded, too deep a nesting, too
            long a value, or a value its tag cannot read (``!!timestamp 2001-02-30``).
    """
    _check_brackets(text, where)
    loader = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        _Budget(where).count(node, 1)
        return loader.construct_document(node)
    except yaml.constructor.ConstructorError as exc:  # a tag safe loading does not build
        raise ScenarioError(f"{where}: not valid YAML{_yaml_problem(exc)}") from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"{where}: not valid YAML{_yaml_problem(exc)}") from None
    except RecursionError:
        raise ScenarioError(
            f"{where}: YAML nested too deeply (allowed: at most {MAX_DEPTH} levels)"
        ) from None
    except (ValueError, TypeError, AttributeError, OverflowError) as exc:
        # a tag's constructor refused the text: !!timestamp 2001-02-30, !!timestamp foo
        detail = f" ({exc})" if isinstance(exc, ValueError) else ""
        raise ScenarioError(f"{where}: a value does not fit its YAML type{detail}") from None
    finally:
        if loader is not None:
            loader.dispose()


def _check_brackets(text: str, where: str) -> None:
    """Refuse more than :data:`MAX_DEPTH` open brackets before parsing.

    The pure-Python scanner takes time quadratic in the open brackets (libyaml's stops at
    1,000), so a file of ``[[[[...`` is refused here, in one pass. Brackets inside quoted
    strings count too: a false alarm needs more than 32 of them unclosed in a row.
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    depth = 0
    for bracket in re.findall(r"[\[\]{}]", text):
        depth = depth + 1 if bracket in "[{" else max(depth - 1, 0)
        if depth > MAX_DEPTH:
            raise ScenarioError(
                f"{where}: YAML nested too deeply (more than {MAX_DEPTH} brackets open; "
                f"allowed: at most {MAX_DEPTH} levels)"
            )


class _Budget:
    """Counts the values a node graph stands for, refusing it past the limits."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (values, height)
        self.open: set[int] = set()  # nodes whose children are being counted

    def count(self, node: yaml.Node, depth: int) -> tuple[int, int]:
        """(values under ``node`` including itself, its height); raise past a limit."""
        key = id(node)
        if key in self.open:
            raise ScenarioError(
                f"{self.where}: a YAML alias (*name) refers to the anchor (&name) it is inside "
                "(allowed: aliases of finished anchors only)"
            )
        if depth > MAX_DEPTH:
            self._too_deep()
        if key not in self.sizes:
            self.open.add(key)
            self.sizes[key] = self._measure(node, depth)
            self.open.discard(key)
        values, height = self.sizes[key]
        if depth + height > MAX_DEPTH:
            self._too_deep()
        return values, height

    def _measure(self, node: yaml.Node, depth: int) -> tuple[int, int]:
        if isinstance(node, yaml.ScalarNode):
            self._check_scalar(node)
            return 1, 0
        if isinstance(node, yaml.MappingNode):
            children = [item for pair in node.value for item in pair]
        else:
            children = list(node.value)
        values, height = 1, 0
        for child in children:
            child_values, child_height = self.count(child, depth + 1)
            values += child_values
            height = max(height, child_height + 1)
            if values > MAX_VALUES:
                raise ScenarioError(
                    f"{self.where}: YAML stands for more than {MAX_VALUES:,} values once its "
                    f"aliases (*name) are expanded (allowed: at most {MAX_VALUES:,})"
                )
        return values, height

    def _check_scalar(self, node: yaml.ScalarNode) -> None:
        limit = MAX_INT_CHARS if node.tag == _INT_TAG else MAX_SCALAR_CHARS
        if len(node.value) > limit:
            what = "an integer" if node.tag == _INT_TAG else "a value"
            line = node.start_mark.line + 1 if node.start_mark else "?"
            raise ScenarioError(
                f"{self.where}: {what} at line {line} has {len(node.value):,} characters "
                f"(allowed: at most {limit:,})"
            )

    def _too_deep(self) -> None:
        raise ScenarioError(
            f"{self.where}: YAML nested too deeply (allowed: at most {MAX_DEPTH} levels)"
        )


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """`` at line 3, column 7: <problem>`` from a YAML error, in one line."""
    mark = getattr(exc, "problem_mark", None)
    at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    if isinstance(exc, yaml.reader.ReaderError):
        code = ord(exc.character) if isinstance(exc.character, str) else exc.character
        problem = (
            f"special character #x{code:04x} at position {exc.position} is not allowed "
            "(allowed: printable characters, tabs and line breaks)"
        )
    else:
        problem = getattr(exc, "problem", None) or "not valid YAML"
    tag = re.search(r"constructor for the tag '([^']*)'", str(problem))
    if tag:  # !!python/object/apply:os.system and the like
        name = tag.group(1).replace("tag:yaml.org,2002:", "!!")
        problem = (
            f"the tag {name} is not allowed (allowed: the standard YAML tags of plain data; "
            "nothing in a file is ever run)"
        )
    return f"{at}: {' '.join(str(problem).split())}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, ValueError) and "null" in str(exc):
        return "its name holds a NUL character"
    return str(exc) or type(exc).__name__
