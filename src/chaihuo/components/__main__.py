"""`python -m chaihuo.components TASK.json [--parent-pid PID]`: one party's worker process."""

import sys

from chaihuo.components._worker import main

sys.exit(main())
