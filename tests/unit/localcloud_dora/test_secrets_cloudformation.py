"""Secrets Manager secrets created by moto's CloudFormation while the extension is installed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud.fakes.secretsmanager import extend

TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "Generated": {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {"GenerateSecretString": {"PasswordLength": 40, "ExcludePunctuation": True}},
        },
        "Templated": {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "Name": "app/db",
                "Description": "database",
                "GenerateSecretString": {
                    "SecretStringTemplate": '{"username": "app"}',
                    "GenerateStringKey": "password",
                },
            },
        },
        "Given": {"Type": "AWS::SecretsManager::Secret", "Properties": {"SecretString": "none"}},
    },
    "Outputs": {
        "GeneratedArn": {"Value": {"Ref": "Generated"}},
        "TemplatedId": {"Value": {"Fn::GetAtt": ["Templated", "Id"]}},
        "GivenArn": {"Value": {"Ref": "Given"}},
    },
}


@pytest.fixture
def outputs() -> Iterator[tuple[Any, dict[str, str]]]:
    with mock_aws(), extend():
        cfn = boto3.client("cloudformation", region_name="us-east-1")
        cfn.create_stack(StackName="secrets", TemplateBody=json.dumps(TEMPLATE))
        found = {
            o["OutputKey"]: o["OutputValue"]
            for o in cfn.describe_stacks(StackName="secrets")["Stacks"][0]["Outputs"]
        }
        yield boto3.client("secretsmanager", region_name="us-east-1"), found


def test_secrets_are_created_and_referenced_by_their_arn(outputs: tuple[Any, dict[str, str]]) -> None:
    secrets, found = outputs
    generated = secrets.get_secret_value(SecretId=found["GeneratedArn"])["SecretString"]
    templated = json.loads(secrets.get_secret_value(SecretId=found["TemplatedId"])["SecretString"])
    given = secrets.get_secret_value(SecretId=found["GivenArn"])

    assert (len(generated), generated.isalnum()) == (40, True)
    assert (templated["username"], len(templated["password"])) == ("app", 32)
    assert given["SecretString"] == "none"
    assert given["Name"].startswith("secrets-Given-")
    assert secrets.describe_secret(SecretId="app/db")["Description"] == "database"


@pytest.mark.filterwarnings("ignore:Tried to parse AWS..SecretsManager..Secret:UserWarning")
def test_without_the_extension_moto_skips_secrets() -> None:
    with mock_aws():
        cfn = boto3.client("cloudformation", region_name="us-east-1")
        cfn.create_stack(StackName="secrets", TemplateBody=json.dumps({**TEMPLATE, "Outputs": {}}))
        assert boto3.client("secretsmanager", region_name="us-east-1").list_secrets()["SecretList"] == []
