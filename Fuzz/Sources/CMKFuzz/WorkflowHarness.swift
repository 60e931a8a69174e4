import CMKWorkflow
import Foundation

/// Loads arbitrary bytes as an Amazon States Language definition (`*.asl.json`).
///
/// Properties: a refusal is `invalidDefinition`, names the file, and reads as prose; an accepted
/// definition starts at a state it has, every transition names a state it has, every state is
/// reachable from `StartAt`, and every Task names a registered handler.
enum WorkflowHarness {
    private static let file = "fuzz.asl.json"
    private static let handlerNames: Set<String> = [
        "await-approval", "notify-tenant", "record-rotation", "tenant-activate", "tenant-assign-context",
        "tenant-await-customer", "tenant-hand-over", "tenant-mark-failed", "tenant-probe-keys",
        "tenant-record-generation", "tenant-register", "tenant-verify-policy",
    ]
    private static let loader = DefinitionLoader(handlerNames: handlerNames)

    static func run(_ bytes: [UInt8]) {
        let definition: StateMachineDefinition
        do {
            definition = try loader.load(data: Data(bytes), name: "fuzz", file: file)
        } catch let error as WorkflowError {
            require(error.code == .invalidDefinition, "definition refused with code \(error.code)")
            require(error.message.contains(file), "definition error does not name the file: \(error.message)")
            requireHumanMessage(error.message, "definition")
            return
        } catch {
            require(false, "definition loading threw a non-workflow error: \(type(of: error))")
            return
        }
        require(definition.states[definition.startAt] != nil, "StartAt names no state")
        var reached: Set<String> = [definition.startAt]
        var pending = [definition.startAt]
        while let name = pending.popLast() {
            guard let state = definition.states[name] else {
                require(false, "a transition names no state")
                return
            }
            require(state.name == name, "state \"\(name)\" carries the name \"\(state.name)\"")
            checkNumbers(of: state)
            for target in targets(of: state) where reached.insert(target).inserted {
                pending.append(target)
            }
        }
        require(reached.count == definition.states.count, "a state is unreachable from StartAt")
    }

    /// The engine turns these numbers into dates and sleeps: each must be finite, and the first
    /// retries' delays must stay finite too.
    private static func checkNumbers(of state: StateDefinition) {
        switch state.kind {
        case .task(let spec):
            require(handlerNames.contains(spec.handler), "a Task names an unregistered handler")
            for seconds in [spec.timeoutSeconds, spec.heartbeatSeconds].compactMap({ $0 }) {
                require(seconds.isFinite && seconds >= 0, "a Task timeout is \(seconds)")
            }
            for rule in spec.retry {
                require(rule.maxAttempts >= 0, "MaxAttempts is \(rule.maxAttempts)")
                for retry in 1...max(1, min(rule.maxAttempts, 10)) {
                    let delay = rule.delay(beforeRetry: retry, randomUnit: 0.5)
                    require(delay.isFinite && delay >= 0, "retry \(retry) waits \(delay) seconds")
                }
            }
        case .wait(.seconds(let seconds)):
            require(seconds.isFinite && seconds >= 0, "a Wait of \(seconds) seconds")
        default:
            break
        }
    }

    private static func targets(of state: StateDefinition) -> [String] {
        var found = state.next.map { [$0] } ?? []
        switch state.kind {
        case .choice(let branches, let defaultNext):
            found += branches.map(\.next) + (defaultNext.map { [$0] } ?? [])
        case .task(let spec):
            found += spec.catchers.map(\.next)
        default:
            break
        }
        return found
    }
}
