"""The destination: never replace a user's folder, check before computing, claim atomically,
keep the result when writing fails, clean up after an interrupted run.

CI runs as root, for whom a chmod-read-only folder is still writable, so unwritable places
are simulated: a parent path that is a file and a name over 255 bytes are real; a read-only
folder, a read-only mount and a full disk are an injected OSError (or a small free-space
figure) at the point where the file system would report them.
"""

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import pytest

from amnst_lib import destination
from amnst_lib.cli import main
from amnst_lib.destination import RUN_MARKER, claim_destination, clean_stale, is_run_folder
from amnst_lib.errors import OutputExistsError, OutputWriteError

FAST = ["--iterations", "2", "--griffin-lim-iters", "4", "-q", "--no-metrics"]


def run_cli(*argv):
    return main(["transfer", *map(str, argv)])


def _run_folder(path, record=None, extra=()):
    path.mkdir(parents=True)
    rec = {RUN_MARKER: 1, "amnst_version": "x", "config": {}, "files": {"wav": "output.wav"}} if record is None else record
    (path / "run.json").write_text(json.dumps(rec))
    (path / "output.wav").write_bytes(b"RIFF")
    for name in extra:
        (path / name).write_text("mine")
    return path


def _dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".amnst-") or ".tmp-" in p.name)


# ---------------------------------------------------------------- --overwrite replaces our run folders only

def test_overwrite_refuses_a_folder_that_is_not_a_run_folder(clips, tmp_path, capsys):
    docs = tmp_path / "mydocs"
    docs.mkdir()
    (docs / "thesis.txt").write_text("four years of work")
    code = run_cli(clips["content"], clips["style"], "-o", docs, *FAST, "--overwrite")
    err = capsys.readouterr().err
    assert code == 2 and "not a run folder of amnst (it has no run.json)" in err and err.count("\n") == 1
    assert (docs / "thesis.txt").read_text() == "four years of work"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("record,extra,why", [
    ({"title": "my notes"}, (), "not a run record of amnst"),
    ([1, 2], (), "not a run record of amnst"),
    (None, ("thesis.txt",), "it holds 'thesis.txt'"),
])
def test_only_a_folder_with_our_record_and_our_files_counts_as_a_run_folder(tmp_path, record, extra, why):
    folder = _run_folder(tmp_path / "f", record=record, extra=extra)
    assert is_run_folder(folder) == (False, is_run_folder(folder)[1]) and why in is_run_folder(folder)[1]
    with pytest.raises(OutputExistsError, match="--overwrite only replaces run folders"):
        claim_destination(folder, overwrite=True)
    assert sorted(p.name for p in folder.iterdir()) == sorted(["run.json", "output.wav", *extra])


def test_run_folders_of_older_versions_and_of_this_one_are_recognised(tmp_path, first_run_record):
    old = _run_folder(tmp_path / "old", record={"amnst_version": "0.1.0", "config": {"transfer": {}},
                                                "files": {"wav": "output.wav", "pic": "spectrograms.png"}})
    (old / "spectrograms.png").write_bytes(b"png")
    assert is_run_folder(old) == (True, "")
    assert first_run_record[RUN_MARKER] == 1


@pytest.fixture(scope="module")
def first_run_record(clips, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    assert run_cli(clips["content"], clips["style"], "-o", out, *FAST) == 0
    assert is_run_folder(out) == (True, "")
    return json.loads((out / "run.json").read_text())


def test_current_folder_and_its_parents_are_refused_even_with_overwrite(tmp_path, monkeypatch):
    run = _run_folder(tmp_path / "home" / "run")  # a run folder of ours, but the user is in it
    monkeypatch.chdir(run)
    for target in (".", "..", str(tmp_path / "home")):
        with pytest.raises(OutputExistsError, match="is the current folder"):
            claim_destination(target, overwrite=True)
    assert (run / "run.json").exists()


def test_home_like_folder_is_never_replaced(tmp_path):
    home = tmp_path / "home"
    (home / "Music").mkdir(parents=True)
    (home / ".bashrc").write_text("x")
    with pytest.raises(OutputExistsError, match="not a run folder of amnst"):
        claim_destination(home, overwrite=True)
    with pytest.raises(OutputExistsError, match="already exists"):
        claim_destination(home, overwrite=False)


# ---------------------------------------------------------------- checked before computing

def test_parent_path_that_is_a_file_and_a_name_over_255_bytes_are_refused_before_loading(clips, tmp_path, capsys,
                                                                                        monkeypatch):
    import amnst_lib.pipeline as pipeline

    monkeypatch.setattr(pipeline, "load_audio", lambda *a, **k: pytest.fail("loaded audio before checking"))
    (tmp_path / "afile").write_text("x")
    assert run_cli(clips["content"], clips["style"], "-o", tmp_path / "afile" / "run", *FAST) == 2
    err = capsys.readouterr().err
    assert "the parent path" in err and "is a file" in err and err.count("\n") == 1
    long_name = "é" * 130  # 260 bytes in UTF-8
    assert run_cli(clips["content"], clips["style"], "-o", tmp_path / long_name, *FAST) == 2
    err = capsys.readouterr().err
    assert "260 bytes long" in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


@pytest.mark.parametrize("error,words", [
    (PermissionError(errno.EACCES, "Permission denied"), "Permission denied"),
    (OSError(errno.EROFS, "Read-only file system"), "Read-only file system"),
])
def test_unwritable_place_is_refused_before_computing(tmp_path, monkeypatch, error, words):
    # As root a chmod-ed folder stays writable: inject the error where the OS would raise it.
    def refuse(*args, **kwargs):
        raise error

    monkeypatch.setattr(destination.tempfile, "mkdtemp", refuse)
    with pytest.raises(OutputWriteError, match=f"cannot write there \\({words}\\)"):
        claim_destination(tmp_path / "run")
    assert list(tmp_path.iterdir()) == []  # no lock left behind


def test_full_disk_is_refused_after_loading_and_before_the_transfer(clips, tmp_path, capsys, monkeypatch):
    import amnst_lib.transfer as transfer

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(destination.shutil, "disk_usage", lambda p: usage(10 ** 9, 10 ** 9 - 50_000, 50_000))
    monkeypatch.setattr(transfer, "style_transfer", lambda *a, **k: pytest.fail("computed on a full disk"))
    assert run_cli(clips["content"], clips["style"], "-o", tmp_path / "run", *FAST) == 2
    err = capsys.readouterr().err
    assert "MiB free, the result needs about" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_write_error_at_the_end_keeps_the_result_and_says_where(clips, tmp_path, capsys, monkeypatch):
    import amnst_lib.chunked as chunked

    real = chunked.write_wav_blocks

    def disk_full_here(path, *args, **kwargs):
        if str(path).startswith(str(tmp_path)):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(chunked, "write_wav_blocks", disk_full_here)
    assert run_cli(clips["content"], clips["style"], "-o", tmp_path / "run", *FAST) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "the disk is full" in err and err.count("\n") == 1
    rescue = re.search(r"saved in (\S+)/ instead", err).group(1)
    try:
        assert sorted(os.listdir(rescue)) == ["loss.png", "output.wav", "run.json", "spectrograms.png"]
    finally:
        shutil.rmtree(rescue)
    assert list(tmp_path.iterdir()) == []  # no half-written folder, no lock


# ---------------------------------------------------------------- atomic claim, stale folders, signals

def test_second_run_on_a_claimed_folder_is_refused(tmp_path):
    first = claim_destination(tmp_path / "run")
    try:
        # Another live process holds the claim (our parent stands in for it).
        first.lock.write_text(f"{os.getppid()}\n")
        with pytest.raises(OutputExistsError, match=f"another amnst run \\(process {os.getppid()}\\)"):
            claim_destination(tmp_path / "run", overwrite=True)
    finally:
        first.release()
    # Its process gone, a lock is stale and taken over.
    (tmp_path / first.lock.name).write_text(f"{_dead_pid()}\n")
    second = claim_destination(tmp_path / "run")
    second.release()
    assert list(tmp_path.iterdir()) == []


def test_a_run_that_finished_meanwhile_is_not_replaced(tmp_path, monkeypatch):
    # The existence check happens while holding the lock, so a folder published between
    # a second run's start and its claim is seen.
    real = destination._take_lock

    def publish_first(lock, out_dir):
        _run_folder(tmp_path / "run")
        real(lock, out_dir)

    monkeypatch.setattr(destination, "_take_lock", publish_first)
    with pytest.raises(OutputExistsError, match="already exists"):
        claim_destination(tmp_path / "run")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_stale_temporary_folders_of_ours_are_removed_on_the_next_run(tmp_path):
    dead, alive = _dead_pid(), os.getppid()
    for name in (f".amnst-tmp-{dead}-abc", f".amnst-tmp-{alive}-def", ".run.tmp-x1y2", ".other.tmp-zz"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "output.wav").write_bytes(b"partial")
    (tmp_path / f".amnst-tmp-{dead}-keep").mkdir()
    (tmp_path / f".amnst-tmp-{dead}-keep" / "sub").mkdir()  # not what a run writes: left alone
    claim = claim_destination(tmp_path / "run")
    claim.release()
    assert _leftovers(tmp_path) == sorted([f".amnst-tmp-{alive}-def", f".amnst-tmp-{dead}-keep", ".other.tmp-zz"])
    assert clean_stale(tmp_path) == []


def test_sigterm_is_handled_like_ctrl_c(clips, tmp_path):
    out = tmp_path / "run"
    script = (
        "import os, signal, sys, time\n"
        "from amnst_lib import chunked, cli\n"
        "def killed(*a, **k):\n"
        "    os.kill(os.getpid(), signal.SIGTERM); time.sleep(30)\n"
        "chunked.write_wav_blocks = killed\n"
        f"sys.exit(cli.main(['transfer', {str(clips['content'])!r}, {str(clips['style'])!r}, '-o', {str(out)!r},"
        f" *{FAST!r}]))\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env)
    assert p.returncode == 130, p.stderr[-2000:]
    assert p.stderr.splitlines()[-1] == "amnst: interrupted"
    assert list(tmp_path.iterdir()) == []  # the temporary folder and the lock are gone


def test_interrupted_is_printed_on_its_own_line_after_the_progress_bar(clips, tmp_path, capsys, monkeypatch):
    import amnst_lib.transfer as transfer

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(transfer, "_project", interrupt)
    code = run_cli(clips["content"], clips["style"], "-o", tmp_path / "run", "--iterations", "4",
                   "--projection-every", "1", "--no-metrics")
    err = capsys.readouterr().err
    assert code == 130
    assert "amnst: interrupted" in err.splitlines()
    assert list(tmp_path.iterdir()) == []


def test_an_old_run_that_cannot_be_moved_aside_is_kept_with_nothing_left_over(tmp_path, monkeypatch):
    target = tmp_path / "run"
    target.mkdir()
    (target / "run.json").write_text(json.dumps({"amnst_run": 1}))
    (target / "output.wav").write_bytes(b"RIFF old")
    claim = claim_destination(target, overwrite=True)
    (claim.tmp / "output.wav").write_bytes(b"RIFF new")
    real = os.replace

    def denied(src, dst):  # a folder of another user's, in a writable parent
        if Path(src) == target:
            raise PermissionError(errno.EACCES, "Permission denied", str(src))
        return real(src, dst)

    monkeypatch.setattr(destination.os, "replace", denied)
    with pytest.raises(PermissionError) as info:
        claim.publish()
    claim.release()
    assert (target / "output.wav").read_bytes() == b"RIFF old"
    assert _leftovers(tmp_path) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert destination.describe_write_error(info.value) == (
        f"Permission denied ({target}): choose a writable folder with -o")


def test_a_folder_filled_by_someone_else_during_the_run_is_not_replaced(tmp_path):
    target = tmp_path / "run"
    target.mkdir()  # empty: may be used without --overwrite
    claim = claim_destination(target)
    (target / "thesis.txt").write_text("written while the run computed")
    (claim.tmp / "output.wav").write_bytes(b"RIFF")
    with pytest.raises(OSError, match="filled by something else"):
        claim.publish()
    claim.release()
    assert sorted(p.name for p in target.iterdir()) == ["thesis.txt"]
    assert _leftovers(tmp_path) == []
