"""Typed settings: read on first use, every missing or invalid variable named, no silent defaults."""

from __future__ import annotations

import pytest
from pydantic import Field, ValidationError

from blueprints.core.errors import ConfigurationError
from blueprints.core.settings import LazySettings, Settings, csv_list


class SampleSettings(Settings):
    table_name: str = Field(min_length=1)
    retry_limit: int = Field(ge=1, le=10)
    enabled: bool


VALID = {"TABLE_NAME": "requests", "RETRY_LIMIT": "5", "ENABLED": "true"}


def test_env_names_are_the_upper_cased_field_names() -> None:
    assert SampleSettings.env_names() == ("TABLE_NAME", "RETRY_LIMIT", "ENABLED")


def test_valid_environment_is_parsed_into_typed_values() -> None:
    # Given every variable set / When parsed
    settings = SampleSettings.from_env(VALID)

    # Then values are typed
    assert (settings.table_name, settings.retry_limit, settings.enabled) == ("requests", 5, True)


def test_missing_variables_are_all_named_in_the_error() -> None:
    # Given two variables missing
    environ = {"ENABLED": "false"}

    # When / Then
    with pytest.raises(ConfigurationError) as caught:
        SampleSettings.from_env(environ)
    assert str(caught.value) == "missing environment variables: TABLE_NAME, RETRY_LIMIT"
    assert caught.value.code == "ConfigurationError"
    assert caught.value.retryable is False


def test_an_empty_value_is_not_a_missing_variable_but_is_validated() -> None:
    with pytest.raises(ConfigurationError) as caught:
        SampleSettings.from_env({**VALID, "TABLE_NAME": ""})
    assert str(caught.value).startswith("invalid environment variables: TABLE_NAME:")


@pytest.mark.parametrize(
    ("name", "value"),
    [("RETRY_LIMIT", "five"), ("RETRY_LIMIT", "0"), ("RETRY_LIMIT", "11"), ("ENABLED", "maybe")],
)
def test_invalid_value_is_named_and_chained(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        SampleSettings.from_env({**VALID, name: value})
    assert f"{name}: " in str(caught.value)
    assert isinstance(caught.value.__cause__, ValidationError)


def test_settings_are_immutable() -> None:
    settings = SampleSettings.from_env(VALID)
    with pytest.raises(ValidationError):
        settings.retry_limit = 7  # type: ignore[misc]


def test_unrelated_variables_are_ignored() -> None:
    settings = SampleSettings.from_env({**VALID, "PATH": "/usr/bin", "AWS_REGION": "us-east-1"})
    assert settings.model_dump() == {"table_name": "requests", "retry_limit": 5, "enabled": True}


def test_lazy_settings_read_nothing_until_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an environment without the variables (as at import time in a test or a build)
    for name in VALID:
        monkeypatch.delenv(name, raising=False)

    # When the holder is created, nothing is read and nothing fails
    holder = LazySettings(SampleSettings)

    # Then the first get() reads the environment as it is then
    for name, value in VALID.items():
        monkeypatch.setenv(name, value)
    assert holder.get().retry_limit == 5


def test_lazy_settings_fail_on_first_use_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VALID:
        monkeypatch.delenv(name, raising=False)
    holder = LazySettings(SampleSettings)
    with pytest.raises(ConfigurationError, match="TABLE_NAME, RETRY_LIMIT, ENABLED"):
        holder.get()


def test_lazy_settings_are_loaded_once_until_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given loaded settings
    for name, value in VALID.items():
        monkeypatch.setenv(name, value)
    holder = LazySettings(SampleSettings)
    first = holder.get()

    # When the environment changes, the loaded value is kept (one read per container)
    monkeypatch.setenv("RETRY_LIMIT", "9")
    assert holder.get() is first

    # Then reset() forgets it and the next get() reads again
    holder.reset()
    assert holder.get().retry_limit == 9


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ()),
        ("subnet-1", ("subnet-1",)),
        ("subnet-1,subnet-2", ("subnet-1", "subnet-2")),
        (" subnet-1 , ,subnet-2, ", ("subnet-1", "subnet-2")),
        (",,", ()),
    ],
)
def test_csv_list_splits_and_drops_blanks(value: str, expected: tuple[str, ...]) -> None:
    assert csv_list(value) == expected
