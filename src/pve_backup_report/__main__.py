"""`python -m pve_backup_report`."""

import sys

from .cli import main

sys.exit(main())
