//! Interned text: each distinct id (user, party, file, room, address, mark)
//! becomes a small number once, so the watcher's state holds numbers.

use std::collections::HashMap;

/// Numbers for strings, in order of first sight.
#[derive(Debug, Default)]
pub struct Interner {
    ids: HashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Interner {
    /// The number of `name`, given on first sight.
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.ids.insert(name.into(), id);
        self.names.push(name.into());
        id
    }

    /// The number of `name` if it was seen.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    /// The name of number `id`.
    pub fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |n| n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_name_same_number() {
        let mut i = Interner::default();
        let table = [("a", 0), ("b", 1), ("a", 0), ("c", 2)];
        for (name, want) in table {
            assert_eq!(i.intern(name), want);
            assert_eq!(i.name(want), name);
        }
        assert_eq!(i.get("b"), Some(1));
        assert_eq!(i.get("z"), None);
    }
}
