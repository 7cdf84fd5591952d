//! Credentials kept in the data dir: a self-signed CA, a server certificate
//! signed by it, and the bearer token. Generated once, reused on restart so
//! existing kubeconfigs keep working.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use rand::RngCore;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading or writing {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("generating certificates: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("loading certificates: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("invalid PEM in {0}")]
    Pem(PathBuf),
}

/// What the server and the kubeconfig need.
pub struct Credentials {
    pub ca_pem: String,
    pub token: String,
    pub server_config: Arc<rustls::ServerConfig>,
}

fn read(path: &Path) -> Result<Option<String>, TlsError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(TlsError::Io {
            path: path.into(),
            source: e,
        }),
    }
}

/// Write a secret file readable only by the owner, atomically.
pub fn write_private(path: &Path, contents: &str) -> Result<(), TlsError> {
    let tmp = path.with_extension("tmp");
    let io = |e| TlsError::Io {
        path: path.into(),
        source: e,
    };
    {
        use std::io::Write;
        #[cfg(unix)]
        use std::os::unix::fs::OpenOptionsExt;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        opts.mode(0o600);
        let mut f = opts.open(&tmp).map_err(io)?;
        f.write_all(contents.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}

fn ca_params() -> Result<CertificateParams, TlsError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, "slipway-ca");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(params)
}

/// Load or create CA, server certificate (for `hosts`) and token under `dir`.
pub fn load_or_create(dir: &Path, hosts: &[IpAddr]) -> Result<Credentials, TlsError> {
    let ca_crt = dir.join("ca.crt");
    let ca_key = dir.join("ca.key");
    let token_path = dir.join("token");

    let (ca_pem, ca_key_pem) = match (read(&ca_crt)?, read(&ca_key)?) {
        (Some(c), Some(k)) => (c, k),
        _ => {
            let key = KeyPair::generate()?;
            let cert = ca_params()?.self_signed(&key)?;
            write_private(&ca_key, &key.serialize_pem())?;
            write_private(&ca_crt, &cert.pem())?;
            (cert.pem(), key.serialize_pem())
        }
    };

    let token = match read(&token_path)? {
        Some(t) if !t.trim().is_empty() => t.trim().to_string(),
        _ => {
            let mut b = [0u8; 24];
            rand::rng().fill_bytes(&mut b);
            let t = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
            write_private(&token_path, &t)?;
            t
        }
    };

    // The server certificate is cheap to make, so it is re-issued at every
    // start for the addresses this run listens on.
    let ca_key = KeyPair::from_pem(&ca_key_pem)?;
    // The issuer is rebuilt from the same parameters the CA was made with, so
    // the server certificate names it exactly as the stored CA certificate.
    let issuer = rcgen::Issuer::new(ca_params()?, ca_key);
    let server_key = KeyPair::generate()?;
    let mut params = CertificateParams::new(vec![
        "localhost".to_string(),
        "kubernetes.default.svc".to_string(),
    ])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "slipway-apiserver");
    for ip in hosts {
        params.subject_alt_names.push(SanType::IpAddress(*ip));
    }
    let server_cert = params.signed_by(&server_key, &issuer)?;

    let certs = vec![server_cert.der().clone()];
    let key = rustls::pki_types::PrivateKeyDer::try_from(server_key.serialize_der())
        .map_err(|_| TlsError::Pem(dir.join("server key")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Credentials {
        ca_pem,
        token,
        server_config: Arc::new(cfg),
    })
}

/// A kubeconfig for `server` using the CA and token.
pub fn kubeconfig(server: &str, ca_pem: &str, token: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: slipway
  cluster:
    server: {server}
    certificate-authority-data: {ca}
users:
- name: slipway
  user:
    token: {token}
contexts:
- name: slipway
  context:
    cluster: slipway
    user: slipway
    namespace: default
current-context: slipway
preferences: {{}}
"
    )
}
