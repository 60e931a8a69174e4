"""Test peer: the AWS Encryption SDK for Python with its KMS master key provider (strict mode).

Used by CMKKMSTests to check that cmkctl's KMS keyring and the SDK read each other's messages.
The KMS endpoint comes from AWS_ENDPOINT_URL_KMS (a local moto server); credentials from the
standard environment variables.

    kms_peer.py encrypt KEY_ARN IN OUT [KEY=VALUE ...]
    kms_peer.py decrypt KEY_ARN IN OUT
"""
import sys

import aws_encryption_sdk
from aws_encryption_sdk import CommitmentPolicy


def main():
    mode, key_arn, source, target = sys.argv[1:5]
    context = dict(pair.split("=", 1) for pair in sys.argv[5:])
    client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[key_arn])
    with open(source, "rb") as f:
        data = f.read()
    if mode == "encrypt":
        out, _ = client.encrypt(source=data, key_provider=provider, encryption_context=context)
    else:
        out, header = client.decrypt(source=data, key_provider=provider)
        for key, value in sorted(header.encryption_context.items()):
            print(f"{key}={value}")
    with open(target, "wb") as f:
        f.write(out)


if __name__ == "__main__":
    main()
