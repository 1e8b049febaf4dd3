"""The built extension installs into headless Blender and generates a motion from its own code."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import REPO

pytest.importorskip("bpy")

# Blender refuses a package built for another platform; --no-wheels builds still name one.
CURRENT_PLATFORM = {
    ("Linux", "x86_64"): "linux-x64",
    ("Windows", "AMD64"): "windows-x64",
    ("Darwin", "arm64"): "macos-arm64",
}.get((platform.system(), platform.machine()))


def test_built_package_installs_enables_and_generates(
    tmp_path: Path, tiny_checkpoint: Path, tiny_clip_path: Path
) -> None:
    if CURRENT_PLATFORM is None:
        pytest.skip(f"the extension is built for no {platform.system()} {platform.machine()}")
    # --no-wheels: the dependencies come from this interpreter, a full build needs the network
    output = tmp_path / "dist"
    command = [
        sys.executable,
        str(REPO / "build.py"),
        "--platform",
        CURRENT_PLATFORM,
        "--no-wheels",
    ]
    built = subprocess.run(
        [*command, "--output", str(output)], capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, built.stderr
    (package,) = output.glob("*.zip")
    assert package.name == f"motionclip_blender-0.1.0-{CURRENT_PLATFORM.replace('-', '_')}.zip"
    names = zipfile.ZipFile(package).namelist()
    shipped = {"__init__.py", "blender_manifest.toml", "operators/generate.py", "LICENSE"}
    # the weights travel with their non-commercial licence
    assert shipped | {"weights/motionclip-minilm.pt", "weights/LICENCE.md"} <= set(names)
    assert not [name for name in names if "__pycache__" in name or name.startswith("tests")]

    # a separate Blender with its own empty user folder: the tests' add-on copy stays apart
    resources = tmp_path / "blender"
    resources.mkdir()
    script = REPO / "tests" / "run_installed_extension.py"
    run = subprocess.run(
        [sys.executable, str(script), str(package), str(tiny_checkpoint), str(tiny_clip_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env=os.environ | {"BLENDER_USER_RESOURCES": str(resources)},
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    installed = resources / "extensions" / "user_default" / "motionclip_blender" / "__init__.py"
    assert f"extension: {installed}" in run.stdout
    assert "generated: 'a person walks' on 'SMPL', frames 1 to " in run.stdout
