"""The texture network's further layers (several filter widths, envelope statistics).

Each on constructed inputs with known answers: independent or identical band envelopes,
a sinusoidally modulated envelope, Gaussian and exponential noise.
"""

import numpy as np
import pytest

from amnst_lib import transfer
from amnst_lib.config import PRESETS, AnalysisConfig, RunConfig
from amnst_lib.texture import (ENVELOPE_POWER, MODULATION_HZ, TEXTURE_LAYERS, build_texture_network,
                               modulation_filters)

A = AnalysisConfig()
FRAME_RATE = A.sr / A.hop_length  # 86.13 envelope samples per second


@pytest.fixture(scope="module")
def tnet():
    return build_texture_network(A, seed=0, n_filters=16)


def layer(tnet, name, mel):
    """The layer's output for one (n_mels, frames) mel: (h, w, c)."""
    return np.asarray(transfer._extractor(tnet, [name])(mel[None, :, :, None].astype(np.float32)))[0]


def test_old_layers_keep_their_indices_and_the_wide_filters_their_values(tnet):
    assert TEXTURE_LAYERS[:8] == ("mel", "logmel", "bands", "wide", "detail", "harmony", "dbbands", "linbands")
    # The wide layer is drawn first from default_rng(seed), as before the new layers.
    expected = np.random.default_rng(0).standard_normal((1, 11, 128, 16)) / np.sqrt(11 * 128)
    np.testing.assert_allclose(tnet.get_layer("wide").get_weights()[0], expected, rtol=1e-6)
    other = build_texture_network(A, seed=1, n_filters=16)
    for name in ("short", "long", "local"):  # seeded too, and not copies of one another
        assert not np.allclose(tnet.get_layer(name).get_weights()[0], other.get_layer(name).get_weights()[0])


def test_filter_width_layers_see_the_span_they_claim(tnet):
    """An impulse in time reaches 3 frames of "short" and 44 frames (11 pooled) of "long"."""
    base = np.full((A.n_mels, A.segment_frames), 0.5, np.float32)
    click = base.copy()
    click[:, 200] = 50.0
    for name, span in (("short", 3), ("long", 11)):
        changed = np.any(np.abs(layer(tnet, name, click) - layer(tnet, name, base)) > 1e-6, axis=(0, 2))
        assert changed.sum() == span, (name, np.flatnonzero(changed))
    # "local" is the same filter at every frequency: a pattern moved up 9 bands (3 pooled)
    # moves its response up 3 rows, unchanged.
    patch = base.copy()
    patch[60:90, 100:110] = 5.0
    moved = base.copy()
    moved[69:99, 100:110] = 5.0
    a, b = layer(tnet, "local", patch), layer(tnet, "local", moved)
    assert a.shape == (128, 431, 64)
    np.testing.assert_allclose(a[10:60], b[13:63], rtol=1e-4, atol=1e-5)


def gram(features):
    f = features.reshape(-1, features.shape[-1])
    return f.T @ f / f.shape[0]


def test_envcorr_gram_is_the_envelopes_correlation_matrix(tnet):
    rng = np.random.default_rng(0)
    independent = rng.exponential(1.0, (A.n_mels, A.segment_frames))
    g = gram(layer(tnet, "envcorr", independent))
    np.testing.assert_allclose(np.diag(g), 1.0, atol=1e-3)
    off = g[~np.eye(len(g), dtype=bool)]
    assert abs(off.mean()) < 0.02 and np.abs(off).max() < 0.3  # ~N(0, 1/431) for independent bands
    # One envelope in every band, at different levels: correlation 1 everywhere.
    shared = rng.exponential(1.0, A.segment_frames)[None, :] * np.linspace(0.1, 2.0, A.n_mels)[:, None]
    np.testing.assert_allclose(gram(layer(tnet, "envcorr", shared)), 1.0, atol=1e-3)


def test_modulation_filters_pass_their_band_only():
    h = modulation_filters(FRAME_RATE)
    assert h.shape[1] == len(MODULATION_HZ) and h.shape[0] % 2 == 1
    t = np.arange(h.shape[0]) - h.shape[0] // 2
    response = lambda f: np.abs(np.exp(-2j * np.pi * f * t / FRAME_RATE) @ h)  # noqa: E731
    np.testing.assert_allclose(response(0.0), 0.0, atol=1e-6)  # no response to a constant
    np.testing.assert_allclose(np.diag(np.array([response(f) for f in MODULATION_HZ])), 1.0, rtol=1e-5)
    for j, f in enumerate(MODULATION_HZ):  # two octaves away: under a third
        assert response(f * 4)[j] < 0.33 and response(f / 4)[j] < 0.33


def test_modulation_layer_measures_a_sinusoidal_envelope(tnet):
    """Envelope 1 + 0.5 sin(2 pi 6 t) in every band: the 6-Hz channels' spread is 0.5 / sqrt(2)."""
    t = np.arange(A.segment_frames) / FRAME_RATE
    envelope = 1.0 + 0.5 * np.sin(2 * np.pi * 6.0 * t)
    mel = np.tile(envelope ** (1 / ENVELOPE_POWER), (A.n_mels, 1))  # compressed back to `envelope`
    out = layer(tnet, "modulation", mel)[0]  # (frames, 32 bands x 3)
    assert out.shape == (A.segment_frames, 32 * len(MODULATION_HZ))
    inner = out[120:-120].reshape(-1, 32, len(MODULATION_HZ))  # away from the segment's edges
    spread = inner.std(axis=0)  # (bands, modulation bands)
    np.testing.assert_allclose(spread[:, 1], 0.5 / np.sqrt(2), rtol=0.03)
    assert np.all(spread[:, 0] < 0.3 * spread[:, 1]) and np.all(spread[:, 2] < 0.3 * spread[:, 1])
    steady = layer(tnet, "modulation", np.ones_like(mel))
    assert np.abs(steady).max() < 1e-5  # no modulation, no power
    # Depth, not level: the same envelope 10 dB quieter has the same modulation.
    np.testing.assert_allclose(layer(tnet, "modulation", mel * 10 ** -0.5)[0], out, rtol=1e-3, atol=1e-5)


def test_skewness_of_known_distributions():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = np.stack([rng.standard_normal(200000), rng.exponential(1.0, 200000)], axis=-1)[None, None].astype(np.float32)
    mean, sd = transfer._mean_std(tf.constant(x))
    skew = transfer._skewness(tf.constant(x), mean, sd).numpy()[0]
    assert abs(skew[0]) < 0.03 and skew[1] == pytest.approx(2.0, abs=0.1)  # Gaussian 0, exponential 2


def test_envelopes_layer_is_the_compressed_band_magnitude(tnet):
    x = np.random.default_rng(5).random((A.n_mels, A.segment_frames)).astype(np.float32)
    lin = layer(tnet, "linbands", x)
    np.testing.assert_allclose(layer(tnet, "envelopes", x), (lin + 1e-8) ** ENVELOPE_POWER, rtol=1e-5)


def test_skewness_term_is_zero_on_the_style_itself_and_adds_otherwise(tnet):
    rng = np.random.default_rng(1)
    style = rng.exponential(1.0, (A.n_mels, A.segment_frames)).astype(np.float32) ** 3  # skewed bands
    content = rng.exponential(1.0, (A.n_mels, A.segment_frames)).astype(np.float32)
    cfg = PRESETS["default"].replace(iterations=1, projection_every=0, texture_filters=16,
                                     stats_layers=("linbands", "modulation"))

    def first_style_loss(c, **changes):
        return transfer.style_transfer(c, style, tnet, cfg.replace(**changes), A, progress=False).history[0]["style"]

    assert first_style_loss(style, skewness_layers=("envelopes",)) < 1e-6
    assert first_style_loss(content, skewness_layers=("envelopes",)) > first_style_loss(content) + 1e-3


def test_new_style_layers_run_and_the_loss_falls(mels, tnet):
    cfg = PRESETS["default"].replace(iterations=12, projection_every=0, texture_filters=16,
                                     style_layers=("bands", "wide", "short", "long", "local", "envcorr"),
                                     stats_layers=("bands", "modulation"), skewness_layers=("envelopes",))
    r = transfer.style_transfer(*mels, tnet, cfg, A, progress=False)
    assert r.style_layers == ("bands", "wide", "short", "long", "local", "envcorr")
    assert r.history[-1]["style"] < 0.7 * r.history[0]["style"] and np.all(np.isfinite(r.mel))


def test_skewness_layers_are_checked_and_old_records_rerun_without_them():
    from amnst_lib.errors import LayerError

    with pytest.raises(LayerError, match="envelopes"):
        transfer.resolve_config_layers(PRESETS["default"].replace(skewness_layers=("nope",)))
    old = RunConfig().to_dict()
    del old["transfer"]["skewness_layers"]  # a run.json from before the field
    assert RunConfig.from_dict(old).transfer.skewness_layers == ()
