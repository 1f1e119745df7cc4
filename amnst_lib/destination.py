"""Where a run's files go: checked before any computing, claimed atomically, written safely.

A run folder is the last stage of the flow, but everything that can go wrong with it is
checked first, so that no long computation is lost to a read-only folder:

* :func:`claim_destination` refuses (one line, exit 2) a destination that is the current
  folder or holds it, a name longer than the file system allows, a parent path that is a
  file, and an existing folder that is not recognisably one of our run folders
  (:func:`is_run_folder`: ``--overwrite`` replaces run folders only, never ``~/Music``).
  It then claims the destination atomically with a lock file beside it (a second run on
  the same folder is refused while the first runs) and creates the temporary folder the
  run is written into, which proves the place writable. Stale temporary folders of our
  own (from a run killed mid-write) are removed on the way.
* :meth:`Claim.check_space` refuses a destination whose disk cannot hold the result.
* :meth:`Claim.publish` renames the finished folder into place; :func:`rescue_folder`
  is where a result goes when writing fails at the end, and the error says so.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from .errors import OutputExistsError, OutputWriteError

#: Key written into every run.json: marks the folder as a run folder of ours.
RUN_MARKER = "amnst_run"
#: Version of the run-folder layout stored under :data:`RUN_MARKER`.
RUN_FORMAT = 1
#: Files a run folder holds (more may be listed in its run.json's ``files``).
RUN_FILES = frozenset({"output.wav", "spectrograms.png", "loss.png", "run.json"})
#: Space kept free beyond the WAV's size: pictures and run.json, bytes.
EXTRA_BYTES = 8 * 2 ** 20

_TMP = re.compile(r"^\.amnst-(tmp|old)-(\d+)-")


def _fail(message: str):
    raise OutputExistsError(message)


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _only_plain_files(folder: Path) -> bool:
    try:
        return all(p.is_file() and not p.is_symlink() for p in folder.iterdir())
    except OSError:
        return False


def is_run_folder(path) -> tuple[bool, str]:
    """Whether ``path`` is a run folder written by AM-NST (safe for ``--overwrite`` to replace).

    It must hold a ``run.json`` that is a run record of ours (the :data:`RUN_MARKER` key;
    or, from versions before the marker, ``amnst_version`` and a ``config`` section), and
    nothing but plain files that runs write (:data:`RUN_FILES` and those its record lists).

    Returns
    -------
    ours : bool
    reason : str
        Why not (empty when it is ours).
    """
    path = Path(path)
    record = path / "run.json"
    if not record.is_file():
        return False, "it has no run.json"
    try:
        data = json.loads(record.read_text())
    except (OSError, ValueError):
        return False, "its run.json is not a run record"
    if not isinstance(data, dict) or not (
            data.get(RUN_MARKER) or ("amnst_version" in data and isinstance(data.get("config"), dict))):
        return False, "its run.json is not a run record of amnst"
    files = data.get("files") if isinstance(data.get("files"), dict) else {}
    allowed = set(RUN_FILES) | {v for v in files.values() if isinstance(v, str) and "/" not in v}
    for entry in sorted(path.iterdir()):
        if entry.name not in allowed or entry.is_symlink() or not entry.is_file():
            return False, f"it holds {entry.name!r}, which no run wrote"
    return True, ""


def _name_max(folder: Path) -> int:
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return 255


def _first_existing(path: Path) -> Path:
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _os_reason(e: OSError) -> str:
    return e.strerror or type(e).__name__


def clean_stale(parent: Path, name: str | None = None) -> list[Path]:
    """Remove temporary folders our killed runs left in ``parent``.

    ``.amnst-tmp-<pid>-*`` and ``.amnst-old-<pid>-*`` folders whose process is gone, and
    the older layout's ``.<name>.tmp-*`` beside the run folder ``name`` being claimed;
    only folders that hold nothing but plain files are removed.

    Returns
    -------
    removed : list of Path
    """
    removed = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        m = _TMP.match(entry.name)
        stale = bool(m) and not _pid_alive(int(m.group(2)))
        if not stale and name is not None:
            stale = entry.name.startswith(f".{name}.tmp-") or entry.name.startswith(f".{name}.old-")
        if stale and entry.is_dir() and not entry.is_symlink() and _only_plain_files(entry):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


class Claim:
    """A destination claimed for one run: its lock, and the temporary folder written first.

    Attributes
    ----------
    out_dir : Path
        The run folder to create (or replace).
    tmp : Path
        Temporary folder beside it; files are written here, then :meth:`publish` renames it.
    lock : Path
        Lock file beside it, holding this process's id.
    published : bool
    """

    def __init__(self, out_dir: Path, tmp: Path, lock: Path):
        self.out_dir, self.tmp, self.lock = out_dir, tmp, lock
        self.published = False

    def check_space(self, n_bytes: int) -> None:
        """Refuse now if the destination's disk has not ``n_bytes`` (+ a margin) free."""
        try:
            free = shutil.disk_usage(self.tmp).free
        except OSError:
            return
        need = int(n_bytes) + EXTRA_BYTES
        if free < need:
            raise OutputWriteError(
                f"{self.out_dir.parent}: only {free / 2 ** 20:.1f} MiB free, the result needs about "
                f"{need / 2 ** 20:.1f} MiB; free some space or choose another folder with -o.")

    def publish(self) -> None:
        """Move the finished temporary folder into place, replacing an old run folder last."""
        out = self.out_dir
        old = None
        if out.is_dir() and any(out.iterdir()) and not is_run_folder(out)[0]:
            # Empty (or ours) when claimed, filled by someone else since: never replaced.
            raise OSError(errno.EEXIST, "the folder was filled by something else during the run", str(out))
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".amnst-old-{os.getpid()}-", dir=out.parent))
            try:
                os.replace(out, old / "run")
            except OSError:  # the old run cannot be moved (not ours to move): leave no empty holder
                shutil.rmtree(old, ignore_errors=True)
                raise
        try:
            os.replace(self.tmp, out)
        except OSError:
            if old is not None:  # put the old run back
                os.replace(old / "run", out)
                shutil.rmtree(old, ignore_errors=True)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        self.published = True

    def release(self) -> None:
        """Remove the temporary folder (unless published) and the lock."""
        if not self.published:
            shutil.rmtree(self.tmp, ignore_errors=True)
        try:
            self.lock.unlink()
        except OSError:
            pass


def _lock_path(out_dir: Path) -> Path:
    digest = hashlib.sha1(os.fsencode(out_dir.name)).hexdigest()[:16]
    return out_dir.parent / f".amnst-lock-{digest}"


def _take_lock(lock: Path, out_dir: Path) -> None:
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or "0")
            except (OSError, ValueError):
                pid = 0
            if pid and _pid_alive(pid) and pid != os.getpid():
                _fail(f"{out_dir}: another amnst run (process {pid}) is writing this folder; wait for it to "
                      f"finish or choose another folder with -o.")
            if pid == os.getpid():
                _fail(f"{out_dir}: this process is already writing this folder.")
            try:  # stale: its process is gone
                lock.unlink()
            except FileNotFoundError:
                pass
            continue
        except OSError as e:
            raise OutputWriteError(f"{out_dir.parent}: cannot write there ({_os_reason(e)}); choose a writable "
                                   f"folder with -o.") from None
        with os.fdopen(fd, "w") as f:
            f.write(f"{os.getpid()}\n")
        return
    _fail(f"{out_dir}: another run claimed this folder at the same moment; try again.")


def _check_existing(absolute: Path, out_dir: Path, overwrite: bool) -> None:
    if absolute.is_symlink() or (absolute.exists() and not absolute.is_dir()):
        _fail(f"{out_dir}: exists and is a {'link' if absolute.is_symlink() else 'file'}, not a run folder; "
              f"choose another folder with -o.")
    if absolute.is_dir() and any(absolute.iterdir()):
        if not overwrite:
            _fail(f"{out_dir}: a folder already exists there; pass --overwrite to replace a run folder, or "
                  f"choose another output folder with -o.")
        ours, why = is_run_folder(absolute)
        if not ours:
            _fail(f"{out_dir}: not a run folder of amnst ({why}); --overwrite only replaces run folders. "
                  f"Choose another output folder with -o.")


def refuse_current_folder(out_dir, what: str = "run", example: str = "outputs/my_run") -> None:
    """Refuse a destination that is the current folder or holds it: a ``what`` writes a folder of its own.

    Raises
    ------
    OutputExistsError
    """
    absolute = Path(os.path.abspath(out_dir))
    cwd = Path(os.getcwd())
    if absolute == cwd or absolute in cwd.parents:
        _fail(f"{out_dir}: is the current folder{'' if absolute == cwd else ' or holds it'}; a {what} writes a "
              f"folder of its own: give a new name with -o (e.g. -o {example}).")


def claim_destination(out_dir, overwrite: bool = False) -> Claim:
    """Check that ``out_dir`` can be written, and claim it for this run.

    Parameters
    ----------
    out_dir : str or Path
        The run folder to create (or, with ``overwrite``, replace).
    overwrite : bool
        Replace an existing run folder (only one of ours: :func:`is_run_folder`).

    Returns
    -------
    Claim
        Call :meth:`Claim.publish` when the files are written in ``claim.tmp``, and
        :meth:`Claim.release` in any case.

    Raises
    ------
    OutputExistsError
        The destination is the current folder (or holds it), exists and is not a run
        folder of ours, exists without ``overwrite``, or another run is writing it.
    OutputWriteError
        The name is too long, a parent path is a file, or the place is not writable.
    """
    out_dir = Path(out_dir)
    absolute = Path(os.path.abspath(out_dir))
    refuse_current_folder(out_dir)
    if not absolute.name:
        _fail(f"{out_dir}: is the root of the file system; give a run folder name with -o.")
    existing = _first_existing(absolute.parent)
    if not existing.is_dir():
        raise OutputWriteError(f"{out_dir}: the parent path {existing} is a file, not a folder; choose another "
                               f"folder with -o.")
    limit = _name_max(existing)
    for part in absolute.relative_to(existing).parts:
        if len(os.fsencode(part)) > limit:
            raise OutputWriteError(f"{out_dir}: the folder name {part[:40]!r}... is {len(os.fsencode(part))} "
                                   f"bytes long, more than this file system allows ({limit}); give a shorter "
                                   f"name with -o.")
    try:
        absolute.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputWriteError(f"{out_dir.parent}: cannot create this folder ({_os_reason(e)}); choose a "
                               f"writable place with -o.") from None
    lock = _lock_path(absolute)
    _take_lock(lock, out_dir)
    try:  # checked while holding the lock: a run that finished meanwhile has published
        _check_existing(absolute, out_dir, overwrite)
    except OutputExistsError:
        lock.unlink()
        raise
    try:
        clean_stale(absolute.parent, absolute.name)
        tmp = Path(tempfile.mkdtemp(prefix=f".amnst-tmp-{os.getpid()}-", dir=absolute.parent))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; a run folder is not
        probe = tmp / ".probe"
        with open(probe, "wb") as f:  # a write, not only a create: read-only mounts, quotas
            f.write(b"\0" * 4096)
            f.flush()
            os.fsync(f.fileno())
        probe.unlink()
    except OSError as e:
        try:
            lock.unlink()
        except OSError:
            pass
        raise OutputWriteError(f"{out_dir.parent}: cannot write there ({_os_reason(e)}); choose a writable "
                               f"folder with -o.") from None
    return Claim(out_dir, tmp, lock)


def rescue_folder(name: str) -> Path:
    """A fresh folder under the system temporary folder, for a result that could not be saved."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:60] or "run"
    return Path(tempfile.mkdtemp(prefix=f"amnst-rescue-{safe}-"))


def describe_write_error(e: OSError) -> str:
    """What to fix, for an OSError met while writing the run folder."""
    hint = {errno.ENOSPC: "the disk is full: free some space",
            errno.EDQUOT: "the disk quota is exceeded: free some space",
            errno.EROFS: "the file system is read-only: choose another folder with -o",
            errno.EACCES: "permission denied: choose a writable folder with -o",
            errno.EPERM: "permission denied: choose a writable folder with -o"}.get(e.errno)
    where = f" ({e.filename})" if e.filename else ""
    if hint and hint.split(":")[0].lower() == _os_reason(e).lower():  # "Permission denied; permission denied: ..."
        return f"{_os_reason(e)}{where}:{hint.split(':', 1)[1]}"
    return f"{_os_reason(e)}{where}" + (f"; {hint}" if hint else "")
