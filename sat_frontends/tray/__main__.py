"""``python -m sat_frontends.tray``: same as ``sat-tray``."""

import sys

from sat_frontends.tray.main import main

sys.exit(main())
