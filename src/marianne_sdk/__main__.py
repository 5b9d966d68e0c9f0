"""``python -m marianne_sdk``: the ``marianne-sdk`` command."""

import sys

from .cli import main

sys.exit(main())
