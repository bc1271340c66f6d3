"""`python -m tempmail` is the same as the `tempmail` command."""

from __future__ import annotations

import sys

from tempmail.cli import main

sys.exit(main())
