// XCTest for the Swift wrapper: the driver flow from ffi/tests/data/driver.txt, byte-identical
// to Rust's. Run with `swift test -Xlinker -L<dir of libporter_ffi.a>` on a Mac.
// NOT RUN IN CI (no Swift toolchain there); ffi/ci.sh runs the C import test instead.

import Foundation
import XCTest
@testable import Porter

final class PorterTests: XCTestCase {
    private func driverData() throws -> [String: [String]] {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("../../tests/data/driver.txt").standardized
        var entries: [String: [String]] = [:]
        for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            entries[parts[0], default: []].append(parts[1])
        }
        return entries
    }

    private func hex(_ s: String) -> Data {
        var data = Data()
        var index = s.startIndex
        while index < s.endIndex {
            let next = s.index(index, offsetBy: 2)
            data.append(UInt8(s[index..<next], radix: 16)!)
            index = next
        }
        return data
    }

    func testDriverFlowMatchesRust() throws {
        let d = try driverData()
        let bytes = { (name: String) in self.hex(d[name]![0]) }
        let key = try HolderKey(seed: bytes("holder_seed"))
        XCTAssertEqual(try key.publicKey(), bytes("holder_public"))
        let presentation = try key.present(
            challenge: bytes("challenge"), grant: bytes("grant"),
            certificate: bytes("certificate"), doorState: bytes("door_state"))
        XCTAssertEqual(presentation, bytes("presentation"))

        let grant = try Grant(decoding: bytes("grant"))
        XCTAssertEqual(grant.serial, UInt64(d["grant_serial"]![0]))
        XCTAssertEqual(grant.doors, [UInt16(d["grant_door"]![0])!])
        XCTAssertEqual(grant.role, .delivery)

        let signature = bytes("proof_signature")
        let viaSigner = try Porter.present(
            challenge: bytes("challenge"), grant: bytes("grant"), certificate: bytes("certificate"),
            doorState: bytes("door_state"), sign: { _ in signature })
        XCTAssertEqual(viaSigner, bytes("presentation"))
        XCTAssertThrowsError(try Porter.present(
            challenge: bytes("challenge"), grant: bytes("grant"), certificate: bytes("certificate"),
            doorState: nil, sign: { _ in nil })) { error in
            XCTAssertEqual(error as? PorterError, PorterError.signerFailed)
        }

        // Registering the key with the server: in memory, the message for later, the keystore.
        let carrierId = d["carrier_id"]![0]
        let regSignature = bytes("registration_signature")
        XCTAssertEqual(try key.signRegistration(challenge: bytes("registration_challenge"), carrierId: carrierId), regSignature)
        XCTAssertEqual(try Porter.registrationMessage(challenge: bytes("registration_challenge"), carrierId: carrierId),
                       bytes("registration_message"))
        XCTAssertEqual(try Porter.signRegistration(
            holderPublic: bytes("holder_public"), challenge: bytes("registration_challenge"),
            carrierId: carrierId, sign: { _ in regSignature }), regSignature)
        XCTAssertThrowsError(try Porter.signRegistration(
            holderPublic: bytes("root"), challenge: bytes("registration_challenge"),
            carrierId: carrierId, sign: { _ in regSignature })) { error in
            XCTAssertEqual((error as? PorterError)?.code, 401)
        }

        let receipt = try Receipt(checking: bytes("receipt"), deviceKey: bytes("device_public"))
        XCTAssertEqual(receipt.event, .admitted)
        XCTAssertThrowsError(try Receipt(checking: bytes("receipt"), deviceKey: bytes("root")))

        let batch = try AuditBatch()
        for record in d["audit"]! { try batch.push(hex(record)) }
        XCTAssertEqual(batch.count, 3)
        XCTAssertEqual(try batch.record(at: 2), hex(d["audit"]![2]))
    }

    func testErrorsCarryCodes() {
        XCTAssertThrowsError(try HolderKey(seed: Data(count: 31))) { error in
            XCTAssertEqual((error as? PorterError)?.code, 1002)
            XCTAssertTrue("\(error)".hasPrefix("invalid_parameter"))
        }
        XCTAssertThrowsError(try Grant(decoding: Data())) { error in
            XCTAssertEqual((error as? PorterError)?.code, 101)
        }
    }

    /// spec/vectors/link.json's transcripts through `Session`: the phone's fragments byte for
    /// byte, the door's fed back at their recorded times, the outcome as recorded.
    func testLinkTranscriptsReplay() throws {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("../../../spec/vectors/link.json").standardized
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let transcripts = json["transcripts"] as! [[String: Any]]
        XCTAssertGreaterThanOrEqual(transcripts.count, 10)
        for t in transcripts {
            let name = t["name"] as! String
            var options = SessionOptions()
            options.mtu = UInt16(t["mtu"] as! Int)
            options.answerTimeoutMs = UInt32(t["answer_timeout_ms"] as! Int)
            options.maxRetries = UInt8(t["max_retries"] as! Int)
            options.logFrom = (t["log_from"] as? Int).map(UInt64.init)
            let key = try HolderKey(seed: Data(repeating: UInt8(t["holder_seed"] as! Int), count: 32))
            let session = try Session(
                grant: hex(t["grant"] as! String), certificate: hex(t["certificate"] as! String),
                doorState: nil, deviceKey: (t["device_key"] as? String).map(hex), key: key,
                options: options, nowMs: 0)
            for step in t["steps"] as! [[String: Any]] {
                let at = UInt64(step["at_ms"] as! Int)
                switch step["dir"] as! String {
                case "up":
                    XCTAssertEqual(try session.transmit(nowMs: at), hex(step["hex"] as! String), name)
                case "down":
                    if step["delivered"] as! Bool {
                        try session.receive(nowMs: at, fragment: hex(step["hex"] as! String))
                    }
                default:
                    try session.reconnected(nowMs: at)
                }
            }
            let expect = t["expect"] as! [String: Any]
            XCTAssertEqual(session.status, .done, name)
            XCTAssertEqual(session.outcome?.rawValue, UInt32(expect["code"] as! Int), name)
            XCTAssertEqual(try session.logRecords().count, expect["log_records"] as! Int, name)
            XCTAssertEqual(try session.receipt() != nil, expect["receipt"] as! Bool, name)
        }
    }
}
