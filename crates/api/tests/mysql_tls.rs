//! TLS to MySQL with a CA bundle (`UNISHOP_DATABASE_CA_BUNDLE`), against a MariaDB server with a
//! certificate of a test CA made here with `openssl`: the store connects when the bundle holds
//! the server's CA, over TLS (its account requires it), and refuses a server its bundle does not
//! vouch for.

#[path = "support/mariadb.rs"]
mod mariadb;

use std::path::Path;
use std::process::Command;

use sqlx::Connection;
use unishop_api::store::mysql::{MySqlSettings, MySqlStore};
use unishop_api::store::StoreError;

fn openssl(folder: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(folder)
        .output()
        .expect("runs openssl");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A CA (`ca.pem`), a server certificate it signs for 127.0.0.1 (`server.pem`, `server.key`),
/// and another CA (`other-ca.pem`).
fn make_certificates(folder: &Path) {
    for (name, subject) in [
        ("ca", "/CN=Unishop test CA"),
        ("other-ca", "/CN=Someone else"),
    ] {
        openssl(
            folder,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                subject,
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.pem"),
            ],
        );
    }
    openssl(
        folder,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    std::fs::write(
        folder.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .expect("writes");
    openssl(
        folder,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ],
    );
}

#[tokio::test]
async fn tls_is_used_and_the_server_is_checked_against_the_bundle() {
    let Some(binary) = mariadb::mariadbd() else {
        return;
    };
    let certificates = tempfile::tempdir().expect("temp dir");
    let folder = certificates.path();
    make_certificates(folder);
    let file = |name: &str| folder.join(name).display().to_string();
    let server = mariadb::MariaDb::start_with(
        &binary,
        vec![
            format!("--ssl-ca={}", file("ca.pem")),
            format!("--ssl-cert={}", file("server.pem")),
            format!("--ssl-key={}", file("server.key")),
        ],
    );
    let admin_url = server.fresh_database("tls").await;
    let database = admin_url.rsplit('/').next().expect("a name").to_owned();
    let mut admin = sqlx::MySqlConnection::connect(&admin_url)
        .await
        .expect("connects");
    for statement in [
        "CREATE USER 'tls'@'127.0.0.1' IDENTIFIED BY 'tls-password' REQUIRE SSL".to_owned(),
        format!("GRANT ALL PRIVILEGES ON `{database}`.* TO 'tls'@'127.0.0.1'"),
    ] {
        sqlx::raw_sql(&statement)
            .execute(&mut admin)
            .await
            .expect("creates the user");
    }
    let url = format!(
        "mysql://tls:tls-password@127.0.0.1:{}/{database}",
        server.port()
    );

    let trusted = MySqlStore::connect(&MySqlSettings {
        ca_bundle: Some(folder.join("ca.pem")),
        ..MySqlSettings::new(&url)
    })
    .expect("valid URL");
    trusted.migrate().await.expect("migrates over TLS");
    trusted.into_stores().carts.ping().await.expect("answers");

    let untrusted = MySqlStore::connect(&MySqlSettings {
        ca_bundle: Some(folder.join("other-ca.pem")),
        ..MySqlSettings::new(&url)
    })
    .expect("valid URL");
    let refused = untrusted.into_stores().carts.ping().await;
    assert!(
        matches!(refused, Err(StoreError::Unavailable(_))),
        "{refused:?}"
    );
}
