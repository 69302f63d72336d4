//! Opcodes: `ld.global.v4.f32` split into the operation, its types and its modifiers.

use super::ir::*;

pub(super) fn blank(op: Op) -> Instr {
    Instr {
        op,
        ty: Ty::B32,
        ty2: Ty::B32,
        space: Space::Generic,
        round: Round::None,
        ftz: false,
        sat: false,
        extra: Extra::None,
        guard: None,
        dst: vec![],
        src: vec![],
        line: 0,
        text: String::new(),
    }
}

/// Splits `ld.global.v4.f32` into the operation and its modifiers.
pub(super) fn decode_opcode(opcode: &str) -> Result<Instr, String> {
    let mut parts = opcode.split('.');
    let base = parts.next().unwrap_or_default();
    let mods: Vec<&str> = parts.collect();
    let has = |m: &str| mods.contains(&m);
    let unsupported = || format!("unsupported instruction `{opcode}`");
    let op = match base {
        "mov" => Op::Mov,
        "ld" | "ldu" => Op::Ld,
        "st" => Op::St,
        "cvta" => Op::Cvta { to: has("to") },
        "cvt" => Op::Cvt,
        "add" => Op::Add,
        "sub" => Op::Sub,
        "mul" if has("hi") => Op::MulHi,
        "mul" if has("wide") => Op::MulWide,
        "mul" => Op::MulLo,
        "mad" if has("hi") => Op::MadHi,
        "mad" if has("wide") => Op::MadWide,
        "mad" => Op::MadLo,
        "mul24" if has("lo") => Op::Mul24Lo,
        "mad24" if has("lo") => Op::Mad24Lo,
        "fma" => Op::Fma,
        "div" => Op::Div,
        "rem" => Op::Rem,
        "abs" => Op::Abs,
        "neg" => Op::Neg,
        "min" => Op::Min,
        "max" => Op::Max,
        "and" => Op::And,
        "or" => Op::Or,
        "xor" => Op::Xor,
        "not" => Op::Not,
        "cnot" => Op::Cnot,
        "shl" => Op::Shl,
        "shr" => Op::Shr,
        "setp" => Op::Setp,
        "selp" => Op::Selp,
        "set" => Op::Set,
        "bra" => Op::Bra,
        "ret" => Op::Ret,
        "exit" => Op::Exit,
        "bar" | "barrier" if has("warp") => Op::BarWarpSync,
        "bar" | "barrier" if has("red") => Op::BarRed,
        "bar" | "barrier" if has("sync") || has("aligned") || mods.is_empty() => Op::BarSync,
        "shfl" => Op::Shfl,
        "vote" => Op::Vote,
        "match" => Op::Match,
        "atom" => Op::Atom,
        "red" => Op::Red,
        "ex2" => Op::Ex2,
        "lg2" => Op::Lg2,
        "rcp" => Op::Rcp,
        "rsqrt" => Op::Rsqrt,
        "sqrt" => Op::Sqrt,
        "sin" => Op::Sin,
        "cos" => Op::Cos,
        "tanh" => Op::Tanh,
        "copysign" => Op::Copysign,
        "popc" => Op::Popc,
        "clz" => Op::Clz,
        "bfind" => Op::Bfind {
            shift: has("shiftamt"),
        },
        "brev" => Op::Brev,
        "bfe" => Op::Bfe,
        "bfi" => Op::Bfi,
        "prmt" if mods == ["b32"] => Op::Prmt,
        "lop3" => Op::Lop3,
        "shf" => Op::Shf,
        "testp" => Op::Testp,
        "sad" => Op::Sad,
        "dp4a" => Op::Dp4a,
        "activemask" => Op::Activemask,
        "membar" | "fence" | "prefetch" | "prefetchu" | "nanosleep" | "discard" => Op::Nop,
        "trap" | "brkpt" => Op::Trap,
        "kernlings" if has("printf") => Op::Printf,
        "cp" if has("async") && has("commit_group") => Op::CpAsyncCommit,
        "cp" if has("async") && has("wait_group") => Op::CpAsyncWait { all: false },
        "cp" if has("async") && has("wait_all") => Op::CpAsyncWait { all: true },
        "redux" if has("sync") => Op::Redux,
        // cp.async.mbarrier.arrive signals a barrier, it copies nothing: unsupported, as bulk
        // copies are.
        "cp" if has("async") && !has("bulk") && !has("mbarrier") => Op::CpAsync,
        "ldmatrix" if has("m8n8") && has("b16") => Op::Ldmatrix,
        "mma" if has("m16n8k16") || has("m16n8k8") => Op::Mma,
        "wmma" if has("m16n16k16") && has("load") => Op::WmmaLoad,
        "wmma" if has("m16n16k16") && has("store") => Op::WmmaStore,
        "wmma" if has("m16n16k16") && has("mma") => Op::WmmaMma,
        _ => return Err(unsupported()),
    };
    let mut ins = blank(op);
    let types: Vec<Ty> = mods.iter().filter_map(|m| Ty::parse(m)).collect();
    if let Some(t) = types.first() {
        ins.ty = *t;
        ins.ty2 = *types.get(1).unwrap_or(t);
    }
    if op == Op::Mma {
        // mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32: d, a, b, c types.
        ins.ty = *types.first().ok_or_else(unsupported)?;
        ins.ty2 = *types.get(1).ok_or_else(unsupported)?;
        if !(has("row") && has("col") && matches!(ins.ty2, Ty::F16 | Ty::Bf16)) || ins.ty != Ty::F32
        {
            return Err(unsupported());
        }
        ins.extra = Extra::Mma {
            k: if has("m16n8k16") { 16 } else { 8 },
        };
    }
    for m in &mods {
        match *m {
            "global" => ins.space = Space::Global,
            "shared" | "shared::cta" => ins.space = Space::Shared,
            "local" => ins.space = Space::Local,
            "param" => ins.space = Space::Param,
            "const" => ins.space = Space::Const,
            "rn" => ins.round = Round::Rn,
            "rz" => ins.round = Round::Rz,
            "rm" => ins.round = Round::Rm,
            "rp" => ins.round = Round::Rp,
            "rni" => ins.round = Round::Rni,
            "rzi" => ins.round = Round::Rzi,
            "rmi" => ins.round = Round::Rmi,
            "rpi" => ins.round = Round::Rpi,
            "ftz" => ins.ftz = true,
            "sat" => ins.sat = true,
            "relu" => ins.extra = Extra::Relu,
            "NaN" => ins.extra = Extra::PropagateNan,
            "approx" if op == Op::Div => ins.extra = Extra::ApproxDiv,
            "v2" => ins.extra = Extra::Vec(2),
            "v4" => ins.extra = Extra::Vec(4),
            "v8" => ins.extra = Extra::Vec(8),
            _ => {}
        }
    }
    match op {
        Op::Setp | Op::Set => {
            let cmp = mods.iter().find_map(|m| cmp(m)).ok_or_else(unsupported)?;
            let bop = mods.iter().find_map(|m| match *m {
                "and" => Some(BoolOp::And),
                "or" => Some(BoolOp::Or),
                "xor" => Some(BoolOp::Xor),
                _ => None,
            });
            ins.extra = Extra::Cmp(cmp, bop);
            if op == Op::Set {
                // set.CMP.DTYPE.STYPE: compare in the source type.
                ins.ty2 = *types.last().ok_or_else(unsupported)?;
            } else {
                ins.ty2 = ins.ty;
            }
        }
        Op::BarRed => {
            ins.extra = Extra::BarRed(if has("popc") {
                BarRedOp::Popc
            } else if has("and") {
                BarRedOp::And
            } else if has("or") {
                BarRedOp::Or
            } else {
                return Err(unsupported());
            });
        }
        Op::Shfl => {
            let mode = if has("up") {
                ShflMode::Up
            } else if has("down") {
                ShflMode::Down
            } else if has("bfly") {
                ShflMode::Bfly
            } else if has("idx") {
                ShflMode::Idx
            } else {
                return Err(unsupported());
            };
            if !has("sync") {
                return Err(unsupported());
            }
            ins.extra = Extra::Shfl(mode);
        }
        Op::Vote => {
            let mode = if has("all") {
                VoteMode::All
            } else if has("any") {
                VoteMode::Any
            } else if has("uni") {
                VoteMode::Uni
            } else if has("ballot") {
                VoteMode::Ballot
            } else {
                return Err(unsupported());
            };
            ins.extra = Extra::Vote(mode);
        }
        Op::Match => {
            ins.extra = Extra::Vote(if has("all") {
                VoteMode::All
            } else {
                VoteMode::Any
            });
        }
        Op::Atom | Op::Red => {
            let a = mods
                .iter()
                .find_map(|m| {
                    Some(match *m {
                        "add" => AtomOp::Add,
                        "min" => AtomOp::Min,
                        "max" => AtomOp::Max,
                        "inc" => AtomOp::Inc,
                        "dec" => AtomOp::Dec,
                        "and" => AtomOp::And,
                        "or" => AtomOp::Or,
                        "xor" => AtomOp::Xor,
                        "exch" => AtomOp::Exch,
                        "cas" => AtomOp::Cas,
                        _ => return None,
                    })
                })
                .ok_or_else(unsupported)?;
            if has("v2")
                || has("v4")
                || matches!(ins.ty, Ty::F16x2 | Ty::Bf16x2 | Ty::F16 | Ty::Bf16)
            {
                return Err(unsupported());
            }
            ins.extra = Extra::Atom(a);
        }
        Op::Shf => {
            ins.extra = Extra::Shf {
                left: has("l"),
                clamp: has("clamp"),
            }
        }
        Op::Testp => {
            let k = mods
                .iter()
                .find_map(|m| {
                    Some(match *m {
                        "finite" => TestpKind::Finite,
                        "infinite" => TestpKind::Infinite,
                        "number" => TestpKind::Number,
                        "notanumber" => TestpKind::NotANumber,
                        "normal" => TestpKind::Normal,
                        "subnormal" => TestpKind::Subnormal,
                        _ => return None,
                    })
                })
                .ok_or_else(unsupported)?;
            ins.extra = Extra::Testp(k);
        }
        Op::Ldmatrix => {
            let num = if has("x4") {
                4
            } else if has("x2") {
                2
            } else {
                1
            };
            ins.extra = Extra::Ldmatrix {
                num,
                trans: has("trans"),
            };
            ins.space = Space::Shared;
        }
        Op::CpAsync => ins.space = Space::Shared,
        Op::Redux => {
            // add/min/max on .u32/.s32, and/or/xor on .b32 (sm_80); the f32 forms of sm_100a
            // are not interpreted.
            let a = match (
                mods.iter().find(|m| !matches!(**m, "redux" | "sync")),
                ins.ty,
            ) {
                (Some(&"add"), Ty::U32 | Ty::S32) => AtomOp::Add,
                (Some(&"min"), Ty::U32 | Ty::S32) => AtomOp::Min,
                (Some(&"max"), Ty::U32 | Ty::S32) => AtomOp::Max,
                (Some(&"and"), Ty::B32) => AtomOp::And,
                (Some(&"or"), Ty::B32) => AtomOp::Or,
                (Some(&"xor"), Ty::B32) => AtomOp::Xor,
                _ => return Err(unsupported()),
            };
            ins.extra = Extra::Atom(a);
        }
        Op::WmmaLoad | Op::WmmaStore => {
            ins.ty = *types.last().ok_or_else(unsupported)?;
            if !matches!(ins.ty, Ty::F16 | Ty::Bf16 | Ty::F32) {
                return Err(unsupported());
            }
            ins.extra = Extra::Wmma {
                row: has("row"),
                c_ty: ins.ty,
            };
        }
        Op::WmmaMma => {
            // wmma.mma...m16n16k16.dtype.ctype, or .f32.bf16.bf16.f32 for bf16 inputs.
            let d_ty = *types.first().ok_or_else(unsupported)?;
            let c_ty = *types.last().ok_or_else(unsupported)?;
            ins.ty = d_ty;
            ins.ty2 = if has("bf16") { Ty::Bf16 } else { Ty::F16 };
            if !matches!(d_ty, Ty::F16 | Ty::F32) || !matches!(c_ty, Ty::F16 | Ty::F32) {
                return Err(unsupported());
            }
            ins.extra = Extra::Wmma { row: true, c_ty };
        }
        Op::Div
            if ins.ty.is_float() && !has("approx") && !has("full") && ins.round == Round::None =>
        {
            return Err(unsupported());
        }
        _ => {}
    }
    if matches!(op, Op::Add | Op::Sub | Op::MulLo | Op::MadLo)
        && (has("cc") || base == "addc" || base == "subc")
    {
        return Err(unsupported());
    }
    Ok(ins)
}

fn cmp(m: &str) -> Option<Cmp> {
    Some(match m {
        "eq" => Cmp::Eq,
        "ne" => Cmp::Ne,
        "lt" => Cmp::Lt,
        "le" => Cmp::Le,
        "gt" => Cmp::Gt,
        "ge" => Cmp::Ge,
        "lo" => Cmp::Lo,
        "ls" => Cmp::Ls,
        "hi" => Cmp::Hi,
        "hs" => Cmp::Hs,
        "equ" => Cmp::Equ,
        "neu" => Cmp::Neu,
        "ltu" => Cmp::Ltu,
        "leu" => Cmp::Leu,
        "gtu" => Cmp::Gtu,
        "geu" => Cmp::Geu,
        "num" => Cmp::Num,
        "nan" => Cmp::Nan,
        _ => return None,
    })
}
