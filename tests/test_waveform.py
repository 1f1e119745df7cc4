"""The waveform design (issue 10): differentiable mel, the optimised signal, run records, the dev split."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from amnst_lib import transfer
from amnst_lib.audio import load_audio
from amnst_lib.config import PRESETS, AnalysisConfig, RunConfig
from amnst_lib.errors import ParameterError
from amnst_lib.spectrum import mel_spectrogram
from amnst_lib.texture import build_texture_network
from amnst_lib.waveform import mel_basis, padded_signal, tf_mel

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "data" / "examples"
A = AnalysisConfig()


def _bench(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def tnet():
    return build_texture_network(A, seed=0, n_filters=64)


def test_tf_mel_of_a_bin_centred_sine_is_known():
    import tensorflow as tf

    # A sine at the centre of bin k: in frames that see only the sine, a periodic Hann
    # window gives |X[k]| = amp * n_fft / 4 and |X[k +- 1]| = amp * n_fft / 8, zero elsewhere.
    k, amp, n = 40, 0.5, 2 ** 14
    t = np.arange(n)
    y = (amp * np.cos(2 * np.pi * k * t / A.n_fft)).astype(np.float32)
    n_frames = 1 + n // A.hop_length
    mel = tf_mel(tf.constant(padded_signal(y, n_frames, A)), A).numpy()
    assert mel.shape == (A.n_mels, n_frames)
    mag = np.zeros(1 + A.n_fft // 2, np.float32)
    mag[k], mag[k - 1], mag[k + 1] = amp * A.n_fft / 4, amp * A.n_fft / 8, amp * A.n_fft / 8
    expected = mag @ mel_basis(A.sr, A.n_fft, A.n_mels)
    inner = mel[:, 4:-4]  # frames whose window lies inside the signal
    np.testing.assert_allclose(inner, np.repeat(expected[:, None], inner.shape[1], axis=1),
                               atol=1e-3 * expected.max())
    # and it is librosa's analysis, frame for frame (edges included: zero padding both)
    np.testing.assert_allclose(mel, mel_spectrogram(y, A), atol=1e-4 * expected.max())


def test_padded_signal_lays_frames_out_like_librosa():
    y = np.arange(1, 1001, dtype=np.float32)
    p = padded_signal(y, 10, A)
    assert len(p) == 9 * A.hop_length + A.n_fft
    assert np.all(p[:A.n_fft // 2] == 0) and p[A.n_fft // 2] == 1 and np.all(p[A.n_fft // 2 + 1000:] == 0)


def test_window_batches_are_contiguous_runs():
    assert transfer.window_batches([0, 10, 20, 30], 10, 2) == [(0, 2), (20, 2)]
    assert transfer.window_batches([0, 10, 15], 10, 8) == [(0, 2), (15, 1)]
    assert transfer.window_batches([5], 10, 8) == [(5, 1)]


@pytest.fixture(scope="module")
def clips():
    yc = load_audio(EX / "mus01_baroque_bach_brandenburg2.wav", A.sr, max_seconds=6.0)
    ys = load_audio(EX / "amb04_stream.wav", A.sr, max_seconds=6.0)
    return yc, ys, mel_spectrogram(yc, A), mel_spectrogram(ys, A)


def test_waveform_design_without_style_keeps_the_content_exactly(clips, tnet):
    yc, _, cm, sm = clips
    cfg = PRESETS["default"].replace(design="waveform", style_weight=0.0, iterations=3, texture_filters=64)
    res = transfer.style_transfer(cm, sm, tnet, cfg, A, progress=False, content_wave=yc)
    # At the content the content loss is zero and so is its gradient: Adam does not move.
    assert res.history[0]["content"] < 1e-6
    np.testing.assert_allclose(res.waveform, yc[:len(res.waveform)], atol=1e-6)


def test_waveform_design_moves_the_signal_and_writes_what_it_optimised(clips, tnet):
    yc, _, cm, sm = clips
    cfg = PRESETS["default"].replace(design="waveform", iterations=12, texture_filters=64, learning_rate=0.01)
    res = transfer.style_transfer(cm, sm, tnet, cfg, A, progress=False, content_wave=yc)
    totals = [h["total"] for h in res.history]
    assert totals[-1] < 0.5 * totals[0]
    assert res.waveform.shape == ((cm.shape[1] - 1) * A.hop_length + 1,)
    assert res.mel.shape == cm.shape and np.all(np.isfinite(res.waveform))
    assert np.sqrt(np.mean((res.waveform - yc[:len(res.waveform)]) ** 2)) > 1e-3  # it moved
    # The result's mel is the written signal's mel (librosa), not an approximation of it.
    np.testing.assert_allclose(res.mel, mel_spectrogram(res.waveform, A), atol=1e-4 * float(res.mel.max()))
    with pytest.raises(ParameterError, match="content_wave"):
        transfer.style_transfer(cm, sm, tnet, cfg, A, progress=False)


def test_run_records_keep_their_design():
    new = RunConfig(transfer=PRESETS["default"].replace(design="waveform"))
    assert RunConfig.from_dict(json.loads(json.dumps(new.to_dict()))) == new
    # A record written before `design` existed (every other field present) optimised the mel.
    old = RunConfig().to_dict()
    old["transfer"].pop("design")
    old["transfer"]["network"] = "texture"
    assert RunConfig.from_dict(old).transfer.design == "mel"
    with pytest.raises(ParameterError, match="design"):
        PRESETS["default"].replace(design="spectrum")


def test_dev_split_is_by_clip_and_benchmarks_select_one_half(tmp_path):
    bench = _bench("bench_quality")
    split = ROOT / "benchmarks" / "dev_split.json"
    data = json.loads(split.read_text())
    halves = [set(data[p]["music"]) | set(data[p]["ambience"]) for p in bench.PARTS]
    assert not halves[0] & halves[1] and all(len(h) == 8 for h in halves)
    for name in halves[0] | halves[1]:
        (tmp_path / f"{name}.wav").touch()
    (tmp_path / "notes.txt").touch()
    for part in bench.PARTS:
        _, clips = bench.load_split(split, part)
        pairs = bench.find_pairs(tmp_path, clips)
        assert len(pairs) == 16 and all(c.stem in clips and s.stem in clips for c, s in pairs)
        assert all("_mus" in c.stem and "_amb" in s.stem for c, s in pairs)
    (tmp_path / "dev_amb01_rain.wav").unlink()
    with pytest.raises(FileNotFoundError, match="dev_amb01_rain"):
        bench.find_pairs(tmp_path, bench.load_split(split, "tuning")[1])
    assert bench.worst([0.9, 0.7, 0.8], "chroma_similarity") == 0.7
    assert bench.worst([0.4, 0.6], "superposition") == 0.6


def test_global_adam_steps_keep_the_gradients_shape():
    import tensorflow as tf

    var = tf.Variable(np.zeros(4, np.float32))
    apply = transfer._make_update(PRESETS["default"].replace(optimizer="adam_global"), 0.1, var, False,
                                  keep=tf.ones(4))
    g = np.array([1.0, -2.0, 0.0, 4.0], np.float32)
    lr, finite = apply(tf.constant(g))
    # First step, bias-corrected: -lr * g / rms(g): proportional to g, RMS = lr (Keras' Adam
    # would move every entry with a gradient by lr, whatever its size, and the zero one not).
    np.testing.assert_allclose(var.numpy(), -0.1 * g / np.sqrt(np.mean(g ** 2)), rtol=1e-5)
    assert bool(finite) and float(lr) == pytest.approx(0.1)


def test_gain_target_reshapes_the_contents_own_stft():
    import tensorflow as tf

    from amnst_lib.waveform import SignalTarget

    rng = np.random.default_rng(0)
    y = (0.3 * rng.standard_normal(8000)).astype(np.float32)
    n_frames = 1 + len(y) // A.hop_length
    target = SignalTarget(y, n_frames, A, "gain", residual_scale=0.1)
    var = tf.constant(target.initial)
    inner = slice(A.n_fft, len(y) - A.n_fft)  # away from the ends, where fewer frames overlap
    np.testing.assert_allclose(target.output(var)[inner], y[inner], atol=1e-4)  # gain 0: the content
    n = target.length
    halved = np.concatenate([np.zeros(n, np.float32),
                             np.full(len(target.initial) - n, np.log(0.5), np.float32)])
    np.testing.assert_allclose(target.output(tf.constant(halved))[inner], 0.5 * y[inner], atol=1e-4)
    added = np.concatenate([np.ones(n, np.float32), np.zeros(len(target.initial) - n, np.float32)])
    np.testing.assert_allclose(target.output(tf.constant(added))[inner], y[inner] + 0.1, atol=1e-4)
    assert np.all(np.asarray(target.signal(tf.constant(added)))[:A.n_fft // 2] == 0)  # padding stays silent


def test_gain_design_loss_falls_and_the_output_is_its_mel(clips, tnet):
    yc, _, cm, sm = clips
    cfg = PRESETS["default"].replace(design="gain", iterations=10, texture_filters=64)
    res = transfer.style_transfer(cm, sm, tnet, cfg, A, progress=False, content_wave=yc)
    totals = [h["total"] for h in res.history]
    assert totals[-1] < 0.5 * totals[0]
    np.testing.assert_allclose(res.mel, mel_spectrogram(res.waveform, A), atol=1e-4 * float(res.mel.max()))


def test_the_default_on_real_audio_lowers_its_loss_and_keeps_the_harmony():
    from amnst_lib.pipeline import run_transfer

    # Bundled Bach (the hardest content of the old pairs) x stream, 5 s, the default preset
    # as a user gets it. Bound: chroma similarity >= 0.80 (the worst-pair bound).
    run = run_transfer(EX / "mus01_baroque_bach_brandenburg2.wav", EX / "amb04_stream.wav", None,
                       config=RunConfig(), max_seconds=5.0, progress=False)
    totals = [h["total"] for h in run.history]
    assert totals[-1] < 0.5 * totals[0]
    assert run.metrics["chroma_similarity"] >= 0.80
    assert run.record["config"]["transfer"]["design"] == PRESETS["default"].design
