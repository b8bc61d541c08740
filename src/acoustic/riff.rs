//! The RIFF chunk walk in front of hound.
//!
//! Why our own: hound 3.5 (the maintained WAV crate `wav.rs` reads with) skips a chunk it
//! does not know by its declared length alone, but RIFF pads a chunk of odd length with one
//! byte (a `LIST` chunk of 13 bytes takes 14 in the file). After such a chunk hound reads
//! every following header one byte off and refuses a valid file ("Failed to read enough
//! bytes"). Here the chunks are walked as RIFF defines them, and hound is handed a file of
//! the `fmt ` chunk and the `data` chunk alone, read on from the file, so that hound still
//! parses the format and the samples. Every length is a claim: the `fmt ` chunk is held to
//! a size any WAV format has, a skipped chunk is skipped by seeking (nothing is allocated for
//! it), and the walk gives up after a bounded number of chunks.

use std::io::{self, Chain, Cursor, Read, Seek, SeekFrom};

/// Larger than any `fmt ` chunk (WAVE_FORMAT_EXTENSIBLE's is 40 bytes).
const MAX_FMT: u32 = 1024;

/// Chunks walked before the data at most; real files have a handful (500,000 junk chunks
/// still read).
const MAX_CHUNKS: usize = 1 << 22;

/// `reader` as hound should see it: `RIFF`, `WAVE`, the `fmt ` chunk and the `data` chunk
/// (the rest of `reader` from its first sample on). A file that does not start as RIFF WAVE
/// is handed on as it is, for hound to name what it is.
pub fn fmt_and_data<R: Read + Seek>(mut reader: R) -> io::Result<Chain<Cursor<Vec<u8>>, R>> {
    let mut head = [0u8; 12];
    let got = read_up_to(&mut reader, &mut head)?;
    if got < 12 || &head[0..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return Ok(Cursor::new(head[..got].to_vec()).chain(reader));
    }
    let mut fmt: Option<Vec<u8>> = None;
    for _ in 0..MAX_CHUNKS {
        let mut header = [0u8; 8];
        reader.read_exact(&mut header).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => invalid("no data chunk before the end of the file".into()),
            _ => e,
        })?;
        let id = [header[0], header[1], header[2], header[3]];
        let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        match &id {
            b"fmt " => {
                if len > MAX_FMT {
                    return Err(invalid(format!("a fmt chunk of {len} bytes (at most {MAX_FMT})")));
                }
                let mut body = vec![0u8; len as usize];
                reader.read_exact(&mut body)?;
                if len % 2 == 1 {
                    reader.seek(SeekFrom::Current(1))?;
                }
                fmt = Some(body);
            }
            b"data" => {
                let Some(fmt) = fmt else {
                    return Err(invalid("the data chunk comes before the fmt chunk".into()));
                };
                return Ok(Cursor::new(canonical_header(&fmt, len)).chain(reader));
            }
            _ => {
                reader.seek(SeekFrom::Current(i64::from(len) + i64::from(len % 2)))?;
            }
        }
    }
    Err(invalid(format!("more than {MAX_CHUNKS} chunks before the data")))
}

/// `RIFF`, `WAVE`, the `fmt ` chunk (padded) and the data chunk's header.
fn canonical_header(fmt: &[u8], data_len: u32) -> Vec<u8> {
    let padded = fmt.len() + fmt.len() % 2;
    let riff_len = (4 + 8 + padded as u64 + 8 + u64::from(data_len)).min(u64::from(u32::MAX)) as u32;
    let mut out = Vec::with_capacity(12 + 8 + padded + 8);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&riff_len.to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    out.extend_from_slice(fmt);
    out.resize(out.len() + padded - fmt.len(), 0);
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    out
}

/// Reads until `buf` is full or the input ends; how many bytes came.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 16-bit mono WAV with `extra` chunks (id, body) between `fmt ` and `data`, each
    /// padded as RIFF says.
    fn wav(extra: &[(&[u8; 4], &[u8])], samples: &[i16]) -> Vec<u8> {
        let mut body = b"WAVE".to_vec();
        let fmt: [u8; 16] = {
            let mut f = [0u8; 16];
            f[0..2].copy_from_slice(&1u16.to_le_bytes());
            f[2..4].copy_from_slice(&1u16.to_le_bytes());
            f[4..8].copy_from_slice(&16_000u32.to_le_bytes());
            f[8..12].copy_from_slice(&32_000u32.to_le_bytes());
            f[12..14].copy_from_slice(&2u16.to_le_bytes());
            f[14..16].copy_from_slice(&16u16.to_le_bytes());
            f
        };
        let chunk = |out: &mut Vec<u8>, id: &[u8; 4], data: &[u8]| {
            out.extend_from_slice(id);
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(data);
            if data.len() % 2 == 1 {
                out.push(0);
            }
        };
        chunk(&mut body, b"fmt ", &fmt);
        for (id, data) in extra {
            chunk(&mut body, id, data);
        }
        let pcm: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        chunk(&mut body, b"data", &pcm);
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend(body);
        out
    }

    fn samples(bytes: Vec<u8>) -> Result<Vec<i16>, String> {
        let reader = fmt_and_data(Cursor::new(bytes)).map_err(|e| e.to_string())?;
        let mut wav = hound::WavReader::new(reader).map_err(|e| e.to_string())?;
        wav.samples::<i16>().map(|s| s.map_err(|e| e.to_string())).collect()
    }

    #[test]
    fn an_odd_chunk_and_its_pad_byte_are_skipped() {
        let pcm = [1i16, -2, 3, -4, 5];
        let file = wav(&[(b"LIST", b"INFOISFT\x05\0\0\0x"), (b"junk", b"")], &pcm);
        assert_eq!(samples(file.clone()).unwrap(), pcm);
        // What hound alone makes of the same file: the reason this module exists.
        assert!(hound::WavReader::new(Cursor::new(file)).is_err());
        assert_eq!(samples(wav(&[], &pcm)).unwrap(), pcm);
    }

    #[test]
    fn lengths_are_claims() {
        // A fmt chunk claiming 4 GB, a skipped chunk past the end, no data at all.
        let mut huge_fmt = wav(&[], &[1]);
        huge_fmt[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(samples(huge_fmt)
            .unwrap_err()
            .contains("a fmt chunk of 4294967295 bytes"));
        let mut far = wav(&[(b"junk", b"ab")], &[1]);
        let at = far.windows(4).position(|w| w == b"junk").unwrap();
        far[at + 4..at + 8].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        assert!(samples(far).unwrap_err().contains("no data chunk"));
        let no_data: Vec<u8> = wav(&[], &[]).into_iter().take(36).collect();
        assert!(samples(no_data).unwrap_err().contains("no data chunk"));
        // Not RIFF at all: hound's own message.
        assert!(samples(b"RIFX0000WAVE".to_vec()).is_err());
    }
}
