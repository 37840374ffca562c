"""Keras integration of the generated modules (issue 14, item 6): registered names unique per
file and variant, plain functions registered, saved models reload without custom_objects, no Keras
loss class for a zero-gradient definition, higher-is-better metrics become `1 - metric`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analyzer.cli.main import main
from analyzer.tensorflow.codegen import generate, keras_package, lower_any, lower_source
from analyzer.tensorflow.smooth import rewrite_source

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from analyzer.tensorflow.runtime import load_module

SOURCE = """\
mae(y, p) wrt p = mean(abs(y - p))
accuracy(y, p) wrt p = mean(argmax(p) == argmax(y))
"""


def _module(mode: str, text: str = SOURCE, path: str = "keras_case.loss") -> tuple[Any, Any]:
    if mode == "plain":
        module = generate(lower_any(text, path))
    else:
        rewritten = rewrite_source(text, path, mode=mode)
        module = generate(
            lower_source(rewritten.text, path, rewritten.temperatures),
            mode=mode,
            keyword_defaults=rewritten.temperatures,
        )
    return module, load_module(module.text, f"kinks_keras_{mode}")


@pytest.fixture(scope="module")
def modules() -> dict[str, tuple[Any, Any]]:
    return {mode: _module(mode) for mode in ("plain", "smooth", "ste")}


def test_registered_names_differ_per_variant_and_file(modules: dict[str, tuple[Any, Any]]) -> None:
    assert keras_package("losses/keras_case.loss") == "kinks.keras_case"
    assert keras_package("keras_case.loss", "smooth") == "kinks.keras_case.smooth"
    assert keras_package("<stdin>", "ste") == "kinks.ste"
    names = {
        mode: keras.saving.get_registered_name(loaded.AccuracyLoss)
        for mode, (_, loaded) in modules.items()
        if hasattr(loaded, "AccuracyLoss")
    }
    assert names == {
        "smooth": "kinks.keras_case.smooth>AccuracyLoss",
        "ste": "kinks.keras_case.ste>AccuracyLoss",
    }
    assert keras.saving.get_registered_name(modules["plain"][1].mae) == "kinks.keras_case>mae"


def test_no_keras_class_for_a_zero_gradient_definition(
    modules: dict[str, tuple[Any, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module, loaded = modules["plain"]
    assert "accuracy" not in module.classes and not hasattr(loaded, "AccuracyLoss")
    assert "# No Keras loss class for accuracy: its gradient is zero almost everywhere" in module.text
    comment = " ".join(line[2:] for line in module.text.splitlines() if line.startswith("# "))
    assert (
        "use AccuracyLoss of `kinks tf --smooth keras_case.loss` (surrogates) or of `kinks tf --ste"
        in comment
    )
    path = tmp_path / "keras_case.loss"
    path.write_text(SOURCE, encoding="utf-8")
    assert main(["tf", str(path)]) == 0
    err = capsys.readouterr().err
    assert f"{path}:2: accuracy: the gradient is zero almost everywhere: no Keras loss class written" in err


def test_a_saved_model_reloads_without_custom_objects(
    modules: dict[str, tuple[Any, Any]], tmp_path: Path
) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 3)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, size=8)]
    cases = [
        ("function", modules["plain"][1].mae),
        ("plain", modules["plain"][1].MaeLoss()),
        ("smooth", modules["smooth"][1].AccuracyLoss()),
        ("ste", modules["ste"][1].AccuracyLoss()),
    ]
    for label, loss in cases:
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3)])
        model.compile(optimizer="sgd", loss=loss)
        expected = model.evaluate(x, y, verbose=0)
        path = tmp_path / f"{label}.keras"
        model.save(path)
        restored = keras.models.load_model(path)  # no custom_objects: every object is registered
        assert restored.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-6), label
        if label != "function":
            assert type(restored.loss) is type(loss), label


def test_a_metric_where_higher_is_better_becomes_one_minus_the_metric() -> None:
    text = (
        "dice(y, p) wrt p = 2 * sum(y * p) / (sum(y) + sum(p) + 1)\n"
        "# kinks: higher-is-better\n"
        "overlap(y, p) wrt p = sum(y * p)\n"
        "dice_loss(y, p) wrt p = 1 - dice(y, p)\n"
        "ratio(y, p) wrt p = sum(y * p)  # kinks: higher-is-better\n"
        "iou_like(y, p) wrt p = sum(y - p)  # kinks: lower-is-better\n"
    )
    module, loaded = _module("plain", text)
    assert "        return 1.0 - dice(y_true, y_pred)" in module.text
    assert "        return 1.0 - overlap(y_true, y_pred)" in module.text
    assert "        return 1.0 - ratio(y_true, y_pred)" in module.text
    assert "        return dice_loss(y_true, y_pred)" in module.text
    assert "        return iou_like(y_true, y_pred)" in module.text
    # `1 - dice` is a loss already, whatever its name says (examples/segmentation.loss: hard_dice, soft_dice)
    complemented, _ = _module("plain", "soft_dice(y, p) wrt p = 1 - 2 * sum(y * p) / (sum(y) + sum(p) + 1)\n")
    assert "        return soft_dice(y_true, y_pred)" in complemented.text
    y = tf.constant([[1.0, 0.0]])
    p = tf.constant([[0.5, 0.5]])
    assert float(loaded.OverlapLoss()(y, p)) == pytest.approx(0.5)
