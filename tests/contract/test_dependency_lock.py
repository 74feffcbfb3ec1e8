"""uv.lock must be the lock of this pyproject.toml, with a hash for every file it lets the installer fetch.

./scripts/demo, ./scripts/test and CI install from uv.lock; uv itself notices a stale lock only when it can reach the
index. This check reads the two files and nothing else, so a dependency edited without ``scripts/lock`` fails here,
offline. Requirements are compared as name, extras, version range and environment markers; markers are compared by
what they select on the platforms the lock covers, since uv rewrites them (``python_version`` becomes
``python_full_version``) without changing their meaning.
"""

from __future__ import annotations

import itertools
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]

# The environments the lock is for ([tool.uv] environments / required-environments): Linux, both machines, every
# supported Python. A marker is judged by the set of these it selects.
_ENVIRONMENTS = [
    {
        "python_version": ".".join(full.split(".")[:2]),
        "python_full_version": full,
        "platform_machine": machine,
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }
    for full, machine in itertools.product(
        ["3.11.0", "3.11.14", "3.12.0", "3.12.12", "3.13.0", "3.14.0"], ["x86_64", "aarch64"]
    )
]

# One requirement, as compared: (where it is declared, name, extras, version range, environments it applies in).
Entry = tuple[str, str, frozenset[str], str, frozenset[int]]


def _selects(marker: Marker | None, extra: str) -> frozenset[int]:
    if marker is None:
        return frozenset(range(len(_ENVIRONMENTS)))
    return frozenset(i for i, env in enumerate(_ENVIRONMENTS) if marker.evaluate({**env, "extra": extra}))


def _entry(where: str, req: Requirement, extra: str = "") -> Entry:
    return (
        where,
        canonicalize_name(req.name),
        frozenset(req.extras),
        str(req.specifier),
        _selects(req.marker, extra),
    )


def _load(name: str) -> dict[str, Any]:
    return tomllib.loads((ROOT / name).read_text(encoding="utf-8"))


def _declared(pyproject: dict[str, Any]) -> set[Entry]:
    project = pyproject["project"]
    entries = {_entry("dependencies", Requirement(r)) for r in project["dependencies"]}
    for extra, reqs in project.get("optional-dependencies", {}).items():
        entries |= {_entry(f"extra {extra}", Requirement(r), extra) for r in reqs}
    for group, reqs in pyproject.get("dependency-groups", {}).items():
        entries |= {_entry(f"group {group}", Requirement(r)) for r in reqs}
    return entries


def _requirement(item: dict[str, Any]) -> Requirement:
    extras = f"[{','.join(item['extras'])}]" if item.get("extras") else ""
    marker = f"; {item['marker']}" if item.get("marker") else ""
    return Requirement(f"{item['name']}{extras}{item.get('specifier', '')}{marker}")


def _project_package(lock: dict[str, Any]) -> dict[str, Any]:
    (package,) = [p for p in lock["package"] if p.get("source") == {"editable": "."}]
    return package


def _locked(lock: dict[str, Any], extras: list[str]) -> set[Entry]:
    metadata = _project_package(lock)["metadata"]
    entries: set[Entry] = set()
    for item in metadata.get("requires-dist", []):
        req = _requirement(item)
        # uv records an extra's requirement with `extra == '<name>'` in its marker; find which extra selects it.
        owners = [e for e in extras if _selects(req.marker, e) and not _selects(req.marker, "")]
        where = f"extra {owners[0]}" if len(owners) == 1 else "dependencies"
        entries.add(_entry(where, req, owners[0] if len(owners) == 1 else ""))
    for group, items in metadata.get("requires-dev", {}).items():
        entries |= {_entry(f"group {group}", _requirement(item)) for item in items}
    return entries


def _describe(entries: set[Entry]) -> list[str]:
    return sorted(
        f"{where}: {name}{sorted(extras) or ''}{spec} (in {len(envs)} envs)"
        for where, name, extras, spec, envs in entries
    )


def test_the_lock_records_exactly_the_requirements_pyproject_declares() -> None:
    pyproject, lock = _load("pyproject.toml"), _load("uv.lock")
    declared = _declared(pyproject)
    locked = _locked(lock, list(pyproject["project"].get("optional-dependencies", {})))
    assert _describe(declared - locked) == [] and _describe(locked - declared) == [], (
        "uv.lock was made from another pyproject.toml: run scripts/lock and commit uv.lock. "
        f"Only in pyproject.toml: {_describe(declared - locked)}; only in uv.lock: {_describe(locked - declared)}"
    )
    assert lock["requires-python"] == pyproject["project"]["requires-python"]
    assert sorted(_project_package(lock)["metadata"].get("provides-extras", [])) == sorted(
        pyproject["project"].get("optional-dependencies", {})
    )


def test_the_build_backend_is_locked_as_declared() -> None:
    # scripts/_venv.sh builds btcbot's editable install with the build group's hatchling, not a fresh download, so
    # the group must carry build-system.requires as declared.
    pyproject = _load("pyproject.toml")
    group = {_entry("", Requirement(r)) for r in pyproject["dependency-groups"]["build"]}
    backend = {_entry("", Requirement(r)) for r in pyproject["build-system"]["requires"]}
    assert backend <= group


def test_every_file_the_lock_allows_has_a_sha256() -> None:
    lock = _load("uv.lock")
    missing = [
        f"{package['name']} {package['version']}: {artifact.get('url', artifact)}"
        for package in lock["package"]
        if "registry" in package["source"]
        for artifact in [*([package["sdist"]] if "sdist" in package else []), *package.get("wheels", [])]
        if not str(artifact.get("hash", "")).startswith("sha256:")
    ]
    assert missing == []
    registry = [p for p in lock["package"] if "registry" in p["source"]]
    assert registry and all("wheels" in p or "sdist" in p for p in registry)


def test_the_installer_is_pinned_with_hashes() -> None:
    lines = (ROOT / "requirements" / "uv.txt").read_text(encoding="utf-8").splitlines()
    pins = [line for line in lines if line.startswith("uv==")]
    assert len(pins) == 1
    assert any("--hash=sha256:" in line for line in lines)


@pytest.mark.parametrize("bad", ["duckdb>=1.2", "duckdb>=1.1; python_version < '3.12'", "duckdb[all]>=1.1"])
def test_a_changed_requirement_is_caught(bad: str) -> None:
    # The comparison must see a range, a marker and an extras change: break pyproject's duckdb line each way.
    pyproject, lock = _load("pyproject.toml"), _load("uv.lock")
    deps = pyproject["project"]["dependencies"]
    pyproject["project"]["dependencies"] = [bad if r.startswith("duckdb") else r for r in deps]
    extras = list(pyproject["project"].get("optional-dependencies", {}))
    assert _declared(pyproject) != _locked(lock, extras)
