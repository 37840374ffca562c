"""Smooth and straight-through variants, on the syntax tree; analysed again by kinks. No TensorFlow."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import EXAMPLE_FILES, ROOT

from analyzer import analyze_text, to_tensorflow
from analyzer.analysis.report import PIECEWISE, SMOOTH, ZERO_GRADIENT
from analyzer.tensorflow.smooth import rewrite_source

# The surrogates the issue names, one line each: (definition, what its smooth variant must contain).
SURROGATES = [
    ("f(x) = relu(x)", "f(x) = temperature * softplus(x / temperature)"),
    ("f(x, y) wrt x = max(x, y)", "f(x, y) wrt x = y + temperature * softplus((x - y) / temperature)"),
    ("f(x) = max(x)", "f(x) = temperature * logsumexp(x / temperature)"),
    ("f(x) = abs(x)", "f(x) = huber(x, huber_temperature)"),
    ("f(x) = step(x)", "f(x) = sigmoid(x / temperature)"),
    ("f(x) = mean(x > 0.5)", "f(x) = mean(sigmoid((x - 0.5) / temperature))"),
    ("f(x) = mean(x < 0.5)", "f(x) = mean(sigmoid((0.5 - x) / temperature))"),
    ("f(x) = sign(x)", "f(x) = tanh(x / temperature)"),
    ("f(x) = argmax(x)", "f(x) = sum(softmax(x / temperature) * range_like(x))"),
    (
        "f(y, p) wrt p = mean(argmax(p) == argmax(y))",
        "f(y, p) wrt p = mean(take(softmax(p / temperature), argmax(y)))",
    ),
    ("f(y, z) wrt z = sum(one_hot(argmax(z), 3) * y)", "f(y, z) wrt z = sum(softmax(z / temperature) * y)"),
    ("f(x) = round(x)", "f(x) = x - sin(2 * pi * x) / (2 * pi)"),
]


@pytest.mark.parametrize(("source", "expected"), SURROGATES, ids=[s for s, _ in SURROGATES])
def test_surrogates_of_the_atom_table(source: str, expected: str) -> None:
    rewritten = rewrite_source(source + "\n", "f.loss")
    assert expected in rewritten.text.splitlines()
    assert rewritten.text.startswith("# The smooth variant of f.loss, written by kinks")


def test_temperatures_are_constants_at_the_top_and_keyword_arguments_in_code() -> None:
    rewritten = rewrite_source("f(x) = relu(x) + abs(x)\n", "f.loss")
    assert rewritten.temperatures == {"temperature": 0.1, "huber_temperature": 1.0}
    assert rewritten.text.splitlines()[1:3] == ["temperature = 0.1", "huber_temperature = 1.0"]
    code = to_tensorflow("f(x) = relu(x) + abs(x)\n", "f.loss", mode="smooth")
    assert "def f(x, *, temperature=0.1, huber_temperature=1.0):" in code


def test_a_name_in_use_is_not_taken_for_a_temperature() -> None:
    rewritten = rewrite_source("temperature = 3\nf(x) = relu(x) * temperature\n", "f.loss")
    assert "temperature_2 = 0.1" in rewritten.text
    assert "f(x) = temperature_2 * softplus(x / temperature_2) * temperature" in rewritten.text


def test_soft_counts_for_f1_dice_and_accuracy() -> None:
    source = (ROOT / "examples" / "segmentation.loss").read_text(encoding="utf-8")
    text = rewrite_source(source, "segmentation.loss").text
    assert "    pred = sigmoid((p - 0.5) / temperature)" in text
    assert "    mask = cast(sigmoid((p - 0.5) / temperature), tf.float32)" in text
    accuracy = rewrite_source("acc(y, p) wrt p given y in {0, 1} = mean((p > 0.5) == y)\n", "a.loss").text
    assert (
        "acc(y, p) wrt p given y in {0, 1} = mean(sigmoid((p - 0.5) / temperature) * y + "
        "(1 - sigmoid((p - 0.5) / temperature)) * (1 - y))" in accuracy
    )


def test_data_and_conditions_stay_hard() -> None:
    text = rewrite_source("f(y, p) wrt p = mean(abs(y) * p) + (p if y > 0 else -p)\n", "f.loss").text
    assert "f(y, p) wrt p = mean(abs(y) * p) + (p if y > 0 else -p)" in text


@pytest.mark.parametrize("mode", ["smooth", "ste"])
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.name for p in EXAMPLE_FILES])
def test_variants_are_never_zero_gradient(path: Path, mode: str) -> None:
    source = path.read_text(encoding="utf-8")
    original = {r.name: r for r in analyze_text(source, path.name)}
    rewritten = rewrite_source(source, path.name, mode=mode)
    for report in analyze_text(rewritten.text, path.name):
        assert report.classification in (SMOOTH, PIECEWISE), (
            report.name,
            report.classification,
            report.findings,
        )
        if mode == "smooth" and original[report.name].classification == ZERO_GRADIENT:
            assert report.classification == SMOOTH, report.name


def test_straight_through_keeps_the_hard_value_and_kinks_their_own_gradient() -> None:
    text = rewrite_source("f(x) = sign(x) + relu(x)\ng(x) = round(x)\n", "f.loss", mode="ste").text
    assert "f(x) = tanh(x / temperature) + stop_gradient(sign(x) - tanh(x / temperature)) + relu(x)" in text
    assert "g(x) = x + stop_gradient(round(x) - x)" in text
    code = to_tensorflow("g(x) = round(x)\n", "g.loss", mode="ste")
    assert "    def hard1(x):\n        return tf.round(x)\n" in code
    assert "    return _straight_through(hard1, soft1, x)\n" in code


def test_a_syntax_error_is_kept_so_the_variant_reports_it_again() -> None:
    rewritten = rewrite_source("f(x) = relu(x\ng(x) = abs(x)\n", "f.loss")
    reports = analyze_text(rewritten.text, "f.loss")
    assert [r.classification for r in reports] == ["invalid", "smooth"]


def test_a_where_written_with_keywords_keeps_its_condition_and_smooths_its_branches() -> None:
    # found by tests/fuzz/run_long.py: the rewriter read the condition as the first positional
    # argument, and a call with keywords only has none
    text = "f(y, p) wrt p = where(cond=y > 0, x=abs(p), y=relu(p))\n"
    rewritten = rewrite_source(text, "f.loss", mode="smooth").text
    assert (
        "where(cond=y > 0, x=huber(p, huber_temperature), y=temperature * softplus(p / temperature))"
        in rewritten
    )
    (report,) = [r for r in analyze_text(rewritten, "f.loss") if r.name == "f"]
    assert report.classification == SMOOTH


def test_a_straight_through_variant_keeps_a_hard_atom_no_surrogate_applies_to() -> None:
    # found by tests/fuzz/run_long.py: the straight-through rewriter assumed the smooth pass had
    # replaced something, and failed (IndexError) when it had only rebuilt the call
    text = "loss2(y, x) wrt x, y = argmin(erf(y) ^ 0.5, 0)\n"
    rewritten = rewrite_source(text, "f.loss", mode="ste").text
    assert "argmin(erf(y) ^ 0.5, 0)" in rewritten and "stop_gradient" not in rewritten
    compile(to_tensorflow(text, mode="ste"), "<generated>", "exec")


# ------------------------------------------------------------------ issue 14, item 5


def test_only_atoms_that_cause_a_finding_are_replaced() -> None:
    # relu(abs(x) + 1) never kinks at the relu (its argument is at least 1): only abs is replaced
    text = rewrite_source("m(x) = relu(abs(x) + 1)\n", "m.loss").text
    assert "m(x) = relu(huber(x, huber_temperature) + 1)" in text.splitlines()


def test_regression_example_keeps_c1_definitions_comments_and_noqa() -> None:
    source = (ROOT / "examples" / "regression.loss").read_text(encoding="utf-8")
    rewritten = rewrite_source(source, "regression.loss")
    lines = rewritten.text.splitlines()
    kept = [line for line in source.splitlines() if line.startswith(("smooth_l1(", "pinball_loss(", "#"))]
    for line in kept:  # smooth_l1 is C1 (no finding), pinball's kink is intended (its noqa comment)
        assert line in lines, line
    assert "mae(y, p) wrt p = jnp.mean(huber(y - p, huber_temperature))" in lines
    assert rewritten.refused == []
    original = {r.name: r for r in analyze_text(source, "regression.loss")}
    for report in analyze_text(rewritten.text, "regression.loss"):
        if report.name is not None:
            assert {f.code for f in report.findings} <= {f.code for f in original[report.name].findings}, (
                report.name
            )


def test_a_variant_with_a_finding_the_original_lacks_is_refused() -> None:
    # softplus(1) != 1: smoothing the relu of a continuous conditional opens a jump at x == 1
    source = "f(x) = relu(x) if x < 1 else x\ng(x) = relu(x)\n"
    rewritten = rewrite_source(source, "f.loss", mode="smooth")
    assert "f(x) = relu(x) if x < 1 else x" in rewritten.text.splitlines()
    assert [(r.name, r.line) for r in rewritten.refused] == [("f", 1)]
    assert "K101" in rewritten.refused[0].reason and "kept as written" in rewritten.refused[0].text("f.loss")
    assert "g(x) = temperature * softplus(x / temperature)" in rewritten.text.splitlines()


def test_kinks_smooth_says_why_it_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from analyzer.cli.main import main

    path = tmp_path / "f.loss"
    path.write_text("# keep me\nf(x) = relu(x) if x < 1 else x  # a comment\n", encoding="utf-8")
    assert main(["smooth", str(path)]) == 0
    captured = capsys.readouterr()
    assert "# keep me\nf(x) = relu(x) if x < 1 else x  # a comment\n" in captured.out
    assert f"{path}:2: f: no variant written: the variant would have K101" in captured.err


def test_a_surrogate_with_a_kink_of_its_own_is_smoothed_in_a_second_round() -> None:
    text = rewrite_source("n(x) = hard_shrink(x)\n", "n.loss").text
    (report,) = [r for r in analyze_text(text, "n.loss") if r.name == "n"]
    assert report.classification == SMOOTH and "hard_shrink" not in text
