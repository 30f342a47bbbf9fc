/*
 * A bare-metal C "firmware" for a Cortex-M4 that links the door path of porter-ffi built
 * without std (thumbv7em-none-eabihf): proves a third-party controller can link the same
 * admission check as Porter's own firmware, and measures what it costs in flash and RAM.
 * Built and linked by ffi/ci.sh (clang + rust-lld); not run (no board or emulator in CI).
 */
#define PORTER_DOOR_ONLY /* the no_std library has the door path only */
#include "porter.h"

static porter_door_config config = {.site = 1, .door = 1, .clock_skew = 60, .challenge_lifetime = 30};
static uint8_t memory[PORTER_MAX_DOOR_MEMORY_LEN];
static size_t memory_len;
static uint8_t challenge[PORTER_MAX_CHALLENGE_LEN];
static uint8_t presentation[PORTER_MAX_PRESENTATION_LEN];
static uint8_t state[PORTER_MAX_DOOR_STATE_LEN];
volatile size_t presentation_len, state_len; /* set by the radio driver */
volatile uint32_t rtc_seconds, last_result;
volatile int relay;
static uint64_t log_length;

void Reset_Handler(void) {
    static const uint8_t nonce[PORTER_NONCE_LEN] = {1};
    size_t challenge_len = 0;
    uint32_t now = 0;
    uint64_t sequence = 0;
    porter_admission admission;
    if (porter_door_memory_init(config.site, 0, memory, sizeof memory, &memory_len) != PORTER_RESULT_OK) {
        for (;;) {}
    }
    for (;;) {
        porter_door_now(memory, memory_len, rtc_seconds, &now);
        porter_challenge_encode(config.site, config.door, nonce, sizeof nonce, now, challenge,
                                sizeof challenge, &challenge_len);
        last_result = porter_door_apply_state(&config, memory, sizeof memory, &memory_len, state,
                                              state_len, &sequence);
        last_result = porter_door_admit(&config, memory, sizeof memory, &memory_len, rtc_seconds,
                                        challenge, challenge_len, presentation, presentation_len,
                                        &admission);
        relay = last_result == PORTER_RESULT_OK && porter_result_coarse(last_result) == PORTER_COARSE_NOT_A_REFUSAL;
        if (relay) {
            static uint8_t record[PORTER_MAX_AUDIT_RECORD_LEN], receipt[PORTER_MAX_RECEIPT_LEN];
            static uint8_t previous[32], device_seed[32] = {5};
            size_t record_len, receipt_len, hash_len;
            porter_audit_record_admitted(&config, log_length, previous, 32, &admission, record,
                                         sizeof record, &record_len);
            porter_receipt_seal(device_seed, 32, record, record_len, receipt, sizeof receipt,
                                &receipt_len);
            porter_audit_record_hash(record, record_len, previous, 32, &hash_len);
            log_length++;
        }
    }
}

extern uint32_t __stack_top;
__attribute__((section(".vectors"), used)) const void *const vectors[2] = {&__stack_top, Reset_Handler};
