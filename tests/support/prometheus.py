"""A real Prometheus server (Debian's ``prometheus``) for tests, and a small query helper.

```python
with run_prometheus(tmp_path, targets={"shop": "127.0.0.1:9464"}, rule_files=[rules]) as url:
    query(url, 'up{job="shop"}')
```

Loopback only, a free port, a data directory under ``tmp_path``, 1 s scrape and rule evaluation
intervals. Stopped (SIGTERM, then SIGKILL) on exit; its log is attached to any start failure.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Callable, Optional

import yaml

from tests.support.servers import free_port, stop
from tests.support.tools import require_tool


@contextlib.contextmanager
def run_prometheus(
    tmp_path: Path,
    *,
    targets: Mapping[str, str],
    rule_files: Sequence[Path] = (),
    start_timeout: float = 30.0,
) -> Iterator[str]:
    binary = require_tool("prometheus")
    port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
        "rule_files": [str(p) for p in rule_files],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [target]}]}
            for job, target in targets.items()
        ],
    }
    config_path = tmp_path / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config))
    log_path = tmp_path / "prometheus.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config_path}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if process.poll() is not None:
                raise AssertionError(
                    f"prometheus exited with {process.returncode}:\n{log_path.read_text()[-4000:]}"
                )
            try:
                with urllib.request.urlopen(url + "/-/ready", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"prometheus not ready:\n{log_path.read_text()[-4000:]}")
            time.sleep(0.1)
        yield url
    finally:
        stop(process, 10.0)  # type: ignore[arg-type]


def query(url: str, promql: str) -> list[dict[str, Any]]:
    """Instant query; the ``result`` list of a vector answer."""
    params = urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(f"{url}/api/v1/query?{params}", timeout=5) as response:
        body = json.loads(response.read())
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def wait_until(
    what: str, check: Callable[[], Optional[Any]], timeout: float = 30.0, interval: float = 0.25
) -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
