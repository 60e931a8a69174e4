import Foundation

// The JSON bodies of the /v1 routes; binary values are standard base64. The OpenAPI document
// (openapi.json) describes the same shapes.

struct EncryptRequest: Decodable, Sendable {
    let plaintext: String
    let context: [String: String]?
}

struct EncryptResponse: Encodable, Sendable {
    let ciphertext: String
    let generation: Int
}

struct DecryptRequest: Decodable, Sendable {
    let ciphertext: String
    let context: [String: String]?
}

struct DecryptResponse: Encodable, Sendable {
    let plaintext: String
    let generation: Int
}

struct BatchRequest<Item: Decodable & Sendable>: Decodable, Sendable {
    let items: [String: Item]
}

struct BatchResponse<Result: Encodable & Sendable>: Encodable, Sendable {
    let results: [String: Result]
    let failures: [String: BatchFailure]
}

/// One item's refusal in a batch: the same code and detail its problem document would carry.
struct BatchFailure: Encodable, Sendable {
    let code: String
    let message: String
}

struct RewrapRequest: Decodable, Sendable {
    let ciphertext: String
}

/// A tenant as the sidecar shows it: never a key, only where its keys are.
struct TenantDescription: Encodable, Sendable {
    let tenant: String
    let state: String
    let generation: Int
    let contextIdentifier: String?
    let regions: [String]
}
