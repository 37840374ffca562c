"""`kinks tf`, `kinks smooth` and `kinks verify`: TensorFlow code for `.loss` files, and its check.

    kinks tf losses.loss -o losses_tf.py           # one function and one Keras loss per definition
    kinks tf --smooth losses.loss                  # non-differentiable atoms replaced by surrogates
    kinks tf --ste losses.loss                     # hard forward pass, surrogate gradient
    kinks smooth losses.loss                       # the smooth variant, as a .loss file
    kinks verify examples/                         # generated code against SymPy, in float64

Nothing heavy is imported at module level (the parser of `kinks check` imports this module):
`kinks tf` and `kinks smooth` never import TensorFlow; `kinks verify` does, when it runs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from .common import EXIT_FINDINGS, EXIT_OK, UsageError, positive_count

LOSS_SUFFIX = ".loss"


def register(commands: Any) -> None:
    generate = commands.add_parser(
        "tf",
        help="write TensorFlow code (functions and Keras losses) for the definitions of a .loss file",
        description="Write a Python module with one TensorFlow function per definition of FILE and a "
        "keras.losses.Loss subclass for each definition with one wrt parameter and one data parameter. "
        "The code is gradient-safe (double-where guards, stable forms) and runs under tf.function and XLA.",
    )
    generate.add_argument(
        "path",
        metavar="FILE",
        help="the .loss file (or a .py file: its loss functions), or - for standard input",
    )
    generate.add_argument(
        "-o", "--output", metavar="MODULE.py", help="write the module here (default: standard output)"
    )
    _variant_options(generate)
    generate.set_defaults(run=run_tf)

    smooth = commands.add_parser(
        "smooth",
        help="print the smooth (or straight-through) variant of a .loss file",
        description="Print FILE with each non-differentiable atom that moves with a wrt parameter replaced by its "
        "surrogate from the atom table, the temperatures as constants at the top. With --ste, the hard value is kept "
        "and only the gradient is the surrogate's (soft + stop_gradient(hard - soft)).",
    )
    smooth.add_argument("path", metavar="FILE.loss", help="the .loss file, or - for standard input")
    smooth.add_argument(
        "--ste", action="store_true", help="the straight-through variant instead of the smooth one"
    )
    smooth.add_argument(
        "-o", "--output", metavar="FILE.loss", help="write the variant here (default: standard output)"
    )
    smooth.set_defaults(run=run_smooth)

    verify = commands.add_parser(
        "verify",
        help="check the generated TensorFlow code against SymPy (values, gradients, and NaN at kinks)",
        description="Generate the TensorFlow code of each definition, evaluate values and tf.GradientTape gradients "
        "in float64 at random points away from the kinks and jumps, compare them with SymPy's exact values and "
        "derivatives, and evaluate the gradient at the kinks and jumps the analysis found. Needs TensorFlow.",
    )
    verify.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="a .loss file, a directory (searched for *.loss), or - for standard input",
    )
    verify.add_argument(
        "--points",
        type=positive_count,
        default=16,
        metavar="N",
        help="random points per definition (default: 16)",
    )
    _variant_options(verify)
    verify.set_defaults(run=run_verify)


def _variant_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--smooth",
        action="store_true",
        help="the smooth variant: surrogates, temperatures as keyword arguments",
    )
    group.add_argument(
        "--ste", action="store_true", help="the straight-through variant: hard forward, surrogate gradient"
    )


def _mode(arguments: argparse.Namespace) -> str:
    if getattr(arguments, "smooth", False):
        return "smooth"
    if getattr(arguments, "ste", False):
        return "ste"
    return "plain"


def _read(path: str) -> str:
    from ..lint.files import load

    if path != "-" and not os.path.exists(path):
        raise UsageError(f"{path}: no such file or directory")
    if path != "-" and os.path.isdir(path):
        raise UsageError(f"{path}: is a directory; give a .loss file")
    loaded = load(path)
    if loaded.text is None:
        assert loaded.unreadable is not None
        raise UsageError(f"{path}: {loaded.unreadable.findings[0].message}")
    return loaded.text


def _write(text: str, output: str | None, source: str | None = None) -> None:
    """Print `text`, or write it to `output` atomically: a temporary file beside it, renamed over
    it once complete, so that a reader (or an interrupted run) never sees half a module. Writing
    over `source`, the file the text was made from, is refused."""
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    target = Path(output)
    if source is not None and source != "-" and _same_file(Path(source), target):
        raise UsageError(
            f"{output}: is the input file {source}; refusing to overwrite it (choose another -o)"
        )
    if target.is_dir():
        raise UsageError(f"cannot write {output}: is a directory")
    temporary: Path | None = None
    try:
        mode = target.stat().st_mode & 0o7777 if target.exists() else _default_file_mode()
        descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        temporary = Path(name)
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
        temporary = None
    except OSError as error:
        raise UsageError(f"cannot write {output}: {error.strerror or error}") from None
    finally:
        # interrupted (KeyboardInterrupt) or failed: the old file stays whole, no temporary is left
        if temporary is not None:
            with contextlib.suppress(OSError):
                temporary.unlink()


def _same_file(source: Path, target: Path) -> bool:
    """Is `target` the file `source` (through a link, another spelling of the path, a hard link)?"""
    try:
        if target.exists() and source.exists():
            return os.path.samefile(source, target)
    except OSError:
        pass
    return os.path.realpath(source) == os.path.realpath(target)


def _default_file_mode() -> int:
    """The permissions a plain `open(..., "w")` would give a new file (0o666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _report_invalid(reports: list[Any], path: str, offset: int = 0) -> int:
    """Print the statements that could not be turned into code; the status is 1 if there are any."""
    from ..analysis.report import INVALID

    failed = 0
    for report in reports:
        if report.classification != INVALID:
            continue
        failed += 1
        finding = report.findings[0] if report.findings else None
        span = finding.span if finding is not None and finding.span is not None else None
        where = f"{path}:{span.line - offset}:{span.column}" if span else f"{path}:{report.line - offset}"
        message = finding.message if finding is not None else "invalid statement"
        print(
            f"{where}: {finding.code if finding else 'E999'} {message} (no code written for it)",
            file=sys.stderr,
        )
    return failed


def run_tf(arguments: argparse.Namespace) -> int:
    from ..tensorflow.codegen import CodegenError, generate, lower_any, lower_variant

    path = arguments.path
    text = _read(path)
    shown = "<stdin>" if path == "-" else path
    mode = _mode(arguments)
    if path.endswith(".py"):
        return _tf_from_python(text, shown, mode, arguments.output, path)
    try:
        if mode == "plain":
            source = lower_any(text, shown)
            module = generate(source)
        else:
            source, rewritten = lower_variant(text, shown, mode)
            for refusal in rewritten.refused:
                print(refusal.text(shown), file=sys.stderr)
            module = generate(source, mode=mode, keyword_defaults=rewritten.temperatures)
    except CodegenError as error:
        print(f"kinks: error: {error}", file=sys.stderr)
        return EXIT_FINDINGS
    _write(module.text, arguments.output, path)
    failed = _report_invalid(source.reports, shown, source.line_offset)
    for failure in module.failures:
        print(failure.text(shown), file=sys.stderr)
    for note in module.notes:
        print(note.text(shown), file=sys.stderr)
    return EXIT_FINDINGS if failed or module.failures else EXIT_OK


def _tf_from_python(text: str, shown: str, mode: str, output: str | None, path: str) -> int:
    """`kinks tf train.py`: TensorFlow code for the loss functions of a Python module, generated from
    their analysed bodies (reductions over the last axis; `Class.method` becomes `Class_method`)."""
    from ..analysis.python_api import analyze_python_text
    from ..analysis.report import INVALID
    from ..tensorflow.codegen import CodegenError, to_tensorflow

    if mode != "plain":
        raise UsageError("--smooth and --ste need a .loss file; for a Python file, use kinks tf without them")
    reports = analyze_python_text(text, shown)
    valid = [
        report for report in reports if report.classification != INVALID and report.expression is not None
    ]
    for report in valid:
        report.file = None
        report.name = (report.name or "loss").replace(".", "_")
    if valid:
        try:
            module = to_tensorflow(valid)
        except (CodegenError, ValueError) as error:
            print(f"kinks: error: {error}", file=sys.stderr)
            return EXIT_FINDINGS
        _write(module, output, path)
    elif not reports:
        print(f"kinks: warning: {shown} has no loss function", file=sys.stderr)
    failed = _report_invalid(reports, shown)
    return EXIT_FINDINGS if failed else EXIT_OK


def run_smooth(arguments: argparse.Namespace) -> int:
    from ..analysis.api import analyze_text
    from ..analysis.report import PIECEWISE, SMOOTH
    from ..tensorflow.smooth import rewrite_source

    path = arguments.path
    text = _read(path)
    shown = "<stdin>" if path == "-" else path
    rewritten = rewrite_source(text, shown, mode="ste" if arguments.ste else "smooth")
    _write(rewritten.text, arguments.output, path)
    for refusal in rewritten.refused:
        print(refusal.text(shown), file=sys.stderr)
    status = EXIT_OK
    for report in analyze_text(rewritten.text, shown):
        if report.name is not None and report.classification not in (SMOOTH, PIECEWISE):
            print(f"{shown}: {report.name}: the variant is still {report.classification}", file=sys.stderr)
            status = EXIT_FINDINGS
    return status


def _loss_files(paths: list[str]) -> list[str]:
    missing = [path for path in paths if path != "-" and not os.path.exists(path)]
    if missing:
        raise UsageError("\n".join(f"{path}: no such file or directory" for path in missing))
    files: list[str] = []
    for path in paths:
        if path != "-" and os.path.isdir(path):  # `-`: standard input, as `kinks check -`
            found = sorted(
                (p for p in Path(path).rglob(f"*{LOSS_SUFFIX}") if p.is_file()), key=lambda p: p.parts
            )
            files.extend(str(p) for p in found)
        else:
            files.append(path)
    return list(dict.fromkeys(files))


def run_verify(arguments: argparse.Namespace) -> int:
    files = _loss_files(arguments.paths)
    try:
        import tensorflow  # noqa: F401 - checked here so the message is clear
    except ImportError:
        raise UsageError("kinks verify needs TensorFlow: pip install 'kinks[tf]'") from None
    from ..tensorflow.verify import summary, verify_text

    checks = []
    for path in files:
        text = _read(path)
        for check in verify_text(text, path, points=arguments.points, mode=_mode(arguments)):
            print(check.line_text())
            checks.append(check)
        sys.stdout.flush()
    print(summary(checks))
    bad = any(not check.ok for check in checks if not check.skipped)
    return EXIT_FINDINGS if bad else EXIT_OK
