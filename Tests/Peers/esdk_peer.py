"""Interop peer: the real AWS Encryption SDK for Python encrypts or decrypts a batch of cases.

Reads a JSON manifest path from argv[1]:
  {"op": "encrypt" | "decrypt", "cases": [
     {"id": str, "keys": [{"namespace": str, "name": str, "key_hex": str}], "context": [[k, v], ...],
      "suite": "0478", "frame_length": int, "input": path, "output": path}]}
Encrypt wraps under every key (the first is primary); decrypt uses the given keys only and checks the
message's context holds every given pair. Writes {"results": {id: "ok" | "error: ..."}} to stdout.
"""
import json
import sys

import aws_encryption_sdk
from aws_encryption_sdk.identifiers import Algorithm, CommitmentPolicy, EncryptionKeyType, WrappingAlgorithm
from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
from aws_encryption_sdk.key_providers.raw import RawMasterKeyProvider

WRAPPING = {
    16: WrappingAlgorithm.AES_128_GCM_IV12_TAG16_NO_PADDING,
    24: WrappingAlgorithm.AES_192_GCM_IV12_TAG16_NO_PADDING,
    32: WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
}
SUITES = {
    "0478": Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
    "0578": Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384,
    "0178": Algorithm.AES_256_GCM_IV12_TAG16_HKDF_SHA256,
    "0378": Algorithm.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384,
    "0014": Algorithm.AES_128_GCM_IV12_TAG16,
}


class StaticRawKeys(RawMasterKeyProvider):
    """A raw key provider holding fixed keys; every key it holds wraps the data key on encrypt."""

    provider_id = None

    def __init__(self, **kwargs):  # pylint: disable=unused-argument
        self._keys = {}

    def _get_raw_key(self, key_id):
        raw = self._keys[key_id]
        return WrappingKey(wrapping_algorithm=WRAPPING[len(raw)], wrapping_key=raw,
                           wrapping_key_type=EncryptionKeyType.SYMMETRIC)


def provider(specs):
    namespaces = {spec["namespace"] for spec in specs}
    if len(namespaces) != 1:
        raise ValueError("one namespace per case")
    keys_class = type("Keys", (StaticRawKeys,), {"provider_id": namespaces.pop()})
    keys = keys_class()
    for spec in specs:
        keys._keys[spec["name"].encode("utf-8")] = bytes.fromhex(spec["key_hex"])
    keys.add_master_keys_from_list([spec["name"].encode("utf-8") for spec in specs])
    return keys


def run(case, op):
    policy = case.get("commitment_policy", "require-require")
    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy={
            "require-require": CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
            "forbid-allow": CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT,
        }[policy],
        max_encrypted_data_keys=16,
    )
    with open(case["input"], "rb") as source:
        data = source.read()
    context = {k: v for k, v in case.get("context", [])}
    keys = provider(case["keys"])
    if op == "encrypt":
        result, _ = client.encrypt(source=data, key_provider=keys, encryption_context=context,
                                   algorithm=SUITES[case["suite"]], frame_length=case["frame_length"])
    else:
        result, header = client.decrypt(source=data, key_provider=keys)
        for k, v in context.items():
            if header.encryption_context.get(k) != v:
                raise ValueError("context pair missing from message")
    with open(case["output"], "wb") as sink:
        sink.write(result)


def main():
    with open(sys.argv[1]) as handle:
        manifest = json.load(handle)
    results = {}
    for case in manifest["cases"]:
        try:
            run(case, manifest["op"])
            results[case["id"]] = "ok"
        except Exception as error:  # report every failure per case; the Swift test asserts
            results[case["id"]] = "error: %s: %s" % (type(error).__name__, error)
    json.dump({"results": results}, sys.stdout)


if __name__ == "__main__":
    main()
