"""Deploy-time repack: add a local ``code_dir`` under ``code/`` to a ``model.tar.gz`` already in S3.

SageMaker's Hugging Face inference toolkit only runs ``inference.py`` from ``code/`` inside the
model archive. For a fine-tuned model that already lives in S3 (often tens of GB) repacking at
synth time would mean downloading it; instead a custom resource streams the archive from S3,
drops any old ``code/``, appends the new code and writes a new object, all in one Lambda
invocation and without holding the archive in memory or on disk (see ``handler/index.py``).

The new object's key is derived from the inputs (source ETag/version, code asset hash), so a
changed model or script gives a new key, CloudFormation replaces the resource and deletes the
old object, and SageMaker models that read the URL are replaced too.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CustomResource, Duration, RemovalPolicy, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import custom_resources as cr
from constructs import Construct

from .._core.buckets import secure_bucket
from .._core.errors import Problems
from .._core.nag import acknowledge_wildcard
from .._core.names import DEFAULT_ENTRY_POINT, is_archive_name
from .._core.tokens import is_unresolved

HANDLER_DIR = Path(__file__).parent / "handler"
"""Source of the repack Lambda function (standard library + boto3 only)."""

DEFAULT_MEMORY_MB = 3008
"""Lambda memory, and with it CPU: ~1.7 vCPUs at 3008 MB, the highest size every account allows by default."""

MAX_TIMEOUT = Duration.minutes(15)
_JUNK = [".git", "__pycache__", ".ipynb_checkpoints", ".DS_Store", "*.pyc"]
"""Left out of the code asset and the function bundle (as in ``archives``): they would only change the hash."""
RESOURCE_TYPE = "Custom::ScriptRepack"
_OUTPUT_PREFIX_REASON = (
    "The repacked archive's key is derived at deploy time from the source object's ETag and the code hash; "
    "the wildcard is this ScriptRepack's own prefix of the output bucket."
)


class ScriptRepack(Construct):
    """Adds ``code_dir`` as ``code/`` to an S3 ``model.tar.gz`` at deploy time.

    Creates a Lambda function behind a ``custom_resources.Provider`` and a custom resource that
    writes ``<output_bucket>/<output_prefix><hash>/model.tar.gz``. Use ``model_data_url`` as the
    SageMaker model's ``ModelDataUrl`` and ``grant_read`` to let the model's role read it.

    Permissions are scoped to single objects: ``s3:GetObject`` on the source archive and on the
    code asset; put, abort, delete and read on this construct's prefix of the output bucket.

    Limits: one Lambda invocation (at most 15 minutes, less a 30 s safety margin) streams the
    whole archive on one core: gunzip of the source plus a stored-block (level 0) gzip output,
    roughly 60-180 MB/s depending on how the source was compressed, with S3 transfer overlapped.
    Plan for archives up to about 50 GB; larger ones should ship ``code/`` in the archive.
    The source object is read at deploy time: overwriting it in S3 later is not noticed until
    the next deployment that changes this resource's inputs.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        model_data_bucket: s3.IBucket,
        model_data_key: str,
        code_dir: str,
        entry_point: str = DEFAULT_ENTRY_POINT,
        output_bucket: s3.IBucket | None = None,
        memory_size: int = DEFAULT_MEMORY_MB,
        timeout: Duration | None = None,
    ) -> None:
        """
        :param model_data_bucket: the bucket holding the source ``model.tar.gz``.
        :param model_data_key: the key of the source ``model.tar.gz`` (the ``save_pretrained`` files at its root).
        :param code_dir: a local directory with ``inference.py`` (and optionally ``requirements.txt``); it is
            uploaded as a CDK asset and lands under ``code/`` in the output, replacing any ``code/`` already
            in the source archive. At most 100 MB.
        :param entry_point: the script in ``code_dir`` the toolkit imports (``SAGEMAKER_PROGRAM`` names any other
            than ``inference.py``).
        :default entry_point: ``"inference.py"``
        :param output_bucket: where the repacked archive is written, under a prefix owned by this construct.
        :default output_bucket: a new bucket in this construct: S3-managed encryption, SSL enforced, public access
            blocked, unversioned, incomplete multipart uploads aborted after 1 day, server access logs to the stack's
            shared log bucket, and ``RemovalPolicy.DESTROY`` (it holds only derived data, and the custom resource
            deletes its object when it is deleted, so the bucket is empty when the stack goes).
        :param memory_size: memory of the repack function in MB; more memory also means more CPU.
        :default memory_size: 3008
        :param timeout: the repack function's timeout, at most 15 minutes.
        :default timeout: ``Duration.minutes(15)``
        """
        super().__init__(scope, id)
        timeout = timeout or MAX_TIMEOUT
        self._validate(model_data_key, code_dir, entry_point, memory_size, timeout)

        self.output_prefix = f"script-repack/{self.node.addr}/"
        """The key prefix under which this construct writes (and deletes) its archives."""
        self.output_bucket: s3.IBucket = output_bucket or self._create_output_bucket()
        """The bucket holding the repacked archive."""

        # Absolute: CDK resolves a relative asset path against its node process's directory, not Python's.
        code = s3_assets.Asset(self, "Code", path=str(Path(code_dir).resolve()), exclude=_JUNK)
        log_group, role = self._repack_role(model_data_bucket, model_data_key, code)
        self.function = self._repack_function(log_group, role, memory_size, timeout)
        """The repack Lambda function."""
        provider = self._provider(role)
        self.resource = self._repack_resource(provider, model_data_bucket, model_data_key, code, timeout)
        """The custom resource; its physical id is the output's ``s3://`` URI."""
        self.model_data_url: str = self.resource.get_att_string("ModelDataUrl")
        """``s3://`` URI of the repacked ``model.tar.gz`` (a deploy-time token)."""

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` (the SageMaker execution role) to read the repacked archive.

        Grants ``s3:GetObject`` on this construct's output prefix only (and decrypt when the output
        bucket has a KMS key).
        """
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=["s3:GetObject"], resource_arns=[self._output_objects_arn()]
        )
        if isinstance(grantee, iam.Role):
            acknowledge_wildcard(grantee, self._output_objects_arn(), _OUTPUT_PREFIX_REASON)
        if self.output_bucket.encryption_key is not None:
            self.output_bucket.encryption_key.grant_decrypt(grantee)
        return grant

    def _repack_role(
        self, model_data_bucket: s3.IBucket, model_data_key: str, code: s3_assets.Asset
    ) -> tuple[logs.LogGroup, iam.Role]:
        """The repack function's log group and role: it reads the source archive and the code asset, and
        writes, reads and deletes under this construct's output prefix."""
        log_group, role = self._logging_role(
            "LogGroup", "ServiceRole", "Repacks a model.tar.gz with code/ (ScriptRepack)"
        )
        self._grant_object_read(role, model_data_bucket, model_data_bucket.arn_for_objects(model_data_key))
        self._grant_object_read(role, code.bucket, code.bucket.arn_for_objects(code.s3_object_key))
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"],
                resources=[self._output_objects_arn()],
            )
        )
        acknowledge_wildcard(role, self._output_objects_arn(), _OUTPUT_PREFIX_REASON)
        if self.output_bucket.encryption_key is not None:
            # Read and write (multipart) objects encrypted with the output bucket's key.
            self.output_bucket.encryption_key.grant(role, "kms:Decrypt", "kms:GenerateDataKey")
        return log_group, role

    def _repack_function(
        self, log_group: logs.LogGroup, role: iam.Role, memory_size: int, timeout: Duration
    ) -> lambda_.Function:
        return lambda_.Function(
            self,
            "Function",
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            code=lambda_.Code.from_asset(str(HANDLER_DIR), exclude=_JUNK),
            handler="index.on_event",
            role=role,
            log_group=log_group,
            memory_size=memory_size,
            timeout=timeout,
            description="Streams a model.tar.gz from S3, replaces code/ and writes a new archive",
        )

    def _provider(self, repack_role: iam.Role) -> cr.Provider:
        """The custom resource provider in front of ``self.function``, with its own log group and role."""
        provider_log_group, provider_role = self._logging_role(
            "ProviderLogGroup", "ProviderRole", "Custom resource provider framework of ScriptRepack"
        )
        # The Provider framework lets its role invoke the function and any version or alias of it.
        acknowledge_wildcard(
            provider_role,
            f"{self.function.function_arn}:*",
            "The custom resource Provider framework grants lambda:InvokeFunction on the repack function's versions "
            "and aliases (<function ARN>:*); that is this one function only.",
        )
        provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.function,
            framework_on_event_role=provider_role,
            log_group=provider_log_group,
        )
        # After the Provider, which adds its invoke grant to provider_role's policy.
        _depend_on_policies_only(self.function, repack_role)
        on_event = provider.node.try_find_child("framework-onEvent")
        if isinstance(on_event, lambda_.Function):
            _depend_on_policies_only(on_event, provider_role)
        return provider

    def _repack_resource(
        self,
        provider: cr.Provider,
        model_data_bucket: s3.IBucket,
        model_data_key: str,
        code: s3_assets.Asset,
        timeout: Duration,
    ) -> CustomResource:
        return CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type=RESOURCE_TYPE,
            # Fail the deployment soon after the function's own timeout instead of CloudFormation's 1 hour.
            service_timeout=timeout.plus(Duration.minutes(5)),
            properties={
                "SourceBucket": model_data_bucket.bucket_name,
                "SourceKey": model_data_key,
                "CodeBucket": code.s3_bucket_name,
                "CodeKey": code.s3_object_key,
                "CodeHash": code.asset_hash,
                "OutputBucket": self.output_bucket.bucket_name,
                "OutputPrefix": self.output_prefix,
            },
        )

    def _logging_role(self, log_group_id: str, role_id: str, description: str) -> tuple[logs.LogGroup, iam.Role]:
        """A Lambda function's log group (kept one month) and role, allowed to write to it.

        Own log group and inline permissions instead of the AWSLambdaBasicExecutionRole managed policy.
        """
        log_group = logs.LogGroup(
            self, log_group_id, retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        role = iam.Role(self, role_id, assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), description=description)
        log_group.grant_write(role)
        return log_group, role

    def _create_output_bucket(self) -> s3.Bucket:
        return secure_bucket(
            self,
            "OutputBucket",
            versioned=False,
            lifecycle_rules=[s3.LifecycleRule(abort_incomplete_multipart_upload_after=Duration.days(1))],
            removal_policy=RemovalPolicy.DESTROY,
        )

    def _output_objects_arn(self) -> str:
        return self.output_bucket.arn_for_objects(f"{self.output_prefix}*")

    @staticmethod
    def _grant_object_read(role: iam.IRole, bucket: s3.IBucket, object_arn: str) -> None:
        # Exactly s3:GetObject on one object, not Bucket.grant_read's s3:GetObject*/s3:List* on the bucket.
        role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[object_arn]))
        if bucket.encryption_key is not None:
            bucket.encryption_key.grant_decrypt(role)

    def _validate(
        self, model_data_key: str, code_dir: str, entry_point: str, memory_size: int, timeout: Duration
    ) -> None:
        problems = Problems(f"ScriptRepack {self.node.path}")
        if not is_unresolved(model_data_key) and not is_archive_name(model_data_key):
            problems.add("model_data_key", model_data_key, "must name a gzip tar archive (ending in .tar.gz or .tgz)")
        code_path = Path(code_dir)
        if not code_path.is_dir():
            problems.add("code_dir", code_dir, "is not a local directory")
        elif not (code_path / entry_point).is_file():
            problems.add("code_dir", code_dir, f"holds no {entry_point}; SageMaker would ignore the code")
        if not Token.is_unresolved(memory_size) and not 128 <= memory_size <= 10240:
            problems.add("memory_size", memory_size, "must be between 128 and 10240 (MB)")
        if not timeout.is_unresolved() and not 1000 <= timeout.to_milliseconds() <= MAX_TIMEOUT.to_milliseconds():
            problems.add("timeout", timeout.to_human_string(), "must be between 1 second and 15 minutes")
        problems.raise_if_any()


def _depend_on_policies_only(function: lambda_.Function, role: iam.Role) -> None:
    """Render the function's ``DependsOn`` as its role's policies only.

    ``lambda.Function`` depends on its whole role, so the template lists the role in ``DependsOn``
    although the ``Role`` GetAtt already orders it (cfn-lint W3005). The policies are what must
    exist before the function runs; the role stays ordered by the GetAtt.
    """
    cfn = function.node.default_child
    policies = [policy for policy in role.node.find_all() if isinstance(policy, iam.CfnPolicy)]
    if isinstance(cfn, lambda_.CfnFunction) and policies:
        cfn.add_override("DependsOn", [policy.logical_id for policy in policies])
