"""Long tracks in bounded pieces: no stage sees more than a chunk, short tracks are unchanged,
and chunked results stay close to whole-signal ones (bounds measured on real clips)."""

import json

import numpy as np
import pytest

from amnst_lib import chunked
from amnst_lib.chunked import ChunkConfig
from amnst_lib.config import AnalysisConfig, RunConfig
from amnst_lib.pipeline import run_transfer

FAST = RunConfig().replace(transfer=RunConfig().transfer.replace(iterations=4),
                           reconstruction=RunConfig().reconstruction.replace(n_iter=8))
SMALL = ChunkConfig(transfer_chunk_segments=2, overlap_segments=1, griffin_lim_chunk_frames=300,
                    griffin_lim_context_frames=64, picture_columns=50, metrics_seconds=5.0)


@pytest.fixture(scope="module")
def clip20(tmp_path_factory):
    from tests.conftest import CONTENT, cut

    return cut(CONTENT, tmp_path_factory.mktemp("c20") / "c20.wav", 20.0)


def test_frames_of_a_slice_equal_the_whole_signal_analysis():
    from amnst_lib.audio import load_audio
    from amnst_lib.spectrum import mel_spectrogram, stft_phase
    from tests.conftest import CONTENT

    a = AnalysisConfig()
    y = load_audio(CONTENT, max_seconds=8.0)
    whole_mel, whole_phase = mel_spectrogram(y, a), stft_phase(y, a)
    for f0, f1 in ((0, 100), (37, 300), (500, whole_mel.shape[1])):
        np.testing.assert_allclose(chunked.mel_frames(y, f0, f1, a), whole_mel[:, f0:f1], rtol=1e-4, atol=1e-5)
        loud = np.abs(whole_mel).max() > 0
        ph = chunked.phase_frames(y, f0, f1, a)
        assert loud and np.median(np.abs(ph - whole_phase[:, f0:f1])) < 1e-4


def test_transfer_chunks_cover_the_track_with_overlap():
    assert chunked.transfer_chunks(5000, 431, ChunkConfig()) == [(0, 5000)]  # up to 24 segments: one piece
    ranges = chunked.transfer_chunks(1723, 431, SMALL)
    assert ranges[0] == (0, 862) and ranges[-1][1] == 1723
    assert all(b0 == a1 - 431 for (_, a1), (b0, _) in zip(ranges, ranges[1:]))


def test_pooler_averages_groups_as_they_arrive():
    mel = np.arange(2 * 23, dtype=np.float32).reshape(2, 23)
    p = chunked.Pooler(5)
    for part in (mel[:, :7], mel[:, 7:8], mel[:, 8:]):
        p.add(part)
    got = p.result()
    assert got.shape == (2, 5)
    np.testing.assert_allclose(got[:, :4], mel[:, :20].reshape(2, 4, 5).mean(axis=2))
    np.testing.assert_allclose(got[:, 4], mel[:, 20:].mean(axis=1))


def test_a_short_track_gives_exactly_the_whole_signal_result(clips, net):
    # Today's flow, stage by stage on whole arrays, against the pipeline (one chunk).
    from amnst_lib.audio import load_audio, peak_normalize
    from amnst_lib.pipeline import load_network
    from amnst_lib.spectrum import griffin_lim, mel_spectrogram, mel_to_stft, stft_phase
    from amnst_lib.transfer import style_transfer

    a, t, r = FAST.analysis, FAST.transfer, FAST.reconstruction
    model, _ = load_network(None, seed=t.seed, input_shape=a.input_shape, config=t)
    yc, ys = load_audio(clips["content"]), load_audio(clips["style"])
    phase = stft_phase(yc, a, r.seed)
    mel = style_transfer(mel_spectrogram(yc, a), mel_spectrogram(ys, a), model, t, a, progress=False,
                         init_phase=phase).mel
    assert r.full_length
    n = len(yc)  # every sample of the content (ReconstructionConfig.full_length)
    expected = peak_normalize(griffin_lim(mel_to_stft(mel, a), a, r, length=n, init_phase=phase), r.peak_dbfs)
    run = run_transfer(clips["content"], clips["style"], config=FAST, progress=False, model=model)
    assert run.output.shape == expected.shape
    assert np.max(np.abs(run.output - expected)) <= 1e-6
    assert run.record["chunking"]["transfer_chunks"] == 1 and run.record["metrics_scope"]["whole"] is True


def test_long_track_in_small_chunks_stays_close_and_no_stage_sees_more_than_a_chunk(clip20, tmp_path,
                                                                                 monkeypatch):
    import amnst_lib.spectrum as spectrum
    import amnst_lib.transfer as transfer

    seen = {"transfer": [], "griffin_lim": []}
    real_st, real_gl = transfer.style_transfer, spectrum.griffin_lim

    def st(content_mel, *args, **kwargs):
        seen["transfer"].append(content_mel.shape[1])
        return real_st(content_mel, *args, **kwargs)

    def gl(S, *args, **kwargs):
        seen["griffin_lim"].append(S.shape[1])
        return real_gl(S, *args, **kwargs)

    whole = run_transfer(clip20, clip20, config=FAST, progress=False)
    monkeypatch.setattr(transfer, "style_transfer", st)
    monkeypatch.setattr(spectrum, "griffin_lim", gl)
    out = tmp_path / "run"
    small = run_transfer(clip20, clip20, out, config=FAST, progress=False, chunks=SMALL)
    # Bounded: transfer chunks of 2 segments, Griffin-Lim pieces of 300 + 2 x 64 frames
    # (the projections inside the transfer see one chunk too).
    assert max(seen["transfer"]) <= 2 * 431 and len(seen["transfer"]) == 3
    assert max(seen["griffin_lim"]) <= max(2 * 431, 300 + 2 * 64)
    assert small.output.shape == whole.output.shape
    # Close to the whole-signal result (measured: mel 6%, SC equal to 0.002).
    rel = np.linalg.norm(small.output_mel - whole.output_mel) / np.linalg.norm(whole.output_mel)
    assert rel < 0.12, rel
    rec = json.loads((out / "run.json").read_text())
    assert rec["metrics_scope"] == {"whole": False, "start_seconds": pytest.approx(7.5, abs=0.05),
                                    "seconds": pytest.approx(5.0, abs=0.01)}
    assert rec["chunking"]["picture_frames_per_column"] == 35 and rec["chunking"]["transfer_chunks"] == 3
    assert abs(rec["metrics"]["reconstruction_sc"] - whole.metrics["reconstruction_sc"]) < 0.02


def test_chunked_griffin_lim_matches_the_whole_signal_one(tmp_path):
    from amnst_lib.audio import load_audio
    from amnst_lib.config import ReconstructionConfig
    from amnst_lib.spectrum import griffin_lim, mel_spectrogram, mel_to_stft, spectral_convergence, stft_phase
    from tests.conftest import CONTENT

    a, r = AnalysisConfig(), ReconstructionConfig(n_iter=16)
    y = load_audio(CONTENT, max_seconds=12.0)
    mel = mel_spectrogram(y, a)
    S = mel_to_stft(mel, a)
    whole = griffin_lim(S, a, r, length=len(y), init_phase=stft_phase(y, a))
    store, out = chunked.Store(tmp_path / "m", (a.n_mels,)), chunked.Store(tmp_path / "y")
    store.append(mel.T)
    peak = chunked.reconstruct(store, mel.shape[1], y, len(y), a, r, SMALL, out)
    pieces = out.read(0, len(y))
    assert len(pieces) == len(y) and peak == pytest.approx(np.max(np.abs(pieces)))
    sc_whole, sc_pieces = spectral_convergence(S, whole, a), spectral_convergence(S, pieces, a)
    assert sc_pieces < sc_whole + 0.01, (sc_pieces, sc_whole)  # measured: equal to 0.001
    # The samples after the last frame's centre are rebuilt by the last piece, not padded.
    tail = slice((mel.shape[1] - 1) * a.hop_length + 1, len(y))
    assert len(y) - tail.start > 50
    assert np.corrcoef(pieces[tail], whole[tail])[0, 1] > 0.9
    store.close()
    out.close()
    assert list(tmp_path.iterdir()) == []


def test_chunks_share_one_compiled_step_and_update(clip20, monkeypatch):
    # Memory: a step compiled per chunk stayed alive with what it captured (target, Adam
    # slots, content), so a long track's memory grew with its number of chunks.
    import amnst_lib.transfer as transfer

    seen = []
    real_st = transfer.style_transfer

    def st(*args, **kwargs):
        res = real_st(*args, **kwargs)
        session = kwargs.get("session")
        seen.append((session, dict(session.traces) if session is not None else None))
        return res

    monkeypatch.setattr(transfer, "style_transfer", st)
    run_transfer(clip20, clip20, config=FAST, progress=False, chunks=SMALL, keep_arrays=False,
                 compute_metrics=False)
    sessions = [s for s, _ in seen]
    assert len(seen) == 3 and sessions[0] is not None and all(s is sessions[0] for s in sessions)
    # Traced during the first chunk only (the last, shorter chunk is padded to its length).
    assert seen[0][1]["update"] == 1 and seen[-1][1] == seen[0][1], [t for _, t in seen]


def test_the_written_wav_has_every_sample_of_the_content_and_old_records_stop_short(clips, tmp_path):
    """``ReconstructionConfig.full_length``: the WAV is exactly as long as the content, its
    last samples (after the last frame's centre) rebuilt, not silent; a record written before
    the option re-runs as it ran, stopping at the last frame's centre (a 3-s clip played as 0:02)."""
    import soundfile as sf

    from amnst_lib.audio import load_audio

    n = len(load_audio(clips["content"]))
    hop = FAST.analysis.hop_length
    short = (n // hop) * hop + 1  # the last frame's centre, + 1
    assert n - short > 0
    run = run_transfer(clips["content"], clips["style"], tmp_path / "new", config=FAST, progress=False)
    assert sf.info(str(tmp_path / "new" / "output.wav")).frames == n == len(run.output)
    tail = run.output[short:]
    assert np.sqrt(np.mean(tail ** 2)) > 0.01 * np.sqrt(np.mean(run.output ** 2))
    rec = json.loads((tmp_path / "new" / "run.json").read_text())
    assert rec["config"]["reconstruction"]["full_length"] is True
    old = dict(rec["config"])
    old["reconstruction"] = {k: v for k, v in old["reconstruction"].items() if k != "full_length"}
    again = RunConfig.from_dict(old)
    assert again.reconstruction.full_length is False
    rerun = run_transfer(clips["content"], clips["style"], config=again, progress=False)
    assert len(rerun.output) == short
    # The same waveform but for the end: Griffin-Lim carries the last frames' change a few
    # frames back (measured: the first 129943 of 132097 samples equal, here).
    keep = short - 8192
    np.testing.assert_allclose(rerun.output[:keep], run.output[:keep], atol=1e-6)
    assert np.max(np.abs(rerun.output[keep:] - run.output[keep:short])) > 1e-3
