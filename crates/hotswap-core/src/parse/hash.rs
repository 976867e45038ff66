//! The parser's text hashes: stable across runs and processes, so trees can be compared
//! whenever they were made.

use std::collections::HashMap;

use super::Builder;

/// A 64-bit hash with no seed, so hashes are equal across runs and processes: a multiply-xorshift
/// step per 8-byte word, FNV-1a for the tail bytes, the length, and a murmur3 finalizer.
#[derive(Clone, Copy)]
pub(crate) struct StableHasher(u64);

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
const MIX: u64 = 0x9e37_79b9_7f4a_7c15;

impl StableHasher {
    pub(super) fn new() -> Self {
        StableHasher(FNV_OFFSET)
    }
    pub(super) fn word(&mut self, word: u64) {
        self.0 = (self.0 ^ word).wrapping_mul(MIX);
        self.0 ^= self.0 >> 29;
    }
    pub(super) fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.word(u64::from_le_bytes(word));
        }
        for &b in chunks.remainder() {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
        // The length keeps "ab" + "" and "a" + "b" apart when fields are written in sequence.
        self.word(bytes.len() as u64);
    }
    /// Writes source text, line endings normalized.
    pub(super) fn write_text(&mut self, builder: &Builder, text: &str) {
        self.write(builder.normalized(text).as_bytes());
    }
    pub(super) fn finish(self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^ (h >> 33)
    }
}

impl std::hash::Hasher for StableHasher {
    fn finish(&self) -> u64 {
        StableHasher::finish(*self)
    }
    fn write(&mut self, bytes: &[u8]) {
        StableHasher::write(self, bytes);
    }
}

impl Default for StableHasher {
    fn default() -> Self {
        StableHasher::new()
    }
}

/// A hash map with [`StableHasher`]: faster than the default SipHash for the short keys used
/// here, and no DoS concern (keys come from the user's own source files).
pub(crate) type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<StableHasher>>;

pub(super) fn hash_str(text: &str) -> u64 {
    let mut h = StableHasher::new();
    h.write(text.as_bytes());
    h.finish()
}

/// `text` with every line ending (`\r\n`, `\r`) spelled `\n`, borrowed when there is no `\r`.
pub(super) fn normalize_newlines(text: &str) -> std::borrow::Cow<'_, str> {
    if text.as_bytes().contains(&b'\r') {
        std::borrow::Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}
