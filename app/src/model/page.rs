//! One page of a list, the same for every list.

use serde::{Deserialize, Serialize};

/// One page of a list: its items, how many match in all, which page this
/// is (from 1) and how many items a page holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
    /// Server time when the page was read, for "in 12 days" and "3 hours
    /// ago".
    pub now: i64,
}
