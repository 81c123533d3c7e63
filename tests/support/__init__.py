"""Shared test utilities (an OTLP receiver on loopback, ...). Not shipped with the package."""
