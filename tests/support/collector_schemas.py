"""Configuration schemas of the collector components our example configs use, as JSON Schema.

Encoded by hand from the primary source, the ``config.schema.yaml`` files that
opentelemetry-collector-contrib generates from each component's ``config.go``:

* ``exporter/awsemfexporter/config.schema.yaml`` (all of ``Config``: every mapstructure key, plus
  ``allOf: internal/aws/awsutil.aws_session_settings`` and
  ``resource_to_telemetry_conversion: pkg/resourcetotelemetry.settings``), with the value sets
  the README documents for ``dimension_rollup_option`` and ``output_destination``;
* ``exporter/awsxrayexporter/config.schema.yaml`` (plus ``aws_session_settings``; the
  ``telemetry`` block is not used by our configs and only checked to be a mapping);
* ``processor/cumulativetodeltaprocessor/config.schema.yaml`` (``include``/``exclude`` are
  ``internal/filter/filterset.MatchConfig`` plus ``metrics``/``metric_types``; ``initial_value``
  ``auto|keep|drop`` from its README);
* the core ``batch`` processor's ``Config`` (timeout, send_batch_size, send_batch_max_size,
  metadata_keys, metadata_cardinality_limit).

``additionalProperties: false`` everywhere: a key that the exporter does not know fails the test
(the collector would refuse to start with it).
"""

from __future__ import annotations

from typing import Any

STRING: dict[str, Any] = {"type": "string"}
BOOL: dict[str, Any] = {"type": "boolean"}
INT: dict[str, Any] = {"type": "integer"}
STRINGS: dict[str, Any] = {"type": "array", "items": STRING}

# internal/aws/awsutil: AWSSessionSettings (squashed into both AWS exporters' configs).
AWS_SESSION_SETTINGS: dict[str, Any] = {
    "certificate_file_path": STRING,
    "endpoint": STRING,
    "external_id": STRING,
    "imds_retries": INT,
    "local_mode": BOOL,
    "max_retries": INT,
    "no_verify_ssl": BOOL,
    "num_workers": INT,
    "profile": STRING,
    "proxy_address": STRING,
    "region": STRING,
    "request_timeout_seconds": INT,
    "resource_arn": STRING,
    "role_arn": STRING,
    "shared_credentials_file": STRINGS,
}

RESOURCE_TO_TELEMETRY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "enabled": BOOL,
        "exclude_service_attributes": BOOL,
        "excluded": STRINGS,
        "included": STRINGS,
    },
}

LABEL_MATCHER: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"label_names": STRINGS, "regex": STRING, "separator": STRING},
}

METRIC_DECLARATION: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["metric_name_selectors"],
    "properties": {
        "dimensions": {"type": "array", "items": STRINGS},
        "label_matchers": {"type": "array", "items": LABEL_MATCHER},
        "metric_name_selectors": {**STRINGS, "minItems": 1},
    },
}

METRIC_DESCRIPTOR: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"metric_name": STRING, "overwrite": BOOL, "unit": STRING},
}

AWSEMF: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        **AWS_SESSION_SETTINGS,
        "detailed_metrics": BOOL,
        "dimension_rollup_option": {
            "enum": [
                "NoDimensionRollup",
                "SingleDimensionRollupOnly",
                "ZeroAndSingleDimensionRollup",
            ]
        },
        "eks_fargate_container_insights_enabled": BOOL,
        "log_group_name": STRING,
        "log_retention": INT,
        "log_stream_name": STRING,
        "metric_declarations": {"type": "array", "items": METRIC_DECLARATION},
        "metric_descriptors": {"type": "array", "items": METRIC_DESCRIPTOR},
        "namespace": STRING,
        "output_destination": {"enum": ["cloudwatch", "stdout"]},
        "parse_json_encoded_attr_values": STRINGS,
        "resource_to_telemetry_conversion": RESOURCE_TO_TELEMETRY,
        "retain_initial_value_of_delta_metric": BOOL,
        "tags": {"type": "object", "additionalProperties": STRING},
        "version": STRING,
    },
}

AWSXRAY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        **AWS_SESSION_SETTINGS,
        "aws_log_groups": STRINGS,
        "index_all_attributes": BOOL,
        "indexed_attributes": STRINGS,
        "telemetry": {"type": "object"},  # internal/aws/xray/telemetry.config, unused here
    },
}

MATCH_METRICS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "match_type": {"enum": ["strict", "regexp"]},
        "regexp": {"type": "object"},
        "strict": {"type": "object"},
        "metric_types": STRINGS,
        "metrics": STRINGS,
    },
}

CUMULATIVETODELTA: dict[str, Any] = {
    "type": ["object", "null"],
    "additionalProperties": False,
    "properties": {
        "include": MATCH_METRICS,
        "exclude": MATCH_METRICS,
        "initial_value": {"enum": ["auto", "keep", "drop"]},
        "max_staleness": {"type": "string", "pattern": r"^[0-9]+(ns|us|ms|s|m|h)$"},
    },
}

OTLP_RECEIVER_PROTOCOL: dict[str, Any] = {
    "type": "object",
    "required": ["endpoint"],
    "properties": {"endpoint": STRING},
}

BATCH: dict[str, Any] = {
    "type": ["object", "null"],
    "additionalProperties": False,
    "properties": {
        "timeout": {"type": "string"},
        "send_batch_size": INT,
        "send_batch_max_size": INT,
        "metadata_keys": STRINGS,
        "metadata_cardinality_limit": INT,
    },
}

#: component type (the part of a component id before "/") -> schema of its configuration
COMPONENTS: dict[str, dict[str, Any]] = {
    "awsemf": AWSEMF,
    "awsxray": AWSXRAY,
    "cumulativetodelta": CUMULATIVETODELTA,
    "batch": BATCH,
}
