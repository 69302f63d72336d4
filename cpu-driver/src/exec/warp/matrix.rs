//! Warp-wide matrix instructions: mma.sync, ldmatrix and wmma, gathered from and scattered to
//! the lanes' registers around the arithmetic in `exec::tensor`.

use super::access::{read_raw, write_raw};
use super::{Access, BlockRunner, Res, Target, Warp};
use crate::exec::num::*;
use crate::exec::tensor;
use crate::ptx::ir::*;
use crate::report::Diagnostic;

impl BlockRunner<'_> {
    /// The registers of a vector operand (`{%r1, %r2}`), `N` at most, for every lane.
    pub(super) fn gather_vec<const N: usize>(&self, w: &Warp, o: &Operand) -> [[u64; N]; 32] {
        let mut out = [[0u64; N]; 32];
        if let Operand::Vector(parts) = o {
            for (k, p) in parts.iter().enumerate().take(N) {
                let v = self.gather(w, p);
                for l in 0..32 {
                    out[l][k] = v[l];
                }
            }
        }
        out
    }

    pub(super) fn scatter_vec(w: &mut Warp, o: &Operand, regs: &[[u64; 4]; 32]) {
        if let Operand::Vector(parts) = o {
            for (k, p) in parts.iter().enumerate().take(4) {
                let v: [u64; 32] = std::array::from_fn(|l| regs[l][k]);
                Self::scatter(w, p, u32::MAX, &v);
            }
        }
    }

    /// Warp-wide matrix instructions need every lane of the warp, as on the GPU.
    pub(super) fn require_full_warp(&self, ins: &Instr, exec: u32, w: &Warp) -> Res<()> {
        if exec == u32::MAX {
            return Ok(());
        }
        Err(Diagnostic::BarrierDivergence {
            block: self.ctaid,
            waiting: vec![w.tid[exec.trailing_zeros() as usize]],
            waiting_count: exec.count_ones(),
            elsewhere: vec![w.tid[(!exec).trailing_zeros() as usize]],
            elsewhere_count: (!exec).count_ones(),
            exited: false,
            line: ins.line,
        })
    }

    pub(super) fn mma(&mut self, ins: &Instr, exec: u32, w: &mut Warp) -> Res<()> {
        self.require_full_warp(ins, exec, w)?;
        let Extra::Mma { k } = ins.extra else {
            unreachable!("mma shape")
        };
        let a = self.gather_vec::<4>(w, &ins.src[0]);
        let b = self.gather_vec::<2>(w, &ins.src[1]);
        let c = self.gather_vec::<4>(w, &ins.src[2]);
        let d = tensor::mma(k as usize, ins.ty2 == Ty::Bf16, &a, &b, &c);
        Self::scatter_vec(w, &ins.dst[0], &d);
        Ok(())
    }

    pub(super) fn ldmatrix(&mut self, ins: &Instr, exec: u32, w: &mut Warp) -> Res<()> {
        self.require_full_warp(ins, exec, w)?;
        let Extra::Ldmatrix { num, trans } = ins.extra else {
            unreachable!("ldmatrix shape")
        };
        let mut rows = [[0u8; 16]; 32];
        for (l, row) in rows.iter_mut().enumerate().take(8 * num as usize) {
            let (target, off) = Self::resolve(ins.space, self.val(w, &ins.src[0], l));
            let p = self.host_ptr(
                w,
                ins,
                l,
                Access {
                    target,
                    addr: off,
                    bytes: 16,
                    write: false,
                },
            )?;
            if target == Target::Shared {
                self.check_shared(w, ins, l, off, 16, 0)?;
            }
            // SAFETY: host_ptr checked the 16 bytes.
            unsafe { std::ptr::copy_nonoverlapping(p, row.as_mut_ptr(), 16) };
        }
        let regs = tensor::ldmatrix(num as usize, trans, &rows);
        match &ins.dst[0] {
            Operand::Vector(_) => Self::scatter_vec(w, &ins.dst[0], &regs),
            d => {
                let v: [u64; 32] = std::array::from_fn(|l| regs[l][0]);
                Self::scatter(w, d, u32::MAX, &v);
            }
        }
        Ok(())
    }

    pub(super) fn vec_parts(o: &Operand) -> &[Operand] {
        match o {
            Operand::Vector(v) => v,
            _ => std::slice::from_ref(o),
        }
    }

    /// wmma.load / wmma.store of a 16x16 tile, each element moved by the lane that owns it.
    pub(super) fn wmma_mem(&mut self, ins: &Instr, exec: u32, w: &mut Warp) -> Res<()> {
        self.require_full_warp(ins, exec, w)?;
        let Extra::Wmma { row, .. } = ins.extra else {
            unreachable!("wmma layout")
        };
        let load = ins.op == Op::WmmaLoad;
        let (addr_op, frag, stride_op) = if load {
            (&ins.src[0], &ins.dst[0], &ins.src[1])
        } else {
            (&ins.src[0], &ins.src[1], &ins.src[2])
        };
        let parts = Self::vec_parts(frag);
        let nregs = parts.len();
        let esize = ins.ty.bytes();
        let mut regs = [[0u64; 8]; 32];
        for (k, p) in parts.iter().enumerate().take(8) {
            let v = self.gather(w, p);
            for l in 0..32 {
                regs[l][k] = v[l];
            }
        }
        for e in 0..256 {
            let (l, slot) = tensor::wmma_owner(e);
            let (i, j) = (e / 16, e % 16);
            let stride = self.val(w, stride_op, l) as u32 as u64;
            let idx = if row {
                i as u64 * stride + j as u64
            } else {
                j as u64 * stride + i as u64
            };
            let addr = self.val(w, addr_op, l).wrapping_add(idx * esize as u64);
            let (target, off) = Self::resolve(ins.space, addr);
            let p = self.host_ptr(
                w,
                ins,
                l,
                Access {
                    target,
                    addr: off,
                    bytes: esize,
                    write: !load,
                },
            )?;
            if target == Target::Shared {
                self.check_shared(w, ins, l, off, esize, if load { 0 } else { 1 })?;
            }
            // SAFETY: host_ptr checked the element's bytes.
            unsafe {
                if load {
                    tensor::wmma_put(&mut regs[l], nregs, slot, read_raw(p, esize));
                } else {
                    write_raw(p, esize, tensor::wmma_get(&regs[l], nregs, slot));
                }
            }
        }
        if load {
            for (k, p) in parts.iter().enumerate().take(8) {
                let v: [u64; 32] = std::array::from_fn(|l| regs[l][k]);
                Self::scatter(w, p, u32::MAX, &v);
            }
        }
        Ok(())
    }

    pub(super) fn wmma_mma(&mut self, ins: &Instr, exec: u32, w: &mut Warp) -> Res<()> {
        self.require_full_warp(ins, exec, w)?;
        let Extra::Wmma { c_ty, .. } = ins.extra else {
            unreachable!("wmma types")
        };
        let bf = ins.ty2 == Ty::Bf16;
        let tile = |o: &Operand, ty: Ty| -> [f64; 256] {
            let parts = Self::vec_parts(o);
            let mut regs = [[0u64; 8]; 32];
            for (k, p) in parts.iter().enumerate().take(8) {
                let v = self.gather(w, p);
                for l in 0..32 {
                    regs[l][k] = v[l];
                }
            }
            std::array::from_fn(|e| {
                let (l, slot) = tensor::wmma_owner(e);
                let raw = tensor::wmma_get(&regs[l], parts.len(), slot);
                match ty {
                    Ty::F32 => f(raw) as f64,
                    _ => half_get(raw, ty == Ty::Bf16, false),
                }
            })
        };
        let ab_ty = if bf { Ty::Bf16 } else { Ty::F16 };
        let (a, b, c) = (
            tile(&ins.src[0], ab_ty),
            tile(&ins.src[1], ab_ty),
            tile(&ins.src[2], c_ty),
        );
        let parts = Self::vec_parts(&ins.dst[0]).to_vec();
        let mut regs = [[0u64; 8]; 32];
        for e in 0..256 {
            let (i, j) = (e / 16, e % 16);
            let acc = c[e] + (0..16).map(|k| a[i * 16 + k] * b[k * 16 + j]).sum::<f64>();
            let v = if ins.ty == Ty::F32 {
                fb(acc as f32)
            } else {
                half_put(acc, false)
            };
            let (l, slot) = tensor::wmma_owner(e);
            tensor::wmma_put(&mut regs[l], parts.len(), slot, v);
        }
        for (k, p) in parts.iter().enumerate().take(8) {
            let v: [u64; 32] = std::array::from_fn(|l| regs[l][k]);
            Self::scatter(w, p, u32::MAX, &v);
        }
        Ok(())
    }
}
