"""Transfer-quality metrics on constructed cases whose answer is known."""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from amnst_lib import cli, metrics
from amnst_lib.config import AnalysisConfig
from amnst_lib.errors import AudioFileError, OutputExistsError, ParameterError
from amnst_lib.spectrum import mel_spectrogram

SR = 22050
ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "data" / "examples"
CONTENT = EXAMPLES / "mus01_baroque_bach_brandenburg2.wav"
STYLE = EXAMPLES / "amb04_stream.wav"


def tone(freq, seconds=2.0, amp=0.3):
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def noise(seconds=2.0, seed=0, amp=0.1):
    return (amp * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(np.float32)


def melody(seconds=2.0):
    """Notes C4 E4 G4 C5, 0.5 s each with a decaying envelope: pitch and onsets."""
    notes = [261.63, 329.63, 392.00, 523.25]
    n = int(0.5 * SR)
    env = np.exp(-np.arange(n) / (0.15 * SR))
    parts = [tone(f, 0.5)[:n] * env for f in notes]
    y = np.concatenate(parts * int(np.ceil(seconds / 2.0)))[: int(seconds * SR)]
    return y.astype(np.float32)


# ----------------------------------------------------------------------- content kept

def test_chroma_of_a_440_hz_tone_peaks_at_a():
    chroma = metrics.chroma_features(tone(440.0), SR)
    assert chroma.shape[0] == 12
    assert int(np.argmax(chroma.mean(axis=1))) == 9  # C=0 ... A=9


def test_chroma_similarity_identical_is_one_and_different_pitches_lower():
    y = melody()
    assert metrics.chroma_similarity(y, y, SR) == pytest.approx(1.0, abs=1e-6)
    other = tone(370.0)  # F#, in none of the melody's chords
    assert metrics.chroma_similarity(other, y, SR) < 0.8


def test_onset_correlation_identical_is_one_and_shifted_rhythm_lower():
    y = melody()
    assert metrics.onset_correlation(y, y, SR) == pytest.approx(1.0, abs=1e-6)
    shifted = np.roll(y, int(0.25 * SR))  # onsets half-way between the originals
    assert metrics.onset_correlation(shifted, y, SR) < 0.5


# ----------------------------------------------------------------------- style taken on

def test_gap_closed_is_one_at_style_zero_at_content_negative_beyond():
    c, s = np.array([0.0, 0.0]), np.array([1.0, 0.0])
    assert metrics.gap_closed(s, c, s) == 1.0
    assert metrics.gap_closed(c, c, s) == 0.0
    assert metrics.gap_closed(np.array([0.5, 0.0]), c, s) == pytest.approx(0.5)
    assert metrics.gap_closed(np.array([-1.0, 0.0]), c, s) == pytest.approx(-1.0)
    assert math.isnan(metrics.gap_closed(c, c, c))


def test_mfcc_stats_shape_and_gain_invariance():
    y = melody() + noise(seed=1, amp=0.01)
    stats = metrics.mfcc_stats(y, SR)
    assert stats.shape == (2 * (metrics.N_MFCC - 1),)
    np.testing.assert_allclose(metrics.mfcc_stats(0.25 * y, SR), stats, atol=1e-3)


def test_random_gram_is_normalised_deterministic_and_tells_textures_apart():
    y, n = melody(), noise()
    g = metrics.random_gram(y, SR)
    assert g.shape == (metrics.GRAM_N_FILTERS, metrics.GRAM_N_FILTERS)
    assert np.linalg.norm(g) == pytest.approx(1.0)
    np.testing.assert_allclose(g, g.T, atol=1e-12)
    np.testing.assert_array_equal(g, metrics.random_gram(y, SR))
    np.testing.assert_allclose(metrics.random_gram(0.1 * y, SR), g, atol=1e-5)  # level-free
    assert not np.allclose(metrics.random_gram(y, SR, seed=1), g)
    gn = metrics.random_gram(n, SR)
    assert metrics.gap_closed(gn, g, gn) == 1.0
    assert metrics.gap_closed(g, g, gn) == 0.0


# ----------------------------------------------------------------------- superposition

def test_plain_mix_is_a_superposition_and_unrelated_tone_is_not():
    c, s = melody(), noise(seed=2)
    mix = 0.7 * c + 0.5 * s
    assert metrics.superposition_share(mix, c, s, SR) > 0.9
    assert metrics.superposition_share(c, c, s, SR) == pytest.approx(1.0, abs=1e-6)
    unrelated = tone(1234.0)
    assert metrics.superposition_share(unrelated, noise(seed=3), noise(seed=4), SR) < 0.2


def test_superposition_parts_say_whether_the_music_or_the_ambience_explains_the_output():
    """Known answers: the content scaled is all music and (nearly) none of a noise style; a
    second stretch of the noise is none of a tone's and (pi/4)^2 = 0.617 of the style's,
    the Rayleigh cosine of two independent white noises squared; a plain mix is partly
    each, and the two together explain more than either alone."""
    c, s = melody(4.0), noise(4.0, seed=2)
    m = metrics.evaluate(0.5 * c, c, s, SR)
    assert m["superposition_music"] == pytest.approx(1.0, abs=1e-6)
    assert m["superposition_ambience"] < 0.1
    m = metrics.evaluate(noise(4.0, seed=5), c, s, SR)
    assert m["superposition_ambience"] == pytest.approx((np.pi / 4) ** 2, abs=0.03)
    assert m["superposition_music"] < 0.1
    m = metrics.evaluate(0.7 * c + 0.5 * s, c, s, SR)
    assert 0.2 < m["superposition_music"] < 0.9 and 0.2 < m["superposition_ambience"] < 0.9
    assert m["superposition"] > max(m["superposition_music"], m["superposition_ambience"]) + 0.05
    assert metrics.one_column_share(np.ones(5), -np.ones(5)) == 0.0  # a negative fit is no fit
    assert metrics.one_column_share(np.zeros(5), np.ones(5)) == 0.0  # silence


def test_nonnegative_lstsq_matches_scipy_nnls():
    from scipy.optimize import nnls

    rng = np.random.default_rng(0)
    for _ in range(20):
        a = np.abs(rng.standard_normal((50, 2)))
        o = a @ rng.standard_normal(2) + 0.1 * rng.standard_normal(50)
        expected, _ = nnls(a, o)
        np.testing.assert_allclose(metrics._nonnegative_lstsq_2(a.T @ a, a.T @ o), expected, atol=1e-8)


def test_align_lengths_cuts_to_shorter_and_tiles_short_style():
    o, c, s = metrics.align_lengths(np.ones(9000), np.ones(10000), np.arange(4000.0))
    assert len(o) == len(c) == len(s) == 9000
    np.testing.assert_array_equal(s[8000:], np.arange(1000.0))


# ----------------------------------------------------------------------- noise

def test_flatness_white_noise_high_tone_near_zero():
    assert metrics.spectral_flatness(noise(), SR) > 0.5
    assert metrics.spectral_flatness(tone(440.0), SR) < 0.01


def test_flatness_ratio_is_one_for_the_noisier_input():
    c, s = melody(), noise()
    assert metrics.flatness_ratio(s, c, s, SR) == pytest.approx(1.0)
    assert metrics.flatness_ratio(c, c, s, SR) < 0.1


def test_reconstruction_convergence_zero_for_own_mel_at_any_gain():
    cfg = AnalysisConfig(n_mels=128)
    y = melody()
    mel = mel_spectrogram(y, cfg)
    assert metrics.reconstruction_convergence(mel, y, cfg) < 1e-4
    assert metrics.reconstruction_convergence(mel, 0.3 * y, cfg) < 1e-4
    assert metrics.reconstruction_convergence(mel, noise(), cfg) > 0.5


# ----------------------------------------------------------------------- evaluate

def test_evaluate_best_values_for_output_equal_content_and_style():
    c, s = melody(), noise()
    m = metrics.evaluate(c, c, s, SR)
    assert tuple(m) == metrics.METRIC_KEYS
    assert m["chroma_similarity"] == pytest.approx(1.0, abs=1e-6)
    assert m["onset_correlation"] == pytest.approx(1.0, abs=1e-6)
    assert m["mfcc_gap_closed"] == 0.0 and m["random_gram_gap_closed"] == 0.0
    assert m["reconstruction_sc"] is None
    m = metrics.evaluate(s, c, s, SR, optimised_mel=mel_spectrogram(s))
    assert m["mfcc_gap_closed"] == 1.0 and m["random_gram_gap_closed"] == 1.0
    assert m["reconstruction_sc"] < 1e-4


def test_evaluate_rejects_bad_arrays():
    with pytest.raises(ParameterError, match="1-D"):
        metrics.evaluate(np.zeros((2, 5000)), melody(), noise())
    with pytest.raises(ParameterError, match="samples"):
        metrics.evaluate(np.zeros(10), melody(), noise())


def test_evaluate_files_on_bundled_clips_all_finite():
    m = metrics.evaluate_files(CONTENT, CONTENT, STYLE, max_seconds=5)
    assert set(m) == set(metrics.METRIC_KEYS)
    assert m["reconstruction_sc"] is None
    for key, value in m.items():
        if key != "reconstruction_sc":
            assert math.isfinite(value), key


def test_evaluate_files_missing_file_is_audio_file_error(tmp_path):
    with pytest.raises(AudioFileError, match="no such file"):
        metrics.evaluate_files(tmp_path / "nope.wav", CONTENT, STYLE)


def test_format_table_shows_figures_in_words_without_a_verdict():
    figures = {"chroma_similarity": 0.95, "chroma_floor": 0.6, "superposition": 0.9, "superposition_music": 0.7,
               "reconstruction_sc": None, "reconstruction_sc_linear": 0.06}
    table = metrics.format_table(figures)
    lines = table.splitlines()
    assert lines[1].split()[:4] == ["figure", "value", "better", "what"]
    chroma = next(line for line in lines if line.startswith("chroma similarity"))
    assert "0.950" in chroma and "higher" in chroma and "harmony kept" in chroma
    assert "lower" in next(line for line in lines if line.startswith("superposition"))
    assert "reference" in next(line for line in lines if line.startswith("chroma floor"))
    assert "reference" in next(line for line in lines if line.startswith("superposition: music alone"))
    assert "n/a" in next(line for line in lines if line.startswith("reconstruction SC "))
    assert "reconstruction SC (linear)" in table
    # Development targets are not a verdict on the user's audio; no raw keys.
    for word in ("FAIL", " ok", "target", "reconstruction_sc", "chroma_floor"):
        assert word not in table, word
    assert not re.search(r"[<>]= \d", table)
    assert [r[0] for r in metrics.quality_rows(figures)] == [
        "chroma similarity", "chroma floor", "superposition", "superposition: music alone", "reconstruction SC",
        "reconstruction SC (linear)"]


def test_metric_info_covers_every_key():
    for key, info in metrics.METRIC_INFO.items():
        assert info.better in ("higher", "lower"), key
        assert info.label and info.description
    assert metrics.METRIC_INFO["superposition"].target == 0.60


# ----------------------------------------------------------------------- command line

def _parse(argv):
    parser = argparse.ArgumentParser()
    cli.add_evaluate_arguments(parser)
    return parser.parse_args(argv)


@pytest.fixture(scope="module")
def short_clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    paths = {}
    for name, y in (("out", 0.5 * melody(3.0) + 0.5 * noise(3.0)), ("content", melody(3.0)),
                    ("style", noise(3.0))):
        paths[name] = folder / f"{name}.wav"
        sf.write(paths[name], y, SR)
    return paths


def test_run_evaluate_command_prints_table_and_writes_json(short_clips, tmp_path, capsys):
    out_json = tmp_path / "m.json"
    argv = [str(short_clips["out"]), "--content", str(short_clips["content"]),
            "--style", str(short_clips["style"]), "--json", str(out_json)]
    assert cli.run_evaluate_command(_parse(argv)) == 0
    printed = capsys.readouterr().out
    assert "chroma similarity" in printed and "superposition" in printed
    record = json.loads(out_json.read_text())
    assert set(record["metrics"]) == set(metrics.METRIC_KEYS)
    with pytest.raises(OutputExistsError, match="--overwrite"):
        cli.run_evaluate_command(_parse(argv))
    assert cli.run_evaluate_command(_parse(argv + ["--overwrite"])) == 0


def test_evaluate_json_that_cannot_be_written_is_refused_before_any_work(short_clips, tmp_path, monkeypatch):
    import tempfile

    from amnst_lib.errors import OutputWriteError

    def no_work(*a, **k):
        raise AssertionError("the figures were computed before the --json path was checked")

    monkeypatch.setattr(metrics, "evaluate_files", no_work)
    base = [str(short_clips["out"]), "--content", str(short_clips["content"]), "--style", str(short_clips["style"])]
    folder = tmp_path / "dir.json"
    folder.mkdir()
    for extra in ([], ["--overwrite"]):  # --overwrite never replaces a folder
        with pytest.raises(OutputExistsError, match="is a folder; give a file name for --json"):
            cli.run_evaluate_command(_parse(base + ["--json", str(folder), *extra]))
    with pytest.raises(OutputWriteError, match="does not exist"):
        cli.run_evaluate_command(_parse(base + ["--json", str(tmp_path / "nowhere" / "m.json")]))

    def read_only(*a, **k):  # what a read-only folder gives, also when the tests run as root
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", read_only)
    with pytest.raises(OutputWriteError, match=r"cannot write in .* \(Permission denied\)"):
        cli.run_evaluate_command(_parse(base + ["--json", str(tmp_path / "m.json")]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.json"]


def _module(*argv):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "amnst_lib.metrics", *map(str, argv)],
                          capture_output=True, text=True, env=env, timeout=120)


def test_module_command_line_and_its_errors(short_clips, tmp_path):
    out_json = tmp_path / "m.json"
    done = _module(short_clips["out"], "--content", short_clips["content"],
                   "--style", short_clips["style"], "--json", out_json)
    assert done.returncode == 0, done.stderr
    assert "random-Gram gap closed" in done.stdout
    assert json.loads(out_json.read_text())["metrics"]["superposition"] > 0.5

    missing = _module(tmp_path / "missing.wav", "--content", short_clips["content"],
                      "--style", short_clips["style"])
    assert missing.returncode != 0
    assert "no such file" in missing.stderr and "Traceback" not in missing.stderr

    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF this is not audio" * 10)
    bad = _module(short_clips["out"], "--content", corrupt, "--style", short_clips["style"])
    assert bad.returncode != 0
    assert "cannot be decoded" in bad.stderr and "Traceback" not in bad.stderr
