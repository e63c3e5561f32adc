//! A minimal HTTP/1.1 client for servers on real sockets: one `GET`, its body streamed.

use std::net::SocketAddr;

use bytes::Bytes;
use futures::stream;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{BodyStream, TestError};

const MAX_HEAD: usize = 64 * 1024;

pub(super) async fn get(
    address: SocketAddr,
    path: &str,
    headers: &[(String, String)],
) -> Result<(StatusCode, HeaderMap, BodyStream), TestError> {
    let io = |error: std::io::Error| TestError(format!("{address}: {error}"));
    let mut socket = TcpStream::connect(address).await.map_err(io)?;
    let mut request = format!("GET {path} HTTP/1.1\r\nhost: {address}\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    socket.write_all(request.as_bytes()).await.map_err(io)?;

    let mut buffer = Vec::with_capacity(1024);
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if buffer.len() > MAX_HEAD {
            return Err(TestError("response head too large".to_owned()));
        }
        if socket.read_buf(&mut buffer).await.map_err(io)? == 0 {
            return Err(TestError(
                "connection closed before the response".to_owned(),
            ));
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let rest = buffer.split_off(head_end);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse::<u16>().ok())
        .and_then(|code| StatusCode::from_u16(code).ok())
        .ok_or_else(|| TestError(format!("bad status line in {head:?}")))?;
    let mut header_map = HeaderMap::new();
    for line in lines.filter(|line| !line.is_empty()) {
        if let Some((name, value)) = line.split_once(':')
            && let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.trim().as_bytes()),
                HeaderValue::from_str(value.trim()),
            )
        {
            header_map.append(name, value);
        }
    }
    let chunked = header_map
        .get("transfer-encoding")
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"chunked"));
    let body = Body {
        socket,
        buffer: rest,
        chunked,
        done: false,
    };
    Ok((
        status,
        header_map,
        Box::pin(stream::unfold(body, Body::next)),
    ))
}

struct Body {
    socket: TcpStream,
    buffer: Vec<u8>,
    chunked: bool,
    done: bool,
}

impl Body {
    async fn next(mut self) -> Option<(Result<Bytes, TestError>, Body)> {
        if self.done {
            return None;
        }
        if !self.chunked {
            if !self.buffer.is_empty() {
                let bytes = Bytes::from(std::mem::take(&mut self.buffer));
                return Some((Ok(bytes), self));
            }
            let mut chunk = Vec::with_capacity(4096);
            return match self.socket.read_buf(&mut chunk).await {
                Ok(0) | Err(_) => None,
                Ok(_) => Some((Ok(Bytes::from(chunk)), self)),
            };
        }
        // Chunked: read until one whole chunk is buffered.
        loop {
            if let Some(line_end) = self.buffer.windows(2).position(|w| w == b"\r\n") {
                let size_text = String::from_utf8_lossy(&self.buffer[..line_end]).into_owned();
                let size_text = size_text.split(';').next().unwrap_or("").trim().to_owned();
                let Ok(size) = usize::from_str_radix(&size_text, 16) else {
                    self.done = true;
                    return Some((
                        Err(TestError(format!("bad chunk size {size_text:?}"))),
                        self,
                    ));
                };
                if size == 0 {
                    self.done = true;
                    return None;
                }
                let start = line_end + 2;
                if self.buffer.len() >= start + size + 2 {
                    let data = self.buffer[start..start + size].to_vec();
                    self.buffer.drain(..start + size + 2);
                    return Some((Ok(Bytes::from(data)), self));
                }
            }
            match self.socket.read_buf(&mut self.buffer).await {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }
}
