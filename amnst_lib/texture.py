"""A second feature network for the transfer: one wide layer of random filters (texture).

The genre CNN's Gram statistics barely move timbre (matching them 240-fold better closed
only ~10% of the MFCC gap; see ``benchmarks/README.md``). Ulyanov & Lebedev (2016) showed
that ONE convolution over time with thousands of RANDOM, untrained filters spanning every
frequency band of a log spectrogram captures audio texture well. This module builds that
design on the transfer's own input (a magnitude mel spectrogram, shape
(n_mels, frames, 1)), as a Keras model with named feature layers, so that
:func:`amnst_lib.transfer.style_transfer` uses it exactly as it uses the genre CNN:

    "mel": input (n_mels, T, 1), the magnitude mel itself -> "logmel": log(1 + gain * mel), bands as channels (1, T, n_mels)
    -> "bands": adjacent bands averaged ``band_pool`` at a time (cost / band_pool)
    -> "wide": Conv1D over time, ``n_filters`` random filters of ``width`` frames, ReLU
    "logmel" -> "detail": minus its envelope across frequency (harmonic fine structure)
    -> "harmony": the detail within chroma's pitch range (to C8)
    "mel" -> "dbbands": log(mel + 1e-4) (an 80 dB range, as MFCCs' dB), bands averaged
    "mel" -> "linbands": the magnitude itself, bands averaged (where the energy lies)

Further random networks of other filter widths (Antognini, Hoffman & Weiss, 2019: several
widths beside one wide layer), usable as style layers:

    "bands" -> "short": ``n_filters`` random filters of 3 frames (35 ms: onsets, clicks)
    "bands" -> time averaged 4 frames at a time -> "long": ``n_filters`` random filters of
        11 pooled frames (44 frames, 0.51 s: slow modulation), a quarter of the positions
    "logmel" (as an image) -> bands averaged -> "local": 2-D random filters over 9 bands x
        5 frames, the same at every frequency (local spectro-temporal shapes)

And the sound-texture statistics of McDermott & Simoncelli (2011) on the bands' envelopes
(``linbands`` compressed by the power 0.3, as their cochlear envelopes are):

    "envcorr": the envelopes standardised over each segment, per band (zero mean, unit
        variance): its Gram matrix is the envelopes' cross-band correlation matrix
    "modulation": the envelopes of 32 coarser bands (adjacent bands averaged), divided by
        their mean over the segment, minus 1, band-passed around 1.5, 6 and 24 Hz
        (Hann-windowed cosines of 3 periods; channels band-major, 3 per band): the
        per-channel spread that ``stats_layers`` matches is each band's modulation depth
        in that range (the root of its modulation power relative to the mean squared)
    "envelopes": the compressed envelopes themselves ``linbands ** 0.3``

Envelope moments are matched by naming a layer in ``stats_layers`` (mean and spread) and
in ``TransferConfig.skewness_layers`` (skewness).

Its weights are fixed by ``seed`` alone: nothing is trained or loaded.
"""

from __future__ import annotations

import keras
import numpy as np

from .config import AnalysisConfig
from .errors import LayerError, ParameterError

#: Feature layers in depth order.
TEXTURE_LAYERS = ("mel", "logmel", "bands", "wide", "detail", "harmony", "dbbands", "linbands",
                  "short", "long", "local", "envcorr", "modulation", "envelopes")

#: Filter lengths (frames) of the "short" layer, and of the "long" layer after its time pooling.
SHORT_WIDTH = 3
LONG_POOL, LONG_WIDTH = 4, 11
#: The "local" layer: 2-D filters of (bands, frames) over the log-mel, after averaging bands.
LOCAL_FILTERS, LOCAL_SHAPE, LOCAL_POOL = 64, (9, 5), 3
#: Envelope compression of McDermott & Simoncelli (2011).
ENVELOPE_POWER = 0.3
#: The "modulation" layer: bands (adjacent mel bands averaged), and centre frequencies in Hz
#: of its band-pass filters over the envelopes (each a Hann-windowed cosine of 3 periods).
MODULATION_BANDS = 32
MODULATION_HZ = (1.5, 6.0, 24.0)

#: Top of the pitch range that chroma reads (CQT from C1 over 7 octaves: C8, 4186 Hz).
PITCH_TOP_HZ = 4186.0

#: Model name by which the transfer recognises this network.
NAME = "texture_net"


def build_texture_network(analysis: AnalysisConfig = AnalysisConfig(), seed: int = 0, *,
                          n_filters: int = 512, width: int = 11, band_pool: int = 3,
                          gain: float = 100.0, envelope_bands: int = 24) -> keras.Model:
    """The random-filter texture network.

    Parameters
    ----------
    analysis : AnalysisConfig
        Gives the input shape ``(n_mels, segment_frames, 1)``.
    seed : int
        Seed of the filters; the same seed gives the same network.
    n_filters : int
        Filters of the wide layer (its Gram matrix is ``n_filters`` squared).
    width : int
        Filter length in frames (11 frames = 128 ms at hop 256).
    band_pool : int
        Adjacent mel bands averaged into one channel before the wide layer; divides its
        cost. ``n_mels`` must be a multiple of it.
    envelope_bands : int
        Width (in mel bands) of the triangular smoothing across frequency that gives the
        spectral envelope; ``detail`` is the log-mel minus that envelope: the harmonic
        fine structure that carries pitch, without the envelope that carries timbre.
    gain : float
        Scale before ``log1p``: magnitude mels of a normal-level clip lie around 0.01-10,
        where ``log1p`` alone would be nearly linear and quiet detail would weigh nothing.

    Returns
    -------
    keras.Model
        Named ``"texture_net"``; its layers :data:`TEXTURE_LAYERS` each output
        (batch, 1, frames, channels).
    """
    n_mels, frames, _ = analysis.input_shape
    if n_mels % band_pool:
        raise ParameterError(f"the texture network averages mel bands {band_pool} at a time: n_mels "
                             f"({n_mels}) must be a multiple of {band_pool} (the default is 384)")
    n_bands = n_mels // band_pool
    inp = keras.Input(shape=(n_mels, frames, 1), name="mel")
    # (b, n_mels, T, 1) -> (b, 1, T, n_mels): frequency bands become channels, so one
    # filter spans the whole spectrum, as in Ulyanov & Lebedev.
    banded = keras.layers.Permute((3, 2, 1))(inp)

    def pool_bands(t, name):
        """(b, 1, T, n_mels) -> (b, 1, T, n_bands): adjacent bands averaged ``band_pool`` at a time."""
        t = keras.layers.Reshape((1, frames, n_bands, band_pool))(t)
        return keras.layers.Lambda(lambda u: keras.ops.mean(u, axis=-1), name=name)(t)

    x = keras.layers.Lambda(lambda t: keras.ops.log1p(gain * keras.ops.maximum(t, 0.0)), name="logmel")(banded)
    pooled = pool_bands(x, "bands")
    rng = np.random.default_rng(seed)
    kernel = (rng.standard_normal((1, width, n_bands, n_filters)) / np.sqrt(width * n_bands)).astype(np.float32)
    conv = keras.layers.Conv2D(n_filters, (1, width), padding="same", activation="relu", use_bias=False,
                               name="wide", trainable=False)
    out = conv(pooled)
    conv.set_weights([kernel])
    smooth = keras.ops.convert_to_tensor(_envelope_matrix(n_mels, envelope_bands))
    detail = keras.layers.Lambda(lambda t: t - keras.ops.matmul(t, smooth), name="detail")(x)
    # The detail within the pitch range: above C8 the harmony has no say, so a content
    # target on this layer leaves the top of the spectrum free for the style's texture.
    mask = keras.ops.convert_to_tensor(_pitch_mask(analysis))
    harmony = keras.layers.Lambda(lambda t: t * mask, name="harmony")(detail)
    # Bands on a true log scale (80 dB range), as MFCCs see them: quiet bands count too.
    db = keras.layers.Lambda(lambda t: keras.ops.log(keras.ops.maximum(t, 0.0) + 1e-4))(banded)
    dbbands = pool_bands(db, "dbbands")
    # Bands on a linear scale: where the energy is, as a near-linear log(1 + mel) sees it
    # (the random-Gram metric's view); matching their statistics moves the loud parts.
    linbands = pool_bands(banded, "linbands")
    extra = _extra_layers(inp, x, pooled, linbands, analysis, seed, n_filters, frames, n_mels)
    return keras.Model(inp, [out, detail, harmony, dbbands, linbands, *extra], name=NAME)


def _random_conv(name, n_filters, kernel_shape, fan_in_channels, seed_key, seed, padding="same"):
    """A fixed Conv2D of random N(0, 1 / fan-in) filters, ReLU; its kernel drawn from ``(seed, seed_key)``."""
    rng = np.random.default_rng([seed, seed_key])
    shape = (*kernel_shape, fan_in_channels, n_filters)
    kernel = (rng.standard_normal(shape) / np.sqrt(np.prod(shape[:3]))).astype(np.float32)
    conv = keras.layers.Conv2D(n_filters, kernel_shape, padding=padding, activation="relu", use_bias=False,
                               name=name, trainable=False)
    return conv, kernel


def _extra_layers(inp, logmel, pooled, linbands, analysis, seed, n_filters, frames, n_mels):
    """The layers appended after ``linbands``: short, long, local, envcorr, modulation, envelopes (in that order)."""
    n_bands = pooled.shape[-1]
    outs = []
    # Own random streams (seed, k): the wide layer's filters stay what they were.
    conv, kernel = _random_conv("short", n_filters, (1, SHORT_WIDTH), n_bands, 1, seed)
    outs.append(conv(pooled))
    conv.set_weights([kernel])
    slow = keras.layers.AveragePooling2D((1, LONG_POOL), name="long_pool")(pooled)
    conv, kernel = _random_conv("long", n_filters, (1, LONG_WIDTH), n_bands, 2, seed)
    outs.append(conv(slow))
    conv.set_weights([kernel])
    if n_mels % LOCAL_POOL:
        raise ParameterError(f"n_mels ({n_mels}) must be a multiple of {LOCAL_POOL}")
    image = keras.layers.Permute((3, 2, 1))(logmel)  # (b, n_mels, T, 1): frequency as height
    image = keras.layers.AveragePooling2D((LOCAL_POOL, 1), name="local_pool")(image)
    conv, kernel = _random_conv("local", LOCAL_FILTERS, LOCAL_SHAPE, 1, 3, seed)
    outs.append(conv(image))
    conv.set_weights([kernel])
    env = keras.layers.Lambda(lambda t: keras.ops.power(keras.ops.maximum(t, 0.0) + 1e-8, ENVELOPE_POWER),
                              name="envelopes")(linbands)
    outs.append(keras.layers.Lambda(_standardise_over_time, name="envcorr")(env))
    n_coarse = min(MODULATION_BANDS, n_bands)
    group = keras.ops.convert_to_tensor(_grouping_matrix(n_bands, n_coarse))
    # Relative to each band's mean over the segment (modulation depth, not level: a quieter
    # band cannot pass for a steadier one), and centred, so the zero padding at the
    # segment's edges is no step.
    coarse = keras.layers.Lambda(lambda u: _relative_to_mean(keras.ops.matmul(u, group)),
                                 name="coarse_envelopes")(env)
    kernel = modulation_filters(analysis.sr / analysis.hop_length)
    dw = keras.layers.DepthwiseConv2D((1, kernel.shape[0]), depth_multiplier=len(MODULATION_HZ), padding="same",
                                      use_bias=False, name="modulation", trainable=False)
    outs.append(dw(coarse))
    outs.append(env)
    dw.set_weights([np.broadcast_to(kernel[None, :, None, :],
                                    (1, kernel.shape[0], n_coarse, len(MODULATION_HZ))).astype(np.float32)])
    return outs


def _grouping_matrix(n: int, groups: int) -> np.ndarray:
    """(n, groups) matrix averaging ``n`` adjacent bands into ``groups`` contiguous groups."""
    owner = np.arange(n) * groups // n
    m = (owner[:, None] == np.arange(groups)[None, :]).astype(np.float32)
    return m / m.sum(axis=0, keepdims=True)


def _relative_to_mean(t):
    """(b, 1, T, c) -> t / mean_T(t) - 1 per example and channel."""
    return t / (keras.ops.mean(t, axis=2, keepdims=True) + 1e-8) - 1.0


def _standardise_over_time(t):
    """(b, 1, T, c) -> each example's channels with zero mean and unit variance over time."""
    mean = keras.ops.mean(t, axis=2, keepdims=True)
    centred = t - mean
    return centred / keras.ops.sqrt(keras.ops.mean(centred * centred, axis=2, keepdims=True) + 1e-8)


def modulation_filters(frame_rate: float, centres_hz=MODULATION_HZ) -> np.ndarray:
    """Band-pass filters over an envelope sampled at ``frame_rate`` Hz.

    Each is a Hann-windowed cosine of three periods of its centre frequency (a bandwidth
    of about two thirds of an octave either side), made zero-mean (no response to a constant) and
    scaled to unit gain at its centre.

    Returns
    -------
    np.ndarray, shape (length, len(centres_hz)), float32
        One filter per column, all zero-padded to the longest (odd) length, centred.
    """
    lengths = [int(round(3 * frame_rate / f)) | 1 for f in centres_hz]
    n = max(lengths)
    out = np.zeros((n, len(centres_hz)), dtype=np.float64)
    for j, (f, m) in enumerate(zip(centres_hz, lengths)):
        t = np.arange(m) - m // 2
        h = np.hanning(m + 2)[1:-1] * np.cos(2 * np.pi * f * t / frame_rate)
        h -= np.hanning(m + 2)[1:-1] * (h.sum() / np.hanning(m + 2)[1:-1].sum())
        gain = abs(np.sum(h * np.exp(-2j * np.pi * f * t / frame_rate)))
        start = (n - m) // 2
        out[start:start + m, j] = h / gain
    return out.astype(np.float32)


def _pitch_mask(analysis: AnalysisConfig) -> np.ndarray:
    """(n_mels,) weights: 1 up to C8 (4186 Hz), then a half-octave fade to 0."""
    import librosa

    f = librosa.mel_frequencies(n_mels=analysis.n_mels, fmax=analysis.sr / 2)
    octaves_above = np.log2(np.maximum(f, 1.0) / PITCH_TOP_HZ)
    return np.clip(1.0 - 2.0 * octaves_above, 0.0, 1.0).astype(np.float32)


def _envelope_matrix(n: int, width: int) -> np.ndarray:
    """(n, n) matrix whose column j is a normalised triangle of ``width`` bands centred on j."""
    half = max(1, width // 2)
    idx = np.arange(n)
    tri = np.maximum(0.0, 1.0 - np.abs(idx[:, None] - idx[None, :]) / half)
    return (tri / tri.sum(axis=0, keepdims=True)).astype(np.float32)


def is_texture_network(model) -> bool:
    """True for a network made by :func:`build_texture_network`."""
    return getattr(model, "name", "") == NAME


def resolve_texture_layers(specs) -> tuple[str, ...]:
    """Resolve layer names or indices into :data:`TEXTURE_LAYERS` (raises LayerError)."""
    if isinstance(specs, str):
        specs = [s for s in specs.replace(" ", ",").split(",") if s]
    names = []
    for spec in specs:
        name = None
        if isinstance(spec, (int, np.integer)) or (isinstance(spec, str) and spec.strip().isdigit()):
            i = int(spec)
            name = TEXTURE_LAYERS[i] if 0 <= i < len(TEXTURE_LAYERS) else None
        elif isinstance(spec, str) and spec.strip().lower() in TEXTURE_LAYERS:
            name = spec.strip().lower()
        if name is None:
            valid = ", ".join(f"{i}={n}" for i, n in enumerate(TEXTURE_LAYERS))
            raise LayerError(f"unknown texture-network layer {spec!r}; valid layers: {valid}")
        names.append(name)
    return tuple(dict.fromkeys(names))
