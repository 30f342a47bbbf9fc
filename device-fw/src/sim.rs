//! The host simulator (feature `std`): every hardware trait on a PC, with handles that let a
//! test (or the `porter-door-sim` binary's control input) move time, open the door, watch the
//! relay and cut the power.
//!
//! Handles share state with the parts the controller owns through `Rc<Cell<..>>`: the simulator
//! is single-threaded, as the firmware is.

// Host-only test equipment: offsets are checked before slicing, and a panic here fails a test
// or stops the simulator, never a door.
#![allow(clippy::indexing_slicing)]

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::rc::Rc;
use std::vec;
use std::vec::Vec;

use porter_protocol::Time;

use porter_link::frame::{for_each_fragment, stream_prefix, MAX_MTU};
use porter_link::{Progress, Reassembler, StreamDecoder, MAX_ANSWER_LEN};

use crate::hal::{
    Clock, DoorSensor, Entropy, EntropyError, FlashError, Indicator, InstallerButton, LockActuator,
    NorFlash, Signal, Transport, TransportError, MAX_FRAGMENT, MTU,
};
use crate::{Controller, Peripherals, Settings};

/// The simulator's flash geometry: 16 pages of 4 KiB (64 KiB), as on the board.
pub const SIM_PAGE_SIZE: usize = 4096;
/// Pages in the simulator's flash.
pub const SIM_PAGES: usize = 16;

/// How a power cut tears the operation it interrupts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tear {
    /// The operation did not start.
    Before,
    /// A word write programmed some of its zero bits (those selected by the mask), or an erase
    /// erased the first part of the page and scrambled one word.
    Partial(u32),
    /// The operation completed but the caller never learned it.
    After,
}

/// A power cut scheduled at a flash operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cut {
    /// The operation (program or erase, counted from 0 since the flash was made) that is torn.
    pub at_op: u64,
    /// How it is torn.
    pub tear: Tear,
}

/// NOR flash in RAM, optionally written through to a file. Counts operations and wear, refuses
/// to program a word that is not erased, and can lose power at a chosen operation.
pub struct SimFlash {
    image: Vec<u8>,
    page_size: usize,
    file: Option<File>,
    ops: u64,
    cut: Option<Cut>,
    dead: bool,
    erases_per_page: Vec<u64>,
    words_programmed: u64,
    violations: u64,
}

impl SimFlash {
    /// Erased flash of `pages` pages of `page_size` bytes.
    pub fn new(page_size: usize, pages: usize) -> SimFlash {
        SimFlash {
            image: vec![0xFF; page_size * pages],
            page_size,
            file: None,
            ops: 0,
            cut: None,
            dead: false,
            erases_per_page: vec![0; pages],
            words_programmed: 0,
            violations: 0,
        }
    }

    /// The default geometry, erased.
    pub fn blank() -> SimFlash {
        SimFlash::new(SIM_PAGE_SIZE, SIM_PAGES)
    }

    /// A flash with this content (after a power cut: the same chip, powered again).
    pub fn from_image(image: Vec<u8>, page_size: usize) -> SimFlash {
        let pages = image.len() / page_size;
        let mut f = SimFlash::new(page_size, pages);
        f.image = image;
        f
    }

    /// Opens (or creates, erased) a flash image file of the default geometry; every operation
    /// is written through to it.
    pub fn open_file(path: &Path) -> io::Result<SimFlash> {
        let mut file =
            File::options().read(true).write(true).create(true).truncate(false).open(path)?;
        let mut image = Vec::new();
        file.read_to_end(&mut image)?;
        let size = SIM_PAGE_SIZE * SIM_PAGES;
        if image.is_empty() {
            image = vec![0xFF; size];
            file.write_all(&image)?;
            file.sync_data()?;
        }
        if image.len() != size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                std::format!(
                    "{} is {} bytes, not a {size}-byte flash image: delete it to start a blank door",
                    path.display(),
                    image.len()
                ),
            ));
        }
        let mut f = SimFlash::from_image(image, SIM_PAGE_SIZE);
        f.file = Some(file);
        Ok(f)
    }

    /// Schedules a power cut.
    pub fn cut_power(&mut self, cut: Cut) {
        self.cut = Some(cut);
    }

    /// Whether power was cut.
    pub fn dead(&self) -> bool {
        self.dead
    }

    /// Program and erase operations so far.
    pub fn ops(&self) -> u64 {
        self.ops
    }

    /// The flash content.
    pub fn image(&self) -> &[u8] {
        &self.image
    }

    /// Erases per page so far.
    pub fn erases_per_page(&self) -> &[u64] {
        &self.erases_per_page
    }

    /// Words programmed so far.
    pub fn words_programmed(&self) -> u64 {
        self.words_programmed
    }

    /// Attempts to program a word that was not erased (a storage bug; must stay 0).
    pub fn violations(&self) -> u64 {
        self.violations
    }

    fn write_through(&mut self, start: usize, len: usize) -> Result<(), FlashError> {
        if let Some(file) = self.file.as_mut() {
            let bytes = self.image.get(start..start + len).ok_or(FlashError::OutOfBounds)?;
            file.seek(SeekFrom::Start(start as u64)).map_err(|_| FlashError::Device)?;
            file.write_all(bytes).map_err(|_| FlashError::Device)?;
            file.sync_data().map_err(|_| FlashError::Device)?;
        }
        Ok(())
    }

    /// Counts an operation; returns the tear to apply if power is cut at it.
    fn step(&mut self) -> Result<Option<Tear>, FlashError> {
        if self.dead {
            return Err(FlashError::Device);
        }
        let op = self.ops;
        self.ops += 1;
        match self.cut {
            Some(cut) if cut.at_op == op => {
                self.dead = true;
                Ok(Some(cut.tear))
            }
            _ => Ok(None),
        }
    }
}

impl NorFlash for SimFlash {
    fn page_size(&self) -> usize {
        self.page_size
    }

    fn page_count(&self) -> usize {
        self.image.len() / self.page_size
    }

    fn read(&mut self, offset: usize, buf: &mut [u8]) -> Result<(), FlashError> {
        if self.dead {
            return Err(FlashError::Device);
        }
        let src = self.image.get(offset..offset + buf.len()).ok_or(FlashError::OutOfBounds)?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn erase_page(&mut self, page: usize) -> Result<(), FlashError> {
        let start = page.checked_mul(self.page_size).ok_or(FlashError::OutOfBounds)?;
        if start + self.page_size > self.image.len() {
            return Err(FlashError::OutOfBounds);
        }
        let tear = self.step()?;
        let page_size = self.page_size;
        let bytes = &mut self.image[start..start + page_size];
        match tear {
            None | Some(Tear::After) => {
                bytes.fill(0xFF);
                if let Some(n) = self.erases_per_page.get_mut(page) {
                    *n += 1;
                }
            }
            Some(Tear::Before) => {}
            Some(Tear::Partial(mask)) => {
                // Erase a prefix whose length depends on the mask, and leave one word half-set.
                let words = page_size / 4;
                let done = (mask as usize % words) * 4;
                bytes[..done].fill(0xFF);
                if done + 4 <= page_size {
                    for (i, b) in bytes[done..done + 4].iter_mut().enumerate() {
                        *b |= (mask >> (8 * i)) as u8;
                    }
                }
            }
        }
        self.write_through(start, page_size)?;
        match tear {
            None => Ok(()),
            Some(_) => Err(FlashError::Device),
        }
    }

    fn program_word(&mut self, offset: usize, word: u32) -> Result<(), FlashError> {
        if offset % 4 != 0 || offset + 4 > self.image.len() {
            return Err(FlashError::OutOfBounds);
        }
        let current = u32::from_le_bytes(
            self.image[offset..offset + 4].try_into().map_err(|_| FlashError::OutOfBounds)?,
        );
        if current != 0xFFFF_FFFF {
            self.violations += 1;
            return Err(FlashError::NotErased);
        }
        let tear = self.step()?;
        let written = match tear {
            None | Some(Tear::After) => word,
            Some(Tear::Before) => current,
            // Only the zero bits selected by the mask got programmed.
            Some(Tear::Partial(mask)) => current & (word | !mask),
        };
        self.image[offset..offset + 4].copy_from_slice(&written.to_le_bytes());
        self.words_programmed += 1;
        self.write_through(offset, 4)?;
        match tear {
            None => Ok(()),
            Some(_) => Err(FlashError::Device),
        }
    }
}

/// The simulated RTC and monotonic clock. Clones share one time.
#[derive(Clone, Debug, Default)]
pub struct SimClock {
    millis: Rc<Cell<u64>>,
    /// RTC seconds minus `millis / 1000`.
    rtc_offset: Rc<Cell<i64>>,
}

impl SimClock {
    /// A clock whose RTC reads `rtc` now, with monotonic time at 0.
    pub fn new(rtc: Time) -> SimClock {
        let c = SimClock::default();
        c.set_rtc(rtc);
        c
    }

    /// Moves both clocks forward.
    pub fn advance_ms(&self, ms: u64) {
        self.millis.set(self.millis.get().saturating_add(ms));
    }

    /// Moves both clocks forward by whole seconds.
    pub fn advance_s(&self, s: u64) {
        self.advance_ms(s.saturating_mul(1000));
    }

    /// Sets the RTC (a reset, a drift, a tamper); monotonic time is unaffected.
    pub fn set_rtc(&self, rtc: Time) {
        self.rtc_offset.set(i64::from(rtc.0) - (self.millis.get() / 1000) as i64);
    }

    /// The monotonic milliseconds.
    pub fn millis_now(&self) -> u64 {
        self.millis.get()
    }

    /// The RTC now.
    pub fn rtc(&self) -> Time {
        let t = (self.millis.get() / 1000) as i64 + self.rtc_offset.get();
        Time(t.clamp(0, i64::from(u32::MAX)) as u32)
    }
}

impl Clock for SimClock {
    fn now(&mut self) -> Time {
        self.rtc()
    }
    fn millis(&mut self) -> u64 {
        self.millis.get()
    }
}

/// The relay. Clones share one state.
#[derive(Clone, Debug, Default)]
pub struct SimLock {
    released: Rc<Cell<bool>>,
    pulses: Rc<Cell<u32>>,
}

impl SimLock {
    /// Whether the door is released now.
    pub fn released(&self) -> bool {
        self.released.get()
    }
    /// How many times the relay was released (rising edges).
    pub fn pulses(&self) -> u32 {
        self.pulses.get()
    }
}

impl LockActuator for SimLock {
    fn release(&mut self) {
        if !self.released.get() {
            self.pulses.set(self.pulses.get() + 1);
        }
        self.released.set(true);
    }
    fn secure(&mut self) {
        self.released.set(false);
    }
}

/// The door position switch. Clones share one state.
#[derive(Clone, Debug, Default)]
pub struct SimSensor {
    open: Rc<Cell<bool>>,
    exit: Rc<Cell<bool>>,
}

impl SimSensor {
    /// Opens or closes the door.
    pub fn set_open(&self, open: bool) {
        self.open.set(open);
    }

    /// Presses or lets go of the request-to-exit button inside.
    pub fn set_exit_requested(&self, asked: bool) {
        self.exit.set(asked);
    }
}

impl DoorSensor for SimSensor {
    fn is_open(&mut self) -> bool {
        self.open.get()
    }

    fn exit_requested(&mut self) -> bool {
        self.exit.get()
    }
}

/// The installer button inside the housing. Clones share one state.
#[derive(Clone, Debug, Default)]
pub struct SimButton {
    held: Rc<Cell<bool>>,
}

impl SimButton {
    /// Holds the button down or lets it go.
    pub fn set_held(&self, held: bool) {
        self.held.set(held);
    }
}

impl InstallerButton for SimButton {
    fn pressed(&mut self) -> bool {
        self.held.get()
    }
}

/// Entropy: scripted bytes first (for replaying recorded challenges), then a xorshift stream.
/// Clones share one state. Not for production: the board uses its TRNG.
#[derive(Clone, Debug)]
pub struct SimEntropy {
    script: Rc<RefCell<VecDeque<u8>>>,
    state: Rc<Cell<u64>>,
    fail: Rc<Cell<bool>>,
}

impl SimEntropy {
    /// A stream from `seed` (nonzero).
    pub fn new(seed: u64) -> SimEntropy {
        SimEntropy {
            script: Rc::default(),
            state: Rc::new(Cell::new(seed | 1)),
            fail: Rc::default(),
        }
    }

    /// Queues bytes to be returned before the stream.
    pub fn script(&self, bytes: &[u8]) {
        self.script.borrow_mut().extend(bytes.iter().copied());
    }

    /// Makes `fill` fail (a broken TRNG).
    pub fn set_failing(&self, fail: bool) {
        self.fail.set(fail);
    }
}

impl Entropy for SimEntropy {
    fn fill(&mut self, out: &mut [u8]) -> Result<(), EntropyError> {
        if self.fail.get() {
            return Err(EntropyError);
        }
        let mut script = self.script.borrow_mut();
        for b in out.iter_mut() {
            *b = match script.pop_front() {
                Some(s) => s,
                None => {
                    let mut x = self.state.get();
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    self.state.set(x);
                    (x >> 24) as u8
                }
            };
        }
        Ok(())
    }
}

/// The indicator: remembers what it shows. Clones share one state.
#[derive(Clone, Debug, Default)]
pub struct SimIndicator {
    shown: Rc<RefCell<Vec<Signal>>>,
}

impl SimIndicator {
    /// The signal shown now.
    pub fn current(&self) -> Option<Signal> {
        self.shown.borrow().last().copied()
    }
    /// Every signal shown, in order.
    pub fn history(&self) -> Vec<Signal> {
        self.shown.borrow().clone()
    }
}

impl Indicator for SimIndicator {
    fn show(&mut self, signal: Signal) {
        let mut shown = self.shown.borrow_mut();
        if shown.last() != Some(&signal) {
            shown.push(signal);
        }
    }
}

/// A transport made of two fragment queues: what a phone sent, what the door sent. Its MTU is
/// [`MTU`] unless made with [`MemTransport::with_mtu`].
#[derive(Clone, Debug)]
pub struct MemTransport {
    to_door: Rc<RefCell<VecDeque<Vec<u8>>>>,
    from_door: Rc<RefCell<VecDeque<Vec<u8>>>>,
    mtu: usize,
}

impl Default for MemTransport {
    fn default() -> Self {
        MemTransport::with_mtu(MTU)
    }
}

impl MemTransport {
    /// Empty queues on a link of `mtu` bytes (20..=255).
    pub fn with_mtu(mtu: usize) -> MemTransport {
        MemTransport { to_door: Rc::default(), from_door: Rc::default(), mtu }
    }

    /// Queues a fragment for the door.
    pub fn send_fragment(&self, fragment: &[u8]) {
        self.to_door.borrow_mut().push_back(fragment.to_vec());
    }
    /// Takes a fragment the door sent.
    pub fn take_fragment(&self) -> Option<Vec<u8>> {
        self.from_door.borrow_mut().pop_front()
    }
}

impl Transport for MemTransport {
    fn receive(&mut self, buf: &mut [u8; MAX_FRAGMENT]) -> Option<usize> {
        let fragment = self.to_door.borrow_mut().pop_front()?;
        let n = fragment.len().min(MAX_FRAGMENT);
        buf[..n].copy_from_slice(&fragment[..n]);
        Some(n)
    }
    fn send(&mut self, fragment: &[u8]) -> Result<(), TransportError> {
        self.from_door.borrow_mut().push_back(fragment.to_vec());
        Ok(())
    }
    fn mtu(&self) -> usize {
        self.mtu
    }
}

/// A TCP transport on loopback: one phone at a time; a stream link of `spec/link.md` 2.4, each
/// fragment preceded by its length byte ([`stream_prefix`]), at the stream MTU of 255.
pub struct TcpTransport {
    listener: TcpListener,
    client: Option<TcpStream>,
    decoder: StreamDecoder,
    ready: VecDeque<Vec<u8>>,
}

impl TcpTransport {
    /// Listens on `addr` (use `127.0.0.1:0` for a free port).
    pub fn bind(addr: &str) -> io::Result<TcpTransport> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(TcpTransport {
            listener,
            client: None,
            decoder: StreamDecoder::new(),
            ready: VecDeque::new(),
        })
    }

    /// The address listened on.
    pub fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    fn pump(&mut self) {
        if let Ok((stream, _)) = self.listener.accept() {
            // A new phone replaces the old one.
            if stream.set_nonblocking(true).is_ok() {
                let _ = stream.set_nodelay(true);
                self.client = Some(stream);
                self.decoder.reset();
            }
        }
        let Some(client) = self.client.as_mut() else { return };
        let mut buf = [0u8; 1024];
        match client.read(&mut buf) {
            Ok(0) => self.client = None,
            Ok(n) => {
                for &b in &buf[..n] {
                    if let Some(fragment) = self.decoder.push(b) {
                        self.ready.push_back(fragment.to_vec());
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => self.client = None,
        }
    }
}

impl Transport for TcpTransport {
    fn receive(&mut self, buf: &mut [u8; MAX_FRAGMENT]) -> Option<usize> {
        if self.ready.is_empty() {
            self.pump();
        }
        let fragment = self.ready.pop_front()?;
        let n = fragment.len().min(MAX_FRAGMENT);
        buf[..n].copy_from_slice(&fragment[..n]);
        Some(n)
    }

    fn send(&mut self, fragment: &[u8]) -> Result<(), TransportError> {
        let client = self.client.as_mut().ok_or(TransportError)?;
        let prefix = stream_prefix(fragment).ok_or(TransportError)?;
        let mut framed = Vec::with_capacity(fragment.len() + 1);
        framed.push(prefix);
        framed.extend_from_slice(fragment);
        client.set_nonblocking(false).map_err(|_| TransportError)?;
        let r = client.write_all(&framed).map_err(|_| TransportError);
        let _ = client.set_nonblocking(true);
        r
    }

    fn mtu(&self) -> usize {
        MAX_MTU
    }
}

/// The simulator's controller type.
pub type SimController<T = MemTransport> =
    Controller<SimFlash, T, SimLock, SimSensor, SimClock, SimEntropy, SimIndicator, SimButton>;

/// Handles on a simulated door's hardware.
#[derive(Clone, Debug)]
pub struct Handles {
    /// The clock.
    pub clock: SimClock,
    /// The relay.
    pub lock: SimLock,
    /// The door switch.
    pub sensor: SimSensor,
    /// The entropy source.
    pub entropy: SimEntropy,
    /// The indicator.
    pub indicator: SimIndicator,
    /// The installer button.
    pub button: SimButton,
}

impl Handles {
    /// Fresh hardware with the RTC at `rtc` and entropy from `seed`.
    pub fn new(rtc: Time, seed: u64) -> Handles {
        Handles {
            clock: SimClock::new(rtc),
            lock: SimLock::default(),
            sensor: SimSensor::default(),
            entropy: SimEntropy::new(seed),
            indicator: SimIndicator::default(),
            button: SimButton::default(),
        }
    }

    /// The peripherals to boot a controller with (sharing state with these handles).
    pub fn peripherals(
        &self,
    ) -> Peripherals<SimLock, SimSensor, SimClock, SimEntropy, SimIndicator, SimButton> {
        Peripherals {
            lock: self.lock.clone(),
            sensor: self.sensor.clone(),
            clock: self.clock.clone(),
            entropy: self.entropy.clone(),
            indicator: self.indicator.clone(),
            button: self.button.clone(),
        }
    }

    /// Boots a controller on `flash` with `transport` (a [`crate::radio::RadioDoor`], a
    /// [`TcpTransport`]).
    pub fn boot_with<T: Transport>(
        &self,
        flash: SimFlash,
        transport: T,
        settings: Settings,
    ) -> Result<SimController<T>, crate::BootError> {
        Controller::boot(flash, transport, self.peripherals(), settings).map_err(|(_, e)| e)
    }

    /// Boots a controller on `flash` with an in-memory transport.
    pub fn boot(
        &self,
        flash: SimFlash,
        settings: Settings,
    ) -> Result<(SimController, MemTransport), crate::BootError> {
        let transport = MemTransport::default();
        let c = Controller::boot(flash, transport.clone(), self.peripherals(), settings)
            .map_err(|(_, e)| e)?;
        Ok((c, transport))
    }
}

/// Whole requests to a simulated door and whole answers back, framed by `porter-link` at the
/// transport's MTU: for tests that send a chosen request (a forged presentation, a malformed
/// body) where a `porter_link::PhoneSession` would only send what an honest phone sends.
/// Encode requests with `porter_link::Request::encode`, decode answers with
/// `porter_link::Answer::decode`.
pub struct Phone {
    next_id: u8,
    mtu: usize,
    reassembler: Reassembler<Vec<u8>>,
}

impl Default for Phone {
    fn default() -> Self {
        Self::new(MTU)
    }
}

impl Phone {
    /// A phone with no message in flight, on a link of `mtu` bytes.
    pub fn new(mtu: usize) -> Phone {
        Phone { next_id: 0x80, mtu, reassembler: Reassembler::new(vec![0; MAX_ANSWER_LEN], mtu) }
    }

    /// The fragments of one request, under a new message id.
    pub fn fragments(&mut self, message: &[u8]) -> Vec<Vec<u8>> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let mut out = Vec::new();
        let _ = for_each_fragment::<()>(id, message, self.mtu, |f| {
            out.push(f.to_vec());
            Ok(())
        });
        out
    }

    /// Sends `message` over `transport`, polls `controller` and returns the door's answer.
    pub fn call<T>(
        &mut self,
        controller: &mut SimController<T>,
        transport: &MemTransport,
        message: &[u8],
    ) -> Option<Vec<u8>>
    where
        T: Transport,
    {
        for f in self.fragments(message) {
            transport.send_fragment(&f);
        }
        controller.poll();
        self.collect(transport)
    }

    /// Reassembles the door's answer from the fragments it sent.
    pub fn collect(&mut self, transport: &MemTransport) -> Option<Vec<u8>> {
        let fragments: Vec<Vec<u8>> = core::iter::from_fn(|| transport.take_fragment()).collect();
        self.collect_fragments(&fragments)
    }

    /// Reassembles the last whole answer among `fragments`.
    pub fn collect_fragments(&mut self, fragments: &[Vec<u8>]) -> Option<Vec<u8>> {
        let mut answer = None;
        for f in fragments {
            if let Ok(Progress::Complete { .. }) = self.reassembler.push(f, 0) {
                answer = Some(self.reassembler.message().to_vec());
            }
        }
        answer
    }
}
