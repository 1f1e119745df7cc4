"""The style-transfer form of ``03_style_transfer.ipynb``, as ipywidgets.

It mirrors the original Colab form: the same fields under the same names, with controls
that cannot hold most bad values (dropdowns of the audio files found, multi-selects of the
feature layers by name, bounded sliders). :func:`config_from_values` turns the field values
into a :class:`~amnst_lib.config.RunConfig` and is all the headless notebook needs;
:class:`TransferForm` adds the widgets, a Run button and the result display. A value the
library refuses (an :class:`~amnst_lib.errors.AmnstError`) is shown as a message beside the
form, never as a traceback.

The fields are the original's (``directory_path`` is ``audio_dir``) plus ``preset``,
``network``, ``weights_file``, ``max_seconds``, ``griffin_lim_iterations`` and ``out_dir``;
:data:`FIELD_HELP` says what each means (the form shows it as the tooltip of each label).
``preset`` fills every field of :data:`PRESET_FIELDS` that is left None.

While a run goes, the status beside the Run button names each phase with its elapsed
time (loading, network, analysis, style transfer with its step bar, Griffin-Lim, quality
figures, writing, drawing); "Done" appears once the results are drawn. The results of the
last run, from the Run button or from the notebook's own run, are shown in one place:
under the form, replacing the previous ones.

(The original's ``mount_drive`` and ``pwd`` live in the notebook's Colab cell;
``reset_nst_inputs`` is not needed: every run reloads its inputs.)
"""

from __future__ import annotations

import html
import io
import logging
import math
import re
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .config import (INITS, NETWORKS, OUTPUT_FORMATS, OUTPUT_PRESETS, PRESETS, AnalysisConfig, OutputConfig,
                     ReconstructionConfig, RunConfig, preset, switch_network)
from .errors import AmnstError, DivergenceError, ParameterError
from .model import FEATURE_LAYERS, resolve_layers
from .notebook_utils import guess_file, list_audio_files, pick_file, resolve_audio_dir
from .texture import TEXTURE_LAYERS, resolve_texture_layers

#: Feature layers offered per network, in depth order.
NETWORK_LAYERS = {"genre_cnn": FEATURE_LAYERS, "texture": TEXTURE_LAYERS}

#: Form field -> TransferConfig field, for the fields a preset fills (None = the preset's).
PRESET_FIELDS = {
    "network": "network",
    "content_layers": "content_layers",
    "style_layers": "style_layers",
    "content_weight": "content_weight",
    "style_weight": "style_weight",
    "target_type": "init",
    "iterations_for_nst": "iterations",
    "initial_learning_rate": "learning_rate",
    "decay_steps": "decay_steps",
    "decay_rate": "decay_rate",
    "print_frequency": "print_frequency",
    "decay_on_excess": "decay_on_excess",
    "max_retries_on_excess": "max_retries",
    "history_buffer_size": "history_buffer_size",
}

#: Default field values: preset "default" (the tuned settings); the fields a preset fills
#: are None ("the preset's value"). ``preset="original"`` gives the original form's values.
DEFAULTS: dict[str, Any] = {
    "preset": "default",
    "network": None,
    "audio_dir": "",
    "content": "mus01_baroque_bach_brandenburg2.wav",
    "style": "amb04_stream.wav",
    "weights_file": "",
    "segments_to_include": 5,
    "content_layers": None,
    "style_layers": None,
    "content_weight": None,
    "style_weight": None,
    "target_type": None,
    "iterations_for_nst": None,
    "initial_learning_rate": None,
    "decay_steps": None,
    "decay_rate": None,
    "print_frequency": None,
    "decay_on_excess": None,
    "rollback_on_excess": True,
    "max_retries_on_excess": None,
    "history_buffer_size": None,
    "target_segments_to_reconstruct": 0,
    "play_content_and_style": True,
    "max_seconds": 0.0,
    "griffin_lim_iterations": ReconstructionConfig().n_iter,
    "output_format": None,
    "out_dir": "",
}


#: Style of the form: names never cut, status, notes and the step bar wrap instead of
#: being clipped (an HTML widget's text is one unbroken line otherwise).
FORM_CSS = """<style>
.amnst-form .amnst-heading { grid-column: 1 / -1; }
.amnst-form .amnst-heading .widget-html-content { white-space: normal; line-height: 1.4; }
.amnst-form .amnst-label .widget-html-content { white-space: nowrap; }
.amnst-form .amnst-side .widget-html-content { white-space: normal; overflow-wrap: anywhere; line-height: 1.4; }
.amnst-form .amnst-progress .widget-hbox { flex-wrap: wrap; max-width: 100%; }
.amnst-form .amnst-spinner { display: inline-block; width: 0.8em; height: 0.8em; vertical-align: middle;
  border: 2px solid #bbb; border-top-color: #1976d2; border-radius: 50%; animation: amnst-spin 0.8s linear infinite; }
@keyframes amnst-spin { to { transform: rotate(360deg); } }
</style>"""

#: What each field means (the tooltip of its label in the form). * = filled by the preset.
FIELD_HELP: dict[str, str] = {
    "preset": '"default" (this project\'s settings on the texture network), "melody" (more of the melody, '
              'less of the ambience\'s timbre) or "original" (the original form\'s values on its genre CNN): '
              "fills every field marked * that is left None (see config.PRESETS)",
    "network": '* "texture" or "genre_cnn"; differing from the preset\'s, the layers come from that '
               "network's preset",
    "audio_dir": "folder of audio files (the original's directory_path); empty: the bundled examples",
    "content": "the music: a file of audio_dir",
    "style": "the ambience: a file of audio_dir",
    "weights_file": "trained genre-CNN weights (.weights.h5 or the original's .npy); empty: none "
                    "(refused with the texture network)",
    "segments_to_include": "use at most this many 5 s segments (0: the whole clip)",
    "content_layers": "* feature layers of the network compared with the content (by name or index)",
    "style_layers": "* feature layers of the network compared with the style",
    "content_weight": "* weight of the content loss",
    "style_weight": "* weight of the style loss",
    "target_type": "* initial target: content, style, zero, random, mix or equalized (the content with the style's long-term spectrum)",
    "iterations_for_nst": "* optimisation steps",
    "initial_learning_rate": "* step size (0: the optimiser's default)",
    "decay_steps": "* steps between decays of the step size",
    "decay_rate": "* factor of each decay of the step size",
    "print_frequency": "* loss report interval (steps)",
    "decay_on_excess": "* halve the step size when a step overflows",
    "rollback_on_excess": "roll back on overflow (off: stop at the first overflow)",
    "max_retries_on_excess": "* rollbacks allowed per run",
    "history_buffer_size": "* good steps kept for rollbacks",
    "target_segments_to_reconstruct": "turn only the first N segments into audio (0: all)",
    "play_content_and_style": "show players for the inputs too",
    "max_seconds": "load only the first seconds of each file (0: all)",
    "griffin_lim_iterations": "Griffin-Lim iterations of the reconstruction",
    "output_format": "* follow: the content's rate and channels; mono22050: the transfer's own (original)",
    "out_dir": "folder for run folders (empty: write nothing)",
}


def _number(values: dict, name: str, kind=float) -> Any:
    value = values[name]
    if isinstance(value, bool) or value is None:
        raise ParameterError(f"{name} must be a number, got {value!r}")
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number, got {value!r}") from None
    if kind is float and not math.isfinite(number):
        raise ParameterError(f"{name} must be a finite number, got {value!r}")
    if kind is int and number != float(value):
        raise ParameterError(f"{name} must be a whole number, got {value!r}")
    return number


def _count_or_none(values: dict, name: str) -> int | None:
    """A 'how many' field where 0 (or None/empty) means all."""
    if values[name] in (None, ""):
        return None
    n = _number(values, name, int)
    if n < 0:
        raise ParameterError(f"{name} must be >= 0 (0 = all), got {n}")
    return n or None


def _layers(value, network: str = "genre_cnn") -> tuple[str, ...]:
    """Layer names or indices resolved in ``network``'s layers (LayerError lists the valid ones)."""
    if value is None:
        return ()
    return (resolve_texture_layers if network == "texture" else resolve_layers)(value)


def _preset_name(value) -> str:
    name = str(value if value not in (None, "") else DEFAULTS["preset"]).strip().lower()
    preset(name)  # raises, naming the presets
    return name


def _network(value, preset_name: str) -> str:
    if value in (None, ""):
        return preset(preset_name).network
    network = str(value).strip().lower()
    if network not in NETWORKS:
        raise ParameterError(f"network must be one of {NETWORKS}, got {value!r}")
    return network


def preset_values(name: str = "default", network: str | None = None) -> dict[str, Any]:
    """The form values of preset ``name`` (see :data:`config.PRESETS <amnst_lib.config.PRESETS>`).

    With a ``network`` other than the preset's, the layers are those of that network's
    preset (``texture``: ``default``; ``genre_cnn``: ``original``), the rest the preset's.

    Returns
    -------
    dict
        A value for every field of :data:`PRESET_FIELDS`; layers by name.
    """
    name = _preset_name(name)
    t = preset(name)
    network = _network(network, name)
    layers_from = switch_network(t, network)
    out = {form: getattr(t, field) for form, field in PRESET_FIELDS.items()}
    out["network"] = network
    out["content_layers"] = list(_layers(layers_from.content_layers, network))
    out["style_layers"] = list(_layers(layers_from.style_layers, network))
    out["initial_learning_rate"] = t.learning_rate or 0.0
    out["output_format"] = OUTPUT_PRESETS[name].format
    return out


def _filled(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` over :data:`DEFAULTS`, with the None preset fields taken from the preset."""
    v = {**DEFAULTS, **values}
    v["preset"] = _preset_name(v["preset"])
    pv = preset_values(v["preset"], v["network"])
    for name in [*PRESET_FIELDS, "output_format"]:
        if v[name] is None:
            v[name] = pv[name]
    return v


def config_from_values(values: dict[str, Any]) -> RunConfig:
    """The RunConfig for a set of form field values (missing fields take :data:`DEFAULTS`).

    Raises
    ------
    AmnstError
        ParameterError or LayerError naming the field that is wrong.
    """
    unknown = sorted(set(values) - set(DEFAULTS))
    if unknown:
        raise ParameterError(f"unknown form field(s) {unknown}; known: {sorted(DEFAULTS)}")
    v = _filled(values)
    network = _network(v["network"], v["preset"])
    base = switch_network(preset(v["preset"]), network)
    if str(v["weights_file"] or "").strip() and network != "genre_cnn":
        raise ParameterError(
            f"weights_file applies to the genre CNN only; the {network} network (preset {v['preset']!r}) is "
            f"random by design: empty weights_file, or choose preset 'original' (or network 'genre_cnn')")
    lr = v["initial_learning_rate"]
    lr = None if lr in (None, "", 0, 0.0) else _number(v, "initial_learning_rate")
    if lr is not None and lr <= 0:
        raise ParameterError(f"initial_learning_rate must be > 0 (0 = the optimiser's default), got {lr}")
    history = _number(v, "history_buffer_size", int)
    retries = _number(v, "max_retries_on_excess", int)
    transfer = base.replace(
        network=network,
        content_layers=_layers(v["content_layers"], network),
        style_layers=_layers(v["style_layers"], network),
        content_weight=_number(v, "content_weight"),
        style_weight=_number(v, "style_weight"),
        iterations=_number(v, "iterations_for_nst", int),
        init=str(v["target_type"]).strip().lower(),
        learning_rate=lr,
        decay_steps=_number(v, "decay_steps", int),
        decay_rate=_number(v, "decay_rate"),
        max_segments=_count_or_none(v, "segments_to_include"),
        history_buffer_size=history,
        rollback_steps=max(1, min(base.rollback_steps, history)),
        max_retries=retries if bool(v["rollback_on_excess"]) else 0,
        decay_on_excess=bool(v["decay_on_excess"]),
        print_frequency=_number(v, "print_frequency", int),
    )
    reconstruction = ReconstructionConfig(n_iter=_number(v, "griffin_lim_iterations", int))
    return RunConfig(analysis=AnalysisConfig(), transfer=transfer, reconstruction=reconstruction,
                     output=OutputConfig(format=str(v["output_format"]).strip().lower()))


def resolve_inputs(values: dict[str, Any]) -> tuple[Path, Path]:
    """Content and style file paths from ``audio_dir`` and the two choices (name or number)."""
    v = {**DEFAULTS, **values}
    folder = resolve_audio_dir(v["audio_dir"])
    files = list_audio_files(folder)
    return pick_file(v["content"], files, "content"), pick_file(v["style"], files, "style")


def run_from_values(values: dict[str, Any], *, progress: bool | type = True, model=None, on_phase=None):
    """Run one style transfer from form field values, as the Run button does.

    The run folder is ``out_dir/<content>__<style>`` (replaced if it exists); with an
    empty ``out_dir`` nothing is written. ``on_phase`` is passed to
    :func:`~amnst_lib.pipeline.run_transfer` (called with each phase's name).

    Returns
    -------
    amnst_lib.pipeline.RunResult

    Raises
    ------
    AmnstError
        For anything the user can fix (the message says what).
    """
    from .pipeline import run_transfer

    v = {**DEFAULTS, **values}
    config = config_from_values(v)
    content, style = resolve_inputs(v)
    weights = str(v["weights_file"]).strip() or None
    if weights is not None and not Path(weights).expanduser().exists():
        in_folder = resolve_audio_dir(v["audio_dir"]) / weights
        if in_folder.exists():
            weights = str(in_folder)
    max_seconds = None if v["max_seconds"] in (None, "", 0, 0.0) else _number(v, "max_seconds")
    if max_seconds is not None and max_seconds <= 0:
        raise ParameterError(f"max_seconds must be > 0 (0 = whole clip), got {max_seconds}")
    out_root = str(v["out_dir"]).strip()
    out_dir = Path(out_root).expanduser() / f"{content.stem}__{style.stem}" if out_root else None
    return run_transfer(content, style, out_dir, config=config, weights=weights, overwrite=True,
                        progress=progress, max_seconds=max_seconds,
                        segments_to_reconstruct=_count_or_none(v, "target_segments_to_reconstruct"),
                        model=model, on_phase=on_phase)


class TransferForm:
    """The ipywidgets form: fields, a Run button, a status and messages beside them, results below.

    Attributes
    ----------
    widget : ipywidgets.Widget
        The whole form; ``display(form.widget)``.
    controls : dict of str to ipywidgets.Widget
        One control per field of :data:`DEFAULTS`.
    message : str
        The last error message ('' after a successful run).
    notice : str
        The last note that is not an error: which files were chosen for a new folder, the
        warnings of the last run ('' when there is none).
    phases : list of (str, float)
        The phases of the last run with their seconds, in order.
    result : RunResult or None
        The last successful run.
    """

    def __init__(self, audio_dir: str | Path = "", values: dict[str, Any] | None = None,
                 out_dir: str | Path = ""):
        import ipywidgets as w

        from .device import describe_device

        self.w = w
        self.result = None
        self.message = ""
        self.notice = ""
        self.phases: list[tuple[str, float]] = []
        self._current: tuple[str, float] | None = None
        self._started = 0.0
        self._started_at = ""
        self._state = "ready"
        init = {**DEFAULTS, **(values or {})}
        if str(audio_dir or ""):
            init["audio_dir"] = str(audio_dir)
        if str(out_dir or ""):
            init["out_dir"] = str(out_dir)
        unknown = sorted(set(init) - set(DEFAULTS))
        if unknown:
            raise ParameterError(f"unknown form field(s) {unknown}; known: {sorted(DEFAULTS)}")
        init = _filled(init)
        init["network"] = _network(init["network"], init["preset"])
        self._updating = False
        self._refreshing = False
        full = w.Layout(width="auto")  # a grid item: stretches over its column
        layer_options = _layer_options(init["network"])

        def slider(cls, name, lo, hi, step=1, **kw):
            return cls(value=_clamp(init[name], lo, hi), min=lo, max=hi, step=step, layout=full,
                       continuous_update=False, **kw)

        c = {
            "preset": w.Dropdown(options=sorted(PRESETS), value=init["preset"], layout=full),
            "network": w.Dropdown(options=list(NETWORKS), value=init["network"], layout=full),
            # Not continuous: a half-typed path would empty the file lists at every keystroke.
            "audio_dir": w.Text(value=str(init["audio_dir"]), placeholder="empty: the bundled examples",
                                continuous_update=False, layout=full),
            "content": w.Dropdown(layout=full),
            "style": w.Dropdown(layout=full),
            "weights_file": w.Text(value=str(init["weights_file"] or ""),
                                   placeholder="genre CNN only; empty: seeded random weights", layout=full),
            "segments_to_include": slider(w.IntSlider, "segments_to_include", 0, 24),
            # One row per layer: every layer, and so every chosen one, is in view (with
            # fewer rows a preset's deeper layers, e.g. pitch and flux, were selected out of sight).
            "content_layers": w.SelectMultiple(options=layer_options, rows=len(layer_options), layout=full),
            "style_layers": w.SelectMultiple(options=layer_options, rows=len(layer_options), layout=full),
            "content_weight": w.FloatLogSlider(value=_clamp(init["content_weight"], 1e-4, 1e4), base=10, min=-4, max=4,
                                               step=0.1, layout=full, continuous_update=False),
            "style_weight": w.FloatLogSlider(value=_clamp(init["style_weight"], 1e-4, 1e4), base=10, min=-4, max=4,
                                             step=0.1, layout=full, continuous_update=False),
            "target_type": w.Dropdown(options=list(INITS), value=init["target_type"], layout=full),
            "iterations_for_nst": slider(w.IntSlider, "iterations_for_nst", 0, 2000),
            "initial_learning_rate": w.BoundedFloatText(value=float(init["initial_learning_rate"] or 0.0), min=0.0,
                                                        max=10.0, step=0.001, layout=full),
            "decay_steps": slider(w.IntSlider, "decay_steps", 1, 1000),
            "decay_rate": slider(w.FloatSlider, "decay_rate", 0.01, 2.0, step=0.01),
            "print_frequency": slider(w.IntSlider, "print_frequency", 1, 500),
            "decay_on_excess": w.Checkbox(value=bool(init["decay_on_excess"]), indent=False),
            "rollback_on_excess": w.Checkbox(value=bool(init["rollback_on_excess"]), indent=False),
            "max_retries_on_excess": slider(w.IntSlider, "max_retries_on_excess", 0, 100),
            "history_buffer_size": slider(w.IntSlider, "history_buffer_size", 1, 100),
            "target_segments_to_reconstruct": slider(w.IntSlider, "target_segments_to_reconstruct", 0, 24),
            "play_content_and_style": w.Checkbox(value=bool(init["play_content_and_style"]), indent=False),
            "max_seconds": w.BoundedFloatText(value=float(init["max_seconds"] or 0.0), min=0.0, max=3600.0,
                                              step=1.0, layout=full),
            "griffin_lim_iterations": slider(w.IntSlider, "griffin_lim_iterations", 1, 500),
            "output_format": w.Dropdown(options=list(OUTPUT_FORMATS), value=init["output_format"], layout=full),
            "out_dir": w.Text(value=str(init["out_dir"] or ""), placeholder="empty: write nothing", layout=full),
        }
        for name, control in c.items():
            control.add_class(f"amnst-field-{name}")
        self.controls = c

        self.run_button = w.Button(description="Run", button_style="primary", icon="play")
        self.run_button.add_class("amnst-run")
        self.run_button.on_click(lambda _b: self.run())
        self.device = w.HTML(f"<small>Runs on: {html.escape(describe_device())}</small>")
        self.status = w.HTML()
        self.message_box = w.HTML()
        self.notice_box = w.HTML()
        # The step bar: our own widgets, updated by a tqdm class (no captured Output: a
        # headless runner such as papermill answers captured output on the kernel's shell
        # channel, which lost the cell's reply and hung the run).
        self.progress_bar = w.IntProgress(value=0, min=0, max=1, layout=w.Layout(width="100%"))
        self.progress_text = w.HTML()
        self.progress = w.VBox([self.progress_bar, self.progress_text],
                               layout=w.Layout(width="100%", display="none"))
        self.output = w.Output()
        for widget, cls in ((self.device, "amnst-device"), (self.status, "amnst-status"),
                            (self.message_box, "amnst-message"), (self.notice_box, "amnst-notice"),
                            (self.progress, "amnst-progress"), (self.output, "amnst-results")):
            widget.add_class(cls)

        self._wanted = self._initial_choices(init)
        self._refresh_files()
        for name in ("content_layers", "style_layers"):
            self._set_layers(name, init[name])
        c["audio_dir"].observe(lambda _change: self._refresh_files(), names="value")
        for name in ("content", "style"):
            c[name].observe(lambda change, name=name: self._remember_choice(name, change["new"]), names="value")
        c["preset"].observe(lambda change: self._apply_preset(change["new"]), names="value")
        c["network"].observe(lambda change: self._apply_network(change["new"]), names="value")
        c["weights_file"].observe(lambda _change: self._check_combination(), names="value")

        hint = w.HTML("<small>preset fills the fields marked * ('default': this project's settings on the texture "
                      "network; 'melody': more of the melody, less of the ambience; 'original': the original's "
                      "genre CNN). "
                      "Numbers 0 mean 'all' (segments, seconds) or 'default' (learning rate). Hold Ctrl/Cmd "
                      "to pick several layers. Hover over a name for its meaning.</small>")
        hint.add_class("amnst-heading")

        def section(title, names):
            heading = w.HTML(f"<b>{title}</b>")
            heading.add_class("amnst-heading")
            cells = [heading]
            for n in names:
                mark = " *" if n in PRESET_FIELDS else ""
                label = w.HTML(f"<span title='{html.escape(FIELD_HELP[n], quote=True)}'>{n}{mark}</span>")
                label.add_class("amnst-label")
                cells += [label, c[n]]
            return cells

        # One grid: the names in a column as wide as the longest, the controls beside them.
        fields = w.GridBox(
            section("Audio", ["audio_dir", "content", "style", "max_seconds", "segments_to_include",
                              "play_content_and_style"])
            + section("Network", ["preset", "network", "weights_file", "content_layers", "style_layers",
                                  "content_weight", "style_weight"])
            + section("Optimisation", ["target_type", "iterations_for_nst", "initial_learning_rate", "decay_steps",
                                       "decay_rate", "print_frequency", "decay_on_excess", "rollback_on_excess",
                                       "max_retries_on_excess", "history_buffer_size"])
            + section("Output", ["target_segments_to_reconstruct", "griffin_lim_iterations", "output_format", "out_dir"])
            + [hint],
            layout=w.Layout(grid_template_columns="max-content minmax(180px, 1fr)", grid_gap="2px 12px",
                            align_items="center", flex="1 1 560px", max_width="760px", margin="0 24px 12px 0"))
        side = w.VBox([w.HTML(FORM_CSS), self.run_button, self.device, self.status, self.message_box, self.notice_box, self.progress],
                      layout=w.Layout(flex="1 1 360px", min_width="340px", max_width="640px"))
        side.add_class("amnst-side")
        # Wraps: in a narrow notebook the side column goes under the fields instead of shrinking.
        top = w.HBox([fields, side], layout=w.Layout(flex_flow="row wrap", align_items="flex-start", width="100%"))
        self.widget = w.VBox([top, self.output])
        self.widget.add_class("amnst-form")
        self._check_combination()

    # -- fields -------------------------------------------------------------------------

    def _initial_choices(self, init: dict[str, Any]) -> dict[str, str]:
        """The content/style file names the initial values ask for (by name or number)."""
        try:
            files = list_audio_files(resolve_audio_dir(init["audio_dir"]))
        except AmnstError:
            files = []
        wanted = {}
        for name in ("content", "style"):
            try:
                wanted[name] = pick_file(init[name], files, name).name
            except AmnstError:
                wanted[name] = str(init[name] or "")  # not here: _refresh_files chooses and says so
        return wanted

    def _remember_choice(self, name: str, value) -> None:
        if not self._refreshing and value:
            self._wanted[name] = value

    def _refresh_files(self) -> None:
        """Fill the content/style dropdowns from the audio folder.

        The user's choices are kept while they exist in the folder (also across a folder
        that was wrong for a while); otherwise a file that looks like music becomes the
        content and one that looks like ambience the style, and the notice says so.
        """
        c = self.controls
        try:
            files = list_audio_files(resolve_audio_dir(c["audio_dir"].value))
            self._show_message("")
        except AmnstError as e:
            files = []
            self._show_message(str(e))
        options = [(f"{i}: {p.name}", p.name) for i, p in enumerate(files)]
        names = [p.name for p in files]
        chosen, notes = {}, []
        for name, role in (("content", "music"), ("style", "ambience")):
            wanted = self._wanted.get(name)
            if wanted in names or not names:
                chosen[name] = wanted if names else None
                continue
            pick, reason = guess_file(files, role, avoid=chosen.get("content"))
            chosen[name] = pick.name
            before = f"{wanted!r} is not in this folder" if wanted else "nothing was chosen"
            notes.append(f"{name}: chose {pick.name} ({reason}; {before})")
        self._refreshing = True
        try:
            for name in ("content", "style"):
                c[name].options = options
                c[name].value = chosen[name]
        finally:
            self._refreshing = False
        if notes:
            self._show_notice("; ".join(notes))
        elif self.notice.startswith(("content: chose", "style: chose")):
            self._show_notice("")

    def _set_layers(self, name: str, spec) -> None:
        self.controls[name].value = _layers(spec, self.controls["network"].value)

    def _set_network_layers(self, network: str, content, style) -> None:
        """Offer ``network``'s layers in both multi-selects and select the ones given."""
        for name, spec in (("content_layers", content), ("style_layers", style)):
            control = self.controls[name]
            control.value = ()
            control.options = _layer_options(network)
            control.rows = len(control.options)
            control.value = _layers(spec, network)

    def _apply_preset(self, name: str) -> None:
        """Set every field a preset fills (network, layers, weights, optimisation)."""
        values = preset_values(name)
        c = self.controls
        self._updating = True
        try:
            c["network"].value = values["network"]
        finally:
            self._updating = False
        self._set_network_layers(values["network"], values["content_layers"], values["style_layers"])
        for field in PRESET_FIELDS:
            if field in ("network", "content_layers", "style_layers"):
                continue
            control = c[field]
            value = values[field]
            if isinstance(control, self.w.FloatLogSlider):
                value = _clamp(value, control.base ** control.min, control.base ** control.max)
            elif hasattr(control, "min") and hasattr(control, "max") and not isinstance(value, bool):
                value = _clamp(value, control.min, control.max)
            control.value = float(value) if field == "initial_learning_rate" else value
        c["output_format"].value = values["output_format"]
        self._check_combination()

    def _apply_network(self, network: str) -> None:
        """A new network: offer its layers, selected as in its preset."""
        if self._updating:
            return
        values = preset_values(self.controls["preset"].value, network)
        self._set_network_layers(network, values["content_layers"], values["style_layers"])
        self._check_combination()

    def _check_combination(self) -> None:
        """Show (or clear) the message for weights given with the texture network."""
        c = self.controls
        weights = str(c["weights_file"].value or "").strip()
        bad = bool(weights) and c["network"].value != "genre_cnn"
        if bad:
            self._show_message(f"weights_file applies to the genre CNN only; the {c['network'].value} network "
                               f"is random by design: empty weights_file, or choose preset 'original' "
                               f"(or network 'genre_cnn')")
        elif self.message.startswith("weights_file applies to the genre CNN only"):
            self._show_message("")

    def set_values(self, **values) -> None:
        """Set fields programmatically (content/style by name or number, layers by name or index).

        Raises
        ------
        AmnstError
            For an unknown field, a layer that does not exist or a file not in the folder.
        """
        unknown = sorted(set(values) - set(DEFAULTS))
        if unknown:
            raise ParameterError(f"unknown form field(s) {unknown}; known: {sorted(DEFAULTS)}")
        values = dict(values)
        if "audio_dir" in values:
            self.controls["audio_dir"].value = str(values.pop("audio_dir") or "")
        if "preset" in values:
            name = _preset_name(values.pop("preset"))
            if name == self.controls["preset"].value:
                self._apply_preset(name)  # re-apply: the preset's values, as choosing it does
            self.controls["preset"].value = name
        if "network" in values:
            network = _network(values.pop("network"), self.controls["preset"].value)
            if network != self.controls["network"].value:
                self.controls["network"].value = network
        filled = preset_values(self.controls["preset"].value, self.controls["network"].value)
        for name, value in values.items():
            control = self.controls[name]
            if value is None and name in PRESET_FIELDS:
                value = filled[name]
            if name in ("content", "style"):
                files = [Path(v) for _, v in control.options]
                control.value = pick_file(value, files, name).name
            elif name in ("content_layers", "style_layers"):
                self._set_layers(name, value)
            elif name in ("initial_learning_rate", "max_seconds"):
                control.value = float(value or 0.0)
            else:
                control.value = value

    def values(self) -> dict[str, Any]:
        """The current field values, as :func:`config_from_values` takes them."""
        out = {name: control.value for name, control in self.controls.items()}
        for name in ("content_layers", "style_layers"):
            out[name] = list(out[name])
        return out

    def to_run_config(self) -> RunConfig:
        """The RunConfig of the current values.

        Raises
        ------
        AmnstError
            If a value is refused (the message names the field).
        """
        if not self.controls["content"].options:
            resolve_audio_dir(self.controls["audio_dir"].value)  # raises the folder's own message
            raise ParameterError("the audio folder has no audio files (WAV, FLAC, OGG, MP3)")
        return config_from_values(self.values())

    # -- running ------------------------------------------------------------------------

    def _show_message(self, text: str) -> None:
        """Show (or with '' clear) the error message; clearing it also clears "Not run".

        A message that appears after a finished run (a bad folder, a field combination)
        replaces that run's "Done" or "Failed" and its step bar with "Not ready": the last
        run's status beside a new error read as if all were well.
        """
        self.message = text
        if hasattr(self, "message_box"):
            self.message_box.value = (f"<div style='color:#b00020;border-left:3px solid #b00020;padding-left:8px'>"
                                      f"{html.escape(text)}</div>" if text else "")
        if text and self._state in ("done", "failed"):
            self._finish_status("<b>Not ready</b>: see the message below (the results shown are "
                                "the last run's).", "not run")
            self.progress.layout.display = "none"
        if not text and self._state == "not run":
            self._state = "ready"
            if hasattr(self, "status"):
                self.status.value = ""

    def _show_notice(self, text: str) -> None:
        """Show (or with '' clear) a note that is not an error."""
        self.notice = text
        if hasattr(self, "notice_box"):
            self.notice_box.value = (f"<div style='color:#555;border-left:3px solid #888;padding-left:8px'>"
                                     f"{html.escape(text)}</div>" if text else "")

    # -- status -------------------------------------------------------------------------

    def _phase(self, name: str) -> None:
        """A new phase of the run starts: close the current one and show the new one.

        The status lists the finished phases with their seconds and the running one with a
        spinner (animated by the browser: no thread in the kernel, which would race
        headless runners such as papermill).
        """
        self._close_phase()
        self._current = (name, time.perf_counter())
        rows = [f"<li>{html.escape(n)} <small>{s:.1f} s</small></li>" for n, s in self.phases]
        rows.append(f"<li><b>{html.escape(name)}</b> <span class='amnst-spinner'></span></li>")
        self.status.value = (f"<b>Running</b> <small>since {self._started_at}</small>"
                             f"<ol style='margin:2px 0;padding-left:22px'>{''.join(rows)}</ol>")

    def _close_phase(self) -> None:
        if self._current is not None:
            self.phases.append((self._current[0], time.perf_counter() - self._current[1]))
        self._current = None

    def _finish_status(self, html_text: str, state: str) -> None:
        self._state = state
        self.status.value = html_text

    # -- running ------------------------------------------------------------------------

    def _bar_class(self) -> type:
        """A tqdm class that draws the transfer's steps into the form's own bar and line."""
        from tqdm.std import tqdm

        form = self

        class FormBar(tqdm):
            monitor_interval = 0  # no tqdm monitor thread: widgets change from this thread only

            def __init__(self, *args, **kwargs):
                kwargs.setdefault("file", io.StringIO())
                kwargs.setdefault("mininterval", 0.5)
                kwargs.setdefault("bar_format", "{desc}: {n_fmt}/{total_fmt} {unit}s "
                                                "[{elapsed} elapsed, {remaining} left{postfix}]")
                super().__init__(*args, **kwargs)

            def display(self, msg=None, pos=None):
                d = self.format_dict
                form.progress_bar.max = max(int(d["total"] or 1), 1)
                form.progress_bar.value = min(int(d["n"]), form.progress_bar.max)
                form.progress_text.value = f"<small>{html.escape(str(self))}</small>"
                form.progress.layout.display = None
                return True

        return FormBar

    def _earlier_note(self) -> str:
        """Said beside a run that stopped: results still shown under the form are an earlier run's."""
        return " (the results shown are from an earlier run)" if self.output.outputs else ""

    def run(self, show_results: bool = True):
        """The Run button: check the values, run the transfer, show the result.

        Errors the user can fix are shown beside the form and return None; they are never
        raised. Each phase is named in the status while it runs. With ``show_results`` the
        players, figures and quality table replace the previous result under the form once
        they are drawn, and "Done" appears; a run that stops before that (a refused value,
        a file that cannot be read, a folder that cannot be written, an error) leaves the
        previous result where it was, and the status says that it is an earlier run's.

        Returns
        -------
        RunResult or None
        """
        self._show_message("")
        self._show_notice("")
        self.run_button.disabled = True
        self.progress.layout.display = "none"
        self.phases, self._current = [], None
        self._started = time.perf_counter()
        self._started_at = time.strftime("%H:%M:%S")
        self._state = "running"
        notes: list[str] = []
        result = None
        try:
            self._phase("checking the values")
            self.to_run_config()
            with _collect_notes(notes):
                result = run_from_values(self.values(), progress=self._bar_class(), on_phase=self._phase)
            self.result = result
            if show_results:
                from .notebook_utils import output_bundles, transfer_result_items

                self._phase("drawing the results")
                play = bool(self.controls["play_content_and_style"].value)
                self.output.outputs = output_bundles(transfer_result_items(result, play_inputs=play))
            self._close_phase()
        except AmnstError as e:
            self._show_message(in_form_words(str(e)))
            # A diverged run did run (its last good result is in its folder); the rest stopped before.
            what = "Stopped" if isinstance(e, DivergenceError) else "Not run"
            self._finish_status(f"<b>{what}</b>: see the message below{self._earlier_note()}.", "not run")
            return None
        except BaseException as e:
            self._finish_status(f"<b>Failed</b>: {html.escape(type(e).__name__)}: {html.escape(str(e))}"
                                f"{self._earlier_note()}", "failed")
            raise
        finally:
            self.run_button.disabled = False
            if notes:
                self._show_notice("Note: " + " ".join(dict.fromkeys(notes)))
        seconds = time.perf_counter() - self._started
        where = f" → {html.escape(str(result.wav_path))}" if result.wav_path else ""
        summary = ", ".join(f"{html.escape(n)} {s:.1f} s" for n, s in self.phases)
        self._finish_status(f"<b>Done</b> in {seconds:.1f} s{where}<br><small>{summary}</small>", "done")
        return result


#: The command line's names in the library's messages, and the form's for the same thing:
#: whole phrases only, so a path or an unknown phrase that holds "-o" is left as it is.
_FORM_WORDS = ((re.compile(r"give a new name with -o \(e\.g\. -o [^)]*\)"), "set another out_dir"),
               (re.compile(r"give a shorter name with -o"), "set a shorter out_dir"),
               (re.compile(r"give a run folder name with -o"), "set another out_dir"),
               (re.compile(r"([Cc])hoose (?:another (?:output )?folder|a writable (?:folder|place)) with -o"),
                lambda m: ("S" if m.group(1) == "C" else "s") + "et another out_dir"),
               (re.compile(r"--overwrite only replaces run folders"), "the form replaces only run folders of amnst"))


def in_form_words(message: str) -> str:
    """A library message as a form user reads it: ``out_dir`` where the command line says ``-o``.

    The run's checks (:mod:`amnst_lib.destination`) name the command line's flags; the form
    has a field for the same thing, and no ``-o``.
    """
    for pattern, words in _FORM_WORDS:
        message = pattern.sub(words, message)
    return message


class _NoteHandler(logging.Handler):
    def __init__(self, notes: list[str]):
        super().__init__(logging.WARNING)
        self.notes = notes

    def emit(self, record: logging.LogRecord) -> None:
        self.notes.append(record.getMessage())


@contextmanager
def _collect_notes(notes: list[str]):
    """Collect the library's logged warnings and Python warnings into ``notes`` (not stderr)."""
    logger = logging.getLogger("amnst")  # the library's logger (pipeline.log)
    handler, propagate = _NoteHandler(notes), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            yield notes
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
        notes += [f"{w.category.__name__}: {w.message}" for w in caught]


def _layer_options(network: str) -> list[tuple[str, str]]:
    return [(f"{i}: {name}", name) for i, name in enumerate(NETWORK_LAYERS[network])]


def _clamp(value, lo, hi):
    try:
        return min(max(value, lo), hi)
    except TypeError:
        return lo


def build_transfer_form(audio_dir: str | Path = "", values: dict[str, Any] | None = None,
                        out_dir: str | Path = "") -> TransferForm:
    """Build the style-transfer form.

    Parameters
    ----------
    audio_dir : str or Path
        Folder whose audio files fill the content and style dropdowns ('' = the examples).
    values : dict or None
        Initial field values (see :data:`DEFAULTS`; content/style by name or number).
    out_dir : str or Path
        Folder for the run folders ('' = write nothing).

    Returns
    -------
    TransferForm
        ``display(form.widget)`` to show it.
    """
    return TransferForm(audio_dir, values, out_dir)
