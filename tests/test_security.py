"""Security: no user text is evaluated, nothing in a .loss file runs, generated code is safe.

- Statically: no module of the package calls eval, exec, compile, __import__, sympify (or sp.S),
  parse_expr or lambdify, nor the system; the one exec (loading the generated TensorFlow module
  in analyzer/tensorflow/runtime.py) is named, and runs code kinks wrote from checked identifiers.
- Dynamically: injection payloads (`__import__('os').system(...)`, dunder names, Python keywords,
  quotes, newlines in names, a `# noqa` that looks like code) go through the API, every output
  format of `kinks check`, `kinks explain`, `kinks tf` and `kinks smooth`, with every evaluator and
  process launcher spied on: none is called with the payload, and the canary file is never made.
- Generated code: every module compiles, calls no evaluator, reaches no dunder, imports only
  TensorFlow, Keras and the standard library's math, and every name in it is a plain identifier.
- `kinks tf -o` writes atomically, refuses to overwrite its own input, and leaves no partial file.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import json
import keyword
import os
import subprocess
from pathlib import Path

import pytest
import sympy
from conftest import PACKAGE
from fuzz import properties

from analyzer import KinksSyntaxError, analyze, analyze_text, to_tensorflow
from analyzer.cli.main import main

CANARY_WORD = "kinks_canary"
REAL_COMPILE = builtins.compile  # the tests' own compile of generated code is not the spy's business

# ---------------------------------------------------------------- static


FORBIDDEN_NAMES = {
    "eval",
    "exec",
    "compile",
    "__import__",
    "sympify",
    "parse_expr",
    "lambdify",
    "S",
    "execfile",
}
# Methods that evaluate or parse text as code whatever object they are called on ...
FORBIDDEN_METHODS = {"sympify", "parse_expr", "lambdify", "S", "exec_module"}
# ... and functions of these modules.
FORBIDDEN_MODULES = {
    "os": {"system", "popen", "execv", "execve", "execvp", "spawnv", "spawnl", "startfile"},
    "subprocess": None,  # anything
    "pickle": None,
    "marshal": None,
    "shelve": None,
    "importlib": {"import_module"},
    "builtins": {"eval", "exec", "compile", "__import__"},
}
# (module, callee): the calls that are allowed, and why.
ALLOWED = {
    # loads the module kinks generated (identifiers checked, numbers printed by kinks)
    ("tensorflow/runtime.py", "compile"),
    ("tensorflow/runtime.py", "exec"),
    # the subcommand modules named in the CLI's own constant tuple, never user text
    ("cli/main.py", "import_module"),
}


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            function = node.func
            if isinstance(function, ast.Name):
                yield node, function.id, None
            elif isinstance(function, ast.Attribute):
                owner = function.value.id if isinstance(function.value, ast.Name) else None
                yield node, function.attr, owner


def test_no_module_calls_an_evaluator_on_text():
    offences = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node, name, owner in _calls(tree):
            if owner is None:
                forbidden = name in FORBIDDEN_NAMES
            elif owner in FORBIDDEN_MODULES:
                names = FORBIDDEN_MODULES[owner]
                forbidden = names is None or name in names
            else:
                forbidden = name in FORBIDDEN_METHODS
            if forbidden and (module, name) not in ALLOWED:
                offences.append(f"{module}:{node.lineno}: {owner + '.' if owner else ''}{name}(...)")
    assert not offences, "calls that could evaluate text or run commands:\n" + "\n".join(offences)


def test_no_module_imports_an_evaluator_or_a_process_launcher():
    offences = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom):
                names = [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                if name.split(".")[-1] in ("sympify", "parse_expr", "lambdify", "S") or name.split(".")[
                    0
                ] in (
                    "subprocess",
                    "pickle",
                    "marshal",
                    "shelve",
                ):
                    offences.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: import {name}")
    assert not offences, "\n".join(offences)


# ---------------------------------------------------------------- payloads


def _payloads(canary: Path) -> list[str]:
    command = f"touch {canary}"
    return [
        f"f(x) = __import__('os').system('{command}')",
        f'f(x) = __import__("os").system("{command}")',
        f"f(x) = x + eval(\"__import__('os').system('{command}')\")",
        f"f(x) = exec('{command}') + x",
        f"f(x) = x.__class__.__mro__[1].__subclasses__()  # {CANARY_WORD}",
        f"__import__(os) = os.system  # {CANARY_WORD}",
        f"__class__(__builtins__, __globals__) wrt __globals__ = __builtins__ * __globals__  # {CANARY_WORD}",
        f"{CANARY_WORD}(lambda, import, class, def, None_, self) wrt lambda = lambda * import + class - def",
        f"eval(exec, compile) = exec^2 + compile  # {CANARY_WORD}",
        f"f(x) = x  # noqa: E001; __import__('os').system('{command}')",
        f"f(x) = x + 1\n{CANARY_WORD}(x) = lambdify(x)",
        f"f(x) = sympify('{command}')",
        f"f(x) = x\n'''\n{command}\n'''",
        f"f(x) = x \\\n + os.system('{command}')",
        f"{CANARY_WORD}(x) = tf.py_function(x)",
        f"{CANARY_WORD}(x) wrt x given x > 0 and __import__('os') = x",
        f"{CANARY_WORD}(x):\n    __builtins__ = x\n    return __builtins__ + relu(x)",
    ]


class _Spy:
    """Records any call of an evaluator or launcher whose arguments mention the payload."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def wrap(self, name: str, function):
        def spy(*args, **kwargs):
            # only text can carry a payload; ast.parse (compile with PyCF_ONLY_AST) runs nothing
            only_ast = kwargs.get("flags", args[3] if len(args) > 3 else 0) == ast.PyCF_ONLY_AST
            text = " ".join(arg for arg in (*args, *kwargs.values()) if isinstance(arg, str))
            if not only_ast and (CANARY_WORD in text or "touch " in text):
                self.calls.append(f"{name}({text[:200]})")
            return function(*args, **kwargs)

        return spy


@pytest.fixture
def spy(monkeypatch):
    recorder = _Spy()
    for name in ("eval", "exec", "compile", "__import__"):
        monkeypatch.setattr(builtins, name, recorder.wrap(name, getattr(builtins, name)))
    monkeypatch.setattr(sympy, "sympify", recorder.wrap("sympify", sympy.sympify))
    monkeypatch.setattr(sympy, "lambdify", recorder.wrap("lambdify", sympy.lambdify))
    from sympy.parsing import sympy_parser

    monkeypatch.setattr(sympy_parser, "parse_expr", recorder.wrap("parse_expr", sympy_parser.parse_expr))
    monkeypatch.setattr(os, "system", recorder.wrap("os.system", os.system))
    monkeypatch.setattr(os, "popen", recorder.wrap("os.popen", os.popen))
    monkeypatch.setattr(subprocess, "Popen", recorder.wrap("subprocess.Popen", subprocess.Popen))
    return recorder


def test_the_spy_sees_an_evaluator_called_with_a_payload(spy):
    """The spy can fail: a planted evaluation of user text inside the analysis is caught."""
    from analyzer.analysis.lowering import Lowerer

    original = Lowerer._Name

    def evaluating(self, node, scope):
        if CANARY_WORD in node.id:
            builtins.eval(repr(node.id))  # the bug this file guards against
        return original(self, node, scope)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Lowerer, "_Name", evaluating)
        analyze_text(f"f(x) = x + {CANARY_WORD}")
    assert spy.calls


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


def test_payloads_through_the_api_run_nothing(spy, tmp_path):
    canary = tmp_path / "CANARY"
    for payload in _payloads(canary):
        reports = properties.analyse(payload, 1.0)
        for report in reports:
            report.explain()
    for expression, wrt, given in [
        (f"__import__('os').system('touch {canary}')", None, None),
        ("x + y", [f"x\nimport os; os.system('touch {canary}')", "y"], None),
        ("x", [f"__import__('os').system('touch {canary}')"], None),
        ("x", None, f"x > 0 and __import__('os').system('touch {canary}')"),
        (f"{CANARY_WORD} * __class__", ["__class__"], f"{CANARY_WORD} > 0"),
    ]:
        try:
            report = analyze(expression, wrt=wrt, given=given)
        except KinksSyntaxError:
            continue
        assert all(finding.code != "E999" for finding in report.findings)
        report.explain()
        json.dumps(report.to_dict())
    assert not canary.exists()
    assert not spy.calls, spy.calls


FORMATS = ("text", "concise", "json", "sarif", "github", "junit")


def test_payloads_through_every_command_run_nothing(spy, tmp_path):
    canary = tmp_path / "CANARY"
    for index, payload in enumerate(_payloads(canary)):
        path = tmp_path / f"payload{index}.loss"
        path.write_text(payload, encoding="utf-8")
        for output_format in FORMATS:
            status, _, err = _run(["check", "--no-cache", "--format", output_format, str(path)])
            assert status in (0, 1), (payload, output_format, err)
            assert "Traceback" not in err and "internal error" not in err, err
        status, _out, err = _run(["explain", str(path)])
        assert status in (0, 1, 2) and "Traceback" not in err, err
        for options in ([], ["--smooth"], ["--ste"]):
            status, module, err = _run(["tf", *options, str(path)])
            assert "Traceback" not in err, err
            if status == 0 and module.strip():
                _check_generated(module)
        _, _, err = _run(["smooth", str(path)])
        assert "Traceback" not in err, err
    _, _, err = _run(["explain", f"__import__('os').system('touch {canary}')"])
    assert "Traceback" not in err
    _, _, err = _run(["explain", "--wrt", f"x;os.system('touch {canary}')", "x"])
    assert "Traceback" not in err
    assert not canary.exists()
    assert not spy.calls, spy.calls


def test_payloads_through_rule_and_plot_run_nothing(spy, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)  # a picture written without -o lands here, never beside the tests
    canary = tmp_path / "CANARY"
    command = f"__import__('os').system('touch {canary}')"
    for argv in (
        ["rule", command],
        ["rule", f"K201; touch {canary}"],
        ["rule", "--output-format", "json", command],
    ):
        status, _, err = _run(argv)
        assert status == 2 and "Traceback" not in err, (argv, err)
    picture = str(tmp_path / "payload.png")
    for index, payload in enumerate(_payloads(canary)):
        path = tmp_path / f"payload{index}.loss"
        path.write_text(payload, encoding="utf-8")
        for report in analyze_text(payload, str(path)):
            if report.name is None or report.classification == "invalid":
                continue
            status, _, err = _run(["plot", f"{path}:{report.name}", "-o", picture, "--budget", "0.5"])
            assert status in (0, 2) and "Traceback" not in err and "internal error" not in err, (payload, err)
    for argv in (
        ["plot", command, "-o", picture],
        ["plot", "x^2", "--wrt", "x", "--given", f"x > 0 and {command}", "-o", picture],
        ["plot", "x * y", "--wrt", "x", "--at", f"y={command}", "-o", picture],
        ["plot", "x", "--wrt", f"x;{command}", "-o", picture],
        ["plot", "relu(x)", "-o", str(tmp_path / f"{CANARY_WORD}.py")],
    ):
        status, _, err = _run(argv)
        assert status in (0, 2) and "Traceback" not in err, (argv, err)
    assert not (tmp_path / f"{CANARY_WORD}.py").exists()
    assert not canary.exists()
    assert not spy.calls, spy.calls


def test_payloads_through_verify_run_nothing(tmp_path, monkeypatch):
    """`kinks verify` runs the generated module: what it runs must hold no text of the payloads.
    (The module does hold the payloads' identifiers, such as the definition `kinks_canary`.)"""
    pytest.importorskip("tensorflow")
    canary = tmp_path / "CANARY"
    for index, payload in enumerate(_payloads(canary)):
        (tmp_path / f"payload{index}.loss").write_text(payload, encoding="utf-8")
    modules: list[str] = []
    ran: list[str] = []

    def watched_compile(source, *args, **kwargs):
        # the generated module is compiled from text, then run: the text is what would run
        text = source if isinstance(source, str) else ""
        if text.startswith("# Generated by kinks"):
            modules.append(text)
        if any(marker in text for marker in ("touch ", "system(", "__import__(", "eval(")):
            ran.append(text[:300])
        return REAL_COMPILE(source, *args, **kwargs)

    monkeypatch.setattr(builtins, "compile", watched_compile)
    status, out, err = _run(["verify", "--points", "2", str(tmp_path)])
    monkeypatch.undo()  # the checks below compile too: watched, each would add a module to check
    assert status in (0, 1) and "Traceback" not in err, err
    assert "definitions checked" in out and " 0 mismatches" in out, out
    assert modules, "verify compiled no generated module: the watch saw nothing"
    for module in modules:
        _check_generated(module)
    assert not canary.exists()
    assert not ran, ran


# ---------------------------------------------------------------- generated code


def _check_generated(module: str) -> None:
    REAL_COMPILE(module, "<generated>", "exec")  # compiled, never run
    problem = properties.unsafe_code(module)
    assert problem is None, f"{problem}:\n{module}"
    tree = ast.parse(module)
    for node in ast.walk(tree):
        names = []
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.arg):
            names.append(node.arg)
        elif isinstance(node, ast.Name):
            names.append(node.id)
        for name in names:
            assert name.isidentifier() and name.isascii() and not keyword.iskeyword(name), name


def test_generated_identifiers_are_sanitised():
    text = (
        "class(x) = abs(x)\n"
        "def(lambda, import) wrt lambda = lambda * import\n"
        "__class__(__builtins__) = __builtins__ ^ 2\n"
        "eval(exec) = exec + 1\n"
        "tf(np, keras) = np + keras\n"
        "数据(α, ŷ) wrt ŷ = (α - ŷ)^2\n"
        "None_(True_, self) = relu(True_ - self)\n"
    )
    generate = to_tensorflow
    for mode in ("plain", "smooth", "ste"):
        module = generate(text, "<payload>", mode=mode)
        _check_generated(module)
        defined = {node.name for node in ast.walk(ast.parse(module)) if isinstance(node, ast.FunctionDef)}
        for unsafe in ("class", "def", "__class__", "eval", "tf", "lambda", "import"):
            assert unsafe not in defined


# ---------------------------------------------------------------- kinks tf -o


def test_kinks_tf_output_compiles(tmp_path):
    source = tmp_path / "losses.loss"
    source.write_text("mae(y, p) wrt p = mean(abs(y - p))\n", encoding="utf-8")
    output = tmp_path / "losses_tf.py"
    status, _, err = _run(["tf", str(source), "-o", str(output)])
    assert status == 0, err
    _check_generated(output.read_text(encoding="utf-8"))


def test_kinks_tf_refuses_to_overwrite_its_input(tmp_path):
    source = tmp_path / "losses.loss"
    text = "mae(y, p) wrt p = mean(abs(y - p))\n"
    source.write_text(text, encoding="utf-8")
    status, _, err = _run(["tf", str(source), "-o", str(source)])
    assert status == 2 and "kinks: error" in err
    assert source.read_text(encoding="utf-8") == text
    link = tmp_path / "link.py"
    link.symlink_to(source)
    status, _, err = _run(["tf", str(source), "-o", str(link)])
    assert status == 2
    assert source.read_text(encoding="utf-8") == text


def test_kinks_tf_leaves_no_partial_file_when_interrupted(tmp_path, monkeypatch):
    source = tmp_path / "losses.loss"
    source.write_text("mae(y, p) wrt p = mean(abs(y - p))\n", encoding="utf-8")
    output = tmp_path / "losses_tf.py"
    output.write_text("# the previous version\n", encoding="utf-8")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    # whatever moves the finished file into place is interrupted: the old file must stay whole,
    # and no temporary file may be left beside it
    monkeypatch.setattr(os, "replace", interrupted)
    monkeypatch.setattr(os, "rename", interrupted)
    status, _, _ = _run(["tf", str(source), "-o", str(output)])
    assert status != 0
    assert output.read_text(encoding="utf-8") == "# the previous version\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["losses.loss", "losses_tf.py"]
