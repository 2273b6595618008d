"""Check statically that our integration fits a Home Assistant release we cannot run.

Reads the ``homeassistant`` package of that release (an unpacked folder or the wheel itself,
nothing is imported or installed) and our integration's source, and reports:

- a ``homeassistant.*`` module or name we import (or use as ``module.name``) that is missing;
- a call whose callee can be resolved statically (a function or class we import, a function
  of an imported module, a method of a Home Assistant base class called on ``self``,
  ``super().__init__``) with arguments the release's signature rejects: too many
  positional arguments, an unknown keyword, a required argument missing;
- a resolved callee that reports a deprecation unconditionally (``report_usage`` and
  friends as a statement of its body, or a ``deprecated_*`` decorator).

What cannot be read statically is skipped, not guessed: calls on values whose type is not
known here (``hass.…``, ``entry.…``), calls with ``*args`` / ``**kwargs`` for the parts they
hide, and overloaded or dynamically built callees. mypy --strict checks the same calls
against the release the tests run on; this checks them against the newest one.

Usage: python scripts/ha_api_check.py HA_SOURCE [OUR_PACKAGE]
(HA_SOURCE: a .whl file or a folder that contains ``homeassistant/``).
"""

from __future__ import annotations

import ast
import re
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

_UNPARENTHESISED_EXCEPT = re.compile(r"^(\s*except\*?\s+)([^():\n]+,[^():\n]+):", re.MULTILINE)
REPORTERS = frozenset({"report_usage", "report", "_report_deprecated", "report_non_thread_safe"})
MAX_DEPTH = 12
# Decorators that leave a function's signature as written.
SIGNATURE_KEEPING = frozenset(
    {"callback", "classmethod", "staticmethod", "final", "abstractmethod", "override"}
)


@dataclass(frozen=True)
class Problem:
    """One finding, at a line of our code."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        """``path:line: message``."""
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class Module:
    """One parsed module of the release: its top-level names."""

    name: str
    is_package: bool
    tree: ast.Module
    names: dict[str, ast.AST] = field(default_factory=dict)
    dynamic: bool = False  # defines __getattr__ or star-imports: any name may exist

    @classmethod
    def parse(cls, name: str, source: str, *, is_package: bool) -> Module:
        """Parse ``source`` and collect what it defines at run time.

        Newer releases use Python 3.14 syntax that this interpreter may not parse:
        ``except A, B:`` (PEP 758) is rewritten to ``except (A, B):``; a module that
        still does not parse counts as dynamic (every name may exist in it).
        """
        try:
            tree = ast.parse(_UNPARENTHESISED_EXCEPT.sub(r"\1(\2):", source))
        except SyntaxError:
            return cls(name, is_package, ast.Module(body=[], type_ignores=[]), dynamic=True)
        module = cls(name, is_package, tree)
        for node in _runtime_statements(module.tree.body):
            module._collect(node)
        return module

    def _collect(self, node: ast.stmt) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            self.names[node.name] = node
            self.dynamic |= node.name == "__getattr__"
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                for name in _target_names(target):
                    self.names[name] = node
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
            self.names[node.target.id] = node
        elif isinstance(node, ast.TypeAlias) and isinstance(node.name, ast.Name):
            self.names[node.name.id] = node
        elif isinstance(node, ast.Import):
            for alias in node.names:
                self.names[alias.asname or alias.name.split(".")[0]] = alias
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    self.dynamic = True
                else:
                    self.names[alias.asname or alias.name] = node


def _runtime_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Top-level statements, looking into if/try blocks but not ``if TYPE_CHECKING``."""
    for node in body:
        if isinstance(node, ast.If):
            test = node.test
            if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
                isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
            ):
                yield from _runtime_statements(node.orelse)
                continue
            yield from _runtime_statements(node.body)
            yield from _runtime_statements(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _runtime_statements(block)
            for handler in node.handlers:
                yield from _runtime_statements(handler.body)
        else:
            yield node


def _target_names(target: ast.expr) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _target_names(element)


class Release:
    """The ``homeassistant`` package of one release, read from a wheel or a folder."""

    def __init__(self, source: Path) -> None:
        """Open ``source`` (a .whl file or a folder containing ``homeassistant/``)."""
        self._zip = zipfile.ZipFile(source) if source.is_file() else None
        self._root = source
        self._modules: dict[str, Module | None] = {}

    def _read(self, relative: str) -> str | None:
        if self._zip is not None:
            try:
                return self._zip.read(relative).decode("utf-8")
            except KeyError:
                return None
        path = self._root / relative
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def version(self) -> str:
        """The release's version (homeassistant/const.py)."""
        const = self.module("homeassistant.const")
        found: dict[str, str] = {}
        if const is not None:
            for name in ("MAJOR_VERSION", "MINOR_VERSION", "PATCH_VERSION"):
                node = const.names.get(name)
                value = getattr(node, "value", None)
                if isinstance(value, ast.Constant):
                    found[name] = str(value.value)
        return ".".join(found.get(n, "?") for n in ("MAJOR_VERSION", "MINOR_VERSION")) + (
            f".{found.get('PATCH_VERSION', '?')}"
        )

    def module(self, name: str) -> Module | None:
        """The parsed module ``name`` (None if the release has no such module)."""
        if name not in self._modules:
            base = name.replace(".", "/")
            source = self._read(f"{base}.py")
            is_package = False
            if source is None:
                source = self._read(f"{base}/__init__.py")
                is_package = source is not None
            self._modules[name] = (
                None if source is None else Module.parse(name, source, is_package=is_package)
            )
        return self._modules[name]

    def exists(self, module_name: str, name: str) -> bool:
        """True if ``module_name`` defines or re-exports ``name`` (or may, dynamically)."""
        module = self.module(module_name)
        if module is None:
            return False
        return (
            name in module.names
            or module.dynamic
            or self.module(f"{module_name}.{name}") is not None
        )

    def class_chain(
        self, module_name: str, node: ast.ClassDef
    ) -> Iterator[tuple[str, ast.ClassDef]]:
        """``node`` and its bases that are classes of the release, depth first."""
        seen: set[tuple[str, str]] = set()
        stack = [(module_name, node)]
        while stack and len(seen) < 50:
            current_module, current = stack.pop(0)
            if (current_module, current.name) in seen:
                continue
            seen.add((current_module, current.name))
            yield current_module, current
            for base in current.bases:
                found = self.resolve_expr(current_module, base)
                if found is not None:
                    stack.append(found)

    def resolve_expr(self, module_name: str, expr: ast.expr) -> tuple[str, ast.ClassDef] | None:
        """A base-class expression (``Name``, ``module.Name``, ``Name[...]``) as a class."""
        if isinstance(expr, ast.Subscript):
            expr = expr.value
        if isinstance(expr, ast.Name):
            owner, name = module_name, expr.id
        elif isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
            module = self.module(module_name)
            alias = module.names.get(expr.value.id) if module else None
            target = _module_of_alias(module, alias) if module else None
            if target is None:
                return None
            owner, name = target, expr.attr
        else:
            return None
        found = self.definition(owner, name)
        if found is not None and isinstance(found[1], ast.ClassDef):
            return found[0], found[1]
        return None

    def definition(self, module_name: str, name: str, depth: int = 0) -> tuple[str, ast.AST] | None:
        """Where ``name`` of ``module_name`` is defined (re-exports followed): (module, node)."""
        module = self.module(module_name)
        if module is None or depth > MAX_DEPTH:
            return None
        node = module.names.get(name)
        if isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            original = next(a.name for a in node.names if (a.asname or a.name) == name)
            return self.definition(source, original, depth + 1)
        return (module_name, node) if node is not None else None


def _absolute(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = module.name.split(".")
    keep = len(parts) - node.level + (1 if module.is_package else 0)
    base = ".".join(parts[:keep])
    return f"{base}.{node.module}" if node.module else base


def _module_of_alias(module: Module | None, alias: ast.AST | None) -> str | None:
    """The module a local name stands for (``import a.b as x`` / ``from a import b``)."""
    if module is None:
        return None
    if isinstance(alias, ast.alias):
        return alias.name
    if isinstance(alias, ast.ImportFrom):
        for a in alias.names:
            return f"{_absolute(module, alias)}.{a.name}"
    return None


# -- signatures ---------------------------------------------------------------------------


def _decorator_names(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> set[str]:
    names = set()
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Name):
            names.add(target.id)
        elif isinstance(target, ast.Attribute):
            names.add(target.attr)
    return names


def check_call(
    func: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call, *, bound: bool
) -> list[str]:
    """What is wrong with ``call`` against ``func``'s signature (empty: nothing known)."""
    decorators = _decorator_names(func)
    if not decorators <= SIGNATURE_KEEPING:
        return []  # overloaded, or a decorator that may change the signature
    args = func.args
    positional = [*args.posonlyargs, *args.args]
    if bound and "staticmethod" not in decorators and positional:
        positional = positional[1:]
    problems = []
    starred = any(isinstance(a, ast.Starred) for a in call.args)
    double_starred = any(k.arg is None for k in call.keywords)
    given = [a for a in call.args if not isinstance(a, ast.Starred)]
    if not starred and args.vararg is None and len(given) > len(positional):
        problems.append(f"{len(given)} positional arguments, at most {len(positional)} accepted")
    keyword_ok = {a.arg for a in [*args.args, *args.kwonlyargs]}
    posonly = {a.arg for a in args.posonlyargs}
    for keyword in call.keywords:
        if keyword.arg is None:
            continue
        if keyword.arg in posonly and args.kwarg is None:
            problems.append(f"{keyword.arg!r} is positional-only")
        elif keyword.arg not in keyword_ok and args.kwarg is None:
            problems.append(f"unknown keyword argument {keyword.arg!r}")
    if not starred and not double_starred:
        supplied = {k.arg for k in call.keywords}
        required_positional = positional[: len(positional) - len(args.defaults)]
        for index, arg in enumerate(required_positional):
            if index >= len(given) and arg.arg not in supplied:
                problems.append(f"required argument {arg.arg!r} missing")
        for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
            if default is None and arg.arg not in supplied:
                problems.append(f"required keyword argument {arg.arg!r} missing")
    return problems


def deprecation(func: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> str | None:
    """The deprecation the callee reports whenever it is called (None: none known)."""
    if any(name.startswith("deprecated") for name in _decorator_names(func)):
        return "decorated as deprecated"
    body = func.body
    if isinstance(func, ast.ClassDef):
        init = next(
            (n for n in body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None
        )
        if init is None:
            return None
        body = init.body
    for statement in body:
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            callee = statement.value.func
            name = callee.id if isinstance(callee, ast.Name) else getattr(callee, "attr", "")
            if name in REPORTERS or name.startswith("_report_deprecated"):
                text = next(
                    (
                        a.value
                        for a in statement.value.args
                        if isinstance(a, ast.Constant) and isinstance(a.value, str)
                    ),
                    "",
                )
                return text or "reports a deprecation"
    return None


def _dataclass_fields(release: Release, module_name: str, node: ast.ClassDef) -> set[str] | None:
    """Field names of a dataclass-like class (dataclass, EntityDescription, TypedDict)."""
    fields: set[str] = set()
    like = False
    for owner, cls in release.class_chain(module_name, node):
        decorators = _decorator_names(cls)
        keywords = {k.arg for k in cls.keywords}
        base_names = {getattr(b, "id", getattr(b, "attr", "")) for b in cls.bases}
        if (
            decorators & {"dataclass", "define", "frozen", "s", "attrs"}
            or keywords & {"frozen_or_thawed", "total"}
            or base_names & {"TypedDict"}
            or any(k.arg == "metaclass" for k in cls.keywords)
        ):
            like = True
        if (
            any(isinstance(n, ast.FunctionDef) and n.name == "__init__" for n in cls.body)
            and owner != module_name
        ):
            return None  # an explicit __init__ somewhere up the chain: checked as a function
        for statement in cls.body:
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                annotation = ast.unparse(statement.annotation)
                if "ClassVar" not in annotation:
                    fields.add(statement.target.id)
    return fields if like else None


# -- our code -----------------------------------------------------------------------------


class _OurModule(ast.NodeVisitor):
    """Walks one of our modules: imports, module attributes and calls."""

    def __init__(self, release: Release, path: str, tree: ast.Module) -> None:
        self.release = release
        self.path = path
        self.problems: list[Problem] = []
        self.names: dict[str, tuple[str, str]] = {}  # local -> (ha module, name)
        self.modules: dict[str, str] = {}  # local -> ha module
        self.classes: list[ast.ClassDef] = []
        self.scopes: list[dict[str, tuple[str, ast.ClassDef]]] = []  # local -> HA class
        self.tree = tree

    def run(self) -> list[Problem]:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ImportFrom | ast.Import):
                self._import(node)
        self.visit(self.tree)
        return self.problems

    def _report(self, node: ast.AST, message: str) -> None:
        self.problems.append(Problem(self.path, getattr(node, "lineno", 0), message))

    def _import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] != "homeassistant":
                    continue
                if self.release.module(alias.name) is None:
                    self._report(node, f"module {alias.name} does not exist")
                elif alias.asname:
                    self.modules[alias.asname] = alias.name
            return
        if node.level or not node.module or node.module.split(".")[0] != "homeassistant":
            return
        if self.release.module(node.module) is None:
            self._report(node, f"module {node.module} does not exist")
            return
        for alias in node.names:
            local = alias.asname or alias.name
            if self.release.module(f"{node.module}.{alias.name}") is not None:
                self.modules[local] = f"{node.module}.{alias.name}"
            elif not self.release.exists(node.module, alias.name):
                self._report(node, f"{node.module}.{alias.name} does not exist")
            else:
                self.names[local] = (node.module, alias.name)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.classes.append(node)
        self.generic_visit(node)
        self.classes.pop()

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        """Know the Home Assistant classes of annotated arguments and simple assignments."""
        scope: dict[str, tuple[str, ast.ClassDef]] = {}
        self.scopes.append(scope)
        for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
            if arg.annotation is not None and (found := self._class_of(arg.annotation)):
                scope[arg.arg] = found
        for statement in ast.walk(node):
            if (
                isinstance(statement, ast.Assign)
                and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)
                and (found := self._type_of(statement.value))
            ):
                scope[statement.targets[0].id] = found
        self.generic_visit(node)
        self.scopes.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._function(node)

    def _class_of(self, annotation: ast.expr) -> tuple[str, ast.ClassDef] | None:
        """The Home Assistant class an annotation names (``X``, ``X | None``, ``mod.X``)."""
        if isinstance(annotation, ast.BinOp):  # X | None
            return self._class_of(annotation.left) or self._class_of(annotation.right)
        found: tuple[str, ast.AST] | None = None
        if isinstance(annotation, ast.Name) and annotation.id in self.names:
            found = self.release.definition(*self.names[annotation.id])
        elif (
            isinstance(annotation, ast.Attribute)
            and isinstance(annotation.value, ast.Name)
            and annotation.value.id in self.modules
        ):
            found = self.release.definition(self.modules[annotation.value.id], annotation.attr)
        if found is not None and isinstance(found[1], ast.ClassDef):
            return found[0], found[1]
        return None

    def _type_of(self, expr: ast.expr) -> tuple[str, ast.ClassDef] | None:
        """The Home Assistant class of a value, where it can be read statically."""
        if isinstance(expr, ast.Name):
            for scope in reversed(self.scopes):
                if expr.id in scope:
                    return scope[expr.id]
            return None
        if isinstance(expr, ast.Call):
            target = self._callee(expr)
            if target is None:
                return None
            _label, module_name, callee, _bound = target
            if isinstance(callee, ast.ClassDef):
                return module_name, callee
            if callee.returns is not None:
                module = self.release.module(module_name)
                returns = callee.returns
                if isinstance(returns, ast.Constant) and isinstance(returns.value, str):
                    try:
                        returns = ast.parse(returns.value, mode="eval").body
                    except SyntaxError:
                        return None
                if isinstance(returns, ast.Name) and module is not None:
                    return self.release.resolve_expr(module_name, returns)
        return None

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.value, ast.Name) and node.value.id in self.modules:
            module = self.modules[node.value.id]
            if not self.release.exists(module, node.attr):
                self._report(node, f"{module}.{node.attr} does not exist")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        target = self._callee(node)
        if target is not None:
            label, module_name, callee, bound = target
            self._check(node, label, module_name, callee, bound=bound)
        self.generic_visit(node)

    def _callee(
        self, node: ast.Call
    ) -> tuple[str, str, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, bool] | None:
        func = node.func
        found: tuple[str, ast.AST] | None = None
        label = ""
        bound = False
        if isinstance(func, ast.Name) and func.id in self.names:
            module, name = self.names[func.id]
            found, label = self.release.definition(module, name), f"{module}.{name}"
        elif (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in self.modules
        ):
            module = self.modules[func.value.id]
            found, label = self.release.definition(module, func.attr), f"{module}.{func.attr}"
        elif isinstance(func, ast.Attribute) and self.classes and _is_self(func.value):
            found = self._method(func.attr)
            label, bound = f"self.{func.attr}", True
        elif isinstance(func, ast.Attribute) and (typed := self._type_of(func.value)):
            found = _find_method(self.release, typed, func.attr)
            label, bound = f"{typed[1].name}.{func.attr}", True
        elif (
            isinstance(func, ast.Attribute)
            and func.attr == "__init__"
            and isinstance(func.value, ast.Call)
            and getattr(func.value.func, "id", None) == "super"
            and self.classes
        ):
            found = self._method("__init__", skip_own=True)
            label, bound = "super().__init__", True
        if found is None:
            return None
        module_name, callee = found
        if isinstance(callee, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            return label, module_name, callee, bound
        return None

    def _method(self, name: str, *, skip_own: bool = False) -> tuple[str, ast.AST] | None:
        """``name`` looked up in the Home Assistant bases of the class we are in."""
        ours = self.classes[-1]
        if not skip_own and any(
            isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == name
            for n in ours.body
        ):
            return None  # our own method: mypy checks it
        for base in ours.bases:
            base_expr = base.value if isinstance(base, ast.Subscript) else base
            local = getattr(base_expr, "id", None)
            if local not in self.names:
                continue
            definition = self.release.definition(*self.names[local])
            if definition is None or not isinstance(definition[1], ast.ClassDef):
                continue
            if method := _find_method(self.release, (definition[0], definition[1]), name):
                return method
        return None

    def _check(
        self,
        node: ast.Call,
        label: str,
        module_name: str,
        callee: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef,
        *,
        bound: bool,
    ) -> None:
        if (text := deprecation(callee)) is not None:
            self._report(node, f"{label} is deprecated: {text}")
        if isinstance(callee, ast.ClassDef):
            fields = _dataclass_fields(self.release, module_name, callee)
            if fields is not None:
                for keyword in node.keywords:
                    if keyword.arg is not None and keyword.arg not in fields:
                        self._report(node, f"{label}: unknown field {keyword.arg!r}")
                return
            init = next(
                (
                    (owner, n)
                    for owner, cls in self.release.class_chain(module_name, callee)
                    for n in cls.body
                    if isinstance(n, ast.FunctionDef) and n.name == "__init__"
                ),
                None,
            )
            if init is None:
                return
            callee, bound = init[1], True
        for problem in check_call(callee, node, bound=bound):
            self._report(node, f"{label}: {problem}")


def _find_method(
    release: Release, cls: tuple[str, ast.ClassDef], name: str
) -> tuple[str, ast.AST] | None:
    """Method ``name`` of a Home Assistant class or its bases (None: not found, a property)."""
    for owner, current in release.class_chain(*cls):
        for statement in current.body:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef) and (
                statement.name == name
            ):
                if _decorator_names(statement) & {"property", "cached_property"}:
                    return None
                return owner, statement
    return None


def _is_self(expr: ast.expr) -> bool:
    return isinstance(expr, ast.Name) and expr.id == "self"


FALLBACK_MARK = "ha-api-check: fallback"


def check(release: Release, package: Path) -> list[Problem]:
    """Every problem of our package against ``release``.

    A deprecated call on a line marked ``# ha-api-check: fallback`` is the branch for
    older releases behind a feature detection (compat.py) and is not reported.
    """
    problems: list[Problem] = []
    for path in sorted(package.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        fallbacks = {
            number
            for number, line in enumerate(source.splitlines(), start=1)
            if FALLBACK_MARK in line
        }
        problems.extend(
            problem
            for problem in _OurModule(release, str(path), ast.parse(source)).run()
            if not (problem.line in fallbacks and " is deprecated: " in problem.message)
        )
    return problems


def main(argv: list[str]) -> int:
    """Command line: print the problems, exit 1 if there are any."""
    if len(argv) not in (2, 3):
        print(__doc__.split("Usage: ")[1].split("\n")[0], file=sys.stderr)
        return 2
    release = Release(Path(argv[1]))
    package = Path(argv[2]) if len(argv) == 3 else Path("custom_components/solar_wallbox")
    problems = check(release, package)
    for problem in problems:
        print(problem)
    verdict = f"{len(problems)} problem(s)" if problems else "no problems"
    print(f"Home Assistant {release.version()}: {verdict} in {package}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
