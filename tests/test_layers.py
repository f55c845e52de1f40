"""The layering of pyproject.toml's import-linter contracts (only the window imports Qt, the
engine imports none of the layers above it), and no import circle among the package's modules."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_hold():
    linter = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the checkout's code, not an installed copy
    result = subprocess.run([linter, "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


def import_circle(imports: dict[str, set[str]]) -> list[str] | None:
    """A circle of `imports` (module -> the modules it imports directly), as the modules along
    it with the first repeated at the end, or None: a depth-first walk that meets a module it
    is still inside of has gone round one."""
    visiting, done, path = set(), set(), []

    def walk(module: str) -> list[str] | None:
        visiting.add(module)
        path.append(module)
        for imported in sorted(imports.get(module, ())):
            if imported in visiting:
                return path[path.index(imported):] + [imported]
            if imported not in done and (circle := walk(imported)):
                return circle
        visiting.discard(module)
        done.add(module)
        path.pop()
        return None

    for module in sorted(imports):
        if module not in done and (circle := walk(module)):
            return circle
    return None


def test_the_circle_finder_finds_a_circle_and_none_where_there_is_none():
    assert import_circle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert import_circle({"a": {"b"}, "b": {"c"}, "c": {"b"}}) == ["b", "c", "b"]
    assert import_circle({"a": {"a"}}) == ["a", "a"]


def test_no_module_takes_part_in_an_import_circle():
    import grimp

    graph = grimp.build_graph("gdplayground")
    imports = {module: graph.find_modules_directly_imported_by(module) for module in graph.modules}
    circle = import_circle(imports)
    assert circle is None, "import circle: " + " -> ".join(circle)
