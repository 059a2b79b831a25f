"""The public names: ``seatlock.__all__`` is complete and true, and the package is typed."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.resources
import re
import types
from pathlib import Path

import pytest

import seatlock

USER_FACING_MODULES = ["seatlock.errors", "seatlock.results", "seatlock.seat", "seatlock.manager"]
"""Modules whose public classes, constants and type aliases are all meant for users."""
ALSO_EXPORTED = {"Store", "EventStore", "open_store", "__version__"}
"""Names from elsewhere that users need: the store contract (to write a store) and its opener."""


def _user_facing(module_name: str) -> dict[str, object]:
    module = importlib.import_module(module_name)
    found: dict[str, object] = {}
    for name, value in vars(module).items():
        if name.startswith("_"):
            continue
        defined_here = isinstance(value, type) and value.__module__ == module_name
        constant = name.isupper() and type(value) in (int, float, str)
        alias = isinstance(value, types.UnionType)
        if defined_here or constant or alias:
            found[name] = value
    return found


@pytest.mark.parametrize("module_name", USER_FACING_MODULES)
def test_every_user_facing_name_is_exported(module_name: str) -> None:
    names = _user_facing(module_name)
    assert names, f"{module_name} defines nothing public?"
    for name, value in names.items():
        assert name in seatlock.__all__, f"{module_name}.{name} is not in seatlock.__all__"
        assert getattr(seatlock, name) is value


def test_all_names_exist_once() -> None:
    assert len(set(seatlock.__all__)) == len(seatlock.__all__)
    assert set(seatlock.__all__) >= ALSO_EXPORTED
    namespace: dict[str, object] = {}
    exec("from seatlock import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(seatlock.__all__)


def test_every_exception_derives_from_the_root() -> None:
    errors = _user_facing("seatlock.errors")
    assert "SeatlockError" in errors
    for value in errors.values():
        assert isinstance(value, type)
        assert issubclass(value, seatlock.SeatlockError)


def test_version_matches_the_distribution() -> None:
    assert seatlock.__version__ == importlib.metadata.version("seatlock")


def test_py_typed_ships() -> None:
    marker = importlib.resources.files("seatlock").joinpath("py.typed")
    assert marker.is_file()
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text("utf-8")
    wheel = re.search(
        r"^\[tool\.hatch\.build\.targets\.wheel\]\n(.*?)(?:^\[|\Z)", pyproject, re.M | re.S
    )
    assert wheel is not None
    assert re.search(r'^packages = \["src/seatlock"\]$', wheel[1], re.M)  # every file in it ships
    assert "exclude" not in wheel[1]
    assert '"Typing :: Typed"' in pyproject
