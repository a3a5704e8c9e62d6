"""Genomics (on demand): turn on EventBridge delivery for data buckets, keeping their other notifications.

Invoke once per data bucket set: ``{"buckets": ["genomics-archive"]}``. PutBucketNotificationConfiguration
replaces the whole configuration, so the current one is read and merged first.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import BaseModel, parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from blueprints.core.observability import observed
from blueprints.core.settings import LazySettings, Settings
from blueprints.genomics.restore_s3 import RestoreS3

SETTINGS = LazySettings(Settings)  # nothing to configure: the buckets come with the request


class EnableRequest(BaseModel):
    buckets: list[str] = Field(min_length=1, max_length=100)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, list[str]]:
    request = parse(event=event, model=EnableRequest)
    s3 = RestoreS3()
    changed = [bucket for bucket in request.buckets if s3.enable_eventbridge(bucket)]
    return {
        "enabled": changed,
        "already_enabled": [bucket for bucket in request.buckets if bucket not in changed],
    }
