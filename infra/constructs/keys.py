"""The API keys: one generated secret per kind of key, so each function can read only the kind it checks."""

from __future__ import annotations

from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.nag import acknowledge
from leadscore.resources import GENERATED_KEY_FIELD

KEY_LENGTH = 40


class ApiKeys(Construct):
    """Three secrets, each ``{"key": "<40 random letters and digits>"}`` as ``leadscore.adapters.secrets``
    reads them: ``write`` for trackers (basic-auth user name, public in web pages), ``read`` for sales
    (lists, look-ups, follow-ups, outcomes), ``admin`` for erasure. Generated at deploy time by Secrets
    Manager: no key is ever in the template."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.write = self._secret("WriteKeys", "Write keys: trackers send events to the tracking endpoint")
        self.read = self._secret(
            "ReadKeys", "Read keys: list and look up leads and accounts, record follow-ups and outcomes"
        )
        self.admin = self._secret("AdminKeys", "Admin keys: erase a person; everything a read key can do")
        acknowledge(
            self,
            "SMG4",
            "The keys are given to trackers and sales tools outside AWS, so a scheduled rotation would lock "
            "them all out at once. An operator rotates a key without downtime by adding the new one under "
            '"keys" beside "key" (docs/deploy.md); the functions re-read the secret every five minutes.',
        )

    def _secret(self, construct_id: str, description: str) -> secretsmanager.Secret:
        return secretsmanager.Secret(
            self,
            construct_id,
            description=description,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template="{}",
                generate_string_key=GENERATED_KEY_FIELD,
                exclude_punctuation=True,
                password_length=KEY_LENGTH,
            ),
        )
