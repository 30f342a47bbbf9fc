/*
 * The C tests of porter.h: the shared admission vectors, the driver flow, and the boundary's
 * promises (NULL pointers, short buffers, garbage give codes, never a crash, and outputs are
 * written only on success). Built with gcc -Wall -Wextra -Werror, run under AddressSanitizer
 * and under valgrind by ffi/ci.sh.
 *
 * usage: porter_test spec/vectors/admission.txt spec/vectors/audit.txt ffi/tests/data/driver.txt
 * Prints "N passed, M failed" and exits non-zero on any failure.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "porter.h"

/* Room for a presentation or a proof message, whichever is longer. */
#define OUT_LEN                                                                                 \
    (PORTER_MAX_PRESENTATION_LEN > PORTER_MAX_PROOF_MESSAGE_LEN ? PORTER_MAX_PRESENTATION_LEN   \
                                                                : PORTER_MAX_PROOF_MESSAGE_LEN)

#include <stddef.h>

/* The structs' layout, pinned to the numbers the Rust and Kotlin tests pin. */
_Static_assert(sizeof(porter_door_config) == 48 && offsetof(porter_door_config, root) == 6 &&
                   offsetof(porter_door_config, clock_skew) == 40,
               "porter_door_config layout");
_Static_assert(sizeof(porter_admission) == 80 && offsetof(porter_admission, role) == 20 &&
                   offsetof(porter_admission, package) == 32 &&
                   offsetof(porter_admission, state_sequence) == 64 &&
                   offsetof(porter_admission, at) == 72,
               "porter_admission layout");

static int passed, failed;

#define CHECK(cond, ...)                                                                    \
    do {                                                                                    \
        if (cond) {                                                                         \
            passed++;                                                                       \
        } else {                                                                            \
            failed++;                                                                       \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                 \
            fprintf(stderr, __VA_ARGS__);                                                   \
            fputc('\n', stderr);                                                            \
        }                                                                                   \
    } while (0)

#define CHECK_CODE(got, want, what)                                                         \
    do {                                                                                    \
        porter_result got_ = (got);                                                         \
        uint32_t want_ = (uint32_t)(want);                                                  \
        CHECK((uint32_t)got_ == want_, "%s: got %u (%s), want %u (%s)", what,               \
              (unsigned)got_, porter_result_str((uint32_t)got_), (unsigned)want_,           \
              porter_result_str(want_));                                                    \
    } while (0)

/* ---- small helpers: files, hex, bytes ---- */

typedef struct {
    uint8_t *data;
    size_t len;
} bytes;

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    if (!text || fread(text, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    text[size] = '\0';
    fclose(f);
    return text;
}

static int nibble(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes `len` hex characters at `text`; exits on malformed test data. */
static bytes unhex(const char *text, size_t len) {
    bytes b = {malloc(len / 2 + 1), len / 2};
    if (!b.data || len % 2) {
        fprintf(stderr, "bad hex field of %zu characters\n", len);
        exit(2);
    }
    for (size_t i = 0; i < b.len; i++) {
        int hi = nibble(text[2 * i]), lo = nibble(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            fprintf(stderr, "bad hex\n");
            exit(2);
        }
        b.data[i] = (uint8_t)(hi << 4 | lo);
    }
    return b;
}

/* Splits `line` at single spaces (an empty field is two spaces in a row) into at most
 * `max` fields, NUL-terminating each in place. Returns the field count. */
static size_t split(char *line, char **fields, size_t max) {
    size_t n = 0;
    char *start = line;
    for (char *p = line;; p++) {
        if (*p == ' ' || *p == '\0') {
            int end = *p == '\0';
            *p = '\0';
            if (n < max) fields[n++] = start;
            if (end) break;
            start = p + 1;
        }
    }
    return n;
}

/* Returns the next line at *cursor, NUL-terminated in place, or NULL at the end. */
static char *next_line(char **cursor) {
    char *line = *cursor;
    if (!line || *line == '\0') return NULL;
    char *newline = strchr(line, '\n');
    if (newline) {
        *newline = '\0';
        *cursor = newline + 1;
    } else {
        *cursor = line + strlen(line);
    }
    return line;
}

/* ---- the driver data file: "name value" lines ---- */

#define MAX_ENTRIES 64
static char *names[MAX_ENTRIES], *values[MAX_ENTRIES];
static size_t entries;

static void load_driver(char *text) {
    char *cursor = text;
    for (char *line; (line = next_line(&cursor));) {
        char *space = strchr(line, ' ');
        if (line[0] == '#' || !space || entries == MAX_ENTRIES) continue;
        *space = '\0';
        names[entries] = line;
        values[entries++] = space + 1;
    }
}

/* The `nth` (from 0) value called `name`. */
static const char *value_n(const char *name, int nth) {
    for (size_t i = 0; i < entries; i++)
        if (strcmp(names[i], name) == 0 && nth-- == 0) return values[i];
    fprintf(stderr, "driver data has no %s\n", name);
    exit(2);
}
static bytes hexv(const char *name) { const char *v = value_n(name, 0); return unhex(v, strlen(v)); }
static unsigned long long numv(const char *name) { return strtoull(value_n(name, 0), NULL, 10); }

static int same(const uint8_t *a, size_t a_len, bytes b) {
    return a_len == b.len && memcmp(a, b.data, a_len) == 0;
}

static int all(const uint8_t *p, size_t len, uint8_t v) {
    for (size_t i = 0; i < len; i++)
        if (p[i] != v) return 0;
    return 1;
}

/* ---- 1. the shared admission vectors ---- */

static void run_vectors(char *text) {
    porter_door_config config;
    static uint8_t memory[PORTER_MAX_DOOR_MEMORY_LEN], before[PORTER_MAX_DOOR_MEMORY_LEN];
    size_t len = 0, before_len;
    char name[128] = "";
    int steps = 0, admitted = 0;
    char *cursor = text;
    for (char *line; (line = next_line(&cursor));) {
        char *f[8];
        if (line[0] == '#' || line[0] == '\0') continue;
        size_t n = split(line, f, 8);
        if (strcmp(f[0], "case") == 0 && n == 2) {
            snprintf(name, sizeof name, "%s", f[1]);
        } else if (strcmp(f[0], "config") == 0 && n == 7) {
            bytes root = unhex(f[3], strlen(f[3]));
            memset(&config, 0, sizeof config);
            config.site = (uint32_t)strtoul(f[1], NULL, 10);
            config.door = (uint16_t)strtoul(f[2], NULL, 10);
            memcpy(config.root, root.data, sizeof config.root);
            config.clock_skew = (uint32_t)strtoul(f[4], NULL, 10);
            config.challenge_lifetime = (uint32_t)strtoul(f[5], NULL, 10);
            free(root.data);
            CHECK_CODE(porter_door_memory_init(config.site, (uint32_t)strtoul(f[6], NULL, 10),
                                               memory, sizeof memory, &len),
                       0, name);
        } else if (strcmp(f[0], "state") == 0 && n == 3) {
            bytes state = unhex(f[1], strlen(f[1]));
            uint32_t want = (uint32_t)strtoul(f[2], NULL, 10);
            uint64_t sequence = 0xFEEDull;
            memcpy(before, memory, len);
            before_len = len;
            porter_result r = porter_door_apply_state(&config, memory, sizeof memory, &len,
                                                      state.data, state.len, &sequence);
            CHECK_CODE(r, want, name);
            if (want != 0) {
                CHECK(len == before_len && memcmp(memory, before, len) == 0 && sequence == 0xFEED,
                      "%s: a refused state changed the memory or an output", name);
            }
            free(state.data);
            steps++;
        } else if (strcmp(f[0], "admit") == 0 && n == 5) {
            bytes challenge = unhex(f[2], strlen(f[2]));
            bytes presentation = unhex(f[3], strlen(f[3]));
            uint32_t want = (uint32_t)strtoul(f[4], NULL, 10);
            porter_admission admission;
            memset(&admission, 0xA5, sizeof admission);
            memcpy(before, memory, len);
            before_len = len;
            porter_result r = porter_door_admit(
                &config, memory, sizeof memory, &len, (uint32_t)strtoul(f[1], NULL, 10),
                challenge.data, challenge.len, presentation.data, presentation.len, &admission);
            CHECK_CODE(r, want, name);
            if (want == 0) {
                admitted++;
                CHECK(admission.uses >= 1 && admission.use_index < admission.uses,
                      "%s: admission not written", name);
            } else {
                CHECK(len == before_len && memcmp(memory, before, len) == 0,
                      "%s: a refusal changed the memory", name);
                CHECK(all((const uint8_t *)&admission, sizeof admission, 0xA5),
                      "%s: a refusal wrote the admission", name);
            }
            free(challenge.data);
            free(presentation.data);
            steps++;
        } else if (strcmp(f[0], "end") == 0) {
            name[0] = '\0';
        } else {
            fprintf(stderr, "unknown vector line starting %s (%zu fields)\n", f[0], n);
            exit(2);
        }
    }
    CHECK(steps >= 60 && admitted >= 10, "too few vectors: %d steps, %d admitted", steps, admitted);
    printf("vectors: %d steps, %d admitted\n", steps, admitted);
}

/* ---- 1b. the shared audit vectors: receipts and chains (enrolments have no C API) ---- */

static void run_audit_vectors(char *text) {
    char *cursor = text;
    int ran = 0;
    for (char *line; (line = next_line(&cursor));) {
        char *f[6];
        if (line[0] == '#' || line[0] == '\0') continue;
        size_t n = split(line, f, 6);
        if (strcmp(f[0], "enrolment") == 0) continue;
        uint32_t want = (uint32_t)strtoul(f[n - 1], NULL, 10);
        bytes key = unhex(f[1], strlen(f[1]));
        porter_result r;
        if (strcmp(f[0], "receipt") == 0 && n == 4) {
            bytes receipt = unhex(f[2], strlen(f[2]));
            porter_receipt *out = NULL;
            r = porter_receipt_check(receipt.data, receipt.len, key.data, key.len, &out);
            CHECK((out != NULL) == (r == PORTER_RESULT_OK), "receipt output on %u", r);
            porter_receipt_free(out);
            free(receipt.data);
        } else if (strcmp(f[0], "chain") == 0 && n == 5) {
            porter_audit_batch *batch = NULL;
            CHECK_CODE(porter_audit_batch_new(&batch), 0, "batch");
            r = PORTER_RESULT_OK;
            for (char *record = f[3]; record && r == PORTER_RESULT_OK;) {
                char *comma = strchr(record, ',');
                size_t len = comma ? (size_t)(comma - record) : strlen(record);
                bytes b = unhex(record, len);
                size_t before = porter_audit_batch_len(batch);
                r = porter_audit_batch_push(batch, b.data, b.len);
                CHECK(porter_audit_batch_len(batch) == before + (r == PORTER_RESULT_OK),
                      "a refused record changed the batch");
                free(b.data);
                record = comma ? comma + 1 : NULL;
            }
            if (r == PORTER_RESULT_OK && strcmp(f[2], "-") != 0) {
                bytes head = unhex(f[2], strlen(f[2]));
                r = porter_audit_batch_check_head(batch, head.data, head.len, key.data, key.len);
                free(head.data);
            }
            porter_audit_batch_free(batch);
        } else {
            fprintf(stderr, "unknown audit vector %s (%zu fields)\n", f[0], n);
            exit(2);
        }
        CHECK_CODE(r, want, f[0]);
        free(key.data);
        ran++;
    }
    CHECK(ran >= 8, "only %d audit vectors ran", ran);
    printf("audit vectors: %d\n", ran);
}

/* ---- 2. the driver flow ---- */

typedef struct {
    bytes message, signature;
    int calls, refuse;
} keystore;

/* A stand-in for the platform keystore: returns the known signature after checking that it
 * is asked to sign the expected message. */
static uint32_t keystore_sign(void *userdata, const uint8_t *message, size_t message_len,
                              uint8_t *signature) {
    keystore *k = userdata;
    k->calls++;
    if (k->refuse || !same(message, message_len, k->message)) return 1;
    memcpy(signature, k->signature.data, 64);
    return 0;
}

static void run_driver_flow(void) {
    bytes seed = hexv("holder_seed"), grant_bytes = hexv("grant"), cert = hexv("certificate"),
          state = hexv("door_state"), challenge = hexv("challenge"),
          expected = hexv("presentation"), public_key = hexv("holder_public"),
          message = hexv("proof_message"), signature = hexv("proof_signature"),
          root = hexv("root"), receipt_bytes = hexv("receipt"), device = hexv("device_public");
    static uint8_t out[OUT_LEN];
    size_t written = 0;

    /* The key, and what the grant allows. */
    porter_holder_key *key = NULL;
    CHECK_CODE(porter_holder_key_new(seed.data, seed.len, &key), 0, "holder key");
    CHECK_CODE(porter_holder_key_public(key, out, sizeof out, &written), 0, "public key");
    CHECK(same(out, written, public_key), "public key differs");

    porter_grant *grant = NULL;
    CHECK_CODE(porter_grant_decode(grant_bytes.data, grant_bytes.len, &grant), 0, "grant");
    CHECK(porter_grant_site(grant) == numv("site"), "site");
    CHECK(porter_grant_serial(grant) == numv("grant_serial"), "serial");
    CHECK(porter_grant_uses(grant) == numv("grant_uses"), "uses");
    CHECK(porter_grant_role(grant) == PORTER_ROLE_DELIVERY, "role");
    CHECK(porter_grant_not_before(grant) == numv("grant_not_before"), "not_before");
    CHECK(porter_grant_not_after(grant) == numv("grant_not_after"), "not_after");
    uint16_t doors[PORTER_MAX_GRANT_DOORS];
    CHECK_CODE(porter_grant_doors(grant, doors, PORTER_MAX_GRANT_DOORS, &written), 0, "doors");
    CHECK(written == 1 && doors[0] == numv("grant_door"), "doors: %zu", written);
    porter_grant_free(grant);

    /* Presentation with the in-memory key: byte for byte what Rust's present() makes. */
    CHECK_CODE(porter_presentation_build(key, challenge.data, challenge.len, grant_bytes.data,
                                         grant_bytes.len, cert.data, cert.len, state.data,
                                         state.len, out, sizeof out, &written),
               0, "build");
    CHECK(same(out, written, expected), "presentation differs from Rust's");

    /* Through the keystore callback, and through proof message + assemble. */
    keystore k = {message, signature, 0, 0};
    CHECK_CODE(porter_presentation_build_with_signer(
                   keystore_sign, &k, challenge.data, challenge.len, grant_bytes.data,
                   grant_bytes.len, cert.data, cert.len, state.data, state.len, out, sizeof out,
                   &written),
               0, "build with signer");
    CHECK(k.calls == 1 && same(out, written, expected), "signer path differs");
    k.refuse = 1;
    written = 777;
    CHECK_CODE(porter_presentation_build_with_signer(
                   keystore_sign, &k, challenge.data, challenge.len, grant_bytes.data,
                   grant_bytes.len, cert.data, cert.len, state.data, state.len, out, sizeof out,
                   &written),
               PORTER_RESULT_SIGNER_FAILED, "refusing signer");
    CHECK(written == 777, "a failure wrote *written");

    CHECK_CODE(porter_proof_message(challenge.data, challenge.len, grant_bytes.data,
                                    grant_bytes.len, cert.data, cert.len, state.data, state.len,
                                    out, sizeof out, &written),
               0, "proof message");
    CHECK(same(out, written, message), "proof message differs");
    CHECK_CODE(porter_presentation_assemble(challenge.data, challenge.len, grant_bytes.data,
                                            grant_bytes.len, cert.data, cert.len, state.data,
                                            state.len, signature.data, signature.len, out,
                                            sizeof out, &written),
               0, "assemble");
    CHECK(same(out, written, expected), "assembled presentation differs");
    signature.data[3] ^= 1;
    CHECK_CODE(porter_presentation_assemble(challenge.data, challenge.len, grant_bytes.data,
                                            grant_bytes.len, cert.data, cert.len, state.data,
                                            state.len, signature.data, signature.len, out,
                                            sizeof out, &written),
               PORTER_RESULT_PROOF_BAD_SIGNATURE, "assemble with a bad signature");
    signature.data[3] ^= 1;

    /* Registering the key with the server: the in-memory key, the message for a keystore
     * that signs later, and the keystore callback give the signature the server checks. */
    {
        bytes reg_challenge = hexv("registration_challenge"),
              reg_message = hexv("registration_message"),
              reg_signature = hexv("registration_signature");
        const char *carrier = value_n("carrier_id", 0);
        CHECK_CODE(porter_holder_key_sign_registration(key, reg_challenge.data, reg_challenge.len,
                                                       (const uint8_t *)carrier, strlen(carrier),
                                                       out, sizeof out, &written),
                   0, "sign registration");
        CHECK(same(out, written, reg_signature), "registration signature differs");
        CHECK_CODE(porter_registration_message(reg_challenge.data, reg_challenge.len,
                                               (const uint8_t *)carrier, strlen(carrier), out,
                                               PORTER_MAX_REGISTRATION_MESSAGE_LEN, &written),
                   0, "registration message");
        CHECK(same(out, written, reg_message), "registration message differs");
        keystore rk = {reg_message, reg_signature, 0, 0};
        CHECK_CODE(porter_registration_sign_with_signer(
                       keystore_sign, &rk, public_key.data, public_key.len, reg_challenge.data,
                       reg_challenge.len, (const uint8_t *)carrier, strlen(carrier), out,
                       sizeof out, &written),
                   0, "registration with signer");
        CHECK(rk.calls == 1 && same(out, written, reg_signature), "signer registration differs");
        /* A keystore holding another key is caught before the server sees it. */
        rk.signature.data[0] ^= 0x80;
        written = 777;
        CHECK_CODE(porter_registration_sign_with_signer(
                       keystore_sign, &rk, public_key.data, public_key.len, reg_challenge.data,
                       reg_challenge.len, (const uint8_t *)carrier, strlen(carrier), out,
                       sizeof out, &written),
                   PORTER_RESULT_PROOF_BAD_SIGNATURE, "registration with the wrong key");
        rk.signature.data[0] ^= 0x80;
        CHECK_CODE(porter_holder_key_sign_registration(key, reg_challenge.data, 31,
                                                       (const uint8_t *)carrier, strlen(carrier),
                                                       out, sizeof out, &written),
                   PORTER_RESULT_INVALID_PARAMETER, "short registration challenge");
        CHECK_CODE(porter_holder_key_sign_registration(key, reg_challenge.data, reg_challenge.len,
                                                       (const uint8_t *)carrier, strlen(carrier),
                                                       out, 63, &written),
                   PORTER_RESULT_BUFFER_TOO_SMALL, "short signature buffer");
        CHECK(written == 777, "a failure wrote *written");
        free(reg_challenge.data);
        free(reg_message.data);
        free(reg_signature.data);
    }

    /* The door: admitted twice (two uses), then spent; the carried state is in force. */
    porter_door_config config;
    memset(&config, 0, sizeof config);
    config.site = (uint32_t)numv("site");
    config.door = (uint16_t)numv("door");
    memcpy(config.root, root.data, 32);
    config.clock_skew = (uint32_t)numv("clock_skew");
    config.challenge_lifetime = (uint32_t)numv("challenge_lifetime");
    static uint8_t memory[PORTER_MAX_DOOR_MEMORY_LEN];
    size_t memory_len = 0;
    CHECK_CODE(porter_door_memory_init(config.site, 0, memory, sizeof memory, &memory_len), 0,
               "memory init");
    uint32_t clock = (uint32_t)numv("clock");
    porter_admission admission;
    for (int use = 0; use < 3; use++) {
        porter_result r = porter_door_admit(&config, memory, sizeof memory, &memory_len, clock,
                                            challenge.data, challenge.len, expected.data,
                                            expected.len, &admission);
        if (use < 2) {
            CHECK_CODE(r, 0, "admit");
            CHECK(admission.use_index == use && admission.grant_serial == numv("grant_serial") &&
                      admission.state_sequence == numv("door_state_sequence") &&
                      memcmp(admission.holder, public_key.data, 8) == 0,
                  "admission %d", use);
        } else {
            CHECK_CODE(r, PORTER_RESULT_REPLAY_DUPLICATE, "third admit");
            CHECK(porter_result_coarse(r) == PORTER_COARSE_SPENT, "coarse");
        }
    }
    /* The door's log and receipt, as a third-party door writes them: byte for byte what the
     * core writes (driver.txt's receipt is entry 7 of a log whose previous hash is 9s). */
    static const uint8_t device_seed[32] = {5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
                                            5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5};
    uint8_t previous[32], record[PORTER_MAX_AUDIT_RECORD_LEN], sealed[PORTER_MAX_RECEIPT_LEN];
    size_t record_len = 0, sealed_len = 0;
    memset(previous, 9, sizeof previous);
    admission.use_index = 0; /* the first entry's record */
    CHECK_CODE(porter_audit_record_admitted(&config, 7, previous, 32, &admission, record,
                                            sizeof record, &record_len),
               0, "admitted record");
    CHECK_CODE(porter_receipt_seal(device_seed, 32, record, record_len, sealed, sizeof sealed,
                                   &sealed_len),
               0, "seal receipt");
    CHECK(same(sealed, sealed_len, receipt_bytes), "the C door's receipt differs from the core's");
    CHECK_CODE(porter_device_key_public(device_seed, 32, out, sizeof out, &written), 0, "device key");
    CHECK(same(out, written, device), "device public key differs");
    CHECK_CODE(porter_audit_record_hash(record, record_len, previous, sizeof previous, &written), 0,
               "hash");
    CHECK_CODE(porter_audit_record_rejected(&config, 8, clock + 8, previous, 32, 501, record,
                                            sizeof record, &record_len),
               0, "rejected record");
    {
        const char *v = value_n("audit", 0);
        bytes expected_record = unhex(v, strlen(v));
        CHECK(same(record, record_len, expected_record), "rejected record differs from the core's");
        free(expected_record.data);
    }
    CHECK_CODE(porter_audit_record_rejected(&config, 8, clock, previous, 32, 0, record,
                                            sizeof record, &record_len),
               PORTER_RESULT_INVALID_PARAMETER, "reason 0");
    CHECK_CODE(porter_audit_record_alarm(&config, 9, clock, previous, 32, PORTER_ALARM_FORCED_OPEN,
                                         record, sizeof record, &record_len),
               0, "alarm record");
    CHECK_CODE(porter_log_head_seal(device_seed, 32, &config, 10, previous, 32, clock, sealed,
                                    sizeof sealed, &sealed_len),
               0, "log head");
    CHECK_CODE(porter_log_head_seal(NULL, 32, &config, 10, previous, 32, clock, sealed,
                                    sizeof sealed, &sealed_len),
               PORTER_RESULT_NULL_PARAMETER, "log head without a seed");

    uint32_t now = 0;
    CHECK_CODE(porter_door_now(memory, memory_len, 0, &now), 0, "now");
    CHECK(now == clock - 3600, "floor raised by the signed state: %u", now);
    uint8_t nonce[PORTER_NONCE_LEN];
    memset(nonce, 0x42, sizeof nonce);
    CHECK_CODE(porter_challenge_encode(config.site, config.door, nonce, sizeof nonce, clock, out,
                                       sizeof out, &written),
               0, "challenge");
    CHECK(same(out, written, challenge), "challenge differs from Rust's");

    /* The receipt and an audit batch passed through unchanged. */
    porter_receipt *receipt = NULL;
    CHECK_CODE(porter_receipt_check(receipt_bytes.data, receipt_bytes.len, device.data,
                                    device.len, &receipt),
               0, "receipt");
    CHECK(porter_receipt_event(receipt) == PORTER_EVENT_ADMITTED, "event");
    CHECK(porter_receipt_grant_serial(receipt) == numv("grant_serial"), "receipt serial");
    CHECK(porter_receipt_sequence(receipt) == numv("receipt_sequence"), "receipt sequence");
    CHECK(porter_receipt_door(receipt) == numv("door"), "receipt door");
    porter_receipt_free(receipt);
    receipt = NULL;
    CHECK_CODE(porter_receipt_check(receipt_bytes.data, receipt_bytes.len, root.data, root.len,
                                    &receipt),
               PORTER_RESULT_AUDIT_BAD_SIGNATURE, "receipt under another key");
    CHECK(receipt == NULL, "a failure wrote the receipt");

    porter_audit_batch *batch = NULL;
    CHECK_CODE(porter_audit_batch_new(&batch), 0, "batch");
    bytes records[3];
    for (int i = 0; i < 3; i++) {
        const char *v = value_n("audit", i);
        records[i] = unhex(v, strlen(v));
    }
    CHECK_CODE(porter_audit_batch_push(batch, records[0].data, records[0].len), 0, "push 0");
    CHECK_CODE(porter_audit_batch_push(batch, records[2].data, records[2].len),
               PORTER_RESULT_AUDIT_GAP, "push out of order");
    CHECK_CODE(porter_audit_batch_push(batch, records[1].data, records[1].len), 0, "push 1");
    CHECK_CODE(porter_audit_batch_push(batch, records[2].data, records[2].len), 0, "push 2");
    CHECK(porter_audit_batch_len(batch) == 3, "batch length");
    for (size_t i = 0; i < 3; i++) {
        CHECK_CODE(porter_audit_batch_get(batch, i, out, sizeof out, &written), 0, "get");
        CHECK(same(out, written, records[i]), "record %zu changed in transit", i);
        free(records[i].data);
    }
    porter_audit_batch_free(batch);
    porter_holder_key_free(key);

    bytes all_bytes[] = {seed, grant_bytes, cert, state, challenge, expected, public_key,
                         message, signature, root, receipt_bytes, device};
    for (size_t i = 0; i < sizeof all_bytes / sizeof all_bytes[0]; i++) free(all_bytes[i].data);
}

/* ---- 2b. threading: one holder key and one grant shared by several threads ---- */

typedef struct {
    const porter_holder_key *key;
    const porter_grant *grant;
    bytes challenge, grant_bytes, cert, state, expected;
    int mismatches;
} shared_work;

static void *present_many(void *arg) {
    shared_work *w = arg;
    static _Thread_local uint8_t out[PORTER_MAX_PRESENTATION_LEN];
    for (int i = 0; i < 25; i++) {
        size_t written = 0;
        porter_result r = porter_presentation_build(
            w->key, w->challenge.data, w->challenge.len, w->grant_bytes.data, w->grant_bytes.len,
            w->cert.data, w->cert.len, w->state.data, w->state.len, out, sizeof out, &written);
        if (r != PORTER_RESULT_OK || !same(out, written, w->expected) ||
            porter_grant_serial(w->grant) != numv("grant_serial"))
            __atomic_add_fetch(&w->mismatches, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void run_threads(void) {
    shared_work w = {NULL, NULL, hexv("challenge"), hexv("grant"), hexv("certificate"),
                     hexv("door_state"), hexv("presentation"), 0};
    bytes seed = hexv("holder_seed");
    porter_holder_key *key = NULL;
    porter_grant *grant = NULL;
    CHECK_CODE(porter_holder_key_new(seed.data, seed.len, &key), 0, "key");
    CHECK_CODE(porter_grant_decode(w.grant_bytes.data, w.grant_bytes.len, &grant), 0, "grant");
    w.key = key;
    w.grant = grant;
    pthread_t threads[4];
    for (int i = 0; i < 4; i++) CHECK(pthread_create(&threads[i], NULL, present_many, &w) == 0, "spawn");
    for (int i = 0; i < 4; i++) pthread_join(threads[i], NULL);
    CHECK(w.mismatches == 0, "%d presentations differed across threads", w.mismatches);
    porter_grant_free(grant);
    porter_holder_key_free(key);
    bytes all_bytes[] = {seed, w.challenge, w.grant_bytes, w.cert, w.state, w.expected};
    for (size_t i = 0; i < sizeof all_bytes / sizeof all_bytes[0]; i++) free(all_bytes[i].data);
}

/* ---- 3. NULL pointers, short buffers, garbage ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t next_random(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void run_boundaries(void) {
    bytes seed = hexv("holder_seed"), grant_bytes = hexv("grant"), cert = hexv("certificate"),
          challenge = hexv("challenge"), valid = hexv("presentation"), root = hexv("root"),
          receipt_bytes = hexv("receipt");
    static uint8_t out[PORTER_MAX_PRESENTATION_LEN];
    size_t written = 4242;
    porter_holder_key *key = NULL;

    /* NULL pointers. */
    CHECK_CODE(porter_holder_key_new(NULL, 32, &key), PORTER_RESULT_NULL_PARAMETER, "NULL seed");
    CHECK_CODE(porter_holder_key_new(seed.data, 32, NULL), PORTER_RESULT_NULL_PARAMETER, "NULL out");
    CHECK(key == NULL, "key written on failure");
    CHECK_CODE(porter_holder_key_public(NULL, out, sizeof out, &written),
               PORTER_RESULT_NULL_PARAMETER, "NULL key");
    CHECK_CODE(porter_presentation_build(NULL, challenge.data, challenge.len, grant_bytes.data,
                                         grant_bytes.len, cert.data, cert.len, NULL, 0, out,
                                         sizeof out, &written),
               PORTER_RESULT_NULL_PARAMETER, "build with NULL key");
    CHECK_CODE(porter_presentation_build_with_signer(NULL, NULL, challenge.data, challenge.len,
                                                     grant_bytes.data, grant_bytes.len, cert.data,
                                                     cert.len, NULL, 0, out, sizeof out, &written),
               PORTER_RESULT_NULL_PARAMETER, "NULL signer");
    CHECK_CODE(porter_proof_message(challenge.data, challenge.len, NULL, 5, cert.data, cert.len,
                                    NULL, 0, out, sizeof out, &written),
               PORTER_RESULT_NULL_PARAMETER, "NULL grant");
    CHECK(written == 4242, "written changed on failure");
    CHECK_CODE(porter_grant_decode(NULL, 0, NULL), PORTER_RESULT_NULL_PARAMETER, "grant NULL");
    CHECK(porter_grant_site(NULL) == 0 && porter_grant_uses(NULL) == 0 &&
              porter_grant_role(NULL) == PORTER_ROLE_INVALID && porter_grant_door_count(NULL) == 0,
          "grant accessors on NULL");
    CHECK(porter_receipt_event(NULL) == PORTER_EVENT_INVALID && porter_receipt_sequence(NULL) == 0,
          "receipt accessors on NULL");
    CHECK_CODE(porter_receipt_check(receipt_bytes.data, receipt_bytes.len, NULL, 32, NULL),
               PORTER_RESULT_NULL_PARAMETER, "receipt NULL");
    CHECK_CODE(porter_audit_batch_push(NULL, out, 1), PORTER_RESULT_NULL_PARAMETER, "batch NULL");
    CHECK(porter_audit_batch_len(NULL) == 0, "batch len NULL");
    porter_holder_key_free(NULL);
    porter_grant_free(NULL);
    porter_receipt_free(NULL);
    porter_audit_batch_free(NULL);

    porter_door_config config;
    memset(&config, 0, sizeof config);
    config.site = (uint32_t)numv("site");
    config.door = (uint16_t)numv("door");
    memcpy(config.root, root.data, 32);
    config.clock_skew = 60;
    config.challenge_lifetime = 30;
    static uint8_t memory[PORTER_MAX_DOOR_MEMORY_LEN], before[PORTER_MAX_DOOR_MEMORY_LEN];
    size_t len = 0;
    CHECK_CODE(porter_door_memory_init(config.site, 0, memory, sizeof memory, &len), 0, "init");
    memcpy(before, memory, sizeof memory);
    porter_admission admission;
    uint32_t clock = (uint32_t)numv("clock");
    CHECK_CODE(porter_door_admit(NULL, memory, sizeof memory, &len, clock, challenge.data,
                                 challenge.len, valid.data, valid.len, &admission),
               PORTER_RESULT_NULL_PARAMETER, "admit NULL config");
    CHECK_CODE(porter_door_admit(&config, NULL, sizeof memory, &len, clock, challenge.data,
                                 challenge.len, valid.data, valid.len, &admission),
               PORTER_RESULT_NULL_PARAMETER, "admit NULL memory");
    CHECK_CODE(porter_door_admit(&config, memory, sizeof memory, NULL, clock, challenge.data,
                                 challenge.len, valid.data, valid.len, &admission),
               PORTER_RESULT_NULL_PARAMETER, "admit NULL length");
    CHECK_CODE(porter_door_admit(&config, memory, sizeof memory, &len, clock, NULL, 0, valid.data,
                                 valid.len, &admission),
               PORTER_RESULT_NULL_PARAMETER, "admit NULL challenge");
    CHECK_CODE(porter_door_admit(&config, memory, sizeof memory, &len, clock, challenge.data,
                                 challenge.len, NULL, valid.len, &admission),
               PORTER_RESULT_NULL_PARAMETER, "admit NULL presentation");
    CHECK_CODE(porter_door_admit(&config, memory, sizeof memory, &len, clock, challenge.data,
                                 challenge.len, valid.data, valid.len, NULL),
               PORTER_RESULT_NULL_PARAMETER, "admit NULL admission");
    CHECK_CODE(porter_door_apply_state(&config, memory, sizeof memory, &len, NULL, 0, NULL),
               PORTER_RESULT_NULL_PARAMETER, "apply NULL");
    CHECK_CODE(porter_door_now(NULL, 0, 0, NULL), PORTER_RESULT_NULL_PARAMETER, "now NULL");
    CHECK(memcmp(memory, before, sizeof memory) == 0, "NULL calls changed the memory");

    /* Short buffers and wrong fixed lengths. */
    CHECK_CODE(porter_holder_key_new(seed.data, 16, &key), PORTER_RESULT_INVALID_PARAMETER,
               "short seed");
    static const uint8_t zeros[32];
    CHECK_CODE(porter_holder_key_new(zeros, 32, &key), PORTER_RESULT_KEY_INVALID_SEED,
               "all-zero seed");
    CHECK_CODE(porter_holder_key_new(seed.data, 32, &key), 0, "key");
    memset(out, 0xEE, sizeof out);
    written = 4242;
    CHECK_CODE(porter_holder_key_public(key, out, 31, &written), PORTER_RESULT_BUFFER_TOO_SMALL,
               "public into 31 bytes");
    CHECK_CODE(porter_presentation_build(key, challenge.data, challenge.len, grant_bytes.data,
                                         grant_bytes.len, cert.data, cert.len, NULL, 0, out, 100,
                                         &written),
               PORTER_RESULT_BUFFER_TOO_SMALL, "presentation into 100 bytes");
    CHECK(written == 4242 && all(out, sizeof out, 0xEE), "a short buffer was written");
    static uint8_t small_memory[PORTER_MAX_DOOR_MEMORY_LEN - 1];
    CHECK_CODE(porter_door_memory_init(1, 0, small_memory, sizeof small_memory, &len),
               PORTER_RESULT_BUFFER_TOO_SMALL, "small memory");
    CHECK_CODE(porter_challenge_encode(1, 1, seed.data, 15, 0, out, sizeof out, &written),
               PORTER_RESULT_INVALID_PARAMETER, "15-byte nonce");
    CHECK_CODE(porter_challenge_encode(1, 1, seed.data, 16, 0, out, 3, &written),
               PORTER_RESULT_BUFFER_TOO_SMALL, "challenge into 3 bytes");
    CHECK_CODE(porter_receipt_check(receipt_bytes.data, receipt_bytes.len, root.data, 31, NULL),
               PORTER_RESULT_NULL_PARAMETER, "receipt NULL out first");

    /* Garbage: bit flips, truncations, noise, through every decoder; never admitted, never a
     * crash, never a change to the memory. */
    for (int round = 0; round < 300; round++) {
        size_t n = valid.len;
        uint8_t *p = malloc(n);
        memcpy(p, valid.data, n);
        switch (round % 3) {
        case 0: p[next_random() % n] ^= (uint8_t)(1u << (next_random() % 8)); break;
        case 1: n = next_random() % n; break;
        default:
            n = next_random() % 300;
            for (size_t i = 0; i < n; i++) p[i] = (uint8_t)next_random();
        }
        memset(&admission, 0x5A, sizeof admission);
        porter_result r = porter_door_admit(&config, memory, sizeof memory, &len, clock,
                                            challenge.data, challenge.len, p, n, &admission);
        CHECK(r != PORTER_RESULT_OK && r != PORTER_RESULT_PANIC, "round %d: %u", round, r);
        CHECK(memcmp(memory, before, sizeof memory) == 0 &&
                  all((const uint8_t *)&admission, sizeof admission, 0x5A),
              "round %d: a refusal wrote something", round);
        porter_grant *g = NULL;
        CHECK(porter_grant_decode(p, n, &g) != PORTER_RESULT_OK && g == NULL, "garbage grant");
        porter_receipt *rc = NULL;
        CHECK(porter_receipt_check(p, n, root.data, 32, &rc) != PORTER_RESULT_OK && rc == NULL,
              "garbage receipt");
        uint64_t seq = 0;
        r = porter_door_apply_state(&config, memory, sizeof memory, &len, p, n, &seq);
        CHECK(r != PORTER_RESULT_OK && r != PORTER_RESULT_PANIC, "garbage state: %u", r);
        r = porter_presentation_build(key, challenge.data, challenge.len, p, n, cert.data,
                                      cert.len, NULL, 0, out, sizeof out, &written);
        CHECK(r != PORTER_RESULT_PANIC, "garbage grant into build");
        free(p);
    }
    /* Garbage memory fails closed with its own code. */
    size_t bad_len = PORTER_MAX_DOOR_MEMORY_LEN + 1;
    CHECK_CODE(porter_door_admit(&config, memory, sizeof memory, &bad_len, clock, challenge.data,
                                 challenge.len, valid.data, valid.len, &admission),
               PORTER_RESULT_DOOR_MEMORY_CORRUPT, "memory length past capacity");
    static uint8_t noise[PORTER_MAX_DOOR_MEMORY_LEN];
    for (size_t i = 0; i < sizeof noise; i++) noise[i] = (uint8_t)next_random();
    size_t noise_len = 200;
    CHECK_CODE(porter_door_admit(&config, noise, sizeof noise, &noise_len, clock, challenge.data,
                                 challenge.len, valid.data, valid.len, &admission),
               PORTER_RESULT_DOOR_MEMORY_CORRUPT, "noise memory");

    /* Every code has a string; unknown codes too. */
    CHECK(strncmp(porter_result_str(PORTER_RESULT_GRANT_EXPIRED), "grant_expired: ", 15) == 0,
          "%s", porter_result_str(PORTER_RESULT_GRANT_EXPIRED));
    CHECK(strncmp(porter_result_str(PORTER_RESULT_NULL_PARAMETER), "null_parameter", 14) == 0,
          "null_parameter string");
    CHECK(strncmp(porter_result_str(123456), "unknown", 7) == 0, "unknown string");
    CHECK(strncmp(porter_version(), "porter-ffi ", 11) == 0, "version: %s", porter_version());
    porter_holder_key_free(key);

    bytes all_bytes[] = {seed, grant_bytes, cert, challenge, valid, root, receipt_bytes};
    for (size_t i = 0; i < sizeof all_bytes / sizeof all_bytes[0]; i++) free(all_bytes[i].data);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr,
                "usage: %s spec/vectors/admission.txt spec/vectors/audit.txt "
                "ffi/tests/data/driver.txt\n",
                argv[0]);
        return 2;
    }
    char *vectors = read_file(argv[1]);
    char *audit = read_file(argv[2]);
    char *driver = read_file(argv[3]);
    load_driver(driver);
    run_vectors(vectors);
    run_audit_vectors(audit);
    free(audit);
    run_driver_flow();
    run_threads();
    run_boundaries();
    free(vectors);
    free(driver);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
