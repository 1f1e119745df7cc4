"""Neural style transfer on mel spectrograms: the optimisation at the heart of AM-NST.

A target mel spectrogram is moved by gradient descent so that, seen through the genre
CNN's feature layers, it matches the CONTENT's activations on the content layers and the
STYLE's Gram matrices (feature co-occurrence statistics) on the style layers::

    loss = content_weight * sum_l content_loss_l + style_weight * sum_l style_loss_l

How this differs from the original, and why:

* The target is ONE continuous spectrogram of the whole clip; the network sees it through
  431-frame windows. On odd steps the windows shift by half a segment (``shift_grid``),
  so no frame always sits on a window edge and no seam forms where segments meet. The
  last window of each grid ends at the content's last frame (``window_edges``, see
  :func:`window_starts`), so no window is part silent padding whose statistics the real
  frames would have to make up for by getting louder.
* Each target segment's Gram matrix is matched to the style's mean Gram matrix (the
  original pooled one Gram over all segments). The style is then spread evenly along a
  long track, and segments can be processed in batches (``batch_segments``): memory stays
  bounded however long the track is.
* Losses are normalised per layer by the content's (or style's) own energy, so the
  weights are scale-free; the original's raw sums reached 4.9e10 and diverged.
* The target is kept non-negative: optimised as log(mel) (default) or clipped at zero.
* Adam by default; the original's SGD with an exponential-decay schedule is an option.
* On a non-finite loss or target the run rolls back to an earlier good target, halves the
  step size and retries (the original's rollback froze the returned target).
* The compiled step and update, the optimiser and the style's statistics live in a
  :class:`TransferSession`, built once per run and shared by a long track's chunks
  (:mod:`amnst_lib.chunked`): traced once, not once per chunk, so memory does not grow
  with the number of chunks.
"""

from __future__ import annotations

import collections
import math
import time
from dataclasses import dataclass, field

import numpy as np

from .config import INITS, AnalysisConfig, TransferConfig
from .errors import DivergenceError, ParameterError
from .model import FEATURE_LAYERS, resolve_layers
from .texture import TEXTURE_LAYERS, envelope_matrix, is_texture_network, resolve_texture_layers
from .segments import pad_frames, tile_frames

#: Content features are cached (not recomputed each step) while they fit in this many bytes.
CONTENT_CACHE_BYTES = 512 * 2 ** 20

# Floor of the mel magnitude in the log parameterisation: far below audibility (the
# magnitude mel of a -1 dBFS clip peaks near 1-10), but keeps log() finite.
_LOG_FLOOR = 1e-6

#: ``init="equalized"``: width (mel bands) of the smoothing of the per-band gain, and
#: the largest boost or cut (dB). See :func:`equalized_content`.
EQUALIZE_SMOOTH_BANDS = 24
EQUALIZE_LIMIT_DB = 40.0


@dataclass
class TransferResult:
    """What :func:`style_transfer` returns.

    Attributes
    ----------
    mel : np.ndarray, shape (n_mels, n_frames)
        The optimised mel spectrogram, as long as the (possibly limited) content.
    history : list of dict
        One entry per step: ``step``, ``total``, ``content``, ``style`` (loss of the target
        before that step's update), ``lr``, ``seconds`` since the start.
    rollbacks : list of dict
        One entry per rollback: ``at_step``, ``to_step``, ``lr`` after halving, ``reason``.
    content_layers, style_layers : tuple of str
        Layers used, by name.
    n_segments : int
        431-frame segments covering the content.
    seconds : float
        Wall time of the optimisation.
    completed_steps : int
        Steps done (equals the configured iterations unless the run failed).
    """

    mel: np.ndarray
    history: list = field(default_factory=list)
    rollbacks: list = field(default_factory=list)
    content_layers: tuple = ()
    style_layers: tuple = ()
    n_segments: int = 0
    seconds: float = 0.0
    completed_steps: int = 0


def _tf():
    import tensorflow as tf

    return tf


def _windows(canvas, start: int, count: int, seg: int):
    """(count, n_mels, seg, 1) windows of a (n_mels, L) tensor, starting at ``start``."""
    tf = _tf()
    x = canvas[:, start:start + count * seg]
    x = tf.reshape(x, (tf.shape(canvas)[0], count, seg))
    return tf.transpose(x, (1, 0, 2))[..., None]


def window_starts(n_frames: int, seg: int, shift_grid: bool = True,
                  window_edges: str = "inside") -> dict[int, list[int]]:
    """First frame of every window, per grid (0: the plain grid, 1: shifted by half a segment).

    Parameters
    ----------
    n_frames : int
        Frames of content.
    seg : int
        Frames per window (``AnalysisConfig.segment_frames``).
    shift_grid : bool
        Add grid 1, shifted by ``seg // 2`` (see ``TransferConfig.shift_grid``).
    window_edges : {"inside", "padded"}
        ``"inside"``: a window that would run past the content's end starts at
        ``n_frames - seg`` instead (or 0 for a content shorter than ``seg``), so no window
        holds padding unless the whole content is shorter than one; a grid 1 that equals
        grid 0 is dropped. ``"padded"``: windows every ``seg`` frames, the last ones
        running into the padding (every run before the option).

    Returns
    -------
    dict of int to list of int
        Sorted, distinct starts per grid. Windows are ``seg`` frames from each start.
    """
    n_seg = math.ceil(n_frames / seg)
    half = seg // 2
    grid0 = [i * seg for i in range(n_seg)]
    grid1 = [half + i * seg for i in range(n_seg) if half + i * seg < n_frames] if shift_grid else []
    if window_edges == "inside":
        last = max(n_frames - seg, 0)
        grid0 = sorted({min(s, last) for s in grid0})
        grid1 = sorted({min(s, last) for s in grid1})
        if grid1 == grid0:
            grid1 = []
    grids = {0: grid0}
    if grid1:
        # A clip shorter than half a segment has no shifted window (and no edge to hide).
        grids[1] = grid1
    return grids


def _batches(starts: list[int], batch: int, seg: int):
    """(start, count) runs of at most ``batch`` windows, each run contiguous (``seg`` apart)."""
    i = 0
    while i < len(starts):
        n = 1
        while n < batch and i + n < len(starts) and starts[i + n] == starts[i] + n * seg:
            n += 1
        yield starts[i], n
        i += n


def _gram(features):
    """Per-example Gram matrices (b, c, c) of (b, h, w, c) features, divided by h*w."""
    tf = _tf()
    shape = tf.shape(features)
    f = tf.reshape(features, (shape[0], shape[1] * shape[2], shape[3]))
    hw = tf.cast(shape[1] * shape[2], features.dtype)
    # matmul with transpose_a, not einsum: no transposed copy of the (large) features.
    return tf.linalg.matmul(f, f, transpose_a=True) / hw


def _mean_std(features):
    """Per-example, per-channel mean and standard deviation over positions: (b, c) each."""
    tf = _tf()
    mean = tf.reduce_mean(features, axis=[1, 2])
    var = tf.reduce_mean(tf.square(features - mean[:, None, None, :]), axis=[1, 2])
    return mean, tf.sqrt(var + 1e-8)


def resolve_config_layers(cfg: TransferConfig) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Content and style layer names of ``cfg`` in the namespace of ``cfg.network``.

    Raises
    ------
    LayerError
        For a layer the network does not have; the message lists the valid ones.
    """
    resolve = resolve_texture_layers if cfg.network == "texture" else resolve_layers
    resolve(cfg.stats_layers)
    return resolve(cfg.content_layers), resolve(cfg.style_layers)


def network_layers(model, cfg: TransferConfig):
    """Resolve ``cfg``'s layers against the network actually given (genre CNN or texture).

    Returns
    -------
    content_layers, style_layers : tuple of str
    order : tuple of str
        All feature layers of that network, in depth order.
    """
    if is_texture_network(model):
        return resolve_texture_layers(cfg.content_layers), resolve_texture_layers(cfg.style_layers), TEXTURE_LAYERS
    return resolve_layers(cfg.content_layers), resolve_layers(cfg.style_layers), FEATURE_LAYERS


def _extractor(model, names):
    import keras

    return keras.Model(model.inputs, [model.get_layer(n).output for n in names], name="features")


class TransferSession:
    """What every chunk of one run shares, built once: compiled step and update, optimiser, style.

    A long track is optimised in chunks (:func:`amnst_lib.chunked.transfer`). Building the
    feature extractors, the style's statistics, the target variable, the optimiser and
    the compiled (``tf.function``) step and update for each chunk would cost a tracing per
    chunk, and TensorFlow keeps each traced function and what it captured (target, Adam
    slots, content canvas) alive after the chunk: memory grew with the number of chunks.
    A session builds them once and :func:`style_transfer` reuses them, resetting the
    target, the content and the optimiser's state (step count, moments, learning rate)
    at the start of each chunk, which is exactly a fresh start.

    The target and content live in variables of the longest canvas seen (normally the
    first chunk's); a shorter chunk is zero-padded at the end. No window reads the
    padding, so its gradient is zero and Adam leaves it unchanged: results are those of
    a canvas of the chunk's own length.

    Parameters
    ----------
    model : keras.Model
        The feature network (genre CNN or texture network).
    style_mel : np.ndarray, shape (n_mels, n_style_frames)
        Magnitude mel spectrogram of the ambience (any length; repeated to whole segments).
    config : TransferConfig
        The run's transfer settings (``max_segments`` is applied by :func:`style_transfer`).
    analysis : AnalysisConfig

    Attributes
    ----------
    traces : dict of str to int
        How many times the step (``"step"``) and the update (``"update"``) were traced:
        a few per session, whatever the number of chunks.
    """

    def __init__(self, model, style_mel: np.ndarray, config: TransferConfig = TransferConfig(),
                 analysis: AnalysisConfig = AnalysisConfig()):
        tf = _tf()
        cfg = self.cfg = config
        self.model, self.analysis = model, analysis
        seg = self.seg = analysis.segment_frames
        self.style_mel = _check_mel("style", style_mel, analysis.n_mels)
        self.log_param = cfg.parameterization == "log"
        self.content_layers, self.style_layers, order = network_layers(model, cfg)
        self.stats_layers = network_layers(model, cfg.replace(content_layers=cfg.stats_layers))[0]
        # One extractor for the target (all layers, in depth order, computed once per
        # pass) and a lighter one for the content (only its layers; shallow by default).
        used = set(self.content_layers + self.style_layers + self.stats_layers)
        self.all_layers = tuple(n for n in order if n in used)
        self.target_net = _extractor(model, self.all_layers)
        self.content_net = _extractor(model, self.content_layers) if self.content_layers else None
        batch = cfg.batch_segments

        # Style: whole segments, repeating the clip (never zero padding, which would
        # dilute its statistics). Its statistics, in one pass over its segments: the mean
        # per-segment Gram matrix of each style layer, and the mean per-channel mean and
        # spread of each stats layer (on log-mel bands: what MFCC statistics summarise).
        style_len = max(seg, math.ceil(self.style_mel.shape[1] / seg) * seg)
        style_mel = tile_frames(self.style_mel, style_len)
        self.style_grams, self.style_stats, self.stats_norm = [], [], []
        ref_layers = tuple(dict.fromkeys(self.style_layers + self.stats_layers))
        if ref_layers:
            ref_net = _extractor(model, ref_layers)
            style_canvas = tf.constant(style_mel)
            n_style = style_mel.shape[1] // seg
            gram_sums = [0.0] * len(self.style_layers)
            stat_sums = [(0.0, 0.0)] * len(self.stats_layers)
            for b0 in range(0, n_style, batch):
                nb = min(batch, n_style - b0)
                feats = ref_net(_windows(style_canvas, b0 * seg, nb, seg), training=False)
                feats = dict(zip(ref_layers, feats if isinstance(feats, (list, tuple)) else [feats]))
                gram_sums = [acc + tf.reduce_sum(_gram(feats[n]), axis=0)
                             for acc, n in zip(gram_sums, self.style_layers)]
                stat_sums = [(m0 + tf.reduce_sum(m, axis=0), d0 + tf.reduce_sum(d, axis=0))
                             for (m0, d0), (m, d) in zip(stat_sums, (_mean_std(feats[n]) for n in self.stats_layers))]
            self.style_grams = [g / n_style for g in gram_sums]
            self.style_stats = [(m / n_style, d / n_style) for m, d in stat_sums]
            self.stats_norm = [float(tf.reduce_sum(m * m) + tf.reduce_sum(d * d)) + 1e-12 for m, d in self.style_stats]
        if self.style_layers:
            if not cfg.normalize_losses:
                # The original's unnormalised Gram (sum over positions) and its scaling.
                shapes = [model.get_layer(l).output.shape for l in self.style_layers]
                self.style_scale = [float(s[1] * s[2]) for s in shapes]
            self.style_norm = [float(tf.reduce_sum(g * g)) + 1e-12 for g in self.style_grams]
        self.traces = {"step": 0, "update": 0}
        self.length = 0  # frames of the variables below; 0 until the first chunk
        self.var = self.content_canvas = self.content_norm = None

    def matches(self, model, style_mel: np.ndarray, config: TransferConfig, analysis: AnalysisConfig) -> bool:
        """Whether this session was built for these arguments of :func:`style_transfer`."""
        return (model is self.model and config == self.cfg and analysis == self.analysis
                and (style_mel is self.style_mel or np.array_equal(style_mel, self.style_mel)))

    def _build(self, length: int) -> None:
        """Variables of ``length`` frames, the optimiser and the compiled step and update."""
        import keras

        tf = _tf()
        cfg = self.cfg
        n_mels = self.analysis.n_mels
        self.length = length
        self.var = tf.Variable(tf.zeros((n_mels, length)), name="target")
        self.content_canvas = tf.Variable(tf.zeros((n_mels, length)), trainable=False, name="content")
        self.content_norm = tf.Variable(tf.ones((len(self.content_layers),)), trainable=False, name="content_norm")
        # The learning rate is a variable read by the schedule, so that a rollback (which
        # halves it) or a new chunk changes it without a new optimiser or a new tracing.
        self.lr = tf.Variable(float(cfg.resolved_learning_rate), trainable=False, name="learning_rate")
        schedule = keras.optimizers.schedules.ExponentialDecay(
            initial_learning_rate=self.lr, decay_steps=cfg.decay_steps, decay_rate=cfg.decay_rate)
        self.optimizer = (keras.optimizers.Adam if cfg.optimizer == "adam" else keras.optimizers.SGD)(
            learning_rate=schedule)
        self.optimizer.build([self.var])
        self.step = tf.function(self._batch_loss_and_grad, reduce_retracing=True)
        self.apply = tf.function(self._apply)

    def begin(self, target: np.ndarray, content_canvas: np.ndarray) -> None:
        """Start a chunk: set the target and the content (zero-padded), reset the optimiser."""
        n = target.shape[1]
        if n > self.length:
            self._build(n)
        self.var.assign(pad_frames(target.astype(np.float32), self.length))
        self.content_canvas.assign(pad_frames(content_canvas.astype(np.float32), self.length))
        self.reset_optimizer(self.cfg.resolved_learning_rate)

    def reset_optimizer(self, lr: float) -> None:
        """The optimiser as new (step 0, zero moments), at learning rate ``lr``."""
        self.lr.assign(lr)
        for v in self.optimizer.variables:
            v.assign(np.zeros(v.shape, dtype=v.dtype))

    def _apply(self, grad):
        """One optimiser update in the graph (the eager Keras 3 update costs tens of ms a step).

        Returns the learning rate it used and whether the target is still finite.
        """
        tf = _tf()
        self.traces["update"] += 1  # Python side: runs only while tracing
        var = self.var
        lr_used = tf.identity(self.optimizer.learning_rate)
        self.optimizer.apply_gradients([(grad, var)])
        if not self.log_param:
            var.assign(tf.maximum(var, 0.0))
        return lr_used, tf.reduce_all(tf.math.is_finite(var))

    def _batch_loss_and_grad(self, var, start, count, log_param, targets=None):
        tf = _tf()
        self.traces["step"] += 1  # Python side: runs only while tracing
        cfg = self.cfg
        with tf.GradientTape() as tape:
            canvas = tf.exp(var) if log_param else var
            x = _windows(canvas, start, count, self.seg)
            feats = self.target_net(x, training=False)
            feats = feats if isinstance(feats, (list, tuple)) else [feats]
            by_name = dict(zip(self.all_layers, feats))
            content_loss = tf.constant(0.0)
            if self.content_layers:
                if targets is None:  # not cached: recompute (bounded memory)
                    targets = self.content_net(_windows(self.content_canvas, start, count, self.seg), training=False)
                    targets = targets if isinstance(targets, (list, tuple)) else [targets]
                for i, (name, ref) in enumerate(zip(self.content_layers, targets)):
                    # One fused op and one reduction: these activations are large (conv1:
                    # 5.3M values per segment), so every temporary costs memory traffic.
                    size = tf.cast(tf.reduce_prod(tf.shape(ref)[1:]), tf.float32)
                    sq = tf.reduce_sum(tf.math.squared_difference(by_name[name], tf.stop_gradient(ref)))
                    content_loss += sq / size / (self.content_norm[i] if cfg.normalize_losses else 1.0)
            style_loss = tf.constant(0.0)
            for i, name in enumerate(self.style_layers):
                g = _gram(by_name[name])
                diff = g - self.style_grams[i]
                per_seg = tf.reduce_sum(tf.square(diff), axis=[1, 2])
                if cfg.normalize_losses:
                    style_loss += tf.reduce_sum(per_seg) / self.style_norm[i]
                else:
                    # Original scaling: unnormalised Gram, squared error over (h*w*c).
                    hw = self.style_scale[i]
                    c = tf.cast(tf.shape(g)[1], tf.float32)
                    style_loss += tf.reduce_sum(per_seg) * hw * hw / (hw * c)
            for (mu_s, sd_s), norm, name in zip(self.style_stats, self.stats_norm, self.stats_layers):
                mu, sd = _mean_std(by_name[name])
                per_seg = tf.reduce_sum(tf.square(mu - mu_s) + tf.square(sd - sd_s), axis=1)
                style_loss += tf.reduce_sum(per_seg) / norm
            total = cfg.content_weight * content_loss + cfg.style_weight * style_loss
        grad = tape.gradient(total, var)
        return total, content_loss, style_loss, grad


class _Problem:
    """One chunk's part of the optimisation: its content's loss normalisers and cached features.

    Sets the ``session``'s content; ``step_fn`` is the session's compiled step.
    """

    def __init__(self, session: TransferSession, starts_by_grid: dict):
        tf = _tf()
        self.session = session
        self.cfg = cfg = session.cfg
        self.seg = seg = session.seg
        self.content_layers, self.style_layers = session.content_layers, session.style_layers
        self.starts_by_grid = starts_by_grid
        batch = cfg.batch_segments
        #: (start, count) network calls per grid, the same every step.
        self.batches_by_grid = {g: list(_batches(starts, batch, seg)) for g, starts in starts_by_grid.items()}
        # Content normaliser: the content's own mean square activation per layer.
        if self.content_layers:
            acc = np.zeros(len(self.content_layers))
            starts = starts_by_grid[0]
            for start, nb in self.batches_by_grid[0]:
                feats = session.content_net(_windows(session.content_canvas, start, nb, seg), training=False)
                feats = feats if isinstance(feats, (list, tuple)) else [feats]
                acc += [float(tf.reduce_sum(tf.reduce_mean(f * f, axis=[1, 2, 3]))) for f in feats]
            session.content_norm.assign((acc / len(starts) + 1e-12).astype(np.float32))
        self.content_cache = self._cache_content_features(session.model)
        self.step_fn = session.step

    def _cache_content_features(self, model) -> dict:
        """The content's features per (start, count) window batch, if they fit the budget.

        They are the same every step; caching them saves a forward pass of the content
        layers per batch. A long track at a deep or wide content layer would need more
        memory than the whole optimisation, so past ``CONTENT_CACHE_BYTES`` they are
        recomputed instead (bounded memory wins over speed).
        """
        if not self.content_layers:
            return {}
        per_window = sum(int(np.prod(model.get_layer(n).output.shape[1:])) * 4 for n in self.content_layers)
        n_windows = sum(len(starts) for starts in self.starts_by_grid.values())
        if per_window * n_windows > CONTENT_CACHE_BYTES:
            return {}
        cache = {}
        canvas = self.session.content_canvas
        for batches in self.batches_by_grid.values():
            for start, nb in batches:
                feats = self.session.content_net(_windows(canvas, start, nb, self.seg), training=False)
                cache[(start, nb)] = tuple(feats if isinstance(feats, (list, tuple)) else [feats])
        return cache


def _project(var, n_frames: int, log_param: bool, analysis: AnalysisConfig, cfg: TransferConfig, step: int,
             init_phase: np.ndarray | None = None) -> None:
    """Replace the target by the mel of a real signal close to it (consistency projection).

    A mel spectrogram moved freely by gradient steps gets frame-to-frame detail that no
    waveform has (STFT frames overlap by 75%), so Griffin-Lim cannot reproduce it. A few
    Griffin-Lim iterations and a fresh analysis give the nearest spectrogram a signal can
    have; the optimisation then continues from there. Griffin-Lim starts from
    ``init_phase`` (the content's) when given: a few iterations then stay near the
    content's phase, which keeps its harmonics' pitch.
    """
    from .config import ReconstructionConfig
    from .spectrum import griffin_lim, mel_spectrogram, mel_to_stft

    value = var.numpy()
    mel = np.exp(value[:, :n_frames]) if log_param else np.maximum(value[:, :n_frames], 0.0)
    y = griffin_lim(mel_to_stft(mel, analysis), analysis,
                    ReconstructionConfig(n_iter=cfg.projection_iters, seed=cfg.seed + step),
                    length=(n_frames - 1) * analysis.hop_length, init_phase=init_phase)
    projected = mel_spectrogram(y, analysis)[:, :n_frames]
    value[:, :projected.shape[1]] = np.log(np.maximum(projected, _LOG_FLOOR)) if log_param else projected
    var.assign(value)


def initial_target(content_mel: np.ndarray, style_mel: np.ndarray, init: str, seed: int) -> np.ndarray:
    """The starting target, shape like ``content_mel``.

    ``content`` and ``style`` copy those spectrograms (style tiled or cut to the content's
    length); ``zero`` is silence; ``random`` is |N(0, 1)| noise scaled to the content's
    mean level (the original drew N(0, 1) unscaled, which includes negative magnitudes).
    """
    n_mels, n = content_mel.shape
    if init == "content":
        return content_mel.copy()
    if init == "style":
        return tile_frames(style_mel, n)
    if init == "zero":
        return np.zeros_like(content_mel)
    if init == "mix":
        # Equal loudness: the style scaled to the content's energy, then added (mel
        # magnitudes of independent sources add approximately).
        style = tile_frames(style_mel, n)
        scale = np.linalg.norm(content_mel) / max(float(np.linalg.norm(style)), 1e-12)
        return (content_mel + scale * style).astype(np.float32)
    if init == "equalized":
        return equalized_content(content_mel, style_mel)
    if init == "random":
        rng = np.random.default_rng(seed)
        level = float(np.mean(content_mel)) or 1.0
        return (np.abs(rng.standard_normal((n_mels, n))) * level).astype(np.float32)
    raise ParameterError(f"init must be one of {INITS}, got {init!r}")


def style_below(target: np.ndarray, style_mel: np.ndarray, cutoff_hz: float,
                analysis: AnalysisConfig = AnalysisConfig(), seed: int = 0) -> np.ndarray:
    """``target`` with its mel bands below ``cutoff_hz`` replaced by noise at the style's level.

    Each replaced band is ``|N(0, 1)|`` noise scaled so that its mean is the style's mean
    magnitude in that band (its long-term spectrum): a stationary texture with the
    ambience's spectrum but none of its moments in time, so nothing of the style recording
    itself is copied into the output; the style losses give it the ambience's texture.
    Used by :func:`style_transfer` for ``TransferConfig.style_below_hz``.

    Parameters
    ----------
    target : np.ndarray, shape (n_mels, n_frames)
        Magnitude mel spectrogram of the starting target (e.g. :func:`initial_target`'s).
    style_mel : np.ndarray, shape (n_mels, n_style_frames)
        Magnitude mel spectrogram of the style (any length; only its mean is used).
    cutoff_hz : float
        Bands placed below this (:func:`amnst_lib.spectrum.mel_band_frequencies`, as the
        ``pitch`` layer places them) are replaced.
    analysis : AnalysisConfig
        Gives the mel bands (``n_mels``, ``sr``).
    seed : int
        Seed of the noise.

    Returns
    -------
    np.ndarray, shape (n_mels, n_frames), float32
        A copy of ``target``; bands at or above ``cutoff_hz`` unchanged.
    """
    from .spectrum import mel_band_frequencies

    out = np.array(target, dtype=np.float32)
    below = mel_band_frequencies(analysis) < cutoff_hz
    if below.any():
        level = np.asarray(style_mel, dtype=np.float64)[below].mean(axis=1, keepdims=True)
        noise = np.abs(np.random.default_rng(seed).standard_normal((int(below.sum()), out.shape[1])))
        # E|N(0, 1)| = sqrt(2 / pi): the noise's mean per band is the style's.
        out[below] = (noise * level / np.sqrt(2.0 / np.pi)).astype(np.float32)
    return out


def equalized_content(content_mel: np.ndarray, style_mel: np.ndarray, *,
                      smooth_bands: int = EQUALIZE_SMOOTH_BANDS,
                      limit_db: float = EQUALIZE_LIMIT_DB) -> np.ndarray:
    """The content with the style's long-term spectrum: one gain per mel band.

    The gain of band ``k`` is the ratio of the style's long-term average spectrum (its
    mean magnitude per band over time) to the content's, both smoothed across frequency by
    a triangle of ``smooth_bands`` bands (the texture network's envelope smoothing,
    :func:`amnst_lib.texture.envelope_matrix`), limited to +-``limit_db``. A gain that
    varies slowly across frequency acts as a filter: the content's timing stays, and so,
    mostly, does its harmonic fine structure (the ``harmony`` layer, log-mel minus its
    envelope, moves about half as far as from a plain mix's start; tested). It moves the
    target's spectral envelope, what MFCC means summarise, to the style's before the first
    step: a distance that 65 Adam steps of 0.085 nepers (the ``melody`` preset's) cannot always travel
    (``benchmarks/README.md``, "An equalised start"). Every chunk of a long track is
    equalised by its own long-term spectrum.

    Parameters
    ----------
    content_mel : np.ndarray, shape (n_mels, n_frames)
        Magnitude mel spectrogram of the content.
    style_mel : np.ndarray, shape (n_mels, n_style_frames)
        Magnitude mel spectrogram of the style (any length; only its mean is used).
    smooth_bands : int
        Width of the triangular smoothing across mel bands (1 = none).
    limit_db : float
        Largest boost or cut in dB: a band the content barely uses is raised at most
        this far towards the style's level.

    Returns
    -------
    np.ndarray, shape (n_mels, n_frames), float32
        ``content_mel * gain[:, None]``; a silent band stays silent.
    """
    content_mel = np.asarray(content_mel, dtype=np.float64)
    style_mel = np.asarray(style_mel, dtype=np.float64)
    eps = 1e-8
    style_lt, content_lt = style_mel.mean(axis=1), content_mel.mean(axis=1)
    if smooth_bands > 1:
        smooth = envelope_matrix(len(style_lt), smooth_bands).astype(np.float64)
        style_lt, content_lt = style_lt @ smooth, content_lt @ smooth
    limit = limit_db / 20.0 * np.log(10.0)
    gain = np.clip(np.log(style_lt + eps) - np.log(content_lt + eps), -limit, limit)
    return (content_mel * np.exp(gain)[:, None]).astype(np.float32)


def _check_mel(name: str, mel: np.ndarray, n_mels: int) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float32)
    if mel.ndim != 2 or mel.shape[0] != n_mels:
        raise ParameterError(f"{name} mel spectrogram must have shape ({n_mels}, frames), got {mel.shape}")
    if mel.shape[1] < 1:
        raise ParameterError(f"{name} mel spectrogram has no frames")
    if not np.all(np.isfinite(mel)):
        raise ParameterError(f"{name} mel spectrogram contains NaN or infinite values")
    return np.maximum(mel, 0.0)


def progress_bar_class(progress: bool | type = True) -> type:
    """The tqdm class a ``progress`` argument asks for.

    Parameters
    ----------
    progress : bool or type
        True: ``tqdm.auto.tqdm`` (a widget in a notebook, text in a terminal); a class:
        that class (a ``tqdm.std.tqdm`` subclass, e.g. one that draws into a form).

    Returns
    -------
    type
    """
    if isinstance(progress, type):
        return progress
    from tqdm.auto import tqdm

    return tqdm


def style_transfer(content_mel: np.ndarray, style_mel: np.ndarray, model,
                   config: TransferConfig = TransferConfig(),
                   analysis: AnalysisConfig = AnalysisConfig(), *,
                   progress: bool | type = True, init_phase: np.ndarray | None = None,
                   session: TransferSession | None = None) -> TransferResult:
    """Optimise a mel spectrogram to keep ``content_mel``'s content and take on ``style_mel``'s style.

    Parameters
    ----------
    content_mel : np.ndarray, shape (n_mels, n_content_frames)
        Magnitude mel spectrogram of the music. Any length: it is covered whole (or its
        first ``config.max_segments`` segments).
    style_mel : np.ndarray, shape (n_mels, n_style_frames)
        Magnitude mel spectrogram of the ambience. Any length; repeated if shorter than
        one segment (or than the content, for the ``style`` init).
    model : keras.Model
        The genre CNN from :func:`amnst_lib.model.build_genre_cnn`, trained or random.
    config : TransferConfig
        Layers, weights, optimiser, rollback settings.
    analysis : AnalysisConfig
        Gives ``n_mels`` and ``segment_frames``.
    progress : bool or type
        Show a tqdm progress bar with the loss: True a ``tqdm.auto`` bar, or the tqdm
        class to draw it with (see :func:`progress_bar_class`).
    init_phase : np.ndarray, shape (1 + n_fft // 2, n_content_frames), complex, optional
        Starting phase of the Griffin-Lim in each projection (``config.projection_every``),
        normally :func:`amnst_lib.spectrum.stft_phase` of the content; None = random.
    session : TransferSession, optional
        Built for the same ``model``, ``style_mel``, ``config`` and ``analysis``: its
        compiled step, update and optimiser are reused (the chunks of a long track).
        None builds one for this call.

    Returns
    -------
    TransferResult
        The optimised mel (shape of the used content), loss history and rollbacks.

    Raises
    ------
    DivergenceError
        If non-finite values persist after ``config.max_retries`` rollbacks; its
        ``result`` holds the last good target.
    LayerError, ParameterError
        For unknown layers or malformed spectrograms.
    """
    tf = _tf()
    cfg = config
    seg = analysis.segment_frames
    content_mel = _check_mel("content", content_mel, analysis.n_mels)
    if session is None:
        session = TransferSession(model, style_mel, cfg, analysis)
    elif not session.matches(model, _check_mel("style", style_mel, analysis.n_mels), cfg, analysis):
        raise ParameterError("the transfer session was built for another network, style, configuration or analysis")
    style_mel = session.style_mel
    if cfg.max_segments is not None:
        content_mel = content_mel[:, : cfg.max_segments * seg]
    n_frames = content_mel.shape[1]
    n_seg = math.ceil(n_frames / seg)
    half = seg // 2 if cfg.shift_grid else 0
    canvas_len = n_seg * seg + half
    starts_by_grid = window_starts(n_frames, seg, cfg.shift_grid, cfg.window_edges)

    log_param = session.log_param
    target0 = initial_target(content_mel, style_mel, cfg.init, cfg.seed)
    if cfg.style_below_hz:
        target0 = style_below(target0, style_mel, cfg.style_below_hz, analysis, cfg.seed)
    target0 = pad_frames(target0, canvas_len)
    if log_param:
        floor = _LOG_FLOOR
        if cfg.init == "zero":
            # log(0) is -inf: "silence" is a floor far below the content's level, from
            # which multiplicative steps can still grow.
            floor = max(_LOG_FLOOR, 1e-3 * float(np.mean(content_mel)))
        target0 = np.log(np.maximum(target0, floor))
    # The target, the content and a fresh optimiser state in the session's variables.
    session.begin(target0, pad_frames(content_mel, canvas_len))
    del target0
    problem = _Problem(session, starts_by_grid)
    var, apply = session.var, session.apply

    def current_mel() -> np.ndarray:
        value = var.numpy()
        mel = np.exp(value) if log_param else np.maximum(value, 0.0)
        return mel[:, :n_frames].astype(np.float32)

    lr = cfg.resolved_learning_rate
    good = collections.deque(maxlen=cfg.history_buffer_size)  # (step, value) of good targets
    history, rollbacks = [], []
    retries = strikes = 0
    last_fail = -1
    t0 = time.perf_counter()
    layers = (problem.content_layers, problem.style_layers)

    def result(steps: int) -> TransferResult:
        return TransferResult(mel=current_mel(), history=list(history), rollbacks=list(rollbacks),
                              content_layers=layers[0], style_layers=layers[1], n_segments=n_seg,
                              seconds=time.perf_counter() - t0, completed_steps=steps)

    bar = None
    if progress and cfg.iterations > 0:
        bar = progress_bar_class(progress)(total=cfg.iterations, desc="style transfer", unit="step")
    step = 0
    while step < cfg.iterations:
        grid = step % len(starts_by_grid)
        starts = starts_by_grid[grid]
        total = content = style = 0.0
        grad = None
        for start, nb in problem.batches_by_grid[grid]:
            t, c, s, g = problem.step_fn(var, tf.constant(start, tf.int32), tf.constant(nb, tf.int32), log_param,
                                         problem.content_cache.get((start, nb)))
            total += float(t)
            content += float(c)
            style += float(s)
            grad = g if grad is None else grad + g
        n_used = len(starts)
        total, content, style = total / n_used, content / n_used, style / n_used
        finite = math.isfinite(total) and bool(tf.reduce_all(tf.math.is_finite(grad)))
        if finite:
            while good and good[-1][0] >= step:  # a re-run step replaces its old entry
                good.pop()
            good.append((step, var.numpy().copy()))
            lr_now, finite = apply(grad / n_used)
            lr_now, finite = float(lr_now), bool(finite)
            history.append({"step": step, "total": total, "content": content, "style": style,
                            "lr": lr_now, "seconds": time.perf_counter() - t0})
        if not finite:
            reason = ("non-finite target after the update" if history and history[-1]["step"] == step
                      else "non-finite loss or gradient")
            if retries >= cfg.max_retries or not good:
                last_step = 0
                if good:
                    # Keep the most recent good target and the history that led to it.
                    last_step, value = good[-1]
                    var.assign(value)
                    history[:] = [h for h in history if h["step"] <= last_step]
                if bar is not None:
                    bar.close()
                raise DivergenceError(
                    f"the optimisation produced non-finite values ({reason}) at step {step} and ran out of "
                    f"retries ({cfg.max_retries}); the last good target (step {last_step}) is kept. Lower "
                    f"the learning rate or the weights, or use the default optimiser (adam) with "
                    f"normalised losses.", result=result(last_step))
            retries += 1
            # Failing again at or before the last failure means the trouble started
            # earlier than we went back: go back twice as far each time (within the buffer).
            strikes = strikes + 1 if step <= last_fail else 0
            last_fail = step
            back = min(cfg.rollback_steps * 2 ** strikes, len(good))
            to_step, value = good[-back]
            while good[-1][0] > to_step:
                good.pop()
            var.assign(value)
            if cfg.decay_on_excess:
                lr /= 2.0
            session.reset_optimizer(lr)  # a fresh optimiser at the new rate
            history[:] = [h for h in history if h["step"] < to_step]
            rollbacks.append({"at_step": step, "to_step": to_step, "lr": lr, "reason": reason})
            if bar is not None:
                bar.n = to_step
                bar.set_postfix_str(f"rollback to step {to_step}, lr {lr:.3g}")
            step = to_step
            continue
        step += 1
        if cfg.projection_every and step % cfg.projection_every == 0 and step < cfg.iterations:
            # Never after the last step: the result is always the optimiser's own.
            _project(var, n_frames, log_param, analysis, cfg, step, init_phase)
        if bar is not None:
            bar.update(1)
            if step % cfg.print_frequency == 0 or step == cfg.iterations:
                bar.set_postfix(loss=f"{total:.4g}", content=f"{content:.3g}", style=f"{style:.3g}")
    if bar is not None:
        bar.close()
    return result(step)
