"""Labels phrased as sentences: training captions and the phrasings recognition scores."""

from __future__ import annotations

import pytest

from motionclip_blender.core import captions
from motionclip_blender.core.checkpoint import bundled_checkpoint_path, load_checkpoint
from training import sources

from .conftest import shared_dataset


def test_captions_phrase_labels_with_and_without_style() -> None:
    assert captions.captions("walk", "elderly")[:2] == [
        "a person walks in an elderly way",
        "someone walking in an elderly way",
    ]
    assert "an elderly person walking" in captions.captions("walk", "elderly")
    assert captions.captions("run forward")[0] == "a person runs forward"
    assert [captions.gerund(v) for v in ("run", "wave", "kick", "lie", "spin")] == [
        "running",
        "waving",
        "kicking",
        "lying",
        "spinning",
    ]
    assert [captions.third_person(v) for v in ("punch", "carry", "go", "bow")] == [
        "punches",
        "carries",
        "goes",
        "bows",
    ]
    assert captions.captions("wave", text="a man waves at a friend") == ["a man waves at a friend"]


def test_recognition_scores_a_verb_phrase_by_its_phrasings_and_a_sentence_as_it_is() -> None:
    assert captions.label_phrasings("wave goodbye with one hand") == [
        "a person waves goodbye with one hand",
        "someone is waving goodbye with one hand",
        "a human waves goodbye with one hand",
        "waving goodbye with one hand",
    ]
    assert captions.label_phrasings("A man waves") == ["A man waves"]
    assert captions.label_phrasings("someone jumps over a box") == ["someone jumps over a box"]


@pytest.mark.parametrize(
    "text", ["Walking forward", "jumping jacks", "slow walk", "walk, slowly", "walk.", "T-pose"]
)
def test_a_short_caption_that_is_no_verb_phrase_is_used_as_written(text: str) -> None:
    """Not inflected as if it were one ("a person walkings forward", "jumpinging jacks")."""
    content = sources.content_phrase(text)
    assert captions.captions(content, "", text) == [text]
    assert captions.captions(content, "happy", text) == [text]
    assert captions.captions(content) == [content]


def test_a_short_verb_phrase_caption_is_still_phrased() -> None:
    assert captions.captions("walk forward", "", "Walk forward")[:2] == [
        "a person walks forward",
        "someone is walking forward",
    ]
    assert captions.captions("squat down")[0] == "a person squats down"
    assert captions.captions("squat down")[3] == "squatting down"


def test_a_capitalised_verb_phrase_label_is_scored_by_its_phrasings() -> None:
    """Typed into Find Similar's labels as "Walk": the encoders ignore case, so it must rank as
    "walk" does, by its phrasings (as written alone its latent was 0.79 cosine off)."""
    assert captions.label_phrasings("Walk backwards")[:2] == [
        "a person Walks backwards",
        "someone is Walking backwards",
    ]
    assert captions.content_prompt("Jump") == "a person Jumps"


@pytest.mark.parametrize(
    "label", ["a man walks slowly forward", "läuft schnell – 走る", "jumping jacks", "Walking"]
)
def test_a_label_that_is_no_verb_phrase_is_prompted_as_written(label: str) -> None:
    """As training used it (a user's caption as written), not "a person as man walks ..."."""
    assert captions.content_prompt(label) == label
    assert captions.label_phrasings(label) == [label]
    assert captions.content_prompt("walk backwards") == "a person walks backwards"


def test_the_bundled_models_training_captions_are_made_again_from_the_shared_sets() -> None:
    """The shared sets' labels are phrased as the bundled model was trained on: every one is a
    verb phrase, and every caption stored in the checkpoint is one they make."""
    clips = [
        clip for name, read in sources.SHARED_READERS.items() for clip in read(shared_dataset(name))
    ]
    assert all(captions.is_verb_phrase(clip.content) for clip in clips)
    made = {text for clip in clips for text in captions.captions(clip.content, clip.style)}
    trained = load_checkpoint(bundled_checkpoint_path()).caption_latents
    assert trained is not None and set(trained.texts) <= made
