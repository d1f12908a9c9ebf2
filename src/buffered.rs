//! `poll_read` for a reader that is its own buffer: what `poll_fill_buf` has, copied out and
//! consumed (the bodies here implement `AsyncBufRead`, whose supertrait is `AsyncRead`).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_lite::io::AsyncBufRead;

/// Copies what `reader` has buffered (filling it first if empty) into `out`.
pub(crate) fn poll_read<R: AsyncBufRead + ?Sized>(
    mut reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    out: &mut [u8],
) -> Poll<io::Result<usize>> {
    let available = ready!(reader.as_mut().poll_fill_buf(cx))?;
    let n = available.len().min(out.len());
    out[..n].copy_from_slice(&available[..n]);
    reader.consume(n);
    Poll::Ready(Ok(n))
}
