//! PTX text to pre-decoded functions: once per module load, never per lane.

use super::ir::*;
use super::lex::{statements, Stmt, Tok};
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
struct ModuleShared {
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

/// Device functions (`.func`) by name: the index of their header statement.
fn func_headers(stmts: &[Stmt]) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for (i, st) in stmts.iter().enumerate() {
        if leading_words(&st.toks).iter().any(|w| w == ".func") {
            if let Some((name, _, _)) = func_signature(&st.toks) {
                out.insert(name, i);
            }
        }
    }
    out
}

/// Names in a parenthesised parameter list: `(.param .b64 a, .param .b32 b)` gives [a, b].
fn group_names(group: &[Tok]) -> Vec<String> {
    group
        .split(|t| *t == Tok::Punct(','))
        .filter(|c| !c.is_empty())
        .filter_map(|c| match parse_var(c) {
            Ok(v) => Some(v.name),
            Err(_) => None,
        })
        .collect()
}

/// Parenthesised token groups, e.g. a parameter list.
type Groups = Vec<Vec<Tok>>;

/// The parenthesised groups and the bare name of `[(rets)] name [(params)]` (a `.func` header
/// or a `call`'s operands): (name, groups before it, groups after it).
fn name_and_groups(toks: &[Tok]) -> Option<(String, Groups, Groups)> {
    let mut name = None;
    let (mut before, mut after) = (Vec::new(), Vec::new());
    let mut depth = 0;
    let mut cur = Vec::new();
    for t in toks {
        match t {
            Tok::Punct('(') => {
                depth += 1;
                if depth == 1 {
                    cur.clear();
                    continue;
                }
            }
            Tok::Punct(')') => {
                depth -= 1;
                if depth == 0 {
                    let group = std::mem::take(&mut cur);
                    if name.is_none() {
                        before.push(group);
                    } else {
                        after.push(group);
                    }
                    continue;
                }
            }
            Tok::Word(w) if depth == 0 && name.is_none() && !w.starts_with('.') => {
                name = Some(w.clone());
                continue;
            }
            _ => {}
        }
        if depth > 0 {
            cur.push(t.clone());
        }
    }
    Some((name?, before, after))
}

/// A `.func` header's name, return-value names and parameter names.
fn func_signature(toks: &[Tok]) -> Option<(String, Vec<String>, Vec<String>)> {
    let (name, before, after) = name_and_groups(toks)?;
    let rets = before.first().map(|g| group_names(g)).unwrap_or_default();
    let params = after.first().map(|g| group_names(g)).unwrap_or_default();
    Some((name, rets, params))
}

/// The statements that replace `call (rets), f, (args);`: f's body with its parameters renamed
/// to the caller's `.param` variables, its labels made unique, and `ret` jumping to its end.
/// `None` when the statement is not a call that can be inlined (guarded, or not through
/// `.param` variables): it then stays an unsupported instruction.
fn inline_call(
    module: &ModuleCtx,
    toks: &[Tok],
    call_params: &[String],
    n: usize,
) -> Option<Vec<Stmt>> {
    let Some(Tok::Word(op)) = toks.first() else {
        return None;
    };
    if op != "call" && !op.starts_with("call.") {
        return None;
    }
    let (callee, before, after) = name_and_groups(&toks[1..])?;
    let words = |g: Option<&Vec<Tok>>| -> Option<Vec<String>> {
        let Some(g) = g else { return Some(Vec::new()) };
        g.iter()
            .filter(|t| **t != Tok::Punct(','))
            .map(|t| match t {
                Tok::Word(w) if call_params.contains(w) => Some(w.clone()),
                _ => None,
            })
            .collect()
    };
    let (rets, args) = (words(before.first())?, words(after.first())?);
    // printf: the interpreter formats it itself (`kernlings.printf ret, format, args`).
    if callee == "vprintf" && args.len() == 2 && rets.len() <= 1 {
        let ret = rets.first().cloned().unwrap_or_else(|| "_".into());
        let toks = vec![
            Tok::Word("kernlings.printf".into()),
            Tok::Word(ret),
            Tok::Punct(','),
            Tok::Word(args[0].clone()),
            Tok::Punct(','),
            Tok::Word(args[1].clone()),
        ];
        return Some(vec![Stmt { toks }]);
    }
    let header = *module.callees.get(&callee)?;
    let (_, callee_rets, callee_params) = func_signature(&module.stmts[header].toks)?;
    if rets.len() != callee_rets.len() || args.len() != callee_params.len() {
        return None;
    }
    let end = skip_body(module.stmts, header + 1);
    let body = module.stmts.get(header + 1..end)?;
    if body.is_empty() {
        return None;
    }
    let prefix = format!("__inl{n}_");
    let mut rename: HashMap<String, String> = callee_rets.into_iter().zip(rets).collect();
    rename.extend(callee_params.into_iter().zip(args));
    for st in body {
        if let [Tok::Word(l), Tok::Punct(':')] = st.toks.as_slice() {
            rename.insert(l.clone(), format!("{prefix}{l}"));
        }
    }
    let end_label = format!("{prefix}return");
    let mut out = Vec::with_capacity(body.len() + 1);
    for (k, st) in body.iter().enumerate() {
        if k == body.len() - 1 {
            out.push(Stmt {
                toks: vec![Tok::Word(end_label.clone()), Tok::Punct(':')],
            });
        }
        let mut toks: Vec<Tok> = Vec::with_capacity(st.toks.len() + 1);
        for t in &st.toks {
            match t {
                Tok::Word(w) if w == "ret" || w.starts_with("ret.") => {
                    toks.push(Tok::Word("bra".into()));
                    toks.push(Tok::Word(end_label.clone()));
                }
                Tok::Word(w) => toks.push(Tok::Word(
                    rename.get(w).cloned().unwrap_or_else(|| w.clone()),
                )),
                t => toks.push(t.clone()),
            }
        }
        out.push(Stmt { toks });
    }
    Some(out)
}

/// The statement after a brace-delimited body starting at `i` (or `i` itself if none).
fn skip_body(stmts: &[Stmt], i: usize) -> usize {
    if stmts.get(i).map(|s| s.toks.as_slice()) != Some(&[Tok::Punct('{')]) {
        return i;
    }
    let mut depth = 0;
    for (j, st) in stmts.iter().enumerate().skip(i) {
        match st.toks.as_slice() {
            [Tok::Punct('{')] => depth += 1,
            [Tok::Punct('}')] => {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
    }
    stmts.len()
}

fn leading_words(toks: &[Tok]) -> Vec<String> {
    toks.iter()
        .take_while(|t| matches!(t, Tok::Word(w) if w.starts_with('.')))
        .map(|t| match t {
            Tok::Word(w) => w.clone(),
            _ => unreachable!(),
        })
        .collect()
}

/// `.global .align 4 .b8 name[24] = {...}` and friends.
fn parse_var(toks: &[Tok]) -> Result<GlobalVar, String> {
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
struct ModuleCtx<'a> {
    stmts: &'a [Stmt],
    /// Device functions by name: the index of their header statement.
    callees: &'a HashMap<String, usize>,
    shared: &'a ModuleShared,
    files: &'a HashMap<i64, String>,
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
                p.instruction(toks)?;
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
            Op::Nop | Op::Trap | Op::CpAsync => 0,
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

fn blank(op: Op) -> Instr {
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
fn decode_opcode(opcode: &str) -> Result<Instr, String> {
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
        "activemask" => Op::Activemask,
        "membar" | "fence" | "prefetch" | "prefetchu" | "nanosleep" | "discard" => Op::Nop,
        "trap" | "brkpt" => Op::Trap,
        "kernlings" if has("printf") => Op::Printf,
        "cp" if has("async") && (has("commit_group") || has("wait_group") || has("wait_all")) => {
            Op::Nop
        }
        "cp" if has("async") && !has("bulk") => Op::CpAsync,
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
        ins.ty = types[0];
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
            let d_ty = types[0];
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
