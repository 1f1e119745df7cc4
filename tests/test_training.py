"""Classifier training on the generated miniature: it learns, and the transfer loads its weights.

One short training run (3 tracks per genre, 30 s each, 5 epochs) is shared by the tests.
It uses batch size 8 instead of the original's 32: the same amount of computation per
epoch, but four times as many updates, which is what a tiny dataset needs to get going
in a few seconds of CPU time (and to let BatchNorm's moving statistics settle).
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from amnst_lib.dataset import GENRES, find_tracks, make_miniature
from amnst_lib.errors import DatasetError, OutputExistsError
from amnst_lib.features import build_cache
from amnst_lib.training import (CARD_FILE, LOG_FILE, WEIGHTS_FILE, evaluate, make_split, train,
                                vote_tracks)

CHANCE = 1 / len(GENRES)


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    return make_miniature(tmp_path_factory.mktemp("data") / "gtzan-mini", tracks_per_class=3, seed=0)


@pytest.fixture(scope="module")
def trained(mini, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    return train(mini, out, epochs=5, batch_size=8, seed=0, verbose=0)


def test_short_training_learns_well_above_chance(trained):
    acc = trained.card["accuracy"]
    print(f"\nminiature val accuracy: {acc['val']['segment_accuracy']:.3f} per segment, "
          f"{acc['val']['track_accuracy']:.3f} per track (chance {CHANCE:.2f})")
    # Typically 0.7-0.8 here: 10 unseen tracks, 60 segments. 0.4 is four times chance.
    assert acc["val"]["segment_accuracy"] >= 0.4
    assert acc["val"]["track_accuracy"] >= 0.4
    assert acc["val"]["n_tracks"] == 10 and acc["val"]["n_segments"] == 60
    assert acc["train"]["n_tracks"] == 20


def test_outputs_and_model_card(trained):
    out = trained.out_dir
    for name in (WEIGHTS_FILE, CARD_FILE, LOG_FILE, "confusion_matrix.png", "learning_curves.png", "split.csv"):
        assert (out / name).is_file(), name
    assert not (out / "checkpoint").exists()
    card = json.loads((out / CARD_FILE).read_text())
    assert card["split"]["mode"] == "track" and card["split"]["leaky"] is False
    assert card["training"]["learning_rate"] == 1e-3 and card["training"]["seed"] == 0
    assert card["training"]["reduce_lr"] == {"monitor": "val_accuracy", "factor": 0.5, "patience": 2,
                                             "min_delta": 0.005}
    assert card["features"]["analysis"]["n_mels"] == 384 and card["input_shape"] == [384, 431, 1]
    assert len(card["data"]["fingerprint"]) == 16 and card["parameters"]["total"] == 62670
    assert card["genres"] == list(GENRES)
    with open(out / LOG_FILE) as f:
        log = list(csv.DictReader(f))
    assert len(log) == 5 and "val_accuracy" in log[0]
    with open(out / "split.csv") as f:
        rows = list(csv.DictReader(f))
    subsets = {}
    for r in rows:
        assert r["track_id"] not in subsets  # one subset per track
        subsets[r["track_id"]] = r["subset"]
    assert len(subsets) == 30


def test_saved_weights_load_into_the_network_and_the_transfer(trained, mini):
    from amnst_lib.model import build_genre_cnn, load_weights
    from amnst_lib.pipeline import load_network

    model = build_genre_cnn()
    load_weights(model, trained.weights_path)
    # The weights are exactly those that were evaluated: same accuracy on the same segments.
    cache = build_cache(find_tracks(mini), None, progress=False)
    val_rows = make_split(cache, "track", seed=0)["rows"]["val"]
    again = evaluate(model, cache, val_rows)
    assert again["segment_accuracy"] == pytest.approx(trained.card["accuracy"]["val"]["segment_accuracy"])
    transfer_model, info = load_network(trained.weights_path)
    assert info["trained"] is True and info["model_card"]["accuracy"] == trained.card["accuracy"]
    x = cache.read(val_rows[:4])[..., None]
    np.testing.assert_allclose(transfer_model.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_existing_output_folder_is_not_overwritten(trained, mini):
    with pytest.raises(OutputExistsError, match="--overwrite"):
        train(mini, trained.out_dir, epochs=1, verbose=0)


def test_bad_split_arguments(mini, tmp_path):
    bad = tmp_path / "split.csv"
    bad.write_text("track_id,subset\nblues.00000,train\njazz.00054,val\n")
    with pytest.raises(DatasetError, match=r"not in the dataset: jazz.00054"):
        train(mini, tmp_path / "out", epochs=1, split=bad, verbose=0)
    with pytest.raises(DatasetError, match="'track'.*'segment'"):
        train(mini, tmp_path / "out", epochs=1, split="by-artist", verbose=0)
    assert not (tmp_path / "out").exists()


def test_segment_split_is_labelled_leaky(mini):
    cache = build_cache(find_tracks(mini), None, progress=False)
    with pytest.warns(UserWarning, match="BOTH train and val"):
        parts = make_split(cache, "segment", seed=0)
    assert parts["leaky"] is True and parts["tracks_in_both"] > 0
    assert len(parts["rows"]["train"]) + len(parts["rows"]["val"]) == cache.n_segments
    track = make_split(cache, "track", seed=0)
    assert not set(track["tracks"]["train"]) & set(track["tracks"]["val"])
    assert not set(track["rows"]["train"]) & set(track["rows"]["val"])


def test_vote_over_segments():
    probs = np.array([[0.6, 0.4], [0.6, 0.4], [0.1, 0.9],   # track 0: 2 votes for class 0
                      [0.45, 0.55], [0.9, 0.1]])            # track 1: tie, mean favours class 0
    tracks, pred = vote_tracks(probs, np.array([0, 0, 0, 1, 1]))
    assert tracks.tolist() == [0, 1] and pred.tolist() == [0, 0]


def test_command_line_errors_are_one_clear_line(tmp_path, capsys):
    from amnst_lib.cli import main

    assert main(["train", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("amnst: error: ") and "Kaggle" in err and "Traceback" not in err
