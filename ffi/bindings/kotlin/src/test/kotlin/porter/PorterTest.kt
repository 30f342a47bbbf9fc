// The Kotlin binding's tests, run on the JVM by ffi/ci.sh: the shared admission vectors, the
// driver flow (byte-identical to Rust's), and errors as PorterException carrying the code.
//
// usage: java ... porter.PorterTestKt spec/vectors/admission.txt spec/vectors/audit.txt ffi/tests/data/driver.txt \
//     link_vectors.txt (spec/vectors/link.json flattened by ffi/tests/c/link_vectors.jq)
package porter

import java.io.File
import kotlin.system.exitProcess

private var passed = 0
private var failed = 0

private fun check(ok: Boolean, what: () -> String) {
    if (ok) passed++ else {
        failed++
        System.err.println("FAIL: ${what()}")
    }
}

/** Runs [block] and returns the PorterException code it threw, or 0. */
private inline fun codeOf(block: () -> Unit): Int = try {
    block(); 0
} catch (e: PorterException) {
    e.code
}

private fun unhex(s: String) = ByteArray(s.length / 2) { s.substring(2 * it, 2 * it + 2).toInt(16).toByte() }

private fun runVectors(path: String) {
    var door: DoorMemory? = null
    var case = ""
    var steps = 0
    var admitted = 0
    for (line in File(path).readLines()) {
        if (line.startsWith("#") || line.isBlank()) continue
        val f = line.split(" ") // single spaces: an empty field is two spaces in a row
        when (f[0]) {
            "case" -> case = f[1]
            "config" -> {
                val config = DoorConfig(f[1].toLong().toInt(), f[2].toInt(), unhex(f[3]), f[4].toInt(), f[5].toInt())
                door = DoorMemory(config, f[6].toLong().toInt())
            }
            "state" -> {
                val d = door!!
                val before = d.bytes
                val code = codeOf { d.applyState(unhex(f[1])) }
                check(code == f[2].toInt()) { "$case: state gave $code (${Porter.describe(code)}), want ${f[2]}" }
                if (code != 0) check(before.contentEquals(d.bytes)) { "$case: a refused state changed the memory" }
                steps++
            }
            "admit" -> {
                val d = door!!
                val before = d.bytes
                val want = f[4].toInt()
                var admission: Admission? = null
                val code = codeOf { admission = d.admit(f[1].toLong().toInt(), unhex(f[2]), unhex(f[3])) }
                check(code == want) { "$case: admit gave $code (${Porter.describe(code)}), want $want" }
                if (code == 0) {
                    admitted++
                    check(admission!!.useIndex < admission!!.uses) { "$case: admission not filled" }
                } else {
                    check(before.contentEquals(d.bytes)) { "$case: a refusal changed the memory" }
                }
                steps++
            }
            "end" -> door = null
            else -> throw IllegalArgumentException("unknown vector line ${f[0]}")
        }
    }
    check(steps >= 60 && admitted >= 10) { "too few vectors: $steps steps, $admitted admitted" }
    println("vectors: $steps steps, $admitted admitted")
}

/** Receipts and chains of spec/vectors/audit.txt (enrolments have no C API). */
private fun runAuditVectors(path: String) {
    var ran = 0
    for (line in File(path).readLines()) {
        if (line.startsWith("#") || line.startsWith("enrolment ")) continue
        val f = line.split(" ")
        val want = f.last().toInt()
        val code = when (f[0]) {
            "receipt" -> codeOf { Receipt.check(unhex(f[2]), unhex(f[1])) }
            "chain" -> codeOf {
                AuditBatch().use { batch ->
                    f[3].split(",").forEach { batch.push(unhex(it)) }
                    if (f[2] != "-") batch.checkHead(unhex(f[2]), unhex(f[1]))
                }
            }
            else -> throw IllegalArgumentException("unknown audit vector ${f[0]}")
        }
        check(code == want) { "${f[0]} vector gave $code (${Porter.describe(code)}), want $want" }
        ran++
    }
    check(ran >= 8) { "only $ran audit vectors ran" }
    println("audit vectors: $ran")
}

private fun runDriverFlow(path: String) {
    val entries = File(path).readLines().filter { !it.startsWith("#") }.map { it.substringBefore(" ") to it.substringAfter(" ") }
    fun text(name: String) = entries.first { it.first == name }.second
    fun bytes(name: String) = unhex(text(name))
    fun all(name: String) = entries.filter { it.first == name }.map { unhex(it.second) }

    val challenge = bytes("challenge")
    val grantBytes = bytes("grant")
    val cert = bytes("certificate")
    val state = bytes("door_state")
    val expected = bytes("presentation")

    HolderKey.fromSeed(bytes("holder_seed")).use { key ->
        check(key.publicKey.contentEquals(bytes("holder_public"))) { "public key differs" }
        check(key.present(challenge, grantBytes, cert, state).contentEquals(expected)) { "presentation differs from Rust's" }
    }

    val grant = Grant.decode(grantBytes)
    check(grant.site == text("site").toLong().toInt()) { "site" }
    check(grant.serial == text("grant_serial").toLong()) { "serial" }
    check(grant.uses == text("grant_uses").toInt()) { "uses" }
    check(grant.role == Role.DELIVERY) { "role" }
    check(grant.doors == listOf(text("grant_door").toInt())) { "doors ${grant.doors}" }
    check(grant.notBefore == text("grant_not_before").toLong() && grant.notAfter == text("grant_not_after").toLong()) { "window" }
    check(grant.holder.contentEquals(bytes("holder_public"))) { "holder" }

    // A keystore signer, and the asynchronous path: the same bytes.
    val message = Porter.proofMessage(challenge, grantBytes, cert, state)
    check(message.contentEquals(bytes("proof_message"))) { "proof message differs" }
    val signature = bytes("proof_signature")
    val keystore = object : Signer {
        var calls = 0
        override fun sign(message: ByteArray): ByteArray? {
            calls++
            return if (message.contentEquals(bytes("proof_message"))) signature else null
        }
    }
    check(Porter.present(keystore, challenge, grantBytes, cert, state).contentEquals(expected)) { "signer path differs" }
    check(keystore.calls == 1) { "signer called ${keystore.calls} times" }
    check(Porter.assemble(challenge, grantBytes, cert, state, signature).contentEquals(expected)) { "assemble differs" }
    val refusing = object : Signer {
        override fun sign(message: ByteArray): ByteArray? = throw IllegalStateException("user cancelled")
    }
    check(codeOf { Porter.present(refusing, challenge, grantBytes, cert, state) } == 1004) { "a throwing signer is SIGNER_FAILED" }
    val wrong = signature.copyOf().also { it[0] = (it[0].toInt() xor 1).toByte() }
    val e = try { Porter.assemble(challenge, grantBytes, cert, state, wrong); null } catch (e: PorterException) { e }
    check(e?.code == 401 && e.message!!.startsWith("proof_bad_signature")) { "bad signature: ${e?.message}" }

    // Registering the key with the server: in memory, the message for later, the keystore.
    val regChallenge = bytes("registration_challenge")
    val carrierId = text("carrier_id")
    val regSignature = bytes("registration_signature")
    HolderKey.fromSeed(bytes("holder_seed")).use { key ->
        check(key.signRegistration(regChallenge, carrierId).contentEquals(regSignature)) { "registration signature differs" }
        check(codeOf { key.signRegistration(regChallenge.copyOf(31), carrierId) } == 1002) { "short challenge is INVALID_PARAMETER" }
    }
    check(Porter.registrationMessage(regChallenge, carrierId).contentEquals(bytes("registration_message"))) { "registration message differs" }
    val regKeystore = object : Signer {
        override fun sign(message: ByteArray): ByteArray? =
            if (message.contentEquals(bytes("registration_message"))) regSignature else null
    }
    check(Porter.signRegistration(regKeystore, bytes("holder_public"), regChallenge, carrierId).contentEquals(regSignature)) { "keystore registration differs" }
    val otherKey = HolderKey.fromSeed(ByteArray(32) { 0x11.toByte() }).use { it.publicKey }
    check(codeOf { Porter.signRegistration(regKeystore, otherKey, regChallenge, carrierId) } == 401) { "a keystore with another key is PROOF_BAD_SIGNATURE" }

    // The door admits twice, then the grant is spent.
    val config = DoorConfig(text("site").toLong().toInt(), text("door").toInt(), bytes("root"), text("clock_skew").toInt(), text("challenge_lifetime").toInt())
    val door = DoorMemory(config)
    val clock = text("clock").toLong().toInt()
    val first = door.admit(clock, challenge, expected)
    check(first.useIndex == 0 && first.grantSerial == grant.serial && first.stateSequence == text("door_state_sequence").toLong()) { "first admission $first" }
    check(door.admit(clock, challenge, expected).useIndex == 1) { "second admission" }
    val spent = try { door.admit(clock, challenge, expected); null } catch (e: PorterException) { e }
    check(spent?.code == 501 && spent.coarse == Coarse.SPENT) { "third admission: ${spent?.code}" }
    check(door.now(0) == clock.toLong() - 3600) { "floor" }
    // Persisted and restored, the memory still remembers both entries.
    val restored = DoorMemory.restore(config, door.bytes)
    check(codeOf { restored.admit(clock, challenge, expected) } == 501) { "restored memory forgot the spends" }
    check(codeOf { DoorMemory.restore(config, ByteArray(10) { 0x7f }) } == 1005) { "garbage memory restored" }
    check(Porter.challenge(config.site, config.door, ByteArray(16) { 0x42 }, clock).contentEquals(challenge)) { "challenge differs" }

    // The receipt, and an audit batch passed through unchanged.
    val receipt = Receipt.check(bytes("receipt"), bytes("device_public"))
    check(receipt.event == Event.ADMITTED && receipt.grantSerial == grant.serial && receipt.sequence == text("receipt_sequence").toLong()) { "receipt $receipt" }
    check(codeOf { Receipt.check(bytes("receipt"), bytes("root")) } == 703) { "receipt under another key" }
    val records = all("audit")
    AuditBatch().use { batch ->
        batch.push(records[0])
        check(codeOf { batch.push(records[2]) } == 705) { "gap" }
        batch.push(records[1])
        batch.push(records[2])
        check(batch.size == 3) { "batch size" }
        for (i in records.indices) check(batch[i].contentEquals(records[i])) { "record $i changed" }
    }

    check(Porter.version.startsWith("porter-ffi ")) { "version ${Porter.version}" }
    // The JNA structures' layout, pinned to the numbers the Rust and C tests pin.
    check(NativeDoorConfig().size() == 48 && NativeDoorConfig().offsetOf("clock_skew") == 40) { "door config layout" }
    check(NativeAdmission().size() == 80 && NativeAdmission().offsetOf("state_sequence") == 64) { "admission layout" }

    // Errors carry codes; handles refuse use after close.
    check(codeOf { HolderKey.fromSeed(ByteArray(31)) } == 1002) { "short seed" }
    check(codeOf { Grant.decode(ByteArray(0)) } == 101) { "empty grant" }
    check(codeOf { Grant.decode(ByteArray(100).also { it[0] = 2 }) } == 104) { "unknown version" }
    check(codeOf { HolderKey.fromSeed(ByteArray(32)) } == 802) { "all-zero seed" }
    val closed = HolderKey.fromSeed(ByteArray(32) { 7 })
    closed.close()
    closed.close()
    check(try { closed.publicKey; false } catch (e: IllegalStateException) { true }) { "use after close" }
}

/** LinkError names as the vectors spell them, by PORTER_RESULT_LINK_* code (2000 + code). */
private val linkNames = mapOf(
    2001 to "FrameBadFragment", 2002 to "FrameOversized", 2003 to "FrameInterleaved",
    2004 to "FrameOutOfOrder", 2005 to "FrameTruncated", 2006 to "FrameTimeout", 2007 to "FrameOrphan",
    2020 to "DecodeEmpty", 2021 to "DecodeUnknownType", 2022 to "DecodeLength",
    2023 to "DecodeTrailingBytes", 2024 to "DecodeBadValue"
)

private fun hexOrEmpty(s: String) = if (s == "-") ByteArray(0) else unhex(s)
private fun ByteArray.hex() = if (isEmpty()) "-" else joinToString("") { "%02x".format(it) }

/**
 * spec/vectors/link.json, flattened to lines by ffi/tests/c/link_vectors.jq: framing through
 * Link.reassemble, messages through Link.validate*, and every recorded transcript through a
 * Session, the phone's fragments byte for byte.
 */
private fun runLinkVectors(path: String) {
    var framing = Triple(0, "", mutableListOf<Pair<ByteArray, String>>())
    var session: Session? = null
    var name = ""
    var counts = IntArray(3)
    for (line in File(path).readLines()) {
        val f = line.split(" ")
        when (f[0]) {
            "framing" -> { framing = Triple(f[1].toInt(), f[2], mutableListOf()); counts[0]++ }
            "f" -> framing.third.add(hexOrEmpty(f[1]) to f[2])
            "end" -> {
                val (steps, message) = Link.reassemble(framing.first, framing.third.map { it.first })
                val got = steps.map { if (it is Int) linkNames[it] ?: "code $it" else it }
                check(got == framing.third.map { it.second }) { "${framing.second}: $got" }
                if (message != null) check(message.contentEquals(hexOrEmpty(f[1]))) { "${framing.second}: message" }
            }
            "message" -> {
                counts[1]++
                val bytes = hexOrEmpty(f[2])
                val code = if (f[1] == "request") Link.validateRequest(bytes) else Link.validateAnswer(bytes)
                val got = if (code == Porter.OK) "ok" else linkNames[code] ?: "code $code"
                check(got == f[3]) { "message ${f[2]}: $got, want ${f[3]}" }
            }
            "transcript" -> {
                counts[2]++
                name = f[1]
                val options = SessionOptions(
                    mtu = f[2].toInt(), logFrom = f[5].takeIf { it != "-" }?.toLong(),
                    answerTimeoutMs = f[6].toInt(), maxRetries = f[7].toInt()
                )
                session = HolderKey.fromSeed(ByteArray(32) { f[3].toByte() }).use { key ->
                    Session.start(unhex(f[8]), unhex(f[9]), null, f[4].takeIf { it != "-" }?.let(::unhex), key, options, 0)
                }
            }
            "up" -> {
                val sent = session!!.transmit(f[1].toLong())
                check(sent != null && sent.hex() == f[2]) { "$name: sent ${sent?.hex()}, want ${f[2]}" }
            }
            "down" -> if (f[2] == "1") session!!.receive(f[1].toLong(), hexOrEmpty(f[3]))
            "reconnect" -> session!!.reconnected(f[1].toLong())
            "expect" -> {
                val s = session!!
                check(s.status == SessionStatus.DONE) { "$name: not done" }
                check(s.outcome?.code == f[1].toInt()) { "$name: ${s.outcome}, want ${f[1]}" }
                check(s.logRecords.size == f[2].toInt()) { "$name: log records" }
                check((s.receipt != null) == (f[3] == "1")) { "$name: receipt" }
                if (s.outcome == Outcome.ADMITTED) check(s.receipt!!.size > 64) { "$name: receipt bytes" }
                s.close()
            }
            else -> check(false) { "unreadable line: ${line.take(60)}" }
        }
    }
    check(counts[0] >= 10 && counts[1] >= 20 && counts[2] >= 10) { "link vectors: ${counts.toList()}" }
    check(Outcome.VERDICT_UNKNOWN.description.startsWith("verdict_unknown: ")) { "outcome description" }
    // C struct layout, pinned as in Rust and C.
    val o = NativeSessionOptions()
    check(
        listOf("mtu", "max_retries", "carry_log", "answer_timeout_ms", "log_from", "log_capacity",
            "expected_site", "expected_door", "check_door").map { o.offsetOf(it) } == listOf(0, 2, 3, 4, 8, 16, 20, 24, 26) &&
            o.size() == 32
    ) { "porter_session_options layout" }
    // A session refuses a signature it did not ask for; a closed one cannot be used.
    val grant = unhex(File(path).readLines().first { it.startsWith("transcript ") }.split(" ")[8])
    check(codeOf { Session.start(grant.copyOf(grant.size - 1), grant, null, null, null, nowMs = 0) } in 101..199) { "bad grant" }
    println("link vectors: ${counts[0]} framing, ${counts[1]} messages, ${counts[2]} transcripts")
}

fun main(args: Array<String>) {
    if (args.size != 4) {
        System.err.println("usage: PorterTestKt spec/vectors/admission.txt spec/vectors/audit.txt ffi/tests/data/driver.txt link_vectors.txt")
        exitProcess(2)
    }
    runVectors(args[0])
    runAuditVectors(args[1])
    runDriverFlow(args[2])
    runLinkVectors(args[3])
    println("$passed passed, $failed failed")
    exitProcess(if (failed == 0) 0 else 1)
}
