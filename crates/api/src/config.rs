use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// Where the local SQLite database lives unless told otherwise: the git-ignored `data/` folder of
/// the project this binary was built from.
pub const DEFAULT_DATABASE_URL: &str = concat!(
    "sqlite://",
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/unishop.db"
);

/// Every setting of the API, as a flag or the environment variable beside it. The defaults run a
/// complete local shop with no cloud account.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "unishop-api",
    version,
    about = "The Unishop API: the Unicorn Shop's catalogue, accounts and baskets over HTTP."
)]
pub struct Config {
    /// Address and port to listen on (port 0 picks a free one; the chosen address is printed).
    #[arg(long, env = "UNISHOP_BIND", default_value = "127.0.0.1:3000")]
    pub bind: SocketAddr,

    /// AWS region this instance stands for; sent in every response's `x-unishop-region` header.
    #[arg(long, env = "UNISHOP_REGION", default_value = "us-east-1", value_parser = parse_region)]
    pub region: String,

    /// Database URL: `sqlite://PATH` (the file and its folder are created when missing),
    /// `sqlite::memory:`, or `mysql://USER@HOST:PORT/DATABASE` for MySQL 8.0 / Aurora MySQL 3
    /// (migrated by `unishop-api migrate`, not on start).
    #[arg(long, env = "UNISHOP_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,

    /// The key that signs login tokens (at least 32 characters). Every region must share it, so a
    /// token issued by one is accepted by the other. Without it (or a key file), a key is
    /// generated once as `token.key` beside the database file (per process for `sqlite::memory:`).
    #[arg(long, env = "UNISHOP_TOKEN_KEY", hide_env_values = true, value_parser = parse_secret)]
    pub token_key: Option<Secret>,

    /// A file holding the token key, for secrets mounted as files.
    #[arg(long, env = "UNISHOP_TOKEN_KEY_FILE", conflicts_with = "token_key")]
    pub token_key_file: Option<PathBuf>,

    /// DynamoDB table of the carts (partition key `uuid`). With `--orders-table`, carts and
    /// orders live in DynamoDB (region and credentials from the AWS environment,
    /// `AWS_ENDPOINT_URL_DYNAMODB` for an emulator); without both, in the database.
    #[arg(long, env = "UNISHOP_CARTS_TABLE", requires = "orders_table")]
    pub carts_table: Option<String>,

    /// DynamoDB table of the orders (keys `pk` and `sk`); goes with `--carts-table`.
    #[arg(long, env = "UNISHOP_ORDERS_TABLE", requires = "carts_table")]
    pub orders_table: Option<String>,

    /// ARN of a Secrets Manager secret holding the token key, read once at start.
    #[arg(long, env = "UNISHOP_TOKEN_KEY_SECRET_ARN", conflicts_with_all = ["token_key", "token_key_file"])]
    pub token_key_secret_arn: Option<String>,

    /// ARN of a Secrets Manager secret holding the MySQL password (a JSON object with a
    /// `password` field, as RDS writes it, or the bare password), read once at start.
    #[arg(long, env = "UNISHOP_DATABASE_SECRET_ARN")]
    pub database_secret_arn: Option<String>,

    /// PEM file of the certificate authorities that sign the MySQL server's certificate (for
    /// Aurora: Amazon RDS's `global-bundle.pem`). With it, MySQL connections must use TLS and
    /// the certificate must match the host name.
    #[arg(long, env = "UNISHOP_DATABASE_CA_BUNDLE")]
    pub database_ca_bundle: Option<PathBuf>,

    /// Set as `aurora_replica_read_consistency` on every MySQL connection: EVENTUAL, SESSION
    /// or GLOBAL. Write forwarding in the standby region requires it.
    #[arg(long, env = "UNISHOP_AURORA_READ_CONSISTENCY", value_parser = parse_read_consistency)]
    pub aurora_read_consistency: Option<crate::store::mysql::ReadConsistency>,

    /// Most MySQL connections this process opens (one Lambda instance serves one request at a
    /// time: 2 is plenty there).
    #[arg(long, env = "UNISHOP_DATABASE_MAX_CONNECTIONS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub database_max_connections: u32,

    /// How long after a write request arrives its write may still commit, in milliseconds; later,
    /// it is answered 503 and nothing is written. Keep it below the time after which the write is
    /// given up and resent to the standby (2000 ms behind CloudFront, 3500 ms by the client), so
    /// that a write sent to the standby is never applied here afterwards.
    #[arg(long, env = "UNISHOP_WRITE_DEADLINE_MS", default_value_t = crate::http::DEFAULT_WRITE_DEADLINE.as_millis() as u64)]
    pub write_deadline_ms: u64,

    /// The origin secret: when set, every request but `/health` and `/health/*` must carry it in
    /// the `x-unishop-origin-secret` header, which the edge in front of the API adds (CloudFront's
    /// origin custom header, or the local edge), and is otherwise answered 403. Unset (with
    /// `--origin-secret-arn` unset too): no check, for an API run on its own (`cargo xtask dev`).
    #[arg(long, env = "UNISHOP_ORIGIN_SECRET", hide_env_values = true, value_parser = parse_secret)]
    pub origin_secret: Option<Secret>,

    /// ARN of a Secrets Manager secret holding the origin secret (as `--origin-secret`): its
    /// current and previous versions (AWSCURRENT, AWSPREVIOUS) are accepted, so a rotation never
    /// locks out the edge while it is re-deployed; an unknown value makes the API read both again
    /// (at most every 30 s), and they are read again every 5 minutes.
    #[arg(
        long,
        env = "UNISHOP_ORIGIN_SECRET_ARN",
        conflicts_with = "origin_secret"
    )]
    pub origin_secret_arn: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Config {
    /// The DynamoDB tables for carts and orders, when both are set.
    pub fn dynamodb_tables(&self) -> Option<crate::store::dynamodb::Tables> {
        Some(crate::store::dynamodb::Tables {
            carts: self.carts_table.clone()?,
            orders: self.orders_table.clone()?,
        })
    }
}

/// What to do instead of serving.
#[derive(clap::Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Prepares the configured stores and exits: applies the SQL migrations and seeds the
    /// catalogue (MySQL migrates only here, against the primary region's writer).
    Migrate {
        /// Also create the DynamoDB tables (for an emulator; in AWS the templates create them).
        #[arg(long)]
        create_tables: bool,
    },
}

fn parse_read_consistency(raw: &str) -> Result<crate::store::mysql::ReadConsistency, String> {
    raw.parse()
}

/// A secret setting: `{:?}` (and so any log of the configuration) never shows it.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

fn parse_secret(raw: &str) -> Result<Secret, String> {
    Ok(Secret(raw.to_owned()))
}

/// A region name goes into a response header, so only lower-case letters, digits and dashes pass.
fn parse_region(raw: &str) -> Result<String, String> {
    let valid = !raw.is_empty()
        && raw.len() <= 32
        && raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(format!(
            "{raw:?} is not a region name: use 1 to 32 lower-case letters, digits and dashes, like us-east-1"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_no_arguments() {
        let config = Config::try_parse_from(["unishop-api"]).expect("defaults parse");
        assert_eq!(config.bind.to_string(), "127.0.0.1:3000");
        assert_eq!(config.region, "us-east-1");
        assert!(config.database_url.ends_with("/data/unishop.db"));
        assert!(config.token_key.is_none() && config.token_key_file.is_none());
    }

    #[test]
    fn the_token_key_never_shows_in_debug_output() {
        let config = Config::try_parse_from([
            "unishop-api",
            "--token-key",
            "super-secret-super-secret-super-secret",
        ])
        .expect("parses");
        assert!(!format!("{config:?}").contains("super-secret"));
    }

    #[test]
    fn the_origin_secret_is_a_value_or_an_arn_and_never_shows() {
        let config =
            Config::try_parse_from(["unishop-api", "--origin-secret", "edge-only-edge-only"])
                .expect("parses");
        assert!(!format!("{config:?}").contains("edge-only"));
        assert!(Config::try_parse_from([
            "unishop-api",
            "--origin-secret",
            "x",
            "--origin-secret-arn",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:origin"
        ])
        .is_err());
        let neither = Config::try_parse_from(["unishop-api"]).expect("parses");
        assert!(neither.origin_secret.is_none() && neither.origin_secret_arn.is_none());
    }

    #[test]
    fn dynamodb_tables_come_in_pairs() {
        let both = Config::try_parse_from([
            "unishop-api",
            "--carts-table",
            "carts",
            "--orders-table",
            "orders",
        ])
        .expect("parses");
        let tables = both.dynamodb_tables().expect("both set");
        assert_eq!(
            (tables.carts.as_str(), tables.orders.as_str()),
            ("carts", "orders")
        );
        assert!(Config::try_parse_from(["unishop-api", "--carts-table", "carts"]).is_err());
        let neither = Config::try_parse_from(["unishop-api"]).expect("parses");
        assert!(neither.dynamodb_tables().is_none());
    }

    #[test]
    fn refuses_a_region_that_cannot_be_a_header() {
        let error = Config::try_parse_from(["unishop-api", "--region", "US East\n"])
            .expect_err("bad region refused");
        assert!(
            error.to_string().contains("is not a region name"),
            "{error}"
        );
    }
}
