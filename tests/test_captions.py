"""Labels phrased as sentences: training captions and the phrasings recognition scores."""

from __future__ import annotations

from motionclip_blender.core import captions


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
