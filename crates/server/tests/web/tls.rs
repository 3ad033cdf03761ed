//! The HTTPS edge refuses old protocol versions and weak suites, checked with
//! the OpenSSL command-line client against the real listener.

use std::process::Command;

use crate::util::start_site;

/// One handshake attempt: `openssl s_client` with `args`, against `port`.
fn handshake(port: u16, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-servername",
            "localhost",
        ])
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl runs (Debian package `openssl`)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // A completed handshake prints the negotiated cipher; a refused one prints `Cipher is (NONE)` or an alert.
    let negotiated = text
        .lines()
        .any(|l| l.contains("Cipher is ") && !l.contains("(NONE)"));
    (negotiated, text)
}

fn check(port: u16, name: &str, args: &[&str], want: bool) {
    let (negotiated, text) = handshake(port, args);
    assert_eq!(
        negotiated, want,
        "{name}: negotiated = {negotiated}\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_versions_and_suites() {
    let site = start_site().await;
    let port: u16 = site.base.rsplit(':').next().unwrap().parse().unwrap();
    // SECLEVEL=0 lets the client offer what it would refuse by default, so a
    // refusal below is the server's.
    let old = "DEFAULT:@SECLEVEL=0";
    let table: [(&str, Vec<&str>, bool); 7] = [
        ("TLS 1.3", vec!["-tls1_3"], true),
        (
            "TLS 1.2 ECDHE-ECDSA-AES128-GCM",
            vec!["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"],
            true,
        ),
        (
            "TLS 1.2 ECDHE-ECDSA-CHACHA20",
            vec!["-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"],
            true,
        ),
        ("TLS 1.1", vec!["-tls1_1", "-cipher", old], false),
        ("TLS 1.0", vec!["-tls1", "-cipher", old], false),
        (
            "TLS 1.2 CBC suite",
            vec![
                "-tls1_2",
                "-cipher",
                "ECDHE-ECDSA-AES128-SHA256:@SECLEVEL=0",
            ],
            false,
        ),
        (
            "TLS 1.2 static RSA key exchange",
            vec!["-tls1_2", "-cipher", "AES128-GCM-SHA256:@SECLEVEL=0"],
            false,
        ),
    ];
    for (name, args, want) in table {
        check(port, name, &args, want);
    }
}
