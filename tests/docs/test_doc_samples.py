"""Every code sample in README.md and docs/*.md is executed (or checked) by this test.

THE CONVENTION (for everyone writing docs). A fenced block's info string decides what happens:

``python``
    Run as a script in a fresh interpreter (``python -c``), in an empty temporary directory that
    holds ``slo.yaml`` (a valid SLO file: service ``shop``, journeys ``browse``, ``search``,
    ``cart``, ``checkout``, ``export``), with no ``OTEL_*``/``SLI_*`` variables set and the
    repository's ``examples/`` folder as ``EXAMPLES`` in the environment. It must exit 0 within
    60 s: no servers that run forever, no network beyond loopback.
``python continued``
    Appended to the previous ``python`` block of the same file and run together with it (for a
    walkthrough that builds on its earlier steps). The earlier block is also run alone.
``python no-run``
    Compiled, not run (a fragment: a settings excerpt, a server's entry point). Keep these rare.
``yaml``
    Parsed with PyYAML's safe loader. A document with a top-level ``journeys`` key (an SLO file)
    or ``apiVersion: openslo/...`` is validated by the SLO loader and must load without error.
``yaml no-check``
    Not checked (e.g. a collector or Kubernetes excerpt).
``bash`` / ``sh`` / ``console`` / ``shell``
    Every line that starts with ``sli-instrument`` or ``python -m sli_instrument`` (after an
    optional ``$ ``) is run in the temporary directory and must exit 0; ``sli-instrument demo``
    gets ``--duration 3`` (unless it sets one) and ``--no-live``. Other lines (pip, curl, scripts)
    are not run. A block whose info string has ``exit=N`` (``bash exit=1``) expects that exit code.
``bash no-run`` (and ``console no-run``...)
    Not run: commands that need a backend the tests do not start (``report --prometheus ...``)
    or that install things.
Anything else (``text``, ``json``, ``toml``, ``ini``, ``dockerfile``, no info string)
    Not checked.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>```+|~~~+)(?P<info>[^`\n]*)$")
SHELLS = ("bash", "sh", "console", "shell")

SLO_FILE = """\
version: 1
service: shop
journeys:
  browse:
    availability: 99.9
    latency: {threshold: 200ms, target: 99}
  search:
    availability: 99.5
    latency: {threshold: 250ms, target: 95}
  cart:
    availability: 99.9
    latency: {threshold: 200ms, target: 99}
  checkout:
    availability: 99.9
    latency: {threshold: 300ms, target: 99}
  export:
    availability: 99
    latency: {threshold: 2s, target: 95}
"""


@dataclass
class Block:
    path: Path
    line: int
    lang: str
    flags: tuple[str, ...]
    code: str

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}:{self.lang}"


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def parse_blocks(path: Path) -> list[Block]:
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        fence, info = match.group("fence"), match.group("info").strip()
        start = index + 1
        end = start
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        words = info.replace(",", " ").split()
        lang = words[0].lower() if words else ""
        code = "\n".join(line[len(match.group("indent")) :] for line in lines[start:end])
        blocks.append(Block(path, start, lang, tuple(w.lower() for w in words[1:]), code + "\n"))
        index = end + 1
    return blocks


def _all_blocks() -> list[Block]:
    return [block for path in doc_files() if path.exists() for block in parse_blocks(path)]


def _python_programs() -> list[tuple[Block, str]]:
    programs: list[tuple[Block, str]] = []
    previous: dict[Path, str] = {}
    for block in _all_blocks():
        if block.lang not in ("python", "py", "python3") or "no-run" in block.flags:
            continue
        if "continued" in block.flags:
            program = previous.get(block.path, "") + "\n" + block.code
        else:
            program = block.code
        previous[block.path] = program
        programs.append((block, program))
    return programs


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SLI_"))}
    env.update(
        PYTHONUNBUFFERED="1",
        EXAMPLES=str(ROOT / "examples"),
        OTEL_EXPORTER_OTLP_TIMEOUT="2",
    )
    return env


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "slo.yaml").write_text(SLO_FILE, encoding="utf-8")
    return tmp_path


def _fail(block: Block, what: str, output: str) -> None:
    pytest.fail(f"{block.id}: {what}\n--- code ---\n{block.code}--- output ---\n{output[-3000:]}")


PYTHON = _python_programs()


@pytest.mark.parametrize(("block", "program"), PYTHON, ids=[b.id for b, _ in PYTHON])
def test_python_sample_runs(block: Block, program: str, workdir: Path) -> None:
    try:
        result = subprocess.run(
            [sys.executable, "-c", program],
            cwd=workdir,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        _fail(block, "did not finish within 60 s (mark servers `python no-run`)", "")
    if result.returncode != 0:
        _fail(block, f"exit code {result.returncode}", result.stdout + result.stderr)


NO_RUN = [b for b in _all_blocks() if b.lang in ("python", "py") and "no-run" in b.flags]


@pytest.mark.parametrize("block", NO_RUN, ids=[b.id for b in NO_RUN])
def test_python_fragment_compiles(block: Block) -> None:
    compile(block.code, block.id, "exec")


YAML = [b for b in _all_blocks() if b.lang in ("yaml", "yml") and "no-check" not in b.flags]


@pytest.mark.parametrize("block", YAML, ids=[b.id for b in YAML])
def test_yaml_sample_is_valid(block: Block) -> None:
    from sli_instrument.slo.loader import parse_slo

    try:
        documents = [d for d in yaml.safe_load_all(block.code) if d is not None]
    except yaml.YAMLError as exc:
        _fail(block, f"not valid YAML: {exc}", "")
    is_slo = any(
        isinstance(d, dict)
        and ("journeys" in d or str(d.get("apiVersion", "")).startswith("openslo/"))
        for d in documents
    )
    if is_slo:
        try:
            parse_slo(block.code, source=block.id)
        except ValueError as exc:
            _fail(block, f"the SLO loader rejects it: {exc}", "")


_COMMAND = re.compile(r"^(?:\$\s+)?((?:sli-instrument|python -m sli_instrument)\b.*)$")


def _commands(block: Block) -> list[str]:
    commands = []
    pending = ""
    for raw in block.code.splitlines():
        line = pending + raw.strip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        match = _COMMAND.match(line)
        if match:
            commands.append(match.group(1).split(" #")[0].strip())
    return commands


SHELL = [
    (b, c)
    for b in _all_blocks()
    if b.lang in SHELLS and "no-run" not in b.flags
    for c in _commands(b)
]


def _argv(command: str) -> list[str]:
    words = shlex.split(command)
    if words[0] == "python":
        words = words[2:]  # -m sli_instrument
    else:
        words = words[1:]
    if words[:1] == ["demo"]:
        if "--duration" not in words:
            words += ["--duration", "3"]
        words += ["--no-live"]
    return [sys.executable, "-m", "sli_instrument", *words]


@pytest.mark.parametrize(("block", "command"), SHELL, ids=[f"{b.id}:{c}" for b, c in SHELL])
def test_shell_sample_runs(block: Block, command: str, workdir: Path) -> None:
    expected = 0
    for flag in block.flags:
        if flag.startswith("exit="):
            expected = int(flag.split("=", 1)[1])
    try:
        result = subprocess.run(
            _argv(command),
            cwd=workdir,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
    except subprocess.TimeoutExpired:
        _fail(block, f"`{command}` did not finish within 90 s", "")
    if result.returncode != expected:
        _fail(
            block,
            f"`{command}` exited {result.returncode}, expected {expected}",
            result.stdout + result.stderr,
        )


def test_the_convention_sees_blocks() -> None:
    """Guards the parser itself: README.md has python and shell samples, all accounted for."""
    readme = parse_blocks(ROOT / "README.md")
    assert any(b.lang == "python" for b in readme)
    assert any(b.lang in SHELLS for b in readme)
