// The phone's side of a visit to a door (porter_session_*, spec/link.md), sans-IO: the app owns
// the transport (Core Bluetooth, Core NFC, a socket) and the clock; the session turns fragments
// from the door into fragments to send and ends in an `Outcome`.
//
// NOT COMPILED IN CI (no Swift toolchain there): CI parses it with tree-sitter-swift only.
// Build and test it with `swift build` / `swift test` on a Mac.

import CPorter
import Foundation

/// How a visit ended: the stable numbers of spec/link.md, "Outcomes".
public enum Outcome: UInt32 {
    case admitted = 0
    case deniedMalformed = 11, denied = 12, deniedExpired = 13, deniedSpent = 14
    case verdictUnknown = 20, notEnrolled = 21, doorFault = 22, doorRefused = 23, wrongDoor = 24
    case badReceipt = 30, badAnswer = 31, timedOut = 32, badConfig = 33, signerFailed = 34
    /// An outcome this build cannot name (a newer library).
    case other = 999

    /// `"<name>: <what it means for the driver>"`.
    public var description: String { String(cString: porter_outcome_str(rawValue)) }

    static let pending: UInt32 = 65534

    init?(code: UInt32) {
        if code == Outcome.pending { return nil }
        self = Outcome(rawValue: code) ?? .other
    }
}

/// Where a session is.
public enum SessionStatus: UInt32 {
    case running = 0, needSignature = 1, done = 2
}

/// How the session talks to the door; the defaults are the spec's (BLE MTU 244, 3 s, 4 retries).
public struct SessionOptions {
    public var mtu: UInt16 = 244
    public var answerTimeoutMs: UInt32 = 3000
    public var maxRetries: UInt8 = 4
    /// Carry the door's log back from this sequence (what the server holds); nil: do not.
    public var logFrom: UInt64? = nil
    public var logCapacity: UInt32 = 4096
    /// The (site, door) the phone means to open: another door ends with `.wrongDoor`.
    public var expectedDoor: (site: UInt32, door: UInt16)? = nil

    public init() {}

    func native() -> porter_session_options {
        var o = porter_session_options()
        _ = porter_session_options_default(&o)
        o.mtu = mtu
        o.answer_timeout_ms = answerTimeoutMs
        o.max_retries = maxRetries
        o.carry_log = logFrom == nil ? 0 : 1
        o.log_from = logFrom ?? 0
        o.log_capacity = logCapacity
        if let expected = expectedDoor {
            o.check_door = 1
            o.expected_site = expected.site
            o.expected_door = expected.door
        }
        return o
    }
}

/// One visit to a door. Use it from one thread (or actor): `transmit` until it returns nil,
/// `receive` what arrives, `tick` at `deadline`, `reconnected` after a new link; with an
/// external signer, answer `proofMessage()` with `provideSignature` when `status` is
/// `.needSignature`.
public final class Session {
    private let handle: OpaquePointer
    private static let maxMtu = 255
    private static let noDeadline = UInt64.max  // PORTER_SESSION_NO_DEADLINE

    /// Starts a visit at `nowMs` with `grant` and `certificate` (exact bytes from the server), an
    /// optional newer `doorState` to carry and the door's `deviceKey` (nil: asked of the door).
    /// `key` signs; nil means an external signer (the Secure Enclave, a keystore).
    public init(grant: Data, certificate: Data, doorState: Data?, deviceKey: Data?, key: HolderKey?,
                options: SessionOptions = SessionOptions(), nowMs: UInt64) throws {
        var out: OpaquePointer?
        var native = options.native()
        try check(grant.withBytes { g, gl in
            certificate.withBytes { c, cl in
                doorState.withOptionalBytes { s, sl in
                    deviceKey.withOptionalBytes { d, dl in
                        porter_session_new(&native, g, gl, c, cl, s, sl, d, dl, key?.handle, nowMs, &out)
                    }
                }
            }
        })
        guard let handle = out else { throw PorterError.nullParameter }
        self.handle = handle
    }

    deinit { porter_session_free(handle) }

    /// The next fragment to send now, or nil (wait for an answer or the deadline).
    public func transmit(nowMs: UInt64) throws -> Data? {
        let fragment = try output(capacity: Session.maxMtu) { o, ol, w in
            porter_session_transmit(handle, nowMs, o, ol, w)
        }
        return fragment.isEmpty ? nil : fragment
    }

    /// `transmit` for a stream link (a socket): the fragment after its length byte.
    public func transmitStream(nowMs: UInt64) throws -> Data? {
        let framed = try output(capacity: Session.maxMtu + 1) { o, ol, w in
            porter_session_transmit_stream(handle, nowMs, o, ol, w)
        }
        return framed.isEmpty ? nil : framed
    }

    /// One fragment from the door (a characteristic notification, an NFC response).
    public func receive(nowMs: UInt64, fragment: Data) throws {
        try check(fragment.withBytes { f, fl in porter_session_receive(handle, nowMs, f, fl) })
    }

    /// Bytes read from a stream link, any amount, split anywhere.
    public func receiveStream(nowMs: UInt64, bytes: Data) throws {
        try check(bytes.withBytes { b, bl in porter_session_receive_stream(handle, nowMs, b, bl) })
    }

    /// Runs the timers: call at `deadline`.
    public func tick(nowMs: UInt64) throws { try check(porter_session_tick(handle, nowMs)) }

    /// When to call `tick` next, or nil when no timer runs.
    public var deadline: UInt64? {
        let d = porter_session_deadline(handle)
        return d == Session.noDeadline ? nil : d
    }

    /// A new link to the same door: the current request goes again under a new id.
    public func reconnected(nowMs: UInt64) throws { try check(porter_session_reconnected(handle, nowMs)) }

    public var status: SessionStatus { SessionStatus(rawValue: porter_session_status(handle)) ?? .done }

    /// How the visit ended, or nil while it runs.
    public var outcome: Outcome? { Outcome(code: porter_session_outcome(handle)) }

    /// The door's verdict as soon as it is known (the log may still be being carried).
    public var verdict: Outcome? { Outcome(code: porter_session_verdict(handle)) }

    /// While `.needSignature`: the message the keystore signs.
    public func proofMessage() throws -> Data {
        try output(capacity: Porter.maxProofMessageLength) { o, ol, w in
            porter_session_proof_message(handle, o, ol, w)
        }
    }

    /// The keystore's 64-byte signature over `proofMessage()`, checked under the grant's
    /// holder key first (`.proofBadSignature`: the keystore holds another key).
    public func provideSignature(nowMs: UInt64, signature: Data) throws {
        try check(signature.withBytes { s, sl in porter_session_provide_signature(handle, nowMs, s, sl) })
    }

    /// The door's verified receipt once admitted (for `Receipt(checking:)` and the server).
    public func receipt() throws -> Data? {
        let r = try output(capacity: 192) { o, ol, w in porter_session_receipt(handle, o, ol, w) }
        return r.isEmpty ? nil : r
    }

    /// The device-signed log head, if carried (for `AuditBatch.checkHead`).
    public func logHead() throws -> Data? {
        let h = try output(capacity: 128) { o, ol, w in porter_session_log_head(handle, o, ol, w) }
        return h.isEmpty ? nil : h
    }

    /// The log records carried, exact bytes, in order (for `AuditBatch.push` and the server).
    public func logRecords() throws -> [Data] {
        try (0..<porter_session_log_count(handle)).map { i in
            try output(capacity: Porter.maxAuditRecordLength) { o, ol, w in
                porter_session_log_record(handle, i, o, ol, w)
            }
        }
    }

    /// Whether the log was carried up to the signed head.
    public var logComplete: Bool { porter_session_log_complete(handle) != 0 }
}
