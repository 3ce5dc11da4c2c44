"""Property-based test of the HTTP API generated from its own OpenAPI schema (schemathesis):
no request the schema allows may produce a 5xx or a response that breaks the schema."""
import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402

from humanseg.server.app import ServerConfig, create_app  # noqa: E402

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(ServerConfig(workers=1, queue=4)))


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case):
    response = case.call()
    assert response.status_code < 500, response.text
    case.validate_response(response, checks=[schemathesis.checks.not_a_server_error])
