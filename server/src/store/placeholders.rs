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
//!
//! On PostgreSQL a statement's text is also its identity: sqlx prepares each new text on the
//! connection (a round trip to parse and describe it) and keeps at most 100 per connection
//! (evicting one is another round trip). A group commit whose lists had one placeholder per
//! grant wrote a new text for nearly every group size, so a statement whose text was not
//! cached paid two or three round trips instead of one (read from sqlx-postgres 0.8's
//! `get_or_prepare`; not counted on the wire). There, a list of any length is one JSON parameter
//! ([`Placeholders::in_list`], and the JSON rows of `Store::insert_grants`): one text per
//! statement, prepared once per connection.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;

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

    /// `column` is one of `count` text values bound from parameter `first` on (by
    /// [`Placeholders::bind_list`]): on PostgreSQL one JSON array parameter, so the statement's
    /// text is the same whatever the count (an index scan for each value: `= ANY(ARRAY(...))`);
    /// on SQLite `column IN (?, ...)`. The condition and how many parameters it takes.
    pub fn in_list(self, column: &str, first: usize, count: usize) -> (String, usize) {
        match self {
            Placeholders::Numbered => (
                format!("{column} = ANY(ARRAY(SELECT json_array_elements_text(${first}::json)))"),
                1,
            ),
            // An empty `IN ()` is not SQL: one parameter that matches no id instead.
            Placeholders::Positional => {
                (format!("{column} IN ({})", self.list(first, count.max(1))), count.max(1))
            }
        }
    }

    /// Binds `values` to the parameters of an [`Placeholders::in_list`] of the same count.
    pub fn bind_list<'q>(
        self,
        mut query: Query<'q, Any, AnyArguments<'q>>,
        values: &[&str],
    ) -> Query<'q, Any, AnyArguments<'q>> {
        match self {
            Placeholders::Numbered => query.bind(serde_json::to_string(values).unwrap_or_default()),
            Placeholders::Positional => {
                for value in values {
                    query = query.bind(value.to_string());
                }
                if values.is_empty() {
                    query = query.bind(String::new());
                }
                query
            }
        }
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

    #[test]
    fn a_postgresql_list_is_one_parameter_whatever_its_length() {
        let (one, taken) = Numbered.in_list("id", 2, 1);
        assert_eq!(taken, 1);
        assert_eq!(Numbered.in_list("id", 2, 200), (one, 1), "the same text for 1 and 200 ids");
        assert_eq!(Positional.in_list("id", 2, 3), ("id IN (?,?,?)".to_string(), 3));
        assert_eq!(Positional.in_list("id", 2, 0), ("id IN (?)".to_string(), 1));
    }
}
