"""``python -m bench``: every bench, one after the other (today: the SMTP intake)."""

from __future__ import annotations

import sys

from bench import smtp_intake

if __name__ == "__main__":
    sys.exit(smtp_intake.main(sys.argv[1:]))
