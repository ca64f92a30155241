//! Pipeline files edited as TOML documents rather than as text: set a key
//! by its dotted path, add, move or remove a table. What is not touched
//! keeps its comments and layout, so a reload test still saves the file a
//! person would have, and an edit that no longer finds its key fails
//! loudly instead of silently changing nothing.
//!
//! Paths are dotted keys (`branches.mood.chart.title`); a number picks a
//! table of an array of tables (`transform.1.value` in `[[transform]]`).

use std::path::Path;

use toml_edit::{ArrayOfTables, DocumentMut, Item, Key, Table, Value};

#[derive(Default, Clone)]
pub struct TomlFile {
    doc: DocumentMut,
}

impl TomlFile {
    /// Parses `text`, which must be valid TOML.
    pub fn parse(text: &str) -> TomlFile {
        TomlFile { doc: text.parse().unwrap_or_else(|e| panic!("not TOML: {e}\n{text}")) }
    }

    pub fn open(path: &Path) -> TomlFile {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        TomlFile::parse(&text)
    }

    /// Sets the value at `path`, making the tables on the way; an existing
    /// value keeps its place and its comment.
    pub fn set(&mut self, path: &str, value: impl Into<Value>) -> &mut TomlFile {
        let (parent, key) = split_last(path);
        let table = table_at(self.doc.as_table_mut(), &parent, true);
        let mut value = value.into();
        match table.get_mut(key) {
            Some(Item::Value(old)) => {
                *value.decor_mut() = old.decor().clone();
                *old = value;
            }
            _ => {
                table.insert(key, Item::Value(value));
            }
        }
        self
    }

    /// Sets the table at `path` to the key/values of `entries` (TOML text),
    /// as a table of its own at the end of its parent.
    pub fn set_table(&mut self, path: &str, entries: &str) -> &mut TomlFile {
        let (parent, key) = split_last(path);
        table_at(self.doc.as_table_mut(), &parent, true).insert(key, Item::Table(new_table(entries)));
        self
    }

    /// Moves the entry at `path` (a table, say) just before its sibling
    /// `before`, tables inside it too.
    pub fn move_before(&mut self, path: &str, before: &str) -> &mut TomlFile {
        let (parent, key) = split_last(path);
        let table = table_at(self.doc.as_table_mut(), &parent, false);
        assert!(table.contains_key(key) && table.contains_key(before), "no {path} or no {before} beside it");
        let mut entries = take_entries(table);
        let moved = entries.remove(entries.iter().position(|(k, _)| k.get() == key).unwrap());
        let at = entries.iter().position(|(k, _)| k.get() == before).unwrap();
        entries.insert(at, moved);
        put_entries(table, entries);
        self
    }

    /// Appends a table of `entries` (TOML text) to the array of tables at
    /// `path` (`[[transform]]`).
    pub fn push_table(&mut self, path: &str, entries: &str) -> &mut TomlFile {
        let (parent, key) = split_last(path);
        let parent = table_at(self.doc.as_table_mut(), &parent, true);
        let tables = parent.entry(key).or_insert(Item::ArrayOfTables(ArrayOfTables::new()));
        tables
            .as_array_of_tables_mut()
            .unwrap_or_else(|| panic!("{path} is not an array of tables"))
            .push(new_table(entries));
        self
    }

    /// Removes the value or table at `path`, which must be there.
    pub fn remove(&mut self, path: &str) -> &mut TomlFile {
        let (parent, key) = split_last(path);
        let removed = table_at(self.doc.as_table_mut(), &parent, false).remove(key);
        assert!(removed.is_some(), "nothing at {path} to remove");
        self
    }

    /// Moves the value or table at `from` to `to`; a table keeps its place
    /// in the file, under its new header.
    pub fn move_to(&mut self, from: &str, to: &str) -> &mut TomlFile {
        let (parent, key) = split_last(from);
        let item = table_at(self.doc.as_table_mut(), &parent, false).remove(key);
        let item = item.unwrap_or_else(|| panic!("nothing at {from} to move"));
        let (parent, key) = split_last(to);
        table_at(self.doc.as_table_mut(), &parent, true).insert(key, item);
        self
    }

    /// Renames the key at `path` to `to` where it stands (a typo made on
    /// purpose keeps its line).
    pub fn rename(&mut self, path: &str, to: &str) -> &mut TomlFile {
        let (parent, key) = split_last(path);
        let table = table_at(self.doc.as_table_mut(), &parent, false);
        assert!(table.contains_key(key), "nothing at {path} to rename");
        let entries = take_entries(table).into_iter().map(|(k, item)| {
            let renamed = Key::new(to).with_leaf_decor(k.leaf_decor().clone());
            (if k.get() == key { renamed } else { k }, item)
        });
        put_entries(table, entries.collect());
        self
    }

    /// Points every string value that starts with `from` at `to` instead
    /// (`out/` to a test's folder: a shipped pipeline writing there).
    pub fn retarget(&mut self, from: &str, to: &Path) -> &mut TomlFile {
        let to = format!("{}/", to.display());
        retarget_in(self.doc.as_table_mut(), from, &to);
        self
    }

    pub fn text(&self) -> String {
        self.doc.to_string()
    }

    /// Writes the document to `path`.
    pub fn save(&self, path: &Path) {
        std::fs::write(path, self.text()).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}

fn split_last(path: &str) -> (Vec<&str>, &str) {
    let mut keys: Vec<&str> = path.split('.').collect();
    let last = keys.pop().expect("a path has a key");
    (keys, last)
}

/// The table at `keys` below `root`; missing ones are made when `make`.
fn table_at<'a>(root: &'a mut Table, keys: &[&str], make: bool) -> &'a mut Table {
    let mut table = root;
    let mut keys = keys.iter();
    while let Some(&key) = keys.next() {
        if !table.contains_key(key) {
            assert!(make, "no table {key} in the pipeline");
            // Only a header of its own if it gets values (not `[branches]`).
            let mut new = new_table("");
            new.set_implicit(true);
            table.insert(key, Item::Table(new));
        }
        table = match table.get_mut(key) {
            Some(Item::Table(t)) => t,
            Some(Item::ArrayOfTables(tables)) => {
                let i = keys.next().and_then(|i| i.parse::<usize>().ok());
                let i = i.unwrap_or_else(|| panic!("{key} is an array of tables: name one by its number"));
                tables.get_mut(i).unwrap_or_else(|| panic!("no table {i} in {key}"))
            }
            _ => panic!("{key} is not a table"),
        };
    }
    table
}

/// A table of `entries` (TOML text) with a blank line before its header.
fn new_table(entries: &str) -> Table {
    let mut table = TomlFile::parse(entries).doc.as_table().clone();
    // Placed after the table before it, not where a document's root is.
    table.set_position(None);
    table.decor_mut().set_prefix("\n");
    table
}

fn retarget_in(table: &mut Table, from: &str, to: &str) {
    for (_, item) in table.iter_mut() {
        match item {
            Item::Value(Value::String(s)) if s.value().starts_with(from) => {
                let decor = s.decor().clone();
                let mut moved = Value::from(s.value().replacen(from, to, 1));
                *moved.decor_mut() = decor;
                *item = Item::Value(moved);
            }
            Item::Table(t) => retarget_in(t, from, to),
            Item::ArrayOfTables(tables) => tables.iter_mut().for_each(|t| retarget_in(t, from, to)),
            _ => {}
        }
    }
}

/// Every entry of `table`, taken out in order (to put back in another).
fn take_entries(table: &mut Table) -> Vec<(Key, Item)> {
    let keys: Vec<String> = table.iter().map(|(k, _)| k.to_string()).collect();
    keys.iter().map(|k| table.remove_entry(k).expect("a key just listed")).collect()
}

fn put_entries(table: &mut Table, entries: Vec<(Key, Item)>) {
    for (key, item) in entries {
        table.insert_formatted(&key, item);
    }
}
