"""localcloud.translate: the real templates, translated offline with their artefacts and nested stacks."""

from __future__ import annotations

import pytest

from localcloud.translate import TranslationError, translate_application
from tests.support.paths import FUNCTIONS, LAYER, ROOT, ROOT_TEMPLATE, TEMPLATES


def test_the_root_template_and_its_nested_blueprints_are_translated_with_their_artifacts() -> None:
    application = translate_application(ROOT_TEMPLATE)

    stacks = dict(application.root.walk())
    assert stacks[""].path == ROOT_TEMPLATE
    assert stacks["Broker"].path.resolve() == (TEMPLATES / "broker.yaml").resolve()
    dispatch = stacks["Broker"].template["Resources"]["DispatchTaskFunction"]
    assert dispatch["Properties"]["Code"]["S3Key"] == "functions/broker/dispatch_task"
    assert application.artifacts["functions/broker/dispatch_task"] == FUNCTIONS / "broker" / "dispatch_task"
    assert application.artifacts["layers/shared"] == LAYER
    assert application.base == ROOT


def test_a_parameter_override_the_template_does_not_declare_is_refused() -> None:
    with pytest.raises(TranslationError, match="not parameters of the template: EnableBrokr"):
        translate_application(ROOT_TEMPLATE, {"EnableBrokr": "false"})
