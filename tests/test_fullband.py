"""Output format: the content's rate and channels (fullband.py), mono 22050 Hz unchanged."""

import json
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf

from amnst_lib import fullband as fb
from amnst_lib.audio import load_audio, mix_to_mono, write_wav
from amnst_lib.cli import build_parser, main, run_config_from_args
from amnst_lib.config import OutputConfig, RunConfig
from amnst_lib.errors import ParameterError

from .conftest import CONTENT, STYLE

FAST = ["--iterations", "2", "--griffin-lim-iters", "4", "-q", "--no-metrics"]
SR = 44100


def _bach(seconds=3.0, sr=SR):
    y = load_audio(CONTENT, sr, max_seconds=seconds)  # the bundled clip: 22050 Hz, nothing above 11 kHz
    return y


def _stereo_content(seconds=3.0, sr=SR):
    """Bach at ``sr``, panned: the left channel a little louder and delayed 0.3 ms from the right."""
    y = _bach(seconds, sr)
    d = int(0.0003 * sr)
    return np.stack([0.8 * y, 0.5 * np.concatenate([np.zeros(d, np.float32), y[: len(y) - d]])])


def _noise(seconds=3.0, sr=SR, channels=2, seed=0):
    """Full-band noise (energy up to Nyquist), channels independent: a style with a high band."""
    rng = np.random.default_rng(seed)
    return (0.1 * rng.standard_normal((channels, int(seconds * sr)))).astype(np.float32)


def _lowpassed(y, sr=SR):
    """``y`` through 22050 Hz and back: nothing left above 11025 Hz."""
    return librosa.resample(librosa.resample(y, orig_sr=sr, target_sr=22050, axis=-1),
                            orig_sr=22050, target_sr=sr, axis=-1)


def _mono22(content, sr=SR):
    return librosa.resample(content.mean(axis=0), orig_sr=sr, target_sr=22050)


def test_rate_and_channels_follow_the_content_and_channels_differ():
    content = _stereo_content()
    y, info = fb.fullband_output(_mono22(content), 22050, content, _noise(), SR)
    assert y.shape == content.shape and y.dtype == np.float32
    assert info["image"] == "content" and info["high_band"]
    left, right = y
    assert np.sqrt(np.mean((left - right) ** 2)) > 0.05 * np.sqrt(np.mean(left ** 2))
    # The content's image: its left channel is louder, and so is the output's.
    assert np.mean(left ** 2) > 1.5 * np.mean(right ** 2)
    # Mono-compatible by construction: the mono sum is the mid, nothing cancels.
    mid = fb.mid(y)
    assert np.mean(mid ** 2) > 0.5 * max(np.mean(left ** 2), np.mean(right ** 2)) / 2


def test_identical_channels_give_identical_channels_and_mono_gives_mono():
    y = _bach()
    content = np.stack([y, y])
    out, _ = fb.fullband_output(_mono22(content), 22050, content, _noise(), SR)
    np.testing.assert_allclose(out[0], out[1], atol=1e-6)
    out, _ = fb.fullband_output(_mono22(content), 22050, content[:1], _noise(), SR)
    assert out.shape == (1, content.shape[1])


def test_band_above_11k_comes_from_the_style_or_stays_empty():
    content = _stereo_content()
    y22 = _mono22(content)
    with_high, info = fb.fullband_output(y22, 22050, content, _noise(), SR)
    assert info["high_band"] and info["style_high_db"] > -10
    without, info2 = fb.fullband_output(y22, 22050, content, _lowpassed(_noise()), SR)
    assert not info2["high_band"] and "no energy above 11 kHz" in info2["notes"][0]
    assert fb.band_energy(with_high, SR, fb.HIGH_BAND_HZ) > 1e-3
    assert fb.band_energy(without, SR, fb.HIGH_BAND_HZ) < 1e-6
    # Below 11025 Hz the mid is the transferred output itself, whatever the band above.
    for y, i in ((with_high, info), (without, info2)):
        np.testing.assert_allclose(fb.mid(y), i["mid"], atol=1e-5)
        back = librosa.resample(i["mid"], orig_sr=SR, target_sr=22050, res_type="fft")[: len(y22)]
        cut = slice(2048, -2048)  # the edges: zero-padded here, circular in librosa's FFT resampling
        np.testing.assert_allclose((back / np.abs(back).max())[cut], (y22 / np.abs(y22).max())[cut], atol=1e-4)


def test_mono_22050_content_is_passed_through_unchanged():
    y = _bach(sr=22050)
    out, info = fb.fullband_output(y, 22050, y[None, :], _noise(sr=22050, channels=1), 22050)
    assert info["image"] == "mono" and np.array_equal(out[0], y)


def test_opposite_phase_content_is_centred_and_said():
    y = _bach()
    content = np.stack([y, -y])
    assert fb.is_antiphase(content) and not fb.is_antiphase(np.stack([y, 0.5 * y]))
    out, info = fb.fullband_output(_mono22(content[:1]), 22050, content, _noise(), SR)
    assert info["image"] == "centre" and "opposite phase" in info["notes"][0]
    np.testing.assert_array_equal(out[0], out[1])


def test_mix_to_mono_keeps_the_louder_channel_when_channels_cancel(caplog):
    y = _bach(sr=22050)
    assert np.array_equal(mix_to_mono(np.stack([y, 0.5 * y])), np.stack([y, 0.5 * y]).mean(axis=0))
    with caplog.at_level("WARNING", logger="amnst"):
        out = mix_to_mono(np.stack([0.995 * y, -y]), "x.wav")
    assert np.array_equal(out, -y) and "opposite phase" in caplog.text and "channel 2 of 2" in caplog.text


def test_downmix_rates_and_limits():
    six = np.zeros((6, 100), np.float32)
    six[2] = 1.0  # centre only: equal in both channels
    two = fb.downmix_to_stereo(six)
    assert two.shape == (2, 100) and np.allclose(two[0], two[1]) and two.max() <= 1.0
    assert fb.downmix_to_stereo(np.ones((3, 10), np.float32)).shape == (2, 10)
    assert fb.output_rate(96000) == 48000 and fb.output_rate(8000) == 22050 and fb.output_rate(44100) == 44100


def test_settings_presets_and_old_records():
    assert RunConfig().output.format == "follow" and OutputConfig().format == "mono22050"
    assert RunConfig.from_dict({"transfer": {"network": "texture"}}).output.format == "mono22050"  # old run.json
    rc = RunConfig(output=OutputConfig(format="follow"))
    assert RunConfig.from_dict(rc.to_dict()) == rc
    with pytest.raises(ParameterError, match="output format"):
        OutputConfig(format="stereo")
    parse = lambda *a: run_config_from_args(build_parser().parse_args(["transfer", "c.wav", "s.wav", *a]))  # noqa: E731
    assert parse().output.format == "follow"
    assert parse("--preset", "original").output.format == "mono22050"
    assert parse("--network", "genre_cnn").output.format == "mono22050"
    assert parse("--preset", "original", "--output-format", "follow").output.format == "follow"


# -- end to end: files in, run folder out -------------------------------------------------

@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("fullband")
    content = _stereo_content()
    style = np.concatenate([_noise(channels=2)], axis=0)
    paths = {"content": d / "content.wav", "style": d / "style.wav"}
    sf.write(str(paths["content"]), content.T, SR)
    sf.write(str(paths["style"]), style.T, SR)
    y = _bach()
    for name, data, sr in [
            ("six", np.stack([y, 0.5 * y, 0.7 * y, 0 * y, 0.2 * y, 0.3 * y]), SR),
            ("hi", np.stack([librosa.resample(y, orig_sr=SR, target_sr=96000)] * 2) * [[1.0], [0.6]], 96000),
            ("low", librosa.resample(y, orig_sr=SR, target_sr=8000)[None, :], 8000),
            ("one_silent", np.stack([y, 0 * y]), SR),
            ("antiphase", np.stack([y, -y]), SR)]:
        paths[name] = d / f"{name}.wav"
        sf.write(str(paths[name]), np.asarray(data, np.float32).T, sr)
    return paths


def _run(*argv):
    return main(["transfer", *map(str, argv)])


def test_cli_stereo_44k_output_and_run_record(files, tmp_path, capsys):
    out = tmp_path / "run"
    assert _run(files["content"], files["style"], "-o", out, *FAST) == 0
    assert "output: 44100 Hz, 2 channel(s) (follow" in capsys.readouterr().out
    y, sr = sf.read(str(out / "output.wav"), dtype="float32", always_2d=True)
    assert sr == SR and y.shape[1] == 2 and np.abs(y[:, 0] - y[:, 1]).max() > 0.01
    rec = json.loads((out / "run.json").read_text())
    fmt = rec["output_format"]
    assert rec["config"]["output"] == {"format": "follow"}
    assert (fmt["sample_rate"], fmt["channels"], fmt["high_band"]) == (SR, 2, True)
    assert fmt["content"] == {"sample_rate": SR, "channels": 2} and rec["inputs"]["content"]["channels"] == 2
    assert fb.band_energy(y.T, SR, fb.HIGH_BAND_HZ) > 1e-4


def test_full_band_work_files_beside_the_run_and_a_full_disk_there_loses_nothing(files, tmp_path, caplog,
                                                                                 monkeypatch):
    # The full-band output is rendered into work files beside the run folder (not /tmp),
    # which are gone afterwards; if they cannot be written (a full disk) after the whole
    # computation, the transfer's mono output is written instead, and a line says why.
    import errno

    from amnst_lib import chunked

    seen, real_init = [], chunked.Store.__init__

    def record(self, path, row_shape=()):
        seen.append(Path(path))
        real_init(self, path, row_shape)

    monkeypatch.setattr(chunked.Store, "__init__", record)
    assert _run(files["content"], files["style"], "-o", tmp_path / "run", *FAST) == 0
    full_band = [p for p in seen if p.name.startswith(("fullband_", "content_native"))]
    assert {p.name for p in full_band} == {"content_native.f32", "fullband_mid.f32", "fullband_high.f32",
                                           "fullband_side.f32"}
    assert all(p.parent.parent == tmp_path and not p.exists() for p in full_band)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]

    def disk_full(self, rows):
        if self.path.name.startswith("fullband_"):
            raise OSError(errno.ENOSPC, "No space left on device", str(self.path))
        return real_append(self, rows)

    real_append = chunked.Store.append
    monkeypatch.setattr(chunked.Store, "append", disk_full)
    out = tmp_path / "run2"
    with caplog.at_level("WARNING", logger="amnst"):
        assert _run(files["content"], files["style"], "-o", out, *FAST) == 0
    assert "the full-band output could not be made" in caplog.text and "the disk is full" in caplog.text
    y, sr = sf.read(str(out / "output.wav"), dtype="float32", always_2d=True)
    assert sr == 22050 and y.shape[1] == 1
    fmt = json.loads((out / "run.json").read_text())["output_format"]
    assert fmt["sample_rate"] == 22050 and "could not be made" in fmt["notes"][-1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "run2"]


def test_mono22050_is_the_transfers_own_output(files, tmp_path):
    """At mono22050 the WAV is the transfer's mono 22050 Hz waveform, as before output
    formats existed (the same WAV bytes as the code before them, checked when this landed),
    and the format does not touch the transfer."""
    from amnst_lib.config import PRESETS
    from amnst_lib.pipeline import run_transfer

    t = PRESETS["default"].replace(iterations=2)
    kw = dict(compute_metrics=False, progress=False)
    mono = run_transfer(files["content"], files["style"], tmp_path / "m",
                        config=RunConfig(transfer=t, output=OutputConfig("mono22050")), **kw)
    follow = run_transfer(files["content"], files["style"], None,
                          config=RunConfig(transfer=t, output=OutputConfig("follow")), **kw)
    y, sr = sf.read(str(tmp_path / "m" / "output.wav"), dtype="int16")
    assert sr == 22050 and y.ndim == 1
    write_wav(tmp_path / "ref.wav", mono.output, 22050)  # the mono waveform written as before
    assert np.array_equal(y, sf.read(str(tmp_path / "ref.wav"), dtype="int16")[0])
    assert np.array_equal(mono.output, follow.output) and follow.written.shape[0] == 2


@pytest.mark.parametrize("case,expect_sr,expect_ch,note", [
    ("six", SR, 2, "6 channels mixed to stereo"),
    ("hi", 48000, 2, "96000 Hz resampled to 48000 Hz"),
    ("low", 22050, 1, "8000 Hz resampled to 22050 Hz"),
    ("one_silent", SR, 2, "channel is silent"),
    ("antiphase", SR, 2, "opposite phase"),
])
def test_awkward_inputs_work_with_one_line_notes(files, tmp_path, capsys, caplog, case, expect_sr, expect_ch, note):
    out = tmp_path / "run"
    with caplog.at_level("WARNING", logger="amnst"):
        assert _run(files[case], files["style"], "-o", out, *FAST) == 0
    err = capsys.readouterr().err
    y, sr = sf.read(str(out / "output.wav"), dtype="float32", always_2d=True)
    assert (sr, y.shape[1]) == (expect_sr, expect_ch)
    rec = json.loads((out / "run.json").read_text())
    if note:
        assert any(note in n for n in rec["output_format"]["notes"]), rec["output_format"]["notes"]
        notes = [r.getMessage() for r in caplog.records if note in r.getMessage()]
        assert notes and all("\n" not in n for n in notes) and "Traceback" not in err
    if case == "one_silent":  # the content's image: all in the left channel
        assert np.sqrt(np.mean(y[:, 1] ** 2)) < 0.01 * np.sqrt(np.mean(y[:, 0] ** 2))
    if case == "antiphase":
        assert np.array_equal(y[:, 0], y[:, 1])


def test_form_field_follows_the_preset():
    from amnst_lib.form import config_from_values, preset_values

    assert config_from_values({}).output.format == "follow"
    assert config_from_values({"preset": "original"}).output.format == "mono22050"
    assert config_from_values({"preset": "original", "output_format": "follow"}).output.format == "follow"
    assert preset_values("original")["output_format"] == "mono22050"
    with pytest.raises(ParameterError, match="output format"):
        config_from_values({"output_format": "surround"})


def test_form_control_shows_the_output_format_and_follows_the_preset():
    from amnst_lib.form import build_transfer_form

    form = build_transfer_form()
    control = form.controls["output_format"]
    assert control.value == "follow" and set(control.options) == {"follow", "mono22050"}
    form.controls["preset"].value = "original"  # as a user's choice does
    assert control.value == "mono22050" and form.to_run_config().output.format == "mono22050"
    control.value = "follow"
    assert form.to_run_config().output.format == "follow"


def test_a_mono_content_at_the_analysis_rate_keeps_no_copy_of_the_inputs(tmp_path):
    # "follow" on a mono 22050 Hz content writes the transfer's mono waveform as it is:
    # no native copy of the inputs is kept, and no whole output waveform is read to render
    # it (on a 30-minute track those were 0.15 and 0.45 GiB).
    from amnst_lib.config import AnalysisConfig

    a = AnalysisConfig()
    prepared = fb.prepare_output(CONTENT, STYLE, a, OutputConfig("follow"))
    assert fb.is_plain_mono(prepared, a) and fb.is_plain_mono(None, a)
    assert prepared[0].y is None and prepared[1].y is None  # only their headers were read
    rendered = fb.render_output(None, prepared, a, OutputConfig("follow"))
    assert rendered.output is None and rendered.sr == 22050
    assert rendered.record == {"format": "follow", "sample_rate": 22050, "channels": 1, "image": "mono",
                               "high_band": False, "style_high_db": None, "notes": [],
                               "content": {"sample_rate": 22050, "channels": 1},
                               "style": {"sample_rate": sf.info(str(STYLE)).samplerate,
                                         "channels": sf.info(str(STYLE)).channels}}


# --------------------------------------------------------------------------- long tracks, block by block

@pytest.mark.parametrize("sr", [44100, 48000])
def test_resampling_block_by_block_is_the_whole_signal_call(sr):
    rng = np.random.default_rng(3)
    for y in (_bach(6.0, 22050), rng.standard_normal(100_000).astype(np.float32)):
        whole = fb.fft_resample(y, 22050, sr)
        parts = list(fb.resample_blocks(lambda a, b: y[a:b], len(y), 22050, sr, block=2 ** 13, pad=2 ** 11))
        assert len(parts) > 5
        blocks = np.concatenate(parts)
        assert blocks.shape == whole.shape
        assert np.abs(blocks - whole).max() < 1e-5 * np.abs(whole).max()
    # Below the band's top EDGE_HZ the resampling is exact: a tone comes back as it was.
    t = np.arange(22050) / 22050
    tone = np.sin(2 * np.pi * 10_800 * t).astype(np.float32)
    back = librosa.resample(fb.fft_resample(tone, 22050, sr), orig_sr=sr, target_sr=22050, res_type="fft")
    assert np.abs(back - tone)[4000:-4000].max() < 1e-3


def test_rendering_in_small_blocks_gives_the_one_block_result():
    # The whole-signal FFT stages (resampling, high-pass) and the peak cut into many blocks
    # give what one block gives: the pipeline renders a long track this way from work files.
    # (The STFT stage's blocks were already blocks; its image ratio leans on each block's
    # average, so its block size stays the same here.)
    content = _stereo_content(4.0)
    y22, style = _mono22(content), _noise(4.0)
    out = {}
    for name, kw in (("one", dict(block=2 ** 15, fft_block=2 ** 20)),
                     ("many", dict(block=2 ** 15, fft_block=2 ** 13, fft_context=2 ** 12))):
        r = fb.render_fullband(fb.Samples(y22), 22050, fb.Samples(content), style, SR, None, **kw)
        try:
            out[name] = (r.array(), r.info, r.scale)
        finally:
            r.close()
    (one, info1, s1), (many, info2, s2) = out["one"], out["many"]
    assert info1 == info2 and info1["high_band"] and info1["image"] == "content"
    assert abs(s1 / s2 - 1) < 1e-5
    assert np.abs(one - many).max() < 1e-5


def test_native_audio_streamed_to_a_work_file_is_the_whole_read(tmp_path):
    # A 5.1 file at 96 kHz: mixed down and resampled block by block, into a file or memory,
    # as librosa resamples the whole array.
    from amnst_lib import audio

    rng = np.random.default_rng(4)
    data = (0.1 * rng.standard_normal((6, 96000 * 3 + 17))).astype(np.float32)
    path = tmp_path / "six.wav"
    sf.write(path, data.T, 96000, subtype="FLOAT")
    expect = librosa.resample(fb.downmix_to_stereo(data), orig_sr=96000, target_sr=48000, axis=-1)
    old_block = audio.BLOCK_FRAMES
    try:
        for block in (old_block, 2 ** 14):
            audio.BLOCK_FRAMES = block
            for store in (None, tmp_path / f"native{block}.f32"):
                got = fb.load_native(path, store_path=store)
                assert got.sr == 48000 and got.channels == 2 and "6 channels" in got.notes[0]
                assert (got.y.store is None) == (store is None)
                np.testing.assert_allclose(got.y.array(), expect, atol=1e-6)
                assert np.abs(got.y.mid(1000, 1100) - expect.mean(axis=0)[1000:1100]).max() < 1e-6
    finally:
        audio.BLOCK_FRAMES = old_block
