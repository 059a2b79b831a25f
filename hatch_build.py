"""Build hook: compile the memory store's C operations (``seatlock.stores._memory_core``).

The extension is optional. Without a C compiler (or with ``SEATLOCK_PURE_PYTHON=1``) the
wheel is pure Python and the memory store runs its Python engine; the build says so.
An editable install compiles the module next to its source, in ``src/``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from setuptools import Distribution, Extension
from setuptools.command.build_ext import build_ext

MODULE = "seatlock.stores._memory_core"
SOURCE = Path("src/seatlock/stores/_memory_core.c")


class MemoryCoreHook(BuildHookInterface):
    """Compiles ``_memory_core.c`` into the wheel (or into ``src/`` when editable)."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        package_dir = Path(self.root, "src", *MODULE.split(".")[:-1])
        if version == "editable":  # a module built before must not outlive its source
            for stale in package_dir.glob("_memory_core.*"):
                if stale.suffix in {".so", ".pyd"}:
                    stale.unlink()
        if os.environ.get("SEATLOCK_PURE_PYTHON"):
            self.app.display_info("SEATLOCK_PURE_PYTHON is set: building without the C engine")
            return
        self._build_dir = tempfile.mkdtemp(prefix="seatlock-build-")
        try:
            built = _compile(Path(self.root), Path(self._build_dir))
        except Exception as exc:  # no compiler or headers: stay pure Python
            self.app.display_warning(
                f"seatlock: could not compile {SOURCE} ({exc}); "
                "the memory store will run its pure-Python engine"
            )
            return
        if version == "editable":
            shutil.copy2(built, package_dir / built.name)
        else:
            target = Path(*MODULE.split(".")[:-1]) / built.name
            build_data["force_include"][str(built)] = str(target)
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        build_dir = getattr(self, "_build_dir", None)
        if build_dir is not None:
            shutil.rmtree(build_dir, ignore_errors=True)


def _compile(root: Path, build_dir: Path) -> Path:
    """Compile the extension with setuptools' build_ext; the path of the built module."""
    extension = Extension(MODULE, [str(root / SOURCE)])
    command = build_ext(Distribution({"name": "seatlock", "ext_modules": [extension]}))
    command.build_lib = str(build_dir / "lib")
    command.build_temp = str(build_dir / "temp")
    command.ensure_finalized()
    command.run()
    return Path(command.get_ext_fullpath(MODULE))
