import KexbootCore

/// Protocol version 1: one JSON object per line over a stream socket. docs/protocol.md is
/// the reference; this type holds its constants and builds its messages.
public enum ProtocolV1 {
    public static let version = 1
    /// The longest line either side may send, without its newline.
    public static let maxLine = 1 << 20

    /// Every request the server understands, as named on the wire.
    public static let requests: [String] = [
        "list", "status", "subscribe", "unsubscribe", "boot", "cancel-autoboot", "rescan", "add-url",
        "attach-image", "detach-image", "config-get", "config-set", "log", "authenticate",
    ]

    /// Every event a subscribed client may receive.
    public static let events: [String] = [
        "device-added", "device-removed", "option-added", "option-removed", "status", "autoboot",
        "boot-started", "boot-failed",
    ]

    public enum ErrorCode: String, Sendable {
        /// The line is not a JSON object.
        case malformed
        /// The line is longer than `maxLine`; the server closes the connection after it.
        case tooLarge = "too-large"
        case unknownRequest = "unknown-request"
        case invalidParams = "invalid-params"
        /// The client must authenticate (or be root) for this request.
        case unauthorized
        case notFound = "not-found"
        /// Another boot is already under way.
        case busy
        /// The request was valid but could not be carried out (the message says why).
        case failed
        case unsupported
        /// The daemon refused the connection (too many open, in all or from this peer);
        /// sent instead of `hello`, after which the connection is closed.
        case tooManyConnections = "too-many-connections"
    }

    public static func hello(server version: String, capabilities: [String], access: String, authRequired: Bool) -> JSONValue {
        .object([
            ("type", .string("hello")),
            ("protocol", .int(Self.version)),
            ("server", .string("kexboot")),
            ("version", .string(version)),
            ("capabilities", .array(capabilities.map(JSONValue.string))),
            ("access", .string(access)),
            ("auth_required", .bool(authRequired)),
        ])
    }

    public static func result(id: JSONValue, _ result: JSONValue) -> JSONValue {
        .object([("type", .string("response")), ("id", id), ("ok", .bool(true)), ("result", result)])
    }

    public static func error(id: JSONValue, _ code: ErrorCode, _ message: String) -> JSONValue {
        .object([
            ("type", .string("response")), ("id", id), ("ok", .bool(false)),
            ("error", .object([("code", .string(code.rawValue)), ("message", .string(message))])),
        ])
    }

    public static func event(_ name: String, _ data: JSONValue) -> JSONValue {
        .object([("type", .string("event")), ("event", .string(name)), ("data", data)])
    }

    /// A request as a client sends it.
    public static func request(id: Int, _ name: String, _ params: [(String, JSONValue)] = []) -> JSONValue {
        .object([("id", .int(id)), ("request", .string(name)), ("params", .object(params))])
    }
}

/// A request read from a line: `{"id": …, "request": "name", "params": {…}}`.
public struct Request: Sendable {
    public var id: JSONValue
    public var name: String
    public var params: JSONValue

    /// The error is the response to send (with the request's id when it could be read).
    public static func decode(_ line: [UInt8]) -> Result<Request, RequestError> {
        let value: JSONValue
        do {
            value = try JSONValue.parse(line)
        } catch {
            return .failure(RequestError(id: .null, code: .malformed, message: "not JSON: \(error)"))
        }
        guard case .object = value else {
            return .failure(RequestError(id: .null, code: .malformed, message: "a request is a JSON object"))
        }
        let id = value["id"] ?? .null
        switch id {
        case .int, .uint, .string: break
        case .null: return .failure(RequestError(id: .null, code: .malformed, message: "the request has no \"id\""))
        default: return .failure(RequestError(id: .null, code: .malformed, message: "\"id\" must be a number or a string"))
        }
        guard let name = value["request"]?.stringValue else {
            return .failure(RequestError(id: id, code: .malformed, message: "the request has no \"request\" name"))
        }
        let params = value["params"] ?? .object([])
        guard case .object = params else {
            return .failure(RequestError(id: id, code: .invalidParams, message: "\"params\" must be an object"))
        }
        return .success(Request(id: id, name: name, params: params))
    }

    public func string(_ key: String) -> String? { params[key]?.stringValue }
}

public struct RequestError: Error, Sendable {
    public var id: JSONValue
    public var code: ProtocolV1.ErrorCode
    public var message: String

    public init(id: JSONValue, code: ProtocolV1.ErrorCode, message: String) {
        self.id = id
        self.code = code
        self.message = message
    }

    public var response: JSONValue { ProtocolV1.error(id: id, code, message) }
}
