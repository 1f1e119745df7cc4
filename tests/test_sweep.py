"""``amnst sweep`` / ``amnst batch`` on Dask: settings parsing, resumable sweeps, failures, clusters."""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf

from amnst_lib import sweep
from amnst_lib.cli import main
from amnst_lib.errors import ParameterError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "data" / "examples"
TINY = ["--grid", "iterations=3", "--set", "rec.n_iter=4,projection_every=0"]  # 3 steps, 4 Griffin-Lim iterations


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Two 2-second contents and two 2-second styles cut from the bundled examples."""
    d = tmp_path_factory.mktemp("clips")
    music, sr = sf.read(EXAMPLES / "mus01_baroque_bach_brandenburg2.wav", dtype="float32")
    out = {}
    for name, y in (("musA", music[: 2 * sr]), ("musB", music[4 * sr: 6 * sr])):
        sf.write(d / f"{name}.wav", y, sr)
        out[name] = d / f"{name}.wav"
    for name, src in (("ambA", "amb04_stream.wav"), ("ambB", "amb07_fireplace.wav")):
        y, sr2 = sf.read(EXAMPLES / src, dtype="float32")
        sf.write(d / f"{name}.wav", y[: 2 * sr2], sr2)
        out[name] = d / f"{name}.wav"
    corrupt = d / "musCorrupt.wav"
    corrupt.write_bytes(b"RIFF this is not audio" * 10)
    out["corrupt"] = corrupt
    return out


def _rows(out_dir: Path) -> list[dict]:
    with open(out_dir / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def _has_figures(row: dict) -> bool:
    return all(row[k] and math.isfinite(float(row[k])) for k in ("chroma_similarity", "mfcc_gap_closed"))


# ----------------------------------------------------------------------- settings (no cluster)

def test_grid_values_and_overrides_are_parsed_like_python():
    grid = sweep.parse_grid(["content_weight=2,3", "style-layers=('bands',),('bands','wide')", "init=content,random"])
    assert len(grid) == 8
    assert grid[0] == {"content_weight": 2, "style_layers": ("bands",), "init": "content"}
    assert sweep.parse_overrides("content_weight=2.0,rec.init_phase='random'") == {
        "content_weight": 2.0, "rec.init_phase": "random"}
    assert sweep.parse_value("bands;wide") == ("bands", "wide") and sweep.parse_value("0.5") == 0.5
    with pytest.raises(ParameterError, match="unknown setting 'content_wieght'"):
        sweep.parse_grid(["content_wieght=2,3"])
    with pytest.raises(ParameterError, match="KEY=V1,V2"):
        sweep.parse_grid(["content_weight"])


def test_job_names_hash_the_resolved_settings(clips):
    a = sweep.make_job(clips["musA"], clips["ambA"], {"content_weight": 2})
    b = sweep.make_job(clips["musA"], clips["ambA"], {"content_weight": 2.0})
    c = sweep.make_job(clips["musA"], clips["ambA"], {"content_weight": 3})
    assert a.name == b.name and a.name != c.name
    assert a.name.startswith("musA__ambA__") and len(a.hash) == 8
    config, _ = a.resolve()
    assert config.transfer.content_weight == 2.0 and config.transfer.network == "texture"  # preset default
    assert sweep.dedupe([a, b, c]) == [a, c]
    with pytest.raises(ParameterError, match="iterations must be an integer"):
        sweep.make_job(clips["musA"], clips["ambA"], {"iterations": 2.5})


def test_a_job_writes_its_folder_without_keeping_arrays_in_memory(clips, tmp_path, monkeypatch):
    # A sweep needs only the run folder and run.json: the waveforms and full mels stay
    # in files (memory flat with track length), as on the command line.
    import amnst_lib.pipeline as pipeline

    monkeypatch.setattr(sweep, "_THREADS_SET", True)  # no process-wide thread or log settings in the test run
    results = []
    real = pipeline.run_transfer

    def spy(*args, **kwargs):
        results.append(real(*args, **kwargs))
        return results[-1]

    monkeypatch.setattr(pipeline, "run_transfer", spy)
    job = sweep.make_job(clips["musA"], clips["ambA"], {"iterations": 3, "rec.n_iter": 4, "projection_every": 0})
    row = sweep.run_job(job, tmp_path)
    assert row["status"] == "ok" and _has_figures(row), row
    assert results[0].output is None and results[0].output_mel is None and results[0].content_mel is None
    assert (tmp_path / job.name / "output.wav").is_file()


def test_bad_jobs_csv_and_grid_are_one_clear_line(clips, tmp_path, capsys):
    jobs = tmp_path / "jobs.csv"
    cases = {
        "content,style,contnet_weight\nmusA.wav,ambA.wav,2\n": "column 'contnet_weight'",
        "content,style,iterations\nmusA.wav,ambA.wav,lots\n": "line 2: iterations must be an integer",
        "content,style\nmissing.wav,ambA.wav\n": "line 2: content missing.wav: no such file",
        "music,ambience\nmusA.wav,ambA.wav\n": "columns 'content' and 'style'",
    }
    for text, message in cases.items():
        jobs.write_text(text.replace("musA.wav", str(clips["musA"])).replace("ambA.wav", str(clips["ambA"])))
        assert main(["batch", str(jobs), "-o", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("amnst: error: ") and message in err and err.count("\n") == 1, err
    assert main(["sweep", "--contents", str(clips["musA"]), "--styles", str(clips["ambA"]),
                 "--grid", "style_weight=2,x=", "-o", str(tmp_path / "out")]) == 2
    assert "amnst: error: cannot read the values" in capsys.readouterr().err
    assert not (tmp_path / "out" / "results.csv").exists()
    # An output that cannot be written is refused before any job runs.
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    jobs.write_text(f"content,style\n{clips['musA']},{clips['ambA']}\n")
    assert main(["batch", str(jobs), "-o", str(blocker / "sweep")]) == 2
    assert "cannot write the sweep there" in capsys.readouterr().err


def test_a_folder_that_is_not_a_sweeps_is_refused_untouched(clips, tmp_path, capsys, monkeypatch):
    base = ["sweep", "--contents", str(clips["musA"]), "--styles", str(clips["ambA"]), *TINY, "-q"]
    project = tmp_path / "project"  # a user's folder: their own results.csv, no runs/
    project.mkdir()
    (project / "results.csv").write_text("my,own,table\n1,2,3\n")
    (project / "notes.txt").write_text("keep me")
    before = {p.name: p.read_bytes() for p in project.iterdir()}
    foreign = tmp_path / "foreign"  # has runs/, but a table that is not ours
    (foreign / "runs").mkdir(parents=True)
    (foreign / "results.csv").write_text("a,b\n")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("keep me too")
    board = tmp_path / "board"  # another tool's runs/ (TensorBoard's default name)
    (board / "runs" / "Nov30_14-02-11").mkdir(parents=True)
    cases = [(tmp_path, project, "its results.csv is not a sweep table of amnst"),
             (tmp_path, notes, "holds files and is not a sweep folder"),
             (tmp_path, board, "holds files and is not a sweep folder"),
             (tmp_path, project / "notes.txt", "exists and is a file"),
             (tmp_path, foreign, "results.csv is not a sweep table of amnst"),
             (project, Path("."), "is the current folder"), (project, Path(".."), "is the current folder or holds it")]
    for cwd, out, message in cases:
        monkeypatch.chdir(cwd)
        assert main([*base, "-o", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("amnst: error: ") and message in err and err.count("\n") == 1, err
    assert {p.name: p.read_bytes() for p in project.iterdir()} == before
    assert sorted(p.name for p in foreign.iterdir()) == ["results.csv", "runs"] and not any((foreign / "runs").iterdir())
    assert [p.name for p in notes.iterdir()] == ["todo.txt"] and sorted(p.name for p in board.iterdir()) == ["runs"]
    # Sweep folders are accepted: our table (saved again with a BOM by a spreadsheet) without
    # runs/, or runs/ of job folders without a table.
    ours = tmp_path / "ours"
    ours.mkdir()
    (ours / "results.csv").write_text("\ufeffcontent,style,settings,run_dir\n", encoding="utf-8")
    sweep.check_destination(ours)
    jobs_only = tmp_path / "jobs_only"
    (jobs_only / "runs" / "musA__ambA__0123abcd").mkdir(parents=True)
    sweep.check_destination(jobs_only)


def test_cluster_options_are_checked_before_anything_runs(clips, tmp_path, capsys):
    base = ["sweep", "--contents", str(clips["musA"]), "--styles", str(clips["ambA"]), *TINY, "-q",
            "-o", str(tmp_path / "out")]
    cases = {("--memory-limit", "lots"): "--memory-limit must be a size such as 4GiB",
             ("--memory-limit", "1KB"): "is less than the 1.00 GiB a worker needs",
             ("--threads", "-1"): "--threads must be a whole number >= 1, got -1",
             ("--workers", "0"): "--workers must be a whole number >= 1, got 0"}
    for flags, message in cases.items():
        assert main([*base, *flags]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "out").exists()
    for limit in ("4GiB", "auto", None, "0", 0.5, "1"):  # Dask's: 0 no limit, 0 < x <= 1 a share of memory
        sweep.check_cluster_options(2, 1, limit)


def test_earlier_sweeps_rows_are_kept_when_the_table_is_rewritten(tmp_path):
    out = tmp_path / "sw"
    for name in ("a", "b"):
        (out / "runs" / name).mkdir(parents=True)
    old = [{"content": "m.wav", "style": "s.wav", "settings": "seed=1", "seed": "1", "run_dir": str(out / "runs" / name),
            "status": "ok", "reused": False, "seconds": 1.5, "chroma_similarity": 0.9, "mfcc_gap_closed": None}
           for name in ("a", "b", "gone")]
    sweep.write_results(old, out)
    now = [{"content": "m.wav", "style": "s.wav", "settings": "style_weight=2", "style_weight": "2",
            "run_dir": str(out / "runs" / "a"), "status": "ok", "reused": True, "seconds": 2.0,
            "chroma_similarity": 0.8, "mfcc_gap_closed": 0.5}]
    kept = sweep.earlier_rows(out, now)
    # "a" is this sweep's own row now; "gone" has no run folder any more: only "b" is kept.
    assert [r["run_dir"] for r in kept] == [str(out / "runs" / "b")]
    assert kept[0]["chroma_similarity"] == 0.9 and kept[0]["mfcc_gap_closed"] is None and kept[0]["reused"] is False
    sweep.write_results(now + kept, out)
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["settings"], r["style_weight"], r["seed"]) for r in rows] == [("style_weight=2", "2", ""),
                                                                           ("seed=1", "", "1")]
    assert sweep.earlier_rows(tmp_path / "nothing", now) == []
    # The folder copied elsewhere: rows are matched by run folder name and point at the copy.
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    moved = sweep.earlier_rows(copy, [{"run_dir": str(copy / "runs" / "a")}])
    assert [r["run_dir"] for r in moved] == [str((copy / "runs" / "b").resolve())]


# ----------------------------------------------------------------------- an embedded LocalCluster

def test_local_cluster_sweep_resumes_and_records_failures(clips, tmp_path, capsys):
    out = tmp_path / "sweep"
    argv = ["sweep", "--contents", str(clips["musA"]), str(clips["musB"]),
            "--styles", str(clips["ambA"]), str(clips["ambB"]), *TINY, "--workers", "2", "-q", "-o", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "2 worker process(es) x 1 TensorFlow thread(s)" in printed
    rows = _rows(out)
    assert len(rows) == 4 and all(r["status"] == "ok" and _has_figures(r) for r in rows), rows
    # Each worker's resident memory after its job: a TensorFlow process, so some hundreds of MiB.
    assert all(0.2 < float(r["worker_rss_gib"]) < 64 for r in rows), [r["worker_rss_gib"] for r in rows]
    assert {(r["content"], r["style"]) for r in rows} == {(c, s) for c in ("musA.wav", "musB.wav")
                                                          for s in ("ambA.wav", "ambB.wav")}
    for r in rows:
        record = json.loads((Path(r["run_dir"]) / "run.json").read_text())
        assert record["config"]["transfer"]["iterations"] == 3 and len(record["history"]) == 3
        assert Path(r["run_dir"]).name.endswith("__" + r["settings_hash"])
    assert (out / "frontier.png").stat().st_size > 10_000
    assert (out / "results.parquet").is_file() if _parquet() else True
    stamps = {r["run_dir"]: os.stat(Path(r["run_dir"]) / "run.json").st_mtime_ns for r in rows}

    # The same command again: every job is complete, none runs (no cluster is started).
    assert main(argv) == 0
    assert "all complete from an earlier run; nothing to run" in capsys.readouterr().out
    again = _rows(out)
    assert len(again) == 4 and all(r["reused"] == "True" and r["status"] == "ok" for r in again)
    assert all(r["worker_rss_gib"] == "" for r in again)  # nothing ran
    assert stamps == {r["run_dir"]: os.stat(Path(r["run_dir"]) / "run.json").st_mtime_ns for r in again}

    # Extended with another job into the same folder: the table keeps the four earlier rows.
    assert main(["sweep", "--contents", str(clips["musA"]), "--styles", str(clips["ambA"]), *TINY, "--set", "seed=5",
                 "--workers", "1", "-q", "-o", str(out)]) == 0
    assert "keeping 4 row(s) of earlier sweeps" in capsys.readouterr().out
    extended = _rows(out)
    assert len(extended) == 5 and extended[0]["seed"] == "5" and extended[0]["reused"] == "False"
    assert {r["run_dir"] for r in extended[1:]} == set(stamps) and all(_has_figures(r) for r in extended)

    # A batch with a corrupt content beside a new job: recorded as failed, the other finishes.
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("content,style,iterations,rec.n_iter,projection_every,seed\n"
                    f"{clips['corrupt']},{clips['ambA']},3,4,0,\n"
                    f"{clips['musA']},{clips['ambB']},3,4,0,7\n")
    assert main(["batch", str(jobs), "--workers", "2", "-q", "-o", str(out / "batch")]) == 1
    rows = {r["content"]: r for r in _rows(out / "batch")}
    assert rows["musCorrupt.wav"]["status"] == "failed" and "musCorrupt.wav" in rows["musCorrupt.wav"]["error"]
    assert "\n" not in rows["musCorrupt.wav"]["error"] and not _has_figures(rows["musCorrupt.wav"])
    assert rows["musA.wav"]["status"] == "ok" and _has_figures(rows["musA.wav"]) and rows["musA.wav"]["seed"] == "7"
    assert not Path(rows["musCorrupt.wav"]["run_dir"]).exists()


def _parquet() -> bool:
    try:
        import pandas  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


# ----------------------------------------------------------------------- `dask scheduler` / `dask worker`

def _env():
    return dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")


def _stop(proc: subprocess.Popen) -> None:
    """End a process we started, and its children (its own session), whatever happened."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=15)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """``dask scheduler`` and ``dask worker`` (2 worker processes) as separate processes on 127.0.0.1."""
    d = tmp_path_factory.mktemp("dask")
    sched_file = d / "scheduler.json"
    procs = []
    try:
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(sched_file)], env=_env(), cwd=d, start_new_session=True,
            stdout=open(d / "scheduler.log", "w"), stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 120
        while not sched_file.exists() and time.monotonic() < deadline:
            assert procs[0].poll() is None, (d / "scheduler.log").read_text()
            time.sleep(0.2)
        address = json.loads(sched_file.read_text())["address"]
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "dask", "worker", address, "--nworkers", "2", "--nthreads", "1",
             "--host", "127.0.0.1", "--no-dashboard", "--memory-limit", "4GiB"],
            env=_env(), cwd=d, start_new_session=True, stdout=open(d / "worker.log", "w"), stderr=subprocess.STDOUT))
        from distributed import Client

        client = Client(address, timeout="60s")
        client.wait_for_workers(2, timeout=180)
        yield address, client
        client.close()
    finally:
        for p in reversed(procs):
            _stop(p)


def _amnst(*argv, env=None):
    return subprocess.Popen([sys.executable, "-m", "amnst_lib", *map(str, argv)], env=env or _env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def test_sweep_through_a_separate_scheduler(dask_cluster, clips, tmp_path):
    address, _ = dask_cluster
    env = dict(_env(), DASK_SCHEDULER_ADDRESS=address)  # the variable names the cluster, as --scheduler does
    proc = _amnst("sweep", "--contents", clips["musA"], "--styles", clips["ambA"], clips["ambB"], *TINY,
                  "-q", "-o", tmp_path / "remote", env=env)
    try:
        out, err = proc.communicate(timeout=600)
    finally:
        _stop(proc)
    assert proc.returncode == 0, err
    assert "local Dask cluster" not in out
    rows = _rows(tmp_path / "remote")
    assert len(rows) == 2 and all(r["status"] == "ok" and _has_figures(r) for r in rows)


def test_a_worker_killed_during_a_job_is_retried_and_recorded_once(dask_cluster, clips, tmp_path):
    address, client = dask_cluster
    proc = _amnst("sweep", "--contents", clips["musB"], "--styles", clips["ambA"], clips["ambB"],
                  "--grid", "iterations=3", "--set", "rec.n_iter=4,projection_every=0,seed=3",
                  "--scheduler", address, "-q", "-o", tmp_path / "killed")
    killed = None
    try:
        deadline = time.monotonic() + 300
        while killed is None and time.monotonic() < deadline and proc.poll() is None:
            for _, event in client.get_events(sweep.EVENT_TOPIC):
                if event["event"] == "start" and "musB" in event["job"]:
                    killed = event
                    os.kill(event["pid"], signal.SIGKILL)  # a dask worker process (the nanny restarts it)
                    break
            time.sleep(0.1)
        out, err = proc.communicate(timeout=600)
    finally:
        _stop(proc)
    assert killed is not None, "no job start seen"
    assert proc.returncode == 0, err
    rows = _rows(tmp_path / "killed")
    assert len(rows) == 2 and len({r["run_dir"] for r in rows}) == 2
    assert all(r["status"] == "ok" and _has_figures(r) for r in rows), rows
    starts = [e for _, e in client.get_events(sweep.EVENT_TOPIC) if e["job"] == killed["job"]]
    assert len(starts) >= 2 and starts[-1]["pid"] != killed["pid"]  # it ran again, on another process
    assert sorted(p.name for p in (tmp_path / "killed" / "runs").iterdir()) == sorted(
        Path(r["run_dir"]).name for r in rows)  # no half-written folder left


def test_a_workers_thread_limit_also_limits_griffin_lims_ffts(monkeypatch):
    import logging

    import tensorflow as tf

    from amnst_lib import spectrum, sweep

    set_by_worker = []  # TensorFlow's pools are left alone here: they would slow every later test
    monkeypatch.setattr(tf.config.threading, "set_intra_op_parallelism_threads", set_by_worker.append)
    monkeypatch.setattr(tf.config.threading, "set_inter_op_parallelism_threads", lambda n: None)
    levels = logging.getLogger("amnst").level, tf.get_logger().level  # it quietens both: put them back
    try:
        for tf_threads, expected in ((2, 2), (None, 1)):  # None: a cluster given without --threads
            monkeypatch.setattr(sweep, "_THREADS_SET", False)
            sweep._limit_threads(tf_threads)
            assert spectrum.fft_workers() == expected
        assert set_by_worker == [2]
    finally:
        spectrum.set_fft_workers(None)
        logging.getLogger("amnst").setLevel(levels[0])
        tf.get_logger().setLevel(levels[1])
