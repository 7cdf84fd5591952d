//! Protocol-buffer wire format reader: just enough to walk the fields of one
//! message (varint, 64-bit, length-delimited, 32-bit). Groups are a proto2
//! relic no Kubernetes type uses, so they are rejected rather than skipped.

use super::Malformed;

/// Wire types from the protobuf encoding spec.
pub(super) const VARINT: u8 = 0;
pub(super) const FIXED64: u8 = 1;
pub(super) const LEN: u8 = 2;
pub(super) const FIXED32: u8 = 5;

/// One field occurrence: its number, wire type and payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Len(&'a [u8]),
    Fixed32(u32),
}

impl Value<'_> {
    pub(super) fn wire_type(&self) -> u8 {
        match self {
            Value::Varint(_) => VARINT,
            Value::Fixed64(_) => FIXED64,
            Value::Len(_) => LEN,
            Value::Fixed32(_) => FIXED32,
        }
    }
}

/// Iterates over the fields of one encoded message.
pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Reads one base-128 varint. At most ten bytes, and the tenth may only
    /// carry the single remaining bit, as in the reference decoders.
    pub(super) fn varint(&mut self) -> Result<u64, Malformed> {
        let mut value: u64 = 0;
        for i in 0..10 {
            let Some(&byte) = self.buf.get(self.pos) else {
                return Err(Malformed::Truncated);
            };
            self.pos += 1;
            if i == 9 && byte > 1 {
                return Err(Malformed::VarintOverflow);
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Malformed::VarintOverflow)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        let end = self.pos.checked_add(n).ok_or(Malformed::Truncated)?;
        let out = self.buf.get(self.pos..end).ok_or(Malformed::Truncated)?;
        self.pos = end;
        Ok(out)
    }

    /// Next `(field number, value)`, or `None` at the end of the message.
    pub(super) fn field(&mut self) -> Result<Option<(u32, Value<'a>)>, Malformed> {
        if self.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = key >> 3;
        if number == 0 || number > u64::from(u32::MAX >> 3) {
            return Err(Malformed::FieldNumber(number));
        }
        let value = match (key & 7) as u8 {
            VARINT => Value::Varint(self.varint()?),
            FIXED64 => {
                let b = self.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Value::Fixed64(u64::from_le_bytes(a))
            }
            LEN => {
                let len = self.varint()?;
                let len = usize::try_from(len).map_err(|_| Malformed::Truncated)?;
                Value::Len(self.take(len)?)
            }
            FIXED32 => {
                let b = self.take(4)?;
                let mut a = [0u8; 4];
                a.copy_from_slice(b);
                Value::Fixed32(u32::from_le_bytes(a))
            }
            other => return Err(Malformed::WireType(other)),
        };
        Ok(Some((number as u32, value)))
    }
}
