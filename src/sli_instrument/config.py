"""``configure()``: one call that sets up the metrics pipeline when the application has none.

Every setting resolves in the same order: explicit argument, then its documented environment
variable, then the default. The resolved value and where it came from are kept in
:class:`Settings`, so errors and ``repr`` can say which one was used.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import uuid
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from opentelemetry import metrics

from ._duration import parse_duration
from ._recorder import _is_proxy, recorder
from ._registry import registry
from .errors import ConfigurationError

__all__ = ["Configuration", "Settings", "configure", "current_configuration", "shutdown"]

logger = logging.getLogger("sli_instrument")

EXPORTERS = ("otlp", "console", "memory", "emf", "none")
PROTOCOLS = ("grpc", "http/protobuf")
TEMPORALITIES = ("cumulative", "delta", "lowmemory")
DEFAULT_EXPORT_INTERVAL = 60.0


@dataclass(frozen=True)
class Settings:
    """The resolved settings of one ``configure()`` call; ``sources`` says where each came from."""

    service_name: Optional[str]
    resource_attributes: tuple[tuple[str, str], ...]
    exporter: str
    protocol: str
    endpoint: Optional[str]
    export_interval: float
    temporality: str
    journey_cap: Optional[int]
    default_latency_threshold: Optional[float]
    slo_file: Optional[str]
    traces: bool
    install_global: bool
    sources: tuple[tuple[str, str], ...] = field(compare=False, default=())

    def source_of(self, name: str) -> str:
        return dict(self.sources).get(name, "default")


@dataclass
class Configuration:
    """What ``configure()`` set up. ``owned`` is False when an existing provider was used."""

    settings: Settings
    owned: bool
    meter_provider: Any
    reader: Any = None
    tracer_provider: Any = None
    slo: Any = None
    #: The MetricExporter instance passed to configure(), if any.
    exporter_instance: Any = None

    def force_flush(self, timeout_millis: int = 10_000) -> bool:
        """Export what is pending now (end of a Lambda invocation, end of a test)."""
        flushed = True
        if self.owned and self.meter_provider is not None:
            flushed = bool(self.meter_provider.force_flush(timeout_millis))
        if self.tracer_provider is not None and hasattr(self.tracer_provider, "force_flush"):
            flushed = bool(self.tracer_provider.force_flush(timeout_millis)) and flushed
        return flushed


_lock = threading.RLock()
_current: Optional[Configuration] = None
#: Global MeterProviders that configure() installed. OpenTelemetry allows one global per process;
#: after shutdown() a new configure() builds a fresh pipeline rather than reuse the dead one.
_installed_by_us: weakref.WeakSet[Any] = weakref.WeakSet()


def current_configuration() -> Optional[Configuration]:
    return _current


def configure(
    *,
    service_name: Optional[str] = None,
    resource_attributes: Optional[dict[str, str]] = None,
    exporter: Any = None,
    protocol: Optional[str] = None,
    endpoint: Optional[str] = None,
    export_interval: Any = None,
    temporality: Optional[str] = None,
    meter_provider: Any = None,
    journey_cap: Optional[int] = None,
    default_latency_threshold: Any = None,
    slo_file: Optional[str] = None,
    traces: Optional[bool] = None,
    install_global: bool = True,
) -> Configuration:
    """Set up SLI metrics export. Safe to call at import time; see docs/configuration.md.

    * ``exporter``: ``"otlp"`` (``OTEL_EXPORTER_OTLP_*``), ``"console"``, ``"memory"`` (kept in
      process: the default when no OTLP endpoint is set, so it works with no collector at all),
      ``"emf"`` (CloudWatch EMF lines on stdout, no collector: AWS Lambda; see docs/aws.md),
      ``"none"``, or a ``MetricExporter`` instance. Env: ``SLI_EXPORTER``, then
      ``OTEL_METRICS_EXPORTER``.
    * ``meter_provider``: use this provider and create no pipeline (we own nothing).
    * When a global MeterProvider is already installed (ADOT distro, ``opentelemetry-instrument``)
      it is used as is and no second pipeline is created.
    * A second call with the same settings returns the first configuration; with different
      settings it raises :class:`ConfigurationError` (call :func:`shutdown` first).
    """
    global _current
    settings = _resolve(
        service_name=service_name,
        resource_attributes=resource_attributes,
        exporter=exporter,
        protocol=protocol,
        endpoint=endpoint,
        export_interval=export_interval,
        temporality=temporality,
        journey_cap=journey_cap,
        default_latency_threshold=default_latency_threshold,
        slo_file=slo_file,
        traces=traces,
        install_global=install_global,
    )
    with _lock:
        if _current is not None:
            same_provider = meter_provider is None or meter_provider is _current.meter_provider
            instance = exporter if _is_exporter(exporter) else None
            same_exporter = instance is None or instance is _current.exporter_instance
            if _current.settings == settings and same_provider and same_exporter:
                return _current
            raise ConfigurationError(
                "configure() was already called with different settings "
                f"({_describe_difference(_current.settings, settings)}); call "
                "sli_instrument.shutdown() first to replace the pipeline"
            )
        if settings.journey_cap is not None:
            registry.set_cap(settings.journey_cap, source=settings.source_of("journey_cap"))
        if settings.default_latency_threshold is not None:
            registry.set_default_latency_threshold(
                settings.default_latency_threshold,
                source=settings.source_of("default_latency_threshold"),
            )
        slo = None
        if settings.slo_file is not None:
            slo = _apply_slo_file(settings.slo_file, settings.source_of("slo_file"))
        config = _build(settings, meter_provider, exporter if _is_exporter(exporter) else None)
        config.exporter_instance = exporter if _is_exporter(exporter) else None
        config.slo = slo
        _current = config
        return config


def _build(settings: Settings, meter_provider: Any, exporter_instance: Any) -> Configuration:
    if meter_provider is not None:
        recorder.bind(meter_provider, owns_histograms=False)
        return Configuration(settings, owned=False, meter_provider=meter_provider)
    existing = metrics.get_meter_provider()
    # install_global=False asks for a private pipeline: build it even when a global one exists.
    if settings.install_global and _is_installed(existing) and existing not in _installed_by_us:
        logger.info(
            "sli_instrument: a MeterProvider is already installed (%s); using it, "
            "no pipeline added",
            type(existing).__name__,
        )
        recorder.bind(existing, owns_histograms=False)
        tracer_provider = None
        if settings.traces:
            from ._tracing import install_tracing

            tracer_provider = install_tracing(None, settings)
        return Configuration(
            settings, owned=False, meter_provider=existing, tracer_provider=tracer_provider
        )
    return _build_owned(settings, exporter_instance)


def _build_owned(settings: Settings, exporter_instance: Any) -> Configuration:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.resources import Resource

    from ._handoff import OwnedInMemoryReader, OwnedPeriodicReader
    from ._pipeline import build_exporter, preferred_temporality

    attributes: dict[str, Any] = dict(settings.resource_attributes)
    if settings.service_name is not None:
        attributes["service.name"] = settings.service_name
    # Resource.create() merges OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME under our arguments.
    resource = Resource.create(attributes)
    if "service.instance.id" not in resource.attributes:
        # Each process needs its own id, or cumulative series of two workers collide.
        resource = resource.merge(Resource({"service.instance.id": _process_instance_id()}))
    reader: Any = None
    if settings.exporter == "memory" and exporter_instance is None:
        reader = OwnedInMemoryReader(preferred_temporality=preferred_temporality(settings))
    elif settings.exporter != "none" or exporter_instance is not None:
        metric_exporter = exporter_instance or build_exporter(settings)
        reader = OwnedPeriodicReader(
            metric_exporter, export_interval_millis=settings.export_interval * 1000
        )
    provider = MeterProvider(
        resource=resource,
        metric_readers=[reader] if reader is not None else [],
        shutdown_on_exit=False,
    )
    # Every reader of this provider is ours, and merges our histograms at export; with exporter
    # "none" there is no reader, and recording into SDK histograms nobody reads would only cost.
    recorder.bind(provider, owns_histograms=True)
    if settings.install_global and not _is_installed(metrics.get_meter_provider()):
        metrics.set_meter_provider(provider)
        _installed_by_us.add(provider)
    tracer_provider = None
    if settings.traces:
        from ._tracing import install_tracing

        tracer_provider = install_tracing(resource, settings)
    return Configuration(
        settings,
        owned=True,
        meter_provider=provider,
        reader=reader,
        tracer_provider=tracer_provider,
    )


_instance_ids: dict[int, str] = {}


def _process_instance_id() -> str:
    """One id per process, as recent SDKs' own detector does (older ones have none)."""
    pid = os.getpid()
    found = _instance_ids.get(pid)
    if found is None:
        found = _instance_ids[pid] = str(uuid.uuid4())
    return found


def shutdown(timeout_millis: int = 10_000) -> None:
    """Flush and stop the pipeline that ``configure()`` created; events are still counted after."""
    global _current
    with _lock:
        config, _current = _current, None
    if config is None:
        return
    if config.owned:
        try:
            # Before unbinding: the final export must still observe the counters.
            config.meter_provider.shutdown(timeout_millis=timeout_millis)
        except Exception:
            logger.warning(
                "sli_instrument: metric pipeline did not shut down cleanly", exc_info=True
            )
        recorder.retire(config.meter_provider)
    _unbind()
    if config.tracer_provider is not None and config.owned:
        try:
            config.tracer_provider.shutdown()
        except Exception:
            logger.warning(
                "sli_instrument: tracer provider did not shut down cleanly", exc_info=True
            )


def _unbind() -> None:
    # Events keep being counted in process; the next configure() (or, once a foreign global
    # provider exists, the next event) binds again.
    recorder.unbind()


@atexit.register
def _flush_at_exit() -> None:
    config = _current
    if config is not None and config.owned:
        try:
            config.meter_provider.shutdown(timeout_millis=5_000)
            if config.tracer_provider is not None:
                config.tracer_provider.shutdown()
        except Exception:
            pass


def _after_fork_in_child() -> None:
    """A pipeline created before a fork is rebuilt in the child with its own instance id.

    gunicorn ``--preload``, uWSGI without ``lazy-apps``, ``multiprocessing`` with ``fork``: the
    child inherits the parent's aggregates and pipeline but not its reader thread, and the
    exporter's connections belong to the parent. Exporting the inherited state from several
    workers under one ``service.instance.id`` would make their cumulative series collide (and
    count the parent's events once per worker). So, with no hook for the user to write:

    * ``_recorder`` zeroes the aggregates (its at-fork hook runs before this one): each process
      reports only the events it served; the parent keeps reporting its own under its own id;
    * the parent's reader is abandoned here (its thread is not restarted, it never exports again);
    * a fresh pipeline with a new ``service.instance.id`` takes over our instruments; an exporter
      that ``configure()`` built is built again (new connections), an exporter instance the user
      passed is reused; the tracer provider is kept (the SDK restarts its span processor's thread;
      a global provider cannot be replaced), so spans keep the parent's resource;
    * the atexit flush then exports the child's final counts when the worker exits.
    """
    global _current, _rebuilt_in_pid
    _rebuilt_in_pid = os.getpid()
    config = _current
    if config is None or not config.owned:
        return
    try:
        if config.reader is not None and hasattr(config.reader, "abandon"):
            config.reader.abandon()
        _current = _rebuild_in_child(config)
    except Exception:
        logger.exception("sli_instrument: could not rebuild the metric pipeline after fork")


_rebuilt_in_pid = os.getpid()


def _uwsgi_post_fork() -> None:
    """What os.fork()'s hooks would have done, for a uWSGI worker where they did not run."""
    if _rebuilt_in_pid == os.getpid():
        return  # the at-fork hooks ran (py-call-uwsgi-fork-hooks / py-call-osafterfork)
    recorder.reset()
    _after_fork_in_child()


def _install_uwsgi_post_fork() -> None:
    """uWSGI forks its workers with the C library, so Python's at-fork hooks only run there with
    ``py-call-uwsgi-fork-hooks`` (or ``py-call-osafterfork``). Without them a worker would keep the
    master's pipeline, without its thread: nothing exported. uWSGI calls ``uwsgi.post_fork_hook``
    in every worker (as ``uwsgidecorators.postfork`` does): chain ours in front of any other."""
    import importlib

    try:
        uwsgi: Any = importlib.import_module("uwsgi")  # exists only inside a uWSGI process
    except ImportError:
        return
    previous = getattr(uwsgi, "post_fork_hook", None)

    def post_fork_hook() -> None:
        try:
            _uwsgi_post_fork()
        except Exception:
            logger.exception("sli_instrument: could not rebuild the metric pipeline after fork")
        if previous is not None:
            previous()

    uwsgi.post_fork_hook = post_fork_hook


def _rebuild_in_child(config: Configuration) -> Configuration:
    # Runs inside os.fork()'s after-fork hooks, before those of modules imported after us: touch
    # nothing whose lock another hook has yet to reinitialise. Resource.create() would run the
    # resource detectors on a concurrent.futures pool whose global lock is still held here (the
    # gunicorn --preload deadlock), so the parent's resource is copied with a new instance id.
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.resources import Resource

    from ._handoff import OwnedInMemoryReader, OwnedPeriodicReader
    from ._pipeline import build_exporter, preferred_temporality

    settings = config.settings
    parent = getattr(getattr(config.meter_provider, "_sdk_config", None), "resource", None)
    if parent is not None:
        attributes: dict[str, Any] = dict(parent.attributes)
        schema_url = parent.schema_url
    else:  # an SDK without the private attribute: rebuild from the settings, detectors aside
        attributes = dict(settings.resource_attributes)
        if settings.service_name is not None:
            attributes["service.name"] = settings.service_name
        schema_url = None
    attributes["service.instance.id"] = str(uuid.uuid4())
    resource = Resource(attributes, schema_url)
    old_reader = config.reader
    reader: Any = None
    if isinstance(old_reader, OwnedInMemoryReader):
        reader = OwnedInMemoryReader(preferred_temporality=preferred_temporality(settings))
    elif old_reader is not None:
        # An exporter instance the user passed is reused; one we built is built again.
        exporter = old_reader._exporter if settings.exporter == "custom" else None
        reader = OwnedPeriodicReader(
            exporter or build_exporter(settings),
            export_interval_millis=settings.export_interval * 1000,
        )
    provider = MeterProvider(
        resource=resource,
        metric_readers=[reader] if reader is not None else [],
        shutdown_on_exit=False,
    )
    # Every reader of this provider is ours, and merges our histograms at export; with exporter
    # "none" there is no reader, and recording into SDK histograms nobody reads would only cost.
    recorder.bind(provider, owns_histograms=True)
    return Configuration(
        settings,
        owned=True,
        meter_provider=provider,
        reader=reader,
        tracer_provider=config.tracer_provider,
        slo=config.slo,
        exporter_instance=config.exporter_instance,
    )


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
_install_uwsgi_post_fork()


# -- resolution ---------------------------------------------------------------------------------


def _resolve(**given: Any) -> Settings:
    env = os.environ
    sources: dict[str, str] = {}

    def pick(name: str, value: Any, *env_names: str) -> Any:
        if value is not None:
            sources[name] = "argument"
            return value
        for env_name in env_names:
            if env.get(env_name, "").strip():
                sources[name] = f"environment variable {env_name}"
                return env[env_name].strip()
        return None

    service_name = pick("service_name", given["service_name"])
    resource_attributes = tuple(sorted((given["resource_attributes"] or {}).items()))

    exporter_value = given["exporter"]
    if _is_exporter(exporter_value):
        exporter = "custom"
        sources["exporter"] = "argument"
    else:
        exporter = pick("exporter", exporter_value, "SLI_EXPORTER", "OTEL_METRICS_EXPORTER")
        if exporter is None:
            has_endpoint = (
                any(
                    env.get(n)
                    for n in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
                )
                or given["endpoint"] is not None
            )
            exporter = "otlp" if has_endpoint else "memory"
        exporter = str(exporter).lower()
        if exporter not in EXPORTERS:
            raise ConfigurationError(
                f"invalid exporter {exporter!r} (from {sources.get('exporter', 'default')}): "
                f"choose one of {', '.join(EXPORTERS)} or pass a MetricExporter instance"
            )

    protocol = (
        pick(
            "protocol",
            given["protocol"],
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        )
        or "http/protobuf"
    )
    protocol = str(protocol).lower()
    if protocol == "http":
        protocol = "http/protobuf"
    if protocol not in PROTOCOLS:
        raise ConfigurationError(
            f"invalid OTLP protocol {protocol!r} (from {sources.get('protocol', 'default')}): "
            f"choose one of {', '.join(PROTOCOLS)}"
        )
    endpoint = given["endpoint"]
    if endpoint is not None:
        sources["endpoint"] = "argument"
        if not isinstance(endpoint, str) or "://" not in endpoint:
            raise ConfigurationError(
                f"invalid OTLP endpoint {endpoint!r} (from argument): use a URL such as "
                "http://localhost:4318 (HTTP) or http://localhost:4317 (gRPC)"
            )

    interval_value = given["export_interval"]
    if interval_value is not None:
        sources["export_interval"] = "argument"
        export_interval = parse_duration(interval_value, what="export interval", source="argument")
    elif env.get("OTEL_METRIC_EXPORT_INTERVAL", "").strip():
        raw = env["OTEL_METRIC_EXPORT_INTERVAL"].strip()
        sources["export_interval"] = "environment variable OTEL_METRIC_EXPORT_INTERVAL"
        try:
            export_interval = float(raw) / 1000.0
        except ValueError:
            export_interval = -1.0
        if not export_interval > 0:
            raise ConfigurationError(
                f"invalid export interval {raw!r} (from environment variable "
                "OTEL_METRIC_EXPORT_INTERVAL): milliseconds, a number greater than zero"
            )
    else:
        export_interval = DEFAULT_EXPORT_INTERVAL

    temporality = (
        pick(
            "temporality", given["temporality"], "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"
        )
        or "cumulative"
    )
    temporality = str(temporality).lower()
    if temporality not in TEMPORALITIES:
        raise ConfigurationError(
            f"invalid temporality {temporality!r} (from {sources.get('temporality', 'default')}): "
            f"choose one of {', '.join(TEMPORALITIES)}"
        )

    cap_value = pick("journey_cap", given["journey_cap"], "SLI_JOURNEY_CAP")
    journey_cap: Optional[int] = None
    if cap_value is not None:
        try:
            journey_cap = int(cap_value)
            if (
                isinstance(cap_value, bool)
                or journey_cap < 1
                or (isinstance(cap_value, float) and cap_value != journey_cap)
            ):
                raise ValueError
        except (TypeError, ValueError):
            raise ConfigurationError(
                f"invalid journey cap {cap_value!r} (from {sources['journey_cap']}): "
                "must be a whole number >= 1"
            ) from None

    threshold_value = pick(
        "default_latency_threshold", given["default_latency_threshold"], "SLI_LATENCY_THRESHOLD"
    )
    default_threshold = (
        None
        if threshold_value is None
        else parse_duration(
            threshold_value,
            what="default latency threshold",
            source=sources["default_latency_threshold"],
        )
    )
    slo_file = pick("slo_file", given["slo_file"], "SLI_SLO_FILE")
    traces_value = pick("traces", given["traces"], "SLI_TRACES")
    traces = _parse_bool(traces_value, sources.get("traces", "default"))
    return Settings(
        service_name=None if service_name is None else str(service_name),
        resource_attributes=resource_attributes,
        exporter=exporter,
        protocol=protocol,
        endpoint=endpoint,
        export_interval=export_interval,
        temporality=temporality,
        journey_cap=journey_cap,
        default_latency_threshold=default_threshold,
        slo_file=None if slo_file is None else str(slo_file),
        traces=traces,
        install_global=bool(given["install_global"]),
        sources=tuple(sorted(sources.items())),
    )


def _parse_bool(value: Any, source: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ConfigurationError(f"invalid boolean {value!r} (from {source}): use true or false")


def _is_exporter(value: Any) -> bool:
    return value is not None and not isinstance(value, str) and hasattr(value, "export")


def _is_installed(provider: Any) -> bool:
    """True unless ``provider`` is the API's placeholder proxy (nothing installed yet)."""
    return not _is_proxy(provider)


def _describe_difference(old: Settings, new: Settings) -> str:
    diffs = []
    for name in old.__dataclass_fields__:
        if name == "sources":
            continue
        a, b = getattr(old, name), getattr(new, name)
        if a != b:
            diffs.append(f"{name}: {a!r} before, {b!r} now")
    return "; ".join(diffs) or "a different meter_provider or exporter instance"


def _apply_slo_file(path: str, source: str) -> Any:
    try:
        from .slo import load_slo_file
    except ImportError as exc:  # PyYAML is an extra
        raise ConfigurationError(
            f"cannot read SLO file {path!r} (from {source}): {exc}; install sli_instrument[slo]"
        ) from None
    spec = load_slo_file(path)
    apply: Callable[[Any], None] | None = getattr(spec, "apply_to_registry", None)
    if apply is not None:
        apply(registry)
    return spec
