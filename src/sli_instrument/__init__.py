"""sli_instrument: critical user journeys as service-level indicators.

```python
import sli_instrument as sli

sli.configure(service_name="shop")

@sli.journey("checkout", latency_threshold="300ms")
def checkout(cart): ...
```

See docs/ for the metrics contract, the SLO file and the integrations.
"""

from __future__ import annotations

from ._contract import UNCLAIMED_JOURNEY
from ._registry import Journey, registry
from .asgi import ASGIMiddleware
from .config import Configuration, Settings, configure, current_configuration, shutdown
from .decorators import JourneyHandle, journey
from .errors import ConfigurationError
from .wsgi import WSGIMiddleware

__all__ = [
    "UNCLAIMED_JOURNEY",
    "ASGIMiddleware",
    "Configuration",
    "ConfigurationError",
    "Journey",
    "JourneyHandle",
    "Settings",
    "WSGIMiddleware",
    "configure",
    "current_configuration",
    "journey",
    "registry",
    "shutdown",
]

try:
    from importlib.metadata import version as _version

    __version__ = _version("sli_instrument")
except Exception:  # pragma: no cover - source tree without metadata
    __version__ = "0.0.0"
