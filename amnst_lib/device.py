"""Which device runs TensorFlow, said once in our words, and TensorFlow's start-up noise.

On a machine without an NVIDIA driver (the normal case for our users) TensorFlow's CUDA
build still probes for one and logs, at ERROR level, ``failed call to cuInit: ... UNKNOWN
ERROR (303)``: a red stderr line in a notebook that means nothing more than "no GPU".
:func:`quiet_tensorflow_logs` (called when ``amnst_lib`` is imported, before TensorFlow is)
hides TensorFlow's C++ INFO and WARNING lines everywhere, and its ERROR lines too where no
GPU driver exists, so they can only be that probe; with a driver, real CUDA errors still
show. A user's own ``TF_CPP_MIN_LOG_LEVEL`` wins. :func:`describe_device` says instead
which device runs the transfer.

Since TensorFlow 2.21 some lines are printed while TensorFlow is imported, before its logging
honours that level (``WARNING: All log messages before absl::InitializeLog() ...``, oneDNN
and CUDA-stub INFO lines). :func:`quiet_tensorflow_logs` therefore also applies the level to
what the first ``import tensorflow`` writes to the process's stderr
(:func:`filter_native_log`); everything else written meanwhile is passed on unchanged.
"""

from __future__ import annotations

import ctypes
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile
from contextlib import contextmanager
from typing import MutableMapping

#: TensorFlow's C++ log threshold: 2 hides INFO and WARNING, 3 hides ERROR too.
LOG_LEVEL_WITH_DRIVER = "2"
LOG_LEVEL_WITHOUT_DRIVER = "3"


def available_cores() -> int:
    """CPU cores this process may use (its affinity mask, else ``os.cpu_count()``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def has_cuda_driver() -> bool:
    """True when an NVIDIA CUDA driver library can be loaded (Linux); True elsewhere.

    Only Linux builds of TensorFlow probe CUDA, so on other systems there is nothing to
    hide and this answers True (keep ERROR lines).
    """
    if not sys.platform.startswith("linux"):
        return True
    if os.path.exists("/proc/driver/nvidia/version"):
        return True
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    return True


def quiet_tensorflow_logs(environ: MutableMapping[str, str] | None = None) -> str:
    """Set ``TF_CPP_MIN_LOG_LEVEL`` (unless set already) before TensorFlow is imported.

    Parameters
    ----------
    environ : mapping or None
        The environment to change (default ``os.environ``).

    Returns
    -------
    str
        The level in effect.
    """
    environ = os.environ if environ is None else environ
    level = LOG_LEVEL_WITH_DRIVER if has_cuda_driver() else LOG_LEVEL_WITHOUT_DRIVER
    level = environ.setdefault("TF_CPP_MIN_LOG_LEVEL", level)
    if environ is os.environ and "tensorflow" not in sys.modules:
        _install_quiet_import()
    return level


#: A line of TensorFlow's native (absl) log: severity letter, date, time, thread, file:line].
_NATIVE_LINE = re.compile(r"^([IWEF])\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] ")
#: absl's notice before its logging is set up, and the known continuation of an INFO line.
_PRE_INIT = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
_CONTINUATIONS = ("To enable the following instructions:",)
_SEVERITY = {"I": 0, "W": 1, "E": 2, "F": 3}


def filter_native_log(text: str, level: str | int) -> str:
    """Drop TensorFlow's native log lines below ``level``, as ``TF_CPP_MIN_LOG_LEVEL`` means it.

    Parameters
    ----------
    text : str
        What was written to stderr.
    level : str or int
        0 keeps everything, 1 hides INFO, 2 also WARNING, 3 also ERROR (FATAL is kept).

    Returns
    -------
    str
        ``text`` without those lines (other lines unchanged, in order).
    """
    try:
        level = int(level)
    except (TypeError, ValueError):
        level = 0
    if level <= 0:
        return text
    kept, hid_last = [], False
    for line in text.splitlines(keepends=True):
        m = _NATIVE_LINE.match(line)
        if m:
            hid_last = _SEVERITY[m.group(1)] < min(level, 3)
        elif line.rstrip("\n") == _PRE_INIT or (hid_last and line.startswith(_CONTINUATIONS)):
            hid_last = True
        else:
            hid_last = False
        if not hid_last:
            kept.append(line)
    return "".join(kept)


@contextmanager
def native_stderr_filtered(level: str | int):
    """Send what is written to file descriptor 2 meanwhile through :func:`filter_native_log`.

    Native libraries write to the descriptor, not to ``sys.stderr``; the descriptor is
    pointed at a temporary file for the duration and restored after, then the kept lines
    are written to it. Where the descriptor cannot be redirected, nothing is filtered.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        tmp = tempfile.TemporaryFile()
        os.dup2(tmp.fileno(), 2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        yield
    finally:
        try:
            sys.stderr.flush()
        except (OSError, ValueError, AttributeError):
            pass
        os.dup2(saved, 2)
        os.close(saved)
        tmp.seek(0)
        kept = filter_native_log(tmp.read().decode("utf-8", "replace"), level)
        tmp.close()
        if kept:
            os.write(2, kept.encode("utf-8", "replace"))


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Runs the first ``import tensorflow`` under :func:`native_stderr_filtered`, once."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        _remove_quiet_import()
        spec = importlib.util.find_spec(name)
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def quiet_exec_module(module):
            with native_stderr_filtered(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0")):
                exec_module(module)

        loader.exec_module = quiet_exec_module
        return spec


def _install_quiet_import() -> None:
    if not any(isinstance(f, _QuietTensorFlowImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowImport())


def _remove_quiet_import() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _QuietTensorFlowImport)]


def describe_device() -> str:
    """Which device TensorFlow runs the transfer on, in a short sentence (imports TensorFlow).

    Returns
    -------
    str
        E.g. ``"GPU (NVIDIA H200)"`` or ``"CPU (no GPU found; the transfer runs on the
        processor)"``.
    """
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU (no GPU found; the transfer runs on the processor)"
    names = []
    for gpu in gpus:
        try:
            names.append(tf.config.experimental.get_device_details(gpu).get("device_name") or gpu.name)
        except Exception:  # details are optional; the device itself is what matters
            names.append(gpu.name)
    return f"GPU ({', '.join(names)})"
