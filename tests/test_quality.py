"""The texture network, the tuned default preset and the quality benchmark's baselines."""

import numpy as np
import pytest

from amnst_lib import transfer
from amnst_lib.config import PRESETS, AnalysisConfig, RunConfig, TransferConfig
from amnst_lib.errors import LayerError, ParameterError
from amnst_lib.texture import TEXTURE_LAYERS, build_texture_network, is_texture_network

from .test_dev_quality import _bench


A = AnalysisConfig()


@pytest.fixture(scope="module")
def tnet():
    return build_texture_network(A, seed=0, n_filters=64)


def test_texture_network_shapes_and_layers(tnet):
    assert is_texture_network(tnet)
    x = np.random.default_rng(0).random((2, *A.input_shape)).astype(np.float32)
    feats = transfer._extractor(tnet, TEXTURE_LAYERS)(x)
    shapes = [tuple(f.shape) for f in feats]
    assert shapes == [(2, 384, 431, 1), (2, 1, 431, 384), (2, 1, 431, 128), (2, 1, 431, 64), (2, 1, 431, 384),
                      (2, 1, 431, 384), (2, 1, 431, 128), (2, 1, 431, 128), (2, 1, 431, 60), (2, 1, 431, 1)]
    assert float(np.min(feats[3])) >= 0  # "wide" is ReLU


def test_texture_network_is_deterministic_from_its_seed():
    a, b, c = (build_texture_network(A, seed=s, n_filters=16) for s in (3, 3, 4))
    x = np.random.default_rng(1).random((1, *A.input_shape)).astype(np.float32)
    wide = lambda m: m(x)[0]  # noqa: E731 (outputs: wide, detail, harmony, dbbands)
    np.testing.assert_array_equal(wide(a), wide(b))
    assert not np.allclose(wide(a), wide(c))


def test_layers_resolve_per_network(tnet, net):
    cfg = PRESETS["default"]
    assert transfer.resolve_config_layers(cfg) == (("pitch", "flux"), ("logmel", "wide"))
    assert transfer.resolve_config_layers(cfg.replace(content_layers=(1,), style_layers="3")) == (("logmel",), ("wide",))
    with pytest.raises(LayerError, match="logmel"):
        transfer.resolve_config_layers(cfg.replace(style_layers=("conv2",)))
    # The network given decides: genre-CNN names do not resolve on the texture network.
    with pytest.raises(LayerError, match="valid layers"):
        transfer.network_layers(tnet, PRESETS["original"])
    assert transfer.network_layers(net, PRESETS["original"])[1] == ("conv2", "conv4", "conv6", "conv8")


def test_texture_transfer_loss_falls_and_target_stays_valid(mels, tnet):
    cfg = PRESETS["default"].replace(iterations=20, texture_filters=64)
    r = transfer.style_transfer(*mels, tnet, cfg, A, progress=False)
    totals = [h["total"] for h in r.history]
    assert all(np.isfinite(totals)) and totals[-1] < 0.7 * totals[0], totals[::5]
    assert r.history[-1]["style"] < 0.5 * r.history[0]["style"]
    assert r.mel.shape == mels[0].shape and np.all(np.isfinite(r.mel)) and r.mel.min() >= 0


def test_mix_init_is_content_plus_style_at_equal_energy(mels):
    content, style = mels
    mix = transfer.initial_target(content, style, "mix", 0)
    added = mix - content
    assert mix.shape == content.shape and added.min() >= -1e-6
    assert np.linalg.norm(added) == pytest.approx(np.linalg.norm(content), rel=1e-3)


def test_presets_original_is_pinned_and_runs_use_the_tuned_default():
    o = PRESETS["original"]
    assert (o.network, o.content_layers, o.style_layers, o.content_weight, o.style_weight, o.iterations) == (
        "genre_cnn", (0, 2), (4, 8, 12, 16), 50.0, 10.0, 100)
    assert TransferConfig() == o.replace()  # bare field defaults stay the original's
    assert PRESETS["default"].network == "texture" and PRESETS["default"] != o
    assert RunConfig.from_dict(RunConfig().to_dict()) == RunConfig()
    # A record from before init_phase re-runs as it ran: from a random phase.
    old = RunConfig().to_dict()
    del old["reconstruction"]["init_phase"]
    assert RunConfig.from_dict(old).reconstruction.init_phase == "random"
    assert RunConfig.from_dict({"transfer": {}}).reconstruction == RunConfig().reconstruction
    with pytest.raises(ParameterError, match="network"):
        TransferConfig(network="vgg")


def test_load_network_builds_the_configured_one():
    from amnst_lib.pipeline import load_network

    cfg = PRESETS["default"].replace(texture_filters=8)
    model, info = load_network(None, seed=0, input_shape=A.input_shape, config=cfg)
    assert is_texture_network(model) and info["network"] == "texture" and info["trained"] is False
    with pytest.raises(ParameterError, match="genre CNN only"):
        load_network("weights.npy", config=cfg)


def test_plain_mix_baseline_is_at_equal_loudness():
    bench = _bench("bench_quality")
    rng = np.random.default_rng(0)
    c, s = rng.standard_normal(1000).astype(np.float32), 0.1 * rng.standard_normal(300).astype(np.float32)
    mix = bench.plain_mix(c, s)
    style_part = mix - c
    assert len(mix) == 1000
    assert np.sqrt(np.mean(style_part ** 2)) == pytest.approx(np.sqrt(np.mean(c ** 2)), rel=1e-4)


def test_bench_quality_says_what_became_of_a_retired_preset(capsys):
    """--methods ambience is refused in one line that says where its design went."""
    bench = _bench("bench_quality")
    with pytest.raises(SystemExit):
        bench.main(["--methods", "default,ambience"])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "unknown method(s) ['ambience']" in err and "became the 'default' preset" in err and "'melody'" in err


def test_paired_comparison_counts_pairs_by_each_figures_direction(tmp_path):
    """The median can rise while most pairs get better; the paired figures show it."""
    import json

    bench = _bench("bench_quality")
    figs = lambda chroma, share: {c: 0.5 for c in bench.COLUMNS} | {"chroma_similarity": chroma,  # noqa: E731
                                                                      "superposition": share}
    base = {"a": figs(0.90, 0.40), "b": figs(0.90, 0.45), "c": figs(0.90, 0.55), "d": figs(0.90, 0.60),
            "only in base": figs(0.0, 1.0)}
    other = {"a": figs(1.00, 0.38), "b": figs(1.00, 0.58), "c": figs(0.85, 0.53), "d": figs(0.90, 0.58)}
    # The median share rises (0.50 -> 0.555), yet three of the four pairs fell by 0.02.
    assert np.median([o["superposition"] for o in other.values()]) > 0.5
    med, better, worse, n = bench.paired(base, other, "superposition")
    assert (med, better, worse, n) == (pytest.approx(-0.02), 3, 1, 4)  # lower is better
    med, better, worse, n = bench.paired(base, other, "chroma_similarity")
    assert (med, better, worse, n) == (pytest.approx(0.05), 2, 1, 4)  # higher is better; a tie is neither
    table = bench.format_paired(base, {"x": other})
    assert "-0.020  3/1" in table.splitlines()[1] and "+0.050  2/1" in table.splitlines()[1]

    tool = _bench("paired_quality")
    rows = [{"variant": v, "pair": p, **f} for v, d in (("", base), ("content_weight=5.0", other)) for p, f in d.items()]
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps(rows))
    with pytest.raises(SystemExit, match="holds 2 variants"):
        tool.load_rows(path, None)
    with pytest.raises(SystemExit, match="no variant 'cw=5'"):
        tool.load_rows(path, "cw=5")
    out = tool.compare(tool.load_rows(path, ""), tool.load_rows(path, "content_weight=5.0"))
    assert out.splitlines()[0] == "4 common pairs (5 in base, 4 in other)"
    share_line = next(line for line in out.splitlines() if line.startswith("superpos"))
    assert share_line.split() == ["superpos", "0.500", "0.555", "-0.020", "3", "1"]
    # bench_quality.py's rows name a method (a preset or a baseline) instead of a variant.
    bench_rows = [{k: v for k, v in r.items() if k != "variant"} | {"method": r["variant"] or "default"} for r in rows]
    path.write_text(json.dumps(bench_rows))
    assert tool.compare(tool.load_rows(path, "default"), tool.load_rows(path, "content_weight=5.0")) == out
    # bench_quality.py cuts the clip names (18 / 17 characters, no "dev_"); sweep_quality.py
    # does not: the pairs still match, by their clips, and an ambiguous cut matches nothing.
    whole = {"dev_mus01_baroque_bach_brandenburg2 x dev_amb01_rain": figs(0.9, 0.5),
             "dev_mus01_baroque_bach_brandenburg2 x dev_amb04_stream_long_take": figs(0.8, 0.6),
             "mus02_a_very_long_name_one x amb01_rain": figs(0.7, 0.7),
             "mus02_a_very_long_name_two x amb01_rain": figs(0.6, 0.8)}
    cut = {"mus01_baroque_bach x amb01_rain": figs(0.95, 0.4),
           "mus01_baroque_bach x amb04_stream_long_t": figs(0.9, 0.5),
           "mus02_a_very_long_na x amb01_rain": figs(0.5, 0.5)}
    aligned = tool.align(cut, whole)
    assert set(aligned) == {"mus01_baroque_bach x amb01_rain", "mus01_baroque_bach x amb04_stream_long_t"}
    assert aligned["mus01_baroque_bach x amb01_rain"] is whole["dev_mus01_baroque_bach_brandenburg2 x dev_amb01_rain"]
    assert tool.compare(cut, whole).splitlines()[0] == "2 common pairs (3 in base, 4 in other)"
    path.write_text(json.dumps([{"pair": "a", **figs(0.9, 0.4)}]))
    with pytest.raises(SystemExit, match="a 'variant' or a 'method'"):
        tool.load_rows(path, None)


def test_detail_layer_removes_the_envelope():
    from amnst_lib.texture import envelope_matrix

    m = envelope_matrix(384, 24)
    np.testing.assert_allclose(m.sum(axis=0), 1.0, rtol=1e-5)
    tnet = build_texture_network(A, seed=0, n_filters=8)
    detail = transfer._extractor(tnet, ["detail"])
    flat = np.full((1, *A.input_shape), 0.3, np.float32)  # same level in every band: all envelope
    assert float(np.max(np.abs(detail(flat)))) < 1e-5
    comb = flat.copy()
    comb[:, ::12] *= 20  # harmonic-like peaks every 12 bands survive as detail
    assert float(np.max(detail(comb))) > 1.0


def test_detail_layer_is_the_log_mel_less_its_envelope_for_every_example_of_a_batch():
    """A batch of three gives each example's own ``logmel - logmel @ envelope`` (the product
    is a tensordot: TF 2.16's broadcast batch matmul crashed the process for batches >= 2)."""
    from amnst_lib.texture import envelope_matrix

    tnet = build_texture_network(A, seed=0, n_filters=8)
    net = transfer._extractor(tnet, ["logmel", "detail"])
    x = np.random.default_rng(1).random((3, *A.input_shape)).astype(np.float32)
    logmel, detail = (f.numpy() for f in net(x))
    expected = logmel - logmel @ envelope_matrix(A.n_mels, 24)
    np.testing.assert_allclose(detail, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(net(x[1:2])[1].numpy()[0], detail[1], rtol=1e-5, atol=1e-5)


def test_envelope_statistics_pull_the_bands_towards_the_style(mels, tnet):
    """With stats_layers the output's per-band mean/spread get closer to the style's."""
    content, style = mels
    bands = transfer._extractor(tnet, ["bands"])

    def gap(mel):
        def stats(m):
            f = np.asarray(bands(m[None, :, :431, None]))[0, 0]  # (frames, bands)
            return np.r_[f.mean(0), f.std(0)]
        return np.linalg.norm(stats(mel) - stats(style))

    base = PRESETS["default"].replace(iterations=20, projection_every=0)
    without = transfer.style_transfer(content, style, tnet, base.replace(stats_layers=()), A, progress=False)
    with_stats = transfer.style_transfer(content, style, tnet, base, A, progress=False)
    assert gap(with_stats.mel) < 0.9 * gap(without.mel) < gap(content)


def test_projection_keeps_the_target_realisable(mels, tnet):
    """Projecting onto real signals' spectrograms lowers the reconstruction error a lot.

    As the pipeline runs it: Griffin-Lim (projections and output) starts from the
    content's phase; the projection's effect is also checked from a random phase.
    """
    from amnst_lib.audio import load_audio
    from amnst_lib.config import ReconstructionConfig
    from amnst_lib.metrics import reconstruction_convergence
    from amnst_lib.spectrum import mel_to_audio, stft_phase

    from .conftest import CONTENT

    content, style = mels
    phase = stft_phase(load_audio(CONTENT, max_seconds=6.0), A)
    # 32 steps: the last projection at step 30, then 2 free steps, as the default ends (92 = 90 + 2).
    cfg = PRESETS["default"].replace(iterations=32)
    sc = {}
    for start in ("content", "random"):
        p = phase if start == "content" else None
        for every in (0, 15):
            r = transfer.style_transfer(content, style, tnet, cfg.replace(projection_every=every), A,
                                        progress=False, init_phase=p)
            assert len(r.history) == 32 and np.all(np.isfinite(r.mel))
            y = mel_to_audio(r.mel, A, ReconstructionConfig(), length=(content.shape[1] - 1) * A.hop_length,
                             init_phase=p)
            sc[start, every] = reconstruction_convergence(r.mel, y, A)
    assert sc["content", 15] < 0.10 and sc["content", 15] < 0.7 * sc["content", 0], sc
    assert sc["random", 15] < 0.7 * sc["random", 0], sc
    assert sc["content", 15] < sc["random", 15], sc


def test_linbands_layer_is_the_band_averaged_magnitude():
    tnet = build_texture_network(A, seed=0, n_filters=8)
    x = np.random.default_rng(5).random((1, *A.input_shape)).astype(np.float32)
    lin = np.asarray(transfer._extractor(tnet, ["linbands"])(x))[0, 0]  # (frames, bands)
    expected = x[0, :, :, 0].T.reshape(A.segment_frames, A.n_mels // 3, 3).mean(axis=-1)
    np.testing.assert_allclose(lin, expected, rtol=1e-5, atol=1e-7)


def test_harmony_layer_keeps_only_the_pitch_range():
    import librosa

    from amnst_lib.texture import PITCH_TOP_HZ, _pitch_mask

    mask = _pitch_mask(A)
    f = librosa.mel_frequencies(n_mels=A.n_mels, fmax=A.sr / 2)
    assert np.all(mask[f <= PITCH_TOP_HZ] == 1.0)  # all of chroma's range kept
    assert np.all(mask[f >= PITCH_TOP_HZ * 2 ** 0.5] == 0.0)  # half an octave above C8: free
    tnet = build_texture_network(A, seed=0, n_filters=8)
    x = np.random.default_rng(2).random((1, *A.input_shape)).astype(np.float32)
    detail, harmony = (np.asarray(t)[0, 0] for t in transfer._extractor(tnet, ["detail", "harmony"])(x))
    np.testing.assert_allclose(harmony, detail * mask, rtol=1e-5, atol=1e-6)


def _tone_mel(hz: float, level: float = 10.0, floor: float = 0.0) -> np.ndarray:
    """(1, n_mels, frames, 1) magnitude mel: one band (nearest ``hz``) at ``level`` in every frame."""
    import librosa

    f = librosa.mel_frequencies(n_mels=A.n_mels, fmax=A.sr / 2)
    x = np.full((1, *A.input_shape), floor, dtype=np.float32)
    x[0, int(np.argmin(np.abs(f - hz))), :, 0] = level
    return x


def test_pitch_layer_holds_the_notes_in_their_octaves_and_nothing_else():
    from amnst_lib.texture import PITCH_BOTTOM_HZ, pitch_matrix

    assert pitch_matrix(A).shape == (A.n_mels, 60)  # C3..B7: five octave blocks of 12
    tnet = build_texture_network(A, seed=0, n_filters=8)
    pitch = transfer._extractor(tnet, ["pitch"])
    p = lambda x: np.asarray(pitch(x))[0, 0]  # noqa: E731  (frames, 60)
    a4 = p(_tone_mel(440.0))
    # A4 lies in the second octave block (C4..B4): pitch class A (9) leads it, unit length.
    block = a4[:, 12:24]
    assert np.all(np.argmax(block, axis=1) == 9)
    np.testing.assert_allclose(np.linalg.norm(block, axis=1), 1.0, atol=2e-3)
    assert np.abs(np.delete(a4, np.s_[12:24], axis=1)).max() < 1e-3  # the other octaves ~silent
    # Blind to each frame's loudness and to a gain that is flat within an octave ...
    import librosa

    f = librosa.mel_frequencies(n_mels=A.n_mels, fmax=A.sr / 2)
    octave_gain = 10.0 ** np.floor(np.log2(np.maximum(f, 1.0) / PITCH_BOTTOM_HZ))[:, None]
    frame_gain = np.random.default_rng(3).uniform(0.5, 4.0, A.segment_frames)[None, :]
    x = _tone_mel(440.0) + 0.5 * _tone_mel(659.3)  # A4 and E5, in two octave blocks
    np.testing.assert_allclose(p(x * (octave_gain * frame_gain)[None, :, :, None]), p(x), atol=2e-3)
    # ... but not to the same note an octave up, nor to another note.
    assert np.abs(p(_tone_mel(880.0)) - a4).max() > 0.9
    assert np.abs(p(_tone_mel(494.0)) - a4).max() > 0.5  # B4


def test_flux_layer_is_the_onset_strength_of_the_bands():
    tnet = build_texture_network(A, seed=0, n_filters=8)
    flux = lambda x: np.asarray(transfer._extractor(tnet, ["flux"])(x))[0, 0, :, 0]  # noqa: E731
    level = np.ones(A.segment_frames, dtype=np.float32)
    level[100:] = 10.0  # a tenfold rise at frame 100 ...
    level[300:] = 1.0  # ... and a fall at frame 300
    band_gain = np.random.default_rng(4).uniform(0.5, 5.0, A.n_mels).astype(np.float32)
    x = np.ones((1, *A.input_shape), dtype=np.float32) * level[None, None, :, None]
    expected = np.zeros(A.segment_frames)
    expected[100] = np.log(10.0)
    np.testing.assert_allclose(flux(x), expected, atol=1e-3)
    # A fixed gain per band (a filter) moves no onset.
    np.testing.assert_allclose(flux(x * band_gain[None, :, None, None]), expected, atol=1e-3)
    # Each band's rise counts, a fall elsewhere does not cancel it: half the bands up
    # tenfold and half down tenfold read ln 10 / 2 (a mean over bands taken before the
    # rectification would read 0).
    split = np.ones((1, *A.input_shape), dtype=np.float32)
    split[0, : A.n_mels // 2, 100:] = 10.0
    split[0, A.n_mels // 2:, 100:] = 0.1
    expected[100] = np.log(10.0) / 2
    np.testing.assert_allclose(flux(split), expected, atol=1e-3)


def test_texture_network_refuses_band_counts_it_cannot_pool():
    with pytest.raises(ParameterError, match=r"n_mels \(128\) must be a multiple of 3"):
        build_texture_network(AnalysisConfig(n_mels=128), n_filters=8)


def test_sweep_variants_parse_into_run_configs():
    sweep = _bench("sweep_quality")
    assert sweep.parse_variant("") == RunConfig()
    cfg = sweep.parse_variant("stats_layers=('bands', 'dbbands'),content_weight=2.0, rec.init_phase='random'")
    assert cfg.transfer == PRESETS["default"].replace(stats_layers=("bands", "dbbands"), content_weight=2.0)
    assert cfg.reconstruction.init_phase == "random"
    # A field given twice takes the later value (benchmarks/README.md's commands rely on it).
    assert sweep.parse_variant("content_weight=4.0,rec.n_iter=64,content_weight=2.0").transfer.content_weight == 2.0
    with pytest.raises(ParameterError, match="unknown setting 'content_wieght'"):
        sweep.parse_variant("content_wieght=2.0")  # a typo fails before any run
    with pytest.raises(ParameterError):
        sweep.parse_variant("rec.init_phase='zeros'")
