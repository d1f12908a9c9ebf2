//! `multipart/form-data` bodies for Bot API uploads (`sendDocument` with a local path): JSON
//! params become text parts, files are streamed from disk through one fixed buffer, and the total
//! length is known up front so the request carries `Content-Length`.

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::io::{AsyncRead, BufReader};
use http_types::Body;

/// Read buffer for streamed file parts.
const FILE_BUF: usize = 16 * 1024;
const BOUNDARY: &str = "streambot-7d4f0c2a91e3b865";

enum Part {
    Text(Vec<u8>),
    File { head: Vec<u8>, path: PathBuf, len: u64 },
}

/// A prepared form: small text parts in memory, file parts by path and length.
pub struct Form {
    parts: Vec<Part>,
    len: u64,
}

impl Form {
    /// Builds the form from serializable params; fields named in `files` are sent as file parts.
    pub fn new(params: &impl serde::Serialize, files: &[(&str, PathBuf)]) -> io::Result<Form> {
        let value = serde_json::to_value(params).map_err(io::Error::other)?;
        let mut parts = Vec::new();
        if let serde_json::Value::Object(map) = value {
            for (name, v) in map {
                if files.iter().any(|(f, _)| *f == name) || v.is_null() {
                    continue;
                }
                let text = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                let mut head =
                    format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n").into_bytes();
                head.extend_from_slice(text.as_bytes());
                head.extend_from_slice(b"\r\n");
                parts.push(Part::Text(head));
            }
        }
        for (name, path) in files {
            let len = std::fs::metadata(path)?.len();
            let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file").replace('"', "");
            let head = format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .into_bytes();
            parts.push(Part::File { head, path: path.clone(), len });
        }
        parts.push(Part::Text(format!("--{BOUNDARY}--\r\n").into_bytes()));
        let len = parts
            .iter()
            .map(|p| match p {
                Part::Text(b) => b.len() as u64,
                Part::File { head, len, .. } => head.len() as u64 + len + 2,
            })
            .sum();
        Ok(Form { parts, len })
    }

    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={BOUNDARY}")
    }

    /// A fresh body for one attempt (files are reopened, so a retry sends them again).
    pub fn body(&self) -> io::Result<Body> {
        let mut segments = Vec::with_capacity(self.parts.len() * 3);
        for part in &self.parts {
            match part {
                Part::Text(b) => segments.push(Segment::Bytes(b.clone(), 0)),
                Part::File { head, path, len } => {
                    segments.push(Segment::Bytes(head.clone(), 0));
                    segments.push(Segment::File(File::open(path)?.take(*len)));
                    segments.push(Segment::Bytes(b"\r\n".to_vec(), 0));
                }
            }
        }
        segments.reverse();
        let reader = BufReader::with_capacity(FILE_BUF, Segments(segments));
        let len = usize::try_from(self.len).map_err(io::Error::other)?;
        Ok(Body::from_reader(reader, Some(len)))
    }
}

enum Segment {
    Bytes(Vec<u8>, usize),
    File(io::Take<File>),
}

/// Reads the segments in order. File reads are synchronous: page-cache reads of a local file take
/// microseconds, and `smol::fs` would add an 8 MiB buffer per open file.
struct Segments(Vec<Segment>);

impl AsyncRead for Segments {
    fn poll_read(mut self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        while let Some(seg) = self.0.last_mut() {
            let n = match seg {
                Segment::Bytes(bytes, pos) => {
                    let n = (bytes.len() - *pos).min(buf.len());
                    buf[..n].copy_from_slice(&bytes[*pos..*pos + n]);
                    *pos += n;
                    n
                }
                Segment::File(file) => file.read(buf)?,
            };
            if n > 0 {
                return Poll::Ready(Ok(n));
            }
            self.0.pop();
        }
        Poll::Ready(Ok(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::io::AsyncReadExt;

    #[test]
    fn body_length_matches_content_and_parts_are_framed() {
        let path = std::env::temp_dir().join(format!("streambot-mp-{}.bin", std::process::id()));
        std::fs::write(&path, b"FILEDATA").unwrap();
        let params = serde_json::json!({"chat_id": 5, "caption": "hi", "document": "x"});
        let form = Form::new(&params, &[("document", path.clone())]).unwrap();
        let mut body = form.body().unwrap();
        let mut out = Vec::new();
        smol::block_on(body.read_to_end(&mut out)).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(out.len() as u64, form.len);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("name=\"chat_id\"\r\n\r\n5\r\n"));
        assert!(text.contains("name=\"caption\"\r\n\r\nhi\r\n"));
        assert!(text.contains("filename=\"streambot-mp-"));
        assert!(text.contains("\r\n\r\nFILEDATA\r\n"));
        assert!(text.ends_with(&format!("--{BOUNDARY}--\r\n")));
    }
}
