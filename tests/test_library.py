"""The motion library index: encoded once, cached on disk, refreshed file by file."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
import torch

from motionclip_blender.core import files, inference
from motionclip_blender.core.amass import write_npz
from motionclip_blender.core.errors import MotionFileError
from motionclip_blender.core.inference import MotionClip
from motionclip_blender.core.library import index_library
from motionclip_blender.core.motion import Motion
from tests.motions import smooth_motion
from tests.tiny_models import save_tiny_checkpoint


@pytest.fixture(scope="module")
def session(tiny_checkpoint: Path, tiny_clip_path: Path) -> MotionClip:
    return inference.load(tiny_checkpoint, clip_weights=tiny_clip_path)


def make_library(folder: Path) -> list[Path]:
    (folder / "sub").mkdir(parents=True)
    paths = [folder / "a.npz", folder / "b.npz", folder / "sub" / "c.npz"]
    for seed, path in enumerate(paths):
        write_npz(smooth_motion(1.5 + seed, seed=seed), path)
    (folder / "notes.txt").write_text("not a motion")
    return paths


def test_index_is_cached_and_refreshes_only_changed_files(
    session: MotionClip, tmp_path: Path
) -> None:
    folder, cache = tmp_path / "library", tmp_path / "cache"
    a, b, c = make_library(folder)
    first = index_library(folder, session, cache)
    assert (first.encoded, first.reused, first.skipped) == (3, 0, ())
    assert first.names == [str(a), str(b), str(c)]
    expected = session.encode_motion([smooth_motion(1.5 + s, seed=s) for s in range(3)])
    torch.testing.assert_close(first.latents, expected, atol=1e-5, rtol=0)

    second = index_library(folder, session, cache)
    assert (second.encoded, second.reused) == (0, 3)
    assert torch.equal(second.latents, first.latents)

    write_npz(smooth_motion(2.0, seed=9), b)
    os.utime(b, ns=(0, 10**18))  # a new modification time, whatever the clock's resolution
    c.unlink()
    write_npz(smooth_motion(2.0, seed=5), folder / "d.npz")
    third = index_library(folder, session, cache)
    assert (third.encoded, third.reused) == (2, 1)
    assert third.names == [str(a), str(b), str(folder / "d.npz")]
    torch.testing.assert_close(
        third.latents[1], session.encode_motion([smooth_motion(2.0, seed=9)])[0]
    )


def test_unusable_files_are_skipped_with_the_reason_and_remembered(
    session: MotionClip, tmp_path: Path
) -> None:
    folder, cache = tmp_path / "library", tmp_path / "cache"
    make_library(folder)
    (folder / "broken.npz").write_bytes(b"garbage")
    write_npz(smooth_motion(0.5), folder / "short.npz")
    (folder / "cut.bvh").write_text("HIERARCHY\nROOT hips\n{\n  OFFSET 0 0\n}\nMOTION\n")
    library = index_library(folder, session, cache)
    assert len(library.names) == 3 and len(library.skipped) == 3
    assert "broken.npz: not a readable .npz file" in library.skipped[0]
    assert library.skipped[1].startswith(f"{folder / 'cut.bvh'}: line 5: ")  # the path once
    assert "short.npz: a motion of 0.50 s is too short" in library.skipped[2]
    again = index_library(folder, session, cache)
    assert (again.encoded, again.skipped) == (0, library.skipped)


def test_each_checkpoint_has_its_own_cache(
    session: MotionClip, tmp_path: Path, tiny_clip_path: Path
) -> None:
    folder, cache = tmp_path / "library", tmp_path / "cache"
    make_library(folder)
    index_library(folder, session, cache)
    save_tiny_checkpoint(tmp_path / "other.pt", seed=1)
    other = inference.load(tmp_path / "other.pt", clip_weights=tiny_clip_path)
    library = index_library(folder, other, cache)
    assert library.encoded == 3 and len(list(cache.iterdir())) == 2


def test_a_corrupt_cache_is_rebuilt_and_a_missing_folder_named(
    session: MotionClip, tmp_path: Path
) -> None:
    folder, cache = tmp_path / "library", tmp_path / "cache"
    make_library(folder)
    index_library(folder, session, cache)
    (cache_file,) = cache.iterdir()
    cache_file.write_bytes(b"broken")
    assert index_library(folder, session, cache).encoded == 3
    with pytest.raises(MotionFileError, match="library folder does not exist"):
        index_library(tmp_path / "absent", session, cache)


def test_a_file_a_reader_breaks_on_is_skipped_and_tried_again_next_time(
    session: MotionClip, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, cache = tmp_path / "library", tmp_path / "cache"
    a, b, c = make_library(folder)
    read = files.read_motion

    def fragile(path: str | os.PathLike[str]) -> Motion:
        if Path(path) == b:
            raise TypeError("a reader bug")
        return read(path)

    monkeypatch.setattr(files, "read_motion", fragile)
    library = index_library(folder, session, cache)
    assert library.names == [str(a), str(c)]
    assert library.skipped == (f"{b}: cannot be read (TypeError: a reader bug)",)
    # Not known to be the file's fault (memory, the device): tried again next time, not cached.
    monkeypatch.setattr(files, "read_motion", read)
    library = index_library(folder, session, cache)
    assert library.names == [str(a), str(b), str(c)] and library.skipped == ()
    assert (library.encoded, library.reused) == (1, 2)


def test_a_file_given_as_the_library_folder_is_named_as_such(
    session: MotionClip, tmp_path: Path
) -> None:
    (path,) = make_library(tmp_path / "library")[:1]
    with pytest.raises(MotionFileError, match="library folder is a file, not a folder"):
        index_library(path, session, tmp_path / "cache")


def test_a_file_rewritten_with_its_old_size_and_time_is_encoded_again(
    session: MotionClip, tmp_path: Path
) -> None:
    folder, cache = tmp_path / "library", tmp_path / "cache"
    a, _, _ = make_library(folder)
    index_library(folder, session, cache)
    before = a.stat()
    write_npz(smooth_motion(1.5, seed=7), a)  # same length, so the same size
    os.utime(a, ns=(before.st_atime_ns, before.st_mtime_ns))  # as cp -p or rsync -t leave it
    assert a.stat().st_size == before.st_size
    again = index_library(folder, session, cache)
    assert again.encoded == 1
    torch.testing.assert_close(
        again.latents[0], session.encode_motion([smooth_motion(1.5, seed=7)])[0]
    )


def test_an_interrupted_index_keeps_the_files_it_encoded(
    session: MotionClip, tmp_path: Path
) -> None:
    folder, cache = tmp_path / "library", tmp_path / "cache"
    make_library(folder)

    def cancel_at_the_third(done: int, total: int) -> None:
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        index_library(folder, session, cache, progress=cancel_at_the_third)
    again = index_library(folder, session, cache)
    assert (again.encoded, again.reused) == (0, 3)


def test_linked_folders_are_searched_once_and_long_names_cached(
    session: MotionClip, tmp_path: Path
) -> None:
    folder, cache = tmp_path / ("動" * 70), tmp_path / "cache"  # 210 bytes of name
    make_library(folder)
    (tmp_path / "pack").mkdir()
    write_npz(smooth_motion(2.0, seed=4), tmp_path / "pack" / "p.npz")
    (folder / "linked").symlink_to(tmp_path / "pack", target_is_directory=True)
    (folder / "loop").symlink_to(folder, target_is_directory=True)  # must not recurse forever
    (folder / "up").symlink_to(tmp_path, target_is_directory=True)  # nor take in what is above
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "library cache not saved" would fail the test
        library = index_library(folder, session, cache)
    assert [Path(name).name for name in library.names] == ["a.npz", "b.npz", "p.npz", "c.npz"]
    assert index_library(folder, session, cache).reused == 4
