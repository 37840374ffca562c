"""The example files: every definition in examples/*.loss gets the class a user of it would expect.

The table below is the reference for the examples (there is no separate EXPECTED file). Every
example must analyse cleanly: no "invalid", no "unknown", no error finding.
"""

from __future__ import annotations

import pytest
from conftest import EXAMPLES

from analyzer import analyze_file

SMOOTH = "smooth"
PIECEWISE = "piecewise-differentiable"
ZERO = "zero-gradient"

EXPECTED: dict[str, dict[str, str]] = {
    "regression.loss": {
        "mae": PIECEWISE,
        "mse": SMOOTH,
        "huber_loss": SMOOTH,
        "log_cosh_loss": SMOOTH,
        "pinball_loss": PIECEWISE,  # its K201 is silenced with noqa; the class is unchanged
        "mape": PIECEWISE,
        "msle": SMOOTH,
        "smooth_l1": SMOOTH,
    },
    "classification.loss": {
        "bce": SMOOTH,
        "bce_logits": SMOOTH,
        "cross_entropy": SMOOTH,
        "smoothed_cross_entropy": SMOOTH,
        "hinge_loss": PIECEWISE,
        "squared_hinge_loss": SMOOTH,  # C1: the square meets the flat side to first order
        "focal_loss": SMOOTH,
        "accuracy": ZERO,
        "threshold_accuracy": ZERO,
        "soft_accuracy": SMOOTH,
    },
    "segmentation.loss": {
        "hard_dice": ZERO,
        "soft_dice": SMOOTH,
        "soft_jaccard": SMOOTH,
        "tversky": SMOOTH,
        "hard_f1": ZERO,
        "f1_loss": SMOOTH,
    },
    "activations.loss": {
        "relu_unit": PIECEWISE,
        "leaky_unit": PIECEWISE,
        "elu_unit": SMOOTH,
        "gelu_unit": SMOOTH,
        "swish_unit": SMOOTH,
        "hard_sigmoid_unit": PIECEWISE,
        "layer": PIECEWISE,
        "fit_layer": PIECEWISE,
    },
    "piecewise.loss": {
        "tangent_join": SMOOTH,
        "kinked_join": PIECEWISE,
        "offset_join": PIECEWISE,
        "signed_square": SMOOTH,
        "relu_difference": SMOOTH,
        "rounded": ZERO,
        "floored": ZERO,
        "signed": ZERO,
        "straight_through": SMOOTH,
        "clipped_log": PIECEWISE,
        "smooth_abs": SMOOTH,
    },
}

# Where §5's definition of smoothness settles the number.
SMOOTHNESS: dict[tuple[str, str], int] = {
    ("regression.loss", "mae"): 0,
    ("regression.loss", "mse"): 2,
    ("regression.loss", "huber_loss"): 1,
    ("regression.loss", "smooth_l1"): 1,
    ("classification.loss", "squared_hinge_loss"): 1,
    ("classification.loss", "hinge_loss"): 0,
    ("activations.loss", "elu_unit"): 1,
    ("activations.loss", "relu_unit"): 0,
    ("piecewise.loss", "tangent_join"): 1,
    ("piecewise.loss", "kinked_join"): 0,
    ("piecewise.loss", "offset_join"): -1,
    ("piecewise.loss", "signed_square"): 1,
    ("piecewise.loss", "relu_difference"): 2,
    ("piecewise.loss", "smooth_abs"): 2,
    ("piecewise.loss", "rounded"): -1,
}

# Finding kinds that must (first set) and must not (second set) be there.
KINDS: dict[tuple[str, str], tuple[set[str], set[str]]] = {
    ("regression.loss", "smooth_l1"): (set(), {"kink", "discontinuity"}),
    ("classification.loss", "squared_hinge_loss"): ({"constant-piece"}, {"kink", "discontinuity"}),
    ("classification.loss", "hinge_loss"): ({"kink", "constant-piece"}, {"discontinuity"}),
    ("activations.loss", "fit_layer"): ({"kink", "constant-piece"}, {"discontinuity"}),
    ("activations.loss", "leaky_unit"): ({"kink"}, {"constant-piece", "discontinuity"}),
    ("piecewise.loss", "relu_difference"): (set(), {"kink", "constant-piece", "discontinuity"}),
    ("piecewise.loss", "straight_through"): (set(), {"kink", "discontinuity", "constant-piece"}),
    ("piecewise.loss", "clipped_log"): ({"kink", "constant-piece"}, {"singularity", "discontinuity"}),
    ("piecewise.loss", "smooth_abs"): (set(), {"singularity", "kink"}),
    ("piecewise.loss", "offset_join"): ({"discontinuity"}, {"kink"}),
    ("piecewise.loss", "rounded"): ({"discontinuity"}, {"kink"}),
}

CASES = [(file, name, cls) for file, names in EXPECTED.items() for name, cls in names.items()]


@pytest.fixture(scope="module")
def reports() -> dict[str, dict]:
    """analyze_file on every example file, once: {file name: {definition name: Report}}."""
    result = {}
    for path in sorted(EXAMPLES.glob("*.loss")):
        result[path.name] = {report.name: report for report in analyze_file(str(path))}
    return result


def _describe(report) -> str:
    lines = [f"class={report.classification!r} smoothness={report.smoothness!r}"]
    lines += [f"  {f.kind}/{f.code} where={f.where!r} message={f.message!r}" for f in report.findings]
    if getattr(report, "reason", None):
        lines.append(f"  reason: {report.reason}")
    return "\n".join(lines)


def test_every_example_file_and_definition_is_in_the_table(reports: dict[str, dict]) -> None:
    assert set(reports) == set(EXPECTED), "add the new example file to EXPECTED (or remove the stale entry)"
    for file, by_name in reports.items():
        assert set(by_name) == set(EXPECTED[file]), f"{file}: definitions and table differ"
    total = sum(len(names) for names in EXPECTED.values())
    assert 25 <= total <= 45


def test_no_example_is_invalid_or_unknown(reports: dict[str, dict]) -> None:
    bad = {
        f"{file}:{name}": _describe(report)
        for file, by_name in reports.items()
        for name, report in by_name.items()
        if report.classification in ("invalid", "unknown") or "error" in report.kinds
    }
    assert not bad, "\n".join(f"{key}: {text}" for key, text in bad.items())


@pytest.mark.parametrize(("file", "name", "cls"), CASES, ids=[f"{f}:{n}" for f, n, _ in CASES])
def test_example_class(reports: dict[str, dict], file: str, name: str, cls: str) -> None:
    report = reports.get(file, {}).get(name)
    assert report is not None, f"no report for {file}:{name}"
    assert report.classification == cls, _describe(report)
    if (file, name) in SMOOTHNESS:
        assert report.smoothness == SMOOTHNESS[file, name], _describe(report)
    if (file, name) in KINDS:
        required, forbidden = KINDS[file, name]
        assert required <= report.kinds, _describe(report)
        assert not forbidden & report.kinds, _describe(report)


def test_mae_is_the_record_of_section_5(reports: dict[str, dict]) -> None:
    """examples/regression.loss line 3 is the `mae` of LANGUAGE.md §5's sample output."""
    report = reports["regression.loss"]["mae"]
    assert report.line == 3
    assert list(report.wrt) == ["p"]
    kinks = [f for f in report.findings if f.kind == "kink"]
    assert len(kinks) == 1, _describe(report)
    kink = kinks[0]
    assert kink.atom == "abs"
    assert "".join((kink.where or "").split()) == "y-p==0"
    span = kink.span
    assert (span.line, span.column, span.end_line, span.end_column) == (3, 28, 3, 38)


def test_noqa_silences_the_pinball_kink(reports: dict[str, dict]) -> None:
    report = reports["regression.loss"]["pinball_loss"]
    assert "K201" not in {f.code for f in report.findings}, _describe(report)


def test_zero_gradient_examples_carry_k001(reports: dict[str, dict]) -> None:
    for file, names in EXPECTED.items():
        for name, cls in names.items():
            if cls == ZERO:
                report = reports[file][name]
                assert [f.code for f in report.findings if f.kind == "zero-gradient"] == ["K001"], (
                    f"{file}:{name}\n{_describe(report)}"
                )
