"""Helpers for tests that run the real ``kollegan`` command: ``serve`` as a child process, and
the CLI against the same settings.

Each child gets a clean environment (no developer's ``KOLLEGAN_*``), runs in the data dir (so
no ``.env`` of the checkout is read), and logs to a file shown when a test fails.
"""

from __future__ import annotations

import json
import os
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

READY_LINE = "Kollegan is running"
START_TIMEOUT = 60.0  # generous: two cores shared with other test runs
CLI_TIMEOUT = 120.0


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def kollegan_command() -> list[str]:
    """The installed ``kollegan`` console script beside this interpreter (else the module)."""
    script = Path(sys.executable).parent / "kollegan"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "kollegan.cli"]


def kollegan_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment for a child: ours without any KOLLEGAN_*, plus the given settings
    (``smtp_port="2525"`` → ``KOLLEGAN_SMTP_PORT=2525``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOLLEGAN_")}
    env["KOLLEGAN_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    for name, value in settings.items():
        env["KOLLEGAN_" + name.upper()] = value
    return env


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``kollegan ARGS``; fail the test with its output when it exits non-zero."""
    result = subprocess.run(
        [*kollegan_command(), *args],
        env=env,
        cwd=env["KOLLEGAN_DATA_DIR"],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"kollegan {' '.join(args)} exited {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result


def cli_json(env: dict[str, str], *args: str) -> Any:
    return json.loads(cli(env, *args, "--json").stdout)


def create_company(env: dict[str, str], slug: str = "acme") -> str:
    """``kollegan company create`` (admin anna@acme.example); the magic address."""
    row = cli_json(
        env,
        "company",
        "create",
        "Acme AB",
        "--slug",
        slug,
        "--domain",
        "acme.example",
        "--admin",
        "anna@acme.example",
    )
    return str(row["addresses"][0])


class ServerProcess:
    """``kollegan serve`` as a child process; its stdout is read in a thread, stderr logged."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.smtp_port = int(env["KOLLEGAN_SMTP_PORT"])
        self.log_path = log_path
        self.lines: list[str] = []
        self._ready = threading.Event()
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [*kollegan_command(), "serve"],
            env=env,
            cwd=env["KOLLEGAN_DATA_DIR"],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if READY_LINE in line:
                self._ready.set()

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.1):
            if self.process.poll() is not None:
                raise AssertionError(
                    f"kollegan serve exited {self.process.returncode} before it was ready:\n"
                    + self.output()
                )
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"kollegan serve not ready in {timeout:.0f} s:\n" + self.output()
                )

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as a crash or the OOM killer would."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)
        self.close()

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM and wait; the exit code."""
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        finally:
            self.close()
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)
        self._reader.join(10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()

    def output(self) -> str:
        log = self.log_path.read_text("utf-8", "replace") if self.log_path.exists() else ""
        return "stdout:\n" + "\n".join(self.lines) + "\nstderr:\n" + log[-20_000:]

    def smtp(self, timeout: float = 30.0) -> smtplib.SMTP:
        client = smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=timeout)
        client.ehlo("client.example")
        return client
