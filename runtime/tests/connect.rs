//! `ConnectOptions` against real servers that require credentials.

use std::time::Duration;

use jetwire::{Auth, ConnectOptions, EmbeddedOptions, EmbeddedServer};
use tokio::time::timeout;

const BOUND: Duration = Duration::from_secs(30);

async fn server_with(args: &[&str]) -> EmbeddedServer {
    EmbeddedServer::start(EmbeddedOptions {
        extra_args: args.iter().map(|a| a.to_string()).collect(),
        ..Default::default()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn user_and_password_are_sent_and_wrong_ones_are_reported() {
    timeout(BOUND, async {
        let server = server_with(&["--user", "alice", "--pass", "s3cret"]).await;
        let good = ConnectOptions::new(server.url())
            .name("connect-test")
            .auth(Auth::UserPassword {
                user: "alice".into(),
                password: "s3cret".into(),
            })
            .connect()
            .await
            .unwrap();
        good.flush().await.unwrap();

        let err = ConnectOptions::new(server.url())
            .auth(Auth::UserPassword {
                user: "alice".into(),
                password: "wrong".into(),
            })
            .connect()
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&server.url()), "{text}");
        assert!(text.contains("authorization violation"), "{text}");
    })
    .await
    .expect("test timed out")
}

#[tokio::test]
async fn a_token_is_sent() {
    timeout(BOUND, async {
        let server = server_with(&["--auth", "tok3n"]).await;
        let client = ConnectOptions::new(server.url())
            .auth(Auth::Token("tok3n".into()))
            .connect()
            .await
            .unwrap();
        client.flush().await.unwrap();
        assert!(ConnectOptions::new(server.url()).connect().await.is_err());
    })
    .await
    .expect("test timed out")
}

#[tokio::test]
async fn bad_settings_are_reported_before_connecting() {
    timeout(BOUND, bad_settings())
        .await
        .expect("test timed out")
}

async fn bad_settings() {
    let err = ConnectOptions::new("").connect().await.unwrap_err();
    assert!(err.to_string().contains("no server URL"), "{err}");
    let mut opts = ConnectOptions::new("nats://127.0.0.1:4222");
    opts.tls.client_cert = Some("/x/cert.pem".into());
    let err = opts.connect().await.unwrap_err();
    assert!(
        err.to_string().contains("both the certificate and the key"),
        "{err}"
    );
    let err = ConnectOptions::new("nats://127.0.0.1:4222")
        .auth(Auth::CredentialsFile("/nonexistent/user.creds".into()))
        .connect()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/user.creds"), "{err}");
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        use rcgen::{
            BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair,
            KeyUsagePurpose,
        };
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, pem: String| std::fs::write(dir.path().join(name), pem).unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(vec![]).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = ca.self_signed(&ca_key).unwrap();
        write("ca.pem", ca.pem());
        for (name, purpose, sans) in [
            (
                "server",
                ExtendedKeyUsagePurpose::ServerAuth,
                vec!["localhost".to_string(), "127.0.0.1".to_string()],
            ),
            (
                "client",
                ExtendedKeyUsagePurpose::ClientAuth,
                vec!["client".to_string()],
            ),
        ] {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(sans).unwrap();
            params.extended_key_usages = vec![purpose];
            let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
            write(&format!("{name}.pem"), cert.pem());
            write(&format!("{name}-key.pem"), key.serialize_pem());
        }
        Pki { dir }
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }
}

#[tokio::test]
async fn tls_with_a_private_ca_and_a_client_certificate() {
    timeout(BOUND, async {
        let pki = Pki::new();
        let server = server_with(&[
            "--tlsverify",
            "--tlscert",
            pki.path("server.pem").to_str().unwrap(),
            "--tlskey",
            pki.path("server-key.pem").to_str().unwrap(),
            "--tlscacert",
            pki.path("ca.pem").to_str().unwrap(),
        ])
        .await;
        let tls = jetwire::TlsOptions {
            ca_file: Some(pki.path("ca.pem")),
            client_cert: Some(pki.path("client.pem")),
            client_key: Some(pki.path("client-key.pem")),
            require: true,
        };
        let client = ConnectOptions::new(server.url())
            .tls(tls.clone())
            .connect()
            .await
            .unwrap();
        client.flush().await.unwrap();

        // Without the client certificate the server refuses the connection.
        let without_cert = jetwire::TlsOptions {
            client_cert: None,
            client_key: None,
            ..tls
        };
        let err = ConnectOptions::new(server.url())
            .tls(without_cert)
            .connect()
            .await
            .unwrap_err();
        assert!(err.to_string().contains(&server.url()), "{err}");
    })
    .await
    .expect("test timed out")
}

#[tokio::test]
async fn an_nkey_seed_signs_the_servers_challenge() {
    timeout(BOUND, async {
        let user = nkeys::KeyPair::new_user();
        let seed = user.seed().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("nkey.conf");
        std::fs::write(
            &config,
            format!(
                "authorization {{ users = [ {{ nkey: \"{}\" }} ] }}\n",
                user.public_key()
            ),
        )
        .unwrap();
        let server = server_with(&["-c", config.to_str().unwrap()]).await;
        let client = ConnectOptions::new(server.url())
            .auth(Auth::NkeySeed(seed))
            .connect()
            .await
            .unwrap();
        client.flush().await.unwrap();
        // A round trip through the server: the connection is authorised, not merely open.
        let mut sub = client.subscribe("nkey.echo").await.unwrap();
        client.publish("nkey.echo", "hi".into()).await.unwrap();
        let msg = futures::StreamExt::next(&mut sub).await.unwrap();
        assert_eq!(&msg.payload[..], b"hi");

        // Another user's seed, and no credentials at all, are refused.
        let stranger = nkeys::KeyPair::new_user().seed().unwrap();
        let err = ConnectOptions::new(server.url())
            .auth(Auth::NkeySeed(stranger))
            .connect()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("authorization violation"), "{err}");
        assert!(ConnectOptions::new(server.url()).connect().await.is_err());
    })
    .await
    .expect("test timed out")
}

/// NATS JWTs (v2) for a server in operator mode, encoded and signed here with `nkeys`.
mod jwt {
    use data_encoding::{BASE32_NOPAD, BASE64URL_NOPAD};
    use serde_json::{json, Value};
    use sha2::{Digest, Sha512_256};

    /// A signed JWT: `issuer` signs claims about `subject`; `nats` is the typed section
    /// (`type`, `version` and the type's own fields).
    pub fn encode(issuer: &nkeys::KeyPair, subject: &str, name: &str, nats: Value) -> String {
        let iat = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        // The id is the hash of the standard claims without it, as the NATS jwt library
        // computes it: SHA-512/256 of their JSON (keys in its order), base32 without padding.
        let standard =
            json!({"iat": iat, "iss": issuer.public_key(), "name": name, "sub": subject});
        let jti = BASE32_NOPAD.encode(&Sha512_256::digest(standard.to_string().as_bytes()));
        let claims = json!({
            "jti": jti, "iat": iat, "iss": issuer.public_key(), "name": name, "sub": subject,
            "nats": nats,
        });
        let header = BASE64URL_NOPAD.encode(br#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
        let body = BASE64URL_NOPAD.encode(claims.to_string().as_bytes());
        let signed = format!("{header}.{body}");
        let signature = issuer.sign(signed.as_bytes()).unwrap();
        format!("{signed}.{}", BASE64URL_NOPAD.encode(&signature))
    }

    pub fn operator(operator: &nkeys::KeyPair) -> String {
        let nats = json!({"type": "operator", "version": 2});
        encode(operator, &operator.public_key(), "test-operator", nats)
    }

    /// An account without limits, signed by the operator.
    pub fn account(operator: &nkeys::KeyPair, account: &nkeys::KeyPair, name: &str) -> String {
        let nats = json!({
            "limits": {"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
                       "wildcards": true, "conn": -1, "leaf": -1},
            "default_permissions": {"pub": {}, "sub": {}},
            "type": "account", "version": 2,
        });
        encode(operator, &account.public_key(), name, nats)
    }

    /// A user without limits, signed by its account.
    pub fn user(account: &nkeys::KeyPair, user: &nkeys::KeyPair) -> String {
        let nats = json!({
            "pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1,
            "type": "user", "version": 2,
        });
        encode(account, &user.public_key(), "test-user", nats)
    }

    /// A `.creds` file's text: the user JWT and the user's seed, in the standard layout.
    pub fn creds(user_jwt: &str, user: &nkeys::KeyPair) -> String {
        format!(
            "-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n\
             ************************* IMPORTANT *************************\n\
             NKEY Seed printed below can be used to sign and prove identity.\n\
             NKEYs are sensitive and should be treated as secrets.\n\n\
             -----BEGIN USER NKEY SEED-----\n{}\n------END USER NKEY SEED------\n\n\
             *************************************************************\n",
            user.seed().unwrap()
        )
    }
}

#[tokio::test]
async fn a_credentials_file_authenticates_a_user_of_a_known_account() {
    timeout(BOUND, async {
        let operator = nkeys::KeyPair::new_operator();
        let account = nkeys::KeyPair::new_account();
        let system = nkeys::KeyPair::new_account();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("operator.conf");
        std::fs::write(
            &config,
            format!(
                "operator: {}\nsystem_account: {}\nresolver: MEMORY\n\
                 resolver_preload: {{\n  {}: {}\n  {}: {}\n}}\n",
                jwt::operator(&operator),
                system.public_key(),
                account.public_key(),
                jwt::account(&operator, &account, "APP"),
                system.public_key(),
                jwt::account(&operator, &system, "SYS"),
            ),
        )
        .unwrap();
        let server = server_with(&["-c", config.to_str().unwrap()]).await;

        let user = nkeys::KeyPair::new_user();
        let creds = dir.path().join("user.creds");
        std::fs::write(&creds, jwt::creds(&jwt::user(&account, &user), &user)).unwrap();
        let client = ConnectOptions::new(server.url())
            .auth(Auth::CredentialsFile(creds))
            .connect()
            .await
            .unwrap();
        // A round trip through the server: the connection is authorised, not merely open.
        let mut sub = client.subscribe("creds.echo").await.unwrap();
        client.publish("creds.echo", "hi".into()).await.unwrap();
        let msg = futures::StreamExt::next(&mut sub).await.unwrap();
        assert_eq!(&msg.payload[..], b"hi");

        // A user of an account the server does not know is refused.
        let stranger_account = nkeys::KeyPair::new_account();
        let stranger = nkeys::KeyPair::new_user();
        let stranger_creds = dir.path().join("stranger.creds");
        let stranger_jwt = jwt::user(&stranger_account, &stranger);
        std::fs::write(&stranger_creds, jwt::creds(&stranger_jwt, &stranger)).unwrap();
        let err = ConnectOptions::new(server.url())
            .auth(Auth::CredentialsFile(stranger_creds))
            .connect()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("authorization violation"), "{err}");
        // So is a connection without credentials: the server is really in operator mode.
        assert!(ConnectOptions::new(server.url()).connect().await.is_err());
    })
    .await
    .expect("test timed out")
}
