"""Two processes of DistributedDataParallel on the CPU (gloo) train in step, launched by
torch.multiprocessing (to compare their weights) and by torchrun, as a user launches them."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from motionclip_blender.core.inference import load
from training.config import load_config
from training.prepare import prepare
from training.train import Trainer, start_process

from .conftest import REPO
from .training_setup import amass_dataset, write_config


def train_one_rank(rank: int, config_path: str, port: int, out: str) -> None:
    """What torchrun does for each process (its environment), then two training steps."""
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        WORLD_SIZE="2",
        RANK=str(rank),
        LOCAL_RANK=str(rank),
    )
    torch.set_num_threads(1)
    trainer = Trainer(load_config(config_path), start_process("cpu"))
    trainer.run()
    torch.save(trainer.model.state_dict(), Path(out) / f"rank{rank}.pt")
    torch.distributed.destroy_process_group()


@pytest.mark.slow
def test_two_gloo_processes_hold_equal_weights(tmp_path: Path, tiny_clip_path: Path) -> None:
    data = tmp_path / "amass"
    amass_dataset(data)
    config = write_config(
        tmp_path / "c.toml",
        data,
        tiny_clip_path,
        train={"steps": 2, "batch_size": 4},
        model={"dropout": 0.1},
    )
    prepare(load_config(config))  # the cache both processes read
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mp.spawn(train_one_rank, args=(str(config), port, str(tmp_path)), nprocs=2, join=True)
    first = torch.load(tmp_path / "rank0.pt", weights_only=True)
    second = torch.load(tmp_path / "rank1.pt", weights_only=True)
    initial = Trainer(load_config(config), start_process("cpu")).model.state_dict()
    assert any(not torch.equal(initial[name], first[name]) for name in first)  # it trained
    for name, value in first.items():
        torch.testing.assert_close(second[name], value, rtol=0, atol=1e-6)


@pytest.mark.slow
def test_torchrun_launches_two_gloo_processes(tmp_path: Path, tiny_clip_path: Path) -> None:
    data = tmp_path / "amass"
    amass_dataset(data)  # 16 windows
    config = write_config(
        tmp_path / "c.toml", data, tiny_clip_path, train={"batch_size": 8, "log_every": 1}
    )
    command = [
        *(sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"),
        *("-m", "training.train", "--config", str(config), "--set", "train.steps=2"),
    ]
    environment = os.environ | {"OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-4000:]

    run = tmp_path / "run"
    with (run / "log.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    # Each process draws 8 of the 16 windows per epoch, one batch: step 2 starts epoch 1 (one
    # process alone would still be in epoch 0).
    assert [(row["step"], row["epoch"]) for row in rows] == [("1", "0"), ("2", "1")]
    assert all(float(row["loss"]) > 0 for row in rows)
    assert torch.load(run / "last.pt", weights_only=True)["step"] == 2
    session = load(run / "model.pt", clip_weights=tiny_clip_path)
    assert session.generate("a person walks", seconds=1.0).num_frames == 10
