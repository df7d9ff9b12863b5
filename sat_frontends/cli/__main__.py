"""``python -m sat_frontends.cli`` is the same as the ``sat`` command."""

import sys

from sat_frontends.cli.main import main

sys.exit(main())
