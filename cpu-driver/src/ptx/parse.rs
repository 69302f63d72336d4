//! PTX text to pre-decoded functions: once per module load, never per lane.

use super::inline::{func_headers, inline_call, skip_body};
use super::ir::*;
use super::lex::{statements, Stmt, Tok};
use super::opcode::{blank, decode_opcode};
use std::collections::HashMap;

/// What a name in an operand stands for.
#[derive(Debug, Clone, Copy)]
enum Sym {
    /// A shared variable: its offset in the block's shared memory.
    Shared(u64),
    /// A global or constant variable: its device address.
    Global(u64),
    Local(u64),
    Param(u64),
}

/// Module-scope shared variables; `extern` ones are the dynamic shared memory.
pub(super) struct ModuleShared {
    statics: Vec<(String, usize, usize)>,
    externs: Vec<(String, usize)>,
}

/// Parses a module. `place_global` gives each global/constant variable its device address.
pub fn parse_module(
    src: &str,
    place_global: &mut dyn FnMut(&GlobalVar) -> u64,
) -> Result<Module, String> {
    let stmts = statements(src)?;
    let files = file_table(&stmts);
    let mut globals = Vec::new();
    let mut syms: HashMap<String, Sym> = HashMap::new();
    let mut shared = ModuleShared {
        statics: Vec::new(),
        externs: Vec::new(),
    };
    let mut functions = Vec::new();
    let callees = func_headers(&stmts);
    let mut i = 0;
    while i < stmts.len() {
        let toks = &stmts[i].toks;
        let words = leading_words(toks);
        if words.iter().any(|w| w == ".entry" || w == ".func") {
            let module = ModuleCtx {
                stmts: &stmts,
                callees: &callees,
                shared: &shared,
                files: &files,
            };
            let (f, next) = parse_function(&module, i, &syms)?;
            if let Some(f) = f {
                functions.push(f);
            }
            i = next;
            continue;
        }
        if words.iter().any(|w| w == ".global" || w == ".const") {
            let var = parse_var(toks)?;
            if words.iter().any(|w| w == ".extern") {
                return Err(format!(
                    "extern global variable `{}` is not supported",
                    var.name
                ));
            }
            let addr = place_global(&var);
            syms.insert(var.name.clone(), Sym::Global(addr));
            globals.push(var);
        } else if words.iter().any(|w| w == ".shared") {
            let var = parse_var(toks)?;
            if words.iter().any(|w| w == ".extern") {
                shared.externs.push((var.name, var.align));
            } else {
                shared.statics.push((var.name, var.size, var.align));
            }
        }
        i += 1;
    }
    Ok(Module { functions, globals })
}

fn file_table(stmts: &[Stmt]) -> HashMap<i64, String> {
    let mut files = HashMap::new();
    for s in stmts {
        if let [Tok::Word(w), Tok::Int(n), Tok::Str(name), ..] = s.toks.as_slice() {
            if w == ".file" {
                files.insert(*n, name.clone());
            }
        }
    }
    files
}

pub(super) fn leading_words(toks: &[Tok]) -> Vec<String> {
    toks.iter()
        .take_while(|t| matches!(t, Tok::Word(w) if w.starts_with('.')))
        .map(|t| match t {
            Tok::Word(w) => w.clone(),
            _ => unreachable!(),
        })
        .collect()
}

/// `.global .align 4 .b8 name[24] = {...}` and friends.
pub(super) fn parse_var(toks: &[Tok]) -> Result<GlobalVar, String> {
    let mut align = 0;
    let mut elem = 1;
    let mut name = None;
    let mut count: usize = 1;
    let mut init_vals: Vec<Tok> = Vec::new();
    let mut j = 0;
    while j < toks.len() {
        match &toks[j] {
            Tok::Word(w) if w == ".align" => {
                if let Some(Tok::Int(a)) = toks.get(j + 1) {
                    align = *a as usize;
                }
                j += 1;
            }
            Tok::Word(w) if w.starts_with('.') => {
                if let Some(t) = Ty::parse(&w[1..]) {
                    elem = t.bytes();
                } else if let Some(v) = w.strip_prefix(".v") {
                    count *= v.parse::<usize>().unwrap_or(1);
                }
            }
            Tok::Word(w) if name.is_none() => name = Some(w.clone()),
            Tok::Punct('[') => {
                if let Some(Tok::Int(n)) = toks.get(j + 1) {
                    count *= *n as usize;
                } else {
                    count = 0;
                }
            }
            Tok::Punct('=') => {
                init_vals = toks[j + 1..].to_vec();
                break;
            }
            _ => {}
        }
        j += 1;
    }
    let name = name.ok_or("variable without a name")?;
    let size = elem * count;
    let mut init = Vec::new();
    for t in init_vals {
        let bits: u64 = match t {
            Tok::Int(v) => v as u64,
            Tok::F32(b) => b as u64,
            Tok::F64(b) => b,
            _ => continue,
        };
        init.extend_from_slice(&bits.to_le_bytes()[..elem]);
    }
    Ok(GlobalVar {
        name,
        size,
        align: align.max(elem),
        init,
    })
}

fn align_up(x: usize, a: usize) -> usize {
    let a = a.max(1);
    x.div_ceil(a) * a
}

struct FnParser<'a> {
    syms: HashMap<String, Sym>,
    scopes: Vec<HashMap<String, u32>>,
    num_regs: u32,
    files: &'a HashMap<i64, String>,
    line: u32,
    labels: HashMap<String, usize>,
    fixups: Vec<(usize, usize, String)>,
    instrs: Vec<Instr>,
    /// `.param` variables declared in the body (call arguments), which live in local memory.
    call_params: Vec<String>,
}

/// What parsing one function needs from the rest of the module.
pub(super) struct ModuleCtx<'a> {
    pub(super) stmts: &'a [Stmt],
    /// Device functions by name: the index of their header statement.
    pub(super) callees: &'a HashMap<String, usize>,
    pub(super) shared: &'a ModuleShared,
    pub(super) files: &'a HashMap<i64, String>,
}

/// Calls inlined into one kernel at most: deeper (or recursive) calls stay unsupported.
const MAX_INLINED_CALLS: usize = 64;

fn parse_function(
    module: &ModuleCtx,
    start: usize,
    module_syms: &HashMap<String, Sym>,
) -> Result<(Option<Function>, usize), String> {
    let (stmts, shared, files) = (module.stmts, module.shared, module.files);
    let header = &stmts[start].toks;
    let is_entry = header.iter().any(|t| *t == Tok::Word(".entry".into()));
    if !is_entry {
        // Device functions NVRTC did not inline (f64 libm slow paths, __noinline__) are not
        // executed: a `call` fails when reached, naming itself. Skip the body.
        return Ok((None, skip_body(stmts, start + 1)));
    }
    // Name: the word before the first '('.
    let open = header.iter().position(|t| *t == Tok::Punct('('));
    let name = match open {
        Some(p) if p > 0 => match &header[p - 1] {
            Tok::Word(w) => w.clone(),
            _ => return Err("function without a name".into()),
        },
        _ => match header
            .iter()
            .rev()
            .find(|t| matches!(t, Tok::Word(w) if !w.starts_with('.')))
        {
            Some(Tok::Word(w)) => w.clone(),
            _ => return Err("function without a name".into()),
        },
    };
    let mut p = FnParser {
        syms: module_syms.clone(),
        scopes: vec![HashMap::new()],
        num_regs: 0,
        files,
        line: 0,
        labels: HashMap::new(),
        fixups: Vec::new(),
        instrs: Vec::new(),
        call_params: Vec::new(),
    };
    // Parameters: `.param .u64 name` or `.param .align 8 .b8 name[16]`.
    let mut params = Vec::new();
    let mut offset = 0;
    if let Some(open) = open {
        let close = header
            .iter()
            .rposition(|t| *t == Tok::Punct(')'))
            .unwrap_or(header.len());
        for chunk in header[open + 1..close].split(|t| *t == Tok::Punct(',')) {
            if chunk.is_empty() {
                continue;
            }
            let v = parse_var(chunk)?;
            offset = align_up(offset, v.align);
            p.syms.insert(v.name.clone(), Sym::Param(offset as u64));
            params.push(Param {
                name: v.name,
                offset,
                size: v.size,
            });
            offset += v.size;
        }
    }
    // Shared layout: module statics, then this function's statics, then the dynamic part.
    let mut smem = 0usize;
    let mut shared_vars = Vec::new();
    for (n, size, align) in &shared.statics {
        smem = align_up(smem, *align);
        p.syms.insert(n.clone(), Sym::Shared(smem as u64));
        shared_vars.push(SharedVar {
            name: demangle_local(n),
            offset: smem as u64,
            size: *size as u64,
        });
        smem += size;
    }
    let mut local = 0usize;
    // A declaration without a body (`.extern .func`) ends at its own statement.
    if stmts.get(start + 1).map(|s| s.toks.as_slice()) != Some(&[Tok::Punct('{')]) {
        return Ok((None, start + 1));
    }
    let mut depth = 0;
    let mut i = start + 1;
    let mut body_shared: Vec<(String, usize, usize)> = Vec::new();
    let mut dyn_smem_offset = None;
    // Statements of inlined device functions, to parse before the next statement of the body.
    let mut pending: Vec<Stmt> = Vec::new();
    let mut inlined = 0;
    loop {
        let st = match pending.pop() {
            Some(st) => st,
            None if i < stmts.len() => {
                i += 1;
                stmts[i - 1].clone()
            }
            None => break,
        };
        let toks = &st.toks;
        if inlined < MAX_INLINED_CALLS {
            if let Some(body) = inline_call(module, toks, &p.call_params, inlined) {
                inlined += 1;
                pending.extend(body.into_iter().rev());
                continue;
            }
        }
        match toks.as_slice() {
            [Tok::Punct('{')] => {
                depth += 1;
                p.scopes.push(HashMap::new());
                continue;
            }
            [Tok::Punct('}')] => {
                depth -= 1;
                p.scopes.pop();
                if depth == 0 {
                    break;
                }
                continue;
            }
            [Tok::Word(l), Tok::Punct(':')] => {
                p.labels.insert(l.clone(), p.instrs.len());
                continue;
            }
            [] => continue,
            _ => {}
        }
        let first = match &toks[0] {
            Tok::Word(w) => w.as_str(),
            _ => "",
        };
        match first {
            ".reg" => p.declare_regs(toks)?,
            // Inside an inlined function, messages keep the line of the learner's call.
            ".loc" if depth > 1 && p.in_inlined(toks) => {}
            ".loc" => p.set_loc(toks),
            ".shared" => {
                let v = parse_var(toks)?;
                body_shared.push((v.name, v.size, v.align));
            }
            ".local" => {
                let v = parse_var(toks)?;
                local = align_up(local, v.align);
                p.syms.insert(v.name, Sym::Local(local as u64));
                local += v.size;
            }
            // Call arguments declared in the body: per-thread scratch, kept in local memory.
            ".param" => {
                let v = parse_var(toks)?;
                local = align_up(local, v.align);
                p.syms.insert(v.name.clone(), Sym::Local(local as u64));
                p.call_params.push(v.name);
                local += v.size;
            }
            ".pragma" | ".maxntid" | ".reqntid" | ".minnctapersm" | ".maxnreg" | ".file" => {}
            w if w.starts_with('.') => {
                return Err(format!("unsupported directive `{w}` in `{name}`"))
            }
            _ => {
                // The body declares its shared arrays before its first instruction: lay them
                // out then, and put the dynamic (extern) part after them.
                if dyn_smem_offset.is_none() {
                    dyn_smem_offset = Some(layout_shared(
                        &mut p,
                        &mut body_shared,
                        &mut smem,
                        &mut shared_vars,
                        shared,
                    ));
                }
                // The learner's line, when `.loc` gave one, so a load error can point at it.
                p.instruction(toks).map_err(|e| match p.line {
                    0 => e,
                    line => format!("{e} (line {line})"),
                })?;
            }
        }
    }
    let dyn_smem_offset = match dyn_smem_offset {
        Some(o) => o,
        None => layout_shared(
            &mut p,
            &mut body_shared,
            &mut smem,
            &mut shared_vars,
            shared,
        ),
    };
    let fixups = std::mem::take(&mut p.fixups);
    for (ii, oi, label) in fixups {
        let target = *p
            .labels
            .get(&label)
            .ok_or_else(|| format!("unknown label `{label}`"))?;
        p.instrs[ii].src[oi] = Operand::Label(target);
    }
    let mut instrs = p.instrs;
    let order_sensitive = instrs.iter().any(|i| {
        matches!(i.op, Op::Atom | Op::Red)
            && matches!(i.space, Space::Global | Space::Generic)
            && i.ty.is_float()
    });
    let ret_end = Instr {
        op: Op::Exit,
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
        text: "exit".into(),
    };
    instrs.push(ret_end);
    Ok((
        if is_entry {
            Some(Function {
                name,
                params,
                param_bytes: offset,
                num_regs: p.num_regs as usize,
                instrs,
                static_smem: smem,
                dyn_smem_offset,
                local_bytes: local,
                shared_vars,
                order_sensitive,
            })
        } else {
            None
        },
        i,
    ))
}

/// Places the body's shared arrays after the module's, then the dynamic shared memory, which
/// every `extern __shared__` array aliases. Returns the dynamic part's offset.
fn layout_shared(
    p: &mut FnParser,
    body_shared: &mut Vec<(String, usize, usize)>,
    smem: &mut usize,
    shared_vars: &mut Vec<SharedVar>,
    shared: &ModuleShared,
) -> usize {
    for (n, size, align) in body_shared.drain(..) {
        *smem = align_up(*smem, align);
        p.syms.insert(n.clone(), Sym::Shared(*smem as u64));
        shared_vars.push(SharedVar {
            name: demangle_local(&n),
            offset: *smem as u64,
            size: size as u64,
        });
        *smem += size;
    }
    let dyn_align = shared
        .externs
        .iter()
        .map(|e| e.1)
        .max()
        .unwrap_or(16)
        .max(16);
    let dyn_off = align_up(*smem, dyn_align);
    for (n, _) in &shared.externs {
        p.syms.insert(n.clone(), Sym::Shared(dyn_off as u64));
        shared_vars.push(SharedVar {
            name: demangle_local(n),
            offset: dyn_off as u64,
            size: 0,
        });
    }
    dyn_off
}

/// `_ZZ6reduceE1s` (a `__shared__` array declared inside `reduce`) reads `s` in messages.
fn demangle_local(name: &str) -> String {
    let Some(rest) = name.strip_prefix("_ZZ") else {
        return name.to_string();
    };
    let Some(e) = rest.rfind('E') else {
        return name.to_string();
    };
    let tail = rest[e + 1..].trim_start_matches(|c: char| c.is_ascii_digit());
    if tail.is_empty() {
        name.to_string()
    } else {
        tail.to_string()
    }
}

fn is_header_file(name: &str) -> bool {
    name.ends_with(".h") || name.ends_with(".hpp") || name.contains("/include/")
}

impl FnParser<'_> {
    fn declare_regs(&mut self, toks: &[Tok]) -> Result<(), String> {
        let mut j = 1;
        while j < toks.len() {
            if let Tok::Word(w) = &toks[j] {
                if !w.starts_with('.') {
                    if toks.get(j + 1) == Some(&Tok::Punct('<')) {
                        let Some(Tok::Int(n)) = toks.get(j + 2) else {
                            return Err("bad register declaration".into());
                        };
                        for k in 0..*n {
                            self.new_reg(format!("{w}{k}"));
                        }
                        j += 3;
                    } else {
                        self.new_reg(w.clone());
                    }
                }
            }
            j += 1;
        }
        Ok(())
    }

    fn new_reg(&mut self, name: String) {
        let idx = self.num_regs;
        self.num_regs += 1;
        self.scopes.last_mut().expect("scope").insert(name, idx);
    }

    fn reg(&self, name: &str) -> Option<u32> {
        self.scopes.iter().rev().find_map(|s| s.get(name).copied())
    }

    /// `.loc file line col[, function_name ..., inlined_at file line col]`: the learner's line is
    /// the innermost location outside a header (cuda_fp16.h and friends are not theirs).
    fn set_loc(&mut self, toks: &[Tok]) {
        let mut locs = Vec::new();
        let mut j = 0;
        while j + 2 < toks.len() {
            let is_loc = matches!(&toks[j], Tok::Word(w) if w == ".loc" || w == "inlined_at");
            if let (true, Tok::Int(f), Tok::Int(l)) = (is_loc, &toks[j + 1], &toks[j + 2]) {
                locs.push((*f, *l as u32));
            }
            j += 1;
        }
        let pick = locs
            .iter()
            .find(|(f, _)| !self.files.get(f).is_some_and(|n| is_header_file(n)))
            .or(locs.last());
        if let Some((_, l)) = pick {
            if *l != 0 {
                self.line = *l;
            }
        }
    }

    /// Whether a `.loc` inside an inlined function points into a header (library code).
    fn in_inlined(&self, toks: &[Tok]) -> bool {
        match toks.get(1) {
            Some(Tok::Int(f)) => self.files.get(f).is_none_or(|n| is_header_file(n)),
            _ => true,
        }
    }

    fn instruction(&mut self, toks: &[Tok]) -> Result<(), String> {
        let text = render(toks);
        let mut j = 0;
        let mut guard = None;
        if toks[0] == Tok::Punct('@') {
            let neg = toks.get(1) == Some(&Tok::Punct('!'));
            j = if neg { 2 } else { 1 };
            let Some(Tok::Word(r)) = toks.get(j) else {
                return Err(format!("bad guard in `{text}`"));
            };
            let r = self
                .reg(r)
                .ok_or_else(|| format!("unknown register `{r}` in `{text}`"))?;
            guard = Some((r, neg));
            j += 1;
        }
        let Some(Tok::Word(opcode)) = toks.get(j) else {
            return Err(format!("cannot read instruction `{text}`"));
        };
        let operands = split_operands(&toks[j + 1..]);
        // An instruction the interpreter lacks fails when a thread reaches it, naming it and
        // the line, rather than refusing the whole module.
        let mut ins = match decode_opcode(opcode) {
            Ok(ins) => ins,
            Err(_) => {
                let mut ins = blank(Op::Unsupported);
                ins.guard = guard;
                ins.line = self.line;
                ins.text = text;
                self.instrs.push(ins);
                return Ok(());
            }
        };
        ins.guard = guard;
        ins.line = self.line;
        ins.text = text.clone();
        let ndst = match ins.op {
            Op::St
            | Op::WmmaStore
            | Op::Red
            | Op::Bra
            | Op::Ret
            | Op::Exit
            | Op::BarSync
            | Op::BarWarpSync => 0,
            Op::Nop | Op::Trap | Op::CpAsync | Op::CpAsyncCommit | Op::CpAsyncWait { .. } => 0,
            _ => 1,
        };
        let idx = self.instrs.len();
        for (k, o) in operands.iter().enumerate() {
            if k < ndst {
                // `%r1|%p1`: shfl/setp write two destinations.
                for part in o.split(|t| *t == Tok::Punct('|')) {
                    let op = self.operand(part, &text)?;
                    ins.dst.push(op);
                }
            } else if ins.op == Op::Bra {
                if let [Tok::Word(l)] = o.as_slice() {
                    self.fixups.push((idx, ins.src.len(), l.clone()));
                    ins.src.push(Operand::Label(0));
                } else {
                    return Err(format!("unsupported branch `{text}`"));
                }
            } else {
                let op = self.operand(o, &text)?;
                ins.src.push(op);
            }
        }
        let names_call_param = |toks: &[Tok]| {
            toks.iter()
                .any(|t| matches!(t, Tok::Word(w) if self.call_params.contains(w)))
        };
        if ins.space == Space::Param && operands.iter().any(|o| names_call_param(o)) {
            ins.space = Space::Local;
        }
        self.instrs.push(ins);
        Ok(())
    }

    fn operand(&self, toks: &[Tok], text: &str) -> Result<Operand, String> {
        let bad = || format!("cannot read operand in `{text}`");
        match toks {
            [Tok::Int(v)] => Ok(Operand::Imm(*v as u64)),
            [Tok::F32(b)] => Ok(Operand::Imm(*b as u64)),
            [Tok::F64(b)] => Ok(Operand::Imm(*b)),
            [Tok::Word(w)] if w == "_" => Ok(Operand::Sink),
            [Tok::Word(w)] => self
                .name(w)
                .ok_or_else(|| format!("unknown name `{w}` in `{text}`")),
            [Tok::Punct('{'), inner @ .., Tok::Punct('}')] => {
                let mut v = Vec::new();
                for part in inner.split(|t| *t == Tok::Punct(',')) {
                    v.push(self.operand(part, text)?);
                }
                Ok(Operand::Vector(v))
            }
            [Tok::Punct('['), inner @ .., Tok::Punct(']')] => {
                let (base, off) = match inner {
                    [Tok::Word(w)] => (w, 0),
                    [Tok::Word(w), Tok::Punct('+'), Tok::Int(o)] => (w, *o),
                    [Tok::Word(w), Tok::Int(o)] if *o < 0 => (w, *o),
                    [Tok::Word(w), Tok::Punct('-'), Tok::Int(o)] => (w, -*o),
                    [Tok::Int(a)] => return Ok(Operand::Addr(Base::Imm(*a as u64), 0)),
                    _ => return Err(bad()),
                };
                match self
                    .name(base)
                    .ok_or_else(|| format!("unknown name `{base}` in `{text}`"))?
                {
                    Operand::Reg(r) => Ok(Operand::Addr(Base::Reg(r), off)),
                    Operand::Imm(a) => Ok(Operand::Addr(Base::Imm(a), off)),
                    _ => Err(bad()),
                }
            }
            [Tok::Punct('!'), Tok::Word(w)] => match self.reg(w) {
                // A negated predicate source: encoded as a vector of one, read by setp/selp only.
                Some(r) => Ok(Operand::Vector(vec![Operand::Reg(r), Operand::Sink])),
                None => Err(bad()),
            },
            _ => Err(bad()),
        }
    }

    fn name(&self, w: &str) -> Option<Operand> {
        if let Some(r) = self.reg(w) {
            return Some(Operand::Reg(r));
        }
        if let Some(s) = special(w) {
            return Some(Operand::Special(s));
        }
        // `warpSize` in CUDA C++: NVRTC emits the PTX constant.
        if w == "WARP_SZ" {
            return Some(Operand::Imm(32));
        }
        match self.syms.get(w)? {
            Sym::Shared(o) | Sym::Local(o) | Sym::Param(o) | Sym::Global(o) => {
                Some(Operand::Imm(*o))
            }
        }
    }
}

fn special(w: &str) -> Option<Special> {
    let dim = |s: &str| match s {
        "x" => Some(0u8),
        "y" => Some(1),
        "z" => Some(2),
        _ => None,
    };
    let (base, d) = match w.split_once('.') {
        Some((b, d)) => (b, dim(d)),
        None => (w, None),
    };
    Some(match (base, d) {
        ("%tid", Some(d)) => Special::Tid(d),
        ("%ntid", Some(d)) => Special::Ntid(d),
        ("%ctaid", Some(d)) => Special::Ctaid(d),
        ("%nctaid", Some(d)) => Special::Nctaid(d),
        ("%laneid", None) => Special::LaneId,
        ("%warpid", None) => Special::WarpId,
        ("%nwarpid", None) => Special::NWarpId,
        ("%smid", None) => Special::SmId,
        ("%lanemask_lt", None) => Special::LaneMaskLt,
        ("%lanemask_le", None) => Special::LaneMaskLe,
        ("%lanemask_gt", None) => Special::LaneMaskGt,
        ("%lanemask_ge", None) => Special::LaneMaskGe,
        ("%lanemask_eq", None) => Special::LaneMaskEq,
        ("%clock", None) => Special::Clock,
        ("%clock64", None) => Special::Clock64,
        ("%globaltimer", None) => Special::GlobalTimer,
        ("%dynamic_smem_size", None) => Special::DynSmemSize,
        ("%total_smem_size", None) => Special::TotalSmemSize,
        ("%nsmid", None) => Special::NSmId,
        ("%gridid", None) => Special::GridId,
        _ => return None,
    })
}

fn split_operands(toks: &[Tok]) -> Vec<Vec<Tok>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut depth = 0;
    for t in toks {
        match t {
            Tok::Punct('{') | Tok::Punct('[') => depth += 1,
            Tok::Punct('}') | Tok::Punct(']') => depth -= 1,
            Tok::Punct(',') if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(t.clone());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn render(toks: &[Tok]) -> String {
    let mut s = String::new();
    for t in toks {
        let piece = match t {
            Tok::Word(w) => w.clone(),
            Tok::Int(v) => v.to_string(),
            Tok::F32(b) => format!("0f{b:08X}"),
            Tok::F64(b) => format!("0d{b:016X}"),
            Tok::Str(x) => format!("\"{x}\""),
            Tok::Punct(c) => c.to_string(),
        };
        let glued_to_prev = matches!(t, Tok::Punct(',' | ']' | '}' | ')' | '|' | '+'));
        if !s.is_empty() && !glued_to_prev && !s.ends_with(['[', '{', '(', '|', '@', '!', '+']) {
            s.push(' ');
        }
        s.push_str(&piece);
    }
    s
}
