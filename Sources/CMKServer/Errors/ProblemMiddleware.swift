import Hummingbird
import Logging

/// Turns every error below it into its problem document (`Problem(for:)`), and logs the ones that
/// are the sidecar's own fault; a client's mistake is logged at debug only.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let problem = Problem(for: error)
            if problem.status.code >= 500 {
                context.logger.error("request failed", metadata: ["code": "\(problem.code)", "error.type": "\(String(reflecting: type(of: error)))",
                                                                  "error": "\(error)"])
            } else {
                context.logger.debug("request refused", metadata: ["code": "\(problem.code)"])
            }
            return try problem.response(from: request, context: context)
        }
    }
}
