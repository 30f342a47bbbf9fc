/*
 * The link through porter.h: replays spec/vectors/link.json (flattened to lines by
 * link_vectors.jq, see ci.sh): every framing case through porter_link_reassembler_*, every
 * message through porter_link_{request,answer}_validate, and every recorded transcript through
 * a porter_session (holder key from the recorded seed): the phone's fragments byte for byte,
 * the door's fed back at their recorded times, and the outcome, log and receipt as recorded.
 *
 * usage: session_test link_vectors.txt
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "porter.h"

static int passed, failed;

static void check(int ok, const char *what, const char *name) {
    if (ok) {
        passed++;
    } else {
        failed++;
        fprintf(stderr, "FAIL %s: %s\n", name, what);
    }
}

/* Hex (or "-" for empty) into out; returns the length. */
static size_t unhex(const char *hex, uint8_t *out, size_t cap) {
    size_t n = 0;
    if (strcmp(hex, "-") == 0) return 0;
    unsigned byte;
    while (n < cap && hex[2 * n] && sscanf(hex + 2 * n, "%2x", &byte) == 1) out[n++] = (uint8_t)byte;
    return n;
}

static void to_hex(const uint8_t *b, size_t n, char *out) {
    if (n == 0) strcpy(out, "-");
    for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", b[i]);
}

/* "ok", "partial"/"complete" or the LinkError name of a result, as the vectors spell them. */
static const char *link_name(porter_result r) {
    static const struct { porter_result r; const char *name; } names[] = {
        {PORTER_RESULT_LINK_FRAME_BAD_FRAGMENT, "FrameBadFragment"},
        {PORTER_RESULT_LINK_FRAME_OVERSIZED, "FrameOversized"},
        {PORTER_RESULT_LINK_FRAME_INTERLEAVED, "FrameInterleaved"},
        {PORTER_RESULT_LINK_FRAME_OUT_OF_ORDER, "FrameOutOfOrder"},
        {PORTER_RESULT_LINK_FRAME_TRUNCATED, "FrameTruncated"},
        {PORTER_RESULT_LINK_FRAME_TIMEOUT, "FrameTimeout"},
        {PORTER_RESULT_LINK_FRAME_ORPHAN, "FrameOrphan"},
        {PORTER_RESULT_LINK_DECODE_EMPTY, "DecodeEmpty"},
        {PORTER_RESULT_LINK_DECODE_UNKNOWN_TYPE, "DecodeUnknownType"},
        {PORTER_RESULT_LINK_DECODE_LENGTH, "DecodeLength"},
        {PORTER_RESULT_LINK_DECODE_TRAILING_BYTES, "DecodeTrailingBytes"},
        {PORTER_RESULT_LINK_DECODE_BAD_VALUE, "DecodeBadValue"},
    };
    if (r == PORTER_RESULT_OK) return "ok";
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].r == r) return names[i].name;
    return porter_result_str(r);
}

static char line[1 << 14], name[128];
static uint8_t bytes[PORTER_MAX_LINK_MESSAGE_LEN], message[PORTER_MAX_LINK_MESSAGE_LEN];
static uint8_t grant[PORTER_MAX_GRANT_LEN], cert[PORTER_MAX_CERTIFICATE_LEN], device[32];

int main(int argc, char **argv) {
    FILE *f = argc == 2 ? fopen(argv[1], "r") : NULL;
    if (!f) return 2;
    porter_link_reassembler *reassembler = NULL;
    porter_session *session = NULL;
    /* Sized for the sscanf widths below (each field at most 8999 or 1000 characters). */
    static char hex[9000], a[1001], b[1001], want[64], got_hex[2 * PORTER_MAX_LINK_MTU + 2];
    size_t message_len = 0;
    int transcripts = 0, framings = 0, messages = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned mtu, seed, timeout, retries, delivered, code, records, receipt;
        unsigned long long at;
        if (sscanf(line, "framing %u %127s", &mtu, name) == 2) {
            framings++;
            message_len = 0;
            check(porter_link_reassembler_new((uint16_t)mtu, &reassembler) == PORTER_RESULT_OK, "new", name);
        } else if (sscanf(line, "f %8999s %63s", hex, want) == 2) {
            size_t n = unhex(hex, bytes, sizeof bytes);
            porter_link_progress progress = PORTER_LINK_PROGRESS_PARTIAL;
            porter_result r = porter_link_reassembler_push(reassembler, bytes, n, 0, &progress);
            const char *got = r != PORTER_RESULT_OK ? link_name(r)
                              : progress == PORTER_LINK_PROGRESS_COMPLETE ? "complete" : "partial";
            if (r == PORTER_RESULT_OK && progress == PORTER_LINK_PROGRESS_COMPLETE)
                porter_link_reassembler_message(reassembler, message, sizeof message, &message_len);
            check(strcmp(got, want) == 0, want, name);
        } else if (sscanf(line, "end %8999s", hex) == 1) {
            size_t n = unhex(hex, bytes, sizeof bytes);
            if (message_len) check(n == message_len && memcmp(bytes, message, n) == 0, "message", name);
            porter_link_reassembler_free(reassembler);
            reassembler = NULL;
        } else if (sscanf(line, "message %15s %8999s %63s", name, hex, want) == 3) {
            messages++;
            size_t n = unhex(hex, bytes, sizeof bytes);
            porter_result r = strcmp(name, "request") == 0 ? porter_link_request_validate(bytes, n)
                                                           : porter_link_answer_validate(bytes, n);
            check(strcmp(link_name(r), want) == 0, want, hex);
        } else if (sscanf(line, "transcript %127s %u %u %8999s %63s %u %u %1000s %1000s", name, &mtu,
                          &seed, hex, want, &timeout, &retries, a, b) == 9) {
            transcripts++;
            porter_session_options options;
            porter_session_options_default(&options);
            options.mtu = (uint16_t)mtu;
            options.answer_timeout_ms = timeout;
            options.max_retries = (uint8_t)retries;
            if (strcmp(want, "-") != 0) {
                options.carry_log = 1;
                options.log_from = strtoull(want, NULL, 10);
            }
            size_t device_len = unhex(hex, device, sizeof device);
            size_t grant_len = unhex(a, grant, sizeof grant), cert_len = unhex(b, cert, sizeof cert);
            uint8_t seed_bytes[32];
            memset(seed_bytes, (int)seed, sizeof seed_bytes);
            porter_holder_key *key = NULL;
            porter_holder_key_new(seed_bytes, 32, &key);
            porter_result r = porter_session_new(&options, grant, grant_len, cert, cert_len, NULL, 0,
                                                 device_len ? device : NULL, device_len, key, 0, &session);
            porter_holder_key_free(key); /* the session keeps its own copy */
            check(r == PORTER_RESULT_OK, "porter_session_new", name);
        } else if (sscanf(line, "up %llu %8999s", &at, hex) == 2) {
            uint8_t out[PORTER_MAX_LINK_MTU];
            size_t n = 0;
            porter_result r = porter_session_transmit(session, at, out, sizeof out, &n);
            to_hex(out, n, got_hex);
            check(r == PORTER_RESULT_OK && strcmp(got_hex, hex) == 0, "the phone's fragment", name);
        } else if (sscanf(line, "down %llu %u %8999s", &at, &delivered, hex) == 3) {
            size_t n = unhex(hex, bytes, sizeof bytes);
            if (delivered) check(porter_session_receive(session, at, bytes, n) == PORTER_RESULT_OK, "receive", name);
        } else if (sscanf(line, "reconnect %llu", &at) == 1) {
            check(porter_session_reconnected(session, at) == PORTER_RESULT_OK, "reconnected", name);
        } else if (sscanf(line, "expect %u %u %u", &code, &records, &receipt) == 3) {
            uint8_t out[PORTER_MAX_RECEIPT_LEN];
            size_t n = 0;
            check(porter_session_status(session) == PORTER_SESSION_STATE_DONE, "done", name);
            check(porter_session_outcome(session) == code, porter_outcome_str(code), name);
            check(porter_session_log_count(session) == records, "log records", name);
            check(porter_session_receipt(session, out, sizeof out, &n) == PORTER_RESULT_OK &&
                      (n > 0) == (receipt == 1), "receipt", name);
            porter_session_free(session);
            session = NULL;
        } else {
            fprintf(stderr, "unreadable line: %.60s\n", line);
            failed++;
        }
    }
    fclose(f);
    check(framings >= 10 && messages >= 20 && transcripts >= 10, "all three sections read", argv[1]);
    check(strncmp(porter_outcome_str(PORTER_OUTCOME_VERDICT_UNKNOWN), "verdict_unknown: ", 17) == 0,
          "porter_outcome_str", "outcomes");
    printf("link vectors through porter.h: %d framing, %d messages, %d transcripts; %d passed, %d failed\n",
           framings, messages, transcripts, passed, failed);
    return failed != 0;
}
