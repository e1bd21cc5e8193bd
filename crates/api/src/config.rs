use std::net::SocketAddr;

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

    /// Database URL: `sqlite://PATH` (the file and its folder are created when missing) or
    /// `sqlite::memory:`.
    #[arg(long, env = "UNISHOP_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
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
