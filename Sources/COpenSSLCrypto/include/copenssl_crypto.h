// The system OpenSSL libcrypto's EVP interface, used for the AES-GCM of message bodies: it seals and
// opens in place into the caller's buffer, which swift-crypto's value-returning API cannot.
#include <openssl/evp.h>

static const int COPENSSL_GCM_GET_TAG = EVP_CTRL_GCM_GET_TAG;
static const int COPENSSL_GCM_SET_TAG = EVP_CTRL_GCM_SET_TAG;
