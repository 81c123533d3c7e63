"""What counts as a failure: statuses, exceptions, classifiers, per journey and per middleware."""

from __future__ import annotations

import logging

import pytest

from sli_instrument import ConfigurationError, registry
from sli_instrument.outcome import DEFAULT_FAILURE_STATUSES, OutcomePolicy

pytestmark = [pytest.mark.core, pytest.mark.usefixtures("sli_reset")]


class Declined(Exception):
    pass


def test_default_5xx_and_exceptions_fail_4xx_succeed():
    journey = registry.register("checkout")
    policy = OutcomePolicy()
    assert DEFAULT_FAILURE_STATUSES == frozenset(range(500, 600))
    for status in (200, 201, 204, 301, 304, 400, 401, 403, 404, 409, 429, 499):
        assert policy.classify(journey, status, None, {}) == "success", status
    for status in (500, 501, 502, 503, 504, 599):
        assert policy.classify(journey, status, None, {}) == "failure", status
    assert policy.classify(journey, None, RuntimeError("boom"), {}) == "failure"
    assert policy.classify(journey, None, None, {}) == "failure"  # no response at all


def test_cancellation_and_interrupts_are_aborted_not_failures():
    import asyncio

    journey = registry.register("search")
    policy = OutcomePolicy()
    assert policy.classify(journey, None, asyncio.CancelledError(), {}) == "aborted"
    assert policy.classify(journey, 200, KeyboardInterrupt(), {}) == "aborted"


def test_success_exceptions_of_the_journey_are_successes():
    journey = registry.register("pay", success_exceptions=(Declined,))
    policy = OutcomePolicy()
    assert policy.classify(journey, None, Declined(), {}) == "success"
    assert policy.classify(journey, None, ValueError(), {}) == "failure"


def test_global_statuses_and_journey_statuses_override_in_that_order():
    plain = registry.register("plain")
    own = registry.register("own", failure_statuses={429, 503})
    policy = OutcomePolicy(failure_statuses=[500, 502])
    assert policy.classify(plain, 502, None, {}) == "failure"
    assert policy.classify(plain, 503, None, {}) == "success"  # not in the middleware's set
    assert policy.classify(own, 429, None, {}) == "failure"  # the journey's own set wins
    assert policy.classify(own, 500, None, {}) == "success"


def test_classifiers_get_status_exception_and_request():
    seen = []

    def global_rule(status, exception, request):
        seen.append((status, exception, request))
        return status == 404 and request.get("PATH_INFO") == "/must-exist"

    plain = registry.register("plain")
    own = registry.register("own", classifier=lambda status, exc, request: status >= 400)
    policy = OutcomePolicy(classifier=global_rule)
    assert policy.classify(plain, 404, None, {"PATH_INFO": "/must-exist"}) == "failure"
    assert policy.classify(plain, 500, None, {"PATH_INFO": "/x"}) == "success"  # its rule only
    assert seen[0] == (404, None, {"PATH_INFO": "/must-exist"})
    assert policy.classify(own, 404, None, {}) == "failure"  # the journey's classifier wins
    assert policy.classify(own, 302, None, {}) == "success"


def test_a_classifier_that_raises_is_our_fault_and_the_default_applies(caplog):
    def broken(status, exc, request):
        raise ZeroDivisionError("bug in the user's classifier")

    journey = registry.register("broken", classifier=broken)
    policy = OutcomePolicy()
    with caplog.at_level(logging.ERROR, logger="sli_instrument"):
        assert policy.classify(journey, 503, None, {}) == "failure"
        assert policy.classify(journey, 200, None, {}) == "success"
        assert policy.classify(journey, None, ValueError(), {}) == "failure"
    errors = [r for r in caplog.records if "classifier" in r.getMessage()]
    assert len(errors) == 1  # logged once per kind, not once per request
    assert errors[0].exc_info[0] is ZeroDivisionError


@pytest.mark.parametrize(
    ("kwargs", "quoted"),
    [
        ({"failure_statuses": "500"}, "'500'"),
        ({"failure_statuses": [500, 700]}, "700"),
        ({"failure_statuses": [True]}, "True"),
        ({"classifier": "not callable"}, "'not callable'"),
    ],
)
def test_bad_configuration_raises_quoting_the_value(kwargs, quoted):
    with pytest.raises(ConfigurationError) as info:
        OutcomePolicy(**kwargs, source="WSGIMiddleware argument")
    assert quoted in str(info.value)
    assert "WSGIMiddleware argument" in str(info.value)
