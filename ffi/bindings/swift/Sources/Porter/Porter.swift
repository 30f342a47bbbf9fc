// Porter for Swift: an idiomatic wrapper over porter.h.
//
// * Every failure throws `PorterError`, carrying the stable numeric result code (the same
//   numbers as porter.h, the door's audit log and the shared vectors) and its description.
// * Native objects are classes that free their handle in `deinit`.
// * `HolderKey`, `Grant` and `Receipt` may be shared between threads; an `AuditBatch` must be
//   used from one thread (or actor) at a time.
//
// NOT COMPILED IN CI: no Swift toolchain exists on Porter's CI machines. CI compiles the
// CPorter module map as a Clang module and runs a C file that imports it; this file and the
// tests in Tests/PorterTests must be built with `swift build` / `swift test` on a Mac.

import CPorter
import Foundation

/// A Porter call failed.
public struct PorterError: Error, Equatable, CustomStringConvertible {
    /// The `porter_result` code: 1...999 a protocol reason, 1000...1999 the FFI boundary's.
    public let code: UInt32

    /// `"<name>: <what happened and what to do>"`.
    public var description: String { String(cString: porter_result_str(code)) }

    /// What a door may tell the phone about this refusal.
    public var coarse: Coarse { Coarse(rawValue: porter_result_coarse(code)) ?? .notARefusal }

    public static let nullParameter = PorterError(code: 1001)
    public static let invalidParameter = PorterError(code: 1002)
    public static let signerFailed = PorterError(code: 1004)
    public static let holderMismatch = PorterError(code: 1006)
    public static let proofBadSignature = PorterError(code: 401)
    public static let replayDuplicate = PorterError(code: 501)
}

/// The coarse class of a refusal (`porter_coarse`).
public enum Coarse: UInt32 {
    case notARefusal = 0, malformed, denied, expired, spent
}

/// A grant's role.
public enum Role: UInt32 {
    case delivery = 0, service = 1
}

public enum Porter {
    /// "porter-ffi <version>" of the linked library.
    public static var version: String { String(cString: porter_version()) }

    public static let maxPresentationLength = 4160
    public static let maxProofMessageLength = 3776
    public static let maxChallengeLength = 32
    public static let maxDoorMemoryLength = 10496
    public static let maxAuditRecordLength = 128
    public static let maxGrantDoors = 4
    public static let maxCarrierIdLength = 128
    public static let maxRegistrationMessageLength = 190

    /// The exact bytes the holder key signs (plain Ed25519) to answer `challenge`; pass the
    /// signature to `assemble` with the same inputs. For keystores that sign asynchronously.
    public static func proofMessage(challenge: Data, grant: Data, certificate: Data, doorState: Data?) throws -> Data {
        try challenge.withBytes { c, cl in
            try grant.withBytes { g, gl in
                try certificate.withBytes { k, kl in
                    try doorState.withOptionalBytes { s, sl in
                        try output(capacity: maxProofMessageLength) { o, ol, w in
                            porter_proof_message(c, cl, g, gl, k, kl, s, sl, o, ol, w)
                        }
                    }
                }
            }
        }
    }

    /// The presentation from a 64-byte `signature` made elsewhere over `proofMessage`; the
    /// signature is verified under the grant's holder key first.
    public static func assemble(challenge: Data, grant: Data, certificate: Data, doorState: Data?, signature: Data) throws -> Data {
        try challenge.withBytes { c, cl in
            try grant.withBytes { g, gl in
                try certificate.withBytes { k, kl in
                    try doorState.withOptionalBytes { s, sl in
                        try signature.withBytes { sig, sigl in
                            try output(capacity: maxPresentationLength) { o, ol, w in
                                porter_presentation_assemble(c, cl, g, gl, k, kl, s, sl, sig, sigl, o, ol, w)
                            }
                        }
                    }
                }
            }
        }
    }

    /// The presentation signed by `sign` (the platform keystore), called once, synchronously,
    /// on this thread. Return nil from `sign` to refuse (throws `.signerFailed`).
    public static func present(
        challenge: Data, grant: Data, certificate: Data, doorState: Data?,
        sign: @escaping (Data) -> Data?
    ) throws -> Data {
        let box = Unmanaged.passRetained(SignerBox(sign))
        defer { box.release() }
        let callback = signerCallback
        return try challenge.withBytes { c, cl in
            try grant.withBytes { g, gl in
                try certificate.withBytes { k, kl in
                    try doorState.withOptionalBytes { s, sl in
                        try output(capacity: maxPresentationLength) { o, ol, w in
                            porter_presentation_build_with_signer(callback, box.toOpaque(), c, cl, g, gl, k, kl, s, sl, o, ol, w)
                        }
                    }
                }
            }
        }
    }

    /// The bytes a keystore signs (plain Ed25519) to register its holder key with the server
    /// (`POST /v1/drivers`), for keystores that sign asynchronously: `challenge` is the 32 bytes
    /// of `POST /v1/drivers/challenges`, `carrierId` the carrier's id.
    public static func registrationMessage(challenge: Data, carrierId: String) throws -> Data {
        try challenge.withBytes { c, cl in
            try Data(carrierId.utf8).withBytes { i, il in
                try output(capacity: maxRegistrationMessageLength) { o, ol, w in
                    porter_registration_message(c, cl, i, il, o, ol, w)
                }
            }
        }
    }

    /// The registration proof signed by `sign` (the platform keystore) for the key
    /// `holderPublic`, called once, synchronously; verified under `holderPublic` first (code
    /// 401, proof_bad_signature: the keystore holds another key).
    public static func signRegistration(
        holderPublic: Data, challenge: Data, carrierId: String, sign: @escaping (Data) -> Data?
    ) throws -> Data {
        let box = Unmanaged.passRetained(SignerBox(sign))
        defer { box.release() }
        return try holderPublic.withBytes { h, hl in
            try challenge.withBytes { c, cl in
                try Data(carrierId.utf8).withBytes { i, il in
                    try output(capacity: 64) { o, ol, w in
                        porter_registration_sign_with_signer(signerCallback, box.toOpaque(), h, hl, c, cl, i, il, o, ol, w)
                    }
                }
            }
        }
    }

    /// The door challenge for `site`/`door` with a never-repeating 16-byte `nonce`.
    public static func challenge(site: UInt32, door: UInt16, nonce: Data, issuedAt: UInt32) throws -> Data {
        try nonce.withBytes { n, nl in
            try output(capacity: maxChallengeLength) { o, ol, w in
                porter_challenge_encode(site, door, n, nl, issuedAt, o, ol, w)
            }
        }
    }
}

/// Calls the `SignerBox` passed as userdata; nil or a wrong length refuses.
private let signerCallback: porter_sign_callback = { userdata, message, length, signature in
    guard let userdata = userdata, let message = message, let signature = signature else { return 1 }
    let signer = Unmanaged<SignerBox>.fromOpaque(userdata).takeUnretainedValue()
    guard let sig = signer.sign(Data(bytes: message, count: length)), sig.count == 64 else { return 1 }
    sig.copyBytes(to: signature, count: 64)
    return 0
}

private final class SignerBox {
    let sign: (Data) -> Data?
    init(_ sign: @escaping (Data) -> Data?) { self.sign = sign }
}

/// An Ed25519 holder key in memory, made from 32 bytes of secret entropy.
public final class HolderKey {
    let handle: OpaquePointer  // internal: Session.swift passes it to porter_session_new

    /// The key for `seed` (32 bytes from `SecRandomCopyBytes`; store it in the Keychain to
    /// keep the key).
    public init(seed: Data) throws {
        var out: OpaquePointer?
        try check(seed.withBytes { s, sl in porter_holder_key_new(s, sl, &out) })
        guard let handle = out else { throw PorterError.nullParameter }
        self.handle = handle
    }

    deinit { porter_holder_key_free(handle) }

    /// The 32-byte public key the server binds grants to.
    public func publicKey() throws -> Data {
        try output(capacity: 32) { o, ol, w in porter_holder_key_public(handle, o, ol, w) }
    }

    /// The presentation answering the door's `challenge`.
    public func present(challenge: Data, grant: Data, certificate: Data, doorState: Data?) throws -> Data {
        try challenge.withBytes { c, cl in
            try grant.withBytes { g, gl in
                try certificate.withBytes { k, kl in
                    try doorState.withOptionalBytes { s, sl in
                        try output(capacity: Porter.maxPresentationLength) { o, ol, w in
                            porter_presentation_build(handle, c, cl, g, gl, k, kl, s, sl, o, ol, w)
                        }
                    }
                }
            }
        }
    }

    /// The proof that registers this key with the server (`POST /v1/drivers`, `signature`):
    /// Ed25519 over "porter/v1/holder-registration\0" || `challenge` (32 bytes) || `carrierId`.
    public func signRegistration(challenge: Data, carrierId: String) throws -> Data {
        try challenge.withBytes { c, cl in
            try Data(carrierId.utf8).withBytes { i, il in
                try output(capacity: 64) { o, ol, w in
                    porter_holder_key_sign_registration(handle, c, cl, i, il, o, ol, w)
                }
            }
        }
    }
}

/// What a grant allows, to show the driver. Decoded, not verified: only the door verifies.
public struct Grant: Equatable {
    public let site: UInt32
    public let serial: UInt64
    public let uses: UInt8
    public let role: Role
    public let doors: [UInt16]
    public let notBefore: Date
    public let notAfter: Date
    public let holder: Data

    public init(decoding bytes: Data) throws {
        var out: OpaquePointer?
        try check(bytes.withBytes { b, bl in porter_grant_decode(b, bl, &out) })
        guard let g = out else { throw PorterError.nullParameter }
        defer { porter_grant_free(g) }
        var doors = [UInt16](repeating: 0, count: Porter.maxGrantDoors)
        var count = 0
        try check(doors.withUnsafeMutableBufferPointer { porter_grant_doors(g, $0.baseAddress, $0.count, &count) })
        site = porter_grant_site(g)
        serial = porter_grant_serial(g)
        uses = porter_grant_uses(g)
        role = Role(rawValue: porter_grant_role(g)) ?? .delivery
        self.doors = Array(doors.prefix(count))
        notBefore = Date(timeIntervalSince1970: TimeInterval(porter_grant_not_before(g)))
        notAfter = Date(timeIntervalSince1970: TimeInterval(porter_grant_not_after(g)))
        holder = try output(capacity: 32) { o, ol, w in porter_grant_holder(g, o, ol, w) }
    }
}

/// What a door's audit record says happened (`porter_event`).
public enum Event: UInt32 {
    case invalid = 0, admitted, rejected, doorStateApplied, alarm, boot, enrolled, other
}

/// A receipt whose device signature verified.
public struct Receipt: Equatable {
    public let site: UInt32
    public let door: UInt16
    public let sequence: UInt64
    public let at: Date
    public let event: Event
    public let grantSerial: UInt64
    public let useIndex: UInt8

    /// Decodes `bytes` and verifies them under the door's 32-byte `deviceKey`.
    public init(checking bytes: Data, deviceKey: Data) throws {
        var out: OpaquePointer?
        try check(bytes.withBytes { b, bl in deviceKey.withBytes { k, kl in porter_receipt_check(b, bl, k, kl, &out) } })
        guard let r = out else { throw PorterError.nullParameter }
        defer { porter_receipt_free(r) }
        site = porter_receipt_site(r)
        door = porter_receipt_door(r)
        sequence = porter_receipt_sequence(r)
        at = Date(timeIntervalSince1970: TimeInterval(porter_receipt_at(r)))
        event = Event(rawValue: porter_receipt_event(r)) ?? .other
        grantSerial = porter_receipt_grant_serial(r)
        useIndex = porter_receipt_use_index(r)
    }
}

/// A door's audit records, checked to chain, kept byte for byte for the upload.
public final class AuditBatch {
    private let handle: OpaquePointer

    public init() throws {
        var out: OpaquePointer?
        try check(porter_audit_batch_new(&out))
        guard let handle = out else { throw PorterError.nullParameter }
        self.handle = handle
    }

    deinit { porter_audit_batch_free(handle) }

    /// Appends one record; throws (AUDIT_GAP, AUDIT_CHAIN_BROKEN, DECODE_*) and stays unchanged.
    public func push(_ record: Data) throws {
        try check(record.withBytes { r, rl in porter_audit_batch_push(handle, r, rl) })
    }

    public var count: Int { porter_audit_batch_len(handle) }

    /// Checks the door's signed log `head` (under its 32-byte `deviceKey`) names exactly this
    /// batch's end; throws AUDIT_BAD_SIGNATURE, AUDIT_GAP or AUDIT_CHAIN_BROKEN otherwise.
    public func checkHead(_ head: Data, deviceKey: Data) throws {
        try check(head.withBytes { h, hl in
            deviceKey.withBytes { k, kl in porter_audit_batch_check_head(handle, h, hl, k, kl) }
        })
    }

    /// Record `index`, exactly as pushed.
    public func record(at index: Int) throws -> Data {
        try output(capacity: Porter.maxAuditRecordLength) { o, ol, w in porter_audit_batch_get(handle, index, o, ol, w) }
    }
}

// MARK: - Plumbing

// porter_result is `typedef uint32_t` in C (the enumerators live in a separate enum tag), so
// Swift sees results as UInt32; the wrapper never relies on the enumerators' import.
func check(_ code: UInt32) throws {
    if code != 0 { throw PorterError(code: code) }
}

/// Calls `call` with a buffer of `capacity` bytes and returns what it wrote.
func output(
    capacity: Int,
    _ call: (UnsafeMutablePointer<UInt8>, Int, UnsafeMutablePointer<Int>) -> UInt32
) throws -> Data {
    var out = [UInt8](repeating: 0, count: capacity)
    var written = 0
    let code = out.withUnsafeMutableBufferPointer { buffer in call(buffer.baseAddress!, capacity, &written) }
    try check(code)
    return Data(out.prefix(written))
}

extension Data {
    /// A non-NULL pointer to the bytes (also for empty data) and their count.
    func withBytes<R>(_ body: (UnsafePointer<UInt8>, Int) throws -> R) rethrows -> R {
        if isEmpty {
            var empty: UInt8 = 0
            return try body(&empty, 0)
        }
        return try withUnsafeBytes { raw in
            try body(raw.bindMemory(to: UInt8.self).baseAddress!, raw.count)
        }
    }
}

extension Optional where Wrapped == Data {
    /// NULL and 0 for nil: porter.h's "absent" for optional inputs.
    func withOptionalBytes<R>(_ body: (UnsafePointer<UInt8>?, Int) throws -> R) rethrows -> R {
        switch self {
        case .none: return try body(nil, 0)
        case .some(let data): return try data.withBytes { try body($0, $1) }
        }
    }
}
