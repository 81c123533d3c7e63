"""Safe YAML that remembers where things were written, and refuses duplicate keys.

PyYAML's ``safe_load`` silently keeps the last of two equal keys (two ``checkout:`` journeys
become one) and forgets line numbers. Here mappings and sequences come back as :class:`Map` and
:class:`Seq`, which carry the line of every key and value, so every error can say ``slo.yaml:12``.
Only the safe tags are constructed (``SafeLoader``): no Python objects, ever.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from ..errors import ConfigurationError

__all__ = ["Map", "Seq", "load_documents"]


def bounded_repr(value: Any, limit: int = 120) -> str:
    """``repr`` of a YAML value, cut at ``limit`` characters, in time bounded by ``limit``.

    Error messages quote the offending value. A value built from aliases (``&a [*b, *b, ...]``
    nested a few levels) is small in the file but astronomically long when written out, so the
    plain ``repr`` could take minutes and gigabytes while reporting a one-line mistake.
    """
    out: list[str] = []
    size = 0

    def emit(text: str) -> bool:
        nonlocal size
        out.append(text)
        size += len(text)
        return size <= limit

    def walk(item: Any, depth: int) -> bool:
        if isinstance(item, dict):
            pairs: Any = item.items()
            opening, closing = "{", "}"
        elif isinstance(item, list):
            pairs = ((None, child) for child in item)
            opening, closing = "[", "]"
        else:
            if isinstance(item, str) and len(item) > limit:
                return emit(repr(item[:limit]) + "...")
            try:
                return emit(repr(item))
            except ValueError:  # an integer too long to print
                return emit("<a number too long to print>")
        if not emit(opening):
            return False
        for index, (key, child) in enumerate(pairs):
            if (index and not emit(", ")) or index >= 8 or depth >= 4:
                emit("...")
                break
            if key is not None and not (walk(key, depth + 1) and emit(": ")):
                return False
            if not walk(child, depth + 1):
                return False
        return emit(closing)

    walk(value, 0)
    text = "".join(out)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Map(dict[Any, Any]):
    """A YAML mapping with the line (1-based) of the mapping, of each key and of each value."""

    line: int = 0
    key_lines: dict[Any, int]
    value_lines: dict[Any, int]

    def key_line(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)

    def value_line(self, key: Any) -> int:
        return self.value_lines.get(key, self.line)

    def __repr__(self) -> str:
        return bounded_repr(self)


class Seq(list[Any]):
    """A YAML sequence with the line of the sequence and of each item."""

    line: int = 0
    item_lines: list[int]

    def item_line(self, index: int) -> int:
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line

    def __repr__(self) -> str:
        return bounded_repr(self)


# libyaml's parser when PyYAML was built with it (several times faster); the constructors, and so
# the safety, are SafeLoader's either way.
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc]
    pass


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> Map:
    # Keys pulled in with a merge key (<<: *base) may be overridden; keys written twice may not.
    explicit = sum(1 for key_node, _ in node.value if key_node.tag != "tag:yaml.org,2002:merge")
    loader.flatten_mapping(node)
    merged = len(node.value) - explicit
    result = Map()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    result.value_lines = {}
    seen_explicit: dict[Any, int] = {}
    for index, (key_node, value_node) in enumerate(node.value):
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found an unhashable key (a {'list' if isinstance(key, list) else 'mapping'})",
                key_node.start_mark,
            ) from None
        line = key_node.start_mark.line + 1
        if index >= merged:
            if key in seen_explicit:
                raise _DuplicateKey(key, line, seen_explicit[key])
            seen_explicit[key] = line
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
        result.value_lines[key] = value_node.start_mark.line + 1
    return result


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> Seq:
    result = Seq(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)  # type: ignore[arg-type]
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)  # type: ignore[arg-type]


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> Any:
    try:
        return loader.construct_yaml_int(node)
    except ValueError as exc:  # more digits than Python converts (sys.get_int_max_str_digits)
        raise ConstructorError(None, None, f"unusable integer: {exc}", node.start_mark) from None


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)  # type: ignore[arg-type]


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int, first_line: int, path: str = "") -> None:
        super().__init__(key)
        self.key = key
        self.line = line
        self.first_line = first_line
        self.path = path


def _find_duplicate_keys(root: Any) -> None:
    """Raise :class:`_DuplicateKey` with the field path for a key written twice in one mapping.

    Runs on the composed nodes, before anything is constructed, so the message can say
    ``journeys.checkout``; shallow mappings are checked first, each in file order.
    """
    queue: deque[tuple[Any, str]] = deque([(root, "")])
    visited: set[int] = set()  # aliases share nodes; recursive ones would loop
    while queue:
        node, path = queue.popleft()
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[tuple[str, str], int] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    queue.append((value_node, path))
                    continue
                label = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
                label = label if len(label) <= 64 else label[:61] + "..."
                child = f"{path}.{label}" if path else label
                if isinstance(key_node, yaml.ScalarNode):
                    identity = (key_node.tag, key_node.value)
                    line = key_node.start_mark.line + 1
                    if identity in first:
                        raise _DuplicateKey(key_node.value, line, first[identity], child)
                    first[identity] = line
                queue.append((value_node, child))
        elif isinstance(node, yaml.SequenceNode):
            queue.extend((item, f"{path}[{index}]") for index, item in enumerate(node.value))


def load_documents(text: str, source: str) -> list[Any]:
    """Every document of ``text``; any YAML problem becomes a ConfigurationError naming the line."""
    try:
        loader = _Loader(text)
        try:
            documents = []
            while loader.check_node():
                node = loader.get_node()
                _find_duplicate_keys(node)
                documents.append(loader.construct_document(node))
            return documents
        finally:
            loader.dispose()
    except _DuplicateKey as dup:
        field = f" {dup.path}:" if dup.path else ""
        raise ConfigurationError(
            f"{source}:{dup.line}:{field} duplicate key {bounded_repr(dup.key)} (first written on "
            f"line {dup.first_line}); YAML would silently keep only the last one"
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
        problem = "; ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise ConfigurationError(f"{where}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{source}: invalid YAML: {exc}") from None
    except RecursionError:
        raise ConfigurationError(f"{source}: invalid YAML: nested too deeply") from None
