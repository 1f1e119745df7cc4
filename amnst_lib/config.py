"""Settings for every stage, as small frozen dataclasses.

The defaults are the original AM-NST's values (see ``../shared/seed/FACTS.md``); where the
original was wrong (power mel, divergent optimisation) the default is the fix and the
original's value stays available as an option. Every run saves these settings in its
``run.json`` so that a result can be reproduced from its parameter set:
``TransferConfig.from_dict(json.load(f)["transfer"])`` rebuilds it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from .errors import ParameterError

#: The original's default feature layers, as indices into its Sequential model.
ORIGINAL_CONTENT_LAYERS = (0, 2)
ORIGINAL_STYLE_LAYERS = (4, 8, 12, 16)

INITS = ("content", "style", "zero", "random", "mix", "equalized")
WINDOW_EDGES = ("inside", "padded")
OPTIMIZERS = ("adam", "sgd")
PARAMETERIZATIONS = ("log", "linear")
PHASE_INITS = ("content", "random")
#: Output formats: the content's rate and channels, or the analysis' mono 22050 Hz.
OUTPUT_FORMATS = ("follow", "mono22050")
#: Feature networks: the original's genre CNN, or one wide layer of random filters
#: (:mod:`amnst_lib.texture`).
NETWORKS = ("genre_cnn", "texture")


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ParameterError(message)


class _Settings:
    """Mixin: conversion to and from plain dicts (for JSON run records)."""

    def to_dict(self) -> dict[str, Any]:
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        _check(not unknown, f"{cls.__name__}: unknown setting(s) {unknown}; known: {sorted(names)}")
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**kwargs)

    def replace(self, **changes):
        """Return a copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class AnalysisConfig(_Settings):
    """How audio becomes a mel spectrogram, and how that is cut into segments.

    Parameters
    ----------
    sr : int
        Sample rate in Hz that every input is resampled to (the GTZAN rate).
    n_fft : int
        STFT window length in samples.
    hop_length : int
        STFT hop in samples (256 samples = 11.6 ms at 22050 Hz).
    n_mels : int
        Number of mel bands (Slaney mel scale and normalisation, librosa's default).
    segment_frames : int
        Frames per segment, the classifier's input width (431 frames = 5.0 s).
    power : float
        Exponent of the STFT magnitude before the mel filterbank. 1.0 (magnitude) is what
        the classifier was trained on; the original's style transfer used 2.0 by mistake.
    """

    sr: int = 22050
    n_fft: int = 1024
    hop_length: int = 256
    n_mels: int = 384
    segment_frames: int = 431
    power: float = 1.0

    def __post_init__(self):
        _check(int(self.sr) == self.sr and 1000 <= self.sr <= 192000, f"sr must be an integer sample rate in Hz (1000-192000), got {self.sr!r}")
        _check(self.n_fft >= 16 and self.n_fft & (self.n_fft - 1) == 0, f"n_fft must be a power of two >= 16, got {self.n_fft!r}")
        _check(0 < self.hop_length <= self.n_fft, f"hop_length must be in 1..n_fft, got {self.hop_length!r}")
        _check(self.n_mels >= 8, f"n_mels must be >= 8, got {self.n_mels!r}")
        _check(self.segment_frames >= 32, f"segment_frames must be >= 32, got {self.segment_frames!r}")
        _check(self.power in (1.0, 2.0), f"power must be 1.0 (magnitude) or 2.0 (power), got {self.power!r}")

    @property
    def segment_seconds(self) -> float:
        """Duration of one segment in seconds."""
        return self.segment_frames * self.hop_length / self.sr

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """The classifier's input shape, (n_mels, segment_frames, 1)."""
        return (self.n_mels, self.segment_frames, 1)


@dataclass(frozen=True)
class TransferConfig(_Settings):
    """Neural style transfer settings. Field defaults are the original's form defaults;
    the tuned defaults, chosen on the development split with ``benchmarks/sweep_quality.py``,
    are ``PRESETS["default"]``.

    Parameters
    ----------
    content_layers, style_layers : tuple of str or int
        Feature layers by name (``"conv1"``) or by the original's index (``2``).
    content_weight, style_weight : float
        Weights of the content and style terms. With ``normalize_losses`` each term is
        relative (1.0 = as far off as a blank target), so the weights are scale-free.
    iterations : int
        Gradient steps.
    init : {"content", "style", "zero", "random", "mix", "equalized"}
        Starting point of the target mel spectrogram; ``"mix"`` is content plus style at
        equal loudness (the plain-mix baseline), from which the optimisation moves away;
        ``"equalized"`` is the content filtered to the style's long-term spectrum (one
        smooth gain per mel band, :func:`amnst_lib.transfer.equalized_content`): the
        spectral envelope starts at the style's, the harmony and timing at the content's.
        In the log parameterisation steps are relative, so ``"zero"`` (a floor far below
        the content) climbs slowly; use ``parameterization="linear"`` with it.
    optimizer : {"adam", "sgd"}
        ``"sgd"`` is the original's plain SGD with an exponential-decay schedule.
    learning_rate : float or None
        Initial step size; ``None`` picks the optimiser's default (0.02 for Adam in the
        log parameterisation, the original's 0.001 otherwise).
    decay_steps, decay_rate : int, float
        Exponential-decay schedule, ``lr * decay_rate ** (step / decay_steps)``.
        The original's defaults (10, 1.0) keep the rate constant.
    parameterization : {"log", "linear"}
        ``"log"`` optimises log(mel) so the target stays non-negative and steps are
        relative; ``"linear"`` optimises the mel itself, clipped at zero after each step.
    normalize_losses : bool
        Divide each layer's loss by the content's (or style's) own energy at that layer.
        ``False`` reproduces the original's raw sums, which diverged.
    max_segments : int or None
        Use at most this many segments of the content (the original's
        ``segments_to_include``, 5); ``None`` uses the whole clip.
    batch_segments : int
        Segments per forward/backward pass; bounds memory on long tracks.
    shift_grid : bool
        Alternate the segment grid by half a segment on odd steps so no frame always sits
        on a segment edge; removes seams between segments at no extra cost.
    window_edges : {"inside", "padded"}
        Where the last window of each grid lies. ``"inside"``: it ends at the content's
        last frame (overlapping the window before it), so every window holds only real
        frames when the content is at least a segment long. ``"padded"`` (every run before
        this option): it runs past the end into zero padding. A window that is partly
        silent padding still has its statistics matched to the style's, so its real
        frames got louder to make up for the silence. Through the shifted grid this
        spread back as a level step every half segment (about 4 dB on Bach x stream, 10 s)
        and a burst at the end of a clip that ends just past a half segment.
        ``transfer.window_starts`` gives the windows. Records without this field re-run
        as ``"padded"``.
    seed : int
        Seed of the random init and any random weights.
    history_buffer_size, rollback_steps, max_retries : int
        On a non-finite loss or target, go back ``rollback_steps`` good steps (of the last
        ``history_buffer_size`` kept), halve the step size if ``decay_on_excess``, and try
        again, at most ``max_retries`` times in a run.
    decay_on_excess : bool
        Halve the learning rate on each rollback.
    print_frequency : int
        Record the loss every this many steps in the progress bar (the history keeps all).
    network : {"genre_cnn", "texture"}
        Feature network: the original's genre CNN (layers by name or index 0-17), or the
        random-filter texture network of :mod:`amnst_lib.texture` (layers ``logmel``,
        ``bands``, ``wide``). Trained weights apply to the genre CNN only.
    texture_filters, texture_width : int
        Filters of the texture network's wide layer, and their length in frames.
    stats_layers : tuple of str
        Layers whose per-channel mean and spread over time are matched to the style's
        (weighted by ``style_weight``, beside the Gram matrices). On the texture network's
        ``bands`` these are the spectral-envelope statistics that MFCCs summarise.
    projection_every : int
        Every this many steps (never after the last), replace the target by the mel of a
        real signal near it: ``projection_iters`` Griffin-Lim iterations, re-analysed.
        A freely optimised mel has frame-to-frame detail no waveform has; projecting
        keeps it realisable, so the written WAV matches what was optimised. 0 = never.
    projection_iters : int
        Griffin-Lim iterations per projection.
    style_below_hz : float
        Below this frequency (Hz) the starting target is not the music but noise at the
        style's long-term level in each mel band, which the style losses then turn into
        the ambience's texture (:func:`amnst_lib.transfer.style_below`). Meant for the
        ``pitch`` content layer, which holds nothing below C3 (130.8 Hz): there the
        music's bass otherwise stays as it started, and with it much of the output's
        energy. The music's low notes keep their pitch through their harmonics above. 0 =
        the whole start is ``init``'s.
    """

    content_layers: tuple = ORIGINAL_CONTENT_LAYERS
    style_layers: tuple = ORIGINAL_STYLE_LAYERS
    content_weight: float = 50.0
    style_weight: float = 10.0
    iterations: int = 100
    init: str = "content"
    optimizer: str = "adam"
    learning_rate: float | None = None
    decay_steps: int = 10
    decay_rate: float = 1.0
    parameterization: str = "log"
    normalize_losses: bool = True
    max_segments: int | None = None
    batch_segments: int = 8
    shift_grid: bool = True
    window_edges: str = "inside"
    seed: int = 0
    history_buffer_size: int = 10
    rollback_steps: int = 2
    max_retries: int = 20
    decay_on_excess: bool = True
    print_frequency: int = 10
    network: str = "genre_cnn"
    texture_filters: int = 512
    texture_width: int = 11
    stats_layers: tuple = ()
    projection_every: int = 0
    projection_iters: int = 16
    style_below_hz: float = 0.0

    def __post_init__(self):
        _check(self.network in NETWORKS, f"network must be one of {NETWORKS}, got {self.network!r}")
        _check(isinstance(self.texture_filters, int) and 1 <= self.texture_filters <= 8192, f"texture_filters must be an integer in 1..8192, got {self.texture_filters!r}")
        _check(isinstance(self.texture_width, int) and 1 <= self.texture_width <= 101, f"texture_width must be an integer in 1..101, got {self.texture_width!r}")
        _check(isinstance(self.projection_every, int) and self.projection_every >= 0, f"projection_every must be an integer >= 0, got {self.projection_every!r}")
        _check(isinstance(self.projection_iters, int) and self.projection_iters >= 1, f"projection_iters must be an integer >= 1, got {self.projection_iters!r}")
        _check(len(self.content_layers) + len(self.style_layers) > 0, "choose at least one content or style layer")
        v = self.style_below_hz
        _check(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and 0 <= v <= 2000,
               f"style_below_hz must be a frequency in Hz from 0 (off) to 2000, got {v!r}")
        for name in ("content_weight", "style_weight"):
            v = getattr(self, name)
            _check(isinstance(v, (int, float)) and math.isfinite(v) and v >= 0, f"{name} must be a finite number >= 0, got {v!r}")
        _check(self.iterations == 0 or (self.content_weight > 0 and self.content_layers)
               or (self.style_weight > 0 and (self.style_layers or self.stats_layers)),
               "the loss has no term: the content side has weight 0 or no layers, and so has the style side, so "
               "the target would not move; give a positive weight to a side that has layers")
        _check(isinstance(self.iterations, int) and self.iterations >= 0, f"iterations must be an integer >= 0, got {self.iterations!r}")
        _check(self.init in INITS, f"init must be one of {INITS}, got {self.init!r}")
        _check(self.window_edges in WINDOW_EDGES, f"window_edges must be one of {WINDOW_EDGES}, got {self.window_edges!r}")
        _check(self.optimizer in OPTIMIZERS, f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        _check(self.parameterization in PARAMETERIZATIONS, f"parameterization must be one of {PARAMETERIZATIONS}, got {self.parameterization!r}")
        lr = self.learning_rate
        _check(lr is None or (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0), f"learning_rate must be a positive number, got {lr!r}")
        _check(isinstance(self.decay_steps, int) and self.decay_steps >= 1, f"decay_steps must be an integer >= 1, got {self.decay_steps!r}")
        _check(0 < self.decay_rate <= 10, f"decay_rate must be in (0, 10], got {self.decay_rate!r}")
        _check(self.max_segments is None or (isinstance(self.max_segments, int) and self.max_segments >= 1), f"max_segments must be None or an integer >= 1, got {self.max_segments!r}")
        _check(isinstance(self.batch_segments, int) and self.batch_segments >= 1, f"batch_segments must be an integer >= 1, got {self.batch_segments!r}")
        _check(self.history_buffer_size >= 1, f"history_buffer_size must be >= 1, got {self.history_buffer_size!r}")
        _check(1 <= self.rollback_steps <= self.history_buffer_size, f"rollback_steps must be in 1..history_buffer_size ({self.history_buffer_size}), got {self.rollback_steps!r}")
        _check(self.max_retries >= 0, f"max_retries must be >= 0, got {self.max_retries!r}")
        _check(isinstance(self.seed, int) and 0 <= self.seed < 2 ** 32, f"seed must be an integer in 0..2**32-1, got {self.seed!r}")
        _check(self.print_frequency >= 1, f"print_frequency must be >= 1, got {self.print_frequency!r}")

    @property
    def resolved_learning_rate(self) -> float:
        """The learning rate actually used when ``learning_rate`` is None."""
        if self.learning_rate is not None:
            return float(self.learning_rate)
        if self.optimizer == "adam" and self.parameterization == "log":
            return 0.02
        return 0.001


@dataclass(frozen=True)
class ReconstructionConfig(_Settings):
    """Mel spectrogram back to a waveform.

    Parameters
    ----------
    n_iter : int
        Griffin-Lim iterations.
    momentum : float
        Fast Griffin-Lim momentum (0 = plain Griffin-Lim; 0.99 = librosa's default).
    seed : int
        Seed of Griffin-Lim's random initial phase.
    peak_dbfs : float
        The written WAV is peak-normalised to this level (dB relative to full scale).
    init_phase : {"content", "random"}
        Where Griffin-Lim starts, for the written WAV and for the transfer's projections:
        from the content's STFT phase, which keeps the exact pitch of its harmonics
        (chroma kept 0.87 -> 0.92 at equal style, ``benchmarks/README.md``), or from a
        random phase, as the original (librosa's ``mel_to_audio``) did.
    full_length : bool
        Write every sample of the content: the written WAV is exactly as long as the
        content (or its ``max_seconds``). The last samples after the last frame's centre
        (fewer than ``hop_length``) are rebuilt from that frame, whose window reaches
        ``n_fft / 2`` past its centre. ``False``: stop at the last frame's centre, up to
        ``hop_length - 1`` samples (11.6 ms) short, so a 3-s clip played as 0:02 (every
        run before the option; records without the field re-run that way). A run cut
        short on purpose (``TransferConfig.max_segments``, ``segments_to_reconstruct``)
        stops at its last frame's centre either way.
    """

    n_iter: int = 128
    momentum: float = 0.99
    seed: int = 0
    peak_dbfs: float = -1.0
    init_phase: str = "content"
    full_length: bool = True

    def __post_init__(self):
        _check(isinstance(self.n_iter, int) and self.n_iter >= 1, f"n_iter must be an integer >= 1, got {self.n_iter!r}")
        _check(0 <= self.momentum < 1.0 + 1e-9, f"momentum must be in [0, 1], got {self.momentum!r}")
        _check(self.init_phase in PHASE_INITS, f"init_phase must be one of {PHASE_INITS}, got {self.init_phase!r}")
        _check(-60 <= self.peak_dbfs <= 0, f"peak_dbfs must be in [-60, 0], got {self.peak_dbfs!r}")
        _check(isinstance(self.full_length, bool), f"full_length must be True or False, got {self.full_length!r}")


@dataclass(frozen=True)
class OutputConfig(_Settings):
    """What the written audio is: its sample rate and channels.

    Parameters
    ----------
    format : {"follow", "mono22050"}
        ``"follow"``: the content's sample rate (22050 to 48000 Hz; higher rates are
        resampled to 48 kHz, lower ones written at 22050 Hz) and channels (mono or stereo;
        more are mixed to stereo), made from the transfer by
        :func:`amnst_lib.fullband.fullband_output`. ``"mono22050"``: the transfer's own
        mono 22050 Hz waveform, as the original wrote (the default of this class).
    """

    format: str = "mono22050"

    def __post_init__(self):
        _check(self.format in OUTPUT_FORMATS, f"output format must be one of {OUTPUT_FORMATS}, got {self.format!r}")


@dataclass(frozen=True)
class RunConfig(_Settings):
    """Everything one style-transfer run needs, saved whole in ``run.json``.

    A bare ``RunConfig()`` is what a user gets who specifies nothing (the CLI's plain
    ``amnst transfer``, notebook 03's defaults, ``run_transfer()`` without a config): its
    transfer is the tuned preset ``PRESETS["default"]`` (the random-filter texture network;
    see ``benchmarks/README.md``). The bare dataclass ``TransferConfig()`` keeps the
    original notebook's values (the project's rule for dataclass defaults), and so does
    ``PRESETS["original"]``: ``RunConfig(transfer=preset("original"))`` is the original.

    :meth:`from_dict` rebuilds a saved run exactly (``run.json`` stores every field). A
    record without ``transfer`` (or with an empty one) gets the default preset; a partial
    one starts from the preset of its ``network``: ``"texture"`` from ``PRESETS["default"]``,
    ``"genre_cnn"`` (or no ``network``: records from before the texture network) from the
    original's values. A reconstruction record from before ``init_phase`` keeps the random
    start it ran with. A record without ``output`` (from before output formats) re-runs as
    ``mono22050``, as it ran; a bare ``RunConfig()`` follows the content's format.
    """

    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    transfer: TransferConfig = field(default_factory=lambda: PRESETS["default"])
    reconstruction: ReconstructionConfig = field(default_factory=ReconstructionConfig)
    output: OutputConfig = field(default_factory=lambda: OUTPUT_PRESETS["default"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "analysis": self.analysis.to_dict(),
            "transfer": self.transfer.to_dict(),
            "reconstruction": self.reconstruction.to_dict(),
            "output": self.output.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunConfig":
        transfer = data.get("transfer") or {}
        if transfer and "window_edges" not in transfer:
            # Written before the option: its last windows ran into the zero padding.
            transfer = {**transfer, "window_edges": "padded"}
        base = PRESETS["default"] if not transfer or transfer.get("network") == "texture" else PRESETS["original"]
        full = {**base.to_dict(), **transfer}
        return cls(
            analysis=AnalysisConfig.from_dict(data.get("analysis", {})),
            transfer=TransferConfig.from_dict(full),
            reconstruction=ReconstructionConfig.from_dict(_reconstruction_record(data.get("reconstruction"))),
            output=OutputConfig.from_dict(data.get("output") or {"format": "mono22050"}),
        )


def _reconstruction_record(record: dict | None) -> dict:
    """A saved reconstruction record, completed as the code that wrote it ran.

    Records written before ``init_phase`` existed (they have ``n_iter`` but no
    ``init_phase``) started Griffin-Lim from a random phase; re-running one must do so too.
    Records written before ``full_length`` stopped at the last frame's centre.
    """
    record = dict(record or {})
    if record and "init_phase" not in record:
        record["init_phase"] = "random"
    if record and "full_length" not in record:
        record["full_length"] = False
    return record


#: Named transfer settings. ``original`` is the original notebook's form values (with
#: this project's stabilisation: normalised losses, non-negative target, Adam); it stays
#: fixed whatever the defaults become.
PRESETS: dict[str, TransferConfig] = {
    "original": TransferConfig(
        content_layers=ORIGINAL_CONTENT_LAYERS, style_layers=ORIGINAL_STYLE_LAYERS, content_weight=50.0,
        style_weight=10.0, iterations=100, init="content", optimizer="adam", parameterization="log",
        normalize_losses=True),
    # Chosen on pairs nobody tuned on (benchmarks/README.md, "More steps from the freed
    # time: the default since session 15"): the setting called C5. The genre CNN's Gram
    # statistics barely move timbre, so it matches the style's texture through a second
    # network of seeded random filters (Ulyanov & Lebedev's design): Gram matrices on all
    # log-mel bands ("logmel") and on one wide layer of 512 filters, and per-band level
    # statistics in the log domain ("bands", "dbbands"). It starts from the content
    # filtered to the ambience's long-term spectrum, holds only the content's notes in
    # their octaves ("pitch") and its onsets ("flux"), and every 15 steps projects the
    # target onto realisable spectrograms (a few Griffin-Lim iterations from the content's
    # phase; ReconstructionConfig.init_phase). Validation medians at seed 0: chroma 0.93,
    # MFCC gap 0.85, random-Gram gap 0.82, superposition 0.47 (issue 10's targets).
    "default": TransferConfig(
        network="texture", content_layers=("pitch", "flux"), style_layers=("logmel", "wide"),
        stats_layers=("bands", "dbbands"),
        content_weight=3.3, style_weight=48.0, iterations=92, learning_rate=0.11, init="equalized",
        optimizer="adam", parameterization="log", normalize_losses=True, texture_filters=512, texture_width=11,
        projection_every=15, projection_iters=2),
    # More of the melody, less of the ambience: the default until session 15 (chosen on
    # the 9 pairs of ../shared/audio). It keeps the content's harmonic fine structure
    # within the pitch range ("harmony": log-mel minus its envelope, below C8) and matches
    # the style's Gram matrices on "bands" and "wide" and its band statistics on three
    # scales. Validation medians: chroma 0.98 against the default's 0.93, for an MFCC gap
    # of 0.75 (0.85) and a superposition share of 0.64 (0.47).
    "melody": TransferConfig(
        network="texture", content_layers=("harmony",), style_layers=("bands", "wide"),
        stats_layers=("bands", "dbbands", "linbands"),
        content_weight=3.3, style_weight=4.0, iterations=65, learning_rate=0.085, init="content",
        optimizer="adam", parameterization="log", normalize_losses=True, texture_filters=512, texture_width=11,
        projection_every=15, projection_iters=2),
}


#: The output format of each preset: ``original`` writes mono 22050 Hz as the original did.
OUTPUT_PRESETS: dict[str, OutputConfig] = {"original": OutputConfig(format="mono22050"),
                                           "default": OutputConfig(format="follow"),
                                           "melody": OutputConfig(format="follow")}


def run_preset(name: str) -> "RunConfig":
    """The RunConfig of a named preset: its transfer settings and its output format."""
    return RunConfig(transfer=preset(name), output=OUTPUT_PRESETS[name])


def preset(name: str) -> TransferConfig:
    """The TransferConfig of a named preset (see :data:`PRESETS`)."""
    try:
        return PRESETS[name]
    except KeyError:
        hint = f" ({RETIRED_PRESETS[name]})" if name in RETIRED_PRESETS else ""
        raise ParameterError(f"unknown preset {name!r}{hint}; choose one of {sorted(PRESETS)}") from None


#: Presets that no longer exist, and what became of them (said when one is asked for).
RETIRED_PRESETS = {
    "ambience": "on 30 Nov 2026 its design became the 'default' preset, with 92 steps at learning rate 0.11 and "
                "style weight 48 instead of 62, 0.085 and 32; the old default is now 'melody'",
}


#: The preset whose layer choices a network takes when a run switches to it.
NETWORK_PRESETS = {"texture": "default", "genre_cnn": "original"}


def switch_network(t: TransferConfig, network: str) -> TransferConfig:
    """``t`` on ``network``: its layer choices (content, style, stats) come from that network's preset.

    Layer names belong to one network, so keeping ``t``'s would name layers the other
    network does not have. Everything else (weights, iterations, ...) stays ``t``'s.
    """
    _check(network in NETWORKS, f"network must be one of {NETWORKS}, got {network!r}")
    if network == t.network:
        return t
    src = preset(NETWORK_PRESETS[network])
    return t.replace(network=network, content_layers=src.content_layers, style_layers=src.style_layers,
                     stats_layers=src.stats_layers)
