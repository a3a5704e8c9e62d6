"""cfn-lint on every template, with the project's custom rules: pytest alone catches a template regression."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.paths import ROOT
from tests.support.template import CUSTOM_RULES, all_templates, cfn_lint


def test_the_custom_rules_file_exists() -> None:
    assert CUSTOM_RULES.is_file(), f"missing {CUSTOM_RULES.relative_to(ROOT)} (make cfn-lint passes it)"


@pytest.mark.parametrize("template", all_templates(), ids=lambda path: path.relative_to(ROOT).as_posix())
def test_template_has_no_cfn_lint_findings(template: Path) -> None:
    # Given a template of the application / When cfn-lint runs with the custom rules
    findings = cfn_lint(template)

    # Then it reports nothing (make cfn-lint fails on warnings too)
    assert findings == []
