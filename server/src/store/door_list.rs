//! A list of door numbers as rows hold it: comma-separated text in the database ("1,2,5";
//! "" is the empty list), a `Vec<u16>` everywhere else.

/// Door numbers of an approval (empty: every door the issuer's certificate allows) or of a
/// grant. A stored text that is not such a list (a hand-edited row) fails where the row is
/// read, never silently becomes the empty list, which for an approval would mean every door.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DoorList(pub Vec<u16>);

impl DoorList {
    /// The stored text: the numbers, comma separated.
    pub fn to_text(&self) -> String {
        self.0.iter().map(u16::to_string).collect::<Vec<_>>().join(",")
    }
}

impl TryFrom<String> for DoorList {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        if s.is_empty() {
            return Ok(DoorList::default());
        }
        let doors: Option<Vec<u16>> = s.split(',').map(|d| d.parse().ok()).collect();
        doors.map(DoorList).ok_or_else(|| {
            format!("door list {s:?} in the database is not comma-separated door numbers")
        })
    }
}

super::stored_as_text!(DoorList);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn door_lists_round_trip_and_damaged_ones_are_errors() {
        for doors in [vec![], vec![1], vec![1, 2, 65535]] {
            let list = DoorList(doors);
            assert_eq!(DoorList::try_from(list.to_text()).unwrap(), list);
        }
        for bad in ["x", "1,,2", "1, 2", "70000", "-1"] {
            assert!(DoorList::try_from(bad.to_string()).is_err(), "{bad}");
        }
    }
}
