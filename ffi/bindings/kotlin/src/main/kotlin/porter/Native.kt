// The raw C ABI of porter.h through JNA. Internal: apps use the wrapper in Porter.kt.
//
// Mapping: porter_result and uint32_t -> Int; uint16_t -> Short; uint64_t -> Long;
// size_t -> SizeT; const uint8_t * inputs and uint8_t * outputs -> ByteArray (JNA copies);
// opaque handles -> Pointer; T ** -> PointerByReference.
package porter

import com.sun.jna.Callback
import com.sun.jna.IntegerType
import com.sun.jna.Library
import com.sun.jna.Native
import com.sun.jna.Pointer
import com.sun.jna.Structure
import com.sun.jna.ptr.ByReference
import com.sun.jna.ptr.IntByReference
import com.sun.jna.ptr.LongByReference
import com.sun.jna.ptr.PointerByReference

/** C `size_t`. */
class SizeT(value: Long = 0) : IntegerType(Native.SIZE_T_SIZE, value, true) {
    constructor(value: Int) : this(value.toLong())
    // JNA's IntegerType is a java.lang.Number; Kotlin wants these spelled out.
    override fun toByte(): Byte = toLong().toByte()
    override fun toChar(): Char = toLong().toChar()
    override fun toShort(): Short = toLong().toShort()
}

/** C `size_t *`. */
class SizeTByReference(initial: Long = 0) : ByReference(Native.SIZE_T_SIZE) {
    var value: Long
        get() = if (Native.SIZE_T_SIZE == 8) pointer.getLong(0) else pointer.getInt(0).toLong()
        set(v) = if (Native.SIZE_T_SIZE == 8) pointer.setLong(0, v) else pointer.setInt(0, v.toInt())

    init { value = initial }
}

/** C `porter_door_config`. */
@Structure.FieldOrder("site", "door", "root", "clock_skew", "challenge_lifetime")
class NativeDoorConfig : Structure() {
    @JvmField var site: Int = 0
    @JvmField var door: Short = 0
    @JvmField var root: ByteArray = ByteArray(32)
    @JvmField var clock_skew: Int = 0
    @JvmField var challenge_lifetime: Int = 0

    /** For the layout test. */
    internal fun offsetOf(field: String) = fieldOffset(field)
}

/** C `porter_admission`. */
@Structure.FieldOrder(
    "issuer", "grant_serial", "use_index", "uses", "role", "holder", "package_", "state_sequence", "at"
)
class NativeAdmission : Structure() {
    @JvmField var issuer: ByteArray = ByteArray(8)
    @JvmField var grant_serial: Long = 0
    @JvmField var use_index: Byte = 0
    @JvmField var uses: Byte = 0
    @JvmField var role: Int = 0
    @JvmField var holder: ByteArray = ByteArray(8)
    @JvmField var package_: ByteArray = ByteArray(32)
    @JvmField var state_sequence: Long = 0
    @JvmField var at: Int = 0

    /** For the layout test. */
    internal fun offsetOf(field: String) = fieldOffset(field)
}

/** C `porter_session_options`. */
@Structure.FieldOrder(
    "mtu", "max_retries", "carry_log", "answer_timeout_ms", "log_from", "log_capacity",
    "expected_site", "expected_door", "check_door"
)
class NativeSessionOptions : Structure() {
    @JvmField var mtu: Short = 0
    @JvmField var max_retries: Byte = 0
    @JvmField var carry_log: Byte = 0
    @JvmField var answer_timeout_ms: Int = 0
    @JvmField var log_from: Long = 0
    @JvmField var log_capacity: Int = 0
    @JvmField var expected_site: Int = 0
    @JvmField var expected_door: Short = 0
    @JvmField var check_door: Byte = 0

    /** For the layout test. */
    internal fun offsetOf(field: String) = fieldOffset(field)
}

/** C `porter_sign_callback`. */
interface NativeSignCallback : Callback {
    fun invoke(userdata: Pointer?, message: Pointer, messageLen: SizeT, signature: Pointer): Int
}

@Suppress("FunctionName")
internal interface PorterLibrary : Library {
    fun porter_version(): String
    fun porter_result_str(code: Int): String
    fun porter_result_coarse(code: Int): Int

    fun porter_holder_key_new(seed: ByteArray?, seedLen: SizeT, out: PointerByReference?): Int
    fun porter_holder_key_public(key: Pointer?, out: ByteArray?, outLen: SizeT, written: SizeTByReference?): Int
    fun porter_holder_key_free(key: Pointer?)

    fun porter_presentation_build(
        key: Pointer?, challenge: ByteArray?, challengeLen: SizeT, grant: ByteArray?, grantLen: SizeT,
        certificate: ByteArray?, certificateLen: SizeT, doorState: ByteArray?, doorStateLen: SizeT,
        out: ByteArray?, outLen: SizeT, written: SizeTByReference?
    ): Int

    fun porter_proof_message(
        challenge: ByteArray?, challengeLen: SizeT, grant: ByteArray?, grantLen: SizeT,
        certificate: ByteArray?, certificateLen: SizeT, doorState: ByteArray?, doorStateLen: SizeT,
        out: ByteArray?, outLen: SizeT, written: SizeTByReference?
    ): Int

    fun porter_presentation_assemble(
        challenge: ByteArray?, challengeLen: SizeT, grant: ByteArray?, grantLen: SizeT,
        certificate: ByteArray?, certificateLen: SizeT, doorState: ByteArray?, doorStateLen: SizeT,
        signature: ByteArray?, signatureLen: SizeT, out: ByteArray?, outLen: SizeT, written: SizeTByReference?
    ): Int

    fun porter_presentation_build_with_signer(
        sign: NativeSignCallback?, userdata: Pointer?,
        challenge: ByteArray?, challengeLen: SizeT, grant: ByteArray?, grantLen: SizeT,
        certificate: ByteArray?, certificateLen: SizeT, doorState: ByteArray?, doorStateLen: SizeT,
        out: ByteArray?, outLen: SizeT, written: SizeTByReference?
    ): Int

    fun porter_holder_key_sign_registration(
        key: Pointer?, challenge: ByteArray?, challengeLen: SizeT, carrierId: ByteArray?, carrierIdLen: SizeT,
        out: ByteArray?, outLen: SizeT, written: SizeTByReference?
    ): Int

    fun porter_registration_message(
        challenge: ByteArray?, challengeLen: SizeT, carrierId: ByteArray?, carrierIdLen: SizeT,
        out: ByteArray?, outLen: SizeT, written: SizeTByReference?
    ): Int

    fun porter_registration_sign_with_signer(
        sign: NativeSignCallback?, userdata: Pointer?, holderPublic: ByteArray?, holderPublicLen: SizeT,
        challenge: ByteArray?, challengeLen: SizeT, carrierId: ByteArray?, carrierIdLen: SizeT,
        out: ByteArray?, outLen: SizeT, written: SizeTByReference?
    ): Int

    fun porter_grant_decode(grant: ByteArray?, grantLen: SizeT, out: PointerByReference?): Int
    fun porter_grant_free(grant: Pointer?)
    fun porter_grant_site(grant: Pointer?): Int
    fun porter_grant_serial(grant: Pointer?): Long
    fun porter_grant_uses(grant: Pointer?): Byte
    fun porter_grant_not_before(grant: Pointer?): Int
    fun porter_grant_not_after(grant: Pointer?): Int
    fun porter_grant_role(grant: Pointer?): Int
    fun porter_grant_door_count(grant: Pointer?): SizeT
    fun porter_grant_doors(grant: Pointer?, out: ShortArray?, outLen: SizeT, written: SizeTByReference?): Int
    fun porter_grant_holder(grant: Pointer?, out: ByteArray?, outLen: SizeT, written: SizeTByReference?): Int
    fun porter_grant_package(grant: Pointer?, out: ByteArray?, outLen: SizeT, written: SizeTByReference?): Int

    fun porter_receipt_check(
        receipt: ByteArray?, receiptLen: SizeT, deviceKey: ByteArray?, deviceKeyLen: SizeT, out: PointerByReference?
    ): Int
    fun porter_receipt_free(receipt: Pointer?)
    fun porter_receipt_site(receipt: Pointer?): Int
    fun porter_receipt_door(receipt: Pointer?): Short
    fun porter_receipt_sequence(receipt: Pointer?): Long
    fun porter_receipt_at(receipt: Pointer?): Int
    fun porter_receipt_event(receipt: Pointer?): Int
    fun porter_receipt_grant_serial(receipt: Pointer?): Long
    fun porter_receipt_use_index(receipt: Pointer?): Byte
    fun porter_receipt_reason(receipt: Pointer?): Int
    fun porter_receipt_holder(receipt: Pointer?, out: ByteArray?, outLen: SizeT, written: SizeTByReference?): Int

    fun porter_audit_batch_new(out: PointerByReference?): Int
    fun porter_audit_batch_push(batch: Pointer?, record: ByteArray?, recordLen: SizeT): Int
    fun porter_audit_batch_len(batch: Pointer?): SizeT
    fun porter_audit_batch_get(batch: Pointer?, index: SizeT, out: ByteArray?, outLen: SizeT, written: SizeTByReference?): Int
    fun porter_audit_batch_head(batch: Pointer?, out: ByteArray?, outLen: SizeT, written: SizeTByReference?): Int
    fun porter_audit_batch_check_head(
        batch: Pointer?, head: ByteArray?, headLen: SizeT, deviceKey: ByteArray?, deviceKeyLen: SizeT
    ): Int
    fun porter_audit_batch_free(batch: Pointer?)

    fun porter_door_memory_init(site: Int, floor: Int, memory: ByteArray?, capacity: SizeT, len: SizeTByReference?): Int
    fun porter_door_admit(
        config: NativeDoorConfig?, memory: ByteArray?, capacity: SizeT, len: SizeTByReference?, clock: Int,
        challenge: ByteArray?, challengeLen: SizeT, presentation: ByteArray?, presentationLen: SizeT,
        admission: NativeAdmission?
    ): Int
    fun porter_door_apply_state(
        config: NativeDoorConfig?, memory: ByteArray?, capacity: SizeT, len: SizeTByReference?,
        state: ByteArray?, stateLen: SizeT, sequence: LongByReference?
    ): Int
    fun porter_door_now(memory: ByteArray?, len: SizeT, clock: Int, now: IntByReference?): Int
    fun porter_challenge_encode(
        site: Int, door: Short, nonce: ByteArray?, nonceLen: SizeT, issuedAt: Int,
        out: ByteArray?, outLen: SizeT, written: SizeTByReference?
    ): Int

    fun porter_session_options_default(options: NativeSessionOptions?): Int
    fun porter_session_new(
        options: NativeSessionOptions?, grant: ByteArray?, grantLen: SizeT, certificate: ByteArray?,
        certificateLen: SizeT, doorState: ByteArray?, doorStateLen: SizeT, deviceKey: ByteArray?,
        deviceKeyLen: SizeT, key: Pointer?, nowMs: Long, out: PointerByReference?
    ): Int
    fun porter_session_transmit(session: Pointer?, nowMs: Long, out: ByteArray?, outLen: SizeT, written: SizeTByReference?): Int
    fun porter_session_transmit_stream(session: Pointer?, nowMs: Long, out: ByteArray?, outLen: SizeT, written: SizeTByReference?): Int
    fun porter_session_receive(session: Pointer?, nowMs: Long, fragment: ByteArray?, fragmentLen: SizeT): Int
    fun porter_session_receive_stream(session: Pointer?, nowMs: Long, bytes: ByteArray?, bytesLen: SizeT): Int
    fun porter_session_tick(session: Pointer?, nowMs: Long): Int
    fun porter_session_deadline(session: Pointer?): Long
    fun porter_session_reconnected(session: Pointer?, nowMs: Long): Int
    fun porter_session_status(session: Pointer?): Int
    fun porter_session_outcome(session: Pointer?): Int
    fun porter_session_verdict(session: Pointer?): Int
    fun porter_session_proof_message(session: Pointer?, out: ByteArray?, outLen: SizeT, written: SizeTByReference?): Int
    fun porter_session_provide_signature(session: Pointer?, nowMs: Long, signature: ByteArray?, signatureLen: SizeT): Int
    fun porter_session_receipt(session: Pointer?, out: ByteArray?, outLen: SizeT, written: SizeTByReference?): Int
    fun porter_session_log_head(session: Pointer?, out: ByteArray?, outLen: SizeT, written: SizeTByReference?): Int
    fun porter_session_log_count(session: Pointer?): SizeT
    fun porter_session_log_complete(session: Pointer?): Byte
    fun porter_session_log_record(session: Pointer?, index: SizeT, out: ByteArray?, outLen: SizeT, written: SizeTByReference?): Int
    fun porter_session_free(session: Pointer?)
    fun porter_outcome_str(code: Int): String

    fun porter_link_reassembler_new(mtu: Short, out: PointerByReference?): Int
    fun porter_link_reassembler_push(
        reassembler: Pointer?, fragment: ByteArray?, fragmentLen: SizeT, nowMs: Long, progress: IntByReference?
    ): Int
    fun porter_link_reassembler_message(reassembler: Pointer?, out: ByteArray?, outLen: SizeT, written: SizeTByReference?): Int
    fun porter_link_reassembler_free(reassembler: Pointer?)
    fun porter_link_request_validate(message: ByteArray?, messageLen: SizeT): Int
    fun porter_link_answer_validate(message: ByteArray?, messageLen: SizeT): Int

    companion object {
        /** Loads `libporter_ffi` (`-Djna.library.path=...` or the platform's library path). */
        val INSTANCE: PorterLibrary by lazy { Native.load("porter_ffi", PorterLibrary::class.java) }
    }
}
