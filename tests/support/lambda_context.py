"""A Lambda context with the attributes Powertools and the handlers read (no Lambda runtime needed)."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.support.cfn import ACCOUNT_ID, REGION


@dataclass
class FakeLambdaContext:
    function_name: str = "blueprints-test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "3f5c6a0e-8b1d-4f0a-9d7e-2b6c1e4a9f00"
    remaining_millis: int = 55_000
    log_stream_name: str = "2024/11/25/[$LATEST]0123456789abcdef0123456789abcdef"
    log_group_name: str = field(default="")
    invoked_function_arn: str = field(default="")

    def __post_init__(self) -> None:
        if not self.log_group_name:
            self.log_group_name = f"/aws/lambda/{self.function_name}"
        if not self.invoked_function_arn:
            self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis
