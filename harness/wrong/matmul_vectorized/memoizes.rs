// expect: your code remembered an earlier result
// A results cache keyed by the inputs' addresses and the problem size: a second call with the
// same buffers gets the stored C back. Timed calls reuse the buffers with new values, so it
// returns the answer to other inputs.

use std::collections::HashMap;
use std::sync::Mutex;

static CACHE: Mutex<Option<HashMap<(usize, usize, usize), Vec<f32>>>> = Mutex::new(None);

pub fn matmul(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize) {
    let key = (a.as_ptr() as usize, b.as_ptr() as usize, m * k * n);
    let mut cache = CACHE.lock().unwrap();
    let cache = cache.get_or_insert_with(HashMap::new);
    if let Some(result) = cache.get(&key) {
        c.copy_from_slice(result);
        return;
    }
    c.fill(0.0);
    for i in 0..m {
        let c_row = &mut c[i * n..(i + 1) * n];
        for p in 0..k {
            let a_ip = a[i * k + p];
            for (c_ij, b_pj) in c_row.iter_mut().zip(&b[p * n..(p + 1) * n]) {
                *c_ij += a_ip * b_pj;
            }
        }
    }
    cache.insert(key, c.to_vec());
}
