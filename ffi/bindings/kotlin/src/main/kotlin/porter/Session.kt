// The phone's side of a visit to a door (porter_session_*, spec/link.md): sans-IO. The app owns
// the transport (BLE GATT, NFC, a TCP socket) and the clock; the session turns fragments from
// the door into fragments to send, and ends in an Outcome.
package porter

import com.sun.jna.Pointer
import com.sun.jna.ptr.IntByReference
import com.sun.jna.ptr.PointerByReference

private val native: PorterLibrary get() = PorterLibrary.INSTANCE

/** How a visit ended: the stable numbers of spec/link.md, "Outcomes". */
enum class Outcome(val code: Int) {
    ADMITTED(0), DENIED_MALFORMED(11), DENIED(12), DENIED_EXPIRED(13), DENIED_SPENT(14),
    VERDICT_UNKNOWN(20), NOT_ENROLLED(21), DOOR_FAULT(22), DOOR_REFUSED(23), WRONG_DOOR(24),
    BAD_RECEIPT(30), BAD_ANSWER(31), TIMED_OUT(32), BAD_CONFIG(33), SIGNER_FAILED(34),
    /** An outcome this build cannot name (a newer library). */
    OTHER(999);

    /** "<name>: <what it means for the driver>" (porter_outcome_str). */
    val description: String get() = native.porter_outcome_str(code)

    companion object {
        internal const val PENDING = 65534
        fun of(code: Int): Outcome? = if (code == PENDING) null else values().firstOrNull { it.code == code } ?: OTHER
    }
}

/** Where a session is. */
enum class SessionStatus { RUNNING, NEED_SIGNATURE, DONE }

/** How the session talks to the door; the defaults are the spec's (BLE MTU 244, 3 s, 4 retries). */
data class SessionOptions(
    val mtu: Int = 244,
    val answerTimeoutMs: Int = 3000,
    val maxRetries: Int = 4,
    /** Carry the door's log back from this sequence (what the server holds); null: do not. */
    val logFrom: Long? = null,
    val logCapacity: Int = 4096,
    /** The (site, door) the phone means to open; another door ends with WRONG_DOOR. */
    val expectedDoor: Pair<Int, Int>? = null
) {
    internal fun native() = NativeSessionOptions().also {
        check(native.porter_session_options_default(it))
        it.mtu = mtu.toShort()
        it.answer_timeout_ms = answerTimeoutMs
        it.max_retries = maxRetries.toByte()
        it.carry_log = if (logFrom != null) 1 else 0
        it.log_from = logFrom ?: 0
        it.log_capacity = logCapacity
        it.check_door = if (expectedDoor != null) 1 else 0
        it.expected_site = expectedDoor?.first ?: 0
        it.expected_door = (expectedDoor?.second ?: 0).toShort()
    }
}

/**
 * One visit to a door. Drive it from one thread: [transmit] (or [transmitStream]) until it
 * returns null, feed what arrives to [receive] (or [receiveStream]), call [tick] at [deadline],
 * [reconnected] after a new link; with an external signer, answer [proofMessage] with
 * [provideSignature] when [status] is NEED_SIGNATURE. Close it when done.
 */
class Session private constructor(pointer: Pointer) : Handle(pointer) {
    companion object {
        /**
         * Starts a visit at [nowMs] with [grant] and [certificate] (exact bytes from the server),
         * an optional newer [doorState] to carry and the door's [deviceKey] (null: asked of the
         * door). [key] signs; null means an external signer (the platform keystore).
         */
        fun start(
            grant: ByteArray, certificate: ByteArray, doorState: ByteArray?, deviceKey: ByteArray?,
            key: HolderKey?, options: SessionOptions = SessionOptions(), nowMs: Long
        ): Session {
            val out = PointerByReference()
            check(native.porter_session_new(
                options.native(), grant, SizeT(grant.size), certificate, SizeT(certificate.size),
                doorState, SizeT(doorState?.size ?: 0), deviceKey, SizeT(deviceKey?.size ?: 0),
                key?.handle, nowMs, out
            ))
            return Session(out.value)
        }

        internal const val MAX_MTU = 255
        internal const val NO_DEADLINE = -1L // PORTER_SESSION_NO_DEADLINE, UINT64_MAX
        internal const val MAX_LOG_HEAD_LEN = 128
        internal const val MAX_RECEIPT_LEN = 192
    }

    override fun free(pointer: Pointer) = native.porter_session_free(pointer)

    /** The next fragment to send now, or null (wait for an answer or the deadline). */
    fun transmit(nowMs: Long): ByteArray? =
        output(MAX_MTU) { out, len, written -> native.porter_session_transmit(handle, nowMs, out, len, written) }
            .takeIf { it.isNotEmpty() }

    /** [transmit] for a stream link (TCP): the fragment after its length byte. */
    fun transmitStream(nowMs: Long): ByteArray? =
        output(MAX_MTU + 1) { out, len, written -> native.porter_session_transmit_stream(handle, nowMs, out, len, written) }
            .takeIf { it.isNotEmpty() }

    /** One fragment from the door (a BLE notification, an NFC response). */
    fun receive(nowMs: Long, fragment: ByteArray) =
        check(native.porter_session_receive(handle, nowMs, fragment, SizeT(fragment.size)))

    /** Bytes read from a stream link, any amount, split anywhere. */
    fun receiveStream(nowMs: Long, bytes: ByteArray, length: Int = bytes.size) =
        check(native.porter_session_receive_stream(handle, nowMs, bytes, SizeT(length)))

    /** Runs the timers: call at [deadline]. */
    fun tick(nowMs: Long) = check(native.porter_session_tick(handle, nowMs))

    /** When to call [tick] next, or null when no timer runs. */
    val deadline: Long? get() = native.porter_session_deadline(handle).takeIf { it != NO_DEADLINE }

    /** A new link to the same door: the current request goes again under a new id. */
    fun reconnected(nowMs: Long) = check(native.porter_session_reconnected(handle, nowMs))

    val status: SessionStatus
        get() = when (native.porter_session_status(handle)) {
            0 -> SessionStatus.RUNNING
            1 -> SessionStatus.NEED_SIGNATURE
            2 -> SessionStatus.DONE
            else -> throw IllegalStateException("no session")
        }

    /** How the visit ended, or null while it runs. */
    val outcome: Outcome? get() = Outcome.of(native.porter_session_outcome(handle))

    /** The door's verdict as soon as it is known (the log may still be being carried). */
    val verdict: Outcome? get() = Outcome.of(native.porter_session_verdict(handle))

    /** While NEED_SIGNATURE: the message the keystore signs. */
    fun proofMessage(): ByteArray = output(Porter.MAX_PROOF_MESSAGE_LEN) { out, len, written ->
        native.porter_session_proof_message(handle, out, len, written)
    }

    /** The keystore's 64-byte signature over [proofMessage]; checked under the grant's holder key first. */
    fun provideSignature(nowMs: Long, signature: ByteArray) =
        check(native.porter_session_provide_signature(handle, nowMs, signature, SizeT(signature.size)))

    /** The door's verified receipt once admitted (for Receipt.check and the server), else null. */
    val receipt: ByteArray?
        get() = output(MAX_RECEIPT_LEN) { out, len, written -> native.porter_session_receipt(handle, out, len, written) }
            .takeIf { it.isNotEmpty() }

    /** The device-signed log head, if carried (for AuditBatch.checkHead). */
    val logHead: ByteArray?
        get() = output(MAX_LOG_HEAD_LEN) { out, len, written -> native.porter_session_log_head(handle, out, len, written) }
            .takeIf { it.isNotEmpty() }

    /** The log records carried, exact bytes, in order (for AuditBatch.push and the server). */
    val logRecords: List<ByteArray>
        get() = (0 until native.porter_session_log_count(handle).toInt()).map { i ->
            output(Porter.MAX_AUDIT_RECORD_LEN) { out, len, written ->
                native.porter_session_log_record(handle, SizeT(i), out, len, written)
            }
        }

    /** Whether the log was carried up to the signed head. */
    val logComplete: Boolean get() = native.porter_session_log_complete(handle).toInt() != 0
}

/** The link's framing and message checks, for tools that handle fragments themselves. */
object Link {
    /** Feeds [fragments] (MTU [mtu]) to a reassembler: per fragment "partial", "complete" or the
     * failing code; and the last message completed. */
    fun reassemble(mtu: Int, fragments: List<ByteArray>): Pair<List<Any>, ByteArray?> {
        val out = PointerByReference()
        check(native.porter_link_reassembler_new(mtu.toShort(), out))
        val r = out.value
        try {
            var message: ByteArray? = null
            val steps = fragments.map { f ->
                val progress = IntByReference()
                val code = native.porter_link_reassembler_push(r, f, SizeT(f.size), 0, progress)
                when {
                    code != Porter.OK -> code
                    progress.value == 0 -> "partial"
                    else -> {
                        message = output(4176) { o, len, written -> native.porter_link_reassembler_message(r, o, len, written) }
                        "complete"
                    }
                }
            }
            return steps to message
        } finally {
            native.porter_link_reassembler_free(r)
        }
    }

    /** 0 if [message] is a well-formed request to a door, else the PORTER_RESULT_LINK_* code. */
    fun validateRequest(message: ByteArray): Int = native.porter_link_request_validate(nonNull(message), SizeT(message.size))

    /** 0 if [message] is a well-formed answer from a door, else the PORTER_RESULT_LINK_* code. */
    fun validateAnswer(message: ByteArray): Int = native.porter_link_answer_validate(nonNull(message), SizeT(message.size))

    // An empty message is still a valid pointer (with length 0): NULL would be NULL_PARAMETER.
    private fun nonNull(message: ByteArray) = if (message.isEmpty()) ByteArray(1) else message
}
