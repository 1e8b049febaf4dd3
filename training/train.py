"""Train a MotionCLIP model.

    python -m training.train --config training/configs/small.toml [--resume] [--set KEY=VALUE]
    python -m training.train --config ... --init CHECKPOINT   # fine-tune a checkpoint's weights
    torchrun --nproc_per_node N -m training.train --config ...   # DistributedDataParallel

One process or many: under torchrun (WORLD_SIZE set) each process joins a process group (nccl on
GPUs, gloo on CPUs) and trains on its DistributedSampler share; train.batch_size is per process.
The output folder (train.out) receives log.csv (one row per logged step), loss_curve.png,
last.pt (the training state that --resume continues from) and model.pt, a checkpoint in the
format inference loads, with the training data, licence and validation metrics filled in (with
--init, the checkpoint's training data and licence too: the weights derive from it); a new run
refuses a folder that holds another run's last.pt or model.pt. Ctrl-C stops a run, its last
state kept for --resume.
--init starts from a checkpoint's weights and normalisation (the bundled model's, or a run's
model.pt) with a fresh optimiser and schedule: step 1 of train.steps, warm-up included; with
train.steps = 0 it only runs the end pass, refitting that model's text-to-latent maps and
validation metrics.
"""

from __future__ import annotations

import csv
import dataclasses
import logging
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from motionclip_blender.core import checkpoint as checkpoints
from motionclip_blender.core.atomic import check_output_folder, write_atomically
from motionclip_blender.core.errors import MotionClipError
from motionclip_blender.core.inference import MotionClip
from motionclip_blender.core.kinematics import forward_kinematics
from motionclip_blender.core.model import PRESETS, ModelConfig, MotionClipModel
from motionclip_blender.core.pose_features import FeatureStatistics
from motionclip_blender.core.reconstruction import (
    RECONSTRUCTION_TERMS,
    PositionsFn,
    decoded_latents,
    reconstruction_losses,
)
from motionclip_blender.core.text_spaces import TextSpace, load_text_space

from . import losses
from .action_classifier import cached_classifier
from .batches import Batch, BatchMaker
from .config import MODEL_SIZES, OptimConfig, TrainConfig, command_parser, load_config
from .curve import draw_curves
from .embeddings import caption_embeddings
from .evaluate import (
    UNJUDGED,
    best_text_latent_scaling,
    encode_windows,
    evaluate_checkpoint,
    generated_accuracy,
    judged_labels,
)
from .mirror import mirror_text
from .prepare import prepare, training_data_description
from .prepared import PreparedData, joined_licences
from .text_to_latent import (
    TEMPERATURES,
    caption_medoid_rows,
    choose_ridge,
    fit_text_to_latent,
)
from .widen import widened_state

logger = logging.getLogger(__name__)

TERMS = (*RECONSTRUCTION_TERMS, "text", "image", "contrastive")
LOG_COLUMNS = ("step", "epoch", "lr", "loss", *TERMS, "validation_loss", "samples_per_s")
VALIDATION_WINDOWS = 256  # windows of the validation split scored at each checkpoint
# A checkpoint's training data when it records none (Checkpoint's default, or left empty): an
# --init from it passes nothing on, rather than "untrained; then ..." and licence "none; ...".
UNRECORDED = ("", "untrained")
THEN = "; then "  # between the training data of an --init checkpoint and of the run from it


@dataclass(frozen=True)
class Process:
    """This process' place in a (possibly one-process) group."""

    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()


def start_process(device: str) -> Process:
    """Join torchrun's process group when WORLD_SIZE > 1; pick the device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    cuda = torch.cuda.is_available() if device == "auto" else device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        raise MotionClipError(f"train.device is {device!r}, but torch sees no CUDA device")
    if cuda:
        named = torch.device("cuda" if device == "auto" else device)
        index = int(os.environ.get("LOCAL_RANK", "0")) if world > 1 else named.index
        # set_device needs an index: the current device's (0 unless set) for a bare "cuda"
        chosen = torch.device("cuda", torch.cuda.current_device() if index is None else index)
        torch.cuda.set_device(chosen)
    else:
        chosen = torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    return Process(rank, world, chosen)


def model_config(config: TrainConfig, latent_dim: int) -> ModelConfig:
    """The preset of config.model with its non-default overrides, in the text space's size."""
    section = config.model
    if section.preset not in PRESETS:
        raise MotionClipError(
            f"model.preset {section.preset!r} is unknown; known: {', '.join(PRESETS)}"
        )
    preset = PRESETS[section.preset](latent_dim)
    changes: dict[str, Any] = {
        "fps": section.fps,
        "min_seconds": section.min_seconds,
        "max_seconds": section.max_seconds,
    }
    for name in MODEL_SIZES:
        if getattr(section, name) > 0:
            changes[name] = getattr(section, name)
    for name in ("encoder_velocity", "corrector"):
        if getattr(section, name):
            changes[name] = True
    if section.dropout >= 0:
        changes["dropout"] = section.dropout
    try:
        return dataclasses.replace(preset, **changes)
    except ValueError as error:
        raise MotionClipError(f"[model]: {error}") from None


def parameter_groups(model: MotionClipModel, optim: OptimConfig) -> list[dict[str, Any]]:
    """The trainable parameters as AdamW groups: the encoder's root velocity input at
    optim.velocity_lr_scale times the rate, the corrector's residual input at
    optim.residual_lr_scale times, everything else at the rate. An input added to a trained
    checkpoint starts from zero weights, and at the checkpoint's fine-tuning rate it would take
    many thousands of steps to grow to the scale of the weights beside it."""
    scaled = [(model.encoder.velocity_embedding, optim.velocity_lr_scale)]
    if model.corrector is not None:
        scaled.append((model.corrector.residual_embedding, optim.residual_lr_scale))
    groups: list[dict[str, Any]] = []
    fast_ids: set[int] = set()
    for layer, scale in scaled:
        fast = [] if layer is None else [p for p in layer.parameters() if p.requires_grad]
        fast_ids |= {id(p) for p in fast}
        if fast:
            groups.append({"params": fast, "lr": optim.lr * scale})
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in fast_ids]
    return [{"params": rest}, *groups]


def learning_rate_factor(step: int, config: TrainConfig) -> float:
    """Linear warm-up to 1, then cosine decay to final_lr_fraction at the last step."""
    optim, total = config.optim, config.train.steps
    if step < optim.warmup_steps:
        return (step + 1) / optim.warmup_steps
    progress = (step - optim.warmup_steps) / max(1, total - optim.warmup_steps)
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return optim.final_lr_fraction + (1 - optim.final_lr_fraction) * cosine


def loss_positions(config: TrainConfig, device: torch.device) -> PositionsFn:
    """What the position terms compare: the SMPL mesh's vertices when loss.smpl_model names a
    model (a bad path fails here), else the 24 joints."""
    if config.loss.smpl_model:
        return losses.SmplVertices(config.loss.smpl_model, device)
    return forward_kinematics


class TrainingStep:
    """A model, its loss and its optimiser: one optimisation step on a batch.

    Trainer feeds it batches of prepared data; benchmarks/training_speed.py times it on
    synthetic batches. `network` runs the forward pass: the model itself, or its
    DistributedDataParallel wrapper; `positions` is what the position terms compare
    (loss_positions).
    """

    def __init__(
        self,
        config: TrainConfig,
        model: MotionClipModel,
        network: torch.nn.Module,
        statistics: FeatureStatistics,
        device: torch.device,
        positions: PositionsFn,
    ) -> None:
        self.config, self.model, self.network = config, model, network
        self.statistics, self.device, self.positions = statistics, device, positions
        model.encoder.requires_grad_(not config.train.freeze_encoder)
        model.decoder.requires_grad_(not config.train.freeze_decoder)
        self.optimizer = torch.optim.AdamW(
            parameter_groups(model, config.optim),
            lr=config.optim.lr,
            weight_decay=config.optim.weight_decay,
        )
        self.schedule = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: learning_rate_factor(step, config)
        )
        self.amp = config.train.amp and device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)

    def loss_terms(self, batch: Batch, network: torch.nn.Module) -> dict[str, torch.Tensor]:
        """Every weighted term's unweighted value for a batch (on self.device): the
        reconstruction terms, and the text terms unless the corrector is what trains."""
        weights = self.config.loss
        with torch.autocast("cuda", enabled=self.amp):
            reconstruction, latents = network(batch.features, batch.mask, batch.decoded)
        reconstruction, latents = reconstruction.float(), latents.float()
        terms = reconstruction_losses(
            reconstruction,
            batch.features,
            batch.decoded,
            self.statistics,
            self.model.config.fps,
            self.positions,
        )
        if self.model.corrector is not None:
            return terms  # the corrector's latent gives motions back and owes nothing to text
        terms["text"] = losses.cosine_loss(latents, batch.texts)
        if batch.images is not None:
            terms["image"] = losses.cosine_loss(latents, batch.images)
        if weights.contrastive > 0:
            terms["contrastive"] = losses.info_nce(
                latents, batch.texts, batch.same_text, weights.temperature
            )
        return terms

    def total(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        weights = dataclasses.asdict(self.config.loss)
        return sum(
            (weights[name] * value for name, value in terms.items()),
            torch.zeros((), device=self.device),
        )

    def optimise(self, batch: Batch) -> dict[str, float]:
        """One optimiser step on a batch (on self.device); returns the loss and each term."""
        self.network.train()
        if self.config.train.freeze_encoder:
            self.model.encoder.eval()  # no dropout: the decoder learns the latents inference gives
        if self.config.train.freeze_decoder:
            self.model.decoder.eval()  # no dropout: the encoder learns for the decoder as it runs
        terms = self.loss_terms(batch, self.network)
        loss = self.total(terms)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.optim.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.schedule.step()
        return {
            "loss": float(loss.detach()),
            **{name: float(value.detach()) for name, value in terms.items()},
        }


class Trainer(TrainingStep):
    """The model, optimiser and data of one process; `run` trains to config.train.steps."""

    def __init__(
        self,
        config: TrainConfig,
        process: Process,
        space: TextSpace | None = None,
        init: checkpoints.Checkpoint | None = None,
    ):
        """init: a checkpoint whose weights and normalisation the model starts from."""
        self.process = process
        positions = loss_positions(config, process.device)  # first: a bad path fails early
        if init is not None:
            check_text_space(config, init)
        self.space = space or load_text_space(
            config.model.text_space, clip_weights=config.model.clip_weights or None
        )
        if init is not None:
            check_initial_checkpoint(config, init, self.space.dim)  # before data preparation
        if process.main:
            self.data = prepare(config)
        process.barrier()
        if not process.main:
            self.data = prepare(config)  # the cache rank 0 just wrote
        cache = Path(config.data.cache)
        captions = [text for labels in self.data.labels for text in labels.captions]
        if config.train.mirror > 0:
            captions += [mirror_text(text) for text in captions]
        if process.main:
            self.captions = caption_embeddings(captions, self.space, cache)
        process.barrier()
        if not process.main:
            self.captions = caption_embeddings(captions, self.space, cache)
        images = None
        if config.loss.image > 0:
            from .images import image_embeddings

            if process.main:
                images = image_embeddings(self.data, self.space, config.image, cache)
            process.barrier()
            if not process.main:
                images = image_embeddings(self.data, self.space, config.image, cache)
        statistics = self.data.statistics() if init is None else init.statistics
        torch.manual_seed(config.train.seed)
        model = MotionClipModel(model_config(config, self.space.dim))
        if init is not None:
            grown = widened_state(init.state_dict, model, seed=config.train.seed)
            model.load_state_dict(grown, strict=True)
        model.adopt_statistics(statistics)
        model = model.to(process.device)
        torch.manual_seed(config.train.seed + process.rank)  # dropout differs between processes
        network = DistributedDataParallel(model) if process.world > 1 else model
        super().__init__(config, model, network, statistics, process.device, positions)
        self.images = images
        # A frozen decoder decodes the init's fitted caption latents to the same motions: kept.
        self.kept_caption_latents = (
            init.caption_latents if init is not None and config.train.freeze_decoder else None
        )
        # The weights derive from the init's: its training data and licence stay with them.
        recorded = init is not None and init.training_data not in UNRECORDED
        self.inherited = (init.training_data, init.licence) if init and recorded else None
        self.batches = self.batch_maker(frozenset())
        self.step = 0
        self.saved_step: int | None = None  # the step last.pt holds, once saved or resumed
        self.out = Path(config.train.out)

    def batch_maker(self, replayed: frozenset[int]) -> BatchMaker:
        """This process' training batches, with `replayed` windows up to train.replay_floor."""
        train = self.config.train
        return BatchMaker(
            self.data,
            "train",
            self.statistics,
            self.captions,
            train.batch_size,
            train.seed,
            self.process.rank,
            self.process.world,
            self.images,
            train.length_group,
            train.source_repeats,
            train.label_floor,
            train.mirror,
            replayed,
            train.replay_floor,
            train.prefix,
            self.model.config.min_frames,
            train.time_warp,
            self.model.config.max_frames,
            train.crop,
            train.time_warp_speed,
        )

    def train_step(self) -> dict[str, float]:
        """One optimiser step on this process' next batch; returns the loss and each term."""
        self.step += 1
        return self.optimise(self.batches.batch(self.step).to(self.device))

    @torch.no_grad()
    def validation_loss(self) -> float:
        """Weighted loss over (up to VALIDATION_WINDOWS) validation windows, first captions."""
        windows = self.data.indices("validation")[:VALIDATION_WINDOWS]
        if not windows:
            return math.nan
        self.model.eval()
        maker = self.batches
        total, count = 0.0, 0
        for start in range(0, len(windows), self.config.train.batch_size):
            chunk = windows[start : start + self.config.train.batch_size]
            batch = maker.make(chunk).to(self.process.device)
            total += float(self.total(self.loss_terms(batch, self.model))) * len(chunk)
            count += len(chunk)
        return total / count

    # --- state -----------------------------------------------------------------------------------

    def save_state(self) -> None:
        """last.pt: everything --resume needs to continue exactly."""
        state = {
            "step": self.step,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": torch.get_rng_state(),
            "config": dataclasses.asdict(self.config),
            "data_content_key": self.data.content_key(),  # unlike data.key, code edits keep it
            # an --init run normalises with its init's statistics, not the data's: resume keeps them
            "statistics": dataclasses.asdict(self.statistics),
        }
        if self.kept_caption_latents is not None:
            state["caption_latents"] = dataclasses.asdict(self.kept_caption_latents)
        if self.inherited is not None:
            state["inherited"] = list(self.inherited)
        write_atomically(self.out / "last.pt", lambda stream: torch.save(state, stream))
        self.saved_step = self.step

    def load_state(self) -> None:
        """Continue from last.pt, at the configured rates and weight decay: optim.lr, its scales
        and optim.weight_decay may change on resuming, as train.steps may."""
        check_run_folder(self.out, resume=True)
        path = self.out / "last.pt"
        state = torch.load(path, map_location=self.process.device, weights_only=True)
        trained_on, prepared = resumed_data_keys(state, self.data)
        if trained_on != prepared:
            raise MotionClipError(
                f"--resume: {path} was trained on prepared data {trained_on}, but the "
                f"configuration now prepares {prepared}, other data; start a new run (another "
                "train.out)"
            )
        for part in ("encoder", "decoder"):
            frozen = state["config"]["train"].get(f"freeze_{part}", False)
            if frozen != getattr(self.config.train, f"freeze_{part}"):
                raise MotionClipError(
                    f"--resume: {path} was trained with train.freeze_{part} = "
                    f"{str(frozen).lower()}, and its optimiser holds only those parameters; "
                    "resume with the same setting, or start a new run (another train.out) with "
                    "--init"
                )
        try:
            self.model.load_state_dict(state["model"])
        except RuntimeError:
            saved, now = state["config"].get("model", {}), dataclasses.asdict(self.config.model)
            changed = [f"model.{key} {saved[key]!r} (now {now[key]!r})" for key in now
                       if key in saved and saved[key] != now[key]]  # fmt: skip
            raise MotionClipError(
                f"--resume: {path} holds a model of another size than the configuration's: "
                f"{', '.join(changed) or 'its weights do not fit'}; resume with its settings, "
                "or start a new run (another train.out) with --init"
            ) from None
        configured = list(self.schedule.base_lrs)  # the state's own rates would win over them
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
        for group, rate in zip(self.optimizer.param_groups, configured, strict=True):
            group["initial_lr"], group["weight_decay"] = rate, self.config.optim.weight_decay
        self.schedule.base_lrs = configured
        self.schedule.last_epoch -= 1
        self.schedule.step()  # the saved step's rate again, of the configured base rates
        self.scaler.load_state_dict(state["scaler"])
        if self.process.main:
            torch.set_rng_state(state["rng"].cpu())
        else:
            torch.manual_seed(self.config.train.seed + self.process.rank + state["step"])
        self.step = self.saved_step = int(state["step"])
        if "statistics" in state:  # states written before they were kept hold the data's
            stored = state["statistics"]
            self.statistics = FeatureStatistics(stored["mean"].cpu(), stored["std"].cpu())
            self.batches.statistics = self.statistics
        if "caption_latents" in state:
            kept = state["caption_latents"]
            self.kept_caption_latents = checkpoints.CaptionLatents(
                kept["embeddings"].cpu(),
                kept["latents"].cpu(),
                float(kept["temperature"]),
                tuple(kept["texts"]),
            )
        if "inherited" in state:
            training_data, licence = state["inherited"]
            self.inherited = (training_data, licence)

    def checkpoint(
        self,
        metrics: dict[str, float] | None = None,
        scaling: checkpoints.TextLatentScaling = "motion_norm",
        text_to_latent: torch.Tensor | None = None,
        caption_latents: checkpoints.CaptionLatents | None = None,
    ) -> checkpoints.Checkpoint:
        """The model as an inference checkpoint with its metadata."""
        return checkpoints.from_model(
            self.model,
            self.space.name,
            statistics=self.statistics,
            text_latent_scaling=scaling,
            motion_latent_norm=motion_latent_norm(self.model, self.data, self.statistics),
            text_to_latent=text_to_latent,
            caption_latents=caption_latents,
            training_data=self.training_data(),
            licence=self.licence(),
            metrics=metrics or {},
        )

    def training_data(self) -> str:
        """What the weights were trained on: this run's training split, after the initial
        checkpoint's training data when there was one."""
        description = training_data_description(self.data)
        if self.inherited is None:
            return description
        return training_lineage(self.inherited[0], description)

    def licence(self) -> str:
        """The weights' licence: this run's training data's, joined with the initial
        checkpoint's when there was one (a fine-tune is bound by the data of both)."""
        licences = [self.data.licence("train")]
        if self.inherited is not None:
            licences.append(self.inherited[1])
        return joined_licences(licences)

    # --- the loop --------------------------------------------------------------------------------

    def run(self, resume: bool = False) -> None:
        train = self.config.train
        if resume:
            self.load_state()
        if train.replay_floor > 0:  # the frozen encoder's medoids: the same on resuming
            replayed = replayed_windows(self.model, self.data, self.statistics)
            self.batches = self.batch_maker(replayed)
            logger.info(
                "replaying %d caption medoid windows, each at least %d times an epoch",
                len(replayed),
                train.replay_floor,
            )
        if self.process.main:
            self.out.mkdir(parents=True, exist_ok=True)
            log = LogFile(self.out / "log.csv", keep_until=self.step)
        progress = tqdm(
            total=train.steps,
            initial=self.step,
            disable=not (train.progress and self.process.main),
            dynamic_ncols=True,
        )
        started, done_since = time.perf_counter(), self.step
        while self.step < train.steps:
            lr = float(self.schedule.get_last_lr()[0])  # the rate this step trains at
            values = self.train_step()
            if not math.isfinite(values["loss"]):
                raise MotionClipError(
                    f"step {self.step}: the training loss is {values['loss']}; lower optim.lr or "
                    "check the loss weights (the last saved state is from before this step)"
                )
            progress.update(1)
            rate = (
                (self.step - done_since)
                * train.batch_size
                * self.process.world
                / (time.perf_counter() - started)
            )
            progress.set_postfix(loss=f"{values['loss']:.3f}", samples_s=f"{rate:.1f}")
            checkpoint_now = self.step % train.checkpoint_every == 0 or self.step == train.steps
            validation = self.validation_loss() if checkpoint_now else math.nan
            if self.process.main and (self.step % train.log_every == 0 or checkpoint_now):
                log.write(
                    {
                        "step": self.step,
                        "epoch": (self.step - 1) // self.batches.batches_per_epoch,
                        "lr": lr,
                        **values,
                        "validation_loss": validation,
                        "samples_per_s": rate,
                    }
                )
            if checkpoint_now and self.process.main:
                self.save_state()
                checkpoints.save_checkpoint(self.checkpoint(), self.out / "model.pt")
                log.draw(self.out / "loss_curve.png")
        progress.close()
        self.process.barrier()


def training_lineage(earlier: str, description: str) -> str:
    """The training data of a model trained on `description` from weights trained on `earlier`
    (perhaps itself a lineage): both in order, joined by THEN, each part once."""
    parts = earlier.split(THEN)
    return THEN.join(parts if description in parts else [*parts, description])


def check_text_space(config: TrainConfig, init: checkpoints.Checkpoint) -> None:
    """An error when the checkpoint is of another text space than the configuration's: checked
    before that space is loaded, whose weights (CLIP's) may be missing."""
    if init.text_space != config.model.text_space:
        raise MotionClipError(
            f"--init: the checkpoint is in the {init.text_space!r} text space, the configuration "
            f"in {config.model.text_space!r} (model.text_space)"
        )


def check_initial_checkpoint(
    config: TrainConfig, init: checkpoints.Checkpoint, space_dim: int
) -> None:
    """An error that names the difference when a checkpoint is not of the configured text space,
    its dimension (space_dim: CLIP files differ) and model size (dropout may differ, the
    encoder's and decoder's feed-forward and the decoder's memory tokens may grow, and the
    encoder's root velocity input and a corrector may be added: training.widen)."""
    check_text_space(config, init)
    configured = model_config(config, space_dim)
    expected = dataclasses.asdict(configured)
    given = dataclasses.asdict(init.config)
    differences = [
        f"{name} {given[name]} (configuration: {expected[name]})"
        for name in expected
        if name
        not in (
            "dropout",
            "feedforward",
            "decoder_feedforward",
            "decoder_memory",
            "encoder_velocity",
            "corrector",
        )
        and given[name] != expected[name]
    ]
    for name, what in (("encoder_velocity", "encoder velocity input"), ("corrector", "corrector")):
        if getattr(init.config, name) and not getattr(configured, name):
            differences.append(f"{what} on (configuration: off; it can be added, not taken away)")
    if init.config.feedforward > configured.feedforward:
        differences.append(
            f"encoder feed-forward {init.config.feedforward} (configuration: "
            f"{configured.feedforward}; it can only grow)"
        )
    if init.config.decoder_hidden > configured.decoder_hidden:
        differences.append(
            f"decoder feed-forward {init.config.decoder_hidden} (configuration: "
            f"{configured.decoder_hidden}; it can only grow)"
        )
    tokens, configured_tokens = init.config.decoder_memory, configured.decoder_memory
    if configured_tokens % tokens:
        differences.append(
            f"decoder memory {tokens} tokens (configuration: {configured_tokens}; it can only "
            "grow, to a multiple)"
        )
    if differences:
        raise MotionClipError(
            "--init: the checkpoint's model differs from the configured one: "
            + ", ".join(differences)
        )


def final_checkpoint(trainer: Trainer) -> checkpoints.Checkpoint:
    """The trained model with its text-to-latent maps and validation metrics; its default
    text-latent scaling is the one under which the validation split's generated motions were
    recognised best."""
    mapping, nearest = text_to_latent_maps(trainer)

    def validation(scaling: checkpoints.TextLatentScaling) -> dict[str, float]:
        checkpoint = trainer.checkpoint(
            scaling=scaling, text_to_latent=mapping, caption_latents=nearest
        )
        return evaluate_checkpoint(
            checkpoint, trainer.data, "validation", trainer.space, trainer.config
        )

    scaling: checkpoints.TextLatentScaling = "motion_norm"
    metrics = validation(scaling)
    best = best_text_latent_scaling(metrics, scaling)
    if best != scaling:
        logger.info("text-latent scaling %r generates better than %r; using it", best, scaling)
        scaling, metrics = best, validation(best)
    return trainer.checkpoint(
        {f"validation_{k}": v for k, v in metrics.items()}, scaling, mapping, nearest
    )


def text_to_latent_maps(trainer: Trainer) -> tuple[torch.Tensor, checkpoints.CaptionLatents]:
    """Both maps of training.text_to_latent from the training windows' latents and captions:
    fit_text_to_latent over every (caption, latent) pair, with the ridge that best predicts
    latents from a caption phrasing left out (choose_ridge); and the caption medoids, with the
    temperature under which the validation split's generated motions are recognised best (the
    first when none of them can be judged: evaluate.judged_labels), or, when the decoder was
    frozen, the initial checkpoint's, which it still decodes the same."""
    windows = trainer.data.indices("train")
    latents = encode_windows(trainer.model, trainer.data, windows, trainer.statistics).cpu()
    rows, phrasings, embeddings = [], [], []
    for row, window in enumerate(windows):
        for phrasing, text in enumerate(trainer.data.labels[window].captions):
            rows.append(row)
            phrasings.append(phrasing)
            embeddings.append(trainer.captions[text].cpu())
    inputs, targets = torch.stack(embeddings), latents[rows]
    ridge = choose_ridge(inputs, targets, torch.tensor(phrasings))
    logger.info("text-to-latent map: ridge %g, chosen with a caption phrasing held out", ridge)
    mapping = fit_text_to_latent(inputs, targets, ridge)
    if trainer.kept_caption_latents is not None:
        logger.info("nearest captions: the initial checkpoint's, kept (train.freeze_decoder)")
        return mapping, trainer.kept_caption_latents
    described = caption_rows(trainer.data, windows)
    nearest = checkpoints.CaptionLatents(
        torch.stack([trainer.captions[text].cpu() for text in described]),
        medoid_latents(trainer, windows, latents, list(described.values())),
        TEMPERATURES[0],
        tuple(described),
    )
    validation = trainer.data.indices("validation")
    classifier = cached_classifier(trainer.data, Path(trainer.config.data.cache))
    if not judged_labels(trainer.data, validation, classifier.classes):
        logger.warning(
            UNJUDGED, "validation", f"nearest captions keep temperature {TEMPERATURES[0]:g}"
        )
        return mapping, nearest

    base = trainer.checkpoint(scaling="nearest_captions", caption_latents=nearest)

    def recognised(temperature: float) -> float:
        candidate = dataclasses.replace(nearest, temperature=temperature)
        checkpoint = dataclasses.replace(base, caption_latents=candidate)
        session = MotionClip(checkpoint, trainer.space)
        return generated_accuracy(session, trainer.data, validation, classifier)

    accuracies = {temperature: recognised(temperature) for temperature in TEMPERATURES}
    temperature = max(TEMPERATURES, key=accuracies.__getitem__)
    logger.info(
        "nearest captions: temperature %g (validation recognised %s)",
        temperature,
        {t: round(a, 3) for t, a in accuracies.items()},
    )
    return mapping, dataclasses.replace(nearest, temperature=temperature)


def medoid_latents(
    trainer: Trainer, windows: list[int], latents: torch.Tensor, rows: list[list[int]]
) -> torch.Tensor:
    """For each caption, given the rows of `latents` (the encoder's, of `windows`) of the windows
    it describes, the latent of its medoid window, fitted to decode that window in
    train.fit_caption_latents steps (core.reconstruction.decoded_latents)."""
    medoids = caption_medoid_rows(latents, rows)
    steps = trainer.config.train.fit_caption_latents
    if steps == 0:
        return latents[medoids]
    distinct = sorted(set(medoids))
    weights = dataclasses.asdict(trainer.config.loss)
    fitted = decoded_latents(
        trainer.model,
        [trainer.data.window(windows[row]) for row in distinct],
        latents[distinct],
        trainer.statistics,
        {name: weights[name] for name in RECONSTRUCTION_TERMS},
        steps,
        trainer.positions,
    )
    logger.info("fitted the latents of %d caption medoids in %d steps", len(distinct), steps)
    position = {row: index for index, row in enumerate(distinct)}
    return fitted[[position[row] for row in medoids]]


def caption_rows(data: PreparedData, windows: list[int]) -> dict[str, list[int]]:
    """For each caption of `windows`, in order of first appearance, the positions in `windows` of
    the windows it describes."""
    rows: dict[str, list[int]] = {}
    for row, window in enumerate(windows):
        for text in data.labels[window].captions:
            rows.setdefault(text, []).append(row)
    return rows


def replayed_windows(
    model: MotionClipModel, data: PreparedData, statistics: FeatureStatistics
) -> frozenset[int]:
    """The training windows "nearest_captions" generation replays: each training caption's
    medoid window under `model`'s encoder, whose latent text_to_latent_maps stores."""
    windows = data.indices("train")
    latents = encode_windows(model, data, windows, statistics)
    medoids = caption_medoid_rows(latents, list(caption_rows(data, windows).values()))
    return frozenset(windows[row] for row in medoids)


def motion_latent_norm(
    model: MotionClipModel, data: PreparedData, statistics: FeatureStatistics, count: int = 512
) -> float:
    """Mean latent norm of (up to `count`) training windows: the scale text latents are given."""
    latents = encode_windows(model, data, data.indices("train")[:count], statistics)
    return float(latents.norm(dim=-1).mean())


class LogFile:
    """log.csv, continued after a resume (rows past the resumed step are dropped)."""

    def __init__(self, path: Path, keep_until: int) -> None:
        self.path = path
        rows = []
        if keep_until and path.is_file():
            with path.open(newline="") as stream:
                rows = [row for row in csv.DictReader(stream) if int(row["step"]) <= keep_until]
        with path.open("w", newline="") as stream:
            writer = csv.DictWriter(stream, LOG_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)

    def write(self, values: dict[str, float]) -> None:
        row = {name: values.get(name, "") for name in LOG_COLUMNS}
        with self.path.open("a", newline="") as stream:
            csv.DictWriter(stream, LOG_COLUMNS).writerow(
                {
                    k: (
                        f"{v:.6g}"
                        if isinstance(v, float) and math.isfinite(v)
                        else ""
                        if isinstance(v, float)
                        else v
                    )
                    for k, v in row.items()
                }
            )

    def rows(self) -> list[dict[str, str]]:
        with self.path.open(newline="") as stream:
            return list(csv.DictReader(stream))

    def draw(self, path: Path) -> None:
        rows = self.rows()
        steps = [int(row["step"]) for row in rows]
        series = {
            name: [float(row[name]) if row[name] else math.nan for row in rows]
            for name in ("loss", "validation_loss", "rotation", "joints", "text")
        }
        draw_curves(steps, series, path)


def resumed_data_keys(state: dict[str, Any], data: PreparedData) -> tuple[str, str]:
    """The key of the prepared data a training state was trained on, and the same key of `data`:
    their content keys (PreparedData.content_key), so that an edit to the code that prepares the
    same data does not stop a resume; states written before those were kept hold data.key."""
    if "data_content_key" in state:
        return state["data_content_key"], data.content_key()
    return state["data_key"], data.key


def check_run_folder(out: Path, resume: bool) -> None:
    """Before any data is prepared: --resume needs a training state in train.out, and a new run
    must not replace another run's last.pt and model.pt there (nor its log.csv)."""
    if resume:
        if not (out / "last.pt").is_file():
            raise MotionClipError(f"--resume: no training state at {out / 'last.pt'}")
        return
    held = [name for name in ("last.pt", "model.pt") if (out / name).exists()]
    if held:
        raise MotionClipError(
            f"train.out: {out} already holds a run ({', '.join(held)}); continue it with "
            "--resume, or start this one in another train.out (or remove those files first)"
        )


def interruption(trainer: Trainer | None) -> str:
    """What an interrupted run leaves behind: the step last.pt holds, for --resume."""
    if trainer is None:
        return "interrupted before training began; train.out is as it was"
    where = f"interrupted at step {trainer.step} of {trainer.config.train.steps}"
    if trainer.saved_step is None:
        return f"{where}, before any training state was saved; start the run again"
    last = trainer.out / "last.pt"
    return f"{where}: {last} holds step {trainer.saved_step}; continue with --resume"


def main(argv: list[str] | None = None) -> int:
    parser = command_parser("train", __doc__)
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--resume", action="store_true", help="continue from train.out/last.pt")
    start.add_argument(
        "--init",
        metavar="CHECKPOINT",
        help="start from this checkpoint's weights (e.g. the bundled model) with a new optimiser",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    trainer: Trainer | None = None
    try:
        config = load_config(args.config, args.set)
        init = checkpoints.load_checkpoint(args.init) if args.init else None
        if config.train.steps == 0 and init is None:
            raise MotionClipError(
                "train.steps = 0 needs --init CHECKPOINT: it only refits that model's "
                "text-to-latent maps and validation metrics"
            )
        for part in ("encoder", "decoder"):
            if getattr(config.train, f"freeze_{part}") and init is None and not args.resume:
                raise MotionClipError(
                    f"train.freeze_{part} needs --init CHECKPOINT (or --resume): a frozen random "
                    f"{part} leaves the other half nothing worth learning"
                )
        check_output_folder(config.train.out, "train.out")
        check_run_folder(Path(config.train.out), args.resume)
        process = start_process(config.train.device)
        trainer = Trainer(config, process, init=init)
        if config.train.steps == 0 and not trainer.data.indices("validation"):
            raise MotionClipError(
                "train.steps = 0 refits the text-to-latent maps, which are chosen on the "
                "validation split, and this data has none (data.validation_fraction)"
            )
        trainer.run(resume=args.resume)
        if process.main and trainer.data.indices("validation"):
            final = trainer.out / "model.pt"
            checkpoints.save_checkpoint(final_checkpoint(trainer), final)
            print(f"wrote {final} with its validation metrics")
        elif process.main:
            print(
                "training.train: warning: the prepared data has no validation windows "
                f"(data.validation_fraction is {config.data.validation_fraction}), so "
                f"{trainer.out / 'model.pt'} has no validation metrics and no fitted "
                "text-to-latent maps",
                file=sys.stderr,
            )
    except MotionClipError as error:
        print(f"training.train: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # files are written atomically: the last state is whole
        if trainer is None or trainer.process.main:
            print(f"training.train: {interruption(trainer)}", file=sys.stderr)
        return 130
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
