//! A TLS front for the fake Telegram: a CA and a `localhost` certificate made by rcgen at start,
//! and a forwarder (one thread, smol tasks) that ends TLS and copies bytes to the plain fake.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_lite::io::{AsyncWriteExt, copy, split};
use futures_rustls::TlsAcceptor;
use futures_rustls::rustls::{self, pki_types::PrivateKeyDer};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use smol::net::{Shutdown, TcpStream};

/// A TLS listener on 127.0.0.1 forwarding to a plain HTTP backend; lives as long as the test.
pub struct TlsFront {
    addr: SocketAddr,
    /// The PEM of the CA that signed the `localhost` certificate (for `TELEGRAM_CA_FILE`).
    pub ca_pem: String,
    handshakes: Arc<AtomicUsize>,
}

impl TlsFront {
    pub fn start(backend: SocketAddr) -> TlsFront {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("empty SAN list is valid");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "streambot test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("ring makes keys"))
            .expect("the CA signs itself");
        let key = KeyPair::generate().expect("ring makes keys");
        let cert = CertificateParams::new(vec!["localhost".to_owned()])
            .expect("localhost is a valid name")
            .signed_by(&key, &ca)
            .expect("the CA signs the server certificate");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], PrivateKeyDer::Pkcs8(key.serialize_der().into()))
            .expect("the key matches the certificate");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the TLS front");
        let addr = listener.local_addr().expect("bound address");
        let handshakes = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&handshakes);
        let acceptor = TlsAcceptor::from(Arc::new(config));
        std::thread::Builder::new()
            .name("tls-front".into())
            .spawn(move || serve(listener, acceptor, backend, counter))
            .expect("spawn the TLS front");
        TlsFront { addr, ca_pem: ca.pem(), handshakes }
    }

    /// `https://localhost:PORT`: the name the certificate is for.
    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }

    /// TLS handshakes completed so far.
    pub fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }
}

fn serve(listener: TcpListener, acceptor: TlsAcceptor, backend: SocketAddr, handshakes: Arc<AtomicUsize>) {
    let ex = smol::LocalExecutor::new();
    smol::block_on(ex.run(async {
        let listener = smol::net::TcpListener::try_from(listener).expect("a bound listener");
        while let Ok((tcp, _)) = listener.accept().await {
            ex.spawn(forward(acceptor.clone(), tcp, backend, Arc::clone(&handshakes))).detach();
        }
    }));
}

/// One connection: the handshake (a client that refuses the certificate ends it here), then
/// bytes both ways until each side closes.
async fn forward(acceptor: TlsAcceptor, tcp: TcpStream, backend: SocketAddr, handshakes: Arc<AtomicUsize>) {
    let Ok(tls) = acceptor.accept(tcp).await else { return };
    handshakes.fetch_add(1, Ordering::SeqCst);
    let Ok(up) = TcpStream::connect(backend).await else { return };
    let (from_client, mut to_client) = split(tls);
    let (from_up, mut to_up) = (up.clone(), up.clone());
    let upstream = async {
        let _ = copy(from_client, &mut to_up).await;
        let _ = up.shutdown(Shutdown::Write);
    };
    let downstream = async {
        let _ = copy(from_up, &mut to_client).await;
        let _ = to_client.close().await;
    };
    futures_lite::future::zip(upstream, downstream).await;
}
