//! Writes deterministic zips, compressing files in parallel.
//!
//! Each source file is compressed once, by a worker thread, into a one-entry zip (in memory, or
//! in a temporary file when the source is large so that it is streamed rather than loaded
//! whole). The calling thread then copies the compressed entry, without recompressing it, into
//! every artifact that includes the file, in sorted order. Workers may run only a bounded
//! distance ahead of the writer, which keeps memory flat whatever the size of the tree.
//!
//! Every entry gets the same timestamp (1980-01-01, the zip epoch), Unix mode 0644 or 0755,
//! the Unix "made by" system and no extra fields, so equal inputs give equal bytes on any host.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Cursor, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, System, ZipArchive, ZipWriter};

/// Files larger than this are compressed through a temporary file instead of memory.
const STREAM_ABOVE: u64 = 8 << 20;
/// How far (in files, and in compressed bytes held) workers may run ahead of the writer.
const MAX_AHEAD: usize = 512;
const MAX_HELD_BYTES: usize = 32 << 20;
/// zlib's default level, as Info-ZIP uses: the size Lambda users are used to.
const LEVEL: i64 = 6;

/// One file to put into one or more artifacts.
#[derive(Debug, Clone)]
pub struct Source {
    /// Name inside the zip.
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
    pub executable: bool,
    /// Indices into the artifact list passed to [`write`].
    pub dests: Vec<usize>,
}

/// What was written for one artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub files: usize,
    pub unzipped_size: u64,
    pub size: u64,
    pub sha256: [u8; 32],
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("cannot read `{path}`: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write `{path}`: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot write `{path}`: {source}")]
    Zip {
        path: PathBuf,
        source: zip::result::ZipError,
    },
}

/// The options every entry gets; only the mode varies.
pub fn entry_options(executable: bool, method: CompressionMethod) -> SimpleFileOptions {
    let level = (method == CompressionMethod::Deflated).then_some(LEVEL);
    SimpleFileOptions::default()
        .compression_method(method)
        .compression_level(level)
        .last_modified_time(DateTime::default())
        .unix_permissions(if executable { 0o755 } else { 0o644 })
        .system(System::Unix)
        .large_file(false)
}

/// A compressed entry ready to be copied into artifacts.
enum Packed {
    Memory(Vec<u8>),
    Spilled(PathBuf),
}

impl Packed {
    fn held_bytes(&self) -> usize {
        match self {
            Packed::Memory(b) => b.len(),
            Packed::Spilled(_) => 0,
        }
    }
}

struct Shared {
    /// Index of the next source the writer needs.
    next: usize,
    held_bytes: usize,
    ready: BTreeMap<usize, Result<Packed, ArchiveError>>,
    stop: bool,
}

/// Writes `sources` (sorted by name) into the zips at `outputs`, each first written next to its
/// final name and renamed into place once complete. `tmp_dir` holds spilled entries.
/// `progress` is called with the number of source bytes done after each file.
pub fn write(
    sources: &[Source],
    outputs: &[PathBuf],
    tmp_dir: &Path,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<Written>, ArchiveError> {
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(sources.len().max(1));
    let shared = Mutex::new(Shared {
        next: 0,
        held_bytes: 0,
        ready: BTreeMap::new(),
        stop: false,
    });
    let (to_workers, to_writer) = (Condvar::new(), Condvar::new());
    let counter = AtomicUsize::new(0);

    let mut zips = Vec::with_capacity(outputs.len());
    for out in outputs {
        let tmp = partial(out);
        let file = File::create(&tmp).map_err(|source| ArchiveError::Write {
            path: tmp.clone(),
            source,
        })?;
        zips.push((
            ZipWriter::new(BufWriter::with_capacity(1 << 20, file)),
            0usize,
            0u64,
        ));
    }

    let result = std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = counter.fetch_add(1, Ordering::Relaxed);
                    if i >= sources.len() {
                        return;
                    }
                    {
                        let mut st = shared.lock().unwrap_or_else(|e| e.into_inner());
                        // The file the writer waits for always goes ahead, so this cannot stall.
                        while !st.stop
                            && i > st.next
                            && (i - st.next >= MAX_AHEAD || st.held_bytes >= MAX_HELD_BYTES)
                        {
                            st = to_workers.wait(st).unwrap_or_else(|e| e.into_inner());
                        }
                        if st.stop {
                            return;
                        }
                    }
                    let packed = pack(&sources[i], i, tmp_dir);
                    let mut st = shared.lock().unwrap_or_else(|e| e.into_inner());
                    st.held_bytes += packed.as_ref().map_or(0, Packed::held_bytes);
                    st.ready.insert(i, packed);
                    to_writer.notify_one();
                }
            });
        }
        let outcome = (|| {
            let mut done_bytes = 0;
            for (i, src) in sources.iter().enumerate() {
                let packed = {
                    let mut st = shared.lock().unwrap_or_else(|e| e.into_inner());
                    loop {
                        if let Some(p) = st.ready.remove(&i) {
                            break p;
                        }
                        st = to_writer.wait(st).unwrap_or_else(|e| e.into_inner());
                    }
                };
                let held = packed.as_ref().map_or(0, Packed::held_bytes);
                let res = packed.and_then(|p| copy_into(&p, src, &mut zips, outputs));
                {
                    let mut st = shared.lock().unwrap_or_else(|e| e.into_inner());
                    st.held_bytes -= held;
                    st.next = i + 1;
                    to_workers.notify_all();
                }
                res?;
                done_bytes += src.size;
                progress(done_bytes);
            }
            Ok(())
        })();
        if outcome.is_err() {
            shared.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
            to_workers.notify_all();
        }
        outcome
    });
    // Whatever happened, no spilled entry is left behind.
    for (_, p) in std::mem::take(&mut shared.lock().unwrap_or_else(|e| e.into_inner()).ready) {
        if let Ok(Packed::Spilled(path)) = p {
            let _ = fs::remove_file(path);
        }
    }
    if let Err(e) = result {
        for out in outputs {
            let _ = fs::remove_file(partial(out));
        }
        return Err(e);
    }

    let mut written = Vec::with_capacity(outputs.len());
    for ((zip, files, unzipped), out) in zips.into_iter().zip(outputs) {
        let zip_err = |source| ArchiveError::Zip {
            path: out.clone(),
            source,
        };
        let write_err = |source| ArchiveError::Write {
            path: out.clone(),
            source,
        };
        let buf = zip.finish().map_err(zip_err)?;
        let file = buf.into_inner().map_err(|e| write_err(e.into_error()))?;
        file.sync_all().map_err(write_err)?;
        drop(file);
        let tmp = partial(out);
        let (size, sha256) = hash_file(&tmp).map_err(write_err)?;
        fs::rename(&tmp, out).map_err(write_err)?;
        written.push(Written {
            files,
            unzipped_size: unzipped,
            size,
            sha256,
        });
    }
    Ok(written)
}

/// The name an artifact is written under until it is complete.
/// Named for this process: two runs in one service directory (two deploys, a deploy beside
/// `offline --watch`) each write their own and rename it into place, never into each other's.
pub(crate) fn partial(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.partial", std::process::id()));
    out.with_file_name(name)
}

/// Compresses one source into a one-entry zip.
fn pack(src: &Source, index: usize, tmp_dir: &Path) -> Result<Packed, ArchiveError> {
    let read_err = |source| ArchiveError::Read {
        path: src.path.clone(),
        source,
    };
    if src.size > STREAM_ABOVE {
        let tmp = tmp_dir.join(format!(".spill-{}-{index}.zip.partial", std::process::id()));
        let write_err = |source| ArchiveError::Write {
            path: tmp.clone(),
            source,
        };
        let mut input = File::open(&src.path).map_err(read_err)?;
        let out = File::create(&tmp).map_err(write_err)?;
        let mut zip = ZipWriter::new(BufWriter::with_capacity(1 << 20, out));
        let opts = entry_options(src.executable, CompressionMethod::Deflated).large_file(true);
        let zip_err = |source| ArchiveError::Zip {
            path: tmp.clone(),
            source,
        };
        zip.start_file(src.name.as_str(), opts).map_err(zip_err)?;
        io::copy(&mut input, &mut zip).map_err(read_err)?;
        zip.finish().map_err(zip_err)?;
        return Ok(Packed::Spilled(tmp));
    }
    let data = fs::read(&src.path).map_err(read_err)?;
    let one = |method| -> zip::result::ZipResult<Vec<u8>> {
        let mut zip = ZipWriter::new(Cursor::new(Vec::with_capacity(data.len() / 2 + 256)));
        zip.start_file(src.name.as_str(), entry_options(src.executable, method))?;
        zip.write_all(&data)?;
        Ok(zip.finish()?.into_inner())
    };
    let zip_err = |source| ArchiveError::Zip {
        path: src.path.clone(),
        source,
    };
    let deflated = one(CompressionMethod::Deflated).map_err(zip_err)?;
    // Like Info-ZIP, store what deflate cannot shrink (already-compressed files, tiny files).
    // Both one-entry zips carry the same headers: local (30), central (46), end (22), name twice.
    let headers = 30 + 46 + 22 + 2 * src.name.len();
    if deflated.len() >= data.len() + headers {
        return one(CompressionMethod::Stored)
            .map(Packed::Memory)
            .map_err(zip_err);
    }
    Ok(Packed::Memory(deflated))
}

type Out = (ZipWriter<BufWriter<File>>, usize, u64);

fn copy_into(
    packed: &Packed,
    src: &Source,
    zips: &mut [Out],
    outputs: &[PathBuf],
) -> Result<(), ArchiveError> {
    match packed {
        Packed::Memory(bytes) => copy_from(Cursor::new(bytes.as_slice()), src, zips, outputs),
        Packed::Spilled(path) => {
            let file = File::open(path).map_err(|source| ArchiveError::Read {
                path: path.clone(),
                source,
            });
            let res = file.and_then(|f| copy_from(io::BufReader::new(f), src, zips, outputs));
            let _ = fs::remove_file(path);
            res
        }
    }
}

fn copy_from<R: Read + Seek>(
    reader: R,
    src: &Source,
    zips: &mut [Out],
    outputs: &[PathBuf],
) -> Result<(), ArchiveError> {
    let mut archive = ZipArchive::new(reader).map_err(|source| ArchiveError::Zip {
        path: src.path.clone(),
        source,
    })?;
    for &d in &src.dests {
        let (zip, files, unzipped) = &mut zips[d];
        let zip_err = |source| ArchiveError::Zip {
            path: outputs[d].clone(),
            source,
        };
        let entry = archive.by_index_raw(0).map_err(zip_err)?;
        *unzipped += entry.size();
        zip.raw_copy_file(entry).map_err(zip_err)?;
        *files += 1;
    }
    Ok(())
}

/// Size and sha256 of a file, read in chunks.
pub fn hash_file(path: &Path) -> io::Result<(u64, [u8; 32])> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hasher.finalize().into()))
}

/// Standard base64 with padding: how Lambda shows `CodeSha256`.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for (k, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if k <= chunk.len() {
                out.push(ALPHABET[(n >> shift & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
        }
    }
}
