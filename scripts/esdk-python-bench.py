"""Measures the AWS Encryption SDK for Python: 1 KiB encrypt+decrypt round trips per second with one
raw AES wrapping key and suite 0x0478, the figure `cmkctl bench envelope --python` compares against.

Usage: .venv/bin/python scripts/esdk-python-bench.py [--seconds S]   (prints one JSON object)
"""
import argparse
import json
import os
import time

import aws_encryption_sdk
from aws_encryption_sdk.identifiers import Algorithm, CommitmentPolicy, EncryptionKeyType, WrappingAlgorithm
from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
from aws_encryption_sdk.key_providers.raw import RawMasterKey


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    key = RawMasterKey(
        provider_id="bench",
        key_id=b"key",
        wrapping_key=WrappingKey(
            wrapping_algorithm=WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
            wrapping_key=os.urandom(32),
            wrapping_key_type=EncryptionKeyType.SYMMETRIC,
        ),
    )
    client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    plaintext = os.urandom(1024)
    context = {"tenant": "bench"}
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        ciphertext, _ = client.encrypt(source=plaintext, key_provider=key, encryption_context=context,
                                       algorithm=Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY)
        decrypted, _ = client.decrypt(source=ciphertext, key_provider=key)
        assert decrypted == plaintext
        count += 1
    elapsed = time.perf_counter() - start
    print(json.dumps({"roundtrips_per_second": count / elapsed, "roundtrips": count, "seconds": elapsed,
                      "sdk_version": aws_encryption_sdk.__version__}))


if __name__ == "__main__":
    main()
