"""The model commands end to end on a random small model in the tiny CLIP's space."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from motionclip_blender.cli import main
from motionclip_blender.core import files, preview
from motionclip_blender.core.amass import read_npz, write_npz
from motionclip_blender.core.errors import MotionFileError
from tests.motions import smooth_motion
from tests.tiny_models import TINY_CLIP_DIM

LONG_NAME = "a" * 300  # past the 255 bytes a file name may have


@pytest.fixture
def workdir(
    tmp_path: Path, tiny_checkpoint: Path, tiny_clip_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A folder with two motions and a library; the commands find the tiny CLIP weights."""
    monkeypatch.setenv("MOTIONCLIP_CLIP_WEIGHTS", str(tiny_clip_path))
    monkeypatch.chdir(tmp_path)
    write_npz(smooth_motion(3.0, seed=1), tmp_path / "a.npz")
    write_npz(smooth_motion(2.0, fps=60.0, seed=2), tmp_path / "b.npz")
    (tmp_path / "library").mkdir()
    for seed in range(3):
        write_npz(smooth_motion(2.0 + seed, seed=seed), tmp_path / "library" / f"m{seed}.npz")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], checkpoint: Path, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--checkpoint", str(checkpoint)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_generate_writes_the_motion_and_a_preview(
    workdir: Path, tiny_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, tiny_checkpoint, "generate", "a person walks", "--seconds", "4", "-o", "walk.npz",
        "--seed", "3", "--preview", "walk.gif",
    )  # fmt: skip
    assert code == 0 and "wrote walk.npz: 4.00 s, 80 frames at 20 fps" in out
    assert "caption" not in out  # the tiny checkpoint stores no caption texts to tell
    motion = read_npz(workdir / "walk.npz")
    assert motion.num_frames == 80 and motion.fps == 20.0
    with Image.open(workdir / "walk.gif") as gif:
        assert gif.n_frames == 80
    run(capsys, tiny_checkpoint, "generate", "a person walks", "-o", "again.npz", "--seed", "3")
    with np.load(workdir / "walk.npz") as first, np.load(workdir / "again.npz") as second:
        assert np.array_equal(first["poses"], second["poses"])
    # Seed 0 is the prompt's own motion, as with no seed and as in Blender
    run(capsys, tiny_checkpoint, "generate", "a person walks", "-o", "own.npz")
    run(capsys, tiny_checkpoint, "generate", "a person walks", "-o", "zero.npz", "--seed", "0")
    with np.load(workdir / "own.npz") as own, np.load(workdir / "zero.npz") as zero:
        assert np.array_equal(own["poses"], zero["poses"])


def test_encode_prints_one_latent_per_input(
    workdir: Path, tiny_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, tiny_checkpoint, "encode", "a.npz", "b.npz", "--json")
    results = json.loads(out)
    assert code == 0 and [r["input"] for r in results] == ["a.npz", "b.npz"]
    assert all(len(r["latent"]) == TINY_CLIP_DIM for r in results)
    code, out, _ = run(capsys, tiny_checkpoint, "encode", "a.npz")
    path, values = out.strip().split("\t")
    assert path == "a.npz" and len(values.split()) == TINY_CLIP_DIM


def test_classify_json_ranks_labels_per_input(
    workdir: Path, tiny_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, tiny_checkpoint, "classify", "a.npz", "b.npz", "--labels", "walk, run,jump",
        "--json",
    )  # fmt: skip
    results = json.loads(out)
    assert code == 0 and [r["input"] for r in results] == ["a.npz", "b.npz"]
    for result in results:
        assert sorted(entry["label"] for entry in result["labels"]) == ["jump", "run", "walk"]
        scores = [entry["score"] for entry in result["labels"]]
        assert scores == sorted(scores, reverse=True)
    code, out, _ = run(capsys, tiny_checkpoint, "classify", "a.npz", "--labels", "walk,run")
    assert code == 0 and out.splitlines()[0] == "a.npz" and len(out.splitlines()) == 3


def test_classify_takes_labels_that_hold_commas_one_by_one(
    workdir: Path, tiny_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, tiny_checkpoint, "classify", "a.npz", "--labels", "walk",
        "--label", "stand up, then sit", "--label", "a man waves", "--json",
    )  # fmt: skip
    [result] = json.loads(out)
    assert code == 0
    assert sorted(e["label"] for e in result["labels"]) == [
        "a man waves",
        "stand up, then sit",
        "walk",
    ]


def test_search_by_motion_and_by_text(
    workdir: Path, tiny_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    query = "library/m1.npz"
    code, out, _ = run(
        capsys, tiny_checkpoint, "search", query, "--library", "library", "--k", "2", "--json"
    )
    hits = json.loads(out)
    assert code == 0 and len(hits) == 2
    assert hits[0]["path"] == str(workdir / "library" / "m1.npz")
    assert hits[0]["score"] == pytest.approx(1.0, abs=1e-5)
    code, out, _ = run(capsys, tiny_checkpoint, "search", "a person walks", "--library", "library")
    assert code == 0 and len(out.splitlines()) == 3
    (workdir / "run").write_text("#!/bin/sh\n")  # a script named like the word is not a motion
    code, out, _ = run(capsys, tiny_checkpoint, "search", "run", "--library", "library")
    assert code == 0 and len(out.splitlines()) == 3
    long_text = "a person walks. " * 20  # has a suffix, but is too long to be a file's name
    code, out, _ = run(capsys, tiny_checkpoint, "search", long_text, "--library", "library")
    assert code == 0 and len(out.splitlines()) == 3


def test_search_names_a_skipped_file_once(
    workdir: Path, tiny_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = workdir / "library" / "bad.bvh"
    bad.write_text("HIERARCHY\nROOT Hips\n{\n}\nMOTION\nFrames: 1\nFrame Time: 0.04\n1 2\n")
    code, _, err = run(capsys, tiny_checkpoint, "search", "walk", "--library", "library")
    assert code == 0 and f"motionclip: skipped {bad}: line 8: 2 values; expected 0" in err
    assert err.count(str(bad)) == 1


def test_search_refuses_a_bad_k_before_encoding_the_library(
    workdir: Path, tiny_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        run(capsys, tiny_checkpoint, "search", "walk", "--library", "library", "--k", "0")
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "--k: expected a whole number of 1 or more" in err


def test_blend_and_edit_write_motions(
    workdir: Path, tiny_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, tiny_checkpoint, "blend", "a.npz", "b.npz", "--weight", "0.5", "-o", "mid.npz"
    )
    assert code == 0 and out.startswith("wrote mid.npz: 2.50 s")
    assert err.splitlines() == [f"refining the latents: {n}/100 steps" for n in (25, 50, 75, 100)]
    assert read_npz(workdir / "mid.npz").num_frames == 50
    code, _, err = run(
        capsys, tiny_checkpoint, "blend", "a.npz", "b.npz", "--refine-steps", "0", "-o", "raw.npz"
    )  # the encoder's latents alone: another blend
    raw, refined = read_npz(workdir / "raw.npz"), read_npz(workdir / "mid.npz")
    assert code == 0 and raw.num_frames == 50 and err == ""
    assert not torch.allclose(raw.rotations, refined.rotations, atol=1e-3)
    code, out, err = run(
        capsys, tiny_checkpoint, "blend", "--weight", "0,0.5,1", "a.npz", "b.npz",
        "-o", "step.npz", "--refine-steps", "4",
    )  # fmt: skip
    assert code == 0 and len(err.splitlines()) == 4  # the inputs refined once for all weights
    assert out.splitlines() == [
        f"wrote step_{name}.npz: {seconds:.2f} s, {frames} frames at 20 fps"
        for name, seconds, frames in (("0", 3.0, 60), ("0.5", 2.5, 50), ("1", 2.0, 40))
    ]
    mid = read_npz(workdir / "step_0.5.npz")
    assert mid.num_frames == 50 and not (workdir / "step.npz").exists()
    code, _, err = run(
        capsys, tiny_checkpoint, "blend", "a.npz", "b.npz", "--weight", "0.3,0.3",
        "-o", "twice.npz",
    )  # fmt: skip
    assert code != 0 and "--weight: 0.3 and 0.3 would both be written to twice_0.3.npz" in err
    code, _, err = run(
        capsys, tiny_checkpoint, "blend", "a.npz", "b.npz", "--weight", "0.1,0.10000001",
        "-o", "twice.npz",
    )  # fmt: skip
    assert code != 0 and "0.1 and 0.10000001 would both be written to twice_0.1.npz" in err
    assert not list(workdir.glob("twice*"))
    code, out, err = run(
        capsys, tiny_checkpoint, "edit", "a.npz", "--from", "walk", "--to", "run",
        "--strength", "0.5", "--refine-steps", "6", "-o", "run.npz",
    )  # fmt: skip
    assert code == 0 and out.startswith("wrote run.npz: 3.00 s")
    assert err.splitlines() == [f"refining the latents: {n}/6 steps" for n in (1, 2, 3, 4, 5, 6)]
    assert read_npz(workdir / "run.npz").num_frames == 60
    code, out, err = run(
        capsys, tiny_checkpoint, "edit", "a.npz", "--from", "walk", "--to", "run",
        "--strength", "0,2", "--refine-steps", "6", "-o", "more.npz",
    )  # fmt: skip
    assert code == 0 and len(err.splitlines()) == 6  # refined once for both strengths
    assert [line.split(":")[0] for line in out.splitlines()[:2]] == [
        "wrote more_0.npz",
        "wrote more_2.npz",
    ]
    kept, moved = read_npz(workdir / "more_0.npz"), read_npz(workdir / "more_2.npz")
    assert not torch.allclose(kept.rotations, moved.rotations, atol=1e-3)


def write_nan_motion(path: Path) -> None:
    motion = smooth_motion(2.0)
    poses = motion.rotations.reshape(60, 72).double().numpy()
    poses[10, 5] = np.nan
    np.savez(path, poses=poses, trans=np.zeros((60, 3)), mocap_framerate=30.0)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["generate", "", "-o", "x.npz"], "empty prompt"),
        (["generate", "walk", "--seconds", "9", "-o", "x.npz"], "--seconds: expected 1 to 8"),
        (["generate", "walk", "--seconds", "nan", "-o", "x.npz"], "--seconds: expected 1 to 8"),
        (["generate", "walk", "-o", "x.fbx"], "cannot write files of type '.fbx'"),
        (["generate", "walk", "-o", "x.npz", "--preview", "x.png"], "expected one of .gif"),
        (["generate", "walk", "-o", "absent/x.npz"], "absent: output folder does not exist"),
        (["generate", "walk", "-o", "a.npz/x.npz"], "a.npz: output folder is a file, not a"),
        (["generate", "walk", "-o", "folder"], "folder: is a folder; give a file name"),
        (["generate", "walk", "-o", f"{LONG_NAME}.npz"], "cannot write here (File name too long)"),
        (
            ["generate", "walk", "-o", "x.npz", "--preview", f"{LONG_NAME}.gif"],
            "cannot write here (File name too long)",
        ),
        (["generate", "walk", "-o", "x.npz", "--preview", "/sys/x.gif"], "/sys/x.gif: cannot"),
        (["blend", "a.npz", "b.npz", "-o", "/sys/x.npz"], "/sys/x.npz: cannot write here"),
        (["blend", "a.npz", "b.npz", "-o", f"{LONG_NAME}.npz"], "(File name too long)"),
        (["encode", "a.npz", "short.npz"], "short.npz: a motion of 0.50 s is too short"),
        (["classify", "short.npz", "--labels", "walk"], "short.npz: a motion of 0.50 s"),
        (["generate", "walk", "-o", "folder.npz"], "folder.npz: is a folder"),
        (["generate", "walk", "-o", "x.npz", "--preview", "folder.gif"], "folder.gif: is a folder"),
        (["edit", "a.npz", "--from", "a", "--to", "b", "-o", "a.npz"], "is also the input"),
        (["blend", "a.npz", "b.npz", "-o", "b.npz"], "b.npz: is also the input"),
        (["search", "walk", "--library", "a.npz"], "library folder is a file, not a folder"),
        (["search", "walk", "--library", LONG_NAME], "folder cannot be read (File name too long)"),
        (["encode", "nan.npz"], "NaN"),
        (["encode", "notes.txt"], "unknown motion file type '.txt'"),
        (["classify", "a.npz", "--labels", "walk,,run"], "non-empty"),
        (["classify", "a.npz"], "give the labels to rank"),
        (
            ["edit", "short.npz", "--from", "a", "--to", "b", "-o", "x.npz"],
            "short.npz: a motion of 0.50 s is too short",
        ),
        (["search", "missing.npz", "--library", "library"], "missing.npz: no such file"),
        (["search", "walk", "--library", "nowhere"], "library folder does not exist"),
    ],
)
def test_bad_input_gives_a_message_and_status_2(
    workdir: Path,
    tiny_checkpoint: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    write_npz(smooth_motion(0.5), workdir / "short.npz")
    write_npz(smooth_motion(9.0), workdir / "long.npz")
    write_nan_motion(workdir / "nan.npz")
    (workdir / "notes.txt").write_text("hello")
    (workdir / "folder.npz").mkdir()
    (workdir / "folder.gif").mkdir()
    (workdir / "folder").mkdir()
    if "/sys/" in " ".join(argv) and not Path("/sys").is_dir():
        pytest.skip("needs /sys, where no file can be made")
    before = (workdir / "a.npz").read_bytes()
    code, _, err = run(capsys, tiny_checkpoint, *argv)
    assert code == 2 and err.startswith("motionclip: error: ") and message in err, err
    assert "refining" not in err  # the outputs are checked before any model work
    assert not (workdir / "x.npz").exists() and (workdir / "a.npz").read_bytes() == before


def test_a_bad_output_among_several_stops_before_any_is_written(
    workdir: Path, tiny_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "mix_0.5.npz").mkdir()
    argv = ["blend", "a.npz", "b.npz", "--weight", "0.25,0.5", "-o", "mix.npz"]
    code, _, err = run(capsys, tiny_checkpoint, *argv)
    assert code == 2 and "mix_0.5.npz: is a folder" in err
    assert not (workdir / "mix_0.25.npz").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["generate", "walk", "-o", "x.npz", "--seed", str(2**64)],
            "--seed: expected a whole number from 0 to 4294967295",
        ),
        (
            ["edit", "a.npz", "--from", "a", "--to", "b", "--strength", "1e30", "-o", "x.npz"],
            "--strength: expected numbers from -100 to 100",
        ),
        (
            ["blend", "a.npz", "b.npz", "--weight", "2", "-o", "x.npz"],
            "--weight: expected numbers from 0 to 1",
        ),
        (
            ["blend", "a.npz", "b.npz", "--weight", "0.3,x", "-o", "x.npz"],
            "--weight: expected numbers from 0 to 1 separated by commas",
        ),
        (
            ["blend", "a.npz", "b.npz", "--refine-steps", "-1", "-o", "x.npz"],
            "--refine-steps: expected a whole number of 0 or more, got '-1'",
        ),
        (
            ["edit", "a.npz", "--from", "a", "--to", "b", "--refine-steps", "-2", "-o", "x.npz"],
            "--refine-steps: expected a whole number of 0 or more, got '-2'",
        ),
        (
            ["edit", "a.npz", "--from", " ", "--to", "run", "-o", "x.npz"],
            "--from: expected words describing a motion, got ' '",
        ),
        (
            ["edit", "a.npz", "--from", "walk", "--to", "", "-o", "x.npz"],
            "--to: expected words describing a motion, got ''",
        ),
    ],
)
def test_a_bad_option_value_is_named_by_its_option(
    workdir: Path,
    tiny_checkpoint: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    """Checked as the arguments are read: argparse's usage error, before any model work."""
    with pytest.raises(SystemExit) as exited:
        run(capsys, tiny_checkpoint, *argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2 and f"error: argument {message}" in err, err
    assert not (workdir / "x.npz").exists()


def test_a_failed_write_removes_the_outputs_the_command_made(
    workdir: Path,
    tiny_checkpoint: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A later output failing removes the new files written before it; a file that was there
    before stays (replaced whole, as a command replaces an existing output)."""

    def refuse(frames: object, path: Path, fps: float) -> None:
        raise MotionFileError(f"{path}: cannot write (No space left on device)")

    monkeypatch.setattr(preview, "write_gif", refuse)
    argv = ["generate", "walk", "-o", "walk.npz", "--preview", "walk.gif"]
    code, out, err = run(capsys, tiny_checkpoint, *argv)
    assert code == 2 and "walk.gif: cannot write" in err and out == ""
    assert not (workdir / "walk.npz").exists() and not (workdir / "walk.gif").exists()
    write_npz(smooth_motion(2.0), workdir / "walk.npz")
    code, _, _ = run(capsys, tiny_checkpoint, *argv)
    assert code == 2 and read_npz(workdir / "walk.npz").num_frames == 80

    write_motion = files.write_motion

    def refuse_the_second(motion: object, path: Path) -> None:
        if path.name == "mix_1.npz":
            raise MotionFileError(f"{path}: cannot write (No space left on device)")
        write_motion(motion, path)  # type: ignore[arg-type]

    monkeypatch.setattr(files, "write_motion", refuse_the_second)
    argv = ["blend", "a.npz", "b.npz", "--weight", "0,1", "--refine-steps", "0", "-o", "mix.npz"]
    code, out, err = run(capsys, tiny_checkpoint, *argv)
    assert code == 2 and "mix_1.npz: cannot write" in err and out == ""
    assert not list(workdir.glob("mix*"))


def test_help_names_what_the_options_take(capsys: pytest.CaptureFixture[str]) -> None:
    helps = {}
    for command in ("search", "edit"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        helps[command] = " ".join(capsys.readouterr().out.split())
    assert "--library DIR the folder of motion files to search" in helps["search"]
    assert '--from TEXT what the motion does, e.g. "walk"' in helps["edit"]
    assert "--to TEXT what it should do instead" in helps["edit"]
    assert "from -100 to 100" in helps["edit"] and "--strength=-1,2" in helps["edit"]


def test_a_closed_pipe_ends_quietly(workdir: Path, tiny_checkpoint: Path) -> None:
    """`motionclip encode ... | head -c 1`: the reader leaves; no traceback, SIGPIPE's status."""
    command = [sys.executable, "-m", "motionclip_blender", "encode", "a.npz", "a.npz",
               "--checkpoint", str(tiny_checkpoint)]  # fmt: skip
    reader = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.close()
    error = reader.stderr.read().decode()
    assert reader.wait(timeout=120) == 141 and "Traceback" not in error, error


def test_long_prompts_are_cut_with_a_warning(
    workdir: Path, tiny_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompt = "a person walks forward slowly and then " * 10
    code, _, err = run(capsys, tiny_checkpoint, "generate", prompt, "-o", "long.npz")
    assert code == 0 and err.startswith("motionclip: warning: prompt longer than the clip")


def test_broken_checkpoints_are_reported_without_traceback(
    workdir: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(tiny_checkpoint.read_bytes()[:5000])
    script = Path(sys.executable).parent / "motionclip"
    for checkpoint, message in ((truncated, "truncated"), (tmp_path / "no.pt", "no such")):
        result = subprocess.run(
            [script, "generate", "walk", "-o", "x.npz", "--checkpoint", str(checkpoint)],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert result.returncode == 2 and message in result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1


def test_generate_tells_the_closest_training_caption(
    workdir: Path, captioned_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, captioned_checkpoint, "generate", "a person jumps", "-o", "j.npz")
    assert code == 0 and "closest training caption: 'a person jumps' (cosine 1.00)" in out
    code, out, _ = run(
        capsys, captioned_checkpoint, "edit", "a.npz", "--from", "a person walks",
        "--to", "a person jumps", "--refine-steps", "2", "-o", "e.npz",
    )  # fmt: skip
    assert code == 0 and out.splitlines()[-1] == (
        "from: closest training caption: 'a person walks' (cosine 1.00); "
        "to: closest training caption: 'a person jumps' (cosine 1.00)"
    )


@pytest.mark.parametrize(
    ("value", "allowed"), [("1", True), ("yes", True), ("TRUE", True), ("0", False)]
)
def test_the_download_switch_reads_common_words(
    monkeypatch: pytest.MonkeyPatch, value: str, allowed: bool
) -> None:
    import argparse

    from motionclip_blender.cli import common

    seen: dict[str, object] = {}
    monkeypatch.setattr(common, "load", lambda checkpoint, **options: seen.update(options))
    monkeypatch.setenv("MOTIONCLIP_ALLOW_DOWNLOAD", value)
    common.load_session(argparse.Namespace(checkpoint=None))
    assert seen["allow_download"] is allowed
