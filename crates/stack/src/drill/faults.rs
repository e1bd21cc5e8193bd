//! The faults of a drill and when they happen, as fractions of its duration (the same for every
//! run): the primary killed then restarted, frozen then resumed, and a planned switch of the
//! active region and back.

use std::time::Duration;

use crate::regions::{TwoRegions, PRIMARY_REGION, STANDBY_REGION};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL of us-east-1: connections refused.
    Kill,
    /// us-east-1 started again on its port.
    Restart,
    /// SIGSTOP of us-east-1: connections accepted, nothing answered.
    Freeze,
    /// SIGCONT.
    Thaw,
    /// Writes on `/api` to us-west-1 (`failover --local`).
    SwitchToStandby,
    /// Writes back to us-east-1 (`failback --local`).
    SwitchBack,
}

/// A span of the drill during which a fault holds.
#[derive(Clone, Debug)]
pub struct Window {
    pub kind: Kind,
    pub start_ms: u64,
    pub end_ms: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Refused,
    Hung,
    Switched,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Refused => "primary killed",
            Kind::Hung => "primary frozen",
            Kind::Switched => "writes on us-west-1",
        }
    }

    /// The longest an action overlapping this window may take (the targets).
    pub fn target_ms(self) -> Option<u64> {
        match self {
            Kind::Refused => Some(1_000),
            Kind::Hung => Some(3_500),
            Kind::Switched => None,
        }
    }
}

/// When each fault happens in a drill of `duration`.
pub fn schedule(duration: Duration) -> Vec<(Duration, Fault)> {
    [
        (0.10, Fault::Kill),
        (0.25, Fault::Restart),
        (0.40, Fault::Freeze),
        (0.55, Fault::Thaw),
        (0.70, Fault::SwitchToStandby),
        (0.85, Fault::SwitchBack),
    ]
    .into_iter()
    .map(|(at, fault)| (duration.mul_f64(at), fault))
    .collect()
}

/// Applies one fault to the stack, printing it.
pub fn apply(stack: &mut TwoRegions, fault: Fault, at_ms: u64) -> Result<(), String> {
    println!("drill: {:>7.1} s  {fault:?}", at_ms as f64 / 1000.0);
    match fault {
        Fault::Kill => stack.primary.kill(),
        Fault::Restart => stack.primary.restart(),
        Fault::Freeze => stack.primary.freeze(),
        Fault::Thaw => stack.primary.thaw(),
        Fault::SwitchToStandby => stack.active.set(STANDBY_REGION),
        Fault::SwitchBack => stack.active.set(PRIMARY_REGION),
    }
}

/// The windows the applied faults (with the times they were applied) make.
pub fn windows(applied: &[(u64, Fault)], end_ms: u64) -> Vec<Window> {
    let mut windows = Vec::new();
    for (i, (start_ms, fault)) in applied.iter().enumerate() {
        let (kind, until) = match fault {
            Fault::Kill => (Kind::Refused, Fault::Restart),
            Fault::Freeze => (Kind::Hung, Fault::Thaw),
            Fault::SwitchToStandby => (Kind::Switched, Fault::SwitchBack),
            _ => continue,
        };
        let end_ms = applied[i..]
            .iter()
            .find(|(_, f)| *f == until)
            .map_or(end_ms, |(at, _)| *at);
        windows.push(Window {
            kind,
            start_ms: *start_ms,
            end_ms,
        });
    }
    windows
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{schedule, windows, Fault, Kind};

    #[test]
    fn every_fault_is_undone_before_the_end() {
        let plan = schedule(Duration::from_secs(100));
        assert_eq!(plan.len(), 6);
        assert_eq!(plan[0], (Duration::from_secs(10), Fault::Kill));
        assert!(plan.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(plan.last().map(|p| p.1), Some(Fault::SwitchBack));
    }

    #[test]
    fn windows_pair_each_fault_with_its_end() {
        let applied = [
            (10, Fault::Kill),
            (25, Fault::Restart),
            (40, Fault::Freeze),
            (55, Fault::Thaw),
            (70, Fault::SwitchToStandby),
        ];
        let w = windows(&applied, 100);
        assert_eq!(w.len(), 3);
        assert_eq!(
            (w[0].kind, w[0].start_ms, w[0].end_ms),
            (Kind::Refused, 10, 25)
        );
        assert_eq!(
            (w[1].kind, w[1].start_ms, w[1].end_ms),
            (Kind::Hung, 40, 55)
        );
        // Not undone: the window lasts to the end.
        assert_eq!((w[2].kind, w[2].end_ms), (Kind::Switched, 100));
    }
}
