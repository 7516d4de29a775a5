//! A computed KPI's formula (issue 18): numbers, names of metrics and KPIs, `+ − × ÷` (also
//! written `- * /`), parentheses, and `min(…)` / `max(…)`, with the usual precedence.
//! Parsed with winnow's combinators, evaluated exactly in `Decimal`.
//!
//! Evaluation never panics: a missing input, a division by zero, or a result beyond the
//! decimal range gives [`NotComputable`] with the reason.

use std::collections::BTreeSet;
use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use winnow::ascii::{digit1, multispace0};
use winnow::combinator::{
    alt, cut_err, delimited, eof, opt, preceded, repeat, separated, terminated,
};
use winnow::error::{ContextError, StrContext, StrContextValue};
use winnow::prelude::*;
use winnow::token::{one_of, take_while};

/// The longest formula accepted, characters.
pub const MAX_FORMULA_CHARS: usize = 500;

/// A parsed formula; written and read back as its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Formula {
    text: String,
    expr: Expr,
}

/// A formula's syntax tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// A number literal.
    Number(Decimal),
    /// A metric or KPI by name.
    Name(String),
    /// `−e`.
    Negate(Box<Expr>),
    /// `a op b`.
    Binary(Op, Box<Expr>, Box<Expr>),
    /// `min(…)` (`true`) or `max(…)` (`false`) of one or more arguments.
    MinMax(bool, Vec<Expr>),
}

/// An arithmetic operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `+`.
    Add,
    /// `−`.
    Sub,
    /// `×`.
    Mul,
    /// `÷`.
    Div,
}

/// Why a formula does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the formula does not read at character {at}: {reason}")]
pub struct FormulaError {
    /// 1-based character position.
    pub at: usize,
    /// What was expected.
    pub reason: String,
}

/// Why a value could not be computed: shown as "not computable: {reason}".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{0}")]
pub struct NotComputable(pub String);

impl Formula {
    /// Parses `text`.
    ///
    /// # Errors
    /// [`FormulaError`] with the position of the first thing that does not read.
    pub fn parse(text: &str) -> Result<Self, FormulaError> {
        if text.chars().count() > MAX_FORMULA_CHARS {
            return Err(FormulaError {
                at: MAX_FORMULA_CHARS,
                reason: format!("a formula has at most {MAX_FORMULA_CHARS} characters"),
            });
        }
        let mut input = text;
        match terminated(expr, (multispace0, eof)).parse_next(&mut input) {
            Ok(expr) => Ok(Self {
                text: text.trim().to_owned(),
                expr,
            }),
            Err(e) => {
                let consumed = text.len() - input.len();
                let at = text[..consumed].chars().count() + 1;
                let reason = e
                    .into_inner()
                    .ok()
                    .and_then(|c: ContextError| {
                        c.context()
                            .filter_map(|c| match c {
                                StrContext::Expected(v) => Some(v.to_string()),
                                _ => None,
                            })
                            .next()
                    })
                    .map_or_else(
                        || "expected a number, a name, or an operator".to_owned(),
                        |v| format!("expected {v}"),
                    );
                Err(FormulaError { at, reason })
            }
        }
    }

    /// The text it was read from, trimmed.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The tree.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Every name it reads, sorted.
    pub fn names(&self) -> BTreeSet<&str> {
        let mut names = BTreeSet::new();
        collect_names(&self.expr, &mut names);
        names
    }

    /// Evaluates it, `value` giving each name's value (or why it has none).
    ///
    /// # Errors
    /// [`NotComputable`]: an input without a value, a division by zero, an overflow.
    pub fn evaluate(
        &self,
        value: &mut dyn FnMut(&str) -> Result<Decimal, NotComputable>,
    ) -> Result<Decimal, NotComputable> {
        eval(&self.expr, value)
    }
}

fn collect_names<'a>(expr: &'a Expr, names: &mut BTreeSet<&'a str>) {
    match expr {
        Expr::Number(_) => {}
        Expr::Name(n) => {
            names.insert(n);
        }
        Expr::Negate(e) => collect_names(e, names),
        Expr::Binary(_, a, b) => {
            collect_names(a, names);
            collect_names(b, names);
        }
        Expr::MinMax(_, args) => args.iter().for_each(|a| collect_names(a, names)),
    }
}

fn eval(
    expr: &Expr,
    value: &mut dyn FnMut(&str) -> Result<Decimal, NotComputable>,
) -> Result<Decimal, NotComputable> {
    let overflow = || NotComputable("the result is beyond the decimal range".into());
    match expr {
        Expr::Number(n) => Ok(*n),
        Expr::Name(n) => value(n),
        Expr::Negate(e) => Ok(-eval(e, value)?),
        Expr::Binary(op, a, b) => {
            let (a, b) = (eval(a, value)?, eval(b, value)?);
            match op {
                Op::Add => a.checked_add(b).ok_or_else(overflow),
                Op::Sub => a.checked_sub(b).ok_or_else(overflow),
                Op::Mul => a.checked_mul(b).ok_or_else(overflow),
                Op::Div if b.is_zero() => Err(NotComputable(format!(
                    "division by zero ({} is 0)",
                    show_divisor(expr)
                ))),
                Op::Div => a.checked_div(b).ok_or_else(overflow),
            }
        }
        Expr::MinMax(is_min, args) => {
            let mut values = args.iter().map(|a| eval(a, value));
            let first = values.next().unwrap_or_else(|| Err(overflow()))?;
            values.try_fold(first, |acc, v| {
                let v = v?;
                Ok(if *is_min { acc.min(v) } else { acc.max(v) })
            })
        }
    }
}

/// The divisor of a division, in words.
fn show_divisor(expr: &Expr) -> String {
    match expr {
        Expr::Binary(Op::Div, _, b) => match b.as_ref() {
            Expr::Name(n) => n.clone(),
            Expr::Number(n) => n.to_string(),
            _ => "the divisor".into(),
        },
        _ => "the divisor".into(),
    }
}

impl fmt::Display for Formula {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Formula {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Formula {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

// The grammar. Each rule skips the spaces before it.

fn expr(input: &mut &str) -> ModalResult<Expr> {
    let first = term(input)?;
    let rest: Vec<(Op, Expr)> = repeat(
        0..,
        (
            preceded(
                multispace0,
                alt(('+'.value(Op::Add), one_of(['-', '−']).value(Op::Sub))),
            ),
            cut_err(term),
        ),
    )
    .parse_next(input)?;
    Ok(fold(first, rest))
}

fn term(input: &mut &str) -> ModalResult<Expr> {
    let first = factor(input)?;
    let rest: Vec<(Op, Expr)> = repeat(
        0..,
        (
            preceded(
                multispace0,
                alt((
                    one_of(['*', '×']).value(Op::Mul),
                    one_of(['/', '÷']).value(Op::Div),
                )),
            ),
            cut_err(factor),
        ),
    )
    .parse_next(input)?;
    Ok(fold(first, rest))
}

fn fold(first: Expr, rest: Vec<(Op, Expr)>) -> Expr {
    rest.into_iter().fold(first, |a, (op, b)| {
        Expr::Binary(op, Box::new(a), Box::new(b))
    })
}

fn factor(input: &mut &str) -> ModalResult<Expr> {
    preceded(
        multispace0,
        alt((
            preceded(one_of(['-', '−']), cut_err(factor)).map(|e| Expr::Negate(Box::new(e))),
            number,
            call,
            name.map(|n: &str| Expr::Name(n.to_owned())),
            delimited(
                '(',
                cut_err(expr),
                cut_err(preceded(multispace0, ')'))
                    .context(StrContext::Expected(StrContextValue::CharLiteral(')'))),
            ),
        ))
        .context(StrContext::Expected(StrContextValue::Description(
            "a number, a name, min(…), max(…) or (",
        ))),
    )
    .parse_next(input)
}

fn number(input: &mut &str) -> ModalResult<Expr> {
    (digit1, opt(('.', digit1)))
        .take()
        .try_map(|digits: &str| digits.parse::<Decimal>())
        .map(Expr::Number)
        .parse_next(input)
}

fn name<'i>(input: &mut &'i str) -> ModalResult<&'i str> {
    (
        one_of(|c: char| c.is_ascii_lowercase()),
        take_while(0.., |c: char| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
        }),
    )
        .take()
        .parse_next(input)
}

fn call(input: &mut &str) -> ModalResult<Expr> {
    let is_min = terminated(
        alt(("min".value(true), "max".value(false))),
        (multispace0, '('),
    )
    .parse_next(input)?;
    let args: Vec<Expr> =
        cut_err(separated(1.., expr, preceded(multispace0, ','))).parse_next(input)?;
    cut_err(preceded(multispace0, ')'))
        .context(StrContext::Expected(StrContextValue::CharLiteral(')')))
        .parse_next(input)?;
    Ok(Expr::MinMax(is_min, args))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use std::collections::BTreeMap;

    fn eval_with(text: &str, values: &[(&str, Decimal)]) -> Result<Decimal, NotComputable> {
        let values: BTreeMap<&str, Decimal> = values.iter().copied().collect();
        Formula::parse(text).unwrap().evaluate(&mut |n| {
            values
                .get(n)
                .copied()
                .ok_or_else(|| NotComputable(format!("{n} has no value")))
        })
    }

    #[test]
    fn precedence_parentheses_and_min_max_evaluate_exactly() {
        assert_eq!(eval_with("1 + 2 * 3", &[]), Ok(dec!(7)));
        assert_eq!(eval_with("(1 + 2) × 3", &[]), Ok(dec!(9)));
        assert_eq!(eval_with("10 − 4 − 3", &[]), Ok(dec!(3)));
        assert_eq!(eval_with("1 / 3 * 3", &[]), Ok(dec!(1) / dec!(3) * dec!(3)));
        assert_eq!(eval_with("0.1 + 0.2", &[]), Ok(dec!(0.3)));
        assert_eq!(
            eval_with("-a + max(a, 2, b)", &[("a", dec!(1)), ("b", dec!(5))]),
            Ok(dec!(4))
        );
        assert_eq!(eval_with("min(a_1, 3)", &[("a_1", dec!(7))]), Ok(dec!(3)));
    }

    #[test]
    fn division_by_zero_and_missing_inputs_are_not_computable_with_the_reason() {
        assert_eq!(
            eval_with("arpu / churn", &[("arpu", dec!(50)), ("churn", dec!(0))]),
            Err(NotComputable("division by zero (churn is 0)".into()))
        );
        assert_eq!(
            eval_with("arpu * 2", &[]),
            Err(NotComputable("arpu has no value".into()))
        );
        assert_eq!(
            eval_with("a * a * a * a", &[("a", Decimal::MAX)]),
            Err(NotComputable(
                "the result is beyond the decimal range".into()
            ))
        );
    }

    #[test]
    fn bad_formulas_name_the_position() {
        for (text, at) in [
            ("1 +", 4),
            ("(a + b", 7),
            ("a $ b", 3),
            ("max(", 5),
            ("", 1),
            ("A", 1),
        ] {
            let e = Formula::parse(text).unwrap_err();
            assert_eq!(e.at, at, "{text}: {e}");
        }
        assert!(Formula::parse(&"a+".repeat(300)).is_err());
    }

    #[test]
    fn names_are_collected_and_text_round_trips() {
        let f = Formula::parse(" ltv / cac ").unwrap();
        assert_eq!(f.names().into_iter().collect::<Vec<_>>(), ["cac", "ltv"]);
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(json, "\"ltv / cac\"");
        assert_eq!(serde_json::from_str::<Formula>(&json).unwrap(), f);
    }
}
