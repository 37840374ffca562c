"""`kinks check`: the linter. Paths in, diagnostics out, an exit status for CI.

Options follow ruff's names and meanings wherever they fit (`--select`, `--ignore`,
`--extend-select`, `--output-format`, `--config`, `--isolated`, `--no-cache`, `--force-exclude`,
`--exit-zero`, `--stdin-filename`, `-q`), so nothing surprises a user who knows it. Exit status
(LANGUAGE.md §5): 0 when no diagnostic reaches `--fail-on`, 1 when one does, 2 when the command
cannot run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from ..analysis.report import Report
from ..analysis.rules import RULES, SEVERITY_ORDER
from ..lint.cache import Cache
from ..lint.config import OUTPUT_FORMATS, ConfigError, Settings, settings_for
from ..lint.files import STDIN_PATH, LoadedFile, MissingPathsError, expand_paths, load
from ..lint.formats import RenderOptions, render
from ..lint.progress import ProgressBar, progress_enabled
from ..lint.runner import RunStatistics, analyze_files, default_jobs
from .common import EXIT_FINDINGS, EXIT_OK, UsageError, positive_count, positive_seconds, version


def register(commands: Any) -> None:
    check = commands.add_parser(
        "check",
        help="analyze .loss files and the loss functions of Python files, and report their findings",
        description=(
            "Analyze .loss files and the loss functions of Python modules, and report the "
            "differentiability of every definition. Settings come from [tool.kinks] in the nearest "
            "pyproject.toml (or a kinks.toml), then these options."
        ),
    )
    check.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="a .loss or .py file, a directory (searched recursively for *.loss and *.py), or - for standard "
        "input (default: .)",
    )
    output = check.add_argument_group("output")
    output.add_argument(
        "--output-format",
        "--format",
        dest="output_format",
        choices=OUTPUT_FORMATS,
        default=None,
        metavar="FORMAT",
        help="text for people (default); concise: one line a diagnostic; grouped: by file; json: the records of "
        "LANGUAGE.md §5 (json-lines: one a line); sarif; github (workflow annotations); gitlab (code quality); "
        "azure (pipeline issues); rdjson (reviewdog); pylint; junit (CI test reports)",
    )
    output.add_argument(
        "-o", "--output-file", metavar="FILE", help="write the output to FILE instead of standard output"
    )
    output.add_argument("-q", "--quiet", action="store_true", help="print the diagnostics and nothing else")
    output.add_argument(
        "-s",
        "--silent",
        action="store_true",
        help="print nothing at all; the exit status still says whether diagnostics fail",
    )
    output.add_argument(
        "--statistics",
        action="store_true",
        help="print how many diagnostics each code has, instead of the diagnostics",
    )
    output.add_argument(
        "--show-files", action="store_true", help="print the files that would be checked, and exit"
    )
    output.add_argument(
        "--show-settings",
        action="store_true",
        help="print the settings resolved for the first path (or .), and exit",
    )
    output.add_argument(
        "--add-noqa",
        action="store_true",
        help="add `# noqa: CODES` to the first line of every statement with diagnostics "
        "(not errors), and exit",
    )
    output.add_argument(
        "-w",
        "--watch",
        action="store_true",
        help="check again, and print a fresh report, whenever a checked file or the configuration "
        "changes; Ctrl-C stops",
    )
    output.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="say on standard error which configuration, cache and processes were used",
    )

    rules = check.add_argument_group("rule selection")
    rules.add_argument(
        "--select",
        action="append",
        metavar="CODES",
        help="report only these codes or prefixes, comma-separated (K201, K2, ALL)",
    )
    rules.add_argument("--extend-select", action="append", metavar="CODES", help="report these codes as well")
    rules.add_argument("--ignore", action="append", metavar="CODES", help="do not report these codes")
    rules.add_argument(
        "--fail-on",
        choices=tuple(SEVERITY_ORDER),
        default=None,
        help="exit with status 1 when a diagnostic of this severity or worse is reported (default: warning)",
    )
    rules.add_argument(
        "--exit-zero", action="store_true", help="exit with status 0 even when diagnostics fail"
    )

    files = check.add_argument_group("files and settings")
    files.add_argument(
        "--config", metavar="FILE", help="use this configuration file (pyproject.toml or kinks.toml)"
    )
    files.add_argument("--isolated", action="store_true", help="ignore every configuration file")
    files.add_argument(
        "--include",
        action="append",
        metavar="GLOBS",
        help="file patterns to check inside directories (default: *.loss, *.py)",
    )
    files.add_argument(
        "--exclude",
        action="append",
        metavar="GLOBS",
        help="patterns to skip, replacing the defaults (.git, .venv, build, ...)",
    )
    files.add_argument("--extend-exclude", action="append", metavar="GLOBS", help="patterns to skip as well")
    files.add_argument(
        "--force-exclude",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="apply the exclusions to paths named on the command line too (for pre-commit)",
    )
    files.add_argument(
        "--respect-gitignore",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="skip what .gitignore and .git/info/exclude ignore when walking directories (default: on)",
    )
    files.add_argument(
        "--stdin-filename",
        metavar="PATH",
        help="the name of the file read from standard input, for the output and per-file-ignores",
    )

    analysis = check.add_argument_group("analysis")
    analysis.add_argument(
        "--python-functions",
        action="append",
        metavar="GLOBS",
        help="functions of Python files to analyse besides those recognised as losses "
        "(globs over `name` and `Class.method`, comma-separated)",
    )
    analysis.add_argument(
        "--budget",
        type=positive_seconds,
        default=None,
        metavar="SECONDS",
        help="time budget for the analysis of each definition (default: the analyzer's own)",
    )
    analysis.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    analysis.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="where to keep the cache (default: .kinks_cache at the project root; or KINKS_CACHE_DIR)",
    )
    analysis.add_argument(
        "-j",
        "--jobs",
        type=positive_count,
        default=None,
        metavar="N",
        help="analyse in up to N processes (default: one per core)",
    )
    check.set_defaults(run=run_check)


def _comma_list(values: Sequence[str] | None) -> list[str] | None:
    """`--select K1,K2 --select K3` -> ["K1", "K2", "K3"]; None when the option was not given."""
    if values is None:
        return None
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def run_check(arguments: argparse.Namespace) -> int:
    paths = list(arguments.paths) or ([STDIN_PATH] if arguments.stdin_filename else ["."])
    if arguments.watch:
        return _watch(arguments, paths)
    return _check(arguments, paths)


# Seconds between two looks at the watched files' times and sizes (the standard library's stat,
# no watcher thread or extra dependency: a project's loss files are few).
WATCH_POLL_SECONDS = 0.3
_CLEAR_SCREEN = "\x1b[2J\x1b[H"


def _watch(arguments: argparse.Namespace, paths: Sequence[str]) -> int:
    """ruff's `--watch`: a report now, then a fresh one whenever a checked file, the set of files a
    directory holds, or the configuration changes. Ctrl-C stops it, with status 0."""
    conflicting = [
        option
        for option, given in (
            ("-", STDIN_PATH in paths),
            ("--add-noqa", arguments.add_noqa),
            ("--show-files", arguments.show_files),
            ("--show-settings", arguments.show_settings),
        )
        if given
    ]
    if conflicting:
        raise UsageError(f"--watch cannot be combined with {conflicting[0]}")
    first = True
    try:
        while True:
            if use_color(sys.stdout) and arguments.output_file is None:
                sys.stdout.write(_CLEAR_SCREEN)
            try:
                _check(arguments, paths)
            except UsageError as error:
                if first:
                    raise  # a bad option or path: nothing to watch
                # an edit broke the configuration: say so, and wait for the next edit to fix it
                print(f"kinks: error: {error}", file=sys.stderr, flush=True)
            first = False
            stamps = _watched_stamps(arguments, paths)
            if not arguments.silent:
                print(
                    f"kinks: watching {len(stamps) - 1} file{'s' if len(stamps) != 2 else ''} for changes "
                    "(Ctrl-C to stop)",
                    file=sys.stderr,
                    flush=True,
                )
            while (now := _watched_stamps(arguments, paths)) == stamps:
                time.sleep(WATCH_POLL_SECONDS)
            if not arguments.silent:
                changed = sorted(
                    name or "the configuration"
                    for name in {*stamps, *now}
                    if stamps.get(name) != now.get(name)
                )
                print(f"kinks: {', '.join(changed)} changed: checking again", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        return EXIT_OK


def _watched_stamps(arguments: argparse.Namespace, paths: Sequence[str]) -> dict[str, tuple[int, int] | None]:
    """path -> (modification time, size) of every file a run would check, and of the configuration
    file (keyed ""); a file that cannot be read has None. A configuration error is watched as well:
    its text is what changes."""
    try:
        settings = _settings(arguments, paths)
        names = expand_paths(paths, settings)
        config = settings.config_path
    except (UsageError, MissingPathsError):
        names, config = [], None
    stamps: dict[str, tuple[int, int] | None] = {"": _stamp(str(config)) if config else None}
    for name in names:
        stamps[name] = _stamp(name)
    return stamps


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (status.st_mtime_ns, status.st_size)


def _check(arguments: argparse.Namespace, paths: Sequence[str]) -> int:
    started = time.monotonic()
    settings = _settings(arguments, paths)
    output_format = arguments.output_format or settings.output_format

    if arguments.silent:
        arguments.quiet = True
    if arguments.show_settings:
        _show_settings(settings, output_format)
        return EXIT_OK
    try:
        names = expand_paths(paths, settings)
    except MissingPathsError as error:
        raise UsageError(str(error)) from None
    if arguments.show_files:
        for name in names:
            print(name)
        return EXIT_OK
    if not names and not arguments.quiet:
        print("kinks: warning: no .loss or .py files found", file=sys.stderr)
    loaded = [_load(path, arguments.stdin_filename) for path in names]

    cache = None if arguments.no_cache else Cache(settings.cache_dir)
    statistics = RunStatistics()
    progress = ProgressBar(sys.stderr) if not arguments.quiet and progress_enabled(sys.stderr) else None
    try:
        per_file = analyze_files(
            loaded,
            _analyzer,
            budget=settings.budget,
            cache=cache,
            jobs=arguments.jobs or default_jobs(),
            on_progress=progress.update if progress is not None else None,
            statistics=statistics,
            python_functions=settings.python_functions,
            data_names=settings.data_names,
        )
    finally:
        if progress is not None:
            progress.close()

    reports = [
        select(report, settings.codes_for(report.file or file.path))
        for file, file_reports in zip(loaded, per_file)
        for report in file_reports
    ]
    sources = {file.path: file.text for file in loaded if file.text is not None}
    if arguments.add_noqa:
        added = add_noqa(
            reports,
            {
                file.path: file.path
                for file in loaded
                if file.path != STDIN_PATH and file.text is not None and not arguments.stdin_filename
            },
            sources,
        )
        if not arguments.silent:
            print(f"Added {added} noqa directive{'s' if added != 1 else ''}.", file=sys.stderr)
        return EXIT_OK
    to_terminal = arguments.output_file is None
    options = RenderOptions(
        sources=sources,
        color=to_terminal and use_color(sys.stdout),
        fail_on=settings.fail_on,
        version=version() if output_format == "sarif" else "",  # reading the metadata costs ~15 ms
        summary=not arguments.quiet,
    )
    if arguments.statistics:
        text = statistics_text(reports, output_format)
    else:
        text = render(output_format, reports, options)
    if not arguments.silent:
        _write(text, arguments.output_file)
    if arguments.verbose:
        _explain_run(settings, cache, statistics, time.monotonic() - started)
    if arguments.exit_zero:
        return EXIT_OK
    return EXIT_FINDINGS if fails(reports, settings.fail_on) else EXIT_OK


def statistics_text(reports: Sequence[Report], output_format: str) -> str:
    """ruff's `--statistics`: a line per code, most frequent first: count, code, name."""
    import json
    from collections import Counter

    counts = Counter(finding.code for report in reports for finding in report.findings)
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    if output_format in ("json", "json-lines"):
        return json.dumps(
            [
                {"code": code, "name": RULES[code].name if code in RULES else None, "count": count}
                for code, count in rows
            ],
            indent=2,
        )
    width = max((len(str(count)) for _, count in rows), default=1)
    return "\n".join(
        f"{str(count).rjust(width)}\t{code}\t{RULES[code].name if code in RULES else ''}"
        for code, count in rows
    )


def _show_settings(settings: Settings, output_format: str) -> None:
    def patterns(items: Sequence[Any]) -> str:
        return ", ".join(item.text for item in items) or "(none)"

    lines = [
        f"config: {settings.config_path or '(none: defaults)'}",
        f"root: {settings.root}",
        f"select: {', '.join(sorted(settings.enabled))}",
        f"fail-on: {settings.fail_on}",
        f"budget: {settings.budget if settings.budget is not None else '(the analyzer default)'}",
        f"output-format: {output_format}",
        f"include: {patterns(settings.include)}",
        f"exclude: {patterns(settings.exclude)}",
        f"force-exclude: {str(settings.force_exclude).lower()}",
        f"respect-gitignore: {str(settings.respect_gitignore).lower()}",
        f"cache-dir: {settings.cache_dir}",
        f"python-functions: {', '.join(settings.python_functions) or '(none)'}",
        "per-file-ignores:" + ("" if settings.per_file_ignores else " (none)"),
        *(f"  {pattern.text} = {', '.join(sorted(codes))}" for pattern, codes in settings.per_file_ignores),
    ]
    print("\n".join(lines))


def add_noqa(reports: Sequence[Report], writable: dict[str, str], sources: dict[str, str]) -> int:
    """ruff's `--add-noqa`: `# noqa: CODES` on each statement's first line, for the codes reported on
    it (errors, K902 and K904 aside), merged into a `# noqa: ...` list already there. Returns how
    many lines were changed."""
    import re

    wanted: dict[str, dict[int, set[str]]] = {}
    for report in reports:
        path = report.file or ""
        if path not in writable:
            continue
        codes = {
            finding.code
            for finding in report.findings
            if not finding.code.startswith("E") and finding.code not in ("K902", "K904")
        }
        if codes:
            wanted.setdefault(path, {}).setdefault(report.line, set()).update(codes)
    changed = 0
    existing = re.compile(r"#\s*noqa:\s*(?P<codes>[A-Za-z]+[0-9]+(?:[\s,]+[A-Za-z]+[0-9]+)*)", re.IGNORECASE)
    for path, by_line in wanted.items():
        lines = sources[path].split("\n")
        for number, codes in sorted(by_line.items()):
            line = lines[number - 1]
            match = existing.search(line)
            if match:
                merged = sorted({*re.findall(r"[A-Za-z]+[0-9]+", match.group("codes").upper()), *codes})
                lines[number - 1] = (
                    line[: match.start()] + f"# noqa: {', '.join(merged)}" + line[match.end() :]
                )
            else:
                lines[number - 1] = line.rstrip() + f"  # noqa: {', '.join(sorted(codes))}"
            changed += lines[number - 1] != line
        try:
            Path(path).write_text("\n".join(lines), encoding="utf-8")
        except OSError as error:
            raise UsageError(f"{path}: cannot add noqa directives: {error.strerror or error}") from None
    return changed


def _settings(arguments: argparse.Namespace, paths: Sequence[str]) -> Settings:
    options = {
        "select": _comma_list(arguments.select),
        "extend-select": _comma_list(arguments.extend_select),
        "ignore": _comma_list(arguments.ignore),
        "fail-on": arguments.fail_on,
        "budget": arguments.budget,
        "include": _comma_list(arguments.include),
        "exclude": _comma_list(arguments.exclude),
        "extend-exclude": _comma_list(arguments.extend_exclude),
        "force-exclude": arguments.force_exclude,
        "respect-gitignore": arguments.respect_gitignore,
        "output-format": arguments.output_format,
        "python-functions": _comma_list(arguments.python_functions),
    }
    try:
        return settings_for(
            paths,
            options,
            config_option=arguments.config,
            isolated=arguments.isolated,
            stdin_filename=arguments.stdin_filename,
            cache_dir_option=arguments.cache_dir,
        )
    except ConfigError as error:
        raise UsageError(str(error)) from None


def _analyzer() -> Callable[..., list[Report]]:
    """`analyzer.analysis.python_api.analyze_source` (`analyze_text` for `.loss` files, the Python
    translation for `.py` files), imported only when there is something to analyze.

    So `--version`, usage errors and fully cached runs never pay for importing the analysis
    machinery. Tests replace this seam with a stub to check the command's own logic apart from
    the analysis.
    """
    from ..analysis.python_api import analyze_source

    return analyze_source


def _load(path: str, stdin_filename: str | None) -> LoadedFile:
    loaded = load(path)
    if path != STDIN_PATH or not stdin_filename:
        return loaded
    unreadable = loaded.unreadable
    if unreadable is not None:
        unreadable.file = stdin_filename
    return LoadedFile(stdin_filename, loaded.text, unreadable)


def select(report: Report, codes: frozenset[str]) -> Report:
    """The report with only the findings whose codes are reported for its file."""
    report.findings = [
        finding for finding in report.findings if finding.code in codes or finding.code not in RULES
    ]
    return report


def fails(reports: Sequence[Report], fail_on: str) -> bool:
    threshold = SEVERITY_ORDER[fail_on]
    return any(
        SEVERITY_ORDER.get(finding.severity, SEVERITY_ORDER["error"]) >= threshold
        for report in reports
        for finding in report.findings
    )


def use_color(stream: TextIO) -> bool:
    """Colour for a terminal; NO_COLOR (no-color.org) turns it off, FORCE_COLOR turns it on anywhere."""
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _write(text: str, output_file: str | None) -> None:
    if output_file is None:
        sys.stdout.write(text + "\n" if text else "")
        sys.stdout.flush()
        return
    target = Path(output_file)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text + "\n" if text else "", encoding="utf-8")
    except OSError as error:
        raise UsageError(f"{output_file}: cannot write the output: {error.strerror or error}") from None


def _explain_run(settings: Settings, cache: Cache | None, statistics: RunStatistics, seconds: float) -> None:
    def say(message: str) -> None:
        print(f"kinks: {message}", file=sys.stderr)

    say(
        f"configuration: {settings.config_path}"
        if settings.config_path
        else "configuration: none found, defaults"
    )
    say(f"cache: {cache.directory}" if cache is not None else "cache: off")
    processes = (
        f" in {statistics.workers} process{'es' if statistics.workers != 1 else ''}"
        if statistics.analysed
        else ""
    )
    say(
        f"{statistics.files} files: {statistics.cached} from the cache, {statistics.analysed} analysed{processes}"
    )
    say(f"done in {seconds:.2f} s")
