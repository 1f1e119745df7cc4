"""`amnst transfer` end to end: files written, reproducible, and every bad input refused clearly."""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from amnst_lib.cli import main
from amnst_lib.config import PRESETS
from amnst_lib.errors import ParameterError
from amnst_lib.model import build_genre_cnn, save_weights

FAST = ["--iterations", "4", "--griffin-lim-iters", "8", "-q"]


def run_cli(*argv):
    return main(["transfer", *map(str, argv)])


@pytest.fixture(scope="module")
def first_run(clips, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "first"
    assert run_cli(clips["content"], clips["style"], "-o", out, *FAST) == 0
    return out


def test_writes_wav_pictures_and_a_complete_run_record(first_run, clips):
    assert sorted(p.name for p in first_run.iterdir()) == ["loss.png", "output.wav", "run.json", "spectrograms.png"]
    info = sf.info(str(first_run / "output.wav"))
    assert info.subtype == "PCM_16" and info.samplerate == 22050 and info.channels == 1
    assert abs(info.duration - 6.0) < 0.05  # the whole content, not whole segments
    for png in ("loss.png", "spectrograms.png"):
        assert (first_run / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rec = json.loads((first_run / "run.json").read_text())
    assert rec["status"] == "ok" and rec["seed"] == 0
    # A plain run uses the tuned preset: the texture network, random by design.
    assert rec["weights"]["trained"] is False and "RANDOM" in rec["weights"]["note"]
    assert rec["weights"]["network"] == "texture" and "random by design" in rec["weights"]["note"]
    assert rec["config"]["transfer"]["network"] == "texture"
    assert rec["config"]["transfer"]["iterations"] == 4
    assert rec["config"]["analysis"] == {"sr": 22050, "n_fft": 1024, "hop_length": 256, "n_mels": 384,
                                         "segment_frames": 431, "power": 1.0}
    tuned = PRESETS["default"]
    assert rec["resolved"]["content_layers"] == list(tuned.content_layers) and rec["resolved"]["n_segments"] == 2
    assert rec["resolved"]["style_layers"] == list(tuned.style_layers)
    assert {"tensorflow", "keras", "librosa", "numpy"} <= set(rec["versions"])
    assert {"load", "transfer", "reconstruction", "total"} <= set(rec["timings_seconds"])
    assert len(rec["history"]) == 4 and all(np.isfinite(h["total"]) for h in rec["history"])
    for key in ("chroma_similarity", "mfcc_gap_closed", "superposition", "flatness_ratio", "reconstruction_sc"):
        assert np.isfinite(rec["metrics"][key]), key
    assert rec["inputs"]["content"]["sha256"] and rec["inputs"]["style"]["sample_rate"] == 22050


def test_same_parameters_reproduce_the_same_wav_and_config_reruns(first_run, clips, tmp_path):
    again = tmp_path / "again"
    assert run_cli(clips["content"], clips["style"], "-o", again, *FAST) == 0
    assert (again / "output.wav").read_bytes() == (first_run / "output.wav").read_bytes()
    rerun = tmp_path / "rerun"
    assert run_cli(clips["content"], clips["style"], "-o", rerun, "--config", first_run / "run.json", "-q") == 0
    assert (rerun / "output.wav").read_bytes() == (first_run / "output.wav").read_bytes()
    other_seed = tmp_path / "seed"
    assert run_cli(clips["content"], clips["style"], "-o", other_seed, *FAST, "--seed", "5") == 0
    assert (other_seed / "output.wav").read_bytes() != (first_run / "output.wav").read_bytes()


def test_config_takes_a_run_folder_and_restores_max_seconds(clips, tmp_path, capsys):
    short = tmp_path / "short"
    assert run_cli(clips["content"], clips["style"], "-o", short, *FAST, "--max-seconds", "2") == 0
    assert abs(sf.info(str(short / "output.wav")).duration - 2.0) < 0.05
    capsys.readouterr()
    again = tmp_path / "again"  # the run folder itself, not its run.json
    assert run_cli(clips["content"], clips["style"], "-o", again, "--config", short, "-q") == 0
    assert f"--max-seconds 2: as in {short / 'run.json'}" in capsys.readouterr().out
    assert (again / "output.wav").read_bytes() == (short / "output.wav").read_bytes()
    parts = tmp_path / "parts"  # --segments-to-reconstruct is restored the same way
    assert run_cli(clips["content"], clips["style"], "-o", parts, *FAST, "--segments-to-reconstruct", "1") == 0
    capsys.readouterr()
    assert run_cli(clips["content"], clips["style"], "-o", tmp_path / "parts2", "--config", parts, "-q") == 0
    assert "--segments-to-reconstruct 1: as in" in capsys.readouterr().out
    assert (tmp_path / "parts2" / "output.wav").read_bytes() == (parts / "output.wav").read_bytes()
    longer = tmp_path / "longer"  # a flag given wins over the record
    assert run_cli(clips["content"], clips["style"], "-o", longer, "--config", short, "--max-seconds", "3", "-q") == 0
    assert abs(sf.info(str(longer / "output.wav")).duration - 3.0) < 0.05
    assert "as in" not in capsys.readouterr().out


@pytest.mark.parametrize("kind", ["empty folder", "unreadable"])
def test_config_that_cannot_be_read_gets_one_line(kind, clips, tmp_path, capsys, monkeypatch):
    from pathlib import Path

    if kind == "empty folder":
        path = tmp_path / "nothing"
        path.mkdir()
        expected = "is a folder without a run.json"
    else:
        path = tmp_path / "secret.json"
        path.write_text("{}")
        read = Path.read_text

        def denied(self, *a, **k):  # as chmod 0 would, also when the tests run as root
            if self == path:
                raise PermissionError(13, "Permission denied", str(self))
            return read(self, *a, **k)

        monkeypatch.setattr(Path, "read_text", denied)
        expected = "cannot read it (Permission denied)"
    assert run_cli(clips["content"], clips["style"], "-o", tmp_path / "out", "--config", path, *FAST) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_existing_output_is_never_overwritten_without_the_flag(first_run, clips, capsys):
    before = {p.name: p.read_bytes() for p in first_run.iterdir()}
    assert run_cli(clips["content"], clips["style"], "-o", first_run, *FAST, "--seed", "3") == 2
    assert "already exists" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in first_run.iterdir()} == before


def test_overwrite_replaces_the_folder(clips, tmp_path):
    out = tmp_path / "run"
    assert run_cli(clips["content"], clips["style"], "-o", out, *FAST) == 0
    old = (out / "output.wav").read_bytes()
    assert run_cli(clips["content"], clips["style"], "-o", out, *FAST, "--seed", "9", "--overwrite") == 0
    assert (out / "output.wav").read_bytes() != old
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no temporary folders left


def test_short_style_trained_weights_and_limits(clips, tmp_path):
    weights = save_weights(build_genre_cnn(seed=42), tmp_path / "clf.weights.h5")
    out = tmp_path / "run"
    assert run_cli(clips["content"], clips["short_style"], "-o", out, *FAST, "--weights", weights,
                   "--max-segments", "1", "--content-layers", "identity,2", "--style-layers", "conv2") == 0
    rec = json.loads((out / "run.json").read_text())
    assert rec["weights"]["trained"] is True and rec["weights"]["format"] == "keras"
    assert rec["resolved"]["n_segments"] == 1 and rec["resolved"]["style_layers"] == ["conv2"]
    assert abs(sf.info(str(out / "output.wav")).duration - 431 * 256 / 22050) < 0.05


def test_weights_alone_select_the_genre_cnn_with_the_original_layers(clips, tmp_path, capsys):
    weights = save_weights(build_genre_cnn(seed=42), tmp_path / "clf.weights.h5")
    out = tmp_path / "run"
    assert run_cli(clips["content"], clips["style"], "-o", out, *FAST, "--max-segments", "1",
                   "--weights", weights) == 0
    assert "network: genre CNN, weights: trained" in capsys.readouterr().out
    rec = json.loads((out / "run.json").read_text())
    assert rec["weights"]["trained"] is True and rec["weights"]["network"] == "genre_cnn"
    assert rec["config"]["transfer"]["network"] == "genre_cnn"
    assert rec["resolved"]["content_layers"] == ["identity", "conv1"]
    assert rec["resolved"]["style_layers"] == ["conv2", "conv4", "conv6", "conv8"]


def test_preset_original_gives_the_genre_cnn_layers_and_100_iterations(clips, tmp_path, capsys):
    from amnst_lib.cli import build_parser, run_config_from_args

    def config(*flags):
        return run_config_from_args(build_parser().parse_args(["transfer", "c.wav", "s.wav", *flags])).transfer

    t = config("--preset", "original")
    assert (t.network, t.iterations, t.content_weight, t.style_weight) == ("genre_cnn", 100, 50.0, 10.0)
    assert t.content_layers == (0, 2) and t.style_layers == (4, 8, 12, 16)
    assert config() == config("--preset", "default") == config("--network", "texture")
    assert config().network == "texture" and config() == PRESETS["default"]
    assert config("--network", "genre_cnn") == t
    out = tmp_path / "run"
    assert run_cli(clips["content"], clips["style"], "-o", out, *FAST, "--preset", "original",
                   "--max-segments", "1") == 0
    assert "network: genre CNN, weights: RANDOM" in capsys.readouterr().out
    rec = json.loads((out / "run.json").read_text())
    assert rec["config"]["transfer"]["network"] == "genre_cnn" and rec["weights"]["trained"] is False
    assert rec["resolved"]["content_layers"] == ["identity", "conv1"]
    assert rec["resolved"]["style_layers"] == ["conv2", "conv4", "conv6", "conv8"]


def _silent(path):
    sf.write(str(path), np.zeros(22050 * 2, np.float32), 22050)
    return path


@pytest.mark.parametrize("case,message", [
    ("missing", "no such file"),
    ("not_audio", "cannot be decoded"),
    ("empty", "empty"),
    ("silent", "silent"),
    ("bad_layer", "unknown layer 'conv99'"),
    ("bad_index", "layer index 40 is out of range"),
    ("bad_texture_layer", "unknown texture-network layer 'conv1'; valid layers: 0=mel, 1=logmel, 2=bands, 3=wide"),
    ("texture_weights", "--weights applies to the genre CNN only"),
    ("bad_weights", "unknown weights format"),
    ("wrong_shape_weights", "array 4 (conv1 kernel) has shape"),
    ("bad_value", "--content-weight (content_weight) must be a finite number >= 0"),
])
def test_bad_input_gets_one_clear_message_and_writes_nothing(clips, tmp_path, capsys, case, message):
    content, style = clips["content"], clips["style"]
    extra = []
    if case == "missing":
        content = tmp_path / "nope.wav"
    elif case == "not_audio":
        content = tmp_path / "text.wav"
        content.write_text("hello " * 500)
    elif case == "empty":
        style = tmp_path / "empty.mp3"
        style.write_bytes(b"")
    elif case == "silent":
        style = _silent(tmp_path / "silent.wav")
    elif case == "bad_layer":
        extra = ["--preset", "original", "--style-layers", "conv2,conv99"]
    elif case == "bad_index":
        extra = ["--network", "genre_cnn", "--content-layers", "40"]
    elif case == "bad_texture_layer":
        extra = ["--content-layers", "conv1"]  # a genre-CNN name; a plain run uses the texture network
    elif case == "texture_weights":
        extra = ["--network", "texture", "--weights", save_weights(build_genre_cnn(), tmp_path / "w.weights.h5")]
    elif case == "bad_weights":
        (tmp_path / "w.bin").write_bytes(b"\0" * 100)
        extra = ["--weights", tmp_path / "w.bin"]
    elif case == "wrong_shape_weights":
        w = {i: a for i, a in enumerate(build_genre_cnn().get_weights())}
        w[4] = np.zeros((3, 3, 1, 32), np.float32)
        np.save(tmp_path / "orig.npy", w)
        extra = ["--weights", tmp_path / "orig.npy"]
    elif case == "bad_value":
        extra = ["--content-weight", "-1"]
    out = tmp_path / "out"
    code = run_cli(content, style, "-o", out, *FAST, *extra)
    err = capsys.readouterr().err
    assert code != 0
    assert message in err, err
    assert err.count("\n") <= 2 and "Traceback" not in err
    assert not out.exists()


def test_divergence_keeps_the_last_good_result_and_fails_clearly(clips, tmp_path, capsys):
    out = tmp_path / "run"
    # The original's genre CNN with its raw sums and plain SGD (the texture network's log1p saturates).
    code = run_cli(clips["content"], clips["style"], "-o", out, "--preset", "original", "--optimizer", "sgd",
                   "--parameterization",
                   "linear", "--raw-losses", "--lr", "1e12", "--max-retries", "1", "--iterations", "10",
                   "--griffin-lim-iters", "4", "-q")
    err = capsys.readouterr().err
    assert code == 3 and "ran out of retries (1)" in err and "Traceback" not in err
    rec = json.loads((out / "run.json").read_text())
    assert rec["status"] == "diverged" and "ran out of retries" in rec["error"]
    assert len(rec["rollbacks"]) == 1
    y, _ = sf.read(str(out / "output.wav"))
    assert np.all(np.isfinite(y)) and np.abs(y).max() > 0.1


def test_module_entry_point_and_help_without_traceback(tmp_path):
    r = subprocess.run([sys.executable, "-m", "amnst_lib", "transfer", "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    for flag in ("--content-layers", "--style-layers", "--content-weight", "--style-weight", "--iterations",
                 "--init", "--lr", "--weights", "--seed", "--overwrite", "--preset", "--network"):
        assert flag in r.stdout
    text = " ".join(r.stdout.split())
    assert "named settings to start from (default: 'default')" in text
    assert "given without --preset, --network or --config, the run starts from preset 'original'" in text
    r = subprocess.run([sys.executable, "-m", "amnst_lib", "transfer", str(tmp_path / "a.wav"),
                        str(tmp_path / "b.wav"), "-o", str(tmp_path / "o")], capture_output=True, text=True)
    assert r.returncode == 2 and "amnst: error:" in r.stderr and "no such file" in r.stderr
    assert "Traceback" not in r.stderr


def test_stats_projection_and_style_below_flags_reach_the_run_record(clips, tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli(clips["content"], clips["style"], "-o", out, *FAST, "--stats-layers", "logmel",
                   "--projection-every", "2", "--style-below-hz", "130.8") == 0
    cfg = json.loads((out / "run.json").read_text())["config"]["transfer"]
    assert cfg["stats_layers"] == ["logmel"] and cfg["projection_every"] == 2 and cfg["style_below_hz"] == 130.8
    assert run_cli(clips["content"], clips["style"], "-o", tmp_path / "neg", *FAST, "--style-below-hz", "-5") == 2
    assert "--style-below-hz (style_below_hz) must be a frequency in Hz" in capsys.readouterr().err
    assert run_cli(clips["content"], clips["style"], "-o", tmp_path / "bad", *FAST, "--stats-layers", "conv2") == 2
    assert "unknown texture-network layer 'conv2'" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_switching_network_takes_all_its_layer_choices():
    """--preset default --network genre_cnn: no texture-only layer (e.g. stats 'bands') survives."""
    from amnst_lib.cli import build_parser, run_config_from_args
    from amnst_lib.transfer import resolve_config_layers

    args = build_parser().parse_args(["transfer", "c.wav", "s.wav", "--preset", "default", "--network", "genre_cnn"])
    t = run_config_from_args(args).transfer
    assert t.network == "genre_cnn" and t.stats_layers == ()
    assert resolve_config_layers(t) == (("identity", "conv1"), ("conv2", "conv4", "conv6", "conv8"))
    assert t.iterations == PRESETS["default"].iterations == 92  # the rest stays the chosen preset's
    args = build_parser().parse_args(["transfer", "c.wav", "s.wav", "--preset", "original", "--network", "texture"])
    t = run_config_from_args(args).transfer
    assert resolve_config_layers(t) == (("pitch", "flux"), ("logmel", "wide")) and t.stats_layers == PRESETS["default"].stats_layers


def test_phase_flag_and_config_check():
    from amnst_lib.cli import build_parser, run_config_from_args
    from amnst_lib.config import ReconstructionConfig

    args = build_parser().parse_args(["transfer", "c.wav", "s.wav"])
    assert run_config_from_args(args).reconstruction.init_phase == "content"
    args = build_parser().parse_args(["transfer", "c.wav", "s.wav", "--phase", "random", "--griffin-lim-iters", "32"])
    r = run_config_from_args(args).reconstruction
    assert (r.init_phase, r.n_iter) == ("random", 32)
    with pytest.raises(ParameterError, match="init_phase must be one of"):
        ReconstructionConfig(init_phase="zeros")


#: The "config" block of a run.json written by session 12's code with the then ``ambience``
#: preset (C4), copied from a real run folder; ``"ambience"`` no longer names a preset.
_C4_RECORD = {
    "analysis": {"sr": 22050, "n_fft": 1024, "hop_length": 256, "n_mels": 384, "segment_frames": 431, "power": 1.0},
    "transfer": {"content_layers": ["pitch", "flux"], "style_layers": ["logmel", "wide"], "content_weight": 3.3,
                 "style_weight": 32.0, "iterations": 62, "init": "equalized", "optimizer": "adam",
                 "learning_rate": 0.085, "decay_steps": 10, "decay_rate": 1.0, "parameterization": "log",
                 "normalize_losses": True, "max_segments": None, "batch_segments": 8, "shift_grid": True,
                 "window_edges": "inside", "seed": 0, "history_buffer_size": 10, "rollback_steps": 2,
                 "max_retries": 20, "decay_on_excess": True, "print_frequency": 10, "network": "texture",
                 "texture_filters": 512, "texture_width": 11, "stats_layers": ["bands", "dbbands"],
                 "projection_every": 15, "projection_iters": 2, "style_below_hz": 0.0},
    "reconstruction": {"n_iter": 128, "momentum": 0.99, "seed": 0, "peak_dbfs": -1.0, "init_phase": "content",
                       "full_length": True},
    "output": {"format": "follow"},
}


def test_config_of_a_run_made_before_the_default_changed_reruns_its_own_settings(tmp_path):
    """Session 15 changed the default preset (C5) and retired ``ambience``. A run.json of the
    old default (now ``melody``) or of ``ambience`` still re-runs exactly its own settings,
    not the new default's: --config reads every field from the record."""
    from amnst_lib.cli import build_parser, run_config_from_args
    from amnst_lib.config import RunConfig, run_preset

    # The transfer block of a run.json of the old default, as session 14's code wrote it.
    old_default = {**_C4_RECORD, "transfer": {
        **_C4_RECORD["transfer"], "content_layers": ["harmony"], "style_layers": ["bands", "wide"],
        "style_weight": 4.0, "iterations": 65, "init": "content", "stats_layers": ["bands", "dbbands", "linbands"]}}
    assert RunConfig.from_dict(old_default) == run_preset("melody")
    for record, expect in ((_C4_RECORD, None), (old_default, PRESETS["melody"])):
        path = tmp_path / f"{len(list(tmp_path.iterdir()))}" / "run.json"
        path.parent.mkdir()
        path.write_text(json.dumps({"config": record}))
        t = run_config_from_args(build_parser().parse_args(["transfer", "c.wav", "s.wav", "--config",
                                                            str(path)])).transfer
        assert t.to_dict() == RunConfig.from_dict(record).transfer.to_dict()
        assert t != PRESETS["default"]
        if expect is not None:
            assert t == expect
        else:
            assert (t.iterations, t.learning_rate, t.style_weight) == (62, 0.085, 32.0)
            assert t.content_layers == ("pitch", "flux") and t.style_layers == ("logmel", "wide")
