"""Average fine-tunes of one checkpoint into one model: a uniform model soup (Wortsman et al.
2022). Runs fine-tuned from the same weights stay in one basin of the loss, and their average
often generalises better than any of them (the bundled model is one: TRAINING_HISTORY.md, the
fifty-eighth, sixtieth and sixty-seventh sittings).

    python -m training.soup --out runs/soup/init.pt runs/a/model.pt runs/b/model.pt

The members must share the architecture, text space, pose statistics and licence. The soup keeps
the first member's other metadata, whose text-to-latent map was fitted to that member's encoder,
and no metrics; so train it for zero steps afterwards (`training.train --init SOUP --set
train.steps=0`), whose end pass fits the map again and evaluates it, as a sitting's does.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from motionclip_blender.core import checkpoint as checkpoints
from motionclip_blender.core.errors import MotionClipError


def souped_state(states: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The element-wise mean of state dicts with the same names and shapes; tensors that are
    not floating point (counters, masks) must be equal in all and are kept."""
    first = states[0]
    for index, state in enumerate(states[1:], start=2):
        if state.keys() != first.keys():
            raise MotionClipError(
                f"member {index} has other weights than member 1: "
                f"missing {sorted(first.keys() - state.keys())}, "
                f"unexpected {sorted(state.keys() - first.keys())}"
            )
    souped = {}
    for name, value in first.items():
        values = [state[name] for state in states]
        if any(other.shape != value.shape for other in values):
            raise MotionClipError(f"{name}: shapes differ, {[tuple(v.shape) for v in values]}")
        if value.is_floating_point():
            souped[name] = torch.stack([other.float() for other in values]).mean(0)
        elif all(torch.equal(other, value) for other in values):
            souped[name] = value
        else:
            raise MotionClipError(f"{name}: not floating point, so it must be equal in all members")
    return souped


def soup(members: Sequence[checkpoints.Checkpoint]) -> checkpoints.Checkpoint:
    """One checkpoint whose weights are the mean of the members' (see the module docstring)."""
    if len(members) < 2:
        raise MotionClipError(f"a soup needs two or more checkpoints, got {len(members)}")
    first = members[0]
    for index, member in enumerate(members[1:], start=2):
        differences = [
            what
            for what, same in (
                ("text space", member.text_space == first.text_space),
                ("licence", member.licence == first.licence),
                (
                    "pose statistics",
                    torch.equal(member.statistics.mean, first.statistics.mean)
                    and torch.equal(member.statistics.std, first.statistics.std),
                ),
            )
            if not same
        ]
        if member.config != first.config:
            differences.insert(0, f"model configuration ({_config_differences(member, first)})")
        if differences:
            raise MotionClipError(
                f"member {index} differs from member 1 in its {', '.join(differences)}"
            )
    state = souped_state([member.state_dict for member in members])
    return dataclasses.replace(first, state_dict=state, metrics={}, identity="")


def _config_differences(member: checkpoints.Checkpoint, first: checkpoints.Checkpoint) -> str:
    """The model configuration fields in which a member differs from the first: "width 64 vs
    32"."""
    return ", ".join(
        f"{field.name} {getattr(member.config, field.name)} vs {getattr(first.config, field.name)}"
        for field in dataclasses.fields(member.config)
        if getattr(member.config, field.name) != getattr(first.config, field.name)
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.soup",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("members", nargs="+", help="checkpoints fine-tuned from the same weights")
    parser.add_argument("--out", required=True, help="the soup's checkpoint file (.pt)")
    args = parser.parse_args(argv)
    try:
        out = Path(args.out)
        resolved = [Path(member).resolve() for member in args.members]
        if out.resolve() in resolved:
            raise MotionClipError(f"--out {out} is one of the members; it would be overwritten")
        for index, path in enumerate(resolved):
            if path in resolved[:index]:
                raise MotionClipError(
                    f"member {index + 1} ({args.members[index]}) is member "
                    f"{resolved.index(path) + 1} again; each checkpoint may be given once"
                )
        souped = soup([checkpoints.load_checkpoint(member) for member in args.members])
        out.parent.mkdir(parents=True, exist_ok=True)
        checkpoints.save_checkpoint(souped, out)
    except (MotionClipError, OSError) as error:  # OSError: an --out that cannot be written
        print(f"training.soup: error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {out}: the mean of {len(args.members)} checkpoints")
    return 0


if __name__ == "__main__":
    sys.exit(main())
