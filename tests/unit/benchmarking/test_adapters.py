"""The boto3 adapters on moto (with the local cloud's Price List fake and Spot history), and scripted
answers for what moto does not produce (throttling, pages, jobs on a compute environment)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError

from blueprints.benchmarking import prices
from blueprints.benchmarking.adapters import (
    BatchAdapter,
    CostingExecutions,
    DynamoPriceCache,
    Ec2Adapter,
    EcsAdapter,
    FsxAdapter,
    LaunchTable,
    PriceListApi,
    S3AuditStore,
    SpotPriceHistoryApi,
    plain,
)
from blueprints.benchmarking.errors import (
    CollectionThrottledError,
    PriceListUnavailableError,
    SpotPriceMissingError,
)
from blueprints.benchmarking.ports import JobAttempt
from blueprints.benchmarking.prices import SpotPoint, UnitPrice
from blueprints.benchmarking.timing import Interval
from localcloud.fakes.spot import set_spot_prices
from tests.support.botocore_hooks import PASS, Reply, Script, raise_on, record_calls
from tests.support.cfn import ACCOUNT_ID, REGION
from tests.unit.benchmarking.conftest import COST_INPUTS_BUCKET, Benchmarking

T0 = datetime(2025, 1, 6, 9, tzinfo=UTC)
MS = 1736154000000  # T0 in epoch milliseconds


def client(service: str) -> Any:
    """A client that does not retry, so one scripted error is one failed call."""
    config = Config(retries={"mode": "standard", "total_max_attempts": 1})
    return boto3.client(service, region_name=REGION, config=config)  # type: ignore[call-overload]


# -- the launch table ------------------------------------------------------------------------------------


def test_a_launch_item_is_read_consistently_as_plain_values(benchmarking: Benchmarking) -> None:
    benchmarking.put_launch(
        {
            "launch_id": "wf-1",
            "attempt": 2,
            "batch_job_ids": {"j2", "j1"},
            "compute_resources": {"cpu": "1024"},
        }
    )
    table = LaunchTable(benchmarking.launch_table, client("dynamodb"))
    gets = record_calls(table.client, "GetItem")

    item = table.launch("wf-1")

    assert item == {
        "launch_id": "wf-1",
        "attempt": Decimal(2),
        "batch_job_ids": ["j1", "j2"],
        "compute_resources": {"cpu": "1024"},
    }
    assert gets[0]["ConsistentRead"] is True
    assert table.launch("wf-404") is None


def test_launches_of_a_workflow_are_read_from_the_index_in_the_window_and_capped(
    benchmarking: Benchmarking,
) -> None:
    for day in range(1, 6):
        benchmarking.put_launch(
            {
                "launch_id": f"wf-{day}",
                "workflow_type": "snakemake",
                "created_at": f"2025-01-0{day}T10:00:00+00:00",
            }
        )
    benchmarking.put_launch(
        {"launch_id": "nf-1", "workflow_type": "nextflow", "created_at": "2025-01-02T10:00:00+00:00"}
    )
    table = LaunchTable(benchmarking.launch_table, client("dynamodb"))

    found, more = table.by_workflow(
        "snakemake", "2025-01-02T00:00:00+00:00", "2025-01-04T23:59:59+00:00", limit=10
    )
    capped, truncated = table.by_workflow(
        "snakemake", "2025-01-01T00:00:00+00:00", "2025-01-31T00:00:00+00:00", limit=2
    )

    assert (sorted(item["launch_id"] for item in found), more) == (["wf-2", "wf-3", "wf-4"], False)
    assert (len(capped), truncated) == (2, True)


def test_launch_pages_are_followed_until_the_last_or_the_cap(benchmarking: Benchmarking) -> None:
    table = LaunchTable(benchmarking.launch_table, client("dynamodb"))
    item = {"launch_id": {"S": "wf-1"}, "workflow_type": {"S": "snakemake"}}
    page = Reply.ok({"Items": [item], "LastEvaluatedKey": {"launch_id": {"S": "wf-1"}}})
    Script(table.client, "Query", [page, Reply.ok({"Items": [item]}), page, page])
    queries = record_calls(table.client, "Query")

    followed, more = table.by_workflow("snakemake", "a", "z", limit=10)
    capped, truncated = table.by_workflow("snakemake", "a", "z", limit=2)

    assert (len(followed), more, len(capped), truncated) == (2, False, 2, True)
    assert queries[1]["ExclusiveStartKey"] == {"launch_id": {"S": "wf-1"}}


# -- Batch ------------------------------------------------------------------------------------------------


JOB = {
    "jobId": "j1",
    "jobQueue": "queue",
    "jobName": "wf-1-a1",
    "status": "SUCCEEDED",
    "startedAt": MS,
    "stoppedAt": MS + 600_000,
    "jobDefinition": "def",
    "attempts": [
        {
            "container": {"containerInstanceArn": "ci-1", "taskArn": "t-1"},
            "startedAt": MS,
            "stoppedAt": MS + 60_000,
        },
        {
            "container": {"containerInstanceArn": "ci-2", "taskArn": "t-2"},
            "startedAt": MS + 120_000,
            "stoppedAt": MS + 600_000,
        },
    ],
    "container": {
        "resourceRequirements": [{"type": "VCPU", "value": "0.5"}, {"type": "MEMORY", "value": "2048"}],
        "runtimePlatform": {"cpuArchitecture": "ARM64"},
    },
}


def test_jobs_are_described_in_chunks_of_100_with_their_attempts_in_utc() -> None:
    batch = BatchAdapter(client("batch"))
    running = {
        **JOB,
        "jobId": "j2",
        "attempts": [],
        "container": {"containerInstanceArn": "ci-3", "vcpus": 2, "memory": 4096},
    }
    Script(batch.client, "DescribeJobs", [Reply.ok({"jobs": [JOB]}), Reply.ok({"jobs": [running]})])
    calls = record_calls(batch.client, "DescribeJobs")

    jobs = batch.jobs([f"j{index}" for index in range(150)])

    assert [len(call["jobs"]) for call in calls] == [100, 50]
    assert jobs[0].attempts == (
        JobAttempt("ci-1", "t-1", T0, T0 + timedelta(minutes=1)),
        JobAttempt("ci-2", "t-2", T0 + timedelta(minutes=2), T0 + timedelta(minutes=10)),
    )
    assert (jobs[0].vcpu, jobs[0].memory_mib, jobs[0].architecture) == (Decimal("0.5"), 2048, "ARM64")
    assert jobs[1].attempts == (JobAttempt("ci-3", "", T0, T0 + timedelta(minutes=10)),)
    assert (jobs[1].vcpu, jobs[1].memory_mib) == (Decimal(2), 4096)


def test_the_compute_environment_of_a_queue_is_its_first_in_order() -> None:
    batch = BatchAdapter(client("batch"))
    queue = {
        "jobQueues": [
            {
                "computeEnvironmentOrder": [
                    {"order": 2, "computeEnvironment": "ce-b"},
                    {"order": 1, "computeEnvironment": "ce-a"},
                ]
            }
        ]
    }
    environment = {
        "computeEnvironments": [
            {
                "computeEnvironmentArn": "arn:ce-a",
                "ecsClusterArn": "arn:cluster",
                "computeResources": {"type": "spot"},
            }
        ]
    }
    Script(batch.client, "DescribeJobQueues", [Reply.ok(queue), Reply.ok({"jobQueues": []})])
    Script(batch.client, "DescribeComputeEnvironments", [Reply.ok(environment)])
    asked = record_calls(batch.client, "DescribeComputeEnvironments")

    found = batch.environment("queue")

    assert (found.arn, found.kind, found.ecs_cluster_arn) == ("arn:ce-a", "SPOT", "arn:cluster")  # type: ignore[union-attr]
    assert asked[0]["computeEnvironments"] == ["ce-a"]
    assert batch.environment("gone") is None


def test_a_throttled_describe_is_retryable_and_other_errors_are_not_hidden() -> None:
    batch = BatchAdapter(client("batch"))
    Script(
        batch.client,
        "DescribeJobs",
        [Reply.error("TooManyRequestsException"), Reply.error("ClientException")],
    )

    with pytest.raises(CollectionThrottledError, match="DescribeJobs: TooManyRequestsException"):
        batch.jobs(["j1"])
    with pytest.raises(ClientError, match="ClientException"):
        batch.jobs(["j1"])


# -- ECS ----------------------------------------------------------------------------------------------


def test_a_task_definition_gives_its_architecture_once_and_tasks_are_described_in_full(aws: None) -> None:
    ecs = EcsAdapter(client("ecs"))
    ecs.client.create_cluster(clusterName="genomics-dev")
    arn = ecs.client.register_task_definition(
        family="head",
        containerDefinitions=[{"name": "head", "image": "busybox", "memory": 512}],
        cpu="1024",
        memory="4096",
        runtimePlatform={"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.client.register_task_definition(
        family="plain", containerDefinitions=[{"name": "c", "image": "i", "memory": 8}]
    )
    describes = record_calls(ecs.client, "DescribeTaskDefinition")
    task = {
        "taskArn": "t-1",
        "cpu": "1024",
        "memory": "4096",
        "ephemeralStorage": {"sizeInGiB": 30},
        "capacityProviderName": "FARGATE_SPOT",
        "launchType": "FARGATE",
        "taskDefinitionArn": arn,
        "pullStartedAt": T0,
        "startedAt": T0 + timedelta(seconds=10),
        "stoppedAt": T0 + timedelta(minutes=15),
    }
    Script(ecs.client, "DescribeTasks", [Reply.ok({"tasks": [task]}), Reply.ok({"tasks": []})])

    assert (ecs.architecture(arn), ecs.architecture(arn), ecs.architecture("plain")) == (
        "ARM64",
        "ARM64",
        "X86_64",
    )
    assert len(describes) == 2
    found = ecs.task("genomics-dev", "t-1")
    assert found is not None
    assert (found.cpu, found.ephemeral_gib, found.capacity_provider, found.pull_started_at) == (
        "1024",
        30,
        "FARGATE_SPOT",
        T0,
    )
    assert ecs.task("genomics-dev", "t-2") is None
    assert ecs.task("no-such-cluster", "t-1") is None


def test_container_instances_map_to_their_ec2_instances(aws: None) -> None:
    ecs = EcsAdapter(client("ecs"))
    ec2 = client("ec2")
    ecs.client.create_cluster(clusterName="batch-ce")
    instance_id = ec2.run_instances(ImageId="ami-03cf127a", MinCount=1, MaxCount=1)["Instances"][0][
        "InstanceId"
    ]
    document = json.dumps({"instanceId": instance_id, "region": REGION, "availabilityZone": "us-east-1a"})
    registered = ecs.client.register_container_instance(cluster="batch-ce", instanceIdentityDocument=document)
    arn = registered["containerInstance"]["containerInstanceArn"]

    assert ecs.ec2_instance_ids("batch-ce", [arn, f"{arn}-unknown"]) == {arn: instance_id}
    assert ecs.ec2_instance_ids("no-such-cluster", [arn]) == {}


# -- EC2 and FSx ----------------------------------------------------------------------------------------


def test_instances_are_described_by_filter_so_a_vanished_one_is_only_absent(aws: None) -> None:
    ec2 = Ec2Adapter(client("ec2"))
    subnet = ec2.client.create_subnet(
        VpcId=ec2.client.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"],
        CidrBlock="10.9.1.0/24",
        AvailabilityZone="us-east-1b",
    )["Subnet"]["SubnetId"]
    spot = ec2.client.run_instances(
        ImageId="ami-03cf127a",
        MinCount=1,
        MaxCount=1,
        InstanceType="c5.large",
        SubnetId=subnet,
        InstanceMarketOptions={"MarketType": "spot"},
    )["Instances"][0]["InstanceId"]
    ondemand = ec2.client.run_instances(
        ImageId="ami-03cf127a", MinCount=1, MaxCount=1, InstanceType="m5.large"
    )["Instances"][0]["InstanceId"]

    found = ec2.instances([spot, ondemand, "i-0000000000000dead"])
    volumes = ec2.volumes([spot])

    assert sorted(found) == sorted([spot, ondemand])
    assert (
        found[spot].instance_type,
        found[spot].spot,
        found[spot].availability_zone,
        found[spot].state,
    ) == (
        "c5.large",
        True,
        "us-east-1b",
        "running",
    )
    assert found[ondemand].spot is False
    assert [(volume.instance_id, volume.size_gib > 0) for volume in volumes] == [(spot, True)]
    assert (ec2.instances([]), ec2.volumes([])) == ({}, [])


def test_throttled_ec2_describes_are_retryable() -> None:
    ec2 = Ec2Adapter(client("ec2"))
    Script(ec2.client, "DescribeInstances", [Reply.error("RequestLimitExceeded")])
    Script(ec2.client, "DescribeVolumes", [Reply.error("RequestLimitExceeded")])

    with pytest.raises(CollectionThrottledError):
        ec2.instances(["i-1"])
    with pytest.raises(CollectionThrottledError):
        ec2.volumes(["i-1"])


def test_a_lustre_file_system_is_described_and_an_unknown_one_is_none(aws: None) -> None:
    fsx = FsxAdapter(client("fsx"))
    subnet = client("ec2").create_subnet(
        VpcId=client("ec2").create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"], CidrBlock="10.8.1.0/24"
    )["Subnet"]["SubnetId"]
    system = fsx.client.create_file_system(
        FileSystemType="LUSTRE",
        StorageCapacity=2400,
        SubnetIds=[subnet],
        LustreConfiguration={"DeploymentType": "PERSISTENT_2", "PerUnitStorageThroughput": 250},
    )["FileSystem"]

    found = fsx.file_system(system["FileSystemId"])

    assert found is not None
    assert (found.deployment_type, found.storage_gib, found.per_unit_throughput) == (
        "PERSISTENT_2",
        2400,
        250,
    )
    assert fsx.file_system("fs-0123456789abcdef0") is None


# -- prices ------------------------------------------------------------------------------------------------


def test_get_products_from_the_price_list_fake_returns_the_json_documents(aws: None) -> None:
    api = PriceListApi("us-east-1")

    found = api.products(prices.ec2_on_demand("m5.large", "us-east-1"))

    assert len(found) == 1
    assert json.loads(found[0])["product"]["attributes"]["instanceType"] == "m5.large"
    assert api.client.meta.region_name == "us-east-1"
    assert api.products(prices.PriceQuery("AmazonNothing", (), frozenset({"hrs"}), "nothing")) == []


def test_get_products_follows_next_tokens() -> None:
    api = PriceListApi("us-east-1", client("pricing"))
    Script(
        api.client,
        "GetProducts",
        [Reply.ok({"PriceList": ["{}"], "NextToken": "t1"}), Reply.ok({"PriceList": ["{}"]})],
    )
    calls = record_calls(api.client, "GetProducts")

    assert api.products(prices.ebs_storage("gp3", "us-east-1")) == ["{}", "{}"]
    assert [call.get("NextToken") for call in calls] == [None, "t1"]
    assert (calls[0]["FormatVersion"], calls[0]["MaxResults"], api.calls) == ("aws_v1", 100, 2)


def test_a_price_list_outage_is_a_missing_price_not_a_crash() -> None:
    api = PriceListApi("us-east-1", client("pricing"))
    Script(api.client, "GetProducts", [Reply.error("ThrottlingException")])

    with pytest.raises(PriceListUnavailableError, match="GetProducts EBS gp3 storage: ThrottlingException"):
        api.products(prices.ebs_storage("gp3", "us-east-1"))
    raise_on(api.client, "GetProducts", ReadTimeoutError(endpoint_url="https://api.pricing"))
    with pytest.raises(PriceListUnavailableError, match="ReadTimeoutError"):
        api.products(prices.ebs_storage("gp3", "us-east-1"))


def test_the_spot_history_gives_the_price_in_effect_at_the_start_and_the_changes_inside(aws: None) -> None:
    set_spot_prices(
        ACCOUNT_ID,
        REGION,
        "m5.large",
        "us-east-1a",
        [
            (T0 - timedelta(hours=5), "0.0350"),
            (T0 + timedelta(hours=1), "0.0410"),
            (T0 + timedelta(hours=9), "0.05"),
        ],
    )
    set_spot_prices(ACCOUNT_ID, REGION, "m5.large", "us-east-1b", [(T0, "0.0999")])
    history = SpotPriceHistoryApi(client("ec2"))

    points = history.history("m5.large", "us-east-1a", Interval(T0, T0 + timedelta(hours=2)))

    assert points == [
        SpotPoint(T0 - timedelta(hours=5), Decimal("0.035")),
        SpotPoint(T0 + timedelta(hours=1), Decimal("0.041")),
    ]


def test_spot_history_pages_are_followed_and_errors_leave_the_price_missing() -> None:
    history = SpotPriceHistoryApi(client("ec2"))
    row = {
        "InstanceType": "m5.large",
        "AvailabilityZone": "us-east-1a",
        "ProductDescription": "Linux/UNIX",
        "SpotPrice": "0.04",
        "Timestamp": T0,
    }
    other = {**row, "InstanceType": "c5.large"}
    Script(
        history.client,
        "DescribeSpotPriceHistory",
        [
            Reply.ok({"SpotPriceHistory": [row], "NextToken": "n"}),
            Reply.ok({"SpotPriceHistory": [other]}),
            Reply.error("UnauthorizedOperation"),
        ],
    )

    assert history.history("m5.large", "us-east-1a", Interval(T0, T0)) == [SpotPoint(T0, Decimal("0.04"))]
    with pytest.raises(SpotPriceMissingError, match="UnauthorizedOperation"):
        history.history("m5.large", "us-east-1a", Interval(T0, T0))


def test_the_price_cache_keeps_prices_and_spot_hours_until_they_expire(benchmarking: Benchmarking) -> None:
    cache = DynamoPriceCache(benchmarking.cache_table, timedelta(days=7), client("dynamodb"))
    query = prices.ec2_on_demand("m5.large", "us-east-1")
    price = UnitPrice(Decimal("0.096"), "Hrs", "LC123", "2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z")
    hours = {
        f"spot#m5.large#us-east-1a#Linux/UNIX#2025-01-06T{hour:02d}": [SpotPoint(T0, Decimal("0.035"))]
        for hour in range(30)
    }

    cache.put_price(query.cache_key, query, price, T0)
    cache.put_spot_hours(hours, T0)

    assert cache.get_price(query.cache_key, T0 + timedelta(days=6)) == UnitPrice(
        Decimal("0.096"), "Hrs", "LC123", "2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z", cached=True
    )
    assert cache.get_price(query.cache_key, T0 + timedelta(days=7)) is None
    assert cache.get_price("unknown", T0) is None
    assert cache.get_spot_hours([*sorted(hours), "missing"], T0) == hours
    assert cache.get_spot_hours(sorted(hours), T0 + timedelta(days=8)) == {}
    stored = plain(
        client("dynamodb").get_item(
            TableName=benchmarking.cache_table, Key={"cache_key": {"S": query.cache_key}}
        )["Item"]
    )
    assert (stored["kind"], stored["service_code"], stored["expires_at"]) == (
        "price",
        "AmazonEC2",
        Decimal(int((T0 + timedelta(days=7)).timestamp())),
    )


def test_the_audit_document_is_stored_as_json_and_named_by_its_uri(aws: None) -> None:
    client("s3").create_bucket(Bucket=COST_INPUTS_BUCKET)
    store = S3AuditStore(COST_INPUTS_BUCKET, client("s3"))

    uri = store.put("costs/wf-1/a1/abc.json", {"total_cost": "0.0147"})

    assert uri == f"s3://{COST_INPUTS_BUCKET}/costs/wf-1/a1/abc.json"
    body = client("s3").get_object(Bucket=COST_INPUTS_BUCKET, Key="costs/wf-1/a1/abc.json")["Body"].read()
    assert json.loads(body) == {"total_cost": "0.0147"}


def test_scripted_pass_lets_real_calls_through(benchmarking: Benchmarking) -> None:
    table = LaunchTable(benchmarking.launch_table, client("dynamodb"))
    Script(table.client, "GetItem", [PASS])

    assert table.launch("nothing") is None


def test_a_re_cost_removes_the_cost_of_a_finished_launch_only_when_no_costing_is_under_way(
    benchmarking: Benchmarking,
) -> None:
    # Given a costed launch, a launch with a costing under way, and a running launch
    benchmarking.put_launch(
        {
            "launch_id": "wf-1",
            "status": "COMPLETE",
            "costStatus": "COSTED",
            "totalCost": "0.0147",
            "costOwner": "x",
        }
    )
    benchmarking.put_launch({"launch_id": "wf-2", "status": "FAILED", "costStatus": "PENDING"})
    benchmarking.put_launch({"launch_id": "wf-3", "status": "RUNNING"})
    table = LaunchTable(benchmarking.launch_table, client("dynamodb"))

    # When a re-cost is asked for each, and for an unknown launch
    outcomes = [
        table.reset_cost(name, requested_by="arn:me", now="2025-01-06T10:00:00+00:00")
        for name in ("wf-1", "wf-2", "wf-3", "wf-9")
    ]

    # Then only the costed one lost its cost (so the pipe filter matches it again); the others say why not
    assert outcomes[0] is None
    assert table.launch("wf-1") == {
        "launch_id": "wf-1",
        "status": "COMPLETE",
        "costResetAt": "2025-01-06T10:00:00+00:00",
        "costResetBy": "arn:me",
    }
    assert (outcomes[1]["costStatus"], outcomes[2]["status"], outcomes[3]) == ("PENDING", "RUNNING", {})  # type: ignore[index]
    assert table.launch("wf-2") == {"launch_id": "wf-2", "status": "FAILED", "costStatus": "PENDING"}


def test_other_errors_of_a_re_cost_are_not_hidden(benchmarking: Benchmarking) -> None:
    table = LaunchTable(benchmarking.launch_table, client("dynamodb"))
    Script(table.client, "UpdateItem", [Reply.error("ProvisionedThroughputExceededException")])

    with pytest.raises(ClientError, match="ProvisionedThroughputExceededException"):
        table.reset_cost("wf-1", requested_by="arn:me", now="now")


def test_a_costing_under_way_is_reset_only_while_the_given_execution_owns_it(
    benchmarking: Benchmarking,
) -> None:
    # Given a launch PENDING under one execution
    benchmarking.put_launch(
        {"launch_id": "wf-4", "status": "COMPLETE", "costStatus": "PENDING", "costOwner": "exec-a#1"}
    )
    table = LaunchTable(benchmarking.launch_table, client("dynamodb"))

    # When a re-cost names another owner, then the owner
    other = table.reset_cost("wf-4", requested_by="arn:me", now="2025-01-06T10:00:00+00:00", owner="exec-b#1")
    owned = table.reset_cost("wf-4", requested_by="arn:me", now="2025-01-06T10:00:00+00:00", owner="exec-a#1")

    # Then only the owner's costing is removed
    assert (other or {}).get("costOwner") == "exec-a#1"
    assert owned is None
    assert table.launch("wf-4") == {
        "launch_id": "wf-4",
        "status": "COMPLETE",
        "costResetAt": "2025-01-06T10:00:00+00:00",
        "costResetBy": "arn:me",
    }


def test_the_status_of_a_costing_execution_and_of_one_that_does_not_exist(aws: None) -> None:
    # Given a started execution of a state machine, and an execution ARN nobody knows
    sfn = client("stepfunctions")
    machine = sfn.create_state_machine(
        name="CostLaunch",
        definition=json.dumps(
            {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 60, "End": True}}}
        ),
        roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/costing",
    )["stateMachineArn"]
    running = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    executions = CostingExecutions(sfn)

    # Then the first is RUNNING, the second None, and other errors are not hidden
    assert executions.status(running) == "RUNNING"
    assert executions.status(f"arn:aws:states:{REGION}:{ACCOUNT_ID}:execution:CostLaunch:gone") is None
    Script(executions.client, "DescribeExecution", [Reply.error("ThrottlingException")])
    with pytest.raises(ClientError, match="ThrottlingException"):
        executions.status(running)


def test_the_test_stack_creates_a_role_whose_policy_names_a_resource_it_does_not_create(aws: None) -> None:
    # Given the costing pipe's role: its inline policy names the state machine, which moto stacks never create
    from tests.support.moto_stack import deploy
    from tests.unit.benchmarking.conftest import BENCHMARKING_TEMPLATE

    parameters = {
        "SharedLayerArn": "arn:aws:lambda:us-east-1:123456789012:layer:shared:1",
        "KmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/1",
        "AlertsTopicArn": "arn:aws:sns:us-east-1:123456789012:alerts",
        "LaunchTableName": "genomics-launches",
        "LaunchTableStreamArn": "arn:aws:dynamodb:us-east-1:123456789012:table/genomics-launches/stream/x",
        "ApiId": "a1b2c3d4e5",
        "ClusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/genomics",
    }

    # When the role is deployed
    stack = deploy(BENCHMARKING_TEMPLATE, parameters, stack_name="roles", only={"CostingPipeRole"})

    # Then it exists with its trust policy (the only properties a role creation reads)
    role = boto3.client("iam", region_name=REGION).get_role(RoleName=stack.ref("CostingPipeRole"))["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "pipes.amazonaws.com"}


def test_jobs_are_found_by_their_tags_on_a_queue_over_every_page() -> None:
    # Given a queue listing over two pages, whose described jobs carry different tags
    batch = BatchAdapter(client("batch"))
    Script(
        batch.client,
        "ListJobs",
        [
            Reply.ok({"jobSummaryList": [{"jobId": "j1", "jobName": "a"}], "nextToken": "t"}),
            Reply.ok({"jobSummaryList": [{"jobId": "j2", "jobName": "b"}]}),
        ],
    )
    described = {
        "jobs": [
            {"jobId": "j1", "tags": {"genomics:launch_id": "wf-1", "genomics:attempt": "1"}},
            {"jobId": "j2", "tags": {"genomics:launch_id": "wf-1", "genomics:attempt": "2"}},
        ]
    }
    Script(batch.client, "DescribeJobs", [Reply.ok(described)])
    listed = record_calls(batch.client, "ListJobs")

    # When the jobs of wf-1 attempt 1 created after 10:00 are asked for
    since = datetime(2025, 1, 6, 10, tzinfo=UTC)
    found = batch.tagged_job_ids("queue", {"genomics:launch_id": "wf-1", "genomics:attempt": "1"}, since)

    # Then both pages were read with the creation filter (epoch ms) and only the matching job is kept
    assert found == ["j1"]
    assert listed[0]["filters"] == [
        {"name": "AFTER_CREATED_AT", "values": [str(int(since.timestamp() * 1000))]}
    ]
    assert listed[1]["nextToken"] == "t"


def test_a_throttled_job_listing_is_retryable() -> None:
    batch = BatchAdapter(client("batch"))
    Script(batch.client, "ListJobs", [Reply.error("TooManyRequestsException")])

    with pytest.raises(CollectionThrottledError, match="ListJobs: TooManyRequestsException"):
        batch.tagged_job_ids("queue", {}, datetime(2025, 1, 6, tzinfo=UTC))
