"""Expands infra/template.yaml with aws-sam-translator, as CloudFormation's
AWS::Serverless transform would, and prints the result as JSON.

CodeUri is replaced by a packaged S3 location (what `sam package` does) and the two AWS
managed policies SAM attaches are named without asking IAM, so this runs offline.
Used by tests/it/template.rs."""
import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class ManagedPolicies:
    def load(self):
        return {
            "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
            "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
        }


os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
with open(sys.argv[1]) as f:
    template = yaml_parse(f.read())
template["Globals"]["Function"]["CodeUri"] = "s3://packaged/code.zip"
json.dump(transform(template, {}, ManagedPolicies()), sys.stdout, indent=1, default=str)
