"""``python -m bench``: every bench, one after the other — the SMTP intake against bare
aiosmtpd, then invitations understood against bare icalendar parsing.
``python -m bench smtp-intake [options]`` or ``python -m bench invitations [options]`` runs
one (``--help`` after the name lists its options)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from bench import invitations, smtp_intake

BENCHES: dict[str, Callable[[list[str] | None], int]] = {
    "smtp-intake": smtp_intake.main,
    "invitations": invitations.main,
}


def main(argv: list[str]) -> int:
    if argv and argv[0] in BENCHES:
        return BENCHES[argv[0]](argv[1:])
    if argv:
        print(f"usage: python -m bench [{' | '.join(BENCHES)}] [options]", file=sys.stderr)
        return 2
    status = 0
    for number, run in enumerate(BENCHES.values()):
        if number:
            print()
        status = run([]) or status
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
