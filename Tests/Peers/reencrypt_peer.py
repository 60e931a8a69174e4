"""Test peer: the AWS Encryption SDK for Python around a re-encryption.

Used by CMKTenantTests' end-to-end re-encryption test with moto's KMS (AWS_ENDPOINT_URL_KMS and the
standard credential variables):

    reencrypt_peer.py write KEY_ARN CONTEXT_JSON OUT_DIR COUNT
        COUNT messages, each with its own data key under KEY_ARN and the context, as OUT_DIR/N.msg
        with plaintext "python item N".
    reencrypt_peer.py verify TENANT_KEY PROVIDER_KEY MANIFEST_JSON
        MANIFEST_JSON is [{"id": ..., "ciphertext": base64, "plaintext": base64}]; every message must
        decrypt with TENANT_KEY alone to its plaintext, and none with PROVIDER_KEY alone. Prints
        {"checked": N, "tenantKeyOpened": N, "providerKeyOpened": N, "mismatches": [...]} as JSON.
"""
import base64
import json
import os
import sys

import aws_encryption_sdk
from aws_encryption_sdk import CommitmentPolicy
from aws_encryption_sdk.caches.local import LocalCryptoMaterialsCache
from aws_encryption_sdk.materials_managers.caching import CachingCryptoMaterialsManager


def client():
    return aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)


def write(key_arn, context_json, out_dir, count):
    sdk = client()
    provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[key_arn])
    context = json.loads(context_json)
    os.makedirs(out_dir, exist_ok=True)
    for number in range(1, int(count) + 1):
        message, _ = sdk.encrypt(source=f"python item {number}".encode(), key_provider=provider, encryption_context=context)
        with open(os.path.join(out_dir, f"{number}.msg"), "wb") as f:
            f.write(message)


def verify(tenant_key, provider_key, manifest_path):
    sdk = client()
    # Items rewrapped from one cached data key share their encrypted data keys: a cache spares moto
    # one Decrypt per message without changing what opens.
    tenant = CachingCryptoMaterialsManager(
        master_key_provider=aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[tenant_key]),
        cache=LocalCryptoMaterialsCache(capacity=1000), max_age=600.0)
    provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[provider_key])
    with open(manifest_path) as f:
        manifest = json.load(f)
    opened_by_tenant = opened_by_provider = 0
    mismatches = []
    for item in manifest:
        message = base64.b64decode(item["ciphertext"])
        try:
            plaintext, _ = sdk.decrypt(source=message, materials_manager=tenant)
            opened_by_tenant += 1
            if plaintext != base64.b64decode(item["plaintext"]):
                mismatches.append(item["id"])
        except Exception as error:  # noqa: BLE001 - every failure is a finding
            mismatches.append(f"{item['id']}: {type(error).__name__}")
        try:
            sdk.decrypt(source=message, key_provider=provider)
            opened_by_provider += 1
        except Exception:  # noqa: BLE001 - expected: the provider key alone opens nothing
            pass
    print(json.dumps({"checked": len(manifest), "tenantKeyOpened": opened_by_tenant,
                      "providerKeyOpened": opened_by_provider, "mismatches": mismatches[:20]}))


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(*sys.argv[2:6])
    else:
        verify(*sys.argv[2:5])
