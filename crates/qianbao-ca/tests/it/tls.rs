//! A real rustls mTLS handshake over a loopback TCP socket: accepted with an issued certificate, refused
//! with a revoked one — with the records-backed verifier and with the CRL-backed one.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::danger::ClientCertVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::*;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Runs one handshake plus a ping/pong; returns the server's and the client's outcome.
async fn handshake(
    verifier: Arc<dyn ClientCertVerifier>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> (Result<(), String>, Result<(), String>) {
    let server_id = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let server_cert = server_id.cert.der().clone();
    let server_key = PrivateKeyDer::try_from(server_id.signing_key.serialize_der()).unwrap();
    let server_config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![server_cert.clone()], server_key)
        .unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(server_cert).unwrap();
    let client_config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(server_config));
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let mut tls = acceptor.accept(tcp).await.map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
        tls.write_all(b"pong").await.map_err(|e| e.to_string())?;
        tls.shutdown().await.map_err(|e| e.to_string())?;
        Ok::<(), String>(())
    });
    let client = async {
        let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let connector = TlsConnector::from(Arc::new(client_config));
        let mut tls =
            connector.connect(ServerName::try_from("localhost").unwrap(), tcp).await.map_err(|e| e.to_string())?;
        tls.write_all(b"ping").await.map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
        if &buf != b"pong" {
            return Err("bad reply".to_string());
        }
        Ok::<(), String>(())
    };
    let client = tokio::time::timeout(Duration::from_secs(20), client).await.unwrap_or(Err("timeout".into()));
    let server = tokio::time::timeout(Duration::from_secs(20), server)
        .await
        .map(|j| j.unwrap_or_else(|e| Err(e.to_string())))
        .unwrap_or(Err("timeout".into()));
    (server, client)
}

fn client_key(key: &DeviceKey) -> PrivateKeyDer<'static> {
    key.to_pkcs8_der().unwrap()
}

#[tokio::test]
async fn mtls_accepts_an_issued_certificate_and_refuses_a_revoked_one() {
    let env = env().await;
    let (key, good) = env.issue(user(1), device(1)).await;
    let (bad_key, bad) = env.issue(user(2), device(2)).await;
    env.ca.revoke(bad.record.serial, RevocationReason::KeyCompromise).await.unwrap();
    let verifier: Arc<dyn ClientCertVerifier> = env.ca.client_verifier();

    let (server, client) = handshake(verifier.clone(), good.chain(), client_key(&key)).await;
    assert_eq!(server, Ok(()));
    assert_eq!(client, Ok(()));

    let (server, client) = handshake(verifier.clone(), bad.chain(), client_key(&bad_key)).await;
    let err = server.unwrap_err();
    assert!(err.contains("Revoked"), "{err}");
    assert!(client.is_err());

    // The leaf alone (no intermediate sent) also works: the verifier knows its issuing CAs.
    let (server, _) = handshake(verifier, vec![good.certificate()], client_key(&key)).await;
    assert_eq!(server, Ok(()));

    let usage = env.ca.usage_for_certificate(bad.record.serial, 10).await.unwrap();
    assert!(
        usage
            .iter()
            .any(|u| u.event.kind == UsageKind::Verified && u.event.failure.as_deref() == Some("certificate_revoked"))
    );
}

#[tokio::test]
async fn the_crl_backed_verifier_also_refuses_a_revoked_certificate() {
    // rustls checks CRL and certificate times with its own (system) clock: start the CA's clock there.
    let now = Timestamp::from_unix_secs(qianbao_core::SystemClock.now().unix_secs());
    let env = env_with(Database::open_in_memory().unwrap(), CaConfig::default(), now, 11).await;
    let (key, good) = env.issue(user(1), device(1)).await;
    let (bad_key, bad) = env.issue(user(2), device(2)).await;
    env.ca.revoke(bad.record.serial, RevocationReason::KeyCompromise).await.unwrap();
    let verifier = env.ca.crl_client_verifier().await.unwrap();
    let (server, client) = handshake(verifier.clone(), good.chain(), client_key(&key)).await;
    assert_eq!((server, client), (Ok(()), Ok(())));
    let (server, _) = handshake(verifier, bad.chain(), client_key(&bad_key)).await;
    assert!(server.unwrap_err().contains("Revoked"));
}
