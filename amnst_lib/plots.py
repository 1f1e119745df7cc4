"""Figures for looking at a run: waveform, mel spectrograms side by side, the loss curve.

Plotting sits at the edge of the flow: each function takes arrays (or a run's loss
history) and returns a :class:`matplotlib.figure.Figure`, made without pyplot so that a
notebook shows it exactly once and a script can ``fig.savefig(...)`` it. Decibels are for
the eye only: the network and the optimisation work on linear magnitude mel spectrograms.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .config import AnalysisConfig


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def plot_waveform(y: np.ndarray, sr: int, *, title: str | None = None) -> Figure:
    """Waveform against time in seconds.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,)
        Mono waveform.
    sr : int
        Sample rate in Hz.
    """
    import librosa.display

    fig = _figure(10, 2.5)
    ax = fig.add_subplot()
    librosa.display.waveshow(np.asarray(y, dtype=np.float32), sr=sr, ax=ax)
    ax.set(xlabel="time (s)", ylabel="amplitude", title=title or f"Waveform ({len(y) / sr:.1f} s at {sr} Hz)")
    return fig


def to_db(mel: np.ndarray, power: float = 1.0, ref: float | None = None, top_db: float = 80.0) -> np.ndarray:
    """Decibels of a magnitude (``power=1``) or power (``power=2``) spectrogram, for display."""
    mel = np.maximum(np.asarray(mel, dtype=np.float64), 0.0)
    ref = float(ref if ref is not None else (mel.max() if mel.size else 1.0)) or 1.0
    floor = 10.0 ** (-top_db / (10.0 * power))
    db = (10.0 * power) * np.log10(np.maximum(mel / ref, floor))
    return db.astype(np.float32)


def plot_mels(mels: Mapping[str, np.ndarray], cfg: AnalysisConfig = AnalysisConfig(), *,
              db: bool = True, shared_scale: bool = True, title: str | None = None,
              segment_lines: bool = False, frames_per_column: int | Mapping[str, int] = 1) -> Figure:
    """Mel spectrograms side by side, on a mel frequency axis and a time axis.

    Parameters
    ----------
    mels : mapping of str to np.ndarray, each shape (n_mels, n_frames)
        Titles and spectrograms (made with ``cfg``).
    cfg : AnalysisConfig
        Their analysis settings (sample rate, hop, power, segment width).
    db : bool
        Show decibels (relative to the loudest value) rather than linear values.
    shared_scale : bool
        One colour scale for all panels, so that levels compare across panels.
    segment_lines : bool
        Draw the 431-frame segment boundaries.
    frames_per_column : int or mapping of str to int
        Analysis frames each column stands for (per title, or one for all): a long
        track's picture is averaged in time first (``amnst_lib.chunked.pooled``), so that
        plotting costs the same whatever its length.
    """
    import librosa.display

    items = list(mels.items())
    if not items:
        raise ValueError("plot_mels needs at least one spectrogram")
    fig = _figure(max(4.5 * len(items), 6), 3.6)
    axes = fig.subplots(1, len(items), squeeze=False)[0]
    peak = max(float(np.max(m)) if np.size(m) else 0.0 for _, m in items) or 1.0
    for ax, (name, mel) in zip(axes, items):
        mel = np.asarray(mel)
        step = frames_per_column.get(name, 1) if isinstance(frames_per_column, Mapping) else frames_per_column
        if db:
            data = to_db(mel, cfg.power, ref=peak if shared_scale else None)
            vmin, vmax, label = -80.0, 0.0, "dB"
        else:
            data = mel
            vmin, vmax, label = (0.0, peak, "linear") if shared_scale else (None, None, "linear")
        img = librosa.display.specshow(data, sr=cfg.sr, hop_length=cfg.hop_length * int(step), n_fft=cfg.n_fft,
                                       x_axis="time", y_axis="mel", ax=ax, vmin=vmin, vmax=vmax,
                                       cmap="magma")
        if segment_lines:
            seconds = cfg.segment_seconds
            for k in range(1, int(np.ceil(mel.shape[1] * step / cfg.segment_frames))):
                ax.axvline(k * seconds, color="cyan", lw=1.2, ls="--")
        ax.set_title(name)
        fig.colorbar(img, ax=ax, label=label, format="%+.0f" if db else None)
    if title:
        fig.suptitle(title)
    return fig


def plot_loss(history: Sequence[Mapping[str, float]], *, projection_every: int = 0,
              title: str = "Loss") -> Figure:
    """Total, content and style loss per step, on a log y axis.

    Parameters
    ----------
    history : sequence of dict
        One dict per step with keys ``step``, ``total``, ``content``, ``style`` (``lr``
        is ignored). Non-positive or non-finite values are left out of the log plot.
    projection_every : int
        The run's ``TransferConfig.projection_every`` (0: none). Each projection (the
        target replaced by the mel of a real signal, before the step of that number) is
        marked by a vertical line: the loss jumps there, by design.

    Notes
    -----
    With ``TransferConfig.shift_grid`` (every preset), odd steps measure windows shifted
    by half a segment, so the curve alternates a little from step to step.
    """
    fig = _figure(7, 3.5)
    ax = fig.add_subplot()
    history = list(history)
    steps = np.array([h.get("step", i) for i, h in enumerate(history)], dtype=float)
    if projection_every and projection_every > 0 and len(steps):
        marks = np.arange(projection_every, steps.max() + 1, projection_every)
        for i, s in enumerate(marks):
            ax.axvline(s, color="0.55", lw=0.9, ls="-.", zorder=0,
                       label="projection" if i == 0 else None)
    plotted = False
    for key, style in (("total", "-"), ("content", "--"), ("style", ":")):
        values = np.array([h.get(key, np.nan) for h in history], dtype=float)
        ok = np.isfinite(values) & (values > 0)
        if ok.any():
            ax.plot(steps[ok], values[ok], style, label=key, lw=1.8)
            plotted = True
    if plotted:
        ax.set_yscale("log")
        # Beside the axes, not in them: inside (matplotlib's "best" place) it covered the
        # total loss, the top line, in the form's picture of a default run.
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        ax.text(0.5, 0.5, "no loss recorded", ha="center", va="center", transform=ax.transAxes)
    ax.set(xlabel="step", ylabel="loss", title=title)
    ax.grid(True, which="both", alpha=0.3)
    return fig


def _short(text: str, most: int = 32) -> str:
    """``text`` cut to ``most`` characters, with an ellipsis when cut."""
    return text if len(text) <= most else text[:most - 1] + "…"


def plot_frontier(rows: Sequence[Mapping], *, title: str | None = None) -> Figure:
    """A sweep's trade-off: chroma similarity (content kept) against MFCC gap closed (style taken on).

    Parameters
    ----------
    rows : sequence of mapping
        One per job, with ``chroma_similarity``, ``mfcc_gap_closed`` (None or NaN: not
        plotted), ``settings`` (the point's colour), ``style`` (its shape) and ``content``.

    Returns
    -------
    Figure
        One point per job: its colour the settings, its shape the ambience (each in a
        legend beside the axes, labels cut to 40 and 32 characters; more than ten ambiences:
        one shape; one setting alone: each point named by its pair); up and to the right is
        better.
    """
    fig = _figure(8, 6)
    ax = fig.add_subplot()
    ok = [r for r in rows if all(isinstance(r.get(k), (int, float)) and np.isfinite(r.get(k))
                                 for k in ("chroma_similarity", "mfcc_gap_closed"))]
    labels = list(dict.fromkeys(str(r.get("settings", "")) for r in ok))
    styles = list(dict.fromkeys(str(r.get("style") or "") for r in ok))
    colours = {lab: f"C{i % 10}" for i, lab in enumerate(labels)}
    # A shape per ambience while there are shapes enough; beyond ten, one shape (no legend).
    shapes = {sty: "osD^vP*Xph"[i] if len(styles) <= 10 else "o" for i, sty in enumerate(styles)}
    for lab in labels:
        for sty in styles:
            sel = [r for r in ok if str(r.get("settings", "")) == lab and str(r.get("style") or "") == sty]
            if sel:
                ax.scatter([r["mfcc_gap_closed"] for r in sel], [r["chroma_similarity"] for r in sel],
                           color=colours[lab], marker=shapes[sty], s=36, zorder=3)
    # One setting: each point is named by its pair. Several: colour = settings and shape =
    # ambience, in two legends beside the axes, where they hide no point (labels on every
    # point overlapped where the points crowd).
    if len(labels) == 1 and len(ok) <= 24:
        for r in ok:
            ax.annotate(_short(f"{r.get('content', '')} x {r.get('style', '')}"),
                        (r["mfcc_gap_closed"], r["chroma_similarity"]),
                        fontsize=7, alpha=0.8, xytext=(4, 3), textcoords="offset points", annotation_clip=True)
    if len(labels) > 1:
        handles = [Line2D([], [], color=colours[lab], marker="o", linestyle="", label=_short(lab, 40))
                   for lab in labels]
        first = ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                          title="settings", title_fontsize=7)
        ax.add_artist(first)
    if 1 < len(styles) <= 10:
        handles = [Line2D([], [], color="0.3", marker=shapes[sty], linestyle="", label=_short(sty or "(none)"))
                   for sty in styles]
        ax.legend(handles=handles, fontsize=7, loc="lower left", bbox_to_anchor=(1.01, 0.0),
                  title="ambience", title_fontsize=7)
    ax.margins(0.15)
    ax.set(xlabel="MFCC gap closed (style taken on; higher is better)",
           ylabel="chroma similarity (content kept; higher is better)",
           title=title or f"Sweep frontier: {len(ok)} of {len(rows)} jobs with figures")
    ax.grid(alpha=0.3)
    return fig
