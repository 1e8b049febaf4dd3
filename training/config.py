"""Training configuration: a TOML file of sections that map onto the dataclasses below.

Every key is checked: an unknown section or key, or a value of the wrong type, is a ConfigError
that names it, so a typo never silently falls back to a default. `overrides` ("train.steps=10")
change single values after loading, for quick runs and tests.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from motionclip_blender.core.errors import MotionClipError

TIME_WARP_SPEED = 1.25  # the default widest warp: speeds from 1 / 1.25 to 1.25 (time_warp.py)

SHARED_SETS = ("bandai", "deepmimic", "cmu8")
DEVICE = r"auto|cpu|cuda(:\d+)?"  # train.device: auto is cuda when there is one, else cpu
# [model] sizes where 0 keeps the preset's value (training.train.model_config)
MODEL_SIZES = ("width", "layers", "heads", "feedforward", "decoder_feedforward", "decoder_memory")
# [loss] weights of the loss terms: a negative one would train to increase its term
LOSS_WEIGHTS = (
    "rotation",
    "joints",
    "in_place",
    "velocity",
    "foot_contact",
    "text",
    "image",
    "contrastive",
)


class ConfigError(MotionClipError):
    """A configuration file or override that cannot be used; names the file and the key."""


@dataclass(frozen=True)
class BvhFolder:
    """A folder of BVH files and a CSV of `file,text` rows labelling them."""

    folder: str
    labels: str


@dataclass(frozen=True)
class AmassFolder:
    """A folder of AMASS .npz files and the BABEL JSON file(s) labelling them."""

    folder: str
    babel: list[str]


@dataclass(frozen=True)
class DataConfig:
    """Where motions come from and how they are cut and split.

    root: folder holding the unpacked shared sets (root/bandai, ...); archives: folder of the
    shared NAME.tar.xz files, unpacked into root when a set is missing there. cache: where
    prepared data, text and image embeddings are kept.
    """

    sets: list[str] = field(default_factory=lambda: list(SHARED_SETS))
    root: str = ".cache/data"
    archives: str = "../shared/data"
    bvh: list[BvhFolder] = field(default_factory=list)
    amass: list[AmassFolder] = field(default_factory=list)
    cache: str = ".cache/prepared"
    seed: int = 0
    validation_fraction: float = 0.1
    test_fraction: float = 0.1

    def sources(self) -> list[str]:
        """The names of the configured data sources, as windows' `source` gives them (what
        train.source_repeats names): the shared sets, "bvh" and "amass"."""
        folders = [name for name, given in (("bvh", self.bvh), ("amass", self.amass)) if given]
        return [*self.sets, *folders]


@dataclass(frozen=True)
class ModelSection:
    """The model: a preset of core.model, optionally changed, in a text space."""

    preset: str = "small"
    text_space: str = "minilm"
    clip_weights: str = ""
    fps: float = 20.0
    min_seconds: float = 1.0
    max_seconds: float = 8.0
    width: int = 0  # 0 keeps the preset's value (also layers, heads, feedforward)
    layers: int = 0
    heads: int = 0
    feedforward: int = 0
    decoder_feedforward: int = 0  # 0: the decoder's feed-forward is `feedforward`, as the preset's
    decoder_memory: int = 0  # tokens the latent becomes in the decoder's memory; 0: the preset's 1
    encoder_velocity: bool = False  # the encoder also reads root velocity (core.model)
    corrector: bool = False  # a corrector of the encoder's latent, trained alone (core.model)
    dropout: float = -1.0  # negative keeps the preset's value


@dataclass(frozen=True)
class LossConfig:
    """Weights of the loss terms (the paper: 100, 100, 100, 1, 1; in_place, foot_contact and
    contrastive are ours, off unless set).

    smpl_model: a folder with the licensed SMPL model; when given, the position term compares
    mesh vertices instead of joints.
    """

    rotation: float = 100.0
    joints: float = 100.0
    in_place: float = 0.0
    velocity: float = 100.0
    foot_contact: float = 0.0
    text: float = 1.0
    image: float = 0.0
    contrastive: float = 0.0
    temperature: float = 0.1
    smpl_model: str = ""


@dataclass(frozen=True)
class OptimConfig:
    """AdamW with linear warm-up then cosine decay to `final_lr_fraction` of lr."""

    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup_steps: int = 200
    final_lr_fraction: float = 0.1
    grad_clip: float = 1.0
    velocity_lr_scale: float = 1.0  # the encoder's root velocity input learns this much faster
    residual_lr_scale: float = 1.0  # the corrector's residual input learns this much faster


@dataclass(frozen=True)
class TrainSection:
    """The loop: steps, batch size (per process), output folder, logging and checkpoints."""

    steps: int = 1000
    batch_size: int = 32
    length_group: int = 1  # batches regrouped by window length together (1: none); see batches.py
    source_repeats: dict[str, int] = field(default_factory=dict)  # {source: times in each epoch}
    label_floor: int = 0  # rarer content labels repeated to at least this many windows an epoch
    replay_floor: int = 0  # each caption's medoid window at least this many times an epoch
    mirror: float = 0.0  # chance that a drawn window is reflected left to right (mirror.py)
    prefix: float = 0.0  # chance that only a prefix of a drawn window is decoded (batches.py)
    time_warp: float = 0.0  # chance that a drawn window is played faster or slower (time_warp.py)
    time_warp_speed: float = TIME_WARP_SPEED  # warped windows' speeds: from 1 / this to this
    crop: float = 0.0  # chance that a random stretch of a drawn window is kept (crop.py)
    freeze_encoder: bool = False  # train the decoder only: latents, so recognition, stay the init's
    freeze_decoder: bool = False  # train the encoder only: what latents decode to stays the init's
    fit_caption_latents: int = 200  # steps fitting nearest_captions' latents (text_to_latent.py)
    seed: int = 0
    out: str = "runs/model"
    device: str = "auto"  # auto: cuda when available, else cpu
    amp: bool = True  # mixed precision, on CUDA only
    log_every: int = 10
    checkpoint_every: int = 500
    progress: bool = True


@dataclass(frozen=True)
class ImageConfig:
    """Rendering of training windows for the CLIP image loss (clip text space only)."""

    frames_per_window: int = 3
    resolution: int = 224


@dataclass(frozen=True)
class TrainConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelSection = field(default_factory=ModelSection)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainSection = field(default_factory=TrainSection)
    image: ImageConfig = field(default_factory=ImageConfig)

    def __post_init__(self) -> None:
        unknown = set(self.data.sets) - set(SHARED_SETS)
        if unknown:
            raise ConfigError(
                f"data.sets: unknown shared sets {sorted(unknown)}; known: {', '.join(SHARED_SETS)}"
            )
        if self.loss.image > 0 and self.model.text_space != "clip":
            raise ConfigError(
                "loss.image > 0 needs model.text_space = 'clip' (only CLIP has an image tower)"
            )
        data, optim, train = self.data, self.optim, self.train
        fractions = (data.validation_fraction, data.test_fraction)
        if not (min(fractions) >= 0 and sum(fractions) < 1):
            raise ConfigError(
                "data.validation_fraction and data.test_fraction must be 0 or more, their sum "
                f"under 1; got {data.validation_fraction} and {data.test_fraction}"
            )
        if not 0 < self.model.min_seconds <= self.model.max_seconds:
            raise ConfigError(
                "model.min_seconds must be above 0 and at most model.max_seconds, got "
                f"{self.model.min_seconds} and {self.model.max_seconds}"
            )
        if not (math.isfinite(optim.lr) and optim.lr > 0):
            raise ConfigError(f"optim.lr must be a positive number, got {optim.lr}")
        if not optim.weight_decay >= 0:
            raise ConfigError(f"optim.weight_decay must be 0 or more, got {optim.weight_decay}")
        if not optim.grad_clip > 0:
            raise ConfigError(
                f"optim.grad_clip must be positive (the largest gradient norm), got "
                f"{optim.grad_clip}"
            )
        if not 0 <= optim.final_lr_fraction <= 1:
            raise ConfigError(
                f"optim.final_lr_fraction must be in [0, 1], got {optim.final_lr_fraction}"
            )
        if optim.warmup_steps < 0:
            raise ConfigError(f"optim.warmup_steps must be 0 or more, got {optim.warmup_steps}")
        if not (math.isfinite(self.loss.temperature) and self.loss.temperature > 0):
            raise ConfigError(f"loss.temperature must be positive, got {self.loss.temperature}")
        if not (math.isfinite(self.model.fps) and self.model.fps > 0):
            raise ConfigError(f"model.fps must be a positive frame rate, got {self.model.fps}")
        if not self.model.dropout < 1:  # NaN too
            raise ConfigError(
                "model.dropout must be a probability in [0, 1), or negative for the preset's, got "
                f"{self.model.dropout}"
            )
        for name in ("frames_per_window", "resolution"):
            if getattr(self.image, name) < 1:
                raise ConfigError(
                    f"image.{name} must be at least 1, got {getattr(self.image, name)}"
                )
        for name in LOSS_WEIGHTS:
            weight = getattr(self.loss, name)
            if not (math.isfinite(weight) and weight >= 0):
                raise ConfigError(f"loss.{name} must be a weight of 0 or more, got {weight}")
        for name in MODEL_SIZES:
            size = getattr(self.model, name)
            if size < 0:
                raise ConfigError(f"model.{name} must be 0 (the preset's) or more, got {size}")
        if not re.fullmatch(DEVICE, train.device):
            raise ConfigError(
                f"train.device must be auto, cpu, cuda or cuda:N, got {train.device!r}"
            )
        for name in ("log_every", "checkpoint_every", "length_group"):
            if getattr(train, name) < 1:
                raise ConfigError(f"train.{name} must be at least 1, got {getattr(train, name)}")
        if self.train.steps < 0 or self.train.batch_size < 1:
            raise ConfigError(
                "train.steps must be at least 0 (0: only the end pass, with --init) and "
                "train.batch_size at least 1"
            )
        if self.train.fit_caption_latents < 0:
            raise ConfigError(
                f"train.fit_caption_latents must be 0 or more, got {self.train.fit_caption_latents}"
            )
        low = {source: n for source, n in self.train.source_repeats.items() if n < 1}
        if low:
            raise ConfigError(f"train.source_repeats must be at least 1, got {low}")
        unconfigured = sorted(set(self.train.source_repeats) - set(data.sources()))
        if unconfigured:
            raise ConfigError(
                f"train.source_repeats names {unconfigured}, which no configured data source "
                f"gives (the sources: {data.sources()}); remove them from train.source_repeats, "
                "or add them to the data"
            )
        if self.train.label_floor < 0:
            raise ConfigError(f"train.label_floor must be 0 or more, got {self.train.label_floor}")
        if self.train.replay_floor < 0:
            raise ConfigError(
                f"train.replay_floor must be 0 or more, got {self.train.replay_floor}"
            )
        both_frozen = self.train.freeze_encoder and self.train.freeze_decoder
        if both_frozen and not self.model.corrector:
            raise ConfigError(
                "train.freeze_encoder and train.freeze_decoder are both true: nothing would train "
                "(unless model.corrector = true, which trains the corrector alone)"
            )
        if self.model.corrector and not both_frozen:
            raise ConfigError(
                "model.corrector = true trains the corrector alone, for the encoder and decoder as "
                "they are: set train.freeze_encoder and train.freeze_decoder to true"
            )
        if self.train.replay_floor > 0 and not self.train.freeze_encoder:
            raise ConfigError(
                "train.replay_floor > 0 needs train.freeze_encoder = true: the windows it repeats "
                "are the caption medoids of the initial encoder's latents, which only a frozen "
                "encoder keeps"
            )
        if not 0 <= self.train.mirror <= 1:
            raise ConfigError(
                f"train.mirror must be a probability in [0, 1], got {self.train.mirror}"
            )
        if not 0 <= self.train.time_warp <= 1:
            raise ConfigError(
                f"train.time_warp must be a probability in [0, 1], got {self.train.time_warp}"
            )
        if not (math.isfinite(self.train.time_warp_speed) and self.train.time_warp_speed >= 1):
            raise ConfigError(
                f"train.time_warp_speed must be at least 1, got {self.train.time_warp_speed}"
            )
        if not 0 <= self.train.crop <= 1:
            raise ConfigError(f"train.crop must be a probability in [0, 1], got {self.train.crop}")
        if not 0 <= self.train.prefix <= 1:
            raise ConfigError(
                f"train.prefix must be a probability in [0, 1], got {self.train.prefix}"
            )
        for name in ("velocity_lr_scale", "residual_lr_scale"):
            if not getattr(self.optim, name) > 0:
                raise ConfigError(f"optim.{name} must be positive, got {getattr(self.optim, name)}")
        if self.train.mirror > 0 and self.loss.image > 0:
            raise ConfigError(
                "train.mirror > 0 needs loss.image = 0: the rendered frames are not mirrored"
            )


def command_parser(program: str, description: str | None) -> argparse.ArgumentParser:
    """The argument parser of a training command, with --config and --set."""
    parser = argparse.ArgumentParser(
        prog=f"python -m training.{program}",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", required=True, help="training configuration (TOML)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a configuration value (repeatable)",
    )
    return parser


def load_config(path: str | Path, overrides: list[str] | None = None) -> TrainConfig:
    """Read a TOML configuration and apply `section.key=value` overrides (TOML values)."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read it as a TOML text file ({error})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    for override in overrides or []:
        key, separator, value = override.partition("=")
        section, dot, name = key.strip().partition(".")
        if not (separator and dot and name):
            raise ConfigError(f"override {override!r}: expected section.key=value")
        try:
            parsed = tomllib.loads(f"value = {value.strip()}")["value"]
        except tomllib.TOMLDecodeError:
            parsed = value.strip()  # a bare word is taken as a string
        _check_override(override, section, name, parsed)
        table = raw.setdefault(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: override {override!r}: '{section}' is not a table")
        table[name] = parsed
    given = " ".join(f"--set {override}" for override in overrides or [])
    origin = f"{path} with {given}" if given else str(path)
    try:
        return _build(TrainConfig, raw, "")
    except ConfigError as error:  # each override was checked alone: this is the file, or both
        raise ConfigError(f"{origin}: {error}") from None


def _check_override(override: str, section: str, name: str, value: Any) -> None:
    """An error naming the `--set` override, not the file, when its section, key or value is
    wrong by itself."""
    sections = typing.get_type_hints(TrainConfig)
    try:
        if section not in sections:
            raise ConfigError(f"unknown section '{section}'; known: {', '.join(sections)}")
        _build(sections[section], {name: value}, section)  # every section has defaults
    except ConfigError as error:
        raise ConfigError(f"--set {override}: {error}") from None


def _build(kind: type, raw: Any, where: str) -> Any:
    """An instance of dataclass `kind` from a TOML table, every key and type checked."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where or 'the file'} must be a table")
    hints = typing.get_type_hints(kind)
    names = {f.name for f in dataclasses.fields(kind)}
    unknown = sorted(set(raw) - names)
    if unknown:
        place = f"[{where}]" if where else "the top level"
        raise ConfigError(f"unknown keys in {place}: {', '.join(unknown)}; known: {sorted(names)}")
    required = [
        f.name
        for f in dataclasses.fields(kind)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    missing = [name for name in required if name not in raw]
    if missing:
        keys = ", ".join(repr(name) for name in missing)
        raise ConfigError(
            f"{where}: missing key{'s' if len(missing) > 1 else ''} {keys} "
            f"(needed: {', '.join(required)})"
        )
    values = {
        name: _value(hints[name], value, f"{where}.{name}" if where else name)
        for name, value in raw.items()
    }
    try:
        return kind(**values)
    except ValueError as error:
        raise ConfigError(f"[{where}]: {error}") from None


def _value(hint: Any, value: Any, where: str) -> Any:
    """`value` checked against the type `hint` (a dataclass, list, dict with string keys, bool,
    int, float or str)."""
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where)  # type: ignore[arg-type]
    origin = typing.get_origin(hint)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a table, got {value!r}")
        _, item = typing.get_args(hint)
        return {key: _value(item, entry, f"{where}.{key}") for key, entry in value.items()}
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        (item,) = typing.get_args(hint)
        return [_value(item, entry, f"{where}[{i}]") for i, entry in enumerate(value)]
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, hint) or (hint is not bool and isinstance(value, bool)):
        raise ConfigError(f"{where} must be of type {hint.__name__}, got {value!r}")
    return value
