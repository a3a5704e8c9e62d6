"""The adapter that captures what runs a Batch job: container instance → EC2 instance → its volumes."""

from __future__ import annotations

import boto3
from botocore.stub import Stubber

from blueprints.genomics.adapters import InstanceFacts

ARN = "arn:aws:ecs:us-east-1:123456789012:container-instance/genomics-batch/8d1b2c3a4e5f"


def clients() -> tuple[InstanceFacts, Stubber, Stubber]:
    ecs = boto3.client("ecs", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
    ec2 = boto3.client("ec2", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
    return InstanceFacts(ecs=ecs, ec2=ec2), Stubber(ecs), Stubber(ec2)


def test_a_spot_instance_and_its_volumes_are_described() -> None:
    # Given a container instance on a Spot instance with one gp3 root volume
    facts, ecs, ec2 = clients()
    ecs.add_response(
        "describe_container_instances",
        {"containerInstances": [{"containerInstanceArn": ARN, "ec2InstanceId": "i-0abc"}]},
        {"cluster": "genomics-batch", "containerInstances": [ARN]},
    )
    instance = {
        "InstanceId": "i-0abc",
        "InstanceType": "c5.xlarge",
        "InstanceLifecycle": "spot",
        "Placement": {"AvailabilityZone": "us-east-1b"},
        "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeId": "vol-1"}}],
    }
    ec2.add_response(
        "describe_instances", {"Reservations": [{"Instances": [instance]}]}, {"InstanceIds": ["i-0abc"]}
    )
    volume = {"VolumeId": "vol-1", "Size": 30, "VolumeType": "gp3", "Iops": 3000, "Throughput": 125}
    ec2.add_response("describe_volumes", {"Volumes": [volume]}, {"VolumeIds": ["vol-1"]})

    # When it is described
    with ecs, ec2:
        found = facts.of_container_instance(ARN)

    # Then type, market, zone and volume are recorded
    assert found == {
        "ec2_instance_id": "i-0abc",
        "instance_type": "c5.xlarge",
        "purchase_option": "spot",
        "availability_zone": "us-east-1b",
        "volumes": [
            {"volume_id": "vol-1", "size_gib": 30, "volume_type": "gp3", "iops": 3000, "throughput": 125}
        ],
    }


def test_an_unknown_or_gone_instance_gives_what_is_known() -> None:
    facts, ecs, ec2 = clients()
    ecs.add_response("describe_container_instances", {"containerInstances": []})
    ecs.add_response(
        "describe_container_instances",
        {"containerInstances": [{"containerInstanceArn": ARN, "ec2InstanceId": "i-9"}]},
    )
    ec2.add_response("describe_instances", {"Reservations": []})

    with ecs, ec2:
        unknown = facts.of_container_instance(ARN)
        gone = facts.of_container_instance(ARN)

    assert (unknown, gone) == ({}, {"ec2_instance_id": "i-9"})
    assert (
        facts.of_container_instance("arn:aws:ecs:us-east-1:123456789012:container-instance/old-format") == {}
    )
