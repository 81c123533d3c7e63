"""``python -m sli_instrument``: the same as the ``sli-instrument`` command."""

import sys

from .cli import main

sys.exit(main())
