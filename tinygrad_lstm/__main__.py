"""``python -m tinygrad_lstm ...`` is the ``tinygrad-lstm`` command."""

import sys

from .cli import main

sys.exit(main())
