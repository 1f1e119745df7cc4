"""``python -m amnst_lib`` is the ``amnst`` command."""

import sys

from .cli import main

sys.exit(main())
