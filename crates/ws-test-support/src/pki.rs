//! Certificates made at test time (rcgen), for the TLS tests: nothing
//! secret is kept in the repository.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
};

/// A certificate authority and a server certificate it signed, as PEM.
#[derive(Debug, Clone)]
pub struct TestPki {
    /// The CA's certificate: what a client trusts.
    pub ca_pem: String,
    /// The server's certificate.
    pub cert_pem: String,
    /// The server's private key (PKCS#8).
    pub key_pem: String,
}

impl TestPki {
    /// A fresh CA and a certificate for `names` (DNS names or IP
    /// addresses), valid now.
    pub fn new(names: &[&str]) -> TestPki {
        TestPki::make(names, false)
    }

    /// The same, but a certificate valid only in the year 2000.
    pub fn expired(names: &[&str]) -> TestPki {
        TestPki::make(names, true)
    }

    fn make(names: &[&str], expired: bool) -> TestPki {
        // Each CA its own name: a certificate whose issuer has the name
        // of a trusted CA but another key is a bad signature, not an
        // unknown issuer.
        static CAS: AtomicUsize = AtomicUsize::new(0);
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let n = CAS.fetch_add(1, Ordering::Relaxed);
        ca_params.distinguished_name.push(
            DnType::CommonName,
            format!("test CA {} {n}", std::process::id()),
        );
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
            .expect("CA certificate");
        let key = KeyPair::generate().expect("server key");
        let names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("server params");
        if expired {
            params.not_before = date_time_ymd(2000, 1, 1);
            params.not_after = date_time_ymd(2000, 12, 31);
        }
        let cert = params.signed_by(&key, &ca).expect("server certificate");
        TestPki {
            ca_pem: ca.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// Write `ca.pem`, `cert.pem` and `key.pem` into a fresh directory
    /// under the system's temporary directory, for a peer in another
    /// process; returns the directory (removed by [`PkiFiles`]'s drop).
    pub fn write(&self) -> PkiFiles {
        static DIRS: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ws-test-pki-{}-{}",
            std::process::id(),
            DIRS.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create the certificate directory");
        for (name, pem) in [
            ("ca.pem", &self.ca_pem),
            ("cert.pem", &self.cert_pem),
            ("key.pem", &self.key_pem),
        ] {
            std::fs::write(dir.join(name), pem).expect("write a PEM file");
        }
        PkiFiles { dir }
    }
}

/// PEM files of a [`TestPki`] on disk; the directory goes on drop.
#[derive(Debug)]
pub struct PkiFiles {
    dir: PathBuf,
}

impl PkiFiles {
    /// The directory that holds the files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The CA's certificate file.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// The server's certificate file.
    pub fn cert(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }

    /// The server's key file.
    pub fn key(&self) -> PathBuf {
        self.dir.join("key.pem")
    }
}

impl Drop for PkiFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
