//! A mutual-TLS balance service in front of the wallet. A tokio-rustls server requires a client
//! certificate issued by the wallet's CA — checked by the CA's own rustls verifier
//! (`Wallet::client_verifier`: chain, clientAuth, and revocation from the CA's records, effective at
//! once) — and answers `GET /balance` with the balance of the session whose access token comes in the
//! `Authorization: Bearer` header. The session is bound to the certificate, so the token alone is
//! worthless without the device's key.
//!
//! By default it starts the server on 127.0.0.1 (a free port), calls it as 王小明's phone with his
//! device certificate, prints the answer, shows 李四's revoked certificate refused in the handshake, and
//! exits. With `--serve` it keeps serving on 127.0.0.1:8443 (`--port N` to change) and writes the PEM
//! files a client needs to a folder (`--out DIR`, default `mtls-demo`), then prints the curl command;
//! see the README's "Calling the mTLS example with curl".
//!
//! Run it with `cargo run -p qianbao-examples --example mtls_server [-- --serve [--port N] [--out DIR]]`.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use qianbao::qianbao_ca::IssuedCertificate;
use qianbao::{Caller, LoginOutcome, LoginRequest, Wallet, WalletError};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use common::*;

/// The longest request head the server reads.
const REQUEST_HEAD_MAX_BYTES: usize = 8 * 1024;
/// How long one connection may take.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);

/// What the command line asks for.
struct Args {
    serve: bool,
    port: u16,
    out: PathBuf,
}

fn args() -> Result<Args> {
    let mut a = Args { serve: false, port: 8443, out: PathBuf::from("mtls-demo") };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--serve" => a.serve = true,
            "--port" => a.port = it.next().ok_or("--port needs a number")?.parse()?,
            "--out" => a.out = PathBuf::from(it.next().ok_or("--out needs a folder")?),
            other => return Err(format!("unknown argument {other}; usage: [--serve [--port N] [--out DIR]]").into()),
        }
    }
    Ok(a)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The server's own TLS identity: a small CA (what clients trust, `--cacert`) and a certificate for
/// `localhost` and 127.0.0.1 signed by it. Separate from the wallet's CA, which only issues device
/// certificates.
struct ServerIdentity {
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

fn server_identity() -> Result<ServerIdentity> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.distinguished_name.push(DnType::CommonName, "qianbao example server CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;
    let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
    params.distinguished_name.push(DnType::CommonName, "localhost");
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &ca)?;
    Ok(ServerIdentity {
        ca_pem: ca.pem(),
        ca_der: ca.der().clone(),
        chain: vec![cert.der().clone()],
        key: PrivateKeyDer::try_from(key.serialize_der())?,
    })
}

/// The server's TLS configuration: client certificates are mandatory and checked by the wallet's CA.
fn server_config(wallet: &Wallet, id: &ServerIdentity) -> Result<Arc<ServerConfig>> {
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(wallet.client_verifier())
        .with_single_cert(id.chain.clone(), id.key.clone_key())?;
    Ok(Arc::new(config))
}

/// Accepts connections until the task is dropped; each is answered on its own task.
async fn serve(listener: TcpListener, acceptor: TlsAcceptor, wallet: Wallet) {
    loop {
        let Ok((tcp, peer)) = listener.accept().await else { continue };
        let (acceptor, wallet) = (acceptor.clone(), wallet.clone());
        tokio::spawn(async move {
            match tokio::time::timeout(CONNECTION_TIMEOUT, handle(acceptor, tcp, peer, wallet)).await {
                Ok(Ok(line)) => println!("   [server] {peer}: {line}"),
                Ok(Err(e)) => println!("   [server] {peer}: refused: {e}"),
                Err(_) => println!("   [server] {peer}: timed out"),
            }
        });
    }
}

/// One connection: the TLS handshake (the client certificate is verified here), one request, one answer.
async fn handle(acceptor: TlsAcceptor, tcp: TcpStream, peer: SocketAddr, wallet: Wallet) -> Result<String> {
    let mut tls = acceptor.accept(tcp).await?;
    let certificate = tls.get_ref().1.peer_certificates().and_then(|c| c.first()).cloned();
    let certificate = certificate.ok_or("no client certificate (the verifier requires one)")?;
    let head = read_head(&mut tls).await?;
    let (status, body) = answer(&wallet, &head, certificate, peer).await;
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(response.as_bytes()).await?;
    tls.shutdown().await?;
    Ok(format!("{} -> {status}", head.lines().next().unwrap_or("")))
}

/// Reads the request line and headers (no body: the service has only GETs).
async fn read_head(tls: &mut (impl AsyncReadExt + Unpin)) -> Result<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tls.read(&mut chunk).await?;
        if n == 0 {
            return Err("the connection closed before the request ended".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > REQUEST_HEAD_MAX_BYTES {
            return Err("request head too long".into());
        }
    }
    Ok(String::from_utf8(buf)?)
}

/// The answer to one request: its status line and JSON body.
async fn answer(
    wallet: &Wallet,
    head: &str,
    certificate: CertificateDer<'static>,
    peer: SocketAddr,
) -> (String, String) {
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or("");
    if !request_line.starts_with("GET /balance ") {
        return ("404 Not Found".into(), r#"{"error":"not_found","allowed":"GET /balance"}"#.into());
    }
    let token = lines.find_map(|l| {
        let (name, value) = l.split_once(':')?;
        let value = value.trim();
        name.trim().eq_ignore_ascii_case("authorization").then(|| value.strip_prefix("Bearer ").map(str::to_string))?
    });
    let Some(token) = token else {
        return ("401 Unauthorized".into(), r#"{"error":"access_token_required"}"#.into());
    };
    let caller = Caller::new(token).with_certificate(certificate).with_address(peer.ip());
    match wallet.balance(&caller).await {
        Ok(b) => {
            let body = format!(
                r#"{{"account":"{}","balance":"{}","available":"{}","currency":"{}"}}"#,
                b.account,
                b.balance.to_decimal_string(),
                b.available.to_decimal_string(),
                b.balance.currency()
            );
            ("200 OK".into(), body)
        }
        Err(e) => {
            let status = match &e {
                WalletError::Token(_) => "401 Unauthorized",
                e if e.is_rejection() => "403 Forbidden",
                _ => "500 Internal Server Error",
            };
            (status.into(), format!(r#"{{"error":"{}"}}"#, e.code()))
        }
    }
}

/// The phone's side: connects with its certificate and key, asks for the balance, returns the answer.
async fn call(addr: SocketAddr, server_ca: &CertificateDer<'static>, client: &Client) -> Result<String> {
    let mut roots = RootCertStore::empty();
    roots.add(server_ca.clone())?;
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_client_auth_cert(vec![client.cert.certificate()], client.key.clone_key())?;
    let tcp = TcpStream::connect(addr).await?;
    let mut tls = TlsConnector::from(Arc::new(config)).connect(ServerName::try_from("localhost")?, tcp).await?;
    let request = format!(
        "GET /balance HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer {}\r\nconnection: close\r\n\r\n",
        client.token
    );
    tls.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    tls.read_to_string(&mut response).await?;
    Ok(response)
}

/// What a phone holds: its certificate, its private key and the access token of its session.
struct Client {
    cert: IssuedCertificate,
    key: PrivateKeyDer<'static>,
    key_pem: String,
    token: String,
}

/// `m` gets a device certificate and logs in again presenting it: a certificate-bound session.
async fn client_for(demo: &Demo, m: &Member) -> Result<Client> {
    let key = device_key();
    let cert = demo.wallet.issue_certificate(&m.caller, demo.certificate_request(m, &key).await?).await?;
    let device = qianbao::qianbao_token::DeviceInfo {
        id: cert.record.device,
        name: format!("{}'s phone", m.person.name),
        address: None,
    };
    let mut login = LoginRequest::new(phone(&m.person)?, qianbao::qianbao_identity::Password::from(PASSWORD), device);
    login.client_certificate = Some(cert.certificate());
    let LoginOutcome::Session(session) = demo.wallet.login(login).await? else {
        return Err("a known device logs in without a second step".into());
    };
    let token = session.caller().access_token.expose().to_string();
    println!("   {} has device certificate {} and a session bound to it", m.person.name, cert.record.serial);
    Ok(Client { key: key.to_pkcs8_der()?, key_pem: key.to_pkcs8_pem()?.to_string(), cert, token })
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = args()?;
    let demo = Demo::new().await?;
    println!("1. a wallet on {}", demo.dir.path().join("wallet.sqlite").display());
    let wang = demo.member(WANG).await?;
    demo.top_up(&wang, "128.00", "top-up-1").await?;
    let li = demo.member(LI).await?;
    let good = client_for(&demo, &wang).await?;
    let lost = client_for(&demo, &li).await?;
    // 李四 lost his phone and revoked its certificate.
    demo.wallet.revoke_certificate(&li.caller, lost.cert.record.serial).await?;
    println!("   {} revoked certificate {} (the phone was lost)", LI.name, lost.cert.record.serial);

    let id = server_identity()?;
    let acceptor = TlsAcceptor::from(server_config(&demo.wallet, &id)?);
    let bind = if args.serve { format!("127.0.0.1:{}", args.port) } else { "127.0.0.1:0".to_string() };
    let listener = TcpListener::bind(&bind).await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(serve(listener, acceptor, demo.wallet.clone()));
    println!("2. the mTLS balance service listens on https://{addr}/balance");

    if args.serve {
        write_files(&args.out, &id, &good, &lost)?;
        let d = args.out.display();
        println!("3. wrote server-ca.pem, client.pem, client.key.pem, token, revoked.pem, revoked.key.pem to {d}");
        println!("   call it (Ctrl-C stops the server):");
        println!(
            "   curl --cacert {d}/server-ca.pem --cert {d}/client.pem --key {d}/client.key.pem \\\n        -H \"Authorization: Bearer $(cat {d}/token)\" https://localhost:{}/balance",
            addr.port()
        );
        server.await?;
        return Ok(());
    }

    let response = call(addr, &id.ca_der, &good).await?;
    let status = response.lines().next().unwrap_or("");
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
    println!("3. {}'s phone asked for the balance: {status}\n   {body}", WANG.name);
    check(status == "HTTP/1.1 200 OK" && body.contains(r#""balance":"128.00""#), "the balance came back")?;

    // The revoked certificate: the server's verifier refuses it in the handshake.
    match call(addr, &id.ca_der, &lost).await {
        Ok(r) => return Err(format!("a revoked certificate got an answer: {r}").into()),
        Err(e) => println!("4. {}'s revoked certificate was refused: {e}", LI.name),
    }
    // The verifier recorded the refusal during the handshake.
    let usage = demo.wallet.certificate_usage(&li.caller, lost.cert.record.serial, 10).await?;
    let refusal = usage.iter().find(|u| u.event.detail == "mtls handshake" && u.event.failure.is_some());
    let refusal = refusal.ok_or("the refused handshake is in the certificate's usage record")?;
    println!(
        "   its usage record: {} {} {}",
        refusal.event.at,
        refusal.event.detail,
        refusal.event.failure.as_deref().unwrap_or("")
    );
    server.abort();
    println!("done");
    Ok(())
}

/// Writes what a client needs to call the server: the server's CA, the device certificate, its key (owner
/// only) and the session's access token — and the revoked pair, to see a refusal.
fn write_files(dir: &Path, id: &ServerIdentity, good: &Client, lost: &Client) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("server-ca.pem"), &id.ca_pem)?;
    std::fs::write(dir.join("client.pem"), good.cert.pem())?;
    write_private(&dir.join("client.key.pem"), &good.key_pem)?;
    write_private(&dir.join("token"), &good.token)?;
    std::fs::write(dir.join("revoked.pem"), lost.cert.pem())?;
    write_private(&dir.join("revoked.key.pem"), &lost.key_pem)?;
    Ok(())
}

/// Writes a secret readable by its owner only (on Unix).
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}
