"""What only the notebooks need: Colab detection, example files, audio players, tables.

The notebooks under ``notebooks/`` are thin clients of the library; this module holds the
few helpers that exist for them alone (as magenta/ddsp's ``colab_utils`` does): finding the
bundled example clips wherever the notebook runs (JupyterLab, Colab, papermill), picking a
file from a folder by name or by number as the original Colab form did, an audio player
that copes with silence, and a small HTML table whose cells may themselves be players.
Nothing here computes audio; it only shows what the other modules computed.
"""

from __future__ import annotations

import html
import sys
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from .audio import SUPPORTED_EXTENSIONS
from .errors import AudioFileError

#: Where the bundled examples live relative to the repository root.
EXAMPLES_SUBDIR = Path("data") / "examples"

#: Where the Colab setup cell clones the repository.
COLAB_CLONE_DIR = Path("/content/amnst")


def in_colab() -> bool:
    """True inside Google Colab (its runtime module is already imported there)."""
    return "google.colab" in sys.modules


def repo_root() -> Path | None:
    """The repository checkout this package was installed from, if there is one."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "notebooks").is_dir() or (root / EXAMPLES_SUBDIR).is_dir() else None


def find_examples_dir() -> Path:
    """The folder of bundled example clips, wherever the notebook runs.

    Looks in the repository the package was installed from, next to the current folder
    (``notebooks/`` or the repository root) and in Colab's clone.

    Raises
    ------
    AudioFileError
        If no candidate folder exists.
    """
    candidates = [Path.cwd() / EXAMPLES_SUBDIR, Path.cwd().parent / EXAMPLES_SUBDIR,
                  COLAB_CLONE_DIR / EXAMPLES_SUBDIR]
    root = repo_root()
    if root is not None:
        candidates.insert(0, root / EXAMPLES_SUBDIR)
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    raise AudioFileError(
        "the bundled example folder data/examples was not found; set audio_dir to a folder "
        "of audio files (looked in: " + ", ".join(str(c) for c in candidates) + ")")


def resolve_audio_dir(audio_dir: str | Path | None) -> Path:
    """``audio_dir`` as a folder path; empty or None means the bundled examples."""
    if audio_dir is None or str(audio_dir).strip() == "":
        return find_examples_dir()
    path = Path(str(audio_dir).strip()).expanduser()
    if not path.is_dir():
        raise AudioFileError(f"{path}: no such folder. Set the audio directory to a folder of audio files.")
    return path


def default_output_dir() -> Path:
    """Where notebook runs write: ``outputs/notebook_runs`` in the checkout, else ``./amnst_outputs``."""
    root = repo_root()
    return root / "outputs" / "notebook_runs" if root is not None else Path.cwd() / "amnst_outputs"


def list_audio_files(directory: str | Path) -> list[Path]:
    """Audio files directly in ``directory``, sorted by name (their numbers are list positions)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted((p for p in directory.iterdir()
                   if p.is_file() and p.suffix.lower() in SUPPORTED_EXTENSIONS and not p.name.startswith(".")),
                  key=lambda p: p.name.lower())


def pick_file(choice: str | int | Path, files: Sequence[Path], what: str = "file") -> Path:
    """One of ``files`` by name (with or without extension), number (0-based) or path.

    This is the original form's "name or numeric id" rule.

    Raises
    ------
    AudioFileError
        If ``choice`` matches nothing; the message lists the choices.
    """
    listing = "; ".join(f"{i}: {p.name}" for i, p in enumerate(files)) or "(the folder has no audio files)"
    if isinstance(choice, (bool, np.bool_)):
        raise AudioFileError(f"{what} {choice!r} is neither a file name nor a number; choose one of {listing}")
    text = str(choice).strip()
    if isinstance(choice, (int, np.integer)) or text.isdigit():
        i = int(text)
        if 0 <= i < len(files):
            return files[i]
        raise AudioFileError(f"{what} number {i} is out of range; choose one of {listing}")
    if not text:
        raise AudioFileError(f"no {what} chosen; choose one of {listing}")
    for p in files:
        if text in (p.name, p.stem):
            return p
    path = Path(text).expanduser()
    if path.is_file():
        return path
    raise AudioFileError(f"{what} {text!r} is not in the folder; choose one of {listing}")


#: Words in file names that suggest music (content) or ambience (style); a name matches a
#: word when one of its alphanumeric tokens starts with it ("mus01_bach" -> "mus").
MUSIC_WORDS = ("mus", "song", "track", "piano", "guitar", "violin", "orchestra", "bach", "mozart", "jazz",
               "classical", "blues", "rock", "pop", "disco", "country", "hiphop", "metal", "reggae", "baroque")
AMBIENCE_WORDS = ("amb", "field", "rain", "stream", "river", "wind", "forest", "fire", "city", "street",
                  "traffic", "crowd", "bird", "ocean", "sea", "wave", "room", "noise", "nature", "cafe",
                  "storm", "thunder", "water", "night")


def _name_score(path: Path, words: Sequence[str]) -> int:
    import re

    tokens = [t for t in re.split(r"[^a-z0-9]+|(?<=[a-z])(?=[0-9])", path.stem.lower()) if t]
    return sum(any(t.startswith(w) for t in tokens) for w in words)


def guess_file(files: Sequence[Path], role: str, avoid: str | None = None) -> tuple[Path, str]:
    """The file of ``files`` whose name looks most like ``role`` ("music" or "ambience").

    A cheap rule on names only (see :data:`MUSIC_WORDS`, :data:`AMBIENCE_WORDS`): the first
    file, in list order, whose name has more words of the role than of the other one; else
    the first that does not look like the other role; else the first. A file named
    ``avoid`` (the other choice) is taken only when it is the only file.

    Returns
    -------
    path : Path
    reason : str
        Why it was chosen, for the user ("the name looks like music", ...).

    Raises
    ------
    AudioFileError
        If ``files`` is empty.
    """
    if not files:
        raise AudioFileError("the folder has no audio files (WAV, FLAC, OGG, MP3)")
    mine, other = (MUSIC_WORDS, AMBIENCE_WORDS) if role == "music" else (AMBIENCE_WORDS, MUSIC_WORDS)
    candidates = [p for p in files if p.name != avoid] or list(files)
    for p in candidates:
        if _name_score(p, mine) > _name_score(p, other):
            return p, f"the name looks like {role}"
    for p in candidates:
        if _name_score(p, other) == 0:
            return p, "the first file whose name does not look like " + ("ambience" if role == "music" else "music")
    return candidates[0], "the first file"


def audio_player(y: np.ndarray, sr: int, *, autoplay: bool = False):
    """An ``IPython.display.Audio`` player (peak-normalised for listening).

    ``y`` is mono, shape (n_samples,), or has channels first, shape (n_channels, n_samples):
    a stereo output plays in stereo. A silent or empty waveform gets a silent player instead
    of IPython's division by zero.
    """
    from IPython.display import Audio

    y = np.asarray(y, dtype=np.float32)
    y = np.nan_to_num(y if y.ndim == 2 and y.shape[0] == 2 else y.ravel())
    if y.size == 0:
        y = np.zeros(1, dtype=np.float32)
    peak = float(np.max(np.abs(y)))
    return Audio(y, rate=int(sr), autoplay=autoplay, normalize=peak > 0)


class Table:
    """A small table that shows as HTML in a notebook and as aligned text elsewhere.

    Cells may be numbers, strings or objects with ``_repr_html_`` (e.g. an audio player).

    Parameters
    ----------
    rows : iterable of sequences
        One sequence of cells per row.
    columns : sequence of str
        Column headings.
    floatfmt : str
        Format of float cells.
    title : str or None
        Caption.
    css_class : str or None
        HTML class of the table (for styling and for finding it on the page).
    """

    def __init__(self, rows: Iterable[Sequence[Any]], columns: Sequence[str], *,
                 floatfmt: str = ".3f", title: str | None = None, css_class: str | None = None):
        self.rows = [list(r) for r in rows]
        self.columns = list(columns)
        self.floatfmt = floatfmt
        self.title = title
        self.css_class = css_class

    def _text(self, cell: Any) -> str:
        if isinstance(cell, (float, np.floating)):
            return format(float(cell), self.floatfmt)
        if hasattr(cell, "_repr_html_") and not isinstance(cell, str):
            return f"<{type(cell).__name__}>"
        return str(cell)

    def _html_cell(self, cell: Any) -> str:
        if hasattr(cell, "_repr_html_") and not isinstance(cell, str):
            return cell._repr_html_() or ""
        return html.escape(self._text(cell))

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{self._html_cell(c)}</td>" for c in r) + "</tr>" for r in self.rows)
        caption = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        cls = f' class="{html.escape(self.css_class)}"' if self.css_class else ""
        return f"<table{cls}>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def __str__(self) -> str:
        cells = [self.columns] + [[self._text(c) for c in r] for r in self.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.columns))]
        lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(([self.title] if self.title else []) + lines)

    __repr__ = __str__


def table(rows: Iterable[Sequence[Any]], columns: Sequence[str], **kwargs) -> Table:
    """Build a :class:`Table` (HTML in a notebook, text in a terminal)."""
    return Table(rows, columns, **kwargs)


def metrics_table(metrics: dict[str, float] | None) -> Table:
    """The run's quality figures as a table: what each measures and which way is better.

    The rows and words are :func:`amnst_lib.metrics.quality_rows`', as the CLI prints them;
    in a notebook it is an HTML table (class ``amnst-quality``), elsewhere aligned text.
    """
    from .metrics import QUALITY_COLUMNS, QUALITY_TITLE, quality_rows

    return table(quality_rows(metrics or {}), QUALITY_COLUMNS, title=QUALITY_TITLE, css_class="amnst-quality")


def transfer_result_items(result, *, play_inputs: bool = True) -> list:
    """What :func:`show_transfer_result` shows, in order, without showing it.

    Parameters
    ----------
    result : amnst_lib.pipeline.RunResult
    play_inputs : bool
        Also give players for the content and style (the original's
        ``play_content_and_style``).

    Returns
    -------
    list
        Lines of text (str) and displayable objects (the players' table, the
        spectrogram and loss figures, the quality table).
    """
    from .pipeline import projection_every
    from .plots import plot_loss

    sr = result.sr
    items: list = [result_summary(result)]
    rows = []
    if play_inputs:
        rows += [("content", audio_player(result.content, sr)), ("style", audio_player(result.style, sr))]
    rows.append(("output", output_player(result)))
    items += [table(rows, ["", "player"]), output_format_line(result), spectrogram_figure(result)]
    if result.history:
        items.append(plot_loss(result.history, projection_every=projection_every(result.record)))
    items.append(metrics_table(result.metrics))
    if result.wav_path is not None:
        items.append(f"Output written to {result.wav_path}")
    return items


def show_transfer_result(result, *, play_inputs: bool = True) -> None:
    """Show one style-transfer result (players, spectrograms, loss curve, quality figures):
    the items of :func:`transfer_result_items`, same arguments, printed or displayed."""
    from IPython.display import display

    for item in transfer_result_items(result, play_inputs=play_inputs):
        if isinstance(item, str):
            print(item)
        else:
            display(item)


def output_bundles(items: Iterable) -> tuple[dict, ...]:
    """Notebook outputs (nbformat dicts) for lines of text and displayable objects.

    What an ``ipywidgets.Output`` shows when its ``outputs`` are set directly, without
    capturing a ``with`` block (which headless runners such as papermill mishandle).

    Parameters
    ----------
    items : iterable
        Strings (each a line of stdout) and objects IPython can display.

    Returns
    -------
    tuple of dict
    """
    from IPython import get_ipython
    from IPython.core.formatters import DisplayFormatter

    shell = get_ipython()  # the kernel's formatter knows %matplotlib inline's figures
    formatter = shell.display_formatter if shell is not None else DisplayFormatter()
    out = []
    for item in items:
        if isinstance(item, str):
            if out and out[-1]["output_type"] == "stream":
                out[-1]["text"] += item + "\n"
            else:
                out.append({"output_type": "stream", "name": "stdout", "text": item + "\n"})
        else:
            data, metadata = formatter.format(item)
            out.append({"output_type": "display_data", "data": data, "metadata": metadata})
    return tuple(out)


def output_player(result):
    """A player for the output as written (stereo, at its own rate, where it is)."""
    written = getattr(result, "written", None)
    if written is None:
        return audio_player(result.output, result.sr)
    return audio_player(written[0] if written.shape[0] == 1 else written, result.written_sr)


def output_format_line(result) -> str:
    """One line: the written output's rate, channels and how it was made (from run.json)."""
    fmt = (result.record or {}).get("output_format") or {}
    if not fmt:
        return f"output: {result.sr} Hz, mono"
    line = f"output: {fmt['sample_rate']} Hz, {'stereo' if fmt['channels'] == 2 else 'mono'} ({fmt['format']})"
    if fmt["format"] == "follow" and fmt["sample_rate"] > 22050:
        line += f"; band above 11 kHz: {'the style' if fmt['high_band'] else 'empty'}; image: {fmt['image']}"
    return "; ".join([line, *fmt.get("notes", [])])


def spectrogram_figure(result):
    """Content, style and output spectrograms: the full band of the written output's mid
    where it is not the analysis' own, else the analysis mels."""
    from .plots import plot_mels

    if getattr(result, "full_mels", None):
        return plot_mels(result.full_mels, result.full_mel_config, title=f"mid, {result.written_sr} Hz",
                         frames_per_column=getattr(result, "full_mel_factors", None) or 1)
    return plot_mels({"content": result.content_mel, "style": result.style_mel, "output": result.output_mel},
                     _analysis_config(result))


def result_summary(result) -> str:
    """One line about a run: its inputs, the output's length, the steps taken, the weights.

    E.g. ``mus01_baroque_bach_brandenburg2.wav + amb04_stream.wav: 3.0 s of output,
    3 steps, random weights (texture network)``.
    """
    inputs = result.record.get("inputs", {})
    names = " + ".join(Path(inputs[k]["path"]).name for k in ("content", "style") if k in inputs)
    trained = (result.weights_info or {}).get("trained")
    weights = {True: "trained weights", False: "random weights", None: "weights supplied by the caller"}[trained]
    network = result.record.get("config", {}).get("transfer", {}).get("network", "")
    status = "" if result.record.get("status", "ok") == "ok" else f" ({result.record['status']})"
    return (f"{names}: {len(result.output) / result.sr:.1f} s of output, {len(result.history)} steps, "
            f"{weights}{f' ({network} network)' if network else ''}{status}")


def _analysis_config(result):
    """The AnalysisConfig a result was made with (from its run record), else the default."""
    from .config import AnalysisConfig

    try:
        return AnalysisConfig.from_dict(result.record["config"]["analysis"])
    except Exception:
        try:
            return AnalysisConfig.from_dict(result.record["analysis"])
        except Exception:
            return AnalysisConfig(sr=int(result.sr))


def repo_path(path: str | Path) -> Path:
    """``path`` as given if absolute, else relative to the checkout (the current folder
    outside one), so that a notebook run from ``notebooks/`` still finds ``data/...`` and
    writes under the repository's ignored ``outputs/``."""
    path = Path(str(path)).expanduser()
    if path.is_absolute():
        return path
    root = repo_root()
    return (root if root is not None else Path.cwd()) / path


def dataset_table(dataset) -> Table:
    """Tracks per genre of a :class:`amnst_lib.dataset.Dataset`, with its skipped files."""
    from .dataset import GENRES

    counts = {g: 0 for g in GENRES}
    for t in dataset.tracks:
        counts[t.genre] = counts.get(t.genre, 0) + 1
    skipped: dict[str, list[str]] = {}
    for path, _ in dataset.skipped:
        skipped.setdefault(Path(path).parent.name, []).append(Path(path).name)
    rows = [[g, n, ", ".join(skipped.get(g, [])) or "-"] for g, n in counts.items()]
    rows.append(["all", len(dataset.tracks), str(len(dataset.skipped))])
    return table(rows, ["genre", "tracks", "skipped (unreadable)"],
                 title=f"{dataset.root} ({dataset.layout} layout)")


def accuracy_table(card: dict) -> Table:
    """A model card's accuracies, per segment and per track, for each subset."""
    rows = [[subset, acc["segment_accuracy"], acc["n_segments"], acc["track_accuracy"], acc["n_tracks"]]
            for subset, acc in card["accuracy"].items()]
    mode = card["split"]["mode"] + (" (LEAKY)" if card["split"].get("leaky") else "")
    return table(rows, ["subset", "per segment", "segments", "per track (vote)", "tracks"],
                 title=f"Accuracy, split by {mode}; best epoch {card['training']['best_epoch']} "
                       f"of {card['training']['epochs_run']}")
