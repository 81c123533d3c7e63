"""Headless Chromium (Debian's ``chromium``) for rendering test: DOM after load, PNG screenshots.

Offline and isolated: a throw-away profile, no background networking, no component updates.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.tools import require_tool

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
)


def _run(args: list[str], profile: Path, timeout: float) -> subprocess.CompletedProcess[bytes]:
    argv = [require_tool("chromium"), *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(argv, capture_output=True, timeout=timeout, check=False)


def dump_dom(page: Path, profile: Path, timeout: float = 60) -> str:
    """The document's DOM, serialized after load."""
    result = _run(["--dump-dom", page.resolve().as_uri()], profile, timeout)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    return result.stdout.decode()


def screenshot(
    page: Path, png: Path, profile: Path, size: tuple[int, int] = (1400, 1800), timeout: float = 60
) -> bytes:
    result = _run(
        [f"--window-size={size[0]},{size[1]}", f"--screenshot={png}", page.resolve().as_uri()],
        profile,
        timeout,
    )
    assert result.returncode == 0 and png.exists(), result.stderr.decode(errors="replace")[-2000:]
    return png.read_bytes()
