//! The seeded byte mutator: one valid seed in, one corrupted input out.
//!
//! Hand-written because nothing on crates.io fits: libFuzzer's and AFL's mutators need
//! nightly or a C toolchain and own the process, `arbitrary` turns bytes into typed values
//! rather than corrupting a file, and the few stable mutator crates are unmaintained. What a
//! reader needs is a few dozen lines: the classic AFL/libFuzzer moves (bit flips, boundary
//! bytes and integers in both byte orders, truncation, chunk duplication, deletion and
//! insertion, splicing two seeds) plus, for text formats, numbers swapped for huge,
//! negative or non-finite ones, since most text readers fail on the values, not the syntax.
//!
//! Positions are drawn half of the time from the first or last few KiB: that is where the
//! structure of a binary file lives (WAV, safetensors and npy headers, zip central
//! directories, the pickle inside a PyTorch archive); the rest is mostly tensor payload.

use rand::rngs::StdRng;
use rand::Rng;

/// Integers a length, count, offset or index field is most likely to mishandle: zero, one,
/// all ones (-1), the signed and unsigned 32- and 64-bit edges, 2^63, and 1e9.
const INTERESTING: [u64; 12] = [
    0,
    1,
    u64::MAX,
    i32::MAX as u64,
    u32::MAX as u64,
    1 << 31,
    1 << 32,
    1 << 63,
    i64::MAX as u64,
    1_000_000_000,
    0x7fff,
    0xffff,
];

/// Replacements for a number in a text format.
const NUMBERS: [&str; 22] = [
    "0",
    "-1",
    "-0",
    "1e9",
    "1e11",
    "1e308",
    "-1e308",
    "1e999",
    "1e-320",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "2147483648",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999",
    "0.0000001",
];

/// Bytes that change the structure of a text format when inserted.
const TOKENS: [&str; 20] = [
    "\"", "'", "\n", "\r\n", "\t", ",", ":", "=", "{", "}", "[", "]", "\\", "\\u0000", "\u{feff}", "\u{e9}", "\0", " ",
    "#", "\u{ffff}",
];

/// Pickle opcodes, and the sequences behind issue 13's pickle defects, on memo slots 1 and 7
/// (which most fixtures fill): a list that appends itself (`]`, BINPUT, BINGET, APPEND), a
/// tuple of two references to one value put back in its slot (each repetition doubles what a
/// copy costs), `list(x)` copies of a slot, deep nesting, calls.
pub const PICKLE: &[&[u8]] = &[
    b"]q\x01h\x01a",
    b"]q\x07h\x07a",
    b"}q\x07h\x07h\x07s",
    b"h\x01h\x01\x86q\x01",
    b"h\x07h\x07\x86q\x07",
    b"cbuiltins\nlist\nh\x01\x85R",
    b"cbuiltins\nlist\nh\x07\x85Rq\x07",
    b"(h\x01h\x01h\x01h\x01l",
    b"](]",
    b"a",
    b"e",
    b"s",
    b"u",
    b"b",
    b"R",
    b"0",
    b"2",
    b"(",
    b".",
    b"N",
    b"t",
    b"\x85",
    b"\x86",
    b"\x87",
    b"\x94",
    b"q\x01",
    b"h\x01",
    b"h\x07",
    b"j\xff\xff\xff\x7f",
    b"\x80\x02",
    b"c__builtin__\nset\n",
    b"ccollections\nOrderedDict\n",
    b"ctorch._utils\n_rebuild_tensor_v2\n",
];

/// Zip record signatures (local header, central directory, end records, zip64 records).
pub const ZIP: &[&[u8]] = &[
    b"PK\x03\x04",
    b"PK\x01\x02",
    b"PK\x05\x06",
    b"PK\x06\x06",
    b"PK\x06\x07",
];

/// RIFF/WAVE chunk ids and format tags (PCM, float, extensible).
pub const WAV: &[&[u8]] = &[
    b"RIFF",
    b"WAVE",
    b"fmt ",
    b"data",
    b"LIST",
    b"fact",
    b"\x01\x00",
    b"\x03\x00",
    b"\xfe\xff",
];

/// Safetensors header pieces.
pub const SAFETENSORS: &[&[u8]] = &[
    b"\"dtype\":\"F64\"",
    b"\"dtype\":\"BF16\"",
    b"\"shape\":[",
    b"\"data_offsets\":[",
    b"\"__metadata__\":{}",
    b"18446744073709551615",
];

/// `.npy` header pieces.
pub const NPY: &[&[u8]] = &[
    b"\x93NUMPY",
    b"'descr': '<f8'",
    b"'descr': '|O'",
    b"'descr': '>f4'",
    b"'fortran_order': True",
    b"'shape': (",
    b", 0, ",
    b"4294967296, ",
];

/// One mutated input from `seeds[primary]`, never longer than `max_len`. Applies 1, 2, 4 or
/// 8 mutations; `text` adds the number and text-token moves, `tokens` (the format's
/// dictionary, as libFuzzer's `-dict`) a move that inserts one of them, sometimes repeated.
pub fn mutate(
    rng: &mut StdRng,
    seeds: &[&[u8]],
    primary: usize,
    text: bool,
    tokens: &[&[u8]],
    max_len: usize,
) -> Vec<u8> {
    let mut data = seeds[primary].to_vec();
    let rounds = 1 << rng.random_range(0..4);
    for _ in 0..rounds {
        let moves = if text { 11 } else { 9 } + usize::from(!tokens.is_empty());
        match rng.random_range(0..moves) {
            0 => flip_bit(rng, &mut data),
            1 => set_byte(rng, &mut data),
            2 | 3 => set_int(rng, &mut data),
            4 => truncate(rng, &mut data),
            5 => duplicate(rng, &mut data, max_len),
            6 => delete(rng, &mut data),
            7 => insert(rng, &mut data, seeds),
            8 => splice(rng, &mut data, seeds),
            9 if text => replace_number(rng, &mut data),
            10 if text => {
                let token = TOKENS[rng.random_range(0..TOKENS.len())].as_bytes();
                let at = pos(rng, data.len() + 1);
                data.splice(at..at, token.iter().copied());
            }
            _ => {
                let token = tokens[rng.random_range(0..tokens.len())];
                let room = max_len.saturating_sub(data.len()) / token.len().max(1);
                // Repeated as far as the length allows, a token like TUPLE1 nests values
                // tens of thousands deep.
                let times = match rng.random_range(0..8) {
                    0 => rng.random_range(2..=64),
                    1 => 1024,
                    2 => room,
                    _ => 1,
                };
                let at = pos(rng, data.len() + 1);
                data.splice(at..at, token.repeat(times.min(room)));
            }
        }
        data.truncate(max_len);
    }
    data
}

/// A position in `0..len` (`len` > 0), biased toward both ends of the input.
fn pos(rng: &mut StdRng, len: usize) -> usize {
    if len <= 1 {
        return 0;
    }
    match rng.random_range(0..4) {
        0 => rng.random_range(0..len.min(512)),
        1 => rng.random_range(0..len.min(8192)),
        2 => len - 1 - rng.random_range(0..len.min(8192)),
        _ => rng.random_range(0..len),
    }
}

fn flip_bit(rng: &mut StdRng, data: &mut [u8]) {
    if !data.is_empty() {
        let at = pos(rng, data.len());
        data[at] ^= 1 << rng.random_range(0..8);
    }
}

fn set_byte(rng: &mut StdRng, data: &mut [u8]) {
    if !data.is_empty() {
        let at = pos(rng, data.len());
        data[at] = [0, 1, 0x7f, 0x80, 0xff, rng.random()][rng.random_range(0..6)];
    }
}

/// Overwrites 1, 2, 4 or 8 bytes with an interesting integer (or its negation), little- or
/// big-endian.
fn set_int(rng: &mut StdRng, data: &mut [u8]) {
    let width = 1 << rng.random_range(0..4);
    if data.len() < width {
        return;
    }
    let mut value = INTERESTING[rng.random_range(0..INTERESTING.len())];
    if rng.random_bool(0.2) {
        value = value.wrapping_neg();
    }
    let (le, be) = (value.to_le_bytes(), value.to_be_bytes());
    let bytes = if rng.random() { &le[..width] } else { &be[8 - width..] };
    let at = pos(rng, data.len() - width + 1);
    data[at..at + width].copy_from_slice(bytes);
}

fn truncate(rng: &mut StdRng, data: &mut Vec<u8>) {
    let len = data.len();
    data.truncate(pos(rng, len + 1));
}

/// A non-empty range of `0..len` (`len` > 0): a few bytes, a field, or a block.
fn chunk(rng: &mut StdRng, len: usize) -> std::ops::Range<usize> {
    let start = pos(rng, len);
    let max = (len - start).min([8, 64, 4096][rng.random_range(0..3)]);
    start..start + rng.random_range(1..=max)
}

/// Repeats a chunk in place 1 to 16 times, or up to 1024 (deep nesting, long runs).
fn duplicate(rng: &mut StdRng, data: &mut Vec<u8>, max_len: usize) {
    if data.is_empty() {
        return;
    }
    let range = chunk(rng, data.len());
    let piece = data[range.clone()].to_vec();
    let times = if rng.random_bool(0.1) {
        1024
    } else {
        rng.random_range(1..=16)
    };
    let room = max_len.saturating_sub(data.len()) / piece.len().max(1);
    let copies = piece.repeat(times.min(room));
    data.splice(range.end..range.end, copies);
}

fn delete(rng: &mut StdRng, data: &mut Vec<u8>) {
    if !data.is_empty() {
        let range = chunk(rng, data.len());
        data.drain(range);
    }
}

/// Inserts random bytes or a chunk of any seed.
fn insert(rng: &mut StdRng, data: &mut Vec<u8>, seeds: &[&[u8]]) {
    let at = pos(rng, data.len() + 1);
    let donor = seeds[rng.random_range(0..seeds.len())];
    let piece: Vec<u8> = if rng.random() && !donor.is_empty() {
        donor[chunk(rng, donor.len())].to_vec()
    } else {
        (0..rng.random_range(1..=16)).map(|_| rng.random()).collect()
    };
    data.splice(at..at, piece);
}

/// This input up to a point, then another seed from a point on.
fn splice(rng: &mut StdRng, data: &mut Vec<u8>, seeds: &[&[u8]]) {
    let donor = seeds[rng.random_range(0..seeds.len())];
    let cut = pos(rng, data.len() + 1);
    let from = pos(rng, donor.len() + 1);
    data.truncate(cut);
    data.extend_from_slice(&donor[from..]);
}

/// Replaces the number nearest a random position with one of `NUMBERS`.
fn replace_number(rng: &mut StdRng, data: &mut Vec<u8>) {
    let is_num = |b: u8| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E');
    let start = pos(rng, data.len() + 1);
    let Some(first) = data[start..].iter().position(|b| b.is_ascii_digit()).map(|p| p + start) else {
        return;
    };
    let mut lo = first;
    while lo > 0 && is_num(data[lo - 1]) {
        lo -= 1;
    }
    let hi = first + data[first..].iter().take_while(|&&b| is_num(b)).count();
    let number = NUMBERS[rng.random_range(0..NUMBERS.len())].as_bytes();
    data.splice(lo..hi, number.iter().copied());
}
