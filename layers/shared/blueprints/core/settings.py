"""Typed settings, read from the environment on first use.

Each function declares one pydantic model whose field names, upper-cased, are the environment variable
names. Nothing is read at import time; a missing or invalid variable raises ``ConfigurationError``
naming it. There are no silent defaults: the template sets every variable.

    class DispatchSettings(Settings):
        request_queue_url: str
        retry_limit: int = Field(ge=1)

    SETTINGS = LazySettings(DispatchSettings)
    ...
    SETTINGS.get().retry_limit
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Self

from pydantic import BaseModel, ConfigDict, ValidationError

from blueprints.core.errors import ConfigurationError


class Settings(BaseModel):
    """Base of every settings model: immutable, unknown variables are not its business."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    @classmethod
    def env_names(cls) -> tuple[str, ...]:
        """The environment variables this model reads (used by the template contract tests)."""
        return tuple(name.upper() for name in cls.model_fields)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        env = os.environ if environ is None else environ
        missing = [name for name in cls.env_names() if name not in env]
        if missing:
            raise ConfigurationError(f"missing environment variables: {', '.join(missing)}")
        values = {name: env[name.upper()] for name in cls.model_fields}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{str(err['loc'][0]).upper()}: {err['msg']}" for err in exc.errors(include_url=False)
            )
            raise ConfigurationError(f"invalid environment variables: {problems}") from exc


class LazySettings[SettingsT: Settings]:
    """Holds a settings model and loads it once, on the first ``get()``."""

    def __init__(self, model: type[SettingsT]) -> None:
        self.model = model
        self._value: SettingsT | None = None

    def get(self) -> SettingsT:
        if self._value is None:
            self._value = self.model.from_env()
        return self._value

    def reset(self) -> None:
        """Forget the loaded value (tests change the environment between cases)."""
        self._value = None


def csv_list(value: str) -> tuple[str, ...]:
    """Split a comma-delimited environment value (CloudFormation ``CommaDelimitedList``), dropping blanks."""
    return tuple(part.strip() for part in value.split(",") if part.strip())
