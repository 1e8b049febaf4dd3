"""Text spaces: CLIP (tiny model through the real loading code, no torchvision) and MiniLM (real
weights, offline)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from motionclip_blender.core import text_spaces
from motionclip_blender.core.errors import PromptError, TextSpaceError
from motionclip_blender.core.text_spaces import (
    ClipSpace,
    PromptTruncatedWarning,
    find_clip_weights,
    load_clip_model,
    load_text_space,
)
from tests.tiny_models import TINY_CLIP, TINY_CLIP_DIM, tiny_clip

PROMPTS = ["a person walks", "someone waves with the left hand"]


@pytest.fixture(scope="module")
def clip_space(tiny_clip_path: Path) -> ClipSpace:
    return ClipSpace(load_clip_model(tiny_clip_path))


def test_torchscript_and_state_dict_files_give_the_reference_embeddings(
    tiny_clip_path: Path, tmp_path: Path
) -> None:
    reference = tiny_clip()
    state_dict_path = tmp_path / "state-dict.pt"
    torch.save(tiny_clip(half=True).state_dict(), state_dict_path)
    for path in (tiny_clip_path, state_dict_path):
        space = ClipSpace(load_clip_model(path))
        assert (space.name, space.dim, space.context_length) == ("clip", TINY_CLIP_DIM, 24)
        assert all(p.dtype == torch.float32 for p in space.model.parameters())
        with torch.no_grad():
            expected = reference.encode_text(space.tokenize(PROMPTS))
        torch.testing.assert_close(space.encode_text(PROMPTS), expected)


def test_threads_loading_a_clip_module_together_all_get_it_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """openai_clip_module must not hand a thread a module another thread is still running."""
    import threading
    import time

    name = "_motionclip_openai_clip_simple_tokenizer"
    monkeypatch.delitem(sys.modules, name, raising=False)
    run = text_spaces.importlib.util.spec_from_file_location

    def slow_spec(*args: object, **kwargs: object) -> object:
        spec = run(*args, **kwargs)  # type: ignore[arg-type]
        assert spec is not None and spec.loader is not None
        execute = spec.loader.exec_module

        def slow_exec(module: object) -> None:
            time.sleep(0.2)
            execute(module)  # type: ignore[arg-type]

        spec.loader.exec_module = slow_exec  # type: ignore[method-assign]
        return spec

    monkeypatch.setattr(text_spaces.importlib.util, "spec_from_file_location", slow_spec)
    found: list[bool] = []
    threads = [
        threading.Thread(
            target=lambda: found.append(
                hasattr(text_spaces.openai_clip_module("simple_tokenizer"), "SimpleTokenizer")
            )
        )
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == [True, True, True]


def test_heads_are_inferred_from_the_width(clip_space: ClipSpace) -> None:
    text_attention = clip_space.model.transformer.resblocks[0].attn
    vision_attention = clip_space.model.visual.transformer.resblocks[0].attn
    assert text_attention.num_heads == TINY_CLIP["transformer_width"] // 64 == 2
    assert vision_attention.num_heads == TINY_CLIP["vision_width"] // 64 == 1


def test_images_are_encoded_without_torchvision(tiny_clip_path: Path) -> None:
    code = (
        "import sys; sys.modules['torchvision'] = None\n"  # any import of it now fails
        "from pathlib import Path; from PIL import Image\n"
        "from motionclip_blender.core.text_spaces import ClipSpace, load_clip_model\n"
        f"space = ClipSpace(load_clip_model(Path({str(tiny_clip_path)!r})))\n"
        "images = [Image.new('RGB', (64, 48), (200, 30, 30)), Image.new('L', (20, 90), 128)]\n"
        "print(tuple(space.encode_image(images).shape), tuple(space.encode_text(['a']).shape))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == f"(2, {TINY_CLIP_DIM}) (1, {TINY_CLIP_DIM})"


def test_image_preparation_matches_clip() -> None:
    white = Image.new("RGB", (40, 20), (255, 255, 255))
    pixels = text_spaces.clip_image_tensor(white, 16)
    assert pixels.shape == (3, 16, 16)
    mean = torch.tensor(text_spaces.CLIP_IMAGE_MEAN)
    std = torch.tensor(text_spaces.CLIP_IMAGE_STD)
    torch.testing.assert_close(pixels[:, 8, 8], (1 - mean) / std)


def test_long_prompts_are_cut_with_a_warning(clip_space: ClipSpace) -> None:
    long = "a person walks forward and then " * 20
    with pytest.warns(PromptTruncatedWarning, match="24 tokens"):
        embedding = clip_space.encode_text([long])
    assert embedding.shape == (1, TINY_CLIP_DIM)
    # 22 words of one token each, with the start and end tokens, fill the 24 exactly.
    assert clip_space.fits("walk " * 22) and not clip_space.fits("walk " * 23)
    tokens = clip_space.tokenize(["walk"])
    assert (
        tokens.shape == (1, 24)
        and int(tokens[0, 2]) == clip_space.tokenizer.encoder["<|endoftext|>"]
    )


@pytest.mark.parametrize("texts", [[], [""], ["walk", "   "], "a bare string"])
def test_empty_prompts_are_refused(clip_space: ClipSpace, texts: list[str]) -> None:
    with pytest.raises(PromptError):
        clip_space.encode_text(texts)


def test_missing_weights_say_how_to_get_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(TextSpaceError, match=r"ViT-B-32\.pt.*338 MB.*https://") as error:
        load_text_space("clip")
    assert str(tmp_path / ".cache" / "clip" / "ViT-B-32.pt") in str(error.value)
    assert "MOTIONCLIP_CLIP_WEIGHTS" in str(error.value)  # how to give a path on the CLI
    with pytest.raises(TextSpaceError, match="no such CLIP weights file"):
        find_clip_weights(tmp_path / "nowhere.pt")
    with pytest.raises(TextSpaceError, match="a folder, not a weights file"):
        find_clip_weights(tmp_path)
    (tmp_path / "mine.pt").write_bytes(b"")
    assert find_clip_weights("~/mine.pt") == tmp_path / "mine.pt"  # ~ as typed in a setting
    with pytest.raises(TextSpaceError, match="unknown text space 'bert'"):
        load_text_space("bert")


def test_download_only_when_allowed_and_checked(
    tiny_clip_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    gone = (tmp_path / "gone.pt").as_uri()  # a first host that no longer serves the file
    monkeypatch.setattr(text_spaces, "CLIP_URLS", (gone, tiny_clip_path.as_uri()))
    monkeypatch.setattr(text_spaces, "CLIP_SHA256", "0" * 64)
    cached = tmp_path / ".cache" / "clip" / "ViT-B-32.pt"
    with pytest.raises(TextSpaceError, match=r"gone\.pt: .*; .*tiny-clip\.pt: .*checksum"):
        find_clip_weights(allow_download=True)
    assert list(cached.parent.iterdir()) == []  # nothing partial left behind
    digest = hashlib.sha256(tiny_clip_path.read_bytes()).hexdigest()
    monkeypatch.setattr(text_spaces, "CLIP_SHA256", digest)
    assert find_clip_weights(allow_download=True) == cached
    assert load_text_space("clip").dim == TINY_CLIP_DIM  # now found in the cache


def test_files_that_are_not_clip_weights_are_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a zip file at all")
    with pytest.raises(TextSpaceError, match="not a readable CLIP weights file"):
        load_clip_model(garbage)
    other = tmp_path / "other.pt"
    torch.save({"weight": torch.zeros(2)}, other)
    with pytest.raises(TextSpaceError, match="does not hold CLIP weights"):
        load_clip_model(other)
    whole = tmp_path / "whole.pt"
    torch.save(tiny_clip(), whole)  # the module pickled, which a weights-only load refuses
    with pytest.raises(TextSpaceError, match=r"not a readable CLIP weights file .* state dict"):
        load_clip_model(whole)


@pytest.mark.parametrize("name", ["code.pt", "legacy.pt"])
def test_state_dicts_load_whatever_their_name_or_format(tmp_path: Path, name: str) -> None:
    """torch.save names the archive's folder after the file (code.pt: code/data.pkl, which is
    not TorchScript's code/); legacy.pt is torch.save's older, non-zip format."""
    path = tmp_path / name
    torch.save(tiny_clip().state_dict(), path, _use_new_zipfile_serialization=name != "legacy.pt")
    assert ClipSpace(load_clip_model(path)).encode_text(["walk"]).shape == (1, TINY_CLIP_DIM)


@pytest.fixture(scope="module")
def minilm() -> text_spaces.TextSpace:
    return load_text_space("minilm")


def test_minilm_real_weights_offline(minilm: text_spaces.TextSpace) -> None:
    walk, walking, wave = minilm.encode_text(
        ["a person walks", "someone is walking", "a person waves"]
    )
    assert (minilm.name, minilm.dim) == ("minilm", 384)
    torch.testing.assert_close(walk.norm(), torch.tensor(1.0))
    assert float(walk @ walking) > float(walk @ wave) + 0.2


def test_minilm_has_no_image_tower_and_cuts_long_prompts(minilm: text_spaces.TextSpace) -> None:
    with pytest.raises(TextSpaceError, match="no image encoder"):
        minilm.encode_image([Image.new("RGB", (8, 8))])
    with pytest.warns(PromptTruncatedWarning, match="256 tokens"):
        assert minilm.encode_text(["walk " * 400]).shape == (1, 384)
    assert minilm.fits("walk " * 254) and not minilm.fits("walk " * 255)  # with [CLS], [SEP]


def test_minilm_matches_transformers_bert_with_mean_pooling(minilm: text_spaces.TextSpace) -> None:
    """core/bert.py must compute what transformers' BertModel does (what sentence-transformers
    runs for this model), padding included: prompts of different lengths in one batch."""
    transformers = pytest.importorskip("transformers")
    prompts = ["walk", "a person waves with the left hand, then jumps twice", "someone sits"]
    folder = text_spaces.minilm_folder()
    reference = transformers.BertModel.from_pretrained(folder, local_files_only=True).eval()
    tokens = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)(
        prompts, padding=True, return_tensors="pt"
    )
    with torch.inference_mode():
        hidden = reference(**tokens).last_hidden_state
    weights = tokens["attention_mask"][..., None].float()
    expected = torch.nn.functional.normalize((hidden * weights).sum(1) / weights.sum(1), dim=-1)
    torch.testing.assert_close(minilm.encode_text(prompts), expected, atol=1e-5, rtol=0)


def test_minilm_folder_with_another_bert_variant_is_refused(tmp_path: Path) -> None:
    folder = text_spaces.minilm_folder()
    for name in ("model.safetensors", "tokenizer.json", "sentence_bert_config.json"):
        (tmp_path / name).symlink_to(folder / name)
    config = (folder / "config.json").read_text()
    (tmp_path / "config.json").write_text(config.replace('"gelu"', '"relu"'))
    with pytest.raises(TextSpaceError, match="hidden_act is 'relu'; only 'gelu' is supported"):
        text_spaces.MiniLmSpace(tmp_path)
    (tmp_path / "config.json").write_text(
        config.replace('"num_hidden_layers": 6', '"num_hidden_layers": 7')
    )
    with pytest.raises(TextSpaceError, match="not a BERT of this shape"):
        text_spaces.MiniLmSpace(tmp_path)
