"""GTZAN discovery, splits, the generated miniature, and the feature cache."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from amnst_lib.config import AnalysisConfig
from amnst_lib.dataset import (GENRES, find_tracks, make_miniature, read_split_file, split_segments_leaky,
                               split_tracks, synthesize_track, write_split_file)
from amnst_lib.errors import DatasetError, OutputExistsError
from amnst_lib.features import FEATURES_FILE, INDEX_FILE, build_cache, file_features

# Small features keep the cache tests fast; the cache does not care about the network.
SMALL = AnalysisConfig(n_mels=64)


@pytest.fixture(scope="module")
def kaggle(tmp_path_factory):
    return make_miniature(tmp_path_factory.mktemp("kaggle") / "gtzan", tracks_per_class=2, seconds=2.0, seed=1)


@pytest.fixture(scope="module")
def marsyas(tmp_path_factory):
    return make_miniature(tmp_path_factory.mktemp("marsyas") / "gtzan", tracks_per_class=2, seconds=2.0,
                          seed=1, layout="marsyas")


def _copy(src, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(src, dst)
    return dst


# ---- discovery ------------------------------------------------------------------------


def test_finds_tracks_in_kaggle_layout(kaggle):
    ds = find_tracks(kaggle)
    assert ds.layout == "kaggle"
    assert ds.root == kaggle / "Data" / "genres_original"
    assert ds.counts() == {g: 2 for g in GENRES}
    assert ds.tracks[0].track_id == "blues.00000" and ds.tracks[0].label == 0
    assert ds.tracks[-1].genre == "rock" and ds.tracks[-1].label == 9
    assert ds.metadata_csv is not None and ds.skipped == []


def test_finds_tracks_in_marsyas_layout(marsyas):
    ds = find_tracks(marsyas)
    assert ds.layout == "marsyas"
    assert ds.root == marsyas / "genres"
    assert all(t.path.suffix == ".au" for t in ds.tracks)
    assert ds.counts() == {g: 2 for g in GENRES}
    # The genre folders can also be given directly.
    assert len(find_tracks(marsyas / "genres").tracks) == 20


def test_corrupt_file_is_skipped_and_listed(kaggle, tmp_path):
    root = _copy(kaggle, tmp_path)
    bad = root / "Data" / "genres_original" / "jazz" / "jazz.00054.wav"
    bad.write_bytes(b"RIFF\x00\x00garbage, as GTZAN's jazz.00054" * 10)
    (root / "Data" / "genres_original" / "pop" / "pop.00099.wav").write_bytes(b"")
    with pytest.warns(UserWarning, match=r"skipped 2 unreadable file\(s\)[\s\S]*jazz\.00054\.wav"):
        ds = find_tracks(root)
    assert sorted(p.name for p, _ in ds.skipped) == ["jazz.00054.wav", "pop.00099.wav"]
    assert len(ds.tracks) == 20
    assert "jazz.00054" not in {t.track_id for t in ds.tracks}


def test_missing_and_empty_folders_say_where_to_get_gtzan(tmp_path):
    with pytest.raises(DatasetError, match="no such folder.*Kaggle"):
        find_tracks(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no GTZAN genre folders.*andradaolteanu"):
        find_tracks(tmp_path / "empty")
    (tmp_path / "junk" / "blues").mkdir(parents=True)
    (tmp_path / "junk" / "blues" / "notes.txt").write_text("no audio here")
    with pytest.raises(DatasetError, match="missing: classical, country"):
        find_tracks(tmp_path / "junk")


def test_missing_genre_and_genre_without_audio(kaggle, tmp_path):
    root = _copy(kaggle, tmp_path)
    genres_dir = root / "Data" / "genres_original"
    shutil.rmtree(genres_dir / "rock")
    with pytest.raises(DatasetError, match=r"genre folder\(s\) missing: rock"):
        find_tracks(root)
    (genres_dir / "rock").mkdir()
    with pytest.raises(DatasetError, match=r"rock: no audio files"):
        find_tracks(root)


# ---- miniature ------------------------------------------------------------------------


def test_miniature_is_deterministic_and_not_separable_by_loudness():
    a = synthesize_track("metal", seconds=3.0, seed=5)
    b = synthesize_track("metal", seconds=3.0, seed=5)
    assert np.array_equal(a, b) and a.dtype == np.float32 and len(a) == 3 * 22050
    assert not np.array_equal(a, synthesize_track("metal", seconds=3.0, seed=6))
    rms_db = [20 * np.log10(np.sqrt(np.mean(synthesize_track(g, seconds=3.0, seed=2) ** 2))) for g in GENRES]
    assert max(rms_db) - min(rms_db) < 5.0  # all near -20 dBFS: loudness gives nothing away
    assert all(np.max(np.abs(synthesize_track(g, seconds=3.0, seed=2))) < 1.0 for g in GENRES)


def test_miniature_files_match_gtzan_naming_and_format(kaggle):
    path = kaggle / "Data" / "genres_original" / "hiphop" / "hiphop.00001.wav"
    info = sf.info(str(path))
    assert (info.samplerate, info.channels, info.subtype) == (22050, 1, "PCM_16")
    with pytest.raises(OutputExistsError):
        make_miniature(kaggle, tracks_per_class=1)


# ---- splits ---------------------------------------------------------------------------


def test_track_split_never_shares_a_track(kaggle, tmp_path):
    root = make_miniature(tmp_path / "m", tracks_per_class=10, seconds=0.5, seed=3)
    tracks = find_tracks(root).tracks
    split = split_tracks(tracks, val_fraction=0.2, test_fraction=0.1, seed=7)
    sets = {s: set(v) for s, v in split.items()}
    assert not (sets["train"] & sets["val"]) and not (sets["train"] & sets["test"]) and not (sets["val"] & sets["test"])
    assert sets["train"] | sets["val"] | sets["test"] == {t.track_id for t in tracks}
    assert (len(sets["train"]), len(sets["val"]), len(sets["test"])) == (70, 20, 10)
    for g in GENRES:  # stratified: every genre in every subset
        assert sum(t.startswith(g + ".") for t in split["val"]) == 2
    assert split == split_tracks(tracks, val_fraction=0.2, test_fraction=0.1, seed=7)
    assert split != split_tracks(tracks, val_fraction=0.2, test_fraction=0.1, seed=8)


def test_split_file_long_and_wide_forms(kaggle, tmp_path):
    tracks = find_tracks(kaggle).tracks
    split = split_tracks(tracks, val_fraction=0.5, seed=0)
    path = write_split_file(split, tmp_path / "split.csv")
    assert read_split_file(path, tracks) == split
    wide = tmp_path / "wide.csv"
    wide.write_text("train,valid\nblues/blues.00000.wav,rock.00001.au\nclassical.00000,\n")
    assert read_split_file(wide, tracks) == {"train": ["blues.00000", "classical.00000"], "val": ["rock.00001"],
                                              "test": []}


def test_split_file_errors(kaggle, tmp_path):
    tracks = find_tracks(kaggle).tracks
    bad = tmp_path / "bad.csv"
    bad.write_text("track_id,subset\nblues.00000,train\nblues.00077,val\nsamba.00001,val\n")
    with pytest.raises(DatasetError, match=r"names 2 track\(s\) not in the dataset: blues.00077, samba.00001"):
        read_split_file(bad, tracks)
    bad.write_text("blues.00000,train\nblues.00000,val\n")
    with pytest.raises(DatasetError, match="listed twice"):
        read_split_file(bad, tracks)
    bad.write_text("blues.00000,holdout\n")
    with pytest.raises(DatasetError, match="unknown subset 'holdout'"):
        read_split_file(bad, tracks)
    with pytest.raises(DatasetError, match="no such split file"):
        read_split_file(tmp_path / "none.csv", tracks)


def test_leaky_segment_split_covers_all_segments_once():
    parts = split_segments_leaky(60, val_fraction=0.2, seed=0)
    assert len(parts["val"]) == 12 and len(parts["train"]) == 48
    assert sorted(np.concatenate([parts["train"], parts["val"]]).tolist()) == list(range(60))


# ---- feature cache --------------------------------------------------------------------


@pytest.fixture()
def small_ds(tmp_path):
    root = make_miniature(tmp_path / "mini", tracks_per_class=1, seconds=1.5, seed=4)
    return find_tracks(root)


def test_cache_round_trip_is_exact_and_reused(small_ds, tmp_path, monkeypatch):
    cache = build_cache(small_ds, tmp_path / "cache", SMALL, progress=False)
    assert cache.shape == (60, 64, 431) and cache.n_tracks == 10 and cache.segments_per_track == 6
    for i in (0, 4, 9):
        direct = file_features(small_ds.tracks[i].path, SMALL)
        assert direct.shape == (6, 64, 431)
        assert np.array_equal(cache.track_segments(i), direct)
        assert np.array_equal(cache.memmap()[cache.rows[i]:cache.rows[i] + 6], direct)
    rows = np.array([13, 2, 3, 40])
    assert np.array_equal(cache.read(rows), np.asarray(cache.memmap())[rows])
    assert list(cache.labels) == list(range(10))
    # A second build opens the cache without extracting anything.
    import amnst_lib.features as features

    monkeypatch.setattr(features, "file_features", lambda *a, **k: pytest.fail("cache was rebuilt"))
    again = build_cache(small_ds, tmp_path / "cache", SMALL, progress=False, verify="full")
    assert again.folder == cache.folder and again.key == cache.key


def test_cache_invalidated_when_settings_or_files_change(small_ds, tmp_path):
    a = build_cache(small_ds, tmp_path / "cache", SMALL, progress=False)
    b = build_cache(small_ds, tmp_path / "cache", SMALL.replace(n_mels=72), progress=False)
    assert a.key != b.key and b.shape == (60, 72, 431)
    c = build_cache(small_ds, tmp_path / "cache", SMALL.replace(hop_length=512), progress=False)
    assert c.key not in (a.key, b.key)
    # A changed file (different size) changes the key too.
    path = small_ds.tracks[3].path
    sf.write(str(path), synthesize_track("disco", seconds=2.0, seed=99), 22050, subtype="PCM_16")
    d = build_cache(find_tracks(small_ds.root), tmp_path / "cache", SMALL, progress=False)
    assert d.key != a.key
    assert np.array_equal(d.track_segments(3), file_features(path, SMALL))


@pytest.mark.parametrize("damage", ["truncate", "flip", "index", "header"])
def test_corrupt_cache_is_rebuilt_not_trusted(small_ds, tmp_path, damage):
    cache = build_cache(small_ds, tmp_path / "cache", SMALL, progress=False)
    expected = cache.track_segments(9).copy()
    feats, index = cache.folder / FEATURES_FILE, cache.folder / INDEX_FILE
    if damage == "truncate":
        with open(feats, "r+b") as f:
            f.truncate(feats.stat().st_size - 1000)
    elif damage == "flip":  # same size, different numbers in the last track (always checked)
        with open(feats, "r+b") as f:
            f.seek(cache.offset + int(cache.rows[9]) * 64 * 431 * 4 + 4 * 5000)
            f.write(np.float32(123.0).tobytes())
    elif damage == "index":
        index.write_text(index.read_text()[:100])
    else:
        with open(feats, "r+b") as f:
            f.write(b"not numpy")
    with pytest.warns(UserWarning, match="failed a check.*rebuilding"):
        rebuilt = build_cache(small_ds, tmp_path / "cache", SMALL, progress=False)
    assert np.array_equal(rebuilt.track_segments(9), expected)
    assert json.loads(index.read_text())["complete"] is True


def test_undecodable_track_is_skipped_while_building(small_ds, tmp_path):
    ds = small_ds
    bad = ds.tracks[5].path
    bad.write_bytes(bad.read_bytes()[:44] + b"\x00" * 10)  # a header with almost no samples
    ds = find_tracks(ds.root, probe=False)
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable[\s\S]*" + bad.name):
        cache = build_cache(ds, tmp_path / "cache", SMALL, progress=False)
    assert cache.n_tracks == 9 and ds.tracks[5].track_id not in cache.track_ids
    assert [p for p, _ in cache.skipped] == [str(bad)]


def test_split_file_may_list_tracks_skipped_as_unreadable(kaggle, tmp_path):
    """A published split lists GTZAN's undecodable jazz.00054: that is not an unknown track."""
    tracks = find_tracks(kaggle).tracks
    ids = sorted(t.track_id for t in tracks)
    f = tmp_path / "split.csv"
    f.write_text("track_id,subset\n" + "".join(f"{t},{'val' if i % 3 == 0 else 'train'}\n" for i, t in enumerate(ids))
                 + "jazz.00054,val\n")
    with pytest.raises(DatasetError, match="not in the dataset: jazz.00054"):
        read_split_file(f, tracks)
    split = read_split_file(f, tracks, unreadable=["jazz.00054.wav"])
    assert "jazz.00054" in split["val"]  # known; make_split then leaves it out with a warning
