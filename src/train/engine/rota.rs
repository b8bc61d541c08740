//! When the utterances watched for the attention log alone (`engine/kept.rs`) are
//! recomputed: in turn, one per refresh, under ONE time budget shared by all of them.
//!
//! The budget is 1/`SHARE` = 1/50 (2 %) of the session's wall time since training began,
//! whatever the number of watched utterances, and the epoch-end recomputations of all of
//! them (which the log must hold: the last snapshot of each) are charged to it too. Why 50:
//! the log is a by-product of the run, and 2 % is about what the paired on/off runs of
//! `benches/recording_overhead.rs` can still tell from noise on the development machine
//! (docs/BENCHMARKS.md); a smaller share would leave a short run with hardly a snapshot
//! between its epoch ends. Before, each utterance had its own 1/50 (`inspect::Watch`), so
//! three Figure-4 sentences cost 6 % plus the epoch ends, about 10 % of a short run.
//!
//! The schedule is a token bucket: a refresh is due while the time spent refreshing is at
//! most 1/`SHARE` of the time elapsed, so the share can exceed the budget by one refresh at
//! most, and after an epoch end (which may overdraw it) the next refresh waits until the
//! run has earned it back. Taking the utterances in turn keeps them evenly spread over the
//! run: with k utterances each is recomputed every k refreshes. The utterance in the app's
//! view is not on this rota: it keeps its own `Watch` schedule, so recording never slows
//! what is shown.

use std::time::{Duration, Instant};

use crate::data::Split;

/// Refreshing costs this share of the wall time at most (see the module comment).
pub(super) const SHARE: u32 = 50;
/// And refreshes are never closer than this: snapshots of nearly the same weights would
/// only crowd the log, which keeps a bounded number per utterance.
const MIN_REFRESH: Duration = Duration::from_millis(250);

/// The watched utterances, whose turn is next, and the shared budget's account.
#[derive(Debug, Clone)]
pub(super) struct Rota {
    targets: Vec<(Split, usize)>,
    next: usize,
    began: Instant,
    spent: Duration,
    last: Option<Instant>,
}

impl Rota {
    /// These utterances, in turn from the first; the budget accrues from `began`.
    pub(super) fn new(targets: Vec<(Split, usize)>, began: Instant) -> Self {
        Self {
            targets,
            next: 0,
            began,
            spent: Duration::ZERO,
            last: None,
        }
    }

    /// Every watched utterance (an epoch's end recomputes them all).
    pub(super) fn targets(&self) -> &[(Split, usize)] {
        &self.targets
    }

    /// The utterance whose turn it is, when the budget allows a refresh at `now` (the turn
    /// passes on: call `charge` with what its refresh cost).
    pub(super) fn due(&mut self, now: Instant) -> Option<(Split, usize)> {
        if self.targets.is_empty() {
            return None;
        }
        if self
            .last
            .is_some_and(|last| now.saturating_duration_since(last) < MIN_REFRESH)
        {
            return None;
        }
        if self.spent * SHARE > now.saturating_duration_since(self.began) {
            return None;
        }
        let target = self.targets[self.next % self.targets.len()];
        self.next = (self.next + 1) % self.targets.len();
        Some(target)
    }

    /// Charges a refresh (one utterance's or an epoch end's) that ended at `finished` and
    /// took `cost` to the shared budget.
    pub(super) fn charge(&mut self, finished: Instant, cost: Duration) {
        self.spent += cost;
        self.last = Some(finished);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A simulated run: `steps` steps of `step` each, a refresh of one utterance costing
    /// `cost` whenever the rota says so, and an epoch end every `epoch` steps recomputing
    /// them all for `epoch_end`. Returns the refresh share of the wall time and how many
    /// snapshots each utterance got besides the epoch ends'.
    fn simulate(
        k: usize,
        steps: usize,
        step: Duration,
        cost: Duration,
        epoch: usize,
        epoch_end: Duration,
    ) -> (f64, Vec<usize>) {
        let t0 = Instant::now();
        let targets: Vec<(Split, usize)> = (0..k).map(|i| (Split::Test, i)).collect();
        let mut rota = Rota::new(targets.clone(), t0);
        let mut now = t0;
        let mut refreshing = Duration::ZERO;
        let mut counts = vec![0; k];
        for s in 1..=steps {
            now += step;
            if let Some(target) = rota.due(now) {
                counts[targets.iter().position(|t| *t == target).unwrap()] += 1;
                now += cost;
                refreshing += cost;
                rota.charge(now, cost);
            }
            if s % epoch == 0 {
                now += epoch_end;
                refreshing += epoch_end;
                rota.charge(now, epoch_end);
            }
        }
        (refreshing.as_secs_f64() / (now - t0).as_secs_f64(), counts)
    }

    /// Before, each utterance had 1/50 of its own: the share grew with their number.
    #[test]
    fn the_refresh_share_stays_under_one_budget_whatever_the_number_of_utterances() {
        let ms = Duration::from_millis;
        for k in [1, 3, 8, 20] {
            // 3 epochs of 500 steps of 30 ms; a refresh 20 ms; an epoch end two evaluation
            // batches (`eval::attention_snapshots`).
            let (share, counts) = simulate(k, 1500, ms(30), ms(20), 500, ms(40));
            let budget = 1.0 / f64::from(SHARE);
            assert!(
                share <= budget * 1.05,
                "{k} utterances: {:.2} % of the wall time, over the {:.2} % budget",
                share * 100.0,
                budget * 100.0
            );
            assert!(share >= budget * 0.5, "{k} utterances: the budget is used ({share})");
            assert!(
                counts.iter().all(|&n| n > 0),
                "{k} utterances: each recorded ({counts:?})"
            );
        }
    }

    #[test]
    fn every_utterance_gets_its_turn_and_none_more_than_one_extra() {
        let ms = Duration::from_millis;
        for k in [1, 2, 3, 5] {
            let (_, counts) = simulate(k, 3000, ms(30), ms(20), 1000, ms(20));
            let (least, most) = (*counts.iter().min().unwrap(), *counts.iter().max().unwrap());
            assert!(
                least >= 5,
                "{k} utterances: each gets snapshots between epoch ends ({counts:?})"
            );
            assert!(most - least <= 1, "{k} utterances: round robin ({counts:?})");
        }
    }

    #[test]
    fn the_first_turn_is_at_once_and_an_overdrawn_budget_waits_to_be_earned_back() {
        let t0 = Instant::now();
        let mut rota = Rota::new(vec![(Split::Test, 4), (Split::Dev, 1)], t0);
        assert_eq!(rota.due(t0), Some((Split::Test, 4)), "the untrained model is recorded");
        rota.charge(t0, Duration::from_millis(100));
        assert_eq!(rota.due(t0 + Duration::from_millis(4900)), None);
        assert_eq!(
            rota.due(t0 + Duration::from_secs(5)),
            Some((Split::Dev, 1)),
            "after 50 x the cost"
        );
        // An epoch end of 1 s: nothing more until 50 x the 1.1 s spent in all.
        rota.charge(t0 + Duration::from_secs(6), Duration::from_secs(1));
        assert_eq!(rota.due(t0 + Duration::from_secs(54)), None);
        assert_eq!(rota.due(t0 + Duration::from_secs(55)), Some((Split::Test, 4)));
        // Cheap refreshes are still at least MIN_REFRESH apart.
        let mut cheap = Rota::new(vec![(Split::Test, 0)], t0);
        assert!(cheap.due(t0).is_some());
        cheap.charge(t0, Duration::from_micros(1));
        assert_eq!(cheap.due(t0 + Duration::from_millis(200)), None);
        assert!(cheap.due(t0 + Duration::from_millis(250)).is_some());
        assert_eq!(Rota::new(Vec::new(), t0).due(t0 + Duration::from_secs(9)), None);
    }
}
