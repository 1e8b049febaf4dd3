"""Two processes of DistributedDataParallel on the CPU (gloo) train in step."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from training.config import load_config
from training.prepare import prepare
from training.train import Trainer, start_process

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
