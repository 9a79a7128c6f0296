//! Make a local certificate authority and a server certificate for
//! `localhost` and `127.0.0.1`, to try `wss://` on this machine.
//!
//! ```text
//! cargo run -p ws-std --example tls_certs -- [DIR]
//! ```
//! Writes `DIR/ca.pem` (the CA's certificate: what clients trust),
//! `DIR/cert.pem` and `DIR/key.pem` (the server's certificate and private
//! key); DIR defaults to `tls-demo`. The CA's own key is not kept, so it
//! signs nothing else. For trying things out only: the key is written
//! unencrypted.

use std::path::Path;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tls-demo".to_owned());
    if let Err(err) = make(Path::new(&dir)) {
        eprintln!("tls_certs: {err}");
        std::process::exit(1);
    }
    println!("wrote {dir}/ca.pem, {dir}/cert.pem and {dir}/key.pem; try:");
    println!(
        "  cargo run --release -p ws-std --example blocking_echo_server -- \
         127.0.0.1:9443 --tls-cert {dir}/cert.pem --tls-key {dir}/key.pem"
    );
    println!(
        "  (or the event-loop server: cargo run --release -p ws-mio --example echo_server -- \
         127.0.0.1:9443 --tls-cert {dir}/cert.pem --tls-key {dir}/key.pem)"
    );
    println!(
        "  cargo run --release -p ws-std --example client -- \
         wss://localhost:9443/ hello --ca {dir}/ca.pem"
    );
}

fn make(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "ws-std local test CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;
    let key = KeyPair::generate()?;
    let server = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?
        .signed_by(&key, &ca)?;
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("ca.pem"), ca.pem())?;
    std::fs::write(dir.join("cert.pem"), server.pem())?;
    std::fs::write(dir.join("key.pem"), key.serialize_pem())?;
    Ok(())
}
