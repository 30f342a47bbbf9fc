/*
 * Compiled by ffi/ci.sh with `clang -fmodules` against Sources/CPorter/module.modulemap: proves
 * the module map the Swift package uses builds as a Clang module, exports porter.h's API, and
 * links libporter_ffi (its `link` directive). Runs the in-memory-key driver step and checks the
 * presentation is byte-identical to Rust's. This is NOT a Swift compile: see ffi/README.md.
 *
 * usage: swift_import_test ffi/tests/data/driver.txt
 */
/* The C spelling of `@import CPorter;` (Objective-C) and `import CPorter` (Swift). */
#pragma clang module import CPorter

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t field(const char *text, const char *name, uint8_t *out, size_t cap) {
    size_t name_len = strlen(name);
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, name, name_len) == 0 && line[name_len] == ' ') {
            const char *hex = line + name_len + 1;
            size_t n = 0;
            while (n < cap && hex[2 * n] && hex[2 * n] != '\n') {
                unsigned byte;
                if (sscanf(hex + 2 * n, "%2x", &byte) != 1) break;
                out[n++] = (uint8_t)byte;
            }
            return n;
        }
    }
    fprintf(stderr, "no %s in driver data\n", name);
    exit(2);
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    FILE *f = fopen(argv[1], "rb");
    if (!f) return 2;
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';

    static uint8_t seed[32], challenge[PORTER_MAX_CHALLENGE_LEN], grant[PORTER_MAX_GRANT_LEN],
        cert[PORTER_MAX_CERTIFICATE_LEN], state[PORTER_MAX_DOOR_STATE_LEN],
        expected[PORTER_MAX_PRESENTATION_LEN], out[PORTER_MAX_PRESENTATION_LEN];
    size_t seed_len = field(text, "holder_seed", seed, sizeof seed);
    size_t challenge_len = field(text, "challenge", challenge, sizeof challenge);
    size_t grant_len = field(text, "grant", grant, sizeof grant);
    size_t cert_len = field(text, "certificate", cert, sizeof cert);
    size_t state_len = field(text, "door_state", state, sizeof state);
    size_t expected_len = field(text, "presentation", expected, sizeof expected);

    int failed = 0;
    porter_holder_key *key = NULL;
    porter_result r = porter_holder_key_new(seed, seed_len, &key);
    if (r != PORTER_RESULT_OK) {
        fprintf(stderr, "holder key: %s\n", porter_result_str(r));
        return 1;
    }
    size_t written = 0;
    r = porter_presentation_build(key, challenge, challenge_len, grant, grant_len, cert, cert_len,
                                  state, state_len, out, sizeof out, &written);
    if (r != PORTER_RESULT_OK || written != expected_len || memcmp(out, expected, written) != 0) {
        fprintf(stderr, "presentation via the CPorter module differs: %s\n", porter_result_str(r));
        failed++;
    }
    r = porter_holder_key_new(seed, 31, &key);
    if (r != PORTER_RESULT_INVALID_PARAMETER) {
        fprintf(stderr, "a 31-byte seed gave %u\n", (unsigned)r);
        failed++;
    }
    porter_holder_key_free(key);
    printf("%d passed, %d failed\n", 2 - failed, failed);
    return failed ? 1 : 0;
}
