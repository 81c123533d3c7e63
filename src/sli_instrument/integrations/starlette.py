"""Starlette and FastAPI: a pure ASGI middleware that knows the matched route.

```python
from sli_instrument.starlette import SLIMiddleware

app.add_middleware(SLIMiddleware, routes={"/cart/{item_id}": "cart"})
```

Every option of :class:`sli_instrument.ASGIMiddleware` is accepted. The route template is the
matched route's path format (``/items/{item_id}``, with the prefixes of the ``Mount``\\ s it sits
in), read from ``scope["route"]`` which Starlette sets when it routes; with an older Starlette that
does not, unclaimed requests fall back to the catch-all journey.
"""

from __future__ import annotations

from typing import Any, Optional

import starlette  # noqa: F401  (this integration needs Starlette; fail at import, not per request)

from ..asgi import ASGIMiddleware

__all__ = ["SLIMiddleware"]


class SLIMiddleware(ASGIMiddleware):
    """``app.add_middleware(SLIMiddleware, **options)``; see docs/fastapi.md."""

    def __init__(self, app: Any, **options: Any) -> None:
        super().__init__(app, **options)
        # id(route) -> (route, template): bounded by the application's routes.
        self._templates: dict[int, tuple[Any, Optional[str]]] = {}

    def route_template(self, scope: dict[str, Any]) -> Optional[str]:
        route = scope.get("route")
        if route is None:
            return None
        cached = self._templates.get(id(route))
        if cached is not None and cached[0] is route:
            return cached[1]
        template = _find(getattr(scope.get("router"), "routes", None) or (), route, "", 0)
        if template is None:
            template = getattr(route, "path_format", None) or getattr(route, "path", None)
        self._templates[id(route)] = (route, template)
        return template


def _find(routes: Any, target: Any, prefix: str, depth: int) -> Optional[str]:
    """The full template of ``target``: its path format under the mounts that contain it."""
    if depth > 8:
        return None
    for route in routes:
        if route is target:
            return prefix + str(getattr(route, "path_format", None) or getattr(route, "path", ""))
        children = getattr(route, "routes", None)
        if children:
            # A Mount's path_format ends in "/{path}"; its plain path is the prefix.
            found = _find(
                children, target, prefix + str(getattr(route, "path", "") or ""), depth + 1
            )
            if found is not None:
                return found
    return None
