//! Device functions NVRTC left as calls (f64 libm slow paths, `__noinline__` helpers) are
//! inlined at load: the callee's statements replace the call, parameters renamed to the
//! caller's argument slots. `vprintf` becomes the interpreter's own printf instruction.

use super::lex::{Stmt, Tok};
use super::parse::{leading_words, parse_var, ModuleCtx};
use std::collections::HashMap;

/// Device functions (`.func`) by name: the index of their header statement.
pub(super) fn func_headers(stmts: &[Stmt]) -> HashMap<String, usize> {
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
pub(super) fn inline_call(
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
    // A failed device-side assert() calls __assertfail: it stops the kernel like a trap.
    if callee == "__assertfail" {
        return Some(vec![Stmt {
            toks: vec![Tok::Word("trap".into())],
        }]);
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
pub(super) fn skip_body(stmts: &[Stmt], i: usize) -> usize {
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
