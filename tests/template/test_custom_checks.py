"""Each custom check fails on the bad fixture and passes on the good one.

The fixtures (fixtures/policy/bad.yaml, good.yaml) hold one resource per case. checkov runs once, as a
subprocess of its own virtual environment, over the raw fixtures and their SAM translations, like
``make checkov`` runs over the templates. cfn-lint's custom rules run in-process.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.support.paths import ROOT
from tests.support.template import CUSTOM_RULES, cfn_lint
from tools.sam_translate import translate

FIXTURES = Path(__file__).parent / "fixtures" / "policy"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
CHECKS_DIR = ROOT / "checks" / "checkov"

# (check id, variant) -> (resources failing it in bad.yaml, resources passing it in good.yaml).
RAW = "raw"
TRANSLATED = "translated"
SAME_IN_BOTH: dict[str, tuple[set[str], set[str]]] = {
    "CKV_BP_1": (
        {
            "QueueWithoutKey",
            "QueueWithAwsManagedKey",
            "QueueWithSqsManagedSse",
            "QueueWithAwsManagedKeyOutsideProd",
        },
        {"Queue", "DeadLetterQueue", "StageKeyQueue"},
    ),
    "CKV_BP_2": ({"TopicWithoutKey", "TopicWithAwsManagedKey"}, {"Topic"}),
    "CKV_BP_3": ({"TableWithoutSse", "TableWithSseDisabled", "TableWithAwsManagedKey"}, {"Table"}),
    "CKV_BP_4": (
        {"BucketWithoutPolicy", "BucketWithAllowOnlyPolicy", "BucketWithPartialDeny"},
        {"Bucket", "ArchiveBucket"},
    ),
}
# Event source mappings: those written in the template and, in the translation, those SAM generates
# for the functions' SQS events. The Kafka mapping is out of scope: reported neither way.
WRITTEN_BAD_MAPPINGS = {
    "QueueMappingWithoutReport",
    "StreamMappingWithoutReport",
    "LiteralStreamMappingWithoutReport",
}
CHECKOV_EXPECTED: dict[tuple[str, str], tuple[set[str], set[str]]] = {
    **{
        (check, variant): expected
        for check, expected in SAME_IN_BOTH.items()
        for variant in (RAW, TRANSLATED)
    },
    ("CKV_BP_5", RAW): (WRITTEN_BAD_MAPPINGS, {"QueueMapping"}),
    ("CKV_BP_5", TRANSLATED): (
        WRITTEN_BAD_MAPPINGS | {"FunctionWithoutReportQueue"},
        {"QueueMapping", "ProcessFunctionQueue"},
    ),
    # SAM functions exist only in the raw templates.
    ("CKV_BP_6", RAW): ({"FunctionWithoutReport"}, {"ProcessFunction"}),
    ("CKV_BP_6", TRANSLATED): (set(), set()),
}
CASES = sorted(CHECKOV_EXPECTED)

CUSTOM_CHECK_IDS = sorted({check_id for check_id, _ in CHECKOV_EXPECTED})

Outcomes = dict[tuple[str, str, str, str], set[str]]  # (check, variant, fixture, result) -> resources


def _documents(output: str) -> list[dict[str, Any]]:
    """checkov -o json prints one report, a list of reports, or several reports one after another."""
    decoder, documents, index = json.JSONDecoder(), [], 0
    while index < len(output):
        if output[index].isspace():
            index += 1
            continue
        document, index = decoder.raw_decode(output, index)
        documents.extend(document if isinstance(document, list) else [document])
    return documents


@pytest.fixture(scope="module")
def checkov_outcomes(tmp_path_factory: pytest.TempPathFactory) -> Outcomes:
    if not CHECKOV.is_file():
        pytest.skip(f"{CHECKOV.relative_to(ROOT)} is missing: run `make install` (make test creates it)")
    translated = tmp_path_factory.mktemp("translated")
    files = []
    for fixture in ("bad", "good"):
        target = translated / f"{fixture}.json"
        target.write_text(json.dumps(translate(FIXTURES / f"{fixture}.yaml")))
        files += [FIXTURES / f"{fixture}.yaml", target]
    command = [
        str(CHECKOV),
        *("--framework", "cloudformation", "--skip-download", "--output", "json"),
        *("--external-checks-dir", str(CHECKS_DIR)),
        *("--check", ",".join(CUSTOM_CHECK_IDS)),
        *("--file", *map(str, files)),
    ]
    completed = subprocess.run(  # noqa: S603 - a fixed command: our own checkov on our own fixtures
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    # checkov exits 1 when a check fails (the bad fixture makes sure of that); anything else is a crash.
    assert completed.returncode == 1, completed.stderr[-3000:]

    outcomes: Outcomes = defaultdict(set)
    for document in _documents(completed.stdout):
        for result, entries in (("passed", "passed_checks"), ("failed", "failed_checks")):
            for entry in document["results"][entries]:
                path = Path(entry["file_abs_path"])
                variant = RAW if path.suffix == ".yaml" else TRANSLATED
                logical_id = entry["resource"].rsplit(".", 1)[1]
                outcomes[(entry["check_id"], variant, path.stem, result)].add(logical_id)
    return outcomes


@pytest.mark.parametrize(
    ("check_id", "variant"), CASES, ids=[f"{check}-{variant}" for check, variant in CASES]
)
def test_checkov_check_fails_on_bad_and_passes_on_good(
    checkov_outcomes: Outcomes, check_id: str, variant: str
) -> None:
    expected_failures, expected_passes = CHECKOV_EXPECTED[(check_id, variant)]

    assert checkov_outcomes[(check_id, variant, "bad", "failed")] == expected_failures
    assert checkov_outcomes[(check_id, variant, "bad", "passed")] == set()
    assert checkov_outcomes[(check_id, variant, "good", "passed")] == expected_passes
    assert checkov_outcomes[(check_id, variant, "good", "failed")] == set()


def test_every_custom_checkov_check_is_proven() -> None:
    # Given the ids the checks folder declares
    declared = set(re.findall(r"\bCKV_BP_\d+\b", " ".join(p.read_text() for p in CHECKS_DIR.glob("bp_*.*"))))

    # Then each one has expectations above
    assert declared == set(CUSTOM_CHECK_IDS)


# cfn-lint custom rules: (resource, message) pairs expected on bad.yaml.
RULE_FAILURES = {
    ("QueueWithoutKey", "SQS queue must set KmsMasterKeyId to the shared customer-managed KMS key"),
    ("QueueWithSqsManagedSse", "SQS queue must set KmsMasterKeyId to the shared customer-managed KMS key"),
    ("QueueWithAwsManagedKey", "SQS queue must not use the AWS-managed key alias/aws/sqs"),
    ("QueueWithSqsManagedSse", "SQS queue must use KMS encryption, not SqsManagedSseEnabled"),
    ("TopicWithoutKey", "SNS topic must set KmsMasterKeyId to the shared customer-managed KMS key"),
    ("TopicWithAwsManagedKey", "SNS topic must not use the AWS-managed key alias/aws/sns"),
    ("TableWithoutSse", "DynamoDB table must set SSESpecification.SSEEnabled"),
    ("TableWithSseDisabled", "DynamoDB table must set SSESpecification.SSEEnabled to true"),
    *(
        (table, "DynamoDB table must encrypt with the shared key (SSESpecification.KMSMasterKeyId)")
        for table in ("TableWithoutSse", "TableWithSseDisabled", "TableWithAwsManagedKey")
    ),
    *(
        (bucket, message)
        for bucket in ("BucketWithoutPolicy", "BucketWithAllowOnlyPolicy", "BucketWithPartialDeny")
        for message in (
            "S3 bucket must set BucketEncryption (SSE-KMS with the shared key)",
            "S3 bucket must set PublicAccessBlockConfiguration",
        )
    ),
    ("LogGroupWithoutRetention", "Log group must set RetentionInDays"),
    ("LogGroupWithoutRetention", "Log group must set KmsKeyId to the shared key"),
    ("KeyWithoutRotation", "KMS key must enable key rotation"),
    ("FunctionWithoutReport", "Function runtime must be python3.13"),
    ("FunctionWithoutReport", "Function architecture must be arm64"),
    ("FunctionWithoutReport", "Function tracing must be Active"),
    ("FunctionWithoutReport", "Function log format must be JSON"),
    ("FunctionWithoutReport", "Function metrics namespace must be Blueprints"),
    ("BareFunction", "Function must set Architectures ([arm64])"),
    ("BareFunction", "Function must set Tracing (Active)"),
    ("BareFunction", "Function must set LoggingConfig.LogFormat (JSON)"),
    ("BareFunction", "Function must set POWERTOOLS_METRICS_NAMESPACE (Blueprints)"),
    *(
        (function, message)
        for function in ("FunctionWithoutReport", "BareFunction")
        for message in (
            "Function must name its explicit log group (LoggingConfig.LogGroup)",
            "Function must set POWERTOOLS_SERVICE_NAME (the blueprint)",
        )
    ),
    ("UntracedPlainFunction", "Lambda function must set TracingConfig.Mode (Active)"),
    ("PlainFunction", "Lambda function tracing mode must be Active"),
    ("InlineStateMachine", "State machine ASL belongs in statemachines/ (DefinitionUri), not inline"),
    ("InlineStateMachine", "State machine must load its ASL with DefinitionUri"),
    ("OpenHttpApi", "HTTP API must set Auth.DefaultAuthorizer (AWS_IAM by default)"),
}
CUSTOM_FINDING = re.compile(r"^[EW]9\d{3} Resources/(?P<resource>[^/]+)/[^:]*: (?P<message>.*)$")


def _custom_rule_findings(path: Path) -> set[tuple[str, str]]:
    findings = set()
    for finding in cfn_lint(path):
        match = CUSTOM_FINDING.match(finding)
        if match:
            findings.add((match["resource"], match["message"]))
    return findings


def test_cfn_lint_custom_rules_fail_on_the_bad_fixture() -> None:
    assert _custom_rule_findings(FIXTURES / "bad.yaml") == RULE_FAILURES


def test_cfn_lint_custom_rules_pass_on_the_good_fixture() -> None:
    # The good fixture is clean for the built-in rules too.
    assert cfn_lint(FIXTURES / "good.yaml") == []


def test_every_cfn_lint_custom_rule_is_proven() -> None:
    # Given every rule line of the custom rules file
    lines = [
        line for line in CUSTOM_RULES.read_text().splitlines() if line.strip() and not line.startswith("#")
    ]
    messages = {line.rsplit(' "', 1)[1].rstrip('"') for line in lines}

    # Then each one fires on the bad fixture
    assert len(messages) == len(lines), "custom rule messages must be unique"
    assert messages == {message for _, message in RULE_FAILURES}
