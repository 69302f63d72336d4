//! Device `printf`: reading the format string and arguments a vprintf call left in local
//! memory, formatting them (`exec::printf`), and writing the text to stdout.

use super::access::{read_raw, write_raw};
use super::{Access, BlockRunner, Res, Target, Warp};
use crate::exec::memory::LOCAL_WINDOW;
use crate::exec::printf;
use crate::ptx::ir::*;

impl BlockRunner<'_> {
    /// Reads `size` bytes at a generic or global address, through the same checks as `ld`.
    pub(super) fn read_at(
        &self,
        w: &Warp,
        ins: &Instr,
        l: usize,
        addr: u64,
        size: usize,
    ) -> Res<u64> {
        let (target, off) = Self::resolve(Space::Generic, addr);
        let p = self.host_ptr(
            w,
            ins,
            l,
            Access {
                target,
                addr: off,
                bytes: size,
                write: false,
            },
        )?;
        // SAFETY: host_ptr checked the range.
        Ok(unsafe { read_raw(p, size) })
    }

    /// `printf` in lane order: the format string's address and the argument buffer's are in
    /// the lane's local memory, where the call left them.
    pub(super) fn printf(&mut self, ins: &Instr, exec: u32, w: &mut Warp) -> Res<()> {
        let (Operand::Imm(fmt_slot), Operand::Imm(args_slot)) = (&ins.src[0], &ins.src[1]) else {
            return Err(self.unsupported(ins));
        };
        let mut text = String::new();
        lanes!(exec, l, {
            let fmt_ptr = self.read_at(w, ins, l, LOCAL_WINDOW + fmt_slot, 8)?;
            let args_ptr = self.read_at(w, ins, l, LOCAL_WINDOW + args_slot, 8)?;
            let c_string = |p: u64| -> Res<Vec<u8>> {
                let mut bytes = Vec::new();
                while bytes.len() < 4096 {
                    match self.read_at(w, ins, l, p + bytes.len() as u64, 1)? as u8 {
                        0 => break,
                        c => bytes.push(c),
                    }
                }
                Ok(bytes)
            };
            let fmt = c_string(fmt_ptr)?;
            let fault = std::cell::RefCell::new(None);
            let keep = |r: Res<u64>| match r {
                Ok(v) => Some(v),
                Err(d) => {
                    fault.borrow_mut().get_or_insert(d);
                    None
                }
            };
            let line = printf::format(
                &fmt,
                |off, size| keep(self.read_at(w, ins, l, args_ptr + off as u64, size)),
                |p| match c_string(p) {
                    Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                    Err(d) => {
                        fault.borrow_mut().get_or_insert(d);
                        String::new()
                    }
                },
            );
            if let Some(d) = fault.into_inner() {
                return Err(d);
            }
            text.push_str(&line);
            if let Operand::Imm(ret) = &ins.dst[0] {
                let (target, off) = (Target::Local, *ret);
                let p = self.host_ptr(
                    w,
                    ins,
                    l,
                    Access {
                        target,
                        addr: off,
                        bytes: 4,
                        write: true,
                    },
                )?;
                // SAFETY: host_ptr checked the 4 bytes.
                unsafe { write_raw(p, 4, line.len() as u64) };
            }
        });
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
        Ok(())
    }
}
