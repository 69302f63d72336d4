//! The pre-decoded form of a PTX function: registers resolved to indices, labels to
//! instruction indices, opcodes split into an operation and its modifiers.

/// A PTX scalar type. Packed pairs (f16x2, bf16x2) live in 32-bit registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    B8,
    B16,
    B32,
    B64,
    B128,
    U8,
    U16,
    U32,
    U64,
    S8,
    S16,
    S32,
    S64,
    F16,
    F16x2,
    Bf16,
    Bf16x2,
    F32,
    F64,
    Pred,
}

impl Ty {
    pub fn parse(s: &str) -> Option<Ty> {
        Some(match s {
            "b8" => Ty::B8,
            "b16" => Ty::B16,
            "b32" => Ty::B32,
            "b64" => Ty::B64,
            "b128" => Ty::B128,
            "u8" => Ty::U8,
            "u16" => Ty::U16,
            "u32" => Ty::U32,
            "u64" => Ty::U64,
            "s8" => Ty::S8,
            "s16" => Ty::S16,
            "s32" => Ty::S32,
            "s64" => Ty::S64,
            "f16" => Ty::F16,
            "f16x2" => Ty::F16x2,
            "bf16" => Ty::Bf16,
            "bf16x2" => Ty::Bf16x2,
            "f32" => Ty::F32,
            "f64" => Ty::F64,
            "pred" => Ty::Pred,
            _ => return None,
        })
    }

    pub fn bytes(self) -> usize {
        match self {
            Ty::B8 | Ty::U8 | Ty::S8 | Ty::Pred => 1,
            Ty::B16 | Ty::U16 | Ty::S16 | Ty::F16 | Ty::Bf16 => 2,
            Ty::B32 | Ty::U32 | Ty::S32 | Ty::F32 | Ty::F16x2 | Ty::Bf16x2 => 4,
            Ty::B64 | Ty::U64 | Ty::S64 | Ty::F64 => 8,
            Ty::B128 => 16,
        }
    }

    pub fn signed(self) -> bool {
        matches!(self, Ty::S8 | Ty::S16 | Ty::S32 | Ty::S64)
    }

    pub fn is_float(self) -> bool {
        matches!(
            self,
            Ty::F16 | Ty::F16x2 | Ty::Bf16 | Ty::Bf16x2 | Ty::F32 | Ty::F64
        )
    }
}

/// Special registers a kernel reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    Tid(u8),
    Ntid(u8),
    Ctaid(u8),
    Nctaid(u8),
    LaneId,
    WarpId,
    NWarpId,
    SmId,
    LaneMaskLt,
    LaneMaskLe,
    LaneMaskGt,
    LaneMaskGe,
    LaneMaskEq,
    Clock,
    Clock64,
    GlobalTimer,
    DynSmemSize,
    TotalSmemSize,
    NSmId,
    GridId,
}

/// Where an address expression points before the offset is added.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Base {
    Reg(u32),
    /// A variable: its address in its own state space (shared offset, global address, ...).
    Imm(u64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Reg(u32),
    Imm(u64),
    Special(Special),
    Addr(Base, i64),
    Vector(Vec<Operand>),
    /// `_`: a destination nobody reads.
    Sink,
    /// A branch target, resolved to an instruction index.
    Label(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    Generic,
    Global,
    Shared,
    Local,
    Param,
    Const,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Lo,
    Ls,
    Hi,
    Hs,
    Equ,
    Neu,
    Ltu,
    Leu,
    Gtu,
    Geu,
    Num,
    Nan,
}

/// The operation, with what matters for execution folded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Mov,
    Ld,
    St,
    Cvta {
        to: bool,
    },
    Cvt,
    Add,
    Sub,
    MulLo,
    MulHi,
    MulWide,
    MadLo,
    MadHi,
    MadWide,
    Mul24Lo,
    Mad24Lo,
    Fma,
    Div,
    Rem,
    Abs,
    Neg,
    Min,
    Max,
    And,
    Or,
    Xor,
    Not,
    Cnot,
    Shl,
    Shr,
    Setp,
    Selp,
    Set,
    Bra,
    Ret,
    Exit,
    BarSync,
    /// `bar.red.{popc,and,or}`: `__syncthreads_count/and/or`, a barrier that also reduces a
    /// predicate over the block.
    BarRed,
    BarWarpSync,
    Shfl,
    Vote,
    Match,
    Atom,
    Red,
    Ex2,
    Lg2,
    Rcp,
    Rsqrt,
    Sqrt,
    Sin,
    Cos,
    Tanh,
    Copysign,
    Popc,
    Clz,
    /// `bfind`: most significant non-sign bit; `shift` gives it as a left-shift amount.
    Bfind {
        shift: bool,
    },
    Brev,
    Bfe,
    Bfi,
    Prmt,
    Lop3,
    Shf,
    Testp,
    Sad,
    /// `dp4a.atype.btype d, a, b, c`: c plus the dot product of a's and b's four bytes.
    Dp4a,
    Activemask,
    Nop,
    Trap,
    CpAsync,
    /// `cp.async.commit_group`: the thread's copies issued since the last commit form a group.
    CpAsyncCommit,
    /// `cp.async.wait_group N` (`all`: `cp.async.wait_all`): the copies land.
    CpAsyncWait {
        all: bool,
    },
    /// `redux.sync.op.type`: a warp-wide reduction; the operation is in `Extra::Atom`.
    Redux,
    Ldmatrix,
    Mma,
    WmmaLoad,
    WmmaStore,
    WmmaMma,
    /// `printf` (a call to vprintf): dst is the return slot, srcs the format and argument
    /// slots, all in local memory.
    Printf,
    /// Something the interpreter does not execute; reaching it fails the launch.
    Unsupported,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    None,
    Rn,
    Rz,
    Rm,
    Rp,
    Rni,
    Rzi,
    Rmi,
    Rpi,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShflMode {
    Up,
    Down,
    Bfly,
    Idx,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoteMode {
    All,
    Any,
    Uni,
    Ballot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtomOp {
    Add,
    Min,
    Max,
    Inc,
    Dec,
    And,
    Or,
    Xor,
    Exch,
    Cas,
}

/// Modifiers that only some operations read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extra {
    None,
    Cmp(Cmp, Option<BoolOp>),
    Shfl(ShflMode),
    Vote(VoteMode),
    Atom(AtomOp),
    /// `shr`/`shf` direction and clamp; `shf.l` is left.
    Shf {
        left: bool,
        clamp: bool,
    },
    /// Vector width of ld/st (1, 2, 4).
    Vec(u8),
    /// ldmatrix: number of 8x8 matrices and whether transposed.
    Ldmatrix {
        num: u8,
        trans: bool,
    },
    /// mma.sync shape m16n8k(k); layouts are fixed row.col for f16/bf16.
    Mma {
        k: u8,
    },
    Testp(TestpKind),
    /// fma `.relu`: negative results and -0 become +0.
    Relu,
    /// min/max `.NaN`: a NaN operand gives NaN.
    PropagateNan,
    /// `div.approx`: a * (1/b), whose reciprocal underflows for |b| > 2^126.
    ApproxDiv,
    /// bar.red's reduction.
    BarRed(BarRedOp),
    /// wmma.load/store: whether memory is row-major; mma: the C type (f16 or f32).
    Wmma {
        row: bool,
        c_ty: Ty,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarRedOp {
    Popc,
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoolOp {
    And,
    Or,
    Xor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestpKind {
    Finite,
    Infinite,
    Number,
    NotANumber,
    Normal,
    Subnormal,
}

#[derive(Debug, Clone)]
pub struct Instr {
    pub op: Op,
    /// The operation type (destination type for cvt).
    pub ty: Ty,
    /// cvt's source type, mma's input type; else equal to `ty`.
    pub ty2: Ty,
    pub space: Space,
    pub round: Round,
    pub ftz: bool,
    pub sat: bool,
    pub extra: Extra,
    /// `@%p` / `@!%p`.
    pub guard: Option<(u32, bool)>,
    pub dst: Vec<Operand>,
    pub src: Vec<Operand>,
    /// The learner's source line, from `.loc` (0 when unknown).
    pub line: u32,
    /// The PTX text, for messages about unsupported forms.
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub offset: usize,
    pub size: usize,
}

#[derive(Debug, Clone)]
pub struct Function {
    pub name: String,
    pub params: Vec<Param>,
    pub param_bytes: usize,
    pub num_regs: usize,
    pub instrs: Vec<Instr>,
    /// Bytes of static shared memory; dynamic (extern) shared memory starts at `dyn_smem_offset`.
    pub static_smem: usize,
    pub dyn_smem_offset: usize,
    pub local_bytes: usize,
    /// Named shared arrays, for messages; dynamic shared memory has size 0 (open-ended).
    pub shared_vars: Vec<SharedVar>,
    /// Whether some global float atomic makes the result depend on block order.
    pub order_sensitive: bool,
}

#[derive(Debug, Clone)]
pub struct SharedVar {
    /// The name as the learner wrote it (`_ZZ6reduceE1s` becomes `s`).
    pub name: String,
    pub offset: u64,
    pub size: u64,
}

/// A module-scope variable in global or constant memory, with its initial bytes.
#[derive(Debug, Clone)]
pub struct GlobalVar {
    pub name: String,
    pub size: usize,
    pub align: usize,
    pub init: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct Module {
    pub functions: Vec<Function>,
    pub globals: Vec<GlobalVar>,
}
