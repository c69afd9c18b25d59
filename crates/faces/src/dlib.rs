//! Reading dlib's serialisation (`dlib/serialize.h`), as far as a shape predictor needs: integers in dlib's
//! variable-length form (a control byte, its low four bits the byte count and its top bit the sign, then the
//! bytes, least significant first), floating-point numbers as a mantissa and a power of two, column vectors
//! (negated row and column counts, then the values), and vectors (a count, then the items).

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DlibError {
    #[error("the file ends early, at byte {0}")]
    Truncated(usize),
    #[error("at byte {at}: {why}")]
    Bad { at: usize, why: String },
}

/// A cursor over a dlib-serialised file.
#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, at: 0 }
    }

    fn bad<T>(&self, why: impl Into<String>) -> Result<T, DlibError> {
        Err(DlibError::Bad {
            at: self.at,
            why: why.into(),
        })
    }

    fn byte(&mut self) -> Result<u8, DlibError> {
        let b = *self
            .bytes
            .get(self.at)
            .ok_or(DlibError::Truncated(self.at))?;
        self.at += 1;
        Ok(b)
    }

    /// An integer: its magnitude and whether it is negative.
    fn int(&mut self, signed: bool) -> Result<(u64, bool), DlibError> {
        let control = self.byte()?;
        let negative = control & 0x80 != 0;
        if negative && !signed {
            return self.bad("a negative count");
        }
        let size = usize::from(control & 0x0F);
        if size == 0 || size > 8 || control & 0x70 != 0 {
            return self.bad(format!("an integer's control byte {control:#04x}"));
        }
        let mut value = 0u64;
        for i in 0..size {
            value |= u64::from(self.byte()?) << (8 * i);
        }
        Ok((value, negative))
    }

    pub fn signed(&mut self) -> Result<i64, DlibError> {
        let (magnitude, negative) = self.int(true)?;
        let value = i64::try_from(magnitude).or_else(|_| self.bad("an integer out of range"))?;
        Ok(if negative { -value } else { value })
    }

    pub fn unsigned(&mut self) -> Result<u64, DlibError> {
        Ok(self.int(false)?.0)
    }

    /// A count of items that follow, bounded so a damaged file cannot make it allocate without end.
    pub fn count(&mut self, max: usize) -> Result<usize, DlibError> {
        let n = self.unsigned()?;
        match usize::try_from(n) {
            Ok(n) if n <= max => Ok(n),
            _ => self.bad(format!("a count of {n}, more than {max}")),
        }
    }

    /// A floating-point number: `mantissa × 2^exponent`, as dlib writes a `double`.
    pub fn double(&mut self) -> Result<f64, DlibError> {
        if self.bytes.get(self.at).is_some_and(|b| b & 0x70 != 0) {
            return self.bad("a floating-point number in dlib's old text form");
        }
        let mantissa = self.signed()?;
        let exponent = self.signed()?;
        // dlib marks infinities and NaN with exponents past any real one; a model has none.
        if !(-2000..=2000).contains(&exponent) {
            return self.bad(format!("a floating-point exponent {exponent}"));
        }
        Ok(mantissa as f64 * 2f64.powi(exponent as i32))
    }

    /// A `float`, written as dlib writes any floating-point number.
    pub fn float(&mut self) -> Result<f32, DlibError> {
        Ok(self.double()? as f32)
    }

    /// A column vector's size (`matrix<T,0,1>`: negated row and column counts).
    fn column_rows(&mut self, max: usize) -> Result<usize, DlibError> {
        let rows = -self.signed()?;
        let cols = -self.signed()?;
        if cols != 1 || rows < 0 || rows as usize > max {
            return self.bad(format!(
                "a {rows} × {cols} matrix where a column was expected"
            ));
        }
        Ok(rows as usize)
    }

    /// A column vector of `float`s (`matrix<float,0,1>`).
    pub fn column(&mut self, max: usize) -> Result<Vec<f32>, DlibError> {
        let rows = self.column_rows(max)?;
        (0..rows).map(|_| self.float()).collect()
    }

    /// A column vector of `double`s (`matrix<double,0,1>`).
    pub fn double_column(&mut self, max: usize) -> Result<Vec<f64>, DlibError> {
        let rows = self.column_rows(max)?;
        (0..rows).map(|_| self.double()).collect()
    }

    /// Whether every byte has been read.
    pub fn done(&self) -> bool {
        self.at == self.bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_floats_and_columns() {
        // 300 = 0x012C in two bytes; -5 in one byte with the sign bit; 1.5 = 3 × 2^-1.
        let bytes = [
            0x02, 0x2C, 0x01, // 300
            0x81, 0x05, // -5
            0x01, 0x03, 0x81, 0x01, // 1.5
            0x81, 0x02, 0x81, 0x01, // a 2 × 1 column:
            0x01, 0x01, 0x01, 0x00, // 1.0
            0x01, 0x05, 0x01, 0x00, // 5.0
        ];
        let mut r = Reader::new(&bytes);
        assert_eq!(r.unsigned(), Ok(300));
        assert_eq!(r.signed(), Ok(-5));
        assert_eq!(r.float(), Ok(1.5));
        assert_eq!(r.column(10), Ok(vec![1.0, 5.0]));
        assert!(r.done());
        assert!(matches!(
            Reader::new(&[0x02, 0x01]).unsigned(),
            Err(DlibError::Truncated(2))
        ));
        assert!(matches!(
            Reader::new(&[0x00]).unsigned(),
            Err(DlibError::Bad { .. })
        ));
        assert!(matches!(
            Reader::new(&[0x81, 0x01]).unsigned(),
            Err(DlibError::Bad { .. })
        ));
        assert!(matches!(
            Reader::new(&[0x01, 0xFF]).count(10),
            Err(DlibError::Bad { .. })
        ));
    }
}
