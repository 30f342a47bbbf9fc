/*
 * Measures the peak stack of the door path (porter_door_admit, porter_door_apply_state) by
 * painting: a thread runs on a buffer filled with a pattern, and the deepest overwritten byte
 * gives the depth. The same thread running an empty function gives the baseline (glibc keeps
 * the thread descriptor and TLS at the top of a caller-provided stack). Fails if the door path
 * needs more than the budget the README promises, and checks first that the gate trips on a
 * function that grew past the budget.
 *
 * usage: stack_usage ffi/tests/data/driver.txt [budget in bytes, default 32 KiB]
 * (ci.sh also runs it with a budget below the door path's needs and expects it to fail.)
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "porter.h"

#define STACK_SIZE (512 * 1024)
#define PAINT 0xA5
#define DEFAULT_BUDGET (32 * 1024) /* ffi/README.md: "reserve 32 KiB of stack" */
static size_t budget = DEFAULT_BUDGET;

static char *text;
static uint8_t root[32], seed[32], grant[PORTER_MAX_GRANT_LEN], cert[PORTER_MAX_CERTIFICATE_LEN],
    challenge[PORTER_MAX_CHALLENGE_LEN], presentation[PORTER_MAX_PRESENTATION_LEN],
    state[PORTER_MAX_DOOR_STATE_LEN];
static size_t challenge_len, presentation_len, state_len, grant_len, cert_len;
static porter_door_config config;
static uint8_t memory[PORTER_MAX_DOOR_MEMORY_LEN];
static size_t memory_len;
static porter_result result;

static size_t hex_field(const char *name, uint8_t *out, size_t cap) {
    size_t name_len = strlen(name);
    for (char *line = text; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        if (strncmp(line, name, name_len) || line[name_len] != ' ') continue;
        const char *hex = line + name_len + 1;
        size_t n = 0;
        unsigned byte;
        while (n < cap && isxdigit((unsigned char)hex[2 * n]) &&
               isxdigit((unsigned char)hex[2 * n + 1]) && sscanf(hex + 2 * n, "%2x", &byte) == 1)
            out[n++] = (uint8_t)byte;
        return n;
    }
    fprintf(stderr, "no %s\n", name);
    exit(2);
}

static void *nothing(void *arg) { return arg; }

/* Stands in for a door path that grew past the budget: the gate must trip on it. */
static void *grown(void *arg) {
    volatile uint8_t *big = __builtin_alloca(budget + 4096);
    for (size_t i = 0; i < budget + 4096; i += 64) big[i] = (uint8_t)i;
    big[budget + 4095] = 1;
    return arg;
}

static void *admit(void *arg) {
    porter_admission admission;
    result = porter_door_admit(&config, memory, sizeof memory, &memory_len, 1795435200u, challenge,
                               challenge_len, presentation, presentation_len, &admission);
    return arg;
}

static void *now_only(void *arg) {
    uint32_t now;
    result = porter_door_now(memory, memory_len, 0, &now);
    return arg;
}

static void *init_only(void *arg) {
    result = porter_door_memory_init(config.site, 0, memory, sizeof memory, &memory_len);
    return arg;
}

static void *apply_state(void *arg) {
    uint64_t sequence;
    result = porter_door_apply_state(&config, memory, sizeof memory, &memory_len, state, state_len,
                                     &sequence);
    return arg;
}

/* Bytes of the painted stack `fn` overwrote. */
static size_t depth(void *(*fn)(void *)) {
    uint8_t *stack = aligned_alloc(4096, STACK_SIZE);
    memset(stack, PAINT, STACK_SIZE);
    pthread_attr_t attr;
    pthread_t thread;
    pthread_attr_init(&attr);
    pthread_attr_setstack(&attr, stack, STACK_SIZE);
    if (pthread_create(&thread, &attr, fn, NULL) || pthread_join(thread, NULL)) exit(2);
    pthread_attr_destroy(&attr);
    size_t untouched = 0;
    while (untouched < STACK_SIZE && stack[untouched] == PAINT) untouched++;
    free(stack);
    return STACK_SIZE - untouched;
}

int main(int argc, char **argv) {
    FILE *f = argc == 2 || argc == 3 ? fopen(argv[1], "rb") : NULL;
    if (!f) return 2;
    text = calloc(1, 1 << 16);
    if (!text || fread(text, 1, (1 << 16) - 1, f) == 0) return 2;
    fclose(f);
    hex_field("root", root, sizeof root);
    challenge_len = hex_field("challenge", challenge, sizeof challenge);
    presentation_len = hex_field("presentation", presentation, sizeof presentation);
    state_len = hex_field("door_state", state, sizeof state);
    config.site = (uint32_t)strtoul(strstr(text, "\nsite ") + 6, NULL, 10);
    config.door = (uint16_t)strtoul(strstr(text, "\ndoor ") + 6, NULL, 10);
    memcpy(config.root, root, 32);
    config.clock_skew = 60;
    config.challenge_lifetime = 30;

    if (argc == 3) budget = strtoul(argv[2], NULL, 10);
    size_t baseline = depth(nothing);
    size_t grown_depth = depth(grown) - baseline;
    if (grown_depth <= budget) {
        fprintf(stderr, "the stack gate cannot trip: a path using %zu bytes measured %zu\n",
                budget + 4096, grown_depth);
        return 1;
    }
    /* The deepest admission: nothing cached, so the root, issuer, holder and the carried door
     * state's signatures are all checked, and the state is installed. */
    porter_door_memory_init(config.site, 0, memory, sizeof memory, &memory_len);
    size_t admit_depth = depth(admit) - baseline;
    int failed = result != PORTER_RESULT_OK;
    porter_door_memory_init(config.site, 0, memory, sizeof memory, &memory_len);
    size_t state_depth = depth(apply_state) - baseline;
    failed |= result != PORTER_RESULT_OK;
    /* A steady-state admission: no door state carried, the certificate's root signature
     * cached. */
    porter_holder_key *key = NULL;
    hex_field("holder_seed", seed, sizeof seed);
    grant_len = hex_field("grant", grant, sizeof grant);
    cert_len = hex_field("certificate", cert, sizeof cert);
    failed |= porter_holder_key_new(seed, sizeof seed, &key) != PORTER_RESULT_OK;
    failed |= porter_presentation_build(key, challenge, challenge_len, grant, grant_len, cert,
                                        cert_len, NULL, 0, presentation, sizeof presentation,
                                        &presentation_len) != PORTER_RESULT_OK;
    porter_holder_key_free(key);
    porter_door_memory_init(config.site, 0, memory, sizeof memory, &memory_len);
    admit(NULL); /* the first entry: caches the certificate */
    failed |= result != PORTER_RESULT_OK;
    size_t plain_depth = depth(admit) - baseline; /* the second entry of the two-use grant */
    failed |= result != PORTER_RESULT_OK;
    size_t now_depth = depth(now_only) - baseline;
    size_t init_depth = depth(init_only) - baseline;
    printf("peak stack (budget %zu): porter_door_admit carrying door state %zu bytes, without %zu; "
           "porter_door_apply_state %zu; decoding the memory alone (porter_door_now) %zu; "
           "encoding it (porter_door_memory_init) %zu\n",
           budget, admit_depth, plain_depth, state_depth, now_depth, init_depth);
    failed |= admit_depth > budget || state_depth > budget || plain_depth > budget;
    printf("%d passed, %d failed\n", failed ? 0 : 1, failed ? 1 : 0);
    free(text);
    return failed;
}
