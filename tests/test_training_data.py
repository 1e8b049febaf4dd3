"""Training data: sources, splits, the prepared cache and bad inputs."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import shutil
import tarfile
from pathlib import Path

import pytest

from motionclip_blender.core.captions import captions
from training import sources
from training.config import ConfigError, load_config
from training.prepare import cache_path, collect_clips, prepare
from training.splits import assign_splits

from .conftest import shared_dataset
from .training_setup import LABELS, amass_dataset, bvh_dataset, write_config


def test_splits_keep_groups_together_and_spread_every_stratum() -> None:
    clips = [
        sources.Clip(Path(f"{c}_{s}_{i}.bvh"), "bandai", c, c, s, f"{c}-{s}-{i}", "x")
        for c in ("walk", "run")
        for s in ("happy", "sad", "old")
        for i in range(4)
    ] + [
        sources.Clip(
            Path("m.txt"), "cmu8", "walk", "walking", "", "test/m", "x", fixed_split="test"
        )
    ]
    splits = assign_splits(clips, 0.1, 0.1, seed=3)
    assert splits == assign_splits(clips, 0.1, 0.1, seed=3)
    assert splits["test/m"] == "test"
    for content in ("walk", "run"):
        chosen = [splits[c.group] for c in clips if c.content == content and c.source == "bandai"]
        assert chosen.count("test") == 1 and chosen.count("validation") == 1


def test_a_source_whose_every_file_has_its_own_caption_is_still_split() -> None:
    """A BVH folder of sentence captions, one per file: no label has three files, so labels
    cannot be stratified, but the source is split by the fractions, not all put in training;
    another source's lone labels still go to training whole."""
    own = [
        sources.Clip(Path(f"{i}.bvh"), "bvh", f"do {i}", f"a person does {i}", "", str(i), "x")
        for i in range(20)
    ]
    strata = [
        sources.Clip(Path(f"w{i}.bvh"), "bandai", "walk", "walk", "", f"w{i}", "x")
        for i in range(10)
    ] + [sources.Clip(Path("lone.bvh"), "bandai", "lone", "lone", "", "lone", "x")]
    splits = assign_splits(own + strata, 0.1, 0.1, seed=0)
    assert [splits[c.group] for c in own].count("validation") == 2
    assert [splits[c.group] for c in own].count("test") == 2
    assert splits["lone"] == "train"


def test_amass_and_babel_fixtures_are_read(tmp_path: Path) -> None:
    babel = amass_dataset(tmp_path, sequences_per_label=1)
    document = json.loads(babel.read_text())
    document["0"]["frame_ann"] = {
        "labels": [
            {"proc_label": "walk slowly", "act_cat": ["walk"], "start_t": 0.0, "end_t": 1.5},
            {"proc_label": "turn around", "act_cat": ["turn"], "start_t": 1.5, "end_t": 4.0},
        ]
    }
    document["99"] = {
        "feat_p": "ACCAD/ACCAD/gone/missing_poses.npz",
        "seq_ann": None,
        "frame_ann": None,
    }
    babel.write_text(json.dumps(document))
    clips = sources.amass_clips(sources.AmassFolder(str(tmp_path), [str(babel)]))
    assert [(c.content, c.text, c.start, c.stop) for c in clips[:2]] == [
        ("walk slowly", "walk slowly", 0.0, 1.5),
        ("turn around", "turn around", 1.5, 4.0),
    ]
    assert {c.content for c in clips} == {"walk slowly", "turn around", *LABELS[1:]}


def test_babel_content_is_the_processed_label_when_it_is_a_verb_phrase(tmp_path: Path) -> None:
    """The processed label ("walk forward") is not thrown away for the coarser action category
    ("walk"); one that captions cannot phrase falls back to the category as the content."""
    babel = amass_dataset(tmp_path, sequences_per_label=1, labels=("walk", "jump"))
    document = json.loads(babel.read_text())
    document["0"]["seq_ann"]["labels"] = [{"proc_label": "walk forward", "act_cat": ["walk"]}]
    document["1"]["seq_ann"]["labels"] = [{"proc_label": "jumping jacks", "act_cat": ["jump"]}]
    babel.write_text(json.dumps(document))
    clips = sources.amass_clips(sources.AmassFolder(str(tmp_path), [str(babel)]))
    assert [(c.content, c.raw_label, c.text) for c in clips] == [
        ("walk forward", "walk forward", "walk forward"),
        ("jump", "jump", "jumping jacks"),
    ]
    assert captions(clips[0].content, clips[0].style, clips[0].text)[0] == "a person walks forward"


def test_an_amass_entry_without_clips_is_an_error(tmp_path: Path) -> None:
    """Not a warning after which training goes on without the data the user asked for."""
    babel = amass_dataset(tmp_path / "amass", sequences_per_label=1)
    one_level_down = sources.AmassFolder(str(tmp_path / "amass" / "ACCAD"), [str(babel)])
    with pytest.raises(
        sources.DataSourceError,
        match=r"\[\[data\.amass\]\] folder .*/amass/ACCAD, .*: no clips, none of its 4 BABEL "
        r"sequence\(s\) has its \.npz under the folder: the first, ACCAD/ACCAD/s0/walk_0_poses",
    ):
        sources.amass_clips(one_level_down)
    with pytest.raises(sources.DataSourceError, match=r"no clips, .*names no sequence"):
        sources.amass_clips(sources.AmassFolder(str(tmp_path / "amass"), []))


def test_prepared_data_is_cached_and_keyed_by_inputs(tmp_path: Path, tiny_clip_path: Path) -> None:
    data = tmp_path / "amass"
    amass_dataset(data, sequences_per_label=1)
    config = load_config(write_config(tmp_path / "c.toml", data, tiny_clip_path))
    prepared = prepare(config)
    assert len(prepared) == 8 and prepared.window(0).shape == (20, 147)
    assert prepared.labels[0].captions[0] == "a person walks"
    path = cache_path(config, collect_clips(config))
    assert path.is_file() and prepare(config).key == prepared.key
    (data / "ACCAD" / "s0" / "walk_0_poses.npz").touch()  # a changed input: prepared again
    assert cache_path(config, collect_clips(config)) != path
    again = prepare(config)  # the same data under another key: the same content key
    assert again.key != prepared.key and again.content_key() == prepared.content_key()
    again.labels[0] = dataclasses.replace(again.labels[0], content="run")
    assert again.content_key() != prepared.content_key()
    again = prepare(config)
    again.features[3, 0] += 1e-3
    assert again.content_key() != prepared.content_key()


def test_the_cache_key_does_not_depend_on_how_the_root_is_written(
    tmp_path: Path, tiny_clip_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    amass_dataset(tmp_path / "amass", sequences_per_label=1)
    absolute = load_config(write_config(tmp_path / "c.toml", tmp_path / "amass", tiny_clip_path))
    monkeypatch.chdir(tmp_path)
    relative = load_config(write_config(tmp_path / "r.toml", Path("amass"), tiny_clip_path))
    assert collect_clips(relative)[0].path.parts[0] == "amass"
    assert cache_path(relative, collect_clips(relative)) == cache_path(
        absolute, collect_clips(absolute)
    )


def test_bvh_folder_with_a_corrupt_file_warns_with_the_count(
    tmp_path: Path, tiny_clip_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    labels = bvh_dataset(tmp_path / "bvh", labels=("walk", "wave"))
    (tmp_path / "bvh" / "broken.bvh").write_text("HIERARCHY\nROOT hips\n{")
    labels.write_text(labels.read_text() + "broken.bvh,jump\n")
    config = load_config(write_config(tmp_path / "c.toml", tmp_path, tiny_clip_path))
    config = bvh_config(config, tmp_path / "bvh", labels)
    with caplog.at_level(logging.WARNING):
        prepared = prepare(config)
    assert {item.content for item in prepared.labels} == {"walk", "wave"}
    assert "skipped 1 of 3 clip(s)" in caplog.text and "broken.bvh" in caplog.text


def test_babel_segments_are_counted_as_clips_not_files(
    tmp_path: Path, tiny_clip_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    babel = amass_dataset(tmp_path / "amass", sequences_per_label=1)
    document = json.loads(babel.read_text())
    document["0"]["frame_ann"] = {  # two segments of the first file, the second past its end
        "labels": [
            {"proc_label": "walk slowly", "act_cat": ["walk"], "start_t": 0.0, "end_t": 2.0},
            {"proc_label": "turn around", "act_cat": ["turn"], "start_t": 5.0, "end_t": 6.0},
        ]
    }
    babel.write_text(json.dumps(document))
    config = load_config(write_config(tmp_path / "c.toml", tmp_path / "amass", tiny_clip_path))
    with caplog.at_level(logging.WARNING):
        prepared = prepare(config)
    summary = prepared.summary
    assert (summary["files"], summary["clips"], summary["failed_clips"]) == (4, 5, 1)
    assert "skipped 1 of 5 clip(s) (files, or BABEL segments of them)" in caplog.text


def bvh_config(config, folder: Path, labels: Path):  # type: ignore[no-untyped-def]
    import dataclasses

    data = dataclasses.replace(
        config.data, amass=[], bvh=[sources.BvhFolder(str(folder), str(labels))]
    )
    return dataclasses.replace(config, data=data)


def test_label_csv_rows_are_split_by_csv_not_by_line_breaks_in_labels(tmp_path: Path) -> None:
    """A quoted label may span lines, and U+0085 or U+2028 in one is no row break; errors still
    name the line a row starts on."""
    for name in ("a.bvh", "b.bvh", "c.bvh"):
        (tmp_path / name).touch()
    labels = tmp_path / "labels.csv"
    rows = 'file,text\na.bvh,"a man\nwalks"\nb.bvh,walk\x85fast\r\nc.bvh,wave\u2028hands\n'
    labels.write_text(rows, encoding="utf-8", newline="")
    clips = sources.bvh_folder_clips(sources.BvhFolder(str(tmp_path), str(labels)))
    assert [clip.text for clip in clips] == ["a man walks", "walk fast", "wave hands"]
    labels.write_text(rows + "c.bvh\n", encoding="utf-8", newline="")
    with pytest.raises(sources.DataSourceError, match=r"labels\.csv, line 6: expected two"):
        sources.bvh_folder_clips(sources.BvhFolder(str(tmp_path), str(labels)))


def test_source_repeats_of_an_unconfigured_source_are_refused_before_any_data_is_prepared(
    tmp_path: Path,
) -> None:
    """The README's fine-tune starts from small.toml, whose source_repeats name cmu8 and
    deepmimic: with other data they are named when the configuration loads."""
    small = Path(__file__).parents[1] / "training" / "configs" / "small.toml"
    message = (
        r"train.source_repeats names \['cmu8'\], which no configured data source gives "
        r"\(the sources: \['deepmimic', 'bvh'\]\); remove them from train.source_repeats"
    )
    bvh = 'data.bvh=[{folder = "motions", labels = "motions/labels.csv"}]'
    with pytest.raises(ConfigError, match=message):
        load_config(small, ['data.sets=["deepmimic"]', bvh])
    assert load_config(small, ["train.source_repeats={ bvh = 2 }", bvh]).data.sources() == [
        "bandai",
        "deepmimic",
        "cmu8",
        "bvh",
    ]


def test_bad_inputs_give_clear_errors(tmp_path: Path, tiny_clip_path: Path) -> None:
    folder = tmp_path / "bvh"
    folder.mkdir()
    (folder / "a.bvh").write_text("not a bvh")
    labels = folder / "labels.csv"
    labels.write_text("file,text\na.bvh,walk\n")
    config = load_config(write_config(tmp_path / "c.toml", tmp_path, tiny_clip_path))
    with pytest.raises(sources.DataSourceError, match="no usable motion in 1 clip"):
        prepare(bvh_config(config, folder, labels))
    labels.write_text("File, Text\na.bvh,walk\nmissing.bvh,run\n")  # a header in any case
    with pytest.raises(sources.DataSourceError, match=r"names 1 file.*line 3: missing.bvh"):
        prepare(bvh_config(config, folder, labels))
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "labels.csv").write_text("file,text\n")
    with pytest.raises(sources.DataSourceError, match=r"labels.csv: no `file,text` rows"):
        prepare(bvh_config(config, empty, empty / "labels.csv"))
    bad = tmp_path / "bad.toml"
    bad.write_text("[train]\nstep = 3\nbatch_size = 2\n[modle]\n")
    with pytest.raises(ConfigError, match="unknown keys in the top level: modle"):
        load_config(bad)
    bad.write_text("[train]\nstep = 3\n")
    with pytest.raises(ConfigError, match=r"unknown keys in \[train\]: step"):
        load_config(bad)
    with pytest.raises(ConfigError, match=r"train\.steps must be of type int"):
        load_config(tmp_path / "c.toml", ["train.steps='many'"])
    repeats = load_config(tmp_path / "c.toml", ["train.source_repeats={ amass = 4 }"])
    assert repeats.train.source_repeats == {"amass": 4}
    with pytest.raises(ConfigError, match=r"train\.source_repeats\.amass must be of type int"):
        load_config(tmp_path / "c.toml", ["train.source_repeats={ amass = 'often' }"])
    with pytest.raises(ConfigError, match=r"train\.source_repeats must be a table"):
        load_config(tmp_path / "c.toml", ["train.source_repeats=4"])
    with pytest.raises(ConfigError, match=r"source_repeats must be at least 1, got \{'amass': 0\}"):
        load_config(tmp_path / "c.toml", ["train.source_repeats={ amass = 0 }"])
    assert load_config(tmp_path / "c.toml", ["train.label_floor=32"]).train.label_floor == 32
    with pytest.raises(ConfigError, match=r"train\.label_floor must be 0 or more, got -1"):
        load_config(tmp_path / "c.toml", ["train.label_floor=-1"])
    frozen = ["train.freeze_encoder=true", "train.replay_floor=16"]
    assert load_config(tmp_path / "c.toml", frozen).train.replay_floor == 16
    with pytest.raises(ConfigError, match=r"train\.replay_floor must be 0 or more, got -1"):
        load_config(tmp_path / "c.toml", ["train.freeze_encoder=true", "train.replay_floor=-1"])
    with pytest.raises(ConfigError, match=r"replay_floor > 0 needs train\.freeze_encoder = true"):
        load_config(tmp_path / "c.toml", ["train.replay_floor=16"])
    both = ["train.freeze_encoder=true", "train.freeze_decoder=true"]
    with pytest.raises(ConfigError, match=r"freeze_decoder are both true: nothing would train"):
        load_config(tmp_path / "c.toml", both)
    assert load_config(tmp_path / "c.toml", ["train.fit_caption_latents=0"]).train.steps > 0
    with pytest.raises(ConfigError, match=r"train\.fit_caption_latents must be 0 or more, got -1"):
        load_config(tmp_path / "c.toml", ["train.fit_caption_latents=-1"])
    assert load_config(tmp_path / "c.toml", ["train.steps=0"]).train.steps == 0  # with --init
    with pytest.raises(ConfigError, match=r"train\.steps must be at least 0"):
        load_config(tmp_path / "c.toml", ["train.steps=-1"])
    assert load_config(tmp_path / "c.toml", ["train.mirror=0.5"]).train.mirror == 0.5
    with pytest.raises(ConfigError, match=r"train\.mirror must be a probability in \[0, 1\]"):
        load_config(tmp_path / "c.toml", ["train.mirror=1.5"])
    assert load_config(tmp_path / "c.toml", ["train.prefix=0.5"]).train.prefix == 0.5
    assert load_config(tmp_path / "c.toml", ["train.time_warp=0.5"]).train.time_warp == 0.5
    with pytest.raises(ConfigError, match=r"train\.time_warp must be a probability in \[0, 1\]"):
        load_config(tmp_path / "c.toml", ["train.time_warp=1.5"])
    wide = load_config(tmp_path / "c.toml", ["train.time_warp_speed=1.5"])
    assert wide.train.time_warp_speed == 1.5
    with pytest.raises(ConfigError, match=r"train\.time_warp_speed must be at least 1, got 0\.8"):
        load_config(tmp_path / "c.toml", ["train.time_warp_speed=0.8"])
    assert load_config(tmp_path / "c.toml", ["train.crop=0.5"]).train.crop == 0.5
    with pytest.raises(ConfigError, match=r"train\.crop must be a probability in \[0, 1\]"):
        load_config(tmp_path / "c.toml", ["train.crop=-0.1"])
    assert load_config(tmp_path / "c.toml", ["model.encoder_velocity=true"]).model.encoder_velocity
    with pytest.raises(ConfigError, match=r"optim\.velocity_lr_scale must be positive, got 0"):
        load_config(tmp_path / "c.toml", ["optim.velocity_lr_scale=0"])
    with pytest.raises(ConfigError, match=r"train\.prefix must be a probability in \[0, 1\]"):
        load_config(tmp_path / "c.toml", ["train.prefix=-0.1"])
    with pytest.raises(ConfigError, match=r"train\.mirror > 0 needs loss\.image = 0"):
        load_config(
            tmp_path / "c.toml", ["train.mirror=0.5", "model.text_space='clip'", "loss.image=1.0"]
        )


def test_shared_sets_are_labelled() -> None:
    cmu8 = sources.cmu8_clips(shared_dataset("cmu8"))
    assert {c.content for c in cmu8} >= {"walk", "run", "jump", "play basketball"}
    assert {c.fixed_split for c in cmu8} == {"", "test"}
    deepmimic = sources.deepmimic_clips(shared_dataset("deepmimic"))
    groups = {c.group for c in deepmimic if "long_walk1" in c.path.stem}
    assert len(groups) == 1  # a clip and its mirror stay together
    assert any(c.licence.startswith("CC BY-NC") for c in deepmimic)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"feat_p": 5}, r"sequence 0: 'feat_p' must be a file path, got 5"),
        ({"seq_ann": "walk"}, r"sequence 0: 'seq_ann' must be an object or null"),
        ({"seq_ann": {"labels": "walk"}}, r"sequence 0: 'seq_ann\.labels' must be a list"),
        ({"seq_ann": {"labels": ["walk"]}}, r"sequence 0, seq_ann label 1: expected an object"),
        ({"frame_ann": []}, r"sequence 0: 'frame_ann' must be an object or null"),
        ({"act_cat": "walk"}, r"seq_ann label 1: 'act_cat' must be a list of strings, got 'walk'"),
        ({"act_cat": [3]}, r"seq_ann label 1: 'act_cat' must be a list of strings, got \[3\]"),
        ({"start_t": "abc"}, r"label 1: 'start_t' must be a number of seconds, got 'abc'"),
        ({"end_t": True}, r"label 1: 'end_t' must be a number of seconds, got True"),
        ({"proc_label": "", "raw_label": None}, r"seq_ann label 1: no proc_label or raw_label"),
    ],
)
def test_babel_entries_of_another_layout_are_errors_naming_the_file_and_entry(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    babel = amass_dataset(tmp_path, sequences_per_label=1)
    document = json.loads(babel.read_text())
    sequence = document["0"]
    label = sequence["seq_ann"]["labels"][0]
    for key, value in change.items():
        (sequence if key in sequence else label)[key] = value
    babel.write_text(json.dumps(document))
    with pytest.raises(sources.DataSourceError, match=f"^{re.escape(str(babel))}, .*{message}"):
        sources.amass_clips(sources.AmassFolder(str(tmp_path), [str(babel)]))
    (tmp_path / "ACCAD").rename(tmp_path / "elsewhere")  # checked even when the file is absent
    with pytest.raises(sources.DataSourceError, match=message):
        sources.amass_clips(sources.AmassFolder(str(tmp_path), [str(babel)]))


def write_shared_archive(archives: Path, name: str, members: dict[str, str]) -> Path:
    """archives/NAME.tar.xz holding the given text files (relative path -> text)."""
    files = archives / "files"
    for relative, text in members.items():
        (files / relative).parent.mkdir(parents=True, exist_ok=True)
        (files / relative).write_text(text)
    archive = archives / f"{name}.tar.xz"
    with tarfile.open(archive, "w:xz") as tar:
        for top in sorted({Path(relative).parts[0] for relative in members}):
            tar.add(files / top, arcname=top)
    return archive


def test_shared_sets_are_unpacked_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, archives = tmp_path / "data" / "root", tmp_path / "archives"
    archives.mkdir()
    (archives / "cmu8.tar.xz").write_bytes(b"junk\n")
    with pytest.raises(
        sources.DataSourceError, match=f"^{re.escape(str(archives))}/cmu8.tar.xz: cannot unpack"
    ):
        sources.unpack_shared_set("cmu8", root, archives)
    assert not root.exists()
    write_shared_archive(archives, "cmu8", {"other/a.txt": "1"})
    with pytest.raises(sources.DataSourceError, match="expected a top-level folder 'cmu8'"):
        sources.unpack_shared_set("cmu8", root, archives)
    assert not root.exists()
    write_shared_archive(archives, "cmu8", {"cmu8/train/walking/walking_1.txt": "1 2 3\n"})

    def interrupted(self: tarfile.TarFile, path: Path, **options: object) -> None:
        (Path(path) / "cmu8").mkdir()
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(tarfile.TarFile, "extractall", interrupted)
        with pytest.raises(KeyboardInterrupt):
            sources.unpack_shared_set("cmu8", root, archives)
    assert not root.exists()  # nothing that would count as unpacked afterwards
    target = sources.unpack_shared_set("cmu8", root, archives)
    assert target == root / "cmu8" and sorted(root.iterdir()) == [target]
    assert [clip.content for clip in sources.cmu8_clips(target)] == ["walk"]
    shutil.rmtree(target)
    target.mkdir()
    with pytest.raises(
        sources.DataSourceError, match=f"{re.escape(str(target))} is empty; remove it"
    ):
        sources.unpack_shared_set("cmu8", root, archives)
