"""Audio in and out, and the mel analysis, on real clips."""

import numpy as np
import pytest
import soundfile as sf

from amnst_lib.audio import load_audio, write_wav
from amnst_lib.config import AnalysisConfig
from amnst_lib.errors import AudioFileError, OutputExistsError, ParameterError
from amnst_lib.spectrum import mel_spectrogram

from .conftest import CONTENT, cut


def test_any_rate_and_channels_become_mono_22050(tmp_path):
    stereo_44k = cut(CONTENT, tmp_path / "s.wav", 2.0, sr_out=44100, channels=2)
    mono = load_audio(CONTENT, max_seconds=2.0)
    y = load_audio(stereo_44k)
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) - len(mono)) <= 2
    # Resampling 22.05k -> 44.1k -> 22.05k keeps the signal.
    n = min(len(y), len(mono))
    assert np.corrcoef(y[:n], mono[:n])[0, 1] > 0.99


@pytest.mark.parametrize("fmt,ext", [("FLAC", "flac"), ("OGG", "ogg"), ("MP3", "mp3")])
def test_compressed_formats(tmp_path, fmt, ext):
    y, sr = sf.read(str(CONTENT), dtype="float32", frames=22050 * 2)
    path = tmp_path / f"clip.{ext}"
    sf.write(str(path), y, sr, format=fmt)
    out = load_audio(path)
    assert abs(len(out) - len(y)) < 2000  # MP3 adds encoder padding
    assert np.max(np.abs(out)) > 0.1


def test_missing_empty_corrupt_silent_short(tmp_path):
    with pytest.raises(AudioFileError, match="no such file"):
        load_audio(tmp_path / "nope.wav")
    with pytest.raises(AudioFileError, match="is a folder"):
        load_audio(tmp_path)
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioFileError, match="empty"):
        load_audio(tmp_path / "empty.wav")
    (tmp_path / "notes.wav").write_text("this is not audio " * 100)
    with pytest.raises(AudioFileError, match="cannot be decoded") as e:
        load_audio(tmp_path / "notes.wav")
    assert str(e.value).count("notes.wav") == 1, str(e.value)  # the file named once, not again in the reason
    good = (tmp_path / "good.wav")
    cut(CONTENT, good, 1.0)
    (tmp_path / "truncated.wav").write_bytes(good.read_bytes()[:30])
    with pytest.raises(AudioFileError, match="truncated.wav"):
        load_audio(tmp_path / "truncated.wav")
    sf.write(str(tmp_path / "silent.wav"), np.zeros(22050, np.float32), 22050)
    with pytest.raises(AudioFileError, match="silent"):
        load_audio(tmp_path / "silent.wav")
    sf.write(str(tmp_path / "blip.wav"), np.full(200, 0.5, np.float32), 22050)
    with pytest.raises(AudioFileError, match="at least 0.2 s"):  # the one minimum (MIN_SECONDS)
        load_audio(tmp_path / "blip.wav")


def test_an_unreadable_file_is_not_called_undecodable(tmp_path, monkeypatch):
    import builtins

    from amnst_lib import audio

    good = tmp_path / "locked.wav"
    cut(CONTENT, good, 1.0)

    def denied(file, *a, **k):  # what chmod 0 gives, also when the tests run as root
        if str(file) == str(good):
            raise PermissionError(13, "Permission denied", str(file))
        return builtins.open(file, *a, **k)

    monkeypatch.setattr(audio, "open", denied, raising=False)
    with pytest.raises(AudioFileError, match=r"locked.wav: cannot be read \(Permission denied\); check its permissions"):
        load_audio(good)


def test_write_wav_is_16_bit_and_never_overwrites_silently(tmp_path):
    y = np.sin(np.linspace(0, 1000, 22050)).astype(np.float32) * 0.5
    path = write_wav(tmp_path / "out.wav", y, 22050)
    info = sf.info(str(path))
    assert info.subtype == "PCM_16" and info.samplerate == 22050
    before = path.read_bytes()
    with pytest.raises(OutputExistsError, match="already exists"):
        write_wav(path, -y, 22050)
    assert path.read_bytes() == before
    write_wav(path, -y, 22050, overwrite=True)
    assert path.read_bytes() != before
    assert [p.name for p in tmp_path.iterdir()] == ["out.wav"]  # no temporary left behind


def test_magnitude_mel_matches_the_training_features():
    y = load_audio(CONTENT, max_seconds=3.0)
    cfg = AnalysisConfig()
    mel = mel_spectrogram(y, cfg)
    assert mel.shape == (384, 1 + len(y) // 256) and mel.dtype == np.float32 and mel.min() >= 0
    power = mel_spectrogram(y, cfg.replace(power=2.0))
    # Magnitude, not power: the power mel is much more peaked (the original's mismatch).
    assert not np.allclose(power, mel ** 2, rtol=0.1)
    assert power.max() / power.mean() > mel.max() / mel.mean()


def test_analysis_defaults_are_the_originals_and_validate():
    cfg = AnalysisConfig()
    assert (cfg.sr, cfg.n_fft, cfg.hop_length, cfg.n_mels, cfg.segment_frames, cfg.power) == (22050, 1024, 256, 384, 431, 1.0)
    assert abs(cfg.segment_seconds - 5.0) < 0.01
    assert AnalysisConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ParameterError, match="n_fft"):
        AnalysisConfig(n_fft=1000)


def test_a_long_file_is_read_block_by_block_with_the_whole_files_result(tmp_path, monkeypatch):
    # Decoded, mixed and resampled a block at a time (a 30-minute stereo file is never
    # held whole at 44.1 kHz): sample for sample what the whole-array calls give.
    import librosa

    from amnst_lib import audio
    from amnst_lib.audio import mix_to_mono

    rng = np.random.default_rng(5)
    stereo = (0.1 * rng.standard_normal((2, 44100 * 2 + 123))).astype(np.float32)
    antiphase = np.stack([stereo[0], -0.99 * stereo[0]])
    monkeypatch.setattr(audio, "BLOCK_FRAMES", 2 ** 12)
    for name, data in (("stereo", stereo), ("antiphase", antiphase), ("mono", stereo[:1])):
        path = tmp_path / f"{name}.wav"
        sf.write(path, data.T, 44100, subtype="FLOAT")
        for seconds in (None, 1.3):
            whole = mix_to_mono(data if seconds is None else data[:, : int(round(seconds * 44100))])
            expect = librosa.resample(whole, orig_sr=44100, target_sr=22050)
            got = load_audio(path, 22050, max_seconds=seconds)
            assert got.shape == expect.shape and np.array_equal(got, expect), (name, seconds)
