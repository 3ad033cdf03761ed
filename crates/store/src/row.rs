//! Decoding of stored columns into domain values: typed ids and vocabulary names
//! are parsed, 0/1 become booleans, and anything unparsable is reported as
//! [`StoreError::Corrupt`] with the column it came from.

use std::fmt::Display;
use std::str::FromStr;

use model::UnknownName;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::StoreError;

/// Typed getters over one result row.
pub(crate) trait RowExt {
    fn text(&self, col: &str) -> Result<String, StoreError>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, col: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError>;
    fn bytes(&self, col: &str) -> Result<Vec<u8>, StoreError>;
    fn opt_bytes(&self, col: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// A boolean stored as 0 or 1.
    fn flag(&self, col: &str) -> Result<bool, StoreError> {
        Ok(self.int(col)? != 0)
    }

    /// A value stored as its text form (ids).
    fn parsed<T>(&self, col: &str) -> Result<T, StoreError>
    where
        T: FromStr,
        T::Err: Display,
    {
        parse(col, &self.text(col)?)
    }

    fn opt_parsed<T>(&self, col: &str) -> Result<Option<T>, StoreError>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.opt_text(col)?.map(|s| parse(col, &s)).transpose()
    }

    /// A name of one of the closed vocabularies, parsed by `parse`.
    fn name<T>(
        &self,
        col: &str,
        parse: fn(&str) -> Result<T, UnknownName>,
    ) -> Result<T, StoreError> {
        parse(&self.text(col)?).map_err(|e| StoreError::Corrupt(format!("column `{col}`: {e}")))
    }
}

fn parse<T>(col: &str, s: &str) -> Result<T, StoreError>
where
    T: FromStr,
    T::Err: Display,
{
    s.parse()
        .map_err(|e| StoreError::Corrupt(format!("column `{col}`: {e}")))
}

impl RowExt for AnyRow {
    fn text(&self, col: &str) -> Result<String, StoreError> {
        Ok(self.try_get(col)?)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
        Ok(self.try_get(col)?)
    }
    fn int(&self, col: &str) -> Result<i64, StoreError> {
        Ok(self.try_get(col)?)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.try_get(col)?)
    }
    fn bytes(&self, col: &str) -> Result<Vec<u8>, StoreError> {
        Ok(self.try_get(col)?)
    }
    fn opt_bytes(&self, col: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.try_get(col)?)
    }
}
