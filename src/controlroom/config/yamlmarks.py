"""YAML loading that remembers where each value was written.

PyYAML's safe loader returns plain data and forgets source positions. For
messages such as ``settings.local.yaml:12: devices.tempctl.hk_period_s: ...``
we compose the node graph ourselves, build the data from it with the same
safe constructor, and keep a map from key path to line number. When several
files are merged, :func:`locate` names the file whose value won.

Duplicate keys are refused: PyYAML would silently keep the last one, and in a
long settings file that hides an override the author believes is in force.
Aliases are bounded as in :func:`~controlroom.config.yamlfile.load_yaml`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from controlroom.config.errors import ConfigError
from controlroom.config.yamlfile import YamlBombError, check_aliases, may_alias

KeyPath = tuple[str | int, ...]
"""Keys and list indices from the document root down to one value."""

_MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlError(ConfigError):
    """A YAML file cannot be parsed; the message starts with ``file:line:``."""


@dataclass(frozen=True)
class MarkedDocument:
    """The data of one YAML file, with the line (1-based) of every key and list item."""

    source: str
    data: Any
    lines: Mapping[KeyPath, int] = field(default_factory=dict)


def load_marked(text: str, source: str) -> MarkedDocument:
    """Parse ``text`` (read from ``source``, used in messages) keeping line numbers."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:  # an empty file, or only comments
            return MarkedDocument(source, None)
        if may_alias(text):
            check_aliases(node, source)  # before anything below expands them
        _refuse_duplicate_keys(node, source)
        data = loader.construct_document(node)
        lines: dict[KeyPath, int] = {(): node.start_mark.line + 1}
        _record_lines(loader, node, (), lines, frozenset())
        return MarkedDocument(source, data, lines)
    except yaml.MarkedYAMLError as exc:
        last_line = max(1, len(text.splitlines()))
        raise YamlError(describe_yaml_error(exc, source, last_line)) from None
    except yaml.YAMLError as exc:  # e.g. bytes that are not text
        raise YamlError(f"{source}: {' '.join(str(exc).split())}") from None
    except YamlBombError as exc:
        raise YamlError(str(exc)) from None
    except RecursionError:
        raise YamlError(f"{source}: the YAML is nested too deeply") from None
    finally:
        loader.dispose()


def describe_yaml_error(exc: yaml.MarkedYAMLError, source: str, last_line: int) -> str:
    """``file:line: problem (while ... that starts on line N)`` on one line.

    An error found at the end of the input is put on the last line of the text
    rather than on the empty line after its final newline.
    """
    mark = exc.problem_mark or exc.context_mark
    where = f"{source}:{min(mark.line + 1, last_line)}" if mark is not None else source
    message = exc.problem or exc.context or "invalid YAML"
    if exc.problem and exc.context:
        started = f" that starts on line {exc.context_mark.line + 1}" if exc.context_mark else ""
        message += f" ({exc.context}{started})"
    return f"{where}: {message}"


def locate(documents: Sequence[MarkedDocument], path: KeyPath) -> tuple[int, int]:
    """(index into ``documents``, line) of the value at ``path`` in their merge.

    Later documents override earlier ones, so the value at a path of the merged
    tree comes from the last document that has that exact path; a path found
    nowhere (a missing key) is placed at its nearest existing parent.
    """
    for depth in range(len(path), -1, -1):
        prefix = path[:depth]
        for index in reversed(range(len(documents))):
            if prefix in documents[index].lines:
                return index, documents[index].lines[prefix]
    return len(documents) - 1, 1


def dotted(path: KeyPath) -> str:
    """``devices.tempctl.demo[2]``: keys joined by dots, list indices in brackets."""
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else f".{key}" if text else str(key)
    return text or "(top level)"


def _refuse_duplicate_keys(root: yaml.Node, source: str) -> None:
    for node in _mapping_nodes(root):
        seen: dict[tuple[str, str], int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
                continue
            key = (key_node.tag, key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise YamlError(
                    f"{source}:{line}: duplicate key {key_node.value!r} (first on line {seen[key]})"
                )
            seen[key] = line


def _mapping_nodes(root: yaml.Node) -> Iterator[yaml.MappingNode]:
    """Every mapping node under ``root``, each once (aliases may share or loop)."""
    stack, visited = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            yield node
            stack.extend(n for pair in node.value for n in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def _record_lines(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    path: KeyPath,
    lines: dict[KeyPath, int],
    ancestors: frozenset[int],
) -> None:
    """Fill ``lines`` for everything below ``node`` (run after construction, which
    has already expanded ``<<`` merge keys in place)."""
    if id(node) in ancestors:  # a recursive alias: its content is recorded above
        return
    ancestors |= {id(node)}
    children: list[tuple[str | int, yaml.Node, yaml.Node]] = []
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = loader.construct_object(key_node)  # typed, as in the data: `1:` is 1
                children.append((key, key_node, value_node))
    elif isinstance(node, yaml.SequenceNode):
        children = [(index, item, item) for index, item in enumerate(node.value)]
    for key, marked, value_node in children:
        lines[(*path, key)] = marked.start_mark.line + 1  # later duplicates (merges) win
        _record_lines(loader, value_node, (*path, key), lines, ancestors)
