//! The element types a check can put in a device buffer, and how each is poisoned and compared.

use std::fmt::Debug;

use cudarc::driver::{DeviceRepr, ValidAsZeroBits};

/// A buffer element. Outputs are filled with `POISON` before every launch, so an element that
/// still holds it afterwards was never written.
pub trait Element:
    DeviceRepr + ValidAsZeroBits + Copy + Debug + Send + Sync + Unpin + 'static
{
    /// Floats: a signalling NaN with a payload arithmetic never produces (any computation on
    /// it yields a different, quiet NaN). Integers: a value unlikely to be a real answer.
    const POISON: Self;
    /// Integers compare exactly; floats with a tolerance.
    const EXACT: bool;
    /// The CUDA C name, for messages ("float").
    const C_NAME: &'static str;
    fn to_f64(self) -> f64;
    fn bits(self) -> u64;
    fn from_bits(bits: u64) -> Self;
    /// What fills the guard zones of an input: unlike `POISON`, so a kernel that copies past
    /// the end of an input into past the end of an output is still caught.
    fn input_guard() -> Self {
        Self::from_bits(Self::POISON.bits() ^ 1)
    }
    fn is_poison(self) -> bool {
        self.bits() == Self::POISON.bits()
    }
    /// How the value reads in a mismatch table.
    fn show(self) -> String;
}

impl Element for f32 {
    const POISON: Self = f32::from_bits(0x7fba_dbad);
    const EXACT: bool = false;
    const C_NAME: &'static str = "float";
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn bits(self) -> u64 {
        self.to_bits() as u64
    }
    fn from_bits(bits: u64) -> Self {
        f32::from_bits(bits as u32)
    }
    fn show(self) -> String {
        show_float(self as f64)
    }
}

impl Element for f64 {
    const POISON: Self = f64::from_bits(0x7ff4_badb_adba_dbad);
    const EXACT: bool = false;
    const C_NAME: &'static str = "double";
    fn to_f64(self) -> f64 {
        self
    }
    fn bits(self) -> u64 {
        self.to_bits()
    }
    fn from_bits(bits: u64) -> Self {
        f64::from_bits(bits)
    }
    fn show(self) -> String {
        show_float(self)
    }
}

/// Half-precision floats: signalling NaNs (quiet bit clear) with a payload arithmetic never
/// produces, as for f32.
macro_rules! half_element {
    ($t:ty, $c:expr, $poison:expr) => {
        impl Element for $t {
            const POISON: Self = <$t>::from_bits($poison);
            const EXACT: bool = false;
            const C_NAME: &'static str = $c;
            fn to_f64(self) -> f64 {
                self.to_f64()
            }
            fn bits(self) -> u64 {
                self.to_bits() as u64
            }
            fn from_bits(bits: u64) -> Self {
                <$t>::from_bits(bits as u16)
            }
            fn show(self) -> String {
                show_float(self.to_f64())
            }
        }
    };
}

half_element!(half::f16, "__half", 0x7d5b);
half_element!(half::bf16, "__nv_bfloat16", 0x7fad);

macro_rules! integer_element {
    ($t:ty, $c:expr, $poison:expr) => {
        impl Element for $t {
            const POISON: Self = $poison;
            const EXACT: bool = true;
            const C_NAME: &'static str = $c;
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn bits(self) -> u64 {
                self as u64
            }
            fn from_bits(bits: u64) -> Self {
                bits as $t
            }
            fn show(self) -> String {
                self.to_string()
            }
        }
    };
}

integer_element!(i32, "int", 0x7fba_dbad);
integer_element!(u32, "unsigned int", 0x7fba_dbad);
integer_element!(i64, "long long", 0x7fba_dbad_7fba_dbad);
integer_element!(u64, "unsigned long long", 0x7fba_dbad_7fba_dbad);
// Bytes are inputs (packed quantized weights, int8 matrices): only their guard zones hold poison.
integer_element!(u8, "unsigned char", 0xbd);
integer_element!(i8, "signed char", -0x43);

fn show_float(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x != 0.0 && (x.abs() >= 1e6 || x.abs() < 1e-3) {
        format!("{x:.6e}")
    } else {
        format!("{x:.6}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_poison_is_nan_and_differs_from_computed_nan() {
        assert!(f32::POISON.is_nan());
        assert!(f32::POISON.is_poison());
        let computed = f32::POISON + 1.0;
        assert!(computed.is_nan());
        assert!(
            !computed.is_poison(),
            "arithmetic on poison must not look unwritten"
        );
        assert!((f64::POISON * 2.0).is_nan() && !(f64::POISON * 2.0).is_poison());
    }

    #[test]
    fn input_guards_differ_from_poison() {
        assert!(f32::input_guard().is_nan() && !f32::input_guard().is_poison());
        assert_ne!(i32::input_guard(), i32::POISON);
        assert_eq!(u64::from_bits(u64::POISON.bits()), u64::POISON);
    }

    #[test]
    fn half_poison_is_a_signalling_nan() {
        assert!(half::f16::POISON.is_nan() && half::bf16::POISON.is_nan());
        assert!(!half::f16::input_guard().is_poison());
        // Arithmetic (done in f32 and rounded back) quiets the NaN: it no longer looks unwritten.
        let computed = half::f16::from_f32(half::f16::POISON.to_f32() + 1.0);
        assert!(computed.is_nan() && !computed.is_poison());
        let computed = half::bf16::from_f32(half::bf16::POISON.to_f32() * 2.0);
        assert!(computed.is_nan() && !computed.is_poison());
    }

    #[test]
    fn integers_show_plainly() {
        assert_eq!(7i32.show(), "7");
        assert_eq!(1.5f32.show(), "1.500000");
        assert_eq!(f32::NAN.show(), "NaN");
    }
}
