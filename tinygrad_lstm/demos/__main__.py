"""``python -m tinygrad_lstm.demos NAME [options]``: run one demo (see :func:`tinygrad_lstm.demos.main`)."""

import sys

from . import main

sys.exit(main())
