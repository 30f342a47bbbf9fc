//! Why a fragment or a message was refused. One enum for the crate; each variant has a stable
//! number ([`LinkError::code`]): 1..=7 are the reassembly errors a door names in the detail of
//! its `Frame` refusal (the numbers `porter-device` used), 20.. are message decoding.

macro_rules! link_errors {
    ($($(#[$doc:meta])* $name:ident = $code:literal,)*) => {
        /// Why the link refused a fragment or a message.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum LinkError {
            $($(#[$doc])* $name,)*
        }

        impl LinkError {
            /// The stable number (`spec/link.md`, "Error numbers").
            pub const fn code(self) -> u16 {
                match self { $(LinkError::$name => $code,)* }
            }

            /// The variant's name, for logs and vectors.
            pub const fn name(self) -> &'static str {
                match self { $(LinkError::$name => stringify!($name),)* }
            }

            /// The error with stable number `code`.
            pub fn from_code(code: u16) -> Option<LinkError> {
                [$(LinkError::$name,)*].into_iter().find(|e| e.code() == code)
            }

            /// Every error, in number order.
            pub const ALL: &'static [LinkError] = &[$(LinkError::$name,)*];
        }
    };
}

link_errors! {
    /// A fragment shorter than its header, longer than the MTU, with unknown flag bits, or a
    /// middle fragment without data. The sender's fault.
    FrameBadFragment = 1,
    /// The announced length is 0 or above the receiver's buffer ([`crate::MAX_MESSAGE_LEN`]),
    /// or the fragments carry more than announced. The sender's fault.
    FrameOversized = 2,
    /// A fragment of another message arrived before this one was complete.
    FrameInterleaved = 3,
    /// A fragment index was skipped or repeated: a fragment was lost.
    FrameOutOfOrder = 4,
    /// The last fragment arrived before the announced length was reached.
    FrameTruncated = 5,
    /// No fragment arrived within the reassembly timeout.
    FrameTimeout = 6,
    /// A continuation fragment arrived with no message in progress (its start was lost or
    /// refused).
    FrameOrphan = 7,
    /// An MTU outside 20..=255.
    BadMtu = 8,
    /// A message with no bytes.
    DecodeEmpty = 20,
    /// A type byte this version does not know (or a request where an answer was expected).
    DecodeUnknownType = 21,
    /// A body shorter or longer than its type allows, or a field above its limit.
    DecodeLength = 22,
    /// Bytes after the last field.
    DecodeTrailingBytes = 23,
    /// A field with a value outside its range (a flag not 0 or 1, an unknown code, an invalid
    /// key, a Porter message that does not decode).
    DecodeBadValue = 24,
    /// The output buffer is too small for the message.
    BufferTooSmall = 25,
}

impl core::fmt::Display for LinkError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}
