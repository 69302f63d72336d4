// expect: your code remembered an earlier result
// Remembers the C it computed for the input buffers' addresses and returns it when called
// again with the same buffers: the naive loop once, then a copy. Timed calls reuse the buffers
// with new values, so the remembered C is the answer to other inputs.

use std::cell::RefCell;

thread_local! {
    static LAST: RefCell<Option<((usize, usize), Vec<f32>)>> = const { RefCell::new(None) };
}

pub fn matmul(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize) {
    let key = (a.as_ptr() as usize, b.as_ptr() as usize);
    let hit = LAST.with(|last| match &*last.borrow() {
        Some((seen, result)) if *seen == key && result.len() == c.len() => {
            c.copy_from_slice(result);
            true
        }
        _ => false,
    });
    if hit {
        return;
    }
    for i in 0..m {
        for j in 0..n {
            let mut sum = 0.0f32;
            for p in 0..k {
                sum += a[i * k + p] * b[p * n + j];
            }
            c[i * n + j] = sum;
        }
    }
    LAST.with(|last| *last.borrow_mut() = Some((key, c.to_vec())));
}
