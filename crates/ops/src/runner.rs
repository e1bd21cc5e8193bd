//! Running a plan through an executor: outputs passed along, checks applied, waits repeated,
//! every line reported, and a failure naming its step and how to resume.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::plan::{Call, Check, Otherwise, Plan, Value};

/// Where a plan's calls go: the AWS CLI (xtask), or the local two-region stack.
pub trait Executor {
    /// Makes `call` with its arguments resolved (`args`, in order, the flags included) and
    /// returns its output (the call's `produces` query applied, as text), or a message.
    fn execute(&mut self, call: &Call, args: &[String]) -> Result<String, String>;

    /// Waits `duration` before a call is repeated ([`Check::WaitUntilEquals`]).
    fn pause(&mut self, duration: Duration);
}

/// The output of a call whose error was only reported ([`Call::warn_on_error`]).
pub const UNAVAILABLE: &str = "unavailable";

/// Arguments longer than this are shortened in the printed call.
const SHOWN_ARG_CHARS: usize = 160;

/// The outputs produced so far, by name.
pub type Outputs = BTreeMap<String, String>;

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A call failed or its output did not pass its check.
    #[error("step {step}/{total} ({title}) failed: {reason}\n{on_failure}")]
    Step {
        /// 1-based number of the step.
        step: usize,
        /// Number of steps in the plan.
        total: usize,
        /// The step's title.
        title: String,
        /// What went wrong.
        reason: String,
        /// How to resume (the step's `on_failure`).
        on_failure: String,
    },
}

/// Runs `plan` through `executor`, handing every line (step titles, calls, results, warnings) to
/// `report`; returns the outputs.
pub fn run(
    plan: &Plan,
    executor: &mut dyn Executor,
    report: &mut dyn FnMut(&str),
) -> Result<Outputs, RunError> {
    let mut outputs: Outputs = plan.given.iter().cloned().collect();
    let total = plan.steps.len();
    report(&plan.title);
    for (index, step) in plan.steps.iter().enumerate() {
        report(&format!("[{}/{total}] {}", index + 1, step.title));
        let started = Instant::now();
        let fail = |reason: String| RunError::Step {
            step: index + 1,
            total,
            title: step.title.clone(),
            reason,
            on_failure: step.on_failure.clone(),
        };
        for call in &step.calls {
            match run_call(call, executor, &mut outputs, report).map_err(fail)? {
                Flow::Next => {}
                Flow::SkipRestOfStep => {
                    report("    -> already done; rest of the step skipped");
                    break;
                }
            }
        }
        report(&format!(
            "    -> done ({:.1} s)",
            started.elapsed().as_secs_f64()
        ));
    }
    for line in &plan.afterwards {
        report(line);
    }
    Ok(outputs)
}

enum Flow {
    Next,
    SkipRestOfStep,
}

fn resolve(value: &Value, outputs: &Outputs) -> Result<String, String> {
    let known = |name: &str| {
        outputs
            .get(name)
            .cloned()
            .ok_or_else(|| format!("output {name} is not known yet (plan out of order)"))
    };
    match value {
        Value::Text(text) => Ok(text.clone()),
        Value::Output(name) => known(name),
        Value::Template(text) => {
            let mut filled = text.clone();
            for name in value.needs() {
                filled = filled.replace(&format!("{{{name}}}"), &known(name)?);
            }
            Ok(filled)
        }
    }
}

fn run_call(
    call: &Call,
    executor: &mut dyn Executor,
    outputs: &mut Outputs,
    report: &mut dyn FnMut(&str),
) -> Result<Flow, String> {
    let unavailable: Vec<&str> = call
        .needs()
        .into_iter()
        .filter(|name| outputs.get(*name).is_some_and(|value| value == UNAVAILABLE))
        .collect();
    if !unavailable.is_empty() {
        report(
            &format!(
                "    skipped: {} {} needs {}, which is unavailable",
                call.service,
                call.operation,
                unavailable.join(", ")
            )
            .replace("  ", " "),
        );
        if let Some(produced) = &call.produces {
            outputs.insert(produced.name.clone(), UNAVAILABLE.to_string());
        }
        return Ok(Flow::Next);
    }
    let args = call
        .args
        .iter()
        .map(|value| resolve(value, outputs))
        .collect::<Result<Vec<String>, String>>()?;
    let started = Instant::now();
    let waits = matches!(call.check, Check::WaitUntilEquals { .. });
    // A wait takes an error (a site not answering yet) as one more "not yet".
    let attempt = |executor: &mut dyn Executor, report: &mut dyn FnMut(&str)| match execute(
        call, &args, executor, report,
    ) {
        Err(error) if waits => Ok(format!("error: {}", error.trim())),
        other => other,
    };
    let mut output = attempt(executor, report)?;
    let mut flow = Flow::Next;
    match &call.check {
        Check::None => {}
        Check::Equals {
            expected,
            otherwise,
        } => {
            let expected = resolve(expected, outputs)?;
            if output != expected {
                let message = format!(
                    "{} {} answered {output:?}, expected {expected:?}",
                    call.service, call.operation
                );
                match otherwise {
                    Otherwise::Fail => return Err(message),
                    Otherwise::Warn => report(&format!("    warning: {message}")),
                }
            }
        }
        Check::EqualsOrEmpty(expected) => {
            let expected = resolve(expected, outputs)?;
            if !output.is_empty() && output != expected {
                return Err(format!(
                    "{} {} answered {output:?}, expected {expected:?}",
                    call.service, call.operation
                ));
            }
        }
        Check::SkipRestOfStepIfEquals(value) => {
            if output == resolve(value, outputs)? {
                flow = Flow::SkipRestOfStep;
            }
        }
        Check::WaitUntilEquals {
            expected,
            every,
            timeout,
        } => {
            let expected = resolve(expected, outputs)?;
            while output != expected {
                if started.elapsed() >= *timeout {
                    return Err(format!(
                        "after {} s {} {} still answers {output:?}, not {expected:?}",
                        timeout.as_secs(),
                        call.service,
                        call.operation
                    ));
                }
                report(&format!(
                    "    ... {output} ({:.0} s)",
                    started.elapsed().as_secs_f64()
                ));
                executor.pause(*every);
                output = attempt(executor, report)?;
            }
        }
    }
    if let Some(produced) = &call.produces {
        if !produced.json {
            report(&format!("      {} = {output}", produced.name));
        }
        outputs.insert(produced.name.clone(), output);
    }
    Ok(flow)
}

fn execute(
    call: &Call,
    args: &[String],
    executor: &mut dyn Executor,
    report: &mut dyn FnMut(&str),
) -> Result<String, String> {
    // A document passed along (a bucket's listing) is shown by its first characters.
    let shown: Vec<String> = args
        .iter()
        .map(|arg| match arg.char_indices().nth(SHOWN_ARG_CHARS) {
            Some((cut, _)) => format!("{}...", &arg[..cut]),
            None => arg.clone(),
        })
        .collect();
    report(&format!("    $ {}", call.render_with(&shown)));
    match executor.execute(call, args) {
        Ok(output) => Ok(output.trim().to_string()),
        Err(error) => match &call.already_done_when {
            Some(text) if error.contains(text.as_str()) => {
                report(&format!("    -> {text}: already done"));
                Ok(String::new())
            }
            _ if call.on_error == Otherwise::Warn => {
                report(&format!("    warning: {}", error.trim()));
                Ok(UNAVAILABLE.to_string())
            }
            _ => Err(error),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Step;
    use std::collections::VecDeque;

    /// Answers each call from a script, in order, and records what it was asked.
    struct Scripted {
        answers: VecDeque<Result<String, String>>,
        asked: Vec<String>,
        pauses: usize,
    }

    impl Executor for Scripted {
        fn execute(&mut self, call: &Call, args: &[String]) -> Result<String, String> {
            self.asked
                .push(format!("{} {}", call.operation, args.join(" ")));
            self.answers
                .pop_front()
                .unwrap_or_else(|| Err("no answer scripted".into()))
        }

        fn pause(&mut self, _duration: Duration) {
            self.pauses += 1;
        }
    }

    fn scripted(answers: &[Result<&str, &str>]) -> Scripted {
        Scripted {
            answers: answers
                .iter()
                .map(|a| a.map(str::to_string).map_err(str::to_string))
                .collect(),
            asked: vec![],
            pauses: 0,
        }
    }

    fn plan(calls: Vec<Call>) -> Plan {
        Plan {
            title: "test".into(),
            given: vec![],
            steps: vec![
                Step::new("first", calls, "resume by re-running"),
                Step::new("second", vec![Call::new("r", "s", "last", &[])], ""),
            ],
            afterwards: vec![],
        }
    }

    #[test]
    fn passes_outputs_along_and_waits_until_the_answer_comes() {
        let plan = plan(vec![
            Call::new("r", "s", "make", &[]).produces("id", "Id"),
            Call::new("r", "s", "use", &[]).arg("--id", Value::output("id")),
            Call::new("r", "s", "poll", &[]).check(Check::WaitUntilEquals {
                expected: Value::output("id"),
                every: Duration::from_secs(10),
                timeout: Duration::from_secs(3600),
            }),
        ]);
        let mut executor = scripted(&[Ok("abc\n"), Ok(""), Ok("x"), Ok("y"), Ok("abc"), Ok("")]);
        let outputs = run(&plan, &mut executor, &mut |_| {}).expect("runs");
        assert_eq!(outputs["id"], "abc");
        assert_eq!(
            executor.asked,
            ["make ", "use --id abc", "poll ", "poll ", "poll ", "last "]
        );
        assert_eq!(executor.pauses, 2);
    }

    #[test]
    fn a_failed_check_names_the_step_and_how_to_resume() {
        let plan = plan(vec![Call::new("r", "s", "status", &[]).check(
            Check::Equals {
                expected: Value::text("ACTIVE"),
                otherwise: Otherwise::Fail,
            },
        )]);
        let mut executor = scripted(&[Ok("UPDATING")]);
        let error = run(&plan, &mut executor, &mut |_| {}).expect_err("must stop");
        let text = error.to_string();
        assert!(text.contains("step 1/2 (first)"), "{text}");
        assert!(text.contains("resume by re-running"), "{text}");
        assert_eq!(executor.asked.len(), 1);
    }

    #[test]
    fn a_warning_goes_on_and_a_done_step_is_skipped() {
        let plan = plan(vec![
            Call::new("r", "s", "status", &[]).check(Check::Equals {
                expected: Value::text("ACTIVE"),
                otherwise: Otherwise::Warn,
            }),
            Call::new("r", "s", "writer", &[])
                .check(Check::SkipRestOfStepIfEquals(Value::text("me"))),
            Call::new("r", "s", "switch", &[]),
        ]);
        let mut executor = scripted(&[Ok("UNAVAILABLE"), Ok("me"), Ok("")]);
        let mut lines = Vec::new();
        run(&plan, &mut executor, &mut |line| {
            lines.push(line.to_string())
        })
        .expect("runs");
        assert_eq!(executor.asked, ["status ", "writer ", "last "]);
        assert!(lines.iter().any(|l| l.contains("warning")), "{lines:?}");
    }

    #[test]
    fn a_wait_takes_an_error_as_not_yet() {
        let plan = plan(vec![Call::new("r", "s", "poll", &[]).check(
            Check::WaitUntilEquals {
                expected: Value::text("200"),
                every: Duration::from_secs(15),
                timeout: Duration::from_secs(3600),
            },
        )]);
        let mut executor = scripted(&[Err("connection refused"), Ok("503"), Ok("200"), Ok("")]);
        run(&plan, &mut executor, &mut |_| {}).expect("runs");
        assert_eq!(executor.pauses, 2);
    }

    #[test]
    fn a_call_needing_an_unavailable_output_is_skipped() {
        let plan = plan(vec![
            Call::new("r", "s", "find", &[])
                .produces("arn", "Arn")
                .warn_on_error(),
            Call::new("r", "s", "use", &[]).arg("--arn", Value::output("arn")),
        ]);
        let mut executor = scripted(&[Err("region down"), Ok("")]);
        let mut lines = Vec::new();
        run(&plan, &mut executor, &mut |line| {
            lines.push(line.to_string())
        })
        .expect("runs");
        assert_eq!(executor.asked, ["find ", "last "]);
        assert!(
            lines.iter().any(|l| l.contains("skipped: s use needs arn")),
            "{lines:?}"
        );
    }

    #[test]
    fn a_failed_call_stops_the_plan() {
        let plan = plan(vec![Call::new("r", "s", "boom", &[])]);
        let mut executor = scripted(&[Err("AccessDenied")]);
        let error = run(&plan, &mut executor, &mut |_| {}).expect_err("must stop");
        assert!(error.to_string().contains("AccessDenied"));
    }
}
