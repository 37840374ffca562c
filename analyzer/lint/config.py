"""Settings for `kinks check`: found in `[tool.kinks]` of the nearest `pyproject.toml`, or in a
`kinks.toml` / `.kinks.toml`, overridden by the command line.

Discovery starts at the directory the checked paths have in common (the current directory for
standard input) and walks upwards; in each directory `.kinks.toml`, then `kinks.toml`, then a
`pyproject.toml` that has a `[tool.kinks]` table count, as ruff does. `--config FILE` names the
file instead, `--isolated` ignores them all. Relative globs and the cache directory are anchored
at the directory of the file that set them (the project root).

Every key is validated; an unknown key is an error that names it (with a did-you-mean), so a typo
never silently does nothing.
"""

from __future__ import annotations

import difflib
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..analysis.rules import SEVERITY_ORDER, WARNING
from .selection import (
    ERROR_CODES,
    Layer,
    PathPattern,
    SelectionError,
    Selector,
    enabled_codes,
    parse_ignore,
    parse_selector,
)


def _toml() -> Any:
    """tomllib, imported when a configuration file is read: a run that finds none never pays for it."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib


CONFIG_FILE_NAMES = (".kinks.toml", "kinks.toml", "pyproject.toml")
PYPROJECT = "pyproject.toml"
DEFAULT_CACHE_DIR = ".kinks_cache"
CACHE_DIR_VARIABLE = "KINKS_CACHE_DIR"
# The names of `formats.FORMATS` (kept here so that reading a configuration imports no reporter).
OUTPUT_FORMATS = (
    "text",
    "concise",
    "grouped",
    "json",
    "json-lines",
    "sarif",
    "github",
    "gitlab",
    "azure",
    "rdjson",
    "pylint",
    "junit",
)
# `.loss` files, and the loss functions of Python modules (issue 13).
DEFAULT_INCLUDE = ("*.loss", "*.py")
# Directories nobody wants linted, as in ruff's defaults (plus kinks's own cache).
DEFAULT_EXCLUDE = (
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".git-rewrite",
    ".hg",
    ".ipynb_checkpoints",
    ".kinks_cache",
    ".mypy_cache",
    ".nox",
    ".pants.d",
    ".pytest_cache",
    ".pytype",
    ".ruff_cache",
    ".svn",
    ".tox",
    ".venv",
    "__pypackages__",
    "_build",
    "buck-out",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    "venv",
)


class ConfigError(ValueError):
    """A configuration file or option that cannot be used; the message names the file and the key."""


# ---------------------------------------------------------------- the keys and their checks


def _strings(value: Any, origin: str) -> tuple[str, ...]:
    if (
        isinstance(value, str)
        or not isinstance(value, (list, tuple))
        or not all(isinstance(v, str) for v in value)
    ):
        raise ConfigError(f"{origin} must be a list of strings, got {_show(value)}")
    return tuple(value)


def _selectors(value: Any, origin: str) -> tuple[Selector, ...]:
    try:
        return tuple(parse_selector(text, origin) for text in _strings(value, origin))
    except SelectionError as error:
        raise ConfigError(str(error)) from None


def _ignores(value: Any, origin: str) -> tuple[Selector, ...]:
    try:
        return tuple(parse_ignore(text, origin) for text in _strings(value, origin))
    except SelectionError as error:
        raise ConfigError(str(error)) from None


def _per_file_ignores(value: Any, origin: str) -> tuple[tuple[PathPattern, frozenset[str]], ...]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{origin} must be a table of glob = [codes], got {_show(value)}")
    entries = []
    for pattern, codes in value.items():
        selectors = _ignores(codes, f"{origin}.{_quote_key(pattern)}")
        entries.append((PathPattern(pattern), frozenset().union(*(selector.codes for selector in selectors))))
    return tuple(entries)


def _fail_on(value: Any, origin: str) -> str:
    if value not in SEVERITY_ORDER:
        raise ConfigError(
            f"{origin} must be one of {', '.join(map(repr, SEVERITY_ORDER))}, got {_show(value)}"
        )
    return str(value)


def _budget(value: Any, origin: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not (value > 0 and math.isfinite(value))
    ):
        raise ConfigError(f"{origin} must be a positive number of seconds, got {_show(value)}")
    return float(value)


def _patterns(value: Any, origin: str) -> tuple[PathPattern, ...]:
    return tuple(PathPattern(text) for text in _strings(value, origin))


def _boolean(value: Any, origin: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{origin} must be true or false, got {_show(value)}")
    return value


def _path(value: Any, origin: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{origin} must be a path, got {_show(value)}")
    return value


def _output_format(value: Any, origin: str) -> str:
    if value not in OUTPUT_FORMATS:
        raise ConfigError(
            f"{origin} must be one of {', '.join(map(repr, OUTPUT_FORMATS))}, got {_show(value)}"
        )
    return str(value)


KEYS: Mapping[str, Callable[[Any, str], Any]] = {
    "select": _selectors,
    "extend-select": _selectors,
    "ignore": _ignores,
    "per-file-ignores": _per_file_ignores,
    "extend-per-file-ignores": _per_file_ignores,
    "extend": _path,
    "fail-on": _fail_on,
    "budget": _budget,
    "include": _patterns,
    "exclude": _patterns,
    "extend-exclude": _patterns,
    "force-exclude": _boolean,
    "respect-gitignore": _boolean,
    "cache-dir": _path,
    "output-format": _output_format,
    "python-functions": _strings,
    "data-names": _strings,
}


def _show(value: Any) -> str:
    return repr(value) if not isinstance(value, Mapping) else "a table"


def _quote_key(key: str) -> str:
    return key if key.replace("-", "").replace("_", "").isalnum() else f'"{key}"'


def validate(values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Check every key and value of one source; `where` prefixes the messages (`pyproject.toml: [tool.kinks]`)."""
    checked: dict[str, Any] = {}
    for key, value in values.items():
        check = KEYS.get(key)
        if check is None:
            close = difflib.get_close_matches(key.replace("_", "-"), KEYS, n=1)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            raise ConfigError(f"{where}: unknown key `{key}`{hint} (known keys: {', '.join(KEYS)})")
        checked[key] = check(value, f"{where}: `{key}`")
    return checked


# ---------------------------------------------------------------- files


@dataclass(frozen=True, slots=True)
class ConfigFile:
    """The validated values of one configuration file (empty when there is none)."""

    path: Path | None
    root: Path
    values: Mapping[str, Any] = field(default_factory=dict)
    # The selections of the files it extends (`extend`), most basic first: layers below its own.
    base_layers: tuple[Layer, ...] = ()


def find_config(start: Path) -> Path | None:
    """The nearest configuration file at `start` or above it."""
    directory = start if start.is_dir() else start.parent
    for folder in (directory, *directory.parents):
        for name in CONFIG_FILE_NAMES:
            candidate = folder / name
            if candidate.is_file() and (name != PYPROJECT or _mentions_kinks(candidate)):
                return candidate
    return None


def _mentions_kinks(pyproject: Path) -> bool:
    # A pyproject.toml counts only when it has a [tool.kinks] table; a cheap look at the text first
    # keeps kinks from failing on another tool's broken pyproject.toml.
    try:
        text = pyproject.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if "tool.kinks" not in text and "[tool]" not in text:
        return False
    tomllib = _toml()
    try:
        return "kinks" in tomllib.loads(text).get("tool", {})
    except tomllib.TOMLDecodeError:
        return "[tool.kinks" in text  # then load_config reports the syntax error with its position


# Keys whose values add to those of the file extended, rather than replace them.
_EXTENDING_KEYS = ("extend-exclude", "extend-per-file-ignores")
_SELECTION_KEYS = ("select", "extend-select", "ignore")


def load_config(path: Path, _seen: tuple[Path, ...] = ()) -> ConfigFile:
    """Read and validate one file: `[tool.kinks]` of a pyproject.toml, the whole of any other file.

    `extend = "../base.toml"` (relative to this file) reads that file first, as ruff does: this
    file's settings override the base's, its selection is a layer above the base's, and
    `extend-exclude` and `extend-per-file-ignores` add to the base's.
    """
    config = _load_one(path)
    base_path = config.values.get("extend")
    if base_path is None:
        return config
    base_file = (config.root / base_path).resolve()
    if base_file in _seen or base_file == path.resolve():
        chain = " -> ".join(str(item) for item in (*_seen, path.resolve(), base_file))
        raise ConfigError(f"{path}: `extend` makes a circle: {chain}")
    if not base_file.is_file():
        raise ConfigError(f"{path}: `extend`: {base_path}: no such file")
    base = load_config(base_file, (*_seen, path.resolve()))
    own = config.values
    values: dict[str, Any] = {
        key: value for key, value in base.values.items() if key not in _SELECTION_KEYS and key != "extend"
    }
    for key, value in own.items():
        if key in _SELECTION_KEYS or key == "extend":
            continue
        values[key] = (*values.get(key, ()), *value) if key in _EXTENDING_KEYS else value
    for key in _SELECTION_KEYS:
        if key in own:
            values[key] = own[key]
    base_layers = (*base.base_layers, _layer(base.values))
    return ConfigFile(path, config.root, values, base_layers)


def _layer(values: Mapping[str, Any]) -> Layer:
    return Layer(values.get("select"), values.get("extend-select", ()), values.get("ignore", ()))


def _load_one(path: Path) -> ConfigFile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the configuration file: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the configuration file is not UTF-8 text") from None
    tomllib = _toml()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    if path.name == PYPROJECT:
        tool = data.get("tool", {})
        if not isinstance(tool, Mapping) or "kinks" not in tool:
            raise ConfigError(f"{path}: there is no [tool.kinks] table")
        table, where = tool["kinks"], f"{path}: [tool.kinks]"
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where} must be a table")
    else:
        table, where = data, str(path)
    return ConfigFile(path, path.resolve().parent, validate(table, where))


# ---------------------------------------------------------------- resolved settings


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything `kinks check` needs to know, resolved from defaults, the file and the command line."""

    config_path: Path | None
    root: Path
    enabled: frozenset[str]
    per_file_ignores: tuple[tuple[PathPattern, frozenset[str]], ...]
    fail_on: str
    budget: float | None
    include: tuple[PathPattern, ...]
    exclude: tuple[PathPattern, ...]
    force_exclude: bool
    cache_dir: Path
    output_format: str
    respect_gitignore: bool = True
    # Globs of the functions of Python files to analyse besides those recognised as losses
    # (matched against `name` and `Class.method`).
    python_functions: tuple[str, ...] = ()
    # The parameters that are data without `wrt` (LANGUAGE.md section 1); None: the language's list.
    data_names: tuple[str, ...] | None = None

    def relative(self, path: str) -> str:
        """`path` relative to the project root, with `/`, for matching globs."""
        absolute = os.path.abspath(path)
        try:
            relative = os.path.relpath(absolute, self.root)
        except ValueError:  # another drive on Windows
            return Path(absolute).as_posix()
        return Path(relative).as_posix()

    def codes_for(self, path: str) -> frozenset[str]:
        """The codes reported for one file: the selection less its per-file ignores."""
        relative = self.relative(path)
        ignored: set[str] = set()
        for pattern, codes in self.per_file_ignores:
            if pattern.matches(relative):
                ignored |= codes
        return self.enabled - (ignored - ERROR_CODES)


def resolve(config: ConfigFile, options: Mapping[str, Any], cache_dir_option: str | None = None) -> Settings:
    """Merge: `options` (the command line, validated like a file, None for "not given") beats the file."""
    file_values = config.values
    cli = {key: value for key, value in options.items() if value is not None}

    def pick(key: str, default: Any) -> Any:
        return cli.get(key, file_values.get(key, default))

    layers = [
        *config.base_layers,
        Layer(file_values.get("select"), file_values.get("extend-select", ()), file_values.get("ignore", ())),
        Layer(cli.get("select"), cli.get("extend-select", ()), cli.get("ignore", ())),
    ]
    exclude = pick("exclude", tuple(PathPattern(text) for text in DEFAULT_EXCLUDE))
    exclude = (*exclude, *file_values.get("extend-exclude", ()), *cli.get("extend-exclude", ()))
    return Settings(
        config_path=config.path,
        root=config.root,
        enabled=enabled_codes(layers),
        per_file_ignores=(
            *file_values.get("per-file-ignores", ()),
            *file_values.get("extend-per-file-ignores", ()),
            *cli.get("per-file-ignores", ()),
        ),
        fail_on=pick("fail-on", WARNING),
        budget=pick("budget", None),
        include=pick("include", tuple(PathPattern(text) for text in DEFAULT_INCLUDE)),
        exclude=tuple(exclude),
        force_exclude=pick("force-exclude", False),
        cache_dir=_cache_dir(config, cache_dir_option),
        output_format=pick("output-format", "text"),
        respect_gitignore=pick("respect-gitignore", True),
        python_functions=(*file_values.get("python-functions", ()), *cli.get("python-functions", ())),
        data_names=pick("data-names", None),
    )


def _cache_dir(config: ConfigFile, option: str | None) -> Path:
    # The command line and the environment are relative to where kinks runs; the file's setting to
    # the file; the default sits at the project root, as ruff's .ruff_cache does.
    if option:
        return Path(option).absolute()
    from_environment = os.environ.get(CACHE_DIR_VARIABLE)
    if from_environment:
        return Path(from_environment).absolute()
    configured = config.values.get("cache-dir")
    if configured:
        return (config.root / configured).absolute()
    return config.root / DEFAULT_CACHE_DIR


def discovery_start(paths: Sequence[str], stdin_filename: str | None = None) -> Path:
    """Where to look for a configuration file: the directory the checked paths have in common."""
    directories = []
    for path in paths:
        if path == "-":
            path = stdin_filename or "."
        absolute = Path(os.path.abspath(path))
        directories.append(absolute if absolute.is_dir() else absolute.parent)
    if not directories:
        return Path.cwd()
    try:
        return Path(os.path.commonpath([str(directory) for directory in directories]))
    except ValueError:  # paths on different drives
        return Path.cwd()


def settings_for(
    paths: Sequence[str],
    options: Mapping[str, Any],
    *,
    config_option: str | None = None,
    isolated: bool = False,
    stdin_filename: str | None = None,
    cache_dir_option: str | None = None,
) -> Settings:
    """Find (or take) the configuration file, validate the command line, and merge them."""
    if config_option is not None:
        config = load_config(Path(config_option))
    elif isolated:
        config = ConfigFile(None, Path.cwd().resolve())
    else:
        found = find_config(discovery_start(paths, stdin_filename))
        config = load_config(found) if found is not None else ConfigFile(None, Path.cwd().resolve())
    checked = {
        key: (KEYS[key](value, f"--{key}") if value is not None else None) for key, value in options.items()
    }
    return resolve(config, checked, cache_dir_option)
