//! Bytes of generated files: a function of the offset alone, so that a file of any size costs no
//! memory and a test can check any range byte for byte. Every 8-byte word is a hash of its index,
//! so a part served from the wrong offset never matches (no period at 4 KiB or 1 MiB).

/// The word at index `word` (bytes `8 * word .. 8 * word + 8`): SplitMix64's finalizer.
fn word(word: u64) -> u64 {
    let mut x = word.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Byte `i` of every generated file.
pub fn generated_byte(i: u64) -> u8 {
    word(i / 8).to_le_bytes()[(i % 8) as usize]
}

/// Bytes `offset .. offset + len` of every generated file.
pub fn generated_bytes(offset: u64, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 16);
    let skip = (offset % 8) as usize;
    let mut index = offset / 8;
    out.extend_from_slice(&word(index).to_le_bytes()[skip..]);
    while out.len() < len {
        index += 1;
        out.extend_from_slice(&word(index).to_le_bytes());
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_range_matches_the_bytes_one_by_one() {
        for (offset, len) in [(0u64, 0usize), (0, 1), (3, 21), (4093, 9), (1 << 20, 4096), ((300 << 20) - 5, 5)] {
            let want: Vec<u8> = (offset..offset + len as u64).map(generated_byte).collect();
            assert_eq!(generated_bytes(offset, len), want, "{offset}+{len}");
        }
    }

    #[test]
    fn parts_at_4_kib_and_1_mib_apart_differ() {
        let part = generated_bytes(0, 4096);
        assert_ne!(part, generated_bytes(4096, 4096));
        assert_ne!(part, generated_bytes(1 << 20, 4096));
    }
}
