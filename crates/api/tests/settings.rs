//! One set of `UNISHOP_*` settings: what the binary reads (its `--help`), what
//! `infra/templates/regional.yaml` passes to the Lambda function, and what the README documents
//! must agree.

use clap::CommandFactory;
use unishop_api::Config;

/// What the function needs in AWS: region, Aurora (URL, password, TLS, read consistency, pool),
/// the shared token key, the origin secret CloudFront sends, and the DynamoDB tables for carts
/// and orders.
const LAMBDA_NEEDS: &[&str] = &[
    "UNISHOP_REGION",
    "UNISHOP_DATABASE_URL",
    "UNISHOP_DATABASE_SECRET_ARN",
    "UNISHOP_DATABASE_CA_BUNDLE",
    "UNISHOP_AURORA_READ_CONSISTENCY",
    "UNISHOP_DATABASE_MAX_CONNECTIONS",
    "UNISHOP_TOKEN_KEY_SECRET_ARN",
    "UNISHOP_ORIGIN_SECRET_ARN",
    "UNISHOP_CARTS_TABLE",
    "UNISHOP_ORDERS_TABLE",
];

fn binary_settings() -> Vec<String> {
    Config::command()
        .get_arguments()
        .filter_map(|argument| argument.get_env())
        .map(|name| name.to_string_lossy().into_owned())
        .collect()
}

fn template_settings() -> Vec<String> {
    let template = include_str!("../../../infra/templates/regional.yaml");
    template
        .lines()
        .filter_map(|line| line.trim_start().split_once(':'))
        .map(|(key, _)| key)
        .filter(|key| {
            key.starts_with("UNISHOP_")
                && key
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_template_passes_only_settings_the_binary_reads() {
    let read = binary_settings();
    for name in template_settings() {
        assert!(
            read.contains(&name),
            "regional.yaml passes {name}, which unishop-api does not read"
        );
    }
}

#[test]
fn the_template_passes_everything_lambda_needs() {
    let passed = template_settings();
    for name in LAMBDA_NEEDS {
        assert!(
            passed.iter().any(|p| p == name),
            "regional.yaml does not pass {name} to the function"
        );
    }
}

#[test]
fn help_and_readme_name_every_setting() {
    let help = Config::command().render_long_help().to_string();
    let readme = include_str!("../../../README.md");
    for name in binary_settings() {
        assert!(help.contains(&name), "--help does not show {name}");
        assert!(readme.contains(&name), "README.md does not document {name}");
    }
}
