"""The language server's parts without a client: conversions to LSP and the analysis scheduler."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from conftest import EXAMPLES
from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from analyzer.server import convert
from analyzer.server.convert import Analysis
from analyzer.server.worker import Scheduler, analyse_document

UTF16 = PositionCodec(types.PositionEncodingKind.Utf16)


def _analysis(text: str) -> Analysis:
    return analyse_document("file:///tmp/t.loss", 1, text, None)


def test_every_suggestion_of_the_examples_is_a_fix_or_prose() -> None:
    """The two endings the classifier gives a surrogate are the ones the quick fix reads: every
    suggestion of the examples that names a surrogate is recognised, and its expression parses."""
    recognised = 0
    for path in sorted(EXAMPLES.glob("*.loss")):
        analysis = analyse_document(path.as_uri(), 1, path.read_text(encoding="utf-8"), str(path))
        for _, finding in analysis.findings():
            if finding.suggestion and finding.suggestion.endswith(
                (") if a smooth version is needed", ") keeps it finite")
            ):
                surrogate = convert.surrogate_expression(finding)
                prose = " with " in finding.suggestion
                assert (surrogate is None) == prose, finding.suggestion
                recognised += surrogate is not None
    assert recognised >= 5


def test_the_surrogate_replaces_the_span_and_is_parenthesised_when_needed() -> None:
    analysis = _analysis("hinge(y, s) wrt s = 2 ^ max(1 - y * s, 0)\nl1(x) = abs(x)\n")
    fixes = convert.fixes(analysis, (1, 1), (3, 1))
    replacements = {fix.span.line: fix for fix in fixes if fix.title.startswith("Replace")}
    assert replacements[1].text.startswith("(0.1 * softplus(")  # a product inside a power
    assert replacements[2].text == "huber(x, 1.0)"  # a call needs no parentheses
    assert (
        analysis.text.split("\n")[1][replacements[2].span.column - 1 : replacements[2].span.end_column - 1]
        == "abs(x)"
    )


def test_no_surrogate_fix_for_an_atom_inside_a_called_definition() -> None:
    analysis = _analysis("layer(x, w) = relu(w * x)\nfit(x, y, w) wrt w = mean((y - layer(x, w))^2)\n")
    fixes = [fix for fix in convert.fixes(analysis, (2, 1), (2, 80)) if fix.report.name == "fit"]
    assert fixes and not any(fix.title.startswith("Replace") for fix in fixes)
    assert any(fix.title == "Add `# noqa: K201`" for fix in fixes)


def test_noqa_fixes_extend_an_existing_list_and_skip_errors_and_unused_noqa() -> None:
    analysis = _analysis("f(x) = relu(x)  # noqa: K202\ng(x) = x^2  # noqa\nh(x) = abs(x\n")
    fixes = convert.fixes(analysis, (1, 1), (4, 1))
    noqa = [fix for fix in fixes if "noqa" in fix.title]
    assert [(fix.title, fix.text) for fix in noqa] == [
        ("Add K201 to the `# noqa` list", "# noqa: K201, K202")
    ]
    line = analysis.text.split("\n")[0]
    assert line[noqa[0].span.column - 1 : noqa[0].span.end_column - 1] == "# noqa: K202"
    codes = {finding.code for _, finding in analysis.findings()}
    assert "E001" in codes  # reported, but gets no noqa fix (K902 is off by default, as ruff's RUF100)


def test_ranges_are_utf16_and_zero_based() -> None:
    # A non-BMP character before the span on the same line counts two UTF-16 units.
    text = "f(x) = abs(x)\n"
    analysis = _analysis(text)
    (diagnostic,) = convert.diagnostics(analysis, UTF16)
    assert diagnostic.range == types.Range(types.Position(0, 7), types.Position(0, 13))
    assert diagnostic.severity == types.DiagnosticSeverity.Information and diagnostic.code == "K201"
    report, finding = next(analysis.findings())
    lines = ["# \U0001f600 " + "f(x) = abs(x)"]
    shifted = convert.Span(1, finding.span.column + 4, 1, finding.span.end_column + 4)
    assert convert.lsp_range(shifted, report, lines, UTF16).start.character == 7 + 5
    assert convert.kinks_position(types.Position(0, 12), lines, UTF16) == (1, 12)


def test_hover_on_a_definition_line_explains_it() -> None:
    analysis = _analysis("f(x) = x^2\n")
    text = convert.hover_markdown(analysis, 1, 1)
    assert text is not None and "**smooth**" in text
    assert convert.hover_markdown(analysis, 2, 1) is None


def test_the_configuration_of_the_file_is_used(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.kinks]\nselect = ["K001"]\n', encoding="utf-8")
    path = tmp_path / "m.loss"
    analysis = analyse_document(
        path.as_uri(), 1, "f(x) = abs(x)\ng(p) wrt p = mean(argmax(p) == 1)\n", str(path)
    )
    assert {finding.code for _, finding in analysis.findings()} == {"K001"}
    (tmp_path / "pyproject.toml").write_text("[tool.kinks]\nselect = 3\n", encoding="utf-8")
    broken = analyse_document(path.as_uri(), 2, "f(x) = abs(x)\n", str(path))
    assert broken.settings_problem and "select" in broken.settings_problem
    assert {finding.code for _, finding in broken.findings()} == {"K201"}  # the defaults


def _stub(text: str, version: int) -> Analysis:
    return Analysis("u", version, text, [])


def test_the_scheduler_drops_stale_results_and_never_blocks_the_loop() -> None:
    release = threading.Event()
    started = threading.Event()
    analysed: list[int | None] = []

    def slow_analyse(uri: str, version: int | None, text: str, path: str | None) -> Analysis:
        analysed.append(version)
        if version == 1:
            started.set()
            release.wait(10)  # a slow definition
        return Analysis(uri, version, text, [])

    async def scenario() -> tuple[list[int | None], float, Scheduler]:
        published: list[int | None] = []
        scheduler = Scheduler(
            lambda analysis: published.append(analysis.version), analyse=slow_analyse, debounce=0.01
        )
        scheduler.schedule("u", 1, "a", None, wait=False)
        while not started.is_set():
            await asyncio.sleep(0.005)
        # while version 1 is being analysed, the loop still runs: edits come in and are scheduled
        tick = time.monotonic()
        await asyncio.sleep(0.01)
        responsive = time.monotonic() - tick
        scheduler.schedule("u", 2, "b", None, wait=True)
        await asyncio.sleep(0.05)
        scheduler.schedule("u", 3, "c", None, wait=True)
        await asyncio.sleep(0.05)
        release.set()
        for _ in range(200):
            if published:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        scheduler.shutdown()
        return published, responsive, scheduler

    published, responsive, scheduler = asyncio.run(scenario())
    assert published == [3]  # version 1's result is dropped, version 2 never published
    assert responsive < 0.5
    assert 1 in analysed and 3 in analysed and 2 not in analysed  # version 2 skipped without analysing
    assert scheduler.skipped == 1


def test_a_closed_document_gets_nothing_published() -> None:
    async def scenario() -> list[Analysis]:
        published: list[Analysis] = []
        scheduler = Scheduler(published.append, analyse=lambda u, v, t, p: _stub(t, v), debounce=0.05)
        scheduler.schedule("u", 1, "a", None, wait=True)
        scheduler.forget("u")
        await asyncio.sleep(0.2)
        scheduler.shutdown()
        return published

    assert asyncio.run(scenario()) == []


@pytest.mark.parametrize("argv", [["server", "--debounce", "-1"], ["server", "--debounce", "x"]])
def test_the_command_rejects_a_bad_debounce(argv: list[str]) -> None:
    from analyzer.cli.main import main

    assert main(argv) == 2
