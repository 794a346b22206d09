"""``kollegan demo`` runs the whole loop on a fresh data dir and prints the pre-brief."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import free_port

pytestmark = pytest.mark.integration


def test_demo_on_a_fresh_data_dir(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("KOLLEGAN_")}
    env.update(
        KOLLEGAN_DATA_DIR=str(tmp_path / "var"),
        KOLLEGAN_SMTP_PORT=str(free_port()),  # nothing listens there: the demo starts its own
        KOLLEGAN_WEB_PORT=str(free_port()),
    )
    kollegan = Path(sys.executable).parent / "kollegan"
    result = subprocess.run(
        [str(kollegan), "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "1. Demoföretaget har den magiska adressen demo." in out
    assert "ett SMTP-intag som demon startade" in out
    assert "underlaget gick till anna.berg@demo.example" in out
    assert "Styrgruppsmöte: budget 2027" in out
    assert "Erik Lind <erik.lind@demo.example>" in out
    # the pre-brief, and the agent's acceptance (an iMIP REPLY) to the organizer
    assert len(list((tmp_path / "var" / "outbox" / "new").iterdir())) == 2

    again = subprocess.run(
        [str(kollegan), "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 0, again.stderr  # the demo company is reused, not duplicated
    assert len(list((tmp_path / "var" / "outbox" / "new").iterdir())) == 4
