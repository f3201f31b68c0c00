//! Cursor pagination as Vultr does it: `per_page` (default 100, 1–500) and an opaque `cursor`
//! taken from `meta.links.next`/`prev`. A cursor is base64url of `next__<seq>` or `prev__<seq>`
//! (Vultr's own cursors decode to `next__…` too), anchored on the creation sequence rather than an
//! offset so that paging stays stable while records are added or deleted. Pure.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

pub const DEFAULT_PER_PAGE: usize = 100;
pub const MAX_PER_PAGE: usize = 500;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PageError {
    #[error("Invalid per_page {0:?}: expected an integer from 1 to 500")]
    PerPage(String),
    #[error("Invalid cursor {0:?}")]
    Cursor(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cursor {
    /// The page starting at the first item with `seq >= n`.
    Next(u64),
    /// The page ending just before the first item with `seq >= n`.
    Prev(u64),
}

impl Cursor {
    fn encode(self) -> String {
        let raw = match self {
            Self::Next(n) => format!("next__{n}"),
            Self::Prev(n) => format!("prev__{n}"),
        };
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// `limit` is the store's next sequence number: a cursor beyond it was never issued.
    fn decode(raw: &str, limit: u64) -> Result<Self, PageError> {
        let invalid = || PageError::Cursor(raw.to_string());
        let bytes = URL_SAFE_NO_PAD
            .decode(raw.trim_end_matches('='))
            .map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let cursor = if let Some(n) = text.strip_prefix("next__") {
            Self::Next(n.parse().map_err(|_| invalid())?)
        } else if let Some(n) = text.strip_prefix("prev__") {
            Self::Prev(n.parse().map_err(|_| invalid())?)
        } else {
            return Err(invalid());
        };
        match cursor {
            Self::Next(n) | Self::Prev(n) if n > limit => Err(invalid()),
            _ => Ok(cursor),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    per_page: usize,
    cursor: Option<Cursor>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Links {
    pub next: String,
    pub prev: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Meta {
    pub total: usize,
    pub links: Links,
}

impl PageRequest {
    /// Reads `per_page` and `cursor` from a raw query string; other parameters are ignored and an
    /// empty value counts as absent (some clients send `cursor=` on the first page).
    pub fn from_query(query: Option<&str>, seq_limit: u64) -> Result<Self, PageError> {
        let mut request = Self {
            per_page: DEFAULT_PER_PAGE,
            cursor: None,
        };
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_encoding::percent_decode_str(&value.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned();
            if value.is_empty() {
                continue;
            }
            match key {
                "per_page" => {
                    request.per_page = value
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=MAX_PER_PAGE).contains(n))
                        .ok_or(PageError::PerPage(value))?;
                }
                "cursor" => request.cursor = Some(Cursor::decode(&value, seq_limit)?),
                _ => {}
            }
        }
        Ok(request)
    }

    /// Cuts one page out of `items` (sorted by ascending `seq`) and builds its `meta`.
    pub fn page<'a, T>(&self, items: &'a [T], seq: impl Fn(&T) -> u64) -> (&'a [T], Meta) {
        let (start, end) = match self.cursor {
            None => (0, self.per_page.min(items.len())),
            Some(Cursor::Next(n)) => {
                let start = items.partition_point(|item| seq(item) < n);
                (start, (start + self.per_page).min(items.len()))
            }
            Some(Cursor::Prev(n)) => {
                let end = items.partition_point(|item| seq(item) < n);
                (end.saturating_sub(self.per_page), end)
            }
        };
        let page = &items[start..end];
        let next = match items.get(end) {
            Some(item) => Cursor::Next(seq(item)).encode(),
            None => String::new(),
        };
        let prev = if start > 0 {
            let anchor = page
                .first()
                .map(&seq)
                .or_else(|| items.get(start).map(&seq))
                .unwrap_or_else(|| items.last().map(|i| seq(i) + 1).unwrap_or(0));
            Cursor::Prev(anchor).encode()
        } else {
            String::new()
        };
        (
            page,
            Meta {
                total: items.len(),
                links: Links { next, prev },
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(items: &[u64], per_page: usize) -> Vec<Vec<u64>> {
        let mut pages = Vec::new();
        let mut query = format!("per_page={per_page}");
        loop {
            let request = PageRequest::from_query(Some(&query), 1_000).unwrap();
            let (page, meta) = request.page(items, |n| *n);
            assert_eq!(meta.total, items.len());
            pages.push(page.to_vec());
            if meta.links.next.is_empty() {
                return pages;
            }
            query = format!("per_page={per_page}&cursor={}", meta.links.next);
        }
    }

    #[test]
    fn next_cursors_visit_every_item_once_in_order() {
        let items: Vec<u64> = (0..23).map(|n| n * 3).collect();
        let pages = walk(&items, 5);
        assert_eq!(pages.len(), 5);
        assert_eq!(pages.concat(), items);
    }

    proptest::proptest! {
        /// Whatever the sequence numbers and page size, following `next` lists every item once,
        /// in order, and following `prev` from the last page walks back over the same pages.
        #[test]
        fn walking_next_then_prev_covers_every_item_once(
            gaps in proptest::collection::vec(1u64..5, 0..120),
            per_page in 1usize..40,
        ) {
            let items: Vec<u64> = gaps
                .iter()
                .scan(0u64, |acc, gap| {
                    *acc += gap;
                    Some(*acc)
                })
                .collect();
            let limit = items.last().copied().unwrap_or(0) + 1;
            let mut forward = Vec::new();
            let mut query = format!("per_page={per_page}");
            let mut pages = Vec::new();
            let mut last_meta;
            loop {
                let request = PageRequest::from_query(Some(&query), limit).unwrap();
                let (page, meta) = request.page(&items, |n| *n);
                proptest::prop_assert!(page.len() <= per_page);
                forward.extend_from_slice(page);
                pages.push(page.to_vec());
                last_meta = meta;
                if last_meta.links.next.is_empty() {
                    break;
                }
                query = format!("per_page={per_page}&cursor={}", last_meta.links.next);
            }
            proptest::prop_assert_eq!(&forward, &items);
            let mut backward = vec![pages.pop().unwrap_or_default()];
            while !last_meta.links.prev.is_empty() {
                let query = format!("per_page={per_page}&cursor={}", last_meta.links.prev);
                let request = PageRequest::from_query(Some(&query), limit).unwrap();
                let (page, meta) = request.page(&items, |n| *n);
                backward.push(page.to_vec());
                last_meta = meta;
            }
            backward.reverse();
            proptest::prop_assert_eq!(backward.concat(), items);
        }
    }

    #[test]
    fn prev_cursor_returns_the_previous_page() {
        let items: Vec<u64> = (0..12).collect();
        let first = PageRequest::from_query(Some("per_page=5"), 100).unwrap();
        let (_, meta) = first.page(&items, |n| *n);
        assert_eq!(meta.links.prev, "");
        let second =
            PageRequest::from_query(Some(&format!("per_page=5&cursor={}", meta.links.next)), 100)
                .unwrap();
        let (page, meta) = second.page(&items, |n| *n);
        assert_eq!(page, &[5, 6, 7, 8, 9]);
        let back =
            PageRequest::from_query(Some(&format!("per_page=5&cursor={}", meta.links.prev)), 100)
                .unwrap();
        let (page, meta) = back.page(&items, |n| *n);
        assert_eq!(page, &[0, 1, 2, 3, 4]);
        assert_eq!(meta.links.prev, "");
    }

    #[test]
    fn per_page_outside_bounds_is_rejected() {
        for bad in ["per_page=0", "per_page=501", "per_page=-1", "per_page=ten"] {
            assert!(
                matches!(
                    PageRequest::from_query(Some(bad), 10),
                    Err(PageError::PerPage(_))
                ),
                "{bad}"
            );
        }
        assert!(PageRequest::from_query(Some("per_page=500"), 10).is_ok());
    }

    #[test]
    fn unknown_cursors_are_rejected() {
        let beyond = Cursor::Next(11).encode();
        for bad in ["!!!", "Zm9v", beyond.as_str()] {
            assert!(
                matches!(
                    PageRequest::from_query(Some(&format!("cursor={bad}")), 10),
                    Err(PageError::Cursor(_))
                ),
                "{bad}"
            );
        }
    }
}
