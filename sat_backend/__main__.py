"""``python -m sat_backend`` is ``sat-backend``."""

import sys

from sat_backend.core.launcher import main

sys.exit(main())
