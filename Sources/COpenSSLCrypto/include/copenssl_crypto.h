// The system OpenSSL libcrypto, used where swift-crypto is slow or cannot write in place: AES-GCM
// sealed and opened into the caller's buffer, HKDF-SHA512 and random bytes.
//
// OpenSSL 3 looks an algorithm up by name (a locked "fetch") whenever it is handed one of the legacy
// EVP_aes_256_gcm() objects; the functions below fetch each cipher once per process and reuse
// it, which is what makes them cheap enough for 1 KiB messages.
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

/// An AES-GCM key with its key schedule, for sealing and opening several pieces under one key (the
/// header tag and the frames of a message) without redoing the schedule. `key_length` is 16, 24 or
/// 32. NULL on failure. One context must not be used by two threads at once.
EVP_CIPHER_CTX *cmk_aes_gcm_key_new(const uint8_t *key, size_t key_length);
/// Frees the context; libcrypto wipes the key schedule.
void cmk_aes_gcm_key_free(EVP_CIPHER_CTX *context);

/// AES-GCM with a 12-byte IV and a 16-byte tag: writes `length` bytes of ciphertext and the tag.
/// Returns 1 on success, 0 on failure.
int cmk_aes_gcm_seal(EVP_CIPHER_CTX *context, const uint8_t *iv, const uint8_t *aad, size_t aad_length,
                     const uint8_t *plaintext, size_t length, uint8_t *ciphertext, uint8_t *tag);

/// AES-GCM open: writes `length` bytes of plaintext and returns 1 only if the tag verifies. On
/// failure (0) the bytes written to `plaintext` are zeroed before returning.
int cmk_aes_gcm_open(EVP_CIPHER_CTX *context, const uint8_t *iv, const uint8_t *aad, size_t aad_length,
                     const uint8_t *ciphertext, size_t length, const uint8_t *tag, uint8_t *plaintext);

/// HKDF-SHA512 extract (RFC 5869): the 64-byte pseudorandom key of `ikm` under `salt`.
int cmk_hkdf_sha512_extract(const uint8_t *salt, size_t salt_length, const uint8_t *ikm, size_t ikm_length,
                            uint8_t *prk);

/// HKDF-SHA512 expand (RFC 5869): `length` (at most 255 * 64) bytes from a 64-byte `prk` and `info`.
int cmk_hkdf_sha512_expand(const uint8_t *prk, const uint8_t *info, size_t info_length, uint8_t *out, size_t length);

/// Fills `bytes` with random bytes from the kernel (getrandom), or libcrypto's DRBG if that fails.
int cmk_random_bytes(uint8_t *bytes, size_t length);

/// Overwrites `bytes` with zeros in a way the compiler cannot drop (OPENSSL_cleanse).
void cmk_cleanse(void *bytes, size_t length);
