//! `$(VAR)` expansion with Kubernetes' rules: `$$` escapes a `$`, a
//! reference to an undefined variable stays as written, and a `$` that does
//! not start a reference is kept.

/// Expand `$(NAME)` references in `input` using `lookup`.
pub fn expand(input: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        match after.chars().next() {
            // `$$` is one literal `$`, and it does not start a reference.
            Some('$') => {
                out.push('$');
                rest = &after[1..];
            }
            Some('(') => match after.find(')') {
                Some(close) => {
                    let name = &after[1..close];
                    match lookup(name) {
                        Some(v) => out.push_str(&v),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &after[close + 1..];
                }
                // An unterminated reference is literal text.
                None => {
                    out.push_str("$(");
                    rest = &after[1..];
                }
            },
            _ => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, want: &str) {
        let got = expand(input, |n| match n {
            "A" => Some("a".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        });
        assert_eq!(got, want, "input {input:?}");
    }

    #[test]
    fn cases() {
        check("", "");
        check("plain", "plain");
        check("$(A)", "a");
        check("x$(A)y$(A)", "xaya");
        check("$(EMPTY)!", "!");
        check("$(B)", "$(B)");
        check("$$(A)", "$(A)");
        check("$$$(A)", "$a");
        check("$A", "$A");
        check("$", "$");
        check("a$", "a$");
        check("$(A", "$(A");
        check("$()", "$()");
        check("ünï$(A)çødé", "ünïaçødé");
    }
}
