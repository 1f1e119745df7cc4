"""Which device runs TensorFlow, said once in our words, and TensorFlow's start-up noise.

On a machine without an NVIDIA driver (the normal case for our users) TensorFlow's CUDA
build still probes for one and logs, at ERROR level, ``failed call to cuInit: ... UNKNOWN
ERROR (303)``: a red stderr line in a notebook that means nothing more than "no GPU".
:func:`quiet_tensorflow_logs` (called when ``amnst_lib`` is imported, before TensorFlow is)
hides TensorFlow's C++ INFO and WARNING lines everywhere, and its ERROR lines too where no
GPU driver exists, so they can only be that probe; with a driver, real CUDA errors still
show. A user's own ``TF_CPP_MIN_LOG_LEVEL`` wins. :func:`describe_device` says instead
which device runs the transfer.
"""

from __future__ import annotations

import ctypes
import os
import sys
from typing import MutableMapping

#: TensorFlow's C++ log threshold: 2 hides INFO and WARNING, 3 hides ERROR too.
LOG_LEVEL_WITH_DRIVER = "2"
LOG_LEVEL_WITHOUT_DRIVER = "3"


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
    return environ.setdefault("TF_CPP_MIN_LOG_LEVEL", level)


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
