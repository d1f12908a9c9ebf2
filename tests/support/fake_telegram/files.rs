//! Files: the registry of file ids and bytes, getFile in cloud and local-dir mode, and the
//! `/file/bot<token>/<path>` download route with single `Range` support and fault injection.

use super::api::{ApiError, bad};
use super::http::{FaultStep, Request, apply_fault, not_found_json, write_head, write_json};
use super::params::param_str;
use super::state::{Shared, State, push_capped};
use super::{CLOUD_FILE_LIMIT, FileRef, FileRequest};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::io::{self, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const WRITE_CHUNK: usize = 64 * 1024;

pub(super) struct StoredFile {
    pub(super) bytes: Arc<Vec<u8>>,
    pub(super) unique_id: String,
    pub(super) name: String,
    pub(super) mime: String,
    pub(super) cloud_path: Option<String>,
    pub(super) local_path: Option<PathBuf>,
}

impl State {
    pub(super) fn register(
        &mut self,
        bytes: Arc<Vec<u8>>,
        unique_id: Option<String>,
        name: &str,
        mime: &str,
    ) -> FileRef {
        self.next_file += 1;
        let n = self.next_file;
        let file_id = format!("BQACAgIAAxkBAAIC{n:06}ZmFrZV90ZWxlZ3JhbV9maWxl");
        let unique_id = unique_id.unwrap_or_else(|| format!("AgADfk{n:06}"));
        let size = bytes.len() as u64;
        self.files.insert(
            file_id.clone(),
            StoredFile {
                bytes,
                unique_id: unique_id.clone(),
                name: name.to_string(),
                mime: mime.to_string(),
                cloud_path: None,
                local_path: None,
            },
        );
        FileRef { file_id, file_unique_id: unique_id, size, name: name.to_string(), mime: mime.to_string() }
    }

    pub(super) fn file_ref(&self, file_id: &str) -> Option<FileRef> {
        self.files.get(file_id).map(|f| FileRef {
            file_id: file_id.to_string(),
            file_unique_id: f.unique_id.clone(),
            size: f.bytes.len() as u64,
            name: f.name.clone(),
            mime: f.mime.clone(),
        })
    }

    /// Registers the same bytes and unique id under a new file_id (as a forward does).
    fn reissue(&mut self, file_id: &str) -> Option<String> {
        let (bytes, unique, name, mime) = {
            let f = self.files.get(file_id)?;
            (Arc::clone(&f.bytes), f.unique_id.clone(), f.name.clone(), f.mime.clone())
        };
        Some(self.register(bytes, Some(unique), &name, &mime).file_id)
    }

    /// Copies media values, giving every known file a new file_id (one per distinct old id).
    pub(super) fn clone_media(&mut self, v: &Value, renamed: &mut HashMap<String, String>) -> Value {
        match v {
            Value::Array(items) => Value::Array(items.iter().map(|item| self.clone_media(item, renamed)).collect()),
            Value::Object(obj) => {
                let mut out = Map::new();
                for (k, val) in obj {
                    let new = match (k.as_str(), val) {
                        ("file_id", Value::String(old)) => {
                            let new_id = match renamed.get(old) {
                                Some(id) => Some(id.clone()),
                                None => self.reissue(old),
                            };
                            match new_id {
                                Some(id) => {
                                    renamed.insert(old.clone(), id.clone());
                                    Value::String(id)
                                }
                                None => val.clone(),
                            }
                        }
                        (_, Value::Object(_)) | (_, Value::Array(_)) => self.clone_media(val, renamed),
                        _ => val.clone(),
                    };
                    out.insert(k.clone(), new);
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }

    fn lookup_path(&self, path: &str) -> Option<Arc<Vec<u8>>> {
        let id = self.paths.get(path).or_else(|| self.paths.get(&format!("/{path}")))?;
        self.files.get(id).map(|f| Arc::clone(&f.bytes))
    }
}

/// Writes `bytes` at `path` in `dir` the way the real server does: tdlib creates directories
/// 0700 and files 0600 (td/utils `mkdir` and `FileFd::open` defaults), so only its own user can
/// read them, whatever the umask.
fn write_private(dir: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.write_all(bytes)
}

fn file_ext(name: &str) -> String {
    Path::new(name).extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default()
}

pub(super) fn get_file(st: &mut State, p: &Value) -> Result<Value, ApiError> {
    let file_id = param_str(p, "file_id").unwrap_or_default();
    let local_dir = st.local_dir.clone();
    let (size, unique, ext, cloud_path, local_path, bytes) = {
        let f = st.files.get(&file_id).ok_or_else(|| bad("invalid file_id"))?;
        (
            f.bytes.len() as u64,
            f.unique_id.clone(),
            file_ext(&f.name),
            f.cloud_path.clone(),
            f.local_path.clone(),
            Arc::clone(&f.bytes),
        )
    };
    let path = match local_dir {
        None => {
            if size > CLOUD_FILE_LIMIT {
                return Err(bad("file is too big"));
            }
            match cloud_path {
                Some(path) => path,
                None => {
                    let path = format!("documents/file_{}{ext}", st.next_path);
                    st.next_path += 1;
                    path
                }
            }
        }
        Some(dir) => {
            let path = match local_path.filter(|p| p.starts_with(&dir) && p.is_file()) {
                Some(path) => path,
                None => {
                    let path = dir.join(format!("file_{}{ext}", st.next_path));
                    st.next_path += 1;
                    write_private(&dir, &path, &bytes)
                        .map_err(|e| ApiError { code: 500, description: format!("Internal Server Error: {e}") })?;
                    path
                }
            };
            if let Some(f) = st.files.get_mut(&file_id) {
                f.local_path = Some(path.clone());
            }
            path.to_string_lossy().into_owned()
        }
    };
    if st.local_dir.is_none()
        && let Some(f) = st.files.get_mut(&file_id)
    {
        f.cloud_path = Some(path.clone());
    }
    st.paths.insert(path.clone(), file_id.clone());
    Ok(json!({
        "file_id": file_id,
        "file_unique_id": unique,
        "file_size": size,
        "file_path": path,
    }))
}

enum RangeSpec {
    Ignore,
    Unsatisfiable,
    Bytes(u64, u64),
}

/// Parses a single `bytes=` range against a file of `len` bytes (end inclusive).
fn parse_range(header: &str, len: u64) -> RangeSpec {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return RangeSpec::Ignore;
    };
    let spec = spec.trim();
    if spec.contains(',') {
        return RangeSpec::Ignore;
    }
    let Some((a, b)) = spec.split_once('-') else {
        return RangeSpec::Ignore;
    };
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        let Ok(n) = b.parse::<u64>() else {
            return RangeSpec::Ignore;
        };
        if n == 0 || len == 0 {
            return RangeSpec::Unsatisfiable;
        }
        return RangeSpec::Bytes(len - n.min(len), len - 1);
    }
    let Ok(start) = a.parse::<u64>() else {
        return RangeSpec::Ignore;
    };
    let end = if b.is_empty() {
        len.saturating_sub(1)
    } else {
        match b.parse::<u64>() {
            Ok(end) if end >= start => end.min(len.saturating_sub(1)),
            _ => return RangeSpec::Ignore,
        }
    };
    if start >= len {
        return RangeSpec::Unsatisfiable;
    }
    RangeSpec::Bytes(start, end)
}

pub(super) fn handle_file(
    shared: &Shared,
    req: &Request,
    token: &str,
    file_path: &str,
    out: &mut TcpStream,
    keep: bool,
) -> io::Result<bool> {
    let head_only = req.method == "HEAD";
    let range = req.header("range").map(str::to_string);
    let (fault, bytes, ignore_range) = {
        let mut st = shared.lock();
        st.note_token(token);
        st.count_call("file");
        push_capped(
            &mut st.file_requests,
            FileRequest { path: file_path.to_string(), range: range.clone(), method: req.method.clone() },
        );
        let fault = st.take_fault("file");
        let bytes = st.lookup_path(file_path);
        shared.notify();
        (fault, bytes, st.ignore_range)
    };
    let cut = match apply_fault(shared, fault, out, keep, head_only)? {
        FaultStep::Answered(keep) => return Ok(keep),
        FaultStep::Serve { cut } => cut,
    };
    let bytes = match bytes {
        Some(bytes) if req.method == "GET" || head_only => bytes,
        _ => return write_json(out, 404, &not_found_json(), keep, head_only),
    };
    let len = bytes.len() as u64;
    let mut headers =
        vec![("Content-Type", "application/octet-stream".to_string()), ("Accept-Ranges", "bytes".to_string())];
    let spec = match range {
        Some(r) if !ignore_range => parse_range(&r, len),
        _ => RangeSpec::Ignore,
    };
    let (status, start, end) = match spec {
        RangeSpec::Ignore => (200, 0, len),
        RangeSpec::Bytes(a, b) => {
            headers.push(("Content-Range", format!("bytes {a}-{b}/{len}")));
            (206, a, b + 1)
        }
        RangeSpec::Unsatisfiable => {
            headers.push(("Content-Range", format!("bytes */{len}")));
            write_head(out, 416, &headers, 0, keep)?;
            out.flush()?;
            return Ok(keep);
        }
    };
    let body_len = end - start;
    let keep_after = keep && cut.is_none();
    write_head(out, status, &headers, body_len, keep_after)?;
    if head_only {
        out.flush()?;
        return Ok(keep_after);
    }
    let stop = start + cut.map_or(body_len, |c| c.min(body_len));
    let mut pos = start as usize;
    let stop = stop as usize;
    while pos < stop {
        if shared.stopping() {
            return Ok(false);
        }
        let n = WRITE_CHUNK.min(stop - pos);
        out.write_all(&bytes[pos..pos + n])?;
        pos += n;
    }
    out.flush()?;
    Ok(keep_after)
}
