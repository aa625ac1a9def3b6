//! The simulator's in-memory PortaBilling: records, indexes and counters.
//!
//! Records are public snapshot types (cloned out by the inspection API). Numbers are
//! stored as Telinta writes them, `"1"` + 10 digits. DIDs live in a `Vec` indexed by
//! `i_did_number - 1` with one Fenwick tree per usage class, so a `get_number_list`
//! page with `usage` + `offset` costs O(log n + limit) even with millions of numbers.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// A DID inventory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimDid {
    pub i_did_number: i64,
    /// `"1"` + 10 digits.
    pub number: String,
    pub i_customer: Option<i64>,
    pub i_dv_batch: Option<i64>,
    pub i_do_batch: Option<i64>,
    pub frozen: bool,
    pub is_used: bool,
    pub description: String,
}

/// A customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimCustomer {
    pub i_customer: i64,
    pub name: String,
    pub email: Option<String>,
    pub i_parent: Option<i64>,
    pub iso_4217: String,
    pub i_customer_type: i64,
    pub bill_status: String,
    pub blocked: bool,
    pub i_do_batch: Option<i64>,
}

/// A pricing ("owner") batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimPricingBatch {
    pub i_do_batch: i64,
    pub name: String,
    pub i_customer: Option<i64>,
}

/// An account. Holds secrets: the simulator is a test double, so it shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimAccount {
    pub i_account: i64,
    /// `"1"` + 10 digits for a DID line.
    pub id: String,
    pub i_customer: i64,
    pub i_product: Option<i64>,
    pub billing_model: i64,
    /// Service password.
    pub h323_password: String,
    /// `N`, `C`, `Y`, `U` or `F`.
    pub follow_me_enabled: String,
    pub blocked: bool,
    pub bill_status: String,
    pub iso_4217: String,
    pub activation_date: String,
    /// Web self-care login and password.
    pub login: Option<String>,
    pub password: Option<String>,
    /// Service features set on the account other than `forward_mode` (which is
    /// `follow_me_enabled`), name → flag value; e.g. `answering_mode` (docs/telinta.md).
    pub service_features: BTreeMap<String, String>,
}

/// An account's follow-me record (`followme_info`) and numbers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SimFollowMe {
    /// `None` until `update_account_followme` (or a first number) creates the record.
    pub i_follow_me: Option<i64>,
    pub sequence: String,
    pub timeout: i64,
    pub numbers: Vec<SimFollowMeNumber>,
}

/// One forwarding number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimFollowMeNumber {
    pub i_follow_me_number: i64,
    pub i_account: i64,
    /// As sent by the client (`"1"` + 10 digits expected).
    pub redirect_number: String,
    pub name: String,
    pub timeout: i64,
    pub active: bool,
    pub period: String,
}

/// `usage` filter of `DID/get_number_list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Usage {
    /// `A`: everything.
    All,
    /// `I`: no customer and not used.
    Idle,
    /// `F`: not used.
    Free,
    /// `U`: used by an account.
    Used,
    /// `Z`: frozen.
    Frozen,
}

impl Usage {
    pub(super) fn parse(code: &str) -> Option<Usage> {
        match code {
            "" | "A" => Some(Usage::All),
            "I" => Some(Usage::Idle),
            "F" => Some(Usage::Free),
            "U" => Some(Usage::Used),
            "Z" => Some(Usage::Frozen),
            _ => None,
        }
    }

    pub(super) fn matches(self, d: &SimDid) -> bool {
        match self {
            Usage::All => true,
            Usage::Idle => d.i_customer.is_none() && !d.is_used,
            Usage::Free => !d.is_used,
            Usage::Used => d.is_used,
            Usage::Frozen => d.frozen,
        }
    }

    /// Index into `State::trees` (`All` needs no tree).
    fn tree(self) -> Option<usize> {
        match self {
            Usage::All => None,
            Usage::Idle => Some(0),
            Usage::Free => Some(1),
            Usage::Used => Some(2),
            Usage::Frozen => Some(3),
        }
    }
}

const TREED: [Usage; 4] = [Usage::Idle, Usage::Free, Usage::Used, Usage::Frozen];

/// Counts per position with prefix sums and "k-th set position" in O(log n).
#[derive(Debug, Default, Clone)]
pub(super) struct Fenwick {
    /// 1-based; `tree[0]` unused.
    tree: Vec<i64>,
}

impl Fenwick {
    fn len(&self) -> usize {
        self.tree.len().saturating_sub(1)
    }

    /// Appends position `len + 1` with value `v`.
    fn push(&mut self, v: i64) {
        if self.tree.is_empty() {
            self.tree.push(0);
        }
        let i = self.tree.len();
        let low = i & i.wrapping_neg();
        let node = v + self.prefix(i - 1) - self.prefix(i - low);
        self.tree.push(node);
    }

    fn add(&mut self, mut i: usize, delta: i64) {
        while i > 0 && i < self.tree.len() {
            self.tree[i] += delta;
            i += i & i.wrapping_neg();
        }
    }

    fn prefix(&self, mut i: usize) -> i64 {
        let mut s = 0;
        while i > 0 {
            s += self.tree[i];
            i -= i & i.wrapping_neg();
        }
        s
    }

    /// Smallest position whose prefix sum reaches `k` (1-based rank).
    fn find_kth(&self, k: i64) -> Option<usize> {
        let n = self.len();
        if k <= 0 || k > self.prefix(n) {
            return None;
        }
        let (mut pos, mut rem) = (0usize, k);
        let mut step = if n == 0 {
            0
        } else {
            1usize << (usize::BITS - 1 - n.leading_zeros())
        };
        while step > 0 {
            let next = pos + step;
            if next <= n && self.tree[next] < rem {
                pos = next;
                rem -= self.tree[next];
            }
            step >>= 1;
        }
        Some(pos + 1)
    }
}

/// The credentials the simulated admin API accepts.
#[derive(Debug, Clone)]
pub(super) struct SimUser {
    pub login: String,
    pub password: String,
    pub token: Option<String>,
}

/// Everything the simulator knows. Guarded by one mutex in `sim::Shared`. `Clone` lets a
/// write the simulator is told to ignore run on a scratch copy.
#[derive(Debug, Clone)]
pub(super) struct State {
    pub user: SimUser,
    dids: Vec<SimDid>,
    did_index: HashMap<String, usize>,
    trees: [Fenwick; 4],
    pub customers: BTreeMap<i64, SimCustomer>,
    pub products: BTreeSet<i64>,
    pub batches: BTreeMap<i64, SimPricingBatch>,
    /// Vendor batches: `i_dv_batch` → name.
    pub vendor_batches: BTreeMap<i64, String>,
    pub accounts: BTreeMap<i64, SimAccount>,
    account_index: HashMap<String, i64>,
    pub followme: HashMap<i64, SimFollowMe>,
    pub vm_pins: HashMap<String, String>,
    pub sessions: HashSet<String>,
    pub tokens: HashSet<String>,
    pub calls: BTreeMap<String, u64>,
    /// `DID/add_number` without `frozen` creates frozen numbers, as PortaBilling's upload
    /// does (docs/telinta.md, "Frozen numbers"). On by default.
    pub frozen_on_add: bool,
    /// Methods the login may not call: they answer a permission fault *(fake code)*.
    pub denied: HashSet<String>,
    /// Methods that answer success but change nothing (a write that "did not take").
    pub ignored: HashSet<String>,
    /// The answering mode new accounts get (`ring_forward`: calls can be forwarded).
    pub default_answering_mode: String,
    next_id: i64,
    rng: u64,
}

impl State {
    pub(super) fn new(seed: u64, user: SimUser) -> State {
        State {
            user,
            dids: Vec::new(),
            did_index: HashMap::new(),
            trees: Default::default(),
            customers: BTreeMap::new(),
            products: BTreeSet::new(),
            batches: BTreeMap::new(),
            vendor_batches: BTreeMap::new(),
            accounts: BTreeMap::new(),
            account_index: HashMap::new(),
            followme: HashMap::new(),
            vm_pins: HashMap::new(),
            sessions: HashSet::new(),
            tokens: HashSet::new(),
            calls: BTreeMap::new(),
            frozen_on_add: true,
            denied: HashSet::new(),
            ignored: HashSet::new(),
            default_answering_mode: "ring_forward".into(),
            next_id: 100,
            rng: seed ^ 0x9E37_79B9_7F4A_7C15,
        }
    }

    /// A fresh integer id (customers, accounts, batches, follow-me records share one counter).
    pub(super) fn next_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    /// SplitMix64: deterministic for a given seed.
    pub(super) fn next_u64(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `n` random bytes as lowercase hex.
    pub(super) fn hex(&mut self, bytes: usize) -> String {
        let mut s = String::with_capacity(bytes * 2);
        while s.len() < bytes * 2 {
            s.push_str(&format!("{:016x}", self.next_u64()));
        }
        s.truncate(bytes * 2);
        s
    }

    // ---- DIDs ----------------------------------------------------------------------

    pub(super) fn did_count(&self) -> usize {
        self.dids.len()
    }

    /// Adds a number (wire form); `None` if it is already in the inventory.
    pub(super) fn insert_did(
        &mut self,
        number: &str,
        i_dv_batch: Option<i64>,
        i_do_batch: Option<i64>,
        description: &str,
    ) -> Option<i64> {
        if self.did_index.contains_key(number) {
            return None;
        }
        let i_did_number = self.dids.len() as i64 + 1;
        let did = SimDid {
            i_did_number,
            number: number.to_string(),
            i_customer: None,
            i_dv_batch,
            i_do_batch,
            frozen: false,
            is_used: self.account_index.contains_key(number),
            description: description.to_string(),
        };
        for (t, u) in TREED.iter().enumerate() {
            self.trees[t].push(i64::from(u.matches(&did)));
        }
        self.did_index.insert(did.number.clone(), self.dids.len());
        self.dids.push(did);
        Some(i_did_number)
    }

    pub(super) fn did(&self, i_did_number: i64) -> Option<&SimDid> {
        usize::try_from(i_did_number - 1)
            .ok()
            .and_then(|i| self.dids.get(i))
    }

    pub(super) fn did_by_number(&self, number: &str) -> Option<&SimDid> {
        self.did_index.get(number).and_then(|i| self.dids.get(*i))
    }

    /// Changes a DID in place, keeping the usage trees right. False if unknown.
    pub(super) fn modify_did(&mut self, i_did_number: i64, f: impl FnOnce(&mut SimDid)) -> bool {
        let Some(idx) = usize::try_from(i_did_number - 1)
            .ok()
            .filter(|i| *i < self.dids.len())
        else {
            return false;
        };
        let before: Vec<bool> = TREED.iter().map(|u| u.matches(&self.dids[idx])).collect();
        f(&mut self.dids[idx]);
        for (t, u) in TREED.iter().enumerate() {
            let now = u.matches(&self.dids[idx]);
            if now != before[t] {
                self.trees[t].add(idx + 1, if now { 1 } else { -1 });
            }
        }
        true
    }

    /// Marks the DID with this number (if any) as used or not by an account.
    pub(super) fn set_did_used(&mut self, number: &str, used: bool) {
        if let Some(i) = self.did_by_number(number).map(|d| d.i_did_number) {
            self.modify_did(i, |d| d.is_used = used);
        }
    }

    /// DIDs matching `usage` and `keep`, skipping `offset`, at most `limit`.
    /// Uses the usage tree to jump to the offset when `keep` accepts everything.
    pub(super) fn list_dids(
        &self,
        usage: Usage,
        keep: Option<&dyn Fn(&SimDid) -> bool>,
        offset: usize,
        limit: usize,
    ) -> Vec<&SimDid> {
        let wanted = |d: &SimDid| usage.matches(d) && keep.is_none_or(|k| k(d));
        let start = match (keep, usage.tree()) {
            (Some(_), _) => 0,
            (None, None) => {
                return self.dids.iter().skip(offset).take(limit).collect();
            }
            (None, Some(t)) => match self.trees[t].find_kth(offset as i64 + 1) {
                Some(pos) => pos - 1,
                None => return Vec::new(),
            },
        };
        let skip = if keep.is_some() { offset } else { 0 };
        self.dids[start..]
            .iter()
            .filter(|d| wanted(d))
            .skip(skip)
            .take(limit)
            .collect()
    }

    // ---- accounts ------------------------------------------------------------------

    pub(super) fn account_by_id(&self, id: &str) -> Option<&SimAccount> {
        self.account_index
            .get(id)
            .and_then(|i| self.accounts.get(i))
    }

    /// Adds an account (its `i_account` must be fresh) and marks its DID as used.
    pub(super) fn insert_account(&mut self, account: SimAccount) {
        self.account_index
            .insert(account.id.clone(), account.i_account);
        self.set_did_used(&account.id, true);
        self.accounts.insert(account.i_account, account);
    }

    pub(super) fn customer_by_name(&self, name: &str) -> Option<&SimCustomer> {
        self.customers.values().find(|c| c.name == name)
    }

    pub(super) fn batch_name(&self, i_do_batch: Option<i64>) -> Option<String> {
        i_do_batch
            .and_then(|b| self.batches.get(&b))
            .map(|b| b.name.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        State::new(
            1,
            SimUser {
                login: "u".into(),
                password: "p".into(),
                token: None,
            },
        )
    }

    #[test]
    fn fenwick_kth_matches_naive() {
        let mut f = Fenwick::default();
        let bits: Vec<i64> = (0..1000)
            .map(|i| i64::from(i % 3 != 0 && i % 7 != 1))
            .collect();
        for b in &bits {
            f.push(*b);
        }
        let naive: Vec<usize> = bits
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == 1)
            .map(|(i, _)| i + 1)
            .collect();
        for (k, pos) in naive.iter().enumerate() {
            assert_eq!(f.find_kth(k as i64 + 1), Some(*pos));
        }
        assert_eq!(f.find_kth(naive.len() as i64 + 1), None);
        f.add(naive[0], -1);
        assert_eq!(f.find_kth(1), Some(naive[1]));
    }

    #[test]
    fn idle_listing_tracks_changes() {
        let mut s = state();
        for i in 0..50 {
            s.insert_did(&format!("1212555{i:04}"), None, None, "");
        }
        assert!(s.insert_did("12125550000", None, None, "").is_none());
        s.modify_did(3, |d| d.i_customer = Some(9));
        s.set_did_used("12125550010", true);
        let idle: Vec<i64> = s
            .list_dids(Usage::Idle, None, 0, 100)
            .iter()
            .map(|d| d.i_did_number)
            .collect();
        assert_eq!(idle.len(), 48);
        assert!(!idle.contains(&3) && !idle.contains(&11));
        let page: Vec<i64> = s
            .list_dids(Usage::Idle, None, 2, 2)
            .iter()
            .map(|d| d.i_did_number)
            .collect();
        assert_eq!(page, vec![4, 5]);
        let used = s.list_dids(Usage::Used, None, 0, 10);
        assert_eq!(used.len(), 1);
        let keep = |d: &SimDid| d.number.ends_with('7');
        let filtered = s.list_dids(Usage::Idle, Some(&keep), 1, 10);
        assert!(filtered.iter().all(|d| d.number.ends_with('7')));
        assert_eq!(filtered.len(), 4);
    }
}
