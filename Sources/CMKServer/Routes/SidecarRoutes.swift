import CMKEnvelope
import CMKTenant
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The sidecar API under `/v1`: TenantCrypto over HTTP, one small function per route.
///
/// JSON bodies are read whole, up to `maxBodyBytes`; `application/octet-stream` bodies are streamed
/// through the tenant's encryptor or decryptor frame by frame in both directions, so a request of
/// any size costs a few frames of memory.
struct SidecarRoutes<Repository: TenantRepository>: Sendable {
    static var encryptionContextHeader: HTTPField.Name { HTTPField.Name("Cmk-Encryption-Context")! }
    static var generationHeader: HTTPField.Name { HTTPField.Name("Cmk-Key-Generation")! }
    static var octetStream: String { "application/octet-stream" }

    let crypto: TenantCrypto<Repository>
    let maxBodyBytes: Int

    func add<Context: RequestContext>(to group: RouterGroup<Context>) {
        group.get("tenants/:tenant") { _, context in try await describe(tenant: try context.parameters.require("tenant")) }
        group.post("tenants/:tenant/encrypt") { request, context in try await encrypt(request, tenant: try context.parameters.require("tenant")) }
        group.post("tenants/:tenant/decrypt") { request, context in try await decrypt(request, tenant: try context.parameters.require("tenant")) }
        group.post("tenants/:tenant/batch/encrypt") { request, context in
            try await batchEncrypt(request, tenant: try context.parameters.require("tenant"))
        }
        group.post("tenants/:tenant/batch/decrypt") { request, context in
            try await batchDecrypt(request, tenant: try context.parameters.require("tenant"))
        }
        group.post("tenants/:tenant/rewrap") { request, context in try await rewrap(request, tenant: try context.parameters.require("tenant")) }
    }

    // MARK: Routes

    func describe(tenant: String) async throws -> Response {
        let repository = crypto.repository
        let (found, generations) = try await repository.read { transaction in
            (try await repository.tenant(tenant, in: transaction), try await repository.generations(of: tenant, in: transaction))
        }
        guard let record = found else {
            throw TenantError(.tenantUnknown, "tenant \(tenant.escapingControlCharacters) is not registered")
        }
        let current = generations.first { $0.number == record.generation }
        var regions: [String] = []
        for key in current?.keys ?? [] where !regions.contains(key.region) { regions.append(key.region) }
        return try json(TenantDescription(tenant: record.id, state: record.state.rawValue, generation: record.generation,
                                          contextIdentifier: record.contextIdentifier, regions: regions))
    }

    func encrypt(_ request: Request, tenant: String) async throws -> Response {
        if isOctetStream(request) { return try await encryptStream(request, tenant: tenant) }
        let body = try await decode(EncryptRequest.self, from: request)
        let encrypted = try await crypto.encrypt(tenant: tenant, plaintext: try base64(body.plaintext, field: "plaintext"),
                                                 context: try context(body.context))
        return try json(EncryptResponse(ciphertext: Data(encrypted.ciphertext).base64EncodedString(), generation: encrypted.generation))
    }

    func decrypt(_ request: Request, tenant: String) async throws -> Response {
        if isOctetStream(request) { return try await decryptStream(request, tenant: tenant) }
        let body = try await decode(DecryptRequest.self, from: request)
        let decrypted = try await crypto.decrypt(tenant: tenant, ciphertext: try base64(body.ciphertext, field: "ciphertext"),
                                                 context: try context(body.context))
        return try json(DecryptResponse(plaintext: Data(decrypted.plaintext).base64EncodedString(), generation: decrypted.generation))
    }

    func batchEncrypt(_ request: Request, tenant: String) async throws -> Response {
        let body = try await decode(BatchRequest<EncryptRequest>.self, from: request)
        var results: [String: EncryptResponse] = [:]
        var failures: [String: BatchFailure] = [:]
        for (id, item) in body.items.sorted(by: { $0.key < $1.key }) {
            do {
                let encrypted = try await crypto.encrypt(tenant: tenant, plaintext: try base64(item.plaintext, field: "plaintext"),
                                                         context: try context(item.context))
                results[id] = EncryptResponse(ciphertext: Data(encrypted.ciphertext).base64EncodedString(), generation: encrypted.generation)
            } catch {
                failures[id] = try Self.itemFailure(error)
            }
        }
        return try json(BatchResponse(results: results, failures: failures))
    }

    func batchDecrypt(_ request: Request, tenant: String) async throws -> Response {
        let body = try await decode(BatchRequest<DecryptRequest>.self, from: request)
        var results: [String: DecryptResponse] = [:]
        var failures: [String: BatchFailure] = [:]
        for (id, item) in body.items.sorted(by: { $0.key < $1.key }) {
            do {
                let decrypted = try await crypto.decrypt(tenant: tenant, ciphertext: try base64(item.ciphertext, field: "ciphertext"),
                                                         context: try context(item.context))
                results[id] = DecryptResponse(plaintext: Data(decrypted.plaintext).base64EncodedString(), generation: decrypted.generation)
            } catch {
                failures[id] = try Self.itemFailure(error)
            }
        }
        return try json(BatchResponse(results: results, failures: failures))
    }

    /// Re-encrypts a message under the tenant's current generation with the context it carried.
    /// Decrypt then encrypt: the plaintext stays in this process's memory for the moment between.
    func rewrap(_ request: Request, tenant: String) async throws -> Response {
        let body = try await decode(RewrapRequest.self, from: request)
        let decrypted = try await crypto.decrypt(tenant: tenant, ciphertext: try base64(body.ciphertext, field: "ciphertext"))
        // The tenant's pair is bound again by encrypt, and the SDK's own pairs belong to the message.
        let callerPairs = decrypted.encryptionContext.removingKeys(withPrefix: EncryptionContext.reservedPrefix).pairs
            .filter { $0.key != crypto.operatorConfiguration.contextKey }
        let encrypted = try await crypto.encrypt(tenant: tenant, plaintext: decrypted.plaintext,
                                                 context: try EncryptionContext(callerPairs.map { ($0.key, $0.value) }))
        return try json(EncryptResponse(ciphertext: Data(encrypted.ciphertext).base64EncodedString(), generation: encrypted.generation))
    }

    // MARK: Streams

    func encryptStream(_ request: Request, tenant: String) async throws -> Response {
        let context = try headerContext(request)
        let length = request.headers[.contentLength].flatMap { Int($0) }
        let encryptor = try await crypto.encryptor(tenant: tenant, context: context, plaintextLength: length)
        let body = request.body
        var headers = HTTPFields()
        headers[.contentType] = Self.octetStream
        headers[Self.generationHeader] = String(encryptor.generation)
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            var encryptor = encryptor
            var ready: [UInt8] = []
            for try await buffer in body {
                ready.removeAll(keepingCapacity: true)
                try buffer.withUnsafeReadableBytes { try encryptor.update($0, into: &ready) }
                if !ready.isEmpty { try await writer.write(ByteBuffer(bytes: ready)) }
            }
            try await writer.write(ByteBuffer(bytes: try encryptor.finish()))
            try await writer.finish(nil)
        })
    }

    /// Reads the message's header before answering, so a message that is not this tenant's (or not a
    /// message) is a 422 problem rather than a cut stream; a frame that fails later cuts the stream.
    func decryptStream(_ request: Request, tenant: String) async throws -> Response {
        let context = try headerContext(request)
        let decryptor = try await crypto.decryptor(tenant: tenant, context: context, signedPlaintextRelease: .afterEachFrame)
        let stream = DecryptStream(decryptor: decryptor, body: request.body.makeAsyncIterator())
        let first = try await stream.readHeader()
        var headers = HTTPFields()
        headers[.contentType] = Self.octetStream
        if let generation = stream.decryptor.generation { headers[Self.generationHeader] = String(generation) }
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            if !first.isEmpty { try await writer.write(ByteBuffer(bytes: first)) }
            while let ready = try await stream.next() {
                if !ready.isEmpty { try await writer.write(ByteBuffer(bytes: ready)) }
            }
            try await writer.finish(nil)
        })
    }

    // MARK: Reading requests

    func isOctetStream(_ request: Request) -> Bool {
        request.headers[.contentType]?.lowercased().hasPrefix(Self.octetStream) == true
    }

    /// The whole body, refused as `payload-too-large` past `maxBodyBytes` (by its Content-Length
    /// before anything is read, else as soon as the bytes pass the limit).
    func collect(_ request: Request) async throws -> ByteBuffer {
        let refusal = ServerError(.payloadTooLarge, "the body is larger than \(maxBodyBytes) bytes; send large data as application/octet-stream")
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maxBodyBytes { throw refusal }
        var collected = ByteBuffer()
        for try await var buffer in request.body {
            guard collected.readableBytes + buffer.readableBytes <= maxBodyBytes else { throw refusal }
            collected.writeBuffer(&buffer)
        }
        return collected
    }

    func decode<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T {
        let body = try await collect(request)
        do {
            return try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
        } catch {
            throw ServerError(.invalidRequest, "the body is not the JSON this route takes: \(Self.describe(error))")
        }
    }

    func base64(_ text: String, field: String) throws -> [UInt8] {
        guard let data = Data(base64Encoded: text) else { throw ServerError(.invalidRequest, "\(field) is not standard base64") }
        return Array(data)
    }

    func context(_ pairs: [String: String]?) throws -> EncryptionContext {
        guard let pairs else { return .empty }
        do {
            return try EncryptionContext(pairs.map { ($0.key, $0.value) })
        } catch let error as EnvelopeError {
            throw ServerError(.invalidRequest, "context: \(error.message)")
        }
    }

    func headerContext(_ request: Request) throws -> EncryptionContext {
        guard let header = request.headers[Self.encryptionContextHeader] else { return .empty }
        do {
            return try EncryptionContext(jsonObject: Array(header.utf8))
        } catch {
            throw ServerError(.invalidRequest, "the Cmk-Encryption-Context header is not a JSON object of strings")
        }
    }

    func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(data: try encoder.encode(value))))
    }

    /// A batch item's failure; a failure of the whole tenant (unknown, suspended) fails the request.
    static func itemFailure(_ error: any Error) throws -> BatchFailure {
        let problem = Problem(for: error)
        if problem.code == TenantError.Code.tenantUnknown.name || problem.code == TenantError.Code.tenantSuspended.name { throw error }
        return BatchFailure(code: problem.code, message: problem.detail)
    }

    /// A decoding error in a sentence, naming the field but never echoing a value.
    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing \(key.stringValue)"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        default: "malformed JSON"
        }
    }
}

/// A streamed decrypt: the tenant's decryptor and the rest of the request body, handed from the route
/// (which reads the header) to the response writer (which reads the frames).
///
/// `@unchecked Sendable`: no lock; the route uses it until it returns the response and the writer
/// only after that, so the two never touch it at once.
final class DecryptStream: @unchecked Sendable {
    var decryptor: TenantDecryptor
    private var body: RequestBody.AsyncIterator
    private var finished = false

    init(decryptor: TenantDecryptor, body: RequestBody.AsyncIterator) {
        self.decryptor = decryptor
        self.body = body
    }

    /// Feeds the body until the message's header is read (and its data key unwrapped); returns any
    /// plaintext already released.
    func readHeader() async throws -> [UInt8] {
        var released: [UInt8] = []
        while decryptor.encryptionContext == nil {
            guard let buffer = try await body.next() else {
                released += try decryptor.finish()
                finished = true
                return released
            }
            try await decryptor.update(buffer.readableBytesView, into: &released)
        }
        return released
    }

    /// The plaintext of the next piece of the body; nil after the message's end was checked.
    func next() async throws -> [UInt8]? {
        guard !finished else { return nil }
        guard let buffer = try await body.next() else {
            finished = true
            return try decryptor.finish()
        }
        var released: [UInt8] = []
        try await decryptor.update(buffer.readableBytesView, into: &released)
        return released
    }
}
