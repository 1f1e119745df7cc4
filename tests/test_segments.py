"""Whole-clip segmentation: nothing dropped, nothing added."""

import numpy as np

from amnst_lib.segments import n_segments, split_segments, stitch_segments, tile_frames, to_model_input


def test_split_stitch_round_trip_not_a_multiple_of_431():
    rng = np.random.default_rng(0)
    mel = rng.random((384, 431 * 3 + 17), dtype=np.float32)
    segs = split_segments(mel, 431)
    assert segs.shape == (4, 384, 431)
    assert np.all(segs[-1, :, 17:] == 0)  # the last one is padded, not dropped
    np.testing.assert_array_equal(stitch_segments(segs, mel.shape[1]), mel)
    assert to_model_input(segs).shape == (4, 384, 431, 1)


def test_shorter_than_one_segment_and_exact_multiple():
    mel = np.ones((8, 100), np.float32)
    assert split_segments(mel, 431).shape == (1, 8, 431)
    assert n_segments(862, 431) == 2 and n_segments(863, 431) == 3 and n_segments(1, 431) == 1
    mel = np.arange(8 * 862, dtype=np.float32).reshape(8, 862)
    np.testing.assert_array_equal(stitch_segments(split_segments(mel, 431)), mel)


def test_tile_repeats_a_short_clip():
    mel = np.arange(10, dtype=np.float32)[None, :].repeat(3, 0)
    tiled = tile_frames(mel, 25)
    assert tiled.shape == (3, 25)
    np.testing.assert_array_equal(tiled[0], np.r_[np.arange(10), np.arange(10), np.arange(5)])
    np.testing.assert_array_equal(tile_frames(mel, 4), mel[:, :4])
