"""Keeps the hooks honest: every hookspec of host/hookspecs.py, and every hookspec a plugin declares in its
``plugins/<name>/hookspecs.py`` (added through ``register_hookspecs``), is in docs/plugins.md with its exact
signature, arguments, return value, async-ness and a working example, and has a real test.

The rules:
- docs/plugins.md, section "## Hook reference", has one heading per hook, written exactly as the code's
  signature: ``### <name>(<args>)``, e.g. ``### participant_left(app, session, participant, reason)``;
- each hook's section says **Arguments**, **Returns** and **Async**, and has a ```python example that
  implements that hook; every python example of the page runs and registers cleanly against the hookspecs;
- every hook has at least one test function named ``test_hook_<name>`` or ``test_hook_<name>_...`` in a
  tests/test_*.py file, not skipped, with at least one assert.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import re
import types
from pathlib import Path

import pluggy

from host import hookspecs
from conftest import parse_python

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "plugins.md"
TESTS = ROOT / "tests"
HEADING = re.compile(r"^### (.+?)\s*$", re.M)
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)


def spec_modules() -> list:
    """host/hookspecs.py and the hookspecs modules the plugins under plugins/ declare."""
    return [hookspecs] + [importlib.import_module(f"plugins.{path.parent.name}.hookspecs")
                          for path in sorted((ROOT / "plugins").glob("*/hookspecs.py"))]


def specs() -> dict[str, object]:
    marker = f"{hookspecs.PROJECT}_spec"
    return {name: fn for module in spec_modules() for name, fn in vars(module).items()
            if inspect.isfunction(fn) and hasattr(fn, marker)}


def code_signature(name: str) -> str:
    return f"{name}{inspect.signature(specs()[name])}"


def hook_sections() -> dict[str, tuple[str, str]]:
    """Hook name -> (its heading text, its section text), from the "## Hook reference" part of the doc."""
    text = DOC.read_text()
    start = text.index("\n## Hook reference")
    end = text.find("\n## ", start + 1)
    reference = text[start:end if end != -1 else len(text)]
    out = {}
    headings = list(HEADING.finditer(reference))
    for i, h in enumerate(headings):
        body = reference[h.end():headings[i + 1].start() if i + 1 < len(headings) else len(reference)]
        name = h.group(1).split("(", 1)[0].strip()
        assert name not in out, f"hook {name} is documented twice"
        out[name] = (h.group(1), body)
    return out


def test_there_are_hookspecs_to_check():
    assert {"startup", "register_message_handlers", "session_record", "register_hookspecs",
            "invite_channels", "webacd_start_options"} <= set(specs())


def test_every_hookspec_is_documented_with_its_exact_signature():
    documented = hook_sections()
    missing = sorted(set(specs()) - set(documented))
    assert not missing, f"hooks missing from docs/plugins.md: {missing} (add a '### <signature>' section)"
    wrong = {name: (documented[name][0], code_signature(name)) for name in specs()
             if documented[name][0] != code_signature(name)}
    assert not wrong, "documented signature differs from host/hookspecs.py (docs, code): " + repr(wrong)


def test_the_docs_describe_no_hook_that_does_not_exist():
    extra = sorted(set(hook_sections()) - set(specs()))
    assert not extra, f"docs/plugins.md documents hooks that host/hookspecs.py does not have: {extra}"


def test_each_hook_section_gives_arguments_return_async_and_an_example():
    problems = []
    for name, (_heading, body) in hook_sections().items():
        for needed in ("**Arguments**", "**Returns**", "**Async**"):
            if needed not in body:
                problems.append(f"{name}: no {needed}")
        examples = PYTHON_BLOCK.findall(body)
        if not any("@hookimpl" in e and re.search(rf"def {name}\(", e) for e in examples):
            problems.append(f"{name}: no python example implementing it")
    assert not problems, problems


def test_every_python_example_runs_and_registers_against_the_hookspecs():
    text = DOC.read_text()
    blocks = PYTHON_BLOCK.findall(text)
    assert len(blocks) >= len(specs())
    for i, source in enumerate(blocks):
        module = types.ModuleType(f"docs_example_{i}")
        exec(compile(source, f"docs/plugins.md example {i + 1}", "exec"), module.__dict__)
        pm = pluggy.PluginManager(hookspecs.PROJECT)
        for spec_module in spec_modules():
            pm.add_hookspecs(spec_module)
        pm.register(module)   # raises when an implementation takes an argument its hook does not have
        for impl in pm.hook.register_hookspecs.get_hookimpls():   # hooks the example declares itself
            impl.function(add=pm.add_hookspecs)
        pm.check_pending()    # raises when it implements a hook that does not exist


def hook_tests() -> dict[str, list[str]]:
    """Hook name -> the test functions named for it, across tests/test_*.py (longest hook name wins)."""
    names = sorted(specs(), key=len, reverse=True)
    found: dict[str, list[str]] = {n: [] for n in names}
    for path in sorted(TESTS.glob("test_*.py")):
        tree = parse_python(path)
        for node in tree.body:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or not node.name.startswith("test_hook_"):
                continue
            rest = node.name[len("test_hook_"):]
            hook = next((n for n in names if rest == n or rest.startswith(n + "_")), None)
            if hook is None:
                found.setdefault("?unknown", []).append(f"{path.name}::{node.name}")
                continue
            skipped = any("skip" in ast.unparse(d) or "xfail" in ast.unparse(d) for d in node.decorator_list)
            asserts = any(isinstance(n, ast.Assert) for n in ast.walk(node))
            if not skipped and asserts:
                found[hook].append(f"{path.name}::{node.name}")
    return found


def test_every_hookspec_has_a_test():
    found = hook_tests()
    untested = sorted(name for name in specs() if not found[name])
    assert not untested, (f"hooks without a test: {untested} (add a test named test_hook_<name>... with asserts "
                          "in a tests/test_*.py file)")


def test_no_hook_test_is_named_for_a_hook_that_does_not_exist():
    assert not hook_tests().get("?unknown"), hook_tests().get("?unknown")


def test_the_api_section_lists_exactly_what_host_api_exports():
    """docs/plugins.md "## API" names (first column of its table, in backticks) every name of host.api's
    __all__, and no other."""
    import host.api as api
    text = DOC.read_text()
    start = text.index("\n## API\n")
    section = text[start:text.index("\n## ", start + 1)]
    listed = set()
    for row in re.findall(r"^\| (`.+?) \| ", section, re.M):
        for span in re.findall(r"`([^`]+)`", row):
            name = re.match(r"(?:await )?([A-Za-z_]+)", span)
            listed.add(name.group(1))
    assert set(api.__all__) - listed == set(), "exported by host.api but not in the API section"
    assert listed - set(api.__all__) == set(), "in the API section but not exported by host.api"
