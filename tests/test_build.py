"""build.py: the manifest agrees with the package, and bad input fails cleanly, leaving no .zip."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import build
import motionclip_blender

from .conftest import REPO


def run_build(
    *arguments: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "build.py"), *arguments],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=300,
    )


def test_manifest_version_is_the_package_version() -> None:
    with open(REPO / "blender_manifest.toml", "rb") as stream:
        manifest = tomllib.load(stream)
    assert manifest["version"] == motionclip_blender.__version__
    assert manifest["id"] == "motionclip_blender"
    assert sorted(manifest["platforms"]) == sorted(build.PLATFORMS)


def test_package_manifest_names_the_platform_and_its_wheels(tmp_path: Path) -> None:
    wheels = [
        tmp_path / "roma-1.8.0-py3-none-any.whl",
        tmp_path / "torch-2.13.0-cp311-win_amd64.whl",
    ]
    build.write_manifest(tmp_path, "windows-x64", wheels)
    with open(tmp_path / "blender_manifest.toml", "rb") as stream:
        manifest = tomllib.load(stream)
    assert manifest["platforms"] == ["windows-x64"]
    assert manifest["wheels"] == [f"./wheels/{wheel.name}" for wheel in wheels]
    assert manifest["permissions"].keys() == {"files", "network"}  # still in their table


def test_numpy_and_unused_dependencies_stay_out() -> None:
    names = {build.requirement_name(r) for r in build.runtime_requirements()}
    assert {"torch", "tokenizers", "safetensors"} <= names
    assert "transformers" not in names  # test-only: core/bert.py runs MiniLM without it
    assert "numpy" not in names


def test_unknown_platform_is_refused(tmp_path: Path) -> None:
    result = run_build("--platform", "amiga-68k", "--output", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "invalid choice: 'amiga-68k'" in result.stderr
    assert not (tmp_path / "out").exists()


def test_no_network_fails_with_a_message_and_no_zip(tmp_path: Path) -> None:
    offline = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    offline |= {"PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1"}
    output = tmp_path / "out"
    result = run_build("--platform", "windows-x64", "--output", str(output), env=offline)
    assert result.returncode == 1
    assert result.stderr.startswith("build.py: error: pip")
    assert "Traceback" not in result.stderr
    assert not output.exists()


def test_a_linux_resolution_without_the_cpu_torch_is_refused_before_downloading() -> None:
    with pytest.raises(build.BuildError, match=r"resolved torch==2.13.0, nvidia-cublas==13.1"):
        build.check_cpu_torch(["roma==1.5.7", "torch==2.13.0", "nvidia-cublas==13.1"])
    with pytest.raises(build.BuildError, match=r"\+cpu, triton==3\.5"):
        build.check_cpu_torch(["torch==2.13.0+cpu", "triton==3.5"])
    build.check_cpu_torch(["roma==1.5.7", "torch==2.13.0+cpu"])


def test_unusable_output_and_find_links_are_refused_at_once(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("")
    for arguments, message in [
        (["--output", str(tmp_path / "afile" / "out")], "--output: "),
        (["--find-links", str(tmp_path / "absent")], "is not a folder of wheels"),
    ]:
        result = run_build("--platform", "linux-x64", "--no-wheels", *arguments)
        assert result.returncode == 1 and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_a_zip_that_cannot_be_put_in_place_is_one_line(tmp_path: Path) -> None:
    name = f"motionclip_blender-{motionclip_blender.__version__}-linux_x64.zip"
    (tmp_path / name).mkdir()  # where the package would go
    result = run_build("--platform", "linux-x64", "--no-wheels", "--output", str(tmp_path))
    assert result.returncode == 1 and "is a folder; give a file name" in result.stderr
    assert "Traceback" not in result.stderr
