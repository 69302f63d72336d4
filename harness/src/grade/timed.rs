//! Holding the timed launches to account. A kernel can tell a re-launch on the same buffers
//! from its checked launch (its output is no longer poison, a `__device__` counter, a cached
//! pointer) and skip work when timed. So before every launch the timing loop makes, outputs
//! are re-poisoned (accumulators re-zeroed) on the device, and after it a few elements chosen
//! at random are compared with the reference the checked launch was held to; at a sample
//! chosen at random and at the last one, every element is compared and the inputs and guard
//! zones are verified again. Where a check gives a varied version of an input (a few elements
//! changed), each launch gets one of the two versions at random, so a kernel that replays a
//! result remembered from an earlier launch, without reading its inputs, is caught too.

use std::sync::Arc;

use anyhow::Context as _;
use cudarc::driver::{result, CudaSlice, CudaStream, DevicePtr, DriverError};
use rand::{Rng, SeedableRng};

use super::compare::{self, Failure, Shape};
use super::element::Element;
use crate::curriculum::Tolerance;

/// Elements compared after every timed launch: scattered ones, plus one contiguous window
/// (a kernel that skips a block's worth of work leaves a run of poison).
const SPOT_SCATTERED: usize = 16;
const SPOT_WINDOW: usize = 256;

pub const TIMED_MISMATCH: &str =
    "your kernel's output in the timed runs differs from its checked run";

/// The reference an output was checked against, kept for the timed launches.
pub(super) trait Reference {
    fn ptr(&self) -> u64;
    fn len(&self) -> usize;
    /// Compare the elements at `at` (every element when `None`) with the reference.
    fn check(
        &self,
        stream: &Arc<CudaStream>,
        at: Option<&[usize]>,
    ) -> anyhow::Result<Option<Failure>>;
}

pub(super) struct Recorded<T: Element> {
    pub name: String,
    pub ptr: u64,
    pub shape: Shape,
    pub want: Vec<T>,
    pub bound: Bound,
}

/// How close a timed output must come to the reference: as close as the checked one had to.
pub(super) enum Bound {
    Uniform(Tolerance),
    /// One bound per element, and the sentence that explains them.
    PerElement {
        bounds: Vec<f64>,
        rule: String,
    },
}

impl<T: Element> Recorded<T> {
    /// `at[i]` is the buffer index of `got[i]`; `None` when `got` is the whole buffer.
    fn compare(&self, got: &[T], want: &[T], at: Option<&[usize]>) -> Result<String, Failure> {
        match &self.bound {
            Bound::Uniform(tol) => compare::compare(&self.name, self.shape, got, want, *tol),
            Bound::PerElement { bounds, rule } => {
                let bound = |i: usize| bounds[at.map_or(i, |at| at[i])];
                compare::compare_bounded(&self.name, self.shape, got, want, bound, rule)
            }
        }
    }
}

impl<T: Element> Reference for Recorded<T> {
    fn ptr(&self) -> u64 {
        self.ptr
    }

    fn len(&self) -> usize {
        self.want.len()
    }

    fn check(
        &self,
        stream: &Arc<CudaStream>,
        at: Option<&[usize]>,
    ) -> anyhow::Result<Option<Failure>> {
        stream.synchronize()?;
        let Some(at) = at else {
            let mut got = vec![T::POISON; self.want.len()];
            // SAFETY: `ptr` is the start of a live buffer of `want.len()` elements (the check
            // still borrows it for the timed launches), and the stream is idle.
            unsafe { result::memcpy_dtoh_sync(&mut got, self.ptr) }?;
            return Ok(self.compare(&got, &self.want, None).err());
        };
        let size = std::mem::size_of::<T>() as u64;
        for &i in at {
            let mut got = [T::POISON];
            // SAFETY: as above, for one element inside the buffer.
            unsafe { result::memcpy_dtoh_sync(&mut got, self.ptr + i as u64 * size) }?;
            let (w, g) = (self.want[i], got[0]);
            if let Err(f) = self.compare(&[g], &[w], Some(&[i])) {
                let what = if g.is_poison() {
                    "was never written (still the poison kernlings put there before the launch)"
                        .to_string()
                } else {
                    format!("is {}", g.show())
                };
                let name = &self.name;
                let at = compare::locate(self.shape, i);
                return Ok(Some(Failure::new(
                    f.summary,
                    format!(
                        "{name}{at} {what}, where the checked run gave {}.\n",
                        w.show()
                    ),
                )));
            }
        }
        Ok(None)
    }
}

/// How an output is put back into its before-the-launch state, queued on the stream.
pub(super) type Reset = Box<dyn Fn(&Arc<CudaStream>) -> Result<(), DriverError>>;

/// A device-side copy of the poison: re-poisoning per sample must not cost a host copy.
pub(super) fn poison_reset<T: Element>(
    stream: &Arc<CudaStream>,
    ptr: u64,
    len: usize,
) -> anyhow::Result<Reset> {
    let image: CudaSlice<T> = stream
        .clone_htod(&vec![T::POISON; len])
        .context("allocating the poison image for timed launches")?;
    let bytes = len * std::mem::size_of::<T>();
    Ok(Box::new(move |s: &Arc<CudaStream>| {
        let src = image.device_ptr(s).0;
        // SAFETY: both ranges are live device allocations of `bytes` bytes.
        unsafe { result::memcpy_dtod_async(ptr, src, bytes, s.cu_stream()) }
    }))
}

/// A device-side copy of an in/out buffer's starting contents.
pub(super) fn image_reset<T: Element>(
    stream: &Arc<CudaStream>,
    ptr: u64,
    start: &[T],
) -> anyhow::Result<Reset> {
    let image: CudaSlice<T> = stream
        .clone_htod(start)
        .context("allocating the starting image of an in/out buffer")?;
    let bytes = std::mem::size_of_val(start);
    Ok(Box::new(move |s: &Arc<CudaStream>| {
        let src = image.device_ptr(s).0;
        // SAFETY: both ranges are live device allocations of `bytes` bytes.
        unsafe { result::memcpy_dtod_async(ptr, src, bytes, s.cu_stream()) }
    }))
}

pub(super) fn zero_reset(ptr: u64, bytes: usize) -> Reset {
    // SAFETY: `ptr..ptr + bytes` is a live device allocation.
    Box::new(move |s: &Arc<CudaStream>| unsafe {
        result::memset_d8_async(ptr, 0, bytes, s.cu_stream())
    })
}

/// Two versions of an input buffer's contents: the checked one, and one that differs from it
/// in a few elements. Before each timed launch one of them is copied in (chosen from OS
/// entropy), so a kernel that replays a result it remembers from an earlier launch is wrong
/// about half the time, and telling the versions apart means reading every element.
pub(super) struct Versions {
    pub ptr: u64,
    pub bytes: usize,
    pub images: [CudaSlice<u8>; 2],
    pub hosts: [Vec<u8>; 2],
}

/// An output's reference for each input version (the second only when the inputs vary).
pub(super) type References<'a> = Vec<(&'a dyn Reference, Option<&'a dyn Reference>)>;

/// What the timing loop does around each learner launch.
pub struct Accountant<'a> {
    pub(super) stream: Arc<CudaStream>,
    pub(super) resets: Vec<Reset>,
    pub(super) references: References<'a>,
    pub(super) versions: Vec<&'a Versions>,
    /// Which input version the current launch got.
    installed: usize,
    /// Inputs and guard zones, verified at the full checks.
    pub(super) verify_buffers: Box<dyn Fn() -> anyhow::Result<Option<Failure>> + 'a>,
    /// From the OS, not the run's seed: the kernel cannot know which launch is checked in full.
    rng: rand::rngs::StdRng,
    /// The sample checked in full, besides the last one.
    full_at: usize,
    pub(super) runs: usize,
    pub(super) full_checks: usize,
}

impl<'a> Accountant<'a> {
    pub(super) fn new(
        stream: Arc<CudaStream>,
        resets: Vec<Reset>,
        references: References<'a>,
        versions: Vec<&'a Versions>,
        verify_buffers: Box<dyn Fn() -> anyhow::Result<Option<Failure>> + 'a>,
        min_samples: usize,
    ) -> Self {
        let mut rng = rand::rngs::StdRng::from_entropy();
        let full_at = rng.gen_range(0..min_samples.max(1));
        Accountant {
            stream,
            resets,
            references,
            versions,
            installed: 0,
            verify_buffers,
            rng,
            full_at,
            runs: 0,
            full_checks: 0,
        }
    }

    /// Queue the resets and the inputs' version: call right before queuing a learner launch,
    /// with the index among the timed samples of the launch to come (`None` before them).
    /// The launch checked in full gets the checked inputs, so they can be verified after it.
    pub(super) fn before(&mut self, sample: Option<usize>) -> anyhow::Result<()> {
        for r in &self.resets {
            r(&self.stream).context("re-poisoning an output before a timed launch")?;
        }
        let version = match sample == Some(self.full_at) {
            true => 0,
            false => self.rng.gen_range(0..2),
        };
        self.install(version)
    }

    /// Queue the resets and input version `version` (0: the checked inputs, 1: the varied).
    pub(super) fn before_with(&mut self, version: usize) -> anyhow::Result<()> {
        for r in &self.resets {
            r(&self.stream).context("re-poisoning an output before a timed launch")?;
        }
        self.install(version)
    }

    fn install(&mut self, version: usize) -> anyhow::Result<()> {
        if !self.versions.is_empty() {
            self.installed = version;
            for v in &self.versions {
                let src = v.images[self.installed].device_ptr(&self.stream).0;
                // SAFETY: both are live device allocations of `bytes` bytes.
                unsafe { result::memcpy_dtod_async(v.ptr, src, v.bytes, self.stream.cu_stream()) }
                    .context("installing an input version before a timed launch")?;
            }
        }
        Ok(())
    }

    /// After a learner launch has finished: `sample` is its index among the timed samples
    /// (`None` for the untimed and warm-up launches), `last` whether sampling has ended.
    pub(super) fn after(&mut self, sample: Option<usize>, last: bool) -> anyhow::Result<()> {
        self.runs += 1;
        let full = last || sample == Some(self.full_at);
        for &(checked, varied) in &self.references {
            let r = match self.installed {
                1 => varied.unwrap_or(checked),
                _ => checked,
            };
            let at = (!full).then(|| spots(&mut self.rng, r.len()));
            if let Some(f) = r.check(&self.stream, at.as_deref())? {
                return Err(self.mismatch(f).into());
            }
        }
        if full {
            self.full_checks += 1;
            if self.installed == 1 {
                return self.verify_varied_inputs();
            }
            if let Some(f) = (self.verify_buffers)()? {
                return Err(
                    Failure::new(format!("{} ({})", TIMED_MISMATCH, f.summary), f.details).into(),
                );
            }
        }
        Ok(())
    }

    /// The varied inputs are still as installed (the full check after the last sample may
    /// find the second version there; the inputs' own check expects the first).
    fn verify_varied_inputs(&self) -> anyhow::Result<()> {
        for v in &self.versions {
            let mut now = vec![0u8; v.bytes];
            // SAFETY: a live device allocation of `bytes` bytes; the stream is idle.
            unsafe { result::memcpy_dtoh_sync(&mut now, v.ptr) }?;
            if now != v.hosts[1] {
                return Err(Failure::new(
                    format!("{TIMED_MISMATCH} (your kernel changed an input)"),
                    "An input buffer did not hold, after a timed launch, what kernlings put \
                     there before it. Inputs are read-only.\n",
                )
                .into());
            }
        }
        Ok(())
    }

    fn mismatch(&self, f: Failure) -> Failure {
        Failure::new(
            TIMED_MISMATCH,
            format!(
                "In launch {} of the timing loop: {}.\n{}kernlings re-poisons the outputs before \
                 every timed launch and checks them after it. A kernel must do all of its work \
                 every time it is launched: no skipping work on repeats, no remembering earlier \
                 results.\n",
                self.runs, f.summary, f.details
            ),
        )
    }
}

fn spots(rng: &mut impl Rng, len: usize) -> Vec<usize> {
    if len <= SPOT_SCATTERED + SPOT_WINDOW {
        return (0..len).collect();
    }
    let start = rng.gen_range(0..=len - SPOT_WINDOW);
    let mut at: Vec<usize> = (0..SPOT_SCATTERED).map(|_| rng.gen_range(0..len)).collect();
    // The last element too: a kernel that drops the tail when timed shows there.
    at.push(len - 1);
    at.extend(start..start + SPOT_WINDOW);
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_outputs_are_checked_whole_and_large_ones_at_spots_that_move() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        assert_eq!(spots(&mut rng, 100), (0..100).collect::<Vec<_>>());
        let a = spots(&mut rng, 1 << 20);
        let b = spots(&mut rng, 1 << 20);
        assert_eq!(a.len(), SPOT_SCATTERED + 1 + SPOT_WINDOW);
        assert!(a.contains(&((1 << 20) - 1)));
        assert_ne!(a, b);
        assert!(a.iter().all(|&i| i < 1 << 20));
    }
}
