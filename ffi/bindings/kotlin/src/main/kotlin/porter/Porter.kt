// Porter for Kotlin: an idiomatic wrapper over porter.h (through JNA).
//
// * Every failure throws PorterException carrying the stable numeric result code (the same
//   numbers as porter.h, the door's audit log and the shared vectors) and its description.
// * Native objects are AutoCloseable (java.io.Closeable): use them with `use { }`. Using one after close() throws
//   IllegalStateException. HolderKey, Grant data and Receipt data may be shared between threads;
//   an AuditBatch and a DoorMemory must be used by one thread at a time.
package porter

import com.sun.jna.Pointer
import com.sun.jna.ptr.IntByReference
import com.sun.jna.ptr.LongByReference
import com.sun.jna.ptr.PointerByReference

private val lib: PorterLibrary get() = PorterLibrary.INSTANCE

/** A Porter call failed: [code] is the porter_result, [message] says what to do. */
class PorterException(val code: Int) : Exception(Porter.describe(code)) {
    /** What a door may tell the phone about a refusal. */
    val coarse: Coarse get() = Porter.coarse(code)
}

/** The coarse class of a refusal (porter_coarse). */
enum class Coarse { NOT_A_REFUSAL, MALFORMED, DENIED, EXPIRED, SPENT }

/** A grant's role. */
enum class Role { DELIVERY, SERVICE }

object Porter {
    const val OK = 0
    const val MAX_PRESENTATION_LEN = 4160
    const val MAX_PROOF_MESSAGE_LEN = 3776
    const val MAX_CHALLENGE_LEN = 32
    const val MAX_DOOR_MEMORY_LEN = 10496
    const val MAX_AUDIT_RECORD_LEN = 128
    const val MAX_GRANT_DOORS = 4
    const val KEY_LEN = 32
    const val SIGNATURE_LEN = 64
    const val NONCE_LEN = 16
    const val MAX_CARRIER_ID_LEN = 128
    const val MAX_REGISTRATION_MESSAGE_LEN = 190

    /** "porter-ffi <version>" of the loaded native library. */
    val version: String get() = lib.porter_version()

    /** porter_result_str: "<name>: <what happened and what to do>". */
    fun describe(code: Int): String = lib.porter_result_str(code)

    fun coarse(code: Int): Coarse = Coarse.values()[lib.porter_result_coarse(code)]

    /** The door challenge for [site]/[door] with a never-repeating 16-byte [nonce]. */
    fun challenge(site: Int, door: Int, nonce: ByteArray, issuedAt: Int): ByteArray =
        output(MAX_CHALLENGE_LEN) { out, len, written ->
            lib.porter_challenge_encode(site, door.toShort(), nonce, SizeT(nonce.size), issuedAt, out, len, written)
        }

    /**
     * The exact bytes the holder key signs (plain Ed25519) to answer [challenge]: for keystores
     * that sign asynchronously. Pass the signature to [assemble] with the same inputs.
     */
    fun proofMessage(challenge: ByteArray, grant: ByteArray, certificate: ByteArray, doorState: ByteArray?): ByteArray =
        output(MAX_PROOF_MESSAGE_LEN) { out, len, written ->
            lib.porter_proof_message(
                challenge, SizeT(challenge.size), grant, SizeT(grant.size), certificate, SizeT(certificate.size),
                doorState, SizeT(doorState?.size ?: 0), out, len, written
            )
        }

    /** The presentation from a [signature] made elsewhere over [proofMessage]; it is verified first. */
    fun assemble(
        challenge: ByteArray, grant: ByteArray, certificate: ByteArray, doorState: ByteArray?, signature: ByteArray
    ): ByteArray = output(MAX_PRESENTATION_LEN) { out, len, written ->
        lib.porter_presentation_assemble(
            challenge, SizeT(challenge.size), grant, SizeT(grant.size), certificate, SizeT(certificate.size),
            doorState, SizeT(doorState?.size ?: 0), signature, SizeT(signature.size), out, len, written
        )
    }

    /**
     * The presentation signed by [signer] (the platform keystore), called once, synchronously,
     * on this thread. A signer that returns null or throws makes this throw SIGNER_FAILED.
     */
    fun present(
        signer: Signer, challenge: ByteArray, grant: ByteArray, certificate: ByteArray, doorState: ByteArray?
    ): ByteArray {
        val callback = nativeSigner(signer)
        return output(MAX_PRESENTATION_LEN) { out, len, written ->
            lib.porter_presentation_build_with_signer(
                callback, null, challenge, SizeT(challenge.size), grant, SizeT(grant.size),
                certificate, SizeT(certificate.size), doorState, SizeT(doorState?.size ?: 0), out, len, written
            )
        }
    }

    /**
     * The bytes a keystore signs (plain Ed25519) to register its holder key with the server
     * (POST /v1/drivers): for keystores that sign asynchronously. [challenge] is the 32 bytes of
     * POST /v1/drivers/challenges, [carrierId] the carrier's id.
     */
    fun registrationMessage(challenge: ByteArray, carrierId: String): ByteArray {
        val carrier = carrierId.toByteArray(Charsets.UTF_8)
        return output(MAX_REGISTRATION_MESSAGE_LEN) { out, len, written ->
            lib.porter_registration_message(challenge, SizeT(challenge.size), carrier, SizeT(carrier.size), out, len, written)
        }
    }

    /**
     * The registration proof signed by [signer] (the platform keystore) for the key [holderPublic],
     * called once, synchronously; the signature is verified under [holderPublic] first
     * (PROOF_BAD_SIGNATURE: the keystore holds another key).
     */
    fun signRegistration(signer: Signer, holderPublic: ByteArray, challenge: ByteArray, carrierId: String): ByteArray {
        val carrier = carrierId.toByteArray(Charsets.UTF_8)
        val callback = nativeSigner(signer)
        return output(SIGNATURE_LEN) { out, len, written ->
            lib.porter_registration_sign_with_signer(
                callback, null, holderPublic, SizeT(holderPublic.size), challenge, SizeT(challenge.size),
                carrier, SizeT(carrier.size), out, len, written
            )
        }
    }
}

/** [signer] as a C callback that never lets an exception cross the boundary. */
private fun nativeSigner(signer: Signer): NativeSignCallback = object : NativeSignCallback {
    override fun invoke(userdata: Pointer?, message: Pointer, messageLen: SizeT, signature: Pointer): Int {
        // Never let an exception cross the C boundary: refuse instead.
        val sig = try {
            signer.sign(message.getByteArray(0, messageLen.toInt()))
        } catch (e: Exception) {
            null
        }
        if (sig == null || sig.size != Porter.SIGNATURE_LEN) return 1
        signature.write(0, sig, 0, Porter.SIGNATURE_LEN)
        return 0
    }
}

/** Signs with a key that stays in the platform keystore (Android Keystore, a hardware token). */
interface Signer {
    /** A 64-byte Ed25519 signature over [message], or null to refuse. */
    fun sign(message: ByteArray): ByteArray?
}

internal fun check(code: Int) {
    if (code != Porter.OK) throw PorterException(code)
}

/** Calls [call] with a buffer of [capacity] bytes and returns what it wrote. */
internal inline fun output(capacity: Int, call: (ByteArray, SizeT, SizeTByReference) -> Int): ByteArray {
    val out = ByteArray(capacity)
    val written = SizeTByReference()
    check(call(out, SizeT(capacity), written))
    return out.copyOf(written.value.toInt())
}

/**
 * A native handle freed exactly once, by close(). java.io.Closeable (an AutoCloseable) so that
 * Kotlin's `use { }` works without kotlin-stdlib-jdk7 and on every Android API level.
 */
abstract class Handle internal constructor(private var pointer: Pointer?) : java.io.Closeable {
    internal val handle: Pointer
        get() = pointer ?: throw IllegalStateException("${javaClass.simpleName} used after close()")

    protected abstract fun free(pointer: Pointer)

    @Synchronized
    override fun close() {
        pointer?.let { free(it) }
        pointer = null
    }
}

/** An Ed25519 holder key in memory, made from 32 bytes of secret entropy. */
class HolderKey private constructor(pointer: Pointer) : Handle(pointer) {
    companion object {
        /** The key for [seed] (32 bytes from SecureRandom; store it encrypted to keep the key). */
        fun fromSeed(seed: ByteArray): HolderKey {
            val out = PointerByReference()
            check(lib.porter_holder_key_new(seed, SizeT(seed.size), out))
            return HolderKey(out.value)
        }
    }

    /** The 32-byte public key the server binds grants to. */
    val publicKey: ByteArray
        get() = output(Porter.KEY_LEN) { out, len, written -> lib.porter_holder_key_public(handle, out, len, written) }

    /** The presentation answering the door's [challenge] with [grant], [certificate] and [doorState]. */
    fun present(challenge: ByteArray, grant: ByteArray, certificate: ByteArray, doorState: ByteArray?): ByteArray =
        output(Porter.MAX_PRESENTATION_LEN) { out, len, written ->
            lib.porter_presentation_build(
                handle, challenge, SizeT(challenge.size), grant, SizeT(grant.size), certificate,
                SizeT(certificate.size), doorState, SizeT(doorState?.size ?: 0), out, len, written
            )
        }

    /**
     * The proof that registers this key with the server (POST /v1/drivers, `signature`): Ed25519
     * over "porter/v1/holder-registration\u0000" || [challenge] (32 bytes) || [carrierId].
     */
    fun signRegistration(challenge: ByteArray, carrierId: String): ByteArray {
        val carrier = carrierId.toByteArray(Charsets.UTF_8)
        return output(Porter.SIGNATURE_LEN) { out, len, written ->
            lib.porter_holder_key_sign_registration(
                handle, challenge, SizeT(challenge.size), carrier, SizeT(carrier.size), out, len, written
            )
        }
    }

    override fun free(pointer: Pointer) = lib.porter_holder_key_free(pointer)
}

/** What a grant allows, to show the driver. Decoded, not verified: only the door verifies. */
data class Grant(
    val site: Int,
    val serial: Long,
    val uses: Int,
    val role: Role,
    val doors: List<Int>,
    val notBefore: Long,
    val notAfter: Long,
    val holder: ByteArray,
    val packageCommitment: ByteArray
) {
    companion object {
        fun decode(bytes: ByteArray): Grant {
            val out = PointerByReference()
            check(lib.porter_grant_decode(bytes, SizeT(bytes.size), out))
            val g = out.value
            try {
                val doors = ShortArray(Porter.MAX_GRANT_DOORS)
                val n = SizeTByReference()
                check(lib.porter_grant_doors(g, doors, SizeT(doors.size), n))
                return Grant(
                    site = lib.porter_grant_site(g),
                    serial = lib.porter_grant_serial(g),
                    uses = lib.porter_grant_uses(g).toInt() and 0xFF,
                    role = if (lib.porter_grant_role(g) == 1) Role.SERVICE else Role.DELIVERY,
                    doors = doors.take(n.value.toInt()).map { it.toInt() and 0xFFFF },
                    notBefore = lib.porter_grant_not_before(g).toLong() and 0xFFFFFFFFL,
                    notAfter = lib.porter_grant_not_after(g).toLong() and 0xFFFFFFFFL,
                    holder = output(Porter.KEY_LEN) { o, l, w -> lib.porter_grant_holder(g, o, l, w) },
                    packageCommitment = output(32) { o, l, w -> lib.porter_grant_package(g, o, l, w) }
                )
            } finally {
                lib.porter_grant_free(g)
            }
        }
    }
}

/** What the door's audit record says happened (porter_event). */
enum class Event { INVALID, ADMITTED, REJECTED, DOOR_STATE_APPLIED, ALARM, BOOT, ENROLLED, OTHER }

/** A receipt whose device signature verified. */
data class Receipt(
    val site: Int,
    val door: Int,
    val sequence: Long,
    val at: Long,
    val event: Event,
    val grantSerial: Long,
    val useIndex: Int,
    val reason: Int
) {
    companion object {
        /** Decodes [bytes] and verifies them under the door's 32-byte [deviceKey]. */
        fun check(bytes: ByteArray, deviceKey: ByteArray): Receipt {
            val out = PointerByReference()
            check(lib.porter_receipt_check(bytes, SizeT(bytes.size), deviceKey, SizeT(deviceKey.size), out))
            val r = out.value
            try {
                return Receipt(
                    site = lib.porter_receipt_site(r),
                    door = lib.porter_receipt_door(r).toInt() and 0xFFFF,
                    sequence = lib.porter_receipt_sequence(r),
                    at = lib.porter_receipt_at(r).toLong() and 0xFFFFFFFFL,
                    event = Event.values()[lib.porter_receipt_event(r)],
                    grantSerial = lib.porter_receipt_grant_serial(r),
                    useIndex = lib.porter_receipt_use_index(r).toInt() and 0xFF,
                    reason = lib.porter_receipt_reason(r)
                )
            } finally {
                lib.porter_receipt_free(r)
            }
        }
    }
}

/** A door's audit records, checked to chain, kept byte for byte for the upload. */
class AuditBatch : Handle(newBatch()) {
    /** Appends one record; throws AUDIT_GAP / AUDIT_CHAIN_BROKEN / DECODE_* and stays unchanged. */
    fun push(record: ByteArray) = check(lib.porter_audit_batch_push(handle, record, SizeT(record.size)))

    val size: Int get() = lib.porter_audit_batch_len(handle).toInt()

    /** Record [index], exactly as pushed. */
    operator fun get(index: Int): ByteArray = output(Porter.MAX_AUDIT_RECORD_LEN) { o, l, w ->
        lib.porter_audit_batch_get(handle, SizeT(index.toLong()), o, l, w)
    }

    /**
     * Checks the door's signed log [head] (under its 32-byte [deviceKey]) names exactly this
     * batch's end; throws AUDIT_BAD_SIGNATURE / AUDIT_GAP / AUDIT_CHAIN_BROKEN otherwise.
     */
    fun checkHead(head: ByteArray, deviceKey: ByteArray) =
        check(lib.porter_audit_batch_check_head(handle, head, SizeT(head.size), deviceKey, SizeT(deviceKey.size)))

    override fun free(pointer: Pointer) = lib.porter_audit_batch_free(pointer)

    private companion object {
        fun newBatch(): Pointer {
            val out = PointerByReference()
            check(lib.porter_audit_batch_new(out))
            return out.value
        }
    }
}

/** A door's configuration (porter_door_config). */
data class DoorConfig(val site: Int, val door: Int, val root: ByteArray, val clockSkew: Int, val challengeLifetime: Int) {
    internal fun native() = NativeDoorConfig().also {
        it.site = site
        it.door = door.toShort()
        it.root = root.copyOf(32)
        it.clock_skew = clockSkew
        it.challenge_lifetime = challengeLifetime
    }
}

/** Why a door opened. */
data class Admission(val grantSerial: Long, val useIndex: Int, val uses: Int, val role: Role, val holder: ByteArray, val stateSequence: Long, val at: Long)

/**
 * A door's memory, for doors (and tests) on the JVM: the same decision as Porter's firmware.
 * [bytes] is what to persist after every successful call.
 */
class DoorMemory private constructor(val config: DoorConfig, @Suppress("UNUSED_PARAMETER") uninitialised: Unit) {
    private val buffer = ByteArray(Porter.MAX_DOOR_MEMORY_LEN)
    private val length = SizeTByReference()
    private val nativeConfig = config.native()

    /** A freshly commissioned door's memory, clock floor at [floor] (Unix seconds). */
    constructor(config: DoorConfig, floor: Int = 0) : this(config, Unit) {
        check(lib.porter_door_memory_init(config.site, floor, buffer, SizeT(buffer.size), length))
    }

    companion object {
        /** Memory persisted from [bytes]; throws DOOR_MEMORY_CORRUPT if they do not decode. */
        fun restore(config: DoorConfig, bytes: ByteArray): DoorMemory {
            if (bytes.size > Porter.MAX_DOOR_MEMORY_LEN) throw PorterException(1005)
            val memory = DoorMemory(config, Unit)
            bytes.copyInto(memory.buffer)
            memory.length.value = bytes.size.toLong()
            memory.now(0) // decodes strictly
            return memory
        }
    }

    val bytes: ByteArray get() = buffer.copyOf(length.value.toInt())

    /** Admits or throws the refusal; on refusal nothing changes. */
    fun admit(clock: Int, challenge: ByteArray, presentation: ByteArray): Admission {
        val a = NativeAdmission()
        check(
            lib.porter_door_admit(
                nativeConfig, buffer, SizeT(buffer.size), length, clock, challenge, SizeT(challenge.size),
                presentation, SizeT(presentation.size), a
            )
        )
        return Admission(
            a.grant_serial, a.use_index.toInt() and 0xFF, a.uses.toInt() and 0xFF,
            if (a.role == 1) Role.SERVICE else Role.DELIVERY, a.holder.copyOf(), a.state_sequence,
            a.at.toLong() and 0xFFFFFFFFL
        )
    }

    /** Takes newer signed door state; returns its sequence or throws (STATE_NOT_NEWER is routine). */
    fun applyState(state: ByteArray): Long {
        val sequence = LongByReference()
        check(lib.porter_door_apply_state(nativeConfig, buffer, SizeT(buffer.size), length, state, SizeT(state.size), sequence))
        return sequence.value
    }

    /** The door's time: [clock], never below the signed floor. */
    fun now(clock: Int): Long {
        val now = IntByReference()
        check(lib.porter_door_now(buffer, length.value.let { SizeT(it) }, clock, now))
        return now.value.toLong() and 0xFFFFFFFFL
    }
}
