"""The set-up files agree with each other: environment.yml lists what pyproject.toml lists, and more."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib
import yaml

REPO = Path(__file__).resolve().parents[1]


def _split(req: str) -> tuple[str, str]:
    """'pandas>=2.2,<3' -> ('pandas', '>=2.2,<3'), markers kept with the spec; names normalised."""
    m = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(.*)", req)
    name = re.sub(r"[-_.]+", "-", m.group(1)).lower()
    spec = re.sub(r"\s+", "", m.group(2))
    return name, spec


def _pyproject(repo: Path = REPO) -> dict[str, str]:
    data = tomllib.loads((repo / "pyproject.toml").read_text())
    project = data["project"]
    reqs = list(project["dependencies"])
    for extra in ("lab", "test", "instructor"):
        reqs += project["optional-dependencies"][extra]
    out: dict[str, str] = {}
    for r in reqs:
        name, spec = _split(r)
        out[name + ("" if ";" not in spec else "|" + spec.split(";", 1)[1])] = spec
    return out


def _environment(repo: Path = REPO) -> dict[str, str]:
    env = yaml.safe_load((repo / "environment.yml").read_text())
    out: dict[str, str] = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for r in dep["pip"]:
                if r.startswith("-e"):
                    continue
                name, spec = _split(r)
                out[name + ("" if ";" not in spec else "|" + spec.split(";", 1)[1])] = spec
        else:
            name, spec = _split(dep.replace("=", "==", 1) if re.match(r"^[\w\-]+=[^=]", dep) else dep)
            if name in ("python", "pip"):
                continue
            out[name] = spec
    return out


def test_environment_yml_matches_pyproject():
    py, env = _pyproject(), _environment()
    missing = sorted(set(py) - set(env))
    extra = sorted(set(env) - set(py))
    assert not missing, f"environment.yml lacks {missing} (listed in pyproject.toml); add them with the same pins."
    assert not extra, f"environment.yml lists {extra}, which pyproject.toml does not; add them there or drop them."
    differ = {k: (py[k], env[k]) for k in py if py[k] != env[k]}
    assert not differ, f"Version pins differ (pyproject, environment.yml): {differ}"


def test_environment_yml_basics():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    assert env["name"] == "ncf-course"
    assert "python=3.11" in env["dependencies"]


def test_drift_is_detected(tmp_path):
    """The comparison above can fail: a changed pin or a missing package in environment.yml is reported."""
    (tmp_path / "pyproject.toml").write_text((REPO / "pyproject.toml").read_text())
    text = (REPO / "environment.yml").read_text()
    (tmp_path / "environment.yml").write_text(text.replace("pandas>=2.2,<3", "pandas>=3"))
    assert _pyproject(tmp_path)["pandas"] != _environment(tmp_path)["pandas"]
    (tmp_path / "environment.yml").write_text(text.replace("  - tqdm>=4.66\n", ""))
    assert "tqdm" in set(_pyproject(tmp_path)) - set(_environment(tmp_path))


def test_gitignore_covers_venv_data_and_checkpoints():
    text = (REPO / ".gitignore").read_text()
    for entry in (".venv/", "data/*", ".ipynb_checkpoints/"):
        assert entry in text


def test_lab_settings_override(tmp_path):
    import json

    from ncf_helpers.setup_lab import write_overrides

    path = write_overrides(tmp_path)
    data = json.loads(path.read_text())
    assert data["@jupyterlab/apputils-extension:notification"] == {"fetchNews": "false", "checkForUpdates": False}
    assert [p.name for p in path.parent.iterdir()] == ["overrides.json"]  # no temp file left behind


def test_the_package_declares_what_it_imports():
    """Every module of ncf_helpers ships in the package, so what it imports is a core dependency of pyproject.toml
    (not only a test extra): the notebook tools' nbformat/nbclient, the download's pooch and requests, ...; nbgrader,
    which assignments imports inside functions and reports when it is missing, is the instructor extra."""
    import ast
    import sys
    from importlib.metadata import packages_distributions

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = {_split(r)[0] for r in project["dependencies"]}
    instructor = {_split(r)[0] for r in project["optional-dependencies"]["instructor"]}
    dists = packages_distributions()
    undeclared = []
    for path in sorted((REPO / "ncf_helpers").rglob("*.py")):
        module = path.relative_to(REPO / "ncf_helpers").with_suffix("").as_posix().replace("/", ".")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in ("__future__", "ncf_helpers"):
                    continue
                provided_by = {_split(d)[0] for d in dists.get(top, [top])}
                allowed = core | (instructor if module == "assignments" else set())
                if not provided_by & allowed:
                    undeclared.append((module, name, sorted(provided_by)))
    assert not undeclared, f"Imported but not a core dependency in pyproject.toml: {undeclared}"


def _public_defs(tree) -> list[str]:
    import ast

    return [
        node.name
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not node.name.startswith("_")
    ]


def test_every_module_lists_its_public_api_in_all():
    """Each module that defines public functions or classes says which of them lessons and learners call
    (``__all__``), and every listed name exists in the module (defined or imported there)."""
    import ast

    missing, unknown = [], []
    for path in sorted((REPO / "ncf_helpers").rglob("*.py")):
        if path.name.startswith("_") and path.name != "__init__.py":
            continue  # private modules (data/_keys.py, data/_files.py)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        listed = None
        bound = set()
        for node in tree.body:
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    if isinstance(t, ast.Name):
                        bound.add(t.id)
                        if t.id == "__all__":
                            listed = [ast.literal_eval(e) for e in node.value.elts]
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        rel = path.relative_to(REPO).as_posix()
        if listed is None:
            if _public_defs(tree):
                missing.append(rel)
            continue
        unknown += [f"{rel}: {name}" for name in listed if name not in bound]
    assert not missing, f"modules with public functions or classes but no __all__: {missing}"
    assert not unknown, f"__all__ names that the module does not define or import: {unknown}"
