//! The QEMU test build's hook channel: CMSDK UART1 (0x4000_5000, QEMU's second `-serial`),
//! never the link's UART0, so that no hook byte can collide with a link frame at any MTU.
//! Compiled only with the `test-hooks` feature; a door has no UART1 listener.
//!
//! Commands (the host sends the first byte and its arguments; the board acknowledges with the
//! command byte, followed by the values listed):
//!
//! | byte | command | arguments | acknowledgement |
//! |-----:|---------|-----------|-----------------|
//! | 0xF5 | prime | RTC (u32) · next challenge nonce (16) | - |
//! | 0xF6 | report | - | 13 x u32 (see `main.rs`) |
//! | 0xF7 | press the installer button | - | - |
//! | 0xF8 | restart the controller | link MTU (u8) · factory fresh (u8, 0 or 1) | - |
//! | 0xF9 | sync | link bytes the host has sent (u32) | link bytes the board has sent (u32) |
//!
//! `sync` is the barrier between the two channels: the board answers it only once it has read
//! and acted on that many link bytes, so that the host then knows every answer (or the silence)
//! those bytes caused, and reads exactly the link bytes the board has written.

use super::{reg_read, reg_write};

const UART1: usize = 0x4000_5000;

pub const PRIME: u8 = 0xF5;
pub const REPORT: u8 = 0xF6;
pub const PRESS: u8 = 0xF7;
pub const RESTART: u8 = 0xF8;
pub const SYNC: u8 = 0xF9;

/// The length of a command, its first byte included (0: not a command).
fn command_len(first: u8) -> usize {
    match first {
        PRIME => 21,
        REPORT | PRESS => 1,
        RESTART => 3,
        SYNC => 5,
        _ => 0,
    }
}

pub enum Command {
    Prime { rtc: u32, nonce: [u8; 16] },
    Report,
    Press,
    Restart { mtu: usize, fresh: bool },
    Sync { link_bytes: u32 },
}

pub fn init() {
    reg_write(UART1 + 0x10, 16); // BAUDDIV
    reg_write(UART1 + 0x08, 0b11); // CTRL: TX and RX enabled
}

pub fn write(bytes: &[u8]) {
    for &b in bytes {
        while reg_read(UART1 + 0x04) & 0b01 != 0 {}
        reg_write(UART1, u32::from(b));
    }
}

/// Reads the hook UART's commands, one byte at a time, without blocking. It lives in the
/// board's `Uart` (in .bss with the controller), not in main's frame, so that the measured peak
/// stack is the controller's.
pub struct Channel {
    buf: [u8; 21],
    have: usize,
    /// A command that must wait (a `sync` for link bytes not read yet).
    deferred: Option<Command>,
}

impl Channel {
    pub const fn new() -> Channel {
        Channel { buf: [0; 21], have: 0, deferred: None }
    }

    /// The command to act on now: a deferred one, else the next one read. One at a time: the
    /// host waits for each acknowledgement.
    pub fn next(&mut self) -> Option<Command> {
        self.deferred.take().or_else(|| self.read())
    }

    /// Keeps `command` for the next [`Channel::next`].
    pub fn defer(&mut self, command: Command) {
        self.deferred = Some(command);
    }

    /// The next whole command, if the bytes read so far complete one. An unknown first byte is
    /// dropped (the host's test then fails on its missing acknowledgement).
    fn read(&mut self) -> Option<Command> {
        while reg_read(UART1 + 0x04) & 0b10 != 0 {
            let byte = reg_read(UART1) as u8;
            let want = command_len(if self.have == 0 { byte } else { self.buf[0] });
            if want == 0 {
                continue;
            }
            if let Some(slot) = self.buf.get_mut(self.have) {
                *slot = byte;
            }
            self.have += 1;
            if self.have == want {
                self.have = 0;
                return Some(self.decode());
            }
        }
        None
    }

    fn decode(&self) -> Command {
        let b = &self.buf;
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        match b[0] {
            PRIME => {
                let mut nonce = [0u8; 16];
                nonce.copy_from_slice(&b[5..21]);
                Command::Prime { rtc: u32_at(1), nonce }
            }
            PRESS => Command::Press,
            RESTART => Command::Restart { mtu: usize::from(b[1]), fresh: b[2] != 0 },
            SYNC => Command::Sync { link_bytes: u32_at(1) },
            _ => Command::Report,
        }
    }
}
