//! Weights an optimizer lends to a training step's forward and backward passes.
//!
//! dfdx 0.13 gives no view of a tensor's buffer, only `copy_into`, a memcpy on one thread: for
//! the 3136 x 1024 dense layer that is 13 MB, about 2 ms of a 25-30 ms step. The optimizer
//! (`train::adam`) already keeps a copy of every weight, as its last update left it, so during
//! a step the layers read that copy instead.
//!
//! While the optimizer defers its write-back (`Adam::defer_write_back`), the lent copy is
//! newer than the tensor, and a step must read every weight through [`Weights::of`].
//!
//! A lent copy is found by the address of the tensor it mirrors (the tensor sits inside its
//! model, which stays in place for the step) and must have the tensor's length; anything
//! else, or a lookup on another thread, falls back to copying the tensor. Lending is only
//! correct while the weights change through the lending optimizer alone, which is that
//! optimizer's own rule.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use dfdx::prelude::*;

use super::{contents, recycle};

/// One lent copy: where its tensor lives and the values.
struct Loan {
    address: usize,
    values: Arc<Vec<f32>>,
}

thread_local! {
    /// The copies lent on this thread.
    static LOANS: RefCell<Vec<Loan>> = const { RefCell::new(Vec::new()) };
}

/// The address a tensor is known by while it is lent: where the tensor itself lives.
pub fn address_of<S: Shape, T>(tensor: &Tensor<S, f32, Cpu, T>) -> usize {
    tensor as *const Tensor<S, f32, Cpu, T> as usize
}

/// A copy of `tensor`'s values, ready to [`lend`] for it (for measuring a layer as a training
/// step runs it).
pub fn copy_for_loan<S: Shape, T>(tensor: &Tensor<S, f32, Cpu, T>) -> (usize, Arc<Vec<f32>>) {
    let mut values = vec![0.0f32; tensor.shape().num_elements()];
    tensor.copy_into(&mut values);
    (address_of(tensor), Arc::new(values))
}

/// Copies lent on this thread until this is dropped; what was lent before comes back then.
#[must_use = "the loan ends when this is dropped"]
pub struct Lending {
    previous: Vec<Loan>,
    /// The loans live in a thread-local: the guard stays on its thread.
    _on_this_thread: PhantomData<*const ()>,
}

/// Lends `copies`, each `(address_of(tensor), values)`, to layers on this thread.
pub fn lend(copies: impl IntoIterator<Item = (usize, Arc<Vec<f32>>)>) -> Lending {
    let loans = copies
        .into_iter()
        .map(|(address, values)| Loan { address, values })
        .collect();
    let previous = LOANS.with(|l| std::mem::replace(&mut *l.borrow_mut(), loans));
    Lending {
        previous,
        _on_this_thread: PhantomData,
    }
}

impl Drop for Lending {
    fn drop(&mut self) {
        let previous = std::mem::take(&mut self.previous);
        LOANS.with(|l| *l.borrow_mut() = previous);
    }
}

/// A tensor's values for a layer: the lent copy, or a copy made now.
pub(crate) enum Weights {
    /// The optimizer's copy.
    Lent(Arc<Vec<f32>>),
    /// Copied out of the tensor (handed back to the spare copies when released).
    Copied(Vec<f32>),
}

impl Weights {
    /// The values of `tensor`: its lent copy when one is lent on this thread, else a copy.
    pub(crate) fn of<S: Shape, T>(tensor: &Tensor<S, f32, Cpu, T>) -> Self {
        let address = address_of(tensor);
        let len = tensor.shape().num_elements();
        let lent = LOANS.with(|l| {
            l.borrow()
                .iter()
                .find(|loan| loan.address == address && loan.values.len() == len)
                .map(|loan| Arc::clone(&loan.values))
        });
        match lent {
            Some(values) => Weights::Lent(values),
            None => Weights::Copied(contents(tensor)),
        }
    }

    /// Whether these values are the lent copy.
    #[cfg(test)]
    pub(crate) fn is_lent(&self) -> bool {
        matches!(self, Weights::Lent(_))
    }

    /// The values as a vector of their own: a copy is handed over, a loan copied.
    pub(crate) fn into_vec(self) -> Vec<f32> {
        match self {
            Weights::Lent(values) => values.to_vec(),
            Weights::Copied(values) => values,
        }
    }

    /// Done with the values: a copy goes back for reuse, a loan's reference is dropped.
    pub(crate) fn release(self) {
        if let Weights::Copied(copy) = self {
            recycle(copy);
        }
    }
}

impl Deref for Weights {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        match self {
            Weights::Lent(values) => values,
            Weights::Copied(values) => values,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lent_copy_is_found_by_its_tensor_and_nothing_else() {
        let dev = Cpu::default();
        let a: Tensor<Rank1<4>, f32, Cpu> = dev.tensor([1.0, 2.0, 3.0, 4.0]);
        let b: Tensor<Rank1<4>, f32, Cpu> = dev.tensor([5.0, 6.0, 7.0, 8.0]);
        let lent = Arc::new(vec![9.0f32; 4]);
        {
            let _loan = lend([(address_of(&a), Arc::clone(&lent))]);
            let from_a = Weights::of(&a);
            assert!(from_a.is_lent());
            assert_eq!(&*from_a, &[9.0; 4]);
            let from_b = Weights::of(&b);
            assert!(!from_b.is_lent());
            assert_eq!(&*from_b, &[5.0, 6.0, 7.0, 8.0]);
            // Another thread sees no loan.
            let copied = std::thread::scope(|s| s.spawn(|| Weights::of(&a).is_lent()).join());
            assert!(!copied.unwrap());
            from_a.release();
            from_b.release();
        }
        assert!(!Weights::of(&a).is_lent(), "the loan ended with its guard");
        assert_eq!(Arc::strong_count(&lent), 1, "no reference kept");
    }

    #[test]
    fn a_copy_of_another_length_is_not_used_and_loans_nest() {
        let dev = Cpu::default();
        let a: Tensor<Rank1<3>, f32, Cpu> = dev.tensor([1.0, 2.0, 3.0]);
        let outer = lend([(address_of(&a), Arc::new(vec![7.0f32; 3]))]);
        {
            let _inner = lend([(address_of(&a), Arc::new(vec![0.0f32; 2]))]);
            assert_eq!(&*Weights::of(&a), &[1.0, 2.0, 3.0]);
        }
        assert_eq!(&*Weights::of(&a), &[7.0; 3], "the outer loan is back");
        drop(outer);
        assert_eq!(&*Weights::of(&a), &[1.0, 2.0, 3.0]);
    }
}
