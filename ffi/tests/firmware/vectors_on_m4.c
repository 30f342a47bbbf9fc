/*
 * The shared admission vectors on a Cortex-M4, through porter.h: a bare-metal C program linked
 * with porter-ffi's no_std door path (thumbv7em-none-eabihf), run by ffi/ci.sh under
 * `qemu-system-arm -machine mps2-an386 -cpu cortex-m4` with semihosting. Also measures the door
 * path's peak stack on the MCU by painting. After each admission it also writes the audit
 * record and seals the receipt, as a door must. Prints "N passed, M failed"; exits 0 only if
 * all steps match.
 *
 * No libc: the vectors file is linked in with .incbin (VECTORS_PATH, set by ci.sh) and parsed
 * here; memcpy/memset/memcmp come from Rust's compiler_builtins inside libporter_ffi.a.
 */
#define PORTER_DOOR_ONLY /* the no_std library has the door path only */
#include "porter.h"

__asm__(".section .rodata.vectors_txt,\"a\"\n"
        ".global vectors_txt\n"
        "vectors_txt:\n"
        ".incbin \"" VECTORS_PATH "\"\n"
        ".byte 0\n"
        ".previous\n");
extern const char vectors_txt[];

void *memcpy(void *dest, const void *src, size_t n);
void *memset(void *dest, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/* ---- semihosting (ARM DUI 0471): SYS_WRITE0 and SYS_EXIT ---- */

static int semihost(int op, const void *arg) {
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}
static void put(const char *s) { semihost(0x04, s); }
static void put_number(unsigned long long n) {
    char buf[24];
    int i = sizeof buf - 1;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n && i > 0);
    put(buf + i);
}
static void __attribute__((noreturn)) exit_with(int ok) {
    /* ADP_Stopped_ApplicationExit makes QEMU exit 0; ADP_Stopped_RunTimeErrorUnknown, 1. */
    semihost(0x18, (const void *)(ok ? 0x20026 : 0x20023));
    for (;;) {}
}

/* ---- the vectors ---- */

static const char *cursor;
static const char *word_start;
static size_t word_len;

/* The next space-separated field of the current line (may be empty: two spaces in a row). */
static int next_word(void) {
    if (*cursor == '\n' || *cursor == '\0') return 0;
    if (*cursor == ' ') cursor++;
    word_start = cursor;
    while (*cursor && *cursor != ' ' && *cursor != '\n') cursor++;
    word_len = (size_t)(cursor - word_start);
    return 1;
}
static int word_is(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n == word_len && memcmp(word_start, s, n) == 0;
}
static unsigned long long word_number(void) {
    unsigned long long n = 0;
    for (size_t i = 0; i < word_len; i++) n = n * 10 + (unsigned)(word_start[i] - '0');
    return n;
}
static int nibble(char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }
static size_t word_hex(uint8_t *out, size_t cap) {
    size_t n = word_len / 2;
    if (n > cap) exit_with(0);
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(nibble(word_start[2 * i]) << 4 | nibble(word_start[2 * i + 1]));
    return n;
}
static void next_line(void) {
    while (*cursor && *cursor != '\n') cursor++;
    if (*cursor == '\n') cursor++;
}

static porter_door_config config;
static uint8_t memory[PORTER_MAX_DOOR_MEMORY_LEN], before[PORTER_MAX_DOOR_MEMORY_LEN];
static size_t memory_len;
static uint8_t challenge[PORTER_MAX_CHALLENGE_LEN], input[PORTER_MAX_PRESENTATION_LEN + 64];
static unsigned passed, failed;

static void expect(porter_result got, unsigned long long want, size_t before_len) {
    int ok = got == want && (want == 0 || (memory_len == before_len && memcmp(memory, before, memory_len) == 0));
    if (ok) {
        passed++;
    } else {
        failed++;
        put("FAIL: got ");
        put_number(got);
        put(", want ");
        put_number(want);
        put("\n");
    }
}

static void check(int ok, const char *what) {
    if (ok) {
        passed++;
    } else {
        failed++;
        put("FAIL: ");
        put(what);
        put("\n");
    }
}

/* The door's log: each admission's record, chained, and its receipt. */
static uint64_t log_length;
static uint8_t log_head[32];
static const uint8_t device_seed[32] = {5};

static void log_admission(const porter_admission *admission) {
    static uint8_t record[PORTER_MAX_AUDIT_RECORD_LEN], receipt[PORTER_MAX_RECEIPT_LEN];
    size_t record_len = 0, receipt_len = 0, hash_len = 0;
    porter_result r = porter_audit_record_admitted(&config, log_length, log_head, 32, admission,
                                                   record, sizeof record, &record_len);
    if (r == PORTER_RESULT_OK)
        r = porter_receipt_seal(device_seed, 32, record, record_len, receipt, sizeof receipt,
                                &receipt_len);
    if (r == PORTER_RESULT_OK)
        r = porter_audit_record_hash(record, record_len, log_head, 32, &hash_len);
    expect(r, 0, memory_len);
    log_length++;
}

static void run_vectors(void) {
    for (cursor = vectors_txt; *cursor; next_line()) {
        if (*cursor == '#' || !next_word()) continue;
        if (word_is("config")) {
            next_word();
            config.site = (uint32_t)word_number();
            next_word();
            config.door = (uint16_t)word_number();
            next_word();
            word_hex(config.root, sizeof config.root);
            next_word();
            config.clock_skew = (uint32_t)word_number();
            next_word();
            config.challenge_lifetime = (uint32_t)word_number();
            next_word();
            if (porter_door_memory_init(config.site, (uint32_t)word_number(), memory,
                                        sizeof memory, &memory_len) != PORTER_RESULT_OK)
                exit_with(0);
        } else if (word_is("state")) {
            next_word();
            size_t len = word_hex(input, sizeof input);
            next_word();
            size_t before_len = memory_len;
            memcpy(before, memory, memory_len);
            uint64_t sequence;
            expect(porter_door_apply_state(&config, memory, sizeof memory, &memory_len, input, len,
                                           &sequence),
                   word_number(), before_len);
        } else if (word_is("admit")) {
            next_word();
            uint32_t clock = (uint32_t)word_number();
            next_word();
            size_t challenge_len = word_hex(challenge, sizeof challenge);
            next_word();
            size_t len = word_hex(input, sizeof input);
            next_word();
            size_t before_len = memory_len;
            memcpy(before, memory, memory_len);
            porter_admission admission;
            porter_result r = porter_door_admit(&config, memory, sizeof memory, &memory_len, clock,
                                                challenge, challenge_len, input, len, &admission);
            expect(r, word_number(), before_len);
            if (r == PORTER_RESULT_OK) log_admission(&admission);
        }
    }
}

/* ---- the deepest admission, on a painted stack ---- */

/* ffi/README.md: "reserve 32 KiB of stack"; measured about 17 KiB here. */
#define STACK_BUDGET (32 * 1024)

extern uint8_t __bss_start[], __bss_end[], __stack_limit[], __stack_top[];
#define PAINT 0xA5

static size_t painted_depth(void) {
    uint8_t *p = __stack_limit;
    while (p < __stack_top && *p == PAINT) p++;
    return (size_t)(__stack_top - p);
}

static void paint_stack(void) {
    uint8_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (uint8_t *p = __stack_limit; p < sp - 64; p++) *p = PAINT;
}

/* The gate itself: what fails the run. */
static int over_budget(size_t depth) { return depth > STACK_BUDGET; }

/* Stands in for a door path that grew: touches `bytes` of stack, so the gate must trip. */
__attribute__((noinline)) static void grow_stack(size_t bytes) {
    volatile uint8_t big[STACK_BUDGET + 4096];
    for (size_t i = 0; i < bytes && i < sizeof big; i += 64) big[i] = (uint8_t)i;
    big[sizeof big - 1] = 1;
}

void Reset_Handler(void) {
    /* Full access to the FPU (CPACR CP10/CP11): the eabihf code may use it. */
    *(volatile uint32_t *)0xE000ED88 |= 0xFu << 20;
    memset(__bss_start, 0, (size_t)(__bss_end - __bss_start));
    paint_stack();
    size_t baseline = painted_depth();
    run_vectors();
    size_t depth = painted_depth() - baseline;
    put("porter door path on Cortex-M4 (qemu mps2-an386): peak stack ");
    put_number(depth);
    put(" bytes (budget ");
    put_number(STACK_BUDGET);
    put(") over ");
    put_number(passed + failed);
    put(" checks (vector steps, and each admission's record and receipt)\n");
    /* The gate trips on a stack that grew past the budget (else it could never fail). */
    paint_stack();
    grow_stack(STACK_BUDGET + 4096);
    size_t grown = painted_depth() - baseline;
    check(over_budget(grown), "the stack gate trips on a path that grew past the budget");
    put_number(passed);
    put(" passed, ");
    put_number(failed);
    put(" failed\n");
    if (over_budget(depth)) put("FAIL: over the 32 KiB stack reservation ffi/README.md asks for\n");
    exit_with(failed == 0 && passed >= 60 && !over_budget(depth));
}

static void fault(void) {
    put("hard fault\n");
    exit_with(0);
}

__attribute__((section(".vectors"), used)) const void *const vector_table[16] = {
    __stack_top, Reset_Handler, fault, fault, fault, fault, fault,
};
