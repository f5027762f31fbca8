"""``python -m modelcustoms``."""

import sys

from modelcustoms.cli import main

sys.exit(main())
