//! The phone's end of a stream link (`spec/link.md` 2.4: a length byte before each fragment)
//! for the tests that reach a door through a socket: the `porter-door-sim` binary over TCP and
//! the QEMU board over its UART. Framing, messages and the admission are `porter-link`'s; this
//! file only moves bytes.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use porter_link::frame::{for_each_fragment, stream_prefix};
use porter_link::{
    Buffers, Holder, Outcome, PhoneSession, Progress, Reassembler, Request, SessionConfig, Status,
    StreamDecoder, MAX_ANSWER_LEN, MAX_REQUEST_LEN,
};

/// A byte stream with a read timeout.
pub trait Socket: Read + Write {
    fn set_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
}

impl Socket for TcpStream {
    fn set_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(timeout)
    }
}

impl Socket for UnixStream {
    fn set_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(timeout)
    }
}

/// How a live session ended.
#[derive(Debug)]
pub struct Visit {
    pub outcome: Outcome,
    pub receipt: Option<Vec<u8>>,
    pub log_count: usize,
    pub log_complete: bool,
}

pub struct StreamPhone<S> {
    socket: S,
    mtu: usize,
    next_id: u8,
    decoder: StreamDecoder,
}

impl<S: Socket> StreamPhone<S> {
    /// A phone on `socket`, a link of `mtu` bytes (the simulator's TCP: 255; the board: 244).
    pub fn new(socket: S, mtu: usize) -> StreamPhone<S> {
        StreamPhone { socket, mtu, next_id: 0x80, decoder: StreamDecoder::new() }
    }

    /// The socket, for what is not the link (the board's test hooks).
    pub fn socket(&mut self) -> &mut S {
        &mut self.socket
    }

    fn send_fragment(&mut self, fragment: &[u8]) {
        let mut bytes = vec![stream_prefix(fragment).expect("a fragment within the MTU")];
        bytes.extend_from_slice(fragment);
        self.socket.write_all(&bytes).expect("the door's link is up");
    }

    /// Sends the raw request `message` and returns the door's whole answer to it.
    pub fn call(&mut self, message: &[u8]) -> Vec<u8> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let mut fragments = Vec::new();
        for_each_fragment::<()>(id, message, self.mtu, |f| {
            fragments.push(f.to_vec());
            Ok(())
        })
        .expect("a message the link can frame")
        .unwrap();
        for f in &fragments {
            self.send_fragment(f);
        }
        self.socket.set_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut rx = Reassembler::new(vec![0u8; MAX_ANSWER_LEN], self.mtu);
        let mut byte = [0u8; 1];
        loop {
            self.socket.read_exact(&mut byte).expect("the door answers");
            if let Some(fragment) = self.decoder.push(byte[0]) {
                if let Ok(Progress::Complete { id: answered, .. }) = rx.push(fragment, 0) {
                    if answered == id {
                        return rx.message().to_vec();
                    }
                }
            }
        }
    }

    /// Sends a typed request; returns the door's whole answer.
    pub fn request(&mut self, request: Request<'_>) -> Vec<u8> {
        let mut buf = vec![0u8; MAX_REQUEST_LEN];
        let bytes = request.encode(&mut buf).expect("a request within its limits").to_vec();
        self.call(&bytes)
    }

    /// One visit, live: `porter_link::PhoneSession` over the socket on the wall clock (the
    /// door's challenges are its own, so nothing here is replayed). `cfg.mtu` is this link's.
    pub fn session(&mut self, mut cfg: SessionConfig<'_>, holder: Holder<'_>) -> Visit {
        cfg.mtu = self.mtu;
        let (mut request, mut answer, mut log) =
            (vec![0u8; MAX_REQUEST_LEN], vec![0u8; MAX_ANSWER_LEN], vec![0u8; 16 * 1024]);
        let buffers = Buffers { request: &mut request, answer: &mut answer, log: &mut log };
        let start = Instant::now();
        let now = || u64::try_from(start.elapsed().as_millis()).unwrap();
        let mut session = PhoneSession::new(cfg, holder, buffers, now());
        self.socket.set_timeout(Some(Duration::from_millis(5))).unwrap();
        let mut fragment = [0u8; 255];
        let mut buf = [0u8; 1024];
        while start.elapsed() < Duration::from_secs(120) {
            while let Some(n) = session.transmit(now(), &mut fragment) {
                self.send_fragment(&fragment[..n]);
            }
            match self.socket.read(&mut buf) {
                Ok(0) => panic!("the door closed the link"),
                Ok(n) => {
                    for &b in &buf[..n] {
                        if let Some(f) = self.decoder.push(b) {
                            session.receive(now(), f);
                        }
                    }
                }
                Err(e)
                    if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
                Err(e) => panic!("the door's link: {e}"),
            }
            session.tick(now());
            if let Status::Done(outcome) = session.status() {
                self.socket.set_timeout(Some(Duration::from_secs(60))).unwrap();
                return Visit {
                    outcome,
                    receipt: session.receipt().map(<[u8]>::to_vec),
                    log_count: session.log_count(),
                    log_complete: session.log_complete(),
                };
            }
        }
        panic!("the session never ended: {:?}", session.status());
    }
}
