"""constraints.txt (the tested versions the test command installs) against pyproject.toml: every
dependency of the dev install is pinned, once, to a version inside pyproject's range."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _pins() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for number, line in enumerate((ROOT / "constraints.txt").read_text().splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        name, sep, version = text.partition("==")
        assert sep and version, f"constraints.txt line {number}: not NAME==VERSION: {line!r}"
        key = canonicalize_name(name)
        assert key not in pins, f"constraints.txt line {number}: {name} pinned twice"
        pins[key] = Version(version)
    return pins


def test_every_dependency_is_pinned_inside_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in project["dependencies"]]
    wanted += [Requirement(r) for r in project["optional-dependencies"]["dev"]]
    wanted += [Requirement(r) for r in project["optional-dependencies"]["spark"]]
    pins = _pins()
    for requirement in wanted:
        pin = pins.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{requirement.name} is not pinned in constraints.txt"
        assert requirement.specifier.contains(pin, prereleases=True), (
            f"constraints.txt pins {requirement.name}=={pin}, outside pyproject's "
            f"{requirement.specifier}")


def test_the_installed_versions_are_the_pinned_ones() -> None:
    """What this environment runs is what constraints.txt says (the test command installs
    with it): a pin changed without reinstalling, or an install without it, fails here."""
    from importlib.metadata import PackageNotFoundError, version

    for name, pin in _pins().items():
        try:
            installed = Version(version(name))
        except PackageNotFoundError:
            continue  # a platform-only wheel's dependency, absent here
        assert installed == pin, f"{name} {installed} installed, constraints.txt pins {pin}"
