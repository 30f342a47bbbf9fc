// The Kotlin binding against a live door, as an app uses it: porter-door-sim (the firmware on
// the host) over TCP, reached through Session and a java.net.Socket; no framing written here.
// The fixture (device-fw/examples/sim_fixture.rs) starts the simulator, enrols it with the test
// site and prints what a server would have given the app: the port, the device key, a one-use
// grant, its certificate, the holder key's seed and the door's clock. Then its stdout carries
// the simulator's events; closing its stdin stops the simulator.
//
// usage: java ... porter.simtest.SimulatorTestKt SIM_FIXTURE PORTER_DOOR_SIM WORK_DIR
package porter.simtest

import java.io.BufferedReader
import java.net.Socket
import java.net.SocketTimeoutException
import kotlin.system.exitProcess
import porter.Event
import porter.Grant
import porter.HolderKey
import porter.Outcome
import porter.Receipt
import porter.Session
import porter.SessionOptions
import porter.SessionStatus

private fun unhex(s: String) = ByteArray(s.length / 2) { s.substring(2 * it, 2 * it + 2).toInt(16).toByte() }

private fun fail(what: String): Nothing {
    System.err.println("FAIL: $what")
    exitProcess(1)
}

private fun expect(ok: Boolean, what: () -> String) {
    if (!ok) fail(what())
}

/** What the fixture printed on its first line. */
private class Door(line: String) {
    private val f = line.split(" ")
    init {
        expect(f.size == 7 && f[0] == "fixture") { "not a fixture line: $line" }
    }
    val port = f[1].toInt()
    val deviceKey = unhex(f[2])
    val grant = unhex(f[3])
    val certificate = unhex(f[4])
    val holderSeed = unhex(f[5])
    val clock = f[6].toLong()
}

private val started = System.nanoTime()
private fun nowMs() = (System.nanoTime() - started) / 1_000_000

/** How long to wait for the door when the session runs no timer: a broken door, not a slow one. */
private const val STALLED_MS = 60_000

/**
 * One visit on a new connection: the session's bytes to the socket, the socket's bytes to the
 * session, [Session.tick] when its deadline passes, until the session is done.
 */
private fun visit(door: Door, key: HolderKey, options: SessionOptions): Session {
    val session = Session.start(door.grant, door.certificate, null, door.deviceKey, key, options, nowMs())
    Socket("127.0.0.1", door.port).use { socket ->
        socket.tcpNoDelay = true
        val output = socket.getOutputStream()
        val input = socket.getInputStream()
        val buffer = ByteArray(1024)
        while (session.status != SessionStatus.DONE) {
            while (true) output.write(session.transmitStream(nowMs()) ?: break)
            output.flush()
            if (session.status == SessionStatus.DONE) break
            val deadline = session.deadline
            socket.soTimeout = deadline?.let { maxOf(1L, it - nowMs()).toInt() } ?: STALLED_MS
            try {
                val n = input.read(buffer)
                if (n < 0) fail("the door closed the connection while the session ran")
                session.receiveStream(nowMs(), buffer, n)
            } catch (e: SocketTimeoutException) {
                if (deadline == null) fail("no answer from the door in $STALLED_MS ms and no timer running")
                session.tick(nowMs())
            }
        }
    }
    return session
}

/** Reads the simulator's event lines until [want]; fails if it exits first. */
private fun BufferedReader.awaitEvent(want: String) {
    while (true) {
        val line = readLine() ?: fail("the simulator exited before printing \"$want\"")
        if (line == want) return
    }
}

fun main(args: Array<String>) {
    if (args.size != 3) {
        System.err.println("usage: porter.simtest.SimulatorTestKt SIM_FIXTURE PORTER_DOOR_SIM WORK_DIR")
        exitProcess(2)
    }
    val fixture = ProcessBuilder(*args).redirectError(ProcessBuilder.Redirect.INHERIT).start()
    try {
        val events = fixture.inputStream.bufferedReader()
        val door = Door(events.readLine() ?: fail("the fixture exited before describing the door"))
        val grant = Grant.decode(door.grant)
        expect(grant.uses == 1) { "the fixture's grant should allow one use, not ${grant.uses}" }
        // The simulator's TCP link is a stream link of MTU 255 (spec/link.md 2.4), not BLE's 244.
        val options = SessionOptions(mtu = 255, logFrom = 0, expectedDoor = grant.site to grant.doors.first())
        HolderKey.fromSeed(door.holderSeed).use { key ->
            visit(door, key, options).use { admitted ->
                expect(admitted.outcome == Outcome.ADMITTED) { "first visit: ${admitted.outcome?.description}" }
                val bytes = admitted.receipt ?: fail("admitted without a receipt")
                val receipt = Receipt.check(bytes, door.deviceKey)
                expect(receipt.event == Event.ADMITTED && receipt.grantSerial == grant.serial &&
                    receipt.site == grant.site && receipt.door == grant.doors.first() &&
                    receipt.at == door.clock) { "receipt $receipt for grant $grant at ${door.clock}" }
                expect(admitted.logComplete && admitted.logRecords.size >= 2) {
                    "the log (enrolled, admitted) was not carried: ${admitted.logRecords.size} records"
                }
                events.awaitEvent("relay released")
            }
            visit(door, key, options).use { again ->
                expect(again.outcome == Outcome.DENIED_SPENT) {
                    "the one-use grant presented again: ${again.outcome?.description}"
                }
                expect(again.receipt == null) { "a receipt for a refused visit" }
            }
        }
        fixture.outputStream.close() // the simulator quits
        expect(fixture.waitFor() == 0) { "the fixture (or the simulator) failed: ${fixture.exitValue()}" }
        println("Kotlin against porter-door-sim over TCP: admitted with a verified receipt, relay released; the spent grant refused")
    } finally {
        fixture.destroy()
    }
}
