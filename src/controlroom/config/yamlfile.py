"""Reading and writing the YAML files behind a NavigableDict.

Only the safe loader and dumper are used (libyaml's when it is installed): a
configuration file is data, and a YAML tag must never be able to construct an
arbitrary Python object. Errors name the file and, for syntax errors, the
line, so the user can go straight to the fault.

Anchors and aliases are bounded: YAML lets a few lines of aliases stand for
billions of values (the "billion laughs" document), which every consumer of
the data (a NavigableDict, a message, a comparison) would expand. A document
whose aliases add more than :data:`MAX_ALIAS_VALUES` values, or refer to a
value that contains them, is refused before any data is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from controlroom.config.confine import read_limited_text
from controlroom.config.errors import ConfigError

MAX_ALIAS_VALUES = 100_000
"""How many values anchors and aliases may add to a document once expanded."""

_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SafeDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class YamlBombError(ConfigError):
    """A YAML document's aliases expand too far, or refer to a value that contains them."""


def load_yaml(text: str | bytes, source: str) -> Any:
    """The data of the one YAML document in ``text`` (read from ``source``, for messages).

    Raises ``yaml.YAMLError`` for invalid YAML, :class:`YamlBombError` for
    aliases beyond the bound, ConfigError for nesting too deep to build.
    """
    loader = _SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:  # an empty document, or only comments
            return None
        if may_alias(text):
            check_aliases(node, source)
        return loader.construct_document(node)
    except RecursionError:  # only the pure-Python loader; libyaml stops at depth 1000
        raise ConfigError(f"{source}: the YAML is nested too deeply") from None
    finally:
        loader.dispose()


def dump_yaml(data: Any) -> str:
    """``data`` (plain YAML data only) as YAML text, keys in their given order."""
    return yaml.dump(data, Dumper=_SafeDumper, sort_keys=False, allow_unicode=True)


def may_alias(text: str | bytes) -> bool:
    """False when ``text`` cannot hold an alias: an alias needs an anchor, written ``&``."""
    if isinstance(text, bytes):
        return b"&" in text
    return "&" in text


def check_aliases(root: yaml.Node, source: str, limit: int = MAX_ALIAS_VALUES) -> None:
    """Refuse the composed document ``root`` if its aliases would add more than
    ``limit`` values once expanded, or refer to a value that contains them.

    A composed document is a graph where an alias is a second reference to
    its anchor's node; the expanded size of each node is counted once per node
    (depth first, without recursion), so the check takes time in proportion
    to the text, however far the aliases would expand.
    """
    sizes: dict[int, int] = {}  # id(node) → values in it once expanded, itself included
    on_path = {id(root)}
    stack = [(root, iter(_children(root)))]
    while stack:
        node, pending = stack[-1]
        child = next(pending, None)
        if child is None:
            stack.pop()
            on_path.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(c)] for c in _children(node))
            # Beyond the distinct nodes, what is left was added by aliases.
            if sizes[id(node)] - len(sizes) > limit:
                raise YamlBombError(
                    f"{source}: anchors and aliases expand to more than {limit} extra values"
                    f"{_at(node)}; write the values out, or share less"
                )
        elif id(child) in on_path:
            raise YamlBombError(
                f"{source}: an alias refers to a value that contains it{_at(child)}"
            )
        elif id(child) not in sizes:
            on_path.add(id(child))
            stack.append((child, iter(_children(child))))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _at(node: yaml.Node) -> str:
    mark = node.start_mark
    return f" (line {mark.line + 1})" if mark is not None else ""


def read_mapping(path: Path, max_bytes: int | None = None) -> dict[Any, Any]:
    """The top-level mapping in the YAML file ``path``; an empty file is ``{}``.

    With ``max_bytes``, a longer file is refused before it is parsed.
    """
    if max_bytes is not None:
        text = read_limited_text(path, max_bytes)
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        data = load_yaml(text, str(path))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}{_where(exc)}: invalid YAML: {_problem(exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping, not {type(data).__name__}")
    return data


def write_mapping(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` (plain YAML data only) to ``path``, keys in their given order."""
    try:
        text = dump_yaml(data)
    except yaml.representer.RepresenterError as exc:
        # The offending object is the second argument of the error.
        culprit = exc.args[1] if len(exc.args) > 1 else exc
        raise ConfigError(
            f"cannot write {path}: {type(culprit).__name__} values are not plain YAML data"
        ) from None
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _where(exc: yaml.YAMLError) -> str:
    """``:line:column`` of a YAML syntax error, 1-based like an editor shows it."""
    mark = getattr(exc, "problem_mark", None)
    if mark is None:
        return ""
    return f":{mark.line + 1}:{mark.column + 1}"


def _problem(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None)
    return str(problem) if problem else str(exc).splitlines()[0]
