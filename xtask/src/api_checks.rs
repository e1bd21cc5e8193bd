//! The API's own check beyond `cargo test`: schemathesis against the running server's OpenAPI
//! document (`cargo xtask test`), on the real binary with a throw-away SQLite file
//! ([`crate::api_server`]).

use std::path::Path;
use std::process::Command;

use crate::api_server::{client, start_server, token_for, Scratch};
use crate::error::Result;
use crate::process::{first_line_of, run};

/// The schemathesis release the checks are written against.
pub const SCHEMATHESIS_VERSION: &str = "4.32.5";
/// How many examples schemathesis makes per operation and phase: enough to find shape and status
/// mistakes, few enough that the run takes well under a minute.
const SCHEMATHESIS_EXAMPLES: &str = "30";

/// Installs schemathesis (pip) unless that version is there.
pub fn setup_schemathesis() -> Result<()> {
    let installed = first_line_of("schemathesis", &["--version"]).unwrap_or_default();
    if installed.ends_with(SCHEMATHESIS_VERSION) {
        println!("  {installed}");
        return Ok(());
    }
    run(Command::new("pip").args([
        "install",
        "--quiet",
        &format!("schemathesis=={SCHEMATHESIS_VERSION}"),
    ]))?;
    Ok(())
}

/// Runs schemathesis against the API binary `api_bin`: every operation of `/openapi.json`, with
/// a logged-in user's token, checking that no answer is a 5xx and every answer (status, content
/// type, body) is one the document describes.
pub fn run_schemathesis(api_bin: &Path) -> Result<()> {
    let scratch = Scratch::new("schemathesis")?;
    let database = format!("sqlite://{}", scratch.path().join("shop.db").display());
    let (mut api, address) = start_server(
        "unishop-api",
        Command::new(api_bin)
            .env("UNISHOP_DATABASE_URL", &database)
            .env("RUST_LOG", "warn"),
        scratch.path(),
    )?;
    let result = (|| {
        let token = token_for(&client()?, &address, "schemathesis@example.com")?;
        let authorization = format!("Authorization: Bearer {token}");
        run(Command::new("schemathesis")
            .args([
                "run",
                &format!("http://{address}/openapi.json"),
                "--checks",
                "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance",
                "--max-examples",
                SCHEMATHESIS_EXAMPLES,
                "--generation-deterministic",
                "--header",
                &authorization,
            ])
            // Schemathesis keeps its example database in the working directory.
            .current_dir(scratch.path()))?;
        Ok(())
    })();
    api.stop();
    result
}
