"""The package's shape: imports without Blender, core never touches bpy, the command line works."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import motionclip_blender
from motionclip_blender.cli import main

PACKAGE = Path(motionclip_blender.__file__).parent


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )


def test_package_and_core_import_without_bpy() -> None:
    result = run_python(
        "import sys, motionclip_blender, motionclip_blender.core.files, motionclip_blender.cli;"
        "assert 'bpy' not in sys.modules, 'bpy was imported'"
    )
    assert result.returncode == 0, result.stderr


def test_core_sources_never_import_bpy() -> None:
    offenders = [
        str(path)
        for path in (PACKAGE / "core").rglob("*.py")
        if re.search(r"^\s*(import bpy|from bpy)", path.read_text(), re.MULTILINE)
    ]
    assert offenders == []


def test_console_script_help_and_version() -> None:
    script = Path(sys.executable).parent / "motionclip"
    help_run = subprocess.run([script, "--help"], capture_output=True, text=True, check=False)
    assert help_run.returncode == 0 and "usage: motionclip" in help_run.stdout
    version = subprocess.run([script, "--version"], capture_output=True, text=True, check=False)
    assert version.stdout.strip() == f"motionclip {motionclip_blender.__version__}"


def test_main_without_a_command_prints_help_as_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A script that forgot its command must not look as if it succeeded."""
    assert main([]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "usage: motionclip" in captured.err


def test_register_and_unregister_in_real_blender() -> None:
    result = run_python(
        "import bpy, motionclip_blender as m; m.register(); m.unregister(); print('ok')"
    )
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr
