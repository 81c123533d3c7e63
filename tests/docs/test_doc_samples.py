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
    runs with ``--duration 3 --no-live`` whatever duration it names. Other lines (pip, curl,
    scripts) are not run. A block whose info string has ``exit=N`` (``bash exit=1``) expects that
    exit code.
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

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


def _workdir(base: Path) -> Path:
    base.mkdir(parents=True, exist_ok=True)
    (base / "slo.yaml").write_text(SLO_FILE, encoding="utf-8")
    return base


def _fail(block: Block, what: str, output: str) -> None:
    pytest.fail(f"{block.id}: {what}\n--- code ---\n{block.code}--- output ---\n{output[-3000:]}")


@dataclass
class Outcome:
    returncode: Optional[int]  # None: timed out
    output: str


#: Samples run concurrently (each in its own interpreter and directory): the whole file takes
#: about as long as its slowest few samples instead of their sum.
WORKERS = 4


def _run(argv: list[str], cwd: Path, timeout: float) -> Outcome:
    try:
        result = subprocess.run(
            argv, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        return Outcome(None, f"{exc.stdout or ''}{exc.stderr or ''}")
    return Outcome(result.returncode, result.stdout + result.stderr)


PYTHON = _python_programs()


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """Run every selected sample once, concurrently; tests then read their outcome."""
    selected = {
        item.callspec.id
        for item in request.session.items
        if item.module is request.module and hasattr(item, "callspec")
    }
    jobs: dict[str, tuple[list[str], float]] = {}
    for block, program in PYTHON:
        if block.id in selected:
            jobs[block.id] = ([sys.executable, "-c", program], 60)
    for block, command in SHELL:
        key = f"{block.id}:{command}"
        if key in selected:
            jobs[key] = (_argv(command), 90)
    base = tmp_path_factory.mktemp("doc-samples")
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {
            key: pool.submit(_run, argv, _workdir(base / f"job{index}"), timeout)
            for index, (key, (argv, timeout)) in enumerate(jobs.items())
        }
        return {key: future.result() for key, future in futures.items()}


@pytest.mark.parametrize(("block", "program"), PYTHON, ids=[b.id for b, _ in PYTHON])
def test_python_sample_runs(block: Block, program: str, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[block.id]
    if outcome.returncode is None:
        _fail(block, "did not finish within 60 s (mark servers `python no-run`)", outcome.output)
    if outcome.returncode != 0:
        _fail(block, f"exit code {outcome.returncode}", outcome.output)


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
        if "--duration" in words:  # whatever the sample says, the test runs it for 3 s
            at = words.index("--duration")
            del words[at : at + 2]
        words += ["--duration", "3", "--no-live"]
    return [sys.executable, "-m", "sli_instrument", *words]


@pytest.mark.parametrize(("block", "command"), SHELL, ids=[f"{b.id}:{c}" for b, c in SHELL])
def test_shell_sample_runs(block: Block, command: str, outcomes: dict[str, Outcome]) -> None:
    expected = 0
    for flag in block.flags:
        if flag.startswith("exit="):
            expected = int(flag.split("=", 1)[1])
    outcome = outcomes[f"{block.id}:{command}"]
    if outcome.returncode is None:
        _fail(block, f"`{command}` did not finish within 90 s", outcome.output)
    if outcome.returncode != expected:
        _fail(
            block,
            f"`{command}` exited {outcome.returncode}, expected {expected}",
            outcome.output,
        )


def test_the_convention_sees_blocks() -> None:
    """Guards the parser itself: README.md has python and shell samples, all accounted for."""
    readme = parse_blocks(ROOT / "README.md")
    assert any(b.lang == "python" for b in readme)
    assert any(b.lang in SHELLS for b in readme)
