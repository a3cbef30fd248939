//! [`EpochOrder`]: the seeded, resumable order in which training examples are visited.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Seeded, reproducible order of examples over epochs, handed out in batches.
///
/// Epoch `k` is the identity permutation of `0..n` shuffled by a [`ChaCha8Rng`] seeded from
/// `(seed, k)` alone, so any epoch can be rebuilt from the seed: [`EpochOrder::restore`] with a
/// saved [`epoch`](EpochOrder::epoch) and [`position`](EpochOrder::position) continues exactly
/// where the saved run left off. Batches never straddle epochs: when fewer indices remain than a
/// batch needs, the rest is dropped and the next epoch starts.
///
/// The order is the same on every platform and across dependency updates: ChaCha8's output
/// stream is fixed by its specification and `rand_chacha` keeps it stable between releases
/// (unlike `rand`'s `StdRng`, whose algorithm may change in any release). The shuffle is `rand`
/// 0.8's `SliceRandom::shuffle`; a unit test pins the first indices of two epochs, so an update
/// that changes any part of the chain fails it rather than silently changing resumed runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochOrder {
    /// Number of examples.
    n: usize,
    /// The caller's seed.
    seed: u64,
    /// Current epoch (0-based).
    epoch: u64,
    /// How many indices of the current epoch have been handed out.
    position: usize,
    /// The current epoch's permutation.
    order: Vec<usize>,
}

impl EpochOrder {
    /// Starts at epoch 0, position 0, for `n` examples.
    pub fn new(n: usize, seed: u64) -> Self {
        Self::restore(n, seed, 0, 0)
    }

    /// Rebuilds the order at a saved `epoch` and `position` (clamped to `n`).
    pub fn restore(n: usize, seed: u64, epoch: u64, position: usize) -> Self {
        Self {
            n,
            seed,
            epoch,
            position: position.min(n),
            order: permutation(n, seed, epoch),
        }
    }

    /// The current epoch (0-based): the epoch the last batch came from.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// How many indices of the current epoch have been handed out.
    pub fn position(&self) -> usize {
        self.position
    }

    /// Number of examples the order covers.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the order covers no examples.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The seed given at creation.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The current epoch's full permutation.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Progress in epochs as a fraction, e.g. 2.5 halfway through epoch 2.
    pub fn epochs_done(&self) -> f64 {
        if self.n == 0 {
            return self.epoch as f64;
        }
        self.epoch as f64 + self.position as f64 / self.n as f64
    }

    /// The next `batch` indices and the epoch they belong to. `batch` may change from call to
    /// call; it is clamped to `1..=n` (so a batch is never empty unless `n == 0`, when the
    /// indices are empty). Starts the next, reshuffled epoch when fewer than `batch` remain.
    pub fn next_batch(&mut self, batch: usize) -> (u64, Vec<usize>) {
        let batch = batch.clamp(1, self.n.max(1));
        if self.n == 0 {
            return (self.epoch, Vec::new());
        }
        if self.n - self.position < batch {
            self.epoch += 1;
            self.position = 0;
            self.order = permutation(self.n, self.seed, self.epoch);
        }
        let start = self.position;
        self.position += batch;
        (self.epoch, self.order[start..self.position].to_vec())
    }
}

/// Epoch `epoch`'s permutation of `0..n` for `seed`.
fn permutation(n: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(epoch_seed(seed, epoch));
    order.shuffle(&mut rng);
    order
}

/// A well-mixed seed for `epoch` of a run seeded with `seed`.
fn epoch_seed(seed: u64, epoch: u64) -> u64 {
    splitmix64(seed ^ splitmix64(epoch.wrapping_add(0x6a09_e667_f3bc_c909)))
}

/// The SplitMix64 finaliser: a bijective 64-bit mix.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes `count` batches of `batch`.
    fn batches(order: &mut EpochOrder, batch: usize, count: usize) -> Vec<(u64, Vec<usize>)> {
        (0..count).map(|_| order.next_batch(batch)).collect()
    }

    #[test]
    fn same_seed_same_order_and_different_seed_differs() {
        let a = batches(&mut EpochOrder::new(100, 7), 10, 25);
        let b = batches(&mut EpochOrder::new(100, 7), 10, 25);
        let c = batches(&mut EpochOrder::new(100, 8), 10, 25);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn each_epoch_is_a_permutation_and_epochs_differ() {
        let mut order = EpochOrder::new(50, 1);
        let mut epochs: Vec<Vec<usize>> = vec![Vec::new(); 3];
        for _ in 0..15 {
            let (epoch, indices) = order.next_batch(10);
            epochs[epoch as usize].extend(indices);
        }
        for epoch in &epochs {
            let mut sorted = epoch.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        }
        assert_ne!(epochs[0], epochs[1]);
        assert_ne!(epochs[0], (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn remainder_is_dropped_and_batches_are_full() {
        let mut order = EpochOrder::new(10, 3);
        let got = batches(&mut order, 4, 3);
        assert_eq!(got.iter().map(|(e, _)| *e).collect::<Vec<_>>(), [0, 0, 1]);
        assert!(got.iter().all(|(_, b)| b.len() == 4));
        assert_eq!(order.epoch(), 1);
        assert_eq!(order.position(), 4);
        let fresh_epoch_one = EpochOrder::restore(10, 3, 1, 0);
        assert_eq!(got[2].1, fresh_epoch_one.order()[..4]);
    }

    #[test]
    fn restore_continues_identically() {
        let mut full = EpochOrder::new(37, 42);
        batches(&mut full, 5, 11);
        let (epoch, position) = (full.epoch(), full.position());
        assert_eq!((epoch, position), (1, 20));
        let mut resumed = EpochOrder::restore(37, 42, epoch, position);
        assert_eq!(resumed, full);
        let tail = batches(&mut full, 5, 20);
        assert_eq!(batches(&mut resumed, 5, 20), tail);
    }

    #[test]
    fn batch_size_may_change_mid_epoch() {
        let mut order = EpochOrder::new(20, 9);
        let mut seen = Vec::new();
        for batch in [3, 7, 5, 4] {
            let (epoch, indices) = order.next_batch(batch);
            assert_eq!((epoch, indices.len()), (0, batch));
            seen.extend(indices);
        }
        assert_eq!(order.position(), 19);
        assert_eq!(seen, order.order()[..19]);
        let (epoch, indices) = order.next_batch(2);
        assert_eq!((epoch, indices.len(), order.position()), (1, 2, 2));
        assert!((order.epochs_done() - 1.1).abs() < 1e-12);
    }

    #[test]
    fn degenerate_batch_sizes_are_clamped() {
        let mut order = EpochOrder::new(5, 0);
        assert_eq!(order.next_batch(0).1.len(), 1);
        assert_eq!(order.next_batch(99).1.len(), 5);
        assert_eq!(order.epoch(), 1);
        let mut empty = EpochOrder::new(0, 0);
        assert_eq!(empty.next_batch(8), (0, Vec::new()));
        assert!(empty.is_empty());
    }

    #[test]
    fn restore_clamps_position() {
        let mut order = EpochOrder::restore(6, 5, 3, 100);
        assert_eq!(order.position(), 6);
        assert_eq!(order.next_batch(2).0, 4);
    }

    /// The first ten indices of two epochs of a fixed seed, written out: if a dependency update
    /// (`rand`, `rand_chacha`) changes them, saved runs would resume in another order, so this
    /// must fail.
    #[test]
    fn permutation_is_pinned() {
        let epoch0 = EpochOrder::new(60_000, 0);
        let epoch1 = EpochOrder::restore(60_000, 0, 1, 0);
        assert_eq!(
            epoch0.order()[..10],
            [8176, 53697, 55592, 6067, 42589, 35686, 48231, 12006, 33095, 6987]
        );
        assert_eq!(
            epoch1.order()[..10],
            [1798, 9107, 10171, 12814, 42688, 35886, 3736, 9893, 43613, 51953]
        );
    }
}
