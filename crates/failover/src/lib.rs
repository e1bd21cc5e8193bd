//! The failover policy every Unishop client follows (the storefront's API client and the drill's
//! shoppers): which API base a call goes to, how long one attempt may take, whether a failure is
//! worth sending again to the other base, and when to go back to the primary.
//!
//! It is a circuit breaker, not a retry per call: the first call that finds the primary down moves
//! the client to the standby, where it stays for [`Policy::stay_on_standby_ms`]; then one caller
//! is asked to probe the primary's `/health` (alongside its own call, which still goes to the
//! standby) and the client returns only when the probe succeeds. A hung primary therefore costs a
//! shopper one attempt's budget, not one on every click.
//!
//! A read on the primary base can also succeed slowly from the standby's region: the CDN waited
//! for a hung primary, then its origin group asked the standby. The caller reports such an answer
//! as [`Outcome::AnsweredElsewhere`]; after [`Policy::edge_failover_ms`] it trips the breaker as a
//! failure would (without resending the call, which succeeded), so the shopper's next click, a
//! write above all (writes follow the active region at the CDN and do not fail over there), does
//! not wait for the hung primary again.
//!
//! Pure logic with no I/O and no clock: the caller passes the time (milliseconds from any fixed
//! start) and reports what each attempt gave. The budgets are chosen together with the CDN's
//! origin timeouts; see the table in `infra/README.md`.

#![cfg_attr(not(test), no_std)]

/// One of the two API bases of `config.json`: `host` (the primary, `/api` behind CloudFront) or
/// `standbyHost` (`/api-standby`, always the standby region).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    Primary,
    Standby,
}

impl Base {
    pub fn other(self) -> Base {
        match self {
            Base::Primary => Base::Standby,
            Base::Standby => Base::Primary,
        }
    }
}

/// The policy's numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// One attempt on the primary base. Above CloudFront's primary origin timeouts (connect 1 s +
    /// read 2 s), so that behind CloudFront the origin group fails a read over before the client
    /// gives up, and above a Lambda cold start (about 1 to 2 s with the database connection).
    pub primary_budget_ms: u32,
    /// One attempt on the standby base: longer, because a standby that has been idle cold-starts
    /// while it takes every shopper at once.
    pub standby_budget_ms: u32,
    /// How long the client stays on the standby after a failover before probing the primary.
    pub stay_on_standby_ms: u64,
    /// One probe of the primary's `/health`. A probe whose result never comes back is given up
    /// after twice this, and another caller is asked to probe.
    pub probe_budget_ms: u32,
    /// An answer on the primary base from another region that took at least this long means the
    /// CDN failed over on a hung primary. CloudFront's shortest origin timeout (to connect) is
    /// 1 s; an answer that is not waiting on a timeout takes milliseconds.
    pub edge_failover_ms: u32,
}

impl Policy {
    /// The defaults for a deployment of Lambdas behind CloudFront (and for the local two-region
    /// stack, whose edge uses CloudFront's timeouts).
    pub const DEFAULT: Policy = Policy {
        primary_budget_ms: 3_500,
        standby_budget_ms: 8_000,
        stay_on_standby_ms: 30_000,
        probe_budget_ms: 3_500,
        edge_failover_ms: 1_000,
    };

    /// The time budget of one attempt on `base`.
    pub fn budget(&self, base: Base) -> u32 {
        match base {
            Base::Primary => self.primary_budget_ms,
            Base::Standby => self.standby_budget_ms,
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::DEFAULT
    }
}

/// How one attempt ended, as far as the transport could tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A response arrived with this status.
    Answered(u16),
    /// A response arrived with this status from a region other than the page's own (the
    /// `region` of `config.json`, the region whose bucket served the page): on the primary base,
    /// the CDN's origin group answered from the standby.
    AnsweredElsewhere(u16),
    /// No server answered: the connection was refused, reset or never made.
    Unreachable,
    /// No response within the attempt's budget.
    TimedOut,
    /// A response started but its body was lost. The write may have been applied, and the
    /// server answered, so this is neither an outage nor worth another base.
    BodyLost,
}

impl Outcome {
    /// The base is down or failing on its side: what CloudFront's origin group fails over on
    /// (500, 502, 503, 504, timeouts, refused connections).
    pub fn is_outage(self) -> bool {
        match self {
            Outcome::Answered(status) | Outcome::AnsweredElsewhere(status) => {
                matches!(status, 500 | 502 | 503 | 504)
            }
            Outcome::Unreachable | Outcome::TimedOut => true,
            Outcome::BodyLost => false,
        }
    }
}

/// Where the client sends its calls now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Calls go to the primary base.
    OnPrimary,
    /// Calls go to the standby base since `since_ms` (a failover).
    OnStandby { since_ms: u64 },
    /// Calls still go to the standby; a probe of the primary sent at `started_ms` has not reported.
    Probing { started_ms: u64 },
}

/// One attempt: the base to send to and how long it may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub base: Base,
    pub budget_ms: u32,
}

/// A call in progress, from [`Failover::begin`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    /// The attempt to send now.
    pub attempt: Attempt,
    /// When set, the caller sends a probe of the primary's `/health` with this budget (it may do
    /// so alongside the call) and reports it with [`Failover::probe_done`].
    pub probe: Option<Attempt>,
    /// When the current attempt was sent.
    sent_ms: u64,
    retry_safe: bool,
    retried: bool,
}

/// What to do after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// The call is over: the last outcome is its answer.
    Done,
    /// Send the same request (same idempotency key) to `call.attempt`, which now names the other
    /// base.
    Retry,
}

/// One client's failover state (one per browser tab, one per drill shopper).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failover {
    policy: Policy,
    has_standby: bool,
    mode: Mode,
}

impl Failover {
    /// A client on the primary; `has_standby` is false when `config.json` names no standby base
    /// (then every call goes to the primary and nothing is ever retried).
    pub fn new(policy: Policy, has_standby: bool) -> Self {
        Failover {
            policy,
            has_standby,
            mode: Mode::OnPrimary,
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The base new calls go to.
    pub fn serving(&self) -> Base {
        match self.mode {
            Mode::OnPrimary => Base::Primary,
            Mode::OnStandby { .. } | Mode::Probing { .. } => Base::Standby,
        }
    }

    /// Whether the shop is being served from the standby after a failover.
    pub fn on_standby(&self) -> bool {
        self.serving() == Base::Standby
    }

    /// Starts a call. `retry_safe`: sending the request twice, to either region, changes nothing
    /// more than sending it once (a read, an absolute `PUT`/`DELETE`, a write carrying an
    /// idempotency key).
    pub fn begin(&mut self, retry_safe: bool, now_ms: u64) -> Call {
        let probe = match self.mode {
            Mode::OnStandby { since_ms }
                if now_ms >= since_ms.saturating_add(self.policy.stay_on_standby_ms) =>
            {
                Some(now_ms)
            }
            Mode::Probing { started_ms }
                if now_ms
                    >= started_ms.saturating_add(2 * u64::from(self.policy.probe_budget_ms)) =>
            {
                Some(now_ms)
            }
            _ => None,
        };
        if let Some(started_ms) = probe {
            self.mode = Mode::Probing { started_ms };
        }
        let base = self.serving();
        Call {
            attempt: Attempt {
                base,
                budget_ms: self.policy.budget(base),
            },
            probe: probe.map(|_| Attempt {
                base: Base::Primary,
                budget_ms: self.policy.probe_budget_ms,
            }),
            sent_ms: now_ms,
            retry_safe,
            retried: false,
        }
    }

    /// Records how `call`'s current attempt ended and says what to do next. A failed attempt on
    /// the base the client is serving from moves the client to the other base (a failover on the
    /// primary, a way back on the standby) whether or not this call may be retried; so does a slow
    /// answer from elsewhere on the primary (see [`Policy::edge_failover_ms`]).
    pub fn settle(&mut self, call: &mut Call, outcome: Outcome, now_ms: u64) -> Next {
        let base = call.attempt.base;
        if !outcome.is_outage() {
            let failed_over_at_edge = matches!(outcome, Outcome::AnsweredElsewhere(_))
                && now_ms.saturating_sub(call.sent_ms) >= u64::from(self.policy.edge_failover_ms);
            if base == Base::Primary
                && failed_over_at_edge
                && self.has_standby
                && self.mode == Mode::OnPrimary
            {
                self.mode = Mode::OnStandby { since_ms: now_ms };
            } else if call.retried {
                // The other base answered after the serving one failed: serve from it.
                self.serve_from(base, now_ms);
            }
            return Next::Done;
        }
        if !self.has_standby {
            return Next::Done;
        }
        if base == Base::Primary && self.mode == Mode::OnPrimary {
            self.mode = Mode::OnStandby { since_ms: now_ms };
        }
        if call.retried || !call.retry_safe {
            return Next::Done;
        }
        let other = base.other();
        call.retried = true;
        call.sent_ms = now_ms;
        call.attempt = Attempt {
            base: other,
            budget_ms: self.policy.budget(other),
        };
        Next::Retry
    }

    /// Records the probe's result: a healthy primary takes the calls back, otherwise the client
    /// stays on the standby for another period. A result that comes after the client has moved
    /// on (back on the primary by a retry) changes nothing.
    pub fn probe_done(&mut self, healthy: bool, now_ms: u64) {
        if let Mode::Probing { .. } = self.mode {
            self.mode = if healthy {
                Mode::OnPrimary
            } else {
                Mode::OnStandby { since_ms: now_ms }
            };
        }
    }

    fn serve_from(&mut self, base: Base, now_ms: u64) {
        match base {
            Base::Primary => self.mode = Mode::OnPrimary,
            Base::Standby => {
                if self.mode == Mode::OnPrimary {
                    self.mode = Mode::OnStandby { since_ms: now_ms };
                }
            }
        }
    }
}

/// Whether an answer naming `region` (its `x-unishop-region`, if any) came from elsewhere than
/// `home`, the page's own region (`config.json`'s `region`; empty when unknown): what the caller
/// reports as [`Outcome::AnsweredElsewhere`].
pub fn answered_elsewhere(region: Option<&str>, home: &str) -> bool {
    !home.is_empty() && region.is_some_and(|region| region != home)
}

/// Whether a probe's answer means the primary is back: `/health` answered 2xx.
pub fn probe_healthy(outcome: Outcome) -> bool {
    matches!(outcome, Outcome::Answered(status) if (200..300).contains(&status))
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Policy = Policy {
        primary_budget_ms: 4_500,
        standby_budget_ms: 8_000,
        stay_on_standby_ms: 30_000,
        probe_budget_ms: 2_000,
        edge_failover_ms: 1_000,
    };

    fn client() -> Failover {
        Failover::new(P, true)
    }

    /// One call that finds the primary refusing and the standby answering, at `now`.
    fn fail_over(f: &mut Failover, now: u64) {
        assert_eq!(
            run(
                f,
                true,
                now,
                &[Outcome::Unreachable, Outcome::Answered(200)]
            ),
            [Base::Primary, Base::Standby]
        );
    }

    /// Runs one call whose attempts end as `outcomes` says, returning the bases tried.
    fn run(f: &mut Failover, retry_safe: bool, now: u64, outcomes: &[Outcome]) -> Vec<Base> {
        let mut call = f.begin(retry_safe, now);
        let mut tried = Vec::new();
        for outcome in outcomes {
            tried.push(call.attempt.base);
            if f.settle(&mut call, *outcome, now) == Next::Done {
                break;
            }
        }
        tried
    }

    #[test]
    fn a_new_client_sends_to_the_primary_with_the_primary_budget() {
        let mut f = client();
        let call = f.begin(true, 0);
        assert_eq!(
            call.attempt,
            Attempt {
                base: Base::Primary,
                budget_ms: 4_500
            }
        );
        assert_eq!(call.probe, None);
        assert!(!f.on_standby());
    }

    #[test]
    fn answers_that_are_not_outages_end_the_call_on_the_primary() {
        for status in [200, 201, 304, 400, 401, 404, 409, 422, 429, 501] {
            let mut f = client();
            assert_eq!(
                run(&mut f, true, 0, &[Outcome::Answered(status)]),
                [Base::Primary],
                "{status}"
            );
            assert_eq!(f.mode(), Mode::OnPrimary, "{status}");
        }
    }

    #[test]
    fn outages_are_what_cloudfront_fails_over_on() {
        for outcome in [
            Outcome::Unreachable,
            Outcome::TimedOut,
            Outcome::Answered(500),
            Outcome::Answered(502),
            Outcome::Answered(503),
            Outcome::Answered(504),
        ] {
            assert!(outcome.is_outage(), "{outcome:?}");
        }
        for outcome in [
            Outcome::BodyLost,
            Outcome::Answered(200),
            Outcome::Answered(501),
            Outcome::Answered(404),
        ] {
            assert!(!outcome.is_outage(), "{outcome:?}");
        }
    }

    #[test]
    fn a_safe_call_that_finds_the_primary_down_is_sent_to_the_standby_with_its_budget() {
        for outage in [
            Outcome::Unreachable,
            Outcome::TimedOut,
            Outcome::Answered(503),
        ] {
            let mut f = client();
            let mut call = f.begin(true, 10);
            assert_eq!(f.settle(&mut call, outage, 10), Next::Retry);
            assert_eq!(
                call.attempt,
                Attempt {
                    base: Base::Standby,
                    budget_ms: 8_000
                }
            );
            assert_eq!(f.mode(), Mode::OnStandby { since_ms: 10 });
            assert_eq!(f.settle(&mut call, Outcome::Answered(200), 20), Next::Done);
            assert_eq!(f.mode(), Mode::OnStandby { since_ms: 10 });
        }
    }

    #[test]
    fn an_unsafe_call_is_not_retried_but_still_trips_the_breaker() {
        let mut f = client();
        assert_eq!(run(&mut f, false, 5, &[Outcome::TimedOut]), [Base::Primary]);
        assert_eq!(f.mode(), Mode::OnStandby { since_ms: 5 });
        // The next call goes straight to the standby.
        assert_eq!(f.begin(false, 6).attempt.base, Base::Standby);
    }

    #[test]
    fn a_call_is_sent_to_each_base_at_most_once() {
        let mut f = client();
        let tried = run(
            &mut f,
            true,
            0,
            &[
                Outcome::Unreachable,
                Outcome::Unreachable,
                Outcome::Unreachable,
            ],
        );
        assert_eq!(tried, [Base::Primary, Base::Standby]);
    }

    #[test]
    fn a_lost_body_is_not_retried() {
        let mut f = client();
        assert_eq!(run(&mut f, true, 0, &[Outcome::BodyLost]), [Base::Primary]);
        assert_eq!(f.mode(), Mode::OnPrimary);
    }

    #[test]
    fn after_a_failover_calls_go_to_the_standby_without_touching_the_primary() {
        let mut f = client();
        run(
            &mut f,
            true,
            0,
            &[Outcome::TimedOut, Outcome::Answered(200)],
        );
        for now in [1, 1_000, 29_999] {
            let call = f.begin(true, now);
            assert_eq!(call.attempt.base, Base::Standby, "{now}");
            assert_eq!(call.probe, None, "{now}");
        }
    }

    #[test]
    fn when_the_stay_is_over_one_caller_probes_while_calls_still_go_to_the_standby() {
        let mut f = client();
        fail_over(&mut f, 0);
        let first = f.begin(true, 30_000);
        assert_eq!(first.attempt.base, Base::Standby);
        assert_eq!(
            first.probe,
            Some(Attempt {
                base: Base::Primary,
                budget_ms: 2_000
            })
        );
        assert_eq!(f.mode(), Mode::Probing { started_ms: 30_000 });
        let second = f.begin(true, 30_001);
        assert_eq!(second.attempt.base, Base::Standby);
        assert_eq!(second.probe, None);
    }

    #[test]
    fn a_healthy_probe_returns_the_client_to_the_primary() {
        let mut f = client();
        fail_over(&mut f, 0);
        f.begin(true, 30_000);
        f.probe_done(probe_healthy(Outcome::Answered(200)), 30_050);
        assert_eq!(f.mode(), Mode::OnPrimary);
        assert_eq!(f.begin(true, 30_060).attempt.base, Base::Primary);
    }

    #[test]
    fn a_failed_probe_keeps_the_client_on_the_standby_for_another_stay() {
        for outcome in [
            Outcome::TimedOut,
            Outcome::Unreachable,
            Outcome::Answered(503),
        ] {
            let mut f = client();
            fail_over(&mut f, 0);
            f.begin(true, 30_000);
            f.probe_done(probe_healthy(outcome), 32_000);
            assert_eq!(f.mode(), Mode::OnStandby { since_ms: 32_000 });
            assert_eq!(f.begin(true, 61_999).probe, None);
            assert!(f.begin(true, 62_000).probe.is_some());
        }
    }

    #[test]
    fn a_probe_that_never_reports_is_given_up_and_another_is_asked_for() {
        let mut f = client();
        fail_over(&mut f, 0);
        assert!(f.begin(true, 30_000).probe.is_some());
        assert_eq!(f.begin(true, 33_999).probe, None);
        assert!(f.begin(true, 34_000).probe.is_some());
        assert_eq!(f.mode(), Mode::Probing { started_ms: 34_000 });
    }

    #[test]
    fn a_probe_result_after_the_client_moved_on_changes_nothing() {
        let mut f = client();
        fail_over(&mut f, 0);
        f.begin(true, 30_000);
        // The standby fails and the primary answers the retry: back on the primary.
        let tried = run(
            &mut f,
            true,
            30_010,
            &[Outcome::Unreachable, Outcome::Answered(200)],
        );
        assert_eq!(tried, [Base::Standby, Base::Primary]);
        assert_eq!(f.mode(), Mode::OnPrimary);
        f.probe_done(false, 30_020);
        assert_eq!(f.mode(), Mode::OnPrimary);
    }

    #[test]
    fn a_failing_standby_sends_the_call_to_the_primary_which_then_serves() {
        let mut f = client();
        fail_over(&mut f, 0);
        let tried = run(
            &mut f,
            true,
            100,
            &[Outcome::Answered(502), Outcome::Answered(200)],
        );
        assert_eq!(tried, [Base::Standby, Base::Primary]);
        assert_eq!(f.mode(), Mode::OnPrimary);
    }

    #[test]
    fn a_failing_standby_alone_does_not_move_the_client() {
        let mut f = client();
        fail_over(&mut f, 0);
        run(&mut f, false, 100, &[Outcome::Unreachable]);
        assert_eq!(f.mode(), Mode::OnStandby { since_ms: 0 });
    }

    #[test]
    fn both_bases_down_leaves_the_client_on_the_standby_and_the_call_failed() {
        let mut f = client();
        let mut call = f.begin(true, 0);
        assert_eq!(f.settle(&mut call, Outcome::Unreachable, 0), Next::Retry);
        assert_eq!(f.settle(&mut call, Outcome::TimedOut, 8_000), Next::Done);
        assert_eq!(f.mode(), Mode::OnStandby { since_ms: 0 });
    }

    #[test]
    fn a_late_failure_of_a_call_sent_before_the_failover_does_not_restart_the_stay() {
        let mut f = client();
        let mut early = f.begin(true, 0);
        fail_over(&mut f, 100);
        assert_eq!(f.settle(&mut early, Outcome::TimedOut, 4_500), Next::Retry);
        assert_eq!(f.mode(), Mode::OnStandby { since_ms: 100 });
    }

    #[test]
    fn a_late_success_of_a_call_sent_before_the_failover_does_not_end_it() {
        let mut f = client();
        let mut early = f.begin(true, 0);
        fail_over(&mut f, 100);
        assert_eq!(
            f.settle(&mut early, Outcome::Answered(200), 200),
            Next::Done
        );
        assert!(f.on_standby());
    }

    #[test]
    fn an_answer_is_from_elsewhere_when_it_names_another_region_than_the_page() {
        assert!(answered_elsewhere(Some("us-west-1"), "us-east-1"));
        assert!(!answered_elsewhere(Some("us-east-1"), "us-east-1"));
        assert!(!answered_elsewhere(None, "us-east-1"));
        assert!(!answered_elsewhere(Some("us-west-1"), ""));
    }

    #[test]
    fn a_slow_answer_from_elsewhere_on_the_primary_trips_the_breaker_without_a_resend() {
        for status in [200, 201, 404] {
            let mut f = client();
            let mut call = f.begin(true, 100);
            assert_eq!(
                f.settle(&mut call, Outcome::AnsweredElsewhere(status), 2_100),
                Next::Done,
                "{status}"
            );
            assert_eq!(f.mode(), Mode::OnStandby { since_ms: 2_100 }, "{status}");
            assert_eq!(f.begin(false, 2_200).attempt.base, Base::Standby);
        }
    }

    #[test]
    fn a_quick_answer_from_elsewhere_or_a_slow_one_from_home_keeps_the_client_on_the_primary() {
        // Quick from elsewhere: the page came from the standby's bucket, or writes were moved.
        let mut f = client();
        let mut call = f.begin(true, 100);
        f.settle(&mut call, Outcome::AnsweredElsewhere(200), 1_099);
        assert_eq!(f.mode(), Mode::OnPrimary);
        // Slow from the page's own region: a slow primary, not a failover.
        let mut call = f.begin(true, 2_000);
        f.settle(&mut call, Outcome::Answered(200), 9_000);
        assert_eq!(f.mode(), Mode::OnPrimary);
    }

    #[test]
    fn a_slow_answer_from_elsewhere_changes_nothing_on_the_standby_or_without_one() {
        let mut f = client();
        fail_over(&mut f, 0);
        let mut call = f.begin(true, 100);
        f.settle(&mut call, Outcome::AnsweredElsewhere(200), 5_000);
        assert_eq!(f.mode(), Mode::OnStandby { since_ms: 0 });

        let mut f = Failover::new(P, false);
        let mut call = f.begin(true, 0);
        f.settle(&mut call, Outcome::AnsweredElsewhere(200), 5_000);
        assert_eq!(f.mode(), Mode::OnPrimary);
    }

    #[test]
    fn a_retry_is_timed_from_its_own_sending() {
        // The standby fails after a stay, and the primary's quick answer to the resend comes from
        // elsewhere (writes moved): that is not a failover at the edge.
        let mut f = client();
        fail_over(&mut f, 0);
        let mut call = f.begin(true, 40_000);
        assert_eq!(f.settle(&mut call, Outcome::TimedOut, 48_000), Next::Retry);
        assert_eq!(
            f.settle(&mut call, Outcome::AnsweredElsewhere(200), 48_050),
            Next::Done
        );
        assert_eq!(f.mode(), Mode::OnPrimary);
    }

    #[test]
    fn without_a_standby_every_call_goes_to_the_primary_once() {
        let mut f = Failover::new(P, false);
        assert_eq!(
            run(&mut f, true, 0, &[Outcome::Unreachable]),
            [Base::Primary]
        );
        assert_eq!(f.mode(), Mode::OnPrimary);
        assert_eq!(f.begin(true, 60_000).probe, None);
    }

    #[test]
    fn the_defaults_fit_cloudfront_and_a_cold_start() {
        let d = Policy::default();
        // CloudFront's primary API origin: 1 s to connect, 2 s to answer (infra/templates/edge.yaml).
        assert!(d.primary_budget_ms > 1_000 + 2_000);
        assert!(d.standby_budget_ms >= d.primary_budget_ms);
        assert!(d.stay_on_standby_ms >= 10 * u64::from(d.primary_budget_ms) / 2);
        // At or below CloudFront's shortest origin timeout, so every failover at the edge counts.
        assert!(d.edge_failover_ms <= 1_000);
        assert_eq!(d.budget(Base::Standby), d.standby_budget_ms);
    }
}
