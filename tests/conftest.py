"""Test-wide environment: no real credentials, no real endpoints, Powertools quiet and offline."""

from __future__ import annotations

import os

# Set before anything imports boto3 or Powertools.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Blueprints",
        "POWERTOOLS_SERVICE_NAME": "tests",
        "POWERTOOLS_DEV": "false",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

# The X-Ray SDK creates its UDP emitter's socket when first imported (nothing is ever sent: no daemon
# runs here). Handlers run by the local cloud import it while a test runs, when pytest-socket refuses
# to create sockets, so it is imported once here, at collection.
import aws_xray_sdk.core  # noqa: F401

# Property tests: random exploration on a developer's machine (failures are kept in .hypothesis/ and
# replayed first); in CI (BLUEPRINTS_CI=1, set by .ci/run) the same derived examples every run, so a run
# fails for a change, not for the luck of the draw.
from hypothesis import settings as _hypothesis_settings

_hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("BLUEPRINTS_CI") == "1":
    _hypothesis_settings.load_profile("ci")
