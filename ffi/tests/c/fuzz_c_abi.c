/*
 * libFuzzer harness over the C ABI: whatever the bytes, every call returns a code (never
 * PORTER_RESULT_PANIC, never a crash or a sanitizer report), a refusal leaves the door memory
 * byte-identical, and only the one validly signed presentation is ever admitted (every byte of
 * a presentation is covered by a signature). ffi/ci.sh builds porter-ffi with
 * SanitizerCoverage (so the fuzzer sees inside the Rust code), links this file with
 * `clang -fsanitize=fuzzer,address` and runs it for a short time from a corpus of valid
 * messages (ffi/tests/data/driver.txt).
 *
 * The first input byte picks the entry point; the rest is its input.
 * env PORTER_DRIVER_DATA: path of driver.txt (read once, at start).
 * env PORTER_SEED_CORPUS: if set, a directory to write the seed inputs into (then exits).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "porter.h"

/* Room for a presentation or a proof message, whichever is longer. */
#define OUT_LEN                                                                                 \
    (PORTER_MAX_PRESENTATION_LEN > PORTER_MAX_PROOF_MESSAGE_LEN ? PORTER_MAX_PRESENTATION_LEN   \
                                                                : PORTER_MAX_PROOF_MESSAGE_LEN)

static uint8_t seed[32], root[32], device[32], challenge[PORTER_MAX_CHALLENGE_LEN],
    cert[PORTER_MAX_CERTIFICATE_LEN], grant[PORTER_MAX_GRANT_LEN];
static uint8_t presentation[PORTER_MAX_PRESENTATION_LEN], state[PORTER_MAX_DOOR_STATE_LEN],
    receipt[PORTER_MAX_RECEIPT_LEN], audit[3 * (PORTER_MAX_AUDIT_RECORD_LEN + 1)];
static size_t challenge_len, cert_len, grant_len, presentation_len, state_len, receipt_len, audit_len;
static porter_door_config config;
static porter_holder_key *key;
static uint32_t clock_now, site;

static size_t hex_nth(const char *text, const char *name, int nth, uint8_t *out, size_t cap) {
    size_t name_len = strlen(name);
    for (const char *line = text; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        if (strncmp(line, name, name_len) || line[name_len] != ' ' || nth--) continue;
        const char *hex = line + name_len + 1;
        size_t n = 0;
        unsigned byte;
        while (n < cap && isxdigit((unsigned char)hex[2 * n]) &&
               isxdigit((unsigned char)hex[2 * n + 1]) && sscanf(hex + 2 * n, "%2x", &byte) == 1)
            out[n++] = (uint8_t)byte;
        return n;
    }
    fprintf(stderr, "driver data has no %s\n", name);
    abort();
}

static size_t hex_field(const char *text, const char *name, uint8_t *out, size_t cap) {
    return hex_nth(text, name, 0, out, cap);
}

static void write_seed(const char *dir, const char *name, uint8_t which, const uint8_t *bytes,
                       size_t len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(&which, 1, 1, f) != 1 || fwrite(bytes, 1, len, f) != len) abort();
    fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    const char *path = getenv("PORTER_DRIVER_DATA");
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) {
        fprintf(stderr, "set PORTER_DRIVER_DATA to ffi/tests/data/driver.txt\n");
        abort();
    }
    static char text[1 << 16];
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);
    hex_field(text, "holder_seed", seed, sizeof seed);
    hex_field(text, "root", root, sizeof root);
    hex_field(text, "device_public", device, sizeof device);
    challenge_len = hex_field(text, "challenge", challenge, sizeof challenge);
    cert_len = hex_field(text, "certificate", cert, sizeof cert);
    grant_len = hex_field(text, "grant", grant, sizeof grant);
    presentation_len = hex_field(text, "presentation", presentation, sizeof presentation);
    state_len = hex_field(text, "door_state", state, sizeof state);
    receipt_len = hex_field(text, "receipt", receipt, sizeof receipt);
    for (int i = 0; i < 3; i++) {
        audit_len += hex_nth(text, "audit", i, audit + audit_len, PORTER_MAX_AUDIT_RECORD_LEN);
        if (i < 2) audit[audit_len++] = 0xFF;
    }
    site = (uint32_t)strtoul(strstr(text, "\nsite ") + 6, NULL, 10);
    clock_now = (uint32_t)strtoul(strstr(text, "\nclock ") + 7, NULL, 10);
    config.site = site;
    config.door = (uint16_t)strtoul(strstr(text, "\ndoor ") + 6, NULL, 10);
    memcpy(config.root, root, 32);
    config.clock_skew = 60;
    config.challenge_lifetime = 30;
    if (porter_holder_key_new(seed, sizeof seed, &key) != PORTER_RESULT_OK) abort();

    const char *corpus = getenv("PORTER_SEED_CORPUS");
    if (corpus) {
        write_seed(corpus, "presentation", 0, presentation, presentation_len);
        write_seed(corpus, "door_state", 1, state, state_len);
        write_seed(corpus, "grant", 3, grant, grant_len);
        write_seed(corpus, "receipt", 4, receipt, receipt_len);
        write_seed(corpus, "audit", 5, audit, audit_len);
        write_seed(corpus, "challenge", 6, challenge, challenge_len);
        exit(0);
    }
    return 0;
}

static void no_panic(porter_result r) {
    if (r == PORTER_RESULT_PANIC) {
        fprintf(stderr, "PORTER_RESULT_PANIC: %s\n", porter_result_str(r));
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    uint8_t which = data[0];
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    static uint8_t memory[PORTER_MAX_DOOR_MEMORY_LEN], before[PORTER_MAX_DOOR_MEMORY_LEN];
    static uint8_t out[OUT_LEN];
    size_t memory_len = 0, written = 0;
    porter_result r;

    switch (which % 8) {
    case 0: { /* a presentation at a fresh door */
        if (porter_door_memory_init(site, 0, memory, sizeof memory, &memory_len) != PORTER_RESULT_OK)
            abort();
        memcpy(before, memory, memory_len);
        size_t before_len = memory_len;
        porter_admission admission;
        r = porter_door_admit(&config, memory, sizeof memory, &memory_len, clock_now, challenge,
                              challenge_len, in, n, &admission);
        no_panic(r);
        if (r != PORTER_RESULT_OK && (memory_len != before_len || memcmp(memory, before, before_len)))
            abort(); /* a refusal changed the memory */
        if (r == PORTER_RESULT_OK && (n != presentation_len || memcmp(in, presentation, n)))
            abort(); /* admitted something that is not the one signed presentation */
        break;
    }
    case 1: { /* door state */
        porter_door_memory_init(site, 0, memory, sizeof memory, &memory_len);
        uint64_t sequence;
        no_panic(porter_door_apply_state(&config, memory, sizeof memory, &memory_len, in, n, &sequence));
        break;
    }
    case 2: { /* door memory itself: garbage must be refused, not trusted */
        if (n > sizeof memory) n = sizeof memory;
        memcpy(memory, in, n);
        memory_len = n;
        uint32_t now;
        no_panic(porter_door_now(memory, memory_len, clock_now, &now));
        porter_admission admission;
        no_panic(porter_door_admit(&config, memory, sizeof memory, &memory_len, clock_now,
                                   challenge, challenge_len, in, n, &admission));
        break;
    }
    case 3: { /* a grant to show */
        porter_grant *g = NULL;
        r = porter_grant_decode(in, n, &g);
        no_panic(r);
        if (r == PORTER_RESULT_OK) {
            uint16_t doors[PORTER_MAX_GRANT_DOORS];
            no_panic(porter_grant_doors(g, doors, PORTER_MAX_GRANT_DOORS, &written));
            (void)porter_grant_serial(g);
        }
        porter_grant_free(g);
        break;
    }
    case 4: { /* a receipt; and the same bytes as a record the door would hash and seal */
        porter_receipt *rc = NULL;
        no_panic(porter_receipt_check(in, n, device, sizeof device, &rc));
        porter_receipt_free(rc);
        no_panic(porter_audit_record_hash(in, n, out, sizeof out, &written));
        no_panic(porter_receipt_seal(seed, sizeof seed, in, n, out, sizeof out, &written));
        break;
    }
    case 5: { /* an audit batch: records split at every 0xFF byte */
        porter_audit_batch *batch = NULL;
        if (porter_audit_batch_new(&batch) != PORTER_RESULT_OK) abort();
        size_t start = 0;
        for (size_t i = 0; i <= n; i++) {
            if (i == n || in[i] == 0xFF) {
                no_panic(porter_audit_batch_push(batch, in + start, i - start));
                start = i + 1;
            }
        }
        no_panic(porter_audit_batch_check_head(batch, in, n, device, sizeof device));
        porter_audit_batch_free(batch);
        break;
    }
    case 7: { /* a phone session fed whatever a door (or anyone in radio range) streams back */
        porter_session_options options;
        porter_session_options_default(&options);
        options.mtu = 64;
        options.carry_log = 1;
        porter_session *s = NULL;
        if (porter_session_new(&options, grant, grant_len, cert, cert_len, NULL, 0, device,
                               sizeof device, key, 0, &s) != PORTER_RESULT_OK)
            abort();
        uint64_t now = 0;
        for (size_t at = 0; at < n && porter_session_status(s) != PORTER_SESSION_STATE_DONE; at += 16) {
            no_panic(porter_session_transmit_stream(s, now, out, sizeof out, &written));
            no_panic(porter_session_receive_stream(s, now, in + at, n - at < 16 ? n - at : 16));
            now += (in[at] & 0x0F) * 500u; /* sometimes past the answer timeout */
            no_panic(porter_session_tick(s, now));
        }
        if (porter_session_outcome(s) == PORTER_OUTCOME_ADMITTED) {
            /* "admitted" only with a receipt that verifies under the door's device key */
            porter_receipt *rc = NULL;
            if (porter_session_receipt(s, out, sizeof out, &written) != PORTER_RESULT_OK ||
                porter_receipt_check(out, written, device, sizeof device, &rc) != PORTER_RESULT_OK)
                abort();
            porter_receipt_free(rc);
        }
        porter_session_free(s);
        break;
    }
    default: /* a presentation built from a garbage grant, certificate or challenge */
        no_panic(porter_presentation_build(key, in, n, grant, grant_len, cert, cert_len, NULL, 0,
                                           out, sizeof out, &written));
        no_panic(porter_presentation_build(key, challenge, challenge_len, in, n, cert, cert_len,
                                           NULL, 0, out, sizeof out, &written));
        no_panic(porter_proof_message(challenge, challenge_len, grant, grant_len, in, n, NULL, 0,
                                      out, sizeof out, &written));
        break;
    }
    return 0;
}
