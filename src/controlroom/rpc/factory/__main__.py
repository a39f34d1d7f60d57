"""``python -m controlroom.rpc.factory``: the factory process (see :mod:`.zygote`)."""

import sys

from controlroom.rpc.factory.zygote import main

sys.exit(main())
