//! The data of a plan: steps, calls, values that come from earlier calls, and checks.

use std::collections::BTreeSet;
use std::time::Duration;

/// An argument of a call, or an expected value: literal text, or the output of an earlier call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Literal text.
    Text(String),
    /// The output named so, produced by an earlier call of the plan (or given with the plan).
    Output(String),
}

impl Value {
    /// Literal text.
    pub fn text(text: impl Into<String>) -> Value {
        Value::Text(text.into())
    }

    /// The output `name` of an earlier call.
    pub fn output(name: impl Into<String>) -> Value {
        Value::Output(name.into())
    }

    /// How a dry run shows it: the text, or `<name>` for an output not known yet.
    pub fn render(&self) -> String {
        match self {
            Value::Text(text) => text.clone(),
            Value::Output(name) => format!("<{name}>"),
        }
    }
}

/// What a call produces: its answer filtered by `query` (a JMESPath expression, the AWS CLI's
/// `--query`, printed as text), kept under `name` for later calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Name later calls refer to with [`Value::Output`].
    pub name: String,
    /// JMESPath over the operation's JSON answer.
    pub query: String,
}

/// Whether a mismatch stops the plan or is reported and passed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Otherwise {
    /// The step fails; the plan stops there.
    Fail,
    /// A warning is reported; the plan goes on (for example a replica in the failed region).
    Warn,
}

/// What is checked on a call's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Nothing: the call succeeding is enough.
    None,
    /// The output must equal `expected`.
    Equals {
        expected: Value,
        otherwise: Otherwise,
    },
    /// When the output equals `value`, the rest of the step is already done and is skipped (what
    /// lets a plan be re-run after an interruption).
    SkipRestOfStepIfEquals(Value),
    /// The call is repeated every `every` until its output equals `expected`, for at most `timeout`.
    WaitUntilEquals {
        expected: Value,
        every: Duration,
        timeout: Duration,
    },
}

/// One call of a service's operation in a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Region the call goes to (the endpoint), also for global services such as CloudFront.
    pub region: String,
    /// Service, as the AWS CLI names it (`rds`, `dynamodb`, `cloudfront-keyvaluestore`, ...).
    pub service: String,
    /// Operation, as the AWS CLI names it (`switchover-global-cluster`, ...).
    pub operation: String,
    /// Arguments, in order (`--flag`, value, ...).
    pub args: Vec<Value>,
    /// The output it produces, if a later call or check needs one.
    pub produces: Option<Output>,
    /// What is checked on the output.
    pub check: Check,
}

impl Call {
    /// A call with literal arguments, no output and no check.
    pub fn new(region: &str, service: &str, operation: &str, args: &[&str]) -> Call {
        Call {
            region: region.to_string(),
            service: service.to_string(),
            operation: operation.to_string(),
            args: args.iter().map(|arg| Value::text(*arg)).collect(),
            produces: None,
            check: Check::None,
        }
    }

    /// Adds `flag` and a value (literal or an earlier output).
    pub fn arg(mut self, flag: &str, value: Value) -> Call {
        self.args.push(Value::text(flag));
        self.args.push(value);
        self
    }

    /// Adds a flag without a value (`--allow-data-loss`).
    pub fn flag(mut self, flag: &str) -> Call {
        self.args.push(Value::text(flag));
        self
    }

    /// The call produces `query` of its answer as output `name`.
    pub fn produces(mut self, name: &str, query: &str) -> Call {
        self.produces = Some(Output {
            name: name.to_string(),
            query: query.to_string(),
        });
        self
    }

    /// The check on the output.
    pub fn check(mut self, check: Check) -> Call {
        self.check = check;
        self
    }

    /// Names of the outputs this call needs (its arguments and its check).
    pub fn needs(&self) -> BTreeSet<&str> {
        let checked = match &self.check {
            Check::None => None,
            Check::Equals { expected, .. }
            | Check::SkipRestOfStepIfEquals(expected)
            | Check::WaitUntilEquals { expected, .. } => Some(expected),
        };
        self.args
            .iter()
            .chain(checked)
            .filter_map(|value| match value {
                Value::Output(name) => Some(name.as_str()),
                Value::Text(_) => None,
            })
            .collect()
    }

    /// The AWS CLI's arguments (after `aws`) with `resolve` giving each output's value:
    /// `service operation args... [--query Q --output text] --region R`.
    pub fn cli_args(&self, mut resolve: impl FnMut(&Value) -> String) -> Vec<String> {
        let mut args = vec![self.service.clone(), self.operation.clone()];
        args.extend(self.args.iter().map(&mut resolve));
        if let Some(output) = &self.produces {
            args.extend([
                "--query".to_string(),
                output.query.clone(),
                "--output".to_string(),
                "text".to_string(),
            ]);
        }
        args.extend(["--region".to_string(), self.region.clone()]);
        args
    }

    /// The call as a dry run prints it: `aws ...` with outputs not known yet as `<name>`.
    pub fn render(&self) -> String {
        render_line(self.cli_args(Value::render))
    }

    /// The AWS CLI's arguments with `args` (resolved, in order) in place of the outputs.
    pub fn resolved_cli_args(&self, args: &[String]) -> Vec<String> {
        let mut resolved = args.iter();
        self.cli_args(|value| match resolved.next() {
            Some(arg) => arg.clone(),
            None => value.render(),
        })
    }

    /// The call as a run prints it, with `args` (resolved, in order) in place of the placeholders.
    pub fn render_with(&self, args: &[String]) -> String {
        render_line(self.resolved_cli_args(args))
    }
}

/// `aws` and the arguments, quoted for a shell.
fn render_line(args: Vec<String>) -> String {
    let quoted: Vec<String> = args.iter().map(|arg| shell_quote(arg)).collect();
    format!("aws {}", quoted.join(" "))
}

/// Quotes `arg` for a POSIX shell when it needs it.
fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+%".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// A step: a title, its calls in order, and what to do when it fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// What the step does, as the operator reads it.
    pub title: String,
    /// Its calls, in order.
    pub calls: Vec<Call>,
    /// How to resume when this step fails (the state the earlier steps left).
    pub on_failure: String,
}

impl Step {
    /// A step with its calls.
    pub fn new(title: impl Into<String>, calls: Vec<Call>, on_failure: impl Into<String>) -> Step {
        Step {
            title: title.into(),
            calls,
            on_failure: on_failure.into(),
        }
    }
}

/// An ordered list of steps, with the outputs known before the first call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// One line saying what the plan does.
    pub title: String,
    /// Outputs given with the plan (for example the KeyValueStore ARN from a flag).
    pub given: Vec<(String, String)>,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Lines printed after the last step (what to do next).
    pub afterwards: Vec<String>,
}

impl Plan {
    /// Every call, in order.
    pub fn calls(&self) -> impl Iterator<Item = &Call> {
        self.steps.iter().flat_map(|step| &step.calls)
    }

    /// Every call as the AWS CLI line a dry run prints, in order.
    pub fn rendered_calls(&self) -> Vec<String> {
        self.calls().map(Call::render).collect()
    }

    /// Index of the first call whose rendering contains `needle` (for tests on the order).
    pub fn position(&self, needle: &str) -> Option<usize> {
        self.rendered_calls()
            .iter()
            .position(|line| line.contains(needle))
    }

    /// Outputs that some call needs before any earlier call (or the plan) provides them; empty
    /// for a well-formed plan.
    pub fn unmet_needs(&self) -> Vec<String> {
        let mut known: BTreeSet<&str> = self.given.iter().map(|(name, _)| name.as_str()).collect();
        let mut unmet = Vec::new();
        for call in self.calls() {
            for need in call.needs() {
                if !known.contains(need) {
                    unmet.push(format!(
                        "{need} (needed by {} {})",
                        call.service, call.operation
                    ));
                }
            }
            if let Some(output) = &call.produces {
                known.insert(output.name.as_str());
            }
        }
        unmet
    }

    /// The dry run: every step and call in order, with the checks, and nothing run.
    pub fn dry_run(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "(dry run) {}: these are the calls it would make, in order",
            self.title
        )];
        for (name, value) in &self.given {
            lines.push(format!("    given {name} = {value}"));
        }
        let total = self.steps.len();
        for (index, step) in self.steps.iter().enumerate() {
            lines.push(format!("[{}/{total}] {}", index + 1, step.title));
            for call in &step.calls {
                lines.push(format!("    $ {}", call.render()));
                if let Some(output) = &call.produces {
                    lines.push(format!("      -> {}", output.name));
                }
                match &call.check {
                    Check::None => {}
                    Check::Equals {
                        expected,
                        otherwise,
                    } => lines.push(format!(
                        "      {} unless it is {}",
                        match otherwise {
                            Otherwise::Fail => "stop",
                            Otherwise::Warn => "warn",
                        },
                        expected.render()
                    )),
                    Check::SkipRestOfStepIfEquals(value) => lines.push(format!(
                        "      if it is {}: already done, skip the rest of this step",
                        value.render()
                    )),
                    Check::WaitUntilEquals {
                        expected,
                        every,
                        timeout,
                    } => lines.push(format!(
                        "      repeated every {} s until it is {} (at most {} s)",
                        every.as_secs(),
                        expected.render(),
                        timeout.as_secs()
                    )),
                }
            }
        }
        lines.push(format!(
            "dry run done: {} calls, none made.",
            self.calls().count()
        ));
        lines.extend(
            self.afterwards
                .iter()
                .map(|line| format!("(after a run) {line}")),
        );
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_outputs_as_placeholders_and_quotes_queries() {
        let call = Call::new("us-east-1", "rds", "describe-global-clusters", &[])
            .arg("--global-cluster-identifier", Value::output("cluster id"))
            .produces("writer", "GlobalClusters[0].Status");
        assert_eq!(
            call.render(),
            "aws rds describe-global-clusters --global-cluster-identifier '<cluster id>' \
             --query 'GlobalClusters[0].Status' --output text --region us-east-1"
        );
        assert_eq!(call.needs().into_iter().collect::<Vec<_>>(), ["cluster id"]);
    }

    #[test]
    fn unmet_needs_names_an_output_used_before_it_is_produced() {
        let plan = Plan {
            title: "t".into(),
            given: vec![],
            steps: vec![Step::new(
                "s",
                vec![
                    Call::new("r", "svc", "use", &[]).arg("--x", Value::output("x")),
                    Call::new("r", "svc", "make", &[]).produces("x", "X"),
                ],
                "",
            )],
            afterwards: vec![],
        };
        assert_eq!(plan.unmet_needs(), ["x (needed by svc use)"]);
    }
}
