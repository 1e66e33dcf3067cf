"""``python -m tinygrad_lstm.demos NAME [options]``: run one demo (see :func:`tinygrad_lstm.demos.main`)."""

import sys

from ..arguments import quiet_on_closed_pipe
from . import main

sys.exit(quiet_on_closed_pipe(main))
