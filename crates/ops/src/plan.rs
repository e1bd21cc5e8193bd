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
    /// Text with `{name}` replaced by the output `name` (for example a bucket name with the account).
    Template(String),
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

    /// Text with `{name}` placeholders filled from outputs.
    pub fn template(text: impl Into<String>) -> Value {
        Value::Template(text.into())
    }

    /// How a dry run shows it: the text, or `<name>` for an output not known yet.
    pub fn render(&self) -> String {
        match self {
            Value::Text(text) => text.clone(),
            Value::Output(name) => format!("<{name}>"),
            Value::Template(text) => text.replace('{', "<").replace('}', ">"),
        }
    }

    /// Names of the outputs it needs.
    pub fn needs(&self) -> Vec<&str> {
        match self {
            Value::Text(_) => Vec::new(),
            Value::Output(name) => vec![name.as_str()],
            Value::Template(text) => template_names(text),
        }
    }
}

/// The `{name}` placeholders of a template, in order.
pub(crate) fn template_names(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let Some(length) = rest[start..].find('}') else {
            break;
        };
        names.push(&rest[start + 1..start + length]);
        rest = &rest[start + length + 1..];
    }
    names
}

/// What a call produces: its answer filtered by `query` (a JMESPath expression, the AWS CLI's
/// `--query`, printed as text), kept under `name` for later calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Name later calls refer to with [`Value::Output`].
    pub name: String,
    /// JMESPath over the operation's JSON answer.
    pub query: String,
    /// Printed as JSON (to be passed to a later call as a document) instead of text.
    pub json: bool,
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
    /// The output must equal the value, or be empty (the call found the resource gone, see
    /// [`Call::already_done_when`]); otherwise the step fails.
    EqualsOrEmpty(Value),
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

/// The program a call runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// The AWS CLI: `aws <service> <operation> <args> [--query Q --output text] --region R`.
    Aws,
    /// A local program: `<service> <operation> <args>` (`cargo xtask release ...`, `curl ...`);
    /// its output is the first field of its last line of standard output.
    Local,
}

/// One call of a service's operation in a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The program it runs.
    pub tool: Tool,
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
    /// An error whose message contains this text counts as done (for example
    /// `BucketAlreadyOwnedByYou` when a create is re-run).
    pub already_done_when: Option<String>,
    /// Whether an error stops the plan ([`Otherwise::Fail`]) or is reported and the output is
    /// `unavailable` ([`Otherwise::Warn`], for reports such as `status` that go on without a region).
    pub on_error: Otherwise,
}

impl Call {
    /// A call with literal arguments, no output and no check.
    pub fn new(region: &str, service: &str, operation: &str, args: &[&str]) -> Call {
        Call {
            tool: Tool::Aws,
            region: region.to_string(),
            service: service.to_string(),
            operation: operation.to_string(),
            args: args.iter().map(|arg| Value::text(*arg)).collect(),
            produces: None,
            check: Check::None,
            already_done_when: None,
            on_error: Otherwise::Fail,
        }
    }

    /// An error is reported and the plan goes on, with the output `unavailable`.
    pub fn warn_on_error(mut self) -> Call {
        self.on_error = Otherwise::Warn;
        self
    }

    /// The call produces `query` of its answer as JSON, as output `name`.
    pub fn produces_json(mut self, name: &str, query: &str) -> Call {
        self.produces = Some(Output {
            name: name.to_string(),
            query: query.to_string(),
            json: true,
        });
        self
    }

    /// A local program's call (`program args...`), run where xtask runs.
    pub fn local(program: &str, args: &[&str]) -> Call {
        Call {
            tool: Tool::Local,
            ..Call::new("", program, "", args)
        }
    }

    /// Adds an argument without a flag (a path, a URL).
    pub fn arg_value(mut self, value: Value) -> Call {
        self.args.push(value);
        self
    }

    /// A call whose error containing `text` means it was done already.
    pub fn already_done_when(mut self, text: &str) -> Call {
        self.already_done_when = Some(text.to_string());
        self
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
            json: false,
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
            | Check::EqualsOrEmpty(expected)
            | Check::SkipRestOfStepIfEquals(expected)
            | Check::WaitUntilEquals { expected, .. } => Some(expected),
        };
        self.args
            .iter()
            .chain(checked)
            .flat_map(Value::needs)
            .collect()
    }

    /// The command line after the program (`aws` for AWS calls) with `resolve` giving each
    /// argument's value: `service operation args... [--query Q --output text] --region R`, or
    /// `operation args...` for a local program.
    pub fn cli_args(&self, mut resolve: impl FnMut(&Value) -> String) -> Vec<String> {
        if self.tool == Tool::Local {
            let mut args = vec![self.service.clone()];
            args.extend(self.args.iter().map(&mut resolve));
            return args;
        }
        let mut args = vec![self.service.clone(), self.operation.clone()];
        args.extend(self.args.iter().map(&mut resolve));
        if let Some(output) = &self.produces {
            args.extend([
                "--query".to_string(),
                output.query.clone(),
                "--output".to_string(),
                if output.json { "json" } else { "text" }.to_string(),
            ]);
        }
        args.extend(["--region".to_string(), self.region.clone()]);
        args
    }

    /// The call as a dry run prints it: `aws ...` with outputs not known yet as `<name>`.
    pub fn render(&self) -> String {
        render_line(self.tool, self.cli_args(Value::render))
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
        render_line(self.tool, self.resolved_cli_args(args))
    }
}

/// The command line, quoted for a shell: `aws` and the arguments, or the local program's.
fn render_line(tool: Tool, args: Vec<String>) -> String {
    let quoted: Vec<String> = args.iter().map(|arg| shell_quote(arg)).collect();
    match tool {
        Tool::Aws => format!("aws {}", quoted.join(" ")),
        Tool::Local => quoted.join(" "),
    }
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
                if let Some(text) = &call.already_done_when {
                    lines.push(format!("      an error saying {text} means already done"));
                }
                if call.on_error == Otherwise::Warn {
                    lines.push("      an error is reported and the plan goes on".to_string());
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
                    Check::EqualsOrEmpty(value) => lines.push(format!(
                        "      stop unless it is {} (or the resource is gone)",
                        value.render()
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
