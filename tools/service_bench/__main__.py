"""`python -m tools.service_bench`: runs the command line of `tools.service_bench.cli`."""

import sys

from tools.service_bench.cli import main

sys.exit(main())
