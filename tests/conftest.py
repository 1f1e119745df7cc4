"""Shared fixtures: short cuts of the bundled real clips, and one random network."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "data" / "examples"
CONTENT = EXAMPLES / "mus01_baroque_bach_brandenburg2.wav"
STYLE = EXAMPLES / "amb04_stream.wav"
STYLE2 = EXAMPLES / "amb07_fireplace.wav"


def cut(src: Path, dst: Path, seconds: float, offset: float = 0.0, sr_out: int | None = None,
        channels: int = 1) -> Path:
    y, sr = sf.read(str(src), dtype="float32")
    y = y[int(offset * sr): int((offset + seconds) * sr)]
    if sr_out and sr_out != sr:
        import librosa

        y = librosa.resample(y, orig_sr=sr, target_sr=sr_out)
        sr = sr_out
    if channels > 1:
        y = np.stack([y] * channels, axis=1)
    sf.write(str(dst), y, sr)
    return dst


@pytest.fixture(scope="session")
def clips(tmp_path_factory):
    """Short real clips: 6 s content, 6 s style, a 2 s style (shorter than one segment)."""
    d = tmp_path_factory.mktemp("clips")
    return {
        "content": cut(CONTENT, d / "content.wav", 6.0),
        "style": cut(STYLE, d / "style.wav", 6.0),
        "short_style": cut(STYLE2, d / "short_style.wav", 2.0),
    }


@pytest.fixture(scope="session")
def net():
    """The original architecture with seeded random weights (built once)."""
    from amnst_lib.model import build_genre_cnn

    return build_genre_cnn(seed=0)


@pytest.fixture(scope="session")
def mels():
    """Magnitude mels (default analysis) of 6 s of the content and of the style."""
    from amnst_lib.audio import load_audio
    from amnst_lib.config import AnalysisConfig
    from amnst_lib.spectrum import mel_spectrogram

    a = AnalysisConfig()
    return (mel_spectrogram(load_audio(CONTENT, max_seconds=6.0), a),
            mel_spectrogram(load_audio(STYLE, max_seconds=6.0), a))


def pytest_sessionfinish(session, exitstatus):
    """Close the widgets the form tests made while Python can still do it: left to the
    interpreter's shutdown, each one's ``__del__`` prints an ImportError traceback."""
    import sys

    widgets = sys.modules.get("ipywidgets")
    while widgets is not None:
        try:
            widgets.Widget.close_all()
            break
        except KeyError:
            # A widget made before ipykernel replaced comm's manager (test_form runs before
            # test_lab imports ipykernel.ipkernel) is unknown to the new one: its comm is
            # closed and it has left close_all's list all the same, so go on with the rest.
            continue
