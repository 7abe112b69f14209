"""The AWS implementations of the ports: the only modules here that import boto3."""
