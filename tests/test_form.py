"""The style-transfer form of notebook 03, driven programmatically (no browser, no kernel)."""

from __future__ import annotations

import pytest

pytest.importorskip("ipywidgets")

from amnst_lib.config import PRESETS, RunConfig  # noqa: E402
from amnst_lib.errors import AmnstError, LayerError, ParameterError  # noqa: E402
from amnst_lib.form import DEFAULTS, build_transfer_form, config_from_values  # noqa: E402
from amnst_lib.model import FEATURE_LAYERS  # noqa: E402
from amnst_lib.texture import TEXTURE_LAYERS  # noqa: E402
from amnst_lib.notebook_utils import find_examples_dir, list_audio_files  # noqa: E402

FAST = dict(iterations_for_nst=2, max_seconds=3.0, segments_to_include=1, griffin_lim_iterations=4,
            print_frequency=1)

#: Every field of the original Colab form that belongs in the form (the Colab cell holds
#: mount_drive/pwd; reset_nst_inputs is unnecessary: every run reloads its inputs).
ORIGINAL_FIELDS = {"segments_to_include", "content_layers", "style_layers", "content_weight", "style_weight",
                   "target_type", "iterations_for_nst", "initial_learning_rate", "decay_steps", "decay_rate",
                   "print_frequency", "decay_on_excess", "rollback_on_excess", "max_retries_on_excess",
                   "history_buffer_size", "target_segments_to_reconstruct", "play_content_and_style",
                   "content", "style"}


def test_defaults_give_the_tuned_preset():
    cfg = config_from_values({})
    assert isinstance(cfg, RunConfig)
    t = cfg.transfer
    d = PRESETS["default"]
    assert t.network == "texture" and t.max_segments == 5
    assert t == d.replace(max_segments=5)  # the form's segments_to_include (5) is the only difference


def test_original_preset_gives_the_original_settings():
    cfg = config_from_values({"preset": "original"})
    t = cfg.transfer
    assert t.network == "genre_cnn"
    assert t.content_layers == ("identity", "conv1") and t.style_layers == ("conv2", "conv4", "conv6", "conv8")
    assert (t.content_weight, t.style_weight, t.iterations, t.init) == (50.0, 10.0, 100, "content")
    assert t.max_segments == 5 and t.learning_rate is None
    # The form shows the original Colab form's defaults when the preset is chosen.
    form = build_transfer_form(values={"preset": "original"})
    v = form.values()
    assert (v["network"], v["content_layers"], v["style_layers"]) == (
        "genre_cnn", ["identity", "conv1"], ["conv2", "conv4", "conv6", "conv8"])
    assert (v["content_weight"], v["style_weight"], v["target_type"], v["iterations_for_nst"],
            v["initial_learning_rate"], v["segments_to_include"]) == (50.0, 10.0, "content", 100, 0.0, 5)
    assert form.to_run_config().transfer == t


def test_switching_preset_or_network_changes_the_layer_options():
    form = build_transfer_form()
    layer_names = [v for _, v in form.controls["content_layers"].options]
    assert layer_names == list(TEXTURE_LAYERS) and form.values()["network"] == "texture"
    d = PRESETS["default"]
    form.controls["preset"].value = "original"  # as a user's choice does
    for name in ("content_layers", "style_layers"):
        assert [v for _, v in form.controls[name].options] == list(FEATURE_LAYERS)
    v = form.values()
    assert v["network"] == "genre_cnn" and v["content_layers"] == ["identity", "conv1"]
    assert v["iterations_for_nst"] == 100 and v["content_weight"] == pytest.approx(50.0)
    form.controls["network"].value = "texture"
    assert [v for _, v in form.controls["style_layers"].options] == list(TEXTURE_LAYERS)
    assert form.values()["style_layers"] == list(d.style_layers)
    form.controls["preset"].value = "default"
    v = form.values()
    assert (v["network"], v["content_layers"], v["iterations_for_nst"], v["initial_learning_rate"]) == (
        "texture", list(d.content_layers), d.iterations, pytest.approx(d.learning_rate))
    # Headless, the network field alone switches the layers in the same way.
    t = config_from_values({"network": "genre_cnn"}).transfer
    assert t.network == "genre_cnn" and t.content_layers == ("identity", "conv1") and t.iterations == d.iterations


def test_form_has_the_original_fields_and_lists_the_folder():
    form = build_transfer_form()
    assert ORIGINAL_FIELDS <= set(form.controls)
    files = [p.name for p in list_audio_files(find_examples_dir())]
    assert [v for _, v in form.controls["content"].options] == files
    assert form.values()["content"] == "mus01_baroque_bach_brandenburg2.wav"
    assert form.values()["style"] == "amb04_stream.wav"
    assert form.widget is not None


def test_values_round_trip_to_a_run_config():
    form = build_transfer_form()
    form.set_values(content=2, style="amb07_fireplace", preset="original", content_layers=[0, "conv3"],
                    style_layers="4, 8",
                    content_weight=5.0, style_weight=100.0, target_type="random", iterations_for_nst=7,
                    initial_learning_rate=0.05, rollback_on_excess=False, target_segments_to_reconstruct=2)
    v = form.values()
    assert v["content"] == "mus01_baroque_bach_brandenburg2.wav" and v["style"] == "amb07_fireplace.wav"
    t = form.to_run_config().transfer
    assert t.content_layers == ("identity", "conv3") and t.style_layers == ("conv2", "conv4")
    assert (t.init, t.iterations, t.learning_rate, t.max_retries) == ("random", 7, 0.05, 0)
    assert t.content_weight == pytest.approx(5.0) and t.style_weight == pytest.approx(100.0)
    assert t.network == "genre_cnn"
    form.set_values(preset="default", content_layers=[3], style_layers="logmel, wide")
    t = form.to_run_config().transfer
    assert t.network == "texture" and t.content_layers == ("wide",) and t.style_layers == ("logmel", "wide")


def test_run_button_writes_an_output_wav(tmp_path):
    form = build_transfer_form(out_dir=tmp_path)
    form.set_values(**FAST)
    form.run_button.click()  # the Run callback, as a user's click invokes it
    assert form.message == "", form.message
    result = form.result
    assert result is not None and result.wav_path is not None and result.wav_path.is_file()
    assert result.wav_path.parent.parent == tmp_path
    assert result.record["config"]["transfer"]["iterations"] == 2
    assert "Done" in form.status.value


@pytest.mark.parametrize("change, expected", [
    (dict(content_layers=[], style_layers=[]), "at least one"),
    (dict(audio_dir="/no/such/folder"), "no such folder"),
    (dict(preset="original", weights_file="/no/such/weights.npy"), "weights"),
    (dict(weights_file="/no/such/weights.npy"), "genre cnn only"),  # the default preset's texture network
    (dict(preset="original", network="texture", weights_file="w.npy"), "genre cnn only"),
])
def test_invalid_values_give_a_message_not_an_exception(tmp_path, change, expected):
    form = build_transfer_form(out_dir=tmp_path)
    form.set_values(**FAST)
    form.set_values(**change)
    assert form.run() is None
    assert expected in form.message.lower()
    assert expected.split()[0] in form.message_box.value.lower()
    assert form.result is None
    assert not list(tmp_path.rglob("output.wav"))


def test_to_run_config_raises_library_errors():
    form = build_transfer_form()
    form.set_values(content_layers=[], style_layers=[])
    with pytest.raises(ParameterError):
        form.to_run_config()
    with pytest.raises(LayerError, match="valid layers: 0=mel, 1=logmel, 2=bands, 3=wide"):
        config_from_values({"content_layers": ["conv9"]})
    with pytest.raises(LayerError, match="conv9"):
        config_from_values({"preset": "original", "content_layers": ["conv9"]})
    with pytest.raises(ParameterError, match="preset"):
        config_from_values({"preset": "tuned"})
    with pytest.raises(ParameterError, match="genre CNN only"):
        config_from_values({"weights_file": "w.weights.h5"})
    with pytest.raises(ParameterError):
        config_from_values({"iterations_for_nst": 2.5})
    with pytest.raises(ParameterError):
        config_from_values({"no_such_field": 1})
    with pytest.raises(AmnstError):
        form.set_values(content="not_there.wav")


def test_defaults_cover_every_control():
    form = build_transfer_form()
    assert set(form.values()) == set(DEFAULTS)


def test_choosing_the_other_network_gives_a_runnable_config():
    """Network genre_cnn under preset 'default' must not keep the texture-only stats layers."""
    from amnst_lib.transfer import resolve_config_layers

    t = config_from_values({"network": "genre_cnn"}).transfer
    assert t.network == "genre_cnn" and t.stats_layers == ()
    assert resolve_config_layers(t) == (("identity", "conv1"), ("conv2", "conv4", "conv6", "conv8"))
    t = config_from_values({"preset": "original", "network": "texture"}).transfer
    assert resolve_config_layers(t)[1] == ("bands", "wide") and t.stats_layers == PRESETS["default"].stats_layers
