//! Bytes of generated files, a function of the offset alone: any size costs no memory and any range
//! can be checked. Each 4 KiB block is a slice of one fixed random table at a hash of its index,
//! with the index XORed into its first 8 bytes, so no two blocks match and a chunk is a few copies.

use std::sync::OnceLock;

/// Bytes per block.
const BLOCK: u64 = 4096;
/// Length of the table blocks are cut from (plus one block, so that any start has a whole block).
const TABLE_LEN: u64 = 256 * 1024;

/// SplitMix64's finalizer: a well mixed word for every index.
fn mix(index: u64) -> u64 {
    let mut x = index.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The table: 256 KiB + one block, made once per process.
fn table() -> &'static [u8] {
    static TABLE: OnceLock<Vec<u8>> = OnceLock::new();
    TABLE.get_or_init(|| (0..(TABLE_LEN + BLOCK) / 8).flat_map(|i| mix(i).to_le_bytes()).collect())
}

/// Bytes `offset .. offset + len` of every generated file.
pub fn generated_bytes(offset: u64, len: usize) -> Vec<u8> {
    let table = table();
    let mut out = Vec::with_capacity(len);
    let end = offset + len as u64;
    let mut at = offset;
    while at < end {
        let block = at / BLOCK;
        let (from, to) = ((at % BLOCK) as usize, (end - block * BLOCK).min(BLOCK) as usize);
        let start = (mix(block ^ 0x5bd1_e995) % TABLE_LEN) as usize;
        let base = out.len();
        out.extend_from_slice(&table[start + from..start + to]);
        let index = block.to_le_bytes();
        for k in from..to.min(8) {
            out[base + k - from] ^= index[k];
        }
        at = block * BLOCK + to as u64;
    }
    out
}

/// Byte `i` of every generated file.
pub fn generated_byte(i: u64) -> u8 {
    generated_bytes(i, 1)[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_is_the_same_bytes_however_it_is_cut() {
        let whole = generated_bytes(4090, 3 * 4096);
        for cut in [0, 1, 5, 6, 7, 8, 9, 4095, 4096, 8000, 3 * 4096] {
            let mut parts = generated_bytes(4090, cut);
            parts.extend(generated_bytes(4090 + cut as u64, 3 * 4096 - cut));
            assert_eq!(parts, whole, "cut at {cut}");
        }
        assert_eq!(generated_byte(4090 + 17), whole[17]);
        assert_eq!(generated_bytes((300 << 20) - 5, 5).len(), 5);
    }

    #[test]
    fn blocks_4_kib_and_1_mib_apart_and_the_table_period_apart_differ() {
        let part = generated_bytes(0, 4096);
        for other in [4096, 1 << 20, TABLE_LEN, 300 << 20] {
            assert_ne!(part, generated_bytes(other, 4096), "block at {other}");
        }
        assert_ne!(generated_bytes(1, 4096), part, "a shifted read");
    }
}
