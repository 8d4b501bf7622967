"""No import cycles, down to single modules. import-linter (pyproject.toml, `make test`) checks the layers and the
cycles between a package's modules; this also catches a package's __init__ importing a module that imports the
package back, a cycle that works only by the order of its lines."""

from __future__ import annotations

import grimp


def find_cycle(imports: dict[str, set[str]]) -> list[str]:
    """One import cycle (a module, what it imports, ..., the module again), or [] when there is none."""
    done: set[str] = set()
    for start in sorted(imports):
        path: list[str] = []
        on_path: set[str] = set()
        stack = [(start, iter(sorted(imports[start])))]
        path.append(start)
        on_path.add(start)
        while stack:
            module, todo = stack[-1]
            following = next((m for m in todo if m not in done), None)
            if following is None:
                stack.pop()
                path.pop()
                on_path.discard(module)
                done.add(module)
            elif following in on_path:
                return [*path[path.index(following) :], following]
            else:
                stack.append((following, iter(sorted(imports[following]))))
                path.append(following)
                on_path.add(following)
    return []


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"p": {"p"}}) == ["p", "p"]


def test_no_module_imports_a_module_that_imports_it_back():
    graph = grimp.build_graph("jurist", cache_dir=None)
    imports = {module: set(graph.find_modules_directly_imported_by(module)) for module in graph.modules}
    assert find_cycle(imports) == []
