"""An app run under ``opentelemetry-instrument`` (the ADOT Python distro works the same way).

The distro installs the meter provider before this module runs; ``configure()`` must use it and
add no pipeline. Records ``argv[1]`` events, prints what ``configure()`` found, exits (the
distro's provider flushes at exit).
"""

from __future__ import annotations

import json
import sys

from opentelemetry import metrics

import sli_instrument as sli

config = sli.configure(service_name="ignored-when-a-provider-exists")


@sli.journey("checkout")
def checkout() -> None:
    pass


for _ in range(int(sys.argv[1])):
    checkout()
print(
    json.dumps(
        {
            "owned": config.owned,
            "same_provider": config.meter_provider is metrics.get_meter_provider(),
            "provider": type(config.meter_provider).__name__,
        }
    )
)
