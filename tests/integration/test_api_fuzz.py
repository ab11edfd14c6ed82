"""Schemathesis against /openapi.json of a live server (loopback), with a valid admin key: no server errors, no
response that breaks the documented schema. The number of examples is bounded so CI stays fast."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.main import create_app
from tests.integration.conftest import LiveApi, fake_pipeline_factory, make_keys, new_database, service_settings

pytestmark = pytest.mark.integration

EXAMPLES = 25
#: Every default check runs (no server error; status codes, content types, headers and bodies as documented;
#: schema-invalid input refused) except "schema-valid input accepted": a pagination cursor is an opaque token
#: this service issues, so a random string the schema allows is still, rightly, refused with a 422.


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory, always_on_config: Path) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("fuzz")
    url, cleanup = new_database("sqlite", folder)
    app_settings = service_settings(folder / "home", url, always_on_config, triage_wait_seconds=0.5)
    admin = make_keys(app_settings)["admin"]
    app = create_app(app_settings, pipeline_factory=fake_pipeline_factory, load_in_background=False, configure_logs=False)
    with LiveApi(app) as server:
        yield server.url, admin
    cleanup()  # type: ignore[operator]


def test_no_server_errors_and_no_schema_violations(live_server: tuple[str, str]) -> None:
    base, admin = live_server
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    headers = {"Authorization": f"Bearer {admin}"}
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15, [op.label for op in operations]
    for operation in operations:

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def check(case) -> None:  # noqa: ANN001
            case.call_and_validate(base_url=base, headers=headers, excluded_checks=[positive_data_acceptance])

        try:
            check()
        except Exception as exc:  # noqa: BLE001 - collected, then reported together
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
