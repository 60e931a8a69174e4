import Hummingbird

/// Requires `Authorization: Bearer <token>` with an accepted token on every route below it.
struct BearerAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let tokens: BearerTokens

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw ServerError(.unauthorized, "an Authorization: Bearer token is required")
        }
        let scheme = header.prefix(7)
        guard scheme.lowercased() == "bearer ", tokens.accepts(header.dropFirst(7)) else {
            throw ServerError(.unauthorized, "the bearer token is not accepted")
        }
        return try await next(request, context)
    }
}
