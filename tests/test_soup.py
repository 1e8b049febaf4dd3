"""training.soup: the mean of fine-tuned checkpoints, and the checks that keep it meaningful."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from motionclip_blender.core.checkpoint import load_checkpoint
from motionclip_blender.core.errors import MotionClipError
from motionclip_blender.core.model import MotionClipModel
from tests.tiny_models import save_tiny_checkpoint, tiny_config
from training.soup import main, soup, souped_state


def tiny_members(folder: Path, count: int = 2) -> list[Path]:
    paths = [folder / f"member{index}.pt" for index in range(count)]
    for seed, path in enumerate(paths):
        save_tiny_checkpoint(path, seed=seed)
    return paths


def test_the_command_writes_the_members_mean_and_keeps_the_first_members_metadata(
    tmp_path: Path,
) -> None:
    paths = tiny_members(tmp_path, 3)
    out = tmp_path / "soup" / "init.pt"
    assert main(["--out", str(out), *map(str, paths)]) == 0
    members = [load_checkpoint(path) for path in paths]
    souped = load_checkpoint(out)
    for name, value in souped.state_dict.items():
        expected = sum(member.state_dict[name] for member in members) / 3
        # the file stores float16, as every checkpoint does
        torch.testing.assert_close(value, expected, atol=1e-3, rtol=1e-3)
    assert souped.text_latent_scaling == members[0].text_latent_scaling
    assert souped.licence == members[0].licence
    assert souped.metrics == {}, "a member's metrics do not describe the soup"
    souped.build_model()  # loads strictly into the architecture


def test_weights_equal_in_every_member_stay_exactly_equal() -> None:
    model = MotionClipModel(tiny_config())
    state = {name: value.half().float() for name, value in model.state_dict().items()}
    changed = {
        name: value + 0.5 if name.startswith("encoder") else value for name, value in state.items()
    }
    souped = souped_state([state, changed])
    for name, value in souped.items():
        if name.startswith("decoder"):
            assert torch.equal(value, state[name]), name
        else:
            torch.testing.assert_close(value, state[name] + 0.25)


def test_members_of_another_architecture_or_text_space_are_refused(tmp_path: Path) -> None:
    first, second = (load_checkpoint(path) for path in tiny_members(tmp_path))
    wider = dataclasses.replace(second, config=dataclasses.replace(second.config, feedforward=128))
    with pytest.raises(
        MotionClipError,
        match=r"member 2 differs from member 1 in its model configuration "
        r"\(feedforward 128 vs 64\)",
    ):
        soup([first, wider])
    narrower = dataclasses.replace(wider, config=dataclasses.replace(wider.config, width=16))
    with pytest.raises(MotionClipError, match=r"\(width 16 vs 32, feedforward 128 vs 64\)"):
        soup([first, narrower])
    with pytest.raises(MotionClipError, match="text space"):
        soup([first, dataclasses.replace(second, text_space="minilm")])
    with pytest.raises(MotionClipError, match="two or more"):
        soup([first])
    missing = {name: value for name, value in second.state_dict.items() if "decoder" not in name}
    with pytest.raises(MotionClipError, match="member 2 has other weights"):
        souped_state([first.state_dict, missing])


def test_the_command_refuses_a_member_as_output_a_missing_member_and_an_unwritable_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = tiny_members(tmp_path)
    before = paths[0].read_bytes()
    assert main(["--out", str(paths[0]), *map(str, paths)]) == 2
    assert "is one of the members" in capsys.readouterr().err
    assert paths[0].read_bytes() == before
    assert (
        main(["--out", str(tmp_path / "out.pt"), str(paths[0]), str(tmp_path / "absent.pt")]) == 2
    )
    assert "absent.pt" in capsys.readouterr().err
    assert not (tmp_path / "out.pt").exists()
    blocked = tmp_path / "a file"
    blocked.write_text("not a folder")
    assert main(["--out", str(blocked / "soup.pt"), *map(str, paths)]) == 2
    assert "a file" in capsys.readouterr().err


def test_the_command_refuses_a_member_given_twice_under_any_spelling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = tiny_members(tmp_path)
    link = tmp_path / "link.pt"
    link.symlink_to(paths[1])
    out = tmp_path / "out.pt"
    for again in (str(paths[0]), str(tmp_path / "." / paths[0].name), str(link)):
        assert main(["--out", str(out), *map(str, paths), again]) == 2
        assert "each checkpoint may be given once" in capsys.readouterr().err
        assert not out.exists()
    assert main(["--out", str(out), str(paths[1]), str(link)]) == 2
    assert f"member 2 ({link}) is member 1 again" in capsys.readouterr().err
