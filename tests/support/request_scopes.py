"""How many HTTP request scopes are alive: for tests that nothing keeps one after its request."""

from __future__ import annotations

import gc

from sli_instrument._http import HTTPScope


def live_request_scopes() -> int:
    """HTTPScope objects still referenced after a full collection.

    ``type()``, not ``isinstance()``: lazy proxies among the heap's objects (Django's settings)
    raise when their ``__class__`` is read.
    """
    gc.collect()
    return sum(1 for o in gc.get_objects() if issubclass(type(o), HTTPScope))
