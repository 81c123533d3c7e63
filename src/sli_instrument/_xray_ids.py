"""X-Ray-compatible trace ids without the AWS SDK extension (the core depends on the SDK only)."""

from __future__ import annotations

import random
import time

from opentelemetry.sdk.trace.id_generator import IdGenerator


class XRayIdGenerator(IdGenerator):
    """Trace id = 32-bit epoch seconds + 96 random bits, as X-Ray requires."""

    def generate_span_id(self) -> int:
        return random.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        return (int(time.time()) << 96) | (random.getrandbits(96) or 1)
