//! The answer writer: a cursor over the controller's answer buffer. Fixed answers are encoded
//! by [`porter_link::Answer::encode`] ([`Writer::answer`]); only the log answer, whose records
//! are read from flash one at a time, is written field by field.

use porter_link::{Answer, LinkError};

/// A small cursor writer over an output buffer; every write checks room.
pub struct Writer<'b> {
    out: &'b mut [u8],
    at: usize,
}

/// The output buffer was too small.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Full;

impl<'b> Writer<'b> {
    /// Writes into `out` from the start.
    pub fn new(out: &'b mut [u8]) -> Writer<'b> {
        Writer { out, at: 0 }
    }

    /// Appends an encoded answer.
    pub fn answer(&mut self, answer: &Answer<'_>) -> Result<&mut Self, Full> {
        let n = answer.encode(self.rest()).map_err(|_: LinkError| Full)?.len();
        self.advance(n)?;
        Ok(self)
    }

    /// Appends bytes.
    pub fn bytes(&mut self, b: &[u8]) -> Result<&mut Self, Full> {
        let end = self.at.checked_add(b.len()).ok_or(Full)?;
        self.out.get_mut(self.at..end).ok_or(Full)?.copy_from_slice(b);
        self.at = end;
        Ok(self)
    }

    /// Appends one byte.
    pub fn u8(&mut self, v: u8) -> Result<&mut Self, Full> {
        self.bytes(&[v])
    }

    /// Overwrites the byte at `at`, already written (a count filled in afterwards).
    pub fn patch(&mut self, at: usize, v: u8) {
        if at < self.at {
            if let Some(b) = self.out.get_mut(at) {
                *b = v;
            }
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.at
    }

    /// The unwritten rest, for encoders that write in place; call [`Writer::advance`] after.
    pub fn rest(&mut self) -> &mut [u8] {
        self.out.get_mut(self.at..).unwrap_or(&mut [])
    }

    /// Marks `n` bytes of [`Writer::rest`] as written.
    pub fn advance(&mut self, n: usize) -> Result<(), Full> {
        let end = self.at.checked_add(n).ok_or(Full)?;
        if end > self.out.len() {
            return Err(Full);
        }
        self.at = end;
        Ok(())
    }
}
