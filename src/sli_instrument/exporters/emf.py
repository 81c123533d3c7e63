"""CloudWatch Embedded Metric Format exporter: metrics to CloudWatch with no collector.

Each export writes one JSON document per line to standard output (AWS Lambda, containers with the
``awslogs`` log driver: CloudWatch Logs extracts the metrics) or appends them to a file (an agent
such as the CloudWatch agent or Fluent Bit ships it)::

    import sli_instrument as sli
    sli.configure(service_name="shop", exporter="emf")       # or SLI_EXPORTER=emf

    from sli_instrument.exporters.emf import EMFExporter
    sli.configure(exporter=EMFExporter(namespace="Shop", output="/var/log/app/emf.log"))

Values are deltas (CloudWatch adds up what each document reports within a period), so the exporter
asks the SDK for delta temporality on every instrument and converts any cumulative point it is
handed anyway. See docs/aws.md.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Sequence
from typing import IO, Any, Optional, Union

from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    MetricsData,
)

from .. import _contract as c
from .._safety import report_internal_error
from ..errors import ConfigurationError
from ._emf_documents import MAX_DIMENSIONS, CumulativeToDelta, documents

__all__ = ["DEFAULT_DIMENSIONS", "DEFAULT_NAMESPACE", "EMFExporter"]

DEFAULT_NAMESPACE = "SLI"
#: Used as dimensions when present: the service, the journey, and the outcome (histogram only).
DEFAULT_DIMENSIONS = ("service.name", c.ATTR_JOURNEY, c.ATTR_OUTCOME)
#: Resource attributes written as plain members (not dimensions: they would multiply the cost).
DEFAULT_PROPERTIES = ("service.instance.id", "service.version", "deployment.environment")

_INSTRUMENTS = (
    Counter,
    UpDownCounter,
    Histogram,
    ObservableCounter,
    ObservableUpDownCounter,
    ObservableGauge,
)
_DELTA: dict[type, AggregationTemporality] = dict.fromkeys(
    _INSTRUMENTS, AggregationTemporality.DELTA
)


class EMFExporter(MetricExporter):
    """Writes CloudWatch EMF JSON lines; never raises into the application.

    * ``namespace``: CloudWatch namespace (argument, else ``SLI_EMF_NAMESPACE``, else ``"SLI"``).
    * ``output``: ``None``/``"stdout"`` (the current ``sys.stdout`` at each export), ``"stderr"``,
      a file path (appended to; env ``SLI_EMF_OUTPUT``), or an open text stream.
    * ``dimensions``: attribute keys used as dimensions when a point has them (at most 30).
    * ``storage_resolution``: ``1`` for high-resolution metrics, ``60`` or ``None`` for standard.
    """

    def __init__(
        self,
        namespace: Optional[str] = None,
        *,
        output: Union[str, IO[str], None] = None,
        dimensions: Sequence[str] = DEFAULT_DIMENSIONS,
        properties: Sequence[str] = DEFAULT_PROPERTIES,
        storage_resolution: Optional[int] = None,
    ) -> None:
        super().__init__(preferred_temporality=dict(_DELTA))
        source = "argument"
        if namespace is None:
            namespace = os.environ.get("SLI_EMF_NAMESPACE", "").strip() or None
            source = "environment variable SLI_EMF_NAMESPACE"
        self.namespace = validate_namespace(
            DEFAULT_NAMESPACE if namespace is None else namespace, source=source
        )
        output_source = "argument"
        if output is None and os.environ.get("SLI_EMF_OUTPUT", "").strip():
            output = os.environ["SLI_EMF_OUTPUT"].strip()
            output_source = "environment variable SLI_EMF_OUTPUT"
        self._stream: Optional[IO[str]] = None
        self._path: Optional[str] = None
        self._std: Optional[str] = "stdout"
        if isinstance(output, str):
            if output in ("stdout", "stderr", "-"):
                self._std = "stderr" if output == "stderr" else "stdout"
            elif not output.strip():
                raise ConfigurationError(
                    f"invalid EMF output {output!r} (from {output_source}): use stdout, stderr "
                    "or a file path"
                )
            else:
                self._path, self._std = output, None
                directory = os.path.dirname(os.path.abspath(output))
                if not os.path.isdir(directory):
                    raise ConfigurationError(
                        f"invalid EMF output {output!r} (from {output_source}): directory "
                        f"{directory!r} does not exist"
                    )
        elif output is not None:
            if not hasattr(output, "write"):
                raise ConfigurationError(
                    f"invalid EMF output {output!r} (from argument): a path, 'stdout' or a stream"
                )
            self._stream, self._std = output, None
        self.dimensions = tuple(validate_dimension_keys(dimensions))
        self.properties = tuple(properties)
        if storage_resolution not in (None, 1, 60):
            raise ConfigurationError(
                f"invalid EMF storage resolution {storage_resolution!r} (from argument): "
                "1 (high resolution) or 60 (standard)"
            )
        self.storage_resolution = storage_resolution
        self._deltas = CumulativeToDelta()
        self._lock = threading.Lock()
        self._shutdown = False

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        if self._shutdown:
            return MetricExportResult.FAILURE
        try:
            with self._lock:
                docs = documents(
                    metrics_data,
                    namespace=self.namespace,
                    dimension_keys=self.dimensions,
                    properties=self.properties,
                    storage_resolution=self.storage_resolution,
                    deltas=self._deltas,
                )
                if docs:
                    self._write("".join(_line(doc) for doc in docs))
            return MetricExportResult.SUCCESS
        except Exception as exc:
            report_internal_error("writing EMF documents", exc)
            return MetricExportResult.FAILURE

    def _write(self, text: str) -> None:
        if self._path is not None:
            with open(self._path, "a", encoding="utf-8") as handle:
                handle.write(text)
            return
        stream = self._stream
        if stream is None:
            stream = sys.stderr if self._std == "stderr" else sys.stdout
        stream.write(text)
        stream.flush()

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self._shutdown = True


def _line(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"), allow_nan=False) + "\n"


def validate_namespace(namespace: object, *, source: str = "argument") -> str:
    """CloudWatch namespaces: 1-255 printable ASCII characters, not starting with ':' or 'AWS/'."""
    if (
        not isinstance(namespace, str)
        or not 0 < len(namespace) <= 255
        or not namespace.isascii()
        or not namespace.isprintable()
        or namespace.startswith((":", "AWS/"))
        or not namespace.strip()
    ):
        raise ConfigurationError(
            f"invalid CloudWatch namespace {namespace!r} (from {source}): 1 to 255 printable "
            "ASCII characters, not starting with ':' or the reserved 'AWS/'"
        )
    return namespace


def validate_dimension_keys(keys: Sequence[str], *, source: str = "argument") -> list[str]:
    """Dimension names: 1-255 ASCII characters, not starting with ':'; at most 30 of them."""
    result = list(keys)
    if isinstance(keys, str) or len(result) > MAX_DIMENSIONS:
        raise ConfigurationError(
            f"invalid EMF dimensions {keys!r} (from {source}): a list of at most "
            f"{MAX_DIMENSIONS} attribute keys"
        )
    for key in result:
        if (
            not isinstance(key, str)
            or not 0 < len(key) <= 255
            or not key.isascii()
            or key.startswith(":")
            or not key.strip()
        ):
            raise ConfigurationError(
                f"invalid EMF dimension name {key!r} (from {source}): 1 to 255 ASCII "
                "characters, not starting with ':'"
            )
    if len(set(result)) != len(result):
        raise ConfigurationError(f"invalid EMF dimensions {keys!r} (from {source}): duplicates")
    return result
