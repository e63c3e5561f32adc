//! The `sdk-test-server` binary serves the SDK test endpoint on 127.0.0.1 over real TCP, as the
//! official Datastar test runner expects.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Kills the server even when an assertion fails.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serves_the_test_endpoint_on_the_given_port() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = free.local_addr().expect("addr").port();
    drop(free);
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_sdk-test-server"))
            .args(["--port", &port.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start sdk-test-server"),
    );
    let stdout = server.0.stdout.take().expect("stdout");
    let mut banner = String::new();
    BufReader::new(stdout)
        .read_line(&mut banner)
        .expect("banner");
    assert_eq!(
        banner.trim(),
        format!("sdk-test-server listening on http://127.0.0.1:{port}/test")
    );

    let mut socket = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let body = r#"{"events":[{"type":"patchElements","elements":"<div>Merge</div>"}]}"#;
    write!(
        socket,
        "POST /test HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ndatastar-request: true\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("request");
    let mut response = String::new();
    socket.read_to_string(&mut response).expect("response");
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(
        response.contains("content-type: text/event-stream\r\n"),
        "{response}"
    );
    assert!(
        response.ends_with("event: datastar-patch-elements\ndata: elements <div>Merge</div>\n\n"),
        "{response}"
    );
}

#[test]
fn rejects_a_bad_port_argument() {
    let output = Command::new(env!("CARGO_BIN_EXE_sdk-test-server"))
        .args(["--port", "not-a-port"])
        .output()
        .expect("run sdk-test-server");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage: sdk-test-server [--port N]"));
}
