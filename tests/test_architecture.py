"""The project's layering, checked over the source (pure and fast: the code is parsed, never run).

- wpa/ has no import cycle: the graph is built from every import of every module under wpa/, those
  inside functions and under `if TYPE_CHECKING:` too (a deferred import only hides a cycle from the
  interpreter; the two modules still cannot be understood, tested or moved one without the other).
- No module under wpa/, app/ or pages/ is over MAX_LINES lines.
- wpa/ never imports Streamlit (the command line, workers and clusters run it without a server).
- Pages, the Streamlit code they share (app/) and streamlit_app.py are thin: no torch, mediapipe,
  cv2 or av; the work, and anything that parses files, is in wpa/, which is tested.
- Tests and benchmarks share helpers through tests/support only: tests/ holds test modules and
  conftest.py files, no test module imports another or a conftest, and benchmarks import nothing
  else of tests/.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.data import REPO

MAX_LINES = 450
HEAVY_LIBRARIES = {"torch", "mediapipe", "cv2", "av"}


@dataclass(frozen=True)
class Import:
    module: str  # the module (or package) imported, absolute
    line: int


def module_name(path: Path, root: Path = REPO) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, known: set[str] | frozenset[str] = frozenset(), root: Path = REPO) -> Iterator[Import]:
    """Every import in the file (a module under `root`), wherever it is; `from X import Y` is X.Y
    where that is a module in `known`, else X."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, one level up per dot after the first
                anchor = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield Import(submodule if submodule in known else base, node.lineno)


def wpa_graph() -> dict[str, dict[str, int]]:
    """Module -> {wpa module it imports: the line of the first such import}."""
    files = {module_name(path): path for path in sorted((REPO / "wpa").rglob("*.py"))}
    graph: dict[str, dict[str, int]] = {}
    for name, path in files.items():
        edges = graph.setdefault(name, {})
        for imported in imports_of(path, set(files)):
            if imported.module in files and imported.module != name:
                edges.setdefault(imported.module, imported.line)
    return graph


def strongly_connected(graph: dict[str, dict[str, int]]) -> list[set[str]]:
    """The groups of modules that import one another, directly or not (Tarjan), largest first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while node not in group:
                group.add(stack.pop())
            groups.append(group)

    for node in graph:
        if node not in index:
            visit(node)
    return sorted((group for group in groups if len(group) > 1), key=len, reverse=True)


def a_cycle(graph: dict[str, dict[str, int]], group: set[str]) -> str:
    """One cycle through the group, each step with the line of its import: the shortest way back
    from the group's first module to itself."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node]):
                if target == start:
                    steps = paths[node] + [start]
                    return " -> ".join(f"{a} (line {graph[a][b]})" for a, b in zip(steps, steps[1:])) + f" -> {start}"
                if target in group and target not in paths:
                    paths[target] = paths[node] + [target]
                    following.append(target)
        frontier = following
    raise AssertionError(f"no cycle through {group}")


def python_files(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (REPO / folder).rglob("*.py"))


def test_the_graph_sees_imports_inside_functions_and_relative_ones(tmp_path):
    package = tmp_path / "wpa" / "poses"
    package.mkdir(parents=True)
    (package / "table.py").write_text("from . import cache\n\ndef later():\n    from ..recognition import dataset\n")
    known = {"wpa.poses.cache", "wpa.recognition.dataset"}
    found = [i.module for i in imports_of(package / "table.py", known, root=tmp_path)]
    assert found == ["wpa.poses.cache", "wpa.recognition.dataset"]


def test_a_cycle_is_found_and_shown_with_its_lines():
    graph = {"a": {"b": 3}, "b": {"c": 5}, "c": {"a": 7}, "d": {"a": 1}}
    assert strongly_connected(graph) == [{"a", "b", "c"}]
    assert a_cycle(graph, {"a", "b", "c"}) == "a (line 3) -> b (line 5) -> c (line 7) -> a"


def test_wpa_has_no_import_cycle():
    graph = wpa_graph()
    groups = strongly_connected(graph)
    cycles = [a_cycle(graph, group) for group in groups]
    assert not cycles, "import cycles in wpa/:\n" + "\n".join(cycles)


@pytest.mark.parametrize("folder", ["wpa", "app", "pages"])
def test_no_module_is_over_the_line_limit(folder):
    lengths = {path.relative_to(REPO).as_posix(): len(path.read_text().splitlines()) for path in python_files(folder)}
    long = {name: lines for name, lines in lengths.items() if lines > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_wpa_never_imports_streamlit():
    found = [f"{path.relative_to(REPO)}:{i.line}" for path in python_files("wpa") for i in imports_of(path)
             if i.module.split(".")[0] in ("streamlit", "streamlit_webrtc")]
    assert not found, f"wpa/ imports Streamlit: {found}"


def test_pages_and_the_app_do_not_import_the_heavy_libraries():
    sources = [*python_files("pages", "app"), REPO / "streamlit_app.py"]
    assert any(path.parent.name == "app" for path in sources)
    found = [f"{path.relative_to(REPO)}:{i.line} {i.module}" for path in sources for i in imports_of(path)
             if i.module.split(".")[0] in HEAVY_LIBRARIES]
    assert not found, f"pages are thin, the work is in wpa/: {found}"


def test_tests_hold_test_modules_and_fixtures_and_their_helpers_are_in_support():
    loose = [path.relative_to(REPO).as_posix() for path in python_files("tests")
             if "support" not in path.relative_to(REPO / "tests").parts
             and not (path.name.startswith("test_") or path.name in ("conftest.py", "__init__.py"))]
    assert not loose, f"helpers belong in tests/support: {loose}"


def test_tests_and_benchmarks_share_helpers_through_tests_support_only():
    found = []
    for path in python_files("tests", "benchmarks"):
        for i in imports_of(path):
            top, _, rest = i.module.partition(".")
            inside_tests = top == "tests" and not rest.startswith("support")
            another_test = inside_tests and (rest.split(".")[-1].startswith("test_") or rest.endswith("conftest"))
            if another_test or (inside_tests and path.parent.name == "benchmarks"):
                found.append(f"{path.relative_to(REPO)}:{i.line} {i.module}")
            if top == "benchmarks" and path.parent.name != "benchmarks":
                found.append(f"{path.relative_to(REPO)}:{i.line} {i.module} (a test importing a benchmark)")
    assert not found, f"import these from tests/support: {found}"
