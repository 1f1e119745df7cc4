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
    "mel" -> "pitch": the magnitude folded onto the 12 pitch classes of each octave from C3
        to B7, each octave's 12 values scaled to unit length in every frame (the notes in
        their octaves, blind to each octave's level)
    "dbbands" -> "flux": each frame's rise in log level, averaged over the bands (onsets)

Its weights are fixed by ``seed`` alone: nothing is trained or loaded.
"""

from __future__ import annotations

import keras
import numpy as np

from .config import AnalysisConfig
from .errors import LayerError, ParameterError

#: Feature layers in depth order.
TEXTURE_LAYERS = ("mel", "logmel", "bands", "wide", "detail", "harmony", "dbbands", "linbands", "pitch", "flux")

#: Top of the pitch range that chroma reads (CQT from C1 over 7 octaves: C8, 4186 Hz).
PITCH_TOP_HZ = 4186.0

#: Bottom of the ``pitch`` layer: C3. Each octave block runs from C to B.
PITCH_BOTTOM_HZ = 130.8128

#: Spread (standard deviation, in semitones) of a mel band's weight over pitch classes.
PITCH_SPREAD_SEMITONES = 0.5

#: Added to each octave's norm before dividing (magnitude-mel units; a normal-level clip's
#: mel magnitudes lie around 0.01-10): a nearly silent octave stays near zero instead of
#: being blown up to unit length.
PITCH_EPS = 0.01

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
    smooth = keras.ops.convert_to_tensor(envelope_matrix(n_mels, envelope_bands))
    # tensordot, not matmul: TensorFlow 2.16's oneDNN batch matmul, broadcasting the (n_mels,
    # n_mels) matrix over a batch of two or more, crashed the process (segfault; seen on an
    # AVX-512 AMD EPYC, with oneDNN on, its default).
    detail = keras.layers.Lambda(lambda t: t - keras.ops.tensordot(t, smooth, axes=1), name="detail")(x)
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
    # The notes in their octaves: a chromagram per octave, each octave unit length per frame.
    # A frame's loudness, each octave's level in it and any filter flat within an octave
    # change nothing here; moving a note to another pitch class or another octave does.
    # As a content layer it holds melody and harmony and leaves level, envelope and texture
    # to the style (benchmarks/README.md, "A pitch content layer").
    fold = keras.ops.convert_to_tensor(pitch_matrix(analysis))
    n_octaves = fold.shape[1] // 12

    def per_octave_unit(t):
        c = keras.ops.reshape(keras.ops.tensordot(t, fold, axes=1), (-1, 1, frames, n_octaves, 12))
        c = c / (keras.ops.sqrt(keras.ops.sum(c * c, axis=-1, keepdims=True)) + PITCH_EPS)
        return keras.ops.reshape(c, (-1, 1, frames, n_octaves * 12))

    pitch = keras.layers.Lambda(per_octave_unit, name="pitch")(banded)
    # The onsets: each frame's rise in log level, averaged over the bands (an onset-strength
    # envelope). The pitch layer is blind to level, so without this the style's statistics
    # were free to smear the rhythm (benchmarks/README.md, "A pitch content layer").
    flux = keras.layers.Lambda(positive_flux, name="flux")(dbbands)
    return keras.Model(inp, [out, detail, harmony, dbbands, linbands, pitch, flux], name=NAME)


def positive_flux(t):
    """Onset strength of log-level bands: (b, 1, T, c) -> (b, 1, T, 1).

    ``mean_c max(0, t[..., i, c] - t[..., i - 1, c])``, and 0 at the first frame. On
    ``dbbands`` (natural log) a tenfold rise in every band reads ln 10 = 2.30 at the frame
    where it happens; a fall reads 0; a fixed gain per band changes nothing.
    """
    rise = keras.ops.maximum(t[:, :, 1:, :] - t[:, :, :-1, :], 0.0)
    rise = keras.ops.mean(rise, axis=-1, keepdims=True)
    return keras.ops.concatenate([keras.ops.zeros_like(rise[:, :, :1, :]), rise], axis=2)


def pitch_matrix(analysis: AnalysisConfig = AnalysisConfig(), bottom_hz: float = PITCH_BOTTOM_HZ,
                 top_hz: float = PITCH_TOP_HZ, spread: float = PITCH_SPREAD_SEMITONES) -> np.ndarray:
    """Folding of mel bands onto pitch classes, one block of 12 columns per octave.

    Each mel band's centre frequency, as semitones above C0 (16.352 Hz), gives it a weight
    on each pitch class: a Gaussian of ``spread`` semitones of the circular distance. The
    band belongs to the octave (C to B) of its nearest semitone; bands outside
    ``[bottom_hz, top_hz]`` weigh nothing.

    Returns
    -------
    np.ndarray, shape (n_mels, 12 * n_octaves), float32
        ``mel_frame @ matrix`` is the frame's chromagram per octave; column ``12 * o + p``
        is pitch class ``p`` (0 = C, 9 = A) of octave ``o`` above ``bottom_hz``.
        ``n_octaves = round(log2(top_hz / bottom_hz))``: 5 for C3 to C8 (C3-B3, ..., C7-B7;
        the bands nearest C8 itself fall in no block).

    Notes
    -----
    Below about E4 the default analysis (n_fft 1024: 21.5-Hz bins) cannot resolve
    semitones, so a pure tone there spreads over its neighbours (a C4 sine leads at B3):
    the low blocks hold the content's own blur. The band nearest ``bottom_hz`` may lie a
    fraction of a semitone under it and then weighs nothing.

    The bands' frequencies are :func:`amnst_lib.spectrum.mel_band_frequencies`, which lie
    below the centres of librosa's mel filters by up to one band in the linear part of the
    scale: about a semitone at C3, half a semitone at C4, under 0.1 semitone above 1 kHz.
    With the filters' centres a C4 tone would lead its own class and block instead of B3
    (and A3 at A3, not G#3), but C4's figures on the tuning half moved by at most 0.001
    pair by pair and a 220-Hz drone under the stream kept chroma 0.19 (0.20), so the
    measured layer stays as it is (``benchmarks/README.md``, session 11). :func:`amnst_lib.transfer.style_below` reads the bands the same way, so
    its cutoff at C3 is exactly this layer's bottom.
    """
    import librosa

    from .spectrum import mel_band_frequencies

    f = mel_band_frequencies(analysis)
    c0 = librosa.note_to_hz("C0")
    semis = 12 * np.log2(np.maximum(f, 1.0) / c0)
    distance = (semis[:, None] - np.arange(12)[None, :] + 6) % 12 - 6
    weight = np.exp(-0.5 * (distance / spread) ** 2)
    octave = np.floor((semis - 12 * np.log2(bottom_hz / c0) + 0.5) / 12).astype(int)
    n_octaves = int(round(np.log2(top_hz / bottom_hz)))
    inside = (f >= bottom_hz) & (f <= top_hz)
    out = np.zeros((len(f), 12 * n_octaves))
    for o in range(n_octaves):
        out[:, 12 * o:12 * (o + 1)] = weight * (inside & (octave == o))[:, None]
    return out.astype(np.float32)


def _pitch_mask(analysis: AnalysisConfig) -> np.ndarray:
    """(n_mels,) weights: 1 up to C8 (4186 Hz), then a half-octave fade to 0."""
    from .spectrum import mel_band_frequencies

    f = mel_band_frequencies(analysis)
    octaves_above = np.log2(np.maximum(f, 1.0) / PITCH_TOP_HZ)
    return np.clip(1.0 - 2.0 * octaves_above, 0.0, 1.0).astype(np.float32)


def envelope_matrix(n: int, width: int) -> np.ndarray:
    """(n, n) matrix whose column j is a normalised triangle of ``width`` bands centred on j.

    ``x @ envelope_matrix(n, width)`` smooths ``x`` (..., n) across its last axis: the
    spectral envelope of a log-mel frame, or of a long-term spectrum.
    """
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
