//! The door controller on a Cortex-M4: QEMU's `mps2-an386` board.
//!
//! Glue only: the hardware traits of `porter-device` on this board's peripherals, and a main
//! loop. This is the one firmware crate allowed `unsafe` (register and linker-symbol access);
//! every unsafe block says why it is sound.
//!
//! | trait | here |
//! |-------|------|
//! | transport | CMSDK UART0 (0x4000_4000), each fragment preceded by its length byte |
//! | NOR flash | 64 KiB of the PSRAM at 0x2100_0000, with NOR rules enforced (erase to 0xFF, program only erased words) |
//! | lock actuator | FPGAIO LED0 (0x4002_8000) stands in for the relay |
//! | door sensor | FPGAIO button 0 (0x4002_8008) |
//! | installer button | FPGAIO button 1 (same register, bit 1); QEMU cannot press it, so the test build also takes a hook |
//! | indicator | FPGAIO LED1 |
//! | clock | SysTick at 25 MHz for monotonic time; the RTC starts from semihosting's host time |
//! | entropy | xorshift seeded from host time and SysTick: QEMU models no TRNG. A real door MUST use its MCU's TRNG |
//!
//! With the `test-hooks` feature (QEMU CI only), a second UART ([`hooks`], QEMU's second
//! `-serial`) carries test commands beside the link, never on it: set the RTC and script the
//! next nonce, press the installer button, restart the controller (at another link MTU, or on a
//! factory-fresh flash), synchronise with the link, or report the measurements (painted peak
//! stack, static RAM, SysTick ticks of the last admission and of one raw signature
//! verification). The production build has no hook code and its UART0 link runs at the default
//! MTU (244).

#![no_std]
#![no_main]

use core::mem::MaybeUninit;
use core::num::NonZeroU16;
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;
use cortex_m_rt::{entry, exception};
use cortex_m_semihosting::{debug, syscall};

#[cfg(feature = "test-hooks")]
use porter_device::Mark;
use porter_device::{
    div_u64_by_u16, Clock, Controller, DoorSensor, Entropy, EntropyError, FlashError, Indicator,
    InstallerButton, LockActuator, NorFlash, Peripherals, Settings, Signal, Transport,
    TransportError, MAX_FRAGMENT,
};
use porter_link::frame::stream_prefix;
use porter_link::StreamDecoder;
use porter_protocol::Time;

#[cfg(feature = "test-hooks")]
mod hooks;

/// SysTick runs at the board's 25 MHz system clock.
const TICKS_PER_MS: NonZeroU16 = NonZeroU16::new(25_000).unwrap();
const MS_PER_S: NonZeroU16 = NonZeroU16::new(1000).unwrap();
const SYSTICK_RELOAD: u32 = 0x00FF_FFFF;
const PAINT: u32 = 0xC0DE_CAFE;

static SYSTICK_WRAPS: AtomicU32 = AtomicU32::new(0);
static RELAY_PULSES: AtomicU32 = AtomicU32::new(0);
/// Low 32 bits of the ticks when the transport last delivered a fragment, and when the relay
/// was last released: their difference is the cost of an admission, from the presentation's
/// last byte to the relay (decision, spend and audit record durable). Wraps after 171 s.
static FRAGMENT_AT: AtomicU32 = AtomicU32::new(0);
static ADMISSION_TICKS: AtomicU32 = AtomicU32::new(0);
/// Low 32 bits of the ticks at each `Clock::mark` of the last admission, in `Mark` order.
#[cfg(feature = "test-hooks")]
static MARKS: [AtomicU32; 4] = [const { AtomicU32::new(0) }; 4];
#[cfg(feature = "test-hooks")]
static RELEASE_AT: AtomicU32 = AtomicU32::new(0);

// The device interrupt table: one entry, the least cortex-m-rt's linker script accepts. The
// board enables no device interrupt (the UART and buttons are polled; the clock is SysTick, an
// exception): the default table of 240 entries cost 956 bytes of flash for nothing. Should a
// disabled interrupt fire anyway it lands in `DefaultHandler`, as before.
#[link_section = ".vector_table.interrupts"]
#[no_mangle]
static __INTERRUPTS: [unsafe extern "C" fn(); 1] = [{
    extern "C" {
        fn DefaultHandler();
    }
    DefaultHandler
}];

#[exception]
fn SysTick() {
    SYSTICK_WRAPS.fetch_add(1, Ordering::Relaxed);
}

/// Milliseconds since boot (32-bit division steps: `div_u64_by_u16`).
fn millis() -> u64 {
    div_u64_by_u16(ticks(), TICKS_PER_MS)
}

/// SysTick ticks since boot.
fn ticks() -> u64 {
    loop {
        let before = SYSTICK_WRAPS.load(Ordering::Acquire);
        let current = SYST::get_current();
        let after = SYSTICK_WRAPS.load(Ordering::Acquire);
        if before == after {
            return (u64::from(before) << 24) | u64::from(SYSTICK_RELOAD - current);
        }
    }
}

// --- Memory-mapped registers -------------------------------------------------------------

fn reg_read(addr: usize) -> u32 {
    // SAFETY: only called with the addresses of this board's UART0 and FPGAIO registers, which
    // are always mapped, word-aligned and side-effect free to read (except UART DATA, read only
    // when STATE says a byte is there).
    unsafe { core::ptr::read_volatile(addr as *const u32) }
}

fn reg_write(addr: usize, value: u32) {
    // SAFETY: as `reg_read`; these registers accept any value written by this glue.
    unsafe { core::ptr::write_volatile(addr as *mut u32, value) }
}

const UART0: usize = 0x4000_4000;
const UART_DATA: usize = UART0;
const UART_STATE: usize = UART0 + 0x04;
const UART_CTRL: usize = UART0 + 0x08;
const UART_BAUDDIV: usize = UART0 + 0x10;
const FPGAIO_LED: usize = 0x4002_8000;
const FPGAIO_BUTTON: usize = 0x4002_8008;

fn uart_init() {
    reg_write(UART_BAUDDIV, 16);
    reg_write(UART_CTRL, 0b11); // TX and RX enabled
}

fn uart_read() -> Option<u8> {
    if reg_read(UART_STATE) & 0b10 != 0 {
        Some(reg_read(UART_DATA) as u8)
    } else {
        None
    }
}

fn uart_write(byte: u8) {
    while reg_read(UART_STATE) & 0b01 != 0 {}
    reg_write(UART_DATA, u32::from(byte));
}

fn set_led(bit: u32, on: bool) {
    let leds = reg_read(FPGAIO_LED);
    reg_write(FPGAIO_LED, if on { leds | bit } else { leds & !bit });
}

// --- The traits --------------------------------------------------------------------------

/// The relay, on LED0.
struct Relay;

impl LockActuator for Relay {
    fn release(&mut self) {
        let now = ticks() as u32;
        #[cfg(feature = "test-hooks")]
        RELEASE_AT.store(now, Ordering::Relaxed);
        let since = now.wrapping_sub(FRAGMENT_AT.load(Ordering::Relaxed));
        ADMISSION_TICKS.store(since, Ordering::Relaxed);
        RELAY_PULSES.fetch_add(1, Ordering::Relaxed);
        set_led(1, true);
    }
    fn secure(&mut self) {
        set_led(1, false);
    }
}

/// The door switch, on button 0.
struct Button;

impl DoorSensor for Button {
    fn is_open(&mut self) -> bool {
        reg_read(FPGAIO_BUTTON) & 1 != 0
    }

    /// The board's two buttons are the door switch and the installer button: no request-to-exit
    /// input is wired, so every opening without an admission is an alarm.
    fn exit_requested(&mut self) -> bool {
        false
    }
}

/// The installer's commissioning button, on button 1.
struct Commissioning;

/// A press scripted by the test hook, seen by the next poll only (QEMU cannot press buttons).
#[cfg(feature = "test-hooks")]
static PRESS_PENDING: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

impl InstallerButton for Commissioning {
    fn pressed(&mut self) -> bool {
        #[cfg(feature = "test-hooks")]
        if PRESS_PENDING.swap(false, Ordering::Relaxed) {
            return true;
        }
        reg_read(FPGAIO_BUTTON) & 2 != 0
    }
}

/// LED1 lit while the door shows anything but idle.
struct Led;

impl Indicator for Led {
    fn show(&mut self, signal: Signal) {
        set_led(2, signal != Signal::Idle);
    }
}

/// RTC = a base time plus monotonic seconds; the base comes from the host at boot.
struct BoardClock {
    rtc_base: u32,
    base_ms: u64,
}

impl BoardClock {
    #[cfg(feature = "test-hooks")]
    fn set_rtc(&mut self, t: Time) {
        self.rtc_base = t.0;
        self.base_ms = millis();
    }
}

impl Clock for BoardClock {
    fn now(&mut self) -> Time {
        let seconds = div_u64_by_u16(millis().saturating_sub(self.base_ms), MS_PER_S);
        Time(self.rtc_base.saturating_add(seconds as u32))
    }
    fn millis(&mut self) -> u64 {
        millis()
    }
    #[cfg(feature = "test-hooks")]
    fn mark(&mut self, point: Mark) {
        if let Some(slot) = MARKS.get(point as usize) {
            slot.store(ticks() as u32, Ordering::Relaxed);
        }
    }
}

/// Stand-in entropy (see the crate docs): xorshift64*, with scripted bytes first in tests.
struct BoardEntropy {
    state: u64,
    script: [u8; 16],
    scripted: usize,
}

impl Entropy for BoardEntropy {
    fn fill(&mut self, out: &mut [u8]) -> Result<(), EntropyError> {
        for b in out.iter_mut() {
            if self.scripted > 0 {
                *b = self.script.get(16 - self.scripted).copied().unwrap_or(0);
                self.scripted -= 1;
                continue;
            }
            self.state ^= self.state >> 12;
            self.state ^= self.state << 25;
            self.state ^= self.state >> 27;
            *b = (self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8;
        }
        Ok(())
    }
}

/// NOR flash emulated in the PSRAM: 16 pages of 4 KiB at 0x2100_0000.
struct RamNor;

const NOR_BASE: usize = 0x2100_0000;
const NOR_PAGE: usize = 4096;
const NOR_PAGES: usize = 16;
const NOR_SIZE: usize = NOR_PAGE * NOR_PAGES;

impl RamNor {
    fn word(offset: usize) -> *mut u32 {
        (NOR_BASE + offset) as *mut u32
    }

    /// QEMU powers the PSRAM up as zeros; a factory-fresh NOR chip reads 0xFF. Every QEMU run
    /// is a new chip: erase it all once.
    fn factory_fresh() -> RamNor {
        let mut nor = RamNor;
        for page in 0..NOR_PAGES {
            let _ = nor.erase_page(page);
        }
        nor
    }
}

impl NorFlash for RamNor {
    fn page_size(&self) -> usize {
        NOR_PAGE
    }
    fn page_count(&self) -> usize {
        NOR_PAGES
    }
    fn read(&mut self, offset: usize, buf: &mut [u8]) -> Result<(), FlashError> {
        if offset.checked_add(buf.len()).is_none_or(|end| end > NOR_SIZE) {
            return Err(FlashError::OutOfBounds);
        }
        for (i, b) in buf.iter_mut().enumerate() {
            // SAFETY: offset + i < NOR_SIZE (checked above): inside the 64 KiB of PSRAM this
            // glue owns; nothing else in the firmware uses that region.
            *b = unsafe { core::ptr::read_volatile((NOR_BASE + offset + i) as *const u8) };
        }
        Ok(())
    }
    fn erase_page(&mut self, page: usize) -> Result<(), FlashError> {
        if page >= NOR_PAGES {
            return Err(FlashError::OutOfBounds);
        }
        for w in 0..NOR_PAGE / 4 {
            // SAFETY: page < NOR_PAGES, so the word is inside the region this glue owns, and
            // word-aligned.
            unsafe { core::ptr::write_volatile(Self::word(page * NOR_PAGE + w * 4), u32::MAX) };
        }
        Ok(())
    }
    fn program_word(&mut self, offset: usize, word: u32) -> Result<(), FlashError> {
        if offset % 4 != 0 || offset + 4 > NOR_SIZE {
            return Err(FlashError::OutOfBounds);
        }
        // SAFETY: aligned and inside the region (checked above).
        let current = unsafe { core::ptr::read_volatile(Self::word(offset)) };
        if current != u32::MAX {
            return Err(FlashError::NotErased);
        }
        // SAFETY: as above. NOR programming can only clear bits: AND with what is there.
        unsafe { core::ptr::write_volatile(Self::word(offset), current & word) };
        Ok(())
    }
}

/// UART0 as the transport: a stream link (`spec/link.md` 2.4, a length byte before each
/// fragment). Its MTU is the default 244 (BLE's, `porter_device::MTU`); the test build lets the
/// host restart the controller at another MTU, and counts the link bytes for the hooks' `sync`.
struct Uart {
    decoder: StreamDecoder,
    #[cfg(feature = "test-hooks")]
    mtu: usize,
    /// Link bytes read and written since boot (the hooks' `sync` barrier).
    #[cfg(feature = "test-hooks")]
    received: u32,
    #[cfg(feature = "test-hooks")]
    sent: u32,
    #[cfg(feature = "test-hooks")]
    hooks: hooks::Channel,
}

impl Transport for Uart {
    #[cfg(feature = "test-hooks")]
    fn mtu(&self) -> usize {
        self.mtu
    }

    fn receive(&mut self, buf: &mut [u8; MAX_FRAGMENT]) -> Option<usize> {
        while let Some(byte) = uart_read() {
            #[cfg(feature = "test-hooks")]
            {
                self.received = self.received.wrapping_add(1);
            }
            if let Some(fragment) = self.decoder.push(byte) {
                FRAGMENT_AT.store(ticks() as u32, Ordering::Relaxed);
                let n = fragment.len().min(MAX_FRAGMENT);
                buf.get_mut(..n)?.copy_from_slice(fragment.get(..n)?);
                return Some(n);
            }
        }
        None
    }

    fn send(&mut self, fragment: &[u8]) -> Result<(), TransportError> {
        uart_write(stream_prefix(fragment).ok_or(TransportError)?);
        for &b in fragment {
            uart_write(b);
        }
        #[cfg(feature = "test-hooks")]
        {
            self.sent = self.sent.wrapping_add(1 + fragment.len() as u32);
        }
        Ok(())
    }
}

// --- Measurements ------------------------------------------------------------------------

extern "C" {
    static mut __sdata: u32;
    static mut __edata: u32;
    static mut __sbss: u32;
    static mut __ebss: u32;
    static mut _stack_start: u32;
}

fn symbol(s: *const u32) -> usize {
    s as usize
}

#[cfg(feature = "test-hooks")]
/// Bytes of .data and .bss.
fn static_ram() -> usize {
    // Only the addresses of the linker symbols are taken: no unsafe needed.
    let (sdata, edata, sbss, ebss) = (
        symbol(&raw const __sdata),
        symbol(&raw const __edata),
        symbol(&raw const __sbss),
        symbol(&raw const __ebss),
    );
    (edata - sdata) + (ebss - sbss)
}

/// Fills the unused stack (from the end of .bss to a little below the current frame) with a
/// pattern, so that the deepest use can be found later.
#[inline(never)]
fn paint_stack() {
    let bottom = symbol(&raw const __ebss);
    let here = cortex_m::register::msp::read() as usize;
    let mut at = (bottom + 3) & !3;
    while at + 512 < here {
        // SAFETY: between the end of .bss and 512 bytes below the live stack pointer: RAM no
        // one uses yet (there is no heap), word-aligned.
        unsafe { core::ptr::write_volatile(at as *mut u32, PAINT) };
        at += 4;
    }
}

#[cfg(feature = "test-hooks")]
/// The deepest the stack has reached, in bytes.
fn peak_stack() -> usize {
    let (bottom, top) = (symbol(&raw const __ebss), symbol(&raw const _stack_start));
    let mut at = (bottom + 3) & !3;
    // SAFETY: reads of RAM between .bss and the stack top, word-aligned.
    while at < top && unsafe { core::ptr::read_volatile(at as *const u32) } == PAINT {
        at += 4;
    }
    top - at
}

#[cfg(feature = "test-hooks")]
#[inline(never)]
/// SysTick ticks of one Ed25519 verification through porter-protocol's `verify_raw`, the
/// same code every admission uses.
fn measure_raw_verify() -> u32 {
    let Ok(key) = porter_protocol::SigningKey::from_seed([7; 32]) else { return 0 };
    let message = *b"porter raw verify benchmark: 64 bytes of message for one verify";
    let domain = porter_protocol::Domain::Receipt;
    let Ok(signature) = key.sign_parts_in::<128>(domain, &[&message]) else { return 0 };
    let mut tagged = [0u8; 128];
    let tag = domain.tag();
    let len = tag.len() + message.len();
    let (t, rest) = tagged.split_at_mut(tag.len());
    t.copy_from_slice(tag);
    if let Some(m) = rest.get_mut(..message.len()) {
        m.copy_from_slice(&message);
    }
    let public = key.public_key();
    let start = ticks();
    let ok = porter_protocol::verify_raw(&public.0, tagged.get(..len).unwrap_or(&[]), &signature.0);
    let spent = ticks() - start;
    if !ok {
        say(&["raw verify failed: the measurement is void"]);
    }
    spent as u32
}

type BoardPeripherals = Peripherals<Relay, Button, BoardClock, BoardEntropy, Led, Commissioning>;
type Door = Controller<RamNor, Uart, Relay, Button, BoardClock, BoardEntropy, Led, Commissioning>;

/// The controller lives in .bss (counted as static RAM), not in main's frame.
static mut DOOR: MaybeUninit<Door> = MaybeUninit::uninit();

/// What a controller is made of besides its flash: the UART link at `mtu` bytes, the
/// peripherals, the settings. For the board's boot and the test build's restarts, each of which
/// builds the controller in the place it returns it to (a helper returning the controller by
/// value costs each of them a second copy of it on the stack).
#[inline(always)]
fn parts(clock: BoardClock, entropy_seed: u32, mtu: usize) -> (Uart, BoardPeripherals, Settings) {
    let peripherals = Peripherals {
        lock: Relay,
        sensor: Button,
        entropy: BoardEntropy {
            state: (u64::from(entropy_seed) << 32) ^ ticks() ^ 0x9E37_79B9_7F4A_7C15,
            script: [0; 16],
            scripted: 0,
        },
        clock,
        indicator: Led,
        button: Commissioning,
    };
    #[cfg(not(feature = "test-hooks"))]
    let _ = mtu; // the production link runs at the transport's default MTU
    let uart = Uart {
        decoder: StreamDecoder::new(),
        #[cfg(feature = "test-hooks")]
        mtu,
        #[cfg(feature = "test-hooks")]
        received: 0,
        #[cfg(feature = "test-hooks")]
        sent: 0,
        #[cfg(feature = "test-hooks")]
        hooks: hooks::Channel::new(),
    };
    // The QEMU vector run reads each refusal's reason back from the log: the test build writes
    // every refusal as a record of its own instead of counting repeats into a tally.
    #[cfg(feature = "test-hooks")]
    let settings = Settings { coalesce_ms: 0, ..Settings::default() };
    #[cfg(not(feature = "test-hooks"))]
    let settings = Settings::default();
    (uart, peripherals, settings)
}

/// Builds a controller on `nor` in `slot`. One call site of `Controller::new` in each build, so
/// that it is built in place: the board's boot inlines this; the test build's boot and restarts
/// share it out of line (a second call site would leave `Controller::new` out of line, returning
/// the controller through a 16 KiB temporary that doubled the boot's stack frame).
#[cfg_attr(feature = "test-hooks", inline(never))]
#[cfg_attr(not(feature = "test-hooks"), inline(always))]
fn install(
    slot: &mut MaybeUninit<Door>,
    nor: RamNor,
    clock: BoardClock,
    entropy_seed: u32,
    mtu: usize,
) -> &mut Door {
    let (uart, peripherals, settings) = parts(clock, entropy_seed, mtu);
    let Ok(door) = Controller::new(nor, uart, peripherals, settings) else {
        fail("the emulated flash does not fit the storage layout")
    };
    slot.write(door)
}

/// Boots the controller into [`DOOR`]. Not inlined, so that its locals leave main's frame.
#[inline(never)]
fn boot(host_time: u32) -> &'static mut Door {
    let clock = BoardClock { rtc_base: host_time, base_ms: 0 };
    let slot: *mut MaybeUninit<Door> = &raw mut DOOR;
    // SAFETY: `slot` points to the static, valid and aligned for a `Door`. `boot` runs once,
    // from main, before anything else touches DOOR, and no interrupt handler uses it: the
    // reference made here is the only one ever made to it.
    let slot = unsafe { &mut *slot };
    install(slot, RamNor::factory_fresh(), clock, host_time, porter_device::MTU)
}

/// The test build's restart: a power cut and back (the flash keeps everything; the RTC, battery
/// backed on a real door, keeps its time), or a factory-fresh door when `fresh`. The link
/// counters carry over so that the hooks' `sync` stays a count since QEMU started.
#[cfg(feature = "test-hooks")]
#[inline(never)]
fn restart(door: &mut Door, mtu: usize, fresh: bool, host_time: u32) {
    let clock = &door.peripherals().clock;
    let clock = BoardClock { rtc_base: clock.rtc_base, base_ms: clock.base_ms };
    let (received, sent) = (door.transport().received, door.transport().sent);
    let nor = if fresh { RamNor::factory_fresh() } else { RamNor };
    let old: *mut Door = door;
    // SAFETY: `old` comes from the only reference to the controller. The old controller is
    // dropped in place (its device key is wiped on drop) and nothing reads it again: `install`
    // writes a new one there before the place is used (or `fail` stops the board).
    // `MaybeUninit<Door>` has the layout of `Door`.
    let slot = unsafe {
        core::ptr::drop_in_place(old);
        &mut *old.cast::<MaybeUninit<Door>>()
    };
    let door = install(slot, nor, clock, host_time, mtu);
    let uart = door.transport();
    (uart.received, uart.sent) = (received, sent);
    door.start();
}

#[entry]
fn main() -> ! {
    paint_stack();
    let Some(mut core) = cortex_m::Peripherals::take() else {
        fail("core peripherals taken twice")
    };
    core.SYST.set_clock_source(SystClkSource::Core);
    core.SYST.set_reload(SYSTICK_RELOAD);
    core.SYST.clear_current();
    core.SYST.enable_interrupt();
    core.SYST.enable_counter();
    uart_init();

    // Semihosting: the host's time, for the RTC and to seed the stand-in entropy.
    // SAFETY: SYS_TIME takes no arguments; QEMU runs with semihosting enabled.
    let host_time = unsafe { syscall!(TIME) } as u32;
    #[cfg(feature = "test-hooks")]
    let verify_ticks = measure_raw_verify();
    #[cfg(feature = "test-hooks")]
    let stack_after_verify = peak_stack() as u32;

    let door = boot(host_time);
    // Recovery runs after `boot` has returned: its stack and boot's never overlap.
    door.start();
    #[cfg(feature = "test-hooks")]
    let stacks = (stack_after_verify, peak_stack() as u32);
    #[cfg(feature = "test-hooks")]
    hooks::init();
    say(&["porter door ready"]);
    #[cfg(feature = "test-hooks")]
    let mut admission_ticks: u64 = 0;
    loop {
        #[cfg(feature = "test-hooks")]
        let (pulses, start) = (RELAY_PULSES.load(Ordering::Relaxed), ticks());
        door.poll();
        #[cfg(feature = "test-hooks")]
        if RELAY_PULSES.load(Ordering::Relaxed) != pulses {
            admission_ticks = ticks() - start;
        }
        #[cfg(feature = "test-hooks")]
        if let Some(command) = door.transport().hooks.next() {
            if let Some(wait) =
                serve(door, command, host_time, verify_ticks, admission_ticks, stacks)
            {
                door.transport().hooks.defer(wait);
            }
        }
    }
}

/// Acts on one hook command; returns it if it must wait (a `sync` for link bytes not yet read).
#[cfg(feature = "test-hooks")]
fn serve(
    door: &mut Door,
    command: hooks::Command,
    host_time: u32,
    verify_ticks: u32,
    admission_ticks: u64,
    (stack_after_verify, stack_after_boot): (u32, u32),
) -> Option<hooks::Command> {
    match command {
        hooks::Command::Prime { rtc, nonce } => {
            let mask = door.next_nonce_mask();
            let hw = door.peripherals();
            hw.clock.set_rtc(Time(rtc));
            for (s, (n, m)) in hw.entropy.script.iter_mut().zip(nonce.iter().zip(mask)) {
                *s = n ^ m;
            }
            hw.entropy.scripted = 16;
            hooks::write(&[hooks::PRIME]);
        }
        hooks::Command::Press => {
            PRESS_PENDING.store(true, Ordering::Relaxed);
            hooks::write(&[hooks::PRESS]);
        }
        hooks::Command::Restart { mtu, fresh } => {
            restart(door, mtu, fresh, host_time);
            hooks::write(&[hooks::RESTART]);
        }
        // Every link byte up to `link_bytes` was read by a `poll` that also acted on it (a
        // fragment is handled in the poll that completes it).
        hooks::Command::Sync { link_bytes } => {
            let uart = door.transport();
            if uart.received.wrapping_sub(link_bytes) > u32::MAX / 2 {
                return Some(hooks::Command::Sync { link_bytes });
            }
            hooks::write(&[hooks::SYNC]);
            hooks::write(&uart.sent.to_le_bytes());
        }
        hooks::Command::Report => {
            hooks::write(&[hooks::REPORT]);
            let values = [
                peak_stack() as u32,
                static_ram() as u32,
                ADMISSION_TICKS.load(Ordering::Relaxed),
                verify_ticks,
                RELAY_PULSES.load(Ordering::Relaxed),
                admission_ticks as u32,
                stack_after_verify,
                stack_after_boot,
            ];
            // The admission's breakdown: before the decision (reassembly, dispatch), the
            // decision, the spend's write, the audit record's write, to the relay.
            let at = |i: usize| MARKS.get(i).map_or(0, |m| m.load(Ordering::Relaxed));
            let breakdown = [
                at(0).wrapping_sub(FRAGMENT_AT.load(Ordering::Relaxed)),
                at(1).wrapping_sub(at(0)),
                at(2).wrapping_sub(at(1)),
                at(3).wrapping_sub(at(2)),
                RELEASE_AT.load(Ordering::Relaxed).wrapping_sub(at(3)),
            ];
            for v in values.into_iter().chain(breakdown) {
                hooks::write(&v.to_le_bytes());
            }
        }
    }
    None
}

/// Writes a line to the semihosting console without core::fmt (which costs kilobytes).
fn say(parts: &[&str]) {
    if let Ok(mut out) = cortex_m_semihosting::hio::hstdout() {
        for p in parts {
            let _ = out.write_all(p.as_bytes());
        }
        let _ = out.write_all(b"\n");
    }
}

fn fail(why: &str) -> ! {
    say(&["porter door: ", why]);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    // The message is not formatted (core::fmt would cost kilobytes of flash); the location is.
    let file = info.location().map_or("?", |l| l.file());
    say(&["porter door panicked in ", file]);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
