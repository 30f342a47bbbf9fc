//! Parameter placeholders for the statements that bind many parameters (a group's grants, a
//! batch's audit records, the id lists of a group commit).
//!
//! PostgreSQL numbers its parameters (`$1, $2, ...`). SQLite accepts those too, as *named*
//! parameters, but finds a named parameter's number by a linear scan of the statement's names,
//! and sqlx asks for the name of every parameter it binds: a statement of n numbered
//! parameters costs n² steps (39 % of the server's time when ingesting 128-record audit batches,
//! 896 parameters a statement). Nameless `?` parameters cost one step each. A statement written
//! with these placeholders must use them for every one of its parameters, bound in order (a
//! nameless parameter takes the number after the largest one before it).

use super::Tx;

/// How the backend of a statement writes its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placeholders {
    /// `$1, $2, ...` (PostgreSQL).
    Numbered,
    /// `?, ?, ...`, numbered by position (SQLite).
    Positional,
}

impl Placeholders {
    /// Those of the backend `tx` runs on.
    pub fn of(tx: &Tx) -> Placeholders {
        if tx.backend_name() == "SQLite" {
            Placeholders::Positional
        } else {
            Placeholders::Numbered
        }
    }

    /// `count` comma-separated placeholders for the parameters `first..first + count`.
    pub fn list(self, first: usize, count: usize) -> String {
        let one = |p: usize| match self {
            Placeholders::Numbered => format!("${p}"),
            Placeholders::Positional => "?".to_string(),
        };
        (first..first + count).map(one).collect::<Vec<_>>().join(",")
    }

    /// `rows` parenthesised tuples of `columns` placeholders each, the parameters numbered from
    /// `first` row after row: the `VALUES` of a multi-row insert.
    pub fn rows(self, first: usize, columns: usize, rows: usize) -> String {
        (0..rows)
            .map(|r| format!("({})", self.list(first + r * columns, columns)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::Placeholders::*;

    #[test]
    fn numbered_and_positional_placeholders_line_up() {
        assert_eq!(Numbered.list(3, 3), "$3,$4,$5");
        assert_eq!(Positional.list(3, 3), "?,?,?");
        assert_eq!(Numbered.rows(2, 2, 2), "($2,$3), ($4,$5)");
        assert_eq!(Positional.rows(2, 2, 2), "(?,?), (?,?)");
        assert_eq!(Numbered.list(1, 0), "");
    }
}
