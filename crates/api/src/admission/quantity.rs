//! Just enough of apimachinery `resource.Quantity` for admission: parse,
//! compare, sum, round up to milli (`SetDefaults_ResourceList`) and print in
//! canonical form (`Quantity.String`), which is what the apiserver stores:
//! `0.5` → `500m`, `1000` → `1k`, `1024Mi` → `1Gi`.
//!
//! Values are held as nano-units in an i128, so everything from `1n` to
//! exabytes is exact; anything beyond that range fails to parse.

use std::cmp::Ordering;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Format {
    DecimalSI,
    BinarySI,
    DecimalExponent,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Quantity {
    nanos: i128,
    format: Format,
}

const NANO: i128 = 1_000_000_000;

fn pow10(e: u32) -> Option<i128> {
    10i128.checked_pow(e)
}

/// Division rounding away from zero (`inf.RoundUp`).
fn div_away(n: i128, d: i128) -> i128 {
    let q = n / d;
    if n % d == 0 {
        q
    } else if n > 0 {
        q + 1
    } else {
        q - 1
    }
}

impl Quantity {
    pub(crate) fn parse(s: &str) -> Option<Quantity> {
        let s = s.trim();
        let (negative, rest) = match s.as_bytes().first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let num_len = rest
            .bytes()
            .take_while(|c| c.is_ascii_digit() || *c == b'.')
            .count();
        let (num, suffix) = rest.split_at(num_len);
        let (int_part, frac_part) = match num.split_once('.') {
            Some((i, f)) => (i, f),
            None => (num, ""),
        };
        if frac_part.contains('.') || (int_part.is_empty() && frac_part.is_empty()) {
            return None;
        }
        let (base2, exp, format) = match suffix {
            "" => (false, 0, Format::DecimalSI),
            "n" => (false, -9, Format::DecimalSI),
            "u" => (false, -6, Format::DecimalSI),
            "m" => (false, -3, Format::DecimalSI),
            "k" => (false, 3, Format::DecimalSI),
            "M" => (false, 6, Format::DecimalSI),
            "G" => (false, 9, Format::DecimalSI),
            "T" => (false, 12, Format::DecimalSI),
            "P" => (false, 15, Format::DecimalSI),
            "E" => (false, 18, Format::DecimalSI),
            "Ki" => (true, 10, Format::BinarySI),
            "Mi" => (true, 20, Format::BinarySI),
            "Gi" => (true, 30, Format::BinarySI),
            "Ti" => (true, 40, Format::BinarySI),
            "Pi" => (true, 50, Format::BinarySI),
            "Ei" => (true, 60, Format::BinarySI),
            _ if suffix.len() > 1 && (suffix.starts_with('e') || suffix.starts_with('E')) => {
                let e: i32 = suffix[1..].parse().ok()?;
                (false, e, Format::DecimalExponent)
            }
            _ => return None,
        };
        let digits = format!("{int_part}{frac_part}");
        let digits = digits.trim_start_matches('0');
        let mantissa: i128 = if digits.is_empty() {
            0
        } else if digits.len() > 36 {
            return None;
        } else {
            digits.parse().ok()?
        };
        let frac = frac_part.len() as i32;
        let (numerator, scale10) = if base2 {
            (
                mantissa.checked_mul(1i128.checked_shl(exp as u32)?)?,
                9 - frac,
            )
        } else {
            (mantissa, 9 - frac + exp)
        };
        let nanos = if scale10 >= 0 {
            numerator.checked_mul(pow10(scale10 as u32)?)?
        } else if -scale10 > 38 {
            i128::from(numerator != 0)
        } else {
            div_away(numerator, pow10((-scale10) as u32)?)
        };
        Some(Quantity {
            nanos: if negative { -nanos } else { nanos },
            format,
        })
    }

    pub(crate) fn is_negative(&self) -> bool {
        self.nanos < 0
    }

    pub(crate) fn is_positive(&self) -> bool {
        self.nanos > 0
    }

    pub(crate) fn cmp_value(&self, other: &Quantity) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }

    pub(crate) fn add(&self, other: &Quantity) -> Quantity {
        Quantity {
            nanos: self.nanos.saturating_add(other.nanos),
            format: self.format,
        }
    }

    /// `RoundUp(-3)` as done by `SetDefaults_ResourceList`.
    pub(crate) fn round_up_milli(&self) -> Quantity {
        Quantity {
            nanos: div_away(self.nanos, 1_000_000) * 1_000_000,
            format: self.format,
        }
    }

    /// `Quantity.String()`.
    pub(crate) fn canonical(&self) -> String {
        if self.nanos == 0 {
            return "0".to_string();
        }
        let mut format = self.format;
        if format == Format::BinarySI && (self.nanos.abs() < 1024 * NANO || self.nanos % NANO != 0)
        {
            format = Format::DecimalSI;
        }
        if format == Format::BinarySI {
            let mut v = self.nanos / NANO;
            let mut k = 0;
            while k < 6 && v % 1024 == 0 {
                v /= 1024;
                k += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][k];
            return format!("{v}{suffix}");
        }
        let mut m = self.nanos;
        let mut exp: i32 = -9;
        while m % 10 == 0 {
            m /= 10;
            exp += 1;
        }
        match exp.rem_euclid(3) {
            1 => {
                m *= 10;
                exp -= 1;
            }
            2 => {
                m *= 100;
                exp -= 2;
            }
            _ => {}
        }
        let suffix = match (format, exp) {
            (Format::DecimalExponent, 0) => String::new(),
            (Format::DecimalExponent, e) => format!("e{e}"),
            (_, -9) => "n".into(),
            (_, -6) => "u".into(),
            (_, -3) => "m".into(),
            (_, 0) => String::new(),
            (_, 3) => "k".into(),
            (_, 6) => "M".into(),
            (_, 9) => "G".into(),
            (_, 12) => "T".into(),
            (_, 15) => "P".into(),
            (_, 18) => "E".into(),
            (_, e) => format!("e{e}"),
        };
        format!("{m}{suffix}")
    }
}

/// Parse a JSON quantity (string or number) as upstream's UnmarshalJSON does.
pub(crate) fn from_json(v: &serde_json::Value) -> Option<Quantity> {
    match v {
        serde_json::Value::String(s) => Quantity::parse(s),
        serde_json::Value::Number(n) => Quantity::parse(&n.to_string()),
        _ => None,
    }
}
