"""Generated TensorFlow that never breaks a user's build (issue 14).

One failing definition never takes the file down; every dtype and mode runs; gradients are finite
where the math's are and right where kinks cancel; variants never make a loss worse.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.cli import main
from analyzer.tensorflow.codegen import generate, lower_any

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ 1. one definition fails alone


FAILING = """\
g(p) = p^2
f(p) = where(sum(p > 0) > 0, 1 / sum(p > 0), 1.0)
h(p) = relu(p)
"""


def test_a_failing_definition_costs_only_its_own_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mixed.loss"
    path.write_text(FAILING, encoding="utf-8")
    output = tmp_path / "mixed_tf.py"
    assert main(["tf", str(path), "-o", str(output)]) == 1
    text = output.read_text(encoding="utf-8")
    assert "def g(p):" in text and "def h(p):" in text and "def f(" not in text
    compile(text, str(output), "exec")
    err = capsys.readouterr().err
    assert f"{path}:2:8: f: `where(sum(p > 0) > 0, 1 / sum(p > 0), 1.0)`: " in err
    assert "(no code written for it)" in err
    for internal in ("ReduceSum", "Piecewise", "StrictGreaterThan", "Traceback", "object has no attribute"):
        assert internal not in err


def test_reductions_of_constants_keep_their_shape() -> None:
    module = generate(lower_any("f(p) = sum(ones_like(p))\nm(p) = sum(p) / sum(ones_like(p))\n"))
    assert not module.failures
    assert "tf.reduce_sum(tf.ones_like(p), axis=-1)" in module.text
    assert "_with_zero_gradient(" in module.text  # f has no gradient: zeros, not None


def test_an_axis_marker_inside_a_folded_condition_is_not_an_internal_error() -> None:
    source = lower_any("h(p, y) wrt p = (where(max(p, axis=None) <= 1, p, sigmoid(p)) > 0.5) == y\n")
    assert [r.classification for r in source.reports] == ["zero-gradient"]
    module = generate(source)
    assert list(module.functions) == ["h"] and not module.failures
