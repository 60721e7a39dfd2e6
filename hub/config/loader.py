"""Load the settings from a YAML file and the environment, reporting every problem with its line.

Pydantic reports each error with a ``loc`` tuple (``("cameras", 1, "url")``); the file is composed
into a YAML node tree, whose nodes carry their position, and walked along that tuple to find the
line of the key, or of its parent when the key is missing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import EnvSettingsSource, InitSettingsSource, SettingsError

from hub.config.base import CHECK_ERROR_TYPE
from hub.config.errors import ConfigError, ConfigProblem
from hub.config.hub import ENV_NESTED_DELIMITER, ENV_PREFIX, HubSettings

Loc = tuple[str | int, ...]

_FRIENDLY_MESSAGES = {
    "extra_forbidden": "unknown setting (check the spelling)",
    "missing": "required setting is missing",
}


_SETTINGS_ERROR_FIELD = re.compile(r'field "([A-Za-z0-9_]+)"')


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source, reading a given mapping instead of ``os.environ``."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(HubSettings)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {key.lower(): value for key, value in self._environ.items()}


def load_settings(path: Path | None, env: Mapping[str, str] | None = None) -> HubSettings:
    """Read ``path`` (if any), put the ``HUB_…`` variables of ``env`` (default ``os.environ``) on top.

    Raises ``ConfigError`` listing every problem found.
    """
    environ = os.environ if env is None else env
    data: dict[str, Any] = {}
    root: yaml.Node | None = None
    problems: list[ConfigProblem] = []
    if path is not None:
        root, data = _read_yaml(path)
        problems.extend(_duplicate_keys(root))
    try:
        env_data = _MappingEnvSource(environ)()
    except SettingsError as err:
        raise ConfigError([_env_parse_problem(err)], path) from err
    merged = _deep_merge(data, env_data)
    try:
        settings = HubSettings(
            _build_sources=((InitSettingsSource(HubSettings, init_kwargs=merged),), merged)
        )
    except ValidationError as err:
        problems.extend(_problem(error, root, env_data, environ) for error in err.errors())
    if problems:
        problems.sort(key=lambda p: (p.line is None, p.line or 0, p.column or 0))
        raise ConfigError(problems, path)
    return settings


def _env_parse_problem(err: SettingsError) -> ConfigProblem:
    """pydantic-settings could not JSON-decode a variable for a list or section field."""
    field = _SETTINGS_ERROR_FIELD.search(str(err))
    name = ENV_PREFIX + (field.group(1).upper() if field else "*")
    cause = f" ({err.__cause__})" if err.__cause__ is not None else ""
    return ConfigProblem(name, f"the value must be JSON for this setting{cause}")


def _read_yaml(path: Path) -> tuple[yaml.Node | None, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else str(err)
        raise ConfigError([ConfigProblem("", f"cannot read the file: {reason}")], path) from err
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        document = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        message = f"invalid YAML: {err.problem or err.context}"
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        raise ConfigError([ConfigProblem("", message, line, column)], path) from err
    except yaml.YAMLError as err:
        raise ConfigError([ConfigProblem("", f"invalid YAML: {err}")], path) from err
    finally:
        loader.dispose()
    if document is None:
        return root, {}
    if not isinstance(document, dict):
        kind = type(document).__name__
        line, column = _position(root.start_mark if root is not None else None)
        message = f"the file must hold a mapping of settings (key: value), not a {kind}"
        raise ConfigError([ConfigProblem("", message, line, column)], path)
    return root, {str(key): value for key, value in document.items()}


def _duplicate_keys(node: yaml.Node | None, loc: Loc = ()) -> list[ConfigProblem]:
    """SafeLoader keeps the last of two equal keys silently; report the second one."""
    problems: list[ConfigProblem] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                line, column = _position(key_node.start_mark)
                problems.append(ConfigProblem(format_loc((*loc, key)), "key given twice", line, column))
            seen.add(key)
            problems.extend(_duplicate_keys(value_node, (*loc, key)))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            problems.extend(_duplicate_keys(item, (*loc, index)))
    return problems


def _problem(
    error: ErrorDetails, root: yaml.Node | None, env_data: Mapping[str, Any], environ: Mapping[str, str]
) -> ConfigProblem:
    loc: Loc = tuple(error["loc"])
    ctx = error.get("ctx") or {}
    if error["type"] == CHECK_ERROR_TYPE:
        loc = (*loc, *ctx.get("at", ()))
        message = str(ctx.get("detail", error["msg"]))
    else:
        message = _FRIENDLY_MESSAGES.get(error["type"], error["msg"]).removeprefix("Value error, ")
    env_name = _env_var_for(loc, env_data, environ)
    if env_name is not None:
        return ConfigProblem(env_name, message)
    line, column = _position(_mark_for(root, loc))
    return ConfigProblem(format_loc(loc), message, line, column)


def format_loc(loc: Loc) -> str:
    """``("cameras", 1, "url")`` → ``cameras[1].url``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _env_var_for(loc: Loc, env_data: Mapping[str, Any], environ: Mapping[str, str]) -> str | None:
    """The environment variable that supplied the value at ``loc`` (or a parent of it), if one did."""
    names = {name.upper(): name for name in environ}
    for end in range(len(loc), 0, -1):
        prefix = loc[:end]
        if all(isinstance(part, str) for part in prefix) and _has_path(env_data, prefix):
            candidate = ENV_PREFIX + ENV_NESTED_DELIMITER.join(str(part) for part in prefix).upper()
            if candidate in names:
                return names[candidate]
    return None


def _has_path(data: Mapping[str, Any], loc: Loc) -> bool:
    node: Any = data
    for part in loc:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def _mark_for(root: yaml.Node | None, loc: Loc) -> yaml.Mark | None:
    node, mark = root, None
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            found = next(((k, v) for k, v in node.value if str(k.value) == part), None)
            if found is None:
                break
            mark, node = found[0].start_mark, found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            mark = node.start_mark
        else:
            break
    return mark


def _position(mark: yaml.Mark | None) -> tuple[int | None, int | None]:
    return (mark.line + 1, mark.column + 1) if mark is not None else (None, None)


def _deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        below = merged.get(key)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            merged[key] = _deep_merge(below, value)
        else:
            merged[key] = value
    return merged
