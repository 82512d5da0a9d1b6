"""``python -m convpress`` is the same as the ``convpress`` command."""

import sys

from convpress.cli import main

sys.exit(main())
