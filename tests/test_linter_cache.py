"""The cache and the parallel runner: an unchanged file is not analysed again, a changed one is;
reports survive their JSON records; analysis in worker processes gives the same bytes as in one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzer.analysis.api import analyze_text
from analyzer.analysis.report import Finding, Report
from analyzer.cli import check as check_command
from analyzer.cli import main as cli
from analyzer.language.syntax import Span
from analyzer.lint import runner
from analyzer.lint.cache import Cache, report_from_record
from analyzer.lint.files import LoadedFile, load

REPO = Path(__file__).resolve().parent.parent
REAL_FILES = sorted((REPO / "examples").glob("*.loss")) + sorted(
    (REPO / "tests" / "fixtures" / "rules").glob("[EK]*.loss")
)


class CountingAnalyzer:
    """A stand-in that records which files it analyses; `name CODE` lines become definitions."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.classification = "smooth"

    def __call__(self, text: str, path: str, *, budget: float | None = None) -> list[Report]:
        self.paths.append(path)
        reports = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                name, *codes = line.split()
                findings = [
                    Finding("stub", code, f"stub {code}", Span(number, 1, number, 2)) for code in codes
                ]
                reports.append(
                    Report(name=name, line=number, classification=self.classification, findings=findings)
                )
        return reports


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CountingAnalyzer:
    analyzer = CountingAnalyzer()
    monkeypatch.setattr(check_command, "_analyzer", lambda: analyzer)
    for variable in ("FORCE_COLOR", "NO_COLOR", "KINKS_CACHE_DIR"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)
    return analyzer


def check(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    cli.main(["check", "--isolated", "--output-format", "json", *argv])
    return capsys.readouterr().out


def test_unchanged_files_come_from_the_cache_and_changed_ones_are_analysed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, counting: CountingAnalyzer
) -> None:
    Path("a.loss").write_text("a K201\n", encoding="utf-8")
    Path("b.loss").write_text("b K102\n", encoding="utf-8")
    first = check(capsys, ".")
    assert counting.paths == ["a.loss", "b.loss"]
    assert check(capsys, ".") == first  # nothing analysed, same output
    assert counting.paths == ["a.loss", "b.loss"]
    Path("b.loss").write_text("b K101\n", encoding="utf-8")
    changed = check(capsys, ".")
    assert counting.paths == ["a.loss", "b.loss", "b.loss"]
    assert [finding["code"] for record in json.loads(changed) for finding in record["findings"]] == [
        "K201",
        "K101",
    ]


def test_a_fully_cached_run_does_not_load_the_analyzer(
    capsys: pytest.CaptureFixture[str], counting: CountingAnalyzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    Path("a.loss").write_text("a K201\n", encoding="utf-8")
    loads: list[str] = []

    def load_analyzer() -> CountingAnalyzer:
        loads.append("loaded")
        return counting

    monkeypatch.setattr(check_command, "_analyzer", load_analyzer)
    check(capsys, "a.loss")
    check(capsys, "a.loss")
    assert loads == ["loaded"]  # importing the analysis machinery is for files that need it


def test_a_renamed_file_hits_and_keeps_its_new_name(
    capsys: pytest.CaptureFixture[str], counting: CountingAnalyzer
) -> None:
    Path("old.loss").write_text("f K201\n", encoding="utf-8")
    check(capsys, "old.loss")
    Path("old.loss").rename("new.loss")
    records = json.loads(check(capsys, "new.loss"))
    assert counting.paths == ["old.loss"]
    assert records[0]["file"] == "new.loss"


def test_no_cache_neither_reads_nor_writes(
    capsys: pytest.CaptureFixture[str], counting: CountingAnalyzer
) -> None:
    Path("a.loss").write_text("a\n", encoding="utf-8")
    check(capsys, "--no-cache", "a.loss")
    assert not Path(".kinks_cache").exists()
    check(capsys, "a.loss")
    check(capsys, "--no-cache", "a.loss")
    assert counting.paths == ["a.loss"] * 3


def test_selection_changes_need_no_new_analysis(
    capsys: pytest.CaptureFixture[str], counting: CountingAnalyzer
) -> None:
    Path("a.loss").write_text("a K201 K102\n", encoding="utf-8")
    check(capsys, "a.loss")
    selected = json.loads(check(capsys, "--select", "K1", "a.loss"))
    assert counting.paths == ["a.loss"]
    assert [finding["code"] for finding in selected[0]["findings"]] == ["K102"]


def test_the_budget_is_part_of_the_key(
    capsys: pytest.CaptureFixture[str], counting: CountingAnalyzer
) -> None:
    Path("a.loss").write_text("a\n", encoding="utf-8")
    check(capsys, "a.loss")
    check(capsys, "--budget", "5", "a.loss")
    check(capsys, "--budget", "5", "a.loss")
    assert counting.paths == ["a.loss", "a.loss"]


def test_undecided_verdicts_are_not_cached(
    capsys: pytest.CaptureFixture[str], counting: CountingAnalyzer
) -> None:
    Path("a.loss").write_text("a K901\n", encoding="utf-8")
    counting.classification = "unknown"
    check(capsys, "a.loss")
    check(capsys, "a.loss")
    assert counting.paths == ["a.loss", "a.loss"]


def test_a_corrupt_entry_is_a_miss(capsys: pytest.CaptureFixture[str], counting: CountingAnalyzer) -> None:
    Path("a.loss").write_text("a K201\n", encoding="utf-8")
    first = check(capsys, "a.loss")
    (entry,) = Path(".kinks_cache").rglob("*.json")
    entry.write_text("{not json", encoding="utf-8")
    assert check(capsys, "a.loss") == first
    entry.write_text('{"records": "nope"}', encoding="utf-8")
    assert check(capsys, "a.loss") == first
    assert counting.paths == ["a.loss"] * 3


def test_the_cache_directory_option_and_the_verbose_account(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, counting: CountingAnalyzer
) -> None:
    Path("a.loss").write_text("a\n", encoding="utf-8")
    Path("b.loss").write_text("b\n", encoding="utf-8")
    cli.main(["check", "--isolated", "--cache-dir", "elsewhere", "-v", "a.loss"])
    assert "1 files: 0 from the cache, 1 analysed in 1 process" in capsys.readouterr().err
    cli.main(["check", "--isolated", "--cache-dir", "elsewhere", "-v", "a.loss", "b.loss"])
    err = capsys.readouterr().err
    assert "2 files: 1 from the cache, 1 analysed" in err
    assert f"cache: {tmp_path / 'elsewhere'}" in err
    assert not Path(".kinks_cache").exists() and (tmp_path / "elsewhere" / "CACHEDIR.TAG").is_file()


def test_entries_depend_on_the_analyzer_fingerprint(tmp_path: Path) -> None:
    one, other = Cache(tmp_path, fingerprint="a" * 64), Cache(tmp_path, fingerprint="b" * 64)
    one.store(
        one.key("x", None),
        [
            {
                "file": "f.loss",
                "name": "f",
                "line": 1,
                "wrt": [],
                "class": "smooth",
                "smoothness": 2,
                "by_variable": {},
                "findings": [],
            }
        ],
    )
    assert one.load(one.key("x", None)) == [
        {
            "name": "f",
            "line": 1,
            "wrt": [],
            "class": "smooth",
            "smoothness": 2,
            "by_variable": {},
            "findings": [],
        }
    ]
    assert other.load(other.key("x", None)) is None
    assert one.key("x", None) != one.key("x", 2.0) != one.key("y", 2.0)


def test_an_unwritable_cache_is_skipped_quietly(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    cache = Cache(blocker / "cache")
    cache.store(cache.key("x", None), [])
    assert cache.load(cache.key("x", None)) is None


# ---------------------------------------------------------------- records and reports


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda path: path.name)
def test_reports_survive_their_records(path: Path) -> None:
    loaded = load(str(path))
    if loaded.text is None:
        reports = [loaded.unreadable]
    else:
        reports = analyze_text(loaded.text, str(path))
    for report in reports:
        record = report.to_dict()
        assert report_from_record(record).to_dict() == record
        assert report_from_record(json.loads(json.dumps(record))).to_dict() == record


# ---------------------------------------------------------------- parallel == serial


def test_parallel_analysis_gives_the_same_bytes_as_serial(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("FORCE_COLOR", "NO_COLOR", "KINKS_CACHE_DIR"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(runner, "PARALLEL_MIN_DEFINITIONS", 0)
    paths = [str(path) for path in REAL_FILES]
    outputs = {}
    for jobs in ("1", "2"):
        cache = str(tmp_path / f"cache-{jobs}")
        cli.main(
            ["check", "--isolated", "--cache-dir", cache, "-j", jobs, "-v", "--output-format", "json", *paths]
        )
        captured = capsys.readouterr()
        expected_processes = "1 process" if jobs == "1" else "2 processes"
        assert f"analysed in {expected_processes}" in captured.err
        # The text rendering of each run's own results, read back from its own cache.
        cli.main(["check", "--isolated", "--cache-dir", cache, "-j", jobs, "-v", *paths])
        text = capsys.readouterr()
        assert ", 0 analysed\n" in text.err
        outputs[jobs] = (captured.out, text.out)
    assert outputs["1"][0] == outputs["2"][0]
    assert outputs["1"][1] == outputs["2"][1]


# One file with what makes a part of a file depend on the rest: a constant, calls of definitions
# above (valid and broken), a syntax error, block locals, a Python-pasted spelling.
MANY_DEFINITIONS = """eps = 1e-7
mae(y, p) wrt p = mean(abs(y - p))
layer(x, w, b) = relu(w * x + b)
fit(x, y, w, b) wrt w, b = mean((y - layer(x, w, b))^2)
broken(x) = x +
uses_broken(x) = broken(x) * 2
nope(x) = undefined_name(x)
uses_nope(x) = nope(x) + 1
f1(y, p) wrt p given 0 <= p <= 1:
    tp = sum(p * y)
    fp = sum(p * (1 - y))
    fn = sum((1 - p) * y)
    return 1 - 2 * tp / (2 * tp + fp + fn + eps)
acc(y, p) wrt p = mean(argmax(p) == argmax(y))
hinge(y, s) wrt s = mean(relu(1 - y * s))
bce(y, p) wrt p = -mean(y * log(clip(p, eps, 1 - eps)))
smooth_l1(y, p) wrt p = mean(huber(y - p, 1.0))
step(x) = mean(round(x))
"""


def test_the_parts_of_one_file_give_the_same_output_as_the_whole(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("FORCE_COLOR", "NO_COLOR", "KINKS_CACHE_DIR"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(runner, "PARALLEL_MIN_DEFINITIONS", 0)
    monkeypatch.setattr(runner, "DEFINITIONS_PER_PART", 1)  # split even this small file
    path = tmp_path / "many.loss"
    path.write_text(MANY_DEFINITIONS, encoding="utf-8")
    outputs = {}
    for jobs in ("1", "2", "2"):  # twice in parallel: the same bytes each time
        cli.main(
            ["check", "--isolated", "--no-cache", "-j", jobs, "-v", "--output-format", "json", str(path)]
        )
        captured = capsys.readouterr()
        assert f"analysed in {'1 process' if jobs == '1' else '2 processes'}" in captured.err
        outputs.setdefault(jobs, set()).add(captured.out)
    assert len(outputs["2"]) == 1 and outputs["1"] == outputs["2"]
    records = json.loads(outputs["1"].pop())
    assert [record["name"] for record in records][:5] == ["mae", "layer", "fit", "broken", "uses_broken"]
    assert [record["class"] for record in records if record["name"] in ("uses_broken", "uses_nope")] == [
        "invalid",
        "invalid",
    ]


def test_parts_report_progress_definition_by_definition(tmp_path: Path) -> None:
    loaded = [LoadedFile(str(tmp_path / "many.loss"), MANY_DEFINITIONS)]
    seen: list[tuple[int, int]] = []
    parallel = runner.analyze_files(
        loaded,
        lambda: analyze_text,
        jobs=2,
        parallel_threshold=0,
        on_progress=lambda *done: seen.append(done),
    )
    serial = runner.analyze_files(loaded, lambda: analyze_text, jobs=1)
    assert [r.to_dict() for r in parallel[0]] == [r.to_dict() for r in serial[0]]
    assert seen[0][0] == 0 and seen[-1][0] == seen[-1][1] == len(serial[0])
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


# (estimated definitions of each file, workers) -> the parts: (file, part, parts), largest first
PLAN_CASES = [
    ({0: 3}, 2, [(0, 0, 1)]),  # too few to split
    ({0: 160}, 2, [(0, k, 8) for k in range(8)]),  # at most PARTS_PER_WORKER parts a worker
    ({0: 20, 1: 100}, 2, [*((1, k, 8) for k in range(8)), (0, 0, 2), (0, 1, 2)]),
    ({0: 0}, 4, [(0, 0, 1)]),
]


@pytest.mark.parametrize(("estimates", "workers", "expected"), PLAN_CASES)
def test_plan_parts(
    estimates: dict[int, int],
    workers: int,
    expected: list[tuple[int, int, int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the table is written for these settings, whatever they are tuned to
    monkeypatch.setattr(runner, "DEFINITIONS_PER_PART", 8)
    monkeypatch.setattr(runner, "PARTS_PER_WORKER", 4)
    assert [(part.file, part.part, part.parts) for part in runner.plan_parts(estimates, workers)] == expected


def test_merge_parts_interleaves_and_refuses_parts_that_do_not_fit() -> None:
    part = [runner.Part(0, k, 3) for k in range(3)]
    records = [[{"n": 0}, {"n": 3}], [{"n": 1}, {"n": 4}], [{"n": 2}]]
    assert runner.merge_parts(list(zip(part, records))) == [{"n": n} for n in range(5)]
    with pytest.raises(ValueError):
        runner.merge_parts(list(zip(part[:2], records)))  # a part missing
    with pytest.raises(ValueError):
        runner.merge_parts(list(zip(part, [[{"n": 0}], [{"n": 1}, {"n": 4}], [{"n": 2}]])))  # a hole


# Two files that share `p > 0.36`: after the first, SymPy's cache used to hand the second's analysis
# objects built for the first, and its K001 moved from line 2 to line 4.
SHARES_A_THRESHOLD = "precision(y, p) wrt p = sum((p > 0.36) * y) / (sum(p > 0.36) + 1e-7)\n"
HARD_DICE = """hard_dice(y, p) wrt p given 0 <= p <= 1 and y in {0, 1}:
    mask = cast(p > 0.36, tf.float32)
    inter = K.sum(y * mask)
    return 1 - (2 * inter + 0.5) / (K.sum(y) + K.sum(mask) + 0.5)
"""


def test_a_verdict_does_not_depend_on_the_files_analysed_before_it() -> None:
    # What the cache key (the text) and parallel == serial both rest on.
    from sympy.core.cache import clear_cache

    clear_cache()
    alone = runner.records_for(analyze_text, HARD_DICE, "b.loss", None)
    clear_cache()
    runner.records_for(analyze_text, SHARES_A_THRESHOLD, "a.loss", None)
    assert runner.records_for(analyze_text, HARD_DICE, "b.loss", None) == alone
    assert [(finding["code"], finding["span"]["line"]) for finding in alone[0]["findings"]] == [
        ("K001", 2),
        ("K101", 2),
    ]


def crash_on_b(text: str, path: str, *, budget: float | None = None) -> list[Report]:
    if path.endswith("b.loss"):
        raise RuntimeError("the simplifier fell over")
    return []


def test_a_crash_in_a_worker_names_the_file(tmp_path: Path) -> None:
    files = [LoadedFile(str(tmp_path / name), "f(x) = x\n") for name in ("a.loss", "b.loss", "c.loss")]
    with pytest.raises(runner.AnalysisFailed, match="b.loss") as failure:
        runner.analyze_files(files, lambda: crash_on_b, jobs=2, parallel_threshold=0)
    assert isinstance(failure.value.__cause__, RuntimeError)


def test_a_crash_is_reported_with_its_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(check_command, "_analyzer", lambda: crash_on_b)
    monkeypatch.delenv("KINKS_DEBUG", raising=False)
    path = tmp_path / "b.loss"
    path.write_text("f\n", encoding="utf-8")
    assert cli.main(["check", "--isolated", "--no-cache", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"RuntimeError: the simplifier fell over (while analysing {path})" in err


def test_the_workload_estimate_counts_definitions() -> None:
    text = "eps = 1e-7\nf(x) = x\ng(x, y) wrt x = x * y\nblock(x):\n    y = x\n    return y\n# h(x) = x\n"
    assert runner.estimated_definitions(text) == 3


# ---------------------------------------------------------------- issue 17: entries that are JSON but not records


def _entry_json(entry: Path) -> dict:
    return json.loads(entry.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: {},
        lambda data: {**data, "records": [{}]},
        lambda data: {**data, "records": [{**data["records"][0], "findings": "nope"}]},
        lambda data: {
            **data,
            "records": [
                {
                    **data["records"][0],
                    "findings": [
                        {
                            **data["records"][0]["findings"][0],
                            "span": {"line": 1, "end_line": 1, "end_column": 2},
                        }
                    ],
                }
            ],
        },
        lambda data: {
            **data,
            "records": [{key: value for key, value in data["records"][0].items() if key != "class"}],
        },
        # well formed, but edited: the checksum no longer matches
        lambda data: {**data, "records": [{**data["records"][0], "class": "zero-gradient"}]},
        # well formed and re-checksummed, but stored under another key
        lambda data: {**data, "key": "0" * 64},
    ],
    ids=[
        "empty",
        "empty-record",
        "findings-not-a-list",
        "span-without-column",
        "no-class",
        "wrong-class",
        "wrong-key",
    ],
)
def test_an_entry_that_is_not_a_valid_record_is_a_miss(
    capsys: pytest.CaptureFixture[str], counting: CountingAnalyzer, damage
) -> None:
    Path("a.loss").write_text("a K201\n", encoding="utf-8")
    first = check(capsys, "a.loss")
    (entry,) = Path(".kinks_cache").rglob("*.json")
    entry.write_text(json.dumps(damage(_entry_json(entry))), encoding="utf-8")
    assert cli.main(["check", "--isolated", "--output-format", "json", "a.loss"]) == 0
    captured = capsys.readouterr()
    assert captured.out == first and "internal error" not in captured.err
    assert counting.paths == ["a.loss"] * 2
    assert check(capsys, "a.loss") == first  # the entry was rewritten: a hit again
    assert counting.paths == ["a.loss"] * 2


def test_a_cache_entry_names_its_key_and_checksum(tmp_path: Path) -> None:
    cache = Cache(tmp_path, fingerprint="a" * 64)
    key = cache.key("x", None)
    cache.store(
        key,
        [
            {
                "name": "f",
                "line": 1,
                "wrt": [],
                "class": "smooth",
                "smoothness": 2,
                "by_variable": {},
                "findings": [],
            }
        ],
    )
    (entry,) = tmp_path.rglob("*.json")
    data = _entry_json(entry)
    assert data["key"] == key and len(data["checksum"]) == 64
    # The key holds the analyzer's version (in its fingerprint) and the settings that change a verdict.
    assert cache.key("x", None) != Cache(tmp_path, fingerprint="b" * 64).key("x", None)
    assert cache.key("x", None, {"python": True}) != cache.key("x", None)


def test_a_symbolic_link_loop_is_reported_as_one(
    capsys: pytest.CaptureFixture[str], counting: CountingAnalyzer
) -> None:
    Path("loop.loss").symlink_to("loop.loss")
    assert cli.main(["check", "--isolated", "loop.loss"]) == 2
    assert "loop.loss: symbolic link loop" in capsys.readouterr().err
    Path("d").mkdir()
    Path("d/self.loss").symlink_to("self.loss")
    assert cli.main(["check", "--isolated", "--output-format", "concise", "d"]) == 1
    assert "d/self.loss:1:1: E006 cannot read the file: it is a symbolic link loop" in capsys.readouterr().out
