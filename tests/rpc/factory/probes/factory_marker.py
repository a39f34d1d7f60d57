"""Not a test module: records which process imported it (the factory, when preloaded)."""

import os

IMPORTED_BY = os.getpid()
