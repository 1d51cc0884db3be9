"""The shape of the code, checked from its imports (read with `ast`, not grep):

- nothing outside adapters/ imports a backend family's modules: service/, exit_drills/ and bench/
  ask adapters.registry (tests of an adapter itself may reach inside it);
- the dependencies point one way: adapters never import exit_drills or service, exit_drills never
  imports service.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from adapters.registry import FAMILY_TYPES

ROOT = Path(__file__).resolve().parent.parent
FAMILY_MODULES = tuple(f"adapters.{kind}" for kind in FAMILY_TYPES)


def imported_modules(path: Path) -> set[str]:
    """Absolute names of every module `path` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    if path.name == "__init__.py":
        package = ".".join(path.relative_to(ROOT).parts[:-1])
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def _is_family(module: str) -> bool:
    return any(module == f or module.startswith(f + ".") for f in FAMILY_MODULES)


@pytest.mark.parametrize("path", sources("service", "exit_drills", "bench"),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_family_module_is_imported_outside_adapters(path: Path) -> None:
    reached = sorted(m for m in imported_modules(path) if _is_family(m))
    assert not reached, f"{path.relative_to(ROOT)} imports {reached}: ask adapters.registry"


@pytest.mark.parametrize("path", sources("adapters"), ids=lambda p: str(p.relative_to(ROOT)))
def test_adapters_depend_on_nothing_above_them(path: Path) -> None:
    above = sorted(m for m in imported_modules(path)
                   if m.split(".")[0] in ("exit_drills", "service"))
    assert not above, f"{path.relative_to(ROOT)} imports {above}"


@pytest.mark.parametrize("path", sources("exit_drills"), ids=lambda p: str(p.relative_to(ROOT)))
def test_drills_do_not_depend_on_the_service(path: Path) -> None:
    above = sorted(m for m in imported_modules(path) if m.split(".")[0] == "service")
    assert not above, f"{path.relative_to(ROOT)} imports {above}"


def test_a_family_module_imports_no_other_family() -> None:
    crossing = []
    for path in sources("adapters"):
        parts = path.relative_to(ROOT).parts
        if len(parts) < 3 or f"adapters.{parts[1]}" not in FAMILY_MODULES:
            continue
        own = f"adapters.{parts[1]}"
        crossing += [(str(path.relative_to(ROOT)), m) for m in imported_modules(path)
                     if _is_family(m) and not (m == own or m.startswith(own + "."))]
    assert not crossing


def test_the_modules_a_family_names_for_its_stores_are_those_its_build_imports() -> None:
    """`Family.modules` (what a drill's fork server imports ahead for its workers) names real
    modules of that family, and every module its `build` imports lazily."""
    import ast
    import importlib

    from adapters.registry import FAMILY_TYPES, family, store_modules

    for kind in FAMILY_TYPES:
        named = store_modules(kind)
        assert named[0] == f"adapters.{kind}.family"
        for module in named:
            assert module.startswith(f"adapters.{kind}."), (kind, module)
            importlib.util.find_spec(module)  # raises for a module that does not exist
        build = next(node for node in ast.walk(ast.parse(
            (ROOT / "adapters" / kind / "family.py").read_text()))
            if isinstance(node, ast.FunctionDef) and node.name == "build")
        lazy = {f"adapters.{kind}.{node.module}" for node in ast.walk(build)
                if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module}
        assert lazy <= set(family(kind).modules), (kind, lazy - set(family(kind).modules))
