"""The import graph keeps one direction: entry points -> http -> jobs -> tryon <- backends -> garments,
dev tools on top.

Built from the source itself (every ``import``, at module level, in functions and under
``TYPE_CHECKING``), so a new import that points up a layer or closes a cycle fails here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("tryon_api", "tryon_dev")

# Higher may import lower, never the reverse. Modules at tryon_api's root (settings, per_container)
# are the foundation every layer may use.
LAYERS: dict[str, int] = {
    "tryon_dev": 6,
    # The Lambda handlers and the one wiring module that builds what they use (and the dev server too).
    "tryon_api.entrypoints": 5,
    "tryon_api.http": 4,
    "tryon_api.backends": 3,
    "tryon_api.person_check": 3,  # beside the backends: its local adapter uses the preview's models
    "tryon_api.jobs": 2,  # above the pipeline it runs; beside (never importing) the backends
    "tryon_api.results": 2,  # the jobs' result URLs: beside the jobs whose keys they sign
    "tryon_api.keys": 2,  # who is calling and may they: under the front that asks, beside the jobs
    "tryon_api.garments": 2,
    "tryon_api.moderation": 2,  # implements the pipeline's ContentModeration, beside the jobs
    "tryon_api.tryon": 1,
    "tryon_api": 0,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def imported_modules(path: Path, name: str, known: set[str]) -> Iterator[str]:
    """The project modules ``path`` imports (``from a import b`` counts ``a.b`` when that is a module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target


def import_graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: set(imported_modules(path, name, known)) for name, path in found.items()}


def layer_of(module: str) -> tuple[str, int]:
    for prefix in sorted(LAYERS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return prefix, LAYERS[prefix]
    raise AssertionError(f"{module} belongs to no layer: add its package to LAYERS")


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_is_read_from_the_source() -> None:
    graph = import_graph()
    assert "tryon_api.tryon.interface" in graph["tryon_api.tryon.pipeline"]
    assert "tryon_api.http.dependencies" in graph["tryon_api.http.app"]
    assert "tryon_api.entrypoints.wiring" in graph["tryon_api.entrypoints.function_url"]
    assert "tryon_api.tryon.interface" in graph["tryon_api.backends.bedrock"]


def test_no_import_points_up_a_layer() -> None:
    upward = []
    for module, targets in import_graph().items():
        source_layer, source_rank = layer_of(module)
        for target in targets:
            target_layer, target_rank = layer_of(target)
            if target_rank > source_rank:
                upward.append(f"{module} ({source_layer}) imports {target} ({target_layer})")
    assert upward == []


def test_jobs_sit_between_the_entry_points_and_the_pipeline() -> None:
    graph = import_graph()
    assert "tryon_api.tryon.pipeline" in graph["tryon_api.jobs.dependencies"]
    crossing = [
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in targets
        if (module.startswith("tryon_api.jobs") and target.startswith(("tryon_api.backends", "tryon_api.http")))
        or (module.startswith(("tryon_api.backends", "tryon_api.garments")) and target.startswith("tryon_api.jobs"))
    ]
    assert crossing == []


def test_keys_know_nothing_of_http_or_the_backends() -> None:
    crossing = [
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        for target in targets
        if module.startswith("tryon_api.keys") and target.startswith(("tryon_api.http", "tryon_api.backends"))
    ]
    assert crossing == []


def test_there_is_no_import_cycle() -> None:
    assert find_cycle(import_graph()) is None


@pytest.mark.parametrize(
    ("graph", "cycle"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
        ({"a": {"b"}, "b": set()}, None),
    ],
)
def test_the_cycle_finder_finds_cycles(graph: dict[str, set[str]], cycle: list[str] | None) -> None:
    assert find_cycle(graph) == cycle


def test_an_upward_import_is_reported(tmp_path: Path) -> None:
    source = tmp_path / "tryon_api" / "tryon" / "pipeline.py"
    source.parent.mkdir(parents=True)
    source.write_text("from tryon_api.http.app import handle_event\n", encoding="utf-8")
    targets = set(imported_modules(source, "tryon_api.tryon.pipeline", {"tryon_api.http.app"}))
    assert targets == {"tryon_api.http.app"}
    assert layer_of("tryon_api.http.app")[1] > layer_of("tryon_api.tryon.pipeline")[1]
